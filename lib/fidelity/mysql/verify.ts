import { countMySqlRows, describeMySqlTable, resolveMySqlTables } from './catalog';
import { MySqlSession, MySqlSessionSlots, mqualified } from './connection';
import { CrossKeys, MySqlRangeSide, mysqlRowHash, PostgresRangeSide, postgresRowHash } from './sides';
import { ColumnComparison, compareColumn, keyComparison } from './type-mapping';
import { describeTable } from '../catalog';
import { Session, SessionSlots } from '../connection';
import { mapPool } from '../pool';
import { defaultMappings, displayName, NameMapper, noTablesSelectedMessage, SelectedTable } from '../selection';
import { MySqlConnectionOptions } from '../source-engine';
import { qualified } from '../sql';
import {
  compareSides, Settings, TableVerification, TypeChange, unverified, VerifyFinding, VerifyOptions, VerifyResult, verifySettings,
} from '../verify';

/**
 * Compares a MySQL table with the PostgreSQL table DMS loaded it into, by the algorithm of
 * PostgreSQL sources (counts and checksums of key ranges computed inside each database, ranges
 * that differ bisected down to keys), each MySQL value brought to the canonical text of the
 * PostgreSQL type it arrived as (see `compareColumn`).
 */
async function verifyMySqlTable(
  table: SelectedTable, src: MySqlSession, tgt: Session, mapper: NameMapper, settings: Settings, warnings: string[],
  helpers: () => Promise<readonly MySqlSession[]>, scanSessions: number,
): Promise<TableVerification> {
  const started = Date.now();
  const [sourceShape, targetShape] = await Promise.all([describeMySqlTable(src, table.source), describeTable(tgt, table.target)]);
  if (!sourceShape) throw new Error(`source table ${displayName(table.source)} disappeared`);
  if (!targetShape) {
    const sourceRows = await countMySqlRows(src, table.source);
    return { ...unverified(table, 'missing-target', started), sourceRows, differencesTruncated: sourceRows > 0 };
  }
  const comparisons: ColumnComparison[] = [];
  /** The source name of each of `comparisons`. */
  const compared: string[] = [];
  const missingColumns: string[] = [];
  const typeChanges: TypeChange[] = [];
  const mapped = new Set<string>();
  const targetNameOf = new Map<string, string>();
  for (const column of sourceShape.columns) {
    const targetName = mapper.column(table.source, column.name);
    if (targetName === undefined) continue;
    targetNameOf.set(column.name, targetName);
    const match = targetShape.columns.find((c) => c.name === targetName);
    if (!match) {
      missingColumns.push(targetName);
      continue;
    }
    mapped.add(match.name);
    const comparison = compareColumn(column, match, src.mariaDb);
    if ('typeChange' in comparison) {
      typeChanges.push({ column: column.name, targetColumn: match.name, sourceType: column.columnType, targetType: match.type });
      continue;
    }
    if (comparison.warning) warnings.push(`${displayName(table.source)}.${comparison.warning}`);
    comparisons.push(comparison);
    compared.push(column.name);
  }
  const extraColumns = targetShape.columns.filter((c) => !mapped.has(c.name)).map((c) => c.name);
  if (typeChanges.length > 0) {
    const [sourceRows, targetRows] = await Promise.all([
      countMySqlRows(src, table.source),
      tgt.query<{ n: string }>(`select count(*) as n from ${qualified(table.target.schema, table.target.table)}`).then((r) => Number(r[0].n)),
    ]);
    return { ...unverified(table, 'type-changed', started), sourceRows, targetRows, missingColumns, extraColumns, typeChanges };
  }

  // the key: every primary-key column with an order both engines share; otherwise the table is compared as a whole
  let keys: CrossKeys | undefined;
  let leadCastType: string | undefined;
  if (sourceShape.primaryKey.length > 0) {
    const parts = sourceShape.primaryKey.map((name) => {
      const column = sourceShape.columns.find((c) => c.name === name)!;
      const target = targetShape.columns.find((c) => c.name === targetNameOf.get(name));
      const key = target && keyComparison(column, target);
      const text = target && compareColumn(column, target, src.mariaDb);
      return key && text && !('typeChange' in text) ? { key, text, target } : undefined;
    });
    if (parts.every((p) => p !== undefined)) {
      keys = {
        comparisons: parts.map((p) => p!.key),
        mysqlText: parts.map((p) => p!.text.mysql),
        postgresText: parts.map((p) => p!.text.postgres),
      };
      leadCastType = parts[0]!.target.castType;
    } else {
      warnings.push(`${displayName(table.source)}: its primary key has a type without an order both engines share (float, JSON, bits): compared as a whole`);
    }
  }
  const noKeys: CrossKeys = { comparisons: [], mysqlText: [], postgresText: [] };
  // the columns a differing row's differing columns are named from: every compared column but the key's
  const others = comparisons.filter((_, i) => !sourceShape.primaryKey.includes(compared[i]));
  const src1 = new MySqlRangeSide(src, mqualified(table.source.schema, table.source.table), keys ?? noKeys,
    mysqlRowHash(comparisons.map((c) => c.mysql)), helpers, others.map((c) => c.mysql));
  const tgt1 = new PostgresRangeSide(tgt, qualified(table.target.schema, table.target.table), keys ?? noKeys,
    postgresRowHash(comparisons.map((c) => c.postgres)), leadCastType, scanSessions > 1, others.map((c) => c.postgres));
  return compareSides({
    table,
    src: src1,
    tgt: tgt1,
    keyNames: keys ? sourceShape.primaryKey : undefined,
    columnNames: keys ? compared.filter((name) => !sourceShape.primaryKey.includes(name)) : undefined,
    estimatedRows: async () => (sourceShape.estimatedRows > 0 ? sourceShape.estimatedRows : countMySqlRows(src, table.source)),
    missingColumns,
    extraColumns,
  }, settings, started);
}

