import { CanonicalContext, CanonicalOptions, canonicalColumn, hashMode, keyOperand, keyParam, recordHash, rowHash } from './canonical';
import {
  describeTable, countRows, ColumnInfo, TableShape, describeTableObjects, readSequencePosition, describeType, listViews,
  describeView, listPartitions, TableObjects, ViewInfo,
} from './catalog';
import { ConnectionConfig, Session, SessionSlots } from './connection';
import { mapPool } from './pool';
import { ProgressEvent } from './progress';
import {
  defaultMappings, displayName, NameMapper, noTablesSelectedMessage, resolveTables, SelectedTable, TableMappings, TableName,
} from './selection';
import { isMySqlSource, mySqlSupport, SourceConfig } from './source-engine';
import { arrayLiteral, qualified } from './sql';

/** Options of {@link verify}. */
export interface VerifyOptions extends CanonicalOptions {
  /** The source: PostgreSQL, or MySQL (a `mysql://` connection string or {@link MySqlConnectionOptions}). */
  readonly source: SourceConfig;
  readonly target: ConnectionConfig;
  /**
   * The DMS table mapping of the task: its selection rules pick the tables, its transformation
   * rules give their names on the target.
   * @default - every table of every non-system schema, same names on the target
   */
  readonly mappings?: TableMappings;
  /** Tables verified at the same time (each uses one connection per side). @default 4 */
  readonly concurrency?: number;
  /**
   * A MySQL source: sessions that scan one table's first pass at the same time, each a part of the
   * key range (MySQL runs a query on one thread). More use more of the source's cores.
   * @default 1
   */
  readonly mysqlScanSessions?: number;
  /** Differing keys reported per table. @default 20 */
  readonly maxDifferences?: number;
  /**
   * Ranges are split until they hold at most this many rows; only then are keys fetched. As large as
   * the first pass's ranges by default: a differing range is read in one round trip per side rather
   * than split first, which is what costs time across a network. @default 4000
   */
  readonly leafRows?: number;
  /** Aim for this many rows per range in the first pass. @default 4000 */
  readonly bucketRows?: number;
  /** Sub-ranges a mismatching range is split into. @default 16 */
  readonly fanout?: number;
  /** Called after each table. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Also compare the schema objects of the selected tables: columns and their types, defaults,
   * identity and generated expressions; indexes, constraints (primary key, unique, foreign key, check,
   * exclusion) and triggers; the user-defined types the columns use; sequence positions (the target's
   * must not be behind the source's); and the views and materialized views of the selected tables'
   * schemas that read only selected tables. Any difference fails the verification.
   * @default false
   */
  readonly compareSchemaObjects?: boolean;
  /**
   * Verify while changes are still being replicated (a CDC task): differences are re-checked after
   * the replication latency has passed, and only those that persist are reported. See
   * {@link ChangeRecheckOptions}.
   * @default - no re-check: every difference seen is reported
   */
  readonly recheck?: ChangeRecheckOptions;
}

/**
 * How {@link verify} tells rows in flight from rows lost while changes are replicated.
 *
 * A differing row is read again on both sides once the replication latency (plus `marginMs`) has
 * passed since it was read. If it now matches, it was in flight: counted, not reported. If it still
 * differs and the source row has not changed meanwhile, the target had the time to apply it and did
 * not: the difference is reported. If the source row changed, it is read again after the next wait,
 * up to `maxRounds` times; rows still changing after the last round are listed as unsettled.
 * A table without a primary key is compared again as a whole.
 */
