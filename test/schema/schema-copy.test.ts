import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  copyEnvironment, dmsLikeFullLoad, exclude, FIXTURE, FIXTURE_MAPPINGS, FIXTURE_TABLES, include, mappings, normaliseDump, psql,
  schemaDump, step,
} from './helpers';
import { verify } from '../../lib/fidelity/verify';
import { runSchemaCopy, schemaCopyEnvironment } from '../../lib/schema/steps';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

let source: PgCluster;
let target: PgCluster;
let scratch: string;

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster({ walLevel: 'replica' }), startPgCluster({ walLevel: 'replica' })]);
  await source.sql('create database shop');
  await source.sql(FIXTURE, 'shop');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-copy-'));
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

let databases = 0;
/** A new empty target database. */
async function targetDatabase(): Promise<string> {
  const name = `target_${++databases}`;
  await target.sql(`create database ${name}`);
  return name;
}

/** What a target database holds: its schemas (but public) and extensions. */
function contents(db: string): { schemas: string; extensions: string } {
  return {
    schemas: psql(target, db, "select coalesce(string_agg(nspname, ',' order by nspname), '') from pg_namespace where nspname not in ('public', 'information_schema') and nspname not like 'pg\\_%'"),
    extensions: psql(target, db, "select coalesce(string_agg(extname, ',' order by extname), '') from pg_extension where extname <> 'plpgsql'"),
  };
}

const EMPTY = { schemas: '', extensions: '' };

