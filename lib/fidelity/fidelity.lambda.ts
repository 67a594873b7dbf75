import { CloudWatchClient, PutMetricDataCommand, MetricDatum } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ClientConfig } from 'pg';
import { formatKey, formatTypeChange } from './format';
import { PREFLIGHT_TYPE, VERIFICATION_TYPE } from './kinds';
import { readLatencyMetrics } from './latency-metrics';
import type { TargetCapacityOptions } from './neon-capacity';
import { Finding, MigrationType, preflight, TargetTablePrepMode } from './preflight';
import { displayName, TableMappings } from './selection';
import type { MySqlConnectionOptions, SourceConfig } from './source-engine';
import { TableVerification, verify, VerifyOptions } from './verify';
import { Dispatcher } from '../provider/dispatch';
import type { ProviderRequest } from '../provider/handler-types';

/**
 * Custom resource of `MigrationPreflight` and `MigrationVerification`: runs `preflight` or `verify`
 * from inside the VPC. Credentials come from Secrets Manager; nothing secret is logged or returned.
 */

/** Properties of the custom resource (all strings: CloudFormation passes strings). */
export interface FidelityProperties {
  /** `preflight` or `verify`. */
  readonly Action: string;
  readonly SourceSecretArn: string;
  readonly SourceDatabaseName: string;
  /** `postgres` (default) or `mysql`: a MySQL-compatible source, checked by the MySQL function's bundle. */
  readonly SourceEngine?: string;
  /** PEM bundle to verify the source's certificate with; without it the source's TLS certificate is not verified. */
  readonly SourceCaBundle?: string;
  readonly TargetSecretArn?: string;
  readonly TargetDatabaseName?: string;
  /** The task's table-mapping JSON. */
  readonly TableMappings: string;
  readonly MigrationType?: string;
  /** `LIMITED`, `FULL` or `NONE`. */
  readonly LobMode?: string;
  readonly LobMaxSizeKb?: string;
  readonly TargetTablePrepMode?: string;
  /** Finding codes that do not fail the deployment. */
  readonly AcknowledgedFindings?: string[];
  /** The preflight's capacity checks: the task's parallelism and the Neon branch's storage (all strings). */
  readonly TargetCapacity?: Record<string, string | undefined>;
  /** `TaskIdentifier` dimension of the metrics. */
  readonly TaskIdentifier?: string;
  readonly FailOnDifference?: string;
  readonly MaxDifferences?: string;
  readonly NormalizeNumericScale?: string;
  readonly Concurrency?: string;
  /**
   * Verify under CDC: the dimensions of the task's latency metrics (the replication instance's
   * identifier and the task's resource id); differences are re-checked after the latency.
   */
  readonly RecheckInstanceIdentifier?: string;
  readonly RecheckTaskResourceId?: string;
  /** Seconds added to the latency before each re-check. */
  readonly RecheckMarginSeconds?: string;
  readonly RecheckRounds?: string;
}

/** The part of a Provider-framework request the handler reads. */
export interface FidelityEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  /** `Custom::NeonMigrationPreflight` or `Custom::NeonMigrationVerification`: what the request is routed by. */
  readonly ResourceType: string;
  readonly StackId?: string;
  readonly LogicalResourceId?: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: FidelityProperties & { readonly ServiceToken?: string };
}

export interface FidelityResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Namespace of the `MismatchedRows` and `RowsCompared` metrics. */
export const FIDELITY_METRICS_NAMESPACE = 'CdkNeonMigration';

/** Longest failure message: CloudFormation keeps the reason of a failed resource short. */
const MAX_MESSAGE = 3000;

let secrets: SecretsManagerClient | undefined;
let cloudwatch: CloudWatchClient | undefined;

interface SecretCredentials {
  readonly username?: string;
  readonly password?: string;
  readonly host?: string;
  readonly port?: number | string;
  readonly dbname?: string;
}

