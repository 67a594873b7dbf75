import { Client } from 'pg';
import { FakeNeonApi, fakeNeonApiPerTest } from './neon-fake-api';
import { bytes } from '../../lib/fidelity/neon-capacity';
import { Finding, preflight, PreflightOptions } from '../../lib/fidelity/preflight';
import { TableMappings } from '../../lib/fidelity/selection';
import { neonApiRetry } from '../../lib/neon/neon-api';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

/*
 * The preflight's capacity checks on a real PostgreSQL whose max_connections is set low (16, three of
 * them reserved for superusers): the sessions the task would open against the free slots, and the
 * selected tables' size against a Neon branch's limit served by a stand-in Neon API.
 */

let cluster: PgCluster;
const idle: Client[] = [];
const PROJECT = 'crimson-sun-12345678';
const ENDPOINT = 'ep-cool-darkness-123456';
const API_KEY = 'napi_preflightcanary99';

const MAPPINGS: TableMappings = {
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'app', 'table-name': '%' } }],
};

beforeAll(async () => {
  cluster = await startPgCluster({ settings: { max_connections: 16, superuser_reserved_connections: 3, max_wal_senders: 2 } });
  await cluster.sql('create database neondb');
  await cluster.sql('create database target');
  await cluster.sql('create role dms_writer login');
  await cluster.sql('create role limited_writer login connection limit 4');
  await cluster.sql(`
    create schema app;
    create table app.events (id int primary key, payload text);
    insert into app.events select g, repeat('x', 500) from generate_series(1, 2000) g;
    create table app.other (id int primary key);
    create table public.not_selected (id int primary key, payload text);
    insert into public.not_selected select g, repeat('y', 500) from generate_series(1, 2000) g;
  `, 'neondb');
}, 60_000);

afterAll(async () => {
  await Promise.all(idle.map((c) => c.end().catch(() => undefined)));
  await cluster?.stop();
});

/** The target database (empty: DMS would create the tables) as `role`. */
const targetAs = (role: string) => `postgresql://${role}@127.0.0.1:${cluster.port}/target`;

async function run(options: Partial<PreflightOptions>) {
  return preflight({ source: cluster.url('neondb'), target: targetAs('dms_writer'), mappings: MAPPINGS, ...options });
}

function only(findings: readonly Finding[], ...codes: string[]): Finding[] {
  return findings.filter((f) => codes.includes(f.code));
}

/** Opens `n` sessions that stay idle, as an application would hold them. */
async function holdSessions(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const client = new Client({ connectionString: cluster.url('neondb'), application_name: 'app-server' });
    await client.connect();
    idle.push(client);
  }
}

async function releaseSessions(): Promise<void> {
  await Promise.all(idle.splice(0).map((c) => c.end()));
}

