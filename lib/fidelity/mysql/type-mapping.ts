import { MySqlColumn } from './catalog';
import { mident } from './connection';
import { ColumnInfo } from '../catalog';
import { ident } from '../sql';

/**
 * How AWS DMS carries a MySQL column into a PostgreSQL table it creates: the MySQL type, the DMS
 * type it reads it as ("Source data types for MySQL"), and the PostgreSQL type DMS creates for that
 * ("Target data types for PostgreSQL"). Schema Conversion may create other types; see
 * {@link SCHEMA_CONVERSION_TYPES}.
 */
export interface DmsTypeMapping {
  /** The MySQL type (as `DATA_TYPE`, with `unsigned` or a length where it matters). */
  readonly mysql: string;
  readonly dms: string;
  readonly postgres: string;
}

/** The mapping of DMS's documentation, one row per MySQL type (`n`: the column's length). */
export const DMS_MYSQL_TO_POSTGRES: readonly DmsTypeMapping[] = [
  { mysql: 'tinyint', dms: 'INT1', postgres: 'smallint' },
  { mysql: 'tinyint unsigned', dms: 'UINT1', postgres: 'smallint' },
  { mysql: 'smallint', dms: 'INT2', postgres: 'smallint' },
  { mysql: 'smallint unsigned', dms: 'UINT2', postgres: 'integer' },
  { mysql: 'mediumint', dms: 'INT4', postgres: 'integer' },
  { mysql: 'mediumint unsigned', dms: 'UINT4', postgres: 'bigint' },
  { mysql: 'int', dms: 'INT4', postgres: 'integer' },
  { mysql: 'int unsigned', dms: 'UINT4', postgres: 'bigint' },
  { mysql: 'bigint', dms: 'INT8', postgres: 'bigint' },
  { mysql: 'bigint unsigned', dms: 'UINT8', postgres: 'bigint' },
  { mysql: 'decimal(p,s)', dms: 'NUMERIC(p,s)', postgres: 'numeric(p,s)' },
  { mysql: 'float', dms: 'REAL8', postgres: 'double precision' },
  { mysql: 'double', dms: 'REAL8', postgres: 'double precision' },
  { mysql: 'bit(1)', dms: 'BOOLEAN', postgres: 'boolean' },
  { mysql: 'bit(n)', dms: 'BYTES(8)', postgres: 'bytea' },
  { mysql: 'date', dms: 'DATE', postgres: 'date' },
  { mysql: 'datetime', dms: 'DATETIME', postgres: 'timestamp' },
  { mysql: 'timestamp', dms: 'DATETIME', postgres: 'timestamp' },
  { mysql: 'time', dms: 'STRING', postgres: 'varchar' },
  { mysql: 'year', dms: 'INT2', postgres: 'smallint' },
  { mysql: 'char(n), varchar(n)', dms: 'WSTRING(n)', postgres: 'varchar(n)' },
  { mysql: 'tinytext', dms: 'WSTRING(255)', postgres: 'varchar(255)' },
  { mysql: 'text', dms: 'WSTRING(65535)', postgres: 'varchar(65535)' },
  { mysql: 'mediumtext, longtext (MariaDB json)', dms: 'NCLOB', postgres: 'text' },
  { mysql: 'enum, set', dms: 'WSTRING(n)', postgres: 'varchar(n)' },
  { mysql: 'json (MySQL)', dms: 'CLOB', postgres: 'text' },
  { mysql: 'binary(n), varbinary(n), tinyblob, blob', dms: 'BYTES(n)', postgres: 'bytea' },
  { mysql: 'mediumblob, longblob', dms: 'BLOB', postgres: 'bytea' },
];

/**
 * PostgreSQL types (`pg_type.typname`) a MySQL column may arrive as: DMS's own mapping or DMS
 * Schema Conversion's (e.g. `tinyint(1)` as `boolean`, `bigint unsigned` as `numeric(20)`, `json`
 * as `json` or `jsonb`, `enum` as a PostgreSQL enum or `varchar`). Any other target type is a type change.
 */
export const SCHEMA_CONVERSION_TYPES: Readonly<Record<string, readonly string[]>> = {
  integer: ['int2', 'int4', 'int8', 'numeric'],
  boolean: ['bool', 'int2', 'int4', 'int8', 'numeric'],
  decimal: ['numeric'],
  float: ['float4', 'float8', 'numeric'],
  bits: ['bytea', 'bit', 'varbit', 'int8', 'numeric'],
  date: ['date', 'timestamp', 'timestamptz'],
  datetime: ['timestamp', 'timestamptz'],
  time: ['time', 'varchar', 'text'],
  text: ['varchar', 'text', 'bpchar', 'citext', 'name'],
  json: ['json', 'jsonb', 'text', 'varchar'],
  binary: ['bytea'],
};

