import { Client } from 'pg';
import { DelayProxy, startDelayProxy } from './delay-proxy';
import type { TableMappings } from '../../lib/fidelity/selection';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

/**
 * Two local clusters with PostgreSQL's logical replication from the source to the target (a
 * publication and a subscription): the stand-in for a DMS task applying changes. The subscription
 * connects through a {@link DelayProxy}, so changes arrive with a real, adjustable delay.
 */
export interface ReplicatedPair {
  readonly source: PgCluster;
  readonly target: PgCluster;
  /** Between the subscription and the source. */
  readonly proxy: DelayProxy;
  /**
   * Milliseconds since the heartbeat the target has applied was written on the source: the
   * replication latency, as DMS's `CDCLatencyTarget` measures it. The source writes a heartbeat every 50 ms.
   */
  latencyMs(): Promise<number>;
  /** Stops applying changes (they queue up on the source, the latency grows). */
  pause(): Promise<void>;
  /** Applies changes again. */
  resume(): Promise<void>;
  /** Waits until the target has applied everything the source had committed when this was called. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Runs SQL on one side and returns the rows. */
  query<R extends Record<string, unknown>>(side: 'source' | 'target', text: string, params?: unknown[]): Promise<R[]>;
  /** Stops the heartbeat, the subscription and both clusters. */
  stop(): Promise<void>;
}

/** Options of {@link startReplicatedPair}. */
export interface ReplicatedPairOptions {
  /** Tables, created on both sides and published (each needs a primary key or `replica identity full`). */
  readonly schema: string;
  /** Rows loaded on the source before the subscription copies them. */
  readonly data?: string;
  /** The proxy's one-way delay. @default 50 */
  readonly delayMs?: number;
}

const HEARTBEAT = 'create table cdc_heartbeat (id int primary key, at timestamptz not null);';

async function connect(url: string): Promise<Client> {
  const client = new Client(url);
  await client.connect();
  return client;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts the pair and waits until the subscription has copied the initial data. */
export async function startReplicatedPair(options: ReplicatedPairOptions): Promise<ReplicatedPair> {
  const [source, target] = await Promise.all([startPgCluster({ walLevel: 'logical' }), startPgCluster({ walLevel: 'replica' })]);
  const proxy = await startDelayProxy(source.port, options.delayMs ?? 50);
  const clients: Client[] = [];
  let beat: NodeJS.Timeout | undefined;
  try {
    await source.sql(`${HEARTBEAT} insert into cdc_heartbeat values (1, clock_timestamp()); ${options.schema} ${options.data ?? ''} create publication cdc_pub for all tables;`);
    await target.sql(`${HEARTBEAT} ${options.schema}`);
    await target.sql(`create subscription cdc_sub connection 'host=127.0.0.1 port=${proxy.port} user=postgres dbname=postgres' publication cdc_pub`);
    const [src, tgt, beater] = await Promise.all([connect(source.url()), connect(target.url()), connect(source.url())]);
    clients.push(src, tgt, beater);
    // the heartbeat has its own connection, so the tests' queries never wait behind it; its WAL also
    // moves the apply worker on, which marks the copied tables ready
    let beating = Promise.resolve();
    beat = setInterval(() => {
      beating = beating.then(() => beater.query('update cdc_heartbeat set at = clock_timestamp() where id = 1')).then(() => undefined, () => undefined);
    }, 50);
    await until('the initial copy', 60_000, async () =>
      (await tgt.query("select count(*) filter (where srsubstate <> 'r') as n from pg_subscription_rel")).rows[0].n === '0');
    const query = async <R extends Record<string, unknown>>(side: 'source' | 'target', text: string, params?: unknown[]) =>
      (await (side === 'source' ? src : tgt).query<R>(text, params)).rows;
    return {
      source,
      target,
      proxy,
      async latencyMs() {
        const rows = await query<{ ms: number }>('target', 'select (extract(epoch from clock_timestamp() - at) * 1000)::float8 as ms from cdc_heartbeat');
        return Math.max(0, rows[0].ms);
      },
      async pause() {
        await tgt.query('alter subscription cdc_sub disable');
      },
      async resume() {
        await tgt.query('alter subscription cdc_sub enable');
      },
      async caughtUp(timeoutMs = 30_000) {
        const lsn = (await src.query('select pg_current_wal_lsn()::text as l')).rows[0].l;
        await until('the target to catch up', timeoutMs, async () => (await src.query(
          "select coalesce(bool_and(confirmed_flush_lsn >= $1::pg_lsn), false) as ok from pg_replication_slots where slot_name = 'cdc_sub'", [lsn])).rows[0].ok === true);
      },
      query,
      async stop() {
        clearInterval(beat);
        await beating;
        await tgt.query('alter subscription cdc_sub disable').catch(() => undefined);
        await tgt.query('alter subscription cdc_sub set (slot_name = none)').catch(() => undefined);
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
        await proxy.close();
        await Promise.all([source.stop(), target.stop()]);
      },
    };
  } catch (e) {
    clearInterval(beat);
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await proxy.close();
    await Promise.all([source.stop(), target.stop()]);
    throw e;
  }
}

/**
 * Writes to the source until stopped: each transaction updates a random row with an id in
 * `[1, updateIds]`, and inserts one row. What a live application does during the migration.
 */
export interface Writer {
  /** Transactions committed so far. */
  readonly transactions: number;
  stop(): Promise<void>;
}

/** Starts `statements` (one transaction each) in a loop on the source, `pauseMs` apart. */
export async function startWriter(url: string, statements: () => string, pauseMs = 5): Promise<Writer> {
  const client = await connect(url);
  let running = true;
  let transactions = 0;
  const loop = (async () => {
    while (running) {
      await client.query(`begin; ${statements()}; commit`);
      transactions++;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    get transactions() { return transactions; },
    async stop() {
      running = false;
      await loop;
      await client.end();
    },
  };
}

/** A replicated pair shared by the tests of one file, and the writer the running test started. */
export interface ReplicationHarness {
  readonly pair: ReplicatedPair;
  writer?: Writer;
}

/**
 * Registers the jest hooks of a file of tests on one replicated pair: started before all and stopped
 * after all; after each test, the writer it started is stopped, the proxy's delay restored, the
 * subscription resumed and caught up, so the next test starts in sync.
 */
export function useReplicatedPair(options: ReplicatedPairOptions & { readonly delayMs: number }): ReplicationHarness {
  let pair: ReplicatedPair | undefined;
  const harness = {
    writer: undefined as Writer | undefined,
    get pair(): ReplicatedPair {
      if (!pair) throw new Error('the replicated pair did not start');
      return pair;
    },
  };
  beforeAll(async () => {
    pair = await startReplicatedPair(options);
  }, 120_000);
  afterEach(async () => {
    if (!pair) return;
    await harness.writer?.stop();
    harness.writer = undefined;
    pair.proxy.setDelay(options.delayMs);
    await pair.resume();
    await pair.caughtUp();
  });
  afterAll(async () => {
    await pair?.stop();
  });
  return harness;
}

/** A table mapping selecting `public.<table>` for each table. */
export function publicTables(...tables: string[]): TableMappings {
  return {
    rules: tables.map((table, i) => ({
      'rule-type': 'selection',
      'rule-id': String(i + 1),
      'rule-name': String(i + 1),
      'rule-action': 'include',
      'object-locator': { 'schema-name': 'public', 'table-name': table },
    })),
  };
}
