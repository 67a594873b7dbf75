import { Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IConstruct } from 'constructs';
import { Ipv4Block, overlaps, parseIpv4Cidr } from './cidr';
import { ipv4CidrOf, sameValue, vpcCidrBlocks } from './egress-parts';

/*
 * What the app shows of a VPC it did not create for the migration: the default routes of its route
 * tables, where they lead, the NAT gateways' public addresses, and the address space its subnets
 * leave free. Only what is declared in this app is visible; a VPC imported by id shows nothing and
 * the callers say so.
 */

/** Where a default route leaves the VPC. */
export enum EgressKind {
  NAT_GATEWAY = 'NAT gateway',
  INTERNET_GATEWAY = 'internet gateway',
  TRANSIT_GATEWAY = 'transit gateway',
  OTHER = 'network appliance or peering',
}

/** A `0.0.0.0/0` route of the app on a route table. */
export interface DefaultRoute {
  readonly route: ec2.CfnRoute;
  readonly kind: EgressKind;
}

/** The `0.0.0.0/0` routes declared in the app on `routeTableId` (none when the table is not of this app). */
export function defaultRoutesOn(scope: IConstruct, routeTableId: string): DefaultRoute[] {
  return scope.node.root.node.findAll()
    .filter((c): c is ec2.CfnRoute => c instanceof ec2.CfnRoute && c.destinationCidrBlock === '0.0.0.0/0')
    .filter(route => sameValue(route, route.routeTableId, scope, routeTableId))
    .map(route => ({ route, kind: egressKindOf(route) }));
}

function egressKindOf(route: ec2.CfnRoute): EgressKind {
  if (route.natGatewayId !== undefined) return EgressKind.NAT_GATEWAY;
  if (route.transitGatewayId !== undefined) return EgressKind.TRANSIT_GATEWAY;
  if (route.gatewayId !== undefined) {
    // an egress-only internet gateway serves IPv6 only; a virtual private gateway is not the internet
    return EgressKind.INTERNET_GATEWAY;
  }
  return EgressKind.OTHER;
}

/** Whether a route table of the app is declared here, so the absence of a default route means something. */
export function routeTableDeclared(scope: IConstruct, routeTableId: string): boolean {
  return scope.node.root.node.findAll()
    .some(c => c instanceof ec2.CfnRouteTable && sameValue(c, c.ref, scope, routeTableId));
}

/**
 * The public address of a NAT gateway declared in this app, when its Elastic IP is declared here too
 * (`ec2.Vpc` creates both): a token of the `AWS::EC2::EIP`.
 */
export function natGatewayPublicIp(route: ec2.CfnRoute): string | undefined {
  const natGatewayId = route.natGatewayId;
  if (natGatewayId === undefined) return undefined;
  const all = route.node.root.node.findAll();
  const nat = all.find((c): c is ec2.CfnNatGateway => c instanceof ec2.CfnNatGateway && sameValue(c, c.ref, route, natGatewayId));
  if (!nat || nat.allocationId === undefined || (nat.connectivityType ?? 'public') !== 'public') return undefined;
  const eip = all.find((c): c is ec2.CfnEIP => c instanceof ec2.CfnEIP && sameValue(c, c.attrAllocationId, nat, nat.allocationId!));
  return eip?.ref;
}

/**
 * `count` free blocks of size `/prefix` in the VPC's address space (the highest first), or undefined
 * when the app does not show every subnet's block or the VPC's own.
 */
export function freeSubnetBlocks(vpc: ec2.IVpc, count: number, prefix: number): string[] | undefined {
  const vpcBlocks = (vpcCidrBlocks(vpc) ?? []).filter(b => !Token.isUnresolved(b)).map(parseIpv4Cidr);
  if (vpcBlocks.length === 0 || vpcBlocks.some(b => b === undefined)) return undefined;
  const used = usedBlocks(vpc);
  if (used === undefined) return undefined;
  const size = 2 ** (32 - prefix);
  const free: string[] = [];
  for (const block of vpcBlocks as Ipv4Block[]) {
    for (let first = block.last + 1 - size; first >= block.first && free.length < count; first -= size) {
      const candidate = { first, last: first + size - 1, prefix };
      if (!used.some(u => overlaps(u, candidate))) {
        free.push(formatBlock(candidate));
        used.push(candidate);
      }
    }
  }
  return free.length === count ? free : [];
}

/** Every subnet block of the VPC this app knows: its ISubnets and the `AWS::EC2::Subnet`s declared in it. */
export function usedBlocks(vpc: ec2.IVpc): Ipv4Block[] | undefined {
  const subnets = [...vpc.publicSubnets, ...vpc.privateSubnets, ...vpc.isolatedSubnets];
  const blocks: Ipv4Block[] = [];
  for (const subnet of subnets) {
    const block = parseIpv4Cidr(ipv4CidrOf(subnet) ?? '');
    if (!block) return undefined;
    blocks.push(block);
  }
  const declared = vpc.node.root.node.findAll()
    .filter((c): c is ec2.CfnSubnet => c instanceof ec2.CfnSubnet)
    .filter(subnet => Stack.of(subnet) === Stack.of(vpc) || !Token.isUnresolved(vpc.vpcId))
    .filter(subnet => sameValue(subnet, subnet.vpcId, vpc, vpc.vpcId));
  for (const subnet of declared) {
    const block = parseIpv4Cidr(subnet.cidrBlock ?? '');
    if (!block) return undefined;
    blocks.push(block);
  }
  return blocks;
}

export function formatBlock(block: Ipv4Block): string {
  const a = block.first;
  return `${Math.floor(a / 2 ** 24) % 256}.${Math.floor(a / 2 ** 16) % 256}.${Math.floor(a / 2 ** 8) % 256}.${a % 256}/${block.prefix}`;
}
