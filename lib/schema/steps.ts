import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { DatabaseSide } from '../fidelity/connection';
import { InvalidConnectionStringError } from '../fidelity/connection-url';
import type { TableMappings } from '../fidelity/selection';

/**
 * The steps of the schema copy: `pre` before the task starts, `post` and `sequences` after the full
 * load; `plan` lists what they would copy (reading the source only, changing nothing).
 */
export type SchemaCopyStep = 'pre' | 'post' | 'sequences' | 'plan';

/** The steps that copy, in the order they run around a DMS load. */
export const SCHEMA_COPY_STEPS: readonly SchemaCopyStep[] = ['pre', 'post', 'sequences'];

/** Every step the script takes. */
export const ALL_SCHEMA_COPY_STEPS: readonly SchemaCopyStep[] = [...SCHEMA_COPY_STEPS, 'plan'];

/** The file name of the script, next to this module (and in `lib/schema` of the source tree). */
export const SCHEMA_COPY_SCRIPT = 'schema-copy.sh';

/** The file name of the list of extensions Neon offers, next to the script. */
export const NEON_EXTENSIONS_FILE = 'neon-extensions.json';

/** Finds a file shipped next to this module: beside the compiled module, or in the source tree. */
function shippedFile(name: string): string {
  const candidates = [
    path.join(__dirname, name),
    // compiled into dist/schema while the file stays in lib/schema
    path.join(__dirname, '..', '..', 'lib', 'schema', name),
  ];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`${name} was not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** The path of `schema-copy.sh`. */
export function schemaCopyScriptPath(): string {
  return shippedFile(SCHEMA_COPY_SCRIPT);
}

/** The path of `neon-extensions.json`, the extensions Neon offers per PostgreSQL major version. */
export function neonExtensionsPath(): string {
  return shippedFile(NEON_EXTENSIONS_FILE);
}

/**
 * How the script reaches one database: the libpq environment variables, without their
 * `SOURCE_`/`TARGET_` prefix (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`,
 * and any other libpq variable such as `PGSSLROOTCERT`).
 */
export type LibpqVariables = Readonly<Record<string, string>>;

/**
 * The environment the script reads. Each side's libpq variables carry its prefix; `PGHOST`, `PGUSER`
 * and `PGDATABASE` are required (the target's not by `plan`), `PGPORT` defaults to 5432. The
 * caller's own unprefixed `PG*` variables are ignored by the script.
 */
export interface SchemaCopyEnvironment {
  readonly SOURCE_PGHOST: string;
  readonly SOURCE_PGPORT?: string;
  readonly SOURCE_PGUSER: string;
  readonly SOURCE_PGPASSWORD?: string;
  readonly SOURCE_PGDATABASE: string;
  readonly SOURCE_PGSSLMODE?: string;
  readonly TARGET_PGHOST: string;
  readonly TARGET_PGPORT?: string;
  readonly TARGET_PGUSER: string;
  /** Neon's `endpoint=<endpoint_id>$<password>` form is passed on unchanged. */
  readonly TARGET_PGPASSWORD?: string;
  readonly TARGET_PGDATABASE: string;
  readonly TARGET_PGSSLMODE?: string;
  /** The DMS table-mapping JSON of the task (`{"rules": [...]}`), or that document as a JSON string. */
  readonly TABLE_MAPPINGS: string;
  /**
   * A JSON file naming the extensions the target offers (as `neon-extensions.json`).
   * @default - every extension the target's pg_available_extensions lists
   */
  readonly ALLOWED_EXTENSIONS_FILE?: string;
  /** Other prefixed libpq variables, e.g. `TARGET_PGSSLROOTCERT`. */
  readonly [variable: string]: string | undefined;
}

