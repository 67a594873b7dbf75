#!/usr/bin/env node
import * as fs from 'fs';
import { MigrationType, preflight, TargetTablePrepMode } from './preflight';
import { ProgressBar, TextSink } from './progress';
import { formatPreflight, formatVerify } from './report';
import { defaultMappings, TableMappings } from './selection';
import { verify } from './verify';

const USAGE = `usage: cdk-neon-migration <preflight|verify> [options]

Connection strings come from the environment only:
  SOURCE_DATABASE_URL   the source database (required)
  TARGET_DATABASE_URL   the Neon target (required by verify; lets preflight check target tables)

options:
  --schema <name>            select every table of this schema (repeatable; default: all schemas)
  --mappings <file.json>     the DMS table-mapping JSON ({"rules": [...]}) of the task
  --migration-type <type>    full-load | cdc | full-load-and-cdc (preflight; default full-load)
  --lob-max-size-kb <n>      the task's LobMaxSize in KB (preflight; default 32)
  --full-lob-mode            the task uses full LOB mode (preflight)
  --no-lobs                  the task runs with SupportLobs=false (preflight)
  --target-prep-mode <mode>  DO_NOTHING | DROP_AND_CREATE | TRUNCATE_BEFORE_LOAD (preflight; default DO_NOTHING)
  --max-differences <n>      differing keys listed per table (verify; default 20)
  --concurrency <n>          tables processed at the same time (default 4)
  --json                     print the result as JSON
  -h, --help                 show this help

exit status: 0 ok, 1 differences or blocking findings, 2 error
`;

/** Parsed command line. */
export interface CliArgs {
  readonly command: 'preflight' | 'verify' | 'help';
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
}

class UsageError extends Error {}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`${flag} takes a positive integer, got "${value}"`);
  return n;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** Parses `argv` (without the node and script paths). Throws a usage error on anything unknown. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args = [...argv];
  let command: CliArgs['command'] | undefined;
  const schemas: string[] = [];
  const out: { -readonly [K in keyof CliArgs]?: CliArgs[K] } = {};
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
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-h': case '--help': command = 'help'; break;
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
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (command !== undefined) throw new UsageError(`unexpected argument "${arg}"`);
        if (arg !== 'preflight' && arg !== 'verify') throw new UsageError(`unknown command "${arg}"`);
        command = arg;
    }
  }
  if (command === undefined) throw new UsageError('missing command: preflight or verify');
  if (schemas.length > 0 && out.mappingsFile) throw new UsageError('use either --schema or --mappings, not both (add the schemas to the mapping\'s selection rules)');
  if (!supportLobs && fullLobMode) throw new UsageError('--no-lobs and --full-lob-mode exclude each other');
  return { ...out, command, schemas, json, supportLobs, fullLobMode };
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

/**
 * Runs the command line. Returns the exit status: 0 ok, 1 differences or blocking findings, 2 error.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, stdout: TextSink, stderr: TextSink): Promise<number> {
  let bar: ProgressBar | undefined;
  try {
    const args = parseArgs(argv);
    if (args.command === 'help') {
      stdout.write(USAGE);
      return 0;
    }
    const source = env.SOURCE_DATABASE_URL;
    const target = env.TARGET_DATABASE_URL || undefined;
    if (!source) throw new UsageError('set SOURCE_DATABASE_URL to the source connection string');
    if (args.command === 'verify' && !target) throw new UsageError('set TARGET_DATABASE_URL to the target connection string');
    const mappings = args.mappingsFile ? readMappings(args.mappingsFile) : defaultMappings(args.schemas);
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
    });
    bar.finish();
    stdout.write(args.json ? JSON.stringify(result, null, 2) + '\n' : formatVerify(result));
    if (result.tables.some((t) => t.status === 'error')) return 2;
    return result.ok ? 0 : 1;
  } catch (e) {
    bar?.finish();
    const message = e instanceof Error ? e.message : String(e);
    stderr.write(`error: ${message}\n`);
    if (e instanceof UsageError) stderr.write(`\n${USAGE}`);
    return 2;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2), process.env, process.stdout, process.stderr).then((code) => {
    process.exitCode = code;
  });
}
