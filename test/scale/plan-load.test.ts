import * as ts from 'typescript';
import { main } from '../../lib/cli';
import { openSession, Session } from '../../lib/fidelity/connection';
import { defaultMappings } from '../../lib/fidelity/selection';
import { dmsRules, formatTypeScript, planParallelLoad } from '../../lib/scale/plan-load';
import { TableMappings } from '../../lib/task';
import { startPgCluster, PgCluster } from '../fidelity/pg-cluster';

let source: PgCluster;
let session: Session;

beforeAll(async () => {
  source = await startPgCluster({ walLevel: 'minimal', settings: { max_wal_senders: 0 } });
  await source.sql(`
    create schema app;
    create table app.orders (id bigint primary key, placed date not null, note text);
    insert into app.orders select g, date '2024-01-01' + (g % 365), 'n' || g from generate_series(1, 300000) g;
    create table app.events (kind text, at timestamptz, payload text);
    create index on app.events (at);
    insert into app.events select 'k', now() - g * interval '1 second', 'p' from generate_series(1, 120000) g;
    create table app.small (id int primary key);
    insert into app.small select generate_series(1, 100);
    analyze;
  `);
  session = await openSession(source.url(), 'test');
});

afterAll(async () => {
  await session?.close();
  await source?.stop();
});

test('large tables get ranges on a NOT NULL indexed column that split their rows evenly; nullable-only tables are explained', async () => {
  const plans = await planParallelLoad(session, defaultMappings(['app']), { minRows: 100_000, rowsPerSegment: 60_000, maxSegments: 8 });
  const orders = plans.find((p) => p.table.table === 'orders')!;
  expect(orders.column).toBe('id');
  expect(orders.boundaries).toHaveLength(4); // 5 segments of about 60,000 rows
  // the segments hold about as many rows each (ids 1 to 300,000, stored in id order): enough pages are
  // sampled for each to be within a quarter of 60,000 rows (a tenth, one standard deviation)
  const edges = ['0', ...orders.boundaries, '300000'].map(Number);
  const sizes = edges.slice(1).map((edge, i) => edge - edges[i]);
  expect(sizes.filter((rows) => Math.abs(rows - 60_000) > 15_000)).toEqual([]);
  // the only indexed column of events allows NULL: rows with NULL would not be loaded, so it is not cut
  const events = plans.find((p) => p.table.table === 'events')!;
  expect(events.column).toBeUndefined();
  expect(events.reason).toMatch(/allow NULL, and DMS does not load the rows whose segment column is NULL/);
  expect(plans.find((p) => p.table.table === 'small')).toBeUndefined();

  // the DMS rules are what the library's TableMappings writes for the same call
  const rules = dmsRules(plans, 2);
  const library = TableMappings.includeSchema('app').parallelLoadRanges('app', 'orders', ['id'], orders.boundaries.map((b) => [b]));
  const libraryRule = JSON.parse(library.toJson()).rules.find((r: any) => r['rule-type'] === 'table-settings');
  expect(rules).toEqual([libraryRule]);
});

test('the TypeScript printed runs against the library and builds the rules printed as JSON', () => {
  const plans = [{ table: { schema: 'app', table: "it's" }, estimatedRows: 10, bytes: 1, column: 'id', boundaries: ['5', '9'] }];
  const code = formatTypeScript(plans);
  expect(code).toContain(".parallelLoadRanges('app', 'it\\'s', ['id'], [['5'], ['9']]);");
  // run as written, on the library's TableMappings
  const js = ts.transpileModule(code.replace(/^import .*$/m, '').replace(/^declare const mappings: TableMappings;$/m, ''), { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
  const mappings = TableMappings.includeSchema('app');
  new Function('mappings', js)(mappings);
  const rules = JSON.parse(mappings.toJson()).rules.filter((r: any) => r['rule-type'] === 'table-settings');
  expect(rules.map((r: any) => r['parallel-load'])).toEqual(dmsRules(plans).map((r) => r['parallel-load']));
});

test('plan-load command prints the summary, the TypeScript and the DMS rules', async () => {
  let out = '';
  let err = '';
  const code = await main(['plan-load', '--schema', 'app', '--min-rows', '100000', '--rows-per-segment', '100000'],
    { SOURCE_DATABASE_URL: `${source.url()}?sslmode=disable` }, { write: (s: string) => { out += s; } }, { write: (s: string) => { err += s; } });
  expect(err).toBe('');
  expect(code).toBe(0);
  expect(out).toMatch(/^app\.orders \(300000 rows, [\d.]+ GiB\): 3 segments on id$/m);
  expect(out).toContain(".parallelLoadRanges('app', 'orders', ['id'], [");
  expect(out).toContain('"type": "ranges"');
  expect(await main(['plan-load', '--max-segments', '80'], { SOURCE_DATABASE_URL: source.url() }, { write: () => undefined }, { write: (s: string) => { err += s; } })).toBe(2);
  expect(err).toMatch(/MaxFullLoadSubTasks is at most 49/);
});
