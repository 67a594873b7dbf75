import { UsageError } from './args';
import { ConnectionFailedError, DatabaseSide } from '../fidelity/connection';
import { CONNECTION_VARIABLES, InvalidConnectionStringError } from '../fidelity/connection-url';
import { SchemaCopyError, SchemaCopyStep } from '../schema/steps';

/* What the command line says when it cannot produce a result. */

/** What the CLI reports when it cannot produce a result (exit status 2). */
export interface CliError {
  /**
   * `USAGE`, `INVALID_CONNECTION_STRING`, `CONNECTION_FAILED`, `SCHEMA_STEP_FAILED`, `AWS_CREDENTIALS`
   * (none found), `AWS_CREDENTIALS_INVALID` (refused or expired), `AWS_ACCESS_DENIED` or `ERROR`.
   */
  readonly code: string;
  readonly message: string;
  /** The environment variable of the connection string concerned. */
  readonly variable?: string;
  /** `source` or `target`, for connection strings and connections, and for a schema step failing on one side. */
  readonly side?: DatabaseSide;
  /** With `SCHEMA_STEP_FAILED`: the step, and what it printed before it failed. */
  readonly step?: SchemaCopyStep;
  readonly output?: readonly string[];
  /** With `AWS_*`: the call that failed (`dms:DescribeReplicationTasks`, `cloudwatch:GetMetricData`, ...) and its Region. */
  readonly action?: string;
  readonly region?: string;
}

/** An `AwsCallError` of the latency reader (which may come from its bundled copy: recognised by its name). */
function awsCallError(e: unknown): { code: string; action: string; region: string; message: string } | undefined {
  const error = e as { name?: unknown; code?: unknown; action?: unknown; region?: unknown; message?: unknown } | undefined;
  if (error?.name !== 'AwsCallError' || typeof error.code !== 'string' || typeof error.action !== 'string') return undefined;
  return { code: error.code, action: error.action, region: String(error.region), message: String(error.message) };
}

export function describeError(e: unknown): CliError {
  if (e instanceof UsageError) return { code: 'USAGE', message: e.message };
  if (e instanceof InvalidConnectionStringError) {
    return { code: 'INVALID_CONNECTION_STRING', message: e.message, variable: e.variable, side: e.side };
  }
  if (e instanceof ConnectionFailedError) {
    const variable = CONNECTION_VARIABLES[e.side];
    return { code: 'CONNECTION_FAILED', message: `${variable} (the ${e.side} database): cannot connect: ${e.reason}`, variable, side: e.side };
  }
  if (e instanceof SchemaCopyError) return describeSchemaCopyError(e);
  const aws = awsCallError(e);
  if (aws) return aws;
  return { code: 'ERROR', message: e instanceof Error ? e.message : String(e) };
}

/** Where a schema step failed, in the command's terms: a side names its variable, the mapping its option. */
function describeSchemaCopyError(e: SchemaCopyError): CliError {
  const output = e.output.split('\n').filter((l) => l.length > 0);
  const base = { code: 'SCHEMA_STEP_FAILED', step: e.step, output };
  if (e.place === 'source' || e.place === 'target') {
    const variable = CONNECTION_VARIABLES[e.place];
    return { ...base, message: `schema ${e.step}: the ${e.place} database (${variable}): ${e.detail}`, variable, side: e.place };
  }
  const where: Record<string, string> = {
    TABLE_MAPPINGS: 'the table mapping',
    ALLOWED_EXTENSIONS_FILE: 'the allowed extensions',
    environment: 'environment',
  };
  return { ...base, message: `schema ${e.step}: ${e.place ? `${where[e.place]}: ` : ''}${e.detail}` };
}
