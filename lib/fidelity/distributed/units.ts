import { keyOperand } from '../canonical';
import { describeTable } from '../catalog';
import { Session } from '../connection';
import {
  displayName, NameMapper, noTablesSelectedMessage, resolveTables, SelectedTable, TableMappings,
} from '../selection';
import { qualified } from '../sql';
import {
  pickBoundaries, RowDifference, TableRecheck, TableSlice, TableVerification, verifyTableSlice, VerifyFinding, VerifyOptions,
} from '../verify';

/*
 * The verification of a database of any size, cut into units that separate workers compare:
 * a table is one unit, or — above `unitRows` rows — several, each a run of consecutive key ranges
 * ("chunks") of its leading key column. A worker compares a unit chunk by chunk and, when its time
 * budget is spent, hands back a cursor (the next chunk) so that another invocation continues. The
 * counts and differences of chunks that partition a table's key space add up to the table's: the
 * report equals the one of a single `verify` run over the same data.
 */

/** How the plan cuts the tables. */
export interface UnitPlanOptions {
  /** A table with more rows (estimated) is cut into units of about this many rows. @default 20,000,000 */
  readonly unitRows?: number;
  /** A unit's chunks hold about this many rows: the work done between two looks at the time budget. @default 1,000,000 */
  readonly chunkRows?: number;
  /** Rows per first-pass range inside a chunk, as `verify`'s `bucketRows`. @default 4000 */
  readonly bucketRows?: number;
  /** Ranges per table at most (the larger the table, the larger its ranges). @default 65,536 */
  readonly maxRangesPerTable?: number;
  /** Leading-key values sampled per table at most to place the ranges. @default 400,000 */
  readonly maxSampleRows?: number;
}

/** A part of a table's key space: a slice `verifyTableSlice` compares. */
export interface UnitChunk extends TableSlice {
  /** Rows expected (from the sample). */
  readonly estimatedRows: number;
}

/** One unit of work: a whole table, or a run of chunks of its key space. */
export interface VerificationUnit {
  /** Position in the plan: units are listed table by table, in key order within a table. */
  readonly index: number;
  readonly table: SelectedTable;
  /** Part `part` of `parts` of its table (1 of 1: the whole table). */
  readonly part: number;
  readonly parts: number;
  /** Rows expected in the unit (the table's statistics). */
  readonly estimatedRows: number;
  /** The chunks, in key order; none: the whole table in one comparison (as `verify` does it). */
  readonly chunks?: readonly UnitChunk[];
}

/** The plan: every unit, in order. */
export interface UnitPlan {
  readonly units: readonly VerificationUnit[];
  readonly tables: number;
  readonly estimatedRows: number;
  readonly findings: readonly VerifyFinding[];
  readonly warnings: readonly string[];
}

/** Rows a worker compares per second, about (measured on two local clusters; see docs/benchmarks.md). */
export const ROWS_PER_SECOND_PER_WORKER = 900_000;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Sorted distinct values of the table's leading key column in a sample of about `sampleRows` rows
 * (`TABLESAMPLE SYSTEM`: whole pages, so a sample costs far less than a scan).
 */
async function sampleLeadingKey(session: Session, table: SelectedTable, lead: string, estimatedRows: number, sampleRows: number): Promise<string[]> {
  const percent = Math.min(100, (100 * sampleRows) / Math.max(1, estimatedRows));
  const sample = percent >= 100 ? '' : `tablesample system (${percent.toFixed(6)})`;
  const rows = await session.query<{ v: string }>(
    `select x::text as v from (select distinct ${lead} as x from ${qualified(table.source.schema, table.source.table)} ${sample}) s order by x`);
  return rows.map((r) => r.v);
}

/** Cuts `boundaries` (the table's first-pass range boundaries, sorted) into units of chunks. */
export function cutIntoUnits(
  table: SelectedTable, firstIndex: number, estimatedRows: number, boundaries: readonly string[], unitRows: number, chunkRows: number,
): VerificationUnit[] {
  const ranges = boundaries.length + 1;
  const rowsPerRange = estimatedRows / ranges;
  const rangesPerChunk = Math.max(1, Math.round(chunkRows / Math.max(1, rowsPerRange)));
  // chunk i covers ranges [i*k, (i+1)*k): its bounds are boundaries[i*k - 1] and boundaries[(i+1)*k - 1]
  const chunks: UnitChunk[] = [];
  for (let first = 0; first < ranges; first += rangesPerChunk) {
    const last = Math.min(ranges, first + rangesPerChunk); // exclusive
    chunks.push({
      lo: first === 0 ? undefined : boundaries[first - 1],
      hi: last === ranges ? undefined : boundaries[last - 1],
      boundaries: boundaries.slice(first, last - 1),
      estimatedRows: Math.round(rowsPerRange * (last - first)),
    });
  }
  const chunksPerUnit = Math.max(1, Math.round(unitRows / Math.max(1, chunkRows)));
  const parts = Math.ceil(chunks.length / chunksPerUnit);
  const units: VerificationUnit[] = [];
  for (let p = 0; p < parts; p++) {
    const own = chunks.slice(p * chunksPerUnit, (p + 1) * chunksPerUnit);
    units.push({
      index: firstIndex + p,
      table,
      part: p + 1,
      parts,
      estimatedRows: own.reduce((n, c) => n + c.estimatedRows, 0),
      chunks: own,
    });
  }
  return units;
}

