import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tls from 'tls';

// node-postgres's SCRAM client: the proxy signs in to the real server for a client that gave its password in cleartext
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sasl = require('pg/lib/crypto/sasl') as {
  startSession(mechanisms: string[], stream?: unknown): { mechanism: string; response: string };
  continueSession(session: object, password: string, serverData: string, stream?: unknown): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

/*
 * A TLS proxy in front of a real PostgreSQL server that routes like Neon's (neondatabase/neon,
 * proxy/src/auth): it learns the compute endpoint a connection is for from the TLS SNI host name
 * (`<endpoint_id>.<domain>`) or from the `endpoint=<endpoint_id>` connection option, and refuses the
 * two when they differ. Only a connection that names the endpoint neither way is asked for a
 * cleartext password, which must read `endpoint=<endpoint_id>$<password>` (or `;`): the proxy then
 * signs in to the server itself with the rest (SCRAM). A connection that named the endpoint is
 * spliced to the server, which authenticates the client itself (SCRAM), so its password is taken as
 * it is — the whole `endpoint=…$…` string too. Refusals carry Neon's messages. One simplification:
 * Neon checks the SCRAM secret in the proxy; here the server does, with the same outcome for a
 * password.
 */

/** Neon's refusal when it cannot tell the endpoint (proxy/src/auth/mod.rs, MissingEndpointName). */
export const MISSING_ENDPOINT = 'Endpoint ID is not specified. Either please upgrade the postgres client library (libpq) for SNI support or pass '
  + 'the endpoint ID (first part of the domain name) as a parameter: \'?options=endpoint%3D<endpoint-id>\'. See more at https://neon.tech/sni';

/** A self-signed certificate for `*.<domain>` (PEM). */
export interface WildcardCertificate {
  readonly cert: string;
  readonly key: string;
}

export function wildcardCertificate(domain: string): WildcardCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neon-proxy-tls-'));
  const certFile = path.join(dir, 'proxy.crt');
  const keyFile = path.join(dir, 'proxy.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=*.${domain}`,
    '-addext', `subjectAltName=DNS:*.${domain}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const result = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

export interface NeonLikeProxyOptions {
  /** The real server, on 127.0.0.1 (plain TCP). */
  readonly backendPort: number;
  /** The proxy's domain: SNI `<endpoint_id>.<domain>` names an endpoint. */
  readonly domain: string;
  /** The endpoint IDs the proxy serves, and whether each is disabled. */
  readonly endpoints: Record<string, { readonly disabled?: boolean }>;
  readonly certificate: WildcardCertificate;
}

/** How a connection named its endpoint. */
export interface Routed {
  readonly endpoint: string;
  readonly from: 'sni' | 'options' | 'password';
}

export interface NeonLikeProxy {
  readonly port: number;
  /** The connections routed so far, in order. */
  readonly routed: Routed[];
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;

/** Reads exact byte counts from a socket. */
class Reader {
  private buffer = Buffer.alloc(0);
  private waiting?: () => void;
  private closed = false;
  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.waiting?.();
  };
  private readonly onEnd = () => {
    this.closed = true;
    this.waiting?.();
  };

  async read(n: number): Promise<Buffer> {
    while (this.buffer.length < n) {
      if (this.closed) throw new Error('connection closed');
      await new Promise<void>(resolve => { this.waiting = resolve; });
      this.waiting = undefined;
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** A backend message: type byte and body. */
  async message(): Promise<{ type: string; body: Buffer; raw: Buffer }> {
    const head = await this.read(5);
    const body = await this.read(head.readInt32BE(1) - 4);
    return { type: String.fromCharCode(head[0]), body, raw: Buffer.concat([head, body]) };
  }

  /** Stops reading; returns what was read ahead. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8');
}

function errorResponse(code: string, text: string): Buffer {
  return message('E', Buffer.concat([cstring('SFATAL'), cstring('VFATAL'), cstring(`C${code}`), cstring(`M${text}`), Buffer.from([0])]));
}

function startupMessage(params: Record<string, string>): Buffer {
  const version = Buffer.alloc(4);
  version.writeInt32BE(PROTOCOL_3);
  const body = Buffer.concat([version, ...Object.entries(params).flatMap(([k, v]) => [cstring(k), cstring(v)]), Buffer.from([0])]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length + 4);
  return Buffer.concat([length, body]);
}

function parseStartup(body: Buffer): Record<string, string> {
  const params: Record<string, string> = {};
  const parts = body.subarray(4).toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params[parts[i]] = parts[i + 1];
  return params;
}

/** `endpoint=<id>` (or the older `project=<id>`) among the options, and the options without it (Neon passes no such option on). */
function endpointOption(options: string | undefined): { endpoint?: string; rest: string } {
  const words = (options ?? '').split(/\s+/).filter(Boolean);
  const found = words.find(w => /^(endpoint|project)=/.test(w));
  return { endpoint: found?.replace(/^(endpoint|project)=/, ''), rest: words.filter(w => w !== found).join(' ') };
}

/** `endpoint=<id>$<password>` or `endpoint=<id>;<password>` (proxy/src/auth/password_hack.rs). */
function passwordHack(password: string): { endpoint: string; password: string } | undefined {
  for (const separator of [';', '$']) {
    const at = password.indexOf(separator);
    if (at < 0) continue;
    const endpoint = /^(?:project|endpoint)=(.*)$/.exec(password.slice(0, at))?.[1];
    return endpoint === undefined ? undefined : { endpoint, password: password.slice(at + 1) };
  }
  return undefined;
}

export async function startNeonLikeProxy(options: NeonLikeProxyOptions): Promise<NeonLikeProxy> {
  const routed: Routed[] = [];
  const sockets = new Set<net.Socket>();
  const context = tls.createSecureContext({ cert: options.certificate.cert, key: options.certificate.key });

  const serve = async (raw: net.Socket): Promise<void> => {
    let reader = new Reader(raw);
    let request = await reader.read(8);
    if (request.readInt32BE(4) === GSSENC_REQUEST) {
      raw.write('N');
      request = await reader.read(8);
    }
    if (request.readInt32BE(4) === CANCEL_REQUEST) {
      raw.destroy();
      return;
    }
    if (request.readInt32BE(4) !== SSL_REQUEST) {
      raw.end(errorResponse('08P01', 'connection is insecure (try using `sslmode=require`)'));
      return;
    }
    reader.detach();
    raw.write('S');
    const client = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    sockets.add(client);
    await new Promise<void>((resolve, reject) => {
      client.once('secure', () => resolve());
      client.once('error', reject);
    });
    reader = new Reader(client);
    const length = (await reader.read(4)).readInt32BE(0);
    const startup = await reader.read(length - 4);
    if (startup.readInt32BE(0) !== PROTOCOL_3) {
      client.end(errorResponse('08P01', 'unsupported protocol'));
      return;
    }
    const params = parseStartup(startup);
    const refuse = (code: string, text: string): void => {
      client.end(errorResponse(code, text));
    };

    // the endpoint: SNI, the endpoint option, both (then equal), or else the password
    const sni = (client as unknown as { servername?: string | false }).servername || undefined;
    let fromSni: string | undefined;
    if (sni !== undefined) {
      if (!sni.endsWith(`.${options.domain}`)) return refuse('08004', `Unknown common name: ${sni}`);
      fromSni = sni.slice(0, -options.domain.length - 1);
    }
    const option = endpointOption(params.options);
    if (fromSni !== undefined && option.endpoint !== undefined && fromSni !== option.endpoint) {
      return refuse('08004', `Inconsistent project name inferred from SNI ('${fromSni}') and project option ('${option.endpoint}')`);
    }
    let endpoint = option.endpoint ?? fromSni;
    let from: Routed['from'] = option.endpoint !== undefined ? 'options' : 'sni';
    let cleartext: string | undefined;
    if (endpoint === undefined) {
      client.write(message('R', Buffer.from([0, 0, 0, 3])));
      const reply = await reader.message();
      const hack = reply.type === 'p' ? passwordHack(reply.body.toString('utf8').replace(/\0$/, '')) : undefined;
      if (!hack) return refuse('08004', MISSING_ENDPOINT);
      endpoint = hack.endpoint;
      cleartext = hack.password;
      from = 'password';
    }
    const known = options.endpoints[endpoint];
    if (!known) return refuse('08004', `The requested endpoint could not be found, or you don't have access to it: ${endpoint}`);
    if (known.disabled) return refuse('XX000', 'The endpoint has been disabled. Enable it using Neon API and retry.');
    routed.push({ endpoint, from });

    const backend = net.connect({ host: '127.0.0.1', port: options.backendPort });
    sockets.add(backend);
    await new Promise<void>((resolve, reject) => {
      backend.once('connect', () => resolve());
      backend.once('error', reject);
    });
    const forwarded = { ...params };
    if (option.rest) forwarded.options = option.rest;
    else delete forwarded.options;
    backend.write(startupMessage(forwarded));

    const backendReader = new Reader(backend);
    if (cleartext !== undefined) {
      // sign in for the client, then hand over from AuthenticationOk on
      let session: { mechanism: string; response: string } | undefined;
      for (;;) {
        const m = await backendReader.message();
        if (m.type === 'E') {
          client.end(m.raw);
          backend.destroy();
          return;
        }
        if (m.type !== 'R') throw new Error(`unexpected message ${m.type} during authentication`);
        const code = m.body.readInt32BE(0);
        if (code === 0) {
          client.write(m.raw);
          break;
        } else if (code === 3) {
          backend.write(message('p', cstring(cleartext)));
        } else if (code === 10) {
          const mechanisms = m.body.subarray(4).toString('utf8').split('\0').filter(Boolean);
          session = sasl.startSession(mechanisms);
          const response = Buffer.from(session.response, 'utf8');
          const size = Buffer.alloc(4);
          size.writeInt32BE(response.length);
          backend.write(message('p', Buffer.concat([cstring(session.mechanism), size, response])));
        } else if (code === 11) {
          await sasl.continueSession(session!, cleartext, m.body.subarray(4).toString('utf8'));
          backend.write(message('p', Buffer.from(session!.response, 'utf8')));
        } else if (code === 12) {
          sasl.finalizeSession(session!, m.body.subarray(4).toString('utf8'));
        } else {
          throw new Error(`authentication request ${code} is not handled`);
        }
      }
    }
    // from here on bytes flow both ways untouched (for a spliced connection: the server authenticates the client)
    const clientRest = reader.detach();
    const backendRest = backendReader.detach();
    if (clientRest.length > 0) backend.write(clientRest);
    if (backendRest.length > 0) client.write(backendRest);
    client.pipe(backend);
    backend.pipe(client);
    const close = () => {
      client.destroy();
      backend.destroy();
    };
    client.on('error', close);
    backend.on('error', close);
    client.on('close', close);
    backend.on('close', close);
  };

  const server = net.createServer(raw => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => raw.destroy());
    serve(raw).catch(() => raw.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    routed,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}
