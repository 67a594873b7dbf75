import { AsyncLocalStorage } from 'async_hooks';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { startPgCluster, PgCluster } from './pg-cluster';
import { handler, readReport, RunConfig, STATEMENT_MARGIN_MS } from '../../lib/fidelity/distributed/verification-worker.lambda';
import { verify } from '../../lib/fidelity/verify';
import { distributedStack, synthesizedDefinition } from '../checks/distributed-stack';
import { WaitConditionServer } from '../helpers/wait-condition-server';

/** aws-local-stepfunctions: an ECMAScript module with a CommonJS build, loaded as such. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions') as { StateMachine: new (definition: unknown, options?: unknown) => LocalMachine };
interface LocalMachine {
  run(input: unknown, options?: unknown): { result: Promise<any> };
}

/** asl-validator (CommonJS, no type declarations): validates Amazon States Language definitions. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validator: (definition: unknown) => { isValid: boolean; errorsText: () => string } = require('asl-validator');

/*
 * The distributed verification's state machine, as the construct synthesizes it, run by the local
 * interpreter aws-local-stepfunctions, its Lambda tasks answered in-process by the real worker
 * handler against two real PostgreSQL clusters. Amazon S3, CloudWatch and Secrets Manager are
 * aws-sdk-client-mock stand-ins; the wait condition's presigned URL is a local HTTPS server.
 *
 * The local interpreter has no Distributed Map (ItemReader, ResultWriter, child executions): the
 * test stands in for that one state only, doing what Step Functions documents — read the items
 * from the S3 object the ItemReader names, apply the ItemSelector, run the synthesized
 * ItemProcessor once per item (at most MaxConcurrency at a time) as its own execution, and write
 * the children's outputs under the ResultWriter's prefix. Every other state runs as synthesized.
 */

jest.setTimeout(600_000);

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node.js 22); the same, for Node.js 20
const promises = Promise as unknown as { withResolvers?: () => unknown };
promises.withResolvers ??= () => {
  let resolve!: (value: unknown) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
};

/** Set for one worker invocation: its database connections break after `afterQueries` queries. */
const faults = new AsyncLocalStorage<{ afterQueries: number; queries: number; broke: boolean }>();

jest.mock('pg/lib/client', () => {
  const Real = jest.requireActual('pg/lib/client');
  return class extends Real {
    constructor(config: Record<string, unknown>) {
      // the local clusters speak no TLS
      super({ ...config, ssl: false });
    }

    query(...args: unknown[]) {
      const fault = faults.getStore();
      if (fault && !fault.broke && ++fault.queries > fault.afterQueries) {
        // the worker dies mid-unit: its connection is cut while it compares
        fault.broke = true;
        (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      }
      return super.query(...args);
    }
  };
});

const SOURCE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf';
const TARGET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-AbCdEf';
const BIG_ROWS = 2_000_000;
const PLANTED = BIG_ROWS - 7;

const secrets = mockClient(SecretsManagerClient);
const cloudwatch = mockClient(CloudWatchClient);
const s3 = mockClient(S3Client);
const objects = new Map<string, string>();
const metrics: Array<{ name: string; value: number }> = [];
let source: PgCluster;
let target: PgCluster;
const waitServer = new WaitConditionServer();

const SCHEMA = `
  create schema app;
  create table app.big (id bigint primary key, name text, amount numeric(12,2));
  insert into app.big select g, 'row ' || g, g / 8.0 from generate_series(1, ${BIG_ROWS}) g;
  create table app.small (id int primary key, note text);
  insert into app.small select g, md5(g::text) from generate_series(1, 500) g;
  create table app.loose (a int, b text);
  insert into app.loose select g % 50, 'x' || g from generate_series(1, 1000) g;
  analyze;
`;

const MAPPINGS = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'app', 'table-name': '%' } }] });

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  [source, target] = await Promise.all([startPgCluster({ walLevel: 'minimal', settings: { max_wal_senders: 0 } }), startPgCluster({ walLevel: 'minimal', settings: { max_wal_senders: 0 } })]);
  await Promise.all([source.sql(SCHEMA), target.sql(SCHEMA)]);
  // a difference in the last unit of the large table
  await target.sql(`update app.big set name = 'changed' where id = ${PLANTED}`);
  await waitServer.start();
});

