import { ColumnInfo } from './catalog';
import { ident } from './sql';

/** Options of the canonical row text. */
export interface CanonicalOptions {
  /**
   * Compare NUMERIC values by value rather than by text: `1.5`, `1.50` and `1.500` are equal.
   * DMS may create target columns with a different scale (NUMERIC without precision becomes
   * NUMERIC(28,6)), which pads values with zeros without changing them.
   * @default true
   */
  readonly normalizeNumericScale?: boolean;
}

/** Canonical options plus what both servers support. */
export interface CanonicalContext extends CanonicalOptions {
  /** Both servers have `trim_scale()` (PostgreSQL 13+). */
  readonly trimScale?: boolean;
  /** Both servers have `hash_record_extended()` (PostgreSQL 14+): rows are hashed column by column. */
  readonly recordHash?: boolean;
}

/**
 * The SQL expression giving a column's canonical value, for use inside `ROW(...)::text`.
 * Under the session settings of {@link CANONICAL_SETTINGS} equal values give equal text on both sides:
 *
 * - NULL and '' differ: the record text of NULL is empty, of '' it is `""`;
 * - text is compared byte for byte (both databases must use the same encoding);
 * - numeric: scale-normalized (see {@link CanonicalOptions.normalizeNumericScale}); money as numeric;
 * - json is turned into jsonb, whose text form is canonical (key order, whitespace, duplicate keys);
 * - timestamps with time zone are printed in UTC in ISO format; bytea in hex; floats exactly;
 * - enum, composite, array, range, xml and every other type by its text output.
 */
export function canonicalColumn(column: ColumnInfo, options: CanonicalContext = {}): string {
  const c = ident(column.name);
  if (column.typname === 'json') return `${c}::jsonb`;
  if (column.typname === 'money') return `${c}::numeric`;
  if (column.typname === 'numeric' && options.normalizeNumericScale !== false) {
    if (options.trimScale) return `trim_scale(${c})`;
    // trim_scale() needs PostgreSQL 13; this gives the same text everywhere
    return `(case when strpos(${c}::text, '.') > 0 then rtrim(rtrim(${c}::text, '0'), '.') else ${c}::text end)`;
  }
  if (column.typname === 'bpchar') return `${c}::text`;
  return c;
}

/** `ROW(c1, c2, ...)::text`: the canonical text of a whole row over `columns`. */
export function canonicalRow(columns: readonly ColumnInfo[], options: CanonicalContext = {}): string {
  if (columns.length === 0) return '\'\'::text';
  return `row(${columns.map((c) => canonicalColumn(c, options)).join(', ')})::text`;
}

/** A 64-bit hash of the canonical row text, summed per range on each side. */
export function rowHash(columns: readonly ColumnInfo[], options: CanonicalContext = {}): string {
  return `hashtextextended(${canonicalRow(columns, options)}, 0)`;
}

/** How a column pair is hashed: by its type's own hash function, or through its canonical text. */
export type HashMode = 'typed' | 'text';

/** Families of built-in types whose values are hashed natively when both sides have a type of the family. */
const HASH_FAMILY: Readonly<Record<string, string>> = {
  int2: 'int2',
  int4: 'int4',
  int8: 'int8',
  bool: 'bool',
  date: 'date',
  uuid: 'uuid',
  oid: 'oid',
  time: 'time',
  timestamp: 'timestamp',
  timestamptz: 'timestamptz',
  bytea: 'bytea',
  numeric: 'numeric',
  text: 'string',
  varchar: 'string',
  bpchar: 'string',
  name: 'string',
};

/**
 * Whether a source/target column pair can be hashed with the type's own extended hash function
 * without hiding a difference the canonical text would show. Left out on purpose: float4/float8
 * (the hash equates -0 and 0), interval (`1 day` hashes like `24 hours`), json/jsonb (the hash ignores
 * the sign of numbers and repeats every 32 elements), arrays and ranges (dimensions and bounds are not
 * hashed), enums (hashed by OID, which differs between databases), and every type without a hash
 * function. Text types hash their bytes (C collation), numeric its value and, separately, its sign
 * (the numeric hash ignores the sign), int8 and timestamps their binary form (their hash folds 64 bits into 32).
 */
export function hashMode(source: ColumnInfo, target: ColumnInfo, options: CanonicalContext = {}): HashMode {
  if (!options.recordHash) return 'text';
  const family = HASH_FAMILY[source.typname];
  if (family === undefined || family !== HASH_FAMILY[target.typname]) return 'text';
  if (source.typcategory === 'A' || target.typcategory === 'A') return 'text';
  if (family === 'numeric' && options.normalizeNumericScale === false) return 'text';
  return 'typed';
}

