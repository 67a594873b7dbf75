import { App, CfnResource, Environment, Stack, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SecretsManagerRoute } from '../../lib/core/interfaces';
import { NatEgressForReplication, NatEgressForReplicationProps, SecretsManagerAccess } from '../../lib/network';
import { expectNagClean } from '../helpers/nag';
import { expectValidCloudFormation } from '../helpers/schema';


function newStack(): Stack {
  return new Stack(new App(), 'S');
}

function logicalIds(template: Template, type: string, props?: object): string[] {
  return Object.keys(template.findResources(type, props ? { Properties: props } : undefined));
}

/** A resource that depends on `egressReady`; read its DependsOn with `dependsOnOf`. */
function dependOnEgress(stack: Stack, net: NatEgressForReplication): void {
  const probe = new CfnResource(stack, 'Probe', { type: 'AWS::CloudFormation::WaitConditionHandle' });
  probe.node.addDependency(net.egressReady);
}

function dependsOnOf(template: Template): string[] {
  return template.toJSON().Resources.Probe.DependsOn;
}

/** The stack outputs whose logical id starts with `prefix`. */
function outputsStartingWith(template: Template, prefix: string): Record<string, any>[] {
  return Object.entries(template.findOutputs('*')).filter(([id]) => id.startsWith(prefix)).map(([, output]) => output);
}

describe('new VPC', () => {
  test('public and private subnets in two AZs, one NAT gateway with its own Elastic IP, private default routes', () => {
    const stack = newStack();
    const net = new NatEgressForReplication(stack, 'Net');
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    const publicSubnets = logicalIds(template, 'AWS::EC2::Subnet', { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Public' }]) });
    const privateSubnets = logicalIds(template, 'AWS::EC2::Subnet', { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Private' }]) });
    expect(publicSubnets).toHaveLength(2);
    expect(privateSubnets).toHaveLength(2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });

    template.resourceCountIs('AWS::EC2::EIP', 1);
    template.hasResourceProperties('AWS::EC2::EIP', { Domain: 'vpc' });
    const [eip] = logicalIds(template, 'AWS::EC2::EIP');
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.hasResourceProperties('AWS::EC2::NatGateway', {
      AllocationId: { 'Fn::GetAtt': [eip, 'AllocationId'] },
      SubnetId: { Ref: publicSubnets[0] },
    });
    const [nat] = logicalIds(template, 'AWS::EC2::NatGateway');
    expect(logicalIds(template, 'AWS::EC2::Route', { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: nat } })).toHaveLength(2);

    expect(stack.resolve(net.egressIps)).toEqual([{ Ref: eip }]);
    expect(stack.resolve(net.natGatewayIds)).toEqual([{ Ref: nat }]);
    expect(stack.resolve(net.vpc.selectSubnets(net.replicationSubnets).subnetIds)).toEqual(privateSubnets.map((id) => ({ Ref: id })));
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('one NAT gateway and Elastic IP per AZ with natGateways: 2, each private subnet routed to its own AZ', () => {
    const stack = newStack();
    const net = new NatEgressForReplication(stack, 'Net', { natGateways: 2, cidr: '10.20.0.0/20' });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.20.0.0/20' });
    template.resourceCountIs('AWS::EC2::EIP', 2);
    template.resourceCountIs('AWS::EC2::NatGateway', 2);
    const nats = logicalIds(template, 'AWS::EC2::NatGateway');
    for (const nat of nats) {
      expect(logicalIds(template, 'AWS::EC2::Route', { NatGatewayId: { Ref: nat } })).toHaveLength(1);
    }
    expect(net.egressIps).toHaveLength(2);
    const outputs = template.findOutputs('*');
    expect(Object.values(outputs).map((o) => o.Value)).toEqual(stack.resolve(net.egressIps));
  });

  test('outputs tell the user to add each Elastic IP to the Neon IP Allow list', () => {
    const stack = newStack();
    new NatEgressForReplication(stack, 'Net');
    const template = Template.fromStack(stack);
    const [eip] = logicalIds(template, 'AWS::EC2::EIP');

    expect(outputsStartingWith(template, 'NetNeonAllowIp1')).toEqual([{
      Value: { Ref: eip },
      Description: 'Elastic IP of NAT gateway 1 of S/Net: add it to the Neon project\'s IP Allow list (Settings > Network security) so the DMS replication instance can connect.',
    }]);
  });

  test('flow logs of all traffic go to a log group with retention', () => {
    const stack = newStack();
    new NatEgressForReplication(stack, 'Net');
    const template = Template.fromStack(stack);
    const [vpc] = logicalIds(template, 'AWS::EC2::VPC');
    const [logGroup] = logicalIds(template, 'AWS::Logs::LogGroup');

    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceId: { Ref: vpc },
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: logGroup },
    });
  });

  test('flow log retention and encryption key are configurable', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    new NatEgressForReplication(stack, 'Net', { flowLogRetention: logs.RetentionDays.THREE_MONTHS, flowLogEncryptionKey: key });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 90,
      KmsKeyId: { 'Fn::GetAtt': [logicalIds(template, 'AWS::KMS::Key')[0], 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']),
        })]),
      },
    });
  });

  test('egressReady covers the internet gateway and the private default routes to the NAT gateway', () => {
    const stack = newStack();
    const net = new NatEgressForReplication(stack, 'Net');
    dependOnEgress(stack, net);
    const template = Template.fromStack(stack);
    const deps = dependsOnOf(template);

    const privateRoutes = logicalIds(template, 'AWS::EC2::Route', { NatGatewayId: Match.anyValue() });
    const publicRoutes = logicalIds(template, 'AWS::EC2::Route', { GatewayId: Match.anyValue() });
    expect(privateRoutes).toHaveLength(2);
    expect(deps).toEqual(expect.arrayContaining([...privateRoutes, logicalIds(template, 'AWS::EC2::InternetGateway')[0]]));
    // The private routes reference the NAT gateway, which waits for the public route to the internet gateway.
    const [nat] = logicalIds(template, 'AWS::EC2::NatGateway');
    template.hasResourceProperties('AWS::EC2::Route', { NatGatewayId: { Ref: nat } });
    template.hasResource('AWS::EC2::NatGateway', { DependsOn: Match.arrayWith([publicRoutes[0]]) });
  });

  test('passes the schema check and cdk-nag', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      const net = new NatEgressForReplication(stack, 'Net');
      net.allowSourcePort(5432);
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });

  test.each<[string, NatEgressForReplicationProps, RegExp]>([
    ['maxAzs below 2', { maxAzs: 1 }, /^NatEgressForReplication: maxAzs must be an integer of at least 2 \(got 1\): DMS replication subnet groups need subnets in two Availability Zones\.$/],
    ['no NAT gateway', { natGateways: 0 }, /^NatEgressForReplication: natGateways must be an integer of at least 1 \(got 0\): the replication instance reaches Neon only through a NAT gateway\.$/],
    ['a malformed CIDR', { cidr: '10.0.0/16' }, /^NatEgressForReplication: cidr '10\.0\.0\/16' is not an IPv4 CIDR block such as 10\.0\.0\.0\/16 \(the address must be the first of the block\)\.$/],
    ['host bits set', { cidr: '10.0.0.1/16' }, /cidr '10\.0\.0\.1\/16' is not an IPv4 CIDR block/],
    ['a prefix below /16', { cidr: '10.0.0.0/8' }, /^NatEgressForReplication: cidr '10\.0\.0\.0\/8' has prefix \/8: VPC CIDR blocks range from \/16 to \/28\.$/],
    ['a prefix above /28', { cidr: '10.0.0.0/29' }, /cidr '10\.0\.0\.0\/29' has prefix \/29: VPC CIDR blocks range from \/16 to \/28\./],
    ['a block too small for the subnets', { cidr: '10.0.0.0/27' }, /^NatEgressForReplication: cidr '10\.0\.0\.0\/27' is too small for 4 subnets \(a public and a private subnet in each of 2 Availability Zones, each at least \/28\): use a prefix of \/26 or shorter\.$/],
    ['an overlap with avoidCidrs', { cidr: '10.0.0.0/16', avoidCidrs: ['172.31.0.0/16', '10.0.128.0/20'] }, /^NatEgressForReplication: cidr 10\.0\.0\.0\/16 overlaps avoidCidrs\[1\] 10\.0\.128\.0\/20: choose a VPC CIDR block \(cidr\) that does not overlap the networks the VPC is peered or connected with\.$/],
    ['an overlap of the default CIDR', { avoidCidrs: ['10.0.0.0/8'] }, /cidr 10\.0\.0\.0\/16 overlaps avoidCidrs\[0\] 10\.0\.0\.0\/8/],
    ['a malformed avoidCidrs entry', { avoidCidrs: ['source-vpc'] }, /^NatEgressForReplication: avoidCidrs\[0\] 'source-vpc' is not an IPv4 CIDR block such as 172\.31\.0\.0\/16\.$/],
    ['routeTableIds without vpc', { routeTableIds: ['rtb-1'] }, /^NatEgressForReplication: routeTableIds needs vpc: it names a part of an existing VPC\. Pass vpc too, or remove routeTableIds to create a new VPC\.$/],
  ])('rejects %s', (_name, props, message) => {
    expect(() => new NatEgressForReplication(newStack(), 'Net', props)).toThrow(message);
  });

  test('accepts a CIDR that does not overlap avoidCidrs, and tokens in avoidCidrs', () => {
    const stack = newStack();
    expect(() => new NatEgressForReplication(stack, 'Net', {
      cidr: '10.50.0.0/26',
      avoidCidrs: ['10.0.0.0/16', Token.asString({ Ref: 'SourceCidr' })],
    })).not.toThrow();
  });
});

