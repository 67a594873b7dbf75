/**
 * NAT egress added to an existing VPC whose private subnets had no way out (the situation of
 * Neon's guide): a NAT gateway with an Elastic IP in the public subnet and a default route in each
 * private route table.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NatEgressForReplication } from '../lib/network/nat-egress';

const app = new App();
const stack = new Stack(app, 'NeonDmsExistingVpcEgressInteg');

// what users typically have: public subnets and isolated private subnets, no NAT
const vpc = new ec2.Vpc(stack, 'ExistingVpc', {
  maxAzs: 2,
  natGateways: 0,
  restrictDefaultSecurityGroup: true,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
    { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  ],
});
vpc.addFlowLog('FlowLog');

const egress = new NatEgressForReplication(stack, 'Egress', {
  vpc,
  publicSubnet: vpc.publicSubnets[0],
  privateSubnets: vpc.isolatedSubnets,
});

const integ = new IntegTest(app, 'ExistingVpcEgress', { testCases: [stack], diffAssets: false });

const nat = integ.assertions.awsApiCall('EC2', 'describeNatGateways', {
  NatGatewayIds: [egress.natGatewayIds[0]],
}).expect(ExpectedResult.objectLike({
  NatGateways: Match.arrayWith([Match.objectLike({ State: 'available', SubnetId: vpc.publicSubnets[0].subnetId })]),
}));

for (const subnet of vpc.isolatedSubnets) {
  nat.next(integ.assertions.awsApiCall('EC2', 'describeRouteTables', {
    RouteTableIds: [subnet.routeTable.routeTableId],
  }).expect(ExpectedResult.objectLike({
    RouteTables: Match.arrayWith([Match.objectLike({
      Routes: Match.arrayWith([Match.objectLike({ DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: egress.natGatewayIds[0], State: 'active' })]),
    })]),
  })));
}

app.synth();
