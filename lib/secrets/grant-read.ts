import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import { secretArnForPolicies } from './complete-arn';

/**
 * Lets `grantee` (of `scope`'s stack) read `secret`, and decrypt it through Secrets Manager with its
 * customer managed key. `secret.grantRead` writes the key's part into the key policy; for a key of
 * another stack (the application's database secret, say) that makes the application's stack refer to
 * this one while this one refers to it: a cycle. Then the key's part goes into the grantee's own
 * policy, limited to calls through Secrets Manager (`kms:ViaService`), which a key policy that
 * delegates to IAM (CDK's and KMS's default) honours.
 *
 * @internal
 */
export function grantSecretRead(scope: IConstruct, secret: secretsmanager.ISecret, grantee: iam.IGrantable): void {
  const key = secret.encryptionKey;
  const stack = Stack.of(scope);
  if (!key || Stack.of(key) === stack) {
    secret.grantRead(grantee);
    return;
  }
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    resources: [secretArnForPolicies(secret)],
  }));
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
  }));
}

/**
 * Grants each secret once to a role: the secrets are told apart by their resolved ARN.
 *
 * @internal
 */
export class SecretGrants {
  private readonly granted = new Set<string>();

  constructor(private readonly scope: IConstruct, private readonly grantee: iam.IGrantable) {}

  /** Let the grantee read `secret` (and decrypt it with its customer managed key), once per secret. */
  public grant(secret: secretsmanager.ISecret): void {
    const id = JSON.stringify(Stack.of(this.scope).resolve(secret.secretArn));
    if (this.granted.has(id)) return;
    this.granted.add(id);
    grantSecretRead(this.scope, secret, this.grantee);
  }
}