describe('security group', () => {
  test('no outbound traffic but Neon\'s port to any IPv4 address', () => {
    const stack = newStack();
    new NatEgressForReplication(stack, 'Net');

    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'DMS replication instance: egress to Neon and the source database only',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, Description: 'Neon on port 5432: Neon has no fixed IP addresses' }],
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('allowSourcePort adds egress to the VPC or to a given peer; allowNeonPort to any address', () => {
    const stack = newStack();
    const net = new NatEgressForReplication(stack, 'Net');
    net.allowSourcePort(3306);
    net.allowSourcePort(1433, ec2.Peer.ipv4('172.31.0.0/16'));
    net.allowNeonPort(6543);
    const template = Template.fromStack(stack);
    const [vpc] = logicalIds(template, 'AWS::EC2::VPC');

    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, Description: Match.anyValue() },
        { CidrIp: { 'Fn::GetAtt': [vpc, 'CidrBlock'] }, IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, Description: 'Source database on port 3306' },
        { CidrIp: '172.31.0.0/16', IpProtocol: 'tcp', FromPort: 1433, ToPort: 1433, Description: 'Source database on port 1433' },
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 6543, ToPort: 6543, Description: 'Neon on port 6543: Neon has no fixed IP addresses' },
      ],
    });
  });

  test('rejects an invalid port and accepts a token', () => {
    const net = new NatEgressForReplication(newStack(), 'Net');
    expect(() => net.allowSourcePort(0)).toThrow(/^NatEgressForReplication\.allowSourcePort: port must be an integer from 1 to 65535 \(got 0\)\.$/);
    expect(() => net.allowNeonPort(70000)).toThrow(/^NatEgressForReplication\.allowNeonPort: port must be an integer from 1 to 65535 \(got 70000\)\.$/);
    expect(() => net.allowSourcePort(Token.asNumber({ Ref: 'SourcePort' }))).not.toThrow();
  });

  test('allowSourcePort without a peer needs the VPC CIDR', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1',
      availabilityZones: ['us-east-2a', 'us-east-2b'],
      publicSubnetIds: ['subnet-p1', 'subnet-p2'],
      privateSubnetIds: ['subnet-a', 'subnet-b'],
      privateSubnetRouteTableIds: ['rtb-a', 'rtb-b'],
    });
    const net = new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets, changeExistingRouteTables: true });
    expect(() => net.allowSourcePort(5432)).toThrow(/^NatEgressForReplication\.allowSourcePort: the VPC's CIDR block is not known/);
  });
});

