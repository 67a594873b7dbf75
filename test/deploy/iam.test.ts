import { App, Environment, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CONCRETE_ENV, existingVpcVariant, exampleVariant, IMPORTED_SECRETS, serverlessVariant, VariantBuilder } from './variants';
import { handler as sourceLoader } from '../../lib/example/source-loader.lambda';
import { FidelityEvent, handler as fidelity } from '../../lib/fidelity/fidelity.lambda';
import { NeonTargetEndpoint } from '../../lib/neon/target-endpoint';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { DeploymentDriver } from '../helpers/deploy-driver';
import { TemplateJson } from '../helpers/deployed';
import { AuthorizedRequest, Decision, IamModel } from '../helpers/iam-simulation';
import { resolveSecretId } from '../helpers/secrets-manager-model';
import { WaitConditionServer } from '../helpers/wait-condition-server';

/*
 * Every AWS request the deployment makes, allowed by the policies the template gives the caller —
 * evaluated with AWS's service authorization data (IAM simulation, test/helpers/iam-simulation.ts):
 *
 * - the handlers' own requests: each custom resource of the template runs through its real handler
 *   (create, the load waiter's polls, delete) against a recording fake account whose resources
 *   carry the template's tags, with the properties CloudFormation would send; every call is checked
 *   against the role of the function that made it — action, resource ARN, resource tags, and the KMS
 *   requests Secrets Manager makes on the caller's behalf;
 * - the Lambda service's requests with the functions' roles (log streams, network interfaces in a VPC);
 * - DMS's requests with the endpoint access roles: assuming the role (trust policy, confused-deputy
 *   conditions) and reading the secret its endpoint names, found by Secrets Manager's own rules;
 * - Step Functions invoking the load waiter's function.
 *
 * The fidelity checks and the example's loader talk to a real local PostgreSQL (without TLS: the
 * local cluster has none).
 */

const mockSslOff = jest.fn();
jest.mock('pg/lib/client', () => {
  const Real = jest.requireActual('pg/lib/client');
  return class extends Real {
    constructor(config: Record<string, unknown>) {
      mockSslOff();
      super({ ...config, ssl: false });
    }
  };
});

const NEON_URL = 'postgresql://neondb_owner:npg_AbCd1234EfGh@ep-cool-name-123456.us-east-2.aws.neon.tech/neondb?sslmode=require';
const TABLES = `
  create schema app;
  create table app.customers (id int primary key, name text, profile jsonb);
  insert into app.customers select g, 'customer ' || g, jsonb_build_object('g', g) from generate_series(1, 40) g;
  create table app.orders (id bigint primary key, customer int, amount numeric(10,2));
  insert into app.orders select g, g % 40 + 1, g / 4.0 from generate_series(1, 120) g;
`;

let cluster: PgCluster;
const waitConditions = new WaitConditionServer();

beforeAll(async () => {
  cluster = await startPgCluster();
  await cluster.sql('create database app');
  await cluster.sql('create database neondb');
  await cluster.sql('create database dms_sample');
  await cluster.sql(TABLES, 'app');
  await cluster.sql(TABLES, 'neondb');
  await waitConditions.start();
}, 60_000);

afterAll(async () => {
  await waitConditions.stop();
  await cluster?.stop();
});

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => jest.restoreAllMocks());

function localDatabase(dbname: string, password = 'local-trust-auth'): string {
  return JSON.stringify({ engine: 'postgres', username: 'postgres', password, host: '127.0.0.1', port: cluster.port, dbname });
}

