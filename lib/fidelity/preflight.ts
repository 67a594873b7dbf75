import { ColumnInfo, describeTable, TableShape } from './catalog';
import { ConnectionConfig, Session, SessionSlots } from './connection';
import { convertedType, isLobColumn, isUnknownBaseType, unsupportedReason } from './dms-types';
import type { Finding, MigrationType, Severity, TargetTablePrepMode } from './finding';
import { PreflightFindingCode } from './finding-codes';
import { TargetCapacityOptions, targetConnectionFindings, targetStorageFindings } from './neon-capacity';
import { mapPool } from './pool';
import { ProgressEvent } from './progress';
import { defaultMappings, displayName, NameMapper, noTablesSelectedMessage, resolveTables, SelectedTable, TableMappings } from './selection';
import { isMySqlSource, mySqlSupport, SourceConfig } from './source-engine';
import { ident, qualified } from './sql';

export type { Finding, MigrationType, Severity, TargetTablePrepMode } from './finding';

/** Options of {@link preflight}: the settings of the DMS task about to run. */
export interface PreflightOptions {
  /** The source: PostgreSQL, or MySQL (a `mysql://` connection string or {@link MySqlConnectionOptions}). */
  readonly source: SourceConfig;
  /**
   * The target, to check pre-created tables when `targetTablePrepMode` is `DO_NOTHING`.
   * @default - target tables are not checked
   */
  readonly target?: ConnectionConfig;
  /** @default - every table of every non-system schema */
  readonly mappings?: TableMappings;
  /** @default 'full-load' */
  readonly migrationType?: MigrationType;
  /** `TargetMetadata.SupportLobs`. @default true */
  readonly supportLobs?: boolean;
  /** `TargetMetadata.FullLobMode`: LOBs are never truncated. @default false */
  readonly fullLobMode?: boolean;
  /** `TargetMetadata.LobMaxSize` (KB) of limited LOB mode. @default 32 */
  readonly lobMaxSizeKb?: number;
  /** @default 'DO_NOTHING' */
  readonly targetTablePrepMode?: TargetTablePrepMode;
  /** Tables checked at the same time. @default 4 */
  readonly concurrency?: number;
  /** Called after each table. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Check the target's capacity for the task: its free connection slots against the sessions the task
   * and the verification open (needs `target`), and the selected tables' size against the Neon
   * branch's storage limit (with `targetCapacity.neon`).
   * @default - capacity not checked
   */
  readonly targetCapacity?: TargetCapacityOptions;
}

/** The result of {@link preflight}. */
export interface PreflightResult {
  /** True when there is no blocking finding. */
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  readonly tables: readonly SelectedTable[];
  readonly durationMs: number;
}

/** A finding whose code is one of the known codes (checked at compile time). */
function finding(f: Finding & { readonly code: PreflightFindingCode }): Finding {
  return f;
}

/** The library's own step that creates the target tables from the source before the load, as the findings name it. */
const SCHEMA_PRE_NAME = 'the schema copy\'s pre step (schemaCopy on the DmsMigrationTask, or npx cdk-neon-migration schema pre)';

/** The advice of a target table DMS would create itself: the schema copy's pre step, then the preflight again. */
const SCHEMA_PRE = `Create the schema first with ${SCHEMA_PRE_NAME}, then run the preflight again (MigrationPreflight.forTask runs after that step).`;

/** The advice of a column whose type DMS would change: the schema copy's pre step keeps the source's. */
const SCHEMA_PRE_KEEPS = `Create the target table with the source's type first: ${SCHEMA_PRE_NAME}, then run the preflight again with the target `
  + '(TARGET_DATABASE_URL; MigrationPreflight.forTask runs after that step and reads the target).';

/** `application_name` of the preflight's sessions (as opened below): the connection check leaves them out of the sessions in use. */
const PREFLIGHT_APPLICATION_NAME = 'cdk-neon-migration preflight';

const MIGRATION_TYPES: readonly string[] = ['full-load', 'cdc', 'full-load-and-cdc'];
const PREP_MODES: readonly string[] = ['DO_NOTHING', 'DROP_AND_CREATE', 'TRUNCATE_BEFORE_LOAD'];

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
}