export interface ChangeRecheckOptions {
  /**
   * The replication latency now, in milliseconds: how long a change committed on the source takes
   * to be applied on the target (for a DMS task, `CDCLatencySource` + `CDCLatencyTarget`). Read before each wait.
   */
  readonly latencyMs: () => Promise<number>;
  /** Added to the latency for each wait. @default 2000 */
  readonly marginMs?: number;
  /** Re-check rounds at most. @default 5 */
  readonly maxRounds?: number;
  /** Differing keys followed per table between rounds; more make the round compare the table again. @default 10000 */
  readonly maxTrackedKeys?: number;
  /** Waits `ms` milliseconds. @default - a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the re-check of one table found (see {@link VerifyOptions.recheck}). */
export interface TableRecheck {
  /** Re-check rounds run (0: nothing differed). */
  readonly rounds: number;
  /** Rows that differed and then matched: changes in flight, not reported. */
  readonly settledRows: number;
  /** Rows whose source changed again in every round: neither proven nor reported as differences. */
  readonly unsettledRows: number;
  /** The first unsettled rows (at most `maxDifferences`). */
  readonly unsettled: readonly RowDifference[];
  /** Milliseconds waited in total. */
  readonly waitedMs: number;
  /** The largest latency read, in milliseconds. */
  readonly maxLatencyMs: number;
}

/** How a row differs. */
export type DifferenceKind = 'missing-in-target' | 'extra-in-target' | 'different';

/** One differing row, identified by its primary key. */
export interface RowDifference {
  readonly kind: DifferenceKind;
  /** Key column (source name) → value as text. */
  readonly key: Readonly<Record<string, string>>;
  /**
   * With `different`: the compared columns (source names) whose values differ between the sides,
   * compared value by value (the values themselves are never reported).
   */
  readonly columns?: readonly string[];
}

/**
 * Outcome of one table. `type-changed`: a compared column has another type on the target (see
 * {@link TableVerification.typeChanges}); the rows are counted but not compared.
 */
export type TableStatus = 'match' | 'mismatch' | 'missing-target' | 'type-changed' | 'error';

/** A column whose type differs between the source and the target. */
export interface TypeChange {
  /** The column on the source. */
  readonly column: string;
  /** The column on the target (its name after the mapping's transformation rules). */
  readonly targetColumn: string;
  /** `format_type()` of the source column, e.g. `integer`. */
  readonly sourceType: string;
  /** `format_type()` of the target column, e.g. `bigint`. */
  readonly targetType: string;
}

/** The verification of one table. */
export interface TableVerification {
  readonly source: TableName;
  readonly target: TableName;
  readonly status: TableStatus;
  /** `key-ranges` (primary key), `whole-table` (no primary key: count + order-independent checksum) or `none`. */
  readonly method: 'key-ranges' | 'whole-table' | 'none';
  readonly sourceRows: number;
  readonly targetRows: number;
  /** Ranges of the first pass, and how many of them differed. */
  readonly ranges: number;
  readonly mismatchedRanges: number;
  /** The first differing rows (at most `maxDifferences`). */
  readonly differences: readonly RowDifference[];
  /** Whether more differing rows exist than are listed (or could not be pinned down to keys). */
  readonly differencesTruncated: boolean;
  /** Source columns (by target name) that the target table lacks. */
  readonly missingColumns: readonly string[];
  /** Target columns with no source column; not compared. */
  readonly extraColumns: readonly string[];
  /** Compared columns whose type differs between the sides: the table's rows were not compared. */
  readonly typeChanges: readonly TypeChange[];
  readonly error?: string;
  /** With {@link VerifyOptions.recheck}: what the re-check found. */
  readonly recheck?: TableRecheck;
  readonly durationMs: number;
}

/** A problem of the run as a whole rather than of one table; any makes the result fail. */
export interface VerifyFinding {
  /** `NO_TABLES_SELECTED`: the selection rules match no table on the source, so nothing was compared. */
  readonly code: 'NO_TABLES_SELECTED';
  readonly message: string;
}

/** The kinds of schema object {@link VerifyOptions.compareSchemaObjects} compares. */
export type SchemaObjectKind = 'column' | 'index' | 'constraint' | 'trigger' | 'sequence' | 'type' | 'view' | 'materialized view';

/**
 * How a schema object differs: it is missing on the target, exists on the target only, has another
 * definition, or (a sequence) would hand out a value the source has already handed out.
 */
export type SchemaObjectDifferenceKind = 'missing-in-target' | 'extra-in-target' | 'different' | 'behind';

/** One schema object that differs between the source and the target. */
export interface SchemaObjectDifference {
  readonly kind: SchemaObjectKind;
  /**
   * The object, by its source name: `app.orders.total` (column), `app.orders_pkey` (index),
   * `orders_qty_check on app.orders` (constraint, trigger), `app.orders_id_seq`, `app.mood`, `app.v`.
   */
  readonly object: string;
  /** The selected table it belongs to (source name), for columns, indexes, constraints, triggers and sequences. */
  readonly table?: string;
  readonly difference: SchemaObjectDifferenceKind;
  /** What differs for a column: `type`, `not null`, `default`, `identity`, `generated` or `collation`. */
  readonly property?: string;
  /** The definition (or position) on the source. */
  readonly source?: string;
  /** The definition (or position) on the target. */
  readonly target?: string;
}

/** The schema-object comparison of {@link verify}. */
export interface SchemaObjectsComparison {
  /** True when no object differs. */
  readonly ok: boolean;
  /** Source objects compared. */
  readonly compared: number;
  /** Source objects compared, per kind. */
  readonly comparedByKind: Readonly<Partial<Record<SchemaObjectKind, number>>>;
  readonly differences: readonly SchemaObjectDifference[];
}

/** The result of {@link verify}. */
export interface VerifyResult {
  /**
   * True when at least one table was compared, every table matches, there is no finding and, with
   * `compareSchemaObjects`, no schema object differs.
   */
  readonly ok: boolean;
  readonly tables: readonly TableVerification[];
  /** With `compareSchemaObjects`: how the schema objects compare. */
  readonly schemaObjects?: SchemaObjectsComparison;
  /** Problems of the run as a whole, e.g. a selection that matches no table. */
  readonly findings: readonly VerifyFinding[];
  /** Conditions that weaken the comparison (e.g. different server encodings). */
  readonly warnings: readonly string[];
  readonly durationMs: number;
}

/** A key-prefix bound: values of the first `values.length` key columns, as text. */
export type Bound = readonly string[];

/** A range of keys; bounds hold the key columns' values as text. */
export interface Range {
  /** Inclusive lower bound; none = unbounded. */
  readonly lo?: Bound;
  /** Exclusive upper bound; none = unbounded. */
  readonly hi?: Bound;
}

/** The row count and checksum of a range, as each side computes it. */
export interface Aggregate {
  readonly n: number;
  /** The sum of the row hashes, as decimal text ('0' when there are no rows). */
  readonly s: string;
}

const EMPTY: Aggregate = { n: 0, s: '0' };

/**
 * One side of a table comparison, whatever its engine: counts and checksums of key ranges computed
 * in the database, keys that split a range, and the rows of a small range. Both sides of a pair
 * must compute the same row hash for equal rows and put a key in the same range.
 */
export interface RangeSide {
  /**
   * First pass: count and checksum per range of the leading key column (`boundaries` sorted; none:
   * the whole table as range 0), only of the rows `within` a part of the key space when given.
   */
  bucketed(boundaries: readonly string[], within?: Range): Promise<Map<number, Aggregate>>;
  /** Count and checksum of sub-ranges of `range` split at full-key `splits` (sub-range i is below splits[i]). */
  split(range: Range, splits: readonly Bound[]): Promise<Map<number, Aggregate>>;
  /** Full keys that cut `range` (holding `count` rows on this side) into about `parts` equal parts. */
  splitKeys(range: Range, count: number, parts: number): Promise<Bound[]>;
  /** The rows of a small range, in key order, at most `limit`. */
  leaf(range: Range, limit: number): Promise<LeafRow[]>;
  /** The hashes of the rows with the given keys (as {@link leaf} returns them in `raw`), by canonical key. */
  lookup(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>>;
  /**
   * A hash of each compared column that is not a key column (in the order of
   * {@link SidePair.columnNames}) of the rows with the given keys, by canonical key; the first row of
   * a key held twice. Both sides give equal hashes for equal values. Without it, differing rows are
   * reported without their differing columns.
   */
  columnHashes?(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>>;
  /** Sorted distinct values of the leading key column in a sample of about `sampleRows` rows. */
  sampleLeading(estimatedRows: number, sampleRows: number): Promise<string[]>;
}

/** One side of a table comparison: how to read its rows. */
class Side implements RangeSide {
  readonly from: string;

  constructor(
    readonly session: Session,
    name: TableName,
    /** Compared columns, aligned with the other side. */
    readonly columns: readonly ColumnInfo[],
    /** Key columns, aligned with the other side. */
    readonly keys: readonly ColumnInfo[],
    private readonly options: CanonicalContext,
    /** The 64-bit row hash expression (the same method on both sides). */
    readonly hash: string,
  ) {
    this.from = qualified(name.schema, name.table);
  }

  private tuple(exprs: string[]): string {
    return exprs.length === 1 ? exprs[0] : `(${exprs.join(', ')})`;
  }

  /** `(k1, k2) >= ($1, $2)`-style condition for a bound of `bound.length` key columns. */
  compare(bound: Bound, op: string, params: unknown[]): string {
    const cols = this.keys.slice(0, bound.length);
    const placeholders = cols.map((c, i) => {
      params.push(bound[i]);
      return keyParam(c, params.length);
    });
    return `${this.tuple(cols.map(keyOperand))} ${op} ${this.tuple(placeholders)}`;
  }

  where(range: Range, params: unknown[]): string {
    const parts: string[] = [];
    if (range.lo) parts.push(this.compare(range.lo, '>=', params));
    if (range.hi) parts.push(this.compare(range.hi, '<', params));
    return parts.length > 0 ? `where ${parts.join(' and ')}` : '';
  }

  get orderBy(): string {
    return this.keys.map(keyOperand).join(', ');
  }

  /** First pass: count and checksum per range of the leading key column, in one scan. */
  async bucketed(boundaries: readonly string[], within: Range = {}): Promise<Map<number, Aggregate>> {
    if (boundaries.length === 0) {
      const params: unknown[] = [];
      const where = this.where(within, params);
      const rows = await this.session.query<{ n: string; s: string | null }>(
        `select count(*) as n, sum(${this.hash}) as s from ${this.from} ${where}`, params);
      return new Map([[0, { n: Number(rows[0].n), s: rows[0].s ?? '0' }]]);
    }
    const lead = this.keys[0];
    const params: unknown[] = [arrayLiteral(boundaries)];
    const where = this.where(within, params);
    const sql = `select width_bucket(${keyOperand(lead)}, $1::${lead.castType}[]) as b, count(*) as n, sum(${this.hash}) as s
      from ${this.from} ${where} group by 1`;
    // The planner cannot estimate the number of buckets (it assumes one per row): it would sort the
    // whole table, or hash-aggregate it in a single process. Steer it to a parallel partial hash aggregate.
    const rows = await this.session.query<{ b: number; n: string; s: string }>(sql, params, {
      enable_sort: 'off',
      parallel_tuple_cost: '0',
    });
    return new Map(rows.map((r): [number, Aggregate] => [Number(r.b), { n: Number(r.n), s: r.s ?? '0' }]));
  }

  /** Count and checksum of sub-ranges of `range` split at full-key `splits`. */
  async split(range: Range, splits: readonly Bound[]): Promise<Map<number, Aggregate>> {
    const params: unknown[] = [];
    const where = this.where(range, params);
    const conditions = splits.map((s) => this.compare(s, '<', params));
    const tree = (lo: number, hi: number): string => {
      if (lo === hi) return String(lo);
      const mid = Math.floor((lo + hi) / 2);
      return `case when ${conditions[mid]} then ${tree(lo, mid)} else ${tree(mid + 1, hi)} end`;
    };
    const rows = await this.session.query<{ b: number; n: string; s: string }>(
      `select ${tree(0, splits.length)} as b, count(*) as n, sum(${this.hash}) as s from ${this.from} ${where} group by 1`, params);
    return new Map(rows.map((r): [number, Aggregate] => [Number(r.b), { n: Number(r.n), s: r.s ?? '0' }]));
  }

  /** Full keys that cut `range` (holding `count` rows on this side) into about `parts` equal parts. */
  async splitKeys(range: Range, count: number, parts: number): Promise<Bound[]> {
    const params: unknown[] = [];
    const where = this.where(range, params);
    params.push(Math.max(1, Math.ceil(count / parts)));
    const step = `$${params.length}::int8`;
    const keyNames = this.keys.map((_, i) => `"_k${i}"`);
    const rows = await this.session.query<Record<string, string>>(`
      select ${keyNames.map((k, i) => `${k}::text as k${i}`).join(', ')}
      from (select ${this.keys.map((k, i) => `${keyOperand(k)} as ${keyNames[i]}`).join(', ')},
                   row_number() over (order by ${this.orderBy}) as "_rn"
            from ${this.from} ${where}) s
      where "_rn" % ${step} = 0 order by "_rn"`, params);
    return rows.map((r) => this.keys.map((_, i) => r[`k${i}`]));
  }

  /** The rows of a small range: canonical key text, key text for lookups, and hash, in key order. */
  async leaf(range: Range, limit: number): Promise<LeafRow[]> {
    const params: unknown[] = [];
    const where = this.where(range, params);
    params.push(limit);
    const rows = await this.session.query<Record<string, string>>(`
      select ${this.keys.map((k, i) => `(${canonicalColumn(k, this.options)})::text as k${i}, (${keyOperand(k)})::text as r${i}`).join(', ')}, ${this.hash}::text as h
      from ${this.from} ${where} order by ${this.orderBy} limit $${params.length}`, params);
    return rows.map((r) => ({ key: this.keys.map((_, i) => r[`k${i}`]), raw: this.keys.map((_, i) => r[`r${i}`]), hash: r.h }));
  }

  /**
   * The rows with the given keys (key text as {@link leaf} returns it in `raw`), by canonical key:
   * their hashes (more than one when the target holds a key twice). Keys absent are absent.
   */
  async lookup(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    for (const { id, values } of await this.byKeys(raws, [`${this.hash}::text`])) {
      const list = found.get(id);
      if (list) list.push(values[0]);
      else found.set(id, [values[0]]);
    }
    return found;
  }

  /** The MD5 of each compared column's canonical text (NULL for NULL), key columns left out. */
  async columnHashes(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>> {
    const keyNames = new Set(this.keys.map((k) => k.name));
    const exprs = this.columns.filter((c) => !keyNames.has(c.name)).map((c) => `md5((${canonicalColumn(c, this.options)})::text)`);
    const found = new Map<string, string[]>();
    if (exprs.length === 0) return found;
    for (const { id, values } of await this.byKeys(raws, exprs)) if (!found.has(id)) found.set(id, values);
    return found;
  }

  /** `exprs` (as text) of the rows with the given keys, each row with its canonical key as JSON. */
  private async byKeys(raws: readonly (readonly string[])[], exprs: readonly string[]): Promise<Array<{ id: string; values: string[] }>> {
    const out: Array<{ id: string; values: string[] }> = [];
    // at most 65535 parameters per statement
    const batch = Math.max(1, Math.floor(8000 / Math.max(1, this.keys.length)));
    for (let i = 0; i < raws.length; i += batch) {
      const params: unknown[] = [];
      const tuples = raws.slice(i, i + batch).map((raw) => this.tuple(this.keys.map((c, j) => {
        params.push(raw[j]);
        return keyParam(c, params.length);
      })));
      const rows = await this.session.query<Record<string, string>>(`
        select ${this.keys.map((k, j) => `(${canonicalColumn(k, this.options)})::text as k${j}`).join(', ')}, ${exprs.map((e, j) => `${e} as v${j}`).join(', ')}
        from ${this.from} where ${this.tuple(this.keys.map(keyOperand))} in (${tuples.join(', ')})`, params);
      for (const r of rows) out.push({ id: JSON.stringify(this.keys.map((_, j) => r[`k${j}`])), values: exprs.map((_, j) => r[`v${j}`]) });
    }
    return out;
  }

  /** Sorted distinct values of the leading key column in a sample of about `sampleRows` rows. */
  async sampleLeading(estimatedRows: number, sampleRows: number): Promise<string[]> {
    const lead = this.keys[0];
    const percent = Math.min(100, (100 * sampleRows) / Math.max(1, estimatedRows));
    const sample = percent >= 100 ? '' : `tablesample system (${percent.toFixed(6)})`;
    const rows = await this.session.query<{ v: string }>(`
      select x::text as v from (select distinct ${keyOperand(lead)} as x from ${this.from} ${sample}) s order by x`);
    return rows.map((r) => r.v);
  }
}

/** A row of a small range, as {@link RangeSide.leaf} reads it. */
export interface LeafRow {
  /** Canonical text of the key columns: equal on both sides for the same key. */
  readonly key: string[];
  /** Text of the key columns as this side stores them: what {@link Side.lookup} takes. */
  readonly raw: string[];
  readonly hash: string;
}

function same(a: Aggregate | undefined, b: Aggregate | undefined): boolean {
  const x = a ?? EMPTY;
  const y = b ?? EMPTY;
  return x.n === y.n && x.s === y.s;
}

/**
 * Picks up to `buckets - 1` boundaries spread evenly over the sorted distinct `values`. The smallest
 * value is never a boundary (it would only open an empty first range).
 */
export function pickBoundaries(values: readonly string[], buckets: number): string[] {
  const out: string[] = [];
  for (let i = 1; i < buckets; i++) {
    const index = Math.floor((i * values.length) / buckets);
    if (index < 1 || index >= values.length) continue;
    if (out[out.length - 1] !== values[index]) out.push(values[index]);
  }
  return out;
}

/** The verification's settings, checked (see {@link verifySettings}). */
export interface Settings {
  readonly recheck?: RecheckSettings;
  readonly maxDifferences: number;
  readonly leafRows: number;
  readonly bucketRows: number;
  readonly fanout: number;
}

/**
 * A differing row as last read: its key, and its hash on each side (none: absent; more than one: the
 * target holds the key more than once).
 */
interface Observation {
  readonly key: string[];
  readonly raw: string[];
  readonly source: readonly string[];
  readonly target: readonly string[];
}

/**
 * The differences of one key: the source row against the first target row with its key, and every
 * further target row with the key as one extra.
 */
function differencesOf(o: Observation): DifferenceKind[] {
  const kinds: DifferenceKind[] = [];
  if (o.source.length > 0) kinds.push(o.target.length === 0 ? 'missing-in-target' : 'different');
  if (o.source.length > 0 && o.target.length > 0 && o.source[0] === o.target[0]) kinds.pop();
  for (let i = o.source.length > 0 ? 1 : 0; i < o.target.length; i++) kinds.push('extra-in-target');
  return kinds;
}

function observedEqual(o: Observation): boolean {
  return o.source.length === o.target.length && o.source.every((h, i) => h === o.target[i]);
}

/**
 * Bisects the key space of one table. Differing rows are reported as found or, with `track`, kept
 * (up to `track` of them) with both sides' hashes for a re-check.
 */
class KeyRangeComparison {
  readonly differences: RowDifference[] = [];
  /** Where each of `differences` is: its canonical key and its key as stored. */
  readonly located: Located[] = [];
  readonly observed: Observation[] = [];
  truncated = false;

  constructor(
    private readonly src: RangeSide,
    private readonly tgt: RangeSide,
    private readonly sourceKeyNames: readonly string[],
    private readonly settings: Settings,
    private readonly track?: number,
  ) {}

  private full(): boolean {
    if (this.track !== undefined) return this.observed.length >= this.track;
    return this.differences.length >= this.settings.maxDifferences;
  }

  private add(observation: Observation): void {
    if (this.full()) {
      this.truncated = true;
      return;
    }
    if (this.track !== undefined) {
      this.observed.push(observation);
      return;
    }
    for (const kind of differencesOf(observation)) {
      if (this.differences.length >= this.settings.maxDifferences) {
        this.truncated = true;
        return;
      }
      this.differences.push({ kind, key: keyRecord(this.sourceKeyNames, observation.key) });
      this.located.push({ key: observation.key, raw: observation.raw });
    }
  }

  async drill(range: Range, s: Aggregate, t: Aggregate, depth = 0): Promise<void> {
    if (this.full()) {
      this.truncated = true;
      return;
    }
    const larger = Math.max(s.n, t.n);
    if (larger <= this.settings.leafRows || depth >= 48) {
      await this.compareLeaf(range, larger);
      return;
    }
    const bySide = s.n >= t.n ? this.src : this.tgt;
    const splits = await bySide.splitKeys(range, larger, this.settings.fanout);
    if (splits.length === 0) {
      await this.compareLeaf(range, larger);
      return;
    }
    const [sa, ta] = await Promise.all([this.src.split(range, splits), this.tgt.split(range, splits)]);
    for (let i = 0; i <= splits.length; i++) {
      const sub: Range = { lo: i === 0 ? range.lo : splits[i - 1], hi: i === splits.length ? range.hi : splits[i] };
      const si = sa.get(i) ?? EMPTY;
      const ti = ta.get(i) ?? EMPTY;
      if (same(si, ti)) continue;
      if (si.n === s.n && ti.n === t.n) {
        // no progress (duplicate keys on the target): compare what fits
        await this.compareLeaf(sub, Math.max(si.n, ti.n));
      } else {
        await this.drill(sub, si, ti, depth + 1);
      }
      if (this.full()) {
        this.truncated = true;
        return;
      }
    }
  }

  private async compareLeaf(range: Range, rows: number): Promise<void> {
    const limit = Math.min(rows, this.settings.leafRows * 4);
    if (rows > limit) this.truncated = true;
    const [sr, tr] = await Promise.all([this.src.leaf(range, limit), this.tgt.leaf(range, limit)]);
    const targetByKey = new Map<string, { row: LeafRow; hashes: string[] }>();
    for (const row of tr) {
      const id = JSON.stringify(row.key);
      const existing = targetByKey.get(id);
      if (existing) existing.hashes.push(row.hash);
      else targetByKey.set(id, { row, hashes: [row.hash] });
    }
    for (const row of sr) {
      const id = JSON.stringify(row.key);
      const match = targetByKey.get(id);
      targetByKey.delete(id);
      const observation = { key: row.key, raw: row.raw, source: [row.hash], target: match?.hashes ?? [] };
      if (!observedEqual(observation)) this.add(observation);
    }
    for (const { row, hashes } of targetByKey.values()) this.add({ key: row.key, raw: row.raw, source: [], target: hashes });
  }
}

/** Where a differing row is: its canonical key (what both sides' reads are matched on) and its key as stored. */
interface Located {
  readonly key: readonly string[];
  readonly raw: readonly string[];
}

/**
 * The differences with, for each `different` row, the columns whose values differ: both sides'
 * rows read again by key, column by column (hashes only: no value leaves the databases).
 */
async function withDifferingColumns(pair: SidePair, differences: readonly RowDifference[], located: readonly Located[]): Promise<RowDifference[]> {
  const names = pair.columnNames;
  const { src, tgt } = pair;
  const wanted = differences.map((d, i) => (d.kind === 'different' ? i : -1)).filter((i) => i >= 0);
  if (!names || names.length === 0 || wanted.length === 0 || !src.columnHashes || !tgt.columnHashes) return [...differences];
  const raws = wanted.map((i) => located[i].raw);
  const [sourceHashes, targetHashes] = await Promise.all([src.columnHashes(raws), tgt.columnHashes(raws)]);
  return differences.map((d, i) => {
    if (d.kind !== 'different') return d;
    const id = JSON.stringify(located[i].key);
    const a = sourceHashes.get(id);
    const b = targetHashes.get(id);
    const columns = a && b ? names.filter((_, c) => a[c] !== b[c]) : [];
    // a row that changed again since it was compared may show none: it is then reported without columns
    return columns.length > 0 ? { ...d, columns } : d;
  });
}

function keyRecord(names: readonly string[], key: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  names.forEach((name, i) => { record[name] = key[i]; });
  return record;
}

interface TablePlan {
  readonly table: SelectedTable;
  readonly sourceShape: TableShape;
  readonly targetShape: TableShape;
  readonly sourceColumns: ColumnInfo[];
  readonly targetColumns: ColumnInfo[];
  readonly missingColumns: string[];
  readonly extraColumns: string[];
  readonly typeChanges: TypeChange[];
  /** Aligned key columns, or undefined when no usable primary key. */
  readonly keys?: { readonly source: ColumnInfo[]; readonly target: ColumnInfo[] };
}

/** Types whose values have the same canonical text whichever of them a column has. */
const TYPE_FAMILIES: Readonly<Record<string, string>> = {
  text: 'string',
  varchar: 'string',
  bpchar: 'string',
  name: 'string',
  citext: 'string',
  json: 'json',
  jsonb: 'json',
};

function family(typname: string | undefined): string | undefined {
  return typname === undefined ? undefined : TYPE_FAMILIES[typname] ?? typname;
}

/**
 * Whether the target column has another type than the source column, one whose values would not
 * compare equal to the source's. Not a change: a different length, precision or scale (`varchar(20)`
 * and `varchar(50)`, `numeric` and `numeric(28,6)`), a domain and its base type, `text`/`varchar`/
 * `char`/`name`/`citext` among each other, `json` and `jsonb`, arrays of such types, and an enum or
 * composite source column arriving as a string (as DMS creates it).
 */
export function isTypeChange(source: ColumnInfo, target: ColumnInfo): boolean {
  if (source.typname === target.typname) return false;
  const sourceIsArray = source.typcategory === 'A';
  if (sourceIsArray !== (target.typcategory === 'A')) return true;
  if (sourceIsArray) return family(source.elemTypname) !== family(target.elemTypname);
  if (family(source.typname) === family(target.typname)) return false;
  if ((source.typtype === 'e' || source.typtype === 'c') && family(target.typname) === 'string') return false;
  if (source.typtype === 'e' && target.typtype === 'e') return false;
  return true;
}

/**
 * The target name of a source column: the mapping's, except for a stored generated column that a
 * remove-column rule removes and the target has under its source name. DMS must not write such a
 * column (PostgreSQL refuses a value written into a generated column), so the rule keeps it out of
 * the load while the target, created by the schema copy, computes it: its definition is compared as
 * any other column's.
 */
function targetColumnName(
  mapper: NameMapper, table: TableName, column: { readonly name: string; readonly generated: string }, targetHas: (name: string) => boolean,
): string | undefined {
  const name = mapper.column(table, column.name);
  if (name === undefined && column.generated === 's' && targetHas(column.name)) return column.name;
  return name;
}

function planTable(table: SelectedTable, sourceShape: TableShape, targetShape: TableShape, mapper: NameMapper): TablePlan {
  const sourceColumns: ColumnInfo[] = [];
  const targetColumns: ColumnInfo[] = [];
  const missingColumns: string[] = [];
  const typeChanges: TypeChange[] = [];
  const targetNameOf = new Map<string, string>();
  for (const col of sourceShape.columns) {
    const targetName = mapper.column(table.source, col.name);
    if (targetName === undefined) continue;
    targetNameOf.set(col.name, targetName);
    const match = targetShape.columns.find((c) => c.name === targetName);
    if (!match) {
      missingColumns.push(targetName);
      continue;
    }
    sourceColumns.push(col);
    targetColumns.push(match);
    if (isTypeChange(col, match)) {
      typeChanges.push({ column: col.name, targetColumn: match.name, sourceType: col.type, targetType: match.type });
    }
  }
  const mapped = new Set(targetColumns.map((c) => c.name));
  const extraColumns = targetShape.columns.filter((c) => !mapped.has(c.name)).map((c) => c.name);

  let keys: TablePlan['keys'];
  if (sourceShape.primaryKey.length > 0) {
    const source = sourceShape.primaryKey.map((n) => sourceShape.columns.find((c) => c.name === n)!);
    const target = sourceShape.primaryKey.map((n) => targetShape.columns.find((c) => c.name === targetNameOf.get(n)));
    if (target.every((c) => c !== undefined)) keys = { source, target: target as ColumnInfo[] };
  }
  return { table, sourceShape, targetShape, sourceColumns, targetColumns, missingColumns, extraColumns, typeChanges, keys };
}

/** The row hash of each side: per-column hashes where both sides allow it, else the canonical row text. */
function rowHashes(plan: TablePlan, canonical: CanonicalContext): { source: string; target: string } {
  if (!canonical.recordHash || !plan.keys) {
    return { source: rowHash(plan.sourceColumns, canonical), target: rowHash(plan.targetColumns, canonical) };
  }
  const modes = plan.sourceColumns.map((c, i) => hashMode(c, plan.targetColumns[i], canonical));
  const keyModes = plan.keys.source.map((c, i) => hashMode(c, plan.keys!.target[i], canonical));
  return {
    source: recordHash(plan.sourceColumns, modes, plan.keys.source, keyModes, canonical),
    target: recordHash(plan.targetColumns, modes, plan.keys.target, keyModes, canonical),
  };
}

/** The result of a table that could not be compared. */
export function unverified(table: SelectedTable, status: TableStatus, started: number): TableVerification {
  return {
    source: table.source,
    target: table.target,
    status,
    method: 'none',
    sourceRows: 0,
    targetRows: 0,
    ranges: 0,
    mismatchedRanges: 0,
    differences: [],
    differencesTruncated: false,
    missingColumns: [],
    extraColumns: [],
    typeChanges: [],
    durationMs: Date.now() - started,
  };
}

/**
 * A part of a keyed table's key space, compared on its own (see {@link verifyTableSlice}): the rows
 * whose leading key column lies in [`lo`, `hi`), with the first pass's ranges cut at `boundaries`.
 */
export interface TableSlice {
  /** Inclusive lower bound of the leading key column, as text; none = unbounded. */
  readonly lo?: string;
  /** Exclusive upper bound of the leading key column, as text; none = unbounded. */
  readonly hi?: string;
  /** Values of the leading key column between `lo` and `hi`, sorted: where the first pass cuts the slice. */
  readonly boundaries: readonly string[];
}

/**
 * Compares one table as {@link verify} does — or only the `slice` of its key space, so that the
 * parts of a large table can be compared by separate workers and their results added up: the
 * counts and differences of slices that partition the key space add up to the table's. A table
 * without a primary key has no slices: it is compared as a whole whatever `slice` says.
 */
export async function verifyTableSlice(
  table: SelectedTable, src: Session, tgt: Session, mapper: NameMapper, options: Omit<VerifyOptions, 'source' | 'target'>, slice?: TableSlice,
): Promise<TableVerification> {
  return verifyTable(table, src, tgt, mapper, options as VerifyOptions, verifySettings(options as VerifyOptions), slice);
}

async function verifyTable(
  table: SelectedTable, src: Session, tgt: Session, mapper: NameMapper, options: VerifyOptions, settings: Settings, slice?: TableSlice,
): Promise<TableVerification> {
  const started = Date.now();
  const [sourceShape, targetShape] = await Promise.all([describeTable(src, table.source), describeTable(tgt, table.target)]);
  if (!sourceShape) throw new Error(`source table ${displayName(table.source)} disappeared`);
  if (!targetShape) {
    const sourceRows = await countRows(src, table.source);
    return { ...unverified(table, 'missing-target', started), sourceRows, differencesTruncated: sourceRows > 0 };
  }
  const plan = planTable(table, sourceShape, targetShape, mapper);
  if (plan.typeChanges.length > 0) {
    // values of different types are not compared as if they were alike: report the columns, not the rows
    const [sourceRows, targetRows] = await Promise.all([countRows(src, table.source), countRows(tgt, table.target)]);
    return {
      ...unverified(table, 'type-changed', started),
      sourceRows,
      targetRows,
      missingColumns: plan.missingColumns,
      extraColumns: plan.extraColumns,
      typeChanges: plan.typeChanges,
    };
  }
  const canonical: CanonicalContext = {
    normalizeNumericScale: options.normalizeNumericScale,
    trimScale: src.serverVersion >= 130000 && tgt.serverVersion >= 130000,
    // keyed tables only: without a key to seed it, the record hash would not see values moved between rows
    recordHash: plan.keys !== undefined && src.serverVersion >= 140000 && tgt.serverVersion >= 140000,
  };
  const hashes = rowHashes(plan, canonical);
  const srcSide = new Side(src, table.source, plan.sourceColumns, plan.keys?.source ?? [], canonical, hashes.source);
  const tgtSide = new Side(tgt, table.target, plan.targetColumns, plan.keys?.target ?? [], canonical, hashes.target);
  return compareSides({
    table,
    src: srcSide,
    tgt: tgtSide,
    keyNames: plan.keys?.source.map((c) => c.name),
    columnNames: plan.keys ? plan.sourceColumns.filter((c) => !plan.keys!.source.includes(c)).map((c) => c.name) : undefined,
    estimatedRows: async () => (sourceShape.estimatedRows > 0 ? sourceShape.estimatedRows : countRows(src, table.source)),
    missingColumns: plan.missingColumns,
    extraColumns: plan.extraColumns,
    slice,
  }, settings, started);
}

/** A table whose two sides are ready to be compared (see {@link compareSides}). */
export interface SidePair {
  readonly table: SelectedTable;
  readonly src: RangeSide;
  readonly tgt: RangeSide;
  /** The source's key column names; undefined when the table has no usable primary key (compared as a whole). */
  readonly keyNames?: readonly string[];
  /**
   * The source names of the compared columns that are not key columns, in the order of the sides'
   * {@link RangeSide.columnHashes}: the differing columns of a differing row are named from them.
   * @default - differing rows are reported without their differing columns
   */
  readonly columnNames?: readonly string[];
  /** The source's row count, or an estimate of it (sizes the first pass's ranges). */
  readonly estimatedRows: () => Promise<number>;
  /** Source columns (by target name) that the target lacks: the table does not match. */
  readonly missingColumns: readonly string[];
  readonly extraColumns: readonly string[];
  /** Only this part of the key space; none = the whole table. */
  readonly slice?: TableSlice;
}

/**
 * Compares one table through its two sides: the first pass over ranges of the leading key column,
 * bisection of the ranges that differ down to keys, and with `settings.recheck` the re-checks of the
 * differing rows; a table without key is compared as a whole.
 */
export async function compareSides(pair: SidePair, settings: Settings, started = Date.now()): Promise<TableVerification> {
  const { table, src: srcSide, tgt: tgtSide } = pair;
  const base = { source: table.source, target: table.target };
  const plan = { missingColumns: [...pair.missingColumns], extraColumns: [...pair.extraColumns], keys: pair.keyNames };
  const columnsDiffer = plan.missingColumns.length > 0;

  const recheck = settings.recheck ? new RecheckClock(settings.recheck) : undefined;

  if (!plan.keys) {
    // without a key, rows cannot be followed: the whole table is compared again after each wait
    let [sa, ta] = await wholeTable(srcSide, tgtSide);
    let equal = same(sa, ta);
    while (!equal && recheck && recheck.rounds < recheck.settings.maxRounds) {
      await recheck.wait();
      [sa, ta] = await wholeTable(srcSide, tgtSide);
      equal = same(sa, ta);
    }
    return {
      ...base,
      status: equal && !columnsDiffer ? 'match' : 'mismatch',
      method: 'whole-table',
      sourceRows: sa.n,
      targetRows: ta.n,
      ranges: 1,
      mismatchedRanges: equal ? 0 : 1,
      differences: [],
      differencesTruncated: !equal,
      missingColumns: plan.missingColumns,
      extraColumns: plan.extraColumns,
      typeChanges: [],
      ...(recheck ? { recheck: recheck.result(0, []) } : {}),
      durationMs: Date.now() - started,
    };
  }

  const slice = pair.slice;
  let boundaries: readonly string[];
  if (slice) {
    boundaries = slice.boundaries;
  } else {
    const estimated = await pair.estimatedRows();
    const buckets = Math.max(1, Math.min(4096, Math.ceil(estimated / settings.bucketRows)));
    boundaries = buckets > 1 && table.kind !== 'v'
      ? pickBoundaries(await srcSide.sampleLeading(estimated, Math.min(200_000, buckets * 40)), buckets)
      : [];
  }
  const within: Range = { lo: slice?.lo !== undefined ? [slice.lo] : undefined, hi: slice?.hi !== undefined ? [slice.hi] : undefined };
  const sourceKeyNames = plan.keys;
  const pass = async (track?: number) => {
    const [sa, ta] = await Promise.all([srcSide.bucketed(boundaries, within), tgtSide.bucketed(boundaries, within)]);
    const comparison = new KeyRangeComparison(srcSide, tgtSide, sourceKeyNames, settings, track);
    let sourceRows = 0;
    let targetRows = 0;
    let mismatched = 0;
    for (let b = 0; b <= boundaries.length; b++) {
      const s = sa.get(b) ?? EMPTY;
      const t = ta.get(b) ?? EMPTY;
      sourceRows += s.n;
      targetRows += t.n;
      if (same(s, t)) continue;
      mismatched++;
      const range: Range = {
        lo: b === 0 ? within.lo : [boundaries[b - 1]],
        hi: b === boundaries.length ? within.hi : [boundaries[b]],
      };
      await comparison.drill(range, s, t);
    }
    return { comparison, sourceRows, targetRows, mismatched };
  };
  const keyed = {
    ...base,
    method: 'key-ranges' as const,
    ranges: boundaries.length + 1,
    missingColumns: plan.missingColumns,
    extraColumns: plan.extraColumns,
    typeChanges: [],
  };

  if (!recheck) {
    const { comparison, sourceRows, targetRows, mismatched } = await pass();
    return {
      ...keyed,
      status: mismatched === 0 && !columnsDiffer ? 'match' : 'mismatch',
      sourceRows,
      targetRows,
      mismatchedRanges: mismatched,
      differences: await withDifferingColumns(pair, comparison.differences, comparison.located),
      differencesTruncated: comparison.truncated,
      durationMs: Date.now() - started,
    };
  }

  // under CDC: the differing rows are followed until they match, persist, or the rounds run out
  let first = await pass(recheck.settings.maxTrackedKeys);
  while (first.comparison.truncated && recheck.rounds < recheck.settings.maxRounds) {
    // too many rows differ to follow them one by one: compare the table again once changes had time to arrive
    await recheck.wait();
    first = await pass(recheck.settings.maxTrackedKeys);
  }
  const { comparison, sourceRows, targetRows, mismatched } = first;
  let pending = comparison.observed;
  const persistent: Observation[] = [];
  let settled = 0;
  while (pending.length > 0 && !comparison.truncated && recheck.rounds < recheck.settings.maxRounds) {
    await recheck.wait();
    const raws = pending.map((o) => o.raw);
    const [sourceNow, targetNow] = await Promise.all([srcSide.lookup(raws), tgtSide.lookup(raws)]);
    const next: Observation[] = [];
    for (const before of pending) {
      const id = JSON.stringify(before.key);
      const now: Observation = { ...before, source: sourceNow.get(id) ?? [], target: targetNow.get(id) ?? [] };
      if (observedEqual(now)) settled++;
      else if (sameHashes(now.source, before.source)) persistent.push(now);
      else next.push(now);
    }
    pending = next;
  }
  const report = (list: readonly Observation[]) => {
    const out: RowDifference[] = [];
    const located: Located[] = [];
    for (const o of list) {
      for (const kind of differencesOf(o)) {
        out.push({ kind, key: keyRecord(sourceKeyNames, o.key) });
        located.push({ key: o.key, raw: o.raw });
      }
    }
    return { out, located };
  };
  // rows still differing after a truncated first pass could not be followed: they are all reported
  const reported = report(comparison.truncated ? [...persistent, ...pending] : persistent);
  const found = reported.out;
  const unsettled = comparison.truncated ? [] : report(pending).out;
  const failed = found.length > 0 || comparison.truncated;
  return {
    ...keyed,
    status: !failed && !columnsDiffer ? 'match' : 'mismatch',
    sourceRows,
    targetRows,
    mismatchedRanges: failed ? mismatched : 0,
    differences: await withDifferingColumns(pair, found.slice(0, settings.maxDifferences), reported.located),
    differencesTruncated: comparison.truncated || found.length > settings.maxDifferences,
    recheck: recheck.result(settled, unsettled.slice(0, settings.maxDifferences), unsettled.length),
    durationMs: Date.now() - started,
  };
}

async function wholeTable(src: RangeSide, tgt: RangeSide): Promise<[Aggregate, Aggregate]> {
  const [s, t] = await Promise.all([src.bucketed([]), tgt.bucketed([])]);
  return [s.get(0)!, t.get(0)!];
}

function sameHashes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h, i) => h === b[i]);
}

export interface RecheckSettings {
  readonly latencyMs: () => Promise<number>;
  readonly marginMs: number;
  readonly maxRounds: number;
  readonly maxTrackedKeys: number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** The waits of one table's re-check. */
class RecheckClock {
  rounds = 0;
  private waitedMs = 0;
  private maxLatencyMs = 0;

