import * as fs from 'fs';
import * as path from 'path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { App, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { mockClient } from 'aws-sdk-client-mock';
import { FidelitySourceEngine, MigrationPreflight, MigrationVerification } from '../../lib/checks';
import { FidelityEvent } from '../../lib/fidelity/fidelity.lambda';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { MySqlSourceEndpoint } from '../../lib/sources/mysql';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { TableMappings } from '../../lib/task';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { copyLikeDms } from '../helpers/mysql-copy';
import { MySqlServer, startMySqlServer } from '../helpers/mysql-server';
import { expectNagClean } from '../helpers/nag';
import { selfSignedCertificate } from '../helpers/tls';

jest.setTimeout(240_000);

/** The target's client configurations; the local cluster speaks no TLS, so it is switched off after recording. */
const mockTargetConfigs: Array<Record<string, unknown>> = [];
jest.mock('pg/lib/client', () => {
  const Real = jest.requireActual('pg/lib/client');
  return class extends Real {
    constructor(config: Record<string, unknown>) {
      mockTargetConfigs.push(config);
      super({ ...config, ssl: false });
    }
  };
});

const NEON_URI = 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require';
const SOURCE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:mysql-source-AbCdEf';

function setup(app = new App()) {
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
  const network = new NatEgressForReplication(stack, 'Network');
  const sourceSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', SOURCE_ARN);
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  return { stack, network, sourceSecret, target };
}

const functions = (template: Template) => Object.values(template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Description?: string } }>)
  .map((f) => f.Properties.Description ?? '')
  .filter((d) => d.startsWith('cdk-neon-migration: checks'));

describe('the checks of a MySQL source at deploy time', () => {
  test('sourceEngine MYSQL: the custom resource says so, and runs on the MySQL function, apart from the PostgreSQL one', () => {
    const { stack, network, sourceSecret } = setup();
    new MigrationPreflight(stack, 'MySqlPreflight', {
      network, sourceSecret, sourceDatabaseName: 'shop', sourceEngine: FidelitySourceEngine.MYSQL, tableMappings: TableMappings.includeSchema('shop'),
    });
    new MigrationPreflight(stack, 'PgPreflight', { network, sourceSecret, sourceDatabaseName: 'app', tableMappings: TableMappings.includeSchema('app') });
    const template = Template.fromStack(stack);
    const resources = Object.values(template.findResources('Custom::NeonMigrationPreflight') as Record<string, {
      Properties: { SourceEngine?: string; SourceDatabaseName: string; ServiceToken: unknown };
    }>);
    const mysql = resources.find((r) => r.Properties.SourceDatabaseName === 'shop')!;
    const pg = resources.find((r) => r.Properties.SourceDatabaseName === 'app')!;
    expect(mysql.Properties.SourceEngine).toBe('mysql');
    expect(pg.Properties.SourceEngine).toBeUndefined();
    expect(JSON.stringify(mysql.Properties.ServiceToken)).toMatch(/NeonDmsFidelityProviderMySql/);
    expect(JSON.stringify(pg.Properties.ServiceToken)).not.toMatch(/MySql/);
    expect(functions(template).sort()).toEqual([
      'cdk-neon-migration: checks and compares the data of a MySQL source and Neon (preflight, verify)',
      'cdk-neon-migration: checks and compares the data of source and Neon (preflight, verify)',
    ]);
  });

  test('forTask takes the engine from the task\'s source endpoint; PostgreSQL stays the default', () => {
    const { stack, network, sourceSecret, target } = setup();
    const source = new MySqlSourceEndpoint(stack, 'MySqlSource', { secret: sourceSecret });
    const task = new DmsMigrationTask(stack, 'Migration', {
      source, target, network, tableMappings: TableMappings.includeSchema('shop'), waitForCompletion: true,
    });
    MigrationPreflight.forTask(stack, 'Preflight', { task, network, sourceSecret, sourceDatabaseName: 'shop' });
    MigrationVerification.forTask(stack, 'Verification', { task, network, sourceSecret, sourceDatabaseName: 'shop', targetSecret: target.clientCredentialsSecret });
    const pgSource = new PostgresSourceEndpoint(stack, 'PgSource', { secret: sourceSecret, databaseName: 'app' });
    const pgTask = new DmsMigrationTask(stack, 'PgMigration', { source: pgSource, target, network, tableMappings: TableMappings.includeSchema('app'), waitForCompletion: true });
    MigrationPreflight.forTask(stack, 'PgPreflight', { task: pgTask, network, sourceSecret, sourceDatabaseName: 'app' });
    const template = Template.fromStack(stack);
    type Checked = Record<string, { Properties: { SourceEngine?: string; SourceDatabaseName: string } }>;
    const engines = (type: string) => Object.values(template.findResources(type) as Checked)
      .map((r) => [r.Properties.SourceDatabaseName, r.Properties.SourceEngine ?? 'postgres']).sort();
    expect(engines('Custom::NeonMigrationPreflight')).toEqual([['app', 'postgres'], ['shop', 'mysql']]);
    expect(engines('Custom::NeonMigrationVerification')).toEqual([['shop', 'mysql']]);
  });

  test('the MySQL provider is cdk-nag clean (AwsSolutions, NIST 800-53 R5)', () => {
    expectNagClean((app, env) => {
      const stack = new Stack(app, 'S', { env });
      const network = new NatEgressForReplication(stack, 'Network');
      const sourceSecret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', SOURCE_ARN);
      new MigrationPreflight(stack, 'Preflight', {
        network, sourceSecret, sourceDatabaseName: 'shop', sourceEngine: FidelitySourceEngine.MYSQL, tableMappings: TableMappings.includeSchema('shop'),
      });
      return stack;
    });
  });
});

