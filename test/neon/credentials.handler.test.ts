import {
  DeleteSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { onEvent } from '../../lib/neon/credentials.handler';
import type { ProviderRequest } from '../../lib/provider/handler-types';

const sm = mockClient(SecretsManagerClient);

const SOURCE = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:neon/url-AbCdEf';
const TARGET = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:NeonCredentials-XyZ123';
const CLIENT = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:NeonClientCredentials-AbC456';
const CANARY = 'Pw-leak-canary-7f3a91';
const NEON_URL = `postgresql://daniel:${CANARY}@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require`;

function request(requestType: 'Create' | 'Update' | 'Delete', props: Record<string, string | undefined> = {}): ProviderRequest {
  return {
    RequestType: requestType,
    ResourceType: 'Custom::NeonDmsCredentials',
    LogicalResourceId: 'NeonParsedCredentials',
    StackId: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1',
    RequestId: '0d8f7a4e-1111-2222-3333-444455556666',
    ResourceProperties: { ServiceToken: 'x', SourceSecretArn: SOURCE, TargetSecretArn: TARGET, AllowNonNeonHost: 'false', ...props },
    PhysicalResourceId: requestType === 'Create' ? undefined : TARGET,
  };
}

function writtenCredentials(): Record<string, unknown> {
  const calls = sm.commandCalls(PutSecretValueCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0].args[0].input.SecretId).toBe(TARGET);
  return JSON.parse(calls[0].args[0].input.SecretString!);
}

let logs: jest.SpyInstance;
beforeEach(() => {
  sm.reset();
  sm.on(PutSecretValueCommand).resolves({});
  logs = jest.spyOn(console, 'log').mockImplementation(() => undefined);
});
afterEach(() => {
  const logged = JSON.stringify(logs.mock.calls);
  expect(logged).not.toContain(CANARY);
  logs.mockRestore();
});

test('reads a JSON field, writes the DMS credentials and returns only non-secret data', async () => {
  sm.on(GetSecretValueCommand, { SecretId: SOURCE }).resolves({ SecretString: JSON.stringify({ DATABASE_URL: NEON_URL, OTHER: 'x' }) });

  const result = await onEvent(request('Create', { SourceSecretField: 'DATABASE_URL' }));

  expect(writtenCredentials()).toEqual({
    engine: 'postgres',
    username: 'daniel',
    password: `endpoint=ep-curly-term-54009904$${CANARY}`,
    host: 'ep-curly-term-54009904.us-east-2.aws.neon.tech',
    port: 5432,
    dbname: 'neondb',
  });
  expect(sm.commandCalls(PutSecretValueCommand)[0].args[0].input.ClientRequestToken).toBe('0d8f7a4e-1111-2222-3333-444455556666');
  expect(result).toEqual({
    PhysicalResourceId: TARGET,
    Data: {
      Host: 'ep-curly-term-54009904.us-east-2.aws.neon.tech',
      Port: '5432',
      DatabaseName: 'neondb',
      Username: 'daniel',
      EndpointId: 'ep-curly-term-54009904',
    },
  });
  expect(JSON.stringify(result)).not.toContain(CANARY);
});

test('with a client secret, writes each form to its secret: endpoint=<id>$<password> for DMS, the plain password for clients that send SNI', async () => {
  sm.on(GetSecretValueCommand, { SecretId: SOURCE }).resolves({ SecretString: NEON_URL });

  const result = await onEvent(request('Create', { ClientSecretArn: CLIENT }));

  const puts = sm.commandCalls(PutSecretValueCommand).map(c => c.args[0].input);
  expect(puts.map(p => p.SecretId)).toEqual([TARGET, CLIENT]);
  const common = { engine: 'postgres', username: 'daniel', host: 'ep-curly-term-54009904.us-east-2.aws.neon.tech', port: 5432, dbname: 'neondb' };
  expect(JSON.parse(puts[0].SecretString!)).toEqual({ ...common, password: `endpoint=ep-curly-term-54009904$${CANARY}` });
  expect(JSON.parse(puts[1].SecretString!)).toEqual({ ...common, password: CANARY });
  // one request, one version of each: a retried invocation adds none
  expect(puts.map(p => p.ClientRequestToken)).toEqual(['0d8f7a4e-1111-2222-3333-444455556666', '0d8f7a4e-1111-2222-3333-444455556666']);
  // the clients read the client secret by this attribute: they wait for the value written here
  expect(result.Data).toMatchObject({ ClientSecretArn: CLIENT, EndpointId: 'ep-curly-term-54009904' });
  expect(JSON.stringify(result)).not.toContain(CANARY);
});

test('reads a plain-string secret', async () => {
  sm.on(GetSecretValueCommand, { SecretId: SOURCE }).resolves({ SecretString: `${NEON_URL.replace('neon.tech/', 'neon.tech:6543/')}\n` });

  const result = await onEvent(request('Create'));

  expect(writtenCredentials()).toMatchObject({ port: 6543, password: `endpoint=ep-curly-term-54009904$${CANARY}` });
  expect(result.Data).toMatchObject({ Port: '6543' });
});

test('uses the neonEndpointId override and accepts a non-Neon host when allowed', async () => {
  sm.on(GetSecretValueCommand).resolves({ SecretString: `postgresql://daniel:${CANARY}@neon-proxy.example.com/neondb` });

  const result = await onEvent(request('Create', { AllowNonNeonHost: 'true', NeonEndpointId: 'ep-curly-term-54009904' }));

  expect(writtenCredentials()).toMatchObject({ host: 'neon-proxy.example.com', password: `endpoint=ep-curly-term-54009904$${CANARY}` });
  expect(result.Data).toMatchObject({ EndpointId: 'ep-curly-term-54009904' });
});