describe('a copy around a DMS-like full load', () => {
  let db: string;
  beforeAll(async () => {
    db = await targetDatabase();
  });
  const env = () => copyEnvironment(source, 'shop', target, db);

  test('pre creates the extensions and the pre-data section: tables without rows, indexes or constraints beyond NOT NULL and CHECK', async () => {
    const r = await step('pre', env());
    expect(r.error).toBeUndefined();
    expect(r.lines).toEqual([
      'pre: leaving out view app.scratch_notes: it reads a relation the selection leaves out',
      'pre: 6 table(s) selected, schema(s) app, audit',
      'pre: extension citext',
      'pre: extension pgcrypto',
      'pre: restored the pre-data section into the target',
    ]);
    expect(contents(db)).toEqual({ schemas: 'app,audit', extensions: 'citext,pgcrypto' });
    const relations = psql(target, db, `
      select string_agg(c.relname || ':' || c.relkind::text, ',' order by c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'app'`);
    expect(relations.split(',')).toEqual([
      'customer_totals:v', 'customers:r', 'customers_id_seq:S', 'events:p', 'events_2024:r', 'events_2025:r', 'events_id_seq:S',
      'invoice_no_seq:S', 'order_lines:r', 'orders:r', 'orders_id_seq:S', 'product_prices:m', 'products:r', 'products_id_seq:S',
    ]);
    // no index, primary key, unique or foreign key before the load; CHECK constraints are part of the tables
    expect(psql(target, db, "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname in ('app', 'audit')")).toBe('0');
    expect(psql(target, db, "select string_agg(conname, ',' order by conname) from pg_constraint where connamespace = 'app'::regnamespace")).toBe(
      'email_check,orders_qty_check,positive_int_check,products_price_check');
    expect(psql(target, db, "select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid where c.relnamespace = 'app'::regnamespace")).toBe('0');
    // the materialized view exists without data until post; sequences start where they were created
    expect(psql(target, db, "select relispopulated from pg_class where oid = 'app.product_prices'::regclass")).toBe('f');
    expect(psql(target, db, 'select last_value || \':\' || is_called from app.orders_id_seq')).toBe('100:false');
    expect(psql(target, db, "select obj_description('app.customers'::regclass), col_description('app.customers'::regclass, 2)")).toBe('people who order|login, case-insensitive');
  });

  test('the full load writes into the restored tables, generated and identity columns included', () => {
    dmsLikeFullLoad(source, 'shop', target, db, FIXTURE_TABLES);
    expect(psql(target, db, 'select string_agg(id || \'=\' || total, \',\' order by id) from app.orders')).toBe('100=19.00,105=12.00,110=0.00,115=28.50');
    expect(psql(target, db, 'select count(*) from app.events_2025')).toBe('2');
  });

  test('post restores indexes, constraints and triggers, and refreshes the materialized view', async () => {
    const r = await step('post', env());
    expect(r.error).toBeUndefined();
    expect(r.lines).toEqual([
      'post: leaving out view app.scratch_notes: it reads a relation the selection leaves out',
      'post: restored the post-data section of 6 table(s) into the target',
    ]);
    const indexes = psql(target, db, `
      select string_agg(indexrelid::regclass::text, ',' order by indexrelid::regclass::text) from pg_index i
      join pg_class c on c.oid = i.indrelid where c.relnamespace in ('app'::regnamespace, 'audit'::regnamespace)`);
    expect(indexes.split(',')).toEqual([
      'app.customers_email_key', 'app.customers_lower_name_idx', 'app.customers_pkey', 'app.events_2024_kind_idx', 'app.events_2024_pkey',
      'app.events_2025_kind_idx', 'app.events_2025_pkey', 'app.events_kind_idx', 'app.events_pkey', 'app.order_lines_pkey',
      'app.orders_customer_placed_idx', 'app.orders_open_idx', 'app.orders_pkey', 'app.product_prices_sku_idx', 'app.products_pkey',
      'app.products_sku_key', 'audit.log_pkey',
    ]);
    expect(psql(target, db, "select string_agg(conname, ',' order by conname) from pg_constraint where contype = 'f' and connamespace = 'app'::regnamespace")).toBe(
      'customers_referred_by_fkey,order_lines_order_id_fkey,order_lines_product_id_fkey,orders_customer_id_fkey');
    expect(psql(target, db, "select string_agg(tgname, ',' order by tgname) from pg_trigger where not tgisinternal")).toBe('customers_touch,orders_audit');
    expect(psql(target, db, 'select string_agg(sku || \'=\' || price, \',\' order by sku) from app.product_prices')).toBe('A-1=9.50,B-2=12.00,C-3=0.00');
  });

  test('before the sequences step the target would hand out ids the source has used, and verify says so', async () => {
    const result = await verify({
      source: source.url('shop'), target: target.url(db), mappings: FIXTURE_MAPPINGS, compareSchemaObjects: true,
    });
    expect(result.tables.every((t) => t.status === 'match')).toBe(true);
    expect(result.ok).toBe(false);
    expect(result.schemaObjects!.differences.map((d) => `${d.kind} ${d.object} ${d.difference} ${d.source} / ${d.target}`)).toEqual([
      'sequence app.customers_id_seq behind next value 4 / next value 1',
      'sequence app.events_id_seq behind next value 4 / next value 1',
      'sequence app.orders_id_seq behind next value 120 / next value 100',
      'sequence app.invoice_no_seq behind next value 1040 / next value 1000',
      'sequence app.products_id_seq behind next value 4 / next value 1',
      'sequence audit.log_id_seq behind next value 5 / next value 1',
    ]);
  });

  test('sequences sets every sequence to the source position', async () => {
    const r = await step('sequences', env());
    expect(r.error).toBeUndefined();
    expect(r.lines).toEqual([
      "sequences: app.customers_id_seq continues at 4 (the source's next value; the target was at 1)",
      "sequences: app.events_id_seq continues at 4 (the source's next value; the target was at 1)",
      "sequences: app.invoice_no_seq continues at 1040 (the source's next value; the target was at 1000)",
      "sequences: app.orders_id_seq continues at 120 (the source's next value; the target was at 100)",
      "sequences: app.products_id_seq continues at 4 (the source's next value; the target was at 1)",
      "sequences: audit.log_id_seq continues at 5 (the source's next value; the target was at 1)",
      'sequences: 6 set, 0 kept',
    ]);
  });

  test('verify finds the rows and every schema object equal', async () => {
    const result = await verify({
      source: source.url('shop'), target: target.url(db), mappings: FIXTURE_MAPPINGS, compareSchemaObjects: true,
    });
    expect(result.schemaObjects!.differences).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.tables.map((t) => `${t.source.schema}.${t.source.table}:${t.status}`)).toEqual([
      'app.customers:match', 'app.events:match', 'app.order_lines:match', 'app.orders:match', 'app.products:match', 'audit.log:match',
    ]);
    // the partitions' columns and indexes are compared too; their primary keys are the root's
    expect(result.schemaObjects!.comparedByKind).toEqual({
      'column': 37, 'index': 16, 'constraint': 14, 'trigger': 2, 'sequence': 6, 'type': 3, 'view': 1, 'materialized view': 1,
    });
    expect(result.schemaObjects!.compared).toBe(80);
  });

  test('the schema-only dumps of both sides are equal', () => {
    const sourceDump = schemaDump(source, 'shop', ['-n', 'app', '-n', 'audit', '-T', 'app.scratch', '-T', 'app.scratch_id_seq', '-T', 'app.scratch_notes']);
    const targetDump = schemaDump(target, db, ['-n', 'app', '-n', 'audit']);
    expect(sourceDump).toMatch(/CREATE TABLE app\.orders/);
    expect(normaliseDump(targetDump)).toEqual(normaliseDump(sourceDump));
  });

  test('rows inserted with default ids get new ids in every serial and identity table, and the trigger and defaults run', () => {
    psql(target, db, `
      insert into app.customers (email, name) values ('new@example.com', 'New');
      insert into app.products (sku, price) values ('D-4', 1);
      insert into app.orders (customer_id, qty, unit_price) values (4, 2, 1.25);
      insert into app.events (happened_on, kind) values ('2025-07-01', 'new');`);
    expect(psql(target, db, "select id || ',' || length(code) || ',' || mood from app.customers where email = 'new@example.com'")).toBe('4,12,ok');
    expect(psql(target, db, "select id from app.products where sku = 'D-4'")).toBe('4');
    expect(psql(target, db, 'select id || \',\' || invoice_no || \',\' || total from app.orders where customer_id = 4')).toBe('120,1040,2.50');
    expect(psql(target, db, "select id from app.events where kind = 'new'")).toBe('4');
    // the audit trigger of app.orders wrote into audit.log with the next identity value
    expect(psql(target, db, 'select max(id) from audit.log')).toBe('5');
    // the update trigger and the check constraints are in place
    psql(target, db, "update app.customers set name = 'Newer' where id = 4");
    expect(psql(target, db, 'select updated_at is not null from app.customers where id = 4')).toBe('t');
    expect(() => psql(target, db, "insert into app.products (sku, price, stock) values ('E-5', 1, 0)")).toThrow(/positive_int_check/);
    expect(() => psql(target, db, 'insert into app.products (id, sku, price) values (99, \'F-6\', 1)')).toThrow(/GENERATED ALWAYS/);
  });

  test('sequences never moves a target sequence back', async () => {
    // the target has handed out ids the source has not (as when CDC inserts on the target)
    const r = await step('sequences', env());
    expect(r.error).toBeUndefined();
    expect(r.lines).toContain("sequences: app.orders_id_seq kept at 125 (ahead of the source's 120)");
    expect(r.lines).toContain("sequences: app.events_id_seq kept at 5 (ahead of the source's 4)");
    expect(r.lines[r.lines.length - 1]).toBe('sequences: 0 set, 6 kept');
    expect(psql(target, db, 'select last_value from app.orders_id_seq')).toBe('120');
  });
});

