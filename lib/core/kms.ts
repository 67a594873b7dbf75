import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * A KMS key with automatic rotation whose key policy lets no one create grants except for AWS
 * resources (the AWS Control Tower control CT.KMS.PR.3): DMS, Secrets Manager and SNS create grants
 * for the resources they encrypt (`kms:GrantIsForAWSResource`), nobody else needs one.
 *
 * @internal
 */
export function createRotatingKey(scope: Construct, id: string, props: Omit<kms.KeyProps, 'enableKeyRotation'>): kms.Key {
  const key = new kms.Key(scope, id, { ...props, enableKeyRotation: true });
  key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'GrantsOnlyForAwsResources',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['kms:CreateGrant'],
    resources: ['*'],
    conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
  }));
  return key;
}
