import * as fs from 'fs';
import type { BenchSection } from './table';
import { describeTable } from '../lib/fidelity/catalog';
import { openSession, Session } from '../lib/fidelity/connection';
import '../lib/fidelity/mysql';
import { describeMySqlTable } from '../lib/fidelity/mysql/catalog';
import { openMySqlSession } from '../lib/fidelity/mysql/connection';
import { CrossKeys, evenlySpaced, PostgresRangeSide, postgresRowHash } from '../lib/fidelity/mysql/sides';
import { compareColumn, keyComparison } from '../lib/fidelity/mysql/type-mapping';
import { qualified } from '../lib/fidelity/sql';
import { Bound, compareSides, Range, RangeSide, verify, verifySettings, VerifyResult } from '../lib/fidelity/verify';
import { startPgCluster, PgCluster } from '../test/fidelity/pg-cluster';
import { MySqlServer, startMySqlServer } from '../test/helpers/mysql-server';

/** Rows of the benchmark table. */
const ROWS = Number(process.env.MYSQL_BENCH_ROWS ?? 1_000_000);
/** Runs measured per method (the median is reported). */
const RUNS = Number(process.env.FIDELITY_BENCH_RUNS ?? 3);
/** The most MySQL → PostgreSQL may take over PostgreSQL → PostgreSQL on the same rows. */
export const MYSQL_TARGETS = { overPostgres: 2 };

/**
 * The same logical rows on three servers: MariaDB (the MySQL source), and two PostgreSQL clusters
 * with the types DMS creates for them (bigint, varchar, text for MariaDB's JSON, timestamp,
 * numeric): a PostgreSQL source and the target.
 */
const MYSQL_SETUP = `
  CREATE DATABASE bench; USE bench;
  CREATE TABLE bench (id BIGINT PRIMARY KEY, name VARCHAR(100), doc JSON, at DATETIME, amount DECIMAL(12,2));
  INSERT INTO bench SELECT seq, CONCAT('customer ', MD5(seq)), CONCAT('{"id": ', seq, ', "tags": ["a", "', MD5(seq), '"]}'),
    TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND, seq / 100 FROM seq_1_to_${ROWS};
  ANALYZE TABLE bench;`;

const PG_SETUP = `
  create schema bench;
  create table bench.bench (id bigint primary key, name varchar(100), doc text, at timestamp, amount numeric(12,2));
  insert into bench.bench select g, 'customer ' || md5(g::text), '{"id": ' || g || ', "tags": ["a", "' || md5(g::text) || '"]}',
    '2024-01-01 00:00:00'::timestamp + g * interval '1 second', g / 100.0 from generate_series(1, ${ROWS}) g;`;

/** Three rows differ on the target: one changed, one missing, one extra. */
const PLANT = `
  update bench.bench set name = name || '!' where id = ${Math.floor(ROWS / 8)};
  delete from bench.bench where id = ${Math.floor(ROWS / 2)};
  insert into bench.bench values (${ROWS + 1}, 'extra', '{}', now(), 0);`;

