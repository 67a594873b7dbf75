import { ColumnType, TableMappings, TableType, TransformationTarget } from '../../lib/task';

function parse(mappings: TableMappings): unknown {
  return JSON.parse(mappings.toJson());
}

describe('TableMappings', () => {
  test('includeSchema renders the Neon guide selection rule', () => {
    expect(parse(TableMappings.includeSchema('dms_sample'))).toEqual({
      rules: [
        {
          'rule-type': 'selection',
          'rule-id': '1',
          'rule-name': 'include-1',
          'object-locator': { 'schema-name': 'dms_sample', 'table-name': '%' },
          'rule-action': 'include',
        },
      ],
    });
  });

  test('renders keys in the DMS documentation order, deterministically', () => {
    const build = () => new TableMappings().include('a', 'b', TableType.ALL).renameTable('a', 'b', 'c');
    const json = build().toJson();
    expect(json).toBe(build().toJson());
    expect(json).toBe('{"rules":[' +
      '{"rule-type":"selection","rule-id":"1","rule-name":"include-1","object-locator":{"schema-name":"a","table-name":"b","table-type":"all"},"rule-action":"include"},' +
      '{"rule-type":"transformation","rule-id":"2","rule-name":"rename-2","rule-target":"table","object-locator":{"schema-name":"a","table-name":"b"},"rule-action":"rename","value":"c"}' +
      ']}');
  });

  test('selection rules: include, exclude and explicit with table types', () => {
    const mappings = new TableMappings()
      .include('sales', '%', TableType.TABLE)
      .exclude('sales', 'tmp_%')
      .explicit('sales', 'daily_totals', TableType.VIEW, { ruleName: 'the-view' });
    expect(parse(mappings)).toEqual({
      rules: [
        { 'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'include-1', 'object-locator': { 'schema-name': 'sales', 'table-name': '%', 'table-type': 'table' }, 'rule-action': 'include' },
        { 'rule-type': 'selection', 'rule-id': '2', 'rule-name': 'exclude-2', 'object-locator': { 'schema-name': 'sales', 'table-name': 'tmp_%' }, 'rule-action': 'exclude' },
        { 'rule-type': 'selection', 'rule-id': '3', 'rule-name': 'the-view', 'object-locator': { 'schema-name': 'sales', 'table-name': 'daily_totals', 'table-type': 'view' }, 'rule-action': 'explicit' },
      ],
    });
  });

  test('rename rules for schema, table and column', () => {
    const rules = (parse(TableMappings.includeSchema('s')
      .renameSchema('s', 'app')
      .renameTable('s', 'players', 'player')
      .renameColumn('s', 'player', 'FULL_NAME', 'full_name')) as any).rules;
    expect(rules.slice(1)).toEqual([
      { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'rename-2', 'rule-target': 'schema', 'object-locator': { 'schema-name': 's' }, 'rule-action': 'rename', 'value': 'app' },
      { 'rule-type': 'transformation', 'rule-id': '3', 'rule-name': 'rename-3', 'rule-target': 'table', 'object-locator': { 'schema-name': 's', 'table-name': 'players' }, 'rule-action': 'rename', 'value': 'player' },
      { 'rule-type': 'transformation', 'rule-id': '4', 'rule-name': 'rename-4', 'rule-target': 'column', 'object-locator': { 'schema-name': 's', 'table-name': 'player', 'column-name': 'FULL_NAME' }, 'rule-action': 'rename', 'value': 'full_name' },
    ]);
  });

  test('case conversion defaults to every object of the target level', () => {
    const rules = (parse(TableMappings.includeSchema('s')
      .convertLowercase(TransformationTarget.SCHEMA)
      .convertLowercase(TransformationTarget.TABLE)
      .convertLowercase(TransformationTarget.COLUMN)
      .convertUppercase(TransformationTarget.TABLE, { schemaName: 'other', tableName: 'x%' })) as any).rules;
    expect(rules.slice(1)).toEqual([
      { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'convert-lowercase-2', 'rule-target': 'schema', 'object-locator': { 'schema-name': '%' }, 'rule-action': 'convert-lowercase' },
      { 'rule-type': 'transformation', 'rule-id': '3', 'rule-name': 'convert-lowercase-3', 'rule-target': 'table', 'object-locator': { 'schema-name': '%', 'table-name': '%' }, 'rule-action': 'convert-lowercase' },
      { 'rule-type': 'transformation', 'rule-id': '4', 'rule-name': 'convert-lowercase-4', 'rule-target': 'column', 'object-locator': { 'schema-name': '%', 'table-name': '%', 'column-name': '%' }, 'rule-action': 'convert-lowercase' },
      { 'rule-type': 'transformation', 'rule-id': '5', 'rule-name': 'convert-uppercase-5', 'rule-target': 'table', 'object-locator': { 'schema-name': 'other', 'table-name': 'x%' }, 'rule-action': 'convert-uppercase' },
    ]);
  });

  test('prefix and suffix rules', () => {
    const rules = (parse(TableMappings.includeSchema('s')
      .addPrefix(TransformationTarget.TABLE, 'old_', { schemaName: 's' })
      .removePrefix(TransformationTarget.SCHEMA, 'legacy_')
      .replacePrefix(TransformationTarget.COLUMN, 'c_', 'col_', { schemaName: 's', tableName: 't' })
      .addSuffix(TransformationTarget.TABLE, '_v1', { schemaName: 'x' })
      .removeSuffix(TransformationTarget.TABLE, '_tmp', { schemaName: 'y' })
      .replaceSuffix(TransformationTarget.TABLE, '_a', '_b', { schemaName: 'z' })) as any).rules;
    expect(rules.slice(1)).toEqual([
      { 'rule-type': 'transformation', 'rule-id': '2', 'rule-name': 'add-prefix-2', 'rule-target': 'table', 'object-locator': { 'schema-name': 's', 'table-name': '%' }, 'rule-action': 'add-prefix', 'value': 'old_' },
      { 'rule-type': 'transformation', 'rule-id': '3', 'rule-name': 'remove-prefix-3', 'rule-target': 'schema', 'object-locator': { 'schema-name': '%' }, 'rule-action': 'remove-prefix', 'value': 'legacy_' },
      { 'rule-type': 'transformation', 'rule-id': '4', 'rule-name': 'replace-prefix-4', 'rule-target': 'column', 'object-locator': { 'schema-name': 's', 'table-name': 't', 'column-name': '%' }, 'rule-action': 'replace-prefix', 'value': 'col_', 'old-value': 'c_' },
      { 'rule-type': 'transformation', 'rule-id': '5', 'rule-name': 'add-suffix-5', 'rule-target': 'table', 'object-locator': { 'schema-name': 'x', 'table-name': '%' }, 'rule-action': 'add-suffix', 'value': '_v1' },
      { 'rule-type': 'transformation', 'rule-id': '6', 'rule-name': 'remove-suffix-6', 'rule-target': 'table', 'object-locator': { 'schema-name': 'y', 'table-name': '%' }, 'rule-action': 'remove-suffix', 'value': '_tmp' },
      { 'rule-type': 'transformation', 'rule-id': '7', 'rule-name': 'replace-suffix-7', 'rule-target': 'table', 'object-locator': { 'schema-name': 'z', 'table-name': '%' }, 'rule-action': 'replace-suffix', 'value': '_b', 'old-value': '_a' },
    ]);
  });

  test('add-column and remove-column match the DMS documentation shape', () => {
    const rules = (parse(TableMappings.includeSchema('s')
      .addColumn('%', '%', 'transact_id', '$AR_H_TRANSACTION_ID', { type: ColumnType.STRING, length: 50 })
      .addColumn('s', 'price', 'total', '$amount * $qty', { type: ColumnType.NUMERIC, precision: 10, scale: 2 })
      .removeColumn('s', 'player', 'secret_notes')) as any).rules;
    expect(rules.slice(1)).toEqual([
      {
        'rule-type': 'transformation',
        'rule-id': '2',
        'rule-name': 'add-column-2',
        'rule-target': 'column',
        'object-locator': { 'schema-name': '%', 'table-name': '%' },
        'rule-action': 'add-column',
        'value': 'transact_id',
        'expression': '$AR_H_TRANSACTION_ID',
        'data-type': { type: 'string', length: 50 },
      },
      {
        'rule-type': 'transformation',
        'rule-id': '3',
        'rule-name': 'add-column-3',
        'rule-target': 'column',
        'object-locator': { 'schema-name': 's', 'table-name': 'price' },
        'rule-action': 'add-column',
        'value': 'total',
        'expression': '$amount * $qty',
        'data-type': { type: 'numeric', precision: 10, scale: 2 },
      },
      {
        'rule-type': 'transformation',
        'rule-id': '4',
        'rule-name': 'remove-column-4',
        'rule-target': 'column',
        'object-locator': { 'schema-name': 's', 'table-name': 'player', 'column-name': 'secret_notes' },
        'rule-action': 'remove-column',
      },
    ]);
  });

  test('parallel-load ranges match the DMS documentation shape', () => {
    const rules = (parse(TableMappings.includeSchema('Sales')
      .parallelLoadRanges('Sales', 'SALES_TRANSACTIONS', ['SALES_NO', 'REGION'], [['1000', 'NORTH'], ['3000', 'WEST']])) as any).rules;
    expect(rules[1]).toEqual({
      'rule-type': 'table-settings',
      'rule-id': '2',
      'rule-name': 'parallel-load-2',
      'object-locator': { 'schema-name': 'Sales', 'table-name': 'SALES_TRANSACTIONS' },
      'parallel-load': {
        type: 'ranges',
        columns: ['SALES_NO', 'REGION'],
        boundaries: [['1000', 'NORTH'], ['3000', 'WEST']],
      },
    });
  });

  test('rules exposes the added rules with ascending ids', () => {
    const mappings = TableMappings.includeSchema('s').exclude('s', 'x');
    expect(mappings.rules.map((r) => [r.ruleId, r.ruleName, r.ruleAction])).toEqual([[1, 'include-1', 'include'], [2, 'exclude-2', 'exclude']]);
    mappings.rules.pop();
    expect(mappings.rules).toHaveLength(2);
  });

  describe('validation', () => {
    test('no selection rule', () => {
      expect(() => new TableMappings().toJson()).toThrow(
        "TableMappings: no selection rule includes any table; add one with include() or explicit() (e.g. TableMappings.includeSchema('public')).");
    });

    test('exclude-only mappings include nothing', () => {
      expect(() => new TableMappings().exclude('s').toJson()).toThrow(/no selection rule includes any table/);
    });

    test('validate() lists errors without throwing', () => {
      expect(new TableMappings().validate()).toHaveLength(1);
      expect(TableMappings.includeSchema('s').validate()).toEqual([]);
    });

    test('% in table-settings names', () => {
      expect(() => TableMappings.includeSchema('s').parallelLoadRanges('s', 'orders_%', ['id'], [['100']]).toJson()).toThrow(
        "TableMappings: rule 2 (parallel-load-2) sets parallel load on 's.orders_%'; table-settings rules need exact schema and table names, without %.");
    });

    test('parallel load without columns, boundaries or with mismatched boundaries', () => {
      expect(() => TableMappings.includeSchema('s').parallelLoadRanges('s', 't', [], [['1']]).toJson()).toThrow(
        'TableMappings: rule 2 (parallel-load-2) has no parallel-load columns; name the column(s) whose values split the table.');
      expect(() => TableMappings.includeSchema('s').parallelLoadRanges('s', 't', ['id'], []).toJson()).toThrow(
        'TableMappings: rule 2 (parallel-load-2) has no parallel-load boundaries; give at least one boundary.');
      expect(() => TableMappings.includeSchema('s').parallelLoadRanges('s', 't', ['id', 'region'], [['1', 'a'], ['2']]).toJson()).toThrow(
        'TableMappings: rule 2 (parallel-load-2) boundary 2 has 1 value(s) for 2 column(s); give one value per column.');
    });

    test('explicit with a wildcard', () => {
      expect(() => new TableMappings().explicit('s', 'orders_%').toJson()).toThrow(
        "TableMappings: rule 1 (explicit-1) is explicit but names 's.orders_%' with a % wildcard; explicit selects exactly one table: use include() for patterns.");
      expect(() => new TableMappings().explicit('%', 'orders').toJson()).toThrow(/is explicit but names '%.orders'/);
    });

    test('duplicate rule names', () => {
      expect(() => new TableMappings().include('a', '%', undefined, { ruleName: 'same' }).include('b', '%', undefined, { ruleName: 'same' }).toJson()).toThrow(
        "TableMappings: the rule name 'same' is used more than once; rule names must be unique.");
    });

    test('a custom name colliding with a generated one', () => {
      expect(() => new TableMappings().include('a').include('b', '%', undefined, { ruleName: 'include-1' }).toJson()).toThrow(
        "the rule name 'include-1' is used more than once");
    });

    test('empty names', () => {
      expect(() => new TableMappings().include('').toJson()).toThrow(
        "TableMappings: rule 1 (include-1) has an empty schemaName; name the object or use '%' for all.");
      expect(() => new TableMappings().include('s', ' ').toJson()).toThrow(
        "TableMappings: rule 1 (include-1) has an empty tableName; name the object or use '%' for all.");
      expect(() => TableMappings.includeSchema('s').removeColumn('s', 't', '').toJson()).toThrow(
        "TableMappings: rule 2 (remove-column-2) has an empty columnName; name the object or use '%' for all.");
      expect(() => new TableMappings().include('s', '%', undefined, { ruleName: '' }).toJson()).toThrow(
        'TableMappings: rule 1 has an empty ruleName; omit ruleName to get a generated one.');
      expect(() => TableMappings.includeSchema('s').renameSchema('s', '').toJson()).toThrow(
        'TableMappings: rule 2 (rename-2) (rename) has an empty value; give the new name, prefix, suffix or column name.');
      expect(() => TableMappings.includeSchema('s').replacePrefix(TransformationTarget.TABLE, '', 'n_').toJson()).toThrow(
        'TableMappings: rule 2 (replace-prefix-2) (replace-prefix) has an empty old value; give the prefix or suffix to replace.');
    });

    test('renaming to a pattern', () => {
      expect(() => TableMappings.includeSchema('s').renameTable('s', 't', 'n%').toJson()).toThrow(
        "TableMappings: rule 2 (rename-2) renames to 'n%', which contains %; the new name must be a plain name.");
    });

    test('more than one transformation action on the same object', () => {
      expect(() => TableMappings.includeSchema('s').renameTable('s', 't', 'u').addPrefix(TransformationTarget.TABLE, 'x_', { schemaName: 's', tableName: 't' }).toJson()).toThrow(
        'TableMappings: rule 3 (add-prefix-3) and rule 2 (rename-2) both transform the table s.t; DMS applies only one transformation action per object: combine them into one rule or target different objects.');
      expect(() => TableMappings.includeSchema('s').convertLowercase(TransformationTarget.COLUMN).convertUppercase(TransformationTarget.COLUMN).toJson()).toThrow(
        /both transform the column %\.%\.%/);
    });

    test('transformations on different objects or levels are allowed', () => {
      expect(() => TableMappings.includeSchema('s')
        .renameTable('s', 't', 'u')
        .renameTable('s', 'v', 'w')
        .renameSchema('s', 'app')
        .renameColumn('s', 't', 'a', 'b')
        .removeColumn('s', 't', 'c')
        .addColumn('s', 't', 'x', '1', { type: ColumnType.INT4 })
        .addColumn('s', 't', 'y', '2', { type: ColumnType.INT4 })
        .toJson()).not.toThrow();
    });

    test('two add-column rules for the same new column', () => {
      expect(() => TableMappings.includeSchema('s')
        .addColumn('s', 't', 'x', '1', { type: ColumnType.INT4 })
        .addColumn('s', 't', 'x', '2', { type: ColumnType.INT8 })
        .toJson()).toThrow(/rule 3 \(add-column-3\) and rule 2 \(add-column-2\) both transform the column s\.t\.x/);
    });

    test('add-column needs an expression and a complete data type', () => {
      expect(() => TableMappings.includeSchema('s').addColumn('s', 't', 'x', '', { type: ColumnType.INT4 }).toJson()).toThrow(
        "TableMappings: rule 2 (add-column-2) (add-column) has an empty expression; give the SQLite expression computing the column, e.g. '$id * 2' or 'datetime()'.");
      expect(() => TableMappings.includeSchema('s').addColumn('s', 't', 'x', '1', { type: ColumnType.WSTRING }).toJson()).toThrow(
        'TableMappings: rule 2 (add-column-2) adds a wstring column without a length; set dataType.length.');
      expect(() => TableMappings.includeSchema('s').addColumn('s', 't', 'x', '1', { type: ColumnType.NUMERIC }).toJson()).toThrow(
        'TableMappings: rule 2 (add-column-2) adds a numeric column without a precision; set dataType.precision (and scale).');
      expect(() => TableMappings.includeSchema('s').addColumn('s', 't', 'x', '1', { type: ColumnType.STRING, length: 0 }).toJson()).toThrow(
        'TableMappings: rule 2 (add-column-2) has dataType.length 0; it must be a positive integer.');
      expect(() => TableMappings.includeSchema('s').addColumn('s', 't', 'x', '1', { type: ColumnType.NUMERIC, precision: 5, scale: -1 }).toJson()).toThrow(
        'TableMappings: rule 2 (add-column-2) has dataType.scale -1; it must be a non-negative integer.');
    });

    test('every error is reported at once', () => {
      const errors = new TableMappings().explicit('s', '%', undefined, { ruleName: 'n' }).exclude('s', 'x', undefined, { ruleName: 'n' }).validate();
      expect(errors).toHaveLength(2);
    });
  });
});
