import { App, Environment, Lazy, Resource, SecretValue, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { EndpointType, IDmsEndpoint } from '../../lib/core/interfaces';
import { ServerlessReplicationLifecycle, TaskUpdateBehavior } from '../../lib/lifecycle';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationCompute, ReplicationComputeKind, ReplicationInstance, ServerlessComputeOptions } from '../../lib/replication';
import { LobMode, MigrationType, TableMappings, TableType, TaskSettings } from '../../lib/task';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const SOURCE_ARN = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCEPG';
const NEON_URI = 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require';

class FakeSource extends Resource implements IDmsEndpoint {
  public readonly endpointArn = SOURCE_ARN;
  public readonly endpointType = EndpointType.SOURCE;
  public readonly endpointIdentifier = 'source-pg';
  public readonly engineName = 'postgres';
  public readonly port = 5432;
  constructor(scope: Construct, id: string, public readonly databaseConnections?: ec2.IConnectable) {
    super(scope, id);
  }
}

function fixture(overrides: Partial<DmsMigrationTaskProps> = {}, compute: Partial<ServerlessComputeOptions> = {},
  app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const network = new NatEgressForReplication(stack, 'Network');
  const database = new ec2.SecurityGroup(stack, 'Database', { vpc: network.vpc, allowAllOutbound: false });
  const source = new FakeSource(stack, 'Source', database);
  const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
  const props: DmsMigrationTaskProps = {
    source,
    target,
    network,
    schemaName: 'dms_sample',
    migrationType: MigrationType.FULL_LOAD_AND_CDC,
    compute: ReplicationCompute.serverless({ maxCapacityUnits: 16, minCapacityUnits: 2, ...compute }),
    ...overrides,
  };
  return { stack, network, source, target, props, database };
}

function serverlessTask(overrides: Partial<DmsMigrationTaskProps> = {}, compute: Partial<ServerlessComputeOptions> = {}) {
  const f = fixture(overrides, compute);
  const task = new DmsMigrationTask(f.stack, 'Migration', f.props);
  return { ...f, task, template: Template.fromStack(f.stack) };
}

