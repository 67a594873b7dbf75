import { App, Duration, Environment, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EndpointType } from '../../lib/core/interfaces';
import {
  MySqlSourceEndpoint,
  MySqlSourceEngine,
  OracleSourceEndpoint,
  PostgresSourceEndpoint,
  SourceSslMode,
  SqlServerSafeguardPolicy,
  SqlServerSourceEndpoint,
} from '../../lib/sources';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-creds-AbCdEf';
const CERT_ARN = 'arn:aws:dms:us-east-1:123456789012:cert:WALLET';
const REGIONAL_DMS = { 'Fn::Join': ['', ['dms.', { Ref: 'AWS::Region' }, '.amazonaws.com']] };

function setup(app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Creds', SECRET_ARN);
  return { stack, secret };
}

function secretsWiring(settings: string) {
  return {
    [settings]: Match.objectLike({
      SecretsManagerSecretId: SECRET_ARN,
      SecretsManagerAccessRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SourceSecretAccessRole'), 'Arn'] },
    }),
    Username: Match.absent(),
    Password: Match.absent(),
    ServerName: Match.absent(),
  };
}

/** DMS assumes the access role through its regional principal, for DMS resources of this account and Region only. */
function expectRegionalTrust(stack: Stack) {
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [{
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: REGIONAL_DMS },
        Condition: {
          StringEqualsIfExists: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLikeIfExists: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } },
        },
      }],
    },
  });
}

describe('MySqlSourceEndpoint', () => {
  test('mysql engine, SSL require, secret wiring, no database name by default', () => {
    const { stack, secret } = setup();
    const endpoint = new MySqlSourceEndpoint(stack, 'Source', { secret });

    expect(endpoint.engineName).toBe('mysql');
    expect(endpoint.port).toBe(3306);
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'source',
      EngineName: 'mysql',
      SslMode: 'require',
      DatabaseName: Match.absent(),
      ...secretsWiring('MySqlSettings'),
    });
    expectRegionalTrust(stack);
  });

  test('passes engine and settings through', () => {
    const { stack, secret } = setup();
    new MySqlSourceEndpoint(stack, 'Source', {
      secret,
      engine: MySqlSourceEngine.AURORA_MYSQL,
      databaseName: 'shop',
      serverTimezone: 'US/Pacific',
      eventsPollInterval: Duration.seconds(10),
      sslMode: SourceSslMode.VERIFY_CA,
      certificateArn: CERT_ARN,
    });

    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      EngineName: 'aurora',
      DatabaseName: 'shop',
      SslMode: 'verify-ca',
      CertificateArn: CERT_ARN,
      MySqlSettings: { ServerTimezone: 'US/Pacific', EventsPollInterval: 10, SecretsManagerSecretId: SECRET_ARN, SecretsManagerAccessRoleArn: Match.anyValue() },
    });
  });

  test('rejects a poll interval that is not whole seconds, and verify-full without a certificate', () => {
    const { stack, secret } = setup();
    expect(() => new MySqlSourceEndpoint(stack, 'A', { secret, eventsPollInterval: Duration.millis(1500) }))
      .toThrow('MySqlSourceEndpoint: eventsPollInterval must be a whole number of seconds, at least 1, got 1 second 500 millis.');
    expect(() => new MySqlSourceEndpoint(stack, 'B', { secret, sslMode: SourceSslMode.VERIFY_FULL }))
      .toThrow("MySqlSourceEndpoint: sslMode 'verify-full' verifies the server certificate: set certificateArn to a DMS certificate (AWS::DMS::Certificate) holding its CA.");
  });
});

describe('OracleSourceEndpoint', () => {
  test('oracle engine, SSL verify-ca with the wallet certificate, secret wiring', () => {
    const { stack, secret } = setup();
    const endpoint = new OracleSourceEndpoint(stack, 'Source', { secret, databaseName: 'ORCL', certificateArn: CERT_ARN });

    expect(endpoint.engineName).toBe('oracle');
    expect(endpoint.port).toBe(1521);
    expect(endpoint.sslMode).toBe(SourceSslMode.VERIFY_CA);
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      EngineName: 'oracle',
      SslMode: 'verify-ca',
      CertificateArn: CERT_ARN,
      DatabaseName: 'ORCL',
      ...secretsWiring('OracleSettings'),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      OracleSettings: Match.objectLike({ FailTasksOnLobTruncation: true, UseLogminerReader: Match.absent(), UseBFile: Match.absent() }),
    });
    expectRegionalTrust(stack);
  });

  test('Binary Reader sets UseBFile too', () => {
    const { stack, secret } = setup();
    new OracleSourceEndpoint(stack, 'Source', { secret, databaseName: 'ORCL', certificateArn: CERT_ARN, useLogMinerReader: false, addSupplementalLogging: true });

    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      OracleSettings: Match.objectLike({ UseLogminerReader: false, UseBFile: true, AddSupplementalLogging: true }),
    });
  });

  test('rejects SSL modes DMS does not support for Oracle, and a missing wallet', () => {
    const { stack, secret } = setup();
    expect(() => new OracleSourceEndpoint(stack, 'A', { secret, databaseName: 'ORCL', sslMode: SourceSslMode.REQUIRE }))
      .toThrow("OracleSourceEndpoint: sslMode 'require' is not supported by DMS for oracle: use 'verify-ca'.");
    expect(() => new OracleSourceEndpoint(stack, 'B', { secret, databaseName: 'ORCL' }))
      .toThrow("OracleSourceEndpoint: sslMode 'verify-ca' verifies the server certificate: set certificateArn to a DMS certificate (AWS::DMS::Certificate) holding its CA.");
  });
});

