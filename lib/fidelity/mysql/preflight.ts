import { describeMySqlTable, MySqlColumn, MySqlTableShape, resolveMySqlTables } from './catalog';
import { MySqlSession, MySqlSessionSlots, mident, mqualified } from './connection';
import { dmsPostgresType, mysqlUtf8, valueFamily } from './type-mapping';
import { describeTable, TableShape } from '../catalog';
import { Session, SessionSlots } from '../connection';
import { PreflightFindingCode } from '../finding-codes';
import { targetConnectionFindings } from '../neon-capacity';
import { mapPool } from '../pool';
import { Finding, PreflightOptions, PreflightResult, Severity } from '../preflight';
import { defaultMappings, displayName, NameMapper, noTablesSelectedMessage, SelectedTable } from '../selection';
import { MySqlConnectionOptions } from '../source-engine';

/** Example keys listed per finding. */
const EXAMPLES = 5;

/** A finding whose code is one of the known codes (checked at compile time). */
function finding(f: Finding & { readonly code: PreflightFindingCode }): Finding {
  return f;
}

/** The range of the integer types of each side. */
const MYSQL_INTEGER_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  'tinyint': [-128n, 127n],
  'tinyint unsigned': [0n, 255n],
  'smallint': [-32768n, 32767n],
  'smallint unsigned': [0n, 65535n],
  'mediumint': [-8388608n, 8388607n],
  'mediumint unsigned': [0n, 16777215n],
  'int': [-2147483648n, 2147483647n],
  'int unsigned': [0n, 4294967295n],
  'bigint': [-9223372036854775808n, 9223372036854775807n],
  'bigint unsigned': [0n, 18446744073709551615n],
};
const POSTGRES_INTEGER_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int2: [-32768n, 32767n],
  smallint: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  integer: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
};

/** DMS's LOB types among MySQL's: NCLOB (MEDIUMTEXT, LONGTEXT), CLOB (JSON), BLOB (MEDIUMBLOB, LONGBLOB). */
const LOB_TYPES = new Set(['mediumtext', 'longtext', 'json', 'mediumblob', 'longblob']);

/** A collation that ignores case or accents (`_ci`, `_ai`): unique keys mean something else under PostgreSQL's default. */
function insensitive(collation: string | undefined): boolean {
  return collation !== undefined && /_(ci|ai)(_|$)/.test(collation);
}

/** One counted condition of a table's scan. */
interface Check {
  readonly code: PreflightFindingCode;
  readonly column: string;
  /** A MySQL condition true for each row concerned. */
  readonly condition: string;
  /** The finding, given the number of rows concerned (none: no finding). */
  readonly report: (rows: number) => { severity: Severity; message: string } | undefined;
}

