import { startPgCluster, PgCluster } from './pg-cluster';
import { pickBoundaries, TableVerification, verify, VerifyOptions } from '../../lib/fidelity/verify';

let source: PgCluster;
let target: PgCluster;

/** Every type the canonical row text has to handle, 3000 rows. */
const ALL_TYPES = `
  create type mood as enum ('sad', 'ok', 'happy');
  create type pair as (x int, y text);
  create table all_types (
    id int primary key,
    t text, vc varchar(50), vcu varchar, ch char(5),
    n numeric(12,4), nu numeric, f8 float8, f4 real, i8 bigint, b boolean, money_col money,
    ts timestamp, tstz timestamptz, d date, tm time, tmtz timetz, iv interval,
    by bytea, j json, jb jsonb, x xml, arr int[], tarr text[], jarr jsonb[],
    m mood, p pair, pt point, bx box, u uuid, tsv tsvector, ip inet, r int4range, bits bit varying(16)
  );
  insert into all_types
  select g,
         case when g % 10 = 0 then null when g % 10 = 1 then '' else 'text ' || g || ' ünïcødé 🚀 "quoted", (paren) \\ back' end,
         'vc' || g, repeat('u', g % 40), left('c' || g, 5),
         g / 7.0, g / 3.0, g / 9.0, g / 11.0, g::int8 * 1000000007, g % 2 = 0, g * 1.25,
         '2024-02-29 12:00:00'::timestamp + g * interval '1 minute 1.5 second',
         '2024-02-29 12:00:00+05:30'::timestamptz + g * interval '1.000001 second',
         '2024-01-01'::date + g, '08:00'::time + g * interval '1 second', '08:00+02'::timetz, g * interval '1 day 2 hours',
         decode(md5(g::text), 'hex'),
         ('{"b": ' || g || ', "a": "x' || g || '"}')::json,
         jsonb_build_object('k', g, 'nested', jsonb_build_object('arr', jsonb_build_array(g, 'é', null))),
         ('<r g="' || g || '">v</r>')::xml,
         array[g, g + 1, null], array['a' || g, null, ''], array[jsonb_build_object('g', g)],
         (array['sad', 'ok', 'happy'])[g % 3 + 1]::mood, row(g, 'y' || g)::pair, point(g, -g), box(point(0, 0), point(g, g)),
         md5(g::text)::uuid, to_tsvector('simple', 'word' || g || ' other'), ('10.0.' || (g % 255) || '.1')::inet,
         int4range(g, g + 10), (g % 65536)::bit(16)::varbit
  from generate_series(1, 3000) g;
`;

/** Rows where differences are planted, composite keys, a table without primary key. */
const FIXTURES = `
  create table items (id int primary key, name text, body text, doc jsonb, at timestamptz);
  insert into items
  select g, 'item ' || g, case when g = 40 then repeat('lob-', 30000) else 'body ' || g end,
         jsonb_build_object('price', g * 10, 'tags', jsonb_build_array('a', 'b')),
         '2024-06-01 00:00:00+00'::timestamptz + g * interval '1 hour'
  from generate_series(1, 5000) g;
  update items set name = null where id = 30;

  create table order_lines (order_id int, line text, qty int, primary key (order_id, line));
  insert into order_lines select g / 10, 'L' || (g % 10), g from generate_series(1, 8000) g;

  create table logs (msg text, n int);
  insert into logs select 'log ' || g, g from generate_series(1, 2000) g;

  create table big (id bigint primary key, payload text);
  insert into big select g, md5(g::text) from generate_series(1, 60000) g;

  create table only_source (id int primary key);
  insert into only_source values (1), (2);

  create table dropped_column (id int primary key, keep text, lob text);
  insert into dropped_column select g, 'k' || g, 'lob' || g from generate_series(1, 100) g;

  analyze;
`;

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster(), startPgCluster()]);
  await Promise.all([source.sql(ALL_TYPES + FIXTURES), target.sql(ALL_TYPES + FIXTURES)]);
  // the target's sessions default to another time zone: the comparison must not depend on it
  await target.sql("alter database postgres set timezone to 'America/New_York'; alter database postgres set datestyle to 'SQL, DMY'; alter database postgres set extra_float_digits to 0;");
  await target.sql(`
    drop table only_source;
    alter table dropped_column drop column lob;
  `);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

