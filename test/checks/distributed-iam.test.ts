import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import {
  denials, distributedParts, DistributedParts, objectArn, RoleRequest, secretRequests, stateMachineRequests, workerServiceRequests,
} from './distributed-requests';
import { distributedStack } from './distributed-stack';
import { onEvent as start } from '../../lib/fidelity/distributed/start.handler';
import { handler as worker, PlanAnswer, RunConfig } from '../../lib/fidelity/distributed/verification-worker.lambda';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { MigrationType } from '../../lib/task';
import { CONCRETE_ENV } from '../deploy/variants';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { AuthorizedRequest, IamModel } from '../helpers/iam-simulation';
import { WaitConditionServer } from '../helpers/wait-condition-server';

/*
 * Every AWS request the distributed verification makes, evaluated by the IAM simulation
 * (test/helpers/iam-simulation.ts, AWS's service authorization data) against the policies of the
 * synthesized template as CloudFormation deploys it, environment-agnostic and in a concrete account
 * and Region:
 *
 * - the starter (the stack's shared provider) starting the state machine: recorded from the real
 *   start handler, with the properties CloudFormation sends;
 * - Step Functions with the state machine's role: derived from the synthesized definition (Task
 *   states, the Distributed Map's child executions, item reader and result writer, logging, tracing);
 * - the worker: recorded from the real worker handler planning, comparing, reporting and failing a
 *   run against a local PostgreSQL, with the run the starter handed to Step Functions; Lambda's own
 *   requests with the worker's role. The wait condition is signalled through its presigned URL (a
 *   local HTTPS server here), which needs no IAM.
 */

jest.setTimeout(120_000);

jest.mock('pg/lib/client', () => {
  const Real = jest.requireActual('pg/lib/client');
  return class extends Real {
    constructor(config: Record<string, unknown>) {
      // the local cluster speaks no TLS
      super({ ...config, ssl: false });
    }
  };
});

const TABLES = `
  create schema app;
  create table app.orders (id bigint primary key, note text);
  insert into app.orders select g, 'order ' || g from generate_series(1, 5000) g;
  create table app.customers (id int primary key, name text);
  insert into app.customers select g, 'customer ' || g from generate_series(1, 300) g;
  analyze;
`;

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cloudwatch = mockClient(CloudWatchClient);
const secrets = mockClient(SecretsManagerClient);
const waitServer = new WaitConditionServer();
let cluster: PgCluster;

beforeAll(async () => {
  cluster = await startPgCluster({ walLevel: 'minimal', settings: { max_wal_senders: 0 } });
  await cluster.sql('create database app');
  await cluster.sql('create database neondb');
  await cluster.sql(TABLES, 'app');
  await cluster.sql(TABLES, 'neondb');
  await waitServer.start();
});

afterAll(async () => {
  await waitServer.stop();
  await cluster?.stop();
});

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => jest.restoreAllMocks());

interface Deployment {
  readonly d: DeployedTemplate;
  readonly iam: IamModel;
  readonly parts: DistributedParts;
}

function deployment(env?: typeof CONCRETE_ENV, options: { credentialsKey?: boolean; migrationType?: MigrationType } = {}): Deployment {
  const { stack } = distributedStack({ env, ...options });
  const d = new DeployedTemplate(Template.fromStack(stack).toJSON() as TemplateJson, env ? { account: env.account, region: env.region, stackName: 'S' } : { stackName: 'S' });
  // the wait condition handle's presigned URL: a local HTTPS server here
  d.waitConditionUrl = (id) => waitServer.url(id);
  const iam = IamModel.of(d);
  return { d, iam, parts: distributedParts(d, iam) };
}

/** What one run made: the start, the worker's requests, the plan. */
interface Recorded {
  readonly startRequests: RoleRequest[];
  readonly run: RunConfig;
  readonly plan: PlanAnswer;
  readonly workerRequests: RoleRequest[];
}

