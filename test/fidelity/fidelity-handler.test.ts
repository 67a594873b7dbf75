import * as cloudwatchSdk from '@aws-sdk/client-cloudwatch';
import { CloudWatchClient, GetMetricDataCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { startPgCluster, PgCluster } from './pg-cluster';
import { FidelityEvent, FidelityProperties, handler } from '../../lib/fidelity/fidelity.lambda';
import { sdkInputProblems } from '../conversion/dms-api-shapes';

/** The configurations the handler opened clients with; the local clusters speak no TLS, so it is switched off after recording. */
const mockClientConfigs: Array<Record<string, unknown>> = [];
jest.mock('pg/lib/client', () => {
  const Real = jest.requireActual('pg/lib/client');
  return class extends Real {
    constructor(config: Record<string, unknown>) {
      mockClientConfigs.push(config);
      super({ ...config, ssl: false });
    }
  };
});

const SOURCE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf';
const TARGET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-AbCdEf';
const SOURCE_PASSWORD = 'source-pw-canary-3f9a';
const TARGET_PASSWORD = 'endpoint=ep-test-123456$neon-pw-canary-88c1';

const secrets = mockClient(SecretsManagerClient);
const cloudwatch = mockClient(CloudWatchClient);
let source: PgCluster;
let target: PgCluster;

const SCHEMA = `
  create schema app;
  create table app.users (id int primary key, name text, profile jsonb);
  insert into app.users select g, 'user ' || g, jsonb_build_object('g', g) from generate_series(1, 500) g;
  create table app.events (id bigint primary key, at timestamptz, amount numeric(10,2));
  insert into app.events select g, '2024-01-01'::timestamptz + g * interval '1 minute', g / 4.0 from generate_series(1, 800) g;
`;

const MAPPINGS = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'app', 'table-name': '%' } }] });

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster(), startPgCluster()]);
  await Promise.all([source.sql(SCHEMA), target.sql(SCHEMA)]);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

beforeEach(() => {
  secrets.reset();
  cloudwatch.reset();
  mockClientConfigs.length = 0;
  secrets.on(GetSecretValueCommand, { SecretId: SOURCE_ARN }).resolves({
    SecretString: JSON.stringify({ username: 'postgres', password: SOURCE_PASSWORD, host: '127.0.0.1', port: source.port, engine: 'postgres' }),
  });
  secrets.on(GetSecretValueCommand, { SecretId: TARGET_ARN }).resolves({
    SecretString: JSON.stringify({ username: 'postgres', password: TARGET_PASSWORD, host: '127.0.0.1', port: String(target.port), dbname: 'postgres' }),
  });
  cloudwatch.on(PutMetricDataCommand).resolves({});
});

function event(props: Partial<FidelityProperties>, requestType: FidelityEvent['RequestType'] = 'Create'): FidelityEvent {
  const action = props.Action ?? 'verify';
  return {
    RequestType: requestType,
    ResourceType: action === 'preflight' ? 'Custom::NeonMigrationPreflight' : 'Custom::NeonMigrationVerification',
    LogicalResourceId: 'Check',
    PhysicalResourceId: requestType === 'Create' ? undefined : 'verify:Check',
    ResourceProperties: {
      Action: 'verify',
      SourceSecretArn: SOURCE_ARN,
      SourceDatabaseName: 'postgres',
      TargetSecretArn: TARGET_ARN,
      TableMappings: MAPPINGS,
      TaskIdentifier: 'neon-migration',
      ...props,
    },
  };
}

/** Everything the handler logged, to check no secret appears in it. */
function captureLogs(): { text: () => string; restore: () => void } {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); });
  return { text: () => lines.join('\n'), restore: () => spy.mockRestore() };
}

