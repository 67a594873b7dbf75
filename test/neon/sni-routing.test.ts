import { execFile } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { mockClient } from 'aws-sdk-client-mock';
import type { ClientConfig } from 'pg';
import { ConnectionFailedError, openSession } from '../../lib/fidelity/connection';
import { connectionConfigs } from '../../lib/fidelity/fidelity.lambda';
import { NeonTargetEndpoint } from '../../lib/neon';
import { onEvent } from '../../lib/neon/credentials.handler';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { PostgresSchemaCopy } from '../../lib/schema';
import { TableMappings } from '../../lib/task';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { MISSING_ENDPOINT, NeonLikeProxy, startNeonLikeProxy, wildcardCertificate } from '../helpers/neon-proxy';

/*
 * Neon's rule, against a real PostgreSQL behind a proxy that routes like Neon's
 * (test/helpers/neon-proxy.ts): the endpoint comes from TLS SNI or the endpoint option, and only a
 * connection with neither is asked for `endpoint=<id>$<password>`. Each client gets its credentials
 * the way the library hands them over:
 * - the credentials handler reads a Neon connection string and writes the two secrets (Secrets
 *   Manager mocked, the values it writes are what the clients then read);
 * - node-postgres, as the checks' functions connect: `connectionConfigs` reads the target secret
 *   the construct passes;
 * - psql and pg_dump, as the schema copy's build runs them: the TARGET_PG* variables of the
 *   synthesized CodeBuild project, resolved against the secret they name (through the handler's
 *   `ClientSecretArn` attribute), with the prefix removed as schema-copy.sh does.
 * The only change the test makes is the route: the Neon host name leads to 127.0.0.1 (PGHOSTADDR for
 * libpq, a socket factory for node-postgres), while the clients still send the host name as SNI.
 */

const DOMAIN = 'neon.test';
const ENDPOINT = 'ep-quiet-sun-123456';
const PASSWORD = 'npgAbC123dEfGh9';
const HOST = `${ENDPOINT}.${DOMAIN}`;
const SOURCE_SECRET = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/url-AbCdEf';
const DMS_SECRET = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:NeonCredentials-XyZ123';
const CLIENT_SECRET = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:NeonClientCredentials-AbC456';
const PG_BIN = '/usr/bin';

const certificate = wildcardCertificate(DOMAIN);
const sm = mockClient(SecretsManagerClient);
let cluster: PgCluster;
let proxy: NeonLikeProxy;
/** What the credentials handler wrote, by secret ARN. */
const written = new Map<string, Record<string, any>>();
let clientSecretAttribute: string;
/** What the credentials handler logged. */
let handlerLog: string;

beforeAll(async () => {
  cluster = await startPgCluster({ walLevel: 'minimal' });
  await cluster.sql(`create role app login password '${PASSWORD}'`);
  await cluster.sql('create database neondb owner app');
  await cluster.sql('create table public.items (id int primary key, name text not null)', 'neondb');
  await cluster.sql('alter table public.items owner to app', 'neondb');
  // the superuser of the helper stays trusted; every other role signs in with SCRAM, as on Neon
  fs.writeFileSync(path.join(cluster.dataDir, 'pg_hba.conf'),
    'host all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
  await cluster.sql('select pg_reload_conf()');
  proxy = await startNeonLikeProxy({ backendPort: cluster.port, domain: DOMAIN, endpoints: { [ENDPOINT]: {}, 'ep-off-654321': { disabled: true } }, certificate });

  // the connection string as the Neon console shows it (a host outside neon.tech, hence allowNonNeonHost)
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: SOURCE_SECRET }).resolves({
    SecretString: `postgresql://app:${PASSWORD}@${HOST}:${proxy.port}/neondb?sslmode=require&channel_binding=require`,
  });
  sm.on(PutSecretValueCommand).callsFake(async (input: { SecretId: string; SecretString: string }) => {
    written.set(input.SecretId, JSON.parse(input.SecretString));
    return {};
  });
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const result = await onEvent({
    RequestType: 'Create',
    ResourceType: 'Custom::NeonDmsCredentials',
    LogicalResourceId: 'NeonParsedCredentials',
    StackId: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1',
    RequestId: 'request-1',
    ResourceProperties: { ServiceToken: 'x', SourceSecretArn: SOURCE_SECRET, TargetSecretArn: DMS_SECRET, ClientSecretArn: CLIENT_SECRET, AllowNonNeonHost: 'true' },
  } as ProviderRequest);
  clientSecretAttribute = result.Data!.ClientSecretArn;
  // what the handler logged names the secrets it wrote, never the password
  handlerLog = log.mock.calls.map((call) => call.join(' ')).join('\n');
  log.mockRestore();
  // from here on the clients read what the handler wrote
  sm.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string }) => ({ SecretString: JSON.stringify(written.get(input.SecretId)) }));
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await cluster?.stop();
});