/** Replication settings and privileges a CDC task needs on the source. */
async function cdcFindings(session: Session): Promise<Finding[]> {
  const findings: Finding[] = [];
  const settings = new Map((await session.query<{ name: string; setting: string }>(
    `select name, setting from pg_catalog.pg_settings
     where name in ('wal_level', 'max_replication_slots', 'max_wal_senders', 'wal_sender_timeout', 'rds.logical_replication')`,
  )).map((r) => [r.name, r.setting]));
  const walLevel = settings.get('wal_level');
  const rdsLogical = settings.get('rds.logical_replication');
  if (walLevel !== 'logical' && rdsLogical !== 'on' && rdsLogical !== '1') {
    findings.push(finding({
      severity: 'blocking',
      code: 'WAL_LEVEL',
      message: `wal_level is ${walLevel}: CDC needs logical decoding. Set wal_level = logical (on Amazon RDS and Aurora: rds.logical_replication = 1 in the parameter group) and restart the server.`,
    }));
  }
  const limits: ReadonlyArray<readonly [string, PreflightFindingCode]> = [
    ['max_replication_slots', 'MAX_REPLICATION_SLOTS'],
    ['max_wal_senders', 'MAX_WAL_SENDERS'],
  ];
  for (const [name, code] of limits) {
    const value = Number(settings.get(name) ?? '0');
    if (!(value > 1)) {
      findings.push(finding({
        severity: 'blocking',
        code,
        message: `${name} is ${value}: CDC needs more than 1. Raise it and restart the server.`,
      }));
    }
  }
  const timeout = Number(settings.get('wal_sender_timeout') ?? '0');
  if (timeout > 0 && timeout < 10_000) {
    findings.push(finding({
      severity: 'blocking',
      code: 'WAL_SENDER_TIMEOUT',
      message: `wal_sender_timeout is ${timeout} ms: DMS needs 0 or at least 10000 ms (10 s).`,
    }));
  }

  const [role] = await session.query<{ name: string; rolsuper: boolean; rolreplication: boolean; rds: boolean }>(
    `select current_user as name, r.rolsuper, r.rolreplication,
            exists (select 1 from pg_catalog.pg_roles where rolname = 'rds_replication') as rds
     from pg_catalog.pg_roles r where r.rolname = current_user`);
  let canReplicate = role.rolsuper || role.rolreplication;
  if (!canReplicate && role.rds) {
    const [member] = await session.query<{ m: boolean }>('select pg_has_role(current_user, \'rds_replication\', \'member\') as m');
    canReplicate = member.m;
  }
  if (!canReplicate) {
    findings.push(finding({
      severity: 'blocking',
      code: 'REPLICATION_PRIVILEGE',
      message: `Role ${role.name} cannot replicate: grant it the REPLICATION attribute (ALTER ROLE ${ident(role.name)} REPLICATION) or, on Amazon RDS, GRANT rds_replication TO ${ident(role.name)}.`,
    }));
  }

  const slots = await session.query<{ slot_name: string; plugin: string | null; slot_type: string; database: string | null; active: boolean }>(
    'select slot_name, plugin, slot_type, database, active from pg_catalog.pg_replication_slots order by slot_name');
  for (const slot of slots) {
    findings.push(finding({
      severity: slot.active ? 'info' : 'warning',
      code: 'REPLICATION_SLOT',
      message: `Replication slot ${slot.slot_name} (${slot.slot_type}${slot.plugin ? `, ${slot.plugin}` : ''}${slot.database ? `, database ${slot.database}` : ''}) exists and is ${slot.active ? 'active' : 'inactive: it retains WAL until dropped'}.`
        + ` It takes one of max_replication_slots (${settings.get('max_replication_slots')}).`,
    }));
  }
  return findings;
}

interface ColumnScan {
  /** Largest stored value in bytes, per LOB column (null when the column holds no value). */
  readonly maxBytes: Map<string, number | null>;
  /** Unbounded numeric columns holding values NUMERIC(28,6) cannot represent. */
  readonly numericOverflow: Set<string>;
}

