import { exclude, include, libpq, mappings, step } from './helpers';
import { openSession, Session } from '../../lib/fidelity/connection';
import { defaultMappings, displayName, MappingRule, resolveTables, TableMappings, validateMappings } from '../../lib/fidelity/selection';
import { schemaCopyEnvironment } from '../../lib/schema/steps';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

let cluster: PgCluster;
let session: Session;

beforeAll(async () => {
  cluster = await startPgCluster({ walLevel: 'replica' });
  await cluster.sql(`
    create schema app; create schema "Mixed Case"; create schema "we.ird$(x)"; create schema sales; create schema sales2;
    create schema "a\\b"; create schema "quo""te";
    create table app.orders (id int primary key); create table app."Orders" (id int primary key);
    create table app.order_items (id int); create table app.tmp_x (id int); create table app.tmpx (id int);
    create view app.v_orders as select * from app.orders; create materialized view app.mv as select * from app.orders;
    create table app.parted (id int) partition by range (id);
    create table app.parted_1 partition of app.parted for values from (0) to (10);
    create table "Mixed Case"."T 1" (id int); create table "Mixed Case".lower (id int);
    create table "we.ird$(x)"."a*b?" (id int); create table "we.ird$(x)".ab (id int); create table "we.ird$(x)"."a.b" (id int);
    create table sales.q1 (id int); create table sales.q2 (id int); create table sales2.q1 (id int);
    create table "a\\b"."c.d" (id int); create table "quo""te"."x""y" (id int);
    create table app.t_1 (id int); create table app.tx1 (id int); create table app.t__1 (id int);`);
  session = await openSession(cluster.url(), 'schema selection test');
});

afterAll(async () => {
  await session?.close();
  await cluster?.stop();
});

/** The tables the script selects (plan step), by `schema.table`. */
async function scriptSelection(m: TableMappings): Promise<{ tables: string[]; error?: string }> {
  const r = await step('plan', schemaCopyEnvironment({ source: libpq(cluster), mappings: m }));
  return {
    tables: r.lines.filter((l) => l.startsWith('plan: table ')).map((l) => l.slice('plan: table '.length)).sort(),
    ...(r.error ? { error: r.error.detail } : {}),
  };
}

/** The tables lib/fidelity/selection.ts selects: tables and partitioned tables (the script refuses views). */
async function librarySelection(m: TableMappings): Promise<string[]> {
  return (await resolveTables(session, m)).filter((t) => t.kind === 'r' || t.kind === 'p').map((t) => displayName(t.source)).sort();
}

const typed = (schema: string, table: string, type: string): MappingRule =>
  include(schema, table, { 'object-locator': { 'schema-name': schema, 'table-name': table, 'table-type': type } });