interface TableContext {
  readonly table: SelectedTable;
  readonly source: MySqlSession;
  readonly target?: Session;
  readonly mapper: NameMapper;
  readonly cdc: boolean;
  readonly supportLobs: boolean;
  readonly fullLobMode: boolean;
  readonly lobMaxSizeKb: number;
  /** TIMESTAMP columns seen, for the time-zone check. */
  readonly timestampColumns: string[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
}

/** The target's type of a column: the pre-created table's, or the one DMS would create. */
function targetTypeOf(column: MySqlColumn, target: TableShape | undefined, targetName: string): { typname: string; type: string; given: boolean } {
  const existing = target?.columns.find((c) => c.name === targetName);
  if (existing) return { typname: existing.typname, type: existing.type, given: true };
  const type = dmsPostgresType(column);
  return { typname: type.replace(/\(.*$/, ''), type, given: false };
}

async function tableFindings(ctx: TableContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const table = displayName(ctx.table.source);
  const add = (severity: Severity, code: PreflightFindingCode, message: string, extra: Omit<Partial<Finding>, 'code'> = {}) =>
    findings.push(finding({ severity, code, table, ...extra, message }));
  const shape = await describeMySqlTable(ctx.source, ctx.table.source);
  if (!shape) {
    add('blocking', 'TABLE_NOT_FOUND', `Table ${table} was selected but no longer exists.`);
    return findings;
  }
  const isView = ctx.table.kind === 'v';
  if (shape.primaryKey.length === 0 && !isView) {
    if (ctx.cdc) {
      add('blocking', 'NO_PRIMARY_KEY', 'No primary key: under CDC DMS cannot apply the binary log\'s UPDATE and DELETE to a PostgreSQL table without a key, so the target silently diverges. Add a primary key.');
    } else {
      add('warning', 'NO_PRIMARY_KEY', 'No primary key: the full load copies it, but the verify step can only compare whole-table counts and checksums, and a later CDC phase could not apply UPDATE and DELETE.');
    }
  }
  const target = ctx.target ? await describeTable(ctx.target, ctx.table.target) : undefined;
  const from = mqualified(shape.name.schema, shape.name.table);
  const checks: Check[] = [];
  const lobColumns: MySqlColumn[] = [];
  const datetimeColumns: string[] = [];
  for (const column of shape.columns) {
    const targetName = ctx.mapper.column(ctx.table.source, column.name);
    if (targetName === undefined) continue;
    const c = mident(column.name);
    const family = valueFamily(column);
    const targetType = targetTypeOf(column, target, targetName);
    const where = targetType.given ? `the target column ${targetName} (${targetType.type})` : `${targetType.type}, the type DMS creates`;

    if (family === 'unsupported') {
      add('warning', 'MYSQL_UNSUPPORTED_TYPE', `${column.columnType}: DMS moves it as bytes (BLOB → bytea), not as a PostgreSQL type; verify does not compare it. Convert it (e.g. ST_AsText into a text column) or exclude it.`, { column: column.name });
    }
    // zero dates and dates with a zero month or day
    if (column.dataType === 'date' || column.dataType === 'datetime' || column.dataType === 'timestamp') {
      const text = `CAST(${c} AS CHAR)`;
      checks.push({
        code: 'MYSQL_ZERO_DATE',
        column: column.name,
        condition: `(${text} LIKE '0000-%' OR SUBSTRING(${text}, 6, 2) = '00' OR SUBSTRING(${text}, 9, 2) = '00')`,
        report: (n) => n === 0 ? undefined : {
          severity: 'blocking',
          message: `${plural(n, 'row')} hold a zero date (0000-00-00) or a date with a zero year, month or day, which PostgreSQL cannot hold: DMS writes NULL for them`
            + `${column.nullable ? '' : ' (and the column is NOT NULL, so those rows fail to load)'}. Fix: set them to NULL or a real date on the source, or map them with a transformation, before the load.`,
        },
      });
    }
    // integers beyond the target type's range (BIGINT UNSIGNED into bigint)
    if (family === 'integer' && column.dataType !== 'year') {
      const source = MYSQL_INTEGER_RANGE[`${column.dataType === 'integer' ? 'int' : column.dataType}${column.unsigned ? ' unsigned' : ''}`];
      const range = POSTGRES_INTEGER_RANGE[targetType.typname];
      if (source && range && (source[1] > range[1] || source[0] < range[0])) {
        checks.push({
          code: 'MYSQL_UNSIGNED_OVERFLOW',
          column: column.name,
          condition: `(${c} > ${range[1]} OR ${c} < ${range[0]})`,
          report: (n) => n === 0 ? undefined : {
            severity: 'blocking',
            message: `${plural(n, 'row')} hold values beyond ${where} (${range[0]} to ${range[1]}): they fail to load. `
              + 'Fix: pre-create the target column as numeric(20,0) (as Schema Conversion does for BIGINT UNSIGNED), or bigint for INT UNSIGNED.',
          },
        });
      }
    }
    if (family === 'boolean' && column.dataType === 'tinyint') {
      const toBoolean = targetType.typname === 'bool';
      checks.push({
        code: 'MYSQL_TINYINT_BOOLEAN',
        column: column.name,
        condition: `(${c} NOT IN (0, 1))`,
        report: (n) => {
          if (n === 0 && !toBoolean) return undefined;
          if (n === 0) return { severity: 'info', message: `TINYINT(1) arrives as ${where}: every stored value is 0, 1 or NULL, so it maps onto false and true.` };
          return {
            severity: toBoolean ? 'blocking' : 'warning',
            message: `TINYINT(1) is MySQL's BOOLEAN, but ${plural(n, 'row')} hold other values than 0 and 1. `
              + (toBoolean ? `They cannot load into ${where}.` : `They arrive unchanged in ${where}; a boolean column (Schema Conversion's choice for BOOLEAN) would refuse them.`)
              + ' Fix: change them to 0 or 1, or keep the column an integer on the target.',
          };
        },
      });
    }
    if (column.dataType === 'enum' || column.dataType === 'set') {
      checks.push({
        code: 'MYSQL_ENUM_SET',
        column: column.name,
        condition: column.dataType === 'enum' ? `(${c} = '')` : '(FALSE)',
        report: (n) => ({
          severity: n > 0 ? 'warning' : 'info',
          message: `${column.columnType.length > 80 ? column.dataType.toUpperCase() : column.columnType} arrives as ${where}: the list of allowed values is not kept (nor the ENUM's sort order, by index)`
            + (column.dataType === 'set' ? ', and a SET value arrives as the comma-separated text of its members' : '')
            + (n > 0 ? `; ${plural(n, 'row')} hold '' (MySQL's value for an invalid ENUM entry), which arrives as an empty string` : '')
            + '. Fix: add a CHECK constraint (or a PostgreSQL enum) on the target if the application relies on the list.',
        }),
      });
    }
    if (column.charset === 'utf8mb3' || column.charset === 'utf8') {
      add('warning', 'MYSQL_UTF8MB3', `Character set ${column.charset} (3-byte UTF-8): characters outside the Basic Multilingual Plane (emoji, some CJK) cannot be stored in this column, so any written to it were already refused or cut on the source. `
        + 'The target (UTF-8) holds them; what was lost is not recovered. Fix: convert the column to utf8mb4 on the source if it must take them before the cut-over.', { column: column.name });
    }
    if (column.dataType === 'float') {
      add('info', 'MYSQL_FLOAT', `FLOAT is single precision: MySQL shows its values rounded to 6 significant digits, while the stored binary value (e.g. 0.1 is 0.100000001490116) arrives as ${where}. `
        + 'verify compares FLOAT values to 6 significant digits. Fix: none needed; use DECIMAL for exact values.', { column: column.name });
    }
    if (column.dataType === 'datetime') datetimeColumns.push(column.name);
    if (column.dataType === 'timestamp') ctx.timestampColumns.push(`${table}.${column.name}`);
    if (LOB_TYPES.has(column.dataType)) lobColumns.push(column);
  }
  if (datetimeColumns.length > 0) {
    add('info', 'MYSQL_DATETIME', `DATETIME column(s) (${datetimeColumns.join(', ')}) carry no time zone: DMS writes their wall-clock values unchanged into timestamp (without time zone), while TIMESTAMP columns are instants MySQL converts from the session's zone. `
      + 'Fix: none if the application reads them as local times; if they hold UTC (or one zone), keep timestamp or convert to timestamptz with AT TIME ZONE after the load.');
  }

  // unique keys whose meaning changes: case- and accent-insensitive collations, trailing spaces under PAD SPACE
  for (const index of shape.uniqueIndexes) {
    const columns = index.columns.map((n) => shape.columns.find((c) => c.name === n)!).filter((c) => c && valueFamily(c) === 'text');
    const label = index.primary ? 'The primary key' : `Unique index ${index.name}`;
    for (const column of columns.filter((c) => insensitive(c.collation))) {
      const c = mident(column.name);
      checks.push({
        code: 'MYSQL_CASE_INSENSITIVE_UNIQUE',
        column: column.name,
        condition: `(CAST(${c} AS BINARY) <> CAST(LOWER(${c}) AS BINARY))`,
        report: (n) => ({
          severity: 'warning',
          message: `${label} (${index.columns.join(', ')}) uses collation ${column.collation}: MySQL takes values differing only in case or accents ('Ann' and 'ann') as duplicates and as equal in lookups; `
            + `PostgreSQL compares them byte for byte, so the target accepts both and a lookup by another spelling finds nothing (${plural(n, 'row')} hold upper-case letters today). `
            + 'Fix: a unique index on lower(column) (or a nondeterministic ICU collation, or citext) on the target, and the same lookups in the application.',
        }),
      });
    }
    for (const column of columns.filter((c) => c.dataType !== 'enum' && c.dataType !== 'set')) {
      const c = mident(column.name);
      checks.push({
        code: 'MYSQL_TRAILING_SPACE_UNIQUE',
        column: column.name,
        condition: `(${c} LIKE '% ')`,
        report: (n) => n === 0 ? undefined : {
          severity: 'warning',
          message: `${label} (${index.columns.join(', ')}): ${plural(n, 'row')} end in spaces. Under MySQL's PAD SPACE collations 'a' and 'a ' are the same key; `
            + 'PostgreSQL keeps them apart, so the target accepts both and lookups without the spaces miss these rows. Fix: trim the values on the source (or on the target after the load).',
        },
      });
    }
  }

  // one scan counts every condition; a second query per condition found lists example keys
  if (checks.length > 0 && !isView) {
    const [counts] = await ctx.source.query<Record<string, string | null>>(
      `SELECT ${checks.map((k, i) => `COALESCE(SUM(${k.condition}), 0) AS c${i}`).join(', ')} FROM ${from}`);
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i];
      const rows = Number(counts[`c${i}`] ?? 0);
      const report = check.report(rows);
      if (!report) continue;
      let exampleKeys: Array<Record<string, string>> | undefined;
      if (rows > 0 && shape.primaryKey.length > 0) {
        const keys = await ctx.source.query<Record<string, string>>(
          `SELECT ${shape.primaryKey.map((k, j) => `CAST(${mident(k)} AS CHAR) AS k${j}`).join(', ')} FROM ${from} WHERE ${check.condition} ORDER BY ${shape.primaryKey.map(mident).join(', ')} LIMIT ${EXAMPLES}`);
        exampleKeys = keys.map((r) => Object.fromEntries(shape.primaryKey.map((k, j) => [k, String(r[`k${j}`])])));
      }
      const example = exampleKeys && exampleKeys.length > 0
        ? ` Example keys: ${exampleKeys.map((k) => Object.entries(k).map(([n, v]) => `${n}=${v}`).join(',')).join('; ')}.`
        : '';
      add(report.severity, check.code, report.message + example,
        { column: check.column, ...(rows > 0 ? { rows } : {}), ...(exampleKeys ? { exampleKeys } : {}) });
    }
  }
  if (!isView) findings.push(...await lobFindings(ctx, shape, lobColumns, table));
  return findings;
}

