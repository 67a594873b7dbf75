#!/usr/bin/env node
import * as fs from 'fs';
import { ConnectionFailedError, DatabaseSide } from './connection';
import { checkConnectionString, CONNECTION_VARIABLES, InvalidConnectionStringError, withLibpqSslModes } from './connection-url';
import { MigrationType, preflight, TargetTablePrepMode } from './preflight';
import { ProgressBar, TextSink } from './progress';
import { formatPreflight, formatVerify } from './report';
import { defaultMappings, TableMappings } from './selection';
import { formatSchemaObjects, verify } from './verify';
import {
  ALL_SCHEMA_COPY_STEPS, libpqVariablesFromUrl, neonExtensionsPath, runSchemaCopy, SchemaCopyError, schemaCopyEnvironment, SchemaCopyStep,
} from '../schema/steps';

const ENVIRONMENT = `Connection strings come from the environment only (never from arguments):
  SOURCE_DATABASE_URL   the source database (required)
  TARGET_DATABASE_URL   the Neon target: required by verify and schema; lets preflight check pre-created tables
Each is postgresql://<user>:<password>@<host>:<port>/<database>?sslmode=require; sslmode has its libpq
meaning (require encrypts, verify-full also verifies the certificate). Use Neon's direct host, not -pooler.`;

const USAGE = `usage: cdk-neon-migration <preflight|verify|schema> [options]

commands:
  preflight   before the DMS task runs: finds what it would drop, truncate or change
  verify      after the full load: compares every selected table between source and target
  schema      copies the source's schema into the target around the DMS load:
              schema pre (before the task), schema post and schema sequences (after the full load)

Run cdk-neon-migration <command> --help for the options of a command.

${ENVIRONMENT}

exit status: 0 ok, 1 differences, blocking findings, no table selected or a failed schema step, 2 error
`;

const SELECTION_OPTIONS = `  --schema <name>            select every table of this schema (repeatable; default: all schemas)
  --mappings <file.json>     the DMS table-mapping JSON ({"rules": [...]}) of the task`;

const COMMON_OPTIONS = `  --concurrency <n>          tables processed at the same time (default 4)
  --json                     print the result, or the error, as JSON on stdout
  -h, --help                 show this help`;

const PREFLIGHT_USAGE = `usage: cdk-neon-migration preflight [options]

Checks the source before the DMS task runs: tables without primary key, LOB columns that would be
dropped or truncated (measured on the stored data), types DMS cannot carry or converts, CDC
prerequisites, and with TARGET_DATABASE_URL and DO_NOTHING the pre-created target tables.

options:
${SELECTION_OPTIONS}
  --migration-type <type>    full-load | cdc | full-load-and-cdc (default full-load)
  --lob-max-size-kb <n>      the task's LobMaxSize in KB (default 32)
  --full-lob-mode            the task uses full LOB mode
  --no-lobs                  the task runs with SupportLobs=false
  --target-prep-mode <mode>  DO_NOTHING | DROP_AND_CREATE | TRUNCATE_BEFORE_LOAD (default DO_NOTHING)
${COMMON_OPTIONS}

${ENVIRONMENT}

exit status: 0 no blocking finding, 1 blocking findings (NO_TABLES_SELECTED among them), 2 error
`;

const VERIFY_USAGE = `usage: cdk-neon-migration verify [options]

Compares every selected table between the source and the target after the full load: row counts
and checksums computed in each database over primary-key ranges, narrowed down to the differing
keys. A column whose type differs between the sides is reported instead of its rows.

options:
${SELECTION_OPTIONS}
  --max-differences <n>      differing keys listed per table (default 20)
  --schema-objects           also compare the schema objects of the selected tables: columns, types,
                             indexes, constraints, triggers, sequence positions, views
${COMMON_OPTIONS}

${ENVIRONMENT}

exit status: 0 every table matches, 1 differences, type changes, differing schema objects or no table
selected, 2 error
`;