describe('existing VPC', () => {
  /** A VPC imported with its blocks: public and private subnets in three zones, 10.1.0.0/16 with room left at its top. */
  function importedVpc(stack: Stack): ec2.IVpc {
    return ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0abc',
      vpcCidrBlock: '10.1.0.0/16',
      availabilityZones: ['us-east-2a', 'us-east-2b', 'us-east-2c'],
      publicSubnetIds: ['subnet-p1', 'subnet-p2', 'subnet-p3'],
      publicSubnetIpv4CidrBlocks: ['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24'],
      privateSubnetIds: ['subnet-a', 'subnet-b', 'subnet-c'],
      privateSubnetRouteTableIds: ['rtb-a', 'rtb-b', 'rtb-c'],
      privateSubnetIpv4CidrBlocks: ['10.1.10.0/24', '10.1.11.0/24', '10.1.12.0/24'],
    });
  }

  describe('by default: replication subnets of its own, the VPC\'s routes untouched', () => {
    test('a NAT gateway in the public subnet, two new subnets in free blocks with route tables of their own that lead to it', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      const net = new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0] });
      dependOnEgress(stack, net);
      const template = Template.fromStack(stack);

      template.resourceCountIs('AWS::EC2::VPC', 0);
      const [eip] = logicalIds(template, 'AWS::EC2::EIP');
      template.hasResourceProperties('AWS::EC2::NatGateway', { SubnetId: 'subnet-p1', AllocationId: { 'Fn::GetAtt': [eip, 'AllocationId'] }, ConnectivityType: 'public' });
      const [nat] = logicalIds(template, 'AWS::EC2::NatGateway');
      // the highest free /26 blocks of the VPC, first in the NAT gateway's zone
      const subnets = template.findResources('AWS::EC2::Subnet');
      const rows = Object.values(subnets).map((s) => [
        s.Properties.CidrBlock, s.Properties.AvailabilityZone, s.Properties.VpcId, s.Properties.MapPublicIpOnLaunch,
      ]);
      expect(rows)
        .toEqual([['10.1.255.192/26', 'us-east-2a', 'vpc-0abc', false], ['10.1.255.128/26', 'us-east-2b', 'vpc-0abc', false]]);
      const tables = logicalIds(template, 'AWS::EC2::RouteTable');
      expect(tables).toHaveLength(2);
      // every route this construct adds is on its own route tables, to its own NAT gateway
      const routes = Object.values(template.findResources('AWS::EC2::Route')).map((r) => r.Properties);
      expect(routes).toEqual(tables.map((table) => ({ RouteTableId: { Ref: table }, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: nat } })));
      expect(Object.values(template.findResources('AWS::EC2::SubnetRouteTableAssociation')).map((a) => a.Properties))
        .toEqual(Object.keys(subnets).map((subnet, i) => ({ SubnetId: { Ref: subnet }, RouteTableId: { Ref: tables[i] } })));
      expect(stack.resolve(net.vpc.selectSubnets(net.replicationSubnets).subnetIds)).toEqual(Object.keys(subnets).map((id) => ({ Ref: id })));
      expect(stack.resolve(net.egressIps)).toEqual([{ Ref: eip }]);
      // Secrets Manager through the NAT gateway: no endpoint whose private DNS would move the VPC's other workloads
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
      expect(net.secretsManagerRoute).toBe(SecretsManagerRoute.OTHER);
      template.hasResourceProperties('AWS::EC2::SecurityGroup', {
        VpcId: 'vpc-0abc',
        SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]),
      });
      // connections wait for the NAT gateway, the new subnets' routes and the security group
      expect(dependsOnOf(template)).toEqual(expect.arrayContaining([nat, ...logicalIds(template, 'AWS::EC2::Route'), ...logicalIds(template, 'AWS::EC2::SecurityGroup')]));
    });

    test('replicationSubnetCidrs names the blocks; each is checked against the VPC', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[1], replicationSubnetCidrs: ['10.1.20.0/28', '10.1.20.16/28', '10.1.20.32/28'] });
      const subnets = Object.values(Template.fromStack(stack).findResources('AWS::EC2::Subnet')).map((s) => [s.Properties.CidrBlock, s.Properties.AvailabilityZone]);
      expect(subnets).toEqual([['10.1.20.0/28', 'us-east-2b'], ['10.1.20.16/28', 'us-east-2a'], ['10.1.20.32/28', 'us-east-2c']]);

      const make = (cidrs: string[]) => () => {
        const s = newStack();
        const v = importedVpc(s);
        return new NatEgressForReplication(s, 'Net', { vpc: v, publicSubnet: v.publicSubnets[0], replicationSubnetCidrs: cidrs });
      };
      expect(make(['10.1.20.0/28'])).toThrow(/^NatEgressForReplication: replicationSubnetCidrs must give at least two blocks \(got 1\)/);
      expect(make(['10.1.20.0/28', '10.1.10.0/26'])).toThrow("NatEgressForReplication: replicationSubnetCidrs[1] '10.1.10.0/26' overlaps a subnet of the VPC: choose a free block.");
      expect(make(['10.1.20.0/28', '10.2.0.0/28'])).toThrow("NatEgressForReplication: replicationSubnetCidrs[1] '10.2.0.0/28' is outside the VPC's CIDR blocks (10.1.0.0/16).");
      expect(make(['10.1.20.0/28', '10.1.20.0/27'])).toThrow('NatEgressForReplication: replicationSubnetCidrs[0] and replicationSubnetCidrs[1] overlap: give distinct blocks.');
      expect(make(['10.1.20.0/28', '10.1.20.16/29'])).toThrow(/replicationSubnetCidrs\[1\] '10\.1\.20\.16\/29' has prefix \/29: subnet blocks range from \/16 to \/28\./);
      expect(make(['10.1.20.1/28', '10.1.21.0/28'])).toThrow(/replicationSubnetCidrs\[0\] '10\.1\.20\.1\/28' is not an IPv4 CIDR block/);
      expect(make(['10.1.20.0/28', '10.1.21.0/28', '10.1.22.0/28', '10.1.23.0/28'])).toThrow(/4 blocks and the VPC 3 Availability Zones/);
    });

    test('a VPC of this app with room left: the free blocks are found among its subnets', () => {
      const stack = newStack();
      const vpc = new ec2.Vpc(stack, 'Source', {
        ipAddresses: ec2.IpAddresses.cidr('10.8.0.0/16'),
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [
          { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false, cidrMask: 24 },
          { name: 'Db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        ],
      });
      const net = new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0] });
      const template = Template.fromStack(stack);

      expect(net.replicationSubnets.subnets!.map((s) => s.ipv4CidrBlock)).toEqual(['10.8.255.192/26', '10.8.255.128/26']);
      // the database's isolated subnets keep their route tables without a default route
      const isolatedTables = vpc.isolatedSubnets.map((s) => stack.resolve(s.routeTable.routeTableId));
      const routed = Object.values(template.findResources('AWS::EC2::Route')).map((r) => r.Properties.RouteTableId);
      expect(routed.filter((t) => isolatedTables.some((i) => JSON.stringify(i) === JSON.stringify(t)))).toEqual([]);
      const publicRoute = (vpc.publicSubnets[0] as ec2.PublicSubnet).node.findChild('DefaultRoute') as ec2.CfnRoute;
      template.hasResource('AWS::EC2::NatGateway', { DependsOn: Match.arrayWith([stack.getLogicalId(publicRoute)]) });
    });

    test('no room left, or an address space the app cannot see: the error names replicationSubnetCidrs and the other layouts', () => {
      const stack = newStack();
      // ec2.Vpc's defaults give its subnets the whole block
      const full = new ec2.Vpc(stack, 'Full', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }, { name: 'Db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      });
      expect(() => new NatEgressForReplication(stack, 'Net', { vpc: full, publicSubnet: full.publicSubnets[0] })).toThrow(
        /its address space \(10\.0\.0\.0\/16\) has no two free \/26 blocks left: give replicationSubnetCidrs \(smaller blocks, down to \/28\), add a secondary CIDR block to the VPC, or use existing subnets: privateSubnets with changeExistingRouteTables: true\. If the VPC's private subnets already reach the internet, use ExistingEgressForReplication instead\./);

      const blind = ec2.Vpc.fromVpcAttributes(stack, 'Blind', {
        vpcId: 'vpc-1',
        vpcCidrBlock: '10.1.0.0/16',
        availabilityZones: ['us-east-2a', 'us-east-2b'],
        publicSubnetIds: ['subnet-p1', 'subnet-p2'],
        isolatedSubnetIds: ['subnet-i1', 'subnet-i2'],
        isolatedSubnetRouteTableIds: ['rtb-1', 'rtb-2'],
      });
      expect(() => new NatEgressForReplication(stack, 'Net2', { vpc: blind, publicSubnet: blind.publicSubnets[0] })).toThrow(
        /the app does not show which addresses of the VPC are free .*: give replicationSubnetCidrs, two free blocks of the VPC/);
    });

    test('passes the schema check and cdk-nag', () => {
      const build = (app: App, env?: Environment) => {
        const stack = new Stack(app, 'S', { env });
        const vpc = importedVpc(stack);
        const net = new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0] });
        net.allowSourcePort(5432);
        return stack;
      };
      expectValidCloudFormation(build(new App()));
      expectNagClean(build);
    });
  });

  describe('existing route tables: only when asked in so many words', () => {
    test('privateSubnets without changeExistingRouteTables is refused with what it would change and the alternatives', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      expect(() => new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets.slice(0, 2) })).toThrow(
        'NatEgressForReplication: the default route to the NAT gateway would go into the route tables of privateSubnets (rtb-a, rtb-b), which other resources may use: '
        + 'each of them would gain a way to the internet. Set changeExistingRouteTables: true to accept that, or leave privateSubnets and routeTableIds out: '
        + 'the replication compute then gets subnets and route tables of its own (replicationSubnetCidrs).');
      expect(() => new NatEgressForReplication(stack, 'Net2', { vpc, publicSubnet: vpc.publicSubnets[0], routeTableIds: ['rtb-b', 'rtb-c'] })).toThrow(
        /would go into routeTableIds \(rtb-b, rtb-c\), which other resources may use/);
    });

    test('with changeExistingRouteTables: a default route to each private subnet\'s route table, as the guide does', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      const net = new NatEgressForReplication(stack, 'Net', {
        vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets.slice(0, 2), changeExistingRouteTables: true,
      });
      dependOnEgress(stack, net);
      const template = Template.fromStack(stack);
      const [nat] = logicalIds(template, 'AWS::EC2::NatGateway');
      const routes = template.findResources('AWS::EC2::Route');
      expect(Object.values(routes).map((r) => r.Properties)).toEqual([
        { RouteTableId: 'rtb-a', DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: nat } },
        { RouteTableId: 'rtb-b', DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: { Ref: nat } },
      ]);
      template.resourceCountIs('AWS::EC2::Subnet', 0);
      expect(net.vpc.selectSubnets(net.replicationSubnets).subnetIds).toEqual(['subnet-a', 'subnet-b']);
      expect(dependsOnOf(template)).toEqual(expect.arrayContaining([nat, ...Object.keys(routes)]));
    });

    test('routeTableIds names exactly the route tables that get the route; alone it selects the subnets on them', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      new NatEgressForReplication(stack, 'Net', {
        vpc, publicSubnet: vpc.publicSubnets[1], privateSubnets: vpc.privateSubnets.slice(0, 2), routeTableIds: ['rtb-a', 'rtb-b', 'rtb-shared'], changeExistingRouteTables: true,
      });
      expect(Object.values(Template.fromStack(stack).findResources('AWS::EC2::Route')).map((r) => r.Properties.RouteTableId)).toEqual(['rtb-a', 'rtb-b', 'rtb-shared']);

      const other = newStack();
      const vpc2 = importedVpc(other);
      const net = new NatEgressForReplication(other, 'Net', { vpc: vpc2, publicSubnet: vpc2.publicSubnets[0], routeTableIds: ['rtb-b', 'rtb-c'], changeExistingRouteTables: true });
      expect(net.vpc.selectSubnets(net.replicationSubnets).subnetIds).toEqual(['subnet-b', 'subnet-c']);
    });

    test('warns about a private subnet whose route table is not in routeTableIds', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      new NatEgressForReplication(stack, 'Net', {
        vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets.slice(0, 2), routeTableIds: ['rtb-a'], changeExistingRouteTables: true,
      });
      Annotations.fromStack(stack).hasWarning('/S/Net', Match.stringLikeRegexp('privateSubnets\\[1\\] \\(subnet-b\\) uses route table rtb-b, which is not in routeTableIds'));
    });

    test('subnets that reach the internet already are refused: the error points to ExistingEgressForReplication', () => {
      const stack = newStack();
      const vpc = new ec2.Vpc(stack, 'Source', { natGateways: 1, maxAzs: 2 });
      expect(() => new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets, changeExistingRouteTables: true })).toThrow(
        /route table of S\/Source\/PrivateSubnet1 already has a default route \(0\.0\.0\.0\/0\) to a NAT gateway at S\/Source\/PrivateSubnet1\/DefaultRoute: a route table holds one default route, and those subnets already reach the internet\. Use ExistingEgressForReplication/);
    });

    test('a default route declared later on an imported route table is found when the app is validated', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets.slice(0, 2), changeExistingRouteTables: true });
      new ec2.CfnRoute(stack, 'Later', { routeTableId: 'rtb-b', destinationCidrBlock: '0.0.0.0/0', transitGatewayId: 'tgw-1' });
      expect(() => Template.fromStack(stack)).toThrow(/NatEgressForReplication: route table rtb-b already has a default route \(0\.0\.0\.0\/0\) to a transit gateway at S\/Later/);
    });

    test('a route to another destination on the same route table is fine', () => {
      const stack = newStack();
      const vpc = importedVpc(stack);
      new ec2.CfnRoute(stack, 'Peering', { routeTableId: 'rtb-b', destinationCidrBlock: '172.31.0.0/16', vpcPeeringConnectionId: 'pcx-1' });
      new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets.slice(0, 2), changeExistingRouteTables: true });
      expect(() => Template.fromStack(stack)).not.toThrow();
    });
  });

  describe('rejects', () => {
    let stack: Stack;
    let vpc: ec2.IVpc;
    beforeEach(() => {
      stack = newStack();
      vpc = importedVpc(stack);
    });
    const make = (props: Partial<NatEgressForReplicationProps>) => () => new NatEgressForReplication(stack, 'Net', { vpc, changeExistingRouteTables: true, ...props });

    test('a missing publicSubnet', () => {
      expect(make({ privateSubnets: vpc.privateSubnets })).toThrow(/^NatEgressForReplication: publicSubnet is required with vpc: the NAT gateway goes into a public subnet \(one whose route table sends 0\.0\.0\.0\/0 to an internet gateway\)\.$/);
    });

    test('an empty privateSubnets list, named as such', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: [] })).toThrow(
        /^NatEgressForReplication: privateSubnets is an empty list \(vpc\.isolatedSubnets of a VPC without isolated subnets\?\)\. Leave privateSubnets out to give the replication compute subnets of its own; if the VPC's private subnets already reach the internet \(vpc\.privateSubnets of an ec2\.Vpc with NAT gateways\), use ExistingEgressForReplication\.$/);
      expect(() => new NatEgressForReplication(stack, 'Other', { vpc, publicSubnet: vpc.publicSubnets[0], routeTableIds: [], changeExistingRouteTables: true }))
        .toThrow(/^NatEgressForReplication: routeTableIds is an empty list/);
    });

    test('replicationSubnetCidrs together with existing subnets', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets, replicationSubnetCidrs: ['10.1.20.0/28', '10.1.20.16/28'] })).toThrow(
        /^NatEgressForReplication: replicationSubnetCidrs creates subnets of its own, and privateSubnets\/routeTableIds use existing ones: set one of them\.$/);
    });

    test('a publicSubnet that is one of the VPC\'s private subnets', () => {
      expect(make({ publicSubnet: vpc.privateSubnets[2], privateSubnets: vpc.privateSubnets.slice(0, 2) })).toThrow(
        /^NatEgressForReplication: publicSubnet subnet-c is not a public subnet \(it is a private subnet of the VPC\): the NAT gateway needs a subnet whose route table sends 0\.0\.0\.0\/0 to an internet gateway\.$/);
    });

    test('a publicSubnet that is an ec2.PrivateSubnet', () => {
      const privateSubnet = new ec2.PrivateSubnet(stack, 'Priv', { vpcId: 'vpc-0abc', availabilityZone: 'us-east-2a', cidrBlock: '10.1.200.0/24' });
      expect(make({ publicSubnet: privateSubnet, privateSubnets: vpc.privateSubnets })).toThrow(/^NatEgressForReplication: publicSubnet S\/Priv is not a public subnet/);
    });

    test('an isolated subnet as publicSubnet', () => {
      const isolatedVpc = ec2.Vpc.fromVpcAttributes(stack, 'Iso', {
        vpcId: 'vpc-2',
        availabilityZones: ['us-east-2a', 'us-east-2b'],
        isolatedSubnetIds: ['subnet-i1', 'subnet-i2'],
        isolatedSubnetRouteTableIds: ['rtb-i1', 'rtb-i2'],
        privateSubnetIds: ['subnet-x', 'subnet-y'],
        privateSubnetRouteTableIds: ['rtb-x', 'rtb-y'],
      });
      expect(() => new NatEgressForReplication(stack, 'Net', { vpc: isolatedVpc, publicSubnet: isolatedVpc.isolatedSubnets[0], privateSubnets: isolatedVpc.privateSubnets }))
        .toThrow(/^NatEgressForReplication: publicSubnet subnet-i1 is not a public subnet/);
    });

    test('fewer than two private subnets', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: [vpc.privateSubnets[0]] })).toThrow(
        /^NatEgressForReplication: privateSubnets must include at least two subnets \(got 1\): DMS replication subnet groups need subnets in two Availability Zones\.$/);
    });

    test('route tables without two subnets of the VPC', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], routeTableIds: ['rtb-a'] })).toThrow(
        /^NatEgressForReplication: the subnets of routeTableIds must include at least two subnets \(got 1\): DMS replication subnet groups need subnets in two Availability Zones\. Pass privateSubnets to name them\.$/);
    });

    test('private subnets in one AZ', () => {
      const a = ec2.Subnet.fromSubnetAttributes(stack, 'A', { subnetId: 'subnet-1', availabilityZone: 'us-east-2a', routeTableId: 'rtb-1' });
      const b = ec2.Subnet.fromSubnetAttributes(stack, 'B', { subnetId: 'subnet-2', availabilityZone: 'us-east-2a', routeTableId: 'rtb-2' });
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: [a, b] })).toThrow(
        /^NatEgressForReplication: privateSubnets are all in us-east-2a: DMS replication subnet groups need subnets in two Availability Zones\.$/);
    });

    test('a public subnet among the private subnets', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: [vpc.privateSubnets[0], vpc.publicSubnets[1]], routeTableIds: ['rtb-a'] })).toThrow(
        /^NatEgressForReplication: privateSubnets\[1\] \(subnet-p2\) is a public subnet: the replication instance belongs in private subnets that reach the internet through the NAT gateway\.$/);
    });

    test('a private subnet without a known route table', () => {
      const a = ec2.Subnet.fromSubnetAttributes(stack, 'A', { subnetId: 'subnet-1', availabilityZone: 'us-east-2a' });
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: [a, vpc.privateSubnets[1]] })).toThrow(
        /^NatEgressForReplication: privateSubnets\[0\] \(subnet-1\) has no known route table: import it with ec2\.Subnet\.fromSubnetAttributes\(\{ subnetId, availabilityZone, routeTableId \}\) or pass routeTableIds\.$/);
    });

    test('a route table listed twice', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets, routeTableIds: ['rtb-a', 'rtb-a'] })).toThrow(
        /^NatEgressForReplication: routeTableIds lists rtb-a twice: each route table gets one default route\.$/);
    });

    test('new-VPC options with vpc, and existing-VPC options without it', () => {
      expect(make({ publicSubnet: vpc.publicSubnets[0], privateSubnets: vpc.privateSubnets, natGateways: 2 })).toThrow(
        /^NatEgressForReplication: natGateways applies only to the VPC this construct creates: remove it when vpc is given\.$/);
      expect(() => new NatEgressForReplication(newStack(), 'Net', { replicationSubnetCidrs: ['10.0.0.0/28', '10.0.0.16/28'] })).toThrow(
        /^NatEgressForReplication: replicationSubnetCidrs needs vpc/);
    });
  });
});

