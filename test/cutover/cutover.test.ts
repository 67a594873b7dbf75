import { cutover, CutoverOptions, formatCutover } from '../../lib/cutover/cutover';
import { publicTables, startWriter, useReplicatedPair } from '../helpers/logical-replication';

// Logical replication between two local clusters stands in for the DMS task; a writer keeps writing
// to the source during every cutover; the latency is the age of the heartbeat the target applied.

const SCHEMA = `
  create table orders (id bigserial primary key, qty int not null, note text not null);
  create table lines (order_id bigint, line int, sku text, primary key (order_id, line));
  create table tickets (id int generated always as identity primary key, title text not null);`;
const DATA = `
  insert into orders (qty, note) select g % 100, md5(g::text) from generate_series(1, 10000) g;
  insert into lines select g / 4, g % 4, 'sku-' || g from generate_series(4, 4003) g;
  insert into tickets (title) select 't' || g from generate_series(1, 500) g;`;

function writes(): string {
  const id = 1 + Math.floor(Math.random() * 5000);
  return `update orders set qty = qty + 1 where id = ${id};
    insert into orders (qty, note) values (1, 'new');
    insert into lines values (currval('orders_id_seq'), 0, 'sku-new');
    insert into tickets (title) values ('new')`;
}

const mappings = publicTables('orders', 'lines', 'tickets');
const h = useReplicatedPair({ schema: SCHEMA, data: DATA, delayMs: 100 });

// every cutover runs while the application keeps writing to the source
beforeEach(async () => {
  h.writer = await startWriter(h.pair.source.url(), writes, 20);
});

const options = (extra: Partial<CutoverOptions> = {}): CutoverOptions => ({
  source: h.pair.source.url(),
  target: h.pair.target.url(),
  mappings,
  latency: async () => ({ latencyMs: await h.pair.latencyMs(), detail: 'heartbeat age on the target' }),
  maxLatencyMs: 1000,
  waitMs: 3000,
  pollMs: 250,
  // the margin covers the apply worker falling further behind between a latency reading and the re-read
  recheckMarginMs: 1000,
  ...extra,
});

const position = async (side: 'source' | 'target', sequence = 'orders_id_seq') =>
  Number((await h.pair.query<{ v: string }>(side, `select last_value::text as v from ${sequence}`))[0].v);
const targetSequence = () => position('target');
const sourceSequence = () => position('source');

test('no-go while the latency stays above the threshold: nothing is verified or changed', async () => {
  await h.pair.pause();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const before = await targetSequence();
  const events: string[] = [];
  const result = await cutover(options({ onEvent: (m) => events.push(m) }));
  expect(result.go).toBe(false);
  expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'fail'], ['verify', 'skipped'], ['sequences', 'skipped']]);
  expect(result.checks[0].detail).toMatch(/^\d+\.\d s > 1\.0 s after waiting \d+\.\d s \(\d+ reading\(s\); last: heartbeat age on the target\)/);
  expect(result.latency.samples.length).toBeGreaterThanOrEqual(3);
  expect(result.latency.lastMs).toBeGreaterThan(1000);
  expect(result.verify).toBeUndefined();
  expect(await targetSequence()).toBe(before);
  expect(events[0]).toMatch(/^latency: /);
  expect(formatCutover(result)).toContain('Cutover: NO-GO.');
}, 60_000);

test('go once the latency has fallen: in-flight rows not reported, sequences set from the source', async () => {
  await h.pair.pause();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  // the task catches up while cutover waits
  setTimeout(() => void h.pair.resume(), 1000);
  const sourceBefore = await sourceSequence();
  const identityBefore = await position('source', 'tickets_id_seq');
  expect(await targetSequence()).toBeLessThan(sourceBefore);
  expect(await position('target', 'tickets_id_seq')).toBeLessThan(identityBefore);
  const result = await cutover(options({ waitMs: 20_000 }));
  expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'pass'], ['verify', 'pass'], ['sequences', 'pass']]);
  expect(result.go).toBe(true);
  // it waited: the first readings were above the threshold
  expect(result.latency.samples.length).toBeGreaterThan(1);
  expect(result.latency.samples[0].latencyMs).toBeGreaterThan(1000);
  expect(result.verify!.tables.map((t) => [t.target.table, t.status])).toEqual([['lines', 'match'], ['orders', 'match'], ['tickets', 'match']]);
  expect(result.checks[1].detail).toMatch(/^3 table\(s\), \d+ source row\(s\) compared; all match; \d+ row\(s\) in flight re-checked and arrived$/);
  // a serial column's sequence and an identity column's
  expect(result.sequencesSet).toBe(2);
  expect(result.checks[2].detail).toMatch(/^2 set, 0 kept: public\.orders_id_seq continues at \d+; public\.tickets_id_seq continues at \d+/);
  // the target's sequences now continue past every id the source had handed out before the cutover
  expect(await targetSequence()).toBeGreaterThanOrEqual(sourceBefore);
  expect(await position('target', 'tickets_id_seq')).toBeGreaterThanOrEqual(identityBefore);
  expect(formatCutover(result)).toContain('Cutover: GO.');
}, 60_000);

