import { CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { LogicalReplicationStatus } from './logical-replication-status';

const PARAMETER = 'rds.logical_replication';

/**
 * Reads `rds.logical_replication` from the parameter group of an RDS instance or Aurora cluster
 * defined in the same stack.
 *
 * @internal
 */
export function inspectLogicalReplication(database: IConstruct, kind: 'instance' | 'cluster'): LogicalReplicationStatus {
  const cfn = database.node.defaultChild;
  const databaseType = kind === 'instance' ? 'AWS::RDS::DBInstance' : 'AWS::RDS::DBCluster';
  const groupType = kind === 'instance' ? 'AWS::RDS::DBParameterGroup' : 'AWS::RDS::DBClusterParameterGroup';
  const groupProperty = kind === 'instance' ? 'dbParameterGroupName' : 'dbClusterParameterGroupName';
  if (!cfn || !CfnResource.isCfnResource(cfn) || cfn.cfnResourceType !== databaseType) {
    return LogicalReplicationStatus.UNKNOWN;
  }
  const stack = Stack.of(cfn);
  const groupName = (cfn as unknown as Record<string, unknown>)[groupProperty];
  if (groupName === undefined) {
    // The default parameter group has rds.logical_replication = 0.
    return LogicalReplicationStatus.DISABLED;
  }
  const reference = stack.resolve(groupName) as { Ref?: string } | undefined;
  const logicalId = reference?.Ref;
  if (typeof logicalId !== 'string') {
    return LogicalReplicationStatus.UNKNOWN;
  }
  const group = stack.node.findAll().find((c): c is CfnResource => CfnResource.isCfnResource(c)
    && c.cfnResourceType === groupType && stack.resolve(c.logicalId) === logicalId);
  if (!group) {
    return LogicalReplicationStatus.UNKNOWN;
  }
  const parameters = stack.resolve((group as unknown as Record<string, unknown>).parameters) as Record<string, unknown> | undefined;
  const value = parameters?.[PARAMETER];
  if (value === undefined) {
    return LogicalReplicationStatus.DISABLED;
  }
  return String(value) === '1' ? LogicalReplicationStatus.ENABLED : LogicalReplicationStatus.DISABLED;
}