/** LOB columns (DMS's NCLOB, CLOB and BLOB): dropped without LOB support, truncated past LobMaxSize in limited mode. */
async function lobFindings(ctx: TableContext, shape: MySqlTableShape, columns: readonly MySqlColumn[], table: string): Promise<Finding[]> {
  if (columns.length === 0) return [];
  const [row] = await ctx.source.query<Record<string, string | null>>(
    `SELECT ${columns.map((c, i) => `MAX(OCTET_LENGTH(${c.dataType === 'json' ? `CAST(${mident(c.name)} AS CHAR)` : mysqlUtf8(c)})) AS l${i}`).join(', ')} FROM ${mqualified(shape.name.schema, shape.name.table)}`);
  const findings: Finding[] = [];
  const limitBytes = ctx.lobMaxSizeKb * 1024;
  columns.forEach((col, i) => {
    const value = row[`l${i}`];
    const max = value === null || value === undefined ? null : Number(value);
    const largest = max === null ? 'no values stored' : `largest stored value ${kb(max)}`;
    const add = (severity: Severity, code: PreflightFindingCode, message: string) =>
      findings.push(finding({ severity, code, table, column: col.name, message }));
    if (!ctx.supportLobs) {
      add('blocking', 'LOB_COLUMN_DROPPED', `${col.columnType} is a LOB type for DMS and LOB support is off (SupportLobs=false): the column would arrive missing or NULL (${largest}). Turn LOB support on.`);
    } else if (ctx.fullLobMode) {
      add('info', 'LOB_COLUMN', `${col.columnType} is a LOB type for DMS, moved in full LOB mode (${largest}).`);
    } else if (max !== null && max > limitBytes) {
      add('blocking', 'LOB_TRUNCATED', `Largest stored value is ${kb(max)} (${max} bytes), over the LOB limit of ${ctx.lobMaxSizeKb} KB (LobMaxSize): it would be truncated. Raise LobMaxSize to at least ${Math.ceil(max / 1024)} KB or use full LOB mode.`);
    } else {
      add('info', 'LOB_COLUMN', `${col.columnType} is a LOB type for DMS; ${largest}, within the ${ctx.lobMaxSizeKb} KB limit.`);
    }
  });
  return findings;
}

