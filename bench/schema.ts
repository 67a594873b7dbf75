/**
 * The schema copy on a 1,000,000-row table: the time of each step next to the floor of the same work
 * done by hand (the same CREATE INDEX and ADD CONSTRAINT statements run directly, one after another,
 * on an identical copy of the loaded table).
 */
import { spawnSync } from 'child_process';
import type { BenchRow, BenchSection } from './table';
import { runSchemaCopy, schemaCopyEnvironment, SchemaCopyStep } from '../lib/schema/steps';
import { PgCluster, startPgCluster } from '../test/fidelity/pg-cluster';

const ORDERS = 1_000_000;
const CUSTOMERS = 100_000;

/** Runs measured (the median is reported). */
const RUNS = Number(process.env.SCHEMA_BENCH_RUNS ?? 3);

const SOURCE_SCHEMA = `
  create schema shop;
  create type shop.order_status as enum ('new', 'open', 'shipped', 'cancelled');
  create table shop.customers (
    id bigserial primary key,
    email text not null unique,
    name text not null
  );
  insert into shop.customers (email, name)
  select 'c' || g || '@example.com', 'customer ' || md5(g::text) from generate_series(1, ${CUSTOMERS}) g;
  create table shop.orders (
    id bigint generated always as identity primary key,
    customer_id bigint not null references shop.customers (id),
    placed_at timestamptz not null default now(),
    amount numeric(12, 2) not null check (amount >= 0),
    status shop.order_status not null default 'new',
    note text
  );
  insert into shop.orders (customer_id, placed_at, amount, status, note)
  select 1 + g % ${CUSTOMERS}, '2024-01-01 00:00:00+00'::timestamptz + g * interval '7 seconds', (g % 100000) / 100.0,
         (array['new', 'open', 'shipped', 'cancelled'])[1 + g % 4]::shop.order_status, case when g % 3 = 0 then md5(g::text) end
  from generate_series(1, ${ORDERS}) g;
  create index orders_customer on shop.orders (customer_id);
  create index orders_placed_amount on shop.orders (placed_at, amount);
  create index orders_note_lower on shop.orders (lower(note));
  create index orders_open on shop.orders (placed_at) where status = 'open';
  analyze;
`;

const MAPPINGS = { rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } }] };
const TABLES = ['shop.customers', 'shop.orders'];

function psql(cluster: PgCluster, db: string, sql: string): string {
  const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', cluster.url(db), '-c', sql], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return r.stdout.trim();
}

/** A load like DMS's into the existing tables: each table's rows with COPY, identity values included. */
function load(source: PgCluster, target: PgCluster, db: string): void {
  for (const table of TABLES) {
    const script = 'set -o pipefail; psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" -c "$OUT" | psql -X -q -v ON_ERROR_STOP=1 -d "$TGT" -c "$IN"';
    const r = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, SRC: source.url(), TGT: target.url(db), OUT: `copy ${table} to stdout`, IN: `copy ${table} from stdin` },
    });
    if (r.status !== 0) throw new Error(`loading ${table}: ${r.stderr}`);
  }
}

async function timed(fn: () => unknown): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The statements the floor runs on a database in the state `pre` and the load left: the source's
 * definition of each index and constraint that database lacks, indexes first (as pg_dump orders
 * them), foreign keys last.
 */
function floorStatements(source: PgCluster, target: PgCluster, db: string): { indexes: string[]; constraints: string[] } {
  const present = new Set(psql(target, db, "select indexname from pg_indexes where schemaname = 'shop'").split('\n').filter(Boolean));
  const presentConstraints = new Set(psql(target, db, "select conname from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = 'shop'").split('\n').filter(Boolean));
  const constraintRows = psql(source, 'postgres', `
    select c.conname || E'\\t' || c.contype::text || E'\\t' || format('alter table %s add constraint %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace
    where n.nspname = 'shop' and c.contype in ('p', 'u', 'f', 'c') order by c.contype = 'f', c.conname`).split('\n').filter(Boolean).map(l => l.split('\t'));
  const constraintIndexes = new Set(psql(source, 'postgres', "select conindid::regclass::text from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = 'shop' and conindid <> 0")
    .split('\n').filter(Boolean).map(n => n.replace(/^shop\./, '')));
  const indexes = psql(source, 'postgres', "select indexname || E'\\t' || indexdef from pg_indexes where schemaname = 'shop' order by indexname")
    .split('\n').filter(Boolean).map(l => l.split('\t'))
    .filter(([name]) => !present.has(name) && !constraintIndexes.has(name)).map(([, def]) => def);
  const keys = constraintRows.filter(([name, type]) => !presentConstraints.has(name) && (type === 'p' || type === 'u')).map(([, , sql]) => sql);
  const others = constraintRows.filter(([name, type]) => !presentConstraints.has(name) && (type === 'c' || type === 'f')).map(([, , sql]) => sql);
  return { indexes: [...keys, ...indexes], constraints: others };
}

