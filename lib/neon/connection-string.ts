/**
 * Parsing and validation of Neon connection strings and hosts.
 *
 * Shared by `NeonTargetEndpoint` (synth time) and the Neon credentials handler (deploy time), so it
 * imports nothing from aws-cdk-lib. Error messages never repeat the connection string: it may hold
 * a password.
 */

/** Default PostgreSQL port. */
export const DEFAULT_POSTGRES_PORT = 5432;

/** Raised for every connection-string or host problem; the message is safe to show and log. */
export class NeonConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NeonConnectionError';
  }
}

/** What a Neon host says about itself. */
export interface NeonHostInfo {
  /** The host as given. */
  readonly host: string;
  /** The compute endpoint ID, e.g. `ep-curly-term-54009904`. */
  readonly endpointId: string;
  /** Whether the host is under `neon.tech`. */
  readonly isNeonHost: boolean;
  /** Cloud of a Neon host (`aws`, `azure`, `gcp`), when the host names one. */
  readonly cloud?: string;
  /** Region of a Neon host, e.g. `us-east-2` or `eastus2`, when the host names one. */
  readonly region?: string;
}

/** A parsed connection string. */
export interface ParsedConnectionString extends NeonHostInfo {
  readonly port: number;
  readonly databaseName: string;
  readonly username: string;
  /** Percent-decoded password, when the string holds one. */
  readonly password?: string;
  /** The `sslmode` query parameter, when present. */
  readonly sslMode?: string;
  /** The `channel_binding` query parameter, when present. */
  readonly channelBinding?: string;
}

export interface HostOptions {
  /** Name of the property the host came from, used in error messages. */
  readonly propertyName: string;
  /** Accept a host outside `neon.tech`. */
  readonly allowNonNeonHost?: boolean;
  /** Endpoint ID to use instead of the host's first label. */
  readonly endpointId?: string;
}

export interface ConnectionStringOptions extends HostOptions {
  /** Whether the string may carry a password (true for a string read from a secret). */
  readonly passwordAllowed: boolean;
  /** Reject `channel_binding=require` (DMS cannot use channel binding with the endpoint-in-password form). */
  readonly rejectChannelBinding: boolean;
}

const NEON_DOMAIN = 'neon.tech';
const POOLER_SUFFIX = '-pooler';
const NEON_CLOUDS = ['aws', 'azure', 'gcp'];
const ENDPOINT_ID_PATTERN = /^ep-[a-z0-9]+(-[a-z0-9]+)*$/;
const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const INSECURE_SSL_MODES = ['disable', 'allow', 'prefer'];

/** The host and port of a connection string's authority, as written (nothing decoded). */
export interface UrlAuthority {
  /** Whether the authority holds user information (`user[:password]@`). */
  readonly hasUserInfo: boolean;
  /** The host as written: empty when there is none, in brackets for an IPv6 address. */
  readonly host: string;
  /** The port as written, when the authority has a `:` after the host. */
  readonly port?: string;
}

/**
 * Splits the authority of a connection string, given what follows its `scheme://`: the text up to
 * the first `/`, `?` or `#`, with user information up to its last `@`. Undefined when an `@` comes
 * after the authority: a user name or password holding an unencoded `/`, `?` or `#` (whose parts
 * would otherwise be taken for the host and port, and could end up in a message).
 */
