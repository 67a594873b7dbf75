import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { clusterCpuMs } from './fidelity';
import { MeasuredScale, projectionSections } from './scale-projection';
import type { BenchRow, BenchSection } from './table';
import { openSession } from '../lib/fidelity/connection';
import { compareUnit, planUnits, tableResults, UnitProgress } from '../lib/fidelity/distributed/units';
import { mapPool } from '../lib/fidelity/pool';
import { TableMappings } from '../lib/fidelity/selection';
import { TableVerification, verify } from '../lib/fidelity/verify';
import { runSchemaCopy, schemaCopyEnvironment } from '../lib/schema/steps';
import { PgCluster, startPgCluster } from '../test/fidelity/pg-cluster';

/*
 * Production size on this machine, one table of BENCH_SCALE_ROWS rows (default 1,000,000: a quick
 * run; the numbers in docs/benchmarks.md come from BENCH_SCALE_ROWS=10000000):
 *
 * - verification: one `verify` process against the distributed verification's units (the same
 *   code the workers run: plan, then each unit chunk by chunk, each chunk in an invocation of its
 *   own that opens its sessions, as a Lambda invocation does), driven by 1 and by
 *   BENCH_SCALE_WORKERS (default 2) workers;
 * - index builds: the schema copy's post step (lib/schema/schema-copy.sh) in one transaction
 *   against POST_DATA_JOBS of BENCH_SCALE_JOBS (default 2,4; pg_restore --jobs), and each statement
 *   of the section alone: the longest chain of builds that cannot overlap bounds what any number of
 *   jobs achieves. The section's definitions are dumped from an empty copy of the table;
 * - per-row rates, and from them the projection to 100 GB and 1 TB (bench/scale-projection.ts).
 *
 * Database CPU is read from /proc (the clusters' postmasters account for their exited backends):
 * on a machine shared with others it is the steadier measure next to the wall time.
 */

const ROWS = Number(process.env.BENCH_SCALE_ROWS ?? 1_000_000);
const WORKERS = Number(process.env.BENCH_SCALE_WORKERS ?? 2);
/** The pg_restore --jobs measured against one transaction (BENCH_SCALE_JOBS, e.g. `2,4`). */
const JOBS = (process.env.BENCH_SCALE_JOBS ?? '2,4').split(',').map(Number).filter((j) => Number.isInteger(j) && j > 1);
/** maintenance_work_mem of each index build (the schema copy's MAINTENANCE_WORK_MEM). */
const MAINTENANCE_WORK_MEM = process.env.BENCH_SCALE_MAINTENANCE_WORK_MEM ?? '256MB';

const MAPPINGS: TableMappings = {
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'app', 'table-name': 'big' } }],
} as unknown as TableMappings;

/** Five columns, about 80 bytes a row in the heap. */
const TABLE = (rows: number) => `
  create schema app;
  create table app.big (id bigint not null, name text, amount numeric(12,2), at timestamptz, code int);
  insert into app.big select g, 'customer ' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 second', (g::int8 * 7919) % 1000003
  from generate_series(1, ${rows}) g;`;

/** The post-data section of the source: a primary key, a unique index and three secondary indexes. */
const POST_DATA = `
  alter table app.big add constraint big_pkey primary key (id);
  create unique index big_code_id on app.big (code, id);
  create index big_name on app.big (name);
  create index big_at on app.big (at);
  create index big_amount on app.big (amount);`;

function psql(cluster: PgCluster, sql: string, db = 'postgres'): string {
  const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', cluster.url(db), '-c', sql], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return r.stdout.trim();
}

interface Measured<T> {
  readonly value: T;
  readonly ms: number;
  /** CPU milliseconds both clusters spent. */
  readonly dbCpuMs: number;
  /** CPU milliseconds of this process. */
  readonly nodeCpuMs: number;
  /** The machine's load average (1 minute) at the end: others share it. */
  readonly load: number;
}

