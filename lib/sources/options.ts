import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SourceSslMode } from './ssl';

/**
 * Settings every source endpoint has.
 */
export interface SourceEndpointCommonOptions {
  /**
   * SSL mode of the connection. `verify-ca` and `verify-full` need `certificateArn`.
   * Each engine accepts a subset: PostgreSQL and MySQL all three, SQL Server `require` and
   * `verify-full`, Oracle `verify-ca`.
   *
   * @default SourceSslMode.REQUIRE (Oracle: SourceSslMode.VERIFY_CA)
   */
  readonly sslMode?: SourceSslMode;

  /**
   * ARN of the DMS certificate (`AWS::DMS::Certificate`) the server certificate must chain to.
   * Required for `verify-ca` and `verify-full`.
   *
   * @default - no certificate
   */
  readonly certificateArn?: string;

  /**
   * Name of the endpoint: letters, digits and hyphens, beginning with a letter, no trailing or
   * double hyphen, at most 255 characters. Stored in lowercase.
   *
   * @default - a name derived from the construct path
   */
  readonly endpointIdentifier?: string;

  /**
   * The customer managed KMS key that encrypts `secret`, when the secret is imported (the key of
   * a secret created in the app is found from the secret itself). The access role may decrypt with it.
   *
   * @default - the secret's own `encryptionKey`, if any
   */
  readonly secretEncryptionKey?: kms.IKey;

  /**
   * Extra connection attributes, `key=value;key=value`, for settings with no typed property.
   *
   * @default - none
   */
  readonly extraConnectionAttributes?: string;
}

/**
 * How a source endpoint reaches its database.
 */
export interface SourceConnectionOptions {
  /**
   * Secrets Manager secret with the connection details, in the RDS JSON format:
   * `username`, `password`, `host`, `port`. DMS reads it through a role it assumes; the values
   * never appear in the template.
   */
  readonly secret: secretsmanager.ISecret;

  /**
   * TCP port of the database, for security-group rules (the port DMS connects to is the one in the secret).
   *
   * @default - the engine's default port
   */
  readonly port?: number;

  /**
   * The database's network side (e.g. an RDS instance or its security group): a migration task (and
   * a connection test) opens its port to the replication compute; `allowFrom()` opens it to others.
   *
   * @default - unknown: open the database to the replication compute yourself (a migration task warns)
   */
  readonly databaseConnections?: ec2.IConnectable;
}

/**
 * A source endpoint created elsewhere (another stack, the console), for `fromEndpointAttributes`.
 */
export interface SourceEndpointAttributes {
  /** ARN of the `AWS::DMS::Endpoint`. */
  readonly endpointArn: string;

  /**
   * The endpoint identifier.
   *
   * @default - the last part of the ARN (the endpoint's resource id)
   */
  readonly endpointIdentifier?: string;

  /**
   * TCP port of the database.
   *
   * @default - the engine's default port
   */
  readonly port?: number;

  /**
   * The database's network side (e.g. an RDS instance or its security group): a migration task
   * opens its port to the replication compute.
   *
   * @default - unknown: open the database to the replication compute yourself
   */
  readonly databaseConnections?: ec2.IConnectable;
}