describe('Neon IP Allow', () => {
  test('a custom resource adds the Elastic IPs; the handler role may read only the API key secret', () => {
    const stack = newStack();
    const apiKey = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key');
    const net = new NatEgressForReplication(stack, 'Net', { neonIpAllow: { projectId: 'crimson-sun-12345678', apiKeySecret: apiKey, apiKeySecretField: 'NEON_API_KEY' } });
    dependOnEgress(stack, net);
    const template = Template.fromStack(stack);
    const [eip] = logicalIds(template, 'AWS::EC2::EIP');

    // the handler gets the secret's complete ARN, looked up by name at deploy time
    const [[resolver, { Properties: { Secrets: secrets } }]] = Object.entries<any>(template.findResources('Custom::NeonDmsSecretArns'));
    const [attribute] = Object.keys(secrets);
    expect(secrets[attribute]).toEqual({ SecretId: 'neon/api-key', Property: 'neonIpAllow.apiKeySecret' });
    template.hasResourceProperties('Custom::NeonIpAllow', {
      ProjectId: 'crimson-sun-12345678',
      ApiKeySecretArn: { 'Fn::GetAtt': [resolver, attribute] },
      ApiKeySecretField: 'NEON_API_KEY',
      ApiBaseUrl: 'https://console.neon.tech/api/v2',
      Ips: [{ Ref: eip }],
      AddToEmptyList: 'false',
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Action: 'secretsmanager:GetSecretValue',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:neon/api-key-??????']] },
        }]),
      },
    });
    expect(dependsOnOf(template)).toEqual(expect.arrayContaining(logicalIds(template, 'Custom::NeonIpAllow')));
  });

  test('a secret with a customer-managed key adds kms:Decrypt on that key; a custom API URL and addToEmptyList pass through', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const apiKey = new secretsmanager.Secret(stack, 'ApiKey', { encryptionKey: key });
    new NatEgressForReplication(stack, 'Net', {
      neonIpAllow: { projectId: 'crimson-sun-12345678', apiKeySecret: apiKey, apiBaseUrl: 'https://neon.internal.example.com/api/v2', addToEmptyList: true },
    });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('Custom::NeonIpAllow', { ApiBaseUrl: 'https://neon.internal.example.com/api/v2', AddToEmptyList: 'true' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: logicalIds(template, 'AWS::SecretsManager::Secret')[0] } },
          { Action: 'kms:Decrypt', Effect: 'Allow', Resource: { 'Fn::GetAtt': [logicalIds(template, 'AWS::KMS::Key')[0], 'Arn'] } },
        ]),
      },
    });
  });

  test('adds no finding of its own to cdk-nag and passes the schema check', () => {
    const build = (app: App, env?: Environment) => {
      const stack = new Stack(app, 'S', { env });
      const apiKey = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key');
      new NatEgressForReplication(stack, 'Net', { neonIpAllow: { projectId: 'crimson-sun-12345678', apiKeySecret: apiKey } });
      return stack;
    };
    expectValidCloudFormation(build(new App()));
    expectNagClean(build);
  });

  test.each([
    [{ projectId: 'crimson sun' }, /^NatEgressForReplication: neonIpAllow\.projectId 'crimson sun' is not a Neon project id \(e\.g\. crimson-sun-12345678\): copy it from the project's Settings page\.$/],
    [{ projectId: 'p-1', apiBaseUrl: 'http://console.neon.tech/api/v2' }, /^NatEgressForReplication: neonIpAllow\.apiBaseUrl 'http:\/\/console\.neon\.tech\/api\/v2' must be an https:\/\/ URL such as https:\/\/console\.neon\.tech\/api\/v2: the API key is sent with every request\.$/],
  ])('rejects %j', (options, message) => {
    const stack = newStack();
    const apiKey = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key');
    expect(() => new NatEgressForReplication(stack, 'Net', { neonIpAllow: { apiKeySecret: apiKey, ...options } })).toThrow(message);
  });

  test('accepts a project id token', () => {
    const stack = newStack();
    const apiKey = secretsmanager.Secret.fromSecretNameV2(stack, 'ApiKey', 'neon/api-key');
    expect(() => new NatEgressForReplication(stack, 'Net', { neonIpAllow: { projectId: Token.asString({ Ref: 'ProjectId' }), apiKeySecret: apiKey } })).not.toThrow();
  });
});

