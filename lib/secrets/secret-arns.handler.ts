// The AWS SDK comes from the Lambda runtime: the handler bundle marks it external.
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { OnEventResult, ProviderRequest } from '../provider/handler-types';

/** Properties of the `Custom::NeonDmsSecretArns` resource of a stack. */
export interface SecretArnsProperties {
  /** Attribute name → the secret's name (or, for a secret of another account, its partial ARN) and the construct property it was given in. */
  readonly Secrets?: Record<string, { readonly SecretId: string; readonly Property?: string }>;
}

/** The physical id: one resource per stack. */
export const PHYSICAL_ID = 'secret-arns';

let client: SecretsManagerClient | undefined;
function secretsManager(): SecretsManagerClient {
  client ??= new SecretsManagerClient({});
  return client;
}

/** During a rollback, updates run as written: it only looks the ARNs up, and other resources read them during the rollback too. */
export const rollback = 'run';

/**
 * Finds the complete ARN of every secret the stack knows only by name (`DescribeSecret`, which reads
 * nothing of the value): what the constructs hand to DMS and to the other handlers, because Secrets
 * Manager misreads a partial ARN made from a name that ends in a hyphen and six characters. Each
 * secret's ARN is an attribute. Delete does nothing.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID };
  }
  const secrets = (event.ResourceProperties as SecretArnsProperties).Secrets ?? {};
  const data: Record<string, string> = {};
  for (const [attribute, secret] of Object.entries(secrets)) {
    data[attribute] = await completeArn(secret.SecretId, secret.Property);
  }
  console.log('Resolved secrets', JSON.stringify(Object.values(secrets).map((s, i) => ({ SecretId: s.SecretId, Arn: Object.values(data)[i] }))));
  return { PhysicalResourceId: PHYSICAL_ID, Data: data };
}

async function completeArn(secretId: string, property: string | undefined): Promise<string> {
  const where = property ? `${property} (${secretId})` : secretId;
  let arn: string | undefined;
  try {
    arn = (await secretsManager().send(new DescribeSecretCommand({ SecretId: secretId }))).ARN;
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'ResourceNotFoundException') {
      throw new Error(`Secret ${where} does not exist in this account and Region: create it before deploying, or pass its complete ARN.`);
    }
    if (name === 'AccessDeniedException') {
      throw new Error(`Not allowed to describe secret ${where}: if it is in another account, pass its complete ARN (Secret.fromSecretCompleteArn) and share it with this account.`);
    }
    throw e;
  }
  if (!arn) {
    throw new Error(`Secrets Manager returned no ARN for secret ${where}.`);
  }
  return arn;
}