/** URL parameters and the libpq environment variable each one becomes. */
const URL_PARAMETERS: Readonly<Record<string, string>> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  dbname: 'PGDATABASE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  options: 'PGOPTIONS',
  application_name: 'PGAPPNAME',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  sslcompression: 'PGSSLCOMPRESSION',
  sslsni: 'PGSSLSNI',
  requirepeer: 'PGREQUIREPEER',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  gssencmode: 'PGGSSENCMODE',
  krbsrvname: 'PGKRBSRVNAME',
  channel_binding: 'PGCHANNELBINDING',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  client_encoding: 'PGCLIENTENCODING',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  load_balance_hosts: 'PGLOADBALANCEHOSTS',
  require_auth: 'PGREQUIREAUTH',
};

/** node-postgres's own parameters, which libpq does not know: left out. */
const NODE_ONLY_PARAMETERS = new Set(['uselibpqcompat', 'ssl']);

function decode(value: string, side: DatabaseSide, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new InvalidConnectionStringError(side, `the ${what} holds a % that does not start a percent-encoded character`);
  }
}

/**
 * The libpq variables of a `postgresql://` connection string: user, password, host, port and
 * database from the URL (percent-decoded), and its parameters (`sslmode`, `sslrootcert`, `options`,
 * ...) as the variables libpq reads. node-postgres's `sslmode=no-verify` becomes `require` (encrypt,
 * do not verify). Throws an {@link InvalidConnectionStringError} naming the side, without repeating
 * the string.
 */
export function libpqVariablesFromUrl(url: string, side: DatabaseSide): LibpqVariables {
  const trimmed = url.trim();
  const scheme = /^(postgres|postgresql):\/\//i.exec(trimmed);
  if (!scheme) throw new InvalidConnectionStringError(side, 'not a PostgreSQL connection string: it must start with postgresql:// or postgres://');
  let parsed: URL;
  try {
    // the authority may be empty when a host parameter names the host
    parsed = new URL(`postgresql://${trimmed.slice(scheme[0].length).replace(/^@?(?=[/?#]|$)/, 'placeholder.invalid')}`);
  } catch {
    throw new InvalidConnectionStringError(side, 'it cannot be parsed as a URL: percent-encode special characters in the user name, password and database name');
  }
  const vars: Record<string, string> = {};
  const host = parsed.hostname === 'placeholder.invalid' ? '' : parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host) vars.PGHOST = decode(host, side, 'host');
  if (parsed.port) vars.PGPORT = parsed.port;
  if (parsed.username) vars.PGUSER = decode(parsed.username, side, 'user name');
  if (parsed.password) vars.PGPASSWORD = decode(parsed.password, side, 'password');
  const database = parsed.pathname.replace(/^\//, '');
  if (database) vars.PGDATABASE = decode(database, side, 'database name');
  for (const [name, value] of parsed.searchParams) {
    if (NODE_ONLY_PARAMETERS.has(name)) continue;
    const variable = URL_PARAMETERS[name];
    if (!variable) {
      throw new InvalidConnectionStringError(side, `the parameter ${name} is not a libpq connection parameter the schema copy can pass on`);
    }
    vars[variable] = name === 'sslmode' && value === 'no-verify' ? 'require' : value;
  }
  if (!vars.PGHOST) throw new InvalidConnectionStringError(side, 'it names no host');
  if (!vars.PGUSER) throw new InvalidConnectionStringError(side, 'it names no user: postgresql://<user>:<password>@<host>/<database>');
  if (!vars.PGDATABASE) throw new InvalidConnectionStringError(side, 'it names no database: postgresql://<user>:<password>@<host>/<database>');
  return vars;
}

/** What {@link schemaCopyEnvironment} builds the environment from. */
export interface SchemaCopyOptions {
  readonly source: LibpqVariables;
  /** Required by every step but `plan`. */
  readonly target?: LibpqVariables;
  readonly mappings: TableMappings;
  /** @default - no list: the target's pg_available_extensions decides */
  readonly allowedExtensionsFile?: string;
}

