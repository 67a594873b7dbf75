import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** Which way a `SecretsManagerAccess` goes. */
export enum SecretsManagerAccessKind {
  /** A new interface VPC endpoint in the replication subnets. */
  NEW_ENDPOINT = 'new-endpoint',
  /** An interface VPC endpoint that already serves the VPC. */
  EXISTING_ENDPOINT = 'existing-endpoint',
  /** HTTPS to a peer outside the VPC (the public endpoint through the internet egress, a central endpoint). */
  PEER = 'peer',
}

/**
 * How the replication network reaches AWS Secrets Manager, where DMS reads every endpoint's
 * credentials (`SecretsManagerSecretId`).
 *
 * Since DMS 3.4.7 a replication instance in a private subnet calls Secrets Manager from inside the
 * VPC, through an interface VPC endpoint or a public route (a NAT gateway); a DMS Serverless
 * replication only through an interface VPC endpoint whose subnets are the replication subnets
 * ("Configuring VPC endpoints for AWS DMS"). Without a path, every connection test fails.
 *
 * An interface endpoint with private DNS answers for `secretsmanager.<region>.amazonaws.com` in the
 * whole VPC: every workload's calls to Secrets Manager go to it from then on. In a VPC that already
 * runs workloads, prefer `publicEndpoint()` or `fromEndpoint()`, which change nothing for them.
 */
export class SecretsManagerAccess {
  /**
   * A new interface VPC endpoint (`com.amazonaws.<region>.secretsmanager`) with private DNS in the
   * replication subnets. A VPC can have one Secrets Manager endpoint with private DNS: when yours has
   * one, use `fromEndpoint`.
   *
   * In a VPC the network creates, its security group admits HTTPS from the replication security group
   * only. In an existing VPC the endpoint's private DNS redirects every workload's Secrets Manager
   * calls to it, so its security group admits HTTPS from the VPC's CIDR blocks (no workload is
   * refused), and the synth warns (`cdk-neon-migration:vpcWideSecretsManagerEndpoint`) that their
   * traffic changes its path.
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
   * Secrets Manager's public endpoint, through the replication subnets' internet egress (the NAT
   * gateway, transit gateway or firewall their route tables send `0.0.0.0/0` to): the replication
   * security group gets egress on 443 to any IPv4 address, and nothing is added to the VPC. What DMS
   * 3.4.7 and later accept on a replication instance ("VPC endpoints or public routes"); DMS Serverless
   * needs an interface endpoint (`newEndpoint()` or `fromEndpoint()`).
   *
   * The default of a network in an existing VPC: no other workload's traffic changes.
   */
  public static publicEndpoint(): SecretsManagerAccess {
    return new SecretsManagerAccess(SecretsManagerAccessKind.PEER, undefined, ec2.Peer.anyIpv4(),
      'the public Secrets Manager endpoint through the replication subnets\' internet egress');
  }

  /**
   * No endpoint in this VPC: the replication security group gets egress on 443 to `peer`, e.g. the
   * CIDR block of a shared services VPC whose endpoint this VPC resolves. Enough for a replication
   * instance; DMS Serverless needs an endpoint in the VPC. For the public endpoint through the
   * subnets' egress, `publicEndpoint()` says so in one word.
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
    /** The peer, with `viaPeer` and `publicEndpoint`. */
    public readonly peer?: ec2.IPeer,
    /** Why there is no endpoint, with `viaPeer` and `publicEndpoint`. */
    public readonly reason?: string,
  ) {}
}
