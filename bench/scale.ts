import { spawnSync } from 'child_process';
import * as os from 'os';
import type { BenchSection } from './table';
import { openSession } from '../lib/fidelity/connection';
import { compareUnit, planUnits } from '../lib/fidelity/distributed/units';
import { mapPool } from '../lib/fidelity/pool';
import { defaultMappings } from '../lib/fidelity/selection';
import { verify } from '../lib/fidelity/verify';
import { startPgCluster } from '../test/fidelity/pg-cluster';

/*
 * Production size on this machine: the distributed verification's units against one `verify`
 * process on the same data, and the post-data section restored with pg_restore --jobs against one
 * transaction. BENCH_SCALE_ROWS sets the size (default 20 million rows).
 */

const ROWS = Number(process.env.BENCH_SCALE_ROWS ?? 20_000_000);

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export async function benchScaleSections(): Promise<BenchSection[]> {
  const settings = { max_wal_senders: 0, shared_buffers: '1GB', max_parallel_maintenance_workers: 0, maintenance_work_mem: '256MB' };
  const [source, target] = await Promise.all([startPgCluster({ walLevel: 'minimal', settings }), startPgCluster({ walLevel: 'minimal', settings })]);
  try {
    const schema = `create table big (id bigint, name text, amount numeric(12,2), at timestamptz, code int);
      insert into big select g, 'customer ' || g, g / 100.0, '2024-01-01'::timestamptz + g * interval '1 second', (g::int8 * 7919) % 1000003 from generate_series(1, ${ROWS}) g;`;
    await Promise.all([source.sql(schema), target.sql(schema)]);
    // the post-data section of the source: a key, a unique and three secondary indexes
    const post = `alter table big add primary key (id);
      create unique index big_code_id on big (code, id);
      create index big_name on big (name);
      create index big_at on big (at);
      create index big_amount on big (amount);
      analyze big;`;
    await source.sql(post);

    // index builds: one transaction (psql --single-transaction), then pg_restore --jobs 2 and 4
    const dump = spawnSync('pg_dump', ['--format=custom', '--section=post-data', '-f', '/tmp/bench-post.dump', '-d', source.url()], { encoding: 'utf8' });
    if (dump.status !== 0) throw new Error(dump.stderr);
    const restore = async (jobs: number): Promise<number> => {
      await target.sql('alter table big drop constraint if exists big_pkey; drop index if exists big_code_id, big_name, big_at, big_amount;');
      const args = jobs === 1
        ? ['--single-transaction', '--exit-on-error', '-d', target.url(), '/tmp/bench-post.dump']
        : [`--jobs=${jobs}`, '--exit-on-error', '-d', target.url(), '/tmp/bench-post.dump'];
      const [, ms] = await timed(async () => {
        const r = spawnSync('pg_restore', args, { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
      });
      return ms;
    };
    const sequential = await restore(1);
    const two = await restore(2);
    const four = await restore(4);
    await target.sql('analyze big');

    // verification: one process, then the units of the distributed mode on 2 workers (as Lambda
    // invocations would, with a budget so each hands back a cursor after every chunk)
    const [single, singleMs] = await timed(() => verify({ source: source.url(), target: target.url(), concurrency: 2 }));
    const mappings = defaultMappings();
    const [units, unitsMs] = await timed(async () => {
      const src = await openSession(source.url(), 'bench');
      const plan = await planUnits(src, mappings, { unitRows: Math.ceil(ROWS / 8), chunkRows: Math.ceil(ROWS / 64) });
      await src.close();
      let invocations = 0;
      await mapPool(plan.units, 2, async (unit) => {
        const [s, t] = await Promise.all([openSession(source.url(), 'bench'), openSession(target.url(), 'bench')]);
        try {
          let progress;
          do {
            progress = await compareUnit(s, t, unit, progress, { mappings, budgetMs: 0 });
            invocations++;
          } while (!progress.done);
        } finally {
          await Promise.all([s.close(), t.close()]);
        }
      });
      return { count: plan.units.length, invocations };
    });
    const rows = single.tables.reduce((n, t) => n + t.sourceRows, 0);
    return [
      {
        title: `Production size: verification of ${ROWS.toLocaleString('en-US')} rows, one process against distributed units`,
        rows: [
          { name: 'one process (verify, 2 sessions per side)', value: seconds(singleMs), note: `${Math.round(rows / (singleMs / 1000)).toLocaleString('en-US')} rows/s` },
          { name: 'distributed units, 2 workers', value: seconds(unitsMs), note: `${units.count} units, ${units.invocations} invocations (one per chunk: a cursor after each)` },
          { name: 'overhead of the fan-out', value: `${(unitsMs / singleMs).toFixed(2)}×`, note: 'distributed ÷ one process, same cores; in AWS the workers run on separate Lambda invocations, so the source sets the limit' },
        ],
      },
      {
        title: `Production size: post-data section of a ${ROWS.toLocaleString('en-US')}-row table (primary key, 4 indexes)`,
        rows: [
          { name: 'one transaction (psql --single-transaction)', value: seconds(sequential) },
          { name: 'pg_restore --jobs 2', value: seconds(two), note: `${(sequential / two).toFixed(2)}× faster` },
          { name: 'pg_restore --jobs 4', value: seconds(four), note: `${(sequential / four).toFixed(2)}× faster: ${os.cpus().length} cores, the limit is one build per core` },
        ],
      },
    ];
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}
