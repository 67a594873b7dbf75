import { Session } from './connection';
import { TableName } from './selection';
import { arrayLiteral, qualified } from './sql';

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
  const regclass = qualified(name.schema, name.table);
  // one round trip: the three statements travel together
  const [rel, columnRows, pkRows] = await session.queryAll([
    {
      text: `select c.oid::int8 as oid, c.relreplident::text as replident, c.reltuples::float8 as reltuples
        from pg_catalog.pg_class c where c.oid = to_regclass($1)`,
      params: [regclass],
    },
    {
      text: `
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
    where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
    order by a.attnum`,
      params: [regclass],
    },
    {
      text: `
    select a.attname as name
    from pg_catalog.pg_index i
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = to_regclass($1) and i.indisprimary
    order by k.ord`,
      params: [regclass],
    },
  ]);
  if (rel.length === 0) return undefined;
  const columns = columnRows as Array<{
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
  }>;
  const pk = pkRows as Array<{ name: string }>;
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

/*
 * Schema objects, for comparing the definitions of two databases. Every query runs with
 * search_path = pg_catalog, so that both servers write every name schema-qualified.
 */

const QUALIFIED_NAMES = { search_path: 'pg_catalog' };

/** A column's definition. */
export interface ColumnDefinition {
  readonly name: string;
  /** `format_type()`: `numeric(12,2)`, `app.mood`. */
  readonly type: string;
  readonly notNull: boolean;
  /** The default expression as the server writes it: `nextval('app.orders_id_seq'::regclass)`. */
  readonly default?: string;
  /** `a` generated always, `d` by default, empty: not an identity column. */
  readonly identity: string;
  /** `s` stored generated column, empty otherwise. */
  readonly generated: string;
  /** The collation, when it is not the type's default. */
  readonly collation?: string;
  /** The user-defined type of the column (of its elements for an array), as `schema.name`. */
  readonly userType?: TableName;
}

/** An index: its definition without its name and table, `UNIQUE USING btree (lower(name))`. */
export interface IndexDefinition {
  readonly name: string;
  readonly definition: string;
}

/** A constraint: `PRIMARY KEY (id)`, `CHECK ((qty > 0))`, `FOREIGN KEY (customer_id) REFERENCES …`. */
export interface ConstraintDefinition {
  readonly name: string;
  /** `p` primary key, `u` unique, `f` foreign key, `c` check, `x` exclusion. */
  readonly type: string;
  /** `pg_get_constraintdef()`; for a foreign key, the referenced table's name is replaced by `{{ref}}`. */
  readonly definition: string;
  readonly validated: boolean;
  /** The table a foreign key references. */
  readonly references?: TableName;
}

/** A trigger: `pg_get_triggerdef()` with the table's name replaced by `{{table}}`. */
export interface TriggerDefinition {
  readonly name: string;
  readonly definition: string;
  /** `O` origin and local, `D` disabled, `R` replica, `A` always. */
  readonly enabled: string;
}

/** A sequence a column takes its values from (owned by it, or named by its default). */
export interface ColumnSequence {
  readonly column: string;
  readonly sequence: TableName;
}

/** The schema objects of one table. */
export interface TableObjects {
  readonly columns: readonly ColumnDefinition[];
  readonly indexes: readonly IndexDefinition[];
  readonly constraints: readonly ConstraintDefinition[];
  readonly triggers: readonly TriggerDefinition[];
  readonly sequences: readonly ColumnSequence[];
}

