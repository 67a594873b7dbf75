import { App, Environment, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { TaskUpdateBehavior } from '../../lib/lifecycle';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationInstance } from '../../lib/replication/replication-instance';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { MigrationType, TableMappings } from '../../lib/task';
import { expectSecretAbsent, testApp } from '../helpers/leak';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const NEON_URI = 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require';
const CANARY = 'Pw-task-canary-41c9e2';

/** The Neon guide's setup: an RDS PostgreSQL source in a VPC with NAT egress, a Neon target. */
function migration(app: App = new App(), overrides: Partial<DmsMigrationTaskProps> = {}, parameters?: Record<string, string>, env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const parameterGroup = new rds.ParameterGroup(stack, 'Params', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
    parameters,
  });
  const database = new rds.DatabaseInstance(stack, 'Database', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
    vpc: network.vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    parameterGroup,
    storageEncrypted: true,
    multiAz: true,
    deletionProtection: true,
    backupRetention: undefined,
    iamAuthentication: true,
    enablePerformanceInsights: true,
    cloudwatchLogsExports: ['postgresql', 'upgrade'],
    removalPolicy: RemovalPolicy.SNAPSHOT,
  });
  const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'dms_sample' });
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const task = new DmsMigrationTask(stack, 'Migration', {
    source,
    target,
    network,
    tableMappings: TableMappings.includeSchema('dms_sample'),
    migrationType: MigrationType.FULL_LOAD,
    ...overrides,
  });
  return { stack, network, source, target, task, database };
}

function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | object): string {
  return stack.getLogicalId(construct as any);
}

