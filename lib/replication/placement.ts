import { Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, IDependable } from 'constructs';
import { DmsAccountRoles } from './account-roles';
import { ReplicationPlacementOptions } from './placement-options';
import { generateDmsIdentifier } from '../core/identifiers';

/** The placement after defaults are applied. */
export interface ResolvedPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnetIds: string[];
  readonly securityGroups: ec2.ISecurityGroup[];
  readonly egressReady?: IDependable;
}

/**
 * Applies the defaults of `ReplicationPlacementOptions` and checks what is visible at synth.
 *
 * @internal
 */
export function resolvePlacement(scope: Construct, owner: string, options: ReplicationPlacementOptions): ResolvedPlacement {
  const network = options.network;
  if (network && options.vpc) {
    throw new Error(`${owner}: network and vpc are alternatives: set one of them.`);
  }
  if (network && (options.vpcSubnets || options.securityGroups)) {
    throw new Error(`${owner}: vpcSubnets and securityGroups only apply with vpc; network brings its own replicationSubnets and securityGroup.`);
  }
  const vpc = network?.vpc ?? options.vpc;
  if (!vpc) {
    throw new Error(`${owner}: set network (an IReplicationNetwork such as NatEgressForReplication) or vpc.`);
  }
  const selection = network?.replicationSubnets ?? options.vpcSubnets;
  const selected = vpc.selectSubnets(selection);
  validateSubnets(owner, selected);

  let securityGroups: ec2.ISecurityGroup[];
  if (network) {
    securityGroups = [network.securityGroup];
  } else if (options.securityGroups && options.securityGroups.length > 0) {
    securityGroups = options.securityGroups;
  } else {
    securityGroups = [new ec2.SecurityGroup(scope, 'SecurityGroup', {
      vpc,
      description: 'DMS replication compute',
      allowAllOutbound: true,
    })];
  }
  return { vpc, subnetIds: selected.subnetIds, securityGroups, egressReady: network?.egressReady };
}

function validateSubnets(owner: string, selected: ec2.SelectedSubnets): void {
  const ids = selected.subnetIds;
  if (ids.length < 2) {
    throw new Error(`${owner}: the replication subnet group needs at least 2 subnets in at least 2 Availability Zones, `
      + `but the subnet selection has ${ids.length}. Select more subnets (vpcSubnets or the network's replicationSubnets).`);
  }
  const zones: string[] = [];
  for (const subnet of selected.subnets) {
    const zone = knownAvailabilityZone(subnet);
    if (zone === undefined) {
      return; // not visible at synth: DMS checks it at deploy time
    }
    zones.push(zone);
  }
  const distinct = new Set(zones);
  if (zones.length > 0 && distinct.size < 2) {
    throw new Error(`${owner}: the replication subnet group needs subnets in at least 2 Availability Zones, `
      + `but every selected subnet is in ${[...distinct].join(', ')}. Select subnets in another Availability Zone too.`);
  }
}

function knownAvailabilityZone(subnet: ec2.ISubnet): string | undefined {
  let zone: string | undefined;
  try {
    zone = subnet.availabilityZone;
  } catch {
    // Subnets imported by id only carry no Availability Zone.
    return undefined;
  }
  if (!zone || Token.isUnresolved(zone)) {
    return undefined;
  }
  return zone;
}

/**
 * Creates the replication subnet group (after the account roles unless opted out).
 *
 * @internal
 */
export function createSubnetGroup(scope: Construct, id: string, description: string, subnetIds: string[],
  manageAccountRoles: boolean): dms.CfnReplicationSubnetGroup {
  const group = new dms.CfnReplicationSubnetGroup(scope, id, {
    replicationSubnetGroupDescription: description,
    subnetIds,
  });
  // An explicit lowercase identifier: DMS stores identifiers in lowercase.
  group.replicationSubnetGroupIdentifier = generateDmsIdentifier(group, 255);
  if (manageAccountRoles) {
    group.node.addDependency(DmsAccountRoles.of(scope));
  }
  return group;
}
