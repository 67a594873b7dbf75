import { Fn, Resource, SecretValue, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_POSTGRES_PORT,
  NeonConnectionError,
  parseConnectionString,
  parseNeonHost,
} from './connection-string';
import { credentialsFromPassword, credentialsFromSecret, NeonConnection } from './credentials';
import { ISRG_ROOT_X1_PEM } from './isrg-root-x1';
import { l1Property, replacementAwareIdentifier, setReplacementKey, validateDmsIdentifier } from '../core/identifiers';
import { importEndpoint } from '../core/imported-endpoint';
import { EndpointType, IDmsEndpoint } from '../core/interfaces';
import { acknowledgeRules } from '../core/nag';
import { DmsConnectionTest } from '../lifecycle/connection-test';
import type { IReplicationInstance } from '../replication/replication-instance';
import { createEndpointAccessRole } from '../sources/access-role';

/** How DMS verifies Neon's TLS certificate. */
export enum NeonSslMode {
  /** Encrypt; do not verify the server certificate (what Neon's guide uses). */
  REQUIRE = 'require',
  /** Encrypt and verify the certificate chain and host name against a CA certificate. */
  VERIFY_FULL = 'verify-full',
}

/**
 * Properties of a `NeonTargetEndpoint`.
 *
 * Give the Neon database in one of three forms:
 * - `connectionString` without the password, plus `password`;
 * - `host`, `databaseName` and `username` (and `port`), plus `password`;
 * - `connectionStringSecret`: a secret holding the connection string exactly as Neon hands it out,
 *   read and parsed at deploy time.
 */
export interface NeonTargetEndpointProps {
  /**
   * Neon connection string WITHOUT the password, e.g.
   * `postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require`.
   * Use with `password`.
   *
   * @default - the database is given by `host` or `connectionStringSecret`
   */
  readonly connectionString?: string;

  /**
   * Direct (not `-pooler`) host of the Neon compute, e.g. `ep-curly-term-54009904.us-east-2.aws.neon.tech`.
   * Use with `databaseName`, `username` and `password`.
   *
   * @default - the database is given by `connectionString` or `connectionStringSecret`
   */
  readonly host?: string;

  /**
   * Name of the Neon database, e.g. `neondb`. Required with `host`.
   *
   * @default - the database of `connectionString` or `connectionStringSecret`
   */
  readonly databaseName?: string;

  /**
   * Neon role DMS signs in as. Required with `host`.
   *
   * @default - the user of `connectionString` or `connectionStringSecret`
   */
  readonly username?: string;

  /**
   * Port of the Neon host, with `host`.
   *
   * @default 5432 (or the port of the connection string)
   */
  readonly port?: number;

  /**
   * Password of the Neon role, as the Neon console shows it (the construct adds the
   * `endpoint=<endpoint_id>$` prefix DMS needs). Required with `connectionString` or `host`.
   * `SecretValue.secretsManager(...)` or `SecretValue.cfnParameter(...)` keep it out of the template;
   * `SecretValue.unsafePlainText(...)` writes it into the template.
   *
   * @default - none; `connectionStringSecret` carries the password
   */
  readonly password?: SecretValue;

  /**
   * Secret holding the full Neon connection string, password included, as Neon hands it out
   * (`postgresql://user:password@host/db?sslmode=require`). It is read and validated at deploy time;
   * the construct writes the DMS credentials into a secret of its own and never changes this one.
   *
   * @default - the database is given by `connectionString` or `host`
   */
  readonly connectionStringSecret?: secretsmanager.ISecret;

  /**
   * JSON field of `connectionStringSecret` holding the connection string, e.g. `DATABASE_URL`.
   *
   * @default - the secret holds the plain connection string
   */
  readonly connectionStringSecretField?: string;

  /**
   * Any value; changing it makes the next deployment read `connectionStringSecret` again (e.g.
   * after the password was reset in Neon and the secret updated).
   *
   * @default - the secret is read again only when the secret, its field or the host options change
   */
  readonly connectionStringSecretRefresh?: string;

  /**
   * DMS endpoint identifier: starts with a letter, only letters, digits and hyphens, no two
   * consecutive hyphens, no trailing hyphen, at most 255 characters.
   *
   * @default - a name derived from the construct path
   */
  readonly endpointIdentifier?: string;

