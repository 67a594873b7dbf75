import { MySqlSession } from './connection';
import { KeyComparison } from './type-mapping';
import { Session } from '../connection';
import { arrayLiteral } from '../sql';
import type { Aggregate, Bound, LeafRow, Range, RangeSide } from '../verify';

/**
 * The two sides of a MySQL → PostgreSQL comparison. Each row's canonical text (its columns'
 * canonical texts joined by U+001F, NULL as U+001E) is hashed with MD5 in each database; the first
 * 60 bits of the digest, as an unsigned integer, are summed per range. Both engines compute the
 * same digest for the same bytes and sum exactly (MySQL's DECIMAL, PostgreSQL's numeric).
 */

/** The MySQL side's row hash over the canonical texts of the columns. */
export function mysqlRowHash(canonical: readonly string[]): string {
  // CHAR(30) and CHAR(31) are binary strings: the whole text is binary, the bytes of each part as it is (UTF-8)
  const parts = canonical.map((e) => `COALESCE(${e}, CHAR(30))`);
  const text = parts.length === 0 ? "''" : `CONCAT_WS(CHAR(31), ${parts.join(', ')})`;
  return `CAST(CONV(LEFT(MD5(${text}), 15), 16, 10) AS UNSIGNED)`;
}

/** The PostgreSQL side's row hash: the same digest of the same text. */
export function postgresRowHash(canonical: readonly string[]): string {
  const parts = canonical.map((e) => `coalesce((${e})::text, chr(30))`);
  const text = parts.length === 0 ? "''" : `concat_ws(chr(31), ${parts.join(', ')})`;
  return `('x' || left(md5(${text}), 15))::bit(60)::int8`;
}

/** What both sides of a table share: the key columns' comparisons and canonical texts. */
export interface CrossKeys {
  readonly comparisons: readonly KeyComparison[];
  /** The key columns' canonical texts on the MySQL side (what bounds and reported keys hold). */
  readonly mysqlText: readonly string[];
  readonly postgresText: readonly string[];
}

const INTEGER_TEXT = /^-?\d+$/;

/**
 * A key value as a MySQL literal: an integer as its digits, anything else as the hexadecimal of its
 * UTF-8 bytes (safe whatever the server's SQL mode), in the key's parameter expression.
 */
export function mysqlBound(key: KeyComparison, value: string): string {
  if (key.integer && INTEGER_TEXT.test(value)) return value;
  return key.mysqlParam.replace('?', `CONVERT(X'${Buffer.from(value, 'utf8').toString('hex')}' USING utf8mb4)`);
}

function tuple(exprs: readonly string[]): string {
  return exprs.length === 1 ? exprs[0] : `(${exprs.join(', ')})`;
}

function aggregates(rows: ReadonlyArray<{ b: unknown; n: unknown; s: unknown }>): Map<number, Aggregate> {
  return new Map(rows.map((r): [number, Aggregate] => [Number(r.b), { n: Number(r.n), s: r.s === null || r.s === undefined ? '0' : String(r.s) }]));
}

/** A CASE tree giving the index of the sub-range a row falls in (`conditions[i]`: below split i). */
/**
 * `count + 1` values evenly spaced from `lo` to `hi` (integers, repeats dropped): the boundaries of a
 * dense integer key (AUTO_INCREMENT) read from its smallest and largest values alone.
 */
export function evenlySpaced(lo: bigint, hi: bigint, count: number): string[] {
  const n = BigInt(Math.max(1, count));
  const out: string[] = [];
  for (let i = 0n; i <= n; i++) {
    const v = (lo + ((hi - lo) * i) / n).toString();
    if (out[out.length - 1] !== v) out.push(v);
  }
  return out;
}

/** Every hash found per key (a key of several rows has several). */
function hashesByKey(rows: ReadonlyArray<{ id: string; values: string[] }>): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { id, values } of rows) {
    const list = found.get(id);
    if (list) list.push(values[0]);
    else found.set(id, [values[0]]);
  }
  return found;
}

