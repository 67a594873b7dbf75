import { startPgCluster, PgCluster } from './pg-cluster';
import { ColumnInfo } from '../../lib/fidelity/catalog';
import { openSession, Session } from '../../lib/fidelity/connection';
import { isLobColumn, unsupportedReason, convertedType } from '../../lib/fidelity/dms-types';
import { mapPool } from '../../lib/fidelity/pool';
import {
  defaultMappings, isSelected, matchesPattern, MappingRule, NameMapper, resolveTables, TableMappings, validateMappings,
} from '../../lib/fidelity/selection';

const include = (schema: string, table: string, extra: Partial<MappingRule> = {}): MappingRule => ({
  'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': schema, 'table-name': table }, ...extra,
});

describe('patterns', () => {
  // DMS user guide, "Wildcards in table mapping"
  test('% matches any run of characters, _ exactly one; everything else is literal and case-sensitive', () => {
    expect(matchesPattern('%', 'anything')).toBe(true);
    expect(matchesPattern('order%', 'orders_2024')).toBe(true);
    expect(matchesPattern('%_log', 'audit_log')).toBe(true);
    // _ is any one character ("t" here), not only an underscore
    expect(matchesPattern('%_log', 'auditlog')).toBe(true);
    expect(matchesPattern('%_log', 'log')).toBe(false);
    expect(matchesPattern('t_1', 'tx1')).toBe(true);
    expect(matchesPattern('t_1', 't1')).toBe(false);
    expect(matchesPattern('t_1', 't__1')).toBe(false);
    expect(matchesPattern('a.c', 'abc')).toBe(false);
    expect(matchesPattern('a.c', 'a.c')).toBe(true);
    expect(matchesPattern('a*b?(x)$', 'a*b?(x)$')).toBe(true);
    expect(matchesPattern('Orders', 'orders')).toBe(false);
    expect(matchesPattern('o%s', 'o\nrders')).toBe(true);
    expect(matchesPattern('o_s', 'o\ns')).toBe(true);
  });

  test('[_] is a literal underscore, [ab] a set and [a-d] a range of characters', () => {
    expect(matchesPattern('%[_]log', 'audit_log')).toBe(true);
    expect(matchesPattern('%[_]log', 'auditlog')).toBe(false);
    expect(matchesPattern('t[_]1', 'tx1')).toBe(false);
    expect(matchesPattern('t[xy]1', 'ty1')).toBe(true);
    expect(matchesPattern('t[xy]1', 'tz1')).toBe(false);
    expect(matchesPattern('q[1-3]', 'q2')).toBe(true);
    expect(matchesPattern('q[1-3]', 'q4')).toBe(false);
    expect(matchesPattern('[[]x]', '[x]')).toBe(true);
    expect(matchesPattern('a\\[b]', 'a\\b')).toBe(true);
    // a [ that no ] closes, and [], are literal
    expect(matchesPattern('a[b', 'a[b')).toBe(true);
    expect(matchesPattern('a[]', 'a[]')).toBe(true);
    expect(() => matchesPattern('q[3-1]', 'q2')).toThrow('the pattern "q[3-1]" has an invalid set or range of characters');
  });
});