describe('the script selects the tables selection.ts selects', () => {
  const cases: Record<string, TableMappings> = {
    'every schema': defaultMappings(),
    'some schemas': defaultMappings(['app', 'sales']),
    'include and exclude, exclude first': mappings(exclude('app', 'tmp%'), include('app', '%')),
    'a wildcard schema': mappings(include('%', 'q1')),
    'a prefix': mappings(include('app', 'order%')),
    'a suffix and an inner wildcard': mappings(include('%', '%s'), include('sales%', 'q%')),
    'mixed case and spaces': mappings(include('Mixed Case', '%')),
    'case-sensitive names': mappings(include('app', 'Orders')),
    'regular-expression characters taken literally': mappings(include('we.ird$(x)', 'a*b?'), include('we.ird$(x)', 'a.b')),
    'backslashes and quotes': mappings(include('a\\b', 'c.d'), include('quo"te', 'x"y')),
    'explicit': mappings({ ...include('app', 'orders'), 'rule-action': 'explicit' }, include('sales', 'q2')),
    'everything but some schemas': mappings(include('%', '%'), exclude('sales%', '%'), exclude('app', '%')),
    'a partitioned table by its root': mappings(include('app', 'parted%')),
    'table-type table, the default, leaves views out': mappings(typed('app', '%', 'table')),
    // where selection.ts used to take everything but % literally: DMS's wildcards
    '_ matches one character': mappings(include('app', 't_1')),
    '_ in a schema name': mappings(include('sale_', '%')),
    '[_] is a literal underscore': mappings(include('app', 't[_]%')),
    '[ab] a set of characters': mappings(include('app', 't[xy]1')),
    '[a-d] a range of characters': mappings(include('app', 't[a-x]%')),
    'an exclude with _': mappings(include('app', '%'), exclude('app', 'tmp_%')),
    'an unclosed [ taken literally': mappings(include('app', '%[x'), include('sales', 'q%')),
    'transformation and other rules are ignored by the selection': mappings(include('sales', '%'), {
      'rule-type': 'transformation', 'rule-target': 'table', 'rule-action': 'define-primary-key', 'object-locator': { 'schema-name': 'sales', 'table-name': 'q1' },
    }),
  };

  test.each(Object.entries(cases))('%s', async (_name, m) => {
    const [script, library] = await Promise.all([scriptSelection(m), librarySelection(m)]);
    expect(script.error).toBeUndefined();
    expect(library.length).toBeGreaterThan(0);
    expect(script.tables).toEqual(library);
  });

  test('a selection matching nothing: neither selects a table', async () => {
    const m = mappings(include('nowhere', '%'), exclude('app', '%'));
    expect(await librarySelection(m)).toEqual([]);
    expect((await scriptSelection(m)).error).toMatch(/^the selection rules match no table on the source/);
  });

  test('views selected with table-type view or all are the ones selection.ts selects, and the script refuses them', async () => {
    for (const type of ['view', 'all']) {
      const m = mappings(typed('app', '%', type));
      const views = (await resolveTables(session, m)).filter((t) => t.kind === 'v' || t.kind === 'm').map((t) => displayName(t.source));
      expect(views).toEqual(['app.mv', 'app.v_orders']);
      const r = await scriptSelection(m);
      expect(r.error).toMatch(new RegExp(`Selected: ${views.join(', ').replace(/\./g, '\\.')}$`));
    }
  });
});

describe('DMS wildcards', () => {
  // docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Wildcards.html
  test.each([
    ['t_1', ['app.t_1', 'app.tx1']],
    ['t[_]1', ['app.t_1']],
    ['t[_][_]1', ['app.t__1']],
    ['t__1', ['app.t__1']],
    ['t[xy]1', ['app.tx1']],
    ['t[a-x]%', ['app.tmp_x', 'app.tmpx', 'app.tx1']],
    ['tmp_x', ['app.tmp_x']],
    ['tmp_%', ['app.tmp_x', 'app.tmpx']],
    ['order_', ['app.orders']],
  ])('app.%s: the script and selection.ts select %j', async (pattern, expected) => {
    const m = mappings(include('app', pattern));
    expect((await scriptSelection(m)).tables).toEqual(expected);
    expect(await librarySelection(m)).toEqual(expected);
  });

  test('schema names too', async () => {
    const m = mappings(include('sale_', '%'));
    expect((await scriptSelection(m)).tables).toEqual(['sales.q1', 'sales.q2']);
    expect(await librarySelection(m)).toEqual(['sales.q1', 'sales.q2']);
  });
});

