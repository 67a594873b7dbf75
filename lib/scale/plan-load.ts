import { Session } from '../fidelity/connection';
import { displayName, resolveTables, TableMappings, TableName } from '../fidelity/selection';
import { ident, qualified } from '../fidelity/sql';
import { pickBoundaries } from '../fidelity/verify';

/*
 * A planned full load: which large tables of a PostgreSQL source DMS should load in parallel
 * segments (`parallel-load` type `ranges`, the only one DMS offers a PostgreSQL source), split where.
 * The boundaries come from a sample of the column's values, so the segments hold about as many rows.
 * The sample is of pages (`TABLESAMPLE SYSTEM`): rows stored in key order (a sequence or time key,
 * the common case) come in runs of one page each, so the sample's precision is that of its pages,
 * and enough pages are read for a segment's size to be off by about a tenth at most.
 *
 * DMS does not load rows whose segment column is NULL ("Records with null values aren't
 * replicated"), so only NOT NULL columns are proposed; and it cannot cut at DOUBLE, FLOAT, BLOB,
 * CLOB or NCLOB values, so float, bytea and unbounded text columns are not either.
 */

/** How the plan picks and cuts tables. */
export interface LoadPlanOptions {
  /** Tables with at least this many rows (by their statistics) are cut. @default 10,000,000 */
  readonly minRows?: number;
  /** Rows per segment, about. @default 5,000,000 */
  readonly rowsPerSegment?: number;
  /**
   * Segments per table at most. DMS loads `MaxFullLoadSubTasks` tables or segments at once (default 8,
   * at most 49): more segments than that wait their turn.
   * @default 8
   */
  readonly maxSegments?: number;
}

/** The plan of one table. */
export interface TableLoadPlan {
  readonly table: TableName;
  readonly estimatedRows: number;
  /** `pg_total_relation_size`. */
  readonly bytes: number;
  /** The segment column; none when the table is not cut (see `reason`). */
  readonly column?: string;
  /** Where the segments are cut (segments = boundaries + 1). */
  readonly boundaries: readonly string[];
  /** Why the table is not cut, for a table above `minRows`. */
  readonly reason?: string;
}

/** Types whose values DMS can cut a table at, by `typname`. */
const CUTTABLE = new Set(['int2', 'int4', 'int8', 'numeric', 'date', 'timestamp', 'timestamptz', 'uuid', 'varchar', 'bpchar', 'oid']);

interface Candidate {
  readonly column: string;
  readonly typname: string;
  readonly notNull: boolean;
  readonly typmod: number;
  /** 0 primary key's leading column, 1 leading column of another index, 2 other. */
  readonly rank: number;
}

async function candidates(session: Session, table: TableName): Promise<Candidate[]> {
  const rows = await session.query<{ column: string; typname: string; not_null: boolean; typmod: number; rank: number }>(`
    select a.attname as column, t.typname, a.attnotnull as not_null, a.atttypmod as typmod,
      case when exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary and i.indkey[0] = a.attnum) then 0
           when exists (select 1 from pg_index i where i.indrelid = c.oid and i.indkey[0] = a.attnum) then 1 else 2 end as rank
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    join pg_type t on t.oid = a.atttypid
    where n.nspname = $1 and c.relname = $2
    order by rank, a.attnum`, [table.schema, table.table]);
  return rows.map((r) => ({ column: r.column, typname: r.typname, notNull: r.not_null, typmod: Number(r.typmod), rank: Number(r.rank) }));
}

/** The column to cut at: indexed (a segment reads its range through the index), NOT NULL, of a type DMS cuts at. */
function choose(list: readonly Candidate[]): { column?: string; reason?: string } {
  const usable = list.filter((c) => c.rank < 2 && CUTTABLE.has(c.typname) && (c.typname !== 'varchar' || c.typmod > 0));
  const chosen = usable.find((c) => c.notNull);
  if (chosen) return { column: chosen.column };
  if (usable.length > 0) {
    return { reason: `its indexed columns (${usable.map((c) => c.column).join(', ')}) allow NULL, and DMS does not load the rows whose segment column is NULL` };
  }
  return { reason: 'no indexed column of a type DMS can cut at (integer, numeric, date, timestamp, uuid, bounded varchar)' };
}

/**
 * Pages to sample for `segments` segments. A boundary drawn from n pages is off by up to
 * sqrt(1/4n) of the table (one standard deviation), so a segment (1/segments of it) by up to
 * 0.7·segments/sqrt(n) of its size: 50·segments² pages keep that within a tenth. At most 30,000
 * pages (234 MB of 8 kB pages) are read: beyond about 25 segments the precision is a little less.
 */