describe('connection slots on the target', () => {
  test('a full load\'s 8 subtasks fit the 13 slots a non-superuser has: an info finding with the arithmetic', async () => {
    const result = await run({ targetCapacity: {} });
    expect(only(result.findings, 'TARGET_CONNECTIONS')).toEqual([{
      severity: 'info',
      code: 'TARGET_CONNECTIONS',
      message: 'The migration may open 8 sessions on the target at once (8 full-load subtasks); the target has 13 free (max_connections 16 − 3 reserved − 0 in use).',
    }]);
    expect(result.ok).toBe(true);
  });

  test('subtasks, change apply, validation and verification beyond the free slots block, naming what to lower', async () => {
    await holdSessions(4);
    try {
      const result = await run({ migrationType: 'full-load-and-cdc', targetCapacity: { validationThreads: 5, verificationSessions: 4 } });
      const [finding] = only(result.findings, 'TARGET_CONNECTIONS');
      expect(finding).toEqual({
        severity: 'blocking',
        code: 'TARGET_CONNECTIONS',
        message: 'The migration may open 18 sessions on the target at once (8 full-load subtasks + 1 change apply session + 5 validation threads + '
          + '4 verification sessions), and the target has 9 free (max_connections 16 − 3 reserved − 4 in use): the sessions beyond fail with '
          + '"too many connections" and DMS suspends the tables they load. Lower MaxFullLoadSubTasks (or the validation threads), close other sessions, '
          + 'or raise the Neon compute\'s minimum size: max_connections follows it (0.25 CU: 104, 1 CU: 419).',
      });
      expect(result.ok).toBe(false);
    } finally {
      await releaseSessions();
    }
  });

  test('parallel load threads multiply the subtasks; close to the free slots is a warning', async () => {
    const result = await run({ targetCapacity: { maxFullLoadSubTasks: 4, parallelLoadThreads: 3 } });
    expect(only(result.findings, 'TARGET_CONNECTIONS')).toEqual([expect.objectContaining({
      severity: 'warning',
      message: expect.stringMatching(/^The migration may open 12 sessions on the target at once \(4 full-load subtasks × 3 threads\), close to the 13 free/),
    })]);
  });

  test('CDC alone takes one apply session', async () => {
    const result = await run({ migrationType: 'cdc', targetCapacity: {} });
    expect(only(result.findings, 'TARGET_CONNECTIONS')[0].message).toMatch(/^The migration may open 1 sessions on the target at once \(1 change apply session\); the target has 13 free/);
  });

  test('a superuser is not held to the reserved slots', async () => {
    const result = await run({ target: targetAs('postgres'), targetCapacity: {} });
    expect(only(result.findings, 'TARGET_CONNECTIONS')[0].message).toMatch(/the target has 16 free \(max_connections 16 − 0 in use\)/);
  });

  test('a role\'s CONNECTION LIMIT is the tighter limit, and named', async () => {
    const result = await run({ target: targetAs('limited_writer'), targetCapacity: {} });
    expect(only(result.findings, 'TARGET_CONNECTIONS')).toEqual([expect.objectContaining({
      severity: 'blocking',
      message: expect.stringContaining('and the target has 4 free (role limited_writer\'s CONNECTION LIMIT 4 − 0 in use)'),
    })]);
  });

  test('the preflight\'s own sessions are not counted as in use', async () => {
    const result = await run({ concurrency: 4, targetCapacity: {} });
    expect(only(result.findings, 'TARGET_CONNECTIONS')[0].message).toContain('− 0 in use');
  });

  test('without the option nothing is checked; the option needs the target; counts out of DMS\'s range are refused', async () => {
    const result = await run({});
    expect(only(result.findings, 'TARGET_CONNECTIONS', 'TARGET_STORAGE', 'TARGET_STORAGE_UNCHECKED')).toEqual([]);
    await expect(preflight({ source: cluster.url('neondb'), mappings: MAPPINGS, targetCapacity: {} })).rejects.toThrow(
      'targetCapacity needs target: the free connection slots are read on the target database');
    await expect(run({ targetCapacity: { maxFullLoadSubTasks: 50 } })).rejects.toThrow('targetCapacity.maxFullLoadSubTasks must be an integer from 1 to 49, got 50');
  });
});