describe('failures leave the target as it was', () => {
  test('an extension the allowed list lacks: every missing one named, nothing created', async () => {
    const db = await targetDatabase();
    const allowed = path.join(scratch, 'allowed.json');
    fs.writeFileSync(allowed, JSON.stringify({ extensions: { pgcrypto: { 15: '1.3' }, citext: { 15: null, 16: '1.6' } } }));
    const r = await step('pre', copyEnvironment(source, 'shop', target, db, FIXTURE_MAPPINGS, allowed));
    expect(r.error?.place).toBe('ALLOWED_EXTENSIONS_FILE');
    expect(r.error?.exitCode).toBe(1);
    expect(r.error?.message).toBe(`schema copy pre: ALLOWED_EXTENSIONS_FILE: the copied objects use extensions the target does not offer: citext (not in ${allowed}); nothing was created`);
    expect(contents(db)).toEqual(EMPTY);
  });

  test('an installed extension no copied definition uses is skipped when the target lacks it', async () => {
    const db = await targetDatabase();
    const allowed = path.join(scratch, 'citext-only.json');
    fs.writeFileSync(allowed, JSON.stringify(['citext']));
    const r = await step('pre', copyEnvironment(source, 'shop', target, db, FIXTURE_MAPPINGS, allowed));
    expect(r.error).toBeUndefined();
    expect(r.lines).toContain('pre: extension pgcrypto is installed on the source but not offered by the target: not created (no copied definition references it; a function body calling it would fail on the target)');
    expect(contents(db)).toEqual({ schemas: 'app,audit', extensions: 'citext' });
  });

  test('a mapping that renames is refused, naming the rule', async () => {
    const db = await targetDatabase();
    const renaming = mappings(include('app', '%'), {
      'rule-type': 'transformation', 'rule-target': 'schema', 'rule-action': 'rename', 'value': 'shop', 'object-locator': { 'schema-name': 'app' },
    });
    const r = await step('pre', copyEnvironment(source, 'shop', target, db, renaming));
    expect(r.error?.place).toBe('TABLE_MAPPINGS');
    expect(r.error?.detail).toBe('rule 2 (rename on schema {"schema-name": "app"}): the schema copy creates the source\'s schemas, tables and columns '
      + 'under their source names and types, while this rule makes DMS write to other names, other types or other columns. '
      + 'Remove the rule, or create the target schema yourself and leave the schema copy off.');
    expect(contents(db)).toEqual(EMPTY);
  });

  test('a restore error rolls the whole step back, with the error of the statement', async () => {
    const db = await targetDatabase();
    const env = copyEnvironment(source, 'shop', target, db);
    expect((await step('pre', env)).error).toBeUndefined();
    dmsLikeFullLoad(source, 'shop', target, db, FIXTURE_TABLES);
    // a duplicate the unique constraint of the post-data section refuses
    psql(target, db, "insert into app.products (id, sku, price) overriding system value values (50, 'A-1', 1)");
    const r = await step('post', env);
    expect(r.error?.place).toBe('target');
    expect(r.error?.detail).toMatch(/^restoring the post-data section failed, nothing was changed: line \d+: ERROR: {2}could not create unique index "products_sku_key"\nDETAIL: {2}Key \(sku\)=\(A-1\) is duplicated\./);
    // the indexes, constraints and triggers restored before the failing statement are gone too
    expect(psql(target, db, "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace = 'app'::regnamespace")).toBe('0');
    expect(psql(target, db, 'select count(*) from pg_trigger where not tgisinternal')).toBe('0');
  });

  test('pre refuses tables that exist on the target already', async () => {
    const db = await targetDatabase();
    psql(target, db, 'create schema app; create table app.orders (id int)');
    const r = await step('pre', copyEnvironment(source, 'shop', target, db));
    expect(r.error?.place).toBe('target');
    expect(r.error?.detail).toBe('these tables exist on the target already: app.orders. The pre step creates them: drop them first, '
      + 'or leave the schema copy off and create the target schema yourself');
    expect(contents(db)).toEqual({ schemas: 'app', extensions: '' });
  });

  test('schemas that exist on the target (public, one created beforehand) are used as they are, with their own comments', async () => {
    const db = await targetDatabase();
    psql(target, db, "create schema app; comment on schema public is 'the target''s own'");
    const env = copyEnvironment(source, 'shop', target, db, mappings(include('public', 'notes'), include('app', '%'), exclude('app', 'scratch'), include('audit', '%')));
    const pre = await step('pre', env);
    expect(pre.error).toBeUndefined();
    expect(pre.lines).toContain('pre: 7 table(s) selected, schema(s) app, audit, public');
    dmsLikeFullLoad(source, 'shop', target, db, ['public.notes']);
    expect((await step('post', env)).error).toBeUndefined();
    expect((await step('sequences', env)).error).toBeUndefined();
    psql(target, db, "insert into public.notes (body) values ('third')");
    expect(psql(target, db, "select string_agg(id || '=' || body, ',' order by id) from public.notes")).toBe('1=first,2=second,3=third');
    expect(psql(target, db, "select obj_description('public'::regnamespace, 'pg_namespace') || '|' || coalesce(obj_description('app'::regnamespace, 'pg_namespace'), '(none)')"))
      .toBe("the target's own|(none)");
  });

  test('sequences refuses to run before pre', async () => {
    const db = await targetDatabase();
    const r = await step('sequences', copyEnvironment(source, 'shop', target, db));
    expect(r.error?.place).toBe('target');
    expect(r.error?.detail).toMatch(/^these sequences do not exist on the target: app\.customers_id_seq, app\.events_id_seq, .* \(run the pre step first\)$/);
  });
});

