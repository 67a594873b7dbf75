import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { dmsLikeFullLoad, FIXTURE, FIXTURE_MAPPINGS, FIXTURE_TABLES } from './helpers';
import { main, parseArgs } from '../../lib/cli';
import { verify } from '../../lib/fidelity/verify';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

let source: PgCluster;
let target: PgCluster;
let mappingsFile: string;

class Sink {
  text = '';
  constructor(readonly isTTY = false, readonly columns = 100) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

async function cli(argv: string[], env: Record<string, string | undefined>) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(argv, env, stdout, stderr);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster({ walLevel: 'replica' }), startPgCluster({ walLevel: 'replica' })]);
  await source.sql('create database shop');
  await source.sql(FIXTURE, 'shop');
  await target.sql('create database neondb');
  mappingsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'schema-cli-')), 'mappings.json');
  fs.writeFileSync(mappingsFile, JSON.stringify(FIXTURE_MAPPINGS));
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (mappingsFile) fs.rmSync(path.dirname(mappingsFile), { recursive: true, force: true });
});

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const env = (db = 'neondb') => ({
  SOURCE_DATABASE_URL: `${source.url('shop')}?sslmode=disable`,
  TARGET_DATABASE_URL: `postgresql://postgres:${encodeURIComponent('endpoint=ep-x$p@ss')}@127.0.0.1:${target.port}/${db}?sslmode=disable&application_name=schema%20test`,
  PATH: process.env.PATH,
});

