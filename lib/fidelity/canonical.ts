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

/** A key column compared with the C collation, so both sides order and range text keys identically. */
export function keyOperand(column: ColumnInfo): string {
  return column.collatable ? `${ident(column.name)} collate "C"` : ident(column.name);
}

/** A `$n::type` placeholder for a key value on this side, C collation for text. */
export function keyParam(column: ColumnInfo, n: number): string {
  return column.collatable ? `$${n}::${column.castType} collate "C"` : `$${n}::${column.castType}`;
}
