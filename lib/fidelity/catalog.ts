import { Session } from './connection';
import { TableName } from './selection';
import { qualified } from './sql';

/** What the checks need to know about one column. */
export interface ColumnInfo {
  readonly name: string;
  /** `format_type()` of the column, e.g. `character varying(20)`, `numeric(10,2)`, `text[]`. */
  readonly type: string;
  /** The type without modifiers, for casting values that came from the other database (`character varying`, `bpchar`). */
  readonly castType: string;
  /** `pg_type.typname` of the column's type, or of a domain's base type. */
  readonly typname: string;
  /** `pg_type.typtype` (b base, c composite, d domain, e enum, p pseudo, r range, m multirange) after resolving domains. */
  readonly typtype: string;
  /** `pg_type.typcategory` after resolving domains (A array, G geometric, N numeric, S string, …). */
  readonly typcategory: string;
  /** The schema of the (base) type: `pg_catalog` for built-in types. */
  readonly typschema: string;
  /** Element type name of an array column. */
  readonly elemTypname?: string;
  /** `atttypmod`: -1 when the type has no modifier (unbounded varchar, numeric without precision). */
  readonly typmod: number;
  readonly collatable: boolean;
  readonly notNull: boolean;
  readonly hasDefault: boolean;
}

/** A table's columns (in attribute order), primary key and size estimate. */
export interface TableShape {
  readonly name: TableName;
  readonly columns: readonly ColumnInfo[];
  /** Primary-key column names in key order (empty when there is none). */
  readonly primaryKey: readonly string[];
  /** `relreplident`: d default, n nothing, f full, i index. */
  readonly replicaIdentity: string;
  /** `pg_class.reltuples` (-1 or 0 when never analyzed). */
  readonly estimatedRows: number;
}

/** Reads a table's shape, or returns undefined when it does not exist. */
export async function describeTable(session: Session, name: TableName): Promise<TableShape | undefined> {
  const rel = await session.query<{ oid: number; replident: string; reltuples: number }>(
    `select c.oid::int8 as oid, c.relreplident::text as replident, c.reltuples::float8 as reltuples
     from pg_catalog.pg_class c where c.oid = to_regclass($1)`, [qualified(name.schema, name.table)]);
  if (rel.length === 0) return undefined;
  const oid = rel[0].oid;
  const columns = await session.query<{
    name: string;
    type: string;
    casttype: string;
    typname: string;
    typtype: string;
    typcategory: string;
    typschema: string;
    elem: string | null;
    typmod: number;
    collatable: boolean;
    notnull: boolean;
    hasdefault: boolean;
  }>(`
    select a.attname as name,
           format_type(a.atttypid, a.atttypmod) as type,
           case when t.typname = 'bpchar' then 'bpchar' else format_type(a.atttypid, null) end as casttype,
           coalesce(bt.typname, t.typname) as typname,
           coalesce(bt.typtype, t.typtype)::text as typtype,
           coalesce(bt.typcategory, t.typcategory)::text as typcategory,
           n.nspname as typschema,
           et.typname as elem,
           case when t.typtype = 'd' and a.atttypmod = -1 then t.typtypmod else a.atttypmod end as typmod,
           a.attcollation <> 0 as collatable,
           a.attnotnull as notnull,
           a.atthasdef as hasdefault
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_type t on t.oid = a.atttypid
    left join pg_catalog.pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
    join pg_catalog.pg_namespace n on n.oid = coalesce(bt.typnamespace, t.typnamespace)
    left join pg_catalog.pg_type et on et.oid = coalesce(bt.typelem, t.typelem) and coalesce(bt.typcategory, t.typcategory) = 'A'
    where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
    order by a.attnum`, [oid]);
  const pk = await session.query<{ name: string }>(`
    select a.attname as name
    from pg_catalog.pg_index i
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = $1 and i.indisprimary
    order by k.ord`, [oid]);
  return {
    name,
    columns: columns.map((c) => ({
      name: c.name,
      type: c.type,
      castType: c.casttype,
      typname: c.typname,
      typtype: c.typtype,
      typcategory: c.typcategory,
      typschema: c.typschema,
      elemTypname: c.elem ?? undefined,
      typmod: c.typmod,
      collatable: c.collatable,
      notNull: c.notnull,
      hasDefault: c.hasdefault,
    })),
    primaryKey: pk.map((r) => r.name),
    replicaIdentity: rel[0].replident,
    estimatedRows: rel[0].reltuples,
  };
}

/** Exact row count (used when statistics are missing). */
export async function countRows(session: Session, name: TableName): Promise<number> {
  const rows = await session.query<{ n: string }>(`select count(*) as n from ${qualified(name.schema, name.table)}`);
  return Number(rows[0].n);
}

/** Column lookup by name. */
export function columnByName(shape: TableShape, name: string): ColumnInfo | undefined {
  return shape.columns.find((c) => c.name === name);
}
