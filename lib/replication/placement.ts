import { Annotations, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { DmsAccountRoles } from './account-roles';
import { ReplicationPlacementOptions } from './placement-options';
import { generateDmsIdentifier } from '../core/identifiers';
import { IReplicationNetwork, SecretsManagerRoute } from '../core/interfaces';

/** The placement after defaults are applied. */
export interface ResolvedPlacement {
  readonly vpc: ec2.IVpc;
  readonly subnetIds: string[];
  readonly securityGroups: ec2.ISecurityGroup[];
  readonly egressReady?: IDependable;
  /** The network, given or made of the placement: what runs next to the replication compute runs there too. */
  readonly network: IReplicationNetwork;
}

/**
 * Applies the defaults of `ReplicationPlacementOptions` and checks what is visible at synth.
 *
 * @internal
 */
export function resolvePlacement(scope: Construct, owner: string, options: ReplicationPlacementOptions, serverless = false): ResolvedPlacement {
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
  checkSecretsManagerRoute(scope, owner, network?.secretsManagerRoute, serverless);
  return {
    vpc,
    subnetIds: selected.subnetIds,
    securityGroups,
    egressReady: network?.egressReady,
    // a placement by vpc: its subnets and first security group, with nothing to wait for
    network: network ?? {
      vpc, replicationSubnets: { subnets: selected.subnets }, securityGroup: securityGroups[0], egressReady: new DependencyGroup(),
    },
  };
}

/**
 * DMS reads endpoint credentials from Secrets Manager from inside the VPC (3.4.7 and later): a
 * replication instance needs some route to it, DMS Serverless an interface endpoint in its subnets.
 */
function checkSecretsManagerRoute(scope: Construct, owner: string, route: SecretsManagerRoute | undefined, serverless: boolean): void {
  if (serverless && route === SecretsManagerRoute.OTHER) {
    throw new Error(`${owner}: DMS Serverless reaches AWS Secrets Manager only through an interface VPC endpoint in the replication subnets, `
      + 'and the network reaches it another way (SecretsManagerAccess.publicEndpoint() is the default in an existing VPC, or viaPeer). '
      + 'Give the network secretsManagerAccess: SecretsManagerAccess.fromEndpoint(yourEndpoint) (the VPC\'s own Secrets Manager endpoint) '
      + 'or SecretsManagerAccess.newEndpoint() (private DNS: every workload of the VPC then calls Secrets Manager through it), '
      + 'or run the task on a replication instance.');
  }
  if (route === undefined) {
    Annotations.of(scope).addWarningV2('cdk-neon-migration:secretsManagerRoute',
      `${owner} reads its endpoints' credentials from AWS Secrets Manager from inside the VPC, and its placement does not say how the `
      + 'replication subnets reach Secrets Manager. Add an interface VPC endpoint for Secrets Manager (private DNS) in the replication subnets '
      + `that admits HTTPS from the replication security group${serverless ? ' (DMS Serverless accepts nothing else)' : ', or a NAT route and egress on 443'}, `
      + 'or place it with network: an ExistingEgressForReplication (subnets that already reach the internet) or a NatEgressForReplication.');
  }
}

function validateSubnets(owner: string, selected: ec2.SelectedSubnets): void {
  const ids = selected.subnetIds;
  if (ids.length === 0) {
    throw new Error(`${owner}: the subnet selection is empty: the VPC has no subnets of the selected type (the default selects its private subnets with egress; `
      + 'an ec2.Vpc with only isolated subnets has none). Select the subnets with vpcSubnets, or place it with network: an ExistingEgressForReplication '
      + '(private subnets that reach the internet) or a NatEgressForReplication (subnets that do not).');
  }
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
