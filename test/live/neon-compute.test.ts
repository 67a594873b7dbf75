import { App, ArnFormat, Duration, Environment, SecretValue, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FakeNeonApi, fakeNeonApiPerTest } from './neon-fake-api';
import { NeonComputeKeepAlive, NeonComputeKeepAliveProps } from '../../lib/live/neon-compute';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import { ReplicationInstance } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType } from '../../lib/task';
import { DeploymentDriver } from '../helpers/deploy-driver';
import { TemplateJson } from '../helpers/deployed';
import { IamModel } from '../helpers/iam-simulation';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const NEON_URI = 'postgresql://app@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const PROJECT = 'crimson-sun-12345678';
const API_KEY_NAME = 'neon/api-key';

interface Built {
  readonly stack: Stack;
  readonly neon: NeonTargetEndpoint;
  readonly keepAlive: NeonComputeKeepAlive;
  readonly migration?: DmsMigrationTask;
}

/** A Neon target endpoint and the compute kept active for it; with `migration`, a task whose start waits for it. */
function build(app = new App(), env?: Environment, overrides: Partial<NeonComputeKeepAliveProps> = {},
  options: { migration?: boolean; key?: boolean } = {}): Built {
  const stack = new Stack(app, 'S', { env });
  const neon = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const encryptionKey = options.key ? new kms.Key(stack, 'ApiKeyKey', { enableKeyRotation: true }) : undefined;
  const apiKeySecret = encryptionKey
    ? secretsmanager.Secret.fromSecretAttributes(stack, 'ApiKey', {
      secretPartialArn: stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: API_KEY_NAME, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      encryptionKey,
    })
    : secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', API_KEY_NAME);
  const keepAlive = new NeonComputeKeepAlive(stack, 'KeepNeonActive', { projectId: PROJECT, neonEndpointId: neon.neonEndpointId, apiKeySecret, ...overrides });
  let migration: DmsMigrationTask | undefined;
  if (options.migration) {
    migration = new DmsMigrationTask(stack, 'Migration', {
      source: PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE1'),
      target: neon,
      replicationInstance: ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
        replicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:INSTANCE1', replicationInstanceIdentifier: 'dms-instance',
      }),
      schemaName: 'app',
      migrationType: MigrationType.FULL_LOAD_AND_CDC,
      testConnections: false,
    });
    migration.lifecycle.addStartDependency(keepAlive.resource);
  }
  return { stack, neon, keepAlive, migration };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as any);
}

describe('NeonComputeKeepAlive', () => {
  test('a custom resource of the shared provider naming the project, the target\'s compute and the API key secret, never the key', () => {
    const { stack, keepAlive } = build();
    const props = Template.fromStack(stack).toJSON().Resources[logicalId(stack, keepAlive.resource)];
    expect(props.Type).toBe('Custom::NeonComputeKeepAlive');
    expect(props.Properties).toEqual({
      ServiceToken: expect.anything(),
      ProjectId: PROJECT,
      EndpointId: 'ep-cool-darkness-123456',
      // a secret known by name: its complete ARN is looked up at deploy time
      ApiKeySecretArn: { 'Fn::GetAtt': [expect.stringMatching(/^NeonDmsSecretArns/), expect.any(String)] },
      ApiBaseUrl: 'https://console.neon.tech/api/v2',
      SuspendTimeoutSeconds: '-1',
    });
  });

  test('a suspendTimeout is written in seconds; the compute of a connection-string secret is known at deploy time', () => {
    const app = new App();
    const stack = new Stack(app, 'S');
    const neon = new NeonTargetEndpoint(stack, 'Neon', { connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Url', 'neon/url') });
    const keepAlive = new NeonComputeKeepAlive(stack, 'Keep', {
      projectId: PROJECT,
      neonEndpointId: neon.neonEndpointId,
      apiKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', API_KEY_NAME),
      suspendTimeout: Duration.hours(1),
    });
    const props = Template.fromStack(stack).toJSON().Resources[logicalId(stack, keepAlive.resource)].Properties;
    expect(props.SuspendTimeoutSeconds).toBe('3600');
    expect(props.EndpointId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^NeonParsedCredentials/), 'EndpointId'] });
  });

  test('the setting written, the one restored and the branch\'s storage are attributes (the preflight reads the storage from them)', () => {
    const { stack, keepAlive } = build();
    const id = logicalId(stack, keepAlive.resource);
    expect(stack.resolve([keepAlive.suspendTimeoutSeconds, keepAlive.restoreSuspendTimeoutSeconds, keepAlive.branchId,
      keepAlive.branchLogicalSizeBytes, keepAlive.branchLogicalSizeLimitBytes, keepAlive.branchLogicalSizeLimitSource])).toEqual(
      ['SuspendTimeoutSeconds', 'RestoreSuspendTimeoutSeconds', 'BranchId', 'BranchLogicalSizeBytes', 'BranchLogicalSizeLimitBytes', 'BranchLogicalSizeLimitSource']
        .map((attribute) => ({ 'Fn::GetAtt': [id, attribute] })));
  });

  test('the shared provider may read the API key secret (and decrypt it with its key), nothing more of it', () => {
    const { stack } = build(undefined, undefined, {}, { key: true });
    const statements = Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: expect.objectContaining({ 'Fn::Join': expect.anything() }) }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^ApiKeyKey/), 'Arn'] } }));
  });

  test('the task starts only after the compute was set, and the compute is restored only after the task was stopped (reverse order on delete)', () => {
    const { stack, keepAlive, migration } = build(undefined, undefined, {}, { migration: true });
    const resources = Template.fromStack(stack).toJSON().Resources;
    expect(resources[logicalId(stack, migration!.lifecycle.resource)].DependsOn).toContain(logicalId(stack, keepAlive.resource));
  });

  test('without an API key, a CDC migration gets a warning naming the manual step, which the user acknowledges once done', () => {
    const stack = new Stack(new App(), 'S');
    const neon = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    NeonComputeKeepAlive.addManualStepWarning(neon, neon.neonEndpointId);
    const warnings = Annotations.fromStack(stack).findWarning('/S/Neon', Match.stringLikeRegexp('the Neon compute ep-cool-darkness-123456 suspends after 5 idle minutes'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toMatch(/turn scale to zero off yourself before the task starts \(Neon console: Branches, the branch, Computes, Edit\)/);
    expect(JSON.stringify(warnings[0].entry.data)).toContain(`[ack: ${NeonComputeKeepAlive.MANUAL_STEP_WARNING}]`);
  });

  test.each<[string, Partial<NeonComputeKeepAliveProps>, RegExp]>([
    ['a project id with a space', { projectId: 'crimson sun' }, /projectId 'crimson sun' is not a Neon project id \(e\.g\. crimson-sun-12345678\)/],
    ['the pooled host\'s label', { neonEndpointId: 'ep-cool-darkness-123456-pooler' }, /neonEndpointId 'ep-cool-darkness-123456-pooler' is not a Neon compute endpoint id .* without -pooler/],
    ['plain HTTP', { apiBaseUrl: 'http://console.neon.tech/api/v2' }, /apiBaseUrl 'http:\/\/console\.neon\.tech\/api\/v2' must be an https:\/\/ URL/],
    ['a timeout under a minute', { suspendTimeout: Duration.seconds(30) }, /suspendTimeout is 30 seconds; use 1 minute to 7 days/],
    ['a timeout over a week', { suspendTimeout: Duration.days(8) }, /suspendTimeout is 8 days; use 1 minute to 7 days/],
  ])('refused at synth: %s', (_name, overrides, message) => {
    expect(() => build(undefined, undefined, overrides)).toThrow(message);
  });

  test('tokens are left to deploy time', () => {
    expect(() => build(undefined, undefined, { projectId: Token.asString({ Ref: 'Project' }), apiBaseUrl: Token.asString({ Ref: 'Url' }) })).not.toThrow();
  });

  test('valid CloudFormation, cdk-nag clean', () => {
    expectValidCloudFormation(build(undefined, undefined, {}, { migration: true, key: true }).stack);
    expectNagClean((app, env) => build(app, env, {}, { migration: true, key: true }).stack);
  });
});

