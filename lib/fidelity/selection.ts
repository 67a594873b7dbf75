import { Session } from './connection';

/** An object locator of a DMS table-mapping rule. */
export interface ObjectLocator {
  readonly 'schema-name'?: string;
  readonly 'table-name'?: string;
  readonly 'column-name'?: string;
  /** `table` (default), `view` or `all`. */
  readonly 'table-type'?: string;
}

/** One rule of a DMS table mapping (`selection` and `transformation` rules are read; others are ignored). */
export interface MappingRule {
  readonly 'rule-type': string;
  readonly 'rule-id'?: string | number;
  readonly 'rule-name'?: string;
  readonly 'rule-action': string;
  readonly 'rule-target'?: string;
  readonly 'object-locator'?: ObjectLocator;
  readonly 'value'?: string | null;
  readonly 'old-value'?: string | null;
}

/** The DMS table-mapping document: `{ "rules": [...] }`. */
export interface TableMappings {
  readonly rules: readonly MappingRule[];
}

/** A schema-qualified table name. */
export interface TableName {
  readonly schema: string;
  readonly table: string;
}

/** A selected source table and the name it gets on the target. */
export interface SelectedTable {
  readonly source: TableName;
  readonly target: TableName;
  /** `v` view, `m` materialized view, `r` table, `p` partitioned table. */
  readonly kind: string;
}

/** The mapping that selects every table in `schemas` (all non-system schemas when empty). */
export function defaultMappings(schemas: readonly string[] = []): TableMappings {
  const names = schemas.length > 0 ? schemas : ['%'];
  return {
    rules: names.map((schema, i) => ({
      'rule-type': 'selection',
      'rule-id': String(i + 1),
      'rule-name': String(i + 1),
      'rule-action': 'include',
      'object-locator': { 'schema-name': schema, 'table-name': '%' },
    })),
  };
}

/**
 * The anchored regular expression of a DMS locator pattern, with DMS's wildcards ("Wildcards in table
 * mapping" in the DMS user guide): `%` any run of characters, `_` exactly one character, `[...]` a set
 * or range of characters (`[ab]`, `[a-d]`; so `[_]` is a literal underscore); anything else literally,
 * case-sensitively. A `[` that no `]` closes, or `[]`, is taken literally. The schema copy
 * (schema-copy.sh) reads patterns the same way.
 */
