#!/usr/bin/env node
import * as fs from 'fs';
import * as path from 'path';
import { ConnectionFailedError, DatabaseSide } from './connection';
import { checkConnectionString, CONNECTION_VARIABLES, InvalidConnectionStringError, withLibpqSslModes } from './connection-url';
// the MySQL support (and its driver): a SOURCE_DATABASE_URL of mysql:// selects it
import './mysql';
import { parseMySqlUrl } from './mysql/connection';
import { MigrationType, preflight, TargetTablePrepMode } from './preflight';
import { ProgressBar, TextSink } from './progress';
import { formatPreflight, formatVerify } from './report';
import { defaultMappings, TableMappings } from './selection';
import { isMySqlSource, SourceConfig } from './source-engine';
import { formatSchemaObjects, verify } from './verify';
import { cutover, formatCutover, LatencyReading } from '../cutover/cutover';
import type * as DmsLatency from '../cutover/dms-latency';
import { planLoadCommand } from '../scale/plan-load-cli';
import {
  ALL_SCHEMA_COPY_STEPS, libpqVariablesFromUrl, neonExtensionsPath, runSchemaCopy, SchemaCopyError, schemaCopyEnvironment, SchemaCopyStep,
} from '../schema/steps';

const ENVIRONMENT = `Connection strings come from the environment only (never from arguments):
  SOURCE_DATABASE_URL   the source database (required)
  TARGET_DATABASE_URL   the Neon target: required by verify, schema and cutover; lets preflight check pre-created tables
Each is postgresql://<user>:<password>@<host>:<port>/<database>?sslmode=require; sslmode has its libpq
meaning (require encrypts, verify-full also verifies the certificate). Use Neon's direct host, not -pooler.
A MySQL-compatible source (MySQL, MariaDB, Aurora MySQL) is mysql://<user>:<password>@<host>:3306/?sslmode=require
(preflight, verify and cutover; see docs/mysql-sources.md).`;

const USAGE = `usage: cdk-neon-migration <preflight|verify|schema|cutover> [options]

commands:
  preflight   before the DMS task runs: finds what it would drop, truncate or change
  verify      after the full load: compares every selected table between source and target
              (with --task-arn, during ongoing replication: differences re-checked after the latency)
  schema      copies the source's schema into the target around the DMS load: schema pre (before
              the task), schema post and schema sequences (after a full load); with CDC, schema
              indexes after the full load and schema constraints and schema sequences at cut-over
  cutover     at the end of a live migration: waits for the task's latency to fall, verifies,
              sets the sequences, and says go or no-go with the evidence
  plan-load   before the task: proposes parallel-load ranges for the large tables

Run cdk-neon-migration <command> --help for the options of a command.

${ENVIRONMENT}

exit status: 0 ok (cutover: go), 1 differences, blocking findings, no table selected, a failed schema
step or no-go, 2 error
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

const TASK_OPTIONS = `  --task-arn <arn>           the DMS replication task (on a replication instance) applying the changes:
                             its latency is read from CloudWatch (CDCLatencySource + CDCLatencyTarget)
                             and its status from DMS, with the AWS credentials of the environment;
                             its table mapping is used unless --schema or --mappings is given
  --recheck-margin <s>       seconds added to the latency before each re-check (default 10)
  --recheck-rounds <n>       re-checks of the rows that differ, at most (default 5)`;

const VERIFY_USAGE = `usage: cdk-neon-migration verify [options]

Compares every selected table between the source and the target after the full load: row counts
and checksums computed in each database over primary-key ranges, narrowed down to the differing
keys. A column whose type differs between the sides is reported instead of its rows.

During ongoing replication (CDC), give --task-arn: a row that differs is read again on both sides
once the task's latency has passed; rows that arrived meanwhile are counted, not reported; a row
still differing whose source row did not change is reported; rows the source changed again in every
re-check are listed as not proven.

options:
${SELECTION_OPTIONS}
  --max-differences <n>      differing keys listed per table (default 20)
  --schema-objects           also compare the schema objects of the selected tables: columns, types,
                             indexes, constraints, triggers, sequence positions, views