  /**
   * How DMS verifies Neon's certificate.
   *
   * @default NeonSslMode.REQUIRE
   */
  readonly sslMode?: NeonSslMode;

  /**
   * PEM of the CA DMS verifies Neon's certificate against, with `NeonSslMode.VERIFY_FULL`.
   *
   * @default - ISRG Root X1 (Let's Encrypt), which Neon's certificates chain to
   */
  readonly caCertificatePem?: string;

  /**
   * ARN of an existing `AWS::DMS::Certificate` to verify Neon's certificate with, with
   * `NeonSslMode.VERIFY_FULL`.
   *
   * @default - a certificate is created from `caCertificatePem`
   */
  readonly certificateArn?: string;

  /**
   * Accept a host outside `*.neon.tech` (a proxy or custom DNS name in front of Neon).
   *
   * @default false
   */
  readonly allowNonNeonHost?: boolean;

  /**
   * Neon endpoint ID written into the password (`endpoint=<id>$<password>`).
   *
   * @default - the first label of the host
   */
  readonly neonEndpointId?: string;

  /**
   * Customer managed key encrypting the DMS credentials secret the construct creates.
   *
   * @default - the AWS managed key `aws/secretsmanager`
   */
  readonly credentialsEncryptionKey?: kms.IKey;

  /**
   * The replication instance that writes to this endpoint. With it, the connection is tested at
   * deploy time (see `testConnection`), after the instance's `egressReady` (its network's NAT route,
   * Secrets Manager access and Neon IP Allow entry).
   *
   * @default - no connection test
   */
  readonly replicationInstance?: IReplicationInstance;

  /**
   * Test the connection from `replicationInstance` at deploy time and fail the deployment with DMS's
   * message and a hint when it fails. A `DmsMigrationTask` tests its endpoints itself before it
   * starts: this test is for an endpoint used without one.
   *
   * @default true when `replicationInstance` is set
   */
  readonly testConnection?: boolean;
}

/**
 * A Neon target endpoint created elsewhere, for `NeonTargetEndpoint.fromEndpointAttributes`.
 */
export interface NeonTargetEndpointAttributes {
  /** ARN of the `AWS::DMS::Endpoint`. */
  readonly endpointArn: string;

  /**
   * The endpoint identifier.
   *
   * @default - the last part of the ARN (the endpoint's resource id)
   */
  readonly endpointIdentifier?: string;

  /**
   * TCP port of the Neon compute.
   *
   * @default 5432
   */
  readonly port?: number;
}

/** Where the endpoint's connection details come from. */
type ResolvedConnection = NeonConnection;

const ENDPOINT_IDENTIFIER_MAX_LENGTH = 255;

/**
 * A DMS target endpoint for a Neon database that connects the first time.
 *
 * Builds what Neon's guide asks for by hand: engine `postgres`, SSL mode `require`, and the
 * password in Neon's `endpoint=<endpoint_id>$<password>` form (DMS sends no SNI). Credentials go to
 * DMS through Secrets Manager (`SecretsManagerSecretId` + an access role trusting the regional DMS
 * principal), so no password is written into the template. Pooled (`-pooler`) hosts, passwords in
 * connection strings and `channel_binding=require` are rejected at synth time.
 *
 * A second secret, `clientCredentialsSecret`, holds the plain password for the clients that send
 * TLS SNI (Neon refuses the endpoint-in-password form from them): DMS Schema Conversion's data
 * provider, the schema tools and the checks' functions read it.
 *
 * @example
 * import { SecretValue } from 'aws-cdk-lib';
 * import { NeonTargetEndpoint } from 'cdk-neon-migration';
 *
 * const target = new NeonTargetEndpoint(this, 'Neon', {
 *   connectionString: 'postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require',
 *   password: SecretValue.secretsManager('neon/password'),
 * });
 */
