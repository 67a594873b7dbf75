/**
 * The kind of source object a selection rule matches.
 */
export enum TableType {
  /** Tables only (the DMS default). */
  TABLE = 'table',
  /** Views only: DMS loads a view's rows into a target table (full load only). */
  VIEW = 'view',
  /** Tables and views. */
  ALL = 'all',
}

/** The three table-mapping rule types this library writes. */
export enum RuleType {
  /** Chooses the tables and views to migrate. */
  SELECTION = 'selection',
  /** Renames, adds or removes schemas, tables and columns on the way to the target. */
  TRANSFORMATION = 'transformation',
  /** Per-table load settings, e.g. parallel load. */
  TABLE_SETTINGS = 'table-settings',
}

/** The level of object a transformation rule changes. */
export enum TransformationTarget {
  /** Schema names. */
  SCHEMA = 'schema',
  /** Table names. */
  TABLE = 'table',
  /** Column names. */
  COLUMN = 'column',
}

/**
 * DMS data types of a column added by a transformation rule (`data-type.type`).
 */
export enum ColumnType {
  /** Byte string; needs `length`. */
  BYTES = 'bytes',
  /** Date. */
  DATE = 'date',
  /** Time. */
  TIME = 'time',
  /** Date and time; `scale` sets the fractional seconds. */
  DATETIME = 'datetime',
  /** 1-byte signed integer. */
  INT1 = 'int1',
  /** 2-byte signed integer. */
  INT2 = 'int2',
  /** 4-byte signed integer. */
  INT4 = 'int4',
  /** 8-byte signed integer. */
  INT8 = 'int8',
  /** Exact numeric; needs `precision`, `scale` optional. */
  NUMERIC = 'numeric',
  /** 4-byte floating point. */
  REAL4 = 'real4',
  /** 8-byte floating point. */
  REAL8 = 'real8',
  /** Character string; needs `length`. */
  STRING = 'string',
  /** Unicode character string; needs `length`. */
  WSTRING = 'wstring',
  /** 1-byte unsigned integer. */
  UINT1 = 'uint1',
  /** 2-byte unsigned integer. */
  UINT2 = 'uint2',
  /** 4-byte unsigned integer. */
  UINT4 = 'uint4',
  /** 8-byte unsigned integer. */
  UINT8 = 'uint8',
  /** Boolean. */
  BOOLEAN = 'boolean',
  /** Binary large object. */
  BLOB = 'blob',
  /** Character large object. */
  CLOB = 'clob',
  /** Unicode character large object. */
  NCLOB = 'nclob',
}

/**
 * The type of a column added with `TableMappings.addColumn()` (`data-type` in the rule).
 */
export interface ColumnDataType {
  /** The DMS data type. */
  readonly type: ColumnType;
  /**
   * Length, for `STRING`, `WSTRING` and `BYTES` (required for those).
   *
   * @default - no length
   */
  readonly length?: number;
  /**
   * Precision, for `NUMERIC` (required for it).
   *
   * @default - no precision
   */
  readonly precision?: number;
  /**
   * Scale, for `NUMERIC` and `DATETIME`.
   *
   * @default - no scale
   */
  readonly scale?: number;
}

/**
 * Which objects a rule applies to (`object-locator`). `%` matches any sequence of characters.
 */
export interface MappingObjectLocator {
  /** Schema name or pattern. */
  readonly schemaName: string;
  /**
   * Table or view name or pattern.
   *
   * @default - not part of the locator (schema-level rules)
   */
  readonly tableName?: string;
  /**
   * Column name or pattern.
   *
   * @default - not part of the locator
   */
  readonly columnName?: string;
  /**
   * Tables, views or both (selection rules only).
   *
   * @default - not part of the locator (DMS selects tables)
   */
  readonly tableType?: TableType;
}

/** The `parallel-load` block of a table-settings rule. */
export interface ParallelLoad {
  /** The parallel-load type; `ranges` is the one PostgreSQL sources support. */
  readonly type: string;
  /** Columns whose values split the table into segments. */
  readonly columns: string[];
  /** Upper bounds of the segments, one value per column in each entry. */
  readonly boundaries: string[][];
}