async function run(tables: string[], options: Partial<VerifyOptions> = {}) {
  return verify({
    source: source.url(),
    target: target.url(),
    mappings: {
      rules: tables.map((t, i) => ({
        'rule-type': 'selection',
        'rule-id': String(i + 1),
        'rule-action': 'include',
        'object-locator': { 'schema-name': 'public', 'table-name': t },
      })),
    },
    ...options,
  });
}

function table(result: { tables: readonly TableVerification[] }, name: string): TableVerification {
  const found = result.tables.find((t) => t.source.table === name);
  if (!found) throw new Error(`no result for ${name}`);
  return found;
}

describe('identical data', () => {
  test('a table with every column type matches, across different session settings', async () => {
    const result = await run(['all_types'], { bucketRows: 500 });
    const t = table(result, 'all_types');
    expect(t).toMatchObject({ status: 'match', method: 'key-ranges', sourceRows: 3000, targetRows: 3000, mismatchedRanges: 0 });
    expect(t.ranges).toBeGreaterThan(1);
    expect(result.ok).toBe(true);
  });

  test('a composite primary key and a table without primary key match', async () => {
    const result = await run(['order_lines', 'logs']);
    expect(table(result, 'order_lines')).toMatchObject({ status: 'match', method: 'key-ranges', sourceRows: 8000 });
    expect(table(result, 'logs')).toMatchObject({ status: 'match', method: 'whole-table', sourceRows: 2000, targetRows: 2000 });
  });

  test('numeric scale and json key order do not count as differences', async () => {
    await source.sql('create table norm (id int primary key, amount numeric, j json); insert into norm values (1, 1.5, \'{"b":1,"a":2}\'), (2, 10, \'[1, 2]\');');
    await target.sql('create table norm (id int primary key, amount numeric(28,6), j jsonb); insert into norm values (1, 1.5, \'{"a":2,"b":1}\'), (2, 10, \'[1,2]\');');
    const result = await run(['norm']);
    expect(table(result, 'norm').status).toBe('match');
    const exact = await run(['norm'], { normalizeNumericScale: false });
    expect(table(exact, 'norm').status).toBe('mismatch');
  });
});

describe('every column type takes part in the checksum', () => {
  const columns = ['t', 'vc', 'vcu', 'ch', 'n', 'nu', 'f8', 'f4', 'i8', 'b', 'money_col', 'ts', 'tstz', 'd', 'tm', 'iv',
    'by', 'j', 'jb', 'x', 'arr', 'tarr', 'jarr', 'm', 'p', 'pt', 'bx', 'u', 'tsv', 'ip', 'r', 'bits'];

  test.each(columns)('a changed %s value is found', async (column) => {
    // copy another row's value into row 1502 on the target, then put it back
    const set = `update all_types set "${column}" = (select "${column}" from all_types where id = 1503) where id = 1502`;
    await target.sql(`create table saved as select * from all_types where id = 1502; ${set};`);
    try {
      const t = table(await run(['all_types']), 'all_types');
      // the differing column is named (compared value by value), and only it
      expect(t.differences).toEqual([{ kind: 'different', key: { id: '1502' }, columns: [column] }]);
    } finally {
      await target.sql(`update all_types a set "${column}" = s."${column}" from saved s where a.id = s.id; drop table saved;`);
    }
  });
});

