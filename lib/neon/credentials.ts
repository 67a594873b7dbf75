import { Annotations, CustomResource, Fn, SecretValue, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { neonDmsPasswordPrefix } from './connection-string';
import { markEndpointInPassword } from './credential-forms';
import { NEON_CREDENTIALS_TYPE } from './kinds';
import { rejectedCharactersIn } from '../core/dms-passwords';
import { MigrationProvider } from '../provider/provider';
import { completeSecretArn } from '../secrets/complete-arn';

/*
 * The two secrets of a Neon target: the DMS endpoint's (password `endpoint=<endpoint_id>$<password>`:
 * DMS sends no SNI) and the clients' (the password as it is, for clients that send SNI: DMS Schema
 * Conversion's data provider, the schema tools, the checks' functions). Both hold `engine`,
 * `username`, `password`, `host`, `port` and `dbname`; no value is written into the template but the
 * password's reference.
 */

/** The connection details of a Neon target. @internal */
export interface NeonConnection {
  readonly host: string;
  readonly port: number;
  readonly databaseName: string;
  readonly username: string;
  readonly endpointId: string;
}

/** The two credentials secrets. @internal */
export interface NeonCredentialSecrets {
  /** For the DMS endpoint: the endpoint-in-password form. */
  readonly dms: secretsmanager.ISecret;
  /** For clients that send SNI: the plain password. */
  readonly client: secretsmanager.ISecret;
}

/** What both forms take from the endpoint's properties. @internal */
export interface CredentialOptions {
  readonly encryptionKey?: kms.IKey;
}

/**
 * Form 1: the secrets are built in the template from the connection's parts and the password's
 * reference (a dynamic reference or a parameter, resolved by CloudFormation).
 *
 * @internal
 */
export function credentialsFromPassword(
  scope: Construct, options: CredentialOptions, connection: NeonConnection, password: SecretValue,
): NeonCredentialSecrets {
  const passwordToken = password.unsafeUnwrap();
  if (!Token.isUnresolved(passwordToken)) {
    if (passwordToken.length === 0) {
      throw new Error('NeonTargetEndpoint: password is empty: Neon roles always have a password. Pass the one from the Neon console '
        + '(e.g. SecretValue.secretsManager(\'neon/password\')).');
    }
    const rejected = rejectedCharactersIn(passwordToken, 'postgres');
    if (rejected.length > 0) {
      throw new Error(`NeonTargetEndpoint: password contains ${rejected.map(c => `'${c}'`).join(', ')}, which DMS does not accept in PostgreSQL endpoint passwords: reset the role's password in the Neon console.`);
    }
    Annotations.of(scope).addWarningV2('cdk-neon-migration:plainTextPassword',
      'password is a plain-text SecretValue: it is written into the CloudFormation template. Use SecretValue.secretsManager(...) or SecretValue.cfnParameter(...), or connectionStringSecret.');
  } else if (JSON.stringify(Stack.of(scope).resolve(passwordToken)).includes('{{resolve:ssm-secure:')) {
    Annotations.of(scope).addWarningV2('cdk-neon-migration:ssmSecurePassword',
      'password is an ssm-secure reference, which CloudFormation resolves only in a few resource types (not AWS::SecretsManager::Secret). Store the password in Secrets Manager (SecretValue.secretsManager) or pass a NoEcho parameter (SecretValue.cfnParameter).');
  }
  const secret = (id: string, description: string, value: string) => new secretsmanager.Secret(scope, id, {
    description,
    encryptionKey: options.encryptionKey,
    secretStringValue: new SecretValue(Stack.of(scope).toJsonString({
      engine: 'postgres',
      username: connection.username,
      password: value,
      host: connection.host,
      port: connection.port,
      dbname: connection.databaseName,
    })),
  });
  const dms = secret('Credentials', `DMS credentials for Neon endpoint ${connection.endpointId}`,
    Fn.join('', [neonDmsPasswordPrefix(connection.endpointId), passwordToken]));
  const client = secret('ClientCredentials', `Credentials for Neon endpoint ${connection.endpointId}, for clients that send SNI`, passwordToken);
  markEndpointInPassword(dms);
  return { dms, client };
}

/** What form 2 reads. @internal */
export interface SecretSourceOptions extends CredentialOptions {
  readonly source: secretsmanager.ISecret;
  readonly sourceField?: string;
  readonly refresh?: string;
  readonly allowNonNeonHost?: boolean;
  readonly neonEndpointId?: string;
}

/**
 * Form 2: a custom resource reads the connection string at deploy time and writes both secrets.
 *
 * @internal
 */
export function credentialsFromSecret(
  scope: Construct, options: SecretSourceOptions,
): { secrets: NeonCredentialSecrets; connection: NeonConnection } {
  // Placeholders: the credentials custom resource overwrites them before anything reads them.
  const placeholder = (id: string, description: string) => new secretsmanager.Secret(scope, id, {
    description,
    encryptionKey: options.encryptionKey,
    generateSecretString: { passwordLength: 32, excludePunctuation: true },
  });
  const dms = placeholder('Credentials', 'DMS credentials for a Neon endpoint, written from the connection-string secret at deploy time');
  const client = placeholder('ClientCredentials',
    'Credentials for a Neon endpoint, for clients that send SNI, written from the connection-string secret at deploy time');
  markEndpointInPassword(dms);

  const provider = MigrationProvider.of(scope);
  options.source.grantRead(provider.role);
  provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:PutSecretValue'],
    resources: [dms.secretArn, client.secretArn],
  }));
  if (options.encryptionKey) {
    // Secrets Manager encrypts the new value with a data key, and decrypts the current one, on the caller's behalf
    provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [options.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(scope).region}.amazonaws.com` } },
    }));
  }

  const resource = new CustomResource(scope, 'ParsedCredentials', {
    serviceToken: provider.serviceToken,
    resourceType: NEON_CREDENTIALS_TYPE,
    properties: {
      SourceSecretArn: completeSecretArn(scope, options.source, 'connectionStringSecret'),
      SourceSecretField: options.sourceField,
      TargetSecretArn: dms.secretArn,
      ClientSecretArn: client.secretArn,
      AllowNonNeonHost: options.allowNonNeonHost ? 'true' : 'false',
      NeonEndpointId: options.neonEndpointId,
      Refresh: options.refresh,
    },
  });
  // Clients read the secret by the ARN the resource answers with: they wait for the value it writes.
  const written = secretsmanager.Secret.fromSecretAttributes(scope, 'ClientCredentialsWritten', {
    secretCompleteArn: resource.getAttString('ClientSecretArn'),
    encryptionKey: options.encryptionKey,
  });
  return {
    secrets: { dms, client: written },
    connection: {
      host: resource.getAttString('Host'),
      port: Token.asNumber(resource.getAtt('Port')),
      databaseName: resource.getAttString('DatabaseName'),
      username: resource.getAttString('Username'),
      endpointId: resource.getAttString('EndpointId'),
    },
  };
}