describe('verify', () => {
  test('identical tables: data summary, one metric pair per table, TLS settings per side', async () => {
    const logs = captureLogs();
    let result;
    try {
      result = await handler(event({}));
    } finally {
      logs.restore();
    }
    expect(result).toEqual({
      PhysicalResourceId: 'verify:Check',
      Data: { Tables: '2', MismatchedTables: '0', Rows: '1300', MismatchedRows: '0', Summary: '2 of 2 table(s) match; 1300 row(s) compared, at least 0 differ.' },
    });
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId).sort()).toEqual([TARGET_ARN, SOURCE_ARN].sort());

    const calls = cloudwatch.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input.Namespace).toBe('CdkNeonMigration');
    const data = calls[0].args[0].input.MetricData!.map((d) => [d.MetricName, d.Dimensions!.map((x) => `${x.Name}=${x.Value}`).join(','), d.Value]);
    expect(data).toEqual(expect.arrayContaining([
      ['MismatchedRows', 'TaskIdentifier=neon-migration,Table=app.events', 0],
      ['RowsCompared', 'TaskIdentifier=neon-migration,Table=app.events', 800],
      ['MismatchedRows', 'TaskIdentifier=neon-migration,Table=app.users', 0],
      ['RowsCompared', 'TaskIdentifier=neon-migration,Table=app.users', 500],
    ]));
    expect(data).toHaveLength(4);

    const sourceConfigs = mockClientConfigs.filter((c) => c.port === source.port);
    const targetConfigs = mockClientConfigs.filter((c) => c.port === target.port);
    expect(sourceConfigs.length).toBeGreaterThan(0);
    expect(targetConfigs.length).toBeGreaterThan(0);
    for (const c of sourceConfigs) expect(c).toMatchObject({ ssl: { rejectUnauthorized: false }, user: 'postgres', database: 'postgres' });
    // Neon: TLS verified, password in the endpoint=<id>$<password> form as the secret holds it
    for (const c of targetConfigs) expect(c).toMatchObject({ ssl: { rejectUnauthorized: true }, password: TARGET_PASSWORD });
    expect(logs.text()).not.toContain(SOURCE_PASSWORD);
    expect(logs.text()).not.toContain('neon-pw-canary');
    expect(JSON.stringify(result)).not.toMatch(/canary/);
  });

  test('a CA bundle for the source turns certificate verification on', async () => {
    await handler(event({ SourceCaBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }));
    const sourceConfigs = mockClientConfigs.filter((c) => c.port === source.port);
    expect(sourceConfigs[0]).toMatchObject({ ssl: { rejectUnauthorized: true, ca: expect.stringContaining('BEGIN CERTIFICATE') } });
  });

  describe('with a difference on the target', () => {
    beforeAll(async () => {
      await target.sql("update app.users set name = 'changed' where id = 42; delete from app.events where id = 7;");
    });
    afterAll(async () => {
      await target.sql("update app.users set name = 'user 42' where id = 42; insert into app.events select 7, '2024-01-01'::timestamptz + 7 * interval '1 minute', 7 / 4.0;");
    });

    test('fails with the differing keys and still publishes the metrics', async () => {
      await expect(handler(event({}))).rejects.toThrow(
        /^Verification failed: 0 of 2 table\(s\) match; 1300 row\(s\) compared, at least 2 differ\. app\.events: mismatch 800\/799 rows; missing-in-target id="7" \| app\.users: mismatch 500\/500 rows; different id="42"$/);
      const data = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData!;
      expect(data.filter((d) => d.MetricName === 'MismatchedRows').map((d) => d.Value)).toEqual([1, 1]);
    });

    test('during CDC the differences are re-checked after the task latency read from CloudWatch, and the persistent ones fail', async () => {
      cloudwatch.on(GetMetricDataCommand).resolves({
        MetricDataResults: [{ Id: 'm0', Timestamps: [new Date()], Values: [0] }, { Id: 'm1', Timestamps: [new Date()], Values: [0.2] }],
      });
      const cdc = { RecheckInstanceIdentifier: 'migration-instance', RecheckTaskResourceId: 'TASKRESOURCEID', RecheckMarginSeconds: '0', RecheckRounds: '1' };
      await expect(handler(event(cdc))).rejects.toThrow(/^Verification failed: 0 of 2 table\(s\) match; .* app\.events: mismatch 800\/799 rows; missing-in-target id="7" \| app\.users: mismatch 500\/500 rows; different id="42"$/);
      // one re-check per table that differed, each reading the task's latency
      const reads = cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
      expect(reads).toHaveLength(2);
      for (const input of reads) {
        expect(sdkInputProblems(cloudwatchSdk, 'CloudWatch', 'GetMetricData', input)).toEqual([]);
        expect(input.MetricDataQueries!.map((q) => q.MetricStat!.Metric!.Dimensions)).toEqual([0, 1].map(() => [
          { Name: 'ReplicationInstanceIdentifier', Value: 'migration-instance' }, { Name: 'ReplicationTaskIdentifier', Value: 'TASKRESOURCEID' },
        ]));
      }
    });

    test('during CDC, a latency that cannot be read fails the verification, naming why', async () => {
      cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Timestamps: [], Values: [] }, { Id: 'm1', Timestamps: [], Values: [] }] });
      await expect(handler(event({ RecheckInstanceIdentifier: 'i', RecheckTaskResourceId: 'T', RecheckMarginSeconds: '0', RecheckRounds: '1' })))
        .rejects.toThrow(/the task's replication latency cannot be read: no CDCLatencySource or CDCLatencyTarget datapoint of the task in the last 10 minute\(s\)/);
    });

    test('with FailOnDifference false the counts come back as data', async () => {
      const result = await handler(event({ FailOnDifference: 'false' }));
      expect(result.Data).toMatchObject({ Tables: '2', MismatchedTables: '2', Rows: '1300', MismatchedRows: '2' });
    });
  });

  test('the failure message stays under 3,000 characters', async () => {
    const many = Array.from({ length: 120 }, (_, i) => `create table app.long_table_name_number_${i} (id int primary key); insert into app.long_table_name_number_${i} values (1);`).join('\n');
    await source.sql(many);
    try {
      const error = await handler(event({})).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message.length).toBeLessThanOrEqual(3000);
      expect((error as Error).message).toMatch(/^Verification failed: 2 of 122 table\(s\) match/);
    } finally {
      await source.sql(Array.from({ length: 120 }, (_, i) => `drop table app.long_table_name_number_${i};`).join('\n'));
    }
  });

  test('a selection that matches no table fails, even with FailOnDifference false, naming the selection', async () => {
    const none = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'App', 'table-name': '%' } }] });
    for (const failOnDifference of ['true', 'false']) {
      await expect(handler(event({ TableMappings: none, FailOnDifference: failOnDifference }))).rejects.toThrow(
        /^Verification failed: NO_TABLES_SELECTED: The selection rules match no table on the source \(include App\.%\)\. Check the schema and table names/);
    }
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  describe('with a column type changed on the target', () => {
    const RETYPED = JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'retyped', 'table-name': '%' } }] });
    beforeAll(async () => {
      const ddl = 'create schema retyped; create table retyped.t (id int primary key, qty integer); insert into retyped.t select g, g from generate_series(1, 25) g;';
      await Promise.all([source.sql(ddl), target.sql(ddl)]);
      await target.sql('alter table retyped.t alter column qty type text;');
    });

    test('fails naming the column and both types', async () => {
      await expect(handler(event({ TableMappings: RETYPED }))).rejects.toThrow(
        /^Verification failed: 0 of 1 table\(s\) match; 25 row\(s\) compared, at least 1 differ\. retyped\.t: type-changed 25\/25 rows, column types changed \(rows not compared\): qty: integer -> text$/);
      const data = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData!;
      expect(data.find((d) => d.MetricName === 'MismatchedRows')!.Value).toBe(1);
    });

    test('with FailOnDifference false it counts as a mismatched table', async () => {
      const result = await handler(event({ TableMappings: RETYPED, FailOnDifference: 'false' }));
      expect(result.Data).toMatchObject({ Tables: '1', MismatchedTables: '1', MismatchedRows: '1' });
    });
  });

  test('without a TaskIdentifier no metric is published', async () => {
    await handler(event({ TaskIdentifier: undefined }));
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });
});