describe('DmsMigrationTask composition', () => {
  test('creates a replication instance in the network when none is given', () => {
    const { stack, task } = migration();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DMS::ReplicationInstance', 1);
    template.hasResourceProperties('AWS::DMS::ReplicationTask', {
      ReplicationInstanceArn: { Ref: logicalId(stack, task.node.findChild('ReplicationInstance').node.defaultChild!) },
    });
  });

  test('the lifecycle tests both connections and starts the task after the egress', () => {
    const { stack, task } = migration();
    const template = Template.fromStack(stack);
    const dependsOn = (id: string): string[] => template.toJSON().Resources[id].DependsOn ?? [];

    const start = logicalId(stack, task.lifecycle.resource.node.defaultChild!);
    const routes = Object.keys(template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: Match.anyValue() } }));
    expect(routes.length).toBeGreaterThan(0);

    expect(dependsOn(start)).toEqual(expect.arrayContaining(routes));
    template.resourceCountIs('Custom::DmsConnectionTest', 0);
    const instance = logicalId(stack, task.node.findChild('ReplicationInstance').node.defaultChild!);
    template.hasResourceProperties('Custom::DmsTaskLifecycle', {
      TestEndpointArns: [Match.objectLike({ Ref: Match.anyValue() }), Match.objectLike({ Ref: Match.anyValue() })],
      TestReplicationInstanceArn: { Ref: instance },
    });
    template.hasResourceProperties('Custom::DmsTaskLifecycle', {
      StartOnDeploy: 'true',
      WaitForCompletion: 'false',
      MigrationType: 'full-load',
      OnUpdate: 'resume-processing',
      TaskIdentifier: stack.resolve(task.taskIdentifier),
    });
  });

  test('lifecycle options are passed through', () => {
    const { stack } = migration(new App(), { startOnDeploy: false, waitForCompletion: true, onUpdate: TaskUpdateBehavior.RELOAD });
    Template.fromStack(stack).hasResourceProperties('Custom::DmsTaskLifecycle', {
      StartOnDeploy: 'false',
      WaitForCompletion: 'true',
      OnUpdate: 'reload-target',
    });
  });

  test.each([true, false])('the task lets the replication instance into the source database before the lifecycle runs (testConnections %s)', (testConnections) => {
    const { stack, task, database } = migration(new App(), { testConnections });
    const template = Template.fromStack(stack);
    const instanceSg = task.replicationInstance!.connections.securityGroups[0];
    const rules = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: {
        GroupId: { 'Fn::GetAtt': [logicalId(stack, database.connections.securityGroups[0].node.defaultChild!), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(stack, instanceSg.node.defaultChild!), 'GroupId'] },
      },
    });
    expect(Object.keys(rules)).toHaveLength(1);
    const lifecycle = template.toJSON().Resources[logicalId(stack, task.lifecycle.resource.node.defaultChild!)];
    expect(lifecycle.DependsOn).toEqual(expect.arrayContaining(Object.keys(rules)));
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('sourceDatabaseNotOpened'));
  });

  test('opening the database again by hand adds no second rule', () => {
    const { stack, task, source, database } = migration();
    source.allowFrom(task.replicationInstance!);
    const databaseGroup = logicalId(stack, database.connections.securityGroups[0].node.defaultChild!);
    expect(Object.keys(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [databaseGroup, 'GroupId'] } },
    }))).toHaveLength(1);
  });

  test('a source endpoint that does not know its database: a warning, and no rule', () => {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Network');
    const source = PostgresSourceEndpoint.fromEndpointArn(stack, 'Source', 'arn:aws:dms:us-east-1:123456789012:endpoint:ELSEWHERE');
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    new DmsMigrationTask(stack, 'Migration', { source, target, network, schemaName: 'app' });
    // only the Secrets Manager endpoint's rule: nothing opens a database
    expect(Object.keys(Template.fromStack(stack).findResources('AWS::EC2::SecurityGroupIngress'))).toEqual([
      expect.stringMatching(/^NetworkSecretsManagerEndpointSecurityGroup/),
    ]);
    Annotations.fromStack(stack).hasWarning('/S/Migration/Lifecycle', Match.stringLikeRegexp(
      "The source endpoint 'ELSEWHERE' does not know its database's security groups.*on port 5432.*fromRdsInstance/fromRdsCluster, or pass databaseConnections"));
  });

  test('CDC from an RDS source whose parameter group lacks rds.logical_replication warns', () => {
    const { stack } = migration(new App(), { migrationType: MigrationType.FULL_LOAD_AND_CDC });
    Annotations.fromStack(stack).hasWarning('/S/Migration', Match.stringLikeRegexp('does not set rds.logical_replication=1'));
  });

  test('no warning when the parameter group turns logical replication on', () => {
    const { stack } = migration(new App(), { migrationType: MigrationType.CDC }, { 'rds.logical_replication': '1' });
    Annotations.fromStack(stack).hasNoWarning('/S/Migration', Match.stringLikeRegexp('rds.logical_replication'));
  });

  test('valid CloudFormation', () => {
    const { stack } = migration();
    expectValidCloudFormation(stack);
  });

  test('cdk-nag clean', () => {
    expectNagClean((app, env) => migration(app, {}, undefined, env).stack, [
      { id: 'AwsSolutions-RDS11', reason: 'The test database uses the default port; it only stands in for a source.', pathPattern: '^S/Database' },
      { id: 'AwsSolutions-SMG4', reason: 'The test database secret is not rotated; it only stands in for a source.', pathPattern: '^S/Database' },
      { id: 'NIST.800.53.R5-RDSInBackupPlan', reason: 'The test database is not in a backup plan; it only stands in for a source.', pathPattern: '^S/Database' },
      { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: 'The test database secret is not rotated; it only stands in for a source.', pathPattern: '^S/Database' },
      { id: 'NIST.800.53.R5-SecretsManagerUsingKMSKey', reason: 'The test database secret uses the AWS managed key; it only stands in for a source.', pathPattern: '^S/Database' },
      { id: 'NIST.800.53.R5-RDSEnhancedMonitoringEnabled', reason: 'The test database has no enhanced monitoring; it only stands in for a source.', pathPattern: '^S/Database' },
      // The database port is a token until deployment, so these two rules cannot evaluate the rule that
      // opens it to the replication instance's security group (not to an IP range).
      { id: 'NIST.800.53.R5-EC2RestrictedCommonPorts', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
      { id: 'NIST.800.53.R5-EC2RestrictedSSH', reason: 'The ingress rule admits only the replication security group, on the database port.', pathPattern: '^S/Database/SecurityGroup/from ' },
    ]);
  });

  test('no secret in the cloud assembly', () => {
    const app = testApp();
    migration(app);
    expectSecretAbsent(app, CANARY);
    expectSecretAbsent(app, `endpoint=ep-curly-term-54009904$${CANARY}`);
  });
});

describe('the DMS engine version reads the source\'s PostgreSQL', () => {
  function postgres17(engineVersion?: string) {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Network');
    const database = new rds.DatabaseInstance(stack, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      vpc: network.vpc,
      vpcSubnets: network.replicationSubnets,
    });
    const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    const replicationInstance = new ReplicationInstance(stack, 'Replication', { network, engineVersion });
    return () => new DmsMigrationTask(stack, 'Migration', { source, target, replicationInstance, schemaName: 'app' });
  }

  test('a PostgreSQL 17 source on an instance with DMS 3.5.4 is refused: DMS reads 17 from 3.6.1 on', () => {
    expect(postgres17('3.5.4')).toThrow("DmsMigrationTask: source 'S/Source' runs PostgreSQL 17");
    expect(postgres17('3.5.4')).toThrow(/runs PostgreSQL 17, which DMS reads from engine version 3\.6\.1 on, but the replication instance's engineVersion is 3\.5\.4: set engineVersion to 3\.6\.1 or later \(the default is 3\.6\.1\)\./);
  });

  test('the default engine version, or a later one, reads it', () => {
    expect(postgres17()).not.toThrow();
    expect(postgres17('3.6.2')).not.toThrow();
  });
});
