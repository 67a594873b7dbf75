import { App, Environment, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationCompute } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task';
import { DeploymentDriver } from '../helpers/deploy-driver';
import { TemplateJson } from '../helpers/deployed';
import { expectNagClean } from '../helpers/nag';
import { fakeNeonApiPerTest } from '../live/neon-fake-api';

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const PROJECT = 'crimson-sun-12345678';

function build(overrides: (stack: Stack) => Partial<DmsMigrationTaskProps> = () => ({}), app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const source = PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1');
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const migration = new DmsMigrationTask(stack, 'Migration', {
    source, target, network, schemaName: 'app', migrationType: MigrationType.FULL_LOAD_AND_CDC, ...overrides(stack),
  });
  return { stack, migration };
}

const both = (apiBaseUrl?: string) => (stack: Stack): Partial<DmsMigrationTaskProps> => ({
  neonCompute: { projectId: PROJECT, apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key'), apiBaseUrl },
  premigrationAssessment: { acknowledgedAssessments: ['postgres-check-dbowner'] },
});

test('the task starts after the compute was set and the assessment passed', () => {
  const { stack, migration } = build(both());
  const resources = Template.fromStack(stack).toJSON().Resources;
  const id = (c: any) => stack.getLogicalId(c.node.defaultChild);
  expect(resources[id(migration.lifecycle.resource)].DependsOn).toEqual(expect.arrayContaining([
    id(migration.neonCompute!.resource), id(migration.premigrationAssessment!.resource),
  ]));
});

test('a CDC migration into Neon without neonCompute warns; the options are refused where they cannot work', () => {
  const { stack } = build();
  expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('suspends after 5 idle minutes'))).toHaveLength(1);
  expect(() => build(() => ({ compute: ReplicationCompute.serverless({ maxCapacityUnits: 4 }), premigrationAssessment: {} })))
    .toThrow(/premigrationAssessment runs StartReplicationTaskAssessmentRun on a replication task/);
  expect(() => build((s) => ({
    target: NeonTargetEndpoint.fromEndpointArn(s, 'Imported', 'arn:aws:dms:us-east-1:123456789012:endpoint:NEON1'),
    neonCompute: { projectId: PROJECT, apiKeySecret: secretsmanager.Secret.fromSecretNameV2(s, 'ApiKey', 'neon/api-key') },
  }))).toThrow(/neonCompute keeps the compute of a NeonTargetEndpoint active/);
});

test('cdk-nag clean with both', () => {
  expectNagClean((app, env) => build(both(), app, env).stack);
});

describe('deployed through the handlers', () => {
  const neon = fakeNeonApiPerTest();

  test('the compute never suspends while the stack holds the migration, the assessment runs before the start, every request is allowed', async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    neon.api.projects.set(PROJECT, { plan: 'scale', endpoints: { 'ep-cool-darkness-123456': { branch_id: 'br-1', suspend_timeout_seconds: 300 } }, branches: {} });
    const { stack } = build((s) => ({ ...both(neon.api.baseUrl)(s), testConnections: false }));
    const template = Template.fromStack(stack).toJSON() as TemplateJson;
    // Fn::GetAtt <bucket>.Arn as S3 answers it (arn:<partition>:s3:::<name>): the template model does not model it
    const buckets = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket').map(([k]) => k);
    const deployable = JSON.parse(JSON.stringify(template), (_k, v) => (v && Array.isArray(v['Fn::GetAtt']) && buckets.includes(v['Fn::GetAtt'][0])
      && v['Fn::GetAtt'][1] === 'Arn' ? { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: v['Fn::GetAtt'][0] }]] } : v));
    const driver = new DeploymentDriver(deployable, { env: { stackName: 'S' }, prepare: (fake) => fake.addSecret('neon/api-key', 'napi_wiring') });
    await driver.create();
    expect(neon.api.projects.get(PROJECT)!.endpoints['ep-cool-darkness-123456'].suspend_timeout_seconds).toBe(-1);
    const calls = driver.fake.calls.map((c) => c.command);
    expect(calls.indexOf('StartReplicationTask')).toBeGreaterThan(calls.indexOf('StartReplicationTaskAssessmentRun'));
    const denied: string[] = [];
    for (const call of driver.fake.calls) {
      for (const request of call.requests) {
        if (!(await driver.iam.decide(call.role, request)).allowed) denied.push(`${request.action} on ${request.resource} by ${call.origin}`);
      }
    }
    expect(denied).toEqual([]);
    await driver.delete();
    expect(neon.api.projects.get(PROJECT)!.endpoints['ep-cool-darkness-123456'].suspend_timeout_seconds).toBe(300);
  });
});