describe('schema', () => {
  test('plan lists what the steps would copy', async () => {
    const r = await cli(['schema', 'plan', '--mappings', mappingsFile], { SOURCE_DATABASE_URL: source.url('shop') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^plan: table app\.customers$/m);
    expect(r.stdout).toMatch(/^plan: leave out app\.scratch$/m);
    expect(r.stdout).toMatch(/^plan: extension citext \(used\)$/m);
  });

  test('pre, a load, post and sequences through the command, then verify with schema objects passes', async () => {
    const pre = await cli(['schema', 'pre', '--mappings', mappingsFile], env());
    expect(pre.stderr).toBe('');
    expect(pre.code).toBe(0);
    expect(pre.stdout.split('\n')).toContain('pre: restored the pre-data section into the target');
    dmsLikeFullLoad(source, 'shop', target, 'neondb', FIXTURE_TABLES);

    const post = await cli(['schema', 'post', '--mappings', mappingsFile, '--json'], env());
    expect(post.code).toBe(0);
    expect(JSON.parse(post.stdout)).toEqual({
      ok: true,
      step: 'post',
      output: [
        'post: leaving out view app.scratch_notes: it reads a relation the selection leaves out',
        'post: 10 primary key, unique and exclusion constraint(s)',
        'post: 7 index(es)',
        'post: 4 partition index attachment(s)',
        'post: 4 foreign key(s)',
        'post: 2 trigger(s)',
        'post: 1 materialized view(s) refreshed',
        'post: identity column app.products.id GENERATED ALWAYS again, as on the source',
        'post: identity column audit.log.id GENERATED ALWAYS again, as on the source',
        'post: restored the post-data section of 6 table(s) into the target',
      ],
    });
    const sequences = await cli(['schema', 'sequences', '--mappings', mappingsFile], env());
    expect(sequences.code).toBe(0);
    expect(sequences.stdout).toMatch(/^sequences: 6 set, 0 kept$/m);

    const v = await cli(['verify', '--mappings', mappingsFile, '--schema-objects'], env());
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/All 6 table\(s\) match\.\n\nSchema objects: all 80 object\(s\) compared match\.\n$/);
  });

  test('plan lists every object the steps create: after pre, indexes and constraints the target holds exactly what it listed', async () => {
    await target.sql('create database planned');
    const plan = await cli(['schema', 'plan', '--mappings', mappingsFile, '--json'], { SOURCE_DATABASE_URL: source.url('shop') });
    expect(plan.code).toBe(0);
    const lines: string[] = JSON.parse(plan.stdout).output;
    expect(lines).toEqual(expect.arrayContaining([
      'plan: pre creates table app.customers',
      'plan: pre creates domain app.email',
      'plan: pre creates function app.new_code()',
      'plan: pre creates materialized view app.product_prices',
      'plan: indexes creates constraint customers_pkey on app.customers',
      'plan: indexes creates index app.customers_lower_name_idx',
      'plan: indexes attaches partition index app.events_2024_kind_idx',
      'plan: constraints creates foreign key orders_customer_id_fkey on app.orders',
      'plan: constraints creates trigger customers_touch on app.customers',
      'plan: constraints refreshes materialized view app.product_prices',
    ]));
    // nothing of what the selection leaves out
    expect(lines.filter((l) => / creates .*scratch/.test(l))).toEqual([]);

    for (const step of ['pre', 'indexes', 'constraints']) {
      const r = await cli(['schema', step, '--mappings', mappingsFile], env('planned'));
      expect({ step, stderr: r.stderr, code: r.code }).toEqual({ step, stderr: '', code: 0 });
    }
    // the target's catalog, worded as the plan words it: every index, key constraint, foreign key and trigger
    const created = await rows<{ line: string }>(target.url('planned'), `
      select 'plan: indexes creates constraint ' || k.conname || ' on ' || n.nspname || '.' || t.relname as line
        from pg_constraint k join pg_class t on t.oid = k.conrelid join pg_namespace n on n.oid = t.relnamespace
        where k.contype in ('p', 'u', 'x') and n.nspname in ('app', 'audit', 'public')
      union all
      select 'plan: constraints creates foreign key ' || k.conname || ' on ' || n.nspname || '.' || t.relname
        from pg_constraint k join pg_class t on t.oid = k.conrelid join pg_namespace n on n.oid = t.relnamespace
        where k.contype = 'f' and n.nspname in ('app', 'audit', 'public') and k.conparentid = 0
      union all
      select 'plan: indexes creates index ' || n.nspname || '.' || i.relname
        from pg_class i join pg_namespace n on n.oid = i.relnamespace
        where i.relkind in ('i', 'I') and n.nspname in ('app', 'audit', 'public')
          and not exists (select 1 from pg_constraint k where k.conindid = i.oid)
      union all
      select 'plan: constraints creates trigger ' || g.tgname || ' on ' || n.nspname || '.' || t.relname
        from pg_trigger g join pg_class t on t.oid = g.tgrelid join pg_namespace n on n.oid = t.relnamespace
        where not g.tgisinternal and g.tgparentid = 0 and n.nspname in ('app', 'audit', 'public')`);
    const listed = lines.filter((l) => /^plan: (indexes|constraints) creates (constraint|index|foreign key|trigger) /.test(l));
    expect(listed.sort()).toEqual(created.map((r) => r.line).sort());
    expect(listed.length).toBeGreaterThan(20);
  });

  test('with CDC: pre, a load, indexes, then constraints and sequences at cut-over, then verify with schema objects passes', async () => {
    await target.sql('create database cdc');
    for (const step of ['pre', 'indexes']) {
      const r = await cli(['schema', step, '--mappings', mappingsFile], env('cdc'));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      if (step === 'pre') dmsLikeFullLoad(source, 'shop', target, 'cdc', FIXTURE_TABLES);
    }
    const constraints = await cli(['schema', 'constraints', '--mappings', mappingsFile, '--json'], env('cdc'));
    expect(constraints.code).toBe(0);
    expect(JSON.parse(constraints.stdout).output).toContain('constraints: 4 foreign key(s)');
    expect((await cli(['schema', 'sequences', '--mappings', mappingsFile], env('cdc'))).code).toBe(0);
    const v = await cli(['verify', '--mappings', mappingsFile, '--schema-objects'], env('cdc'));
    expect(v.stdout).toMatch(/All 6 table\(s\) match\.\n\nSchema objects: all 80 object\(s\) compared match\.\n$/);
    expect(v.code).toBe(0);
  });

  test('--schema selects like verify does, and a failing step exits 1 naming the database', async () => {
    const r = await cli(['schema', 'pre', '--schema', 'nowhere'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: schema pre: the source database (SOURCE_DATABASE_URL): the selection rules match no table on the source: '
      + 'check the schema and table names (they are case-sensitive)\n');
  });

  test('errors as JSON name the step, the side and the variable', async () => {
    const r = await cli(['schema', 'pre', '--mappings', mappingsFile, '--json'], env());
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout).error;
    expect(error).toMatchObject({
      code: 'SCHEMA_STEP_FAILED',
      step: 'pre',
      side: 'target',
      variable: 'TARGET_DATABASE_URL',
    });
    expect(error.message).toMatch(/^schema pre: the target database \(TARGET_DATABASE_URL\): these tables exist on the target already: app\.customers, /);
    expect(error.output).toContain('pre: 6 table(s) selected, schema(s) app, audit');
    expect(r.stdout).not.toContain('p@ss');
  });

  test('the allowed extensions: Neon\'s list by default, another file, or none', async () => {
    await target.sql('create database other');
    const none = path.join(path.dirname(mappingsFile), 'none.json');
    fs.writeFileSync(none, '[]');
    const r = await cli(['schema', 'pre', '--mappings', mappingsFile, '--allowed-extensions', none], env('other'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: schema pre: the allowed extensions: the copied objects use extensions the target does not offer: citext (not in ${none}); nothing was created\n`);
    const unchecked = await cli(['schema', 'pre', '--mappings', mappingsFile, '--no-extension-list'], env('other'));
    expect(unchecked.code).toBe(0);
  });

  test('an unreachable database is named', async () => {
    const r = await cli(['schema', 'post', '--schema', 'app'], { ...env(), TARGET_DATABASE_URL: 'postgresql://u:secret@127.0.0.1:1/db?sslmode=disable' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: schema post: the target database \(TARGET_DATABASE_URL\): psql: error: connection to server at "127\.0\.0\.1", port 1 failed/);
    expect(r.stderr).not.toContain('secret');
  });

  test('usage errors and help', async () => {
    expect(() => parseArgs(['schema'])).toThrow('missing schema step: pre, indexes, constraints, post, sequences or plan');
    expect(() => parseArgs(['schema', 'drop'])).toThrow('unknown schema step "drop": pre, indexes, constraints, post, sequences or plan');
    expect(parseArgs(['schema', 'indexes', '--schema', 'app'])).toMatchObject({ command: 'schema', step: 'indexes' });
    expect(parseArgs(['schema', 'constraints', '--schema', 'app'])).toMatchObject({ command: 'schema', step: 'constraints' });
    expect(() => parseArgs(['schema', 'constraints', '--no-extension-list'])).toThrow('--no-extension-list applies to schema pre only');
    expect(() => parseArgs(['schema', 'post', '--allowed-extensions', 'x.json'])).toThrow('--allowed-extensions applies to schema pre only');
    expect(() => parseArgs(['verify', '--allowed-extensions', 'x.json'])).toThrow('--allowed-extensions applies to schema only, not to verify');
    expect(() => parseArgs(['schema', 'pre', '--schema-objects'])).toThrow('--schema-objects applies to verify only, not to schema');
    expect(() => parseArgs(['schema', 'pre', '--concurrency', '2'])).toThrow('--concurrency does not apply to schema');
    expect(parseArgs(['schema', 'sequences', '--schema', 'app'])).toMatchObject({ command: 'schema', step: 'sequences', schemas: ['app'] });

    const missing = await cli(['schema', 'pre'], { SOURCE_DATABASE_URL: source.url() });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: set TARGET_DATABASE_URL to the target connection string\n\nusage: cdk-neon-migration schema/);

    const help = await cli(['schema', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: cdk-neon-migration schema <pre\|indexes\|constraints\|post\|sequences\|plan> \[options\]/);
    expect(help.stdout).toMatch(/^ {2}FULL_LOAD {10}pre, the full load, post, sequences$/m);
    expect(help.stdout).toMatch(/^ {2}FULL_LOAD_AND_CDC {2}pre, the full load \(the task stops after it\), indexes, the task resumed$/m);
    expect(help.stdout).toMatch(/--allowed-extensions <file>/);
    expect((await cli(['help', 'schema'], {})).stdout).toBe(help.stdout);
    expect((await cli(['--help'], {})).stdout).toMatch(/ {2}schema {6}copies the source's schema into the target around the DMS load/);
    expect((await cli(['verify', '--help'], {})).stdout).toMatch(/--schema-objects {11}also compare the schema objects/);
  });
});

describe('verify --schema-objects', () => {
  test('each changed object is reported by name; without the flag the rows still match', async () => {
    await target.sql(`
      drop index app.orders_open_idx;
      create index orders_status_idx on app.orders (status);
      alter table app.products drop constraint products_price_check, add constraint products_price_check check (price >= 0 and price < 1000);
      alter table app.orders drop constraint orders_customer_id_fkey;
      alter table app.customers alter column name drop not null;
      alter table app.orders alter column status set default 'open';
      alter table app.orders alter column id set generated always;
      alter table app.order_lines alter column quantity type integer;
      alter table app.products add column extra text;
      alter table app.customers disable trigger customers_touch;
      select setval('app.invoice_no_seq', 1000, false);
      alter type app.mood add value 'angry';
      create or replace view app.customer_totals as
        select c.id, c.name, count(o.id) as orders, coalesce(sum(o.total), 1) as total
        from app.customers c left join app.orders o on o.customer_id = c.id group by c.id, c.name;
      refresh materialized view app.product_prices with no data;`, 'neondb');

    const plain = await cli(['verify', '--mappings', mappingsFile], env());
    expect(plain.code).toBe(0);

    const result = await verify({ source: source.url('shop'), target: target.url('neondb'), mappings: FIXTURE_MAPPINGS, compareSchemaObjects: true });
    expect(result.ok).toBe(false);
    expect(result.tables.every((t) => t.status === 'match')).toBe(true);
    const lines = result.schemaObjects!.differences.map((d) =>
      [d.kind, d.object, d.difference, d.property ?? '', d.source ?? '', d.target ?? ''].join(' | '));
    expect(lines).toEqual([
      'column | app.customers.name | different | not null | NOT NULL | NULL',
      'trigger | customers_touch on app.customers | different |  | CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at() | CREATE TRIGGER customers_touch BEFORE UPDATE ON app.customers FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at() (enabled: D)',
      'column | app.order_lines.quantity | different | type | app.positive_int | integer',
      'column | app.orders.id | different | identity | GENERATED BY DEFAULT AS IDENTITY | GENERATED ALWAYS AS IDENTITY',
      "column | app.orders.status | different | default | 'new'::text | 'open'::text",
      'index | app.orders_open_idx | missing-in-target |  | USING btree (placed_at) WHERE (status <> \'done\'::text) | ',
      'index | app.orders_status_idx | extra-in-target |  |  | USING btree (status)',
      'constraint | orders_customer_id_fkey on app.orders | missing-in-target |  | FOREIGN KEY (customer_id) REFERENCES app.customers(id) ON DELETE CASCADE | ',
      'sequence | app.invoice_no_seq | behind |  | next value 1040 | next value 1000',
      'column | app.products.extra | extra-in-target |  |  | text',
      'constraint | products_price_check on app.products | different |  | CHECK ((price >= (0)::numeric)) | CHECK (((price >= (0)::numeric) AND (price < (1000)::numeric)))',
      "type | app.mood | different |  | ENUM ('sad', 'ok', 'happy') | ENUM ('sad', 'ok', 'happy', 'angry')",
      'view | app.customer_totals | different |  | SELECT c.id, c.name, count(o.id) AS orders, COALESCE(sum(o.total), (0)::numeric) AS total FROM (app.customers c LEFT JOIN app.orders o ON ((o.customer_id = c.id))) GROUP BY c.id, c.name; | SELECT c.id, c.name, count(o.id) AS orders, COALESCE(sum(o.total), (1)::numeric) AS total FROM (app.customers c LEFT JOIN app.orders o ON ((o.customer_id = c.id))) GROUP BY c.id, c.name;',
      'materialized view | app.product_prices | different |  | SELECT products.sku, products.price FROM app.products; | SELECT products.sku, products.price FROM app.products; (no data)',
    ]);

    const text = await cli(['verify', '--mappings', mappingsFile, '--schema-objects'], env());
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/All 6 table\(s\) match\.\n\n/);
    expect(text.stdout).toMatch(/^index app\.orders_open_idx +missing-in-target: USING btree \(placed_at\) WHERE \(status <> 'done'::text\)$/m);
    expect(text.stdout).toMatch(/^column app\.customers\.name +different \(not null\): NOT NULL on the source, NULL on the target$/m);
    expect(text.stdout).toMatch(/^sequence app\.invoice_no_seq +behind: next value 1040 on the source, next value 1000 on the target$/m);
    expect(text.stdout).toMatch(/\nSchema objects: 14 difference\(s\) among 80 object\(s\) compared\.\nVerify FAILED\.\n$/);

    const json = await cli(['verify', '--mappings', mappingsFile, '--schema-objects', '--json'], env());
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.ok).toBe(false);
    expect(parsed.schemaObjects.differences).toEqual(JSON.parse(JSON.stringify(result.schemaObjects!.differences)));
  });
});
