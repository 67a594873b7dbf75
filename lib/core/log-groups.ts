import { ArnFormat, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';

/*
 * Log groups encrypted with a key of their own, and the ARNs IAM compares for them. A log group's
 * ARN separates its name with a colon (`arn:aws:logs:<region>:<account>:log-group:<name>`), and
 * IAM's ArnLike compares the colon-separated parts one by one: the slash form `…:log-group/*` that
 * `formatArn` writes by default matches no log group. `Fn::GetAtt Arn` of a log group ends in `:*`,
 * which is not what CloudWatch Logs puts in the encryption context either.
 */

/**
 * A log group name for what `scope` logs, stable across deployments and unique in the account:
 * `/cdk-neon-migration/<path>-<hash>/<purpose>`.
 */
export function logGroupNameFor(scope: IConstruct, purpose: string): string {
  return `/cdk-neon-migration/${Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' })}/${purpose}`;
}

/**
 * The log group name for a Step Functions state machine's logs: `/aws/vendedlogs/states/<path>-<hash>`.
 * Step Functions delivers logs through CloudWatch Logs' vended-logs delivery, which adds every log
 * group it writes to the account's CloudWatch Logs resource policy (at most 5,120 characters) unless
 * the name starts with `/aws/vendedlogs/` ("Avoiding CloudWatch Logs resource policy size
 * restrictions", Step Functions Developer Guide).
 */
export function vendedLogGroupNameFor(scope: IConstruct): string {
  return `/aws/vendedlogs/states/${Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' })}`;
}

/** The ARN of the log group `name`, as CloudWatch Logs writes it in the encryption context (no `:*`). */
export function logGroupArn(scope: IConstruct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'logs', resource: 'log-group', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** The ARN of every log stream of the log group `name`: what `logs:GetLogEvents` is authorized on. */
export function logStreamsArn(scope: IConstruct, name: string): string {
  return `${logGroupArn(scope, name)}:log-stream:*`;
}

/**
 * Lets CloudWatch Logs use `key` for the log group `name` only: the statement CloudWatch Logs
 * documents ("Encrypt log data in CloudWatch Logs using AWS KMS"), with the encryption context of
 * that log group's ARN.
 */
export function allowLogsToUseKey(scope: IConstruct, key: kms.IKey, name: string): iam.AddToResourcePolicyResult {
  return key.addToResourcePolicy(new iam.PolicyStatement({
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    principals: [new iam.ServicePrincipal(`logs.${Stack.of(scope).region}.amazonaws.com`)],
    resources: ['*'],
    conditions: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': logGroupArn(scope, name) } },
  }));
}