describe('SqlServerSourceEndpoint', () => {
  test('sqlserver engine, SSL require, secret wiring and settings', () => {
    const { stack, secret } = setup();
    const endpoint = new SqlServerSourceEndpoint(stack, 'Source', {
      secret,
      databaseName: 'Sales',
      safeguardPolicy: SqlServerSafeguardPolicy.EXCLUSIVE_AUTOMATIC_TRUNCATION,
      readBackupOnly: true,
      querySingleAlwaysOnNode: true,
    });

    expect(endpoint.engineName).toBe('sqlserver');
    expect(endpoint.port).toBe(1433);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      EngineName: 'sqlserver',
      SslMode: 'require',
      DatabaseName: 'Sales',
      ...secretsWiring('MicrosoftSqlServerSettings'),
    });
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      MicrosoftSqlServerSettings: Match.objectLike({
        SafeguardPolicy: 'exclusive-automatic-truncation',
        ReadBackupOnly: true,
        QuerySingleAlwaysOnNode: true,
      }),
    });
    expectRegionalTrust(stack);
  });

  test('rejects verify-ca, which DMS does not support for SQL Server', () => {
    const { stack, secret } = setup();
    expect(() => new SqlServerSourceEndpoint(stack, 'A', { secret, databaseName: 'Sales', sslMode: SourceSslMode.VERIFY_CA, certificateArn: CERT_ARN }))
      .toThrow("SqlServerSourceEndpoint: sslMode 'verify-ca' is not supported by DMS for sqlserver: use 'require' or 'verify-full'.");
  });

  test('allowFrom opens the database security group on the SQL Server port', () => {
    const { stack, secret } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const dbSg = new ec2.SecurityGroup(stack, 'DbSg', { vpc });
    const replicationSg = new ec2.SecurityGroup(stack, 'ReplicationSg', { vpc });
    new SqlServerSourceEndpoint(stack, 'Source', { secret, databaseName: 'Sales', databaseConnections: dbSg }).allowFrom(replicationSg);

    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 1433,
      ToPort: 1433,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DbSg'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationSg'), 'GroupId'] },
    });
  });
});

test('every engine synthesizes a schema-valid, cdk-nag clean template', () => {
  const build = (app: App, env?: Environment) => {
    const { stack, secret } = setup(app, env);
    new MySqlSourceEndpoint(stack, 'MySql', { secret });
    new OracleSourceEndpoint(stack, 'Oracle', { secret, databaseName: 'ORCL', certificateArn: CERT_ARN });
    new SqlServerSourceEndpoint(stack, 'SqlServer', { secret, databaseName: 'Sales' });
    return stack;
  };
  expectValidCloudFormation(build(new App()));
  expectNagClean(build);
});

