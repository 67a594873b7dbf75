import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { copyDataDirTemplate } from './data-dir-template';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const mysql = require('mysql2/promise') as typeof import('mysql2/promise');

/** Options of a throwaway local MariaDB server. */
export interface MySqlServerOptions {
  /**
   * Serve TLS with this certificate and key (PEM files) and refuse unencrypted connections
   * (`require_secure_transport`). @default - no TLS
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Write a row-based binary log (what CDC needs). @default true */
  readonly binlog?: boolean;
  /** Extra `--name=value` server options. */
  readonly settings?: Record<string, string | number>;
  /** Seconds to wait for the server to accept connections. @default 60 */
  readonly startTimeoutSeconds?: number;
}

/** A running throwaway server. */
export interface MySqlServer {
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** The application user (created with a password, all privileges): what the library connects as. */
  readonly user: string;
  readonly password: string;
  /** `mysql://user:password@127.0.0.1:port/db` (TLS parameters added when the server serves TLS). */
  url(db?: string): string;
  /** The same for another user. */
  urlAs(user: string, password: string, db?: string): string;
  /** The same, as mysql2 connection options. */
  options(db?: string): ConnectionOptions;
  /** Runs SQL (several statements allowed) as the application user. */
  sql(text: string, db?: string): Promise<void>;
  /** Runs one query and returns its rows. */
  query<T = Record<string, unknown>>(text: string, db?: string): Promise<T[]>;
  /** Stops the server and removes its data directory. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'MariaDB server binaries (mariadbd, mariadb-install-db) were not found. '
  + 'Install them, e.g. `apt-get install mariadb-server` (Debian/Ubuntu) or `brew install mariadb` (macOS).';

function findBinary(names: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/opt/homebrew/bin'];
  for (const dir of dirs) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (dir && fs.existsSync(file)) return file;
    }
  }
  return undefined;
}

/** Where `mariadbd` and `mariadb-install-db` are. Throws with installation instructions when they are missing. */
export function findMariaDb(): { server: string; installDb: string } {
  const server = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installDb) throw new Error(INSTALL_HINT);
  return { server, installDb };
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

/** As root the server runs as the unprivileged `mysql` user (created by the Debian package). */
function runAsUser(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  if (spawnSync('id', ['-u', 'mysql']).status !== 0) {
    throw new Error('Running as root needs an unprivileged `mysql` user to run the server (created by `apt-get install mariadb-server`, or `useradd mysql`).');
  }
  return 'mysql';
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  });
}

/** The password of the application user: letters, digits and characters DMS accepts. */
const PASSWORD = 'Test-pw_4mysql.Secret';
const USER = 'app';

/**
 * Creates and starts a throwaway MariaDB server on a free 127.0.0.1 port, with a data directory of
 * its own, and an application user `app` with a password (the root account is reached through the
 * server's own socket only, to create it).
 */