afterAll(async () => {
  await waitServer.stop();
  await Promise.all([source?.stop(), target?.stop()]);
});

beforeEach(() => {
  for (const mock of [secrets, cloudwatch, s3]) mock.reset();
  objects.clear();
  metrics.length = 0;
  secrets.on(GetSecretValueCommand, { SecretId: SOURCE_ARN }).resolves({
    SecretString: JSON.stringify({ username: 'postgres', password: 'pw', host: '127.0.0.1', port: source.port }),
  });
  secrets.on(GetSecretValueCommand, { SecretId: TARGET_ARN }).resolves({
    SecretString: JSON.stringify({ username: 'postgres', password: 'pw', host: '127.0.0.1', port: target.port, dbname: 'postgres' }),
  });
  cloudwatch.on(PutMetricDataCommand).callsFake((input) => {
    for (const d of input.MetricData) metrics.push({ name: d.MetricName, value: d.Value });
    return {};
  });
  s3.on(PutObjectCommand).callsFake((input) => {
    objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input) => {
    const body = objects.get(`${input.Bucket}/${input.Key}`);
    if (body === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
    return { Body: { transformToString: async () => body } } as any;
  });
});

/** The definition of the construct's state machine, from the synthesized template. */
function definition(): Record<string, any> {
  const { stack } = distributedStack({ topic: false });
  return synthesizedDefinition(stack, (id) => (id.includes('Bucket') ? 'verification-bucket' : `arn:aws:lambda:us-east-1:123456789012:function:${id}`));
}

function run(overrides: Partial<RunConfig> = {}): RunConfig {
  return {
    Action: 'verify',
    SourceSecretArn: SOURCE_ARN,
    SourceDatabaseName: 'postgres',
    TargetSecretArn: TARGET_ARN,
    TableMappings: MAPPINGS,
    TaskIdentifier: 'neon-migration',
    FailOnDifference: 'true',
    NormalizeNumericScale: 'true',
    Bucket: 'verification-bucket',
    Prefix: 'runs/test/',
    // a small budget: every invocation compares one chunk and hands back a cursor
    BudgetSeconds: '0.05',
    UnitRows: '400000',
    ChunkRows: '100000',
    InlineMaxUnits: '40',
    WaitHandle: waitServer.url('Handle'),
    ...overrides,
  };
}

interface Calls { compare: number; failed: number }

/** The local Lambda tasks: the real worker handler, in-process. The compare invocation `killAt` is killed mid-unit. */
function localTasks(calls: Calls, killAt?: number) {
  const compare = async (input: any) => {
    calls.compare++;
    if (calls.compare === killAt) {
      try {
        return await faults.run({ afterQueries: 3, queries: 0, broke: false }, () => handler(input));
      } catch (e) {
        calls.failed++;
        throw e;
      }
    }
    return handler(input);
  };
  return {
    Plan: (input: any) => handler(input),
    Report: (input: any) => handler(input),
    SignalFailure: (input: any) => handler(input),
    InlineCompare: compare,
    DistributedCompare: compare,
  };
}

/** Stands in for the Distributed Map state (see the comment at the top). */
function withLocalDistributedMap(def: Record<string, any>, tasks: Record<string, (input: any) => Promise<any>>): Record<string, any> {
  const map = def.States.CompareDistributed;
  const processor = { StartAt: map.ItemProcessor.StartAt, States: map.ItemProcessor.States };
  const child = new StateMachine(processor, { validationOptions: { checkPaths: false, checkArn: false } });
  const emulation = async (input: any) => {
    const key = input.Plan.ItemsKey;
    expect(map.ItemReader.Parameters['Key.$']).toBe('$.Plan.ItemsKey');
    const items = JSON.parse(objects.get(`${map.ItemReader.Parameters.Bucket}/${key}`)!);
    const outputs: unknown[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        const itemInput = { Run: input.Run, Unit: items[i], Progress: map.ItemSelector.Progress };
        const overrides = { taskResourceLocalHandlers: tasks, retryIntervalOverrides: { DistributedCompare: 0 } };
        outputs[i] = await child.run(itemInput, { overrides }).result;
      }
    };
    await Promise.all(Array.from({ length: Math.min(map.MaxConcurrency, items.length) }, worker));
    objects.set(`${map.ResultWriter.Parameters.Bucket}/${map.ResultWriter.Parameters.Prefix}/SUCCEEDED_0.json`, JSON.stringify(outputs));
    return {};
  };
  const { ItemProcessor: _p, ItemReader: _r, ResultWriter: _w, ItemSelector: _s, MaxConcurrency: _c, Label: _l, ...rest } = map;
  tasks.CompareDistributed = emulation;
  return { ...def, States: { ...def.States, CompareDistributed: { ...rest, Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:LocalDistributedMap' } } };
}

/** Runs the definition to its end; what Plan and Report answered, and how the execution ended. */
async function execute(def: Record<string, any>, input: RunConfig, tasks: Record<string, (input: any) => Promise<any>>) {
  const answers: Record<string, any> = {};
  const recorded = { ...tasks };
  for (const name of ['Plan', 'Report']) recorded[name] = async (i: any) => (answers[name] = await tasks[name](i));
  const machine = new StateMachine(def, { validationOptions: { checkPaths: false } });
  const execution = machine.run({ Run: input }, {
    overrides: {
      taskResourceLocalHandlers: recorded,
      retryIntervalOverrides: { InlineCompare: 0, DistributedCompare: 0, Plan: 0, Report: 0, SignalFailure: 0 },
    },
  });
  let error: Error | undefined;
  await execution.result.catch((e: Error) => { error = e; });
  return { plan: answers.Plan, report: answers.Report, error: error?.message ?? '' };
}

test('the synthesized definition is valid Amazon States Language', () => {
  const { isValid, errorsText } = validator(definition());
  expect(errorsText()).toBe('');
  expect(isValid).toBe(true);
});

test('inline: units longer than a budget resume, a worker killed mid-unit is retried and counted once, the report equals one process', async () => {
  const calls: Calls = { compare: 0, failed: 0 };
  const single = await verify({ source: source.url(), target: target.url(), mappings: JSON.parse(MAPPINGS) });

  const output = await execute(definition(), run(), localTasks(calls, 4));
  // the execution fails on the difference (the Differences state)
  expect(output.error).toMatch(/Tables differ/);

  // the plan cut the large table; each invocation compared one chunk and handed a cursor on
  expect(output.plan).toMatchObject({ Mode: 'inline', UnitCount: 7, Tables: 3 });
  const units = JSON.parse(objects.get('verification-bucket/runs/test/units.json')!);
  const chunks = units.reduce((n: number, u: any) => n + (u.chunks?.length ?? 1), 0);
  expect(chunks).toBeGreaterThan(units.length);
  expect(calls.compare).toBe(chunks + 1); // one invocation per chunk, and the killed one again
  expect(calls.failed).toBe(1);

  // the same report as one process: rows counted once, the planted difference found by key
  expect(output.report).toMatchObject({ Ok: false, Tables: 3, MismatchedTables: 1, MismatchedRows: 1, Rows: BIG_ROWS + 500 + 1000 });
  const tables = await readReport(run(), 'runs/test/units.json');
  const strip = (t: any) => ({
    source: t.source, status: t.status, sourceRows: t.sourceRows, targetRows: t.targetRows, differences: t.differences, method: t.method,
  });
  expect(tables.map(strip)).toEqual(single.tables.map(strip));
  expect(tables.find((t) => t.source.table === 'big')!.differences).toEqual([{ kind: 'different', key: { id: String(PLANTED) }, columns: ['name'] }]);

  // the deployment's wait condition learns it failed, naming the key
  const signal = waitServer.signals.get('Handle')!.at(-1)!;
  expect(signal.Status).toBe('FAILURE');
  expect(signal.Reason).toContain(`id="${PLANTED}"`);
  expect(metrics.filter((m) => m.name === 'RowsVerified').reduce((n, m) => n + m.value, 0)).toBe(BIG_ROWS + 500 + 1000);
  expect(metrics.filter((m) => m.name === 'UnitsCompleted').reduce((n, m) => n + m.value, 0)).toBe(7);
});

test('distributed: the unit list goes through S3, every unit is compared once, the difference in the last unit is found', async () => {
  const calls: Calls = { compare: 0, failed: 0 };
  const tasks = localTasks(calls);
  const output = await execute(withLocalDistributedMap(definition(), tasks), run({ InlineMaxUnits: '0', Prefix: 'runs/dist/', WaitHandle: waitServer.url('Distributed') }), tasks);
  expect(output.error).toMatch(/Tables differ/);
  expect(output.plan.Mode).toBe('distributed');
  expect(output.plan.Units).toBeUndefined();
  expect(calls.compare).toBe(JSON.parse(objects.get('verification-bucket/runs/dist/units.json')!).reduce((n: number, u: any) => n + (u.chunks?.length ?? 1), 0));
  expect(output.report).toMatchObject({ Ok: false, MismatchedTables: 1, Rows: BIG_ROWS + 1500 });
  const last = JSON.parse(objects.get('verification-bucket/runs/dist/units.json')!).filter((u: any) => u.table.source.table === 'big').at(-1);
  const result = JSON.parse(objects.get(`verification-bucket/runs/dist/results/${last.index}.json`)!);
  expect(result.differences).toEqual([{ kind: 'different', key: { id: String(PLANTED) }, columns: ['name'] }]);
  expect(waitServer.signals.get('Distributed')!.at(-1)!.Status).toBe('FAILURE');
});

test('a verification that cannot start reports failure to the wait condition', async () => {
  const calls: Calls = { compare: 0, failed: 0 };
  const nothing = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'nowhere', 'table-name': '%' } }] });
  const output = await execute(definition(), run({ TableMappings: nothing, WaitHandle: waitServer.url('Nothing') }), localTasks(calls));
  expect(output.error).toMatch(/could not compare every table/);
  expect(calls.compare).toBe(0);
  const signal = waitServer.signals.get('Nothing')!.at(-1)!;
  expect(signal.Status).toBe('FAILURE');
  expect(signal.Reason).toMatch(/NO_TABLES_SELECTED/);
  expect(metrics).toContainEqual({ name: 'VerificationFailed', value: 1 });
});

