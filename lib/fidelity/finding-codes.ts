/**
 * Every code a preflight finding can have. Kept free of imports: the constructs check
 * `acknowledgedFindings` against it at synth time without loading the database client.
 */
export const PREFLIGHT_FINDING_CODES = [
  'NO_PRIMARY_KEY',
  'ARRAY_WITHOUT_PK',
  'LOB_COLUMN_DROPPED',
  'LOB_TRUNCATED',
  'LOB_COLUMN',
  'UNSUPPORTED_TYPE',
  'UNKNOWN_TYPE',
  'TYPE_CONVERTED',
  'NUMERIC_PRECISION_LOSS',
  'WAL_LEVEL',
  'MAX_REPLICATION_SLOTS',
  'MAX_WAL_SENDERS',
  'WAL_SENDER_TIMEOUT',
  'REPLICATION_PRIVILEGE',
  'REPLICATION_SLOT',
  'TARGET_TABLE_MISSING',
  'TARGET_COLUMN_MISSING',
  'TARGET_COLUMN_TYPE',
  'TARGET_COLUMN_REQUIRED',
  'TARGET_COLUMN_EXTRA',
  'TARGET_NOT_EMPTY',
  'TABLE_NOT_FOUND',
  'NO_TABLES_SELECTED',
  'TARGET_CONNECTIONS',
  'TARGET_STORAGE',
  'TARGET_STORAGE_UNCHECKED',
  // MySQL-compatible sources (docs/mysql-sources.md)
  'MYSQL_ZERO_DATE',
  'MYSQL_UNSIGNED_OVERFLOW',
  'MYSQL_TINYINT_BOOLEAN',
  'MYSQL_ENUM_SET',
  'MYSQL_UTF8MB3',
  'MYSQL_CASE_INSENSITIVE_UNIQUE',
  'MYSQL_TRAILING_SPACE_UNIQUE',
  'MYSQL_DATETIME',
  'MYSQL_TIME_ZONE',
  'MYSQL_FLOAT',
  'MYSQL_UNSUPPORTED_TYPE',
  'MYSQL_BINLOG',
  'MYSQL_BINLOG_FORMAT',
  'MYSQL_BINLOG_ROW_IMAGE',
  'MYSQL_BINLOG_RETENTION',
  'MYSQL_REPLICATION_PRIVILEGE',
] as const;

/** A preflight finding code. */
export type PreflightFindingCode = typeof PREFLIGHT_FINDING_CODES[number];

/** Whether `code` is a preflight finding code. */
export function isPreflightFindingCode(code: string): code is PreflightFindingCode {
  return (PREFLIGHT_FINDING_CODES as readonly string[]).includes(code);
}

/**
 * The entries of `codes` that are not preflight finding codes, in their order, without repeats.
 * `isUnresolved` skips values only known at deploy time.
 */
export function unknownFindingCodes(codes: readonly string[], isUnresolved: (code: string) => boolean = () => false): string[] {
  const unknown: string[] = [];
  for (const code of codes) {
    if (isUnresolved(code) || isPreflightFindingCode(code) || unknown.includes(code)) continue;
    unknown.push(code);
  }
  return unknown;
}

/** The message for acknowledged codes that do not exist: names them and lists the known codes. */
export function unknownFindingCodesMessage(unknown: readonly string[]): string {
  const names = unknown.map((c) => `'${c}'`).join(', ');
  return `acknowledgedFindings lists ${unknown.length === 1 ? 'a code' : 'codes'} no preflight finding has: ${names}. `
    + `Known codes: ${PREFLIGHT_FINDING_CODES.join(', ')}.`;
}
