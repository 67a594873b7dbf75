import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { acceptTlsReplication } from './slot-fixture';
import { SOURCE_DATABASE_ACKNOWLEDGEMENTS, sourceSafetyStack } from './source-safety-stack';
import { handler as slotFunction } from '../../lib/live/replication-slots.lambda';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { DeploymentDriver } from '../helpers/deploy-driver';
import { TemplateJson } from '../helpers/deployed';
import { AuthorizedRequest, IamModel } from '../helpers/iam-simulation';
import { expectNagClean } from '../helpers/nag';
import { selfSignedCertificate } from '../helpers/tls';

/*
 * The cleanup deployed through its real handlers (test/helpers/deploy-driver.ts): the shared
 * provider's handler calls the relay, the relay runs the slot function — for real, against a local
 * TLS-only PostgreSQL reached through the source secret — and every AWS request each of them makes
 * (Step Functions, DMS, CloudFormation, Secrets Manager, and KMS through Secrets Manager for a secret
 * under a customer managed key) is decided by the IAM simulation against the synthesized policies
 * of the role that made it.
 */

let cluster: PgCluster;

beforeAll(async () => {
  cluster = await startPgCluster({ tls: selfSignedCertificate() });
  await acceptTlsReplication(cluster);
  await cluster.sql('CREATE DATABASE app');
}, 60_000);

afterAll(async () => cluster?.stop());

async function deploy(env?: { account: string; region: string }): Promise<DeploymentDriver> {
  const { stack } = sourceSafetyStack({ secretKey: true }, new App(), env);
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  const driver = new DeploymentDriver(template, {
    env: { stackName: stack.stackName, ...(env ?? {}) },
    prepare: (fake, deployed) => {
      for (const id of deployed.logicalIds('AWS::SecretsManager::SecretTargetAttachment')) {
        fake.secrets.find(s => s.arn === deployed.ref(id))!.value = JSON.stringify({ engine: 'postgres', username: 'postgres', password: 'pw', host: '127.0.0.1', port: cluster.port });
      }
    },
  });
  const slotFn = driver.deployed.logicalIds('AWS::Lambda::Function').find(id => id.startsWith('NeonDmsReplicationSlotsHandler'))!;
  driver.fake.syncExecution = async (_arn, input) => {
    const caller = driver.fake.role;
    driver.fake.role = driver.iam.roleOfFunction(slotFn);
    try {
      // the simulated clock stands still: the function looks once instead of waiting for the slot
      return JSON.stringify(await slotFunction({ ...JSON.parse(input), WaitSeconds: 0 }));
    } finally {
      driver.fake.role = caller;
    }
  };
  await driver.create();
  await driver.delete();
  return driver;
}

async function denied(iam: IamModel, requests: { role: string; request: AuthorizedRequest }[]): Promise<string[]> {
  const result: string[] = [];
  for (const { role, request } of requests) {
    const d = await iam.decide(role, request);
    if (!d.allowed) result.push(`${role}: ${request.action} on ${request.resource} (${d.result}) by ${request.origin}`);
  }
  return result;
}

describe.each([['environment-agnostic', undefined], ['in a concrete account and Region', { account: '123456789012', region: 'eu-west-1' }]])('%s', (_name, env) => {
  let driver: DeploymentDriver;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    driver = await deploy(env);
    jest.restoreAllMocks();
  }, 120_000);

  test('the cleanup deploys and deletes through its handler and the slot function', () => {
    const cleanup = [...driver.results.entries()].find(([id]) => /SlotCleanup/.test(id));
    expect(cleanup).toBeDefined();
    expect(cleanup![1].physicalId).toMatch(/^arn:aws:dms:.*:task:.*\|slot=$/);
    expect(driver.fake.calls.filter(c => c.command === 'StartSyncExecution').length).toBeGreaterThanOrEqual(1);
  });

  test('every request of the shared handler and of the slot function is allowed by its role', async () => {
    const requests = driver.fake.calls
      .filter(c => c.origin.includes('NeonReplicationSlotCleanup'))
      .flatMap(c => c.requests.map(request => ({ role: c.role, request })));
    const actions = new Set(requests.map(r => r.request.action));
    for (const action of ['states:StartSyncExecution', 'dms:DescribeReplicationTasks', 'secretsmanager:GetSecretValue', 'kms:Decrypt', 'cloudformation:DescribeStacks']) {
      expect([action, actions.has(action)]).toEqual([action, true]);
    }
    // the secret is read by the slot function's role, not by the shared handlers
    const secretReaders = new Set(requests.filter(r => r.request.action === 'secretsmanager:GetSecretValue').map(r => r.role));
    expect([...secretReaders]).toEqual([expect.stringMatching(/^NeonDmsReplicationSlotsRole/)]);
    expect(await denied(driver.iam, requests)).toEqual([]);
  });

  test('the relay may invoke the slot function, and Lambda may attach it to the VPC', async () => {
    const d = driver.deployed;
    const relay = d.logicalIds('AWS::StepFunctions::StateMachine').find(id => id.startsWith('NeonDmsReplicationSlotsRelay'))!;
    const slotFn = d.logicalIds('AWS::Lambda::Function').find(id => id.startsWith('NeonDmsReplicationSlotsHandler'))!;
    const requests = [
      { role: driver.iam.roleWithArn(d.property(relay, 'RoleArn')), request: { action: 'lambda:InvokeFunction', resource: d.getAtt(slotFn, 'Arn'), origin: 'the relay' } },
      ...['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface'].map(action => ({
        role: driver.iam.roleOfFunction(slotFn), request: { action, resource: '*', origin: 'Lambda attaches the slot function to the VPC' },
      })),
    ];
    expect(await denied(driver.iam, requests)).toEqual([]);
  });

  test('a policy without the relay permission is caught', async () => {
    const request = driver.fake.calls.find(c => c.command === 'StartSyncExecution')!;
    const otherRelay = request.requests[0].resource.replace(/stateMachine:.*$/, 'stateMachine:another-stack-relay');
    expect(await denied(driver.iam, [{ role: request.role, request: { ...request.requests[0], resource: otherRelay } }])).toHaveLength(1);
  });
});

test('nag clean with the secret under a customer managed key', () => {
  expectNagClean((a, env) => sourceSafetyStack({ secretKey: true }, a, env).stack, SOURCE_DATABASE_ACKNOWLEDGEMENTS);
});