  constructor(readonly settings: RecheckSettings) {}

  /** Waits the latency read now plus the margin. */
  async wait(): Promise<void> {
    const latency = await this.settings.latencyMs();
    if (!Number.isFinite(latency) || latency < 0) throw new Error(`the replication latency must be a number of milliseconds >= 0, got ${latency}`);
    this.maxLatencyMs = Math.max(this.maxLatencyMs, latency);
    const ms = latency + this.settings.marginMs;
    this.waitedMs += ms;
    this.rounds++;
    await this.settings.sleep(ms);
  }

  result(settledRows: number, unsettled: readonly RowDifference[], unsettledRows = unsettled.length): TableRecheck {
    return { rounds: this.rounds, settledRows, unsettledRows, unsettled, waitedMs: this.waitedMs, maxLatencyMs: this.maxLatencyMs };
  }
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be an integer >= 0, got ${value}`);
  return value;
}

/**
 * Compares every selected table of the source with its counterpart on the target. Row counts and
 * checksums are computed inside each database over primary-key ranges; only mismatching ranges are
 * split further, and keys are fetched only for ranges of at most `leafRows` rows, so memory use does
 * not depend on table size.
 */
export async function verify(options: VerifyOptions): Promise<VerifyResult> {
  if (isMySqlSource(options.source)) return mySqlSupport(() => mySqlVerify)(options);
  const started = Date.now();
  const settings = verifySettings(options);
  const concurrency = positiveInteger('concurrency', options.concurrency, 4);
  const mappings = options.mappings ?? defaultMappings();
  const mapper = new NameMapper(mappings);
  const sources = new SessionSlots(options.source as ConnectionConfig, 'cdk-neon-migration verify', 'source');
  const targets = new SessionSlots(options.target, 'cdk-neon-migration verify', 'target');
  try {
    const [src0, tgt0] = await Promise.all([sources.get(0), targets.get(0)]);
    const warnings: string[] = [];
    if (src0.serverEncoding !== tgt0.serverEncoding) {
      warnings.push(`The source encoding ${src0.serverEncoding} differs from the target encoding ${tgt0.serverEncoding}: text columns are compared byte for byte and will all differ.`);
    }
    const tables = await resolveTables(src0, mappings);
    const findings: VerifyFinding[] = [];
    if (tables.length === 0) findings.push({ code: 'NO_TABLES_SELECTED', message: noTablesSelectedMessage(mappings) });
    let done = 0;
    const results = await mapPool(tables, concurrency, async (table, slot) => {
      const started1 = Date.now();
      let result: TableVerification;
      try {
        const [src, tgt] = await Promise.all([sources.get(slot), targets.get(slot)]);
        result = await verifyTable(table, src, tgt, mapper, options, settings);
      } catch (e) {
        result = { ...unverified(table, 'error', started1), error: e instanceof Error ? e.message : String(e) };
      }
      done++;
      options.onProgress?.({ done, total: tables.length, table: displayName(table.source) });
      return result;
    });
    let schemaObjects: SchemaObjectsComparison | undefined;
    if (options.compareSchemaObjects) {
      schemaObjects = await compareSchemaObjects(src0, tgt0, tables, mapper);
    }
    const ok = findings.length === 0 && results.every((r) => r.status === 'match') && (schemaObjects?.ok ?? true);
    return { ok, tables: results, ...(schemaObjects ? { schemaObjects } : {}), findings, warnings, durationMs: Date.now() - started };
  } finally {
    await Promise.all([sources.closeAll(), targets.closeAll()]);
  }
}

/** The settings of a verification, checked: defaults filled in, bad values refused. */
export function verifySettings(options: VerifyOptions): Settings {
  return {
    maxDifferences: positiveInteger('maxDifferences', options.maxDifferences, 20),
    leafRows: positiveInteger('leafRows', options.leafRows, 4000),
    bucketRows: positiveInteger('bucketRows', options.bucketRows, 4000),
    fanout: Math.max(2, positiveInteger('fanout', options.fanout, 16)),
    recheck: options.recheck && {
      latencyMs: options.recheck.latencyMs,
      marginMs: nonNegativeInteger('recheck.marginMs', options.recheck.marginMs, 2000),
      maxRounds: positiveInteger('recheck.maxRounds', options.recheck.maxRounds, 5),
      maxTrackedKeys: positiveInteger('recheck.maxTrackedKeys', options.recheck.maxTrackedKeys, 10_000),
      sleep: options.recheck.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    },
  };
}

/** `schema.name` of an object for messages. */
function objectName(name: TableName): string {
  return displayName(name);
}

type DifferenceSink = (difference: SchemaObjectDifference) => void;

/** Compares two named lists: missing, extra and differing entries. */
function compareNamed<T extends { readonly name: string }>(
  source: readonly T[], target: readonly T[], describe: (item: T) => string, report: DifferenceSink,
  base: (name: string) => Pick<SchemaObjectDifference, 'kind' | 'object' | 'table'>,
): void {
  const targetByName = new Map(target.map((t) => [t.name, t]));
  for (const item of source) {
    const match = targetByName.get(item.name);
    if (!match) {
      report({ ...base(item.name), difference: 'missing-in-target', source: describe(item) });
    } else if (describe(match) !== describe(item)) {
      report({ ...base(item.name), difference: 'different', source: describe(item), target: describe(match) });
    }
  }
  const sourceNames = new Set(source.map((s) => s.name));
  for (const item of target) {
    if (!sourceNames.has(item.name)) report({ ...base(item.name), difference: 'extra-in-target', target: describe(item) });
  }
}

const COLUMN_PROPERTIES: ReadonlyArray<readonly [string, (c: TableObjects['columns'][number]) => string]> = [
  ['type', (c) => c.type],
  ['not null', (c) => (c.notNull ? 'NOT NULL' : 'NULL')],
  ['default', (c) => c.default ?? '(none)'],
  ['identity', (c) => ({ a: 'GENERATED ALWAYS AS IDENTITY', d: 'GENERATED BY DEFAULT AS IDENTITY' } as Record<string, string>)[c.identity] ?? '(none)'],
  ['generated', (c) => (c.generated === 's' ? `GENERATED ALWAYS AS (${c.default ?? ''}) STORED` : '(none)')],
  ['collation', (c) => c.collation ?? '(default)'],
];

/** Whether the target sequence is behind the source's: it would hand out a value the source already did. */
function sequenceBehind(source: { next: string; increment: string }, target: { next: string }): boolean {
  const s = BigInt(source.next);
  const t = BigInt(target.next);
  return BigInt(source.increment) > 0n ? t < s : t > s;
}

/** Compares the schema objects of the selected tables (see {@link VerifyOptions.compareSchemaObjects}). */
async function compareSchemaObjects(
  src: Session, tgt: Session, tables: readonly SelectedTable[], mapper: NameMapper,
): Promise<SchemaObjectsComparison> {
  const differences: SchemaObjectDifference[] = [];
  const report: DifferenceSink = (d) => differences.push(d);
  const comparedByKind: Partial<Record<SchemaObjectKind, number>> = {};
  const count = (kind: SchemaObjectKind, n = 1) => { comparedByKind[kind] = (comparedByKind[kind] ?? 0) + n; };
  const userTypes = new Map<string, TableName>();
  const keptTables = new Set<string>();
  const seenSequences = new Set<string>();

  // the selected tables and their partitions
  const pairs: Array<{ source: TableName; target: TableName }> = [];
  for (const table of tables) {
    if (table.kind !== 'r' && table.kind !== 'p') continue;
    pairs.push({ source: table.source, target: table.target });
    if (table.kind === 'p') {
      for (const partition of await listPartitions(src, table.source)) pairs.push({ source: partition, target: mapper.table(partition) });
    }
  }
  for (const p of pairs) keptTables.add(displayName(p.source));

  for (const pair of pairs) {
    const [s, t] = await Promise.all([describeTableObjects(src, pair.source), describeTableObjects(tgt, pair.target)]);
    // a table missing on either side is reported by the row comparison
    if (!s || !t) continue;
    const table = objectName(pair.source);

    // columns, by their target names
    const targetColumns = new Map(t.columns.map((c) => [c.name, c]));
    const mappedNames = new Set<string>();
    for (const column of s.columns) {
      if (column.userType) userTypes.set(displayName(column.userType), column.userType);
      const targetName = targetColumnName(mapper, pair.source, column, (name) => targetColumns.has(name));
      if (targetName === undefined) continue;
      count('column');
      mappedNames.add(targetName);
      const object = `${table}.${column.name}`;
      const match = targetColumns.get(targetName);
      if (!match) {
        report({ kind: 'column', object, table, difference: 'missing-in-target', source: column.type });
        continue;
      }
      for (const [property, read] of COLUMN_PROPERTIES) {
        // a generated column's expression is compared as "generated", not as a default
        if (property === 'default' && (column.generated || match.generated)) continue;
        if (read(column) !== read(match)) {
          report({ kind: 'column', object, table, difference: 'different', property, source: read(column), target: read(match) });
        }
      }
    }
    for (const column of t.columns) {
      if (!mappedNames.has(column.name)) report({ kind: 'column', object: `${table}.${column.name}`, table, difference: 'extra-in-target', target: column.type });
    }

    const schemaOf = (name: string) => `${pair.source.schema}.${name}`;
    count('index', s.indexes.length);
    compareNamed(s.indexes, t.indexes, (i) => i.definition, report,
      (name) => ({ kind: 'index', object: schemaOf(name), table }));
    // a foreign key names its referenced table as the target calls it
    const withReference = (k: TableObjects['constraints'][number], side: 'source' | 'target') => {
      if (!k.references) return k.definition;
      const ref = side === 'source' ? mapper.table(k.references) : k.references;
      return k.definition.split('{{ref}}').join(displayName(ref));
    };
    const constraintText = (side: 'source' | 'target') => (k: TableObjects['constraints'][number]) =>
      `${withReference(k, side)}${k.validated ? '' : ' NOT VALID'}`;
    const sourceConstraints = s.constraints.map((k) => ({ ...k, text: constraintText('source')(k) }));
    const targetConstraints = t.constraints.map((k) => ({ ...k, text: constraintText('target')(k) }));
    count('constraint', sourceConstraints.length);
    compareNamed(sourceConstraints, targetConstraints, (k) => k.text, report,
      (name) => ({ kind: 'constraint', object: `${name} on ${table}`, table }));
    count('trigger', s.triggers.length);
    // the table is named as on the source on both sides: a renamed table's trigger is the same trigger
    compareNamed(s.triggers, t.triggers, (g) => `${g.definition.split('{{table}}').join(table)}${g.enabled === 'O' ? '' : ` (enabled: ${g.enabled})`}`, report,
      (name) => ({ kind: 'trigger', object: `${name} on ${table}`, table }));

    // sequences, by the column they feed (once each: a partition's column uses its root's sequence)
    for (const seq of s.sequences) {
      const object = objectName(seq.sequence);
      if (seenSequences.has(object)) continue;
      seenSequences.add(object);
      count('sequence');
      const targetColumn = mapper.column(pair.source, seq.column);
      const targetSeq = t.sequences.find((x) => x.column === targetColumn);
      const sourcePosition = await readSequencePosition(src, seq.sequence);
      const targetPosition = targetSeq ? await readSequencePosition(tgt, targetSeq.sequence) : undefined;
      if (!sourcePosition) continue;
      if (!targetPosition) {
        report({ kind: 'sequence', object, table, difference: 'missing-in-target', source: `next value ${sourcePosition.next}` });
      } else if (sequenceBehind(sourcePosition, targetPosition)) {
        report({
          kind: 'sequence',
          object,
          table,
          difference: 'behind',
          source: `next value ${sourcePosition.next}`,
          target: `next value ${targetPosition.next}`,
        });
      }
    }
  }

  // the user-defined types the columns use (and the types domains are based on)
  const seenTypes = new Set<string>();
  const pending = [...userTypes.values()];
  while (pending.length > 0) {
    const type = pending.shift()!;
    const key = displayName(type);
    if (seenTypes.has(key)) continue;
    seenTypes.add(key);
    const [s, t] = await Promise.all([describeType(src, type), describeType(tgt, type)]);
    if (!s) continue;
    count('type');
    if (s.baseUserType) pending.push(s.baseUserType);
    if (!t) {
      report({ kind: 'type', object: key, difference: 'missing-in-target', source: s.definition });
    } else if (s.kind !== t.kind || s.definition !== t.definition) {
      report({ kind: 'type', object: key, difference: 'different', source: s.definition, target: t.definition });
    }
  }

  // views and materialized views of the selected tables' schemas that read only selected tables
  const schemas = [...new Set(pairs.map((p) => p.source.schema))];
  const views = await listViews(src, schemas);
  const byName = new Map(views.map((v) => [displayName(v.name), v]));
  const inScope = new Map<string, boolean>();
  const readsOnlyKept = (view: ViewInfo, stack: Set<string>): boolean => {
    const key = displayName(view.name);
    const known = inScope.get(key);
    if (known !== undefined) return known;
    if (stack.has(key)) return false;
    stack.add(key);
    const ok = view.reads.every((r) => {
      if (r.kind === 'v' || r.kind === 'm') {
        const other = byName.get(displayName(r));
        return other !== undefined && readsOnlyKept(other, stack);
      }
      return keptTables.has(displayName(r));
    });
    inScope.set(key, ok);
    return ok;
  };
  for (const view of views) {
    if (!readsOnlyKept(view, new Set())) continue;
    const kind: SchemaObjectKind = view.kind === 'm' ? 'materialized view' : 'view';
    count(kind);
    const object = objectName(view.name);
    const target = await describeView(tgt, mapper.table(view.name));
    const describe = (v: { kind: string; definition: string; populated: boolean }) =>
      v.kind === 'm' ? `${v.definition}${v.populated ? '' : ' (no data)'}` : v.definition;
    if (!target) {
      report({ kind, object, difference: 'missing-in-target', source: describe(view) });
    } else if (target.kind !== view.kind || describe(target) !== describe(view)) {
      report({ kind, object, difference: 'different', source: describe(view), target: target.kind === view.kind ? describe(target) : `relkind ${target.kind}` });
    }
  }
  const compared = Object.values(comparedByKind).reduce((a, b) => a + b, 0);
  return { ok: differences.length === 0, compared, comparedByKind, differences };
}

/** Human-readable report of the schema-object comparison, one line per difference. */
export function formatSchemaObjects(comparison: SchemaObjectsComparison): string {
  const out: string[] = [];
  if (comparison.differences.length > 0) {
    const width = Math.max(...comparison.differences.map((d) => `${d.kind} ${d.object}`.length));
    for (const d of comparison.differences) {
      const what = `${d.kind} ${d.object}`.padEnd(width);
      const property = d.property ? ` (${d.property})` : '';
      const detail = d.difference === 'different' || d.difference === 'behind'
        ? `: ${d.source ?? ''} on the source, ${d.target ?? ''} on the target`
        : d.difference === 'missing-in-target' ? `: ${d.source ?? ''}` : `: ${d.target ?? ''}`;
      out.push(`${what}  ${d.difference}${property}${detail}`);
    }
    out.push('');
    out.push(`Schema objects: ${comparison.differences.length} difference(s) among ${comparison.compared} object(s) compared.`);
  } else {
    out.push(`Schema objects: all ${comparison.compared} object(s) compared match.`);
  }
  return out.join('\n') + '\n';
}

let mySqlVerify: ((options: VerifyOptions) => Promise<VerifyResult>) | undefined;

/** Makes {@link verify} accept a MySQL source (done by `./mysql` when it loads). */
export function registerMySqlVerify(fn: (options: VerifyOptions) => Promise<VerifyResult>): void {
  mySqlVerify = fn;
}