${TASK_OPTIONS}
${COMMON_OPTIONS}

${ENVIRONMENT}

exit status: 0 every table matches, 1 differences, type changes, differing schema objects or no table
selected, 2 error
`;

const SCHEMA_USAGE = `usage: cdk-neon-migration schema <pre|indexes|constraints|post|sequences|plan> [options]

Copies the source's schema into the target around the DMS load, for the tables the selection picks,
with the PostgreSQL client tools installed here (psql, pg_dump, pg_restore; pg_dump at least as new
as the source server):

  pre          before the task starts: the extensions, then pg_dump's pre-data section (types,
               domains, functions, sequences, tables, views) of the schemas holding the selected
               tables; identity columns GENERATED ALWAYS are created GENERATED BY DEFAULT, so that
               DMS can write the source's values into them
  indexes      after the full load, before the task applies changes: indexes, primary-key, unique
               and exclusion constraints (what DMS can apply changes under)
  constraints  at cut-over, once writes to the source have stopped and the task has applied them:
               foreign keys, triggers, rules, policies, the refresh of the materialized views and
               the rest of the post-data section; identity columns GENERATED ALWAYS again
  post         indexes and constraints in one step, after a full load without CDC
  sequences    after the full load (and at cut-over under CDC): every sequence continues where the
               source's does; a target sequence already further along is left alone
  plan         lists what the steps would copy and leave out, reading the source only

The order:
  FULL_LOAD          pre, the full load, post, sequences
  FULL_LOAD_AND_CDC  pre, the full load (the task stops after it), indexes, the task resumed
                     (changes applied until cut-over); at cut-over: constraints, sequences

Each step runs in one transaction on the target: it creates everything or nothing. Mappings that
rename schemas, tables or columns, add columns or change types are refused; remove-column is taken
for stored generated columns only, and a selected table's stored generated column needs one (pre
and plan name the rule to add): the target computes the column and refuses a value written into it.

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

const CUTOVER_USAGE = `usage: cdk-neon-migration cutover --task-arn <arn> [options]

The last step of a live migration, once writes to the source have stopped (or slowed down):
  1. waits until the task's replication latency is at most --max-latency (no-go when it stays
     above it for --wait, or when the task is not running, still loading or has tables in error);
  2. verifies every selected table, re-checking differences after the latency (no-go on any row
     lost or different, on rows still changing on the source, or when no table was compared);
  3. only then sets every sequence of the selected tables from the source (the schema copy's
     sequences step; with --constraints the constraints step first);
and prints go or no-go with the evidence: the latency seen, the tables and rows compared, the
differences, the sequences set. Nothing on the target changes on a no-go.

options:
${TASK_OPTIONS}
  --max-latency <s>          the latency, in seconds, at which the task is in sync enough (default 5)
  --wait <s>                 how long to wait for the latency to fall (default 900)
  --poll <s>                 seconds between latency readings while waiting (default 30)
  --constraints              also run the schema copy's constraints step (foreign keys, triggers,
                             identity columns GENERATED ALWAYS again) before the sequences
  --no-sequences             do not set the sequences
${SELECTION_OPTIONS}
  --max-differences <n>      differing keys listed per table (default 20)
${COMMON_OPTIONS}

The schema steps need psql and pg_dump (at least as new as the source server) on PATH.
AWS permissions: dms:DescribeReplicationTasks, dms:DescribeReplicationInstances,
cloudwatch:GetMetricData (DmsMigrationTask.grantCutover grants them).

${ENVIRONMENT}

exit status: 0 go, 1 no-go, 2 error
`;

type Command = 'preflight' | 'verify' | 'schema' | 'cutover';

/** The schema steps, for messages: `pre, indexes, ..., sequences or plan`. */
const SCHEMA_STEP_NAMES = `${ALL_SCHEMA_COPY_STEPS.slice(0, -1).join(', ')} or ${ALL_SCHEMA_COPY_STEPS[ALL_SCHEMA_COPY_STEPS.length - 1]}`;