/**
 * One table-mapping rule, as `TableMappings.rules` reports it. Field names follow the DMS JSON keys.
 */
export interface TableMappingRule {
  /** `rule-type`. */
  readonly ruleType: RuleType;
  /** `rule-id`: unique, ascending in the order the rules were added. */
  readonly ruleId: number;
  /** `rule-name`: unique. */
  readonly ruleName: string;
  /** `object-locator`. */
  readonly objectLocator: MappingObjectLocator;
  /**
   * `rule-action`, e.g. `include`, `rename`, `add-column`.
   *
   * @default - none (table-settings rules)
   */
  readonly ruleAction?: string;
  /**
   * `rule-target` of a transformation rule.
   *
   * @default - none (selection and table-settings rules)
   */
  readonly ruleTarget?: TransformationTarget;
  /**
   * `value`: the new name, prefix or suffix, or the name of an added column.
   *
   * @default - none
   */
  readonly value?: string;
  /**
   * `old-value`: the prefix or suffix a replace action replaces.
   *
   * @default - none
   */
  readonly oldValue?: string;
  /**
   * `expression` computing an added column.
   *
   * @default - none
   */
  readonly expression?: string;
  /**
   * `data-type` of an added column.
   *
   * @default - none
   */
  readonly dataType?: ColumnDataType;
  /**
   * `parallel-load` of a table-settings rule.
   *
   * @default - none
   */
  readonly parallelLoad?: ParallelLoad;
}

/** Options common to every rule. */
export interface RuleOptions {
  /**
   * The `rule-name`. Must be unique within the mappings.
   *
   * @default - `<action>-<rule id>`, e.g. `include-1`
   */
  readonly ruleName?: string;
}

/** The DMS wildcard: any sequence of characters. */
const WILDCARD = '%';

/**
 * Table mappings of a DMS task: which tables to migrate and how to transform them on the way.
 *
 * Rules get ascending numeric `rule-id`s in the order they are added (on conflicting transformations
 * DMS applies the lower id) and unique `rule-name`s. `toJson()` renders the mapping document and
 * throws on mistakes DMS would reject or silently misapply.
 *
 * @example
 * import { TableMappings } from 'cdk-neon-migration';
 *
 * const mappings = TableMappings.includeSchema('dms_sample')
 *   .exclude('dms_sample', 'audit_%')
 *   .renameSchema('dms_sample', 'app');
 */
export class TableMappings {
  /** Mappings that include every table (`%`) of `schema`, as the Neon guide does. */
  public static includeSchema(schema: string): TableMappings {
    return new TableMappings().include(schema);
  }

  private readonly _rules: TableMappingRule[] = [];

  /** All rules, in `rule-id` order. */
  public get rules(): TableMappingRule[] {
    return [...this._rules];
  }

  /**
   * Migrate the tables of `schema` matching `table` (`%` wildcards allowed).
   *
   * @param schema schema name or pattern
   * @param table table name or pattern; default `%` (every table)
   * @param tableType tables, views or both; default: omitted (DMS selects tables)
   */
  public include(schema: string, table: string = WILDCARD, tableType?: TableType, options: RuleOptions = {}): TableMappings {
    return this.selection('include', schema, table, tableType, options);
  }

  /**
   * Leave the tables of `schema` matching `table` out (`%` wildcards allowed).
   *
   * @param schema schema name or pattern
   * @param table table name or pattern; default `%` (every table)
   * @param tableType tables, views or both; default: omitted (DMS selects tables)
   */
  public exclude(schema: string, table: string = WILDCARD, tableType?: TableType, options: RuleOptions = {}): TableMappings {
    return this.selection('exclude', schema, table, tableType, options);
  }