/** `verify` for a MySQL source: every selected table of the MySQL source against its PostgreSQL copy. */
export async function verifyMySql(options: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  if (options.compareSchemaObjects) {
    throw new Error('compareSchemaObjects compares PostgreSQL catalogs: with a MySQL source the schema is converted, not copied; verify the data without it');
  }
  const settings = verifySettings(options);
  const scanSessions = options.mysqlScanSessions ?? 1;
  if (!Number.isInteger(scanSessions) || scanSessions < 1) throw new Error(`mysqlScanSessions must be a positive integer, got ${scanSessions}`);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const mappings = options.mappings ?? defaultMappings();
  const mapper = new NameMapper(mappings);
  const sources = new MySqlSessionSlots(options.source as string | MySqlConnectionOptions, 'cdk-neon-migration verify', 'source');
  const targets = new SessionSlots(options.target, 'cdk-neon-migration verify', 'target');
  try {
    const [src0, tgt0] = await Promise.all([sources.get(0), targets.get(0)]);
    const warnings: string[] = [];
    if (!/^utf-?8$/i.test(tgt0.serverEncoding)) {
      warnings.push(`The target encoding is ${tgt0.serverEncoding}: MySQL text is compared as UTF-8 bytes and will differ.`);
    }
    const tables = (await resolveMySqlTables(src0, mappings));
    const findings: VerifyFinding[] = [];
    if (tables.length === 0) findings.push({ code: 'NO_TABLES_SELECTED', message: noTablesSelectedMessage(mappings) });
    let done = 0;
    const results = await mapPool(tables, concurrency, async (table, slot) => {
      const started1 = Date.now();
      let result: TableVerification;
      try {
        const [src, tgt] = await Promise.all([sources.get(slot), targets.get(slot)]);
        // the first pass's scan of a table on mysqlScanSessions sessions (MySQL runs a query on one thread)
        const helpers = () => Promise.all(Array.from({ length: scanSessions - 1 },
          (_, i) => sources.get(concurrency + slot * (scanSessions - 1) + i)));
        result = await verifyMySqlTable(table, src, tgt, mapper, settings, warnings, helpers, scanSessions);
      } catch (e) {
        result = { ...unverified(table, 'error', started1), error: e instanceof Error ? e.message : String(e) };
      }
      done++;
      options.onProgress?.({ done, total: tables.length, table: displayName(table.source) });
      return result;
    });
    const ok = findings.length === 0 && results.every((r) => r.status === 'match');
    return { ok, tables: results, findings, warnings: [...new Set(warnings)], durationMs: Date.now() - started };
  } finally {
    await Promise.all([sources.closeAll(), targets.closeAll()]);
  }
}
