import * as fs from 'fs';
import type { BenchSection } from './table';
import '../lib/fidelity/mysql';
import { verify, VerifyResult } from '../lib/fidelity/verify';
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
}

async function measured(fn: () => Promise<VerifyResult>, pids: Record<string, number>): Promise<Measured> {
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  const started = process.hrtime.bigint();
  try {
    const result = await fn();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // exited PostgreSQL backends are accounted to the postmaster once it has reaped them
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => {
      const a = cpu0[k];
      const b = cpuMs(pid);
      return [k, a === undefined || b === undefined ? undefined : b - a];
    }));
    return { ms, rssMb: (Math.max(peak, process.memoryUsage().rss) - before) / 2 ** 20, result, cpu };
  } finally {
    clearInterval(timer);
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
    const run = (source: string) => () => verify({ source, target: target.url(), mappings: MAPPINGS, concurrency: 1 });
    // warm both servers' caches
    check((await run(mysql.url())()), 'MySQL → PostgreSQL');
    check((await run(pgSource.url())()), 'PostgreSQL → PostgreSQL');
    const pgMs: number[] = [];
    const myMs: number[] = [];
    const pgRss: number[] = [];
    const myRss: number[] = [];
    const pgCpu: Array<Record<string, number | undefined>> = [];
    const myCpu: Array<Record<string, number | undefined>> = [];
    const pids = { mariadb: mysql.pid, source: pgSource.pid, target: target.pid };
    let ranges = 0;
    for (let i = 0; i < RUNS; i++) {
      const p = await measured(run(pgSource.url()), pids);
      pgCpu.push(p.cpu);
      check(p.result, 'PostgreSQL → PostgreSQL');
      pgMs.push(p.ms);
      pgRss.push(p.rssMb);
      const m = await measured(run(mysql.url()), pids);
      myCpu.push(m.cpu);
      ranges = check(m.result, 'MySQL → PostgreSQL');
      myMs.push(m.ms);
      myRss.push(m.rssMb);
    }
    const pg = median(pgMs);
    const my = median(myMs);
    const ratio = my / pg;
    const list = (v: readonly number[]) => v.map((x) => (x / 1000).toFixed(2)).join(', ');
    const rows = ROWS.toLocaleString('en-US');
    const cpuOf = (runs: Array<Record<string, number | undefined>>, key: string) => {
      const values = runs.map((r) => r[key]);
      return values.every((v): v is number => v !== undefined) ? seconds(median(values)) : 'n/a';
    };
    return [
      {
        name: `fidelity MySQL: PostgreSQL → PostgreSQL, ${rows} rows`,
        value: seconds(pg),
        note: `median of ${RUNS} (${list(pgMs)} s); the PostgreSQL copy of the rows as DMS types them; 3 planted differences found by key; `
        + `CPU: source ${cpuOf(pgCpu, 'source')}, target ${cpuOf(pgCpu, 'target')} (each type's own hash function)`,
      },
      {
        name: `fidelity MySQL: MySQL (MariaDB 10.11) → PostgreSQL, ${rows} rows`,
        value: seconds(my),
        note: `median of ${RUNS} (${list(myMs)} s); the same rows; ${ranges} ranges; MD5 of each row's canonical text summed per range inside each database; 3 planted differences found by key; `
          + `CPU: MariaDB ${cpuOf(myCpu, 'mariadb')} (one thread), target ${cpuOf(myCpu, 'target')}`,
      },
      {
        name: 'fidelity MySQL: MySQL → PostgreSQL / PostgreSQL → PostgreSQL',
        value: `${ratio.toFixed(2)}x`,
        note: `${ratio <= MYSQL_TARGETS.overPostgres ? 'PASS' : 'FAIL'} (target: at most ${MYSQL_TARGETS.overPostgres}x); per run: ${myMs.map((v, i) => (v / pgMs[i]).toFixed(2)).join(', ')}`,
      },
      {
        name: 'fidelity MySQL: memory of the verifying process',
        value: `${median(myRss).toFixed(1)} MB`,
        note: `peak growth of the resident set during a MySQL → PostgreSQL run (median; PostgreSQL → PostgreSQL ${median(pgRss).toFixed(1)} MB): `
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
