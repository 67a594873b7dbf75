import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DatabaseMigrationServiceClient, DescribeReplicationInstancesCommand, DescribeReplicationTasksCommand } from '@aws-sdk/client-database-migration-service';
import { App, CfnResource, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { mockClient } from 'aws-sdk-client-mock';
import { MigrationVerification } from '../../lib/checks';
import { dmsTaskLatency } from '../../lib/cutover/dms-latency';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationCompute } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { AuthorizedRequest, IamModel } from '../helpers/iam-simulation';
import { expectNagClean } from '../helpers/nag';

/*
 * The requests the cutover command makes — recorded from the real latency reader against mocked
 * clients — evaluated against the policy `grantCutover` gives a role, with AWS's service
 * authorization data (test/helpers/iam-simulation.ts).
 */

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const dms = mockClient(DatabaseMigrationServiceClient);
const cloudwatch = mockClient(CloudWatchClient);

function build(app = new App(), env?: { account: string; region: string }, grant = true) {
  const stack = new Stack(app, 'Cutover', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const source = PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1');
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const migration = new DmsMigrationTask(stack, 'Migration', { source, target, network, schemaName: 'app', migrationType: MigrationType.FULL_LOAD_AND_CDC });
  const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  if (grant) migration.grantCutover(operator);
  return { stack, migration, operator };
}

/** The requests one latency reading makes, as IAM sees them. */
async function recordedRequests(taskArn: string): Promise<AuthorizedRequest[]> {
  dms.reset();
  cloudwatch.reset();
  dms.on(DescribeReplicationTasksCommand).resolves({
    ReplicationTasks: [{ ReplicationTaskArn: taskArn, Status: 'running', MigrationType: 'full-load-and-cdc', ReplicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:INSTANCE1' }],
  });
  dms.on(DescribeReplicationInstancesCommand).resolves({ ReplicationInstances: [{ ReplicationInstanceIdentifier: 'instance' }] });
  cloudwatch.on(GetMetricDataCommand).resolves({
    MetricDataResults: [{ Id: 'm0', Timestamps: [new Date()], Values: [0] }, { Id: 'm1', Timestamps: [new Date()], Values: [0] }],
  });
  const reading = await dmsTaskLatency({ taskArn })();
  expect(reading.latencyMs).toBe(0);
  // none of the three actions has a resource type: IAM sees each on "*"
  const action = (service: string, command: object) => `${service}:${command.constructor.name.replace(/Command$/, '')}`;
  return [
    ...dms.calls().map((c) => ({ action: action('dms', c.args[0]), resource: '*', origin: 'the latency reader' })),
    ...cloudwatch.calls().map((c) => ({ action: action('cloudwatch', c.args[0]), resource: '*', origin: 'the latency reader' })),
  ];
}

test('every request of the cutover command is allowed by grantCutover, and denied without it', async () => {
  const taskArn = 'arn:aws:dms:us-east-1:123456789012:task:TASK1';
  const requests = await recordedRequests(taskArn);
  expect(requests.map((r) => r.action)).toEqual(['dms:DescribeReplicationTasks', 'dms:DescribeReplicationInstances', 'cloudwatch:GetMetricData']);

  const granted = build(new App(), { account: '123456789012', region: 'us-east-1' });
  const model = IamModel.of(new DeployedTemplate(Template.fromStack(granted.stack).toJSON() as TemplateJson, { account: '123456789012', region: 'us-east-1' }));
  const role = granted.stack.getLogicalId(granted.operator.node.defaultChild as iam.CfnRole);
  for (const request of requests) {
    const decision = await model.decide(role, request);
    expect([request.action, decision.allowed, decision.result]).toEqual([request.action, true, 'Allowed']);
  }

  const bare = build(new App(), { account: '123456789012', region: 'us-east-1' }, false);
  const bareModel = IamModel.of(new DeployedTemplate(Template.fromStack(bare.stack).toJSON() as TemplateJson, { account: '123456789012', region: 'us-east-1' }));
  for (const request of requests) {
    expect((await bareModel.decide(bare.stack.getLogicalId(bare.operator.node.defaultChild as iam.CfnRole), request)).allowed).toBe(false);
  }
});

test('a verification during CDC may read its task latency (GetMetricData); one after a full load may not', async () => {
  const env = { account: '123456789012', region: 'us-east-1' };
  const decision = async (migrationType: MigrationType) => {
    const stack = new Stack(new App(), 'Verify', { env });
    const network = new NatEgressForReplication(stack, 'Network');
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    const task = new DmsMigrationTask(stack, 'Migration', {
      source: PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1'),
      target,
      network,
      schemaName: 'app',
      migrationType,
      waitForCompletion: true,
    });
    const verification = MigrationVerification.forTask(stack, 'Verification', {
      task,
      network,
      sourceSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf'),
      sourceDatabaseName: 'app',
      targetSecret: target.clientCredentialsSecret,
    });
    const model = IamModel.of(new DeployedTemplate(Template.fromStack(stack).toJSON() as TemplateJson, env));
    const [role] = model.handlerRolesOf(stack.getLogicalId(verification.resource.node.defaultChild as CfnResource));
    return model.decide(role, { action: 'cloudwatch:GetMetricData', resource: '*', origin: 'the verification handler' });
  };
  expect((await decision(MigrationType.FULL_LOAD_AND_CDC)).allowed).toBe(true);
  expect((await decision(MigrationType.FULL_LOAD)).allowed).toBe(false);
});

test('grantCutover: the three read actions, nothing else; refused on DMS Serverless', () => {
  const { stack, operator } = build();
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement
    .map((s: any) => ({ ...s, roles: p.Properties.Roles })))
    .filter((s: any) => JSON.stringify(s.roles).includes(stack.getLogicalId(operator.node.defaultChild as iam.CfnRole)));
  expect(statements).toEqual([expect.objectContaining({
    Effect: 'Allow',
    Action: ['dms:DescribeReplicationTasks', 'dms:DescribeReplicationInstances', 'cloudwatch:GetMetricData'],
    Resource: '*',
  })]);
  const serverless = new Stack(new App(), 'Serverless');
  const task = new DmsMigrationTask(serverless, 'Migration', {
    source: PostgresSourceEndpoint.fromEndpointArn(serverless, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1'),
    target: new NeonTargetEndpoint(serverless, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') }),
    network: new NatEgressForReplication(serverless, 'Network'),
    schemaName: 'app',
    migrationType: MigrationType.FULL_LOAD_AND_CDC,
    compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }),
  });
  expect(() => task.grantCutover(new iam.Role(serverless, 'Operator', { assumedBy: new iam.AccountRootPrincipal() })))
    .toThrow('DmsMigrationTask.grantCutover: Serverless/Migration runs on DMS Serverless');
});

test('cdk-nag clean with an operator role granted the cutover; the operator role is the caller\'s to acknowledge', () => {
  expectNagClean((app, env) => build(app, env as { account: string; region: string }).stack, [
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      pathPattern: '^Cutover/Operator/DefaultPolicy/Resource$',
      reason: 'dms:DescribeReplicationTasks, dms:DescribeReplicationInstances and cloudwatch:GetMetricData have no resource-level permissions',
    },
    {
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      pathPattern: '^Cutover/Operator/DefaultPolicy/Resource$',
      reason: 'the test operator role receives the grant as CDK grants do, in its default policy; a deployment attaches it where its own rules say',
    },
  ]);
  // the library itself adds nothing nag would flag: without the grant the stack is clean with no acknowledgement
  expectNagClean((app, env) => build(app, env as { account: string; region: string }, false).stack);
});