const SCHEMA_USAGE = `usage: cdk-neon-migration schema <pre|post|sequences|plan> [options]

Copies the source's schema into the target around the DMS load, for the tables the selection picks,
with the PostgreSQL client tools installed here (psql, pg_dump, pg_restore; pg_dump at least as new
as the source server):

  pre        before the task starts: the extensions, then pg_dump's pre-data section (types, domains,
             functions, sequences, tables, views) of the schemas holding the selected tables
  post       after the full load: the post-data section (indexes, constraints, triggers) and the
             refresh of the materialized views
  sequences  after the full load (and at cut-over under CDC): every sequence continues where the
             source's does; a target sequence already further along is left alone
  plan       lists what the steps would copy and leave out, reading the source only

Each step runs in one transaction on the target: it creates everything or nothing. Mappings that
rename schemas, tables or columns, remove or add columns or change types are refused.

options:
${SELECTION_OPTIONS}
  --allowed-extensions <file>  pre: the extensions the target offers, as JSON (default: Neon's list
                             shipped with this package)
  --no-extension-list        pre: check extensions against the target's pg_available_extensions only
  --json                     print the result, or the error, as JSON on stdout
  -h, --help                 show this help

Both connection strings are required (plan needs SOURCE_DATABASE_URL only).
${ENVIRONMENT}

exit status: 0 done, 1 the step failed or was refused (nothing of it kept), 2 error
`;

type Command = 'preflight' | 'verify' | 'schema';

/** The help text: of one command, or of the program. */
export function usage(command?: Command): string {
  if (command === 'preflight') return PREFLIGHT_USAGE;
  if (command === 'verify') return VERIFY_USAGE;
  if (command === 'schema') return SCHEMA_USAGE;
  return USAGE;
}

/** Parsed command line. */
export interface CliArgs {
  readonly command: Command | 'help';
  /** With `help`: the command whose help to show (none: the program's). */
  readonly topic?: Command;
  /** With `schema`: the step to run. */
  readonly step?: SchemaCopyStep;
  readonly schemas: string[];
  readonly mappingsFile?: string;
  readonly json: boolean;
  readonly concurrency?: number;
  readonly lobMaxSizeKb?: number;
  readonly migrationType?: MigrationType;
  readonly supportLobs: boolean;
  readonly fullLobMode: boolean;
  readonly targetTablePrepMode?: TargetTablePrepMode;
  readonly maxDifferences?: number;
  /** With `verify`: compare the schema objects too. */
  readonly schemaObjects?: boolean;
  /** With `schema pre`: the JSON file of the extensions the target offers. */
  readonly allowedExtensionsFile?: string;
  /** With `schema pre`: false to check extensions against the target's pg_available_extensions only. */
  readonly extensionList?: boolean;
}

/** A problem with the command line. `command` picks the help printed with it. */
class UsageError extends Error {
  constructor(message: string, readonly command?: Command) {
    super(message);
  }
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`${flag} takes a positive integer, got "${value}"`);
  return n;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** Options that only one command reads. */
const ONLY_FOR: Readonly<Record<string, Command>> = {
  '--migration-type': 'preflight',
  '--lob-max-size-kb': 'preflight',
  '--full-lob-mode': 'preflight',
  '--no-lobs': 'preflight',
  '--target-prep-mode': 'preflight',
  '--max-differences': 'verify',
  '--schema-objects': 'verify',
  '--allowed-extensions': 'schema',
  '--no-extension-list': 'schema',
};

/** Options the schema command does not take. */
const NOT_FOR_SCHEMA = new Set(['--concurrency']);