export function splitAuthority(afterScheme: string): UrlAuthority | undefined {
  const end = afterScheme.search(/[/?#]/);
  const authority = end < 0 ? afterScheme : afterScheme.slice(0, end);
  const rest = end < 0 ? '' : afterScheme.slice(end);
  const at = authority.lastIndexOf('@');
  if (/^[^?#]*@/.test(rest)) return undefined;
  const hostPort = authority.slice(at + 1);
  const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  return { hasUserInfo: at >= 0, host: match?.[1] ?? hostPort, port: match?.[2] };
}

/**
 * What is wrong with a port as written (`port 70000 is outside 1–65535`), or undefined when it is
 * a number from 1 to 65535. A port that is not a number is not repeated.
 */
export function portProblem(port: string): string | undefined {
  if (!/^\d+$/.test(port)) return 'the port is not a number from 1 to 65535';
  const value = Number(port);
  if (value < 1 || value > 65535) return `port ${port} is outside 1–65535`;
  return undefined;
}

/**
 * The direct host of a Neon pooled host (`ep-x-pooler.<region>.aws.neon.tech` gives
 * `ep-x.<region>.aws.neon.tech`), or undefined when `host` is not a pooled Neon host.
 */
export function neonDirectHost(host: string): string | undefined {
  const lower = host.toLowerCase();
  if (!lower.endsWith(`.${NEON_DOMAIN}`)) return undefined;
  return withoutPooler(lower);
}

/** The host without `-pooler` at the end of its first label, or undefined when it has none. */
function withoutPooler(lowerHost: string): string | undefined {
  const labels = lowerHost.split('.');
  if (!labels[0].endsWith(POOLER_SUFFIX)) return undefined;
  return [labels[0].slice(0, -POOLER_SUFFIX.length), ...labels.slice(1)].join('.');
}

/**
 * Derive the Neon endpoint ID from a host, rejecting pooled and non-Neon hosts.
 */
export function parseNeonHost(host: string, options: HostOptions): NeonHostInfo {
  const prop = options.propertyName;
  const lower = host.toLowerCase();
  if (!HOSTNAME_PATTERN.test(lower)) {
    throw new NeonConnectionError(`${prop}: '${host}' is not a valid host name. Use the host of your Neon connection string, e.g. ep-curly-term-54009904.us-east-2.aws.neon.tech.`);
  }
  const labels = lower.split('.');
  const first = labels[0];
  const direct = withoutPooler(lower);
  if (direct !== undefined) {
    throw new NeonConnectionError(
      `${prop}: ${lower} is Neon's pooled (PgBouncer) host. DMS needs the direct host, because PgBouncer in transaction mode ` +
      `breaks DMS's session-level work and logical replication. Use ${direct} (the host without -pooler).`);
  }
  const isNeonHost = lower.endsWith(`.${NEON_DOMAIN}`);
  if (!isNeonHost && !options.allowNonNeonHost) {
    throw new NeonConnectionError(
      `${prop}: ${lower} is not a Neon host (*.${NEON_DOMAIN}). Check the host in the Neon console's Connect dialog, ` +
      'or set allowNonNeonHost: true to connect through another name (then set neonEndpointId unless the first label is the endpoint ID).');
  }

  let cloud: string | undefined;
  let region: string | undefined;
  if (isNeonHost) {
    // ep-x[.c-N].<region>.<cloud>.neon.tech, or the older ep-x.<region>.neon.tech
    const middle = labels.slice(1, -2).filter(l => !/^c-\d+$/.test(l));
    const cloudIndex = middle.findIndex(l => NEON_CLOUDS.includes(l));
    if (cloudIndex > 0) {
      cloud = middle[cloudIndex];
      region = middle[cloudIndex - 1];
    } else if (middle.length === 1) {
      region = middle[0];
    }
  }

  const endpointId = options.endpointId ?? first;
  if (!ENDPOINT_ID_PATTERN.test(endpointId)) {
    throw new NeonConnectionError(options.endpointId !== undefined
      ? `neonEndpointId: '${endpointId}' is not a Neon endpoint ID. Use the ID shown in the Neon console, e.g. ep-curly-term-54009904.`
      : `${prop}: the first label of ${lower} is not a Neon endpoint ID (ep-...). Set neonEndpointId to the endpoint ID shown in the Neon console.`);
  }
  return { host: lower, endpointId, isNeonHost, cloud, region };
}

/**
 * Parse `postgresql://user[:password]@host[:port]/database[?params]`.
 */
export function parseConnectionString(connectionString: string, options: ConnectionStringOptions): ParsedConnectionString {
  const prop = options.propertyName;
  const malformed = (detail: string) => new NeonConnectionError(
    `${prop} is not a PostgreSQL connection string (${detail}). Expected postgresql://<user>@<host>/<database>?sslmode=require, as shown in the Neon console's Connect dialog.`);

  const trimmed = connectionString.trim();
  const scheme = /^(postgres|postgresql):\/\//i.exec(trimmed);
  if (!scheme) {
    throw malformed('it must start with postgresql://');
  }
  const authority = splitAuthority(trimmed.slice(scheme[0].length));
  if (!authority) {
    throw malformed('an @ follows the host: percent-encode /, ?, # and @ in the user name and password');
  }
  const badPort = authority.port ? portProblem(authority.port) : undefined;
  if (badPort) {
    throw new NeonConnectionError(`${prop}: ${badPort}. Use the port of your Neon connection string, or leave it out for ${DEFAULT_POSTGRES_PORT}.`);
  }
  let url: URL;
  try {
    // URL parses the authority of non-special schemes; swapping in a fixed scheme keeps behaviour stable
    url = new URL(`postgresql://${trimmed.slice(scheme[0].length)}`);
  } catch {
    throw malformed('it cannot be parsed as a URL');
  }
  if (!url.hostname) {
    throw malformed('it names no host');
  }
  if (!url.username) {
    throw malformed('it names no user before the @');
  }
  const database = decodeComponent(url.pathname.replace(/^\//, ''), () => malformed('the database name is not valid percent-encoding'));
  if (!database || database.includes('/')) {
    throw malformed('it names no database after the host, e.g. /neondb');
  }
  const hasPassword = url.password !== '' || /^[^@/]*:[^@/]*@/.test(trimmed.slice(scheme[0].length));
  if (hasPassword && !options.passwordAllowed) {
    throw new NeonConnectionError(
      `${prop} contains a password. Remove it from the string and pass it as password: SecretValue (e.g. SecretValue.secretsManager('neon/password')), ` +
      'or store the whole connection string in Secrets Manager and use connectionStringSecret.');
  }
  if (hasPassword && options.passwordAllowed && url.password === '') {
    throw new NeonConnectionError(`${prop} holds an empty password (nothing between the : and the @): store the connection string with the role's password, `
      + 'postgresql://<user>:<password>@<host>/<database>, as the Neon console shows it.');
  }
  if (!hasPassword && options.passwordAllowed) {
    throw new NeonConnectionError(`${prop} holds no password: store the connection string as the Neon console shows it, postgresql://<user>:<password>@<host>/<database>.`);
  }

  // checked above, as written
  const port = url.port ? Number(url.port) : DEFAULT_POSTGRES_PORT;

  const sslMode = url.searchParams.get('sslmode') ?? undefined;
  if (sslMode !== undefined && INSECURE_SSL_MODES.includes(sslMode)) {
    throw new NeonConnectionError(`${prop} sets sslmode=${sslMode}: Neon only accepts TLS connections. Remove sslmode from the string (the endpoint uses sslMode, require by default).`);
  }
  const channelBinding = url.searchParams.get('channel_binding') ?? undefined;
  if (options.rejectChannelBinding && channelBinding === 'require') {
    throw new NeonConnectionError(
      `${prop} sets channel_binding=require, which DMS cannot satisfy: Neon's endpoint-in-password form (endpoint=<endpoint_id>$<password>) ` +
      'falls back from SCRAM channel binding to password authentication inside TLS. Remove channel_binding=require from the connection string.');
  }

  const hostInfo = parseNeonHost(url.hostname, options);
  const username = decodeComponent(url.username, () => malformed('the user name is not valid percent-encoding'));
  const password = hasPassword
    ? decodeComponent(url.password, () => malformed('the password is not valid percent-encoding'))
    : undefined;
  return { ...hostInfo, port, databaseName: database, username, password, sslMode, channelBinding };
}

/** The password DMS sends to Neon: Neon's workaround for clients without SNI. */
export function neonDmsPassword(endpointId: string, password: string): string {
  return `${neonDmsPasswordPrefix(endpointId)}${password}`;
}

/** `endpoint=<endpoint_id>$`: what goes before the password. */
export function neonDmsPasswordPrefix(endpointId: string): string {
  return `endpoint=${endpointId}$`;
}

function decodeComponent(value: string, onError: () => Error): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw onError();
  }
}