/** Deploys a variant through its handlers (create, then delete) and returns the driver with everything recorded. */
async function deploy(build: VariantBuilder, env?: Environment): Promise<DeploymentDriver> {
  // a small sample data set for the example's loader
  const app = new App({ context: { people: '30', events: '5', tickets: '60' } });
  const { stack } = build(app, env);
  const template = Template.fromStack(stack).toJSON() as TemplateJson;
  const driver = new DeploymentDriver(template, {
    env: { stackName: stack.stackName, ...(env ? { account: env.account, region: env.region } : {}) },
    waitConditions,
    handlers: {
      'Custom::NeonMigrationPreflight': (e) => fidelity(e as unknown as FidelityEvent),
      'Custom::NeonMigrationVerification': (e) => fidelity(e as unknown as FidelityEvent),
      'Custom::SampleData': (e) => sourceLoader(e as unknown as Parameters<typeof sourceLoader>[0]),
    },
    prepare: (fake, deployed) => {
      fake.addSecret(IMPORTED_SECRETS.exampleNeon, NEON_URL);
      fake.addSecret(IMPORTED_SECRETS.existingVpcNeon, NEON_URL);
      fake.addSecret(IMPORTED_SECRETS.serverlessNeonPassword, 'npg_AbCd1234EfGh');
      // the source databases' generated secrets (attached to the RDS instances) lead to the local cluster
      for (const id of deployed.logicalIds('AWS::SecretsManager::SecretTargetAttachment')) {
        fake.secrets.find(s => s.arn === deployed.ref(id))!.value = localDatabase(stack.stackName === 'Example' ? 'dms_sample' : 'app');
      }
    },
    before: (id, d) => {
      const type = d.deployed.resource(id).Type;
      if (type === 'Custom::NeonMigrationPreflight' || type === 'Custom::NeonMigrationVerification') {
        // the Neon credentials the endpoint uses lead to the local cluster's "neondb"
        const target = d.deployed.properties(id).TargetSecretArn;
        d.fake.secrets.find(s => s.arn === target)!.value = localDatabase('neondb', 'endpoint=ep-cool-name-123456$npg_AbCd1234EfGh');
      }
    },
  });
  await driver.create();
  await driver.delete();
  return driver;
}

/** The requests made with each role, decided by the IAM simulation; the denied ones. */
async function denied(iam: IamModel, requests: { role: string; request: AuthorizedRequest }[]): Promise<string[]> {
  const decisions: [string, Decision][] = [];
  for (const { role, request } of requests) {
    decisions.push([role, await iam.decide(role, request)]);
  }
  return decisions.filter(([, d]) => !d.allowed)
    .map(([role, d]) => `${role}: ${d.request.action} on ${d.request.resource} (${d.result}) by ${d.request.origin}`);
}

/** The handlers' recorded requests, each with the role of the function that made it. */
function handlerRequests(driver: DeploymentDriver): { role: string; request: AuthorizedRequest }[] {
  return driver.fake.calls.flatMap(call => call.requests.map(request => ({ role: call.role, request })));
}

/** What the Lambda service does with each function's role: log streams, and network interfaces for a function in a VPC. */
function lambdaServiceRequests(driver: DeploymentDriver): { role: string; request: AuthorizedRequest }[] {
  const d = driver.deployed;
  const requests: { role: string; request: AuthorizedRequest }[] = [];
  for (const fn of d.logicalIds('AWS::Lambda::Function')) {
    const props = d.properties(fn);
    const role = driver.iam.roleOfFunction(fn);
    const group = props.LoggingConfig?.LogGroup ?? `/aws/lambda/${d.ref(fn)}`;
    const stream = `arn:${d.env.partition}:logs:${d.env.region}:${d.env.account}:log-group:${group}:log-stream:2026/11/29/[$LATEST]abcdef`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      requests.push({ role, request: { action, resource: stream, origin: `Lambda writes the logs of ${fn}` } });
    }
    if (props.VpcConfig) {
      for (const action of ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses']) {
        requests.push({ role, request: { action, resource: '*', origin: `Lambda attaches ${fn} to the VPC` } });
      }
    }
  }
  return requests;
}

/** What Step Functions does with each state machine's role: invoke the functions its Task states name. */
function stateMachineRequests(driver: DeploymentDriver): { role: string; request: AuthorizedRequest }[] {
  const d = driver.deployed;
  const requests: { role: string; request: AuthorizedRequest }[] = [];
  for (const machine of d.logicalIds('AWS::StepFunctions::StateMachine')) {
    const role = driver.iam.roleWithArn(d.property(machine, 'RoleArn'));
    const states = Object.values<any>(JSON.parse(d.property(machine, 'DefinitionString')).States);
    for (const state of states.filter(x => x.Type === 'Task')) {
      const fn = String(state.Resource).startsWith('arn:') && state.Resource.includes(':lambda:') && !state.Resource.includes(':states:::')
        ? state.Resource : state.Parameters?.FunctionName;
      requests.push({ role, request: { action: 'lambda:InvokeFunction', resource: fn, origin: `${machine} invokes ${fn}` } });
    }
  }
  return requests;
}