  /**
   * Migrate exactly one table (no wildcards), e.g. a table a wider `exclude` leaves out.
   */
  public explicit(schema: string, table: string, tableType?: TableType, options: RuleOptions = {}): TableMappings {
    return this.selection('explicit', schema, table, tableType, options);
  }

  /** Rename a schema on the target. */
  public renameSchema(schema: string, to: string, options: RuleOptions = {}): TableMappings {
    return this.transformation(TransformationTarget.SCHEMA, 'rename', { schemaName: schema }, { value: to }, options);
  }

  /** Rename a table on the target. */
  public renameTable(schema: string, table: string, to: string, options: RuleOptions = {}): TableMappings {
    return this.transformation(TransformationTarget.TABLE, 'rename', { schemaName: schema, tableName: table }, { value: to }, options);
  }

  /** Rename a column on the target. */
  public renameColumn(schema: string, table: string, column: string, to: string, options: RuleOptions = {}): TableMappings {
    return this.transformation(TransformationTarget.COLUMN, 'rename',
      { schemaName: schema, tableName: table, columnName: column }, { value: to }, options);
  }

  /**
   * Lower-case the names of every schema, table or column matched by `locator`.
   *
   * @param locator which objects; default: every object (`%`) of the target level
   */
  public convertLowercase(target: TransformationTarget, locator?: MappingObjectLocator, options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'convert-lowercase', locatorFor(target, locator), {}, options);
  }

  /**
   * Upper-case the names of every schema, table or column matched by `locator`.
   *
   * @param locator which objects; default: every object (`%`) of the target level
   */
  public convertUppercase(target: TransformationTarget, locator?: MappingObjectLocator, options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'convert-uppercase', locatorFor(target, locator), {}, options);
  }

  /** Prepend `prefix` to the names matched by `locator` (default: all of the target level). */
  public addPrefix(target: TransformationTarget, prefix: string, locator?: MappingObjectLocator, options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'add-prefix', locatorFor(target, locator), { value: prefix }, options);
  }

  /** Remove `prefix` from the names matched by `locator` (default: all of the target level). */
  public removePrefix(target: TransformationTarget, prefix: string, locator?: MappingObjectLocator, options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'remove-prefix', locatorFor(target, locator), { value: prefix }, options);
  }

  /** Replace the prefix `oldPrefix` with `newPrefix` in the names matched by `locator`. */
  public replacePrefix(target: TransformationTarget, oldPrefix: string, newPrefix: string, locator?: MappingObjectLocator,
    options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'replace-prefix', locatorFor(target, locator), { value: newPrefix, oldValue: oldPrefix }, options);
  }

  /** Append `suffix` to the names matched by `locator` (default: all of the target level). */
  public addSuffix(target: TransformationTarget, suffix: string, locator?: MappingObjectLocator, options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'add-suffix', locatorFor(target, locator), { value: suffix }, options);
  }

  /** Remove `suffix` from the names matched by `locator` (default: all of the target level). */
  public removeSuffix(target: TransformationTarget, suffix: string, locator?: MappingObjectLocator, options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'remove-suffix', locatorFor(target, locator), { value: suffix }, options);
  }

  /** Replace the suffix `oldSuffix` with `newSuffix` in the names matched by `locator`. */
  public replaceSuffix(target: TransformationTarget, oldSuffix: string, newSuffix: string, locator?: MappingObjectLocator,
    options: RuleOptions = {}): TableMappings {
    return this.transformation(target, 'replace-suffix', locatorFor(target, locator), { value: newSuffix, oldValue: oldSuffix }, options);
  }

  /**
   * Add a column computed by a DMS (SQLite) expression to the matching tables, e.g.
   * `addColumn('dms_sample', '%', 'migrated_at', 'datetime()', { type: ColumnType.DATETIME })`.
   */
  public addColumn(schema: string, table: string, column: string, expression: string, dataType: ColumnDataType,
    options: RuleOptions = {}): TableMappings {
    return this.transformation(TransformationTarget.COLUMN, 'add-column',
      { schemaName: schema, tableName: table }, { value: column, expression, dataType }, options);
  }

  /** Leave a column out of the target tables. */
  public removeColumn(schema: string, table: string, column: string, options: RuleOptions = {}): TableMappings {
    return this.transformation(TransformationTarget.COLUMN, 'remove-column',
      { schemaName: schema, tableName: table, columnName: column }, {}, options);
  }

  /**
   * Load one table in parallel segments split at `boundaries` of `columns` (`parallel-load` type
   * `ranges`, the one PostgreSQL sources support). Each boundary lists one value per column;
   * the last segment holds the rows above the last boundary. Up to `maxFullLoadSubTasks`
   * segments load at once.
   */
  public parallelLoadRanges(schema: string, table: string, columns: string[], boundaries: string[][], options: RuleOptions = {}): TableMappings {
    const ruleId = this._rules.length + 1;
    this._rules.push({
      ruleType: RuleType.TABLE_SETTINGS,
      ruleId,
      ruleName: options.ruleName ?? `parallel-load-${ruleId}`,
      objectLocator: { schemaName: schema, tableName: table },
      parallelLoad: { type: 'ranges', columns: [...columns], boundaries: boundaries.map((b) => [...b]) },
    });
    return this;
  }

  /**
   * The mistakes in these mappings, one message each; empty when `toJson()` will succeed.
   */
  public validate(): string[] {
    const errors: string[] = [];
    if (!this._rules.some((r) => r.ruleType === RuleType.SELECTION && r.ruleAction !== 'exclude')) {
      errors.push('TableMappings: no selection rule includes any table; add one with include() or explicit() (e.g. TableMappings.includeSchema(\'public\')).');
    }
    const names = new Set<string>();
    const transformedObjects = new Map<string, TableMappingRule>();
    for (const rule of this._rules) {
      const where = `rule ${rule.ruleId} (${rule.ruleName})`;
      if (rule.ruleName.trim() === '') {
        errors.push(`TableMappings: rule ${rule.ruleId} has an empty ruleName; omit ruleName to get a generated one.`);
      } else if (names.has(rule.ruleName)) {
        errors.push(`TableMappings: the rule name '${rule.ruleName}' is used more than once; rule names must be unique.`);
      }
      names.add(rule.ruleName);
      errors.push(...validateLocator(rule, where));
      if (rule.ruleType === RuleType.SELECTION && rule.ruleAction === 'explicit') {
        const loc = rule.objectLocator;
        if (loc.schemaName.includes(WILDCARD) || (loc.tableName ?? '').includes(WILDCARD)) {
          errors.push(`TableMappings: ${where} is explicit but names '${loc.schemaName}.${loc.tableName}' with a % wildcard; explicit selects exactly one table: use include() for patterns.`);
        }
      }
      if (rule.ruleType === RuleType.TRANSFORMATION) {
        errors.push(...validateTransformation(rule, where));
        const key = objectKey(rule);
        const earlier = transformedObjects.get(key);
        if (earlier) {
          errors.push(`TableMappings: ${where} and rule ${earlier.ruleId} (${earlier.ruleName}) both transform the ${rule.ruleTarget} ${describeLocator(rule)}; DMS applies only one transformation action per object: combine them into one rule or target different objects.`);
        } else {
          transformedObjects.set(key, rule);
        }
      }
      if (rule.ruleType === RuleType.TABLE_SETTINGS) {
        errors.push(...validateParallelLoad(rule, where));
      }
    }
    return errors;
  }

  /**
   * The table-mapping document (`{"rules":[…]}`), with a stable key order.
   *
   * @throws if `validate()` reports a mistake
   */
  public toJson(): string {
    const errors = this.validate();
    if (errors.length > 0) {
      throw new Error(errors.join('\n'));
    }
    return JSON.stringify({ rules: this._rules.map(renderRule) });
  }

  private selection(action: string, schema: string, table: string, tableType: TableType | undefined, options: RuleOptions): TableMappings {
    const ruleId = this._rules.length + 1;
    this._rules.push({
      ruleType: RuleType.SELECTION,
      ruleId,
      ruleName: options.ruleName ?? `${action}-${ruleId}`,
      objectLocator: { schemaName: schema, tableName: table, tableType },
      ruleAction: action,
    });
    return this;
  }

  private transformation(target: TransformationTarget, action: string, locator: MappingObjectLocator,
    values: { value?: string; oldValue?: string; expression?: string; dataType?: ColumnDataType }, options: RuleOptions): TableMappings {
    const ruleId = this._rules.length + 1;
    this._rules.push({
      ruleType: RuleType.TRANSFORMATION,
      ruleId,
      ruleName: options.ruleName ?? `${action}-${ruleId}`,
      ruleTarget: target,
      objectLocator: locator,
      ruleAction: action,
      ...values,
    });
    return this;
  }
}

