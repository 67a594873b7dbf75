import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { handler } from '../../lib/example/source-loader.lambda';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

/** A self-signed certificate, so the cluster enforces TLS like the example's RDS source (rds.force_ssl). */
function selfSignedCertificate(): { cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loader-tls-'));
  const cert = path.join(dir, 'server.crt');
  const key = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(key, 0o600);
  if (process.getuid?.() === 0) {
    execFileSync('chown', ['-R', 'postgres', dir]);
  }
  return { cert, key };
}

const secrets = mockClient(SecretsManagerClient);
let cluster: PgCluster;

beforeAll(async () => {
  const tls = selfSignedCertificate();
  cluster = await startPgCluster({ settings: { ssl: 'on', ssl_cert_file: tls.cert, ssl_key_file: tls.key } });
  await cluster.sql('CREATE DATABASE dms_sample');
  // like rds.force_ssl=1: TCP connections without TLS are refused
  fs.writeFileSync(path.join(cluster.dataDir, 'pg_hba.conf'), 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n');
  await cluster.sql('select pg_reload_conf()');
  await new Promise((resolve) => setTimeout(resolve, 300));
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

beforeEach(() => {
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ host: '127.0.0.1', port: cluster.port, username: 'postgres', password: 'unused-with-trust-auth' }),
  });
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => jest.restoreAllMocks());

const PROPS = { SecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:src', DatabaseName: 'dms_sample', SchemaName: 'dms_sample', People: '300', Events: '20', Tickets: '2000' };

test('creates and fills the sample schema over TLS, reporting row counts', async () => {
  const result = await handler({ RequestType: 'Create', ResourceProperties: PROPS });
  expect(result.PhysicalResourceId).toBe('dms_sample/dms_sample');
  expect(result.Data).toMatchObject({ person: '300', sporting_event: '20', ticket: '2000', sport_type: '5', seat: String(60 * 4 * 5 * 10) });
  expect(secrets.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: PROPS.SecretArn });

  const client = new Client({ connectionString: cluster.url('dms_sample'), ssl: { rejectUnauthorized: false } });
  await client.connect();
  try {
    // every table has a primary key, and the data covers the types a migration must keep exact
    const noPk = await client.query(`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'dms_sample' and c.relkind = 'r'
      and not exists (select 1 from pg_constraint k where k.conrelid = c.oid and k.contype = 'p')`);
    expect(noPk.rows).toEqual([]);
    const kinds = await client.query(`select count(*) filter (where email is null) as nulls, count(*) filter (where email = '') as empties,
      count(*) filter (where profile is not null) as jsonb from dms_sample.person`);
    expect(Number(kinds.rows[0].nulls)).toBeGreaterThan(0);
    expect(Number(kinds.rows[0].empties)).toBeGreaterThan(0);
    expect(Number(kinds.rows[0].jsonb)).toBeGreaterThan(0);
    const fk = await client.query(`select count(*) as n from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where n.nspname = 'dms_sample' and c.contype = 'f'`);
    expect(Number(fk.rows[0].n)).toBeGreaterThanOrEqual(8);
  } finally {
    await client.end();
  }
}, 60_000);

test('the cluster refuses connections without TLS (so the loader really used it)', async () => {
  const plain = new Client({ connectionString: cluster.url('dms_sample'), ssl: false });
  await expect(plain.connect()).rejects.toThrow(/no pg_hba.conf entry .* no encryption/);
});

test('an update recreates the schema with the new size; a delete leaves the database alone', async () => {
  await handler({ RequestType: 'Create', ResourceProperties: PROPS });
  const updated = await handler({ RequestType: 'Update', PhysicalResourceId: 'dms_sample/dms_sample', ResourceProperties: { ...PROPS, Tickets: '50' } });
  expect(updated.Data?.ticket).toBe('50');
  const deleted = await handler({ RequestType: 'Delete', PhysicalResourceId: 'dms_sample/dms_sample', ResourceProperties: PROPS });
  expect(deleted).toEqual({ PhysicalResourceId: 'dms_sample/dms_sample' });
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
}, 60_000);