export function samplePages(segments: number): number {
  return Math.min(30_000, Math.max(1_000, 50 * segments * segments));
}

/** Proposes parallel-load ranges for the selected tables of at least `minRows` rows. */
export async function planParallelLoad(session: Session, mappings: TableMappings, options: LoadPlanOptions = {}): Promise<TableLoadPlan[]> {
  const minRows = options.minRows ?? 10_000_000;
  const rowsPerSegment = Math.max(1, options.rowsPerSegment ?? 5_000_000);
  const maxSegments = Math.min(49, Math.max(2, options.maxSegments ?? 8));
  const out: TableLoadPlan[] = [];
  for (const selected of await resolveTables(session, mappings)) {
    if (selected.kind !== 'r' && selected.kind !== 'p') continue;
    const table = selected.source;
    const [size] = await session.query<{ rows: string; bytes: string; pages: string }>(
      `select greatest(c.reltuples, 0)::int8::text as rows, pg_total_relation_size(c.oid)::text as bytes, greatest(c.relpages, 1)::text as pages
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`, [table.schema, table.table]);
    const estimatedRows = Number(size?.rows ?? 0);
    const bytes = Number(size?.bytes ?? 0);
    if (estimatedRows < minRows) continue;
    const { column, reason } = choose(await candidates(session, table));
    if (!column) {
      out.push({ table, estimatedRows, bytes, boundaries: [], reason });
      continue;
    }
    const segments = Math.min(maxSegments, Math.max(2, Math.ceil(estimatedRows / rowsPerSegment)));
    const pages = Number(size?.pages ?? 1);
    const sampleRows = Math.min(estimatedRows, segments * 2000);
    const percent = Math.min(100, Math.max((100 * sampleRows) / Math.max(1, estimatedRows), (100 * samplePages(segments)) / pages));
    const sample = await session.query<{ v: string }>(
      `select x::text as v from (select distinct ${ident(column)} as x from ${qualified(table.schema, table.table)} tablesample system (${percent.toFixed(6)})) s order by x`);
    out.push({ table, estimatedRows, bytes, column, boundaries: pickBoundaries(sample.map((r) => r.v), segments) });
  }
  return out;
}

const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The plan as calls of the library's `TableMappings.parallelLoadRanges`, to add to the task's mappings. */
export function formatTypeScript(plans: readonly TableLoadPlan[]): string {
  const cut = plans.filter((p) => p.column && p.boundaries.length > 0);
  if (cut.length === 0) return '// no table to load in parallel segments\n';
  const lines = ['import { TableMappings } from \'cdk-neon-migration\';', '', 'declare const mappings: TableMappings;', '', 'mappings'];
  for (const p of cut) {
    const boundaries = p.boundaries.map((b) => `[${quote(b)}]`).join(', ');
    lines.push(`  // ${displayName(p.table)}: ${p.estimatedRows} rows, ${p.boundaries.length + 1} segments of about ${Math.round(p.estimatedRows / (p.boundaries.length + 1))}`);
    lines.push(`  .parallelLoadRanges(${quote(p.table.schema)}, ${quote(p.table.table)}, [${quote(p.column!)}], [${boundaries}])`);
  }
  lines[lines.length - 1] += ';';
  return lines.join('\n') + '\n';
}

/** The plan as DMS table-settings rules (rule ids from `firstRuleId`), to add to the task's `rules`. */
export function dmsRules(plans: readonly TableLoadPlan[], firstRuleId = 1000): Record<string, unknown>[] {
  return plans.filter((p) => p.column && p.boundaries.length > 0).map((p, i) => ({
    'rule-type': 'table-settings',
    'rule-id': String(firstRuleId + i),
    'rule-name': `parallel-load-${firstRuleId + i}`,
    'object-locator': { 'schema-name': p.table.schema, 'table-name': p.table.table },
    'parallel-load': { type: 'ranges', columns: [p.column], boundaries: p.boundaries.map((b) => [b]) },
  }));
}

/** One line per table: what is proposed, or why the table is not cut. */
export function formatPlanSummary(plans: readonly TableLoadPlan[], minRows: number): string {
  if (plans.length === 0) return `No selected table has ${minRows} rows or more: one segment per table is enough.\n`;
  return plans.map((p) => {
    const size = `${p.estimatedRows} rows, ${(p.bytes / 2 ** 30).toFixed(1)} GiB`;
    return p.column
      ? `${displayName(p.table)} (${size}): ${p.boundaries.length + 1} segments on ${p.column}`
      : `${displayName(p.table)} (${size}): not cut: ${p.reason}`;
  }).join('\n') + '\n';
}