describe('differences a per-column hash could hide', () => {
  const cases: Array<[string, string, string, string]> = [
    ['values swapped between two rows', 'update tricky set name = case id when 1 then \'b\' else \'a\' end where id in (1, 2)', '1,2', 'name'],
    ['a numeric sign', 'update tricky set amount = -amount where id = 3', '3', 'amount'],
    ['numeric NaN against NULL', 'update tricky set amount = null where id = 4', '4', 'amount'],
    ['bigint values with the same 32-bit fold', 'update tricky set big = 4294967297 where id = 5', '5', 'big'],
    ['float -0 against 0', 'update tricky set f = \'-0\' where id = 7', '7', 'f'],
    ['an interval of 24 hours against 1 day', 'update tricky set iv = \'24 hours\' where id = 8', '8', 'iv'],
    ['a jsonb number sign', 'update tricky set doc = \'{"p": -5}\' where id = 9', '9', 'doc'],
    ['array dimensions', 'update tricky set arr = \'{{1,2},{3,4}}\' where id = 10', '10', 'arr'],
  ];

  beforeAll(async () => {
    const create = `create table tricky (id int primary key, name text, amount numeric, big bigint, at timestamptz, f float8, iv interval, doc jsonb, arr int[]);
      insert into tricky select g, case g when 1 then 'a' when 2 then 'b' else 'n' || g end,
        case g when 4 then 'NaN'::numeric else g * 1.5 end, case g when 5 then 0 else g end,
        '2024-01-01 00:00:00+00'::timestamptz + case g when 6 then interval '0' else g * interval '1 hour' end,
        case g when 7 then 0 else g end, case g when 8 then interval '1 day' else g * interval '1 minute' end,
        case g when 9 then '{"p": 5}'::jsonb else jsonb_build_object('g', g) end,
        case g when 10 then '{1,2,3,4}'::int[] else array[g] end
      from generate_series(1, 20) g;`;
    // the same rows under a composite key, whose rows are hashed by hash_record_extended alone
    const composite = `create table tricky2 as select id, 'k'::text as tag, name, amount, big, at, f, iv, doc, arr from tricky;
      alter table tricky2 add primary key (id, tag);`;
    await Promise.all([source.sql(create + composite), target.sql(create + composite)]);
  });

  test.each(['tricky', 'tricky2'])('the unchanged table %s matches', async (name) => {
    expect(table(await run([name]), name).status).toBe('match');
  });

  const both = cases.flatMap(([name, change, ids, column]) => [
    [name, 'tricky', change, ids, column],
    [name, 'tricky2', change.replace('update tricky', 'update tricky2'), ids, column],
  ]);
  test.each(both)('%s is found in %s', async (_name, name, change, ids, column) => {
    await target.sql(`begin; create table saved_rows as select * from ${name}; ${change}; commit;`);
    try {
      const t = table(await run([name]), name);
      expect(t.differences.map((d) => d.key.id).sort((a, b) => Number(a) - Number(b)).join(',')).toBe(ids);
      expect(t.differences.every((d) => d.kind === 'different')).toBe(true);
      expect(t.differences.map((d) => d.columns)).toEqual(t.differences.map(() => [column]));
    } finally {
      await target.sql(`truncate ${name}; insert into ${name} select * from saved_rows; drop table saved_rows;`);
    }
  });
});