export class NeonTargetEndpoint extends Resource implements IDmsEndpoint {
  /** A DMS target endpoint for Neon created elsewhere, by its ARN. */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string): IDmsEndpoint {
    return NeonTargetEndpoint.fromEndpointAttributes(scope, id, { endpointArn });
  }

  /** A DMS target endpoint for Neon created elsewhere. */
  public static fromEndpointAttributes(scope: Construct, id: string, attrs: NeonTargetEndpointAttributes): IDmsEndpoint {
    return importEndpoint(scope, id, { ...attrs, owner: 'NeonTargetEndpoint', endpointType: EndpointType.TARGET, engineName: 'postgres', port: attrs.port ?? 5432 });
  }

  /** The `AWS::DMS::Endpoint`. */
  public readonly endpoint: dms.CfnEndpoint;
  public readonly endpointArn: string;
  public readonly endpointIdentifier: string;
  public readonly endpointType: EndpointType = EndpointType.TARGET;
  public readonly engineName: string = 'postgres';
  public readonly port: number;
  /** Neon compute endpoint ID, e.g. `ep-curly-term-54009904`. */
  public readonly neonEndpointId: string;
  /** Name of the Neon database. */
  public readonly databaseName: string;
  /** Direct host of the Neon compute. */
  public readonly host: string;
  /**
   * The DMS endpoint's credentials secret (`username`, `password` = `endpoint=<id>$<password>`, `host`,
   * `port`, `dbname`): the form for clients that send no TLS SNI, as DMS replication endpoints. Neon
   * refuses it from a client that sends SNI: give those `clientCredentialsSecret`.
   */
  public readonly credentialsSecret: secretsmanager.ISecret;
  /**
   * The credentials secret for clients that send TLS SNI (libpq 14 and later, node-postgres, JDBC):
   * `username`, `password` (as the Neon console shows it), `host`, `port`, `dbname`. DMS Schema
   * Conversion's data provider, the schema tools and the checks' functions read this one. See
   * docs/neon-credentials.md.
   */
  public readonly clientCredentialsSecret: secretsmanager.ISecret;
  /** The role DMS assumes to read `credentialsSecret`. */
  public readonly accessRole: iam.IRole;
  /** SSL mode of the endpoint. */
  public readonly sslMode: NeonSslMode;
  /** The deploy-time connection test, when a replication instance is known and testing is on. */
  public readonly connectionTest?: DmsConnectionTest;
  /** Neon is reached over the internet: no security group to open. */
  public readonly databaseConnections?: ec2.IConnectable;

  constructor(scope: Construct, id: string, props: NeonTargetEndpointProps) {
    super(scope, id);

    this.sslMode = props.sslMode ?? NeonSslMode.REQUIRE;
    validateCertificateProps(props, this.sslMode);
    // replaced with the properties that make CloudFormation replace the endpoint (a new name, or "already exists")
    const replacedBy = () => ({ KmsKeyId: l1Property(this.endpoint, 'kmsKeyId'), ResourceIdentifier: l1Property(this.endpoint, 'resourceIdentifier') });
    setReplacementKey(this, replacedBy);
    this.endpointIdentifier = props.endpointIdentifier !== undefined
      ? validateDmsIdentifier('NeonTargetEndpoint', 'endpointIdentifier', props.endpointIdentifier, ENDPOINT_IDENTIFIER_MAX_LENGTH)
      : replacementAwareIdentifier(this, 63, replacedBy);
    if (props.neonEndpointId !== undefined && !Token.isUnresolved(props.neonEndpointId) && !/^ep-[a-z0-9]+(-[a-z0-9]+)*$/.test(props.neonEndpointId)) {
      throw new Error(`NeonTargetEndpoint: neonEndpointId '${props.neonEndpointId}' is not a Neon endpoint ID. Use the ID shown in the Neon console, e.g. ep-curly-term-54009904.`);
    }

    let connection: ResolvedConnection;
    const encryptionKey = props.credentialsEncryptionKey;
    if (props.connectionStringSecret) {
      validateSecretForm(props);
      const result = credentialsFromSecret(this, {
        encryptionKey,
        source: props.connectionStringSecret,
        sourceField: props.connectionStringSecretField,
        refresh: props.connectionStringSecretRefresh,
        allowNonNeonHost: props.allowNonNeonHost,
        neonEndpointId: props.neonEndpointId,
      });
      this.credentialsSecret = result.secrets.dms;
      this.clientCredentialsSecret = result.secrets.client;
      connection = result.connection;
    } else {
      connection = resolveStaticConnection(props);
      const secrets = credentialsFromPassword(this, { encryptionKey }, connection, props.password!);
      this.credentialsSecret = secrets.dms;
      this.clientCredentialsSecret = secrets.client;
    }
    this.host = connection.host;
    this.port = connection.port;
    this.databaseName = connection.databaseName;
    this.neonEndpointId = connection.endpointId;

    // Its permissions are inline (one IAM resource per endpoint) unless a customer managed key is involved.
    const { role: accessRole, grantee } = createEndpointAccessRole(this, 'AccessRole',
      `dms.${Stack.of(this).region}.amazonaws.com`, 'Lets DMS read the Neon target credentials', props.credentialsEncryptionKey !== undefined);
    this.credentialsSecret.grantRead(grantee);
    this.accessRole = accessRole;

    let certificateArn: string | undefined;
    if (this.sslMode === NeonSslMode.VERIFY_FULL) {
      certificateArn = props.certificateArn ?? new dms.CfnCertificate(this, 'NeonCa', {
        certificatePem: props.caCertificatePem ?? ISRG_ROOT_X1_PEM,
      }).ref;
    }

    this.endpoint = new dms.CfnEndpoint(this, 'Resource', {
      endpointType: EndpointType.TARGET,
      engineName: this.engineName,
      endpointIdentifier: this.endpointIdentifier,
      databaseName: this.databaseName,
      sslMode: this.sslMode,
      certificateArn,
      postgreSqlSettings: {
        secretsManagerSecretId: this.credentialsSecret.secretArn,
        secretsManagerAccessRoleArn: accessRole.roleArn,
      },
    });
    // aws/aws-cdk#36179: SslMode can go missing for postgres endpoints; write it explicitly.
    this.endpoint.addPropertyOverride('SslMode', this.sslMode);
    // DMS checks that it can assume the role when the endpoint is created.
    this.endpoint.node.addDependency(accessRole);
    this.endpointArn = this.endpoint.ref;

    const testConnection = props.testConnection ?? props.replicationInstance !== undefined;
    if (testConnection) {
      if (props.replicationInstance === undefined) {
        throw new Error('NeonTargetEndpoint: testConnection needs replicationInstance, the replication instance to test the connection from.');
      }
      this.connectionTest = new DmsConnectionTest(this, 'ConnectionTest', {
        endpoint: this,
        replicationInstance: props.replicationInstance,
      });
    }

    acknowledgeRules(this, [
      { id: 'AwsSolutions-SMG4', reason: 'The password is Neon\'s: it is changed in the Neon console, and Secrets Manager has no rotation function for Neon roles.' },
      { id: 'NIST.800.53.R5-SecretsManagerRotationEnabled', reason: 'The password is Neon\'s: it is changed in the Neon console, and Secrets Manager has no rotation function for Neon roles.' },
      { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The access role\'s only policy reads this endpoint\'s credentials secret; it lives and dies with the endpoint.' },
      ...(props.credentialsEncryptionKey ? [] : [{
        id: 'NIST.800.53.R5-SecretsManagerUsingKMSKey',
        reason: 'The AWS managed key aws/secretsmanager encrypts the credentials by default; pass credentialsEncryptionKey to use a customer managed key.',
      }]),
    ]);
  }
}