function locatorFor(target: TransformationTarget, locator: MappingObjectLocator | undefined): MappingObjectLocator {
  const schemaName = locator?.schemaName ?? WILDCARD;
  switch (target) {
    case TransformationTarget.SCHEMA:
      return { schemaName };
    case TransformationTarget.TABLE:
      return { schemaName, tableName: locator?.tableName ?? WILDCARD };
    case TransformationTarget.COLUMN:
      return { schemaName, tableName: locator?.tableName ?? WILDCARD, columnName: locator?.columnName ?? WILDCARD };
  }
}

function validateLocator(rule: TableMappingRule, where: string): string[] {
  const loc = rule.objectLocator;
  const errors: string[] = [];
  const parts: Array<[string, string | undefined]> = [['schemaName', loc.schemaName], ['tableName', loc.tableName], ['columnName', loc.columnName]];
  for (const [property, value] of parts) {
    if (value !== undefined && value.trim() === '') {
      errors.push(`TableMappings: ${where} has an empty ${property}; name the object or use '%' for all.`);
    }
  }
  return errors;
}

function validateTransformation(rule: TableMappingRule, where: string): string[] {
  const errors: string[] = [];
  const valued = ['rename', 'add-prefix', 'remove-prefix', 'replace-prefix', 'add-suffix', 'remove-suffix', 'replace-suffix', 'add-column'];
  if (valued.includes(rule.ruleAction!) && (rule.value ?? '').trim() === '') {
    errors.push(`TableMappings: ${where} (${rule.ruleAction}) has an empty value; give the new name, prefix, suffix or column name.`);
  }
  if ((rule.ruleAction === 'replace-prefix' || rule.ruleAction === 'replace-suffix') && (rule.oldValue ?? '').trim() === '') {
    errors.push(`TableMappings: ${where} (${rule.ruleAction}) has an empty old value; give the prefix or suffix to replace.`);
  }
  if (rule.ruleAction === 'rename' && rule.value !== undefined && rule.value.includes(WILDCARD)) {
    errors.push(`TableMappings: ${where} renames to '${rule.value}', which contains %; the new name must be a plain name.`);
  }
  if (rule.ruleAction === 'add-column') {
    if ((rule.expression ?? '').trim() === '') {
      errors.push(`TableMappings: ${where} (add-column) has an empty expression; give the SQLite expression computing the column, e.g. '$id * 2' or 'datetime()'.`);
    }
    errors.push(...validateDataType(rule.dataType!, where));
  }
  return errors;
}