/** One scan of the table measuring LOB columns and unbounded numeric columns, computed in SQL. */
async function scanColumns(
  session: Session, shape: TableShape, lobColumns: readonly ColumnInfo[], numericColumns: readonly ColumnInfo[],
): Promise<ColumnScan> {
  const exprs: string[] = [];
  lobColumns.forEach((c, i) => {
    const value = c.typname === 'bytea' || c.typname === 'text' ? ident(c.name) : `${ident(c.name)}::text`;
    exprs.push(`max(octet_length(${value}))::int8 as l${i}`);
  });
  numericColumns.forEach((c, i) => {
    const v = ident(c.name);
    exprs.push(`coalesce(bool_or(${v} <> 'NaN' and (${v} <> round(${v}, 6) or abs(${v}) >= 1e22)), false) as n${i}`);
  });
  const maxBytes = new Map<string, number | null>();
  const numericOverflow = new Set<string>();
  if (exprs.length === 0) return { maxBytes, numericOverflow };
  const [row] = await session.query<Record<string, string | boolean | null>>(
    `select ${exprs.join(', ')} from ${qualified(shape.name.schema, shape.name.table)}`);
  lobColumns.forEach((c, i) => maxBytes.set(c.name, row[`l${i}`] === null ? null : Number(row[`l${i}`])));
  numericColumns.forEach((c, i) => { if (row[`n${i}`] === true) numericOverflow.add(c.name); });
  return { maxBytes, numericOverflow };
}

interface TableContext {
  readonly table: SelectedTable;
  readonly source: Session;
  readonly target?: Session;
  readonly mapper: NameMapper;
  readonly cdc: boolean;
  readonly supportLobs: boolean;
  readonly fullLobMode: boolean;
  readonly lobMaxSizeKb: number;
  readonly prepMode: TargetTablePrepMode;
}

