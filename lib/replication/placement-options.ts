import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IReplicationNetwork } from '../core/interfaces';

/**
 * Where DMS replication compute runs: a network (`IReplicationNetwork`) or a VPC, subnets and
 * security groups.
 */
export interface ReplicationPlacementOptions {
  /**
   * The network to run in: its VPC, replication subnets and security group, and what connection
   * tests must wait for (`egressReady`). Set this or `vpc`.
   *
   * @default - `vpc` is used
   */
  readonly network?: IReplicationNetwork;

  /**
   * The VPC to run in, when no `network` is given. Set this or `network`.
   *
   * @default - the VPC of `network`
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Subnets of `vpc` for the replication subnet group: at least two, in at least two
   * Availability Zones. Only with `vpc`.
   *
   * @default - the VPC's private subnets (the default of `vpc.selectSubnets()`)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the replication compute. Only with `vpc`.
   *
   * @default - with `network`: its security group; with `vpc`: a new security group that allows
   * all outbound traffic and no inbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Ensure the account-level roles `dms-vpc-role` and `dms-cloudwatch-logs-role` exist before the
   * replication subnet group is created (see `DmsAccountRoles`). Turn this off when the roles are
   * managed elsewhere, e.g. by another stack or an account baseline.
   *
   * @default true
   */
  readonly manageAccountRoles?: boolean;
}