describe('the handler bundles', () => {
  const secrets = mockClient(SecretsManagerClient);
  let mysql: MySqlServer;
  const bundle = (name: string) => path.join(__dirname, '..', '..', 'assets', 'lib', 'fidelity', name, 'index.js');

  beforeAll(async () => {
    mysql = await startMySqlServer({ tls: selfSignedCertificate() });
    await mysql.sql(`CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, made DATE NOT NULL);
      SET SESSION sql_mode = ''; INSERT INTO shop.items VALUES (1, '2024-01-01'), (2, '0000-00-00')`);
  });
  afterAll(async () => {
    await mysql?.stop();
  });
  beforeEach(() => {
    secrets.reset();
    // an RDS secret of a MySQL instance: the port is MySQL's, the password never logged
    secrets.on(GetSecretValueCommand, { SecretId: SOURCE_ARN }).resolves({
      SecretString: JSON.stringify({ username: mysql.user, password: mysql.password, host: '127.0.0.1', port: mysql.port, engine: 'mysql' }),
    });
  });

  const event = (): FidelityEvent => ({
    RequestType: 'Create',
    ResourceType: 'Custom::NeonMigrationPreflight',
    LogicalResourceId: 'Preflight',
    ResourceProperties: {
      Action: 'preflight',
      SourceSecretArn: SOURCE_ARN,
      SourceDatabaseName: 'shop',
      SourceEngine: 'mysql',
      TableMappings: JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'shop', 'table-name': '%' } }] }),
    },
  });

  test('the MySQL bundle runs the preflight over TLS from the secret: the zero date blocks the deployment, by key', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require(bundle('fidelity-mysql.lambda'));
    const logs: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => { logs.push(m); });
    try {
      await expect(handler(event())).rejects.toThrow(/Preflight found 1 blocking finding\(s\).*MYSQL_ZERO_DATE shop\.items\.made: 1 row hold a zero date.*Example keys: id=2/);
    } finally {
      spy.mockRestore();
    }
    expect(logs.join('\n')).not.toContain(mysql.password);
  });

  test('the MySQL handler verifies against the target from both secrets: TLS to Neon verified, a difference fails by key', async () => {
    const pg: PgCluster = await startPgCluster({ walLevel: 'minimal' });
    try {
      await mysql.sql('CREATE DATABASE shop2; CREATE TABLE shop2.items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO shop2.items VALUES (1, \'a\'), (2, \'b\'), (3, \'c\')');
      await copyLikeDms(mysql.url(), pg.url(), { schemas: ['shop2'] });
      await pg.sql("update shop2.items set name = 'B' where id = 2");
      const TARGET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-AbCdEf';
      secrets.on(GetSecretValueCommand, { SecretId: TARGET_ARN }).resolves({
        SecretString: JSON.stringify({ username: 'postgres', password: 'neon-pw', host: '127.0.0.1', port: String(pg.port), dbname: 'postgres' }),
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require('../../lib/fidelity/fidelity-mysql.lambda');
      const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        const base = event();
        const verifyEvent = {
          ...base,
          ResourceProperties: {
            ...base.ResourceProperties,
            Action: 'verify',
            TargetSecretArn: TARGET_ARN,
            TableMappings: base.ResourceProperties.TableMappings.replace('"shop"', '"shop2"'),
          },
        };
        await expect(handler(verifyEvent)).rejects.toThrow('Verification failed: 0 of 1 table(s) match; 3 row(s) compared, at least 1 differ. shop2.items: mismatch 3/3 rows; different id="2"');
        expect(mockTargetConfigs.some((c) => (c.ssl as { rejectUnauthorized?: boolean } | undefined)?.rejectUnauthorized === true)).toBe(true);
      } finally {
        spy.mockRestore();
      }
    } finally {
      await pg.stop();
    }
  });

  test('the PostgreSQL bundle leaves the MySQL driver out, and says so for a MySQL source', async () => {
    const pgBundle = fs.readFileSync(bundle('fidelity.lambda'), 'utf8');
    // mysql2's authentication plugins: in the MySQL bundle only
    expect(/caching_sha2_password/.test(pgBundle)).toBe(false);
    expect(/caching_sha2_password/.test(fs.readFileSync(bundle('fidelity-mysql.lambda'), 'utf8'))).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { handler } = require(bundle('fidelity.lambda'));
    const spy = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(handler(event())).rejects.toThrow(/The source is MySQL, but the MySQL support .* is not part of this build/);
    } finally {
      spy.mockRestore();
    }
  });
});
