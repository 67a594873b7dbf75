import { Aws, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { createEndpointAccessRole } from './access-role';
import { SourceConnectionOptions, SourceEndpointCommonOptions } from './options';
import { SourceSslMode } from './ssl';
import { rejectedPasswordCharacters } from '../core/dms-passwords';
import { l1Property, replacementAwareIdentifier, setReplacementKey, validateDmsIdentifier } from '../core/identifiers';
import { EndpointType } from '../core/interfaces';
import { acknowledgeRules } from '../core/nag';
import { completeSecretArn } from '../secrets/complete-arn';
import { grantSecretRead } from '../secrets/grant-read';

const MAX_IDENTIFIER_LENGTH = 255;

/** What differs between source engines. */
export interface SourceEngine {
  /** Construct name used in messages. */
  readonly owner: string;
  /** DMS engine name. */
  readonly engineName: string;
  readonly defaultPort: number;
  /** The `AWS::DMS::Endpoint` property holding the engine settings, e.g. `PostgreSqlSettings`. */
  readonly settingsProperty: string;
  readonly sslModes: SourceSslMode[];
  readonly defaultSslMode: SourceSslMode;
}

/** The pieces a source endpoint construct exposes. */
export interface BuiltSourceEndpoint {
  readonly resource: dms.CfnEndpoint;
  readonly accessRole: iam.Role;
  readonly endpointIdentifier: string;
  readonly port: number;
  readonly sslMode: SourceSslMode;
}

/**
 * Creates the access role and the `AWS::DMS::Endpoint` of a source endpoint, reading its
 * credentials from Secrets Manager.
 *
 * @internal
 */
export function buildSourceEndpoint(scope: Construct, engine: SourceEngine,
  props: SourceEndpointCommonOptions & SourceConnectionOptions, databaseName: string | undefined,
  engineSettings: Record<string, unknown>): BuiltSourceEndpoint {
  const owner = engine.owner;
  const sslMode = props.sslMode ?? engine.defaultSslMode;
  if (!engine.sslModes.includes(sslMode)) {
    throw new Error(`${owner}: sslMode '${sslMode}' is not supported by DMS for ${engine.engineName}: use ${engine.sslModes.map(m => `'${m}'`).join(' or ')}.`);
  }
  if ((sslMode === SourceSslMode.VERIFY_CA || sslMode === SourceSslMode.VERIFY_FULL) && props.certificateArn === undefined) {
    throw new Error(`${owner}: sslMode '${sslMode}' verifies the server certificate: set certificateArn to a DMS certificate (AWS::DMS::Certificate) holding its CA.`);
  }
  if (databaseName !== undefined && !Token.isUnresolved(databaseName) && databaseName.trim().length === 0) {
    throw new Error(`${owner}: databaseName must not be empty.`);
  }
  const port = props.port ?? engine.defaultPort;
  if (!Token.isUnresolved(port) && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`${owner}: port must be a whole number from 1 to 65535, got ${port}.`);
  }
  checkGeneratedPassword(scope, owner, props.secret, engine.engineName);
  // replaced with the properties that make CloudFormation replace the endpoint (a new name, or "already exists")
  let resource: dms.CfnEndpoint | undefined;
  const replacedBy = () => ({ KmsKeyId: l1Property(resource!, 'kmsKeyId'), ResourceIdentifier: l1Property(resource!, 'resourceIdentifier') });
  setReplacementKey(scope, replacedBy);
  const endpointIdentifier = props.endpointIdentifier !== undefined
    ? validateDmsIdentifier(owner, 'endpointIdentifier', props.endpointIdentifier, MAX_IDENTIFIER_LENGTH)
    : replacementAwareIdentifier(scope, 63, replacedBy);

  // DMS assumes the role through its regional service principal; its permissions are inline.
  const { role: accessRole, grantee } = createEndpointAccessRole(scope, 'SecretAccessRole', `dms.${Aws.REGION}.amazonaws.com`,
    `Lets DMS read the credentials of the source endpoint ${endpointIdentifier}`,
    props.secretEncryptionKey !== undefined || props.secret.encryptionKey !== undefined);
  grantSecretRead(scope, props.secret, grantee);
  if (props.secretEncryptionKey) {
    props.secretEncryptionKey.grantDecrypt(grantee);
  }
  acknowledgeRules(accessRole, [
    { id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: 'The policy only grants read access to this endpoint\'s credentials secret and belongs to this role alone.' },
  ]);

  resource = new dms.CfnEndpoint(scope, 'Resource', {
    endpointType: EndpointType.SOURCE,
    engineName: engine.engineName,
    endpointIdentifier,
    databaseName,
    sslMode,
    certificateArn: props.certificateArn,
    extraConnectionAttributes: props.extraConnectionAttributes,
  });
  // Written as an override so every setting reaches the template whatever the aws-cdk-lib
  // version's typed settings know, and SslMode is never dropped.
  resource.addPropertyOverride('SslMode', sslMode);
  resource.addPropertyOverride(engine.settingsProperty, {
    ...withoutUndefined(engineSettings),
    // a complete ARN: a partial ARN made from a name ending in a hyphen and six characters finds nothing
    SecretsManagerSecretId: completeSecretArn(scope, props.secret, 'secret'),
    SecretsManagerAccessRoleArn: accessRole.roleArn,
  });
  resource.node.addDependency(accessRole);

  return { resource, accessRole, endpointIdentifier, port, sslMode };
}