/** The values of the first row found per key. */
function firstByKey(rows: ReadonlyArray<{ id: string; values: string[] }>): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const { id, values } of rows) if (!found.has(id)) found.set(id, values);
  return found;
}

function caseTree(conditions: readonly string[]): string {
  const tree = (lo: number, hi: number): string => {
    if (lo === hi) return String(lo);
    const mid = Math.floor((lo + hi) / 2);
    return `CASE WHEN ${conditions[mid]} THEN ${tree(lo, mid)} ELSE ${tree(mid + 1, hi)} END`;
  };
  return tree(0, conditions.length);
}

/** The MySQL side of a table. */
export class MySqlRangeSide implements RangeSide {
  constructor(
    private readonly session: MySqlSession,
    private readonly from: string,
    private readonly keys: CrossKeys,
    private readonly hash: string,
    /**
     * More sessions for the first pass: a MySQL query runs on one thread, so the first pass's scan
     * is cut into as many parts, one per session, run at the same time. @default - none
     */
    private readonly helpers: () => Promise<readonly MySqlSession[]> = async () => [],
    /** The canonical texts of the compared columns that are not key columns (for {@link columnHashes}). @default - none */
    private readonly columnTexts: readonly string[] = [],
  ) {}

  /** Bounds are written into the statement as literals: the CASE trees use them out of order. */
  private compare(bound: Bound, op: string): string {
    const cols = this.keys.comparisons.slice(0, bound.length);
    return `${tuple(cols.map((k) => k.mysql))} ${op} ${tuple(cols.map((k, i) => mysqlBound(k, bound[i])))}`;
  }

  private where(range: Range): string {
    const parts: string[] = [];
    if (range.lo) parts.push(this.compare(range.lo, '>='));
    if (range.hi) parts.push(this.compare(range.hi, '<'));
    return parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  }

  private get orderBy(): string {
    return this.keys.comparisons.map((k) => k.mysql).join(', ');
  }

  async bucketed(boundaries: readonly string[], within?: Range): Promise<Map<number, Aggregate>> {
    refuseSlice(within);
    if (boundaries.length === 0) {
      return aggregates(await this.session.query(`SELECT 0 AS b, COUNT(*) AS n, SUM(${this.hash}) AS s FROM ${this.from}`));
    }
    const lead = this.keys.comparisons[0];
    let bucket: string;
    if (lead.integer && boundaries.every((b) => INTEGER_TEXT.test(b))) {
      // INTERVAL() finds the bucket by binary search over integer literals
      bucket = `INTERVAL(${lead.mysql}, ${boundaries.join(', ')})`;
    } else {
      bucket = caseTree(boundaries.map((b) => this.compare([b], '<')));
    }
    // the scan in parts, each part a run of whole buckets, one session each
    const sessions = [this.session, ...await this.helpers()];
    const parts = Math.min(sessions.length, boundaries.length + 1);
    const cuts = Array.from({ length: parts - 1 }, (_, i) => boundaries[Math.floor(((i + 1) * boundaries.length) / parts)]);
    const results = await Promise.all(sessions.slice(0, parts).map((session, i) => {
      const where = [i > 0 ? this.compare([cuts[i - 1]], '>=') : '', i < parts - 1 ? this.compare([cuts[i]], '<') : ''].filter((w) => w).join(' AND ');
      return session.query<{ b: unknown; n: unknown; s: unknown }>(
        `SELECT ${bucket} AS b, COUNT(*) AS n, SUM(${this.hash}) AS s FROM ${this.from} ${where ? `WHERE ${where}` : ''} GROUP BY 1`);
    }));
    return aggregates(results.flat());
  }

  async split(range: Range, splits: readonly Bound[]): Promise<Map<number, Aggregate>> {
    const conditions = splits.map((s) => this.compare(s, '<'));
    const tree = caseTree(conditions);
    const where = this.where(range);
    return aggregates(await this.session.query(`SELECT ${tree} AS b, COUNT(*) AS n, SUM(${this.hash}) AS s FROM ${this.from} ${where} GROUP BY 1`));
  }

