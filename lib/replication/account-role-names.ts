/**
 * The account-level roles DMS looks up by fixed name. Shared by the `DmsAccountRoles` construct
 * and its handler; imports nothing, so the handler bundle stays small.
 */

/** One account-level role DMS expects under a fixed name. */
export interface AccountRoleName {
  readonly roleName: string;
  /** Managed policy name below `arn:<partition>:iam::aws:policy/`. */
  readonly managedPolicy: string;
}

/** `dms-vpc-role`: DMS manages the network interfaces of replication instances with it. */
export const DMS_VPC_ROLE: AccountRoleName = {
  roleName: 'dms-vpc-role',
  managedPolicy: 'service-role/AmazonDMSVPCManagementRole',
};

/** `dms-cloudwatch-logs-role`: DMS writes task logs to CloudWatch Logs with it. */
export const DMS_CLOUDWATCH_LOGS_ROLE: AccountRoleName = {
  roleName: 'dms-cloudwatch-logs-role',
  managedPolicy: 'service-role/AmazonDMSCloudWatchLogsRole',
};

export const ACCOUNT_ROLES: AccountRoleName[] = [DMS_VPC_ROLE, DMS_CLOUDWATCH_LOGS_ROLE];
