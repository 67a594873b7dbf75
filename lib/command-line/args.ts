import * as fs from 'fs';
import { Command, COMMAND_NAMES, COMMANDS, SCHEMA_STEP_NAMES } from './usage';
import { parseTaskArn } from '../cutover/task-arn';
import type { MigrationType, TargetTablePrepMode } from '../fidelity/preflight';
import type { TableMappings } from '../fidelity/selection';
import { ALL_SCHEMA_COPY_STEPS, SchemaCopyStep } from '../schema/steps';

/* The command line's arguments: parsed, checked against each other, and the mapping file read. */

/** Parsed command line. */
export interface CliArgs {
  /** `help` prints the help of `topic` (or of the program), `version` the package's version. */
  readonly command: Command | 'help' | 'version';
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
  /** With `plan-load`: tables of at least this many rows are cut. */
  readonly minRows?: number;
  /** With `plan-load`: rows per segment, about. */
  readonly rowsPerSegment?: number;
  /** With `plan-load`: segments per table at most (2 to 49). */
  readonly maxSegments?: number;
}

/** A problem with the command line. `command` picks the help printed with it. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: Command) {
    super(message);
  }
}

function positiveInt(flag: string, value: string, command: Command | undefined): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new UsageError(`${flag} takes a positive integer, got "${value}"`, command);
  return n;
}

function seconds(flag: string, value: string, command: Command | undefined): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value)) throw new UsageError(`${flag} takes a number of seconds >= 0, got "${value}"`, command);
  return n;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[], command: Command | undefined): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`, command);
  return value as T;
}

function taskArn(value: string, command: Command | undefined): string {
  try {
    parseTaskArn(value);
  } catch (e) {
    throw new UsageError(`--task-arn: ${(e as Error).message}`, command);
  }
  return value;
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
  '--min-rows': 'plan-load',
  '--rows-per-segment': 'plan-load',
  '--max-segments': 'plan-load',
};

/** Options the schema and plan-load commands do not take. */
const NOT_FOR: Readonly<Record<string, ReadonlySet<string>>> = {
  'schema': new Set(['--concurrency']),
  'plan-load': new Set(['--concurrency']),
};

/** Options that verify and cutover take, and only they. */
const VERIFY_AND_CUTOVER = new Set(['--max-differences', '--task-arn', '--recheck-margin', '--recheck-rounds']);

/**
 * Parses `argv` (without the node and script paths). Throws a {@link UsageError} on anything
 * unknown or wrong, naming the command when one is given (wherever it stands), so that its help
 * follows the message.
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args = [...argv];
  // the command, wherever it stands: an error in an option before it is still shown with its help
  const named = argv.find((a) => (COMMANDS as readonly string[]).includes(a)) as Command | undefined;
  let command: Command | undefined;
  let step: SchemaCopyStep | undefined;
  let help = false;
  let version = false;
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
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${arg} needs a value`, command ?? named);
      return v;
    };
    if (arg.startsWith('-')) seen.push(arg);
    switch (arg) {
      case '-h': case '--help': help = true; break;
      case '--version': version = true; break;
      case '--json': json = true; break;
      case '--schema': schemas.push(value()); break;
      case '--mappings': out.mappingsFile = value(); break;
      case '--concurrency': out.concurrency = positiveInt(arg, value(), command ?? named); break;
      case '--lob-max-size-kb': out.lobMaxSizeKb = positiveInt(arg, value(), command ?? named); break;
      case '--max-differences': out.maxDifferences = positiveInt(arg, value(), command ?? named); break;
      case '--migration-type': out.migrationType = oneOf(arg, value(), ['full-load', 'cdc', 'full-load-and-cdc'] as const, command ?? named); break;
      case '--target-prep-mode': out.targetTablePrepMode = oneOf(arg, value(), ['DO_NOTHING', 'DROP_AND_CREATE', 'TRUNCATE_BEFORE_LOAD'] as const, command ?? named); break;
      case '--no-lobs': supportLobs = false; break;
      case '--full-lob-mode': fullLobMode = true; break;
      case '--schema-objects': out.schemaObjects = true; break;
      case '--allowed-extensions': out.allowedExtensionsFile = value(); break;
      case '--no-extension-list': out.extensionList = false; break;
      case '--task-arn': out.taskArn = taskArn(value(), command ?? named); break;
      case '--recheck-margin': out.recheckMargin = seconds(arg, value(), command ?? named); break;
      case '--recheck-rounds': out.recheckRounds = positiveInt(arg, value(), command ?? named); break;
      case '--max-latency': out.maxLatency = seconds(arg, value(), command ?? named); break;
      case '--wait': out.wait = seconds(arg, value(), command ?? named); break;
      case '--poll': out.poll = seconds(arg, value(), command ?? named); break;
      case '--constraints': out.constraints = true; break;
      case '--no-sequences': out.sequences = false; break;
      case '--min-rows': out.minRows = positiveInt(arg, value(), command ?? named); break;
      case '--rows-per-segment': out.rowsPerSegment = positiveInt(arg, value(), command ?? named); break;
      case '--max-segments': out.maxSegments = positiveInt(arg, value(), command ?? named); break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`, command ?? named);
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
        if (!(COMMANDS as readonly string[]).includes(arg)) throw new UsageError(`unknown command "${arg}": ${COMMAND_NAMES}`);
        command = arg as Command;
    }
  }
  if (help) return { command: 'help', ...(command ? { topic: command } : {}), schemas, json, supportLobs, fullLobMode };
  if (version) return { command: 'version', schemas, json, supportLobs, fullLobMode };
  if (command === undefined) throw new UsageError(`missing command: ${COMMAND_NAMES}`);
  if (command === 'schema' && step === undefined) throw new UsageError(`missing schema step: ${SCHEMA_STEP_NAMES}`, command);
  for (const flag of seen) {
    const only = ONLY_FOR[flag];
    if (only && only !== command) throw new UsageError(`${flag} applies to ${only} only, not to ${command}`, command);
    if (NOT_FOR[command]?.has(flag)) throw new UsageError(`${flag} does not apply to ${command}`, command);
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
  if (out.maxSegments !== undefined && (out.maxSegments < 2 || out.maxSegments > 49)) {
    throw new UsageError(`--max-segments is ${out.maxSegments}; use 2 to 49 (MaxFullLoadSubTasks is at most 49)`, command);
  }
  return { ...out, command, ...(step ? { step } : {}), schemas, json, supportLobs, fullLobMode };
}

/** Reads the `--mappings` file of `command`; a file that cannot be read or is no mapping is a usage error. */
export function readMappings(file: string, command?: Command): TableMappings {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --mappings file ${file}: ${(e as Error).message}`, command);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
    // the mapping may also be stored as a JSON string (as in a CloudFormation TableMappings property)
    if (typeof parsed === 'string') parsed = JSON.parse(parsed);
  } catch (e) {
    throw new UsageError(`--mappings file ${file} is not valid JSON: ${(e as Error).message}`, command);
  }
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as TableMappings).rules)) {
    throw new UsageError(`--mappings file ${file} must hold an object with a "rules" array`, command);
  }
  return parsed as TableMappings;
}