describe('passwords DMS does not accept', () => {
  function generated(stack: Stack, generateSecretString: secretsmanager.SecretStringGenerator): secretsmanager.ISecret {
    return new secretsmanager.Secret(stack, 'Generated', { generateSecretString: { secretStringTemplate: '{"username":"dms"}', generateStringKey: 'password', ...generateSecretString } });
  }

  test('a secret of the app whose generated password may hold braces or ; + % is refused for a PostgreSQL source, naming the characters', () => {
    const { stack } = setup();
    expect(() => new PostgresSourceEndpoint(stack, 'Source', { secret: generated(stack, {}), databaseName: 'app' }))
      .toThrow(/^PostgresSourceEndpoint: the secret's generated password may contain '\{', '\}', ';', '\+', '%', which DMS does not accept in postgres endpoint passwords: exclude them when generating it/);
  });

  test('excluding them, or all punctuation, is accepted', () => {
    const { stack } = setup();
    expect(() => new PostgresSourceEndpoint(stack, 'A', { secret: generated(stack, { excludeCharacters: '{};+%"@/\\' }), databaseName: 'app' })).not.toThrow();
    const other = setup().stack;
    expect(() => new PostgresSourceEndpoint(other, 'B', { secret: generated(other, { excludePunctuation: true }), databaseName: 'app' })).not.toThrow();
  });

  test('an RDS instance\'s generated secret suits PostgreSQL, but not SQL Server, which also refuses commas', () => {
    const { stack } = setup();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const postgres = new rds.DatabaseInstance(stack, 'Postgres', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    expect(() => PostgresSourceEndpoint.fromRdsInstance(stack, 'FromPostgres', { instance: postgres, databaseName: 'app' })).not.toThrow();
    const sqlserver = new rds.DatabaseInstance(stack, 'SqlServer', {
      engine: rds.DatabaseInstanceEngine.sqlServerSe({ version: rds.SqlServerEngineVersion.VER_16 }),
      licenseModel: rds.LicenseModel.LICENSE_INCLUDED,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    expect(() => new SqlServerSourceEndpoint(stack, 'FromSqlServer', { secret: sqlserver.secret!, databaseName: 'Sales' }))
      .toThrow(/^SqlServerSourceEndpoint: the secret's generated password may contain ',', which DMS does not accept in sqlserver endpoint passwords/);
  });
});

describe('source endpoints made elsewhere', () => {
  const ARN = 'arn:aws:dms:eu-west-1:210987654321:endpoint:SOURCEELSEWHERE';
  test.each([
    ['PostgresSourceEndpoint', (s: Stack) => PostgresSourceEndpoint.fromEndpointArn(s, 'E', ARN), 'postgres', 5432],
    ['PostgresSourceEndpoint (Aurora)', (s: Stack) => PostgresSourceEndpoint.fromEndpointAttributes(s, 'E', { endpointArn: ARN, aurora: true }), 'aurora-postgresql', 5432],
    ['MySqlSourceEndpoint', (s: Stack) => MySqlSourceEndpoint.fromEndpointArn(s, 'E', ARN), 'mysql', 3306],
    ['MySqlSourceEndpoint (MariaDB)', (s: Stack) => MySqlSourceEndpoint.fromEndpointAttributes(s, 'E', { endpointArn: ARN, engine: MySqlSourceEngine.MARIADB }), 'mariadb', 3306],
    ['OracleSourceEndpoint', (s: Stack) => OracleSourceEndpoint.fromEndpointArn(s, 'E', ARN), 'oracle', 1521],
    ['SqlServerSourceEndpoint', (s: Stack) => SqlServerSourceEndpoint.fromEndpointArn(s, 'E', ARN), 'sqlserver', 1433],
  ])('%s: a source of its engine and default port, in the ARN\'s account and Region, knowing no database', (_name, importer, engineName, port) => {
    const endpoint = importer(new Stack(new App(), 'S'));
    expect(endpoint.endpointType).toBe(EndpointType.SOURCE);
    expect(endpoint.engineName).toBe(engineName);
    expect(endpoint.port).toBe(port);
    expect(endpoint.endpointArn).toBe(ARN);
    expect(endpoint.endpointIdentifier).toBe('SOURCEELSEWHERE');
    expect(endpoint.env).toEqual({ account: '210987654321', region: 'eu-west-1' });
    expect(endpoint.databaseConnections).toBeUndefined();
  });

  test('with the database\'s security group and port, and the PostgreSQL major version for the engine-version check', () => {
    const stack = new Stack(new App(), 'S');
    const group = ec2.SecurityGroup.fromSecurityGroupId(stack, 'Db', 'sg-0123456789abcdef0');
    const endpoint = PostgresSourceEndpoint.fromEndpointAttributes(stack, 'E', { endpointArn: ARN, port: 6432, databaseConnections: group, engineMajorVersion: 17 });
    expect(endpoint.port).toBe(6432);
    expect(endpoint.databaseConnections).toBe(group);
    expect((endpoint as unknown as { engineMajorVersion: number }).engineMajorVersion).toBe(17);
  });

  test('an ARN that is not an endpoint\'s is refused', () => {
    expect(() => MySqlSourceEndpoint.fromEndpointArn(new Stack(new App(), 'S'), 'E', 'arn:aws:dms:eu-west-1:210987654321:task:X'))
      .toThrow(new Error('MySqlSourceEndpoint.fromEndpointAttributes: endpointArn \'arn:aws:dms:eu-west-1:210987654321:task:X\' is not a DMS endpoint ARN (arn:aws:dms:<region>:<account>:endpoint:<id>).'));
  });
});