  async splitKeys(range: Range, count: number, parts: number): Promise<Bound[]> {
    const where = this.where(range);
    const step = Math.max(1, Math.ceil(count / parts));
    const names = this.keys.mysqlText.map((_, i) => `_k${i}`);
    const rows = await this.session.query<Record<string, string>>(`
      SELECT ${names.map((n) => `\`${n}\``).join(', ')} FROM (
        SELECT ${this.keys.mysqlText.map((e, i) => `${e} AS \`${names[i]}\``).join(', ')}, ROW_NUMBER() OVER (ORDER BY ${this.orderBy}) AS _rn
        FROM ${this.from} ${where}) s
      WHERE _rn % ${step} = 0 ORDER BY _rn`);
    return rows.map((r) => names.map((n) => String(r[n])));
  }

  async leaf(range: Range, limit: number): Promise<LeafRow[]> {
    const where = this.where(range);
    const rows = await this.session.query<Record<string, string>>(`
      SELECT ${this.keys.mysqlText.map((e, i) => `${e} AS k${i}`).join(', ')}, CAST(${this.hash} AS CHAR) AS h
      FROM ${this.from} ${where} ORDER BY ${this.orderBy} LIMIT ${Math.max(1, Math.floor(limit))}`);
    return rows.map((r) => {
      const key = this.keys.mysqlText.map((_, i) => String(r[`k${i}`]));
      return { key, raw: key, hash: String(r.h) };
    });
  }

  async lookup(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>> {
    return hashesByKey(await this.byKeys(raws, [`CAST(${this.hash} AS CHAR)`]));
  }

  /** Each column's own row hash (the digest of its canonical text alone, as the PostgreSQL side computes it). */
  async columnHashes(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>> {
    if (this.columnTexts.length === 0) return new Map();
    return firstByKey(await this.byKeys(raws, this.columnTexts.map((e) => `CAST(${mysqlRowHash([e])} AS CHAR)`)));
  }

  private async byKeys(raws: readonly (readonly string[])[], exprs: readonly string[]): Promise<Array<{ id: string; values: string[] }>> {
    const out: Array<{ id: string; values: string[] }> = [];
    const batch = Math.max(1, Math.floor(4000 / Math.max(1, this.keys.comparisons.length)));
    for (let i = 0; i < raws.length; i += batch) {
      const tuples = raws.slice(i, i + batch).map((raw) => tuple(this.keys.comparisons.map((k, j) => mysqlBound(k, raw[j]))));
      const rows = await this.session.query<Record<string, string>>(`
        SELECT ${this.keys.mysqlText.map((e, j) => `${e} AS k${j}`).join(', ')}, ${exprs.map((e, j) => `${e} AS v${j}`).join(', ')}
        FROM ${this.from} WHERE ${tuple(this.keys.comparisons.map((k) => k.mysql))} IN (${tuples.join(', ')})`);
      for (const r of rows) {
        out.push({ id: JSON.stringify(this.keys.mysqlText.map((_, j) => String(r[`k${j}`]))), values: exprs.map((_, j) => String(r[`v${j}`])) });
      }
    }
    return out;
  }

  async sampleLeading(estimatedRows: number, sampleRows: number): Promise<string[]> {
    const lead = this.keys.comparisons[0];
    if (lead.integer) {
      // dense keys (AUTO_INCREMENT) spread evenly between the smallest and the largest: two index lookups
      const [row] = await this.session.query<{ lo: string | null; hi: string | null }>(
        `SELECT CAST(MIN(${lead.mysql}) AS CHAR) AS lo, CAST(MAX(${lead.mysql}) AS CHAR) AS hi FROM ${this.from}`);
      if (row.lo === null || row.hi === null) return [];
      return evenlySpaced(BigInt(row.lo), BigInt(row.hi), sampleRows);
    }
    const step = Math.max(1, Math.ceil(estimatedRows / Math.max(1, sampleRows)));
    const rows = await this.session.query<{ v: string }>(`
      SELECT v FROM (SELECT ${this.keys.mysqlText[0]} AS v, ROW_NUMBER() OVER (ORDER BY ${lead.mysql}) AS _rn FROM ${this.from}) s
      WHERE _rn % ${step} = 0 ORDER BY _rn`);
    const out: string[] = [];
    for (const r of rows) if (out[out.length - 1] !== String(r.v)) out.push(String(r.v));
    return out;
  }
}

/** The PostgreSQL side of a MySQL table: the same canonical texts, hash and key order. */
export class PostgresRangeSide implements RangeSide {
  constructor(
    private readonly session: Session,
    private readonly from: string,
    private readonly keys: CrossKeys,
    private readonly hash: string,
    /** `format_type` without modifiers of the leading key column, for the first pass's array of boundaries. */
    private readonly leadCastType: string | undefined,
    /** Let the first pass use parallel workers (the MySQL side scans with several sessions). @default false */
    private readonly parallel = false,
    /** The canonical texts of the compared columns that are not key columns (for {@link columnHashes}). @default - none */
    private readonly columnTexts: readonly string[] = [],
  ) {}

  private compare(bound: Bound, op: string, params: unknown[]): string {
    const cols = this.keys.comparisons.slice(0, bound.length);
    const placeholders = cols.map((k, i) => {
      params.push(bound[i]);
      return k.postgresParam(params.length);
    });
    return `${tuple(cols.map((k) => k.postgres))} ${op} ${tuple(placeholders)}`;
  }

  private where(range: Range, params: unknown[]): string {
    const parts: string[] = [];
    if (range.lo) parts.push(this.compare(range.lo, '>=', params));
    if (range.hi) parts.push(this.compare(range.hi, '<', params));
    return parts.length > 0 ? `where ${parts.join(' and ')}` : '';
  }

  private get orderBy(): string {
    return this.keys.comparisons.map((k) => k.postgres).join(', ');
  }

  /**
   * The first pass's settings: in one process while the MySQL side scans on one thread (which takes
   * at least as long, so parallel workers would only add their overhead and take CPU from it on a
   * shared host); with parallel workers when the MySQL side scans with several sessions.
   */
  private get firstPass(): Record<string, string> {
    return this.parallel ? { enable_sort: 'off', parallel_tuple_cost: '0' } : { enable_sort: 'off', max_parallel_workers_per_gather: '0' };
  }

  async bucketed(boundaries: readonly string[], within?: Range): Promise<Map<number, Aggregate>> {
    refuseSlice(within);
    if (boundaries.length === 0) {
      return aggregates(await this.session.query(`select 0 as b, count(*) as n, sum(${this.hash}) as s from ${this.from}`, [], this.firstPass));
    }
    const lead = this.keys.comparisons[0];
    if (lead.integer && this.leadCastType) {
      const rows = await this.session.query(`select width_bucket(${lead.postgres}, $1::${this.leadCastType}[]) as b, count(*) as n, sum(${this.hash}) as s
        from ${this.from} group by 1`, [arrayLiteral(boundaries)], this.firstPass);
      return aggregates(rows as Array<{ b: unknown; n: unknown; s: unknown }>);
    }
    const params: unknown[] = [];
    const bucket = caseTree(boundaries.map((b) => this.compare([b], '<', params)));
    const rows = await this.session.query(`select ${bucket} as b, count(*) as n, sum(${this.hash}) as s from ${this.from} group by 1`,
      params, this.firstPass);
    return aggregates(rows as Array<{ b: unknown; n: unknown; s: unknown }>);
  }

  async split(range: Range, splits: readonly Bound[]): Promise<Map<number, Aggregate>> {
    const params: unknown[] = [];
    const where = this.where(range, params);
    const tree = caseTree(splits.map((s) => this.compare(s, '<', params)));
    const rows = await this.session.query(`select ${tree} as b, count(*) as n, sum(${this.hash}) as s from ${this.from} ${where} group by 1`, params);
    return aggregates(rows as Array<{ b: unknown; n: unknown; s: unknown }>);
  }

  async splitKeys(range: Range, count: number, parts: number): Promise<Bound[]> {
    const params: unknown[] = [];
    const where = this.where(range, params);
    const step = Math.max(1, Math.ceil(count / parts));
    const rows = await this.session.query<Record<string, string>>(`
      select ${this.keys.postgresText.map((_, i) => `"_k${i}" as k${i}`).join(', ')}
      from (select ${this.keys.postgresText.map((e, i) => `(${e}) as "_k${i}"`).join(', ')},
                   row_number() over (order by ${this.orderBy}) as "_rn"
            from ${this.from} ${where}) s
      where "_rn" % ${step} = 0 order by "_rn"`, params);
    return rows.map((r) => this.keys.postgresText.map((_, i) => r[`k${i}`]));
  }

  async leaf(range: Range, limit: number): Promise<LeafRow[]> {
    const params: unknown[] = [];
    const where = this.where(range, params);
    const rows = await this.session.query<Record<string, string>>(`
      select ${this.keys.postgresText.map((e, i) => `(${e}) as k${i}`).join(', ')}, (${this.hash})::text as h
      from ${this.from} ${where} order by ${this.orderBy} limit ${Math.max(1, Math.floor(limit))}`, params);
    return rows.map((r) => {
      const key = this.keys.postgresText.map((_, i) => r[`k${i}`]);
      return { key, raw: key, hash: r.h };
    });
  }

  async lookup(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>> {
    return hashesByKey(await this.byKeys(raws, [`(${this.hash})::text`]));
  }

  /** Each column's own row hash (the digest of its canonical text alone, as the MySQL side computes it). */
  async columnHashes(raws: readonly (readonly string[])[]): Promise<Map<string, string[]>> {
    if (this.columnTexts.length === 0) return new Map();
    return firstByKey(await this.byKeys(raws, this.columnTexts.map((e) => `(${postgresRowHash([e])})::text`)));
  }

  private async byKeys(raws: readonly (readonly string[])[], exprs: readonly string[]): Promise<Array<{ id: string; values: string[] }>> {
    const out: Array<{ id: string; values: string[] }> = [];
    const batch = Math.max(1, Math.floor(8000 / Math.max(1, this.keys.comparisons.length)));
    for (let i = 0; i < raws.length; i += batch) {
      const params: unknown[] = [];
      const tuples = raws.slice(i, i + batch).map((raw) => tuple(this.keys.comparisons.map((k, j) => {
        params.push(raw[j]);
        return k.postgresParam(params.length);
      })));
      const rows = await this.session.query<Record<string, string>>(`
        select ${this.keys.postgresText.map((e, j) => `(${e}) as k${j}`).join(', ')}, ${exprs.map((e, j) => `${e} as v${j}`).join(', ')}
        from ${this.from} where ${tuple(this.keys.comparisons.map((k) => k.postgres))} in (${tuples.join(', ')})`, params);
      for (const r of rows) out.push({ id: JSON.stringify(this.keys.postgresText.map((_, j) => r[`k${j}`])), values: exprs.map((_, j) => r[`v${j}`]) });
    }
    return out;
  }

  async sampleLeading(): Promise<string[]> {
    throw new Error('the boundaries of a MySQL table are taken from the MySQL side');
  }
}

/** Comparisons with a MySQL source cover whole tables: slices of the key space are compared only between PostgreSQL databases. */
function refuseSlice(within: Range | undefined): void {
  if (within?.lo !== undefined || within?.hi !== undefined) {
    throw new Error('a slice of a table cannot be compared with a MySQL source: compare the whole table');
  }
}