/** How a MySQL column's values are compared: the family of its canonical text. */
export type ValueFamily = 'integer' | 'boolean' | 'decimal' | 'float' | 'bits' | 'date' | 'datetime' | 'time' | 'text' | 'json' | 'binary' | 'unsupported';

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'year']);
const TEXT_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);
const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/** The family of a MySQL column (`tinyint(1)` and `bit(1)` are booleans; spatial types are not compared). */
export function valueFamily(column: MySqlColumn): ValueFamily {
  const t = column.dataType;
  if (t === 'tinyint' && /^tinyint\(1\)/.test(column.columnType)) return 'boolean';
  if (t === 'bit') return column.columnType === 'bit(1)' ? 'boolean' : 'bits';
  if (INTEGER_TYPES.has(t)) return 'integer';
  if (t === 'decimal' || t === 'numeric') return 'decimal';
  if (t === 'float' || t === 'double' || t === 'real') return 'float';
  if (t === 'date') return 'date';
  if (t === 'datetime' || t === 'timestamp') return 'datetime';
  if (t === 'time') return 'time';
  if (t === 'json') return 'json';
  if (TEXT_TYPES.has(t)) return 'text';
  if (BINARY_TYPES.has(t)) return 'binary';
  return 'unsupported';
}

/** The PostgreSQL type DMS creates for a MySQL column (DDL), following {@link DMS_MYSQL_TO_POSTGRES}. */
export function dmsPostgresType(column: MySqlColumn): string {
  const t = column.dataType;
  const length = (n: number | undefined) => Math.max(1, Math.min(n ?? 1, 65535));
  switch (t) {
    case 'tinyint': return 'smallint';
    case 'smallint': return column.unsigned ? 'integer' : 'smallint';
    case 'mediumint': return column.unsigned ? 'bigint' : 'integer';
    case 'int': case 'integer': return column.unsigned ? 'bigint' : 'integer';
    case 'bigint': return 'bigint';
    case 'year': return 'smallint';
    case 'decimal': case 'numeric': return `numeric(${column.numericPrecision ?? 10},${column.numericScale ?? 0})`;
    case 'float': case 'double': case 'real': return 'double precision';
    case 'bit': return column.columnType === 'bit(1)' ? 'boolean' : 'bytea';
    case 'date': return 'date';
    case 'datetime': case 'timestamp': return 'timestamp';
    // DMS reads TIME as a string: '-838:59:59.000000' at the longest
    case 'time': return 'varchar(17)';
    case 'char': case 'varchar': case 'enum': case 'set': return `varchar(${length(column.maxLength)})`;
    case 'tinytext': return 'varchar(255)';
    case 'text': return 'varchar(65535)';
    case 'mediumtext': case 'longtext': case 'json': return 'text';
    default: return 'bytea';
  }
}

/** How one column pair is compared: the canonical text on each side, equal for equal values. */
export interface ColumnComparison {
  readonly family: ValueFamily;
  /** SQL on the MySQL side. */
  readonly mysql: string;
  /** SQL on the PostgreSQL side. */
  readonly postgres: string;
  /** A limit of this comparison worth a warning (e.g. MariaDB's JSON text against jsonb). */
  readonly warning?: string;
}

/** Significant digits floats are compared at: FLOAT (or a float4 target) 6, DOUBLE 15. */
export function floatDigits(column: MySqlColumn, target: ColumnInfo): number {
  return column.dataType === 'float' || target.typname === 'float4' ? 6 : 15;
}

/** The scale of a numeric column (undefined without one). */
function numericScale(column: ColumnInfo): number | undefined {
  // typmod: (precision << 16 | scale) + 4
  return column.typname === 'numeric' && column.typmod >= 4 ? (column.typmod - 4) % 65536 : undefined;
}

/** Text with trailing zeros of the fraction removed (`1.50` → `1.5`, `2.00` → `2`), in MySQL. */
function mysqlTrimScale(x: string): string {
  return `IF(LOCATE('.', ${x}) > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${x})), ${x})`;
}

function pgTrimScale(x: string): string {
  return `(case when strpos(${x}, '.') > 0 then rtrim(rtrim(${x}, '0'), '.') else ${x} end)`;
}