describe('planted differences', () => {
  beforeAll(async () => {
    await target.sql(`
      delete from items where id = 10;
      insert into items values (5001, 'extra', 'body', '{}', now());
      update items set name = 'itex 20' where id = 20;                      -- one character
      update items set name = '' where id = 30;                              -- NULL on the source
      update items set body = left(body, 32768) where id = 40;               -- truncated LOB
      update items set doc = jsonb_set(doc, '{price}', '401') where id = 41; -- changed jsonb value
      update items set at = at + interval '1 microsecond' where id = 60;    -- changed timestamp
      update order_lines set qty = qty + 1 where order_id = 300 and line = 'L5';
      delete from order_lines where order_id = 12 and line = 'L3';
      update logs set msg = 'LOG 7' where n = 7;
      update big set payload = 'changed' where id in (17, 59999);
    `);
  });

  test('each planted difference is found with its key and kind', async () => {
    const result = await run(['items'], { bucketRows: 800, leafRows: 100 });
    const t = table(result, 'items');
    expect(t.status).toBe('mismatch');
    expect(t.sourceRows).toBe(5000);
    expect(t.targetRows).toBe(5000);
    expect(t.differencesTruncated).toBe(false);
    expect([...t.differences].sort((a, b) => Number(a.key.id) - Number(b.key.id))).toEqual([
      { kind: 'missing-in-target', key: { id: '10' } },
      { kind: 'different', key: { id: '20' }, columns: ['name'] },
      { kind: 'different', key: { id: '30' }, columns: ['name'] },
      { kind: 'different', key: { id: '40' }, columns: ['body'] },
      { kind: 'different', key: { id: '41' }, columns: ['doc'] },
      { kind: 'different', key: { id: '60' }, columns: ['at'] },
      { kind: 'extra-in-target', key: { id: '5001' } },
    ]);
    expect(result.ok).toBe(false);
  });

  test('composite keys are reported with every key column', async () => {
    const t = table(await run(['order_lines'], { leafRows: 50, bucketRows: 500 }), 'order_lines');
    expect(t.status).toBe('mismatch');
    expect(t.differences).toEqual(expect.arrayContaining([
      { kind: 'missing-in-target', key: { order_id: '12', line: 'L3' } },
      { kind: 'different', key: { order_id: '300', line: 'L5' }, columns: ['qty'] },
    ]));
    expect(t.differences).toHaveLength(2);
  });

  test('a table without primary key is compared by count and order-independent checksum', async () => {
    const t = table(await run(['logs']), 'logs');
    expect(t).toMatchObject({ status: 'mismatch', method: 'whole-table', sourceRows: 2000, targetRows: 2000, differencesTruncated: true });
  });

  test('a large table bisects to the differing keys with default settings', async () => {
    const t = table(await run(['big']), 'big');
    expect(t.ranges).toBeGreaterThan(10);
    expect(t.mismatchedRanges).toBe(2);
    expect(t.differences).toEqual([
      { kind: 'different', key: { id: '17' }, columns: ['payload'] },
      { kind: 'different', key: { id: '59999' }, columns: ['payload'] },
    ]);
  });

  test('maxDifferences caps the keys listed', async () => {
    const t = table(await run(['items'], { maxDifferences: 3 }), 'items');
    expect(t.differences).toHaveLength(3);
    expect(t.differencesTruncated).toBe(true);
  });

  test('a missing target table and a missing column are reported', async () => {
    const result = await run(['only_source', 'dropped_column']);
    expect(table(result, 'only_source')).toMatchObject({ status: 'missing-target', sourceRows: 2 });
    expect(table(result, 'dropped_column')).toMatchObject({ status: 'mismatch', missingColumns: ['lob'], mismatchedRanges: 0 });
  });

  test('tables run concurrently and each gets its own result', async () => {
    const events: number[] = [];
    const result = await run(['items', 'order_lines', 'logs', 'big', 'all_types'], { concurrency: 3, onProgress: (e) => events.push(e.done) });
    expect(result.tables.map((t) => t.source.table)).toEqual(['all_types', 'big', 'items', 'logs', 'order_lines']);
    expect(result.tables.map((t) => t.status)).toEqual(['match', 'mismatch', 'mismatch', 'mismatch', 'mismatch']);
    expect(events).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('column types', () => {
  beforeAll(async () => {
    await source.sql(`
      create table widened (id int primary key, qty integer, label text);
      create table retexted (id int primary key, qty integer, at timestamptz);
      create table rekeyed (id int primary key, label text);
      create table kept (id int primary key, name varchar(20), amount numeric, m mood, p pair, j json, tags varchar(10)[], c char(3), big bigint);
      create domain positive as int check (value > 0);
      create table domained (id int primary key, n positive);`);
    await target.sql(`
      create table widened (id int primary key, qty bigint, label text);
      create table retexted (id int primary key, qty text, at timestamp);
      create table rekeyed (id bigint primary key, label text);
      create table kept (id int primary key, name varchar(50), amount numeric(28,6), m text, p varchar, j jsonb, tags text[], c text, big bigint);
      create table domained (id int primary key, n int);`);
    const rows = (name: string, values: string) => `insert into ${name} select g, ${values} from generate_series(1, 40) g;`;
    const load = rows('widened', "g * 10, 'l' || g") + rows('retexted', "g * 10, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 day'")
      + rows('rekeyed', "'l' || g") + rows('domained', 'g');
    await source.sql(load + rows('kept', "'n' || g, g / 4.0, 'ok', row(g, 'y')::pair, '{\"a\": 1}', array['t' || g], 'c' || (g % 10), g"));
    await target.sql(load.replace("'2024-01-01 00:00:00+00'::timestamptz", "'2024-01-01 00:00:00'::timestamp")
      + rows('kept', "'n' || g, g / 4.0, 'ok', '(' || g || ',y)', '{\"a\": 1}', array['t' || g], 'c' || (g % 10), g"));
    // a value that differs too: the table is still reported by its type change, not by its rows
    await target.sql('update widened set qty = 7 where id = 3;');
  });

  test('a changed column type is reported with the column and both types, before any row is compared', async () => {
    const result = await run(['widened', 'retexted', 'rekeyed']);
    expect(result.ok).toBe(false);
    expect(table(result, 'widened')).toMatchObject({
      status: 'type-changed',
      method: 'none',
      sourceRows: 40,
      targetRows: 40,
      ranges: 0,
      differences: [],
      typeChanges: [{ column: 'qty', targetColumn: 'qty', sourceType: 'integer', targetType: 'bigint' }],
    });
    expect(table(result, 'retexted').typeChanges).toEqual([
      { column: 'qty', targetColumn: 'qty', sourceType: 'integer', targetType: 'text' },
      { column: 'at', targetColumn: 'at', sourceType: 'timestamp with time zone', targetType: 'timestamp without time zone' },
    ]);
    expect(table(result, 'rekeyed')).toMatchObject({
      status: 'type-changed',
      typeChanges: [{ column: 'id', targetColumn: 'id', sourceType: 'integer', targetType: 'bigint' }],
    });
  });

  test('length, precision and scale, domains, string types among each other, json and jsonb, and enums or composites as strings are no type change', async () => {
    const result = await run(['kept', 'domained']);
    expect(result.tables.map((t) => [t.source.table, t.status, t.typeChanges])).toEqual([
      ['domained', 'match', []],
      ['kept', 'match', []],
    ]);
  });

  test('the type change names the mapped column on the target', async () => {
    await source.sql('create table renamed_col (id int primary key, "Qty" integer); insert into renamed_col values (1, 1);');
    await target.sql('create table renamed_col (id int primary key, qty numeric); insert into renamed_col values (1, 1);');
    const result = await verify({
      source: source.url(),
      target: target.url(),
      mappings: {
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'public', 'table-name': 'renamed_col' } },
          { 'rule-type': 'transformation', 'rule-id': '2', 'rule-action': 'convert-lowercase', 'rule-target': 'column', 'object-locator': { 'schema-name': '%', 'table-name': '%', 'column-name': '%' } },
        ],
      },
    });
    expect(result.tables[0].typeChanges).toEqual([{ column: 'Qty', targetColumn: 'qty', sourceType: 'integer', targetType: 'numeric' }]);
  });
});

describe('selection', () => {
  test('a selection that matches no table fails with NO_TABLES_SELECTED, naming the selection', async () => {
    const result = await verify({
      source: source.url(),
      target: target.url(),
      mappings: {
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'Public', 'table-name': '%' } },
          { 'rule-type': 'selection', 'rule-id': '2', 'rule-action': 'include', 'object-locator': { 'schema-name': 'public', 'table-name': 'v%', 'table-type': 'view' } },
        ],
      },
    });
    expect(result).toMatchObject({ ok: false, tables: [] });
    expect(result.findings).toEqual([{
      code: 'NO_TABLES_SELECTED',
      message: 'The selection rules match no table on the source (include Public.%, include public.v% (view)). '
        + 'Check the schema and table names: they are case-sensitive; % matches any run of characters, _ any one character, [_] an underscore.',
    }]);
  });

  test('a selection that matches tables has no finding', async () => {
    const result = await run(['domained']);
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
  });
});