async function measured<T>(clusters: readonly PgCluster[], work: () => Promise<T>): Promise<Measured<T>> {
  const cpu = () => clusters.reduce((n, c) => n + (clusterCpuMs(c.pid) ?? Number.NaN), 0);
  const db0 = cpu();
  const node0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const node = process.cpuUsage(node0);
  // exited backends are accounted to the postmaster once it has reaped them
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { value, ms, dbCpuMs: cpu() - db0, nodeCpuMs: (node.user + node.system) / 1000, load: os.loadavg()[0] };
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const n = (v: number) => Math.round(v).toLocaleString('en-US');
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** What the table's index section holds on `cluster`: every index the source has, or the run proves nothing. */
function indexCount(cluster: PgCluster, db = 'postgres'): number {
  return Number(psql(cluster, "select count(*) from pg_indexes where schemaname = 'app' and tablename = 'big'", db));
}

function dropPostData(target: PgCluster): void {
  psql(target, 'alter table app.big drop constraint if exists big_pkey; drop index if exists app.big_code_id, app.big_name, app.big_at, app.big_amount');
  psql(target, 'checkpoint');
}

export async function benchScaleSections(): Promise<BenchSection[]> {
  const freeBefore = fs.statfsSync(os.tmpdir());
  const settings = {
    max_wal_senders: 0,
    shared_buffers: '1GB',
    max_parallel_maintenance_workers: 0,
    maintenance_work_mem: MAINTENANCE_WORK_MEM,
    autovacuum: 'off',
    max_wal_size: '8GB',
    checkpoint_timeout: '30min',
    max_connections: 40,
  };
  const [source, target] = await Promise.all([startPgCluster({ walLevel: 'minimal', settings }), startPgCluster({ walLevel: 'minimal', settings })]);
  const both = [source, target];
  try {
    const load = await measured(both, () => Promise.all([source.sql(TABLE(ROWS)), target.sql(TABLE(ROWS))]));
    // the source needs its key (the verification cuts along it); the section's definitions come from
    // an empty copy of the table in a database of their own, so that the source need not build them
    const statements = POST_DATA.split(';').map((x) => x.trim()).filter(Boolean);
    await source.sql(`${statements[0]}; analyze app.big;`);
    await target.sql('analyze app.big');
    await source.sql('create database defs');
    await source.sql(`${TABLE(0)} ${POST_DATA}`, 'defs');
    const expected = indexCount(source, 'defs');

    // ---- index builds: the schema copy's post step in one transaction, then with 2 and 4 jobs
    const env = (jobs: number) => schemaCopyEnvironment({
      source: { PGHOST: '127.0.0.1', PGPORT: String(source.port), PGUSER: 'postgres', PGDATABASE: 'defs', PGSSLMODE: 'disable' },
      target: { PGHOST: '127.0.0.1', PGPORT: String(target.port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGSSLMODE: 'disable' },
      mappings: MAPPINGS,
      postDataJobs: jobs,
      maintenanceWorkMem: MAINTENANCE_WORK_MEM,
    });
    const post = async (jobs: number): Promise<Measured<void>> => {
      dropPostData(target);
      const run = await measured([target], async () => { await runSchemaCopy('post', env(jobs)); });
      if (indexCount(target) !== expected) throw new Error(`post with ${jobs} job(s) left ${indexCount(target)} of ${expected} indexes`);
      return run;
    };
    const oneTransaction = await post(1);
    // each statement alone, one after another: the time (and CPU) of each build
    dropPostData(target);
    const each: Array<{ statement: string; ms: number; cpuMs: number; load: number }> = [];
    for (const statement of statements) {
      const run = await measured([target], async () => psql(target, statement));
      each.push({ statement, ms: run.ms, cpuMs: run.dbCpuMs, load: run.load });
    }
    const parallel: Array<{ jobs: number; run: Measured<void> }> = [];
    for (const jobs of JOBS) parallel.push({ jobs, run: await post(jobs) });
    await target.sql('analyze app.big');
    const sizes = psql(target, "select pg_relation_size('app.big') || ' ' || pg_indexes_size('app.big')").split(' ').map(Number);

    // ---- verification: one process, then the distributed units with 1 and with WORKERS workers
    const single = await measured(both, () => verify({ source: source.url(), target: target.url(), mappings: MAPPINGS }));
    if (!single.value.ok) throw new Error(`verify found differences in identical tables: ${JSON.stringify(single.value.tables.map((t) => t.status))}`);
    const unitRows = Math.min(20_000_000, Math.ceil(ROWS / 4));
    const chunkRows = Math.min(1_000_000, Math.ceil(ROWS / 16));
    const plan = await measured([source], async () => {
      const src = await openSession(source.url(), 'bench');
      try {
        return await planUnits(src, MAPPINGS, { unitRows, chunkRows });
      } finally {
        await src.close();
      }
    });
    const units = plan.value.units;
    const fannedOut = async (workers: number) => measured(both, async () => {
      let invocations = 0;
      const results = new Map<number, TableVerification>();
      await mapPool(units, workers, async (unit) => {
        let progress: UnitProgress | undefined;
        do {
          // one invocation: its own sessions, one chunk (a budget of 0), a cursor back
          const [src, tgt] = await Promise.all([openSession(source.url(), 'bench'), openSession(target.url(), 'bench')]);
          try {
            progress = await compareUnit(src, tgt, unit, progress, { mappings: MAPPINGS, budgetMs: 0 });
            invocations++;
          } finally {
            await Promise.all([src.close(), tgt.close()]);
          }
        } while (!progress.done);
        results.set(unit.index, progress.result!);
      });
      const [table] = tableResults(units, results, 20);
      // the units' report must be the one process's: otherwise the timing compares different work
      if (table.status !== 'match' || table.sourceRows !== single.value.tables[0].sourceRows || table.targetRows !== single.value.tables[0].targetRows) {
        throw new Error(`the units' report differs from verify's: ${table.status} ${table.sourceRows}/${table.targetRows}`);
      }
      return { invocations };
    });
    const oneWorker = await fannedOut(1);
    const nWorkers = await fannedOut(WORKERS);
    const freeAfter = fs.statfsSync(os.tmpdir());

    const rows = single.value.tables[0].sourceRows;
    const chunks = units.reduce((k, u) => k + (u.chunks?.length ?? 1), 0);
    const perIndex = each.map((e) => e.ms);
    const sumEach = perIndex.reduce((a, b) => a + b, 0);
    // pg_restore never runs a table's ADD CONSTRAINT beside other work on the same table (it takes
    // an exclusive lock): the key builds alone, the other indexes of the table may overlap
    const keyMs = each[0].ms;
    const longestIndexMs = Math.max(...perIndex.slice(1));
    const criticalMs = keyMs + longestIndexMs;
    const rate = (ms: number) => rows / (ms / 1000);
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${gib(os.totalmem())} memory, ${gib(freeBefore.bavail * freeBefore.bsize)} free in ${os.tmpdir()} before the run`;

    const verification: BenchRow[] = [
      { name: 'machine', value: `${os.cpus().length} cores`, note: `${machine}; both clusters (shared_buffers 1GB each, fsync off) and the workers on it; the disk held ${gib((freeBefore.bavail - freeAfter.bavail) * freeBefore.bsize)} more at the end` },
      { name: 'one process (verify)', value: s(single.ms), note: `${n(rate(single.ms))} rows/s; one session per side (one table); database CPU ${s(single.dbCpuMs)}, Node ${s(single.nodeCpuMs)}; load average ${single.load.toFixed(1)}` },
      { name: 'plan (the units)', value: s(plan.ms), note: `${units.length} units of up to ${n(unitRows)} rows, ${chunks} chunks of about ${n(chunkRows)}: a sample of the leading key` },
      { name: 'distributed units, 1 worker', value: s(oneWorker.ms), note: `${n(rate(oneWorker.ms))} rows/s; ${oneWorker.value.invocations} invocations (one per chunk, each opening its sessions); database CPU ${s(oneWorker.dbCpuMs)}, Node ${s(oneWorker.nodeCpuMs)}; load average ${oneWorker.load.toFixed(1)}` },
      { name: `distributed units, ${WORKERS} workers`, value: s(nWorkers.ms), note: `${n(rate(nWorkers.ms))} rows/s; database CPU ${s(nWorkers.dbCpuMs)}; ${WORKERS} × 2 sessions on ${os.cpus().length} cores shared with both clusters; load average ${nWorkers.load.toFixed(1)}` },
      { name: 'overhead of the fan-out (1 worker ÷ one process)', value: `${(oneWorker.ms / single.ms).toFixed(2)}×`, note: `wall time at the same parallelism; database CPU ${(oneWorker.dbCpuMs / single.dbCpuMs).toFixed(2)}×: the chunk boundaries, the sessions each invocation opens, the plan not counted` },
      { name: `${WORKERS} workers ÷ one process`, value: `${(nWorkers.ms / single.ms).toFixed(2)}×`, note: `on ${os.cpus().length} cores the databases already use every core: more workers only queue; in AWS each worker is a Lambda invocation and the source's cores set the limit` },
    ];
    const sumCpu = each.reduce((a, e) => a + e.cpuMs, 0);
    const criticalCpu = each[0].cpuMs + Math.max(...each.slice(1).map((e) => e.cpuMs));
    const indexRows: BenchRow[] = [
      { name: 'one transaction (schema copy post, POST_DATA_JOBS 1)', value: s(oneTransaction.ms), note: `${(oneTransaction.ms / 1000 / (rows / 1e6)).toFixed(2)} s per million rows; pg_restore into one psql --single-transaction; database CPU ${s(oneTransaction.dbCpuMs)}; load average ${oneTransaction.load.toFixed(1)}` },
      ...each.map((e) => ({
        name: `  alone: ${e.statement.replace(/^alter table app\.big add constraint (\w+) /, '$1: ').replace(/^create (unique )?index (\w+) on app\.big /, '$2: ')}`,
        value: s(e.ms),
        note: `${(e.ms / 1000 / (rows / 1e6)).toFixed(2)} s per million rows; database CPU ${s(e.cpuMs)}; load average ${e.load.toFixed(1)}`,
      })),
      ...parallel.map(({ jobs, run }) => ({
        name: `pg_restore --jobs ${jobs} (POST_DATA_JOBS ${jobs})`,
        value: s(run.ms),
        note: `${(oneTransaction.ms / run.ms).toFixed(2)}× faster than one transaction on ${os.cpus().length} cores; database CPU ${s(run.dbCpuMs)}; load average ${run.load.toFixed(1)}`,
      })),
      { name: 'critical path: the key, then the longest other index', value: s(criticalMs), note: `${s(keyMs)} + ${s(longestIndexMs)}: pg_restore builds a table's primary key alone (ADD CONSTRAINT locks the table), its other indexes side by side` },
      { name: 'limit with unlimited cores and jobs', value: `${(sumEach / criticalMs).toFixed(2)}×`, note: `sum of the builds alone (${s(sumEach)}) ÷ the critical path; by CPU time ${(sumCpu / criticalCpu).toFixed(2)}× (${s(sumCpu)} ÷ ${s(criticalCpu)}); indexes of different tables overlap fully: then the longest single build (${s(Math.max(...perIndex))}) bounds it at ${(sumEach / Math.max(...perIndex)).toFixed(2)}×` },
    ];
    const heapBytesPerRow = sizes[0] / rows;
    const rates: BenchRow[] = [
      { name: 'rows, heap and indexes', value: n(rows), note: `heap ${gib(sizes[0])} (${heapBytesPerRow.toFixed(0)} bytes a row), indexes ${gib(sizes[1])}; generated on both clusters in ${s(load.ms)}` },
      { name: 'verification, one worker', value: `${n(rate(oneWorker.ms))} rows/s`, note: `${(oneWorker.dbCpuMs * 1000 / rows).toFixed(2)} µs of database CPU a row (both sides), ${(oneWorker.nodeCpuMs * 1000 / rows).toFixed(3)} µs of worker CPU a row: the worker waits, the databases hash` },
      { name: 'worker CPU ÷ wall time', value: `${(oneWorker.nodeCpuMs / oneWorker.ms).toFixed(3)}`, note: 'the share of a CPU a worker needs: a 512 MB Lambda function has about a third of one vCPU (1,769 MB: one)' },
      { name: 'index builds, one transaction', value: `${(oneTransaction.ms / 1000 / (rows / 1e6)).toFixed(2)} s per million rows`, note: `${each.length} builds, maintenance_work_mem ${MAINTENANCE_WORK_MEM}, no parallel workers within a build (max_parallel_maintenance_workers 0)` },
    ];
    const scale: MeasuredScale = {
      rows,
      heapBytesPerRow,
      verifyRowsPerSecondPerWorker: rate(oneWorker.ms),
      fanOutOverhead: oneWorker.ms / single.ms,
      indexSecondsPerRow: oneTransaction.ms / 1000 / rows,
      jobs2Speedup: oneTransaction.ms / (parallel.find((p) => p.jobs === 2)?.run.ms ?? oneTransaction.ms),
      indexLimitSpeedup: sumEach / criticalMs,
    };
    return [
      { title: `Production size: verification of ${n(rows)} rows, one process against the distributed units`, rows: verification },
      { title: `Production size: post-data section of a ${n(rows)}-row table (primary key, unique index, 3 indexes)`, rows: indexRows },
      { title: `Production size: per-row rates (${n(rows)} rows)`, rows: rates },
      ...projectionSections(scale),
    ];
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}