function validateDataType(dataType: ColumnDataType, where: string): string[] {
  const errors: string[] = [];
  const sized = [ColumnType.STRING, ColumnType.WSTRING, ColumnType.BYTES];
  if (sized.includes(dataType.type) && dataType.length === undefined) {
    errors.push(`TableMappings: ${where} adds a ${dataType.type} column without a length; set dataType.length.`);
  }
  if (dataType.type === ColumnType.NUMERIC && dataType.precision === undefined) {
    errors.push(`TableMappings: ${where} adds a numeric column without a precision; set dataType.precision (and scale).`);
  }
  for (const [property, value] of [['length', dataType.length], ['precision', dataType.precision], ['scale', dataType.scale]] as Array<[string, number | undefined]>) {
    if (value !== undefined && (!Number.isInteger(value) || value < (property === 'scale' ? 0 : 1))) {
      errors.push(`TableMappings: ${where} has dataType.${property} ${value}; it must be a ${property === 'scale' ? 'non-negative' : 'positive'} integer.`);
    }
  }
  return errors;
}

function validateParallelLoad(rule: TableMappingRule, where: string): string[] {
  const errors: string[] = [];
  const loc = rule.objectLocator;
  if (loc.schemaName.includes(WILDCARD) || (loc.tableName ?? '').includes(WILDCARD)) {
    errors.push(`TableMappings: ${where} sets parallel load on '${loc.schemaName}.${loc.tableName}'; table-settings rules need exact schema and table names, without %.`);
  }
  const parallelLoad = rule.parallelLoad!;
  if (parallelLoad.columns.length === 0) {
    errors.push(`TableMappings: ${where} has no parallel-load columns; name the column(s) whose values split the table.`);
  }
  if (parallelLoad.boundaries.length === 0) {
    errors.push(`TableMappings: ${where} has no parallel-load boundaries; give at least one boundary.`);
  }
  parallelLoad.boundaries.forEach((boundary, index) => {
    if (boundary.length !== parallelLoad.columns.length) {
      errors.push(`TableMappings: ${where} boundary ${index + 1} has ${boundary.length} value(s) for ${parallelLoad.columns.length} column(s); give one value per column.`);
    }
  });
  return errors;
}

