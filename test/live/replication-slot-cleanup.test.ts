import { App, SecretValue, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { NEON_URI, SOURCE_DATABASE_ACKNOWLEDGEMENTS, sourceSafetyStack } from './source-safety-stack';
import { REPLICATION_SLOT_CLEANUP_TYPE } from '../../lib/live/kinds';
import { ReplicationSlotCleanup } from '../../lib/live/replication-slot-cleanup';
import { SlotFunction } from '../../lib/live/slot-function';
import { DmsMigrationTask, DmsMigrationTaskProps } from '../../lib/migration';
import { MigrationAlarms } from '../../lib/monitoring';
import { NeonTargetEndpoint } from '../../lib/neon';
import { NatEgressForReplication } from '../../lib/network/nat-egress';
import { ReplicationInstance } from '../../lib/replication/replication-instance';
import { PostgresSourceEndpoint } from '../../lib/sources/postgres';
import { SourceDatabaseKind } from '../../lib/sources/source-database';
import { MigrationType } from '../../lib/task';
import { DeployedTemplate, TemplateJson } from '../helpers/deployed';
import { expectNagClean } from '../helpers/nag';
import { AWS_API, NetworkModel } from '../helpers/reachability';
import { expectValidCloudFormation } from '../helpers/schema';

function id(stack: Stack, construct: { node: { defaultChild?: unknown } } | ec2.CfnSecurityGroup): string {
  return stack.getLogicalId(((construct as any).node.defaultChild ?? construct) as any);
}

describe('ReplicationSlotCleanup', () => {
  test('a custom resource of the shared provider, after the task\'s start, naming the task, the source and the instance\'s addresses', () => {
    const { stack, task, cleanup, source, template } = sourceSafetyStack();
    const t = template();
    const resources = t.toJSON().Resources;
    const own = resources[id(stack, cleanup)];
    expect(own.Type).toBe(REPLICATION_SLOT_CLEANUP_TYPE);
    const instance = task.replicationInstance as ReplicationInstance;
    t.hasResource(REPLICATION_SLOT_CLEANUP_TYPE, {
      Properties: Match.objectLike({
        TaskArn: { Ref: id(stack, task) },
        TaskIdentifier: stack.resolve(task.taskIdentifier),
        TaskLogicalId: id(stack, task),
        SourceSecretArn: { Ref: Match.stringLikeRegexp('^DatabaseSecretAttachment') },
        DatabaseName: 'app',
        ReplicationInstanceAddresses: { 'Fn::GetAtt': [stack.getLogicalId(instance.resource), 'ReplicationInstancePrivateIpAddresses'] },
        RelayArn: { Ref: Match.stringLikeRegexp('^NeonDmsReplicationSlotsRelay') },
        ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NeonDmsMigrationProviderframeworkonEvent'), 'Arn'] },
      }),
    });
    expect(own.Properties.SlotName).toBeUndefined();
    // recorded once the lifecycle started the task; deleted before the lifecycle stops it and CloudFormation deletes it
    expect(own.DependsOn).toEqual(expect.arrayContaining([id(stack, task.lifecycle.resource)]));
    expect(JSON.stringify(own.Properties)).not.toMatch(/password/i);
    expect(source.databaseName).toBe('app');
  });

  test('the slot function runs in the replication subnets and security group, and reads only the source\'s secret', () => {
    const { stack, network, template } = sourceSafetyStack();
    const t = template();
    const slots = stack.node.findChild(SlotFunction.ID) as SlotFunction;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('finds and drops the replication slots'),
      Runtime: 'nodejs24.x',
      Timeout: 180,
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [id(stack, network.securityGroup as ec2.SecurityGroup), 'GroupId'] }, { 'Fn::GetAtt': [Match.stringLikeRegexp('HttpsEgress'), 'GroupId'] }],
        SubnetIds: Match.anyValue(),
      },
    });
    const policy = Object.values(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(slots.role.node.defaultChild as any) }] } }))[0] as any;
    const secretReads = policy.Properties.PolicyDocument.Statement.filter((s: any) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(secretReads).toHaveLength(1);
    expect(secretReads[0].Resource.Ref).toMatch(/^DatabaseSecretAttachment/);
  });

  test('the relay: an express state machine invoking the slot function, which the shared provider alone may run', () => {
    const { stack, template } = sourceSafetyStack();
    const t = template();
    const slots = stack.node.findChild(SlotFunction.ID) as SlotFunction;
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'EXPRESS',
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
      TracingConfiguration: { Enabled: true },
    });
    const relay = { Ref: stack.getLogicalId(slots.relay.node.defaultChild as any) };
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'states:StartSyncExecution', Effect: 'Allow', Resource: relay }] },
      Roles: [{ Ref: Match.stringLikeRegexp('^NeonDmsMigrationProviderHandlerRole') }],
    });
    const definition = JSON.stringify(t.findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineType: 'EXPRESS' } }));
    expect(definition).toContain(`{"Fn::GetAtt":["${stack.getLogicalId(slots.function.node.defaultChild as any)}","Arn"]}`);
  });

  test('the source database admits the slot function on its port', () => {
    const { stack, network, template } = sourceSafetyStack();
    template().hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [id(stack, network.securityGroup as ec2.SecurityGroup), 'GroupId'] },
      FromPort: 5432,
      ToPort: 5432,
    });
  });

  test('reachability over the template: the slot function reaches the source database and Secrets Manager', () => {
    const { stack, template } = sourceSafetyStack();
    const deployed = new DeployedTemplate(template().toJSON() as TemplateJson, { stackName: stack.stackName });
    const net = NetworkModel.of(deployed);
    const fn = net.workloads().find(w => w.logicalId.startsWith('NeonDmsReplicationSlotsHandler'))!;
    expect(fn).toBeDefined();
    expect(fn.publicIp).toBe(false);
    const db = net.workloads().find(w => w.name.startsWith('database'))!;
    const toDatabase = net.reach(fn, { kind: 'workload', workload: db, port: db.port! });
    expect(toDatabase.path.join(' | ')).toBeTruthy();
    expect(toDatabase.reachable).toBe(true);
    expect(net.reach(fn, AWS_API('secretsmanager')).reachable).toBe(true);
    // nothing else on the database: another port stays closed
    expect(net.reach(fn, { kind: 'workload', workload: db, port: 22 }).reachable).toBe(false);
  });

  test('one slot function and relay per stack, whatever the number of cleanups', () => {
    const { stack, task, network, source, template } = sourceSafetyStack();
    new ReplicationSlotCleanup(stack, 'Second', {
      source, replicationTask: task.replicationTask!, lifecycle: task.lifecycle as any, replicationInstance: task.replicationInstance!, network,
    });
    const t = template();
    expect(Object.keys(t.findResources('AWS::StepFunctions::StateMachine', { Properties: { StateMachineType: 'EXPRESS' } }))).toHaveLength(1);
    expect(Object.keys(t.findResources(REPLICATION_SLOT_CLEANUP_TYPE))).toHaveLength(2);
    expect(Object.keys(t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('replication slots') } }))).toHaveLength(1);
  });

  test('a slot the source endpoint names is passed on: the task\'s slot is known by name', () => {
    const { stack, cleanup, template } = sourceSafetyStack({ source: { slotName: 'orders_slot' }, migrationType: MigrationType.CDC });
    expect(template().toJSON().Resources[id(stack, cleanup)].Properties.SlotName).toBe('orders_slot');
  });

  test('nag clean', () => {
    expectNagClean((a, env) => sourceSafetyStack({}, a, env).stack, SOURCE_DATABASE_ACKNOWLEDGEMENTS);
  });

  test('valid CloudFormation', () => {
    expectValidCloudFormation(sourceSafetyStack().stack);
  });

  describe('validation', () => {
    test('a full-load task creates no slot: refused', () => {
      expect(() => sourceSafetyStack({ migrationType: MigrationType.FULL_LOAD, cleanup: {} }))
        .toThrow(/ReplicationSlotCleanup: replicationTask is a full-load task, which creates no replication slot: leave the cleanup out/);
    });

    test('an instance of unknown addresses needs replicationInstanceAddresses (or a named slot)', () => {
      const stack = new Stack(new App(), 'X');
      const imported = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'I', {
        replicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:ABC', replicationInstanceIdentifier: 'shared',
      });
      expect(() => sourceSafetyStack({ cleanup: { replicationInstance: imported } }))
        .toThrow(/its addresses are unknown: pass replicationInstanceAddresses/);
      expect(() => sourceSafetyStack({ cleanup: { replicationInstance: imported, replicationInstanceAddresses: ['10.0.3.17', 'rep-1'] } }))
        .toThrow(/replicationInstanceAddresses holds 'rep-1', which is not an IP address/);
      const { stack: s2, cleanup, template } = sourceSafetyStack({ cleanup: { replicationInstance: imported, replicationInstanceAddresses: ['10.0.3.17', '10.0.4.9'] } });
      expect(template().toJSON().Resources[id(s2, cleanup)].Properties.ReplicationInstanceAddresses).toEqual(['10.0.3.17', '10.0.4.9']);
    });
  });
});