export async function startMySqlServer(options: MySqlServerOptions = {}): Promise<MySqlServer> {
  const { server, installDb } = findMariaDb();
  const user = runAsUser();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mariadb-'));
  fs.chmodSync(dataDir, 0o755);
  fs.mkdirSync(path.join(dataDir, 'data'));
  if (user) spawnSync('chown', ['-R', `${user}:`, dataDir]);
  // the server writes relative files (ddl_recovery.log) to its working directory: the data directory
  copyDataDirTemplate(['mariadb-install-db', installDb, user], path.join(dataDir, 'data'), (dir) => {
    if (user) spawnSync('chown', ['-R', `${user}:`, dir]);
    const install = spawnSync(installDb, ['--no-defaults', `--datadir=${dir}`, ...(user ? [`--user=${user}`] : []),
      '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'], { encoding: 'utf8', cwd: dir });
    if (install.status !== 0) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`mariadb-install-db failed: ${install.stderr}\n${install.stdout}`);
    }
  });
  const tls: string[] = [];
  if (options.tls) {
    for (const [name, file] of [['server.crt', options.tls.certFile], ['server.key', options.tls.keyFile]]) {
      const copy = path.join(dataDir, name);
      fs.copyFileSync(file, copy);
      fs.chmodSync(copy, 0o600);
      if (user) spawnSync('chown', [`${user}:`, copy]);
    }
    tls.push(`--ssl-cert=${path.join(dataDir, 'server.crt')}`, `--ssl-key=${path.join(dataDir, 'server.key')}`, '--require-secure-transport=ON');
  }
  const port = await freePort();
  const socket = path.join(dataDir, 'mysqld.sock');
  const binlog = options.binlog ?? true;
  const args = [
    '--no-defaults',
    `--datadir=${path.join(dataDir, 'data')}`,
    ...(user ? [`--user=${user}`] : []),
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--skip-networking=0',
    `--socket=${socket}`,
    `--pid-file=${path.join(dataDir, 'mysqld.pid')}`,
    `--log-error=${path.join(dataDir, 'error.log')}`,
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    '--innodb-buffer-pool-size=256M',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-doublewrite=0',
    '--sync-binlog=0',
    '--max-connections=60',
    ...(binlog ? [`--log-bin=${path.join(dataDir, 'data', 'binlog')}`, '--server-id=1', '--binlog-format=ROW', '--binlog-row-image=FULL'] : []),
    ...tls,
    ...Object.entries(options.settings ?? {}).map(([k, v]) => `--${k}=${v}`),
  ];
  const child = spawn(server, args, { stdio: 'ignore', cwd: path.join(dataDir, 'data') });
  running.add(child);
  installExitHook();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = () => fs.existsSync(path.join(dataDir, 'error.log')) ? fs.readFileSync(path.join(dataDir, 'error.log'), 'utf8') : '';

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  // root through the socket: creates the application user, then the helper speaks as that user
  const deadline = Date.now() + (options.startTimeoutSeconds ?? 60) * 1000;
  let lastError: unknown;
  let ready = false;
  while (Date.now() < deadline && !ready) {
    if (child.exitCode !== null) {
      const log = errorLog();
      await stop();
      throw new Error(`mariadbd exited with code ${child.exitCode}:\n${log}`);
    }
    try {
      const root = await mysql.createConnection({ socketPath: socket, user: 'root', password: '', multipleStatements: true });
      try {
        await root.query(`CREATE USER IF NOT EXISTS '${USER}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
          GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'127.0.0.1' WITH GRANT OPTION;`);
      } finally {
        await root.end();
      }
      ready = true;
    } catch (e) {
      lastError = e;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  if (!ready) {
    const log = errorLog();
    await stop();
    throw new Error(`mariadbd did not accept connections: ${String(lastError)}\n${log}`);
  }

  const ssl = options.tls ? { rejectUnauthorized: false } : undefined;
  const connectionOptions = (db?: string): ConnectionOptions => ({
    host: '127.0.0.1', port, user: USER, password: PASSWORD, ...(db ? { database: db } : {}), ...(ssl ? { ssl } : {}),
  });
  const connect = async (db?: string): Promise<Connection> => mysql.createConnection({ ...connectionOptions(db), multipleStatements: true });
  return {
    port,
    pid: child.pid!,
    dataDir,
    user: USER,
    password: PASSWORD,
    url: (db = '') => `mysql://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${db}?sslmode=${options.tls ? 'require' : 'disable'}`,
    urlAs: (name: string, secret: string, db = '') =>
      `mysql://${encodeURIComponent(name)}:${encodeURIComponent(secret)}@127.0.0.1:${port}/${db}?sslmode=${options.tls ? 'require' : 'disable'}`,
    options: connectionOptions,
    async sql(text: string, db?: string) {
      const c = await connect(db);
      try {
        await c.query(text);
      } finally {
        await c.end();
      }
    },
    async query<T>(text: string, db?: string): Promise<T[]> {
      const c = await connect(db);
      try {
        const [rows] = await c.query(text);
        return rows as T[];
      } finally {
        await c.end();
      }
    },
    stop,
  };
}