/** A float rounded to `d` significant digits, as `<integer mantissa>e<exponent>`: computed alike by both engines (libm's log10, pow and rint). */
function mysqlFloat(c: string, d: number): string {
  const e = `FLOOR(LOG10(ABS(${c})))`;
  return `IF(${c} = 0, '0', CONCAT(CAST(ROUND(${c} / POW(10, ${e} - ${d - 1})) AS SIGNED), 'e', ${e}))`;
}

function pgFloat(c: string, d: number): string {
  const x = `(${c})::float8`;
  const e = `floor(log10(abs(${x})))`;
  return `(case when ${x} = 0 then '0' else round(${x} / power(10::float8, ${e} - ${d - 1}))::int8::text || 'e' || ${e}::int8::text end)`;
}

/** A string column as UTF-8 text (the bytes PostgreSQL holds), whatever its character set. */
export function mysqlUtf8(column: MySqlColumn): string {
  const c = mident(column.name);
  return !column.charset || /^(utf8mb4|utf8|utf8mb3|ascii)$/.test(column.charset) ? c : `CONVERT(${c} USING utf8mb4)`;
}

/**
 * The canonical text of a MySQL column and of the PostgreSQL column it arrived in, or a reason why
 * the pair is a type change (the target's type is not one DMS or Schema Conversion creates for it).
 */
export function compareColumn(column: MySqlColumn, target: ColumnInfo, mariaDb: boolean): ColumnComparison | { readonly typeChange: string } {
  const family = valueFamily(column);
  const c = mident(column.name);
  const p = ident(target.name);
  const typname = target.typtype === 'e' ? 'varchar' : target.typname;
  if (family === 'unsupported') return { typeChange: `${column.columnType} is not compared (spatial and other types DMS moves as bytes)` };
  // MariaDB's JSON is LONGTEXT: compared as text, and with the JSON types too
  const accepted = family === 'text' && column.dataType === 'longtext' ? [...SCHEMA_CONVERSION_TYPES.text, 'json', 'jsonb'] : SCHEMA_CONVERSION_TYPES[family];
  if (!accepted.includes(typname)) return { typeChange: `${target.type} is not a type ${column.columnType} arrives as` };
  const fraction = (digits: number | undefined) => (digits && digits > 0 ? (digits >= 6 ? '' : '0'.repeat(6 - digits)) : '.000000');
  switch (family) {
    case 'integer':
      // numbers as text: implicitly (CONCAT_WS turns them into their decimal text), so as cheaply as can be
      return { family, mysql: c, postgres: typname === 'numeric' && numericScale(target) !== 0 ? pgTrimScale(`${p}::text`) : `${p}::text` };
    case 'boolean': {
      const mysql = `CASE WHEN ${c} IS NULL THEN NULL WHEN ${c} = 0 THEN '0' WHEN ${c} = 1 THEN '1' ELSE CONCAT('?', CAST(${c} + 0 AS CHAR)) END`;
      if (typname === 'bool') return { family, mysql, postgres: `(case when ${p} then '1' when not ${p} then '0' end)` };
      // tinyint(1) into an integer column: its number
      return { family, mysql: `CAST(${c} + 0 AS CHAR)`, postgres: typname === 'numeric' ? pgTrimScale(`${p}::text`) : `${p}::text` };
    }
    case 'decimal':
      // the same scale on both sides (DMS keeps it) prints the same digits; otherwise trailing zeros are dropped on both
      return numericScale(target) === (column.numericScale ?? 0)
        ? { family, mysql: c, postgres: `${p}::text` }
        : { family, mysql: mysqlTrimScale(`CAST(${c} AS CHAR)`), postgres: pgTrimScale(`${p}::text`) };
    case 'float': {
      const d = floatDigits(column, target);
      return { family, mysql: mysqlFloat(c, d), postgres: pgFloat(p, d) };
    }
    case 'bits': {
      const mysql = `CAST(${c} + 0 AS CHAR)`;
      if (typname === 'bytea') return { family, mysql, postgres: `(('x' || lpad(encode(${p}, 'hex'), 16, '0'))::bit(64)::int8)::text` };
      if (typname === 'bit' || typname === 'varbit') return { family, mysql, postgres: `(lpad(${p}::text, 64, '0')::bit(64)::int8)::text` };
      return { family, mysql, postgres: `${p}::text` };
    }
    case 'date':
      return typname === 'date'
        ? { family, mysql: c, postgres: `${p}::text` }
        : { family, mysql: `CONCAT(CAST(${c} AS CHAR), ' 00:00:00.000000')`, postgres: `to_char(${p}, 'YYYY-MM-DD HH24:MI:SS.US')` };
    case 'datetime':
      // whole seconds into timestamp: both print 'YYYY-MM-DD HH:MM:SS' (the sessions pin ISO dates)
      if (!column.datetimePrecision && typname === 'timestamp') return { family, mysql: c, postgres: `${p}::text` };
      return { family, mysql: `CONCAT(CAST(${c} AS CHAR), '${fraction(column.datetimePrecision)}')`, postgres: `to_char(${p}, 'YYYY-MM-DD HH24:MI:SS.US')` };
    case 'time':
      return typname === 'time'
        ? { family, mysql: `CONCAT(CAST(${c} AS CHAR), '${fraction(column.datetimePrecision)}')`, postgres: `to_char(date '2000-01-01' + ${p}, 'HH24:MI:SS.US')` }
        : { family, mysql: `CAST(${c} AS CHAR)`, postgres: `${p}::text` };
    case 'json':
      // MySQL's JSON is binary: its text is normalized (keys sorted as jsonb sorts them); DMS writes that text
      return { family, mysql: `CAST(${c} AS CHAR)`, postgres: typname === 'jsonb' ? `${p}::text` : `${p}::jsonb::text` };
    case 'binary':
      return { family, mysql: `HEX(${c})`, postgres: `upper(encode(${p}, 'hex'))` };
    default: {
      const warning = mariaDb && typname === 'jsonb'
        ? `${column.name}: MariaDB keeps JSON as the text written, jsonb as its normalized form: documents whose text is not in jsonb's form (key order, spacing) show as different`
        : undefined;
      return { family: 'text', mysql: mysqlUtf8(column), postgres: `${p}::text`, ...(warning ? { warning } : {}) };
    }
  }
}