/**
 * Starts the verification as CloudFormation would (the start handler with the resource's evaluated
 * properties), then runs what Step Functions would invoke with the run it was handed: plan, compare
 * every unit to its end, report, and the failure path. Every AWS SDK call is recorded.
 */
async function recordRun({ d, iam, parts }: Deployment): Promise<Recorded> {
  for (const mock of [sfn, s3, cloudwatch, secrets]) mock.reset();
  const objects = new Map<string, string>();
  sfn.on(StartExecutionCommand).callsFake((input) => ({ executionArn: `${input.stateMachineArn}:${input.name}`, startDate: new Date() }));
  s3.on(PutObjectCommand).callsFake((input) => { objects.set(`${input.Bucket}/${input.Key}`, String(input.Body)); return {}; });
  s3.on(GetObjectCommand).callsFake((input) => ({ Body: { transformToString: async () => objects.get(`${input.Bucket}/${input.Key}`)! } }) as any);
  cloudwatch.on(PutMetricDataCommand).resolves({});
  const properties = d.properties(parts.starter);
  secrets.on(GetSecretValueCommand).callsFake((input) => ({
    SecretString: JSON.stringify({
      username: 'postgres', password: 'pw', host: '127.0.0.1', port: cluster.port, dbname: input.SecretId === properties.Run.TargetSecretArn ? 'neondb' : 'app',
    }),
  }));

  const event: ProviderRequest = {
    RequestType: 'Create', ResourceType: d.resource(parts.starter).Type, LogicalResourceId: parts.starter, StackId: d.stackId, RequestId: 'r1', ResourceProperties: properties,
  };
  await start(event);
  const [starterRole] = iam.handlerRolesOf(parts.starter);
  const startRequests = sfn.commandCalls(StartExecutionCommand)
    .map((c) => ({ role: starterRole, request: { action: 'states:StartExecution', resource: c.args[0].input.stateMachineArn!, origin: 'the starter' } }));
  const handed = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!).Run as RunConfig;
  // several units of several chunks (the template leaves UnitRows and ChunkRows to their production defaults)
  const run: RunConfig = { ...handed, UnitRows: '2000', ChunkRows: '1000', InlineMaxUnits: '0' };

  const plan = await worker({ Action: 'plan', Run: run }) as PlanAnswer;
  const units = JSON.parse(objects.get(`${run.Bucket}/${plan.ItemsKey}`)!);
  for (const unit of units) {
    let progress: any;
    do progress = await worker({ Action: 'compare', Run: run, Unit: unit, Progress: progress }); while (!progress.done);
  }
  const report = await worker({ Action: 'report', Run: run, Plan: plan }) as { Ok: boolean; Rows: number };
  expect(report).toMatchObject({ Ok: true, Rows: 5300 });
  await worker({ Action: 'fail', Run: run, Failure: { Error: 'States.Timeout', Cause: 'the execution timed out' } });

  const role = parts.workerRole;
  const workerRequests: RoleRequest[] = [
    ...secrets.commandCalls(GetSecretValueCommand).flatMap((c) => secretRequests(d, iam, role, c.args[0].input.SecretId!, 'the worker reads a secret')),
    ...s3.commandCalls(PutObjectCommand).map((c) => ({ role, request: { action: 's3:PutObject', resource: objectArn(d, c.args[0].input.Bucket!, c.args[0].input.Key!), origin: 'the worker writes' } })),
    ...s3.commandCalls(GetObjectCommand).map((c) => ({ role, request: { action: 's3:GetObject', resource: objectArn(d, c.args[0].input.Bucket!, c.args[0].input.Key!), origin: 'the worker reads' } })),
    ...cloudwatch.commandCalls(PutMetricDataCommand)
      .map((c) => ({ role, request: { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': c.args[0].input.Namespace! }, origin: 'the worker publishes metrics' } })),
  ];
  return { startRequests, run, plan, workerRequests };
}

describe.each([['environment-agnostic', undefined], ['in a concrete account and Region', CONCRETE_ENV]])('%s', (_label, env) => {
  let dep: Deployment;
  let recorded: Recorded;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    dep = deployment(env);
    recorded = await recordRun(dep);
    jest.restoreAllMocks();
  });

  test('the starter, with the shared provider\'s role, may start the verification\'s state machine and no other', async () => {
    expect(recorded.startRequests).toHaveLength(1);
    expect(recorded.startRequests[0].request.resource).toBe(dep.d.ref(dep.parts.machine));
    expect(await denials(dep.iam, recorded.startRequests)).toEqual([]);
    const other: RoleRequest = { ...recorded.startRequests[0], request: { ...recorded.startRequests[0].request, resource: `${dep.d.ref(dep.parts.machine)}Other` } };
    expect(await denials(dep.iam, [other])).toHaveLength(1);
  });

  test('Step Functions may do all the definition asks of the state machine\'s role: invoke the worker (also by version and alias), start, watch and redrive child executions, read the unit list, write the results, deliver logs and traces', async () => {
    const executionName = recorded.run.Prefix.split('/')[1];
    const requests = stateMachineRequests(dep.d, dep.parts, { executionName, itemsKey: recorded.plan.ItemsKey });
    const actions = new Set(requests.map((r) => r.request.action));
    for (const action of ['lambda:InvokeFunction', 'states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution',
      's3:GetObject', 's3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload', 'logs:CreateLogDelivery', 'xray:PutTraceSegments']) {
      expect([action, actions.has(action)]).toEqual([action, true]);
    }
    expect(await denials(dep.iam, requests)).toEqual([]);
    expect((await dep.iam.decideAssumeRole(dep.parts.machineRole, 'states.amazonaws.com', {})).allowed).toBe(true);
    // another function, another bucket: not the state machine's
    const invoke = requests.find((r) => r.request.action === 'lambda:InvokeFunction')!;
    const read = requests.find((r) => r.request.action === 's3:GetObject')!;
    expect(await denials(dep.iam, [
      { ...invoke, request: { ...invoke.request, resource: invoke.request.resource.replace(/function:[^:]+/, 'function:other') } },
      { ...read, request: { ...read.request, resource: read.request.resource.replace(/s3:::[^/]+/, 's3:::other-bucket') } },
    ])).toHaveLength(2);
  });

  test('every request the worker makes while it plans, compares, reports and fails is allowed by its role; the wait condition is signalled through its presigned URL, without IAM', async () => {
    const actions = recorded.workerRequests.map((r) => r.request.action);
    expect(actions.filter((a) => a === 'secretsmanager:GetSecretValue').length).toBeGreaterThanOrEqual(2);
    expect(actions).toEqual(expect.arrayContaining(['s3:PutObject', 's3:GetObject', 'cloudwatch:PutMetricData']));
    expect(recorded.plan.UnitCount).toBeGreaterThanOrEqual(2);
    expect(await denials(dep.iam, recorded.workerRequests)).toEqual([]);
    // the wait condition heard the report and the failure, over HTTPS; no AWS API was called for them
    const handle = dep.d.logicalIds('AWS::CloudFormation::WaitConditionHandle')[0];
    expect(waitServer.signals.get(handle)!.map((s) => s.Status)).toEqual(expect.arrayContaining(['SUCCESS', 'FAILURE']));
    expect([s3, cloudwatch, secrets, sfn].every((m) => m.calls().every((c) => /^(PutObject|GetObject|PutMetricData|GetSecretValue|StartExecution)Command$/.test(c.args[0].constructor.name)))).toBe(true);
  });

  test('the worker may not publish metrics in another namespace, write outside the run\'s objects, read another secret, or reach the bucket without TLS', async () => {
    const put = recorded.workerRequests.find((r) => r.request.action === 's3:PutObject')!;
    const metric = recorded.workerRequests.find((r) => r.request.action === 'cloudwatch:PutMetricData')!;
    const secret = recorded.workerRequests.find((r) => r.request.action === 'secretsmanager:GetSecretValue')!;
    const variations: AuthorizedRequest[] = [
      { ...metric.request, context: { 'cloudwatch:namespace': 'AWS/Lambda' } },
      { ...put.request, resource: objectArn(dep.d, recorded.run.Bucket, 'other/object.json') },
      { ...secret.request, resource: secret.request.resource.replace(/secret:.*/, 'secret:another-AbCdEf') },
      { ...put.request, context: { 'aws:SecureTransport': 'false' } },
    ];
    expect(await denials(dep.iam, variations.map((request) => ({ role: dep.parts.workerRole, request })))).toHaveLength(variations.length);
  });

  test('Lambda may write the worker\'s log and attach it to the VPC; only Lambda may assume the worker\'s role', async () => {
    expect(await denials(dep.iam, workerServiceRequests(dep.d, dep.parts))).toEqual([]);
    expect((await dep.iam.decideAssumeRole(dep.parts.workerRole, 'lambda.amazonaws.com', {})).allowed).toBe(true);
    expect((await dep.iam.decideAssumeRole(dep.parts.workerRole, 'states.amazonaws.com', {})).allowed).toBe(false);
  });

  test('the construct\'s own policy lets the Distributed Map run whatever aws-cdk-lib grants; 2.129.0\'s grant on the state machine ARN would not', async () => {
    const executionName = recorded.run.Prefix.split('/')[1];
    const children = stateMachineRequests(dep.d, dep.parts, { executionName, itemsKey: recorded.plan.ItemsKey })
      .filter((r) => r.request.action.startsWith('states:'));
    expect(children.map((r) => r.request.action).sort()).toEqual(['states:DescribeExecution', 'states:RedriveExecution', 'states:StartExecution', 'states:StopExecution']);
    // aws-cdk-lib's DistributedMapPolicy removed: the construct's MapRunPermissions policy alone
    const own = IamModel.of(dep.d);
    const all = own.identityPolicies.bind(own);
    own.identityPolicies = (role: string) => all(role).filter((p) => !/DistributedMapPolicy/.test(p.name));
    expect(all(dep.parts.machineRole).some((p) => /MapRunPermissions/.test(p.name))).toBe(true);
    expect(await denials(own, children)).toEqual([]);
    // what aws-cdk-lib 2.129.0 grants instead (DescribeExecution and StopExecution on `<state machine ARN>:*`) names no execution
    const legacy = IamModel.of(dep.d);
    legacy.identityPolicies = () => [{
      name: 'aws-cdk-lib 2.129.0 DistributedMapPolicy',
      policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['states:DescribeExecution', 'states:StopExecution'], Resource: `${dep.d.ref(dep.parts.machine)}:*` }] },
    }];
    expect(await denials(legacy, children.filter((r) => /Describe|Stop/.test(r.request.action)))).toHaveLength(2);
  });
});