/**
 * Opens the database's port to `peer`.
 *
 * @internal
 */
export function allowDatabaseAccess(owner: string, database: ec2.IConnectable | undefined, port: number,
  peer: ec2.IConnectable, description: string): void {
  if (!database) {
    throw new Error(`${owner}: allowFrom() needs databaseConnections (the database's security group or construct); `
      + 'set it, or open the database to the replication compute yourself.');
  }
  // The endpoint's port rather than the database's default port, which can be a deploy-time value.
  database.connections.allowFrom(peer, ec2.Port.tcp(port), description);
}

/**
 * A secret of the app whose password Secrets Manager generates must not be able to contain a character
 * DMS rejects for the engine: the connection would fail at deploy time (or on the next rotation).
 */
function checkGeneratedPassword(scope: Construct, owner: string, secret: secretsmanager.ISecret, engineName: string): void {
  // an RDS database's secret is an attachment, a child of the secret that generates the password
  const generating = secret instanceof secretsmanager.SecretTargetAttachment ? secret.node.scope : secret;
  const cfn = generating?.node.defaultChild;
  if (!(cfn instanceof secretsmanager.CfnSecret) || cfn.generateSecretString === undefined) {
    return;
  }
  const generate = Stack.of(scope).resolve(cfn.generateSecretString) as { excludePunctuation?: unknown; excludeCharacters?: unknown };
  if (generate === null || typeof generate !== 'object' || generate.excludePunctuation === true) {
    return;
  }
  const excluded = typeof generate.excludeCharacters === 'string' ? generate.excludeCharacters : '';
  if (Token.isUnresolved(excluded)) {
    return;
  }
  const missing = rejectedPasswordCharacters(engineName).filter(c => !excluded.includes(c));
  if (missing.length > 0) {
    throw new Error(`${owner}: the secret's generated password may contain ${missing.map(c => `'${c}'`).join(', ')}, which DMS does not accept in `
      + `${engineName} endpoint passwords: exclude them when generating it (excludeCharacters, e.g. rds.Credentials.fromGeneratedSecret(user, `
      + '{ excludeCharacters: \' %+~`#$&*()|[]{}:;<>?!\'/@"\\,\' })).');
  }
}

function withoutUndefined(settings: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined) {
      result[key] = value;
    }
  }
  return result;
}
