import { App, Duration, Environment, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { EndpointType } from '../../lib/core/interfaces';
import { ReplicationInstance } from '../../lib/replication';
import {
  LogicalReplicationStatus,
  PostgresPluginName,
  PostgresSourceEndpoint,
  PostgresSourceEndpointProps,
  SourceSslMode,
} from '../../lib/sources';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-creds-AbCdEf';

function setup(app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Creds', SECRET_ARN);
  return { app, stack, vpc, secret };
}

function postgresInstance(stack: Stack, vpc: ec2.IVpc, parameterGroup?: rds.IParameterGroup): rds.DatabaseInstance {
  return new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    parameterGroup,
  });
}

const REGIONAL_DMS = { 'Fn::Join': ['', ['dms.', { Ref: 'AWS::Region' }, '.amazonaws.com']] };

describe('PostgresSourceEndpoint', () => {
  test('reads credentials from the secret with SSL mode require and safe defaults', () => {
    const { stack, secret } = setup();
    const endpoint = new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'dms_sample' });

    expect(endpoint.endpointType).toBe(EndpointType.SOURCE);
    expect(endpoint.engineName).toBe('postgres');
    expect(endpoint.port).toBe(5432);
    expect(endpoint.sslMode).toBe(SourceSslMode.REQUIRE);
    expect(Stack.of(endpoint).resolve(endpoint.endpointIdentifier)).toMatch(/^s-source-[a-z0-9]+-[0-9a-f]{8}$/);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      EndpointType: 'source',
      EngineName: 'postgres',
      SslMode: 'require',
      DatabaseName: 'dms_sample',
      EndpointIdentifier: Stack.of(endpoint).resolve(endpoint.endpointIdentifier),
      Username: Match.absent(),
      Password: Match.absent(),
      ServerName: Match.absent(),
      Port: Match.absent(),
      PostgreSqlSettings: {
        SecretsManagerSecretId: SECRET_ARN,
        SecretsManagerAccessRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SourceSecretAccessRole'), 'Arn'] },
        FailTasksOnLobTruncation: true,
        MapBooleanAsBoolean: true,
        PluginName: Match.absent(),
        HeartbeatEnable: Match.absent(),
      },
    });
    expect(stack.resolve(endpoint.endpointArn)).toEqual({ Ref: stack.resolve(endpoint.resource.logicalId) });
  });

  test('the access role trusts the regional DMS principal and may only read the secret', () => {
    const { stack, secret } = setup();
    new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'db' });

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: REGIONAL_DMS } }],
      },
    });
    // an inline policy of the role: no AWS::IAM::Policy resource per endpoint
    template.hasResourceProperties('AWS::IAM::Role', {
      Policies: [{
        PolicyName: 'ReadCredentials',
        PolicyDocument: {
          Statement: [{
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Effect: 'Allow',
            Resource: SECRET_ARN,
          }],
        },
      }],
    });
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.hasResource('AWS::DMS::Endpoint', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^SourceSecretAccessRole')]),
    });
  });

  test('grants kms:Decrypt on the customer managed key of an imported secret', () => {
    const { stack, secret } = setup();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'db', secretEncryptionKey: key });

    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: 'kms:Decrypt',
          Effect: 'Allow',
          Resource: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        }]),
      },
    });
  });

  test('passes the CDC settings through', () => {
    const { stack, secret } = setup();
    new PostgresSourceEndpoint(stack, 'Source', {
      secret,
      databaseName: 'db',
      aurora: true,
      pluginName: PostgresPluginName.PGLOGICAL,
      slotName: 'dms_slot_1',
      heartbeatEnable: true,
      heartbeatFrequency: Duration.minutes(2),
      heartbeatSchema: 'dms',
      failTasksOnLobTruncation: false,
      captureDdls: false,
      ddlArtifactsSchema: 'dms',
      mapBooleanAsBoolean: false,
      sslMode: SourceSslMode.VERIFY_FULL,
      certificateArn: 'arn:aws:dms:us-east-1:123456789012:cert:ABC',
      endpointIdentifier: 'Pg-Source',
      extraConnectionAttributes: 'executeTimeout=120',
    });

    Template.fromStack(stack).hasResourceProperties('AWS::DMS::Endpoint', {
      EngineName: 'aurora-postgresql',
      SslMode: 'verify-full',
      CertificateArn: 'arn:aws:dms:us-east-1:123456789012:cert:ABC',
      EndpointIdentifier: 'pg-source',
      ExtraConnectionAttributes: 'executeTimeout=120',
      PostgreSqlSettings: {
        PluginName: 'pglogical',
        SlotName: 'dms_slot_1',
        HeartbeatEnable: true,
        HeartbeatFrequency: 2,
        HeartbeatSchema: 'dms',
        FailTasksOnLobTruncation: false,
        CaptureDdls: false,
        DdlArtifactsSchema: 'dms',
        MapBooleanAsBoolean: false,
      },
    });
  });

  test('fromRdsInstance uses the generated secret and knows the instance\'s network side; allowFrom opens it', () => {
    const { stack, vpc } = setup();
    const db = postgresInstance(stack, vpc);
    const replication = new ReplicationInstance(stack, 'Replication', { vpc });
    const endpoint = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: db, databaseName: 'dms_sample' });
    expect(endpoint.databaseConnections).toBe(db);
    endpoint.allowFrom(replication);

    expect(endpoint.secret).toBe(db.secret);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      EngineName: 'postgres',
      SslMode: 'require',
      PostgreSqlSettings: { SecretsManagerSecretId: { Ref: Match.stringLikeRegexp('^DbSecret') } },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DbSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationSecurityGroup'), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
    });
    expect(endpoint.logicalReplicationStatus()).toBe(LogicalReplicationStatus.DISABLED);
  });

  test('fromRdsInstance takes the port configured on the instance, or the imported one', () => {
    const { stack, vpc, secret } = setup();
    const db = new rds.DatabaseInstance(stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      port: 6000,
    });
    const replication = new ReplicationInstance(stack, 'Replication', { vpc });
    const endpoint = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: db, databaseName: 'db' });
    endpoint.allowFrom(replication);
    expect(endpoint.port).toBe(6000);
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 6000, ToPort: 6000 });

    const imported = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Imported', {
      instanceIdentifier: 'db', instanceEndpointAddress: 'db.example.com', port: 5433, securityGroups: [],
    });
    expect(PostgresSourceEndpoint.fromRdsInstance(stack, 'Other', { instance: imported, secret, databaseName: 'db' }).port).toBe(5433);
  });

  test('fromRdsInstance reads rds.logical_replication from the parameter group', () => {
    const { stack, vpc } = setup();
    const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 });
    const parameterGroup = new rds.ParameterGroup(stack, 'Params', { engine });
    const db = postgresInstance(stack, vpc, parameterGroup);
    const endpoint = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: db, databaseName: 'db' });

    expect(endpoint.logicalReplicationStatus()).toBe(LogicalReplicationStatus.DISABLED);
    parameterGroup.addParameter('rds.logical_replication', '1');
    expect(endpoint.logicalReplicationStatus()).toBe(LogicalReplicationStatus.ENABLED);
  });

  test('logicalReplicationEnabled overrides the inspection; unknown without it', () => {
    const { stack, vpc, secret } = setup();
    const db = postgresInstance(stack, vpc);
    expect(PostgresSourceEndpoint.fromRdsInstance(stack, 'A', { instance: db, databaseName: 'db', logicalReplicationEnabled: true })
      .logicalReplicationStatus()).toBe(LogicalReplicationStatus.ENABLED);
    expect(new PostgresSourceEndpoint(stack, 'B', { secret, databaseName: 'db', logicalReplicationEnabled: false })
      .logicalReplicationStatus()).toBe(LogicalReplicationStatus.DISABLED);
    expect(new PostgresSourceEndpoint(stack, 'C', { secret, databaseName: 'db' })
      .logicalReplicationStatus()).toBe(LogicalReplicationStatus.UNKNOWN);
    const imported = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Imported', {
      instanceIdentifier: 'db', instanceEndpointAddress: 'db.example.com', port: 5432, securityGroups: [],
    });
    expect(PostgresSourceEndpoint.fromRdsInstance(stack, 'D', { instance: imported, secret, databaseName: 'db' })
      .logicalReplicationStatus()).toBe(LogicalReplicationStatus.UNKNOWN);
  });

  test('fromRdsCluster uses aurora-postgresql and the cluster parameter group', () => {
    const { stack, vpc } = setup();
    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_15_4 });
    const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
      engine,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      writer: rds.ClusterInstance.provisioned('Writer'),
      parameterGroup: new rds.ParameterGroup(stack, 'ClusterParams', { engine, parameters: { 'rds.logical_replication': '1' } }),
    });
    const replication = new ReplicationInstance(stack, 'Replication', { vpc });
    const endpoint = PostgresSourceEndpoint.fromRdsCluster(stack, 'Source', { cluster, databaseName: 'db' });
    expect(endpoint.databaseConnections).toBe(cluster);
    endpoint.allowFrom(replication);

    expect(endpoint.engineName).toBe('aurora-postgresql');
    expect(endpoint.logicalReplicationStatus()).toBe(LogicalReplicationStatus.ENABLED);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::Endpoint', {
      EngineName: 'aurora-postgresql',
      SslMode: 'require',
      PostgreSqlSettings: { SecretsManagerSecretId: { Ref: Match.stringLikeRegexp('^ClusterSecret') } },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationSecurityGroup'), 'GroupId'] },
    });
  });

  test('allowFrom with a plain security group uses the endpoint port', () => {
    const { stack, vpc, secret } = setup();
    const dbSg = new ec2.SecurityGroup(stack, 'DbSg', { vpc });
    const peer = new ec2.SecurityGroup(stack, 'Peer', { vpc });
    const endpoint = new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'db', port: 6543, databaseConnections: dbSg });
    endpoint.allowFrom(peer);

    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp', FromPort: 6543, ToPort: 6543,
    });
  });

  test('accepts tokens for validated values', () => {
    const { stack, secret } = setup();
    expect(() => new PostgresSourceEndpoint(stack, 'Source', {
      secret,
      databaseName: Lazy.string({ produce: () => '' }),
      slotName: Lazy.string({ produce: () => 'Bad Slot' }),
      endpointIdentifier: Lazy.string({ produce: () => '--' }),
      port: Token.asNumber(Lazy.number({ produce: () => 0 })),
    })).not.toThrow();
  });

  test.each([
    [{ sslMode: SourceSslMode.VERIFY_CA }, "PostgresSourceEndpoint: sslMode 'verify-ca' verifies the server certificate: set certificateArn to a DMS certificate (AWS::DMS::Certificate) holding its CA."],
    [{ slotName: 'My-Slot' }, "PostgresSourceEndpoint: slotName 'My-Slot' is not a replication slot name: use 1 to 63 lowercase letters, digits and underscores."],
    [{ heartbeatFrequency: Duration.minutes(1) }, 'PostgresSourceEndpoint: heartbeatFrequency and heartbeatSchema only apply with heartbeatEnable: true.'],
    [{ heartbeatSchema: 'dms' }, 'PostgresSourceEndpoint: heartbeatFrequency and heartbeatSchema only apply with heartbeatEnable: true.'],
    [{ heartbeatEnable: true, heartbeatFrequency: Duration.seconds(90) }, 'PostgresSourceEndpoint: heartbeatFrequency must be a whole number of minutes, at least 1, got 1 minute 30 seconds.'],
    [{ databaseName: ' ' }, 'PostgresSourceEndpoint: databaseName must not be empty.'],
    [{ port: 70000 }, 'PostgresSourceEndpoint: port must be a whole number from 1 to 65535, got 70000.'],
    [{ endpointIdentifier: 'source--1' }, "PostgresSourceEndpoint: endpointIdentifier 'source--1' must not contain two consecutive hyphens."],
    [{ endpointIdentifier: 'x'.repeat(256) }, `PostgresSourceEndpoint: endpointIdentifier '${'x'.repeat(256)}' must be 1 to 255 characters long (it has 256).`],
  ])('rejects %j', (props, message) => {
    const { stack, secret } = setup();
    expect(() => new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'db', ...props } as PostgresSourceEndpointProps))
      .toThrow(message);
  });

  test('rejects allowFrom without databaseConnections', () => {
    const { stack, vpc, secret } = setup();
    const endpoint = new PostgresSourceEndpoint(stack, 'Source', { secret, databaseName: 'db' });
    expect(() => endpoint.allowFrom(new ec2.SecurityGroup(stack, 'Peer', { vpc })))
      .toThrow("PostgresSourceEndpoint: allowFrom() needs databaseConnections (the database's security group or construct); set it, or open the database to the replication compute yourself.");
  });

  test('fromRdsInstance rejects another engine and an instance without a secret', () => {
    const { stack, vpc } = setup();
    const mysql = new rds.DatabaseInstance(stack, 'MySql', {
      engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    });
    expect(() => PostgresSourceEndpoint.fromRdsInstance(stack, 'A', { instance: mysql, databaseName: 'db' }))
      .toThrow('PostgresSourceEndpoint.fromRdsInstance: the instance runs mysql, not PostgreSQL: use the source endpoint class of that engine.');

    const imported = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Imported', {
      instanceIdentifier: 'db', instanceEndpointAddress: 'db.example.com', port: 5432, securityGroups: [],
    });
    expect(() => PostgresSourceEndpoint.fromRdsInstance(stack, 'B', { instance: imported, databaseName: 'db' }))
      .toThrow('PostgresSourceEndpoint.fromRdsInstance: the instance has no generated secret: pass secret (username, password, host, port).');
  });

  test('fromRdsCluster rejects a cluster of another engine', () => {
    const { stack, vpc } = setup();
    const cluster = new rds.DatabaseCluster(stack, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_05_2 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      writer: rds.ClusterInstance.provisioned('Writer'),
    });
    expect(() => PostgresSourceEndpoint.fromRdsCluster(stack, 'A', { cluster, databaseName: 'db' }))
      .toThrow('PostgresSourceEndpoint.fromRdsCluster: the cluster runs aurora-mysql, not Aurora PostgreSQL: use the source endpoint class of that engine.');
  });

  test('a stack with a replication instance and a source from an RDS instance is schema-valid and cdk-nag clean', () => {
    const build = (app: App, env?: Environment) => {
      const { stack, vpc } = setup(app, env);
      const db = postgresInstance(stack, vpc);
      const replication = new ReplicationInstance(stack, 'Replication', { vpc });
      PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: db, databaseName: 'dms_sample' }).allowFrom(replication);
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    const testFixture = (id: string, pathPattern: string) => ({ id, reason: 'Part of the test fixture (VPC and source database), not of the constructs under test.', pathPattern });
    expectNagClean(build, [
      testFixture('AwsSolutions-VPC7', '^S/Vpc'),
      testFixture('NIST.800.53.R5-VPCFlowLogsEnabled', '^S/Vpc'),
      testFixture('NIST.800.53.R5-VPCDefaultSecurityGroupClosed', '^S/Vpc'),
      ...['AwsSolutions-RDS2', 'AwsSolutions-RDS3', 'AwsSolutions-RDS10', 'AwsSolutions-RDS11', 'AwsSolutions-SMG4',
        'NIST.800.53.R5-RDSInstanceBackupEnabled', 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled',
        'NIST.800.53.R5-RDSMultiAZSupport', 'NIST.800.53.R5-RDSStorageEncrypted', 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled',
        'NIST.800.53.R5-RDSInBackupPlan', 'NIST.800.53.R5-RDSLoggingEnabled[LogExport::postgresql]',
        'NIST.800.53.R5-RDSLoggingEnabled[LogExport::upgrade]', 'NIST.800.53.R5-SecretsManagerRotationEnabled',
        'NIST.800.53.R5-SecretsManagerUsingKMSKey'].map(id => testFixture(id, '^S/Db')),
    ]);
  });
});