/** Reads a table's columns, indexes, constraints, triggers and sequences, or undefined when it does not exist. */
export async function describeTableObjects(session: Session, name: TableName): Promise<TableObjects | undefined> {
  const rel = await session.query<{ oid: number; qname: string }>(
    `select c.oid::int8 as oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) as qname
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.oid = to_regclass($1)`, [qualified(name.schema, name.table)], QUALIFIED_NAMES);
  if (rel.length === 0) return undefined;
  const { oid, qname } = rel[0];
  // one after the other: a session runs one query at a time
  const columns = await session.query<{
    name: string;
    type: string;
    notnull: boolean;
    def: string | null;
    identity: string;
    generated: string;
    collation: string | null;
    utschema: string | null;
    utname: string | null;
  }>(`
      select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
             pg_get_expr(d.adbin, d.adrelid) as def,
             coalesce(to_jsonb(a) ->> 'attidentity', '') as identity,
             coalesce(to_jsonb(a) ->> 'attgenerated', '') as generated,
             case when a.attcollation <> t.typcollation then quote_ident(cn.nspname) || '.' || quote_ident(co.collname) end as collation,
             un.nspname as utschema, ut.typname as utname
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_type t on t.oid = a.atttypid
      left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      left join pg_catalog.pg_collation co on co.oid = a.attcollation
      left join pg_catalog.pg_namespace cn on cn.oid = co.collnamespace
      left join pg_catalog.pg_type ut on ut.oid = case when t.typcategory = 'A' then t.typelem else t.oid end
        and (ut.typtype in ('e', 'd') or (ut.typtype = 'c' and (select relkind from pg_catalog.pg_class where oid = ut.typrelid) = 'c'))
        and not exists (select 1 from pg_catalog.pg_depend e where e.classid = 'pg_catalog.pg_type'::regclass and e.objid = ut.oid and e.deptype = 'e')
      left join pg_catalog.pg_namespace un on un.oid = ut.typnamespace and un.nspname not in ('pg_catalog', 'information_schema')
      where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
      order by a.attnum`, [oid], QUALIFIED_NAMES);
  const indexes = await session.query<{ name: string; def: string; unique: boolean; valid: boolean }>(`
      select ic.relname as name, pg_get_indexdef(i.indexrelid) as def, i.indisunique as unique, i.indisvalid as valid
      from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid = i.indexrelid
      where i.indrelid = $1 order by ic.relname collate "C"`, [oid], QUALIFIED_NAMES);
  const constraints = await session.query<{ name: string; type: string; def: string; validated: boolean; qref: string | null; refschema: string | null; reftable: string | null }>(`
      select k.conname as name, k.contype::text as type, pg_get_constraintdef(k.oid) as def, k.convalidated as validated,
             quote_ident(rn.nspname) || '.' || quote_ident(r.relname) as qref, rn.nspname as refschema, r.relname as reftable
      from pg_catalog.pg_constraint k
      left join pg_catalog.pg_class r on r.oid = k.confrelid and k.contype = 'f'
      left join pg_catalog.pg_namespace rn on rn.oid = r.relnamespace
      where k.conrelid = $1 and k.contype in ('p', 'u', 'f', 'c', 'x')
        -- constraints a partitioned table's constraint implies (on its partitions, or per referenced partition)
        and coalesce((to_jsonb(k) ->> 'conparentid')::oid, 0) = 0
      order by k.conname collate "C"`, [oid], QUALIFIED_NAMES);
  const triggers = await session.query<{ name: string; def: string; enabled: string }>(`
      select t.tgname as name, pg_get_triggerdef(t.oid) as def, t.tgenabled::text as enabled
      from pg_catalog.pg_trigger t
      where t.tgrelid = $1 and not t.tgisinternal
        -- triggers cloned from a partitioned table's trigger
        and coalesce((to_jsonb(t) ->> 'tgparentid')::oid, 0) = 0
      order by t.tgname collate "C"`, [oid], QUALIFIED_NAMES);
  const sequences = await session.query<{ column: string; schema: string; name: string }>(`
      select distinct a.attname as column, sn.nspname as schema, s.relname as name
      from pg_catalog.pg_depend d
      join pg_catalog.pg_class s on s.oid = d.objid and s.relkind = 'S'
      join pg_catalog.pg_namespace sn on sn.oid = s.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
      where d.classid = 'pg_catalog.pg_class'::regclass and d.refclassid = 'pg_catalog.pg_class'::regclass
        and d.refobjid = $1 and d.deptype in ('a', 'i')
      union
      select a.attname, sn.nspname, s.relname
      from pg_catalog.pg_attrdef ad
      join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_attrdef'::regclass and d.objid = ad.oid
        and d.refclassid = 'pg_catalog.pg_class'::regclass
      join pg_catalog.pg_class s on s.oid = d.refobjid and s.relkind = 'S'
      join pg_catalog.pg_namespace sn on sn.oid = s.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = ad.adrelid and a.attnum = ad.adnum
      where ad.adrelid = $1
      order by 1, 2, 3`, [oid], QUALIFIED_NAMES);
  const onTable = (def: string, prefix: string) => def.split(` ON ${prefix}${qname} `).join(` ON ${prefix}{{table}} `);
  return {
    columns: columns.map((c) => ({
      name: c.name,
      type: c.type,
      notNull: c.notnull,
      ...(c.def !== null ? { default: c.def } : {}),
      identity: c.identity,
      generated: c.generated,
      ...(c.collation !== null ? { collation: c.collation } : {}),
      ...(c.utschema !== null && c.utname !== null ? { userType: { schema: c.utschema, table: c.utname } } : {}),
    })),
    indexes: indexes.map((i) => {
      // `CREATE [UNIQUE] INDEX <name> ON [ONLY] <table> USING …`: keep what follows the table
      const using = i.def.indexOf(` ON ONLY ${qname} USING `) >= 0 ? ` ON ONLY ${qname} ` : ` ON ${qname} `;
      const at = i.def.indexOf(using);
      const rest = at >= 0 ? i.def.slice(at + using.length) : i.def;
      return { name: i.name, definition: `${i.unique ? 'UNIQUE ' : ''}${rest}${i.valid ? '' : ' (INVALID)'}` };
    }),
    constraints: constraints.map((k) => ({
      name: k.name,
      type: k.type,
      definition: k.qref ? k.def.split(` REFERENCES ${k.qref}(`).join(' REFERENCES {{ref}}(') : k.def,
      validated: k.validated,
      ...(k.refschema !== null && k.reftable !== null ? { references: { schema: k.refschema, table: k.reftable } } : {}),
    })),
    triggers: triggers.map((t) => ({ name: t.name, definition: onTable(onTable(t.def, ''), 'ONLY '), enabled: t.enabled })),
    sequences: sequences.map((s) => ({ column: s.column, sequence: { schema: s.schema, table: s.name } })),
  };
}