/** The server's binary log: what CDC from MySQL needs (DMS reads the binary log in row format, full images). */
async function cdcFindings(session: MySqlSession): Promise<Finding[]> {
  const findings: Finding[] = [];
  const add = (severity: Severity, code: PreflightFindingCode, message: string) => findings.push(finding({ severity, code, message }));
  const variables = new Map((await session.query<{ Variable_name: string; Value: string }>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image', 'binlog_expire_logs_seconds', 'expire_logs_days')",
  )).map((r) => [r.Variable_name, String(r.Value)]));
  const logBin = (variables.get('log_bin') ?? 'OFF').toUpperCase();
  if (logBin !== 'ON' && logBin !== '1') {
    add('blocking', 'MYSQL_BINLOG', 'The binary log is off (log_bin): DMS captures changes from it. Turn it on (log_bin; on Amazon RDS, a backup retention period above 0) and restart the server.');
  }
  const format = (variables.get('binlog_format') ?? '').toUpperCase();
  if (format !== 'ROW') {
    add('blocking', 'MYSQL_BINLOG_FORMAT', `binlog_format is ${format || 'not set'}: DMS needs ROW. Set binlog_format = ROW (on Amazon RDS, in the DB parameter group).`);
  }
  const image = (variables.get('binlog_row_image') ?? 'FULL').toUpperCase();
  if (image !== 'FULL') {
    add('blocking', 'MYSQL_BINLOG_ROW_IMAGE', `binlog_row_image is ${image}: DMS needs FULL (every column of every changed row). Set binlog_row_image = FULL.`);
  }
  // retention: Amazon RDS keeps binary logs for 'binlog retention hours' only (NULL: purged as soon as possible)
  const rds = await session.query<{ n: string }>(
    "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = 'rds_configuration'");
  if (Number(rds[0].n) > 0) {
    const rows = await session.query<{ value: string | null }>("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'");
    const hours = rows.length === 0 || rows[0].value === null || String(rows[0].value).toUpperCase() === 'NULL' ? undefined : Number(rows[0].value);
    if (hours === undefined || !(hours >= 24)) {
      add('blocking', 'MYSQL_BINLOG_RETENTION', `Amazon RDS keeps the binary logs ${hours === undefined ? 'for no set time (binlog retention hours is NULL: purged as soon as possible)' : `for ${hours} hour(s)`}: `
        + 'a task that stops or falls behind loses its position. Set at least 24 hours: CALL mysql.rds_set_configuration(\'binlog retention hours\', 24);');
    }
  } else {
    const seconds = Number(variables.get('binlog_expire_logs_seconds') ?? 0);
    const days = Number(variables.get('expire_logs_days') ?? 0);
    const retention = seconds > 0 ? seconds : days * 86400;
    if (retention > 0 && retention < 86400) {
      add('warning', 'MYSQL_BINLOG_RETENTION', `The binary logs expire after ${(retention / 3600).toFixed(1)} hour(s) (binlog_expire_logs_seconds / expire_logs_days): a task that stops or falls behind longer loses its position. Keep them at least 24 hours.`);
    }
  }
  // REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR) and REPLICATION SLAVE
  const grants = (await session.query<Record<string, string>>('SHOW GRANTS')).map((r) => String(Object.values(r)[0]).toUpperCase());
  const global = grants.filter((g) => / ON \*\.\* /.test(g));
  const has = (privilege: RegExp) => global.some((g) => /GRANT ALL PRIVILEGES/.test(g) || privilege.test(g));
  const missing = [
    ...(has(/REPLICATION SLAVE|REPLICATION REPLICA/) ? [] : ['REPLICATION SLAVE']),
    ...(has(/REPLICATION CLIENT|BINLOG MONITOR/) ? [] : ['REPLICATION CLIENT']),
  ];
  if (missing.length > 0) {
    add('blocking', 'MYSQL_REPLICATION_PRIVILEGE', `The user lacks ${missing.join(' and ')} ON *.*: DMS reads the binary log with them. GRANT ${missing.join(', ')} ON *.* TO the DMS user.`);
  }
  return findings;
}

