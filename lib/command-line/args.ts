import * as fs from 'fs';
import { Command, SCHEMA_STEP_NAMES } from './usage';
import type { MigrationType, TargetTablePrepMode } from '../fidelity/preflight';
import type { TableMappings } from '../fidelity/selection';
import { ALL_SCHEMA_COPY_STEPS, SchemaCopyStep } from '../schema/steps';

/* The command line's arguments: parsed, checked against each other, and the mapping file read. */

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
export class UsageError extends Error {
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

export function readMappings(file: string): TableMappings {
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
