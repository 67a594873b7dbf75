import { DatabaseSide } from './connection';
import { neonDirectHost, portProblem, splitAuthority } from '../neon/connection-string';

/** The environment variable holding each side's connection string. */
export const CONNECTION_VARIABLES: Readonly<Record<DatabaseSide, string>> = {
  source: 'SOURCE_DATABASE_URL',
  target: 'TARGET_DATABASE_URL',
};

/** A connection string that cannot be used; the message never repeats the string (it may hold a password). */
export class InvalidConnectionStringError extends Error {
  /** The environment variable the string came from. */
  readonly variable: string;

  constructor(readonly side: DatabaseSide, problem: string) {
    super(`${CONNECTION_VARIABLES[side]} (the ${side} database): ${problem}`);
    this.name = 'InvalidConnectionStringError';
    this.variable = CONNECTION_VARIABLES[side];
  }
}

/** How each reserved character is written in a URL's user name or password. */
const PERCENT_ENCODED: Readonly<Record<string, string>> = { '#': '%23', '?': '%3F', '/': '%2F', '@': '%40', '%': '%25' };

/**
 * What is wrong with the user name or password of a URL (given what follows its `scheme://`) that
 * holds `#` or `?` unencoded, or undefined. libpq reads the user information up to the `@` before
 * the first `/`; a URL parser (node-postgres's, mysql2's) ends the authority at the `#` or `?`, and
 * takes what precedes it for the host and port. The message names the characters, never the text.
 */
export function unencodedUserInfoProblem(afterScheme: string): string | undefined {
  const slash = afterScheme.indexOf('/');
  const head = slash < 0 ? afterScheme : afterScheme.slice(0, slash);
  const at = head.lastIndexOf('@');
  if (at < 0) return undefined;
  const found = [...new Set(head.slice(0, at).match(/[#?]/g) ?? [])];
  if (found.length === 0) return undefined;
  const chars = found.map((c) => `${c} (as ${PERCENT_ENCODED[c]})`).join(' and ');
  return `the user name or password holds ${found.join(' and ')} unencoded, where a URL's host part ends: percent-encode ${chars}; `
    + 'in a user name or password write / as %2F, @ as %40 and % as %25 too';
}

/** The `sslmode` values node-postgres knows (libpq's `allow` is not one of them). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * Checks a connection string before anything connects: the `postgresql://` or `postgres://` scheme,
 * a host (in the authority, or a `host` parameter), a port from 1 to 65535, a known `sslmode`
 * (`verify-ca` with `sslrootcert`), and no Neon pooled host (`-pooler`). Any PostgreSQL host is
 * accepted otherwise. Throws an {@link InvalidConnectionStringError} naming the side.
 */
export function checkConnectionString(value: string, side: DatabaseSide): void {
  const fail = (problem: string): never => {
    throw new InvalidConnectionStringError(side, problem);
  };
  const trimmed = value.trim();
  const scheme = /^(postgres|postgresql):\/\//i.exec(trimmed);
  if (!scheme) {
    fail('not a PostgreSQL connection string: it must start with postgresql:// or postgres://, '
      + 'e.g. postgresql://<user>:<password>@<host>:5432/<database>?sslmode=require');
  }
  const afterScheme = trimmed.slice(scheme![0].length);
  const unencoded = unencodedUserInfoProblem(afterScheme);
  if (unencoded) fail(unencoded);
  const authority = splitAuthority(afterScheme);
  if (!authority) {
    fail('an @ follows the host: percent-encode /, ?, # and @ in the user name and password (as %2F, %3F, %23, %40)');
  }
  if (authority!.port) {
    const problem = portProblem(authority!.port);
    if (problem) fail(problem);
  }
  const question = afterScheme.search(/[?#]/);
  const params = new URLSearchParams(question >= 0 && afterScheme[question] === '?' ? afterScheme.slice(question + 1).split('#')[0] : '');
  const hostParameter = params.get('host');
  const host = authority!.host.replace(/^\[(.*)\]$/, '$1');
  if (!host && !hostParameter) {
    fail('it names no host: postgresql://<user>:<password>@<host>:5432/<database>');
  }
  try {
    // what node-postgres parses the string with (a placeholder host where a parameter gives it)
    new URL(`postgresql://${host ? afterScheme : afterScheme.replace(/@?(?=[/?#]|$)/, '@placeholder')}`);
  } catch {
    fail('it cannot be parsed as a URL: percent-encode special characters in the user name, password and database name');
  }
  const portParameter = params.get('port');
  if (portParameter !== null) {
    const problem = portProblem(portParameter);
    if (problem) fail(`${problem} (the port parameter)`);
  }
  for (const name of [host, hostParameter ?? '']) {
    const direct = neonDirectHost(name);
    if (direct) {
      fail(`${name.toLowerCase()} is Neon's pooled (PgBouncer) host. Use the direct host, as the DMS endpoint does: `
        + `${direct} (the same host without -pooler).`);
    }
  }
  const sslMode = params.get('sslmode');
  if (sslMode !== null && !SSL_MODES.includes(sslMode)) {
    fail(`sslmode=${sslMode} is not an SSL mode node-postgres knows; use require, verify-full, verify-ca (with sslrootcert) or disable`);
  }
  if (sslMode === 'verify-ca' && !params.get('sslrootcert')) {
    fail('sslmode=verify-ca needs sslrootcert=<file> with the CA certificate to verify the server with (or use verify-full)');
  }
}

/** The modes node-postgres 8 gives another meaning than libpq (and warns about). */
const LIBPQ_MEANING = ['prefer', 'require', 'verify-ca'];

/**
 * A connection string whose `sslmode` means what it means in libpq: `require` (and `prefer`)
 * encrypt without verifying the server certificate (verified against `sslrootcert` when one is
 * given), `verify-ca` verifies the chain against `sslrootcert`, `verify-full` the chain (Node's CA
 * store unless `sslrootcert` is given) and the host name, `disable` does not encrypt.
 * node-postgres 8 otherwise treats `require` as `verify-full` and prints a warning that this will
 * change; `uselibpqcompat=true` selects the libpq meaning now. Other modes (`disable`,
 * `verify-full`, node-postgres's `no-verify`) and a string that sets `uselibpqcompat` itself are
 * left as they are.
 */
export function withLibpqSslModes(connectionString: string): string {
  const hash = connectionString.indexOf('#');
  const body = hash < 0 ? connectionString : connectionString.slice(0, hash);
  const question = body.indexOf('?');
  if (question < 0) return connectionString;
  const params = new URLSearchParams(body.slice(question + 1));
  if (!LIBPQ_MEANING.includes(params.get('sslmode') ?? '') || params.has('uselibpqcompat')) return connectionString;
  const separator = body.endsWith('?') || body.endsWith('&') ? '' : '&';
  return `${body}${separator}uselibpqcompat=true${hash < 0 ? '' : connectionString.slice(hash)}`;
}
