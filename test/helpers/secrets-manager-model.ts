/**
 * How AWS Secrets Manager finds the secret a `SecretId` names (GetSecretValue, PutSecretValue,
 * DescribeSecret, and DMS's `SecretsManagerSecretId`), as its documentation states it:
 *
 * - a name is looked up by name, in the caller's account and Region;
 * - an ARN whose last part ends in a hyphen followed by six characters is taken as a complete ARN,
 *   the random suffix Secrets Manager appends to every secret name: it must match exactly;
 * - any other ARN is a partial ARN (the ARN without that suffix) and matches the secret of that name.
 *
 * So a partial ARN made from a name that itself ends in a hyphen and six characters
 * (`.../connection-string`) is read as a complete ARN and finds nothing
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen).
 */

export interface SecretRecord {
  /** Complete ARN: `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`. */
  readonly arn: string;
  readonly name: string;
  value: string;
  /** The customer managed key the secret is encrypted with; undefined for `aws/secretsmanager`. */
  readonly kmsKeyArn?: string;
}

export interface Resolution {
  readonly secret?: SecretRecord;
  /** Why nothing was found. */
  readonly reason?: string;
}

/** What Secrets Manager reads as the random suffix of a complete ARN. */
export const SUFFIX = /-[A-Za-z0-9]{6}$/;

/** Whether a secret name would make partial ARNs ambiguous ("Do not end your secret name with a hyphen followed by six characters"). */
export function endsLikeArnSuffix(name: string): boolean {
  return SUFFIX.test(name);
}

export function resolveSecretId(secretId: string, secrets: SecretRecord[], caller: { account: string; region: string }): Resolution {
  if (!secretId.startsWith('arn:')) {
    const own = secrets.filter(s => s.arn.split(':')[4] === caller.account && s.arn.split(':')[3] === caller.region);
    const secret = own.find(s => s.name === secretId);
    return secret ? { secret } : { reason: `no secret named ${secretId}` };
  }
  const parts = secretId.split(':');
  if (parts.length < 7 || parts[2] !== 'secretsmanager' || parts[5] !== 'secret') {
    return { reason: `${secretId} is not a Secrets Manager secret ARN` };
  }
  const resourceName = parts.slice(6).join(':');
  if (SUFFIX.test(resourceName)) {
    const secret = secrets.find(s => s.arn === secretId);
    return secret ? { secret } : { reason: `${secretId} is read as a complete ARN (its name ends in a hyphen and six characters) and no secret has it` };
  }
  const prefix = `${parts.slice(0, 6).join(':')}:`;
  const secret = secrets.find(s => s.arn.startsWith(prefix) && s.name === resourceName);
  return secret ? { secret } : { reason: `no secret matches the partial ARN ${secretId}` };
}
