import {
  copyEnvironment, dmsLikeFullLoad, FIXTURE, FIXTURE_TABLES, normaliseDump, psql, schemaDump, step,
} from './helpers';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

/*
 * The undo step: what the deployment runs when it rolls back the operation that created its pre
 * step (a failed first deployment). It drops what pre created — whatever happened to it since: rows
 * loaded, indexes and foreign keys built — so that the next deployment's pre, which refuses tables
 * that exist, finds the target as the first deployment found it. Against real servers: the fixture's
 * schema (enum, domains, functions, sequences, views, a materialized view, a partitioned table,
 * identity and serial columns, foreign keys between the tables).
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

/** The objects of the copied schemas on the target, by kind: relations, types, functions. */
function objects(db: string): string {
  return psql(target, db, `
    select coalesce(string_agg(x, ',' order by x), '') from (
      select 'rel ' || c.oid::regclass::text as x from pg_class c where c.relnamespace in (select oid from pg_namespace where nspname in ('app', 'audit'))
      union all
      select 'type ' || t.oid::regtype::text from pg_type t where t.typnamespace in (select oid from pg_namespace where nspname in ('app', 'audit'))
        and t.typrelid = 0 and t.typelem = 0
      union all
      select 'fn ' || p.oid::regprocedure::text from pg_proc p where p.pronamespace in (select oid from pg_namespace where nspname in ('app', 'audit'))
    ) o`);
}

const dump = (db: string) => normaliseDump(schemaDump(target, db, ['--schema=app', '--schema=audit']));

test('a first deployment that failed after the load and the post-data step: undo drops what pre created; the next pre, load and post give a fresh copy\'s schema', async () => {
  await target.sql('create database fresh');
  const fresh = copyEnvironment(source, 'shop', target, 'fresh');
  expect((await step('pre', fresh)).error).toBeUndefined();
  dmsLikeFullLoad(source, 'shop', target, 'fresh', FIXTURE_TABLES);
  expect((await step('post', fresh)).error).toBeUndefined();

  await target.sql('create database rolled');
  const env = copyEnvironment(source, 'shop', target, 'rolled');
  expect(objects('rolled')).toBe('');
  expect((await step('pre', env)).error).toBeUndefined();
  dmsLikeFullLoad(source, 'shop', target, 'rolled', FIXTURE_TABLES);
  expect((await step('post', env)).error).toBeUndefined();
  expect(objects('rolled')).not.toBe('');
  // what blocks the next deployment without the undo: pre refuses the tables it would create
  expect((await step('pre', env)).error?.detail).toMatch(/these tables exist on the target already/);

  const undo = await step('undo', env);
  expect(undo.error).toBeUndefined();
  // the partitions too: pre creates them as tables of their own
  expect(undo.lines).toContain('undo: dropped 8 table(s) the pre step created: app.customers, app.events, app.events_2024, app.events_2025, '
    + 'app.order_lines, app.orders, app.products, audit.log');
  expect(objects('rolled')).toBe('');
  // the schemas and extensions stay: pre creates them with IF NOT EXISTS
  expect(psql(target, 'rolled', "select string_agg(nspname, ',' order by 1) from pg_namespace where nspname in ('app', 'audit')")).toBe('app,audit');
  expect(psql(target, 'rolled', "select string_agg(extname, ',' order by 1) from pg_extension where extname <> 'plpgsql'")).toBe('citext,pgcrypto');

  // the next deployment
  expect((await step('pre', env)).error).toBeUndefined();
  dmsLikeFullLoad(source, 'shop', target, 'rolled', FIXTURE_TABLES);
  expect((await step('post', env)).error).toBeUndefined();
  expect(dump('rolled')).toBe(dump('fresh'));
}, 300_000);

test('what pre did not create stays: a table the selection leaves out, and the target\'s own objects', async () => {
  await target.sql('create database own');
  psql(target, 'own', 'create schema app; create table app.scratch (id int); create table public.mine (id int)');
  const env = copyEnvironment(source, 'shop', target, 'own');
  expect((await step('pre', env)).error).toBeUndefined();
  expect((await step('undo', env)).error).toBeUndefined();
  expect(objects('own')).toBe('rel app.scratch');
  expect(psql(target, 'own', "select to_regclass('public.mine') is not null")).toBe('t');
}, 120_000);

test('an object of the target\'s own that depends on what pre created stops the undo: nothing is dropped, the dependency named', async () => {
  await target.sql('create database depends');
  const env = copyEnvironment(source, 'shop', target, 'depends');
  expect((await step('pre', env)).error).toBeUndefined();
  psql(target, 'depends', 'create view public.report as select count(*) from app.customers');
  const before = objects('depends');
  const undo = await step('undo', env);
  expect(undo.error?.place).toBe('target');
  expect(undo.error?.detail).toMatch(/dropping what the pre step created failed, nothing was changed: .*other objects on the target depend on what pre created: .*/);
  expect(objects('depends')).toBe(before);
}, 120_000);

test('nothing to drop (pre never ran, or undo ran already): it succeeds and changes nothing', async () => {
  await target.sql('create database empty');
  const env = copyEnvironment(source, 'shop', target, 'empty');
  const undo = await step('undo', env);
  expect(undo.error).toBeUndefined();
  expect(undo.lines).toContain('undo: none of the selected tables was on the target');
  expect(objects('empty')).toBe('');
});