/** What DMS does with each endpoint's access role once it assumed it: read the secret the endpoint names. */
function dmsEndpointRequests(driver: DeploymentDriver): { role: string; request: AuthorizedRequest }[] {
  const d = driver.deployed;
  const requests: { role: string; request: AuthorizedRequest }[] = [];
  for (const endpoint of d.logicalIds('AWS::DMS::Endpoint')) {
    const settings = d.properties(endpoint).PostgreSqlSettings;
    const role = driver.iam.roleWithArn(settings.SecretsManagerAccessRoleArn);
    const found = resolveSecretId(settings.SecretsManagerSecretId, driver.fake.secrets, d.env);
    if (!found.secret) {
      throw new Error(`DMS endpoint ${endpoint}: Secrets Manager finds no secret for SecretsManagerSecretId ${settings.SecretsManagerSecretId} (${found.reason})`);
    }
    const origin = `DMS reads the credentials of ${endpoint}`;
    requests.push({ role, request: { action: 'secretsmanager:GetSecretValue', resource: found.secret.arn, origin } });
    if (found.secret.kmsKeyArn) {
      requests.push({
        role,
        request: {
          action: 'kms:Decrypt',
          resource: found.secret.kmsKeyArn,
          context: { 'kms:ViaService': `secretsmanager.${d.env.region}.amazonaws.com`, 'kms:CallerAccount': d.env.account },
          origin,
        },
      });
    }
  }
  return requests;
}

/**
 * What CodeBuild does with each project's service role when a build starts: read every
 * SECRETS_MANAGER environment variable's secret (`<secret>:<json key>`), decrypting it through
 * Secrets Manager when a customer managed key protects it; write the build log to the project's log
 * group.
 */
function codeBuildRequests(driver: DeploymentDriver): { role: string; request: AuthorizedRequest }[] {
  const d = driver.deployed;
  const requests: { role: string; request: AuthorizedRequest }[] = [];
  for (const project of d.logicalIds('AWS::CodeBuild::Project')) {
    const p = d.properties(project);
    const role = driver.iam.roleWithArn(p.ServiceRole);
    const origin = `CodeBuild starts a build of ${project}`;
    for (const variable of (p.Environment.EnvironmentVariables ?? []).filter((v: any) => v.Type === 'SECRETS_MANAGER')) {
      // secret-id:json-key: the secret id is a complete ARN, itself holding colons
      const secretId = String(variable.Value).split(':').slice(0, -1).join(':');
      const found = resolveSecretId(secretId, driver.fake.secrets, d.env);
      if (!found.secret) {
        throw new Error(`${project}: ${variable.Name} names ${secretId}, which Secrets Manager does not find (${found.reason})`);
      }
      requests.push({ role, request: { action: 'secretsmanager:GetSecretValue', resource: found.secret.arn, origin } });
      if (found.secret.kmsKeyArn) {
        requests.push({
          role,
          request: {
            action: 'kms:Decrypt',
            resource: found.secret.kmsKeyArn,
            context: { 'kms:ViaService': `secretsmanager.${d.env.region}.amazonaws.com`, 'kms:CallerAccount': d.env.account },
            origin,
          },
        });
      }
    }
    const group = p.LogsConfig?.CloudWatchLogs?.GroupName;
    if (group) {
      const stream = `arn:${d.env.partition}:logs:${d.env.region}:${d.env.account}:log-group:${group}:log-stream:build-1`;
      requests.push({ role, request: { action: 'logs:CreateLogStream', resource: stream, origin } });
      requests.push({ role, request: { action: 'logs:PutLogEvents', resource: stream, origin } });
    }
  }
  return requests;
}

