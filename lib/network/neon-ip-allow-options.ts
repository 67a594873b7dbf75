import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * Adds the replication network's egress addresses (its NAT gateways' Elastic IPs) to a Neon
 * project's IP Allow list at deploy time.
 */
export interface NeonIpAllowOptions {
  /** Neon project id, e.g. `crimson-sun-12345678` (project Settings page). */
  readonly projectId: string;

  /**
   * Secret holding a Neon API key that may change the project's settings. Read by the deploy-time
   * handler; the key never appears in the template or in logs.
   */
  readonly apiKeySecret: secretsmanager.ISecret;

  /**
   * JSON field of `apiKeySecret` holding the API key, e.g. `NEON_API_KEY`.
   *
   * @default - the secret holds the plain API key
   */
  readonly apiKeySecretField?: string;

  /**
   * Base URL of the Neon API.
   *
   * @default 'https://console.neon.tech/api/v2'
   */
  readonly apiBaseUrl?: string;

  /**
   * Add the Elastic IPs even when the project's IP Allow list is empty. An empty list lets every
   * address in, so adding the NAT's addresses would lock out every other client (applications,
   * developers); by default an empty list is left unchanged.
   *
   * @default false
   */
  readonly addToEmptyList?: boolean;
}
