import { ColumnInfo } from './catalog';

/**
 * Built-in types AWS DMS moves as LOBs from a PostgreSQL source: TEXT, BYTEA, JSON, JSONB, XML,
 * HSTORE, TSVECTOR, TSQUERY, CITEXT, plus every array, composite and geometric type and VARCHAR
 * without a length.
 */
const LOB_TYPES = new Set(['text', 'bytea', 'json', 'jsonb', 'xml', 'hstore', 'tsvector', 'tsquery', 'citext']);

/** Whether DMS handles the column as a LOB (subject to `SupportLobs` and `LobMaxSize`). */
export function isLobColumn(column: ColumnInfo): boolean {
  if (LOB_TYPES.has(column.typname)) return true;
  if (column.typcategory === 'A') return true; // arrays
  if (column.typtype === 'c') return true; // composite
  if (column.typcategory === 'G') return true; // point, line, lseg, box, path, polygon, circle
  if (column.typname === 'varchar' && column.typmod < 0) return true; // varchar without length
  return false;
}

/** Types a DMS full load or CDC from PostgreSQL cannot carry at all. */
const UNSUPPORTED_TYPES = new Set(['tinterval', 'reltime', 'abstime']);

/** Why DMS cannot migrate the column's type, or undefined when it can. */
export function unsupportedReason(column: ColumnInfo): string | undefined {
  if (UNSUPPORTED_TYPES.has(column.typname)) return `type ${column.type} is not supported by AWS DMS`;
  if (column.typtype === 'p') return `pseudo-type ${column.type} cannot be migrated`;
  return undefined;
}

/**
 * How DMS changes the column's type when it creates the target table itself (homogeneous
 * PostgreSQL migrations keep types except these), or undefined when the type is kept.
 */
export function convertedType(column: ColumnInfo): string | undefined {
  if (column.typtype === 'e') return 'a character string (the enum type is not recreated)';
  if (column.typtype === 'c') return 'a character string (the composite type is not recreated)';
  if (column.typname === 'numeric' && column.typmod < 0) return 'numeric(28,6)';
  return undefined;
}

/** Whether the column's type comes from an extension or a user schema that DMS does not know. */
export function isUnknownBaseType(column: ColumnInfo): boolean {
  return column.typtype === 'b' && column.typschema !== 'pg_catalog' && !LOB_TYPES.has(column.typname);
}
