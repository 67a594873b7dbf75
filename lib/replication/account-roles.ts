import { Aws, CustomResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { ACCOUNT_ROLES, DMS_CLOUDWATCH_LOGS_ROLE, DMS_VPC_ROLE } from './account-role-names';
import { DMS_ACCOUNT_ROLES_TYPE } from './kinds';
import { MigrationProvider } from '../provider/provider';

/**
 * Ensures the account-level IAM roles AWS DMS looks up by name: `dms-vpc-role`
 * (`service-role/AmazonDMSVPCManagementRole`) and `dms-cloudwatch-logs-role`
 * (`service-role/AmazonDMSCloudWatchLogsRole`), both trusting `dms.amazonaws.com`.
 *
 * A custom resource creates each role that is missing and attaches its managed policy; roles that
 * already exist are left as they are. The roles are never deleted with the stack, because every
 * DMS resource of the account depends on them. After creating a role the resource waits for IAM to
 * propagate it, so a replication subnet group created right after does not fail with
 * `The IAM Role arn:aws:iam::<account>:role/dms-vpc-role is not configured properly`.
 *
 * One per stack: use `DmsAccountRoles.of(scope)`. `ReplicationInstance` and
 * `ServerlessReplication` do this themselves unless `manageAccountRoles` is false.
 */
export class DmsAccountRoles extends Construct {
  /** Construct id under the stack; part of the public contract (changing it replaces the resource). */
  public static readonly ID = 'DmsAccountRoles';

  /** The account-roles construct of `scope`'s stack, created on first use. */
  public static of(scope: IConstruct): DmsAccountRoles {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(DmsAccountRoles.ID);
    return (existing as DmsAccountRoles | undefined) ?? new DmsAccountRoles(stack, DmsAccountRoles.ID);
  }

  /** ARN of `dms-vpc-role`. */
  public readonly vpcRoleArn: string;
  /** ARN of `dms-cloudwatch-logs-role`. */
  public readonly cloudWatchLogsRoleArn: string;
  /** The custom resource: make resources that need the roles depend on this construct. */
  public readonly resource: CustomResource;

  private constructor(scope: Construct, id: string) {
    super(scope, id);

    const roleArn = (name: string) => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${name}`;
    this.vpcRoleArn = roleArn(DMS_VPC_ROLE.roleName);
    this.cloudWatchLogsRoleArn = roleArn(DMS_CLOUDWATCH_LOGS_ROLE.roleName);
    const roleArns = ACCOUNT_ROLES.map(role => roleArn(role.roleName));

    const provider = MigrationProvider.of(this);
    provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:GetRole', 'iam:CreateRole', 'iam:TagRole'],
      resources: roleArns,
    }));
    provider.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:AttachRolePolicy'],
      resources: roleArns,
      conditions: {
        ArnEquals: {
          'iam:PolicyARN': ACCOUNT_ROLES.map(role => `arn:${Aws.PARTITION}:iam::aws:policy/${role.managedPolicy}`),
        },
      },
    }));

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: DMS_ACCOUNT_ROLES_TYPE,
      properties: {
        Partition: Aws.PARTITION,
      },
    });
  }
}