/** Parses `argv` (without the node and script paths). Throws a usage error on anything unknown. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args = [...argv];
  let command: Command | undefined;
  let step: SchemaCopyStep | undefined;
  let help = false;
  const schemas: string[] = [];
  const out: { -readonly [K in keyof CliArgs]?: CliArgs[K] } = {};
  const seen: string[] = [];
  let json = false;
  let supportLobs = true;
  let fullLobMode = false;
  while (args.length > 0) {
    let arg = args.shift()!;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      const v = inline ?? args.shift();
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${arg} needs a value`, command);
      return v;
    };
    if (arg.startsWith('-')) seen.push(arg);
    switch (arg) {
      case '-h': case '--help': help = true; break;
      case '--json': json = true; break;
      case '--schema': schemas.push(value()); break;
      case '--mappings': out.mappingsFile = value(); break;
      case '--concurrency': out.concurrency = positiveInt(arg, value()); break;
      case '--lob-max-size-kb': out.lobMaxSizeKb = positiveInt(arg, value()); break;
      case '--max-differences': out.maxDifferences = positiveInt(arg, value()); break;
      case '--migration-type': out.migrationType = oneOf(arg, value(), ['full-load', 'cdc', 'full-load-and-cdc'] as const); break;
      case '--target-prep-mode': out.targetTablePrepMode = oneOf(arg, value(), ['DO_NOTHING', 'DROP_AND_CREATE', 'TRUNCATE_BEFORE_LOAD'] as const); break;
      case '--no-lobs': supportLobs = false; break;
      case '--full-lob-mode': fullLobMode = true; break;
      case '--schema-objects': out.schemaObjects = true; break;
      case '--allowed-extensions': out.allowedExtensionsFile = value(); break;
      case '--no-extension-list': out.extensionList = false; break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`, command);
        if (arg === 'help' && command === undefined && !help) {
          help = true;
          break;
        }
        if (command === 'schema' && step === undefined) {
          if (!(ALL_SCHEMA_COPY_STEPS as readonly string[]).includes(arg)) {
            throw new UsageError(`unknown schema step "${arg}": pre, post, sequences or plan`, command);
          }
          step = arg as SchemaCopyStep;
          break;
        }
        if (command !== undefined) throw new UsageError(`unexpected argument "${arg}"`, command);
        if (arg !== 'preflight' && arg !== 'verify' && arg !== 'schema') throw new UsageError(`unknown command "${arg}"`);
        command = arg;
    }
  }
  if (help) return { command: 'help', ...(command ? { topic: command } : {}), schemas, json, supportLobs, fullLobMode };
  if (command === undefined) throw new UsageError('missing command: preflight, verify or schema');
  if (command === 'schema' && step === undefined) throw new UsageError('missing schema step: pre, post, sequences or plan', command);
  for (const flag of seen) {
    const only = ONLY_FOR[flag];
    if (only && only !== command) throw new UsageError(`${flag} applies to ${only} only, not to ${command}`, command);
    if (command === 'schema' && NOT_FOR_SCHEMA.has(flag)) throw new UsageError(`${flag} does not apply to schema`, command);
  }
  if (out.allowedExtensionsFile !== undefined && out.extensionList === false) {
    throw new UsageError('--allowed-extensions and --no-extension-list exclude each other', command);
  }
  if (step !== undefined && step !== 'pre' && (out.allowedExtensionsFile !== undefined || out.extensionList === false)) {
    throw new UsageError(`${out.allowedExtensionsFile !== undefined ? '--allowed-extensions' : '--no-extension-list'} applies to schema pre only`, command);
  }
  if (schemas.length > 0 && out.mappingsFile) throw new UsageError('use either --schema or --mappings, not both (add the schemas to the mapping\'s selection rules)', command);
  if (!supportLobs && fullLobMode) throw new UsageError('--no-lobs and --full-lob-mode exclude each other', command);
  return { ...out, command, ...(step ? { step } : {}), schemas, json, supportLobs, fullLobMode };
}

function readMappings(file: string): TableMappings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --mappings file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--mappings file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  // the mapping may also be stored as a JSON string (as in a CloudFormation TableMappings property)
  if (typeof parsed === 'string') parsed = JSON.parse(parsed);
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as TableMappings).rules)) {
    throw new UsageError(`--mappings file ${file} must hold an object with a "rules" array`);
  }
  return parsed as TableMappings;
}

/** What the CLI reports when it cannot produce a result (exit status 2). */
export interface CliError {
  /** `USAGE`, `INVALID_CONNECTION_STRING`, `CONNECTION_FAILED`, `SCHEMA_STEP_FAILED` or `ERROR`. */
  readonly code: string;
  readonly message: string;
  /** The environment variable of the connection string concerned. */
  readonly variable?: string;
  /** `source` or `target`, for connection strings and connections, and for a schema step failing on one side. */
  readonly side?: DatabaseSide;
  /** With `SCHEMA_STEP_FAILED`: the step, and what it printed before it failed. */
  readonly step?: SchemaCopyStep;
  readonly output?: readonly string[];
}