describe('DmsMigrationTask on DMS Serverless', () => {
  test('creates a ReplicationConfig with the task\'s endpoints, type, mappings and settings, and no task or instance', () => {
    const { template, task, target } = serverlessTask();
    template.resourceCountIs('AWS::DMS::ReplicationTask', 0);
    template.resourceCountIs('AWS::DMS::ReplicationInstance', 0);
    template.resourceCountIs('AWS::DMS::ReplicationConfig', 1);
    const stack = Stack.of(task);
    template.hasResourceProperties('AWS::DMS::ReplicationConfig', {
      ReplicationConfigIdentifier: Stack.of(task).resolve(task.taskIdentifier),
      ReplicationType: 'full-load-and-cdc',
      SourceEndpointArn: SOURCE_ARN,
      TargetEndpointArn: stack.resolve(target.endpointArn),
      // objects, not JSON strings, in AWS::DMS::ReplicationConfig
      TableMappings: JSON.parse(TableMappings.includeSchema('dms_sample').toJson()),
      ReplicationSettings: JSON.parse(new TaskSettings().toJson()),
      ComputeConfig: Match.objectLike({
        MaxCapacityUnits: 16,
        MinCapacityUnits: 2,
        MultiAZ: false,
        ReplicationSubnetGroupId: Match.anyValue(),
        VpcSecurityGroupIds: [stack.resolve((task.replicationConfig!.connections.securityGroups[0]).securityGroupId)],
      }),
      Tags: Match.arrayWith([
        { Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } },
        { Key: 'cdk-neon-migration:source', Value: 'source-pg' },
      ]),
    });
  });

  test('the settings keep what the task settings say (no key is removed), without CloudWatchLogGroup/Stream', () => {
    const settings = new TaskSettings({ lobMode: LobMode.FULL, maxFullLoadSubTasks: 16 });
    const { template } = serverlessTask({ settings });
    const config = Object.values(template.findResources('AWS::DMS::ReplicationConfig'))[0];
    const rendered = config.Properties.ReplicationSettings;
    expect(rendered).toEqual(JSON.parse(settings.toJson()));
    expect(rendered.FullLoadSettings.MaxFullLoadSubTasks).toBe(16);
    expect(rendered.TargetMetadata.FullLobMode).toBe(true);
    expect(rendered.Logging.CloudWatchLogGroup).toBeUndefined();
    expect(rendered.Logging.CloudWatchLogStream).toBeUndefined();
  });

  test.each([
    [MigrationType.FULL_LOAD, 'full-load'],
    [MigrationType.CDC, 'cdc'],
    [MigrationType.FULL_LOAD_AND_CDC, 'full-load-and-cdc'],
  ])('ReplicationType from migration type %s', (migrationType, replicationType) => {
    const { template } = serverlessTask({ migrationType });
    template.hasResourceProperties('AWS::DMS::ReplicationConfig', { ReplicationType: replicationType });
    template.hasResourceProperties('Custom::DmsServerlessLifecycle', { Role: 'Lifecycle', ReplicationType: replicationType });
  });

  test('the public members: replicationConfig, arn, no task, no replication instance', () => {
    const { task, stack } = serverlessTask();
    const config = task.replicationConfig!.resource;
    expect(task.computeKind).toBe(ReplicationComputeKind.SERVERLESS);
    expect(task.replicationTask).toBeUndefined();
    expect(task.replicationInstance).toBeUndefined();
    expect(task.replicationConfig!.node.id).toBe('Serverless');
    expect(stack.resolve(task.arn)).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(config), 'ReplicationConfigArn'] });
    expect(stack.resolve(task.replicationConfigArn)).toEqual(stack.resolve(task.arn));
    expect(stack.resolve(task.taskResourceId)).toEqual({ 'Fn::Select': [6, { 'Fn::Split': [':', stack.resolve(task.arn)] }] });
    expect(task.lifecycle).toBeInstanceOf(ServerlessReplicationLifecycle);
    expect(() => task.taskArn).toThrow(
      'DmsMigrationTask: taskArn is the ARN of a replication task, and S/Migration runs on DMS Serverless: use replicationConfigArn (or arn).');
    expect(() => task.metricCdcLatencySource()).toThrow(/metric\(\) builds replication-task metrics .* S\/Migration runs on DMS Serverless/);
  });

  test('the stopper runs before the configuration; the lifecycle after it and after the network egress', () => {
    const { stack, task, template } = serverlessTask();
    const resources = template.toJSON().Resources;
    const dependsOn = (id: string): string[] => resources[id].DependsOn ?? [];
    const configId = stack.getLogicalId(task.replicationConfig!.resource);
    const stopperId = stack.getLogicalId(task.lifecycle.stopper.node.defaultChild as any);
    const lifecycleId = stack.getLogicalId(task.lifecycle.resource.node.defaultChild as any);
    const routes = Object.keys(template.findResources('AWS::EC2::Route', { Properties: { NatGatewayId: Match.anyValue() } }));
    expect(routes.length).toBeGreaterThan(0);

    expect(dependsOn(configId)).toContain(stopperId);
    expect(dependsOn(lifecycleId)).toEqual(expect.arrayContaining([configId, ...routes]));
    expect(dependsOn(stopperId)).not.toContain(configId);

    const stopper = resources[stopperId].Properties;
    const lifecycle = resources[lifecycleId].Properties;
    expect(resources[stopperId].Type).toBe('Custom::DmsServerlessLifecycle');
    expect(stopper).toEqual(expect.objectContaining({
      Role: 'Stopper',
      ReplicationConfigIdentifier: Stack.of(task).resolve(task.taskIdentifier),
      PropertiesHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      SourceEndpointArn: SOURCE_ARN,
      TargetEndpointArn: stack.resolve(task.replicationConfig!.resource.targetEndpointArn),
    }));
    expect(stopper.ReplicationConfigArn).toBeUndefined();
    expect(lifecycle).toEqual(expect.objectContaining({
      Role: 'Lifecycle',
      ReplicationConfigArn: { 'Fn::GetAtt': [configId, 'ReplicationConfigArn'] },
      ReplicationConfigIdentifier: Stack.of(task).resolve(task.taskIdentifier),
      PropertiesHash: stopper.PropertiesHash,
      ReplicationType: 'full-load-and-cdc',
      StartOnDeploy: 'true',
      WaitForCompletion: 'false',
      OnUpdate: 'resume-processing',
    }));
    template.resourceCountIs('Custom::DmsConnectionTest', 0);
    template.resourceCountIs('Custom::DmsTaskLifecycle', 0);
    template.resourceCountIs('Custom::DmsTaskStopper', 0);
  });

  test('the properties hash changes with the table mappings and the capacity, not with an unrelated tag', () => {
    const hash = (overrides: Partial<DmsMigrationTaskProps>, compute: Partial<ServerlessComputeOptions> = {}, tag = false) => {
      const f = fixture(overrides, compute);
      new DmsMigrationTask(f.stack, 'Migration', f.props);
      if (tag) {
        Tags.of(f.stack).add('team', 'data');
      }
      const template = Template.fromStack(f.stack);
      return Object.values(template.findResources('Custom::DmsServerlessLifecycle', { Properties: { Role: 'Stopper' } }))[0].Properties.PropertiesHash;
    };
    const base = hash({});
    expect(hash({})).toBe(base);
    expect(hash({ schemaName: 'other' })).not.toBe(base);
    expect(hash({}, { maxCapacityUnits: 32 })).not.toBe(base);
    expect(hash({}, {}, true)).toBe(base);
  });

  test('lifecycle options and the CDC stop position are passed to the lifecycle resource', () => {
    const { template } = serverlessTask({
      startOnDeploy: false,
      waitForCompletion: true,
      onUpdate: TaskUpdateBehavior.RELOAD,
      cdcStopPosition: 'server_time:2026-02-09T12:12:12',
    });
    template.hasResourceProperties('Custom::DmsServerlessLifecycle', {
      Role: 'Lifecycle',
      StartOnDeploy: 'false',
      WaitForCompletion: 'true',
      MaxWaitSeconds: '3000',
      OnUpdate: 'reload-target',
      CdcStopPosition: 'server_time:2026-02-09T12:12:12',
    });
  });

  test('IAM: start and stop on the stack\'s tagged replication configurations, describe on *, once per stack, no policy per task', () => {
    const f = fixture();
    new DmsMigrationTask(f.stack, 'Migration', f.props);
    new DmsMigrationTask(f.stack, 'Second', { ...f.props, schemaName: 'sales' });
    const template = Template.fromStack(f.stack);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap(policy => policy.Properties.PolicyDocument.Statement)
      .filter((statement: any) => [statement.Action].flat().some((action: string) => action.endsWith('Replication') || action === 'dms:DescribeReplications'));
    expect(statements).toEqual([
      {
        Action: ['dms:StartReplication', 'dms:StopReplication', 'dms:ListTagsForResource'],
        Effect: 'Allow',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':replication-config:*']],
        },
        Condition: { StringEquals: { 'dms:replication-config-tag/cdk-neon-migration:lifecycle': { Ref: 'AWS::StackId' } } },
      },
      { Action: 'dms:DescribeReplications', Effect: 'Allow', Resource: '*' },
    ]);
    // both configurations carry the tag the condition names
    for (const config of Object.values(template.findResources('AWS::DMS::ReplicationConfig'))) {
      expect(config.Properties.Tags).toContainEqual({ Key: 'cdk-neon-migration:lifecycle', Value: { Ref: 'AWS::StackId' } });
    }
    expect(Object.keys(template.findResources('AWS::IAM::Policy')).filter(id => /^(Migration|Second)/.test(id))).toEqual([]);
  });

  test('placement from the serverless options wins over network', () => {
    const stack = new Stack(new App(), 'S');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'i', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const task = new DmsMigrationTask(stack, 'Migration', {
      source: new FakeSource(stack, 'Source'),
      target: new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') }),
      schemaName: 'public',
      compute: ReplicationCompute.serverless({ vpc, maxCapacityUnits: 4 }),
    });
    expect(task.startDependencies).toEqual([]);
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::ReplicationConfig', { ComputeConfig: Match.objectLike({ MaxCapacityUnits: 4 }) });
  });

  test('ReplicationCompute.instance() is the same as replicationInstance', () => {
    const { stack, props } = fixture();
    const instance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
      replicationInstanceArn: 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1',
      replicationInstanceIdentifier: 'dms-instance',
    });
    const task = new DmsMigrationTask(stack, 'Migration', { ...props, network: undefined, compute: ReplicationCompute.instance(instance) });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::DMS::ReplicationConfig', 0);
    template.hasResourceProperties('AWS::DMS::ReplicationTask', { ReplicationInstanceArn: 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1' });
    expect(task.replicationInstance).toBe(instance);
    expect(task.computeKind).toBe(ReplicationComputeKind.INSTANCE);
    expect(task.arn).toBe(task.taskArn);
    expect(task.replicationConfig).toBeUndefined();
    expect(task.replicationConfigArn).toBeUndefined();
  });

  test('the source database admits the serverless replication\'s security group before the replication starts (it tests its connections then)', () => {
    const { stack, task, template, database, network } = serverlessTask();
    const databaseId = stack.getLogicalId(database.node.defaultChild as ec2.CfnSecurityGroup);
    const replicationId = stack.getLogicalId(network.securityGroup.node.defaultChild as ec2.CfnSecurityGroup);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [databaseId, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [replicationId, 'GroupId'] },
      FromPort: 5432,
      ToPort: 5432,
    });
    const ingressId = Object.entries(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .find(([, r]) => JSON.stringify(r.Properties.GroupId).includes(databaseId))![0];
    const lifecycle = template.toJSON().Resources[stack.getLogicalId(task.lifecycle.resource.node.defaultChild as any)];
    expect(lifecycle.DependsOn).toContain(ingressId);
  });

  test('warnings: testConnections is ignored; none about Secrets Manager when the network has an endpoint', () => {
    const { task } = serverlessTask({ testConnections: true });
    const warnings = Annotations.fromStack(Stack.of(task)).findWarning('*', Match.stringLikeRegexp('.*'))
      .map(w => String(w.entry.data));
    expect(warnings).toEqual([
      expect.stringContaining('testConnections is ignored on DMS Serverless'),
      // a CDC migration into Neon without neonCompute
      expect.stringContaining('suspends after 5 idle minutes (scale to zero)'),
    ]);
  });

  test('valid CloudFormation', () => {
    const { stack } = serverlessTask();
    expectValidCloudFormation(stack);
  });

  test('cdk-nag clean', () => {
    expectNagClean((app, env) => {
      const f = fixture({}, {}, app, env);
      new DmsMigrationTask(f.stack, 'Migration', f.props);
      return f.stack;
    });
  });
});

