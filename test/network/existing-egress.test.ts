import { App, CfnResource, Environment, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SecretsManagerRoute } from '../../lib/core/interfaces';
import { acknowledgeRules } from '../../lib/core/nag';
import { ExistingEgressForReplication, SecretsManagerAccess } from '../../lib/network';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';

function newStack(env?: Environment): Stack {
  return new Stack(new App(), 'S', { env });
}

function resourcesByType(stack: Stack): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [id, r] of Object.entries<any>(Template.fromStack(stack).toJSON().Resources ?? {})) {
    (result[r.Type] ??= []).push(id);
  }
  return result;
}

/** A VPC whose private subnets leave through a transit gateway (a network account's egress VPC and firewall behind it). */
function transitGatewayVpc(stack: Stack): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'App', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
  });
  const attachment = new ec2.CfnTransitGatewayAttachment(stack, 'Attachment', {
    transitGatewayId: 'tgw-0egress', vpcId: vpc.vpcId, subnetIds: vpc.isolatedSubnets.map(s => s.subnetId),
  });
  vpc.isolatedSubnets.forEach((subnet, i) => {
    const route = new ec2.CfnRoute(stack, `ToTransitGateway${i}`, { routeTableId: subnet.routeTable.routeTableId, destinationCidrBlock: '0.0.0.0/0', transitGatewayId: 'tgw-0egress' });
    route.addDependency(attachment);
  });
  return vpc;
}

describe('a VPC made with ec2.Vpc defaults (private subnets behind NAT gateways)', () => {
  test('runs in the private subnets on their NAT gateways: nothing but a security group is added to the VPC', () => {
    const before = newStack();
    new ec2.Vpc(before, 'Vpc');
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const network = new ExistingEgressForReplication(stack, 'Network', { vpc });

    const added = resourcesByType(stack);
    for (const [type, ids] of Object.entries(resourcesByType(before))) {
      added[type] = added[type].filter(id => !ids.includes(id));
    }
    expect(Object.fromEntries(Object.entries(added).filter(([, ids]) => ids.length > 0))).toEqual({
      'AWS::EC2::SecurityGroup': [expect.stringMatching(/^NetworkSecurityGroup/)],
    });
    expect(network.replicationSubnets.subnets).toEqual(vpc.privateSubnets);
    expect(network.secretsManagerRoute).toBe(SecretsManagerRoute.OTHER);
    expect(network.secretsManagerEndpoint).toBeUndefined();
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'DMS replication instance: egress to Neon and the source database only',
      SecurityGroupEgress: [
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 5432, ToPort: 5432 }),
        Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, Description: 'AWS Secrets Manager (endpoint credentials)' }),
      ],
    });
  });

  test('the NAT gateways\' Elastic IPs are found: outputs for Neon\'s IP Allow list', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const network = new ExistingEgressForReplication(stack, 'Network', { vpc });
    const template = Template.fromStack(stack);

    const eips = Object.keys(template.findResources('AWS::EC2::EIP'));
    expect(eips).toHaveLength(2);
    expect(stack.resolve(network.egressIps)).toEqual(eips.map(id => ({ Ref: id })));
    const outputs = Object.entries<any>(template.findOutputs('*')).filter(([id]) => id.startsWith('NetworkNeonAllowIp'));
    expect(outputs.map(([, o]) => o.Value)).toEqual(eips.map(id => ({ Ref: id })));
    expect(outputs[0][1].Description).toMatch(/^Public egress address 1 of S\/Network: add it to the Neon project's IP Allow list/);
  });

  test('neonIpAllow adds the found addresses', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 1 });
    const apiKey = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key');
    new ExistingEgressForReplication(stack, 'Network', { vpc, neonIpAllow: { projectId: 'crimson-sun-12345678', apiKeySecret: apiKey } });
    const template = Template.fromStack(stack);
    const [eip] = Object.keys(template.findResources('AWS::EC2::EIP'));
    template.hasResourceProperties('Custom::NeonIpAllow', { Ips: [{ Ref: eip }] });
  });

  test('egressReady covers the security group and its rules; connections wait for it', () => {
    const stack = newStack();
    const network = new ExistingEgressForReplication(stack, 'Network', { vpc: new ec2.Vpc(stack, 'Vpc') });
    const probe = new CfnResource(stack, 'Probe', { type: 'AWS::CloudFormation::WaitConditionHandle' });
    probe.node.addDependency(network.egressReady);
    const template = Template.fromStack(stack);
    expect(template.toJSON().Resources.Probe.DependsOn).toEqual(Object.keys(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^DMS replication') } })));
  });

  test('passes the schema check and cdk-nag in both environments', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      // the workloads' VPC as teams have it: what nag says of it is theirs, not the migration's
      const vpc = new ec2.Vpc(stack, 'Vpc', { restrictDefaultSecurityGroup: true });
      vpc.addFlowLog('FlowLog');
      acknowledgeRules(vpc, [
        { id: 'NIST.800.53.R5-VPCSubnetAutoAssignPublicIpDisabled', reason: 'The existing VPC\'s public subnets, not changed by the migration.' },
        { id: 'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW', reason: 'The existing VPC\'s public subnets hold its NAT gateways.' },
        { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The existing VPC\'s flow log role.' },
        { id: 'NIST.800.53.R5-CloudWatchLogGroupEncrypted', reason: 'The existing VPC\'s flow logs hold addresses and ports only.' },
      ]);
      new ExistingEgressForReplication(stack, 'Network', { vpc }).allowSourcePort(5432);
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });
});