function describeError(e: unknown): CliError {
  if (e instanceof UsageError) return { code: 'USAGE', message: e.message };
  if (e instanceof InvalidConnectionStringError) {
    return { code: 'INVALID_CONNECTION_STRING', message: e.message, variable: e.variable, side: e.side };
  }
  if (e instanceof ConnectionFailedError) {
    const variable = CONNECTION_VARIABLES[e.side];
    return { code: 'CONNECTION_FAILED', message: `${variable} (the ${e.side} database): cannot connect: ${e.reason}`, variable, side: e.side };
  }
  if (e instanceof SchemaCopyError) return describeSchemaCopyError(e);
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

/**
 * Runs the command line. Returns the exit status: 0 ok, 1 differences or blocking findings, 2 error.
 * With `--json`, errors too are printed on stdout, as `{"error": {"code", "message", ...}}`.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, stdout: TextSink, stderr: TextSink): Promise<number> {
  let bar: ProgressBar | undefined;
  // known before the arguments are parsed, so that argument errors come out as JSON too
  const json = argv.includes('--json');
  try {
    const args = parseArgs(argv);
    if (args.command === 'help') {
      stdout.write(usage(args.topic));
      return 0;
    }
    const sourceUrl = env.SOURCE_DATABASE_URL || undefined;
    const targetUrl = env.TARGET_DATABASE_URL || undefined;
    if (!sourceUrl) throw new UsageError('set SOURCE_DATABASE_URL to the source connection string', args.command);
    if ((args.command === 'verify' || (args.command === 'schema' && args.step !== 'plan')) && !targetUrl) {
      throw new UsageError('set TARGET_DATABASE_URL to the target connection string', args.command);
    }
    checkConnectionString(sourceUrl, 'source');
    if (targetUrl) checkConnectionString(targetUrl, 'target');
    // sslmode as libpq means it, without node-postgres's warning about its own reading of it
    const source = withLibpqSslModes(sourceUrl.trim());
    const target = targetUrl ? withLibpqSslModes(targetUrl.trim()) : undefined;
    const mappings = args.mappingsFile ? readMappings(args.mappingsFile) : defaultMappings(args.schemas);

    if (args.command === 'schema') {
      const step = args.step!;
      const scriptEnv = schemaCopyEnvironment({
        source: libpqVariablesFromUrl(sourceUrl, 'source'),
        target: targetUrl ? libpqVariablesFromUrl(targetUrl, 'target') : undefined,
        mappings,
        allowedExtensionsFile: step !== 'pre' || args.extensionList === false ? undefined : args.allowedExtensionsFile ?? neonExtensionsPath(),
      });
      const result = await runSchemaCopy(step, scriptEnv, args.json ? {} : { onLine: (line) => stdout.write(`${line}\n`) });
      if (args.json) stdout.write(JSON.stringify({ ok: true, step, output: result.lines }, null, 2) + '\n');
      return 0;
    }

    bar = new ProgressBar(stderr, args.command);
    const onProgress = bar.update.bind(bar);

    if (args.command === 'preflight') {
      const result = await preflight({
        source,
        target,
        mappings,
        onProgress,
        migrationType: args.migrationType,
        lobMaxSizeKb: args.lobMaxSizeKb,
        supportLobs: args.supportLobs,
        fullLobMode: args.fullLobMode,
        targetTablePrepMode: args.targetTablePrepMode,
        concurrency: args.concurrency,
      });
      bar.finish();
      stdout.write(args.json ? JSON.stringify(result, null, 2) + '\n' : formatPreflight(result));
      return result.ok ? 0 : 1;
    }

    const result = await verify({
      source,
      target: target!,
      mappings,
      onProgress,
      concurrency: args.concurrency,
      maxDifferences: args.maxDifferences,
      compareSchemaObjects: args.schemaObjects,
    });
    bar.finish();
    if (args.json) {
      stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else if (result.schemaObjects) {
      // the tables' report ends with the tables' verdict; the schema objects follow with theirs
      const tablesOk = result.findings.length === 0 && result.tables.every((t) => t.status === 'match');
      stdout.write(formatVerify({ ...result, ok: tablesOk }));
      stdout.write(`\n${formatSchemaObjects(result.schemaObjects)}`);
      if (!result.ok) stdout.write('Verify FAILED.\n');
    } else {
      stdout.write(formatVerify(result));
    }
    if (result.tables.some((t) => t.status === 'error')) return 2;
    return result.ok ? 0 : 1;
  } catch (e) {
    bar?.finish();
    const error = describeError(e);
    if (json) {
      stdout.write(JSON.stringify({ error }, null, 2) + '\n');
    } else {
      stderr.write(`error: ${error.message}\n`);
      if (e instanceof UsageError) stderr.write(`\n${usage(e.command)}`);
    }
    // a schema step that failed or was refused is a result, not an error of the command
    if (e instanceof SchemaCopyError && e.exitCode === 1) return 1;
    return 2;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2), process.env, process.stdout, process.stderr).then((code) => {
    process.exitCode = code;
  });
}