describe.each([
  ['the example', exampleVariant],
  ['a migration in an existing VPC', existingVpcVariant],
  ['a migration on DMS Serverless', serverlessVariant],
])('%s', (_name, build) => {
  describe.each([['environment-agnostic', undefined], ['in a concrete account and Region', CONCRETE_ENV]])('%s', (_env, env) => {
    let driver: DeploymentDriver;

    beforeAll(async () => {
      jest.spyOn(console, 'log').mockImplementation(() => undefined);
      driver = await deploy(build, env);
      jest.restoreAllMocks();
    }, 120_000);

    test('deploys: every custom resource and wait condition completes, and deletes', () => {
      expect(driver.results.size).toBeGreaterThan(0);
      for (const [id, signal] of driver.waitSignals) {
        expect([id, signal.Status]).toEqual([id, 'SUCCESS']);
      }
    });

    test('every request the handlers make is allowed by their role', async () => {
      const requests = handlerRequests(driver);
      expect(requests.length).toBeGreaterThan(10);
      expect(await denied(driver.iam, requests)).toEqual([]);
    });

    test('every request the Lambda service makes for the functions is allowed by their roles', async () => {
      expect(await denied(driver.iam, lambdaServiceRequests(driver))).toEqual([]);
    });

    test('every function a state machine invokes is allowed by its role', async () => {
      const requests = stateMachineRequests(driver);
      expect(requests.length).toBeGreaterThan(0);
      expect(await denied(driver.iam, requests)).toEqual([]);
    });

    test('DMS may assume each endpoint\'s access role for this account only, and read the secret the endpoint names', async () => {
      const d = driver.deployed;
      for (const endpoint of d.logicalIds('AWS::DMS::Endpoint')) {
        const role = driver.iam.roleWithArn(d.properties(endpoint).PostgreSqlSettings.SecretsManagerAccessRoleArn);
        const principal = `dms.${d.env.region}.amazonaws.com`;
        const own = await driver.iam.decideAssumeRole(role, principal, { 'aws:SourceAccount': d.env.account, 'aws:SourceArn': d.ref(endpoint) });
        expect([endpoint, own.result]).toEqual([endpoint, 'Allowed']);
        // confused deputy: DMS acting for another account's endpoint may not use this role
        const other = await driver.iam.decideAssumeRole(role, principal, {
          'aws:SourceAccount': '210987654321',
          'aws:SourceArn': `arn:${d.env.partition}:dms:${d.env.region}:210987654321:endpoint:OTHER`,
        });
        expect([endpoint, other.allowed]).toEqual([endpoint, false]);
      }
      expect(await denied(driver.iam, dmsEndpointRequests(driver))).toEqual([]);
    });

    test('CodeBuild may read the secrets its builds\' environment names and write their log', async () => {
      const requests = codeBuildRequests(driver);
      if (driver.deployed.logicalIds('AWS::CodeBuild::Project').length > 0) {
        expect(requests.filter(r => r.request.action === 'secretsmanager:GetSecretValue').length).toBeGreaterThanOrEqual(2);
      }
      expect(await denied(driver.iam, requests)).toEqual([]);
    });

    test('the secrets handed to DMS and to the handlers are complete ARNs that Secrets Manager finds', () => {
      const d = driver.deployed;
      const handed = [
        ...d.logicalIds('AWS::DMS::Endpoint').map(id => d.properties(id).PostgreSqlSettings.SecretsManagerSecretId),
        ...[...driver.results.values()].flatMap(r => Object.entries(r.properties).filter(([k]) => /SecretArn$/.test(k)).map(([, v]) => v)),
      ];
      expect(handed.length).toBeGreaterThan(0);
      for (const arn of handed) {
        expect(driver.fake.secrets.map(s => s.arn)).toContain(arn);
      }
    });
  });
});

