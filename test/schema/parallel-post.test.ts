import {
  copyEnvironment, dmsLikeFullLoad, FIXTURE, FIXTURE_TABLES, normaliseDump, psql, schemaDump, step,
} from './helpers';
import { schemaCopyEnvironment, SchemaCopyEnvironment } from '../../lib/schema/steps';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

/*
 * The post-data section restored with parallel jobs (POST_DATA_JOBS, pg_restore --jobs) leaves the
 * same schema as the one-transaction restore, and a run interrupted half-way is completed by running
 * it again: what was built is skipped, nothing is created twice.
 */

let source: PgCluster;
let target: PgCluster;

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster({ walLevel: 'replica' }), startPgCluster({ walLevel: 'replica' })]);
  await source.sql('create database shop');
  await source.sql(FIXTURE, 'shop');
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

/** A target database with the pre-data section restored and the rows loaded, as after DMS's full load. */
async function loaded(name: string): Promise<SchemaCopyEnvironment> {
  await target.sql(`create database ${name}`);
  const env = copyEnvironment(source, 'shop', target, name);
  expect((await step('pre', env)).error).toBeUndefined();
  dmsLikeFullLoad(source, 'shop', target, name, FIXTURE_TABLES);
  return env;
}

function withJobs(env: SchemaCopyEnvironment, jobs: number): SchemaCopyEnvironment {
  return { ...env, POST_DATA_JOBS: String(jobs), MAINTENANCE_WORK_MEM: '64MB' };
}

const dump = (db: string) => normaliseDump(schemaDump(target, db, ['--schema=app', '--schema=audit']));

test('parallel jobs leave the schema of the one-transaction restore', async () => {
  const sequential = await loaded('sequential');
  expect((await step('post', sequential)).error).toBeUndefined();
  const parallel = await loaded('parallel');
  const r = await step('post', withJobs(parallel, 3));
  expect(r.error).toBeUndefined();
  expect(r.lines.at(-1)).toBe('post: restored the post-data section of 6 table(s) into the target');
  expect(dump('parallel')).toBe(dump('sequential'));
  // the identity columns are GENERATED ALWAYS again, as after the sequential restore
  const identities = (db: string) => psql(target, db, "select string_agg(attrelid::regclass || '.' || attname || '=' || attidentity::text, ',' order by 1) from pg_attribute where attidentity <> ''");
  expect(identities('parallel')).toBe(identities('sequential'));
});

test('an interrupted parallel restore keeps what it built; running it again completes it without duplicates', async () => {
  const reference = await loaded('reference_loaded');
  expect((await step('post', reference)).error).toBeUndefined();

  const env = withJobs(await loaded('interrupted'), 2);
  // a row a foreign key refuses: the restore stops at that entry, built after the primary keys and indexes it needs
  psql(target, 'interrupted', "insert into app.customers (id, email, name, referred_by) values (999999, 'x@example.com', 'x', 888888)");
  const first = await step('post', env);
  expect(first.error?.place).toBe('target');
  expect(first.error?.detail).toMatch(/what was built stays and is skipped when the step runs again/);
  const built = Number(psql(target, 'interrupted', "select count(*) from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace in ('app'::regnamespace, 'audit'::regnamespace)"));
  expect(built).toBeGreaterThan(0);

  psql(target, 'interrupted', 'delete from app.customers where id = 999999');
  const second = await step('post', env);
  expect(second.error).toBeUndefined();
  expect(second.lines).toContainEqual(expect.stringMatching(/^post: \d+ entry\(ies\) exist on the target already \(an earlier run built them\): skipped$/));
  expect(dump('interrupted')).toBe(dump('reference_loaded'));

  // a third run changes nothing and fails on nothing
  const third = await step('post', env);
  expect(third.error).toBeUndefined();
  expect(dump('interrupted')).toBe(dump('reference_loaded'));
});

test('bad settings are refused before anything runs', async () => {
  const env = schemaCopyEnvironment({ source: { PGHOST: '127.0.0.1', PGUSER: 'u', PGDATABASE: 'd' }, target: { PGHOST: '127.0.0.1', PGUSER: 'u', PGDATABASE: 'd' }, mappings: { rules: [] } });
  const r = await step('post', { ...env, POST_DATA_JOBS: 'many' });
  expect(r.error?.place).toBe('environment');
  expect(r.error?.detail).toMatch(/POST_DATA_JOBS must be a whole number/);
  const m = await step('post', { ...env, MAINTENANCE_WORK_MEM: '1 GB; drop' });
  expect(m.error?.detail).toMatch(/MAINTENANCE_WORK_MEM must be a size/);
});