/** node-postgres over the route to the proxy; everything else as the library configured it (the test's CA added). */
function viaProxy(config: ClientConfig): ClientConfig {
  return {
    ...config,
    ssl: typeof config.ssl === 'object' ? { ...config.ssl, ca: certificate.cert } : config.ssl,
    stream: () => {
      const socket = new net.Socket();
      const connect = socket.connect.bind(socket) as (port: number, host: string) => net.Socket;
      (socket as unknown as { connect: unknown }).connect = () => connect(proxy.port, '127.0.0.1');
      return socket;
    },
  };
}

async function nodePostgres(config: ClientConfig): Promise<string> {
  try {
    const session = await openSession(config, 'sni-routing-test', 'target');
    try {
      return (await session.query<{ u: string }>('select current_user as u'))[0].u;
    } finally {
      await session.close();
    }
  } catch (e) {
    if (e instanceof ConnectionFailedError) return `refused: ${e.reason}`;
    throw e;
  }
}

describe('the handler writes each form to its secret', () => {
  test('the DMS endpoint\'s: endpoint=<id>$<password>; the clients\': the plain password; the clients read the latter through the resource\'s attribute', () => {
    expect(written.get(DMS_SECRET)).toEqual({ engine: 'postgres', username: 'app', password: `endpoint=${ENDPOINT}$${PASSWORD}`, host: HOST, port: proxy.port, dbname: 'neondb' });
    expect(written.get(CLIENT_SECRET)).toEqual({ ...written.get(DMS_SECRET), password: PASSWORD });
    expect(clientSecretAttribute).toBe(CLIENT_SECRET);
  });

  test('its log names both secrets and holds neither password form', () => {
    expect(handlerLog).toContain(DMS_SECRET);
    expect(handlerLog).toContain(CLIENT_SECRET);
    expect(handlerLog).not.toContain(PASSWORD);
  });
});

describe('node-postgres, as the checks\' functions connect (SNI: the host name)', () => {
  const props = (target: string) => ({ Action: 'verify', SourceSecretArn: CLIENT_SECRET, SourceDatabaseName: 'neondb', TargetSecretArn: target, TableMappings: '{}' });

  test('the clients\' secret authenticates; Neon routed by SNI', async () => {
    const { target } = await connectionConfigs(props(CLIENT_SECRET));
    const before = proxy.routed.length;
    expect(await nodePostgres(viaProxy(target!))).toBe('app');
    expect(proxy.routed.slice(before)).toEqual([{ endpoint: ENDPOINT, from: 'sni' }]);
  });

  test('the DMS endpoint\'s secret is refused: with SNI the whole endpoint=…$… string is taken for the password', async () => {
    const { target } = await connectionConfigs(props(DMS_SECRET));
    expect(await nodePostgres(viaProxy(target!))).toBe('refused: password authentication failed for user "app"');
  });

  test('without SNI (an IP address) the forms swap: the DMS form authenticates, the plain password is refused', async () => {
    const { target } = await connectionConfigs(props(DMS_SECRET));
    const byAddress = (config: ClientConfig) => ({ ...config, host: '127.0.0.1', port: proxy.port, ssl: { rejectUnauthorized: false } });
    const before = proxy.routed.length;
    expect(await nodePostgres(byAddress(target!))).toBe('app');
    expect(proxy.routed.slice(before)).toEqual([{ endpoint: ENDPOINT, from: 'password' }]);
    const plain = (await connectionConfigs(props(CLIENT_SECRET))).target!;
    expect(await nodePostgres(byAddress(plain))).toBe(`refused: ${MISSING_ENDPOINT}`);
  });
});