/** The script's environment: each side's libpq variables with its prefix, the mapping as JSON. */
export function schemaCopyEnvironment(options: SchemaCopyOptions): SchemaCopyEnvironment {
  const env: Record<string, string> = {};
  for (const [prefix, vars] of [['SOURCE_', options.source], ['TARGET_', options.target ?? {}]] as const) {
    for (const [name, value] of Object.entries(vars)) {
      if (!/^PG[A-Z_]+$/.test(name)) throw new Error(`${name} is not a libpq environment variable`);
      env[prefix + name] = value;
    }
  }
  env.TABLE_MAPPINGS = JSON.stringify(options.mappings);
  if (options.allowedExtensionsFile) env.ALLOWED_EXTENSIONS_FILE = options.allowedExtensionsFile;
  return env as unknown as SchemaCopyEnvironment;
}

/** Where a failed step failed: a database, or one of its inputs. */
export type SchemaCopyFailurePlace = DatabaseSide | 'TABLE_MAPPINGS' | 'ALLOWED_EXTENSIONS_FILE' | 'environment';

/**
 * A step that failed: `place` says where, `message` is the script's message (the client tool's own
 * where one failed), `exitCode` is 1 for a failed or refused step and 2 for bad usage or environment.
 */
export class SchemaCopyError extends Error {
  constructor(
    readonly step: SchemaCopyStep,
    readonly place: SchemaCopyFailurePlace | undefined,
    readonly detail: string,
    readonly exitCode: number,
    /** What the step printed before it failed. */
    readonly output: string,
  ) {
    super(place ? `schema copy ${step}: ${place}: ${detail}` : `schema copy ${step}: ${detail}`);
    this.name = 'SchemaCopyError';
  }
}

/** What a step printed: one line per action (tables selected, extensions created, sequences set). */
export interface SchemaCopyResult {
  readonly step: SchemaCopyStep;
  readonly lines: readonly string[];
}

/** Options of {@link runSchemaCopy}. */
export interface RunSchemaCopyOptions {
  /**
   * Directories searched first for psql, pg_dump and pg_restore.
   * @default - PATH only
   */
  readonly binDirs?: readonly string[];
  /** Called with each line the step prints, as it prints it. */
  readonly onLine?: (line: string) => void;
}

const PREFIX = /^schema-copy (pre|post|sequences|plan): (source|target|TABLE_MAPPINGS|ALLOWED_EXTENSIONS_FILE|environment): ([\s\S]*)$/;

/**
 * Runs one step of the schema copy with `bash`. Resolves with the lines it printed; rejects with a
 * {@link SchemaCopyError} holding its message on failure. The environment given is the only
 * database configuration the script sees (none of the caller's `PG*` variables).
 */
export function runSchemaCopy(step: SchemaCopyStep, env: SchemaCopyEnvironment, options: RunSchemaCopyOptions = {}): Promise<SchemaCopyResult> {
  if (!ALL_SCHEMA_COPY_STEPS.includes(step)) return Promise.reject(new Error(`unknown schema copy step "${step}"`));
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(PG|SOURCE_PG|TARGET_PG)/.test(name) && name !== 'TABLE_MAPPINGS' && name !== 'ALLOWED_EXTENSIONS_FILE') {
      inherited[name] = value;
    }
  }
  const pathValue = [...(options.binDirs ?? []), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(path.delimiter);
  const childEnv: Record<string, string> = { ...inherited, PATH: pathValue };
  for (const [name, value] of Object.entries(env)) if (value !== undefined) childEnv[name] = value;

  return new Promise((resolve, reject) => {
    const child = spawn('bash', [schemaCopyScriptPath(), step], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        options.onLine?.(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', (e) => reject(new SchemaCopyError(step, 'environment', `cannot run bash: ${e.message}`, 2, stdout)));
    child.on('close', (code, signal) => {
      if (pending) options.onLine?.(pending);
      if (code === 0) {
        resolve({ step, lines: stdout.split('\n').filter((l) => l.length > 0) });
        return;
      }
      const message = stderr.trim();
      const match = PREFIX.exec(message);
      const detail = match ? match[3] : (message || `exited with ${signal ? `signal ${signal}` : `status ${code}`}`);
      reject(new SchemaCopyError(step, match ? match[2] as SchemaCopyFailurePlace : undefined, detail, code ?? 1, stdout));
    });
  });
}