function objectKey(rule: TableMappingRule): string {
  const loc = rule.objectLocator;
  const parts = [rule.ruleTarget, loc.schemaName, loc.tableName ?? '', loc.columnName ?? ''];
  if (rule.ruleAction === 'add-column') {
    // the object of add-column is the new column
    parts[3] = `+${rule.value}`;
  }
  return JSON.stringify(parts);
}

function describeLocator(rule: TableMappingRule): string {
  const loc = rule.objectLocator;
  const column = rule.ruleAction === 'add-column' ? rule.value : loc.columnName;
  return [loc.schemaName, loc.tableName, column].filter((p) => p !== undefined).join('.');
}

function renderRule(rule: TableMappingRule): Record<string, unknown> {
  const json: Record<string, unknown> = {
    'rule-type': rule.ruleType,
    'rule-id': String(rule.ruleId),
    'rule-name': rule.ruleName,
  };
  if (rule.ruleTarget !== undefined) {
    json['rule-target'] = rule.ruleTarget;
  }
  const loc = rule.objectLocator;
  const locator: Record<string, string> = { 'schema-name': loc.schemaName };
  if (loc.tableName !== undefined) {
    locator['table-name'] = loc.tableName;
  }
  if (loc.columnName !== undefined) {
    locator['column-name'] = loc.columnName;
  }
  if (loc.tableType !== undefined) {
    locator['table-type'] = loc.tableType;
  }
  json['object-locator'] = locator;
  if (rule.ruleAction !== undefined) {
    json['rule-action'] = rule.ruleAction;
  }
  if (rule.value !== undefined) {
    json.value = rule.value;
  }
  if (rule.oldValue !== undefined) {
    json['old-value'] = rule.oldValue;
  }
  if (rule.expression !== undefined) {
    json.expression = rule.expression;
  }
  if (rule.dataType !== undefined) {
    const dataType: Record<string, unknown> = { type: rule.dataType.type };
    for (const key of ['length', 'precision', 'scale'] as const) {
      if (rule.dataType[key] !== undefined) {
        dataType[key] = rule.dataType[key];
      }
    }
    json['data-type'] = dataType;
  }
  if (rule.parallelLoad !== undefined) {
    json['parallel-load'] = {
      type: rule.parallelLoad.type,
      columns: rule.parallelLoad.columns,
      boundaries: rule.parallelLoad.boundaries,
    };
  }
  return json;
}