test('a worker near the end of its invocation has its scan cancelled by the database: no statement outlives the invocation that started it', async () => {
  const input = run({ Prefix: 'runs/timeout/', WaitHandle: undefined });
  const plan = await handler({ Action: 'plan', Run: input }) as { ItemsKey: string };
  const big = JSON.parse(objects.get(`verification-bucket/${plan.ItemsKey}`)!).find((u: any) => u.table.source.table === 'big' && u.chunks);
  // the invocation has the margin left and a millisecond more: its statements may take a millisecond
  const ending = { getRemainingTimeInMillis: () => STATEMENT_MARGIN_MS + 1 };
  await expect(handler({ Action: 'compare', Run: input, Unit: big }, ending)).rejects.toThrow(/statement timeout/);
  const { Client } = jest.requireActual('pg');
  const client = new Client({ connectionString: source.url() });
  await client.connect();
  const running = await client.query("select count(*)::int as n from pg_stat_activity where application_name = 'cdk-neon-migration verify' and state = 'active'");
  await client.end();
  expect(running.rows[0].n).toBe(0);
  // with the time a real invocation has, the same unit compares
  await expect(handler({ Action: 'compare', Run: input, Unit: big }, { getRemainingTimeInMillis: () => 900_000 })).resolves.toMatchObject({ invocations: 1 });
});
