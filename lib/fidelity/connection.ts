import type { Client as PgClient, ClientConfig, QueryResult, QueryResultRow } from 'pg';
import { inlineParameters } from './sql';

// pg's client alone: its index also loads the pool and the native bindings, which the Lambda bundle does without
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Client: typeof PgClient = require('pg/lib/client');
// node-postgres's conversion of a parameter to its text form (arrays, dates, buffers, objects)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

/** How to reach a database: a `postgresql://` connection string or a node-postgres client configuration. */
export type ConnectionConfig = string | ClientConfig;

/**
 * Session settings pinned on both sides before any value is turned into text, so that equal values
 * produce equal text whatever the server or role defaults are.
 */
export const CANONICAL_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['TimeZone', 'UTC'],
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['standard_conforming_strings', 'on'],
];

/** A connected client plus what the checks need to know about its server. */
export interface Session {
  readonly client: PgClient;
  /** `server_version_num`, e.g. 150004. */
  readonly serverVersion: number;
  readonly serverEncoding: string;
  /**
   * Runs one statement inside a read-only transaction with the canonical settings applied with
   * `SET LOCAL` (so it also behaves behind a transaction-mode connection pooler).
   */
  query<R extends QueryResultRow = QueryResultRow>(text: string, params?: unknown[], extraSettings?: Record<string, string>): Promise<R[]>;
  /**
   * Runs several statements in one read-only transaction, sent together: one network round trip
   * for all of them. Returns the rows of each, in order.
   */
  queryAll(statements: ReadonlyArray<{ readonly text: string; readonly params?: unknown[] }>): Promise<QueryResultRow[][]>;
  close(): Promise<void>;
}

/** Which database a connection goes to. */
export type DatabaseSide = 'source' | 'target';

/** A session that could not be opened; `side` says to which database. The message holds no password. */
export class ConnectionFailedError extends Error {
  constructor(readonly side: DatabaseSide, readonly reason: string) {
    super(`cannot connect to the ${side} database: ${reason}`);
    this.name = 'ConnectionFailedError';
  }
}

function clientConfig(config: ConnectionConfig, applicationName: string): ClientConfig {
  const base: ClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };
  return { application_name: applicationName, ...base };
}

function reasonOf(e: unknown): string {
  // not instanceof Error: errors of Node's own modules may come from another realm
  const error = e as { message?: unknown; code?: unknown } | undefined;
  if (error && typeof error.message === 'string' && error.message) return error.message;
  if (error && typeof error.code === 'string') return error.code;
  return String(e);
}

/**
 * Opens a session. `applicationName` shows up in `pg_stat_activity`. With `side`, a failure to
 * connect is a {@link ConnectionFailedError} naming that side.
 */
export async function openSession(config: ConnectionConfig, applicationName: string, side?: DatabaseSide): Promise<Session> {
  const fail = (e: unknown): never => {
    throw side ? new ConnectionFailedError(side, reasonOf(e)) : e;
  };
  let client!: PgClient;
  try {
    client = new Client(clientConfig(config, applicationName));
  } catch (e) {
    fail(e);
  }
  // the server reports its version and encoding while the connection starts (ParameterStatus)
  const reported = new Map<string, string>();
  type ParameterStatus = { parameterName: string; parameterValue: string };
  const connection = (client as unknown as { connection?: { on(event: string, listener: (m: ParameterStatus) => void): void } }).connection;
  connection?.on('parameterStatus', (m) => reported.set(m.parameterName, m.parameterValue));
  try {
    await client.connect();
  } catch (e) {
    fail(e);
  }
  try {
    const reportedVersion = versionNumber(reported.get('server_version'));
    const info = reportedVersion !== undefined && reported.has('server_encoding')
      ? { v: String(reportedVersion), e: reported.get('server_encoding')! }
      : (await client.query<{ v: string; e: string }>(
        "select current_setting('server_version_num') as v, current_setting('server_encoding') as e")).rows[0];
    const settings = CANONICAL_SETTINGS.map(([k, v]) => `set local ${k} = '${v}'`).join('; ');
    /**
     * The statements in one message, one round trip: the transaction, its settings, the statements
     * and the commit (parameters inlined as literals: the simple protocol takes none).
     */
    const run = async (statements: ReadonlyArray<{ readonly text: string; readonly params?: unknown[] }>, extraSettings: Record<string, string>) => {
      const extra = Object.entries(extraSettings).map(([k, v]) => `; set local ${k} = '${v}'`).join('');
      const prefix = `begin transaction read only; ${settings}${extra}`;
      const before = prefix.split(';').length;
      const body = statements.map((s) => inlineParameters(s.text, s.params ?? [], (value) => client.escapeLiteral(value), prepareValue));
      try {
        const results = await client.query(`${prefix}; ${body.join('; ')}; commit`) as unknown as QueryResult[];
        return body.map((_, i) => results[before + i].rows);
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      }
    };
    return {
      client,
      serverVersion: Number(info.v),
      serverEncoding: info.e,
      async query<R extends QueryResultRow>(text: string, params: unknown[] = [], extraSettings: Record<string, string> = {}) {
        return (await run([{ text, params }], extraSettings))[0] as R[];
      },
      async queryAll(statements: ReadonlyArray<{ readonly text: string; readonly params?: unknown[] }>) {
        return run(statements, {});
      },
      async close() {
        await client.end().catch(() => undefined);
      },
    };
  } catch (e) {
    await client.end().catch(() => undefined);
    return fail(e);
  }
}

/**
 * `server_version_num` from the `server_version` a server reports: `15.4` → 150004, `9.6.24` →
 * 90624, `17beta1` → 170000; undefined for anything else.
 */
export function versionNumber(version: string | undefined): number | undefined {
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version ?? '');
  if (!match) return undefined;
  const [major, minor, patch] = [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
  return major >= 10 ? major * 10000 + minor : major * 10000 + minor * 100 + patch;
}

/** Per-slot lazily opened sessions of any database, closed together at the end. */
export class LazySlots<S extends { close(): Promise<void> }> {
  private readonly sessions = new Map<number, Promise<S>>();

  constructor(private readonly open: () => Promise<S>) {}

  get(slot: number): Promise<S> {
    let session = this.sessions.get(slot);
    if (!session) {
      session = this.open();
      this.sessions.set(slot, session);
    }
    return session;
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((p) => p.then((s) => s.close(), () => undefined)));
  }
}

/** Per-slot lazily opened PostgreSQL sessions, closed together at the end. */
export class SessionSlots extends LazySlots<Session> {
  constructor(config: ConnectionConfig, applicationName: string, side?: DatabaseSide) {
    super(() => openSession(config, applicationName, side));
  }
}
