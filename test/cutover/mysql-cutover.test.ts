import { spawnSync } from 'child_process';
import { Client } from 'pg';
import { main } from '../../lib/cli';
import { cutover, CutoverOptions, formatCutover } from '../../lib/cutover/cutover';
import { MYSQL_EXAMPLE_SCHEMA, MYSQL_SAMPLE_SQL, MYSQL_SAMPLE_TABLES } from '../../lib/example/mysql-example-stack';
import { preflight } from '../../lib/fidelity/preflight';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { copyLikeDms } from '../helpers/mysql-copy';
import { findMariaDb, MySqlServer, startMySqlServer } from '../helpers/mysql-server';
import { selfSignedCertificate } from '../helpers/tls';

// The MySQL example's sample data, loaded into MariaDB by the mysql client over TLS as the example's
// build does; a copy in PostgreSQL made as DMS loads the tables Schema Conversion created (identity
// columns whose sequences were not advanced by the load); the latency reading stands in for the task's.

jest.setTimeout(240_000);

let mysql: MySqlServer;
let pg: PgCluster;

const SCHEMA_CONVERSION_TYPES = {
  'customers.is_active': 'boolean',
  'products.attributes': 'json',
  'orders.id': 'numeric(20,0)',
  'orders.status': 'varchar(9)',
};

beforeAll(async () => {
  [mysql, pg] = await Promise.all([startMySqlServer({ tls: selfSignedCertificate() }), startPgCluster({ walLevel: 'minimal' })]);
  // the example's build: `mysql --ssl-mode=REQUIRED -h "$MYSQL_HOST" -u "$MYSQL_USER" < shop.sql`, with the password in MYSQL_PWD
  const client = findMariaDb().installDb.replace(/mariadb-install-db$|mysql_install_db$/, 'mariadb');
  const load = spawnSync(client, ['--ssl', '-h', '127.0.0.1', '-P', String(mysql.port), '-u', mysql.user], {
    input: MYSQL_SAMPLE_SQL, encoding: 'utf8', env: { ...process.env, MYSQL_PWD: mysql.password },
  });
  if (load.status !== 0) throw new Error(`the sample data did not load: ${load.stderr}`);
});

afterAll(async () => {
  await Promise.all([mysql?.stop(), pg?.stop()]);
});

const shop = { rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': MYSQL_EXAMPLE_SCHEMA, 'table-name': '%' } }] };

async function onTarget<T = Record<string, string>>(db: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: pg.url(db) });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

let copies = 0;
async function freshCopy(): Promise<string> {
  const db = `shop${++copies}`;
  await pg.sql(`create database ${db}`);
  await copyLikeDms(mysql.url(), pg.url(db), { schemas: [MYSQL_EXAMPLE_SCHEMA], types: SCHEMA_CONVERSION_TYPES });
  return db;
}

const options = (db: string, extra: Partial<CutoverOptions> = {}): CutoverOptions => ({
  source: mysql.url(),
  target: pg.url(db),
  mappings: shop,
  latency: async () => ({ latencyMs: 0, detail: 'test reading' }),
  waitMs: 1000,
  pollMs: 100,
  recheckMarginMs: 0,
  ...extra,
});

test('the MySQL example\'s sample data loads: its three tables and their rows', async () => {
  const counts = await mysql.query<{ t: string; n: number }>(`
    SELECT 'customers' AS t, COUNT(*) AS n FROM shop.customers UNION ALL SELECT 'products', COUNT(*) FROM shop.products
    UNION ALL SELECT 'orders', COUNT(*) FROM shop.orders`);
  expect(counts.map((r) => [r.t, Number(r.n)])).toEqual([['customers', 500], ['products', 100], ['orders', 900]]);
  const tables = await mysql.query<{ t: string }>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' ORDER BY CREATE_TIME, TABLE_NAME");
  expect(tables.map((r) => r.t).sort()).toEqual([...MYSQL_SAMPLE_TABLES].sort());
});

test('preflight of the sample data: the types the conversion changes, the case-insensitive unique keys, no blocking finding', async () => {
  const result = await preflight({ source: mysql.url(), mappings: shop });
  expect(result.ok).toBe(true);
  const codes = result.findings.map((f) => `${f.code} ${f.table}${f.column ? `.${f.column}` : ''}`).sort();
  expect(codes).toEqual([
    'LOB_COLUMN shop.products.attributes',
    'MYSQL_CASE_INSENSITIVE_UNIQUE shop.customers.email',
    'MYSQL_CASE_INSENSITIVE_UNIQUE shop.products.sku',
    'MYSQL_DATETIME shop.customers',
    'MYSQL_DATETIME shop.orders',
    'MYSQL_ENUM_SET shop.orders.status',
  ]);
});

