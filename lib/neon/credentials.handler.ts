// The AWS SDK comes from the Lambda runtime: the handler bundle marks it external.
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { NeonConnectionError, neonDmsPassword, parseConnectionString } from './connection-string';
import { rejectedCharactersIn } from '../core/dms-passwords';
import type { OnEventResult, ProviderRequest } from '../provider/handler-types';

/**
 * Properties of a `Custom::NeonDmsCredentials` resource. Only ARNs and options: never a secret value.
 */
export interface NeonCredentialsProperties {
  /** Secret holding the Neon connection string (plain, or in a JSON field). */
  readonly SourceSecretArn: string;
  /** JSON field of the source secret holding the connection string; absent for a plain string. */
  readonly SourceSecretField?: string;
  /** Secret the DMS credentials are written to (password `endpoint=<endpoint_id>$<password>`: DMS sends no SNI). */
  readonly TargetSecretArn: string;
  /** Secret the clients' credentials are written to (the password as it is, for clients that send SNI); absent in resources made before it. */
  readonly ClientSecretArn?: string;
  /** 'true' to accept a host outside neon.tech. */
  readonly AllowNonNeonHost?: string;
  /** Endpoint ID overriding the host's first label. */
  readonly NeonEndpointId?: string;
}

/** The property name users know the source secret by, used in error messages. */
const PROPERTY_NAME = 'connectionStringSecret';

let client: SecretsManagerClient | undefined;
function secretsManager(): SecretsManagerClient {
  client ??= new SecretsManagerClient({});
  return client;
}

/** During a rollback, updates run as written: its update writes the DMS credentials of the restored connection string back, and returns the attributes other resources read. */
export const rollback = 'run';

/**
 * Reads the Neon connection string from the source secret, validates it with the same parser the
 * construct uses, and writes the credentials in the form each client needs: to the target secret for
 * DMS (password `endpoint=<id>$<password>`: DMS sends no SNI), to the client secret for the clients
 * that send SNI (the password as it is). Returns only non-secret attributes.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as NeonCredentialsProperties;
  if (event.RequestType === 'Delete') {
    // The target secret is its own CloudFormation resource; the source secret belongs to the user.
    console.log('Delete: nothing to clean up', JSON.stringify({ TargetSecretArn: props.TargetSecretArn }));
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const connectionString = await readConnectionString(props);
  let parsed;
  try {
    parsed = parseConnectionString(connectionString, {
      propertyName: `${PROPERTY_NAME} (${describeSource(props)})`,
      passwordAllowed: true,
      // The DMS endpoint never uses channel binding; the same secret may serve applications that do.
      rejectChannelBinding: false,
      allowNonNeonHost: props.AllowNonNeonHost === 'true',
      endpointId: props.NeonEndpointId || undefined,
    });
  } catch (e) {
    if (e instanceof NeonConnectionError) {
      throw new Error(e.message);
    }
    throw new Error(`${PROPERTY_NAME} (${describeSource(props)}) could not be parsed as a connection string.`);
  }

  const rejected = rejectedCharactersIn(parsed.password ?? '', 'postgres');
  if (rejected.length > 0) {
    // name the characters, never the password
    throw new Error(`The Neon password in ${PROPERTY_NAME} (${describeSource(props)}) contains ${rejected.map(c => `'${c}'`).join(', ')}, `
      + 'which DMS does not accept in PostgreSQL endpoint passwords: reset the role\'s password in the Neon console (Neon generates passwords '
      + 'of letters and digits) and update the secret.');
  }
  const credentials = (password: string) => JSON.stringify({
    engine: 'postgres',
    username: parsed.username,
    password,
    host: parsed.host,
    port: parsed.port,
    dbname: parsed.databaseName,
  });
  const written = [
    { SecretId: props.TargetSecretArn, SecretString: credentials(neonDmsPassword(parsed.endpointId, parsed.password!)) },
    ...(props.ClientSecretArn ? [{ SecretId: props.ClientSecretArn, SecretString: credentials(parsed.password!) }] : []),
  ];
  for (const secret of written) {
    // Same request, same value: a retried invocation does not add another version.
    await secretsManager().send(new PutSecretValueCommand({ ...secret, ClientRequestToken: event.RequestId }));
  }

  const data = {
    Host: parsed.host,
    Port: String(parsed.port),
    DatabaseName: parsed.databaseName,
    Username: parsed.username,
    EndpointId: parsed.endpointId,
    ...(props.ClientSecretArn ? { ClientSecretArn: props.ClientSecretArn } : {}),
  };
  console.log('Wrote the credentials', JSON.stringify({ TargetSecretArn: props.TargetSecretArn, ...data }));
  return { PhysicalResourceId: props.TargetSecretArn, Data: data };
}

async function readConnectionString(props: NeonCredentialsProperties): Promise<string> {
  const source = describeSource(props);
  const result = await secretsManager().send(new GetSecretValueCommand({ SecretId: props.SourceSecretArn }));
  const value = result.SecretString;
  if (value === undefined) {
    throw new Error(`${PROPERTY_NAME} (${source}) holds binary data; store the connection string as a secret string.`);
  }
  const field = props.SourceSecretField;
  if (!field) {
    if (value.trim().startsWith('{')) {
      const fields = jsonFieldNames(value);
      throw new Error(`${PROPERTY_NAME} (${source}) holds JSON${fields ? ` with fields ${fields}` : ''}: set connectionStringSecretField to the field holding the connection string.`);
    }
    return value;
  }
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new Error(`${PROPERTY_NAME} (${source}) is not JSON, so it has no field '${field}': omit connectionStringSecretField when the secret holds the plain connection string.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${PROPERTY_NAME} (${source}) is not a JSON object, so it has no field '${field}'.`);
  }
  const entry = (json as Record<string, unknown>)[field];
  if (typeof entry !== 'string') {
    const fields = Object.keys(json).join(', ');
    throw new Error(`${PROPERTY_NAME} (${source}) has no string field '${field}' (fields: ${fields || 'none'}): set connectionStringSecretField to the field holding the connection string.`);
  }
  return entry;
}

/** Secret ARN and field: what the user needs to find the secret, nothing of its value. */
function describeSource(props: NeonCredentialsProperties): string {
  return props.SourceSecretField ? `${props.SourceSecretArn}, field ${props.SourceSecretField}` : props.SourceSecretArn;
}

function jsonFieldNames(value: string): string | undefined {
  try {
    const json = JSON.parse(value);
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      return Object.keys(json).join(', ');
    }
  } catch {
    // not JSON after all: report without field names
  }
  return undefined;
}