test('the database kinds of the test stack', () => {
  const { database } = sourceSafetyStack();
  expect(database).toBeInstanceOf(rds.DatabaseInstance);
});

describe('DmsMigrationTask and MigrationAlarms wire the source safeguards by themselves', () => {
  /** A task from an RDS for PostgreSQL source, in a network or on an instance of its own. */
  function migration(props: Partial<DmsMigrationTaskProps> & { onInstance?: boolean; imported?: boolean } = {}) {
    const stack = new Stack(new App(), 'W');
    const network = new NatEgressForReplication(stack, 'Network');
    const database = new rds.DatabaseInstance(stack, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc: network.vpc,
      vpcSubnets: network.replicationSubnets,
    });
    const source = PostgresSourceEndpoint.fromRdsInstance(stack, 'Source', { instance: database, databaseName: 'app' });
    const target = new NeonTargetEndpoint(stack, 'Neon', { connectionString: NEON_URI, password: SecretValue.secretsManager('neon/password') });
    const { onInstance, imported, ...rest } = props;
    const placement = imported
      ? {
        replicationInstance: ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Imported', {
          replicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:R', replicationInstanceIdentifier: 'r',
        }),
      }
      : onInstance ? { replicationInstance: new ReplicationInstance(stack, 'Instance', { network }) } : { network };
    const task = new DmsMigrationTask(stack, 'Migration', {
      source, target, schemaName: 'app', migrationType: MigrationType.FULL_LOAD_AND_CDC, ...placement, ...rest,
    });
    const alarms = new MigrationAlarms(stack, 'Alarms', { migration: task });
    return { stack, task, alarms, template: () => Template.fromStack(stack) };
  }

  test('a CDC task from an RDS source: the slot cleanup, and the source alarms on the task\'s topic', () => {
    const { task, alarms, template } = migration();
    const t = template();
    expect(task.replicationSlotCleanup).toBeDefined();
    expect(Object.keys(t.findResources(REPLICATION_SLOT_CLEANUP_TYPE))).toHaveLength(1);
    expect(task.sourceDatabase?.kind).toBe(SourceDatabaseKind.RDS_INSTANCE);
    expect(alarms.sourceAlarms?.alarms).toHaveLength(4);
    expect(alarms.sourceAlarms?.topic).toBe(alarms.topic);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: 'AWS/RDS' } }))).toHaveLength(4);
  });

  test('a full load leaves no slot: neither cleanup nor source alarms', () => {
    const { task, alarms, template } = migration({ migrationType: MigrationType.FULL_LOAD });
    expect(task.replicationSlotCleanup).toBeUndefined();
    expect(task.sourceDatabase).toBeUndefined();
    expect(alarms.sourceAlarms).toBeUndefined();
    template().resourceCountIs(REPLICATION_SLOT_CLEANUP_TYPE, 0);
  });

  test('dropReplicationSlot: false leaves the cleanup out; true where it cannot apply is refused, naming what is missing', () => {
    expect(migration({ dropReplicationSlot: false }).task.replicationSlotCleanup).toBeUndefined();
    expect(() => migration({ dropReplicationSlot: true, migrationType: MigrationType.FULL_LOAD }))
      .toThrow(/DmsMigrationTask: dropReplicationSlot needs a CDC migration type \(FULL_LOAD_AND_CDC or CDC\): a full load leaves no slot\. Remove dropReplicationSlot/);
    expect(() => migration({ dropReplicationSlot: true, imported: true }))
      .toThrow(/dropReplicationSlot needs a network \(the replication network the slot function runs in, which reaches the source\): import the replication/);
  });

  test('on an instance of its own: the cleanup runs in the instance\'s network', () => {
    const { task } = migration({ onInstance: true });
    expect(task.replicationSlotCleanup).toBeDefined();
    expect(task.network).toBe(task.replicationInstance!.network);
  });

  test('on an instance imported without its network: no cleanup, and a note saying how to drop the slot by hand', () => {
    const { task, stack } = migration({ imported: true });
    expect(task.replicationSlotCleanup).toBeUndefined();
    Annotations.fromStack(stack).hasInfo('/W/Migration', Match.stringLikeRegexp('pg_drop_replication_slot'));
  });
});