test('update rewrites the credentials from the current source value', async () => {
  sm.on(GetSecretValueCommand).resolves({ SecretString: NEON_URL.replace('neondb', 'otherdb') });

  const result = await onEvent(request('Update'));

  expect(writtenCredentials()).toMatchObject({ dbname: 'otherdb' });
  expect(result.Data).toMatchObject({ DatabaseName: 'otherdb' });
});

test('delete leaves both secrets alone', async () => {
  const result = await onEvent(request('Delete'));

  expect(result).toEqual({ PhysicalResourceId: TARGET });
  expect(sm.calls()).toHaveLength(0);
  expect(sm.commandCalls(DeleteSecretCommand)).toHaveLength(0);
  expect(sm.commandCalls(UpdateSecretCommand)).toHaveLength(0);
});

describe('rejects bad secrets without echoing them', () => {
  async function failure(secretString: string, props: Record<string, string> = {}): Promise<string> {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secretString });
    try {
      await onEvent(request('Create', props));
    } catch (e) {
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      const message = (e as Error).message;
      expect(message).not.toContain(CANARY);
      return message;
    }
    throw new Error('expected onEvent to fail');
  }

  test('a malformed connection string', async () => {
    expect(await failure(`postgres:/daniel:${CANARY}@ep-a-1.us-east-2.aws.neon.tech/neondb`)).toBe(
      `connectionStringSecret (${SOURCE}) is not a PostgreSQL connection string (it must start with postgresql://). `
      + 'Expected postgresql://<user>@<host>/<database>?sslmode=require, as shown in the Neon console\'s Connect dialog.');
  });

  test('a pooled host', async () => {
    expect(await failure(NEON_URL.replace('54009904.', '54009904-pooler.'), { SourceSecretField: '' })).toBe(
      `connectionStringSecret (${SOURCE}): ep-curly-term-54009904-pooler.us-east-2.aws.neon.tech is Neon's pooled (PgBouncer) host. `
      + 'DMS needs the direct host, because PgBouncer in transaction mode breaks DMS\'s session-level work and logical replication. '
      + 'Use ep-curly-term-54009904.us-east-2.aws.neon.tech (the host without -pooler).');
  });

  test('a connection string without password', async () => {
    expect(await failure('postgresql://daniel@ep-a-1.us-east-2.aws.neon.tech/neondb')).toBe(
      `connectionStringSecret (${SOURCE}) holds no password: store the connection string as the Neon console shows it, postgresql://<user>:<password>@<host>/<database>.`);
  });

  test('a connection string with an empty password', async () => {
    expect(await failure('postgresql://daniel:@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require')).toBe(
      `connectionStringSecret (${SOURCE}) holds an empty password (nothing between the : and the @): store the connection string with the role's password, `
      + 'postgresql://<user>:<password>@<host>/<database>, as the Neon console shows it.');
  });

  test('a port outside 1–65535, named in the message', async () => {
    expect(await failure(NEON_URL.replace('neon.tech/', 'neon.tech:70000/'), { SourceSecretField: '' })).toBe(
      `connectionStringSecret (${SOURCE}): port 70000 is outside 1–65535. Use the port of your Neon connection string, or leave it out for 5432.`);
  });

  test('JSON without connectionStringSecretField', async () => {
    expect(await failure(JSON.stringify({ DATABASE_URL: NEON_URL, PGPASSWORD: CANARY }))).toBe(
      `connectionStringSecret (${SOURCE}) holds JSON with fields DATABASE_URL, PGPASSWORD: set connectionStringSecretField to the field holding the connection string.`);
  });

  test('a plain string with connectionStringSecretField', async () => {
    expect(await failure(NEON_URL, { SourceSecretField: 'DATABASE_URL' })).toBe(
      `connectionStringSecret (${SOURCE}, field DATABASE_URL) is not JSON, so it has no field 'DATABASE_URL': omit connectionStringSecretField when the secret holds the plain connection string.`);
  });

  test('a missing field', async () => {
    expect(await failure(JSON.stringify({ url: NEON_URL }), { SourceSecretField: 'DATABASE_URL' })).toBe(
      `connectionStringSecret (${SOURCE}, field DATABASE_URL) has no string field 'DATABASE_URL' (fields: url): set connectionStringSecretField to the field holding the connection string.`);
  });

  test('a binary secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: Buffer.from(CANARY) });
    await expect(onEvent(request('Create'))).rejects.toThrow(
      `connectionStringSecret (${SOURCE}) holds binary data; store the connection string as a secret string.`);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });
});

test('a Neon password DMS would refuse (braces, ; + %) fails the deployment naming the characters, never the password, and writes neither secret', async () => {
  sm.on(GetSecretValueCommand).resolves({ SecretString: `postgresql://daniel:${encodeURIComponent(`${CANARY}+50%`)}@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require` });
  const error = await onEvent(request('Create', { ClientSecretArn: CLIENT })).catch((e: Error) => e);
  expect((error as Error).message).toBe(`The Neon password in connectionStringSecret (${SOURCE}) contains '+', '%', which DMS does not accept in PostgreSQL endpoint passwords: `
    + 'reset the role\'s password in the Neon console (Neon generates passwords of letters and digits) and update the secret.');
  expect((error as Error).message).not.toContain(CANARY);
  expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
});