/**
 * Plans the units of a verification: the tables the mapping selects, in the order `verify` lists
 * them; a table above `unitRows` rows (by its statistics) is cut along a sample of its leading key.
 */
export async function planUnits(src: Session, mappings: TableMappings, options: UnitPlanOptions = {}): Promise<UnitPlan> {
  const unitRows = positive('unitRows', options.unitRows, 20_000_000);
  const chunkRows = Math.min(unitRows, positive('chunkRows', options.chunkRows, 1_000_000));
  const bucketRows = positive('bucketRows', options.bucketRows, 4000);
  const maxRanges = positive('maxRangesPerTable', options.maxRangesPerTable, 65_536);
  const maxSample = positive('maxSampleRows', options.maxSampleRows, 400_000);
  const tables = await resolveTables(src, mappings);
  const findings: VerifyFinding[] = [];
  const warnings: string[] = [];
  if (tables.length === 0) findings.push({ code: 'NO_TABLES_SELECTED', message: noTablesSelectedMessage(mappings) });
  const units: VerificationUnit[] = [];
  let total = 0;
  for (const table of tables) {
    const shape = table.kind === 'r' || table.kind === 'p' || table.kind === 'm' ? await describeTable(src, table.source) : undefined;
    const estimated = Math.max(0, Math.round(shape?.estimatedRows ?? 0));
    total += estimated;
    const lead = shape?.primaryKey[0] !== undefined ? shape.columns.find((c) => c.name === shape.primaryKey[0]) : undefined;
    if (!shape || estimated <= unitRows || !lead) {
      if (shape && !lead && estimated > unitRows) {
        warnings.push(`${displayName(table.source)} has no primary key: its ${estimated} rows are compared as a whole by one worker, `
          + `which must finish within the Lambda function's 15 minutes (about ${Math.round(ROWS_PER_SECOND_PER_WORKER * 800 / 1e6)} million rows on an idle source).`);
      }
      units.push({ index: units.length, table, part: 1, parts: 1, estimatedRows: estimated });
      continue;
    }
    const ranges = Math.min(maxRanges, Math.max(2, Math.ceil(estimated / bucketRows)));
    const values = await sampleLeadingKey(src, table, keyOperand(lead), estimated, Math.min(maxSample, ranges * 40));
    const boundaries = pickBoundaries(values, ranges);
    units.push(...cutIntoUnits(table, units.length, estimated, boundaries, unitRows, chunkRows));
  }
  return { units, tables: tables.length, estimatedRows: total, findings, warnings };
}

/** The state of a unit between two worker invocations: where it continues, and what it found so far. */
export interface UnitProgress {
  /** The next chunk to compare (a unit without chunks: 0 until done). */
  readonly cursor: number;
  readonly done: boolean;
  /** Worker invocations so far. */
  readonly invocations: number;
  /** What the compared chunks found, added up. */
  readonly result?: TableVerification;
}

/** Longest text of one key value kept in a unit's result (results travel in Step Functions' 256 KiB payloads). */
export const MAX_KEY_VALUE_CHARS = 512;

function shortKey(difference: RowDifference): RowDifference {
  const key: Record<string, string> = {};
  for (const [k, v] of Object.entries(difference.key)) key[k] = v.length > MAX_KEY_VALUE_CHARS ? `${v.slice(0, MAX_KEY_VALUE_CHARS - 1)}…` : v;
  return { kind: difference.kind, key, ...(difference.columns ? { columns: difference.columns } : {}) };
}

function addRecheck(a: TableRecheck | undefined, b: TableRecheck | undefined, maxDifferences: number): TableRecheck | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    rounds: Math.max(a.rounds, b.rounds),
    settledRows: a.settledRows + b.settledRows,
    unsettledRows: a.unsettledRows + b.unsettledRows,
    unsettled: [...a.unsettled, ...b.unsettled].slice(0, maxDifferences),
    waitedMs: a.waitedMs + b.waitedMs,
    maxLatencyMs: Math.max(a.maxLatencyMs, b.maxLatencyMs),
  };
}