/** The record elements a column contributes to {@link recordHash}. */
export function hashElements(column: ColumnInfo, mode: HashMode, options: CanonicalContext = {}): string[] {
  const c = ident(column.name);
  if (mode === 'text') return [`(${canonicalColumn(column, options)})::text collate "C"`];
  switch (HASH_FAMILY[column.typname]) {
    case 'string': return [`${c}::text collate "C"`];
    case 'int8': return [`int8send(${c}::pg_catalog.int8)`];
    case 'time': return [`time_send(${c}::pg_catalog.time)`];
    case 'timestamp': return [`timestamp_send(${c}::pg_catalog.timestamp)`];
    case 'timestamptz': return [`timestamptz_send(${c}::pg_catalog.timestamptz)`];
    // the numeric hash ignores the sign and gives NaN and both infinities the hash of NULL: add a class
    case 'numeric': return [`${c}::pg_catalog.numeric`, `case when ${c} < 0 then 1 when ${c} = 'NaN' then 2 when ${c} >= 0 then 0 end`];
    default: return [`${c}::pg_catalog.${column.typname}`];
  }
}

/**
 * The hash of a row's key, which seeds the hash of its other columns. A single integer key uses its
 * own hash (an int8 with its high half as the seed, so no two keys share an input); other keys a
 * record hash of their elements.
 */
export function keySeed(
  keys: readonly ColumnInfo[], keyModes: readonly HashMode[], options: CanonicalContext = {},
): { expr: string; simple: boolean } {
  if (keys.length === 1 && keyModes[0] === 'typed') {
    const k = ident(keys[0].name);
    if (keys[0].typname === 'int8') return { expr: `hashint8extended(${k}::pg_catalog.int8, ${k}::pg_catalog.int8 >> 32)`, simple: true };
    if (keys[0].typname === 'int4' || keys[0].typname === 'int2') return { expr: `hashint4extended(${k}::pg_catalog.int4, 0)`, simple: true };
  }
  return { expr: `hash_record_extended(row(${keys.flatMap((c, i) => hashElements(c, keyModes[i], options)).join(', ')}), 0)`, simple: false };
}

/** The numeric hash ignores the sign and gives NaN and both infinities one hash: this class tells them apart. */
function numericClass(c: string): string {
  return `case when ${c} < 0 then 1 when ${c} = 'NaN' then 2 when ${c} >= 0 then 0 end`;
}

/**
 * A column's own seeded hash function, for the families that have one callable from SQL without
 * folding its input (int8 gets its high half mixed into the seed). Undefined for the others, which
 * go through `hash_record_extended`.
 */
function seededHash(column: ColumnInfo, mode: HashMode, seed: string, options: CanonicalContext): string | undefined {
  const c = ident(column.name);
  if (mode === 'text') return `hashtextextended((${canonicalColumn(column, options)})::text collate "C", ${seed})`;
  switch (HASH_FAMILY[column.typname]) {
    case 'string': return `hashtextextended(${c}::text collate "C", ${seed})`;
    case 'int8': return `hashint8extended(${c}::pg_catalog.int8, ${seed} # (${c}::pg_catalog.int8 >> 32))`;
    case 'int4':
    case 'int2': return `hashint4extended(${c}::pg_catalog.int4, ${seed})`;
    case 'uuid': return `uuid_hash_extended(${c}::pg_catalog.uuid, ${seed})`;
    case 'numeric': return `hash_numeric_extended(${c}::pg_catalog.numeric, ${seed} # ${numericClass(c)})`;
    default: return undefined;
  }
}

/**
 * A 64-bit row hash built from each column's own hash (PostgreSQL 14+), seeded with the hash of the
 * row's key ({@link keySeed}); key columns take part through the seed only.
 *
 * With a single integer key, each column is hashed by its type's function with the key hash XOR a
 * per-column constant as the seed, and the column hashes are XORed (a NULL gives a per-column
 * constant instead); the remaining types go through one `hash_record_extended` with the key hash as
 * seed. Other keys hash every column with `hash_record_extended`. The record hash combines its
 * elements linearly (`h = 31 * h + element`): seeding every element with the key's hash is what makes
 * the sum over a range change when values move between rows.
 */
export function recordHash(
  columns: readonly ColumnInfo[], modes: readonly HashMode[],
  keys: readonly ColumnInfo[], keyModes: readonly HashMode[], options: CanonicalContext = {},
): string {
  if (keys.length === 0) throw new Error('recordHash needs key columns');
  const keyNames = new Set(keys.map((k) => k.name));
  const seed = keySeed(keys, keyModes, options);
  const terms: string[] = [];
  const elements: string[] = [];
  columns.forEach((c, i) => {
    if (keyNames.has(c.name)) return;
    const constant = String(1_000_003 * (i + 1));
    const term = seed.simple ? seededHash(c, modes[i], `(${seed.expr} # ${constant})`, options) : undefined;
    if (term) terms.push(`coalesce(${term}, ${constant})`);
    else elements.push(...hashElements(c, modes[i], options));
  });
  if (elements.length > 0) terms.push(`hash_record_extended(row(${elements.join(', ')}), ${seed.expr})`);
  return terms.length === 0 ? seed.expr : `(${terms.join(' # ')})`;
}

/** A key column compared with the C collation, so both sides order and range text keys identically. */
export function keyOperand(column: ColumnInfo): string {
  return column.collatable ? `${ident(column.name)} collate "C"` : ident(column.name);
}

/** A `$n::type` placeholder for a key value on this side, C collation for text. */
export function keyParam(column: ColumnInfo, n: number): string {
  return column.collatable ? `$${n}::${column.castType} collate "C"` : `$${n}::${column.castType}`;
}
