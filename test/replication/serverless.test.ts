import { App, CfnElement, Environment, Fn, Lazy, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { ExistingEgressForReplication, NatEgressForReplication, SecretsManagerAccess } from '../../lib/network';
import {
  DmsAccountRoles,
  ReplicationCompute,
  ReplicationComputeKind,
  ReplicationInstance,
  ReplicationType,
  ServerlessReplication,
  ServerlessReplicationProps,
} from '../../lib/replication';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

const SOURCE = 'arn:aws:dms:us-east-1:123456789012:endpoint:SOURCE';
const TARGET = 'arn:aws:dms:us-east-1:123456789012:endpoint:TARGET';
const MAPPINGS = JSON.stringify({
  rules: [{
    'rule-type': 'selection',
    'rule-id': '1',
    'rule-name': 'all',
    'object-locator': { 'schema-name': 'public', 'table-name': '%' },
    'rule-action': 'include',
  }],
});

function setup(app = new App(), env?: Environment) {
  const stack = new Stack(app, 'S', { env });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [
      { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  const base: ServerlessReplicationProps = {
    vpc,
    maxCapacityUnits: 16,
    sourceEndpointArn: SOURCE,
    targetEndpointArn: TARGET,
    replicationType: ReplicationType.FULL_LOAD_AND_CDC,
    tableMappings: MAPPINGS,
  };
  return { stack, vpc, base };
}

describe('ServerlessReplication', () => {
  test('renders a ReplicationConfig with table mappings and settings as JSON objects', () => {
    const { stack, base } = setup();
    const replication = new ServerlessReplication(stack, 'Serverless', {
      ...base,
      minCapacityUnits: 2,
      multiAz: true,
      replicationSettings: JSON.stringify({ Logging: { EnableLogging: true } }),
      supplementalSettings: JSON.stringify({ Key: 'value' }),
      replicationConfigIdentifier: 'Neon-Migration',
    });

    expect(replication.replicationConfigIdentifier).toBe('neon-migration');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::ReplicationConfig', {
      ReplicationConfigIdentifier: 'neon-migration',
      ReplicationType: 'full-load-and-cdc',
      SourceEndpointArn: SOURCE,
      TargetEndpointArn: TARGET,
      TableMappings: JSON.parse(MAPPINGS),
      ReplicationSettings: { Logging: { EnableLogging: true } },
      SupplementalSettings: { Key: 'value' },
      ComputeConfig: {
        MaxCapacityUnits: 16,
        MinCapacityUnits: 2,
        MultiAZ: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServerlessKey'), 'Arn'] },
        ReplicationSubnetGroupId: { Ref: Match.stringLikeRegexp('^ServerlessSubnetGroup') },
        VpcSecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ServerlessSecurityGroup'), 'GroupId'] }],
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    expect(stack.resolve(replication.replicationConfigArn)).toEqual({
      'Fn::GetAtt': [stack.resolve((replication.resource as CfnElement).logicalId), 'ReplicationConfigArn'],
    });
  });

  test('defaults: single AZ, no minimum, a generated identifier, subnet group after the account roles', () => {
    const { stack, base } = setup();
    new ServerlessReplication(stack, 'Serverless', base);

    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DMS::ReplicationConfig', {
      ReplicationConfigIdentifier: Match.stringLikeRegexp('^s-serverless-[a-z0-9]+-[0-9a-f]{8}$'),
      ReplicationSettings: Match.absent(),
      ComputeConfig: { MaxCapacityUnits: 16, MinCapacityUnits: Match.absent(), MultiAZ: false },
    });
    const rolesId = stack.resolve((DmsAccountRoles.of(stack).resource.node.defaultChild as CfnElement).logicalId);
    template.hasResource('AWS::DMS::ReplicationSubnetGroup', { DependsOn: [rolesId] });
  });

  test('the replication config is created after its subnet group', () => {
    const { stack, base } = setup();
    const replication = new ServerlessReplication(stack, 'Serverless', base);

    Template.fromStack(stack).hasResource('AWS::DMS::ReplicationConfig', {
      DependsOn: Match.arrayWith([stack.resolve(replication.subnetGroup.logicalId)]),
    });
  });

  test('creates no log group: DMS Serverless names its own after a resource id known only at deploy time (README "Tear down")', () => {
    const { stack, base } = setup();
    const replication = new ServerlessReplication(stack, 'Serverless', base);

    const template = Template.fromStack(stack);
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup')).map((r) => JSON.stringify(r.Properties.LogGroupName ?? ''));
    expect(groups.filter((name) => name.includes('dms-'))).toEqual([]);
    // the resource id DMS names the log group after is the last part of the ARN, an attribute of the deployed resource
    expect(stack.resolve(replication.replicationConfigArn)).toEqual({
      'Fn::GetAtt': [stack.resolve(replication.resource.logicalId), 'ReplicationConfigArn'],
    });
    template.hasResourceProperties('AWS::DMS::ReplicationConfig', { ResourceIdentifier: Match.absent() });
  });

  test('parses a table-mappings token when it resolves to a JSON string', () => {
    const { stack, base } = setup();
    new ServerlessReplication(stack, 'Serverless', { ...base, tableMappings: Lazy.string({ produce: () => MAPPINGS }) });

    Template.fromStack(stack).hasResourceProperties('AWS::DMS::ReplicationConfig', { TableMappings: JSON.parse(MAPPINGS) });
  });

  test('accepts token capacities', () => {
    const { stack, base } = setup();
    expect(() => new ServerlessReplication(stack, 'Serverless', {
      ...base,
      maxCapacityUnits: Token.asNumber(Fn.importValue('Max')),
      minCapacityUnits: Token.asNumber(Fn.importValue('Min')),
    })).not.toThrow();
  });

  test.each([
    [{ maxCapacityUnits: 3 }, 'ServerlessReplication: maxCapacityUnits must be one of 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384 (DCUs), got 3.'],
    [{ maxCapacityUnits: 512 }, 'ServerlessReplication: maxCapacityUnits must be one of 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384 (DCUs), got 512.'],
    [{ minCapacityUnits: 6 }, 'ServerlessReplication: minCapacityUnits must be one of 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384 (DCUs), got 6.'],
    [{ minCapacityUnits: 32 }, 'ServerlessReplication: minCapacityUnits (32) must not be larger than maxCapacityUnits (16).'],
    [{ tableMappings: '{"rules": [' }, /^ServerlessReplication: tableMappings is not valid JSON \(.+\)\.$/],
    [{ tableMappings: '[]' }, 'ServerlessReplication: tableMappings must be a JSON object, e.g. {"rules":[…]} for table mappings.'],
    [{ replicationSettings: 'nope' }, /^ServerlessReplication: replicationSettings is not valid JSON/],
    [{ replicationConfigIdentifier: 'bad_name' }, "ServerlessReplication: replicationConfigIdentifier 'bad_name' must contain only ASCII letters, digits and hyphens."],
  ])('rejects %j', (props, message) => {
    const { stack, base } = setup();
    expect(() => new ServerlessReplication(stack, 'Serverless', { ...base, ...props } as ServerlessReplicationProps)).toThrow(message);
  });

  test('template matches the CloudFormation schema and is cdk-nag clean', () => {
    const build = (app: App, env?: Environment) => {
      const { stack, base } = setup(app, env);
      new ServerlessReplication(stack, 'Serverless', base);
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

describe('ReplicationCompute', () => {
  test('instance() carries the instance', () => {
    const { stack, vpc } = setup();
    const instance = new ReplicationInstance(stack, 'Replication', { vpc });
    const compute = ReplicationCompute.instance(instance);

    expect(compute.kind).toBe(ReplicationComputeKind.INSTANCE);
    expect(compute.replicationInstance).toBe(instance);
    expect(compute.serverlessOptions).toBeUndefined();
  });

  test('serverless() carries the options and validates capacities at once', () => {
    const { vpc } = setup();
    const compute = ReplicationCompute.serverless({ vpc, maxCapacityUnits: 8, minCapacityUnits: 1 });

    expect(compute.kind).toBe(ReplicationComputeKind.SERVERLESS);
    expect(compute.serverlessOptions?.maxCapacityUnits).toBe(8);
    expect(compute.replicationInstance).toBeUndefined();
    expect(() => ReplicationCompute.serverless({ vpc, maxCapacityUnits: 10 }))
      .toThrow('ReplicationCompute.serverless: maxCapacityUnits must be one of 1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384 (DCUs), got 10.');
    expect(() => ReplicationCompute.serverless({ vpc, maxCapacityUnits: 4, minCapacityUnits: 8 }))
      .toThrow('ReplicationCompute.serverless: minCapacityUnits (8) must not be larger than maxCapacityUnits (4).');
  });
});

describe('where DMS Serverless reads endpoint credentials (only through a VPC endpoint)', () => {
  test('a network that reaches Secrets Manager other than through an endpoint in the VPC is refused', () => {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Net', {
      secretsManagerAccess: SecretsManagerAccess.viaPeer(ec2.Peer.anyIpv4(), 'the public endpoint through the NAT gateway'),
    });
    expect(() => new ServerlessReplication(stack, 'Serverless', {
      network,
      maxCapacityUnits: 4,
      sourceEndpointArn: SOURCE,
      targetEndpointArn: TARGET,
      replicationType: ReplicationType.FULL_LOAD,
      tableMappings: MAPPINGS,
    })).toThrow('ServerlessReplication: DMS Serverless reaches AWS Secrets Manager only through an interface VPC endpoint in the replication subnets, '
      + 'and the network reaches it another way (SecretsManagerAccess.publicEndpoint() is the default in an existing VPC, or viaPeer). '
      + 'Give the network secretsManagerAccess: SecretsManagerAccess.fromEndpoint(yourEndpoint) (the VPC\'s own Secrets Manager endpoint) '
      + 'or SecretsManagerAccess.newEndpoint() (private DNS: every workload of the VPC then calls Secrets Manager through it), '
      + 'or run the task on a replication instance.');
  });

  test('an existing VPC\'s default (the public endpoint through its egress) is refused the same way, naming fromEndpoint and newEndpoint', () => {
    const stack = new Stack(new App(), 'S');
    const network = new ExistingEgressForReplication(stack, 'Net', { vpc: new ec2.Vpc(stack, 'Vpc') });
    const rest = {
      maxCapacityUnits: 4, sourceEndpointArn: SOURCE, targetEndpointArn: TARGET, replicationType: ReplicationType.FULL_LOAD, tableMappings: MAPPINGS,
    };
    expect(() => new ServerlessReplication(stack, 'Serverless', { network, ...rest }))
      .toThrow(/SecretsManagerAccess\.fromEndpoint\(yourEndpoint\).*SecretsManagerAccess\.newEndpoint\(\)/);
    const withEndpoint = new ExistingEgressForReplication(stack, 'Net2', { vpc: new ec2.Vpc(stack, 'Vpc2'), secretsManagerAccess: SecretsManagerAccess.newEndpoint() });
    expect(() => new ServerlessReplication(stack, 'Serverless2', { network: withEndpoint, ...rest })).not.toThrow();
  });

  test('placed in a VPC that says nothing about it: a warning says an endpoint is the only way', () => {
    const { stack, base } = setup();
    new ServerlessReplication(stack, 'Serverless', base);
    Annotations.fromStack(stack).hasWarning('/S/Serverless', Match.stringLikeRegexp('\\(DMS Serverless accepts nothing else\\)'));
  });

  test('placed in a network with the endpoint: no warning', () => {
    const stack = new Stack(new App(), 'S');
    const network = new NatEgressForReplication(stack, 'Net');
    new ServerlessReplication(stack, 'Serverless', {
      network,
      maxCapacityUnits: 4,
      sourceEndpointArn: SOURCE,
      targetEndpointArn: TARGET,
      replicationType: ReplicationType.FULL_LOAD,
      tableMappings: MAPPINGS,
    });
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('Secrets Manager'))).toHaveLength(0);
  });
});