describe('other egress', () => {
  test('a transit gateway: works, the public addresses are not known unless given', () => {
    const stack = newStack();
    const vpc = transitGatewayVpc(stack);
    const network = new ExistingEgressForReplication(stack, 'Network', { vpc, replicationSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    expect(network.egressIps).toEqual([]);

    const apiKey = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key');
    expect(() => new ExistingEgressForReplication(stack, 'Unknown', {
      vpc, replicationSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, neonIpAllow: { projectId: 'p-1', apiKeySecret: apiKey },
    })).toThrow(/^ExistingEgressForReplication: neonIpAllow adds the network's public egress addresses to Neon's IP Allow list, and none is known: give egressIps/);

    const given = new ExistingEgressForReplication(stack, 'Given', {
      vpc, replicationSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, egressIps: ['203.0.113.7'], neonIpAllow: { projectId: 'p-1', apiKeySecret: apiKey },
    });
    expect(given.egressIps).toEqual(['203.0.113.7']);
    Template.fromStack(stack).hasResourceProperties('Custom::NeonIpAllow', { Ips: ['203.0.113.7'] });
    Annotations.fromStack(stack).hasInfo('/S/Network', Match.stringLikeRegexp('The public addresses the replication subnets leave from are not known at synth'));
  });

  test('a VPC imported by id: its private subnets, nothing to check, nothing known of its addresses', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1',
      vpcCidrBlock: '10.1.0.0/16',
      availabilityZones: ['us-east-2a', 'us-east-2b'],
      privateSubnetIds: ['subnet-a', 'subnet-b'],
      privateSubnetRouteTableIds: ['rtb-a', 'rtb-b'],
    });
    const network = new ExistingEgressForReplication(stack, 'Network', { vpc, egressIps: ['198.51.100.1', '198.51.100.2'] });
    expect(vpc.selectSubnets(network.replicationSubnets).subnetIds).toEqual(['subnet-a', 'subnet-b']);
    expect(network.egressIps).toEqual(['198.51.100.1', '198.51.100.2']);
  });

  test('newEndpoint() (for DMS Serverless) admits the whole VPC and warns what changes for the other workloads', () => {
    const stack = newStack();
    const network = new ExistingEgressForReplication(stack, 'Network', { vpc: new ec2.Vpc(stack, 'Vpc'), secretsManagerAccess: SecretsManagerAccess.newEndpoint() });
    expect(network.secretsManagerRoute).toBe(SecretsManagerRoute.VPC_ENDPOINT);
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Secrets Manager interface endpoint'),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443 })],
    });
    Annotations.fromStack(stack).hasWarning('/S/Network', Match.stringLikeRegexp('every workload of the VPC that calls secretsmanager'));
  });
});

describe('rejects', () => {
  test('a VPC whose private subnets do not reach the internet: the error names NatEgressForReplication', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', {
      natGateways: 0, subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }, { name: 'Db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });
    expect(() => new ExistingEgressForReplication(stack, 'Network', { vpc })).toThrow(
      /^ExistingEgressForReplication: the VPC has no private subnets with egress \(PRIVATE_WITH_EGRESS\): its private subnets do not reach the internet\. Use NatEgressForReplication with vpc and publicSubnet/);
    expect(() => new ExistingEgressForReplication(stack, 'Isolated', { vpc, replicationSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } })).toThrow(
      /^ExistingEgressForReplication: replicationSubnets\[0\] \(S\/Vpc\/DbSubnet1\) does not reach the internet: its route table has no default route \(0\.0\.0\.0\/0\)\. Use NatEgressForReplication/);
  });

  test('public subnets, an empty selection and a single subnet', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(() => new ExistingEgressForReplication(stack, 'A', { vpc, replicationSubnets: { subnetType: ec2.SubnetType.PUBLIC } })).toThrow(
      /^ExistingEgressForReplication: replicationSubnets\[0\] \(S\/Vpc\/PublicSubnet1\) is a public subnet/);
    expect(() => new ExistingEgressForReplication(stack, 'B', { vpc, replicationSubnets: { subnetGroupName: 'Nope' } })).toThrow(/There are no subnet groups with name 'Nope'|selects no subnet/);
    expect(() => new ExistingEgressForReplication(stack, 'C', { vpc, replicationSubnets: { subnets: [vpc.privateSubnets[0]] } })).toThrow(
      /^ExistingEgressForReplication: replicationSubnets selects 1 subnet: DMS replication subnet groups need subnets in two Availability Zones\.$/);
    expect(() => new ExistingEgressForReplication(stack, 'D', { vpc, replicationSubnets: { subnets: [] } })).toThrow(
      /^ExistingEgressForReplication: replicationSubnets selects no subnet of the VPC/);
  });

  test('an egress address that is not an IPv4 address', () => {
    const stack = newStack();
    expect(() => new ExistingEgressForReplication(stack, 'Network', { vpc: new ec2.Vpc(stack, 'Vpc'), egressIps: ['nat-1'] })).toThrow(
      /^ExistingEgressForReplication: egressIps\[0\] 'nat-1' is not an IPv4 address/);
  });
});