function validateCertificateProps(props: NeonTargetEndpointProps, sslMode: NeonSslMode): void {
  if (sslMode !== NeonSslMode.VERIFY_FULL && (props.caCertificatePem !== undefined || props.certificateArn !== undefined)) {
    throw new Error('NeonTargetEndpoint: caCertificatePem and certificateArn are only used with sslMode: NeonSslMode.VERIFY_FULL. Set sslMode, or remove them.');
  }
  if (props.caCertificatePem !== undefined && props.certificateArn !== undefined) {
    throw new Error('NeonTargetEndpoint: caCertificatePem and certificateArn are alternatives: set one of them.');
  }
  if (props.caCertificatePem !== undefined && !Token.isUnresolved(props.caCertificatePem) && !props.caCertificatePem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error('NeonTargetEndpoint: caCertificatePem is not a PEM certificate (-----BEGIN CERTIFICATE----- ...).');
  }
}

function validateSecretForm(props: NeonTargetEndpointProps): void {
  const conflicting = (['connectionString', 'host', 'databaseName', 'username', 'port', 'password'] as const)
    .filter(p => props[p] !== undefined);
  if (conflicting.length > 0) {
    throw new Error(`NeonTargetEndpoint: connectionStringSecret holds the whole connection string, password included: remove ${conflicting.join(', ')}.`);
  }
  if (props.connectionStringSecretField !== undefined && !Token.isUnresolved(props.connectionStringSecretField) && props.connectionStringSecretField.trim() === '') {
    throw new Error('NeonTargetEndpoint: connectionStringSecretField is empty: name the JSON field holding the connection string (e.g. DATABASE_URL), or omit it for a plain-string secret.');
  }
}