/** The client configuration for the database of secret `arn` (which is read, never logged). */
async function clientConfig(arn: string, label: string, database: string | undefined, ssl: ClientConfig['ssl'], defaultPort = 5432): Promise<ClientConfig> {
  secrets ??= new SecretsManagerClient({});
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  let s: SecretCredentials = {};
  try {
    s = JSON.parse(value.SecretString ?? '');
  } catch { /* reported below */ }
  if (!s.username || !s.password || !s.host) {
    throw new Error(`The ${label} secret ${arn} must be JSON with username, password, host and port.`);
  }
  return {
    host: s.host,
    port: Number(s.port ?? defaultPort),
    user: s.username,
    password: s.password,
    database: database || s.dbname,
    ssl,
    connectionTimeoutMillis: 20_000,
    application_name: 'cdk-neon-migration',
  };
}

/**
 * Source: TLS without certificate verification unless a CA bundle is given (like `sslmode=require`).
 * Target (Neon): TLS with the certificate verified against Node's CA store.
 */
export async function connectionConfigs(props: FidelityProperties): Promise<{ source: SourceConfig; target?: ClientConfig }> {
  if (props.SourceEngine === 'mysql') {
    const [mysqlSource, mysqlTarget] = await Promise.all([
      clientConfig(props.SourceSecretArn, 'source', props.SourceDatabaseName, false, 3306),
      props.TargetSecretArn ? clientConfig(props.TargetSecretArn, 'target', props.TargetDatabaseName, { rejectUnauthorized: true }) : undefined,
    ]);
    const source: MySqlConnectionOptions = {
      engine: 'mysql',
      host: mysqlSource.host!,
      port: mysqlSource.port,
      user: mysqlSource.user!,
      password: String(mysqlSource.password),
      database: mysqlSource.database,
      ssl: props.SourceCaBundle ? { rejectUnauthorized: true, ca: props.SourceCaBundle } : { rejectUnauthorized: false },
      connectTimeoutMs: 20_000,
    };
    return { source, target: mysqlTarget };
  }
  const [source, target] = await Promise.all([
    clientConfig(props.SourceSecretArn, 'source', props.SourceDatabaseName,
      props.SourceCaBundle ? { rejectUnauthorized: true, ca: props.SourceCaBundle } : { rejectUnauthorized: false }),
    props.TargetSecretArn ? clientConfig(props.TargetSecretArn, 'target', props.TargetDatabaseName, { rejectUnauthorized: true }) : undefined,
  ]);
  return { source, target };
}

function truncate(text: string, max = MAX_MESSAGE): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function describeFinding(f: Finding): string {
  const where = [f.table, f.column].filter((x) => x).join('.');
  return `${f.code}${where ? ` ${where}` : ''}: ${f.message}`;
}

function lobSettings(props: FidelityProperties): { supportLobs: boolean; fullLobMode: boolean; lobMaxSizeKb?: number } {
  const mode = props.LobMode ?? 'LIMITED';
  return {
    supportLobs: mode !== 'NONE',
    fullLobMode: mode === 'FULL',
    lobMaxSizeKb: props.LobMaxSizeKb ? Number(props.LobMaxSizeKb) : undefined,
  };
}

/** The preflight's `targetCapacity` from the custom resource's strings; the branch's storage as `NeonComputeKeepAlive` read it. */
export function capacityOptions(raw: Record<string, string | undefined> | undefined): TargetCapacityOptions | undefined {
  if (!raw) return undefined;
  const n = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const branchId = raw.NeonBranchId;
  return {
    maxFullLoadSubTasks: n(raw.MaxFullLoadSubTasks),
    parallelLoadThreads: n(raw.ParallelLoadThreads),
    validationThreads: n(raw.ValidationThreads),
    verificationSessions: n(raw.VerificationSessions),
    neonStorage: branchId
      ? {
        branchId,
        usedBytes: n(raw.NeonBranchSizeBytes) ?? 0,
        limitBytes: n(raw.NeonBranchLimitBytes),
        limitSource: raw.NeonBranchLimitSource || undefined,
      }
      : undefined,
  };
}