test('a customer managed key on Neon\'s credentials: the worker may decrypt them through Secrets Manager, not directly', async () => {
  const dep = deployment(CONCRETE_ENV, { credentialsKey: true });
  const recorded = await recordRun(dep);
  const decrypt = recorded.workerRequests.find((r) => r.request.action === 'kms:Decrypt');
  expect(decrypt).toBeDefined();
  expect(await denials(dep.iam, recorded.workerRequests)).toEqual([]);
  const direct = { ...decrypt!, request: { ...decrypt!.request, context: { ...decrypt!.request.context, 'kms:ViaService': `ec2.${dep.d.env.region}.amazonaws.com` } } };
  expect(await denials(dep.iam, [direct])).toHaveLength(1);
});

test('a verification during CDC may read the task\'s latency metrics (GetMetricData); one after a full load may not', async () => {
  const decide = async (migrationType: MigrationType) => {
    const dep = deployment(CONCRETE_ENV, { migrationType });
    return (await dep.iam.decide(dep.parts.workerRole, { action: 'cloudwatch:GetMetricData', resource: '*', origin: 'the worker re-checks under CDC' })).allowed;
  };
  expect(await decide(MigrationType.FULL_LOAD_AND_CDC)).toBe(true);
  expect(await decide(MigrationType.FULL_LOAD)).toBe(false);
});
