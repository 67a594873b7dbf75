import { verify, VerifyOptions } from '../../lib/fidelity/verify';
import { publicTables, startWriter, useReplicatedPair } from '../helpers/logical-replication';

// Real logical replication between two local clusters stands in for a DMS task applying changes:
// a writer keeps changing the source while verify runs, the subscription applies the changes with a delay.

const SCHEMA = `
  create table orders (id bigserial primary key, qty int not null, note text not null);
  create table lines (order_id bigint, line int, sku text, primary key (order_id, line));
  create table events (kind text not null, payload text not null);
  alter table events replica identity full;`;
const DATA = `
  insert into orders (qty, note) select g % 100, md5(g::text) from generate_series(1, 20000) g;
  insert into lines select g / 4, g % 4, 'sku-' || g from generate_series(4, 8003) g;
  insert into events select 'k' || g, md5(g::text) from generate_series(1, 500) g;`;

/** Rows the writer touches: ids 1–5000 updated, new orders and lines inserted; ids above 10000 never. */
function writes(): string {
  const id = 1 + Math.floor(Math.random() * 5000);
  return `update orders set qty = qty + 1 where id = ${id};
    insert into orders (qty, note) values (1, 'new');
    insert into lines values (currval('orders_id_seq'), 0, 'sku-new')`;
}

const selection = publicTables;
const h = useReplicatedPair({ schema: SCHEMA, data: DATA, delayMs: 100 });

const base = () => ({ source: h.pair.source.url(), target: h.pair.target.url(), mappings: selection('orders', 'lines') });
// the margin covers the apply worker falling further behind between a latency reading and the re-read
const recheck = (extra: Partial<NonNullable<VerifyOptions['recheck']>> = {}) => ({ latencyMs: () => h.pair.latencyMs(), marginMs: 1000, ...extra });

test('while changes are in flight, a plain verify reports them as differences', async () => {
  h.pair.proxy.setDelay(1000);
  h.writer = await startWriter(h.pair.source.url(), writes);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const result = await verify(base());
  // the rows written in the last second have not arrived: this is what the re-check is for
  expect(result.ok).toBe(false);
  expect(result.tables.flatMap((t) => t.differences).length).toBeGreaterThan(0);
}, 60_000);

test('with the re-check, rows in flight are not reported, and the run says how many it followed', async () => {
  h.pair.proxy.setDelay(500);
  h.writer = await startWriter(h.pair.source.url(), writes);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const result = await verify({ ...base(), recheck: recheck() });
  expect(result.tables.map((t) => [t.target.table, t.status, t.differences])).toEqual([['lines', 'match', []], ['orders', 'match', []]]);
  expect(result.ok).toBe(true);
  const followed = result.tables.reduce((n, t) => n + t.recheck!.settledRows, 0);
  expect(followed).toBeGreaterThan(0);
  for (const t of result.tables) {
    expect(t.recheck!.unsettledRows).toBe(0);
    // each wait is the latency read plus the margin
    if (t.recheck!.rounds > 0) expect(t.recheck!.waitedMs).toBeGreaterThanOrEqual(1000 * t.recheck!.rounds);
  }
  expect(Math.max(...result.tables.map((t) => t.recheck!.maxLatencyMs))).toBeGreaterThanOrEqual(400);
}, 60_000);

test('a row lost on the target and one changed there are reported while writes go on', async () => {
  // planted on the target only: the writer never touches ids above 10000
  await h.pair.query('target', "delete from orders where id = 15000; update orders set note = 'changed on the target' where id = 16000; delete from lines where order_id = 1500 and line = 2");
  try {
    h.pair.proxy.setDelay(300);
    h.writer = await startWriter(h.pair.source.url(), writes);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const result = await verify({ ...base(), recheck: recheck() });
    expect(result.ok).toBe(false);
    const orders = result.tables.find((t) => t.target.table === 'orders')!;
    expect(orders.status).toBe('mismatch');
    expect(orders.differences).toEqual([
      { kind: 'missing-in-target', key: { id: '15000' } },
      { kind: 'different', key: { id: '16000' }, columns: ['note'] },
    ]);
    const lines = result.tables.find((t) => t.target.table === 'lines')!;
    expect(lines.differences).toEqual([{ kind: 'missing-in-target', key: { order_id: '1500', line: '2' } }]);
    expect(orders.recheck!.rounds).toBeGreaterThanOrEqual(1);
  } finally {
    await h.pair.query('target', "insert into orders values (15000, 0, md5('15000')); update orders set note = md5('16000') where id = 16000; insert into lines values (1500, 2, 'sku-6002')");
  }
}, 60_000);