/** Where a sequence stands: the value its next `nextval` returns, and its increment. */
export interface SequencePosition {
  /** As text: sequences are 64-bit. */
  readonly next: string;
  readonly increment: string;
}

/** Reads a sequence's position, or undefined when it does not exist. */
export async function readSequencePosition(session: Session, name: TableName): Promise<SequencePosition | undefined> {
  const exists = await session.query<{ ok: boolean }>('select to_regclass($1) is not null as ok', [qualified(name.schema, name.table)]);
  if (!exists[0].ok) return undefined;
  const rows = await session.query<{ next: string; increment: string }>(`
    select (case when s.is_called then s.last_value::numeric + p.seqincrement else s.last_value::numeric end)::text as next,
           p.seqincrement::text as increment
    from ${qualified(name.schema, name.table)} s, pg_catalog.pg_sequence p
    where p.seqrelid = $1::regclass`, [qualified(name.schema, name.table)]);
  return rows[0];
}

/** The definition of a user-defined type: an enum's labels, a domain's base type and checks, a composite's attributes. */
export interface TypeDefinition {
  /** `e` enum, `d` domain, `c` composite. */
  readonly kind: string;
  readonly definition: string;
  /** A domain's base type, when it is user-defined too. */
  readonly baseUserType?: TableName;
}

/** Reads a user-defined type's definition, or undefined when it does not exist. */
export async function describeType(session: Session, name: TableName): Promise<TypeDefinition | undefined> {
  const rows = await session.query<{
    kind: string;
    base: string | null;
    notnull: boolean;
    def: string | null;
    labels: string[] | null;
    checks: string[] | null;
    attributes: string[] | null;
    bschema: string | null;
    bname: string | null;
  }>(`
    select t.typtype::text as kind,
           case when t.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end as base,
           t.typnotnull as notnull, t.typdefault as def,
           (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_catalog.pg_enum e where e.enumtypid = t.oid) as labels,
           (select array_agg(pg_get_constraintdef(k.oid) order by pg_get_constraintdef(k.oid)) from pg_catalog.pg_constraint k where k.contypid = t.oid) as checks,
           (select array_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) order by a.attnum)
              from pg_catalog.pg_attribute a where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped) as attributes,
           bn.nspname as bschema, bt.typname as bname
    from pg_catalog.pg_type t
    left join pg_catalog.pg_type bt on bt.oid = t.typbasetype and bt.typtype in ('e', 'd', 'c')
      and not exists (select 1 from pg_catalog.pg_depend e where e.classid = 'pg_catalog.pg_type'::regclass and e.objid = bt.oid and e.deptype = 'e')
    left join pg_catalog.pg_namespace bn on bn.oid = bt.typnamespace and bn.nspname not in ('pg_catalog', 'information_schema')
    where t.oid = to_regtype($1)`, [qualified(name.schema, name.table)], QUALIFIED_NAMES);
  if (rows.length === 0) return undefined;
  const r = rows[0];
  let definition: string;
  if (r.kind === 'e') {
    definition = `ENUM (${(r.labels ?? []).map((l) => `'${l.replace(/'/g, "''")}'`).join(', ')})`;
  } else if (r.kind === 'd') {
    definition = [r.base, r.notnull ? 'NOT NULL' : '', r.def !== null ? `DEFAULT ${r.def}` : '', ...(r.checks ?? [])].filter((p) => p).join(' ');
  } else {
    definition = `(${(r.attributes ?? []).join(', ')})`;
  }
  return {
    kind: r.kind,
    definition,
    ...(r.bschema !== null && r.bname !== null ? { baseUserType: { schema: r.bschema, table: r.bname } } : {}),
  };
}

