import { MySqlSession } from './connection';
import { isSelected, NameMapper, SelectedTable, TableMappings, TableName, validateMappings } from '../selection';

/** What the checks need to know about a MySQL column (from `information_schema.COLUMNS`). */
export interface MySqlColumn {
  readonly name: string;
  /** `DATA_TYPE`, lower case: `int`, `varchar`, `datetime`, `enum`, … (MariaDB's JSON is `longtext`). */
  readonly dataType: string;
  /** `COLUMN_TYPE`, lower case: `int(10) unsigned`, `tinyint(1)`, `enum('a','b')`, … */
  readonly columnType: string;
  readonly unsigned: boolean;
  readonly charset?: string;
  readonly collation?: string;
  readonly nullable: boolean;
  readonly autoIncrement: boolean;
  /** A generated (virtual or stored) column. */
  readonly generated: boolean;
  readonly numericPrecision?: number;
  readonly numericScale?: number;
  /** Fractional-second digits of DATETIME, TIMESTAMP and TIME. */
  readonly datetimePrecision?: number;
  /** Characters of a string column. */
  readonly maxLength?: number;
}

/** A unique index (the primary key among them). */
export interface MySqlIndex {
  readonly name: string;
  readonly primary: boolean;
  readonly columns: readonly string[];
  /** Whether an index column is a prefix of its column (`name(10)`). */
  readonly prefix: boolean;
}

/** A MySQL table's columns, unique indexes and estimates. */
export interface MySqlTableShape {
  readonly name: TableName;
  readonly columns: readonly MySqlColumn[];
  readonly primaryKey: readonly string[];
  readonly uniqueIndexes: readonly MySqlIndex[];
  /** `TABLE_ROWS`: InnoDB's estimate. */
  readonly estimatedRows: number;
  /** `AUTO_INCREMENT`: the next value, when the table has such a column. */
  readonly autoIncrement?: string;
  readonly engine?: string;
}

/** Schemas of the server itself, never migrated. */
export const MYSQL_SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

/** Lists the tables (and views) the selection rules pick, with their target names, sorted by source name. */
export async function resolveMySqlTables(session: MySqlSession, mappings: TableMappings): Promise<SelectedTable[]> {
  validateMappings(mappings);
  const rows = await session.query<{ s: string; t: string; k: string }>(`
    SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, IF(TABLE_TYPE = 'VIEW', 'v', 'r') AS k
    FROM information_schema.TABLES
    WHERE TABLE_SCHEMA NOT IN (${MYSQL_SYSTEM_SCHEMAS.map((s) => `'${s}'`).join(', ')})
      AND TABLE_TYPE IN ('BASE TABLE', 'VIEW', 'SYSTEM VERSIONED')`);
  const mapper = new NameMapper(mappings);
  const byName = (a: { s: string; t: string }, b: { s: string; t: string }) =>
    Buffer.compare(Buffer.from(`${a.s}\u0000${a.t}`), Buffer.from(`${b.s}\u0000${b.t}`));
  return rows
    .sort(byName)
    .filter((r) => isSelected(mappings, { schema: r.s, table: r.t }, r.k))
    .map((r) => ({ source: { schema: r.s, table: r.t }, target: mapper.table({ schema: r.s, table: r.t }), kind: r.k }));
}

/** Reads a table's shape, or undefined when it does not exist. */
export async function describeMySqlTable(session: MySqlSession, name: TableName): Promise<MySqlTableShape | undefined> {
  const tables = await session.query<{ rows: string | null; ai: string | null; engine: string | null }>(
    'SELECT TABLE_ROWS AS `rows`, AUTO_INCREMENT AS ai, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [name.schema, name.table]);
  if (tables.length === 0) return undefined;
  const columns = await session.query<Record<string, string | null>>(`
    SELECT COLUMN_NAME AS name, LOWER(DATA_TYPE) AS dt, LOWER(COLUMN_TYPE) AS ct, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS co,
           IS_NULLABLE AS nullable, LOWER(EXTRA) AS extra, NUMERIC_PRECISION AS np, NUMERIC_SCALE AS ns,
           DATETIME_PRECISION AS dp, CHARACTER_MAXIMUM_LENGTH AS ml
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, [name.schema, name.table]);
  const stats = await session.query<{ idx: string; nu: string; col: string; sub: string | null }>(`
    SELECT INDEX_NAME AS idx, NON_UNIQUE AS nu, COLUMN_NAME AS col, SUB_PART AS sub
    FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`, [name.schema, name.table]);
  const num = (v: string | null | undefined) => (v === null || v === undefined ? undefined : Number(v));
  const indexes = new Map<string, { columns: string[]; unique: boolean; prefix: boolean }>();
  for (const s of stats) {
    const entry = indexes.get(s.idx) ?? { columns: [], unique: String(s.nu) === '0', prefix: false };
    entry.columns.push(s.col);
    if (s.sub !== null) entry.prefix = true;
    indexes.set(s.idx, entry);
  }
  const uniqueIndexes: MySqlIndex[] = [...indexes.entries()]
    .filter(([, i]) => i.unique)
    .map(([n, i]) => ({ name: n, primary: n === 'PRIMARY', columns: i.columns, prefix: i.prefix }));
  const primary = uniqueIndexes.find((i) => i.primary);
  return {
    name,
    columns: columns.map((c) => ({
      name: c.name!,
      dataType: c.dt!,
      columnType: c.ct!,
      unsigned: / unsigned/.test(c.ct!),
      ...(c.cs ? { charset: c.cs } : {}),
      ...(c.co ? { collation: c.co } : {}),
      nullable: c.nullable === 'YES',
      autoIncrement: /auto_increment/.test(c.extra ?? ''),
      generated: /generated|virtual|persistent|stored/.test(c.extra ?? ''),
      numericPrecision: num(c.np),
      numericScale: num(c.ns),
      datetimePrecision: num(c.dp),
      maxLength: num(c.ml),
    })),
    primaryKey: primary?.columns ?? [],
    uniqueIndexes,
    estimatedRows: Number(tables[0].rows ?? 0),
    ...(tables[0].ai !== null ? { autoIncrement: String(tables[0].ai) } : {}),
    ...(tables[0].engine ? { engine: tables[0].engine } : {}),
  };
}

/** Exact row count. */
export async function countMySqlRows(session: MySqlSession, name: TableName): Promise<number> {
  const [row] = await session.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${'`'}${name.schema.replace(/`/g, '``')}${'`'}.${'`'}${name.table.replace(/`/g, '``')}${'`'}`);
  return Number(row.n);
}