test('a row the source changes faster than the re-check follows it is unsettled, not lost', async () => {
  h.pair.proxy.setDelay(200);
  const result = await verify({
    source: h.pair.source.url(), target: h.pair.target.url(), mappings: selection('cdc_heartbeat'), recheck: recheck({ maxRounds: 3 }),
  });
  const [heartbeat] = result.tables;
  // written every 50 ms on the source, 200 ms late on the target: never equal when read
  expect(heartbeat.differences).toEqual([]);
  expect(heartbeat.recheck).toMatchObject({ rounds: 3, unsettledRows: 1, unsettled: [{ kind: 'different', key: { id: '1' } }] });
  expect(result.ok).toBe(true);
}, 60_000);

test('a table without a primary key is compared again as a whole once the latency has passed', async () => {
  await h.pair.pause();
  await h.pair.query('source', "insert into events select 'late', md5(g::text) from generate_series(1, 50) g");
  const sleeps: number[] = [];
  const result = await verify({
    source: h.pair.source.url(),
    target: h.pair.target.url(),
    mappings: selection('events'),
    recheck: recheck({
      // the subscription resumes during the first wait, as a lagging task catches up
      sleep: async (ms) => {
        sleeps.push(ms);
        await h.pair.resume();
        await h.pair.caughtUp();
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    }),
  });
  expect(result.tables[0]).toMatchObject({ method: 'whole-table', status: 'match', recheck: { rounds: 1 } });
  expect(sleeps).toHaveLength(1);
}, 60_000);

test('a table without a primary key that keeps differing is a mismatch after the last round', async () => {
  await h.pair.query('target', "delete from events where kind = 'k7'");
  try {
    const result = await verify({ source: h.pair.source.url(), target: h.pair.target.url(), mappings: selection('events'), recheck: recheck({ maxRounds: 2 }) });
    expect(result.tables[0]).toMatchObject({ method: 'whole-table', status: 'mismatch', sourceRows: 550, targetRows: 549, recheck: { rounds: 2 } });
    expect(result.ok).toBe(false);
  } finally {
    await h.pair.query('target', "insert into events values ('k7', md5('7'))");
  }
}, 60_000);

test('more differing rows than are followed: the table is compared again after a wait', async () => {
  await h.pair.pause();
  await h.pair.query('source', 'update orders set qty = qty + 1000 where id between 6001 and 6400');
  let waits = 0;
  const result = await verify({
    ...base(),
    recheck: recheck({
      maxTrackedKeys: 100,
      sleep: async (ms) => {
        waits++;
        await h.pair.resume();
        await h.pair.caughtUp();
        await new Promise((resolve) => setTimeout(resolve, ms));
      },
    }),
  });
  const orders = result.tables.find((t) => t.target.table === 'orders')!;
  expect(orders).toMatchObject({ status: 'match', differences: [] });
  expect(orders.recheck!.rounds).toBe(1);
  expect(waits).toBeGreaterThanOrEqual(1);
}, 60_000);

test('rows lost beyond those followed are found once the rows in flight have arrived', async () => {
  // 150 rows in flight (first in key order, so they fill the 100 followed) and 50 lost further on
  await h.pair.pause();
  await h.pair.query('source', 'update orders set qty = qty + 1000 where id between 6001 and 6150');
  await h.pair.query('target', "update orders set note = 'lost' where id between 12001 and 12050");
  try {
    const result = await verify({
      ...base(),
      recheck: recheck({
        maxTrackedKeys: 100,
        sleep: async (ms) => {
          await h.pair.resume();
          await h.pair.caughtUp();
          await new Promise((resolve) => setTimeout(resolve, ms));
        },
      }),
    });
    const orders = result.tables.find((t) => t.target.table === 'orders')!;
    expect(orders).toMatchObject({ status: 'mismatch', differencesTruncated: true });
    expect(orders.differences).toHaveLength(20);
    expect(orders.differences.every((d) => d.kind === 'different' && Number(d.key.id) >= 12001 && Number(d.key.id) <= 12050)).toBe(true);
    expect(result.ok).toBe(false);
  } finally {
    await h.pair.query('target', 'update orders set note = md5(id::text) where id between 12001 and 12050');
  }
}, 60_000);

test('recheck settings are checked', async () => {
  await expect(verify({ ...base(), recheck: recheck({ maxRounds: 0 }) })).rejects.toThrow('recheck.maxRounds must be a positive integer, got 0');
  await expect(verify({ ...base(), recheck: recheck({ marginMs: -1 }) })).rejects.toThrow('recheck.marginMs must be an integer >= 0, got -1');
  // a latency that cannot be read fails the table it was read for, naming why
  const result = await verify({ ...base(), mappings: selection('cdc_heartbeat'), recheck: { latencyMs: async () => Number.NaN } });
  expect(result.tables[0]).toMatchObject({ status: 'error', error: 'the replication latency must be a number of milliseconds >= 0, got NaN' });
  expect(result.ok).toBe(false);
});