describe('the environment', () => {
  test('a database that cannot be reached is named, and no password is printed', async () => {
    const secret = 'endpoint=ep-secret-123$s3cr3t-pa55';
    const env = schemaCopyEnvironment({
      source: { PGHOST: '127.0.0.1', PGPORT: String(source.port), PGUSER: 'postgres', PGDATABASE: 'shop', PGPASSWORD: secret },
      // a port nothing listens on
      target: { PGHOST: '127.0.0.1', PGPORT: '1', PGUSER: 'neondb_owner', PGDATABASE: 'neondb', PGPASSWORD: secret, PGSSLMODE: 'disable' },
      mappings: FIXTURE_MAPPINGS,
    });
    const r = await step('pre', env);
    expect(r.error?.place).toBe('target');
    expect(r.error?.detail).toMatch(/^psql: error: connection to server at "127\.0\.0\.1", port 1 failed: Connection refused/);
    expect(r.error?.message).not.toContain('s3cr3t');
    expect(r.lines.join('\n')).not.toContain('s3cr3t');
  });

  test('the caller\'s own PG variables do not reach either side', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { PGHOST: '192.0.2.1', PGPORT: '1', PGDATABASE: 'nope', PGUSER: 'nobody', PGOPTIONS: '-c statement_timeout=1' });
    try {
      const r = await step('plan', copyEnvironment(source, 'shop', target, 'postgres'));
      expect(r.error).toBeUndefined();
      expect(r.lines).toContain('plan: table app.orders');
    } finally {
      for (const name of ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGOPTIONS']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });

  test('a missing variable, an unknown step and malformed JSON are usage errors (exit 2)', async () => {
    const env = copyEnvironment(source, 'shop', target, 'postgres');
    const noHost = { ...env, TARGET_PGHOST: '' };
    const r1 = await step('pre', noHost as typeof env);
    expect(r1.error?.exitCode).toBe(2);
    expect(r1.error?.message).toBe('schema copy pre: environment: TARGET_PGHOST is not set');

    const r2 = await step('post', { ...env, TABLE_MAPPINGS: '{"rules": [' });
    expect(r2.error?.exitCode).toBe(2);
    expect(r2.error?.place).toBe('TABLE_MAPPINGS');
    expect(r2.error?.detail).toMatch(/^not valid JSON: ERROR: {2}invalid input syntax for type json/);

    const bad = path.join(scratch, 'bad.json');
    fs.writeFileSync(bad, 'neon');
    const r3 = await step('pre', { ...env, ALLOWED_EXTENSIONS_FILE: bad });
    expect(r3.error?.exitCode).toBe(2);
    expect(r3.error?.place).toBe('ALLOWED_EXTENSIONS_FILE');

    const r4 = await step('pre', { ...env, ALLOWED_EXTENSIONS_FILE: path.join(scratch, 'missing.json') });
    expect(r4.error?.message).toBe(`schema copy pre: ALLOWED_EXTENSIONS_FILE: cannot read ${path.join(scratch, 'missing.json')}`);
  });

  test('a pg_restore that writes SET transaction_timeout (version 17 and later) still restores into an older server', async () => {
    // no pg_restore 17 is installed next to the PostgreSQL 15 server of these tests: this is the installed
    // pg_restore, writing the preamble line pg_restore 17 adds (after idle_in_transaction_session_timeout),
    // which a PostgreSQL 15 server refuses
    const bin = path.join(scratch, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    const real = execFileSync('bash', ['-c', 'command -v pg_restore'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, 'pg_restore'), `#!/bin/bash
set -o pipefail
args=() out=''
for a in "$@"; do case "$a" in --file=*) out="\${a#--file=}" ;; *) args+=("$a") ;; esac; done
[ -n "$out" ] || exec "${real}" "$@"
"${real}" "\${args[@]}" --file=- | sed -e 's/^SET idle_in_transaction_session_timeout = 0;$/&\\nSET transaction_timeout = 0;/' >"$out"
`, { mode: 0o755 });
    // the premise: its script has the line, which this server refuses
    const archive = path.join(scratch, 'pre.dump');
    execFileSync('pg_dump', ['--format=custom', '--section=pre-data', '--schema=app', `--file=${archive}`, source.url('shop')]);
    execFileSync(path.join(bin, 'pg_restore'), [`--file=${archive}.sql`, archive]);
    expect(fs.readFileSync(`${archive}.sql`, 'utf8')).toMatch(/\nSET idle_in_transaction_session_timeout = 0;\nSET transaction_timeout = 0;\n/);
    const db = await targetDatabase();
    expect(() => psql(target, db, 'SET transaction_timeout = 0')).toThrow(/unrecognized configuration parameter "transaction_timeout"/);
    const env = copyEnvironment(source, 'shop', target, db);
    const result = await runSchemaCopy('pre', env, { binDirs: [bin] });
    expect(result.lines[result.lines.length - 1]).toBe('pre: restored the pre-data section into the target');
    expect(contents(db).schemas).toBe('app,audit');
  });
});

describe('selection edge cases', () => {
  test('a view the mapping selects is refused: DMS would load its rows into a table', async () => {
    const db = await targetDatabase();
    const withViews = mappings(include('app', 'customer%', { 'object-locator': { 'schema-name': 'app', 'table-name': 'customer%', 'table-type': 'all' } }));
    const r = await step('pre', copyEnvironment(source, 'shop', target, db, withViews));
    expect(r.error?.place).toBe('TABLE_MAPPINGS');
    expect(r.error?.detail).toBe('the schema copy creates views as views, while DMS loads the rows of a selected view into a table: '
      + 'leave views out of the selection (table-type table, the default) or leave the schema copy off. Selected: app.customer_totals');
    expect(contents(db)).toEqual(EMPTY);
  });

  test('a foreign key to a table the selection leaves out is refused before anything is created', async () => {
    const db = await targetDatabase();
    const r = await step('pre', copyEnvironment(source, 'shop', target, db, mappings(include('app', 'order%'))));
    expect(r.error?.place).toBe('TABLE_MAPPINGS');
    expect(r.error?.detail.split('\n')).toEqual([
      'foreign key order_lines_product_id_fkey of app.order_lines references app.products, which the selection leaves out: select that table too, or drop the foreign key on the source',
      '  foreign key orders_customer_id_fkey of app.orders references app.customers, which the selection leaves out: select that table too, or drop the foreign key on the source',
    ]);
    expect(contents(db)).toEqual(EMPTY);
  });

  test('objects of other schemas that selected tables use come along, without those schemas\' tables', async () => {
    // app.orders' trigger calls audit.record(): schema audit is dumped for it, audit.log is left out
    const r = await step('plan', copyEnvironment(source, 'shop', target, 'postgres', mappings(include('app', '%'), exclude('app', 'scratch'))));
    expect(r.error).toBeUndefined();
    expect(r.lines.filter((l) => /^plan: (schema|leave out)/.test(l))).toEqual([
      'plan: schema app', 'plan: schema audit',
      'plan: leave out app.scratch', 'plan: leave out app.scratch_id_seq', 'plan: leave out app.scratch_notes',
      'plan: leave out audit.log', 'plan: leave out audit.log_id_seq',
    ]);
    const db = await targetDatabase();
    const env = copyEnvironment(source, 'shop', target, db, mappings(include('app', '%'), exclude('app', 'scratch')));
    expect((await step('pre', env)).error).toBeUndefined();
    expect((await step('post', env)).error).toBeUndefined();
    expect(psql(target, db, "select to_regprocedure('audit.record()') is not null, to_regclass('audit.log') is null")).toBe('t|t');
  });

  test('a selection that matches nothing is an error', async () => {
    const r = await step('pre', copyEnvironment(source, 'shop', target, 'postgres', mappings(include('shop_typo', '%'))));
    expect(r.error?.place).toBe('source');
    expect(r.error?.detail).toBe('the selection rules match no table on the source: check the schema and table names (they are case-sensitive)');
  });
});