export async function benchSchema(): Promise<BenchRow[]> {
  const settings = { shared_buffers: '256MB', max_wal_size: '2GB', checkpoint_timeout: '30min', maintenance_work_mem: '256MB' };
  let clusters: PgCluster[] = [];
  try {
    clusters = await Promise.all([startPgCluster({ settings }), startPgCluster({ settings })]);
    const [source, target] = clusters;
    await source.sql(SOURCE_SCHEMA);
    const env = (db: string) => schemaCopyEnvironment({
      source: { PGHOST: '127.0.0.1', PGPORT: String(source.port), PGUSER: 'postgres', PGDATABASE: 'postgres', PGSSLMODE: 'disable' },
      target: { PGHOST: '127.0.0.1', PGPORT: String(target.port), PGUSER: 'postgres', PGDATABASE: db, PGSSLMODE: 'disable' },
      mappings: MAPPINGS,
    });
    const step = (name: SchemaCopyStep, db: string) => timed(() => runSchemaCopy(name, env(db)));
    const ms: Record<'pre' | 'load' | 'post' | 'sequences' | 'floorIndexes' | 'floorConstraints' | 'indexes' | 'constraints', number[]> = {
      pre: [], load: [], post: [], sequences: [], floorIndexes: [], floorConstraints: [], indexes: [], constraints: [],
    };
    let floorCount = { indexes: 0, constraints: 0 };
    for (let run = 0; run < RUNS; run++) {
      for (const db of ['copied', 'floor', 'live']) {
        psql(target, 'postgres', `drop database if exists ${db}`);
        psql(target, 'postgres', `create database ${db}`);
      }
      // the copy after a full load: pre, the load, post, sequences
      ms.pre.push(await step('pre', 'copied'));
      ms.load.push(await timed(() => load(source, target, 'copied')));
      ms.post.push(await step('post', 'copied'));
      ms.sequences.push(await step('sequences', 'copied'));
      // the floor: the same tables and rows, the same definitions run directly
      await step('pre', 'floor');
      load(source, target, 'floor');
      const floor = floorStatements(source, target, 'floor');
      floorCount = { indexes: floor.indexes.length, constraints: floor.constraints.length };
      ms.floorIndexes.push(await timed(() => { for (const sql of floor.indexes) psql(target, 'floor', sql); }));
      ms.floorConstraints.push(await timed(() => { for (const sql of floor.constraints) psql(target, 'floor', sql); }));
      // a live migration: the indexes after the full load, the rest at the cut-over
      await step('pre', 'live');
      load(source, target, 'live');
      ms.indexes.push(await step('indexes', 'live'));
      ms.constraints.push(await step('constraints', 'live'));
    }
    // a copy that lost an index or a constraint proves nothing: the copy must hold all of the source's
    const objects = (cluster: PgCluster, db: string) => psql(cluster, db, `
      select (select count(*) from pg_indexes where schemaname = 'shop') || '/' ||
             (select count(*) from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = 'shop')`);
    for (const db of ['copied', 'floor', 'live']) {
      if (objects(target, db) !== objects(source, 'postgres')) {
        throw new Error(`${db} holds ${objects(target, db)} indexes/constraints, the source ${objects(source, 'postgres')}`);
      }
    }
    const s = (v: number) => `${(v / 1000).toFixed(2)} s`;
    const runs = (v: readonly number[]) => `median of ${v.length} (${v.map(x => (x / 1000).toFixed(2)).join(', ')} s)`;
    const m = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, median(v)])) as Record<keyof typeof ms, number>;
    const floorTotal = m.floorIndexes + m.floorConstraints;
    return [
      { name: 'schema: pre (extensions, types, tables, sequences)', value: s(m.pre), note: `${runs(ms.pre)}; empty tables: the time is the tools' start and the catalog query` },
      { name: 'schema: the load (COPY, 1.1M rows, for scale)', value: s(m.load), note: `${runs(ms.load)}; what DMS does between the steps, here over loopback` },
      { name: 'schema: post (indexes, constraints, foreign keys)', value: s(m.post), note: `${runs(ms.post)}; pg_dump of the post-data section, pg_restore, one psql transaction` },
      { name: 'schema: sequences', value: s(m.sequences), note: runs(ms.sequences) },
      { name: 'schema: floor, the same CREATE INDEX statements run directly', value: s(m.floorIndexes), note: `${runs(ms.floorIndexes)}; ${floorCount.indexes} statement(s)` },
      { name: 'schema: floor, the same constraints added directly', value: s(m.floorConstraints), note: `${runs(ms.floorConstraints)}; ${floorCount.constraints} statement(s) (check, foreign key)` },
      { name: 'schema: post / floor', value: `${(m.post / floorTotal).toFixed(2)}x`, note: `${s(m.post - floorTotal)} over the floor: the tools' start, the dump of the section and the plan query` },
      { name: 'schema: indexes (live migration, after the full load)', value: s(m.indexes), note: runs(ms.indexes) },
      { name: 'schema: constraints (live migration, at the cut-over)', value: s(m.constraints), note: runs(ms.constraints) },
    ];
  } finally {
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

/** The benchmark as a section of `npm run bench`. */
export async function benchSchemaSections(): Promise<BenchSection[]> {
  return [{ title: `Schema copy on ${(ORDERS + CUSTOMERS).toLocaleString('en-US')} rows`, rows: await benchSchema() }];
}