describe('connections', () => {
  test('a database that cannot be reached is named: source or target', async () => {
    const down = 'postgresql://postgres@127.0.0.1:1/postgres';
    await expect(verify({ source: down, target: target.url() })).rejects.toMatchObject({
      name: 'ConnectionFailedError', side: 'source', message: 'cannot connect to the source database: connect ECONNREFUSED 127.0.0.1:1',
    });
    await expect(verify({ source: source.url(), target: down })).rejects.toMatchObject({
      name: 'ConnectionFailedError', side: 'target', message: 'cannot connect to the target database: connect ECONNREFUSED 127.0.0.1:1',
    });
    await expect(verify({ source: source.url(), target: target.url('missing_db') })).rejects.toMatchObject({
      side: 'target', message: 'cannot connect to the target database: database "missing_db" does not exist',
    });
  });
});

describe('table mapping', () => {
  beforeAll(async () => {
    await source.sql(`create schema sales; create table sales."Customers" (id int primary key, "Name" text);
      insert into sales."Customers" select g, 'c' || g from generate_series(1, 50) g;`);
    await target.sql(`create schema crm; create table crm.customers (id int primary key, name text);
      insert into crm.customers select g, 'c' || g from generate_series(1, 50) g;`);
  });

  test('transformation rules give the target names', async () => {
    const result = await verify({
      source: source.url(),
      target: target.url(),
      mappings: {
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'sales', 'table-name': '%' } },
          { 'rule-type': 'transformation', 'rule-id': '2', 'rule-action': 'rename', 'rule-target': 'schema', 'object-locator': { 'schema-name': 'sales' }, 'value': 'crm' },
          { 'rule-type': 'transformation', 'rule-id': '3', 'rule-action': 'convert-lowercase', 'rule-target': 'table', 'object-locator': { 'schema-name': 'sales', 'table-name': '%' } },
          { 'rule-type': 'transformation', 'rule-id': '4', 'rule-action': 'convert-lowercase', 'rule-target': 'column', 'object-locator': { 'schema-name': '%', 'table-name': '%', 'column-name': '%' } },
        ],
      },
    });
    expect(result.tables).toHaveLength(1);
    expect(result.tables[0]).toMatchObject({
      source: { schema: 'sales', table: 'Customers' },
      target: { schema: 'crm', table: 'customers' },
      status: 'match',
      sourceRows: 50,
    });
  });

  test('without the rules the target table is missing', async () => {
    const result = await verify({
      source: source.url(),
      target: target.url(),
      mappings: { rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': 'sales', 'table-name': '%' } }] },
    });
    expect(result.tables[0].status).toBe('missing-target');
  });
});

