import { IResource } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { IDependable } from 'constructs';

/** Kind of DMS endpoint. */
export enum EndpointType {
  /** Data is read from it. */
  SOURCE = 'source',
  /** Data is written to it. */
  TARGET = 'target',
}

/**
 * A DMS endpoint: a Neon target or a source database, created by this library or imported
 * (`fromEndpointArn`, `fromEndpointAttributes` of each endpoint class).
 */
export interface IDmsEndpoint extends IResource {
  /**
   * ARN of the `AWS::DMS::Endpoint`.
   *
   * @attribute
   */
  readonly endpointArn: string;
  /** The endpoint identifier (for an endpoint imported by ARN only: the last part of its ARN). */
  readonly endpointIdentifier: string;
  /** `source` or `target`. */
  readonly endpointType: EndpointType;
  /** DMS engine name, e.g. `postgres`. */
  readonly engineName: string;
  /** TCP port the replication instance connects to (used for its security-group egress). */
  readonly port: number;
  /**
   * The database's network side (e.g. an RDS instance or its security group), when the endpoint knows
   * it: a migration task and a connection test open the database's `port` to their replication
   * compute through it.
   *
   * @default - unknown: the database must be opened to the replication compute by other means
   */
  readonly databaseConnections?: ec2.IConnectable;
}

/**
 * How a replication network reaches AWS Secrets Manager. Since DMS 3.4.7 a replication instance
 * reads endpoint credentials (`SecretsManagerSecretId`) from inside its VPC, and DMS Serverless only
 * through an interface VPC endpoint.
 */
export enum SecretsManagerRoute {
  /** An interface VPC endpoint with private DNS in the replication subnets: what DMS Serverless needs. */
  VPC_ENDPOINT = 'vpc-endpoint',
  /** Another route, e.g. a NAT gateway to the public endpoint: enough for a replication instance only. */
  OTHER = 'other',
}

/**
 * Where a replication instance runs, and what it must wait for before it can reach its endpoints.
 * `NatEgressForReplication` implements it; any VPC with egress can too.
 */
export interface IReplicationNetwork {
  /** The VPC of the replication instance. */
  readonly vpc: ec2.IVpc;
  /** The (private) subnets for the replication subnet group: at least two, in two AZs. */
  readonly replicationSubnets: ec2.SubnetSelection;
  /** Security group for the replication instance. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Completes when the route from the replication subnets to the internet exists:
   * connection tests and the task start wait on it.
   */
  readonly egressReady: IDependable;

  /**
   * How the replication subnets and security group reach AWS Secrets Manager, where DMS reads the
   * endpoints' credentials.
   *
   * @default - not known: the replication constructs warn at synth
   */
  readonly secretsManagerRoute?: SecretsManagerRoute;
}