const STATUS_RANK: Record<TableVerification['status'], number> = { 'match': 0, 'mismatch': 1, 'type-changed': 2, 'missing-target': 3, 'error': 4 };

/**
 * Adds up the results of parts of the same table's key space (in key order): counts and ranges
 * add, differences are listed in key order up to `maxDifferences`, the worst status wins.
 */
export function addResults(a: TableVerification | undefined, b: TableVerification, maxDifferences: number): TableVerification {
  const shortened = { ...b, differences: b.differences.map(shortKey) };
  if (!a) return { ...shortened, differences: shortened.differences.slice(0, maxDifferences) };
  const differences = [...a.differences, ...shortened.differences];
  const status = STATUS_RANK[b.status] > STATUS_RANK[a.status] ? b.status : a.status;
  const recheck = addRecheck(a.recheck, b.recheck, maxDifferences);
  return {
    ...a,
    status,
    method: a.method === 'none' ? b.method : a.method,
    sourceRows: a.sourceRows + b.sourceRows,
    targetRows: a.targetRows + b.targetRows,
    ranges: a.ranges + b.ranges,
    mismatchedRanges: a.mismatchedRanges + b.mismatchedRanges,
    differences: differences.slice(0, maxDifferences),
    differencesTruncated: a.differencesTruncated || b.differencesTruncated || differences.length > maxDifferences,
    error: a.error ?? b.error,
    ...(recheck ? { recheck } : {}),
    durationMs: a.durationMs + b.durationMs,
  };
}

/** Options of {@link compareUnit}. */
export interface CompareUnitOptions extends Omit<VerifyOptions, 'source' | 'target' | 'mappings' | 'concurrency'> {
  readonly mappings: TableMappings;
  /** Stop starting chunks once this many milliseconds passed since `startedAt`. */
  readonly budgetMs: number;
  /** @default Date.now() */
  readonly startedAt?: number;
  /** Called after each chunk with the rows it compared. */
  readonly onChunk?: (rows: number) => void;
}

/**
 * Compares one unit from its cursor on, chunk by chunk, until it is done or the time budget is
 * spent (at least one chunk is compared per call, so a unit always moves on). Returns the progress
 * to hand to the next call. Nothing is written anywhere: a call that fails mid-chunk can be
 * repeated with the same progress and compares the same rows again, so none is lost or counted twice.
 */
export async function compareUnit(
  src: Session, tgt: Session, unit: VerificationUnit, progress: UnitProgress | undefined, options: CompareUnitOptions,
): Promise<UnitProgress> {
  const startedAt = options.startedAt ?? Date.now();
  const mapper = new NameMapper(options.mappings);
  const maxDifferences = options.maxDifferences ?? 20;
  let result = progress?.result;
  let cursor = progress?.cursor ?? 0;
  const invocations = (progress?.invocations ?? 0) + 1;
  const chunks = unit.chunks;
  if (!chunks) {
    const whole = await verifyTableSlice(unit.table, src, tgt, mapper, options);
    options.onChunk?.(whole.sourceRows);
    return { cursor: 1, done: true, invocations, result: addResults(undefined, whole, maxDifferences) };
  }
  do {
    const part = await verifyTableSlice(unit.table, src, tgt, mapper, options, chunks[cursor]);
    options.onChunk?.(part.sourceRows);
    result = addResults(result, part, maxDifferences);
    cursor++;
    // a table missing on the target (or whose columns changed type) is the same in every chunk
    if (part.status === 'missing-target' || part.status === 'type-changed') cursor = chunks.length;
  } while (cursor < chunks.length && Date.now() - startedAt < options.budgetMs);
  return { cursor, done: cursor >= chunks.length, invocations, result };
}

/**
 * The per-table results of a finished plan: the units' results of each table added up in key
 * order, in the order of the plan (the order `verify` lists the tables in).
 */
export function tableResults(
  units: readonly VerificationUnit[], results: ReadonlyMap<number, TableVerification>, maxDifferences: number,
): TableVerification[] {
  const out: TableVerification[] = [];
  let current: TableVerification | undefined;
  let currentTable: string | undefined;
  for (const unit of units) {
    const result = results.get(unit.index);
    if (!result) throw new Error(`unit ${unit.index} (${displayName(unit.table.source)} part ${unit.part}/${unit.parts}) has no result`);
    const key = displayName(unit.table.source);
    if (key !== currentTable) {
      if (current) out.push(current);
      current = undefined;
      currentTable = key;
    }
    // a table missing on the target (or with changed column types) is counted as a whole by each of its units: once is enough
    const wholeTable = result.status === 'missing-target' || result.status === 'type-changed';
    current = current && wholeTable && current.status === result.status ? current : addResults(current, result, maxDifferences);
  }
  if (current) out.push(current);
  return out;
}