async function tableFindings(ctx: TableContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  const table = displayName(ctx.table.source);
  const add = (severity: Severity, code: PreflightFindingCode, message: string, column?: string) =>
    findings.push(finding({ severity, code, table, ...(column === undefined ? {} : { column }), message }));

  const shape = await describeTable(ctx.source, ctx.table.source);
  if (!shape) {
    add('blocking', 'TABLE_NOT_FOUND', `Table ${table} was selected but no longer exists.`);
    return findings;
  }
  const hasPk = shape.primaryKey.length > 0;
  if (!hasPk) {
    if (ctx.cdc && shape.replicaIdentity === 'f') {
      add('warning', 'NO_PRIMARY_KEY', 'No primary key; REPLICA IDENTITY FULL lets DMS (with test_decoding) capture UPDATE and DELETE, but applying them on the target scans the table.');
    } else if (ctx.cdc) {
      add('blocking', 'NO_PRIMARY_KEY', 'No primary key: under CDC DMS ignores UPDATE and DELETE on this table, so the target silently diverges. Add a primary key (or set REPLICA IDENTITY FULL).');
    } else {
      add('warning', 'NO_PRIMARY_KEY', 'No primary key: the full load copies it, but DMS validation and the verify step can only compare whole-table counts and checksums, and a later CDC phase would ignore its UPDATE and DELETE.');
    }
  }

  // the target table, when DMS is told to load into existing tables
  let targetShape: TableShape | undefined;
  let targetChecked = false;
  if (ctx.target && ctx.prepMode === 'DO_NOTHING') {
    targetChecked = true;
    targetShape = await describeTable(ctx.target, ctx.table.target);
    const targetName = displayName(ctx.table.target);
    if (!targetShape) {
      add('warning', 'TARGET_TABLE_MISSING', `Target table ${targetName} does not exist: with DO_NOTHING, DMS creates it with the primary key only (no secondary indexes, defaults, foreign keys or sequences). ${SCHEMA_PRE}`);
    } else {
      const mapped = new Set<string>();
      for (const col of shape.columns) {
        const targetName1 = ctx.mapper.column(ctx.table.source, col.name);
        if (targetName1 === undefined) continue;
        mapped.add(targetName1);
        const match = targetShape.columns.find((c) => c.name === targetName1);
        if (!match) {
          add('blocking', 'TARGET_COLUMN_MISSING', `Target table ${targetName} has no column ${targetName1}: the load fails. Add the column, or drop the table and let ${SCHEMA_PRE_NAME} create it from the source.`, col.name);
        } else if (match.type !== col.type) {
          add('warning', 'TARGET_COLUMN_TYPE', `Column type differs: ${col.type} on the source, ${match.type} on the target (${targetName}.${targetName1}). To keep the source's type, drop the table and let ${SCHEMA_PRE_NAME} create it from the source.`, col.name);
        }
      }
      for (const extra of targetShape.columns.filter((c) => !mapped.has(c.name))) {
        if (extra.notNull && !extra.hasDefault) {
          add('blocking', 'TARGET_COLUMN_REQUIRED', `Target column ${targetName}.${extra.name} has no source column and is NOT NULL without a default: every insert fails.`);
        } else {
          add('info', 'TARGET_COLUMN_EXTRA', `Target column ${targetName}.${extra.name} has no source column and stays at its default.`);
        }
      }
      const [{ nonempty }] = await ctx.target.query<{ nonempty: boolean }>(
        `select exists (select 1 from ${qualified(ctx.table.target.schema, ctx.table.target.table)}) as nonempty`);
      if (nonempty) {
        add('warning', 'TARGET_NOT_EMPTY', `Target table ${targetName} already holds rows: with DO_NOTHING they are kept, and rows with the same key fail to load.`);
      }
    }
  }
  // TRUNCATE_BEFORE_LOAD keeps an existing table too (emptied): whether it exists is all that counts here
  if (ctx.target && ctx.prepMode === 'TRUNCATE_BEFORE_LOAD') {
    targetChecked = true;
    targetShape = await describeTable(ctx.target, ctx.table.target);
  }
  // DMS creates the table (and picks its column types) unless it exists and is kept
  const dmsCreatesTable = ctx.prepMode === 'DROP_AND_CREATE' || !targetChecked || targetShape === undefined;

  const lobColumns: ColumnInfo[] = [];
  const numericColumns: ColumnInfo[] = [];
  for (const col of shape.columns) {
    if (ctx.mapper.column(ctx.table.source, col.name) === undefined) continue;
    const unsupported = unsupportedReason(col);
    if (unsupported) {
      add('blocking', 'UNSUPPORTED_TYPE', `${unsupported}; exclude the column (remove-column transformation) or change its type.`, col.name);
      continue;
    }
    if (isUnknownBaseType(col)) {
      add('warning', 'UNKNOWN_TYPE', `Type ${col.type} comes from an extension or user schema (${col.typschema}); DMS may move it as text or not at all. Create it on the target before the load: ${SCHEMA_PRE_NAME} creates the extensions and types the copied tables use (an extension only when the target offers it); verify the column after the load.`, col.name);
    }
    const converted = convertedType(col);
    if (converted && dmsCreatesTable) {
      if (col.typname === 'numeric') numericColumns.push(col);
      else add('warning', 'TYPE_CONVERTED', `DMS creates this ${col.type} column as ${converted}. ${SCHEMA_PRE_KEEPS}`, col.name);
    }
    if (isLobColumn(col)) {
      lobColumns.push(col);
      if (col.typcategory === 'A' && !hasPk) {
        add(ctx.cdc ? 'blocking' : 'warning', 'ARRAY_WITHOUT_PK', `Array column ${col.name} on a table without a primary key: DMS needs a primary key to migrate array columns.`, col.name);
      }
    }
  }

  const scan = await scanColumns(ctx.source, shape, lobColumns, numericColumns);
  for (const col of numericColumns) {
    if (scan.numericOverflow.has(col.name)) {
      add('blocking', 'NUMERIC_PRECISION_LOSS', `DMS creates this numeric column without precision as NUMERIC(28,6), and stored values have more than 6 decimal places or 22 integer digits: they would be rounded or fail. ${SCHEMA_PRE_KEEPS}`, col.name);
    } else {
      add('warning', 'TYPE_CONVERTED', `DMS creates this numeric column without precision as NUMERIC(28,6); the stored values fit today. ${SCHEMA_PRE_KEEPS}`, col.name);
    }
  }
  const limitBytes = ctx.lobMaxSizeKb * 1024;
  for (const col of lobColumns) {
    const max = scan.maxBytes.get(col.name) ?? null;
    const largest = max === null ? 'no values stored' : `largest stored value ${kb(max)}`;
    if (!ctx.supportLobs) {
      add('blocking', 'LOB_COLUMN_DROPPED', `${col.type} is a LOB type for DMS and LOB support is off (SupportLobs=false): the column would be dropped and arrive missing or NULL (${largest}). Turn LOB support on.`, col.name);
    } else if (ctx.fullLobMode) {
      add('info', 'LOB_COLUMN', `${col.type} is a LOB type for DMS, moved in full LOB mode (${largest}).`, col.name);
    } else if (max !== null && max > limitBytes) {
      add('blocking', 'LOB_TRUNCATED', `Largest stored value is ${kb(max)} (${max} bytes), over the LOB limit of ${ctx.lobMaxSizeKb} KB (LobMaxSize): it would be truncated. Raise LobMaxSize to at least ${Math.ceil(max / 1024)} KB or use full LOB mode.`, col.name);
    } else {
      add('info', 'LOB_COLUMN', `${col.type} is a LOB type for DMS; ${largest}, within the ${ctx.lobMaxSizeKb} KB limit.`, col.name);
    }
  }
  return findings;
}