export function patternRegExp(pattern: string): RegExp {
  const source = (pattern.match(/\[[^\]]+\]|[\s\S]/g) ?? []).map((token) => {
    if (token === '%') return '[\\s\\S]*';
    if (token === '_') return '[\\s\\S]';
    if (token.length > 2 && token.startsWith('[')) return `[${token.slice(1, -1).replace(/\\/g, '\\\\')}]`;
    return token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('');
  try {
    return new RegExp(`^${source}$`);
  } catch {
    throw new Error(`the pattern "${pattern}" has an invalid set or range of characters`);
  }
}

/** Whether `name` matches a DMS locator pattern (see {@link patternRegExp}); an absent pattern matches any name. */
export function matchesPattern(pattern: string | undefined, name: string): boolean {
  if (pattern === undefined) return true;
  return patternRegExp(pattern).test(name);
}

const TABLE_KINDS: Record<string, readonly string[]> = {
  table: ['r', 'p'],
  view: ['v', 'm'],
  all: ['r', 'p', 'v', 'm'],
};

function kindsOf(locator: ObjectLocator): readonly string[] {
  const type = (locator['table-type'] ?? 'table').toLowerCase();
  const kinds = TABLE_KINDS[type];
  if (!kinds) throw new Error(`object-locator table-type must be table, view or all, got "${locator['table-type']}"`);
  return kinds;
}

function ruleId(rule: MappingRule, index: number): number {
  const n = Number(rule['rule-id']);
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER - 1000 + index;
}

/** Checks the document's shape; throws naming the offending rule. */
export function validateMappings(mappings: TableMappings): void {
  if (!mappings || !Array.isArray(mappings.rules)) {
    throw new Error('table mappings must be an object with a "rules" array');
  }
  mappings.rules.forEach((rule, i) => {
    const where = `rule ${rule['rule-name'] ?? rule['rule-id'] ?? i + 1}`;
    if (rule['rule-type'] === 'selection') {
      if (!['include', 'exclude', 'explicit'].includes(rule['rule-action'])) {
        throw new Error(`${where}: selection rule-action must be include, exclude or explicit, got "${rule['rule-action']}"`);
      }
      const locator = rule['object-locator'];
      if (!locator || typeof locator['schema-name'] !== 'string' || typeof locator['table-name'] !== 'string') {
        throw new Error(`${where}: selection rules need object-locator.schema-name and object-locator.table-name`);
      }
      if (rule['rule-action'] === 'explicit' && (locator['schema-name'].includes('%') || locator['table-name'].includes('%'))) {
        throw new Error(`${where}: explicit selection rules take exact names, not % wildcards`);
      }
      kindsOf(locator);
    }
  });
}

/** Whether the selection rules pick `table` (of relkind `kind`). An exclude rule wins over any include. */
export function isSelected(mappings: TableMappings, table: TableName, kind = 'r'): boolean {
  let included = false;
  for (const rule of mappings.rules) {
    if (rule['rule-type'] !== 'selection') continue;
    const locator = rule['object-locator'] ?? {};
    const hit = matchesPattern(locator['schema-name'], table.schema) && matchesPattern(locator['table-name'], table.table);
    if (!hit) continue;
    if (rule['rule-action'] === 'exclude') return false;
    if (kindsOf(locator).includes(kind)) included = true;
  }
  return included;
}

function applyAction(rule: MappingRule, name: string): string | undefined {
  const value = rule.value ?? '';
  switch (rule['rule-action']) {
    case 'rename': return value;
    case 'convert-lowercase': return name.toLowerCase();
    case 'convert-uppercase': return name.toUpperCase();
    case 'add-prefix': return value + name;
    case 'remove-prefix': return name.startsWith(value) ? name.slice(value.length) : name;
    case 'replace-prefix': {
      const old = rule['old-value'] ?? '';
      return name.startsWith(old) ? value + name.slice(old.length) : name;
    }
    case 'add-suffix': return name + value;
    case 'remove-suffix': return name.endsWith(value) ? name.slice(0, name.length - value.length) : name;
    case 'replace-suffix': {
      const old = rule['old-value'] ?? '';
      return name.endsWith(old) ? name.slice(0, name.length - old.length) + value : name;
    }
    case 'remove-column': return undefined;
    default: return name;
  }
}

/**
 * Maps source names to target names with the mapping's transformation rules (rename, convert-lowercase,
 * convert-uppercase, add/remove/replace-prefix and -suffix, remove-column). Per object the matching
 * rule with the lowest rule-id applies; other rule actions leave names unchanged.
 */
export class NameMapper {
  private readonly rules: readonly MappingRule[];

  constructor(mappings: TableMappings) {
    this.rules = mappings.rules
      .map((rule, index) => ({ rule, id: ruleId(rule, index) }))
      .filter(({ rule }) => rule['rule-type'] === 'transformation')
      .sort((a, b) => a.id - b.id)
      .map(({ rule }) => rule);
  }

  private first(target: string, matches: (l: ObjectLocator) => boolean): MappingRule | undefined {
    return this.rules.find((r) => r['rule-target'] === target && matches(r['object-locator'] ?? {}));
  }

  /** The target name of a source table. */
  table(source: TableName): TableName {
    const schemaRule = this.first('schema', (l) => matchesPattern(l['schema-name'], source.schema));
    const tableRule = this.first('table', (l) =>
      matchesPattern(l['schema-name'], source.schema) && matchesPattern(l['table-name'], source.table));
    return {
      schema: schemaRule ? applyAction(schemaRule, source.schema) ?? source.schema : source.schema,
      table: tableRule ? applyAction(tableRule, source.table) ?? source.table : source.table,
    };
  }

  /** The target name of a source column, or undefined when a `remove-column` rule drops it. */
  column(source: TableName, column: string): string | undefined {
    const rule = this.first('column', (l) =>
      matchesPattern(l['schema-name'], source.schema)
      && matchesPattern(l['table-name'], source.table)
      && matchesPattern(l['column-name'], column));
    return rule ? applyAction(rule, column) : column;
  }
}

/** Lists the source tables the selection rules pick, with their target names, sorted by source name. */
export async function resolveTables(session: Session, mappings: TableMappings): Promise<SelectedTable[]> {
  validateMappings(mappings);
  const rows = await session.query<{ schema: string; table: string; kind: string }>(`
    select n.nspname as schema, c.relname as table, c.relkind::text as kind
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm')
      and not c.relispartition
      and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname not like 'pg\\_toast%'
      and n.nspname not like 'pg\\_temp\\_%'
    order by n.nspname collate "C", c.relname collate "C"`);
  const mapper = new NameMapper(mappings);
  return rows
    .filter((r) => isSelected(mappings, r, r.kind))
    .map((r) => ({ source: { schema: r.schema, table: r.table }, target: mapper.table(r), kind: r.kind }));
}

/**
 * The selection rules in a few words, for messages: `include shop.%, exclude shop.tmp_%`; views
 * and tables of every kind are named as such.
 */
export function describeSelection(mappings: TableMappings): string {
  const parts = (mappings.rules ?? [])
    .filter((r) => r['rule-type'] === 'selection')
    .map((r) => {
      const l = r['object-locator'] ?? {};
      const type = l['table-type'] && l['table-type'].toLowerCase() !== 'table' ? ` (${l['table-type'].toLowerCase()})` : '';
      return `${r['rule-action']} ${l['schema-name'] ?? '%'}.${l['table-name'] ?? '%'}${type}`;
    });
  return parts.length > 0 ? parts.join(', ') : 'no selection rule';
}

/** The message of a selection that matches no table on the source. */
export function noTablesSelectedMessage(mappings: TableMappings): string {
  return `The selection rules match no table on the source (${describeSelection(mappings)}). `
    + 'Check the schema and table names: they are case-sensitive; % matches any run of characters, _ any one character, [_] an underscore.';
}

/** `schema.table` for messages. */
export function displayName(name: TableName): string {
  return `${name.schema}.${name.table}`;
}