describe('psql and pg_dump, as the schema copy\'s build runs them (libpq sends SNI: sslsni=1)', () => {
  /** The build's target variables, as CodeBuild resolves them from Secrets Manager, with the TARGET_ prefix removed. */
  function buildEnvironment(): Record<string, string> {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Network');
    const neon = new NeonTargetEndpoint(stack, 'Neon', {
      connectionStringSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Url', SOURCE_SECRET),
      allowNonNeonHost: true,
    });
    new PostgresSchemaCopy(stack, 'Schema', {
      network,
      sourceSecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceDb', 'arn:aws:secretsmanager:us-east-2:123456789012:secret:source-AbCdEf'),
      sourceDatabaseName: 'app',
      targetSecret: neon.clientCredentialsSecret,
      tableMappings: TableMappings.includeSchema('public'),
    });
    const template = Template.fromStack(stack).toJSON();
    const [credentials] = Object.keys(template.Resources).filter(id => template.Resources[id].Type === 'Custom::NeonDmsCredentials');
    const [dmsSecret] = Object.keys(template.Resources).filter(id => id.startsWith('NeonCredentials') && template.Resources[id].Type === 'AWS::SecretsManager::Secret');
    /** A secret ARN of the template as the deployment knows it. */
    const arnOf = (expression: any): string => {
      if (JSON.stringify(expression) === JSON.stringify({ 'Fn::GetAtt': [credentials, 'ClientSecretArn'] })) return clientSecretAttribute;
      if (JSON.stringify(expression) === JSON.stringify({ Ref: dmsSecret })) return DMS_SECRET;
      throw new Error(`no secret for ${JSON.stringify(expression)}`);
    };
    const project = Object.values<any>(template.Resources).find(r => r.Type === 'AWS::CodeBuild::Project');
    const env: Record<string, string> = {};
    for (const variable of project.Properties.Environment.EnvironmentVariables) {
      if (!variable.Name.startsWith('TARGET_')) continue;
      if (variable.Type === 'SECRETS_MANAGER') {
        const [secret, field] = variable.Value['Fn::Join'][1];
        env[variable.Name.slice('TARGET_'.length)] = String(written.get(arnOf(secret))![field.replace(/^:/, '')]);
      } else {
        env[variable.Name.slice('TARGET_'.length)] = variable.Value;
      }
    }
    return env;
  }

  /** Runs a client tool (asynchronously: the proxy answers in this process). */
  function run(tool: 'psql' | 'pg_dump', args: string[], env: Record<string, string>): Promise<{ ok: boolean; out: string }> {
    return new Promise(resolve => {
      execFile(path.join(PG_BIN, tool), args, {
        encoding: 'utf8',
        timeout: 30_000,
        // a clean environment: only what the build sets, the route to the proxy, and no password file
        env: { PATH: process.env.PATH!, HOME: '/nonexistent', PGHOSTADDR: '127.0.0.1', PGCONNECT_TIMEOUT: '10', ...env },
      }, (error, stdout, stderr) => resolve({ ok: !error, out: `${stdout}${stderr}`.trim() }));
    });
  }

  test('the build reads the clients\' secret: psql authenticates and pg_dump dumps, Neon routing by SNI', async () => {
    const env = buildEnvironment();
    expect(env).toEqual({ PGHOST: HOST, PGPORT: String(proxy.port), PGUSER: 'app', PGPASSWORD: PASSWORD, PGDATABASE: 'neondb', PGSSLMODE: 'require' });
    const before = proxy.routed.length;
    expect(await run('psql', ['-X', '-At', '-c', 'select current_user'], env)).toEqual({ ok: true, out: 'app' });
    const dump = await run('pg_dump', ['--schema-only', '--no-owner', '-t', 'public.items'], env);
    expect(dump.ok).toBe(true);
    expect(dump.out).toContain('CREATE TABLE public.items');
    expect(proxy.routed.slice(before).map(r => r.from)).toEqual(expect.arrayContaining(['sni']));
    expect(proxy.routed.slice(before).every(r => r.from === 'sni' && r.endpoint === ENDPOINT)).toBe(true);
  });

  test('the DMS endpoint\'s password over SNI is refused; without SNI (sslsni=0) it is the one that works, as for DMS', async () => {
    const env = { ...buildEnvironment(), PGPASSWORD: written.get(DMS_SECRET)!.password };
    const refused = await run('psql', ['-X', '-At', '-c', 'select 1'], env);
    expect(refused.ok).toBe(false);
    expect(refused.out).toContain('password authentication failed for user "app"');
    expect(await run('psql', ['-X', '-At', '-c', 'select current_user'], { ...env, PGSSLSNI: '0' })).toEqual({ ok: true, out: 'app' });
  });

  test('the plain password without SNI is refused with Neon\'s message; the endpoint option names it instead; a different one is refused', async () => {
    const env = { ...buildEnvironment(), PGSSLSNI: '0' };
    const refused = await run('psql', ['-X', '-At', '-c', 'select 1'], env);
    expect(refused.ok).toBe(false);
    expect(refused.out).toContain(MISSING_ENDPOINT);
    const before = proxy.routed.length;
    expect(await run('psql', ['-X', '-At', '-c', 'select current_user'], { ...env, PGOPTIONS: `endpoint=${ENDPOINT}` })).toEqual({ ok: true, out: 'app' });
    expect(proxy.routed.slice(before)).toEqual([{ endpoint: ENDPOINT, from: 'options' }]);
    const inconsistent = await run('psql', ['-X', '-At', '-c', 'select 1'], { ...buildEnvironment(), PGOPTIONS: 'endpoint=ep-other-111111' });
    expect(inconsistent.out).toContain(`Inconsistent project name inferred from SNI ('${ENDPOINT}') and project option ('ep-other-111111')`);
  });

  test('a disabled endpoint is refused with Neon\'s message', async () => {
    const env = { ...buildEnvironment(), PGHOST: `ep-off-654321.${DOMAIN}` };
    expect((await run('psql', ['-X', '-At', '-c', 'select 1'], env)).out).toContain('The endpoint has been disabled. Enable it using Neon API and retry.');
  });
});
