// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external. Loaded on the first
// status read, so that loading the provider's entry costs a request of a Create nothing.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';

/*
 * CloudFormation sends a custom resource the same `Update` request when it updates it and when it
 * rolls a failed update back (the previous properties as new, the failed ones as old); only the
 * stack's status tells the two apart. Bundled into the provider functions: imports nothing from
 * aws-cdk-lib.
 */

/** Stack statuses in which CloudFormation sends the rollback's requests. */
const ROLLING_BACK = new Set(['UPDATE_ROLLBACK_IN_PROGRESS', 'ROLLBACK_IN_PROGRESS', 'IMPORT_ROLLBACK_IN_PROGRESS']);

let client: CloudFormationClient | undefined;
async function cloudFormation(): Promise<{ client: CloudFormationClient; sdk: typeof import('@aws-sdk/client-cloudformation') }> {
  const sdk = await import('@aws-sdk/client-cloudformation');
  client ??= new sdk.CloudFormationClient({ maxAttempts: 8 });
  return { client, sdk };
}

/** The stack's status, e.g. `UPDATE_IN_PROGRESS`. */
export async function stackStatus(stackId: string): Promise<string> {
  const { client: cfn, sdk } = await cloudFormation();
  const result = await cfn.send(new sdk.DescribeStacksCommand({ StackName: stackId }));
  const status = result.Stacks?.[0]?.StackStatus;
  if (status === undefined) {
    throw new Error(`DescribeStacks returned no status for ${stackId}`);
  }
  return status;
}

/** The stack's status when CloudFormation is rolling it back (`UPDATE_ROLLBACK_IN_PROGRESS`, ...); undefined otherwise. */
export async function rollbackStatus(stackId: string): Promise<string | undefined> {
  const status = await stackStatus(stackId);
  return ROLLING_BACK.has(status) ? status : undefined;
}

/** Whether CloudFormation is rolling the stack back: an `Update` request then restores the previous properties. */
export async function isRollingBack(stackId: string): Promise<boolean> {
  const status = await stackStatus(stackId);
  const rollingBack = ROLLING_BACK.has(status);
  if (rollingBack) {
    console.log(`The stack is ${status}: this update restores the properties of before the failed update`);
  }
  return rollingBack;
}

/**
 * Whether the stack's resource `logicalId` is in a failed state (`UPDATE_FAILED`, `CREATE_FAILED`):
 * during a rollback, CloudFormation has not restored it yet and modifies it again when it does.
 */
export async function resourceFailed(stackId: string, logicalId: string): Promise<boolean> {
  try {
    const { client: cfn, sdk } = await cloudFormation();
    const result = await cfn.send(new sdk.DescribeStackResourceCommand({ StackName: stackId, LogicalResourceId: logicalId }));
    return (result.StackResourceDetail?.ResourceStatus ?? '').endsWith('_FAILED');
  } catch (e) {
    console.log(`DescribeStackResource ${logicalId}: ${(e as Error).message}; taking it as not failed`);
    return false;
  }
}