describe('selection rules', () => {
  test('exclude wins over include whatever the order', () => {
    const m: TableMappings = {
      rules: [
        { 'rule-type': 'selection', 'rule-action': 'exclude', 'object-locator': { 'schema-name': 'public', 'table-name': 'tmp%' } },
        include('public', '%'),
      ],
    };
    expect(isSelected(m, { schema: 'public', table: 'orders' })).toBe(true);
    expect(isSelected(m, { schema: 'public', table: 'tmp_x' })).toBe(false);
    expect(isSelected(m, { schema: 'other', table: 'orders' })).toBe(false);
    // _ in a pattern is any one character
    const underscore: TableMappings = { rules: [include('public', '%'), { ...include('public', 'tmp_%'), 'rule-action': 'exclude' }] };
    expect(isSelected(underscore, { schema: 'public', table: 'tmpx' })).toBe(false);
    expect(isSelected(underscore, { schema: 'public', table: 'tmp' })).toBe(true);
  });

  test('explicit selects one exact table; views need table-type view or all', () => {
    const m: TableMappings = {
      rules: [
        { 'rule-type': 'selection', 'rule-action': 'explicit', 'object-locator': { 'schema-name': 'hr', 'table-name': 'staff' } },
        include('public', 'v%', { 'object-locator': { 'schema-name': 'public', 'table-name': 'v%', 'table-type': 'all' } }),
      ],
    };
    expect(isSelected(m, { schema: 'hr', table: 'staff' })).toBe(true);
    expect(isSelected(m, { schema: 'hr', table: 'staff2' })).toBe(false);
    expect(isSelected(m, { schema: 'public', table: 'vw' }, 'v')).toBe(true);
    expect(isSelected({ rules: [include('public', '%')] }, { schema: 'public', table: 'vw' }, 'v')).toBe(false);
  });

  test('malformed rules are rejected with the rule named', () => {
    expect(() => validateMappings({} as TableMappings)).toThrow(/table mappings must be an object with a "rules" array/);
    expect(() => validateMappings({ rules: [include('a', 'b', { 'rule-action': 'keep', 'rule-name': 'r7' })] }))
      .toThrow(/rule r7: selection rule-action must be include, exclude or explicit, got "keep"/);
    expect(() => validateMappings({ rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': 'a' } }] }))
      .toThrow(/selection rules need object-locator.schema-name and object-locator.table-name/);
    expect(() => validateMappings({ rules: [include('a', 'b%', { 'rule-action': 'explicit' })] }))
      .toThrow(/explicit selection rules take exact names, not % wildcards/);
    expect(() => validateMappings({ rules: [include('a', 'b', { 'object-locator': { 'schema-name': 'a', 'table-name': 'b', 'table-type': 'index' } })] }))
      .toThrow(/table-type must be table, view or all, got "index"/);
  });

  test('the default mapping selects the given schemas, or all', () => {
    expect(isSelected(defaultMappings(['app']), { schema: 'app', table: 't' })).toBe(true);
    expect(isSelected(defaultMappings(['app']), { schema: 'public', table: 't' })).toBe(false);
    expect(isSelected(defaultMappings(), { schema: 'public', table: 't' })).toBe(true);
  });
});

describe('transformation rules', () => {
  const rule = (target: string, action: string, locator: Record<string, string>, extra: Partial<MappingRule> = {}): MappingRule => ({
    'rule-type': 'transformation', 'rule-target': target, 'rule-action': action, 'object-locator': locator, ...extra,
  });

  test('rename, convert-lowercase and prefixes map source names to target names', () => {
    const mapper = new NameMapper({
      rules: [
        include('%', '%'),
        rule('schema', 'rename', { 'schema-name': 'Sales' }, { 'value': 'sales_v2', 'rule-id': '2' }),
        rule('table', 'convert-lowercase', { 'schema-name': '%', 'table-name': '%' }, { 'rule-id': '3' }),
        rule('table', 'add-prefix', { 'schema-name': 'hr', 'table-name': '%' }, { 'value': 'hr_', 'rule-id': '1' }),
        rule('schema', 'replace-prefix', { 'schema-name': 'legacy_%' }, { 'old-value': 'legacy_', 'value': 'new_', 'rule-id': '4' }),
        rule('column', 'remove-column', { 'schema-name': '%', 'table-name': 'Orders', 'column-name': 'secret' }, { 'rule-id': '5' }),
        rule('column', 'rename', { 'schema-name': '%', 'table-name': 'Orders', 'column-name': 'Total' }, { 'value': 'total_amount', 'rule-id': '6' }),
      ],
    });
    expect(mapper.table({ schema: 'Sales', table: 'Orders' })).toEqual({ schema: 'sales_v2', table: 'orders' });
    // rule-id 1 (add-prefix) wins over rule-id 3 (convert-lowercase) for the same table
    expect(mapper.table({ schema: 'hr', table: 'Staff' })).toEqual({ schema: 'hr', table: 'hr_Staff' });
    expect(mapper.table({ schema: 'legacy_crm', table: 'x' })).toEqual({ schema: 'new_crm', table: 'x' });
    expect(mapper.column({ schema: 'Sales', table: 'Orders' }, 'secret')).toBeUndefined();
    expect(mapper.column({ schema: 'Sales', table: 'Orders' }, 'Total')).toBe('total_amount');
    expect(mapper.column({ schema: 'Sales', table: 'Orders' }, 'Other')).toBe('Other');
  });

  test('suffix actions and convert-uppercase', () => {
    const mapper = new NameMapper({
      rules: [
        rule('table', 'remove-suffix', { 'schema-name': '%', 'table-name': '%_old' }, { value: '_old' }),
        rule('schema', 'convert-uppercase', { 'schema-name': 'abc' }),
        rule('table', 'replace-suffix', { 'schema-name': '%', 'table-name': '%_v1' }, { 'old-value': '_v1', 'value': '_v2' }),
      ],
    });
    expect(mapper.table({ schema: 'abc', table: 'users_old' })).toEqual({ schema: 'ABC', table: 'users' });
    expect(mapper.table({ schema: 'x', table: 'users_v1' })).toEqual({ schema: 'x', table: 'users_v2' });
  });
});

describe('resolving tables on a server', () => {
  let cluster: PgCluster;
  let session: Session;
  beforeAll(async () => {
    cluster = await startPgCluster({ walLevel: 'replica' });
    await cluster.sql(`
      create schema app; create schema "Mixed";
      create table app.orders (id int primary key); create table app."Orders" (id int primary key);
      create table app.tmp_x (id int); create view app.v_orders as select * from app.orders;
      create table "Mixed"."T" (id int);
      create table app.parted (id int) partition by range (id);
      create table app.parted_1 partition of app.parted for values from (0) to (10);
    `);
    session = await openSession(cluster.url(), 'test');
  });
  afterAll(async () => {
    await session?.close();
    await cluster?.stop();
  });

  test('names are case-sensitive; views and partitions are left out by default; exclude wins', async () => {
    const tables = await resolveTables(session, {
      rules: [include('app', '%'), include('Mixed', '%'), { 'rule-type': 'selection', 'rule-action': 'exclude', 'object-locator': { 'schema-name': 'app', 'table-name': 'tmp%' } }],
    });
    expect(tables.map((t) => `${t.source.schema}.${t.source.table}`)).toEqual(['Mixed.T', 'app.Orders', 'app.orders', 'app.parted']);
  });

  test('table-type view selects views', async () => {
    const tables = await resolveTables(session, {
      rules: [include('app', 'v%', { 'object-locator': { 'schema-name': 'app', 'table-name': 'v%', 'table-type': 'view' } })],
    });
    expect(tables.map((t) => t.source.table)).toEqual(['v_orders']);
  });
});

describe('DMS type classification', () => {
  const col = (over: Partial<ColumnInfo>): ColumnInfo => ({
    name: 'c',
    type: 'x',
    castType: 'x',
    typname: 'x',
    typtype: 'b',
    typcategory: 'S',
    typschema: 'pg_catalog',
    typmod: -1,
    collatable: false,
    notNull: false,
    hasDefault: false,
    ...over,
  });

  test('LOB types', () => {
    for (const typname of ['text', 'bytea', 'json', 'jsonb', 'xml', 'hstore', 'tsvector', 'tsquery']) {
      expect(isLobColumn(col({ typname }))).toBe(true);
    }
    expect(isLobColumn(col({ typname: '_int4', typcategory: 'A' }))).toBe(true);
    expect(isLobColumn(col({ typname: 'pair', typtype: 'c', typcategory: 'C' }))).toBe(true);
    expect(isLobColumn(col({ typname: 'point', typcategory: 'G' }))).toBe(true);
    expect(isLobColumn(col({ typname: 'varchar', typmod: -1 }))).toBe(true);
    expect(isLobColumn(col({ typname: 'varchar', typmod: 54 }))).toBe(false);
    expect(isLobColumn(col({ typname: 'int4', typcategory: 'N' }))).toBe(false);
  });

  test('unsupported and converted types', () => {
    expect(unsupportedReason(col({ typname: 'tinterval', type: 'tinterval' }))).toBe('type tinterval is not supported by AWS DMS');
    expect(unsupportedReason(col({ typname: 'int4' }))).toBeUndefined();
    expect(convertedType(col({ typtype: 'e' }))).toMatch(/character string/);
    expect(convertedType(col({ typname: 'numeric', typmod: -1 }))).toBe('numeric(28,6)');
    expect(convertedType(col({ typname: 'numeric', typmod: 655366 }))).toBeUndefined();
  });
});

describe('mapPool', () => {
  test('keeps order, bounds concurrency and uses slots', async () => {
    let inFlight = 0;
    let peak = 0;
    const slots = new Set<number>();
    const out = await mapPool([5, 1, 4, 2, 3, 0], 2, async (n, slot) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      slots.add(slot);
      await new Promise((r) => setTimeout(r, n * 3));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
    expect([...slots].sort()).toEqual([0, 1]);
    await expect(mapPool([1], 0, async () => 1)).rejects.toThrow(/concurrency must be a positive integer, got 0/);
  });
});
