/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Ensures the account-level roles `dms-vpc-role` and `dms-cloudwatch-logs-role`. */
export const DMS_ACCOUNT_ROLES_TYPE = 'Custom::DmsAccountRoles';
