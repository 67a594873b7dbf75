import * as fs from 'fs';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { ConnectionFailedError, DatabaseSide, LazySlots } from '../connection';
import { InvalidConnectionStringError, unencodedUserInfoProblem } from '../connection-url';
import { MySqlConnectionOptions } from '../source-engine';

// the promise API of mysql2: required here only, so that nothing else loads the driver
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mysql = require('mysql2/promise') as typeof import('mysql2/promise');

/** A MySQL-compatible session: every statement runs with the canonical session settings. */
export interface MySqlSession {
  /** `VERSION()`, e.g. `8.0.43` or `10.11.19-MariaDB-0+deb12u1-log`. */
  readonly version: string;
  /** MariaDB rather than MySQL (JSON is text, collations and catalogs differ). */
  readonly mariaDb: boolean;
  /** Runs one statement; `?` placeholders take `params`, escaped by the driver. Values come back as text. */
  query<T = Record<string, string | null>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** The TLS modes of a `mysql://` connection string, read as libpq reads `sslmode`. */
const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'];

/**
 * Reads a `mysql://user:password@host:port/database?sslmode=require` connection string (also
 * `mariadb://`). `sslmode` as in libpq: `require` (the default) encrypts without verifying the
 * certificate, `verify-ca` verifies it against `sslrootcert`, `verify-full` also the host name
 * (against `sslrootcert`, or Node's CA store), `disable` does not encrypt. Throws an
 * {@link InvalidConnectionStringError} naming the side; the message never repeats the string.
 */
export function parseMySqlUrl(value: string, side: DatabaseSide = 'source'): MySqlConnectionOptions {
  const fail = (problem: string): never => {
    throw new InvalidConnectionStringError(side, problem);
  };
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value.trim());
  const unencoded = scheme ? unencodedUserInfoProblem(value.trim().slice(scheme[0].length)) : undefined;
  if (unencoded) fail(unencoded);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return fail('it cannot be parsed as a URL: percent-encode special characters in the user name and password, '
      + 'e.g. mysql://<user>:<password>@<host>:3306/<database>?sslmode=require');
  }
  if (!/^(mysql|mariadb):$/i.test(url.protocol)) fail('not a MySQL connection string: it must start with mysql://');
  if (!url.hostname) fail('it names no host: mysql://<user>:<password>@<host>:3306/<database>');
  if (!url.username) fail('it names no user: mysql://<user>:<password>@<host>:3306/<database>');
  const port = url.port ? Number(url.port) : 3306;
  const mode = url.searchParams.get('sslmode') ?? 'require';
  if (!SSL_MODES.includes(mode)) fail(`sslmode=${mode} is not one of ${SSL_MODES.join(', ')}`);
  const rootCert = url.searchParams.get('sslrootcert');
  if (mode === 'verify-ca' && !rootCert) fail('sslmode=verify-ca needs sslrootcert=<file> with the CA certificate to verify the server with');
  let ca: string | undefined;
  if (rootCert) {
    try {
      ca = fs.readFileSync(rootCert, 'utf8');
    } catch (e) {
      fail(`cannot read sslrootcert ${rootCert}: ${(e as Error).message}`);
    }
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    engine: 'mysql',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...(database ? { database } : {}),
    ssl: mode === 'disable' ? false : { rejectUnauthorized: mode !== 'require', ...(ca ? { ca } : {}), ...(mode === 'verify-ca' ? { verifyHost: false } : {}) },
  };
}

function driverOptions(options: MySqlConnectionOptions, applicationName: string): ConnectionOptions {
  const ssl = options.ssl ?? { rejectUnauthorized: false };
  const verifyHost = ssl !== false && ssl.verifyHost !== false;
  return {
    host: options.host,
    port: options.port ?? 3306,
    user: options.user,
    password: options.password,
    database: options.database,
    connectTimeout: options.connectTimeoutMs ?? 20_000,
    ssl: ssl === false ? undefined : {
      rejectUnauthorized: ssl.rejectUnauthorized,
      ...(ssl.ca ? { ca: ssl.ca } : {}),
      ...(ssl.rejectUnauthorized && !verifyHost ? { checkServerIdentity: () => undefined } : {}),
    },
    // values as text: the checks turn values into canonical text inside the database
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    jsonStrings: true,
    decimalNumbers: false,
    charset: 'utf8mb4_general_ci',
    connectAttributes: { program_name: applicationName },
  } as ConnectionOptions;
}

/** Session settings of every check: UTC (TIMESTAMP values read in UTC), UTF-8, read only. */
const SESSION_SETTINGS = "SET SESSION time_zone = '+00:00', NAMES utf8mb4, SESSION group_concat_max_len = 1048576";

function reasonOf(e: unknown): string {
  const error = e as { message?: unknown; code?: unknown } | undefined;
  if (error && typeof error.message === 'string' && error.message) return error.message;
  if (error && typeof error.code === 'string') return error.code;
  return String(e);
}

/** Opens a MySQL session; a failure to connect is a {@link ConnectionFailedError} naming `side`. */
export async function openMySqlSession(config: string | MySqlConnectionOptions, applicationName: string, side: DatabaseSide = 'source'): Promise<MySqlSession> {
  const options = typeof config === 'string' ? parseMySqlUrl(config, side) : config;
  let connection: Connection;
  try {
    connection = await mysql.createConnection(driverOptions(options, applicationName));
  } catch (e) {
    throw new ConnectionFailedError(side, reasonOf(e));
  }
  try {
    await connection.query(SESSION_SETTINGS);
    await connection.query('SET SESSION TRANSACTION READ ONLY');
    const [rows] = await connection.query('SELECT VERSION() AS v');
    const version = String((rows as Array<{ v: string }>)[0].v);
    return {
      version,
      mariaDb: /mariadb/i.test(version),
      async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
        const [result] = await connection.query({ sql, values: params, rowsAsArray: false });
        return result as T[];
      },
      async close() {
        await connection.end().catch(() => undefined);
      },
    };
  } catch (e) {
    await connection.end().catch(() => undefined);
    throw e;
  }
}

/** Per-slot lazily opened MySQL sessions, closed together at the end. */
export class MySqlSessionSlots extends LazySlots<MySqlSession> {
  constructor(config: string | MySqlConnectionOptions, applicationName: string, side: DatabaseSide = 'source') {
    super(() => openMySqlSession(config, applicationName, side));
  }
}

/** A MySQL identifier, back-quoted. */
export function mident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** `` `schema`.`table` ``. */
export function mqualified(schema: string, table: string): string {
  return `${mident(schema)}.${mident(table)}`;
}