describe('deployed through its handler against a stand-in Neon API', () => {
  const neonApi = fakeNeonApiPerTest();
  let api: FakeNeonApi;

  beforeEach(() => {
    api = neonApi.api;
    api.projects.set(PROJECT, { plan: 'scale', endpoints: { 'ep-cool-darkness-123456': { branch_id: 'br-main-1', suspend_timeout_seconds: 300 } }, branches: {} });
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  test.each([['a plain secret', false], ['a secret under a customer managed key', true]])(
    '%s: the compute never suspends during the deployment\'s life, is restored on delete, and every AWS request is allowed', async (_name, key) => {
      const { stack } = build(new App(), undefined, { apiBaseUrl: api.baseUrl }, { migration: true, key });
      const driver = new DeploymentDriver(Template.fromStack(stack).toJSON() as TemplateJson, {
        env: { stackName: 'S' },
        prepare: (fake, deployed) => fake.addSecret(API_KEY_NAME, 'napi_deploycanary1234',
          key ? keyArnOf(deployed) : undefined),
      });
      await driver.create();
      expect(api.projects.get(PROJECT)!.endpoints['ep-cool-darkness-123456'].suspend_timeout_seconds).toBe(-1);
      const calls = driver.fake.calls.map((c) => c.command);
      expect(calls.indexOf('StartReplicationTask')).toBeGreaterThan(-1);
      await driver.delete();
      expect(api.projects.get(PROJECT)!.endpoints['ep-cool-darkness-123456'].suspend_timeout_seconds).toBe(300);

      const requests = driver.fake.calls.filter((c) => c.origin.includes('Custom::NeonComputeKeepAlive'))
        .flatMap((c) => c.requests.map((request) => ({ role: c.role, request })));
      expect(requests.map((r) => r.request.action)).toEqual(expect.arrayContaining(key ? ['secretsmanager:GetSecretValue', 'kms:Decrypt'] : ['secretsmanager:GetSecretValue']));
      const denied = [];
      for (const { role, request } of requests) {
        const decision = await driver.iam.decide(role, request);
        if (!decision.allowed) denied.push(`${request.action} on ${request.resource}: ${decision.result}`);
      }
      expect(denied).toEqual([]);
      // what allows the read is the construct's statement: without it, the same request is denied
      const read = requests.find((r) => r.request.action === 'secretsmanager:GetSecretValue')!;
      const stripped = IamModel.of(driver.deployed);
      const original = stripped.identityPolicies.bind(stripped);
      stripped.identityPolicies = (role: string) => original(role).map((p) => ({
        ...p, policy: { ...p.policy, Statement: p.policy.Statement.filter((st: any) => ![st.Action].flat().includes('secretsmanager:GetSecretValue')) },
      }));
      expect((await stripped.decide(read.role, read.request)).allowed).toBe(false);
      // the key went to the Neon API only
      expect(api.received.every((r) => r.authorization === 'Bearer napi_deploycanary1234')).toBe(true);
    });
});

/** The ARN of the API key secret's customer managed key as deployed. */
function keyArnOf(deployed: { logicalIds(type: string): string[]; getAtt(id: string, attribute: string): any }): string {
  return deployed.getAtt(deployed.logicalIds('AWS::KMS::Key')[0], 'Arn');
}