async function runPreflight(props: FidelityProperties, physicalId: string): Promise<FidelityResponse> {
  const { source, target } = await connectionConfigs(props);
  const result = await preflight({
    source,
    target,
    mappings: JSON.parse(props.TableMappings) as TableMappings,
    migrationType: (props.MigrationType ?? 'full-load') as MigrationType,
    targetTablePrepMode: (props.TargetTablePrepMode ?? 'DO_NOTHING') as TargetTablePrepMode,
    ...lobSettings(props),
    targetCapacity: capacityOptions(props.TargetCapacity),
  });
  const acknowledged = new Set(props.AcknowledgedFindings ?? []);
  const blocking = result.findings.filter((f) => f.severity === 'blocking' && !acknowledged.has(f.code));
  const count = (severity: string) => result.findings.filter((f) => f.severity === severity).length;
  console.log(JSON.stringify({ tables: result.tables.length, findings: result.findings.map((f) => [f.severity, f.code, f.table, f.column]) }));
  if (blocking.length > 0) {
    const codes = [...new Set(blocking.map((f) => f.code))].join(', ');
    throw new Error(truncate(`Preflight found ${blocking.length} blocking finding(s); fix them or list their codes in acknowledgedFindings (${codes}). `
      + blocking.map(describeFinding).join(' | ')));
  }
  return {
    PhysicalResourceId: physicalId,
    Data: {
      Tables: String(result.tables.length),
      Blocking: String(count('blocking')),
      Acknowledged: String(count('blocking') - blocking.length),
      Warnings: String(count('warning')),
      Info: String(count('info')),
    },
  };
}

/** Rows known to differ in a table (a lower bound when the differences were not all listed). */
export function mismatchedRows(t: TableVerification): number {
  if (t.status === 'match') return 0;
  if (t.status === 'missing-target') return t.sourceRows;
  const differs = t.status === 'mismatch' || t.status === 'type-changed';
  return Math.max(t.differences.length, Math.abs(t.sourceRows - t.targetRows), differs ? 1 : 0);
}

async function publishMetrics(taskIdentifier: string, tables: readonly TableVerification[]): Promise<void> {
  const data: MetricDatum[] = [];
  const timestamp = new Date();
  for (const t of tables) {
    const dimensions = [{ Name: 'TaskIdentifier', Value: taskIdentifier }, { Name: 'Table', Value: displayName(t.source) }];
    data.push({ MetricName: 'MismatchedRows', Dimensions: dimensions, Value: mismatchedRows(t), Unit: 'Count', Timestamp: timestamp });
    data.push({ MetricName: 'RowsCompared', Dimensions: dimensions, Value: t.sourceRows, Unit: 'Count', Timestamp: timestamp });
  }
  cloudwatch ??= new CloudWatchClient({});
  for (let i = 0; i < data.length; i += 20) {
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: FIDELITY_METRICS_NAMESPACE, MetricData: data.slice(i, i + 20) }));
  }
}

/** The re-check under CDC: the latency from the task's CloudWatch metrics. */
function recheckOptions(props: FidelityProperties): VerifyOptions['recheck'] {
  if (!props.RecheckInstanceIdentifier || !props.RecheckTaskResourceId) return undefined;
  const dimensions = { instanceIdentifier: props.RecheckInstanceIdentifier, taskResourceId: props.RecheckTaskResourceId };
  return {
    latencyMs: async () => {
      cloudwatch ??= new CloudWatchClient({});
      const reading = await readLatencyMetrics(cloudwatch, dimensions, Date.now());
      if (reading.latencyMs === undefined) throw new Error(`the task's replication latency cannot be read: ${reading.problem}`);
      console.log(JSON.stringify({ latency: reading.detail }));
      return reading.latencyMs;
    },
    marginMs: props.RecheckMarginSeconds ? Number(props.RecheckMarginSeconds) * 1000 : undefined,
    maxRounds: props.RecheckRounds ? Number(props.RecheckRounds) : undefined,
  };
}