/** A view or materialized view, and the relations it reads. */
export interface ViewInfo {
  readonly name: TableName;
  /** `v` view, `m` materialized view. */
  readonly kind: string;
  /** `pg_get_viewdef()`, whitespace collapsed. */
  readonly definition: string;
  /** Whether a materialized view holds data. */
  readonly populated: boolean;
  /**
   * The relations its query reads, outside pg_catalog and information_schema and not belonging to an
   * extension; a partition is named by its partitioned root table.
   */
  readonly reads: ReadonlyArray<TableName & { readonly kind: string }>;
}

/** Lists the views and materialized views of `schemas` (not belonging to an extension), sorted by name. */
export async function listViews(session: Session, schemas: readonly string[]): Promise<ViewInfo[]> {
  if (schemas.length === 0) return [];
  const rows = await session.query<{ oid: number; schema: string; name: string; kind: string; def: string; populated: boolean }>(`
    select c.oid::int8 as oid, n.nspname as schema, c.relname as name, c.relkind::text as kind,
           pg_get_viewdef(c.oid) as def, c.relispopulated as populated
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('v', 'm') and n.nspname = any($1::text[])
      and not exists (select 1 from pg_catalog.pg_depend e where e.classid = 'pg_catalog.pg_class'::regclass and e.objid = c.oid and e.deptype = 'e')
    order by n.nspname collate "C", c.relname collate "C"`, [arrayLiteral(schemas)], QUALIFIED_NAMES);
  if (rows.length === 0) return [];
  const reads = await session.query<{ view: number; schema: string; name: string; kind: string }>(`
    select distinct r.ev_class::int8 as view, rootn.nspname as schema, root.relname as name, root.relkind::text as kind
    from pg_catalog.pg_rewrite r
    join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
      and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> r.ev_class
    cross join lateral (
      with recursive up(oid, depth) as (
        select d.refobjid, 0
        union all
        select i.inhparent, up.depth + 1 from up join pg_catalog.pg_inherits i on i.inhrelid = up.oid
        join pg_catalog.pg_class pc on pc.oid = up.oid where pc.relispartition
      )
      select oid from up order by depth desc limit 1
    ) top
    join pg_catalog.pg_class root on root.oid = top.oid
    join pg_catalog.pg_namespace rootn on rootn.oid = root.relnamespace
    where r.ev_class = any($1::oid[])
      and rootn.nspname not in ('pg_catalog', 'information_schema')
      and not exists (select 1 from pg_catalog.pg_depend e where e.classid = 'pg_catalog.pg_class'::regclass and e.objid = root.oid and e.deptype = 'e')`,
  [`{${rows.map((r) => r.oid).join(',')}}`]);
  return rows.map((r) => ({
    name: { schema: r.schema, table: r.name },
    kind: r.kind,
    definition: r.def.replace(/\s+/g, ' ').trim(),
    populated: r.populated,
    reads: reads.filter((x) => Number(x.view) === Number(r.oid)).map((x) => ({ schema: x.schema, table: x.name, kind: x.kind })),
  }));
}

/** Reads one view or materialized view, or undefined when no view of that name exists. */
export async function describeView(session: Session, name: TableName): Promise<Omit<ViewInfo, 'reads'> | undefined> {
  const rows = await session.query<{ kind: string; def: string | null; populated: boolean }>(`
    select c.relkind::text as kind, case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end as def, c.relispopulated as populated
    from pg_catalog.pg_class c where c.oid = to_regclass($1)`, [qualified(name.schema, name.table)], QUALIFIED_NAMES);
  if (rows.length === 0) return undefined;
  return { name, kind: rows[0].kind, definition: (rows[0].def ?? '').replace(/\s+/g, ' ').trim(), populated: rows[0].populated };
}

/** The partitions of a partitioned table, at every level, sorted by name. */
export async function listPartitions(session: Session, name: TableName): Promise<TableName[]> {
  const rows = await session.query<{ schema: string; name: string }>(`
    with recursive down(oid) as (
      select to_regclass($1)::oid
      union
      select i.inhrelid from down join pg_catalog.pg_inherits i on i.inhparent = down.oid
      join pg_catalog.pg_class c on c.oid = i.inhrelid where c.relispartition
    )
    select n.nspname as schema, c.relname as name
    from down join pg_catalog.pg_class c on c.oid = down.oid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where down.oid <> to_regclass($1)::oid
    order by n.nspname collate "C", c.relname collate "C"`, [qualified(name.schema, name.table)]);
  return rows.map((r) => ({ schema: r.schema, table: r.name }));
}