/** Forms 1a and 1b: everything but the password is known at synth time (or is a token). */
function resolveStaticConnection(props: NeonTargetEndpointProps): ResolvedConnection {
  for (const prop of ['connectionStringSecretField', 'connectionStringSecretRefresh'] as const) {
    if (props[prop] !== undefined) {
      throw new Error(`NeonTargetEndpoint: ${prop} is only used with connectionStringSecret: set connectionStringSecret, or remove it.`);
    }
  }
  if (props.connectionString === undefined && props.host === undefined) {
    throw new Error(
      'NeonTargetEndpoint needs the Neon database: set connectionString (without the password) and password, ' +
      'or host, databaseName, username and password, or connectionStringSecret.');
  }
  if (props.connectionString !== undefined) {
    const parts = (['host', 'databaseName', 'username', 'port'] as const).filter(p => props[p] !== undefined);
    if (parts.length > 0) {
      throw new Error(`NeonTargetEndpoint: connectionString and ${parts.join(', ')} are alternatives: pass the connection string alone, or its parts without it.`);
    }
  }
  if (props.password === undefined) {
    throw new Error(
      `NeonTargetEndpoint: password is required with ${props.connectionString !== undefined ? 'connectionString' : 'host'}. ` +
      'Pass it as password: SecretValue (e.g. SecretValue.secretsManager(\'neon/password\')), or store the whole connection string in Secrets Manager and use connectionStringSecret.');
  }

  try {
    if (props.connectionString !== undefined) {
      if (Token.isUnresolved(props.connectionString)) {
        throw new Error(
          'NeonTargetEndpoint: connectionString cannot be a token: it is parsed at synth time. ' +
          'Pass host, databaseName and username (tokens are fine there), or store the connection string in a secret and use connectionStringSecret.');
      }
      const parsed = parseConnectionString(props.connectionString, {
        propertyName: 'connectionString',
        passwordAllowed: false,
        rejectChannelBinding: true,
        allowNonNeonHost: props.allowNonNeonHost,
        endpointId: props.neonEndpointId !== undefined && !Token.isUnresolved(props.neonEndpointId) ? props.neonEndpointId : undefined,
      });
      return {
        host: parsed.host,
        port: parsed.port,
        databaseName: parsed.databaseName,
        username: parsed.username,
        endpointId: props.neonEndpointId ?? parsed.endpointId,
      };
    }

    const host = props.host!;
    if (props.databaseName === undefined || props.username === undefined) {
      const missing = [props.databaseName === undefined ? 'databaseName' : undefined, props.username === undefined ? 'username' : undefined]
        .filter(Boolean).join(' and ');
      throw new Error(`NeonTargetEndpoint: ${missing} ${missing.includes(' and ') ? 'are' : 'is'} required with host. Take them from your Neon connection string (postgresql://<username>@<host>/<databaseName>).`);
    }
    const port = props.port ?? DEFAULT_POSTGRES_PORT;
    if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new Error(`NeonTargetEndpoint: port ${port} is not a TCP port: use an integer between 1 and 65535 (Neon listens on 5432).`);
    }
    let endpointId: string;
    let resolvedHost = host;
    if (Token.isUnresolved(host)) {
      // Known at deploy time only: the endpoint ID is the host's first label.
      endpointId = props.neonEndpointId ?? Fn.select(0, Fn.split('.', host));
    } else {
      const info = parseNeonHost(host, {
        propertyName: 'host',
        allowNonNeonHost: props.allowNonNeonHost,
        endpointId: props.neonEndpointId !== undefined && !Token.isUnresolved(props.neonEndpointId) ? props.neonEndpointId : undefined,
      });
      resolvedHost = info.host;
      endpointId = props.neonEndpointId ?? info.endpointId;
    }
    return { host: resolvedHost, port, databaseName: props.databaseName, username: props.username, endpointId };
  } catch (e) {
    if (e instanceof NeonConnectionError) {
      throw new Error(`NeonTargetEndpoint: ${e.message}`);
    }
    throw e;
  }
}
