import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { acceptTlsReplication, createSlot, slotState, startWalsender, writeWal } from './slot-fixture';
import { handler, pause } from '../../lib/live/replication-slots.lambda';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { selfSignedCertificate } from '../helpers/tls';

/*
 * The slot function as Lambda runs it: credentials from (mocked) Secrets Manager, a TLS connection
 * to a real cluster that accepts TLS only (as RDS does with rds.force_ssl), the answer it returns.
 */

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf';
const PASSWORD = 'source-pw-canary-71d2';
const secrets = mockClient(SecretsManagerClient);
let cluster: PgCluster;
const logged: string[] = [];

beforeAll(async () => {
  cluster = await startPgCluster({ tls: selfSignedCertificate() });
  await acceptTlsReplication(cluster);
  await cluster.sql('CREATE DATABASE app');
  pause.ms = 50;
});

afterAll(async () => {
  await cluster?.stop();
});

beforeEach(() => {
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD, host: '127.0.0.1', port: cluster.port, engine: 'postgres' }),
  });
  logged.length = 0;
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { logged.push(args.map(String).join(' ')); });
});

afterEach(() => jest.restoreAllMocks());

test('inspect waits for the task\'s slot, then names it; drop releases its WAL once the task stopped', async () => {
  await createSlot(cluster, 'app', 'another_task');
  const pending = handler({ Operation: 'inspect', SecretArn: SECRET_ARN, Database: 'app', ClientAddresses: ['10.0.1.17', '127.0.0.1'], WaitSeconds: 30 });
  // DMS creates the task's slot as the task starts: after the function started looking
  await new Promise((r) => setTimeout(r, 300));
  await createSlot(cluster, 'app', 'abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100');
  await writeWal(cluster, 'app', 4);
  const reader = await startWalsender(cluster, 'app', 'abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100');

  const inspected = await pending;
  expect(inspected).toMatchObject({
    Reachable: true,
    TaskSlot: 'abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100',
    Candidates: ['abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100'],
  });
  expect(inspected.Slots!.map((s) => [s.name, s.active])).toEqual([
    ['abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100', true],
    ['another_task', false],
  ]);

  await reader.stop();
  const dropped = await handler({
    Operation: 'drop',
    SecretArn: SECRET_ARN,
    Database: 'app',
    SlotNames: ['abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100'],
  });
  expect(dropped.Reachable).toBe(true);
  expect(dropped.Dropped!.map((d) => d.name)).toEqual(['abc1d2efghijk_00016384_0f0e0d0c_0b0a_0908_0706_050403020100']);
  expect(dropped.Kept).toEqual([]);
  // another_task is older: it still holds that WAL
  expect(dropped.ReleasedBytes).toBe(0);
  expect(Object.keys(await slotState(cluster))).toEqual(['another_task']);

  const last = await handler({ Operation: 'drop', SecretArn: SECRET_ARN, Database: 'app', SlotNames: ['another_task'] });
  expect(last.ReleasedBytes).toBeGreaterThan(4 * 1024 * 1024 * 0.9);
  expect(await slotState(cluster)).toEqual({});

  // TLS was required by the server, and the password never left the function
  expect(JSON.stringify([inspected, dropped, last, logged])).not.toContain(PASSWORD);
  expect(logged.join('\n')).toContain('"Operation":"inspect"');
});

test('without a matching slot, inspect answers after the wait with no task slot', async () => {
  const started = Date.now();
  const result = await handler({ Operation: 'inspect', SecretArn: SECRET_ARN, Database: 'app', ClientAddresses: ['10.0.1.17'], WaitSeconds: 1 });
  expect(result).toEqual({ Reachable: true, Slots: [], TaskSlot: undefined, Candidates: [] });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
});

test('a source it cannot reach is an answer, not an error, and names no secret', async () => {
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD, host: '127.0.0.1', port: 1 }),
  });
  const result = await handler({ Operation: 'drop', SecretArn: SECRET_ARN, Database: 'app', SlotNames: ['x'] });
  expect(result.Reachable).toBe(false);
  expect(result.Error).toMatch(/could not be reached from the replication network.*ECONNREFUSED/);
  expect(JSON.stringify(result)).not.toContain(PASSWORD);
});

test('a secret it may not read is reported the same way', async () => {
  secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }));
  const result = await handler({ Operation: 'inspect', SecretArn: SECRET_ARN, Database: 'app' });
  expect(result).toEqual({ Reachable: false, Error: expect.stringMatching(/its secret read: User is not authorized/) });
});

test('refuses an unknown operation and a request without secret or database', async () => {
  await expect(handler({ Operation: 'truncate', SecretArn: SECRET_ARN, Database: 'app' })).rejects.toThrow(/Unknown Operation 'truncate'/);
  await expect(handler({ Operation: 'drop', SecretArn: '', Database: 'app' })).rejects.toThrow(/SecretArn and Database are required/);
});
