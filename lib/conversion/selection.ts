import { Token } from 'aws-cdk-lib';
import { RuleType, TableMappingRule, TableMappings, TableType, TransformationTarget } from '../task/table-mappings';

/**
 * The source engines DMS Schema Conversion converts into PostgreSQL that this library declares
 * endpoints for, with how their objects are located in a selection rule.
 *
 * @internal
 */
export enum ConversionSourceEngine {
  /** MySQL, MariaDB and Aurora MySQL: server → schema (a MySQL database) → table. */
  MYSQL = 'mysql',
  /** Oracle: server → schema → table. */
  ORACLE = 'oracle',
  /** SQL Server: server → database → schema → table. */
  SQL_SERVER = 'sqlserver',
}

/**
 * A DMS Schema Conversion selection rule as the API takes it, without `server-name`: the handler adds
 * the server name of the data provider DMS reports at deploy time.
 *
 * @internal
 */
export interface ConversionRule {
  readonly 'rule-type': 'selection';
  readonly 'rule-id': string;
  readonly 'rule-name': string;
  readonly 'rule-action': 'explicit' | 'include' | 'exclude';
  readonly 'object-locator': Record<string, string>;
}

/**
 * A selected source schema and the Neon schema the replication task writes its tables to (after the
 * mappings' schema renames and lowercase conversions): the converted schema must be that one.
 *
 * @internal
 */
export interface SchemaPair {
  /** The schema of the source (for SQL Server within `database`). */
  readonly source: string;
  /** The schema the task writes to in Neon. */
  readonly target: string;
}

/** What the task's table mappings select, as DMS Schema Conversion takes it. @internal */
export interface ConversionSelection {
  /** Source rules for the assessment and the conversion (explicit, include, exclude). */
  readonly rules: ConversionRule[];
  /** The selected schemas: one explicit rule each for the assessment report, which takes explicit rules only. */
  readonly schemas: SchemaPair[];
  /** What the conversion cannot follow: synth-time errors. */
  readonly errors: string[];
  /** Likely mismatches between the converted names and the names the task writes to. */
  readonly warnings: string[];
}

const OWNER = 'DmsSchemaConversion';

/** Transformation actions whose result the converted schema follows. */
const FOLLOWED_ACTIONS = new Set(['convert-lowercase']);

/**
 * Derives DMS Schema Conversion source selection rules from a replication task's selection rules, and
 * the schemas they select. DMS task rules and DMS Schema Conversion rules share the shape
 * (`rule-type`, `rule-id`, `rule-name`, `rule-action`, `object-locator`) but locate objects in the
 * source's own hierarchy: `database-name` for SQL Server; tables by `table-name` (`%` patterns with
 * include and exclude).
 *
 * @param databaseName the endpoint's database (SQL Server)
 * @internal
 */