describe('DmsMigrationTask on DMS Serverless: errors', () => {
  test('compute and replicationInstance together', () => {
    const { stack, props } = fixture();
    const replicationInstance = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
      replicationInstanceArn: 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE1',
      replicationInstanceIdentifier: 'dms-instance',
    });
    expect(() => new DmsMigrationTask(stack, 'Migration', { ...props, replicationInstance })).toThrow(
      'DmsMigrationTask: compute and replicationInstance are alternatives: pass the instance as compute: ReplicationCompute.instance(instance), or set replicationInstance alone.');
  });

  test('serverless without a network', () => {
    const { stack, props } = fixture();
    expect(() => new DmsMigrationTask(stack, 'Migration', { ...props, network: undefined })).toThrow(
      'DmsMigrationTask: a DMS Serverless task needs a network: set network (or network or vpc in ReplicationCompute.serverless({...})).');
  });

  test('two different networks', () => {
    const { stack, props } = fixture();
    const other = new NatEgressForReplication(stack, 'Other');
    expect(() => new DmsMigrationTask(stack, 'Migration', { ...props, compute: ReplicationCompute.serverless({ network: other, maxCapacityUnits: 2 }) }))
      .toThrow('DmsMigrationTask: network and the network of ReplicationCompute.serverless({...}) differ: set one of them.');
  });

  test.each([
    [{ cdcStartPosition: '0/2A3B4C5D' }],
    [{ cdcStartTime: new Date('2026-01-02T03:04:05Z') }],
  ])('custom CDC start points %j', (cdc) => {
    const { stack, props } = fixture({ migrationType: MigrationType.CDC, ...cdc });
    expect(() => new DmsMigrationTask(stack, 'Migration', props)).toThrow(
      'DmsMigrationTask: DMS Serverless does not support custom CDC start points: remove cdcStartPosition and cdcStartTime (CDC starts when the replication starts), or run the task on a replication instance.');
  });

  test.each([TableType.VIEW, TableType.ALL])('selecting views (%s) fails at synth', (tableType) => {
    const { stack, props } = fixture({ schemaName: undefined, tableMappings: new TableMappings().include('public', '%', tableType) });
    new DmsMigrationTask(stack, 'Migration', props);
    expect(() => Template.fromStack(stack)).toThrow(
      new RegExp(`selection rule '.*' selects views \\(table-type ${tableType}\\), which DMS Serverless does not support: select TableType.TABLE, or run the task on a replication instance.`));
  });

  test('tables only and a token capacity do not throw', () => {
    const { stack, props } = fixture({ schemaName: undefined, tableMappings: new TableMappings().include('public', '%', TableType.TABLE) },
      { maxCapacityUnits: Lazy.number({ produce: () => 8 }) });
    new DmsMigrationTask(stack, 'Migration', props);
    expect(() => Template.fromStack(stack)).not.toThrow();
  });

  test('a token stop position is passed on', () => {
    const { stack, props } = fixture({ migrationType: MigrationType.CDC, cdcStopPosition: Lazy.string({ produce: () => 'commit_time:2026-01-01T00:00:00' }) });
    new DmsMigrationTask(stack, 'Migration', props);
    Template.fromStack(stack).hasResourceProperties('Custom::DmsServerlessLifecycle', { CdcStopPosition: 'commit_time:2026-01-01T00:00:00' });
  });
});