async function runVerify(props: FidelityProperties, physicalId: string): Promise<FidelityResponse> {
  const { source, target } = await connectionConfigs(props);
  if (!target) throw new Error('Verification needs the target secret (TargetSecretArn).');
  const result = await verify({
    source,
    target,
    mappings: JSON.parse(props.TableMappings) as TableMappings,
    maxDifferences: props.MaxDifferences ? Number(props.MaxDifferences) : undefined,
    normalizeNumericScale: props.NormalizeNumericScale !== 'false',
    concurrency: props.Concurrency ? Number(props.Concurrency) : undefined,
    recheck: recheckOptions(props),
  });
  if (result.findings.length > 0) {
    // nothing was compared: a failure whatever FailOnDifference says
    throw new Error(truncate(`Verification failed: ${result.findings.map((f) => `${f.code}: ${f.message}`).join(' | ')}`));
  }
  const differing = result.tables.filter((t) => t.status !== 'match');
  const rows = result.tables.reduce((n, t) => n + t.sourceRows, 0);
  const mismatched = result.tables.reduce((n, t) => n + mismatchedRows(t), 0);
  const tables = result.tables.map((t) => [displayName(t.source), t.status, t.sourceRows, t.targetRows, t.error,
    ...(t.recheck ? [{ rounds: t.recheck.rounds, settled: t.recheck.settledRows, unsettled: t.recheck.unsettledRows }] : [])]);
  console.log(JSON.stringify({ tables, warnings: result.warnings }));
  if (props.TaskIdentifier) await publishMetrics(props.TaskIdentifier, result.tables);
  const summary = `${result.tables.length - differing.length} of ${result.tables.length} table(s) match; ${rows} row(s) compared, at least ${mismatched} differ.`;
  if (differing.length > 0 && props.FailOnDifference !== 'false') {
    const details = differing.map((t) => `${displayName(t.source)}: ${t.status} ${t.sourceRows}/${t.targetRows} rows${t.error ? ` (${t.error})` : ''}`
      + (t.missingColumns.length > 0 ? `, columns missing: ${t.missingColumns}` : '')
      + (t.typeChanges.length > 0 ? `, column types changed (rows not compared): ${t.typeChanges.map(formatTypeChange).join(', ')}` : '')
      + t.differences.slice(0, 3).map((d) => `; ${d.kind} ${formatKey(d.key)}`).join(''));
    throw new Error(truncate(`Verification failed: ${summary} ${details.join(' | ')}`));
  }
  return {
    PhysicalResourceId: physicalId,
    Data: {
      Tables: String(result.tables.length),
      MismatchedTables: String(differing.length),
      Rows: String(rows),
      MismatchedRows: String(mismatched),
      Summary: summary,
    },
  };
}

/** What a verification answers when a rollback leaves it as it is: nothing was compared again. */
const NOT_COMPARED_AGAIN = {
  Tables: '0',
  MismatchedTables: '0',
  Rows: '0',
  MismatchedRows: '0',
  Summary: 'Not compared again: CloudFormation rolled the stack back, and the verification keeps what it found before.',
};

/*
 * The checks' kinds, behind the framework's dispatcher: during a rollback neither runs again (a
 * preflight or a verification that failed then would fail the rollback).
 */
const dispatcher = new Dispatcher({
  [PREFLIGHT_TYPE]: async () => ({ onEvent: (event) => check(event as unknown as FidelityEvent) }),
  [VERIFICATION_TYPE]: async () => ({
    onEvent: (event) => check(event as unknown as FidelityEvent),
    unchangedData: () => NOT_COMPARED_AGAIN,
  }),
});

/** The function's handler: a preflight or a verification request of the Provider framework. */
export async function handler(event: FidelityEvent): Promise<FidelityResponse> {
  return dispatcher.onEvent(event as unknown as ProviderRequest) as Promise<FidelityResponse>;
}

/** One check: the preflight or the verification the request asks for. */
export async function check(event: FidelityEvent): Promise<FidelityResponse> {
  // properties hold secret ARNs, never secret values
  const { ServiceToken: _token, TableMappings: _mappings, SourceCaBundle: _ca, ...logged } = event.ResourceProperties;
  console.log(JSON.stringify({ requestType: event.RequestType, physicalResourceId: event.PhysicalResourceId, properties: logged }));
  const props = event.ResourceProperties;
  const physicalId = event.PhysicalResourceId ?? `${props.Action}:${event.LogicalResourceId ?? 'fidelity'}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };
  switch (props.Action) {
    case 'preflight': return runPreflight(props, physicalId);
    case 'verify': return runVerify(props, physicalId);
    default: throw new Error(`Unknown Action '${props.Action}': expected preflight or verify.`);
  }
}