describe('options', () => {
  test('invalid numbers are rejected', async () => {
    await expect(run(['items'], { concurrency: 0 })).rejects.toThrow(/concurrency must be a positive integer, got 0/);
    await expect(run(['items'], { leafRows: 1.5 })).rejects.toThrow(/leafRows must be a positive integer, got 1.5/);
  });

  test('a table that cannot be read is an error result, not a crash', async () => {
    await source.sql('create table locked (id int primary key); create role nobody login; grant select on items to nobody;');
    const result = await verify({
      source: source.url().replace('postgres@', 'nobody@'),
      target: target.url(),
      mappings: { rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': 'public', 'table-name': 'locked' } }] },
    });
    expect(result.tables[0].status).toBe('error');
    expect(result.tables[0].error).toMatch(/permission denied/);
    expect(result.ok).toBe(false);
  });
});

describe('pickBoundaries', () => {
  test('spreads boundaries evenly and never uses the smallest value', () => {
    expect(pickBoundaries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 4)).toEqual(['c', 'e', 'g']);
    expect(pickBoundaries(['a', 'b'], 8)).toEqual(['b']);
    expect(pickBoundaries(['a'], 8)).toEqual([]);
    expect(pickBoundaries(['a', 'b', 'c'], 1)).toEqual([]);
  });
});
