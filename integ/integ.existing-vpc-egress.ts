/**
 * NAT egress added to an existing VPC whose private subnets had no way out (the situation of Neon's
 * guide): a NAT gateway with an Elastic IP in the public subnet, and replication subnets of its own
 * whose route tables lead to it. The VPC's own isolated subnets keep their route tables without a
 * default route.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NatEgressForReplication } from '../lib/network/nat-egress';

const app = new App();
const stack = new Stack(app, 'NeonDmsExistingVpcEgressInteg');

// what users typically have: public subnets and isolated private subnets, no NAT, room left in the block
const vpc = new ec2.Vpc(stack, 'ExistingVpc', {
  maxAzs: 2,
  natGateways: 0,
  restrictDefaultSecurityGroup: true,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false, cidrMask: 24 },
    { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
  ],
});
vpc.addFlowLog('FlowLog');

const egress = new NatEgressForReplication(stack, 'Egress', { vpc, publicSubnet: vpc.publicSubnets[0] });

const integ = new IntegTest(app, 'ExistingVpcEgress', { testCases: [stack], diffAssets: false });

const nat = integ.assertions.awsApiCall('EC2', 'describeNatGateways', {
  NatGatewayIds: [egress.natGatewayIds[0]],
}).expect(ExpectedResult.objectLike({
  NatGateways: Match.arrayWith([Match.objectLike({ State: 'available', SubnetId: vpc.publicSubnets[0].subnetId })]),
}));

// the replication subnets route to the NAT gateway
for (const subnet of egress.replicationSubnets.subnets!) {
  nat.next(integ.assertions.awsApiCall('EC2', 'describeRouteTables', {
    RouteTableIds: [subnet.routeTable.routeTableId],
  }).expect(ExpectedResult.objectLike({
    RouteTables: Match.arrayWith([Match.objectLike({
      Routes: Match.arrayWith([Match.objectLike({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: egress.natGatewayIds[0], State: 'active' })]),
    })]),
  })));
}

// the VPC's own isolated subnets keep their local route only
for (const subnet of vpc.isolatedSubnets) {
  nat.next(integ.assertions.awsApiCall('EC2', 'describeRouteTables', {
    RouteTableIds: [subnet.routeTable.routeTableId],
  }).expect(ExpectedResult.objectLike({
    RouteTables: [Match.objectLike({ Routes: [Match.objectLike({ GatewayId: 'local' })] })],
  })));
}

app.synth();
