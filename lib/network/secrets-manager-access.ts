import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** Which way a `SecretsManagerAccess` goes. */
export enum SecretsManagerAccessKind {
  /** A new interface VPC endpoint in the replication subnets. */
  NEW_ENDPOINT = 'new-endpoint',
  /** An interface VPC endpoint that already serves the VPC. */
  EXISTING_ENDPOINT = 'existing-endpoint',
  /** HTTPS to a peer outside the VPC (the public endpoint through the NAT gateway, a central endpoint). */
  PEER = 'peer',
}

/**
 * How the replication network reaches AWS Secrets Manager, where DMS reads every endpoint's
 * credentials (`SecretsManagerSecretId`).
 *
 * Since DMS 3.4.7 a replication instance in a private subnet calls Secrets Manager from inside the
 * VPC, and a DMS Serverless replication only through an interface VPC endpoint whose subnets are the
 * replication subnets ("Configuring VPC endpoints for AWS DMS"). Without a path, every connection
 * test fails.
 */
export class SecretsManagerAccess {
  /**
   * A new interface VPC endpoint (`com.amazonaws.<region>.secretsmanager`) with private DNS in the
   * replication subnets, with a security group of its own that admits HTTPS from the replication
   * security group only. A VPC can have one Secrets Manager endpoint with private DNS: when yours has
   * one, use `fromEndpoint`.
   */
  public static newEndpoint(): SecretsManagerAccess {
    return new SecretsManagerAccess(SecretsManagerAccessKind.NEW_ENDPOINT);
  }

  /**
   * An interface VPC endpoint for Secrets Manager that already serves the VPC, with private DNS on and
   * subnets that include the replication subnets. Import it with its security group
   * (`ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes({ vpcEndpointId, port: 443, securityGroups })`):
   * the replication security group gets egress on 443 to that group, and that group ingress from it.
   */
  public static fromEndpoint(endpoint: ec2.IInterfaceVpcEndpoint): SecretsManagerAccess {
    return new SecretsManagerAccess(SecretsManagerAccessKind.EXISTING_ENDPOINT, endpoint);
  }

  /**
   * No endpoint in this VPC: the replication security group gets egress on 443 to `peer`, e.g.
   * `ec2.Peer.anyIpv4()` for the public Secrets Manager endpoint through the NAT gateway, or the CIDR
   * block of a shared services VPC whose endpoint this VPC resolves. Enough for a replication
   * instance; DMS Serverless needs an endpoint in the VPC.
   *
   * @param peer where Secrets Manager is reached
   * @param reason why the VPC has no endpoint of its own (shown at synth)
   */
  public static viaPeer(peer: ec2.IPeer, reason: string): SecretsManagerAccess {
    return new SecretsManagerAccess(SecretsManagerAccessKind.PEER, undefined, peer, reason);
  }

  private constructor(
    /** Which way the access goes. */
    public readonly kind: SecretsManagerAccessKind,
    /** The endpoint, with `fromEndpoint`. */
    public readonly endpoint?: ec2.IInterfaceVpcEndpoint,
    /** The peer, with `viaPeer`. */
    public readonly peer?: ec2.IPeer,
    /** Why there is no endpoint, with `viaPeer`. */
    public readonly reason?: string,
  ) {}
}
