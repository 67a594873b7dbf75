import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as cloudwatchSdk from '@aws-sdk/client-cloudwatch';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import * as dmsSdk from '@aws-sdk/client-database-migration-service';
import { DatabaseMigrationServiceClient, DescribeReplicationInstancesCommand, DescribeReplicationTasksCommand, ReplicationTask } from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../lib/cli';
import { parseTaskArn } from '../../lib/cutover/dms-latency';
import { sdkInputProblems } from '../conversion/dms-api-shapes';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

// The DMS task and its CloudWatch latency are answered by aws-sdk-client-mock, every request checked
// against the API models the SDK ships; the databases are real.

const TASK_ARN = 'arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const INSTANCE_ARN = 'arn:aws:dms:eu-west-1:123456789012:rep:INSTANCERESOURCEID';
const dms = mockClient(DatabaseMigrationServiceClient);
const cloudwatch = mockClient(CloudWatchClient);

let source: PgCluster;
let target: PgCluster;

class Sink {
  text = '';
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

async function cli(argv: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await main(argv, { SOURCE_DATABASE_URL: source.url(), TARGET_DATABASE_URL: target.url() }, stdout, stderr);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const shopOnly = JSON.stringify({
  rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } }],
});

function answer(task: Partial<ReplicationTask>, latency: { source: number; target: number } | undefined) {
  dms.on(DescribeReplicationTasksCommand).resolves({
    ReplicationTasks: [{
      ReplicationTaskArn: TASK_ARN,
      ReplicationTaskIdentifier: 'orders-to-neon',
      MigrationType: 'full-load-and-cdc',
      Status: 'running',
      ReplicationInstanceArn: INSTANCE_ARN,
      TableMappings: shopOnly,
      ReplicationTaskStats: { FullLoadProgressPercent: 100, TablesLoaded: 1, TablesLoading: 0, TablesQueued: 0, TablesErrored: 0 },
      ...task,
    }],
  });
  dms.on(DescribeReplicationInstancesCommand).resolves({ ReplicationInstances: [{ ReplicationInstanceArn: INSTANCE_ARN, ReplicationInstanceIdentifier: 'migration-instance' }] });
  const at = new Date(Date.now() - 90_000);
  cloudwatch.on(GetMetricDataCommand).resolves({
    MetricDataResults: latency === undefined ? [{ Id: 'm0', Timestamps: [], Values: [] }, { Id: 'm1', Timestamps: [], Values: [] }] : [
      { Id: 'm0', Timestamps: [at, new Date(at.getTime() - 60_000)], Values: [latency.source, 99] },
      { Id: 'm1', Timestamps: [at], Values: [latency.target] },
    ],
  });
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster({ walLevel: 'replica' }), startPgCluster({ walLevel: 'replica' })]);
  const ddl = `create schema shop; create table shop.orders (id bigserial primary key, note text);
    create schema other; create table other.t (id int primary key);`;
  await Promise.all([source.sql(ddl), target.sql(ddl)]);
  await source.sql("insert into shop.orders (note) select 'n' || g from generate_series(1, 300) g; insert into other.t values (1)");
  // the target got the rows (with their ids) but not the sequence, as after a DMS load
  await target.sql("insert into shop.orders select g, 'n' || g from generate_series(1, 300) g");
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

beforeEach(() => {
  dms.reset();
  cloudwatch.reset();
});

function expectModelledRequests() {
  for (const call of dms.calls()) {
    const command = call.args[0] as { constructor: { name: string }; input: unknown };
    expect(sdkInputProblems(dmsSdk, 'DMS', command.constructor.name.replace(/Command$/, ''), command.input)).toEqual([]);
  }
  for (const call of cloudwatch.calls()) {
    const command = call.args[0] as { constructor: { name: string }; input: unknown };
    expect(sdkInputProblems(cloudwatchSdk, 'CloudWatch', command.constructor.name.replace(/Command$/, ''), command.input)).toEqual([]);
  }
}