export function deriveSelection(rules: TableMappingRule[], engine: ConversionSourceEngine, databaseName?: string): ConversionSelection {
  const errors: string[] = [];
  const warnings: string[] = [];
  const converted: ConversionRule[] = [];
  const schemas: string[] = [];
  const transformations = rules.filter(r => r.ruleType === RuleType.TRANSFORMATION);

  for (const rule of rules.filter(r => r.ruleType === RuleType.SELECTION)) {
    const where = `the selection rule '${rule.ruleName}'`;
    const action = rule.ruleAction as ConversionRule['rule-action'];
    const locator = rule.objectLocator;
    const tableType = locator.tableType ?? TableType.TABLE;
    const schema = locator.schemaName;
    const table = locator.tableName ?? '%';
    if (tableType !== TableType.TABLE) {
      if (action === 'exclude') {
        // views are not converted by table rules: nothing to exclude
        continue;
      }
      errors.push(`${OWNER}: ${where} selects table-type '${tableType}': DMS loads views into tables of their name, while the conversion `
        + 'creates the views themselves. Select tables only (TableType.TABLE, the default).');
      continue;
    }
    if (action !== 'exclude' && !Token.isUnresolved(schema) && /[%_[]/.test(schema)) {
      errors.push(`${OWNER}: ${where} selects the schemas '${schema}' by a pattern, and the assessment report of DMS Schema Conversion `
        + '(ExportMetadataModelAssessment) takes explicit rules only. Name each schema in its own rule (tables may still be a % pattern).');
      continue;
    }
    const objectLocator: Record<string, string> = {};
    if (engine === ConversionSourceEngine.SQL_SERVER) {
      if (databaseName === undefined) {
        errors.push(`${OWNER}: a SQL Server source needs its database name (the endpoint's databaseName) to locate objects for DMS Schema Conversion.`);
        continue;
      }
      objectLocator['database-name'] = databaseName;
    }
    objectLocator['schema-name'] = schema;
    objectLocator['table-name'] = table;
    converted.push({
      'rule-type': 'selection',
      'rule-id': String(converted.length + 1),
      'rule-name': `${action}-${converted.length + 1}`,
      'rule-action': action,
      'object-locator': objectLocator,
    });
    if (action !== 'exclude' && !schemas.includes(schema)) {
      schemas.push(schema);
    }
  }
  if (schemas.length === 0 && errors.length === 0) {
    errors.push(`${OWNER}: the table mappings include no schema to convert: add a selection rule with include() or explicit().`);
  }

  for (const rule of transformations) {
    const where = `the transformation rule '${rule.ruleName}' (${rule.ruleAction} on ${rule.ruleTarget})`;
    if (FOLLOWED_ACTIONS.has(rule.ruleAction ?? '')) continue;
    if (rule.ruleAction === 'rename' && rule.ruleTarget === TransformationTarget.SCHEMA) {
      if (!Token.isUnresolved(rule.objectLocator.schemaName) && /[%_[]/.test(rule.objectLocator.schemaName)) {
        errors.push(`${OWNER}: ${where} renames the schemas matching a pattern: rename one schema per rule.`);
      }
      continue;
    }
    errors.push(`${OWNER}: the table mappings hold ${where}: DMS Schema Conversion creates the source's objects under their own names `
      + '(in lowercase) and columns, which DMS would no longer write to. Only schema renames and convertLowercase rules are followed: remove '
      + 'the rule, or convert the schema yourself and leave schemaConversion out.');
  }

  // a lowercase rule covers the selection when it matches every selected schema, and every table (and column) in it
  const lowercase = (target: TransformationTarget) => transformations.some(r => r.ruleAction === 'convert-lowercase' && r.ruleTarget === target
    && schemas.every(s => matches(s, r.objectLocator.schemaName))
    && (r.objectLocator.tableName ?? '%') === '%' && (r.objectLocator.columnName ?? '%') === '%');
  const missing = [TransformationTarget.TABLE, TransformationTarget.COLUMN].filter(t => !lowercase(t));
  if (missing.length > 0) {
    const fix = missing.map(t => `convertLowercase(TransformationTarget.${t.toUpperCase()})`).join(' and ');
    if (engine === ConversionSourceEngine.ORACLE) {
      errors.push(`${OWNER}: Oracle names are upper case, and DMS writes to Neon under the source's names as they are, while DMS Schema `
        + `Conversion creates the tables and columns in lower case: the load would create tables of its own next to the converted ones. Add ${fix} `
        + 'to the table mappings (for every schema, table and column).');
    } else {
      warnings.push('DMS writes to Neon under the source\'s table and column names as they are, and DMS Schema Conversion creates them in lower '
        + `case: names with upper-case letters would get tables of their own. Add ${fix} to the table mappings unless every name is lower case.`);
    }
  }

  return { rules: converted, schemas: schemas.map(source => ({ source, target: targetSchema(source, transformations) })), errors, warnings };
}

/**
 * The schema the task writes `schema`'s tables to: the first (lowest rule-id) schema transformation
 * matching it decides, as DMS applies one action per object.
 */
function targetSchema(schema: string, transformations: TableMappingRule[]): string {
  const rule = [...transformations]
    .filter(r => r.ruleTarget === TransformationTarget.SCHEMA && (r.ruleAction === 'rename' || r.ruleAction === 'convert-lowercase'))
    .sort((a, b) => a.ruleId - b.ruleId)
    .find(r => matches(schema, r.objectLocator.schemaName));
  if (!rule) return schema;
  return rule.ruleAction === 'rename' ? rule.value! : schema.toLowerCase();
}

/** Whether `name` matches the DMS pattern `pattern` (`%` any characters, `_` one character). */
export function matches(name: string, pattern: string): boolean {
  if (Token.isUnresolved(name) || Token.isUnresolved(pattern)) {
    return name === pattern;
  }
  const regex = pattern.split('').map(c => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${regex}$`).test(name);
}

/** PostgreSQL's longest identifier, in bytes; DMS Schema Conversion shortens longer names with a hash. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * The schema DMS Schema Conversion creates for the SQL Server schema `schema` of `database`: both
 * names joined with an underscore (the conversion setting "Schema names": DB_SCHEMA), in lower case
 * (object names are folded to lower case unless the project keeps their case).
 *
 * @internal
 */
export function sqlServerConvertedSchema(database: string, schema: string): string {
  return `${database}_${schema}`.toLowerCase();
}

/** What following the converted SQL Server schemas did to the table mappings. @internal */
export interface SchemaRenames {
  /** The rules added: `[source schema, converted schema]`. */
  readonly added: [string, string][];
  /** Selected schemas the task would load elsewhere than DMS Schema Conversion converts them to. */
  readonly errors: string[];
}

/**
 * Makes the task load each selected SQL Server schema into the schema DMS Schema Conversion converts
 * it to: a `renameSchema` rule is added to `mappings` for each selected schema that no schema
 * transformation rule names; a schema a rule sends elsewhere is an error, naming the rule.
 *
 * @internal
 */
export function followSqlServerSchemas(mappings: TableMappings, database: string, selected: SchemaPair[]): SchemaRenames {
  const added: [string, string][] = [];
  const errors: string[] = [];
  const names = new Set(mappings.rules.map(r => r.ruleName));
  for (const pair of selected) {
    if (Token.isUnresolved(pair.source) || Token.isUnresolved(database)) continue;
    const converted = sqlServerConvertedSchema(database, pair.source);
    if (pair.target === converted) continue;
    if (Buffer.byteLength(converted, 'utf8') > MAX_IDENTIFIER_BYTES) {
      errors.push(`${OWNER}: DMS Schema Conversion converts the SQL Server schema '${database}.${pair.source}' into '${converted}', which is longer `
        + `than PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes: the conversion shortens it with a hash this construct cannot predict. Set `
        + 'renameSqlServerSchemas: false and add renameSchema(...) with the name the migration project shows for the schema.');
      continue;
    }
    const deciding = schemaRuleFor(pair.source, mappings.rules.filter(r => r.ruleType === RuleType.TRANSFORMATION));
    if (deciding) {
      errors.push(`${OWNER}: DMS Schema Conversion converts the SQL Server schema '${database}.${pair.source}' into '${converted}' `
        + `(<database>_<schema>), but the transformation rule '${deciding.ruleName}' (${deciding.ruleAction} on schema '${deciding.objectLocator.schemaName}') `
        + `makes the task load it into '${pair.target}', where no converted table is. Remove the rule (the construct then adds `
        + `renameSchema('${pair.source}', '${converted}')), or make it rename to '${converted}'; if the migration project names schemas `
        + 'otherwise, set renameSqlServerSchemas: false.');
      continue;
    }
    let ruleName = `schema-conversion-${pair.source}`;
    for (let n = 2; names.has(ruleName); n++) ruleName = `schema-conversion-${pair.source}-${n}`;
    names.add(ruleName);
    mappings.renameSchema(pair.source, converted, { ruleName });
    added.push([pair.source, converted]);
  }
  return { added, errors };
}

/** The schema transformation that decides where the task writes `schema`'s tables (the lowest rule-id matching it). */
function schemaRuleFor(schema: string, transformations: TableMappingRule[]): TableMappingRule | undefined {
  return [...transformations]
    .filter(r => r.ruleTarget === TransformationTarget.SCHEMA)
    .sort((a, b) => a.ruleId - b.ruleId)
    .find(r => matches(schema, r.objectLocator.schemaName));
}