const MAPPINGS = { rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': 'bench', 'table-name': 'bench' } }] };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** CPU milliseconds a process (with its exited children) has used so far (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

/** Wall time and the peak growth of this process's resident memory while `fn` runs. */
interface Measured {
  readonly ms: number;
  readonly rssMb: number;
  readonly result: VerifyResult;
  /** CPU milliseconds of each server process during the run. */
  readonly cpu: Record<string, number | undefined>;
  /** CPU milliseconds of this (the verifying) process during the run. */
  readonly clientCpu: number;
}

async function measured(fn: () => Promise<VerifyResult>, pids: Record<string, number>): Promise<Measured> {
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  const started = process.hrtime.bigint();
  const client0 = process.cpuUsage();
  try {
    const result = await fn();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const client = process.cpuUsage(client0);
    // exited PostgreSQL backends are accounted to the postmaster once it has reaped them
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => {
      const a = cpu0[k];
      const b = cpuMs(pid);
      return [k, a === undefined || b === undefined ? undefined : b - a];
    }));
    const rssMb = (Math.max(peak, process.memoryUsage().rss) - before) / 2 ** 20;
    return { ms, rssMb, result, cpu, clientCpu: (client.user + client.system) / 1000 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * A PostgreSQL source compared through the cross-engine path: the PostgreSQL side of a MySQL
 * comparison on both databases, so both hash the same canonical text with MD5. Its boundaries are
 * sampled as the MySQL side samples an integer key: evenly between the smallest and largest key.
 */
class PostgresCanonicalSource implements RangeSide {
  private readonly side: PostgresRangeSide;
  constructor(private readonly session: Session, private readonly table: string, private readonly lead: string,
    keys: CrossKeys, hash: string, leadCastType: string | undefined) {
    this.side = new PostgresRangeSide(session, table, keys, hash, leadCastType);
  }

  bucketed(boundaries: readonly string[], within?: Range) { return this.side.bucketed(boundaries, within); }
  split(range: Range, splits: readonly Bound[]) { return this.side.split(range, splits); }
  splitKeys(range: Range, count: number, parts: number) { return this.side.splitKeys(range, count, parts); }
  leaf(range: Range, limit: number) { return this.side.leaf(range, limit); }
  lookup(raws: readonly (readonly string[])[]) { return this.side.lookup(raws); }

  async sampleLeading(_estimatedRows: number, sampleRows: number): Promise<string[]> {
    const [row] = await this.session.query<{ lo: string | null; hi: string | null }>(`select min(${this.lead})::text as lo, max(${this.lead})::text as hi from ${this.table}`);
    if (row.lo === null || row.hi === null) return [];
    // the same boundaries as the MySQL side's for its integer key
    return evenlySpaced(BigInt(row.lo), BigInt(row.hi), sampleRows);
  }
}

/**
 * PostgreSQL → PostgreSQL by the algorithm of MySQL sources: each column's canonical text as the
 * MySQL comparison writes it on its PostgreSQL side (taken from the MariaDB table's columns), MD5
 * of the row's text summed per range, on both PostgreSQL databases.
 */
async function verifyCanonical(mysqlUrl: string, sourceUrl: string, targetUrl: string): Promise<VerifyResult> {
  const started = Date.now();
  const name = { schema: 'bench', table: 'bench' };
  const my = await openMySqlSession(mysqlUrl, 'bench', 'source');
  const [src, tgt] = await Promise.all([openSession(sourceUrl, 'bench', 'source'), openSession(targetUrl, 'bench', 'target')]);
  try {
    const [mysqlShape, sourceShape, targetShape] = await Promise.all([
      describeMySqlTable(my, name), describeTable(src, name), describeTable(tgt, name),
    ]);
    if (!mysqlShape || !sourceShape || !targetShape) throw new Error('bench.bench is missing');
    const targetOf = (column: string) => targetShape.columns.find((t) => t.name === column)!;
    const texts = mysqlShape.columns.map((c) => {
      const text = compareColumn(c, targetOf(c.name), my.mariaDb);
      if ('typeChange' in text) throw new Error(text.typeChange);
      return text.postgres;
    });
    const keyColumns = mysqlShape.primaryKey.map((k) => mysqlShape.columns.findIndex((c) => c.name === k));
    const keys: CrossKeys = {
      comparisons: keyColumns.map((i) => keyComparison(mysqlShape.columns[i], targetOf(mysqlShape.columns[i].name))!),
      mysqlText: [],
      postgresText: keyColumns.map((i) => texts[i]),
    };
    const lead = targetShape.columns.find((t) => t.name === mysqlShape.primaryKey[0])!;
    const from = qualified(name.schema, name.table);
    const hash = postgresRowHash(texts);
    const table = await compareSides({
      table: { source: name, target: name, kind: 'r' },
      src: new PostgresCanonicalSource(src, from, keys.comparisons[0].postgres, keys, hash, lead.castType),
      tgt: new PostgresRangeSide(tgt, from, keys, hash, lead.castType),
      keyNames: mysqlShape.primaryKey,
      estimatedRows: async () => sourceShape.estimatedRows,
      missingColumns: [],
      extraColumns: [],
    }, verifySettings({ source: sourceUrl, target: targetUrl }), started);
    return { ok: table.status === 'match', tables: [table], findings: [], warnings: [], durationMs: Date.now() - started };
  } finally {
    await Promise.all([my.close(), src.close(), tgt.close()]);
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** verify() MySQL → PostgreSQL against PostgreSQL → PostgreSQL on the same rows. */
export async function benchMySqlFidelity(): Promise<BenchSection['rows']> {
  let mysql: MySqlServer | undefined;
  let clusters: PgCluster[] = [];
  try {
    const settings = { shared_buffers: '256MB', max_wal_size: '2GB', checkpoint_timeout: '30min' };
    [mysql, ...clusters] = await Promise.all([
      startMySqlServer({ binlog: false, settings: { 'innodb-buffer-pool-size': '512M' } }),
      startPgCluster({ walLevel: 'minimal', settings }),
      startPgCluster({ walLevel: 'minimal', settings }),
    ]);
    const [pgSource, target] = clusters;
    await Promise.all([mysql.sql(MYSQL_SETUP), pgSource.sql(PG_SETUP), target.sql(PG_SETUP)]);
    await target.sql(PLANT);
    await Promise.all(clusters.map((c) => c.sql('vacuum analyze bench.bench')));
    const check = (r: VerifyResult, what: string) => {
      const t = r.tables[0];
      if (!t || t.differences.length !== 3) throw new Error(`${what} found ${t?.differences.length} differences, expected 3: ${JSON.stringify(t)}`);
      return t.ranges;
    };
    const run = (source: string, mysqlScanSessions = 1) => () =>
      verify({ source, target: target.url(), mappings: MAPPINGS, concurrency: 1, mysqlScanSessions });
    const methods = {
      native: { what: 'PostgreSQL → PostgreSQL', fn: run(pgSource.url()) },
      canonical: { what: 'PostgreSQL → PostgreSQL (MD5 of the canonical text)', fn: () => verifyCanonical(mysql!.url(), pgSource.url(), target.url()) },
      mysql: { what: 'MySQL → PostgreSQL', fn: run(mysql.url()) },
      mysql2: { what: 'MySQL → PostgreSQL (mysqlScanSessions 2)', fn: run(mysql.url(), 2) },
    };
    type Method = keyof typeof methods;
    // warm the servers' caches
    for (const m of Object.values(methods)) check(await m.fn(), m.what);
    const pids = { mariadb: mysql.pid, source: pgSource.pid, target: target.pid };
    const runs: Record<Method, Measured[]> = { native: [], canonical: [], mysql: [], mysql2: [] };
    let ranges = 0;
    for (let i = 0; i < RUNS; i++) {
      for (const [key, m] of Object.entries(methods) as Array<[Method, typeof methods[Method]]>) {
        const r = await measured(m.fn, pids);
        const n = check(r.result, m.what);
        if (key === 'mysql') ranges = n;
        runs[key].push(r);
      }
    }
    const list = (v: readonly number[]) => v.map((x) => (x / 1000).toFixed(2)).join(', ');
    const rows = ROWS.toLocaleString('en-US');
    const wall = (key: Method) => median(runs[key].map((r) => r.ms));
    /** Median CPU of one server, or of the two servers a method uses (undefined without /proc). */
    const cpu = (key: Method, servers: ReadonlyArray<keyof typeof pids>) => {
      const values = runs[key].map((r) => servers.reduce<number | undefined>(
        (sum, s) => (sum === undefined || r.cpu[s] === undefined ? undefined : sum + r.cpu[s]!), 0));
      return values.every((v): v is number => v !== undefined) ? median(values) : undefined;
    };
    const cpuText = (v: number | undefined) => (v === undefined ? 'n/a' : seconds(v));
    const servers: Record<Method, ReadonlyArray<keyof typeof pids>> = {
      native: ['source', 'target'], canonical: ['source', 'target'], mysql: ['mariadb', 'target'], mysql2: ['mariadb', 'target'],
    };
    const serverCpu = (key: Method) => {
      const [a, b] = servers[key];
      const client = seconds(median(runs[key].map((r) => r.clientCpu)));
      return `CPU: ${a === 'mariadb' ? 'MariaDB' : a} ${cpuText(cpu(key, [a]))}, ${b} ${cpuText(cpu(key, [b]))}, `
        + `together ${cpuText(cpu(key, servers[key]))}; the verifying process ${client}`;
    };
    const ratio = (over: Method, base: Method) => {
      const w = wall(over) / wall(base);
      const a = cpu(over, servers[over]);
      const b = cpu(base, servers[base]);
      const c = a === undefined || b === undefined ? undefined : a / b;
      return { wall: w, cpu: c, text: `${w.toFixed(2)}x wall / ${c === undefined ? 'n/a' : `${c.toFixed(2)}x`} CPU` };
    };
    const verdict = (r: { wall: number; cpu?: number }) => {
      const ok = (v: number | undefined) => (v === undefined ? 'n/a' : v <= MYSQL_TARGETS.overPostgres ? 'PASS' : 'FAIL');
      return `wall ${ok(r.wall)}, CPU ${ok(r.cpu)} (target: at most ${MYSQL_TARGETS.overPostgres}x)`;
    };
    const perRun = (over: Method, base: Method) => runs[over].map((r, i) => (r.ms / runs[base][i].ms).toFixed(2)).join(', ');
    const overNative = ratio('mysql', 'native');
    const overCanonical = ratio('mysql', 'canonical');
    const sessionsOverNative = ratio('mysql2', 'native');
    const sessionsOverCanonical = ratio('mysql2', 'canonical');
    const wallList = (key: Method) => list(runs[key].map((r) => r.ms));
    return [
      {
        name: `fidelity MySQL: PostgreSQL → PostgreSQL, ${rows} rows`,
        value: seconds(wall('native')),
        note: `median of ${RUNS} (${wallList('native')} s); the PostgreSQL copy of the rows as DMS types them; each type's own hash function; 3 planted differences found by key; ${serverCpu('native')}`,
      },
      {
        name: `fidelity MySQL: PostgreSQL → PostgreSQL by the MySQL algorithm, ${rows} rows`,
        value: seconds(wall('canonical')),
        note: `median of ${RUNS} (${wallList('canonical')} s); the same rows; both sides compute what the PostgreSQL side of a MySQL comparison computes (MD5 of each row's canonical text, summed per range); 3 planted differences found by key; ${serverCpu('canonical')}`,
      },
      {
        name: `fidelity MySQL: MySQL (MariaDB 10.11) → PostgreSQL, ${rows} rows`,
        value: seconds(wall('mysql')),
        note: `median of ${RUNS} (${wallList('mysql')} s); the same rows; ${ranges} ranges; MD5 of each row's canonical text summed per range inside each database; 3 planted differences found by key; ${serverCpu('mysql')} (MariaDB on one thread)`,
      },
      {
        name: `fidelity MySQL: MySQL → PostgreSQL with mysqlScanSessions 2, ${rows} rows`,
        value: seconds(wall('mysql2')),
        note: `median of ${RUNS} (${wallList('mysql2')} s); the first pass's scan in two MariaDB sessions, the target's with parallel workers; ${serverCpu('mysql2')}`,
      },
      {
        name: 'fidelity MySQL: MySQL → PostgreSQL / PostgreSQL → PostgreSQL (own hash functions)',
        value: overNative.text,
        note: `${verdict(overNative)}; wall per run: ${perRun('mysql', 'native')}; with mysqlScanSessions 2: ${sessionsOverNative.text}`,
      },
      {
        name: 'fidelity MySQL: MySQL → PostgreSQL / PostgreSQL → PostgreSQL (the same algorithm)',
        value: overCanonical.text,
        note: `${verdict(overCanonical)}; wall per run: ${perRun('mysql', 'canonical')}; with mysqlScanSessions 2: ${sessionsOverCanonical.text}`,
      },
      {
        name: 'fidelity MySQL: memory of the verifying process',
        value: `${median(runs.mysql.map((r) => r.rssMb)).toFixed(1)} MB`,
        note: `peak growth of the resident set during a MySQL → PostgreSQL run (median; PostgreSQL → PostgreSQL ${median(runs.native.map((r) => r.rssMb)).toFixed(1)} MB): `
          + 'rows stay in the databases, only range sums and the keys of small differing ranges travel',
      },
    ];
  } finally {
    await Promise.all([mysql?.stop(), ...clusters.map((c) => c.stop())]);
  }
}

/** The benchmark as a section of `npm run bench`. */
export async function benchMySqlFidelitySections(): Promise<BenchSection[]> {
  return [{ title: `Data fidelity: verify a MySQL source against PostgreSQL on the same ${ROWS.toLocaleString('en-US')} rows`, rows: await benchMySqlFidelity() }];
}

if (require.main === module) {
  benchMySqlFidelity().then((rows) => {
    for (const r of rows) console.log(`${r.name}  ${r.value}  ${r.note ?? ''}`);
  }, (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