describe('Secrets Manager access (DMS reads endpoint credentials from inside the VPC)', () => {
  function sgId(template: Template, prefix: string): string {
    const ids = logicalIds(template, 'AWS::EC2::SecurityGroup').filter((id) => id.startsWith(prefix));
    expect(ids).toHaveLength(1);
    return ids[0];
  }

  test('by default: an interface endpoint with private DNS in the replication subnets, HTTPS from the replication security group only', () => {
    const stack = newStack();
    const net = new NatEgressForReplication(stack, 'Net');
    dependOnEgress(stack, net);
    const template = Template.fromStack(stack);

    const replicationSg = sgId(template, 'NetSecurityGroup');
    const endpointSg = sgId(template, 'NetSecretsManagerEndpointSecurityGroup');
    const [endpoint] = logicalIds(template, 'AWS::EC2::VPCEndpoint');
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.secretsmanager']] },
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
      SubnetIds: stack.resolve(net.vpc.selectSubnets(net.replicationSubnets).subnetIds),
      SecurityGroupIds: [{ 'Fn::GetAtt': [endpointSg, 'GroupId'] }],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [replicationSg, 'GroupId'] }, DestinationSecurityGroupId: { 'Fn::GetAtt': [endpointSg, 'GroupId'] }, IpProtocol: 'tcp', FromPort: 443, ToPort: 443,
    });
    expect(Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties)).toEqual([{
      GroupId: { 'Fn::GetAtt': [endpointSg, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [replicationSg, 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      Description: expect.any(String),
    }]);
    // the endpoint's group opens nothing outward
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Secrets Manager interface endpoint'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
    });
    expect(stack.resolve(net.secretsManagerEndpoint!.vpcEndpointId)).toEqual({ Ref: endpoint });
    expect(net.secretsManagerRoute).toBe(SecretsManagerRoute.VPC_ENDPOINT);
    // connection tests and the task start wait for the endpoint and its rules
    expect(dependsOnOf(template)).toEqual(expect.arrayContaining([endpoint, endpointSg, replicationSg]));
  });

  test('an existing endpoint: HTTPS from the replication security group to the endpoint\'s group, no new endpoint', () => {
    const stack = newStack();
    const endpointSg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'EndpointSg', 'sg-0endpoint', { allowAllOutbound: false });
    const endpoint = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'Endpoint', { vpcEndpointId: 'vpce-0123', port: 443, securityGroups: [endpointSg] });
    const net = new NatEgressForReplication(stack, 'Net', { secretsManagerAccess: SecretsManagerAccess.fromEndpoint(endpoint) });
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    const replicationSg = sgId(template, 'NetSecurityGroup');
    template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { GroupId: { 'Fn::GetAtt': [replicationSg, 'GroupId'] }, DestinationSecurityGroupId: 'sg-0endpoint', FromPort: 443 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0endpoint', SourceSecurityGroupId: { 'Fn::GetAtt': [replicationSg, 'GroupId'] }, FromPort: 443 });
    expect(net.secretsManagerEndpoint).toBe(endpoint);
    expect(net.secretsManagerRoute).toBe(SecretsManagerRoute.VPC_ENDPOINT);
  });

  test('an existing endpoint imported without its security group is refused: nothing could admit the replication instance', () => {
    const stack = newStack();
    const endpoint = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'Endpoint', { vpcEndpointId: 'vpce-0123', port: 443 });
    expect(() => new NatEgressForReplication(stack, 'Net', { secretsManagerAccess: SecretsManagerAccess.fromEndpoint(endpoint) }))
      .toThrow(/^NatEgressForReplication: the Secrets Manager endpoint of SecretsManagerAccess.fromEndpoint has no security group: import it with ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes/);
  });

  test('through a peer, with a reason: HTTPS to the peer, no endpoint, a route DMS Serverless cannot use', () => {
    const stack = newStack();
    const net = new NatEgressForReplication(stack, 'Net', {
      secretsManagerAccess: SecretsManagerAccess.viaPeer(ec2.Peer.ipv4('10.100.0.0/16'), 'the shared services VPC serves Secrets Manager to every VPC'),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.arrayWith([Match.objectLike({ CidrIp: '10.100.0.0/16', FromPort: 443, ToPort: 443 })]),
    });
    expect(net.secretsManagerEndpoint).toBeUndefined();
    expect(net.secretsManagerRoute).toBe(SecretsManagerRoute.OTHER);
    Annotations.fromStack(stack).hasInfo('/S/Net', Match.stringLikeRegexp('not through an endpoint in this VPC: the shared services VPC'));
    expect(() => SecretsManagerAccess.viaPeer(ec2.Peer.anyIpv4(), '') && new NatEgressForReplication(newStack(), 'Net', {
      secretsManagerAccess: SecretsManagerAccess.viaPeer(ec2.Peer.anyIpv4(), 'nat'),
    })).toThrow(/SecretsManagerAccess.viaPeer needs a reason \(at least 10 characters\)/);
  });

  /** A VPC of the app with public and isolated subnets and room for replication subnets. */
  function isolatedVpc(stack: Stack, props: Partial<ec2.VpcProps> = {}): ec2.Vpc {
    return new ec2.Vpc(stack, 'Existing', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }, { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      ...props,
    });
  }

  test('newEndpoint() in an existing VPC serves every workload there: its group admits the VPC\'s blocks, and the synth warns', () => {
    const stack = newStack();
    const vpc = isolatedVpc(stack);
    new ec2.CfnVPCCidrBlock(stack, 'Secondary', { vpcId: vpc.vpcId, cidrBlock: '100.64.0.0/24' });
    const net = new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], secretsManagerAccess: SecretsManagerAccess.newEndpoint() });
    const template = Template.fromStack(stack);

    const endpointSg = sgId(template, 'NetSecretsManagerEndpointSecurityGroup');
    const inline = template.toJSON().Resources[endpointSg].Properties.SecurityGroupIngress.map((r: any) => `${r.CidrIp} ${r.FromPort}`);
    expect(inline).toEqual(['10.0.0.0/16 443', '100.64.0.0/24 443']);
    // and the replication group, as in a new VPC
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: { 'Fn::GetAtt': [endpointSg, 'GroupId'] }, FromPort: 443, SourceSecurityGroupId: Match.anyValue() });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { PrivateDnsEnabled: true, SubnetIds: stack.resolve(net.replicationSubnets.subnets!.map((x) => x.subnetId)) });
    Annotations.fromStack(stack).hasWarning('/S/Net', Match.stringLikeRegexp(
      'SecretsManagerAccess.newEndpoint\\(\\) in an existing VPC creates an interface endpoint with private DNS: from the deployment on, every workload of the VPC that calls secretsmanager.<region>.amazonaws.com reaches this endpoint instead of its current route'));
  });

  test('a second Secrets Manager endpoint with private DNS in the same VPC is refused at synth (EC2 allows one per VPC)', () => {
    const stack = newStack();
    const vpc = isolatedVpc(stack);
    vpc.addInterfaceEndpoint('Theirs', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER });
    new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], secretsManagerAccess: SecretsManagerAccess.newEndpoint() });
    expect(() => Template.fromStack(stack)).toThrow(/the VPC already has a Secrets Manager interface endpoint with private DNS \(S\/Existing\/Theirs\/Resource\), and a VPC can have only one: pass it as secretsManagerAccess: SecretsManagerAccess.fromEndpoint\(endpoint\)/);
  });

  test('replication subnets with two subnets in one Availability Zone are refused: the endpoint takes one per zone, and DMS wants the same subnets', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-1',
      vpcCidrBlock: '10.1.0.0/16',
      availabilityZones: ['us-east-2a', 'us-east-2b'],
      publicSubnetIds: ['subnet-p1', 'subnet-p2'],
      privateSubnetIds: ['subnet-a', 'subnet-b'],
      privateSubnetRouteTableIds: ['rtb-a', 'rtb-b'],
    });
    const extra = ec2.Subnet.fromSubnetAttributes(stack, 'Extra', { subnetId: 'subnet-a2', availabilityZone: 'us-east-2a', routeTableId: 'rtb-a2' });
    expect(() => new NatEgressForReplication(stack, 'Net', {
      vpc,
      publicSubnet: vpc.publicSubnets[0],
      privateSubnets: [...vpc.privateSubnets, extra],
      changeExistingRouteTables: true,
      secretsManagerAccess: SecretsManagerAccess.newEndpoint(),
    })).toThrow(/^NatEgressForReplication: the replication subnets include 2 subnets in us-east-2a \(subnet-a, subnet-a2\): the Secrets Manager interface endpoint can use one subnet per Availability Zone/);
  });

  test('a VPC of the app without DNS host names is refused for an endpoint: private DNS needs them', () => {
    const stack = newStack();
    const vpc = isolatedVpc(stack, { enableDnsHostnames: false });
    expect(() => new NatEgressForReplication(stack, 'Net', { vpc, publicSubnet: vpc.publicSubnets[0], secretsManagerAccess: SecretsManagerAccess.newEndpoint() }))
      .toThrow('NatEgressForReplication: the VPC has enableDnsHostnames off: the Secrets Manager endpoint\'s private DNS needs both on. Turn them on, or reach Secrets Manager without an endpoint: secretsManagerAccess: SecretsManagerAccess.publicEndpoint().');
    // the default in an existing VPC needs no private DNS
    expect(() => new NatEgressForReplication(newStack(), 'Net', { vpc: isolatedVpc(newStack(), { enableDnsHostnames: false }), publicSubnet: vpc.publicSubnets[0] })).not.toThrow();
  });
});
