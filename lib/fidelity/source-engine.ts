import type { ConnectionConfig } from './connection';
import type { TableMappings } from './selection';

/**
 * How to reach a MySQL-compatible source (MySQL, MariaDB, Aurora MySQL) without a connection
 * string: what the fidelity function builds from the source's secret.
 */
export interface MySqlConnectionOptions {
  readonly engine: 'mysql';
  readonly host: string;
  /** @default 3306 */
  readonly port?: number;
  readonly user: string;
  readonly password: string;
  /** The database (schema) the connection starts in. @default - none: the table mapping names the schemas */
  readonly database?: string;
  /**
   * TLS: `false` for none; `rejectUnauthorized: false` encrypts without verifying the certificate;
   * with `ca`, the certificate is verified against it (and the host name, unless `verifyHost` is false).
   * @default - TLS without certificate verification
   */
  readonly ssl?: false | { readonly rejectUnauthorized: boolean; readonly ca?: string; readonly verifyHost?: boolean };
  /** Milliseconds to wait for the connection. @default 20000 */
  readonly connectTimeoutMs?: number;
}

/** A source: a PostgreSQL connection string or configuration, a `mysql://` connection string, or MySQL options. */
export type SourceConfig = ConnectionConfig | MySqlConnectionOptions;

/** Whether `config` names a MySQL-compatible database: a `mysql://` (or `mariadb://`) string or {@link MySqlConnectionOptions}. */
export function isMySqlSource(config: SourceConfig | undefined): config is string | MySqlConnectionOptions {
  if (typeof config === 'string') return /^\s*(mysql|mariadb):\/\//i.test(config);
  return typeof config === 'object' && config !== null && (config as MySqlConnectionOptions).engine === 'mysql';
}

/** What the cutover asks of a MySQL source: the target's sequences set past the source's next values. */
export interface MySqlSequenceOptions {
  readonly source: string | MySqlConnectionOptions;
  readonly target: ConnectionConfig;
  readonly mappings?: TableMappings;
}

/** One sequence of the target set (or kept) from a source table's next AUTO_INCREMENT value. */
export interface SequenceSetting {
  /** `schema.table.column` on the source. */
  readonly column: string;
  /** The target's sequence, `schema.name`. */
  readonly sequence: string;
  /** The value the source would give next (`AUTO_INCREMENT`, or `MAX(column) + 1`). */
  readonly sourceNext: string;
  /** The value the target's sequence would have given next before. */
  readonly targetNextBefore: string;
  /** `set`: moved forward to the source's next value; `kept`: already at or past it (never moved backwards). */
  readonly action: 'set' | 'kept';
}

/** What setting the sequences did. */
export interface SequencesResult {
  readonly sequences: readonly SequenceSetting[];
  /** Auto-increment columns of the source whose target column has no sequence (nothing to set: reported). */
  readonly withoutSequence: readonly string[];
}

let setSequences: ((options: MySqlSequenceOptions) => Promise<SequencesResult>) | undefined;

/** Makes the cutover set the sequences of a MySQL source's tables (done by `./mysql` when it loads). */
export function registerMySqlSequences(fn: (options: MySqlSequenceOptions) => Promise<SequencesResult>): void {
  setSequences = fn;
}

/** Sets the target's sequences from a MySQL source's next AUTO_INCREMENT values (see {@link mySqlSupport}). */
export function setSequencesFromMySql(options: MySqlSequenceOptions): Promise<SequencesResult> {
  return mySqlSupport(() => setSequences)(options);
}

/**
 * The MySQL half of a check, which `./mysql` registers when it loads (it brings the MySQL driver):
 * loaded on first use from next to this file. The PostgreSQL-only Lambda bundle leaves that module
 * out, and says so.
 */
export function mySqlSupport<T>(registered: () => T | undefined): T {
  let found = registered();
  if (found) return found;
  // a name the bundler does not follow: the PostgreSQL-only bundle stays without the MySQL driver
  const name = ['.', 'mysql'].join('/');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  found = registered();
  if (!found) {
    throw new Error('The source is MySQL, but the MySQL support (lib/fidelity/mysql and the mysql2 driver) is not part of this build. '
      + 'The MigrationPreflight and MigrationVerification constructs use their MySQL function when sourceEngine is SourceEngine.MYSQL.');
  }
  return found;
}