test('go: the task is running and in sync, its tables match, the sequences are set', async () => {
  answer({}, { source: 0, target: 1 });
  const r = await cli(['cutover', '--task-arn', TASK_ARN, '--recheck-margin', '0']);
  expect(r.stdout).toMatch(/^latency\s+PASS\s+1\.0 s <= 5\.0 s \(CDCLatencySource 0 s \+ CDCLatencyTarget 1 s, at /m);
  expect(r.stdout).toMatch(/^verify\s+PASS\s+1 table\(s\), 300 source row\(s\) compared; all match/m);
  expect(r.stdout).toMatch(/^sequences\s+PASS\s+1 set, 0 kept: shop\.orders_id_seq continues at 301/m);
  expect(r.stdout).toContain('Cutover: GO.');
  expect(r.code).toBe(0);
  // the task's own table mapping chose the tables: other.t was not verified
  expect(r.stdout).not.toContain('other');
  // what was asked of AWS: the task by ARN, its instance, then both latency metrics with the task's dimensions
  const filter = dms.commandCalls(DescribeReplicationTasksCommand)[0].args[0].input.Filters;
  expect(filter).toEqual([{ Name: 'replication-task-arn', Values: [TASK_ARN] }]);
  expect(dms.commandCalls(DescribeReplicationInstancesCommand)[0].args[0].input.Filters).toEqual([{ Name: 'replication-instance-arn', Values: [INSTANCE_ARN] }]);
  const queries = cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input.MetricDataQueries!;
  expect(queries.map((q) => q.MetricStat!.Metric!.MetricName)).toEqual(['CDCLatencySource', 'CDCLatencyTarget']);
  for (const q of queries) {
    expect(q.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'AWS/DMS',
        Dimensions: [{ Name: 'ReplicationInstanceIdentifier', Value: 'migration-instance' }, { Name: 'ReplicationTaskIdentifier', Value: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' }],
      },
      Period: 60,
      Stat: 'Maximum',
    });
  }
  // the instance is looked up once, however many readings
  expect(dms.commandCalls(DescribeReplicationInstancesCommand)).toHaveLength(1);
  expectModelledRequests();
  const clientRegion = await (dms.call(0).thisValue as DatabaseMigrationServiceClient).config.region();
  expect(clientRegion).toBe('eu-west-1');
}, 60_000);

test('no-go while the latency is above --max-latency: nothing verified, exit 1, JSON on request', async () => {
  answer({}, { source: 20, target: 11.5 });
  const r = await cli(['cutover', '--task-arn', TASK_ARN, '--wait', '0', '--json']);
  expect(r.code).toBe(1);
  const result = JSON.parse(r.stdout);
  expect(result.go).toBe(false);
  expect(result.checks.map((c: { check: string; status: string }) => `${c.check} ${c.status}`)).toEqual(['latency fail', 'verify skipped', 'sequences skipped']);
  expect(result.latency.lastMs).toBe(31_500);
  expect(result.checks[0].detail).toMatch(/^31\.5 s > 5\.0 s after waiting/);
  expect(result.verify).toBeUndefined();
});

test.each([
  [{ Status: 'stopped', StopReason: 'Stop Reason NORMAL' }, 'is stopped (Stop Reason NORMAL), not running'],
  [{ Status: 'failed', LastFailureMessage: 'Last Error ODBC general error.' }, 'is failed (Last Error ODBC general error.), not running'],
  [{ MigrationType: 'full-load' }, 'is a full load without ongoing replication'],
  [{ ReplicationTaskStats: { TablesLoading: 2, TablesQueued: 3 } }, 'is still loading tables (2 loading, 3 queued)'],
  [{ ReplicationTaskStats: { TablesErrored: 1 } }, 'has 1 table(s) in error'],
] as Array<[Partial<ReplicationTask>, string]>)('no-go when the task cannot be cut over: %j', async (task, message) => {
  answer(task, { source: 0, target: 0 });
  const r = await cli(['cutover', '--task-arn', TASK_ARN]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(/^latency\s+FAIL\s+/m);
  expect(r.stdout).toContain(`the task orders-to-neon ${message}`);
  // nothing read from CloudWatch for a task that is not applying changes
  expect(cloudwatch.calls()).toHaveLength(0);
});

test('no-go when CloudWatch has no recent latency datapoint', async () => {
  answer({}, undefined);
  const r = await cli(['cutover', '--task-arn', TASK_ARN]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('no CDCLatencySource or CDCLatencyTarget datapoint of the task in the last 10 minute(s) (dimensions ReplicationInstanceIdentifier=migration-instance, ReplicationTaskIdentifier=ABCDEFGHIJKLMNOPQRSTUVWXYZ)');
});

test('verify --task-arn re-checks differences after the task latency', async () => {
  answer({}, { source: 0, target: 0 });
  await target.sql("update shop.orders set note = 'changed' where id = 7");
  try {
    const r = await cli(['verify', '--task-arn', TASK_ARN, '--recheck-margin', '0', '--recheck-rounds', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/different\s+id="7"/);
    expect(r.stdout).toContain('Re-checked after the replication latency: 0 row(s) in flight arrived and are not reported (up to 1 round(s), latency up to 0.0 s).');
    expect(cloudwatch.commandCalls(GetMetricDataCommand).length).toBeGreaterThanOrEqual(1);
  } finally {
    await target.sql("update shop.orders set note = 'n7' where id = 7");
  }
});

test('no-go on a row lost on the target: the text names its table and key', async () => {
  answer({}, { source: 0, target: 0 });
  await target.sql('delete from shop.orders where id = 123');
  try {
    const r = await cli(['cutover', '--task-arn', TASK_ARN, '--recheck-margin', '0', '--recheck-rounds', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^verify\s+FAIL\s+1 table\(s\), 300 source row\(s\) compared; 1 table\(s\) differ/m);
    expect(r.stdout).toContain('\nshop.orders: 1 differing row(s)\n  missing-in-target  id="123"\n');
    expect(r.stdout).toMatch(/Cutover: NO-GO\./);
    const j = await cli(['cutover', '--task-arn', TASK_ARN, '--recheck-margin', '0', '--recheck-rounds', '1', '--json']);
    expect(JSON.parse(j.stdout).verify.tables[0].differences).toEqual([{ kind: 'missing-in-target', key: { id: '123' } }]);
  } finally {
    await target.sql("insert into shop.orders values (123, 'n123')");
  }
});

test('verify never says all tables match while rows changing on the source are not proven: it names how many', async () => {
  answer({}, { source: 0, target: 0 });
  await target.sql("update shop.orders set note = 'stale' where id = 5");
  // the application keeps writing the row on the source: no re-check can prove it either way
  let n = 0;
  let writing = Promise.resolve();
  const writer = setInterval(() => { writing = writing.then(() => source.sql(`update shop.orders set note = 'w${n++}' where id = 5`)); }, 20);
  try {
    const r = await cli(['verify', '--task-arn', TASK_ARN, '--recheck-margin', '0.2', '--recheck-rounds', '2']);
    expect(r.stdout).toContain('shop.orders: 1 row(s) changed on the source again in each of 2 re-check(s): not proven either way');
    expect(r.stdout).not.toMatch(/All \d+ table\(s\) match/);
    expect(r.stdout).toMatch(/\nNo difference found in 1 table\(s\), but 1 row\(s\) could not be proven: still changing on the source after the last re-check \(stop the writes to the source, then verify again\)\.\n$/);
  } finally {
    clearInterval(writer);
    await writing;
    await Promise.all([source.sql("update shop.orders set note = 'n5' where id = 5"), target.sql("update shop.orders set note = 'n5' where id = 5")]);
  }
});

test.each([
  [['cutover'], 'cutover needs --task-arn: the task whose latency it waits for'],
  [['verify', '--recheck-margin', '3'], '--recheck-margin needs --task-arn: the re-check waits for the task\'s latency'],
  [['verify', '--task-arn', TASK_ARN, '--max-latency', '3'], '--max-latency applies to cutover only, not to verify'],
  [['preflight', '--task-arn', TASK_ARN], '--task-arn applies to verify and cutover only, not to preflight'],
  [['cutover', '--task-arn', TASK_ARN, '--wait', 'soon'], '--wait takes a number of seconds >= 0, got "soon"'],
])('usage errors: %j', async (argv, message) => {
  const r = await cli(argv);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`error: ${message}`);
});

describe('AWS credentials and permissions', () => {
  const NEEDS = 'The command needs dms:DescribeReplicationTasks, dms:DescribeReplicationInstances, cloudwatch:GetMetricData: '
    + 'DmsMigrationTask.grantCutover(<role or user>) grants them.';

  test('no credentials: the call, the Region, where credentials come from and what grants the permissions are named (text and JSON)', async () => {
    // what the SDK's default credential chain rejects with when no provider has credentials
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError', tryNextLink: false });
    dms.on(DescribeReplicationTasksCommand).rejects(noCredentials);
    for (const argv of [['cutover', '--task-arn', TASK_ARN], ['verify', '--task-arn', TASK_ARN]]) {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('error: dms:DescribeReplicationTasks (in eu-west-1, the Region of the task ARN: AWS_REGION does not change it) needs AWS '
        + 'credentials, and none were found (Could not load credentials from any providers). Set AWS_PROFILE to a profile of your AWS config '
        + '(~/.aws/config, after aws sso login for an SSO profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them. '
        + `${NEEDS}\n`);
    }
    const j = await cli(['cutover', '--task-arn', TASK_ARN, '--json']);
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: 'AWS_CREDENTIALS', action: 'dms:DescribeReplicationTasks', region: 'eu-west-1' });
  });

  test('a refused action names itself and grantCutover: DMS and CloudWatch', async () => {
    answer({}, { source: 0, target: 0 });
    cloudwatch.on(GetMetricDataCommand).rejects(new cloudwatchSdk.CloudWatchServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'User: arn:aws:sts::123456789012:assumed-role/ops/me is not authorized to perform: cloudwatch:GetMetricData',
    }));
    const r = await cli(['cutover', '--task-arn', TASK_ARN, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toEqual({
      code: 'AWS_ACCESS_DENIED',
      action: 'cloudwatch:GetMetricData',
      region: 'eu-west-1',
      message: 'cloudwatch:GetMetricData (in eu-west-1, the Region of the task ARN: AWS_REGION does not change it) was refused: the AWS identity may not '
        + 'call it (User: arn:aws:sts::123456789012:assumed-role/ops/me is not authorized to perform: cloudwatch:GetMetricData). ' + NEEDS,
    });

    dms.reset();
    dms.on(DescribeReplicationTasksCommand).rejects(new dmsSdk.DatabaseMigrationServiceServiceException({
      name: 'ExpiredTokenException', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'The security token included in the request is expired',
    }));
    const expired = await cli(['cutover', '--task-arn', TASK_ARN]);
    expect(expired.stderr).toMatch(/^error: dms:DescribeReplicationTasks \(in eu-west-1.*\) was refused: the AWS credentials are not valid or have expired \(The security token included in the request is expired\)\. Renew them/);
  });

  test('run as a program with no credentials anywhere: the SDK\'s own error, explained', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'no-aws-'));
    try {
      const empty = path.join(home, 'empty');
      fs.writeFileSync(empty, '');
      const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../lib/cli.ts'),
        'cutover', '--task-arn', TASK_ARN, '--schema', 'shop'], {
        // nothing of the caller's AWS setup: no keys, empty config and credentials files, no instance metadata
        env: {
          PATH: process.env.PATH,
          HOME: home,
          AWS_CONFIG_FILE: empty,
          AWS_SHARED_CREDENTIALS_FILE: empty,
          AWS_EC2_METADATA_DISABLED: 'true',
          SOURCE_DATABASE_URL: source.url(),
          TARGET_DATABASE_URL: target.url(),
          // the SDK's notice that its 2027 releases need Node 22 is not the command's output
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        encoding: 'utf8',
        cwd: path.join(__dirname, '../..'),
        timeout: 60_000,
      });
      expect(r.stderr).toMatch(/^error: dms:DescribeReplicationTasks \(in eu-west-1, the Region of the task ARN: AWS_REGION does not change it\) needs AWS credentials, and none were found \(.+\)\. Set AWS_PROFILE /);
      expect(r.stderr).toContain('DmsMigrationTask.grantCutover(<role or user>) grants them.');
      expect(r.status).toBe(2);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});

test('a task ARN is checked before anything is asked of AWS', async () => {
  const r = await cli(['cutover', '--task-arn', 'arn:aws:dms:eu-west-1:123456789012:replication-config:XYZ']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('is not the ARN of a DMS replication task');
  expect(dms.calls()).toHaveLength(0);
  expect(parseTaskArn(TASK_ARN)).toEqual({ region: 'eu-west-1', resourceId: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' });
});

test('the shipped latency reader is self-contained: it loads and runs with no AWS SDK installed', () => {
  const bundle = path.join(__dirname, '..', '..', 'assets', 'lib', 'cutover', 'dms-latency', 'index.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dms-latency-'));
  try {
    fs.copyFileSync(bundle, path.join(dir, 'index.js'));
    const run = spawnSync(process.execPath, ['-e', `
      const m = require('./index.js');
      console.log(typeof m.dmsTaskLatency, JSON.stringify(m.parseTaskArn('${TASK_ARN}')));`], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function {"region":"eu-west-1","resourceId":"ABCDEFGHIJKLMNOPQRSTUVWXYZ"}');
    // what it still requires: Node's own modules, and the SDK's optional SigV4a signers (used only for
    // multi-Region signing, which neither DMS nor CloudWatch uses)
    const text = fs.readFileSync(bundle, 'utf8');
    const required = new Set([...text.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]).filter((m) => !m.startsWith('node:')));
    expect([...required].sort()).toEqual(['@aws-sdk/signature-v4-crt', '@aws-sdk/signature-v4a']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
