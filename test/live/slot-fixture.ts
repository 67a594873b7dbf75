import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Client } from 'pg';
import { findPgBinDir, PgCluster } from '../fidelity/pg-cluster';

/**
 * Real logical replication slots on a local cluster: created with `test_decoding` (the plugin DMS
 * uses without pglogical), read by real walsenders (`pg_recvlogical`), with WAL written behind them.
 */

/** Clusters that accept TLS connections only: the fixture's own connections use TLS there. */
const tlsOnly = new WeakSet<PgCluster>();

/**
 * For a cluster started with `tls` (TLS connections only, `hostssl`): the fixture connects with TLS,
 * and walsenders may connect too (`hostssl replication`).
 */
export async function acceptTlsReplication(cluster: PgCluster): Promise<void> {
  tlsOnly.add(cluster);
  fs.appendFileSync(path.join(cluster.dataDir, 'pg_hba.conf'), 'hostssl replication all 127.0.0.1/32 trust\n');
  await query(cluster, 'SELECT pg_reload_conf()');
}

/** Runs `text` in `database` of `cluster` and returns the rows. */
export async function query(cluster: PgCluster, text: string, database = 'postgres', values: unknown[] = []): Promise<any[]> {
  const client = new Client({ connectionString: cluster.url(database), ssl: tlsOnly.has(cluster) ? { rejectUnauthorized: false } : undefined });
  await client.connect();
  try {
    return (await client.query(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Creates a logical slot in `database` and returns its `restart_lsn`. */
export async function createSlot(cluster: PgCluster, database: string, name: string, plugin = 'test_decoding'): Promise<string> {
  await query(cluster, 'SELECT pg_create_logical_replication_slot($1, $2)', database, [name, plugin]);
  return (await slotState(cluster))[name].restartLsn;
}

/** Writes about `megabytes` MB of WAL in `database` (a table filled with rows). */
export async function writeWal(cluster: PgCluster, database: string, megabytes: number): Promise<void> {
  await query(cluster, `CREATE TABLE IF NOT EXISTS wal_filler (id bigserial primary key, payload text);
    INSERT INTO wal_filler (payload) SELECT repeat(md5(g::text), 32) FROM generate_series(1, ${Math.ceil(megabytes * 1024 * 1024 / 1200)}) g;
    SELECT pg_switch_wal();`, database);
}

/** The slots of the server by name: whether each is active and the WAL it keeps. */
export async function slotState(cluster: PgCluster): Promise<Record<string, { active: boolean; retained: number; restartLsn: string }>> {
  const rows = await query(cluster, `SELECT slot_name, active, restart_lsn::text AS restart_lsn,
    pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained FROM pg_replication_slots`);
  return Object.fromEntries(rows.map((r) => [r.slot_name, { active: r.active, retained: Number(r.retained), restartLsn: r.restart_lsn }]));
}

/** A walsender reading `slot` of `database` (what a running DMS task is to the source), started from `host`. */
export interface Walsender {
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `pg_recvlogical` on `slot` through `host` and waits until the slot is active. It confirms
 * nothing while it runs (status every hour) and is killed when stopped, so the slot keeps every WAL
 * position it had: what a task that stopped before catching up leaves behind.
 */
export async function startWalsender(cluster: PgCluster, database: string, slot: string, host = '127.0.0.1'): Promise<Walsender> {
  const bin = path.join(findPgBinDir(), 'pg_recvlogical');
  const child = spawn(bin, ['-h', host, '-p', String(cluster.port), '-U', 'postgres', '-d', database, '--slot', slot,
    '--start', '-f', '/dev/null', '-s', '3600', '-F', '0', '--no-loop'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => { stderr += String(chunk); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`pg_recvlogical exited: ${stderr}`);
    return (await slotState(cluster))[slot]?.active === true;
  }, `slot ${slot} to become active`);
  return {
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await waitFor(async () => (await slotState(cluster))[slot]?.active !== true, `slot ${slot} to become inactive`);
    },
  };
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