test('cutover: verify passes, the identity sequences are set past the source\'s AUTO_INCREMENT, go with the evidence; again: kept, never moved back', async () => {
  const db = await freshCopy();
  // the load wrote the source's keys: the identity sequences were not advanced
  expect((await onTarget(db, "select nextval(pg_get_serial_sequence('shop.customers', 'id'))::text as v"))[0].v).toBe('1');
  await mysql.sql('INSERT INTO shop.customers (email, name) VALUES (\'late@example.com\', \'Late\'); DELETE FROM shop.customers WHERE email = \'late@example.com\'');
  const events: string[] = [];
  const result = await cutover(options(db, { onEvent: (m) => events.push(m) }));
  expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'pass'], ['verify', 'pass'], ['sequences', 'pass']]);
  expect(result.go).toBe(true);
  expect(result.verify!.tables.map((t) => [t.source.table, t.status, t.sourceRows])).toEqual([
    ['customers', 'match', 500], ['orders', 'match', 900], ['products', 'match', 100],
  ]);
  expect(result.sequencesSet).toBe(3);
  // customers: the counter is past the deleted row (502), not MAX(id) + 1
  const sequences = result.checks.find((c) => c.check === 'sequences')!.detail;
  expect(sequences).toMatch(/^3 set, 0 kept: /);
  expect(sequences).toContain('shop.customers.id -> shop.customers_id_seq: continues at 502');
  expect(sequences).toContain('shop.orders.id -> shop.orders_id_seq: continues at 901');
  expect(formatCutover(result)).toContain('Cutover: GO.');
  expect(events).toContain('sequences: from the source\'s AUTO_INCREMENT counters');

  // run again: every sequence is already at or past the source's next value
  const again = await cutover(options(db));
  expect(again.sequencesSet).toBe(0);
  expect(again.sequencesKept).toBe(3);
  expect(again.checks.find((c) => c.check === 'sequences')!.detail).toContain('shop.products.id -> shop.products_id_seq: kept at 101 (the source\'s next is 101)');
  // the application's next insert on the target takes the source's next key
  expect((await onTarget(db, "insert into shop.products (sku, title, price) values ('new', 'New', 1) returning id::text as id"))[0].id).toBe('101');
});

test('no-go on a difference: the rows are named, the sequences are not touched', async () => {
  const db = await freshCopy();
  await onTarget(db, "delete from shop.orders where id = 77; update shop.customers set name = 'Changed' where id = 5");
  const result = await cutover(options(db));
  expect(result.go).toBe(false);
  expect(result.checks.map((c) => [c.check, c.status])).toEqual([['latency', 'pass'], ['verify', 'fail'], ['sequences', 'skipped']]);
  expect(result.checks[1].detail).toMatch(/2 table\(s\) differ or could not be compared \(2 differing row\(s\) listed\)/);
  const differences = result.verify!.tables.flatMap((t) => t.differences.map((d) => [t.source.table, d.kind, d.key.id]));
  expect(differences).toEqual([['customers', 'different', '5'], ['orders', 'missing-in-target', '77']]);
  expect((await onTarget(db, 'select last_value::text as v, is_called from shop.orders_id_seq'))[0]).toEqual({ v: '1', is_called: false });
});

test('the CLI takes a mysql:// source: preflight and verify; schema and --constraints are refused', async () => {
  const db = await freshCopy();
  const run = async (argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { SOURCE_DATABASE_URL: mysql.url(), TARGET_DATABASE_URL: pg.url(db) },
      { write: (c: string) => { out += c; return true; } }, { write: (c: string) => { err += c; return true; } });
    return { code, out, err };
  };
  const checked = await run(['preflight', '--schema', 'shop', '--json']);
  expect(checked.code).toBe(0);
  expect(JSON.parse(checked.out).findings.map((f: { code: string }) => f.code)).toContain('MYSQL_ENUM_SET');
  const verified = await run(['verify', '--schema', 'shop']);
  expect(verified.code).toBe(0);
  expect(verified.out).toContain('All 3 table(s) match.');
  await onTarget(db, 'delete from shop.products where id = 9');
  const differing = await run(['verify', '--schema', 'shop', '--json']);
  expect(differing.code).toBe(1);
  expect(JSON.parse(differing.out).tables.find((t: { source: { table: string } }) => t.source.table === 'products').differences)
    .toEqual([{ kind: 'missing-in-target', key: { id: '9' } }]);
  const schema = await run(['schema', 'pre']);
  expect(schema.code).toBe(2);
  expect(schema.err).toMatch(/MySQL source's schema is converted by DMS Schema Conversion/);
  const constraints = await run(['cutover', '--task-arn', 'arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOP', '--constraints']);
  expect(constraints.code).toBe(2);
  expect(constraints.err).toMatch(/--constraints runs the schema copy's constraints step, which a MySQL source does not have/);
  const bad = await main(['verify'], { SOURCE_DATABASE_URL: 'mysql://app@127.0.0.1:3306/?sslmode=maybe', TARGET_DATABASE_URL: pg.url(db) },
    { write: () => true }, { write: () => true });
  expect(bad).toBe(2);
});