/** The help text: of one command, or of the program. */
export function usage(command?: Command): string {
  if (command === 'preflight') return PREFLIGHT_USAGE;
  if (command === 'verify') return VERIFY_USAGE;
  if (command === 'schema') return SCHEMA_USAGE;
  if (command === 'cutover') return CUTOVER_USAGE;
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
  /** With `verify` and `cutover`: the DMS task whose latency is read. */
  readonly taskArn?: string;
  /** Seconds. */
  readonly recheckMargin?: number;
  readonly recheckRounds?: number;
  /** With `cutover`, seconds. */
  readonly maxLatency?: number;
  readonly wait?: number;
  readonly poll?: number;
  /** With `cutover`: run the constraints step. */
  readonly constraints?: boolean;
  /** With `cutover`: false to leave the sequences. */
  readonly sequences?: boolean;
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

function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${flag} takes a number of seconds >= 0, got "${value}"`);
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
  '--schema-objects': 'verify',
  '--max-latency': 'cutover',
  '--wait': 'cutover',
  '--poll': 'cutover',
  '--constraints': 'cutover',
  '--no-sequences': 'cutover',
  '--allowed-extensions': 'schema',
  '--no-extension-list': 'schema',
};

/** Options the schema command does not take. */
const NOT_FOR_SCHEMA = new Set(['--concurrency']);

/** Options that verify and cutover take, and only they. */
const VERIFY_AND_CUTOVER = new Set(['--max-differences', '--task-arn', '--recheck-margin', '--recheck-rounds']);

const COMMANDS: readonly Command[] = ['preflight', 'verify', 'schema', 'cutover'];

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
      case '--task-arn': out.taskArn = value(); break;
      case '--recheck-margin': out.recheckMargin = seconds(arg, value()); break;
      case '--recheck-rounds': out.recheckRounds = positiveInt(arg, value()); break;
      case '--max-latency': out.maxLatency = seconds(arg, value()); break;
      case '--wait': out.wait = seconds(arg, value()); break;
      case '--poll': out.poll = seconds(arg, value()); break;
      case '--constraints': out.constraints = true; break;
      case '--no-sequences': out.sequences = false; break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`, command);
        if (arg === 'help' && command === undefined && !help) {
          help = true;
          break;
        }
        if (command === 'schema' && step === undefined) {
          if (!(ALL_SCHEMA_COPY_STEPS as readonly string[]).includes(arg)) {
            throw new UsageError(`unknown schema step "${arg}": ${SCHEMA_STEP_NAMES}`, command);
          }
          step = arg as SchemaCopyStep;
          break;
        }
        if (command !== undefined) throw new UsageError(`unexpected argument "${arg}"`, command);
        if (!(COMMANDS as readonly string[]).includes(arg)) throw new UsageError(`unknown command "${arg}"`);
        command = arg as Command;
    }
  }
  if (help) return { command: 'help', ...(command ? { topic: command } : {}), schemas, json, supportLobs, fullLobMode };
  if (command === undefined) throw new UsageError('missing command: preflight, verify, schema or cutover');
  if (command === 'schema' && step === undefined) throw new UsageError(`missing schema step: ${SCHEMA_STEP_NAMES}`, command);
  for (const flag of seen) {
    const only = ONLY_FOR[flag];
    if (only && only !== command) throw new UsageError(`${flag} applies to ${only} only, not to ${command}`, command);
    if (command === 'schema' && NOT_FOR_SCHEMA.has(flag)) throw new UsageError(`${flag} does not apply to schema`, command);
    if (VERIFY_AND_CUTOVER.has(flag) && command !== 'verify' && command !== 'cutover') {
      throw new UsageError(`${flag} applies to verify and cutover only, not to ${command}`, command);
    }
  }
  if (command === 'cutover' && out.taskArn === undefined) throw new UsageError('cutover needs --task-arn: the task whose latency it waits for', command);
  if (out.taskArn === undefined && (out.recheckMargin !== undefined || out.recheckRounds !== undefined)) {
    throw new UsageError(`${out.recheckMargin !== undefined ? '--recheck-margin' : '--recheck-rounds'} needs --task-arn: the re-check waits for the task's latency`, command);
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

/**
 * The DMS latency reader: the module itself where the AWS SDK is installed (a development checkout),
 * else its bundle with the SDK inside, shipped in the package's assets.
 */
export function loadDmsLatency(): typeof DmsLatency {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../cutover/dms-latency');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, '..', '..', 'assets', 'lib', 'cutover', 'dms-latency', 'index.js'));
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
  if (argv[0] === 'plan-load') return planLoadCommand(argv.slice(1), env, stdout, stderr);
  try {
    const args = parseArgs(argv);
    if (args.command === 'help') {
      stdout.write(usage(args.topic));
      return 0;
    }
    const sourceUrl = env.SOURCE_DATABASE_URL || undefined;
    const targetUrl = env.TARGET_DATABASE_URL || undefined;
    if (!sourceUrl) throw new UsageError('set SOURCE_DATABASE_URL to the source connection string', args.command);
    if ((args.command === 'verify' || args.command === 'cutover' || (args.command === 'schema' && args.step !== 'plan')) && !targetUrl) {
      throw new UsageError('set TARGET_DATABASE_URL to the target connection string', args.command);
    }
    const mysqlSource = isMySqlSource(sourceUrl as SourceConfig);
    if (mysqlSource) {
      parseMySqlUrl(sourceUrl, 'source');
      if (args.command === 'schema') {
        throw new UsageError('schema copies a PostgreSQL source\'s schema with pg_dump; a MySQL source\'s schema is converted by DMS Schema Conversion (DmsMigrationTask schemaConversion)', 'schema');
      }
      if (args.schemaObjects) throw new UsageError('--schema-objects compares PostgreSQL catalogs; it does not apply to a MySQL source', args.command);
      if (args.constraints) throw new UsageError('--constraints runs the schema copy\'s constraints step, which a MySQL source does not have', args.command);
    } else {
      checkConnectionString(sourceUrl, 'source');
    }
    if (targetUrl) checkConnectionString(targetUrl, 'target');
    // sslmode as libpq means it, without node-postgres's warning about its own reading of it
    const source = mysqlSource ? sourceUrl.trim() : withLibpqSslModes(sourceUrl.trim());
    const target = targetUrl ? withLibpqSslModes(targetUrl.trim()) : undefined;
    let mappings = args.mappingsFile ? readMappings(args.mappingsFile) : defaultMappings(args.schemas);
    let latency: (() => Promise<LatencyReading>) | undefined;
    if (args.taskArn !== undefined) {
      const read = loadDmsLatency().dmsTaskLatency({ taskArn: args.taskArn });
      latency = read;
      if (!args.mappingsFile && args.schemas.length === 0) {
        // the task's own table mapping selects the tables
        const first = await read();
        if (first.tableMappings) mappings = first.tableMappings;
      }
    }

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

    if (args.command === 'cutover') {
      const ms = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * 1000));
      const result = await cutover({
        source,
        target: target!,
        mappings,
        latency: latency!,
        maxLatencyMs: ms(args.maxLatency),
        waitMs: ms(args.wait),
        pollMs: ms(args.poll),
        recheckMarginMs: ms(args.recheckMargin),
        recheckRounds: args.recheckRounds,
        concurrency: args.concurrency,
        maxDifferences: args.maxDifferences,
        constraints: args.constraints,
        sequences: args.sequences,
        onProgress,
        onEvent: args.json ? undefined : (message) => bar?.note(message),
      });
      bar.finish();
      stdout.write(args.json ? JSON.stringify(result, null, 2) + '\n' : formatCutover(result));
      if (result.verify?.tables.some((t) => t.status === 'error')) return 2;
      return result.go ? 0 : 1;
    }

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
      recheck: latency && {
        latencyMs: async () => {
          const reading = await latency!();
          if (reading.problem) throw new Error(`the task's latency cannot be used: ${reading.problem}`);
          return reading.latencyMs!;
        },
        marginMs: args.recheckMargin === undefined ? 10_000 : Math.round(args.recheckMargin * 1000),
        maxRounds: args.recheckRounds,
      },
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