/** `preflight` for a MySQL source: the traps of moving MySQL data into PostgreSQL, counted on the stored data. */
export async function preflightMySql(options: PreflightOptions): Promise<PreflightResult> {
  const started = Date.now();
  const migrationType = options.migrationType ?? 'full-load';
  if (!['full-load', 'cdc', 'full-load-and-cdc'].includes(migrationType)) {
    throw new Error(`migrationType must be one of full-load, cdc, full-load-and-cdc, got "${migrationType}"`);
  }
  const lobMaxSizeKb = options.lobMaxSizeKb ?? 32;
  if (!(Number.isFinite(lobMaxSizeKb) && lobMaxSizeKb > 0)) throw new Error(`lobMaxSizeKb must be a positive number, got ${lobMaxSizeKb}`);
  if (options.targetCapacity && !options.target) {
    throw new Error('targetCapacity needs target: the free connection slots are read on the target database');
  }
  const cdc = migrationType !== 'full-load';
  const mappings = options.mappings ?? defaultMappings();
  const mapper = new NameMapper(mappings);
  const sources = new MySqlSessionSlots(options.source as string | MySqlConnectionOptions, 'cdk-neon-migration preflight', 'source');
  const targets = options.target ? new SessionSlots(options.target, 'cdk-neon-migration preflight', 'target') : undefined;
  try {
    const source = await sources.get(0);
    if (targets) await targets.get(0);
    const findings: Finding[] = [];
    if (cdc) findings.push(...await cdcFindings(source));
    const tables = await resolveMySqlTables(source, mappings);
    if (tables.length === 0) {
      findings.push(finding({ severity: 'blocking', code: 'NO_TABLES_SELECTED', message: noTablesSelectedMessage(mappings) }));
    }
    const timestampColumns: string[] = [];
    let done = 0;
    const perTable = await mapPool(tables, options.concurrency ?? 4, async (table, slot) => {
      const result = await tableFindings({
        table,
        source: await sources.get(slot),
        target: targets ? await targets.get(slot) : undefined,
        mapper,
        cdc,
        supportLobs: options.supportLobs ?? true,
        fullLobMode: options.fullLobMode ?? false,
        lobMaxSizeKb,
        timestampColumns,
      });
      done++;
      options.onProgress?.({ done, total: tables.length, table: displayName(table.source) });
      return result;
    });
    for (const list of perTable) findings.push(...list);
    if (timestampColumns.length > 0) {
      const [zone] = await source.query<{ g: string; s: string }>('SELECT @@global.time_zone AS g, @@system_time_zone AS s');
      const name = String(zone.g).toUpperCase() === 'SYSTEM' ? String(zone.s) : String(zone.g);
      if (!/^(UTC|\+00:00|GMT|Etc\/UTC|Z)$/i.test(name)) {
        findings.push(finding({
          severity: 'warning',
          code: 'MYSQL_TIME_ZONE',
          message: `The server's time zone is ${name}: TIMESTAMP columns (${timestampColumns.slice(0, 5).join(', ')}${timestampColumns.length > 5 ? ', …' : ''}) are stored in UTC and shown in it. `
            + 'DMS reads them as UTC unless told otherwise: set MySqlSourceEndpoint serverTimezone to the server\'s zone, and verify after the load.',
        }));
      }
    }
    if (options.targetCapacity && targets) {
      findings.push(...await targetConnectionFindings(await targets.get(0), migrationType, options.targetCapacity, 'cdk-neon-migration preflight'));
    }
    return { ok: !findings.some((f) => f.severity === 'blocking'), findings, tables, durationMs: Date.now() - started };
  } finally {
    await Promise.all([sources.closeAll(), targets?.closeAll()]);
  }
}

