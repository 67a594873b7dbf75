import { ConversionSourceEngine, deriveSelection, matches } from '../../lib/conversion/selection';
import { ColumnType, TableMappings, TableType, TransformationTarget } from '../../lib/task';

const lowercase = (m: TableMappings) => m.convertLowercase(TransformationTarget.TABLE).convertLowercase(TransformationTarget.COLUMN);

describe('DMS Schema Conversion selection rules from the task\'s table mappings', () => {
  test('MySQL: include, explicit and exclude rules locate tables by schema and table name; each selected schema once', () => {
    const mappings = lowercase(new TableMappings()
      .include('shop', '%')
      .explicit('billing', 'invoices')
      .exclude('shop', 'tmp_%'));
    const selection = deriveSelection(mappings.rules, ConversionSourceEngine.MYSQL);
    expect(selection.errors).toEqual([]);
    expect(selection.rules).toEqual([
      { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'include-1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } },
      { 'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'explicit-2', 'rule-action': 'explicit', 'object-locator': { 'schema-name': 'billing', 'table-name': 'invoices' } },
      { 'rule-type': 'selection', 'rule-id': '3', 'rule-name': 'exclude-3', 'rule-action': 'exclude', 'object-locator': { 'schema-name': 'shop', 'table-name': 'tmp_%' } },
    ]);
    expect(selection.schemas).toEqual([{ source: 'shop', target: 'shop' }, { source: 'billing', target: 'billing' }]);
    expect(selection.warnings).toEqual([]);
  });

  test('SQL Server: objects are located in the endpoint\'s database', () => {
    const selection = deriveSelection(lowercase(TableMappings.includeSchema('dbo')).rules, ConversionSourceEngine.SQL_SERVER, 'Sales');
    expect(selection.rules[0]['object-locator']).toEqual({ 'database-name': 'Sales', 'schema-name': 'dbo', 'table-name': '%' });
    expect(deriveSelection(TableMappings.includeSchema('dbo').rules, ConversionSourceEngine.SQL_SERVER).errors)
      .toEqual([expect.stringMatching(/needs its database name/)]);
  });

  test('the schema the task writes to: a schema rename or a lowercase conversion, the lowest rule id deciding', () => {
    const renamed = lowercase(TableMappings.includeSchema('dbo').renameSchema('dbo', 'sales_dbo'));
    expect(deriveSelection(renamed.rules, ConversionSourceEngine.SQL_SERVER, 'Sales').schemas).toEqual([{ source: 'dbo', target: 'sales_dbo' }]);
    const oracle = lowercase(TableMappings.includeSchema('HR').convertLowercase(TransformationTarget.SCHEMA));
    expect(deriveSelection(oracle.rules, ConversionSourceEngine.ORACLE).schemas).toEqual([{ source: 'HR', target: 'hr' }]);
  });

  test('Oracle names are upper case: without lowercase conversions of tables and columns the load would miss the converted tables', () => {
    const errors = deriveSelection(TableMappings.includeSchema('HR').rules, ConversionSourceEngine.ORACLE).errors;
    expect(errors).toEqual([expect.stringMatching(/Oracle names are upper case.*Add convertLowercase\(TransformationTarget.TABLE\) and convertLowercase\(TransformationTarget.COLUMN\)/)]);
    // MySQL names are usually lower case already: a warning
    const mysql = deriveSelection(TableMappings.includeSchema('shop').convertLowercase(TransformationTarget.TABLE).rules, ConversionSourceEngine.MYSQL);
    expect(mysql.errors).toEqual([]);
    expect(mysql.warnings).toEqual([expect.stringMatching(/Add convertLowercase\(TransformationTarget.COLUMN\)/)]);
  });

  test.each<[string, TableMappings, RegExp]>([
    ['schemas selected by a pattern (the assessment report takes explicit rules)', new TableMappings().include('shop%'),
      /selects the schemas 'shop%' by a pattern.*explicit rules only/],
    ['views selected as tables', new TableMappings().include('shop', '%', TableType.ALL, { ruleName: 'everything' }),
      /the selection rule 'everything' selects table-type 'all'/],
    ['a table rename', TableMappings.includeSchema('shop').renameTable('shop', 'orders', 'purchases', { ruleName: 'purchases' }),
      /the transformation rule 'purchases' \(rename on table\).*Only schema renames and convertLowercase rules are followed/],
    ['a column added by DMS', TableMappings.includeSchema('shop').addColumn('shop', '%', 'loaded_at', 'datetime()', { type: ColumnType.DATETIME }),
      /\(add-column on column\)/],
    ['a removed column', TableMappings.includeSchema('shop').removeColumn('shop', 'orders', 'notes'), /\(remove-column on column\)/],
    ['a schema rename by pattern', TableMappings.includeSchema('shop').renameSchema('sh%', 'x'), /renames the schemas matching a pattern/],
  ])('refused: %s', (_name, mappings, message) => {
    expect(deriveSelection(lowercase(mappings).rules, ConversionSourceEngine.MYSQL).errors.join('\n')).toMatch(message);
  });

  test('excluded views need no conversion rule; exclude rules may use schema patterns', () => {
    const mappings = lowercase(TableMappings.includeSchema('shop').exclude('shop', 'v_%', TableType.VIEW).exclude('%', 'audit_%'));
    const selection = deriveSelection(mappings.rules, ConversionSourceEngine.MYSQL);
    expect(selection.errors).toEqual([]);
    expect(selection.rules.map(r => r['object-locator'])).toEqual([
      { 'schema-name': 'shop', 'table-name': '%' },
      { 'schema-name': '%', 'table-name': 'audit_%' },
    ]);
  });

  test('DMS patterns: % any characters, _ one character, everything else literally', () => {
    expect(matches('shop_eu', 'shop_%')).toBe(true);
    expect(matches('shopXeu', 'shop_eu')).toBe(true);
    expect(matches('shop.eu', 'shop%')).toBe(true);
    expect(matches('shopping', 'shop.ing')).toBe(false);
  });
});