/**
 * How a key column's values are compared and ordered alike on both sides, or undefined when its
 * type has no such order (floats, JSON, bits): the table is then compared as a whole.
 * Strings compare as UTF-8 bytes (PostgreSQL's C collation, MySQL's binary cast), whatever the
 * column's collation; integers, decimals, dates and times by value.
 */
export interface KeyComparison {
  /** The key as MySQL orders it. */
  readonly mysql: string;
  /** A bound value (the key's canonical text) as a MySQL expression, `?` standing for it. */
  readonly mysqlParam: string;
  readonly postgres: string;
  /** The bound as a PostgreSQL expression, `$n` standing for it. */
  readonly postgresParam: (n: number) => string;
  /** Integer keys: the first pass buckets them with MySQL's INTERVAL(). */
  readonly integer: boolean;
}

export function keyComparison(column: MySqlColumn, target: ColumnInfo): KeyComparison | undefined {
  const family = valueFamily(column);
  const c = mident(column.name);
  const p = ident(target.name);
  const pgCast = (type: string) => (n: number) => `$${n}::${type}`;
  switch (family) {
    case 'integer':
      return { mysql: c, mysqlParam: 'CAST(? AS DECIMAL(20,0))', postgres: p, postgresParam: pgCast(target.castType), integer: true };
    case 'decimal':
      return { mysql: c, mysqlParam: 'CAST(? AS DECIMAL(65,30))', postgres: p, postgresParam: pgCast('numeric'), integer: false };
    case 'date':
      return target.typname === 'date' ? { mysql: c, mysqlParam: 'CAST(? AS DATE)', postgres: p, postgresParam: pgCast('date'), integer: false } : undefined;
    case 'datetime':
      return { mysql: c, mysqlParam: 'CAST(? AS DATETIME(6))', postgres: p, postgresParam: pgCast(target.castType), integer: false };
    case 'text':
      if (target.typtype === 'e') return undefined;
      return {
        mysql: `CAST(${mysqlUtf8(column)} AS BINARY)`,
        mysqlParam: 'CAST(CONVERT(? USING utf8mb4) AS BINARY)',
        postgres: `${p}::text collate "C"`,
        postgresParam: (n) => `$${n}::text collate "C"`,
        integer: false,
      };
    case 'binary':
      return { mysql: c, mysqlParam: 'UNHEX(?)', postgres: p, postgresParam: (n) => `decode($${n}, 'hex')`, integer: false };
    default:
      return undefined;
  }
}
