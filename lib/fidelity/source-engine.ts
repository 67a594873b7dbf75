import type { ConnectionConfig } from './connection';
import type { PreflightOptions, PreflightResult } from './preflight';
import type { TableMappings } from './selection';
import type { VerifyOptions, VerifyResult } from './verify';

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

/** The MySQL half of the checks, loaded only when a source is MySQL (it brings the MySQL driver). */
export interface MySqlSourceSupport {
  preflight(options: PreflightOptions): Promise<PreflightResult>;
  verify(options: VerifyOptions): Promise<VerifyResult>;
  setSequences(options: MySqlSequenceOptions): Promise<SequencesResult>;
}

let registered: MySqlSourceSupport | undefined;

/** Makes the MySQL checks available (done by `./mysql` when it is loaded). */
export function registerMySqlSupport(support: MySqlSourceSupport): void {
  registered = support;
}

/**
 * The MySQL checks. Loaded on first use from `./mysql` next to this file: the PostgreSQL-only
 * Lambda bundle leaves that module (and its driver) out, and says so.
 */
export function mySqlEngine(): MySqlSourceSupport {
  if (registered) return registered;
  // a name the bundler does not follow: the PostgreSQL-only bundle stays without the MySQL driver
  const name = ['.', 'mysql'].join('/');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
  }
  if (!registered) {
    throw new Error('The source is MySQL, but the MySQL support (lib/fidelity/mysql and the mysql2 driver) is not part of this build. '
      + 'The MigrationPreflight and MigrationVerification constructs use their MySQL function when sourceEngine is SourceEngine.MYSQL.');
  }
  return registered;
}