describe('preflight', () => {
  beforeAll(async () => {
    await source.sql('create schema cdc; create table cdc.audit (at timestamptz, msg text); insert into cdc.audit values (now(), \'x\');');
  });

  const cdc = (props: Partial<FidelityProperties> = {}) => event({
    Action: 'preflight',
    TargetSecretArn: undefined,
    TaskIdentifier: undefined,
    MigrationType: 'full-load-and-cdc',
    TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'cdc', 'table-name': '%' } }] }),
    ...props,
  });

  test('a clean full load passes and returns the counts', async () => {
    const result = await handler(event({ Action: 'preflight', TaskIdentifier: undefined, MigrationType: 'full-load', LobMode: 'LIMITED', LobMaxSizeKb: '32' }));
    expect(result.PhysicalResourceId).toBe('preflight:Check');
    expect(result.Data).toMatchObject({ Tables: '2', Blocking: '0', Acknowledged: '0' });
    expect(Number(result.Data!.Info)).toBeGreaterThan(0); // LOB_COLUMN for users.name and users.profile
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([SOURCE_ARN, TARGET_ARN]);
  });

  test('a blocking finding fails the deployment with its code', async () => {
    await expect(handler(cdc())).rejects.toThrow(/^Preflight found 1 blocking finding\(s\); fix them or list their codes in acknowledgedFindings \(NO_PRIMARY_KEY\)\. NO_PRIMARY_KEY cdc\.audit: /);
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([SOURCE_ARN]);
  });

  test('an acknowledged finding does not block', async () => {
    const result = await handler(cdc({ AcknowledgedFindings: ['NO_PRIMARY_KEY'] }));
    expect(result.Data).toMatchObject({ Tables: '1', Blocking: '1', Acknowledged: '1' });
  });

  test('LOB mode NONE reports the dropped LOB columns', async () => {
    await expect(handler(cdc({ MigrationType: 'full-load', LobMode: 'NONE' }))).rejects.toThrow(/LOB_COLUMN_DROPPED cdc\.audit\.msg/);
  });
});

describe('requests', () => {
  test('Delete does nothing', async () => {
    const result = await handler(event({}, 'Delete'));
    expect(result).toEqual({ PhysicalResourceId: 'verify:Check' });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  test('an unknown action fails', async () => {
    await expect(handler(event({ Action: 'drop' }))).rejects.toThrow(/^Unknown Action 'drop': expected preflight or verify\.$/);
  });

  test('a secret without the fields fails without echoing its value', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SOURCE_ARN }).resolves({ SecretString: 'postgresql://u:hunter2@h/db' });
    const error = await handler(event({})).catch((e: Error) => e);
    expect((error as Error).message).toBe(`The source secret ${SOURCE_ARN} must be JSON with username, password, host and port.`);
  });

  test('verify needs the target secret', async () => {
    await expect(handler(event({ TargetSecretArn: undefined }))).rejects.toThrow(/^Verification needs the target secret/);
  });
});
