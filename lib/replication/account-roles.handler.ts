import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  IAMClient,
  Role,
} from '@aws-sdk/client-iam';
import { ACCOUNT_ROLES, AccountRoleName } from './account-role-names';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';

/** Properties of a `Custom::DmsAccountRoles` resource. */
export interface AccountRolesProperties {
  /** AWS partition of the stack (`aws`, `aws-cn`, `aws-us-gov`). */
  readonly Partition: string;
}

/** Tag written on the roles this handler creates, so later runs know they may complete them. */
export const CREATED_BY_TAG = { Key: 'created-by', Value: 'cdk-neon-migration' };

/** The physical id of the resource: there is one set of roles per account. */
export const PHYSICAL_ID = 'dms-account-roles';

/**
 * How long to wait after creating a role (and attaching its policy) before reporting success: IAM is
 * eventually consistent, AWS documents no bound, and DMS rejects a subnet group right after the role
 * appeared (`The IAM Role arn:aws:iam::<account>:role/dms-vpc-role is not configured properly`);
 * others needed 30 seconds after the policy attachment (terraform-provider-aws #11025). Twice that,
 * paid once per account.
 */
export const SETTLE_MILLISECONDS = 60_000;

/**
 * DMS may assume the role on behalf of this account only: the confused-deputy condition DMS
 * documents for `dms-vpc-role` (DMS 3.4.7 and later send `aws:SourceAccount`).
 */
export function trustPolicy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Service: 'dms.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': account } },
    }],
  });
}

let client: IAMClient | undefined;
function iam(): IAMClient {
  client ??= new IAMClient({ maxAttempts: 8 });
  return client;
}

/**
 * Creates the roles that are missing and attaches their managed policy. Roles that exist are
 * left as they are, except roles tagged as created by this library, whose managed policy is
 * attached again (idempotent) in case an earlier run stopped between creating and attaching.
 * Delete does nothing: other stacks and DMS resources outside this stack rely on the roles.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  if (event.RequestType === 'Delete') {
    console.log('Account-level DMS roles are kept: other DMS resources in the account use them');
    return { PhysicalResourceId: event.PhysicalResourceId ?? PHYSICAL_ID };
  }
  const props = event.ResourceProperties as unknown as AccountRolesProperties;
  const partition = props.Partition || 'aws';
  // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>
  const account = event.StackId.split(':')[4];

  const created: string[] = [];
  for (const role of ACCOUNT_ROLES) {
    if (await ensureRole(role, partition, account)) {
      created.push(role.roleName);
    }
  }
  const data: Record<string, string> = {};
  if (created.length > 0) {
    data.CreatedRoles = created.join(',');
    data.CreatedAt = String(Date.now());
  }
  return { PhysicalResourceId: PHYSICAL_ID, Data: data };
}

/**
 * Completes when every role created by `onEvent` is readable and the settle delay has passed;
 * at once when no role was created.
 */
export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  if (event.RequestType === 'Delete') {
    return { IsComplete: true };
  }
  const createdRoles = String(event.Data?.CreatedRoles ?? '').split(',').filter(name => name.length > 0);
  if (createdRoles.length === 0) {
    return { IsComplete: true };
  }
  for (const roleName of createdRoles) {
    if (await getRole(roleName) === undefined) {
      console.log('Role not visible yet', roleName);
      return { IsComplete: false };
    }
  }
  const createdAt = Number(event.Data?.CreatedAt ?? 0);
  const elapsed = Date.now() - createdAt;
  if (elapsed < SETTLE_MILLISECONDS) {
    console.log(`Roles created ${elapsed} ms ago; waiting for IAM to propagate them`);
    return { IsComplete: false };
  }
  return { IsComplete: true };
}

/** Returns true when the role was created by this call. */
async function ensureRole(role: AccountRoleName, partition: string, account: string): Promise<boolean> {
  const policyArn = `arn:${partition}:iam::aws:policy/${role.managedPolicy}`;
  const existing = await getRole(role.roleName);
  if (existing) {
    if (isCreatedByUs(existing)) {
      await attachPolicy(role.roleName, policyArn);
      console.log('Role exists (created by this library); managed policy ensured', role.roleName);
    } else {
      console.log('Role exists; left as it is', role.roleName);
    }
    return false;
  }

  try {
    await iam().send(new CreateRoleCommand({
      RoleName: role.roleName,
      AssumeRolePolicyDocument: trustPolicy(account),
      Description: `Account-level role AWS DMS uses (${role.managedPolicy}), created by cdk-neon-migration`,
      Tags: [CREATED_BY_TAG],
    }));
  } catch (e) {
    if (errorName(e) === 'EntityAlreadyExistsException') {
      // Created concurrently (by another stack or a person): whoever created it completes it.
      console.log('Role was created concurrently; left as it is', role.roleName);
      return false;
    }
    throw e;
  }
  await attachPolicy(role.roleName, policyArn);
  console.log('Role created and managed policy attached', role.roleName);
  return true;
}

async function attachPolicy(roleName: string, policyArn: string): Promise<void> {
  await iam().send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policyArn }));
}

async function getRole(roleName: string): Promise<Role | undefined> {
  try {
    const result = await iam().send(new GetRoleCommand({ RoleName: roleName }));
    return result.Role;
  } catch (e) {
    if (errorName(e) === 'NoSuchEntityException') {
      return undefined;
    }
    throw e;
  }
}

function isCreatedByUs(role: Role): boolean {
  return (role.Tags ?? []).some(tag => tag.Key === CREATED_BY_TAG.Key && tag.Value === CREATED_BY_TAG.Value);
}

function errorName(e: unknown): string | undefined {
  return (e as { name?: string } | undefined)?.name;
}
