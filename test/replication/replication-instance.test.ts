import { Annotations as CdkAnnotations, App, CfnElement, Environment, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DependencyGroup } from 'constructs';
import { IReplicationNetwork } from '../../lib/core/interfaces';
import { NatEgressForReplication } from '../../lib/network';
import { DmsAccountRoles, ReplicationInstance } from '../../lib/replication';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

function setup(app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  return { app, stack, vpc };
}

function logicalIdOf(stack: Stack, resource: CfnElement): string {
  return stack.resolve(resource.logicalId);
}

describe('ReplicationInstance', () => {
  test('is never publicly accessible and is encrypted with a new rotating KMS key by default', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', { vpc });

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::ReplicationInstance', {
      PubliclyAccessible: false,
      ReplicationInstanceClass: 'dms.t3.medium',
      AllocatedStorage: 50,
      MultiAZ: false,
      AutoMinorVersionUpgrade: true,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationKey'), 'Arn'] },
      ReplicationInstanceIdentifier: Match.stringLikeRegexp('^s-replication-[a-z0-9]+-[0-9a-f]{8}$'),
      ReplicationSubnetGroupIdentifier: { Ref: Match.stringLikeRegexp('^ReplicationSubnetGroup') },
      VpcSecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationSecurityGroup'), 'GroupId'] }],
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::DMS::ReplicationInstance', { DeletionPolicy: 'Delete' });
  });

  test('creates the subnet group from the selected subnets after the account roles', () => {
    const { stack, vpc } = setup();
    const instance = new ReplicationInstance(stack, 'Replication', { vpc });

    const template = Template.fromStack(stack);
    const rolesId = logicalIdOf(stack, DmsAccountRoles.of(stack).resource.node.defaultChild as CfnElement);
    template.hasResource('AWS::DMS::ReplicationSubnetGroup', {
      Properties: {
        SubnetIds: vpc.isolatedSubnets.map(s => stack.resolve(s.subnetId)),
        ReplicationSubnetGroupIdentifier: Match.stringLikeRegexp('^s-replication-subnetgroup-[a-z0-9]+$'),
      },
      DependsOn: Match.arrayWith([rolesId]),
    });
    template.hasResourceProperties('Custom::DmsAccountRoles', { Partition: { Ref: 'AWS::Partition' } });
    template.resourceCountIs('Custom::DmsAccountRoles', 1);
    template.hasResource('AWS::DMS::ReplicationInstance', {
      DependsOn: Match.arrayWith([logicalIdOf(stack, instance.subnetGroup)]),
    });
  });

  test('one account-roles resource per stack however many instances', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'One', { vpc });
    new ReplicationInstance(stack, 'Two', { vpc });

    Template.fromStack(stack).resourceCountIs('Custom::DmsAccountRoles', 1);
    expect(DmsAccountRoles.of(stack)).toBe(DmsAccountRoles.of(stack));
  });

  test('manageAccountRoles: false creates no account-roles resource', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', { vpc, manageAccountRoles: false });

    const template = Template.fromStack(stack);
    template.resourceCountIs('Custom::DmsAccountRoles', 0);
    template.hasResource('AWS::DMS::ReplicationSubnetGroup', { DependsOn: Match.absent() });
  });

  test('gives the provider role least-privilege IAM access to exactly the two roles', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', { vpc });

    const roleArn = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, `:role/${name}`]],
    });
    const policyArn = (name: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::aws:policy/service-role/${name}`]],
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['iam:GetRole', 'iam:CreateRole', 'iam:TagRole'],
            Effect: 'Allow',
            Resource: [roleArn('dms-vpc-role'), roleArn('dms-cloudwatch-logs-role')],
          },
          {
            Action: 'iam:AttachRolePolicy',
            Effect: 'Allow',
            Resource: [roleArn('dms-vpc-role'), roleArn('dms-cloudwatch-logs-role')],
            Condition: {
              ArnEquals: {
                'iam:PolicyARN': [policyArn('AmazonDMSVPCManagementRole'), policyArn('AmazonDMSCloudWatchLogsRole')],
              },
            },
          },
        ]),
      },
    });
  });

  test('passes every setting through, lowercasing the identifier', () => {
    const { stack, vpc } = setup();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const instance = new ReplicationInstance(stack, 'Replication', {
      vpc,
      instanceClass: 'dms.r5.large',
      allocatedStorage: 100,
      multiAz: true,
      engineVersion: '3.5.4',
      allowMajorVersionUpgrade: true,
      autoMinorVersionUpgrade: false,
      kmsKey: key,
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      replicationInstanceIdentifier: 'My-Migration-1',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    expect(instance.replicationInstanceIdentifier).toBe('my-migration-1');
    const template = Template.fromStack(stack);
    template.hasResource('AWS::DMS::ReplicationInstance', {
      Properties: {
        ReplicationInstanceClass: 'dms.r5.large',
        AllocatedStorage: 100,
        MultiAZ: true,
        EngineVersion: '3.5.4',
        AllowMajorVersionUpgrade: true,
        AutoMinorVersionUpgrade: false,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MyKey'), 'Arn'] },
        PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
        ReplicationInstanceIdentifier: 'my-migration-1',
        PubliclyAccessible: false,
      },
      DeletionPolicy: 'Retain',
    });
    template.resourceCountIs('AWS::KMS::Key', 1);
  });

  test('uses the network: its subnets, its security group and its egressReady', () => {
    const { stack, vpc } = setup();
    const securityGroup = new ec2.SecurityGroup(stack, 'NetworkSg', { vpc });
    const egressReady = new DependencyGroup();
    const network: IReplicationNetwork = {
      vpc,
      replicationSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroup,
      egressReady,
    };
    const instance = new ReplicationInstance(stack, 'Replication', { network });

    expect(instance.egressReady).toBe(egressReady);
    expect(instance.connections.securityGroups).toEqual([securityGroup]);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::ReplicationInstance', {
      VpcSecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkSg'), 'GroupId'] }],
    });
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
  });

  test('metrics use the AWS/DMS namespace and the instance identifier', () => {
    const { stack, vpc } = setup();
    const instance = new ReplicationInstance(stack, 'Replication', { vpc, replicationInstanceIdentifier: 'mig' });

    const cases: Array<[string, () => any]> = [
      ['CPUUtilization', () => instance.metricCpuUtilization()],
      ['FreeableMemory', () => instance.metricFreeableMemory()],
      ['FreeStorageSpace', () => instance.metricFreeStorageSpace()],
      ['SwapUsage', () => instance.metricSwapUsage()],
      ['NetworkTransmitThroughput', () => instance.metric('NetworkTransmitThroughput')],
    ];
    for (const [name, make] of cases) {
      const metric = make();
      expect(metric.namespace).toBe('AWS/DMS');
      expect(metric.metricName).toBe(name);
      expect(metric.dimensions).toEqual({ ReplicationInstanceIdentifier: 'mig' });
      expect(metric.statistic).toBe('Average');
    }
  });

  test('imports an existing instance with its security groups', () => {
    const { stack, vpc } = setup();
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    const imported = ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Imported', {
      replicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:ABC',
      replicationInstanceIdentifier: 'existing',
      securityGroups: [sg],
    });

    expect(imported.replicationInstanceArn).toBe('arn:aws:dms:us-east-1:123456789012:rep:ABC');
    expect(imported.connections.securityGroups).toEqual([sg]);
    expect(imported.metricCpuUtilization().dimensions).toEqual({ ReplicationInstanceIdentifier: 'existing' });
    Template.fromStack(stack).resourceCountIs('AWS::DMS::ReplicationInstance', 0);
  });

  test('accepts tokens for validated values', () => {
    const { stack, vpc } = setup();
    expect(() => new ReplicationInstance(stack, 'Replication', {
      vpc,
      instanceClass: Lazy.string({ produce: () => 'dms.c5.large' }),
      allocatedStorage: Token.asNumber(Lazy.number({ produce: () => 5000000 })),
      preferredMaintenanceWindow: Lazy.string({ produce: () => 'x' }),
      replicationInstanceIdentifier: Lazy.string({ produce: () => '--' }),
    })).not.toThrow();
  });

  test.each([
    [{ instanceClass: 't3.medium' }, "ReplicationInstance: instanceClass 't3.medium' is not a DMS instance class: use the form dms.<family>.<size>, e.g. dms.t3.medium or dms.r5.large."],
    [{ allocatedStorage: 4 }, 'ReplicationInstance: allocatedStorage must be a whole number of GiB from 5 to 6144, got 4.'],
    [{ allocatedStorage: 6145 }, 'ReplicationInstance: allocatedStorage must be a whole number of GiB from 5 to 6144, got 6145.'],
    [{ allocatedStorage: 50.5 }, 'ReplicationInstance: allocatedStorage must be a whole number of GiB from 5 to 6144, got 50.5.'],
    [{ preferredMaintenanceWindow: 'sunday 5am' }, "ReplicationInstance: preferredMaintenanceWindow 'sunday 5am' must have the form ddd:hh24:mi-ddd:hh24:mi in UTC, e.g. sun:05:00-sun:06:00."],
    [{ removalPolicy: RemovalPolicy.SNAPSHOT }, 'ReplicationInstance: removalPolicy SNAPSHOT is not supported by DMS replication instances: use DESTROY or RETAIN.'],
    [{ replicationInstanceIdentifier: '1abc' }, "ReplicationInstance: replicationInstanceIdentifier '1abc' must begin with a letter."],
    [{ replicationInstanceIdentifier: 'a'.repeat(64) }, `ReplicationInstance: replicationInstanceIdentifier '${'a'.repeat(64)}' must be 1 to 63 characters long (it has 64).`],
    [{ replicationInstanceIdentifier: 'ab_c' }, "ReplicationInstance: replicationInstanceIdentifier 'ab_c' must contain only ASCII letters, digits and hyphens."],
    [{ replicationInstanceIdentifier: 'abc-' }, "ReplicationInstance: replicationInstanceIdentifier 'abc-' must not end with a hyphen."],
    [{ replicationInstanceIdentifier: 'a--b' }, "ReplicationInstance: replicationInstanceIdentifier 'a--b' must not contain two consecutive hyphens."],
    [{ replicationInstanceIdentifier: '' }, "ReplicationInstance: replicationInstanceIdentifier '' must be 1 to 63 characters long (it has 0), begin with a letter."],
  ])('rejects %j', (props, message) => {
    const { stack, vpc } = setup();
    expect(() => new ReplicationInstance(stack, 'Replication', { vpc, ...props })).toThrow(message);
  });

  test('rejects a network together with a vpc, subnets or security groups, and no placement at all', () => {
    const { stack, vpc } = setup();
    const network: IReplicationNetwork = {
      vpc,
      replicationSubnets: {},
      securityGroup: new ec2.SecurityGroup(stack, 'Sg', { vpc }),
      egressReady: new DependencyGroup(),
    };
    expect(() => new ReplicationInstance(stack, 'A', { network, vpc }))
      .toThrow('ReplicationInstance: network and vpc are alternatives: set one of them.');
    expect(() => new ReplicationInstance(stack, 'B', { network, vpcSubnets: {} }))
      .toThrow('ReplicationInstance: vpcSubnets and securityGroups only apply with vpc; network brings its own replicationSubnets and securityGroup.');
    expect(() => new ReplicationInstance(stack, 'C', {}))
      .toThrow('ReplicationInstance: set network (an IReplicationNetwork such as NatEgressForReplication) or vpc.');
  });

  test('rejects fewer than two subnets, and subnets in a single Availability Zone', () => {
    const { stack, vpc } = setup();
    expect(() => new ReplicationInstance(stack, 'One', { vpc, vpcSubnets: { subnets: [vpc.isolatedSubnets[0]] } }))
      .toThrow("ReplicationInstance: the replication subnet group needs at least 2 subnets in at least 2 Availability Zones, but the subnet selection has 1. Select more subnets (vpcSubnets or the network's replicationSubnets).");

    const sameZone = [
      ec2.Subnet.fromSubnetAttributes(stack, 'A', { subnetId: 'subnet-a', availabilityZone: 'us-east-1a' }),
      ec2.Subnet.fromSubnetAttributes(stack, 'B', { subnetId: 'subnet-b', availabilityZone: 'us-east-1a' }),
    ];
    expect(() => new ReplicationInstance(stack, 'Same', { vpc, vpcSubnets: { subnets: sameZone } }))
      .toThrow('ReplicationInstance: the replication subnet group needs subnets in at least 2 Availability Zones, but every selected subnet is in us-east-1a. Select subnets in another Availability Zone too.');

    // Availability Zones not known at synth: DMS checks them at deploy time.
    const unknownZones = [ec2.Subnet.fromSubnetId(stack, 'C', 'subnet-c'), ec2.Subnet.fromSubnetId(stack, 'D', 'subnet-d')];
    expect(() => new ReplicationInstance(stack, 'Unknown', { vpc, vpcSubnets: { subnets: unknownZones } })).not.toThrow();
  });

  test('template matches the CloudFormation schema and is cdk-nag clean', () => {
    const build = (app: App, env?: Environment) => {
      const { stack, vpc } = setup(app, env);
      new ReplicationInstance(stack, 'Replication', { vpc });
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build, [
      { id: 'AwsSolutions-VPC7', reason: 'The test VPC has no flow logs; it only hosts the construct under test.', pathPattern: '^S/Vpc' },
      { id: 'NIST.800.53.R5-VPCFlowLogsEnabled', reason: 'The test VPC has no flow logs; it only hosts the construct under test.', pathPattern: '^S/Vpc' },
      { id: 'NIST.800.53.R5-VPCDefaultSecurityGroupClosed', reason: 'The default security group of the test VPC is unused.', pathPattern: '^S/Vpc' },
    ]);
  });
});

describe('DMS engine version', () => {
  test('3.6.1 unless told otherwise: DMS\'s own default (3.5.4) cannot read PostgreSQL 17 or 18', () => {
    const { stack, vpc } = setup();
    const instance = new ReplicationInstance(stack, 'Replication', { vpc });
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::ReplicationInstance', { EngineVersion: '3.6.1' });
    expect(instance.engineVersion).toBe('3.6.1');
  });

  test.each(['latest', '3', '3.6.x'])('refuses engineVersion %j, naming it', (engineVersion) => {
    const { stack, vpc } = setup();
    expect(() => new ReplicationInstance(stack, 'Replication', { vpc, engineVersion }))
      .toThrow(`ReplicationInstance: engineVersion '${engineVersion}' is not a DMS engine version such as 3.6.1.`);
  });
});

describe('where DMS reads endpoint credentials (Secrets Manager, from inside the VPC)', () => {
  test('placed in a VPC that says nothing about Secrets Manager: a warning names the fix', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', { vpc });
    Annotations.fromStack(stack).hasWarning('/S/Replication', Match.stringLikeRegexp(
      'reads its endpoints\' credentials from AWS Secrets Manager from inside the VPC.*interface VPC endpoint for Secrets Manager.*or a NAT route and egress on 443'));
  });

  test('placed in a network that reaches Secrets Manager: no warning', () => {
    const { stack } = setup();
    const network = new NatEgressForReplication(stack, 'Net');
    new ReplicationInstance(stack, 'Replication', { network });
    expect(Annotations.fromStack(stack).findWarning('/S/Replication', Match.stringLikeRegexp('Secrets Manager'))).toHaveLength(0);
  });
});

describe('instance classes DMS does not document', () => {
  test('an unknown class gets a warning naming the known classes, and still synthesizes', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', { vpc, instanceClass: 'dms.m5.large' });

    const warnings = Annotations.fromStack(stack).findWarning('/S/Replication',
      Match.stringLikeRegexp('cdk-neon-migration:unknownInstanceClass'));
    expect(warnings).toHaveLength(1);
    const message = String(warnings[0].entry.data);
    expect(message).toContain("instanceClass 'dms.m5.large' is not a replication instance class DMS documents");
    for (const family of [
      'dms.t2.micro|small|medium|large',
      'dms.t3.micro|small|medium|large',
      'dms.c4.large|xlarge|2xlarge|4xlarge',
      'dms.c5.large|xlarge|2xlarge|4xlarge|9xlarge|12xlarge|18xlarge|24xlarge',
      'dms.c6i.large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge|32xlarge',
      'dms.r4.large|xlarge|2xlarge|4xlarge|8xlarge',
      'dms.r5.large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge',
      'dms.r6i.large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge|32xlarge',
    ]) {
      expect(message).toContain(family);
    }
    expect(message).toContain("acknowledge this warning (Annotations.of(instance).acknowledgeWarning('cdk-neon-migration:unknownInstanceClass'))");
    Template.fromStack(stack).hasResourceProperties('AWS::DMS::ReplicationInstance', { ReplicationInstanceClass: 'dms.m5.large' });
  });

  test('the warning can be acknowledged, as it says', () => {
    const { stack, vpc } = setup();
    const instance = new ReplicationInstance(stack, 'Replication', { vpc, instanceClass: 'dms.c7i.large' });
    CdkAnnotations.of(instance).acknowledgeWarning('cdk-neon-migration:unknownInstanceClass');
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('unknownInstanceClass'))).toHaveLength(0);
  });

  test.each(['dms.t2.micro', 'dms.t3.medium', 'dms.c4.4xlarge', 'dms.c5.9xlarge', 'dms.c6i.32xlarge', 'dms.r4.8xlarge', 'dms.r5.24xlarge', 'dms.r6i.large'])(
    '%s is known: no warning', (instanceClass) => {
      const { stack, vpc } = setup();
      new ReplicationInstance(stack, 'Replication', { vpc, instanceClass });
      expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('unknownInstanceClass'))).toHaveLength(0);
    });

  test('the default class and a token get no warning', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Default', { vpc });
    new ReplicationInstance(stack, 'Token', { vpc, instanceClass: Lazy.string({ produce: () => 'dms.x9.huge' }) });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('unknownInstanceClass'))).toHaveLength(0);
  });
});

describe('task log group (dms-tasks-<identifier>)', () => {
  /** The log groups DMS would write task logs to (the stack also has the handlers' log group). */
  function taskLogGroups(template: Template) {
    return Object.entries(template.findResources('AWS::Logs::LogGroup'))
      .filter(([, resource]) => JSON.stringify(resource.Properties.LogGroupName ?? '').includes('dms-tasks-'));
  }

  function logGroupOf(template: Template) {
    const groups = taskLogGroups(template);
    expect(groups).toHaveLength(1);
    return { id: groups[0][0], resource: groups[0][1] };
  }

  test('the instance creates the log group DMS writes task logs to: one year, encrypted with its key, before the instance, deleted with it', () => {
    const { stack, vpc } = setup();
    const instance = new ReplicationInstance(stack, 'Replication', { vpc });

    const template = Template.fromStack(stack);
    const { id, resource } = logGroupOf(template);
    expect(stack.resolve(instance.taskLogGroup.logGroupName)).toEqual({ Ref: id });
    expect(resource.Properties.LogGroupName).toBe(`dms-tasks-${stack.resolve(instance.replicationInstanceIdentifier)}`);
    expect(resource.Properties.LogGroupName).toMatch(/^dms-tasks-s-replication-[a-z0-9]+-[0-9a-f]{8}$/);
    expect(resource.Properties.RetentionInDays).toBe(365);
    expect(resource.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReplicationKey/), 'Arn'] });
    expect(resource.DeletionPolicy).toBe('Delete');
    expect(resource.UpdateReplacePolicy).toBe('Delete');
    template.hasResource('AWS::DMS::ReplicationInstance', { DependsOn: Match.arrayWith([id]) });
  });

  test('the instance key lets CloudWatch Logs use it for this log group only', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', { vpc, replicationInstanceIdentifier: 'orders' });

    const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    const forLogs = key.Properties.KeyPolicy.Statement.filter((s: any) => JSON.stringify(s.Principal).includes('logs.'));
    expect(forLogs).toHaveLength(1);
    expect({ ...forLogs[0], Action: [...forLogs[0].Action].sort() }).toEqual({
      Effect: 'Allow',
      Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      Action: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
      Resource: '*',
      Condition: {
        ArnEquals: {
          'kms:EncryptionContext:aws:logs:arn': {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:dms-tasks-orders']],
          },
        },
      },
    });
  });

  test('taskLogRetention sets the retention; RETAIN keeps the log group with the instance', () => {
    const { stack, vpc } = setup();
    new ReplicationInstance(stack, 'Replication', {
      vpc,
      replicationInstanceIdentifier: 'Orders',
      taskLogRetention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const { resource } = logGroupOf(Template.fromStack(stack));
    expect(resource.Properties).toMatchObject({ LogGroupName: 'dms-tasks-orders', RetentionInDays: 30 });
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
  });

  test('a key of the stack passed as kmsKey encrypts the log group and gets the statement', () => {
    const { stack, vpc } = setup();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    new ReplicationInstance(stack, 'Replication', { vpc, kmsKey: key });

    const template = Template.fromStack(stack);
    expect(logGroupOf(template).resource.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] });
    const statements = template.toJSON().Resources[stack.getLogicalId(key.node.defaultChild as kms.CfnKey)].Properties.KeyPolicy.Statement;
    expect(statements.some((s: any) => JSON.stringify(s.Principal).includes('logs.'))).toBe(true);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('taskLogKeyPolicy'))).toHaveLength(0);
  });

  test('an imported kmsKey: a warning says what its key policy must allow', () => {
    const { stack, vpc } = setup();
    const key = kms.Key.fromKeyArn(stack, 'Imported', 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    new ReplicationInstance(stack, 'Replication', { vpc, kmsKey: key, replicationInstanceIdentifier: 'orders' });

    Annotations.fromStack(stack).hasWarning('/S/Replication', Match.stringLikeRegexp(
      'kmsKey is imported.*logs.<region>.amazonaws.com.*for the log group dms-tasks-orders.*cdk-neon-migration:taskLogKeyPolicy'));
    expect(logGroupOf(Template.fromStack(stack)).resource.Properties.KmsKeyId).toBe(key.keyArn);
  });

  test('an imported instance creates no log group', () => {
    const { stack } = setup();
    ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Imported', {
      replicationInstanceArn: 'arn:aws:dms:us-east-1:123456789012:rep:ABC',
      replicationInstanceIdentifier: 'existing',
    });
    expect(taskLogGroups(Template.fromStack(stack))).toHaveLength(0);
  });
});
