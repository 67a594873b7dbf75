import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Client, ClientConfig } from 'pg';
import { copyDataDirTemplate } from '../helpers/data-dir-template';

/** Options of a throwaway local PostgreSQL cluster. */
export interface PgClusterOptions {
  /** `wal_level` of the cluster. @default 'logical' */
  readonly walLevel?: 'minimal' | 'replica' | 'logical';
  /** Extra `-c name=value` server settings. */
  readonly settings?: Record<string, string | number>;
  /** Seconds to wait for the server to accept connections. @default 30 */
  readonly startTimeoutSeconds?: number;
  /**
   * Serve TLS with this certificate and key (PEM files, copied into the data directory), and accept
   * TLS connections only (`hostssl`). @default - no TLS
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

/** A running throwaway cluster. */
export interface PgCluster {
  readonly port: number;
  readonly dataDir: string;
  readonly pid: number;
  /** Connection string of database `db` (default `postgres`) as superuser `postgres`. */
  url(db?: string): string;
  /** Runs SQL as superuser in database `db` (default `postgres`). */
  sql(text: string, db?: string): Promise<void>;
  /** Stops the server (fast shutdown) and removes its data directory. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'PostgreSQL server binaries (initdb, postgres) were not found on PATH, in /usr/lib/postgresql/*/bin or in /usr/local/bin. '
  + 'Install them, e.g. `apt-get install postgresql` (Debian/Ubuntu) or `brew install postgresql` (macOS).';

/** Finds the directory holding `initdb` and `postgres`. Throws with installation instructions when none does. */
export function findPgBinDir(): string {
  const candidates: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir) candidates.push(dir);
  }
  const debianRoot = '/usr/lib/postgresql';
  if (fs.existsSync(debianRoot)) {
    const versions = fs.readdirSync(debianRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(debianRoot, v, 'bin'));
  }
  candidates.push('/usr/local/bin', '/usr/local/pgsql/bin', '/opt/homebrew/bin');
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres'))) {
      return fs.realpathSync(path.dirname(fs.realpathSync(path.join(dir, 'initdb'))));
    }
  }
  throw new Error(INSTALL_HINT);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface RunAs {
  readonly uid?: number;
  readonly gid?: number;
}

/** As root, the server must run as an unprivileged user: `postgres`. */
function runAs(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('Running as root needs an unprivileged `postgres` user to run the server (created by `apt-get install postgresql`, or `useradd postgres`).');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      // immediate shutdown: the process is going away
      try { child.kill('SIGQUIT'); } catch { /* already gone */ }
    }
  });
}

async function waitReady(url: string, ssl: ClientConfig['ssl'], child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`postgres exited with code ${child.exitCode}:\n${fs.readFileSync(logFile, 'utf8')}`);
    }
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000, ssl });
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (e) {
      lastError = e;
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`postgres did not accept connections within ${timeoutMs} ms: ${String(lastError)}\n${fs.readFileSync(logFile, 'utf8')}`);
}

/** Creates and starts a throwaway cluster on a free 127.0.0.1 port (no Unix socket, trust authentication). */
export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const binDir = findPgBinDir();
  const user = runAs();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-cluster-'));
  if (user.uid !== undefined) fs.chownSync(dataDir, user.uid, user.gid!);
  fs.chmodSync(dataDir, 0o700);

  copyDataDirTemplate(['initdb', binDir, user], dataDir, (dir) => {
    if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
    fs.chmodSync(dir, 0o700);
    const initdb = spawnSync(path.join(binDir, 'initdb'),
      ['-D', dir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'],
      { encoding: 'utf8', cwd: dir, ...user });
    if (initdb.status !== 0) {
      // some systems lack the C.UTF-8 locale: retry with plain C
      const retry = spawnSync(path.join(binDir, 'initdb'),
        ['-D', dir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
        { encoding: 'utf8', cwd: dir, ...user });
      if (retry.status !== 0) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        throw new Error(`initdb failed: ${initdb.stderr}\n${retry.stderr}`);
      }
    }
  });

  const tls: Record<string, string> = {};
  if (options.tls) {
    for (const [name, file] of [['server.crt', options.tls.certFile], ['server.key', options.tls.keyFile]]) {
      const copy = path.join(dataDir, name);
      fs.copyFileSync(file, copy);
      fs.chmodSync(copy, 0o600);
      if (user.uid !== undefined) fs.chownSync(copy, user.uid, user.gid!);
    }
    Object.assign(tls, { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' });
    fs.writeFileSync(path.join(dataDir, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n');
  }
  // the helper's own connections: encrypted when the server only accepts TLS, the certificate unchecked
  const ssl = options.tls ? { rejectUnauthorized: false } : undefined;

  const port = await freePort();
  const settings: Record<string, string | number> = {
    wal_level: options.walLevel ?? 'logical',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '64MB',
    max_connections: 40,
    max_wal_senders: options.walLevel === 'minimal' ? 0 : 10,
    max_replication_slots: 10,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    log_min_messages: 'warning',
    ...tls,
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
  const logFile = path.join(dataDir, 'server.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(path.join(binDir, 'postgres'), args, { stdio: ['ignore', log, log], cwd: dataDir, ...user });
  fs.closeSync(log);
  running.add(child);
  installExitHook();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${db}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // fast shutdown
      const timer = setTimeout(() => child.kill('SIGQUIT'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitReady(url(), ssl, child, logFile, (options.startTimeoutSeconds ?? 30) * 1000);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    port,
    dataDir,
    pid: child.pid!,
    url,
    stop,
    async sql(text: string, db?: string) {
      const client = new Client({ connectionString: url(db), ssl });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    },
  };
}