/**
 * Checks, before a DMS task runs, what would make it lose or change data: missing primary keys,
 * LOB columns that would be dropped or truncated (measured on the stored data), types DMS cannot
 * carry or converts, CDC prerequisites of the source and, with `DO_NOTHING`, whether the target
 * tables exist and match.
 */
export async function preflight(options: PreflightOptions): Promise<PreflightResult> {
  if (isMySqlSource(options.source)) return mySqlSupport(() => mySqlPreflight)(options);
  const started = Date.now();
  const migrationType = options.migrationType ?? 'full-load';
  if (!MIGRATION_TYPES.includes(migrationType)) {
    throw new Error(`migrationType must be one of ${MIGRATION_TYPES.join(', ')}, got "${migrationType}"`);
  }
  const prepMode = options.targetTablePrepMode ?? 'DO_NOTHING';
  if (!PREP_MODES.includes(prepMode)) {
    throw new Error(`targetTablePrepMode must be one of ${PREP_MODES.join(', ')}, got "${prepMode}"`);
  }
  const lobMaxSizeKb = options.lobMaxSizeKb ?? 32;
  if (!(Number.isFinite(lobMaxSizeKb) && lobMaxSizeKb > 0)) {
    throw new Error(`lobMaxSizeKb must be a positive number, got ${lobMaxSizeKb}`);
  }
  const concurrency = options.concurrency ?? 4;
  if (options.targetCapacity && !options.target) {
    throw new Error('targetCapacity needs target: the free connection slots are read on the target database');
  }
  const cdc = migrationType !== 'full-load';
  const mappings = options.mappings ?? defaultMappings();
  const mapper = new NameMapper(mappings);
  const sources = new SessionSlots(options.source as ConnectionConfig, 'cdk-neon-migration preflight', 'source');
  const targets = options.target ? new SessionSlots(options.target, 'cdk-neon-migration preflight', 'target') : undefined;
  try {
    const source = await sources.get(0);
    if (targets) await targets.get(0);
    const findings: Finding[] = [];
    if (cdc) findings.push(...await cdcFindings(source));
    const tables = await resolveTables(source, mappings);
    if (tables.length === 0) {
      findings.push(finding({ severity: 'blocking', code: 'NO_TABLES_SELECTED', message: noTablesSelectedMessage(mappings) }));
    }
    let done = 0;
    const perTable = await mapPool(tables, concurrency, async (table, slot) => {
      const result = await tableFindings({
        table,
        source: await sources.get(slot),
        target: targets ? await targets.get(slot) : undefined,
        mapper,
        cdc,
        supportLobs: options.supportLobs ?? true,
        fullLobMode: options.fullLobMode ?? false,
        lobMaxSizeKb,
        prepMode,
      });
      done++;
      options.onProgress?.({ done, total: tables.length, table: displayName(table.source) });
      return result;
    });
    for (const list of perTable) findings.push(...list);
    if (options.targetCapacity && targets) {
      findings.push(...await targetConnectionFindings(await targets.get(0), migrationType, options.targetCapacity, PREFLIGHT_APPLICATION_NAME));
      findings.push(...await targetStorageFindings(source, tables, options.targetCapacity));
    }
    return { ok: !findings.some((f) => f.severity === 'blocking'), findings, tables, durationMs: Date.now() - started };
  } finally {
    await Promise.all([sources.closeAll(), targets?.closeAll()]);
  }
}

let mySqlPreflight: ((options: PreflightOptions) => Promise<PreflightResult>) | undefined;

/** Makes {@link preflight} accept a MySQL source (done by `./mysql` when it loads). */
export function registerMySqlPreflight(fn: (options: PreflightOptions) => Promise<PreflightResult>): void {
  mySqlPreflight = fn;
}
