import { Annotations, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { describeSubnet, EgressParts, routeTableIdOf } from './egress-parts';
import { NeonIpAllowOptions } from './neon-ip-allow-options';
import { SecretsManagerAccess } from './secrets-manager-access';
import { defaultRoutesOn, EgressKind, natGatewayPublicIp, routeTableDeclared } from './vpc-layout';
import { IReplicationNetwork, SecretsManagerRoute } from '../core/interfaces';

/**
 * Properties of an `ExistingEgressForReplication`.
 */
export interface ExistingEgressForReplicationProps {
  /** The VPC whose private subnets already reach the internet. */
  readonly vpc: ec2.IVpc;

  /**
   * Private subnets of `vpc` that reach the internet already (a default route to a NAT gateway, a
   * transit gateway or a firewall): the replication compute, and the schema tools, checks and
   * functions that run next to it, get their network interfaces there. At least two, in two
   * Availability Zones; at most one per Availability Zone when an interface endpoint is created in
   * them (`SecretsManagerAccess.newEndpoint()`).
   *
   * @default - the VPC's `PRIVATE_WITH_EGRESS` subnets, one per Availability Zone
   */
  readonly replicationSubnets?: ec2.SubnetSelection;

  /**
   * The public addresses the replication subnets reach the internet from: what Neon sees, and what
   * its IP Allow list must contain. Give them for egress the app cannot see: a transit gateway, a
   * firewall, or NAT gateways of a VPC imported by id.
   *
   * @default - the Elastic IPs of the NAT gateways the replication subnets' default routes lead to,
   * when those routes and gateways are declared in this app (an `ec2.Vpc` with NAT gateways); none
   * otherwise
   */
  readonly egressIps?: string[];

  /**
   * Add `egressIps` to a Neon project's IP Allow list at deploy time.
   *
   * @default - the addresses are only shown as stack outputs (`NeonAllowIp1`, ...) to add by hand
   */
  readonly neonIpAllow?: NeonIpAllowOptions;

  /**
   * How the replication compute reaches AWS Secrets Manager, where DMS reads the endpoints'
   * credentials.
   *
   * @default SecretsManagerAccess.publicEndpoint() - through the subnets' egress, which changes
   * nothing for the VPC's other workloads (DMS Serverless needs `newEndpoint()` or `fromEndpoint()`)
   */
  readonly secretsManagerAccess?: SecretsManagerAccess;
}

/**
 * The replication network of a VPC whose private subnets already reach the internet, through NAT
 * gateways (an `ec2.Vpc` with its defaults), a transit gateway or a firewall: the replication compute
 * runs in those subnets and leaves through that egress. Nothing is added to the VPC's routes and no
 * NAT gateway is created; what is created is a security group whose only egress is Neon's port, HTTPS
 * to Secrets Manager, and the source database's port (`allowSourcePort`).
 *
 * @example
 * import * as ec2 from 'aws-cdk-lib/aws-ec2';
 * import { ExistingEgressForReplication } from 'cdk-neon-migration';
 *
 * const vpc = new ec2.Vpc(this, 'Vpc');
 * const network = new ExistingEgressForReplication(this, 'Network', { vpc });
 */
export class ExistingEgressForReplication extends Construct implements IReplicationNetwork {
  public readonly vpc: ec2.IVpc;
  public readonly replicationSubnets: ec2.SubnetSelection;
  public readonly securityGroup: ec2.ISecurityGroup;
  /** Completes when the security group's rules (and the Secrets Manager endpoint, the Neon IP Allow entry) exist. */
  public readonly egressReady: IDependable;
  /** The public addresses Neon sees the replication compute connect from (found or given; tokens). */
  public readonly egressIps: string[];
  /**
   * The Secrets Manager interface endpoint the replication compute uses (created, or given with
   * `SecretsManagerAccess.fromEndpoint`); undefined with `publicEndpoint` and `viaPeer`.
   */
  public readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /** How the replication subnets reach Secrets Manager. */
  public readonly secretsManagerRoute?: SecretsManagerRoute;

  private readonly parts: EgressParts;

  constructor(scope: Construct, id: string, props: ExistingEgressForReplicationProps) {
    super(scope, id);
    this.vpc = props.vpc;
    const selection = props.replicationSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, onePerAz: true };
    const subnets = this.selectSubnets(props.vpc, selection, props.replicationSubnets !== undefined);
    this.replicationSubnets = { subnets };
    const found = this.checkEgress(subnets);
    this.egressIps = props.egressIps ?? found;
    props.egressIps?.forEach((ip, i) => {
      if (!Token.isUnresolved(ip) && !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
        throw new Error(`ExistingEgressForReplication: egressIps[${i}] '${ip}' is not an IPv4 address: give the public addresses Neon sees (the Elastic IPs of the NAT gateways or firewall).`);
      }
    });
    if (this.egressIps.length === 0) {
      Annotations.of(this).addInfo('The public addresses the replication subnets leave from are not known at synth (egress through a transit gateway, '
        + 'a firewall, or a VPC imported by id): if the Neon project uses IP Allow, give egressIps and add them to it.');
    }

    const dependencies = new DependencyGroup();
    this.parts = new EgressParts(this, {
      owner: 'ExistingEgressForReplication',
      vpc: props.vpc,
      subnets,
      existingVpc: true,
      secretsManagerAccess: props.secretsManagerAccess,
      egressIps: this.egressIps,
      egressIpLabel: 'Public egress address',
      neonIpAllow: props.neonIpAllow,
      dependencies,
    });
    this.securityGroup = this.parts.securityGroup;
    this.secretsManagerEndpoint = this.parts.secretsManagerEndpoint;
    this.secretsManagerRoute = this.parts.secretsManagerRoute;
    this.egressReady = dependencies;
  }

  /**
   * Allow the replication compute to reach a source database on `port`.
   *
   * @param port TCP port of the source database
   * @param peer where the source database is; defaults to the VPC's CIDR block
   */
  public allowSourcePort(port: number, peer?: ec2.IPeer): void {
    this.parts.allowSourcePort(port, peer);
  }

  /**
   * Allow the replication compute to reach Neon on a port other than 5432.
   *
   * @param port TCP port of the Neon endpoint
   */
  public allowNeonPort(port: number): void {
    this.parts.allowNeonPort(port);
  }

  private selectSubnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection, given: boolean): ec2.ISubnet[] {
    let subnets: ec2.ISubnet[];
    try {
      subnets = vpc.selectSubnets(selection).subnets;
    } catch (e) {
      if (given) throw e;
      subnets = []; // "There are no 'Private' subnet groups in this VPC"
    }
    if (subnets.length === 0) {
      throw new Error(given
        ? 'ExistingEgressForReplication: replicationSubnets selects no subnet of the VPC: select its private subnets that reach the internet.'
        : 'ExistingEgressForReplication: the VPC has no private subnets with egress (PRIVATE_WITH_EGRESS): its private subnets do not reach the internet. '
          + 'Use NatEgressForReplication with vpc and publicSubnet, which adds a NAT gateway and replication subnets of its own, or select the subnets '
          + 'that do reach it with replicationSubnets.');
    }
    if (subnets.length < 2) {
      throw new Error(`ExistingEgressForReplication: replicationSubnets selects ${subnets.length} subnet: DMS replication subnet groups need subnets in two Availability Zones.`);
    }
    const publicIds = new Set(vpc.publicSubnets.map(s => s.subnetId));
    subnets.forEach((subnet, i) => {
      if (subnet instanceof ec2.PublicSubnet || publicIds.has(subnet.subnetId)) {
        throw new Error(`ExistingEgressForReplication: replicationSubnets[${i}] (${describeSubnet(subnet)}) is a public subnet: the replication compute belongs in private subnets.`);
      }
    });
    return subnets;
  }

  /**
   * Where the subnets' default routes lead, when the app declares their route tables: none is an
   * isolated subnet (no way to Neon), an internet gateway a public one. Returns the public addresses
   * of the NAT gateways they lead to, when all of them are known.
   */
  private checkEgress(subnets: ec2.ISubnet[]): string[] {
    const addresses: string[] = [];
    let allKnown = true;
    subnets.forEach((subnet, i) => {
      const routeTableId = routeTableIdOf(subnet);
      if (routeTableId === undefined || !routeTableDeclared(this, routeTableId)) {
        allKnown = false;
        return;
      }
      const routes = defaultRoutesOn(this, routeTableId);
      if (routes.length === 0) {
        throw new Error(`ExistingEgressForReplication: replicationSubnets[${i}] (${describeSubnet(subnet)}) does not reach the internet: its route table has no default route (0.0.0.0/0). `
          + 'Use NatEgressForReplication with vpc and publicSubnet, which adds a NAT gateway and replication subnets of its own, or select subnets that do reach it.');
      }
      const route = routes[0];
      if (route.kind === EgressKind.INTERNET_GATEWAY) {
        throw new Error(`ExistingEgressForReplication: replicationSubnets[${i}] (${describeSubnet(subnet)}) routes 0.0.0.0/0 to an internet gateway: it is a public subnet, and a private replication instance has no public address to use it. Select private subnets.`);
      }
      const address = route.kind === EgressKind.NAT_GATEWAY ? natGatewayPublicIp(route.route) : undefined;
      if (address === undefined) {
        allKnown = false;
      } else if (!addresses.includes(address)) {
        addresses.push(address);
      }
    });
    return allKnown ? addresses : [];
  }
}