describe('what the checks catch', () => {
  let driver: DeploymentDriver;

  beforeAll(async () => {
    jest.spyOn(console, 'log').mockImplementation(() => undefined);
    driver = await deploy(existingVpcVariant);
    jest.restoreAllMocks();
  }, 120_000);

  test('the Neon secret named like an ARN suffix reaches the credentials handler as its complete ARN', () => {
    const credentials = [...driver.fake.calls].find(c => c.command === 'GetSecretValue' && c.origin.includes('NeonDmsCredentials'))!;
    expect(credentials.input.SecretId).toMatch(new RegExp(`:secret:${IMPORTED_SECRETS.existingVpcNeon}-[A-Za-z0-9]{6}$`));
  });

  test('a policy without a permission the handlers use is caught (the Neon credentials read, removed)', async () => {
    const requests = handlerRequests(driver).filter(r => r.request.action === 'secretsmanager:GetSecretValue' && r.request.origin?.includes('NeonDmsCredentials'));
    expect(requests).not.toHaveLength(0);
    const stripped = IamModel.of(driver.deployed);
    const original = stripped.identityPolicies.bind(stripped);
    stripped.identityPolicies = (role: string) => original(role).map(p => ({
      ...p,
      policy: { ...p.policy, Statement: p.policy.Statement.filter((st: any) => ![st.Action].flat().includes('secretsmanager:GetSecretValue')) },
    }));
    expect(await denied(stripped, requests)).toHaveLength(requests.length);
  });

  test('a DMS resource of another stack (without this stack\'s tag) may not be started or stopped', async () => {
    const start = handlerRequests(driver).find(r => r.request.action === 'dms:StartReplicationTask')!;
    const foreign: AuthorizedRequest = { ...start.request, resource: start.request.resource.replace(/task:.*/, 'task:FOREIGN'), context: {} };
    expect((await driver.iam.decide(start.role, foreign)).allowed).toBe(false);
  });

  test('the verification compared the tables it selected, and they matched', () => {
    const verification = [...driver.results.entries()].find(([id]) => id.startsWith('Verification'))![1];
    expect(Number(verification.data.Tables)).toBe(2);
    expect(verification.data.MismatchedTables).toBe('0');
    expect(Number(verification.data.Rows)).toBe(160);
  });

  test('the load waiter followed the full load for three hours\' maxWait and signalled the wait condition without a Content-Type', () => {
    expect([...driver.waitSignals.values()]).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringContaining('full load completed') })]);
    const received = [...waitConditions.signals.values()].flat().find(s => s.Reason.includes('full load completed'))!;
    expect(received.method).toBe('PUT');
    expect(received.contentType ?? '').toBe('');
  });
});

test('a customer managed key on the Neon credentials: the handler writing them may generate a data key and decrypt through Secrets Manager', async () => {
  const app = new App();
  const stack = new Stack(app, 'Cmk');
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  new NeonTargetEndpoint(stack, 'Neon', {
    connectionStringSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'NeonUrl', IMPORTED_SECRETS.exampleNeon),
    credentialsEncryptionKey: key,
  });
  const driver = new DeploymentDriver(Template.fromStack(stack).toJSON() as TemplateJson, {
    env: { stackName: 'Cmk' },
    prepare: (fake) => fake.addSecret(IMPORTED_SECRETS.exampleNeon, NEON_URL),
  });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  await driver.create();
  const requests = handlerRequests(driver);
  // Secrets Manager encrypts the new value with a data key and decrypts the current one, on the caller's behalf
  expect(requests.map(r => r.request.action)).toEqual(expect.arrayContaining(['secretsmanager:PutSecretValue', 'kms:GenerateDataKey', 'kms:Decrypt']));
  expect(await denied(driver.iam, requests)).toEqual([]);
  // outside Secrets Manager the key is of no use to the handler
  const decrypt = requests.find(r => r.request.action === 'kms:Decrypt')!;
  const direct = { ...decrypt.request, context: { ...decrypt.request.context, 'kms:ViaService': `ec2.${driver.deployed.env.region}.amazonaws.com` } };
  expect((await driver.iam.decide(decrypt.role, direct)).allowed).toBe(false);
});

/** Keep the event adapters honest: the provider's event shape is what the fidelity handler reads. */
test('a provider event carries what the fidelity handler reads', () => {
  const event: ProviderRequest = {
    RequestType: 'Create', ResourceType: 'Custom::NeonMigrationVerification', LogicalResourceId: 'V', StackId: 's', RequestId: 'r', ResourceProperties: { Action: 'verify' },
  };
  const asFidelity = event as unknown as FidelityEvent;
  expect(asFidelity.ResourceProperties.Action).toBe('verify');
  expect(mockSslOff).toBeDefined();
});
