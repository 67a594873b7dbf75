import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NeonIpAllowOptions } from './neon-ip-allow-options';
import { SecretsManagerAccess } from './secrets-manager-access';

/**
 * Properties of a `NatEgressForReplication`.
 *
 * Without `vpc`, a new VPC is created (public and private subnets in `maxAzs` Availability Zones,
 * `natGateways` NAT gateways, flow logs). With `vpc`, a NAT gateway is added to `publicSubnet` of
 * that VPC, and replication subnets of its own with their own route tables, whose default route
 * leads to it: nothing that already runs in the VPC changes its route.
 */
export interface NatEgressForReplicationProps {
  /**
   * An existing VPC whose private subnets do not reach the internet yet (for subnets that do, use
   * `ExistingEgressForReplication`). Give `publicSubnet` with it.
   *
   * @default - a new VPC is created
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Public subnet of `vpc` (its route table sends 0.0.0.0/0 to an internet gateway) the NAT gateway
   * goes into. Only with `vpc`.
   *
   * @default - none; required with `vpc`
   */
  readonly publicSubnet?: ec2.ISubnet;

  /**
   * IPv4 blocks of the replication subnets created in `vpc`: one subnet per block, in the VPC's
   * first Availability Zones, at least two (DMS subnet groups need two Availability Zones), each
   * /16 to /28, inside the VPC's CIDR blocks and overlapping none of its subnets. Each gets a route
   * table of its own with the default route to the NAT gateway. Only with `vpc`, not with
   * `privateSubnets` or `routeTableIds`.
   *
   * @default - two free /26 blocks of the VPC's address space (the highest), when the app shows
   * every subnet of the VPC (a VPC of this app, or `ec2.Vpc.fromLookup`)
   */
  readonly replicationSubnetCidrs?: string[];

  /**
   * Existing private subnets of `vpc` for the replication compute instead of subnets of its own. The
   * default route to the NAT gateway goes into their route tables (or `routeTableIds`), which gives
   * every other resource using those route tables a way to the internet too: set
   * `changeExistingRouteTables: true` to accept that. Only with `vpc`.
   *
   * @default - replication subnets of its own (`replicationSubnetCidrs`)
   */
  readonly privateSubnets?: ec2.ISubnet[];

  /**
   * Exactly the existing route tables that get a `0.0.0.0/0` route to the NAT gateway. None of them
   * may already have a default route. Needs `changeExistingRouteTables: true`. Only with `vpc`.
   *
   * @default - the route tables of `privateSubnets`
   */
  readonly routeTableIds?: string[];

  /**
   * Accept that existing route tables (`privateSubnets`' or `routeTableIds`) get the default route
   * to the NAT gateway: every resource whose subnet uses them can then reach the internet.
   *
   * @default false - existing route tables are never changed
   */
  readonly changeExistingRouteTables?: boolean;

  /**
   * IPv4 CIDR block of the new VPC, /16 to /28 (large enough for a public and a private subnet in
   * each Availability Zone, each at least /28). Only without `vpc`.
   *
   * @default '10.0.0.0/16'
   */
  readonly cidr?: string;

  /**
   * CIDR blocks the new VPC must not overlap, such as the source database's VPC when the two are
   * peered or connected through a transit gateway. Only without `vpc`.
   *
   * @default - no check
   */
  readonly avoidCidrs?: string[];

  /**
   * Number of Availability Zones of the new VPC; DMS replication subnet groups need at least two.
   * Only without `vpc`.
   *
   * @default 2
   */
  readonly maxAzs?: number;

  /**
   * Number of NAT gateways of the new VPC, at most one per Availability Zone. Each costs about
   * $0.045 per hour plus $0.045 per GB processed, and its Elastic IP $0.005 per hour (us-east-1).
   * One is enough for a migration; one per AZ survives the loss of an AZ. Only without `vpc`.
   *
   * @default 1
   */
  readonly natGateways?: number;

  /**
   * Retention of the new VPC's flow logs. Only without `vpc`.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;

  /**
   * KMS key encrypting the new VPC's flow log group. Only without `vpc`.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly flowLogEncryptionKey?: kms.IKey;

  /**
   * Add the NAT gateways' Elastic IPs to a Neon project's IP Allow list at deploy time.
   *
   * @default - the IPs are only shown as stack outputs (`NeonAllowIp1`, ...) to add by hand
   */
  readonly neonIpAllow?: NeonIpAllowOptions;

  /**
   * How the replication compute reaches AWS Secrets Manager, where DMS reads the endpoints'
   * credentials from inside the VPC (DMS 3.4.7 and later; DMS Serverless only through an interface
   * endpoint in the replication subnets).
   *
   * @default - in a new VPC, `SecretsManagerAccess.newEndpoint()`: an interface endpoint with private
   * DNS in the replication subnets, HTTPS from the replication security group only; in an existing
   * VPC, `SecretsManagerAccess.publicEndpoint()` through the NAT gateway, which changes nothing for
   * the VPC's other workloads (DMS Serverless needs `newEndpoint()` or `fromEndpoint()` there)
   */
  readonly secretsManagerAccess?: SecretsManagerAccess;
}