describe('malformed mappings', () => {
  const rules: Record<string, MappingRule> = {
    'an unknown rule-action': include('a', 'b', { 'rule-action': 'keep', 'rule-name': 'r7' }),
    'a missing table-name': { 'rule-type': 'selection', 'rule-action': 'include', 'rule-name': 'r8', 'object-locator': { 'schema-name': 'a' } },
    'an explicit rule with a wildcard': include('a', 'b%', { 'rule-action': 'explicit', 'rule-id': '9' }),
    'an unknown table-type': include('a', 'b', { 'object-locator': { 'schema-name': 'a', 'table-name': 'b', 'table-type': 'index' }, 'rule-name': 'r10' }),
  };

  test.each(Object.entries(rules))('%s: the message of selection.ts, naming the rule', async (_name, rule) => {
    const m: TableMappings = { rules: [rule] };
    let expected = '';
    try {
      validateMappings(m);
    } catch (e) {
      expected = (e as Error).message;
    }
    expect(expected).not.toBe('');
    const error = (await scriptSelection(m)).error;
    // selection.ts names the rule in all but the table-type message
    expect(error).toBe(expected.startsWith('rule ') ? expected : `rule r10: ${expected}`);
  });

  test('no rules array', async () => {
    expect((await scriptSelection({ rule: [] } as unknown as TableMappings)).error).toBe('table mappings must be an object with a "rules" array');
  });

  test('every problem is listed, one per line', async () => {
    const r = await scriptSelection({ rules: [rules['an unknown rule-action'], rules['an unknown table-type']] });
    expect(r.error).toBe('rule r7: selection rule-action must be include, exclude or explicit, got "keep"\n'
      + '  rule r10: object-locator table-type must be table, view or all, got "index"');
  });

  test('the mapping may come as a JSON string, as in a CloudFormation TableMappings property', async () => {
    const m = mappings(include('sales', '%'));
    const r = await step('plan', { ...schemaCopyEnvironment({ source: libpq(cluster), mappings: m }), TABLE_MAPPINGS: JSON.stringify(JSON.stringify(m)) });
    expect(r.lines.filter((l) => l.startsWith('plan: table '))).toEqual(['plan: table sales.q1', 'plan: table sales.q2']);
  });

  test.each([
    ['rename', 'schema', { 'schema-name': 'app' }],
    ['remove-column', 'table', { 'schema-name': 'app', 'table-name': 'orders' }],
    ['add-column', 'column', { 'schema-name': 'app', 'table-name': 'orders' }],
    ['convert-lowercase', 'table', { 'schema-name': '%', 'table-name': '%' }],
    ['add-prefix', 'table', { 'schema-name': 'app', 'table-name': '%' }],
    ['replace-suffix', 'schema', { 'schema-name': 'app' }],
    ['change-data-type', 'column', { 'schema-name': 'app', 'table-name': 'orders', 'column-name': 'id' }],
    ['add-before-image-columns', 'column', { 'schema-name': 'app', 'table-name': 'orders' }],
  ])('a transformation rule (%s) is refused', async (action, target, locator) => {
    const m = mappings(include('app', '%'), { 'rule-type': 'transformation', 'rule-target': target, 'rule-action': action, 'object-locator': locator, 'value': 'x' });
    const r = await scriptSelection(m);
    expect(r.error).toMatch(new RegExp(`^rule 2 \\(${action} on ${target} \\{`));
    expect(r.error).toMatch(/makes DMS write to other names, other types or other columns/);
  });

  test('a remove-column rule is taken for stored generated columns only', async () => {
    const remove = (column: string): MappingRule => ({
      'rule-type': 'transformation',
      'rule-target': 'column',
      'rule-action': 'remove-column',
      'object-locator': { 'schema-name': 'app', 'table-name': 'orders', 'column-name': column },
    });
    expect((await scriptSelection(mappings(include('app', '%'), remove('id')))).error).toMatch(
      /^rule 2 \(remove-column on column \{.*\}\): it matches app\.orders\.id, which is not a stored generated column: /);
    // one matching no column of the selected tables is no harm
    expect((await scriptSelection(mappings(include('app', '%'), remove('nothing')))).error).toBeUndefined();
    expect((await scriptSelection(mappings(include('app', '%'), { ...remove('id'), 'object-locator': { 'schema-name': 'app', 'table-name': 'orders' } }))).error)
      .toBe('rule 2: remove-column rules need object-locator.schema-name, object-locator.table-name and object-locator.column-name');
  });
});