test('no-go on a row lost on the target: reported by key, sequences left alone', async () => {
  await h.pair.query('target', 'delete from orders where id = 9000');
  try {
    const before = await targetSequence();
    const result = await cutover(options());
    expect(result.go).toBe(false);
    expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'pass'], ['verify', 'fail'], ['sequences', 'skipped']]);
    const orders = result.verify!.tables.find((t) => t.target.table === 'orders')!;
    expect(orders.differences).toEqual([{ kind: 'missing-in-target', key: { id: '9000' } }]);
    expect(result.checks[1].detail).toContain('1 table(s) differ or could not be compared (1 differing row(s) listed)');
    // the text names the table and the key of the lost row, as the JSON does
    expect(formatCutover(result)).toContain('\npublic.orders: 1 differing row(s)\n  missing-in-target  id="9000"\n');
    expect(await targetSequence()).toBe(before);
  } finally {
    await h.pair.query('target', "insert into orders values (9000, 0, md5('9000'))");
  }
}, 60_000);

test('no-go when the latency source reports a problem, such as a stopped task', async () => {
  let reads = 0;
  const result = await cutover(options({
    latency: async () => {
      reads++;
      return { problem: 'the task t is stopped (Stop Reason NORMAL), not running: its changes are not being applied', detail: 'DescribeReplicationTasks: stopped' };
    },
  }));
  expect(reads).toBe(1);
  expect(result.go).toBe(false);
  expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'fail'], ['verify', 'skipped'], ['sequences', 'skipped']]);
  expect(result.checks[0]).toEqual({
    check: 'latency',
    status: 'fail',
    detail: 'the task t is stopped (Stop Reason NORMAL), not running: its changes are not being applied (DescribeReplicationTasks: stopped)',
  });
});

test('no-go while a row keeps changing on the source through every re-check', async () => {
  const result = await cutover(options({
    mappings: { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'public', 'table-name': 'cdc_heartbeat' } }] },
    recheckRounds: 2,
    maxLatencyMs: 5000,
  }));
  expect(result.go).toBe(false);
  expect(result.checks[1].status).toBe('fail');
  expect(result.checks[1].detail).toContain('1 row(s) still changing on the source');
  expect(result.checks[1].detail).toContain('Stop the writes to the source, then run cutover again.');
}, 60_000);

test('with --constraints, the constraints step is skipped too on a no-go, before the sequences', async () => {
  const result = await cutover(options({ constraints: true, latency: async () => ({ problem: 'the task t is stopped', detail: 'DescribeReplicationTasks: stopped' }) }));
  expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'fail'], ['verify', 'skipped'], ['constraints', 'skipped'], ['sequences', 'skipped']]);
  expect(result.schemaSteps).toEqual([]);
});

test('no-go when no table is selected', async () => {
  const result = await cutover(options({
    mappings: { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'nope', 'table-name': '%' } }] },
  }));
  expect(result.go).toBe(false);
  expect(result.checks[1]).toMatchObject({ check: 'verify', status: 'fail' });
  expect(result.checks[1].detail).toContain('NO_TABLES_SELECTED');
});

test('a failing schema step is a no-go that names it', async () => {
  await h.pair.query('target', 'alter sequence orders_id_seq rename to orders_id_seq_renamed');
  try {
    const result = await cutover(options());
    expect(result.go).toBe(false);
    expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'pass'], ['verify', 'pass'], ['sequences', 'fail']]);
    expect(result.checks[2].detail).toContain('public.orders_id_seq');
  } finally {
    await h.pair.query('target', 'alter sequence orders_id_seq_renamed rename to orders_id_seq');
  }
}, 60_000);

test('bad settings are refused', async () => {
  await expect(cutover(options({ maxLatencyMs: -1 }))).rejects.toThrow('maxLatencyMs must be a number >= 0, got -1');
});