describe('storage of the Neon branch', () => {
  const neonApi = fakeNeonApiPerTest();
  let api: FakeNeonApi;
  let selected: number;
  let database: number;

  beforeAll(async () => {
    const client = new Client({ connectionString: cluster.url('neondb') });
    await client.connect();
    const { rows } = await client.query(`select (pg_total_relation_size('app.events') + pg_total_relation_size('app.other'))::int8 as selected,
                                                pg_database_size(current_database())::int8 as database`);
    await client.end();
    selected = Number(rows[0].selected);
    database = Number(rows[0].database);
  });

  beforeEach(() => {
    api = neonApi.api;
    Object.assign(neonApiRetry, { attempts: 2, baseDelayMs: 5 });
  });

  const neon = () => ({ apiKey: API_KEY, projectId: PROJECT, endpointId: ENDPOINT, apiBaseUrl: api.baseUrl });
  const project = (limit: number, used: number, quota?: number) =>
    api.projects.set(PROJECT, {
      plan: 'launch',
      branch_logical_size_limit_bytes: limit,
      quota_logical_size_bytes: quota,
      endpoints: { [ENDPOINT]: { branch_id: 'br-main-1' } },
      branches: { 'br-main-1': used },
    });
  const onSource = () => `The selected tables take ${bytes(selected)} on the source (the database ${bytes(database)})`;

  test('without Neon API access, the sizes are given and the limit is said to be unchecked', async () => {
    const result = await run({ targetCapacity: {} });
    expect(only(result.findings, 'TARGET_STORAGE', 'TARGET_STORAGE_UNCHECKED')).toEqual([{
      severity: 'info',
      code: 'TARGET_STORAGE_UNCHECKED',
      message: `${onSource()}; the Neon branch's storage limit was not checked: give the preflight a Neon API key (with the project and endpoint ids) `
        + 'to compare them, or compare them with the limit of the project\'s plan yourself.',
    }]);
    // only the selected tables count, not the table left out
    expect(selected).toBeLessThan(database);
    expect(selected).toBeGreaterThan(1_000_000);
  });

  test('tables that do not fit the branch\'s limit block: the endpoint names its branch, the project its limit, the branch its size', async () => {
    project(selected, 4096);
    const result = await run({ targetCapacity: { neon: neon() } });
    expect(only(result.findings, 'TARGET_STORAGE')).toEqual([{
      severity: 'blocking',
      code: 'TARGET_STORAGE',
      message: `${onSource()}; Neon branch br-main-1 holds 4.0 KB, and its limit is ${bytes(selected)} (branch_logical_size_limit_bytes of the project (its plan)): `
        + `about ${bytes(selected + 4096)} would not fit, and Neon suspends the branch's compute once it reaches the limit. Raise the limit (the project's plan or `
        + 'its logical size quota), or select fewer tables.',
    }]);
    // the endpoint first (it names the branch), then the project and the branch
    expect(api.calls()[0]).toBe(`GET /api/v2/projects/${PROJECT}/endpoints/${ENDPOINT}`);
    expect(api.calls().slice(1).sort()).toEqual([`GET /api/v2/projects/${PROJECT}`, `GET /api/v2/projects/${PROJECT}/branches/br-main-1`]);
    expect(api.received.every((r) => r.authorization === `Bearer ${API_KEY}`)).toBe(true);
    expect(JSON.stringify(result)).not.toContain(API_KEY);
  });

  test('the project\'s logical size quota counts when it is lower than the plan\'s limit', async () => {
    project(100 * 1024 ** 3, 0, Math.floor(selected / 2));
    const [finding] = only((await run({ targetCapacity: { neon: neon() } })).findings, 'TARGET_STORAGE');
    expect(finding.severity).toBe('blocking');
    expect(finding.message).toContain('(settings.quota.logical_size_bytes of the project)');
  });

  test('little room left is a warning; plenty an info finding', async () => {
    project(Math.ceil(selected / 0.95), 0);
    expect(only((await run({ targetCapacity: { neon: neon() } })).findings, 'TARGET_STORAGE')[0].severity).toBe('warning');
    project(100 * 1024 ** 3, 0);
    expect(only((await run({ targetCapacity: { neon: neon() } })).findings, 'TARGET_STORAGE')[0]).toEqual(expect.objectContaining({
      severity: 'info', message: expect.stringMatching(/of its 100 GB limit after the load\.$/),
    }));
  });

  test('a branch without a limit is said to have none', async () => {
    project(0, 0);
    expect(only((await run({ targetCapacity: { neon: neon() } })).findings, 'TARGET_STORAGE')[0].message).toMatch(/holds 0 B and has no storage limit\.$/);
  });

  test('storage already read outside the VPC (by NeonComputeKeepAlive) is used as given, without the Neon API', async () => {
    const result = await run({ targetCapacity: { neonStorage: { branchId: 'br-main-1', usedBytes: 0, limitBytes: 1024, limitSource: 'settings.quota.logical_size_bytes of the project' } } });
    expect(only(result.findings, 'TARGET_STORAGE')).toEqual([expect.objectContaining({
      severity: 'blocking', message: expect.stringContaining('and its limit is 1.0 KB (settings.quota.logical_size_bytes of the project)'),
    })]);
    expect(api.received).toEqual([]);
  });

  test('a Neon API that refuses the key leaves the limit unchecked with a warning, not a failure', async () => {
    project(1024, 0);
    api.script.push({ status: 401, body: { message: 'unauthorized' } });
    const result = await run({ targetCapacity: { neon: neon() } });
    expect(only(result.findings, 'TARGET_STORAGE', 'TARGET_STORAGE_UNCHECKED')).toEqual([expect.objectContaining({
      severity: 'warning',
      code: 'TARGET_STORAGE_UNCHECKED',
      message: expect.stringContaining(`the Neon branch's storage limit could not be read (Neon API GET /projects/${PROJECT}/endpoints/${ENDPOINT} failed with HTTP 401.)`),
    })]);
    expect(result.ok).toBe(true);
  });
});
