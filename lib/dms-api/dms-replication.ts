import {
  DatabaseMigrationServiceClient,
  DescribeReplicationsCommand,
  Replication,
  StartReplicationCommand,
  StopReplicationCommand,
} from '@aws-sdk/client-database-migration-service';
import { StatusRule, stoppedBecauseFinished } from './dms-task';
import { isError } from '../core/api-calls';

/*
 * DMS Serverless replication helpers of the serverless lifecycle handler (the counterpart of
 * dms-task.ts for `AWS::DMS::ReplicationConfig`). Bundled into the provider functions: imports
 * nothing from aws-cdk-lib.
 */

/**
 * Every `Status` `DescribeReplications` reports for a serverless replication. After
 * `StartReplication` DMS goes through initializing … replication_starting while it connects to
 * the endpoints (it tests both connections itself in `testing_connection`), sizes and provisions
 * the capacity.
 */
export type ReplicationStatus =
  | 'created' | 'ready' | 'initializing' | 'preparing_metadata_resources' | 'testing_connection'
  | 'fetching_metadata' | 'calculating_capacity' | 'provisioning_capacity' | 'replication_starting'
  | 'running' | 'stopping' | 'stopped' | 'failed' | 'deleting';

const STARTING: StatusRule = {
  toRun: 'wait',
  toStop: 'act',
  reason: 'DMS is preparing the replication (connections, metadata, capacity); StopReplication cancels it',
};

/**
 * The decision table: for every replication status, what starting and stopping do. Only a
 * `created`, `stopped` or `failed` replication configuration can be modified or deleted.
 */
export const REPLICATION_STATUS_RULES: Readonly<Record<ReplicationStatus, StatusRule>> = {
  created: { toRun: 'act', toStop: 'done', reason: 'created, never started' },
  ready: { toRun: 'act', toStop: 'done', reason: 'created or modified, not running' },
  initializing: STARTING,
  preparing_metadata_resources: STARTING,
  testing_connection: STARTING,
  fetching_metadata: STARTING,
  calculating_capacity: STARTING,
  provisioning_capacity: STARTING,
  replication_starting: STARTING,
  running: { toRun: 'done', toStop: 'act', reason: 'replicating' },
  stopping: { toRun: 'wait', toStop: 'wait', reason: 'a stop is under way' },
  stopped: { toRun: 'act', toStop: 'done', reason: 'stopped (by a user, a stop position, a finished full load or an error)' },
  failed: { toRun: 'act', toStop: 'done', reason: 'the last run failed; a start retries it' },
  deleting: { toRun: 'fail', toStop: 'done', reason: 'the replication configuration is being deleted' },
};

/** While DMS releases the capacity of a stopped replication, it can neither be started nor changed. */
const DEPROVISIONING: StatusRule = { toRun: 'wait', toStop: 'wait', reason: 'DMS is deprovisioning its capacity' };

/**
 * The rule for `replication`: an unknown status waits (DMS may add transitional states); a
 * replication that was never started (not listed by `DescribeReplications`) is `created`.
 */
export function replicationRuleFor(replication: Replication | undefined): StatusRule {
  if (!replication) {
    return REPLICATION_STATUS_RULES.created;
  }
  if (replication.ProvisionData?.ProvisionState?.toLowerCase() === 'deprovisioning') {
    return DEPROVISIONING;
  }
  const status = (replication.Status ?? '').toLowerCase() as ReplicationStatus;
  return REPLICATION_STATUS_RULES[status] ?? { toRun: 'wait', toStop: 'wait', reason: `unknown status '${replication.Status}'` };
}

/** Whether the replication ever ran: the first run needs `start-replication`. */
export function replicationHasRun(replication: Replication | undefined): boolean {
  const stats = replication?.ReplicationStats;
  return Boolean(stats?.StartDate ?? stats?.FreshStartDate ?? replication?.ReplicationLastStopTime);
}

/** Whether the replication stopped because its work is done (a full load finished). */
export function replicationFinished(replication: Replication): boolean {
  return stoppedBecauseFinished({ StopReason: replication.StopReason });
}

/** The messages of a failed or unexpectedly stopped replication. */
export function replicationFailure(replication: Replication): string {
  const parts = [...(replication.FailureMessages ?? []), replication.StopReason]
    .map(p => p?.trim())
    .filter((p): p is string => Boolean(p));
  const message = parts.length > 0 ? parts.join(' | ') : 'DMS reported no failure message';
  // the reason CloudFormation shows must stay well under the 4 KB custom-resource response
  return message.length > 2000 ? `${message.slice(0, 2000)}…` : message;
}

let client: DatabaseMigrationServiceClient | undefined;
function dms(): DatabaseMigrationServiceClient {
  client ??= new DatabaseMigrationServiceClient({ maxAttempts: 4 });
  return client;
}

/** The replication of the configuration with this ARN, or undefined when DMS lists none. */
export async function describeReplicationByArn(configArn: string): Promise<Replication | undefined> {
  return describeReplication('replication-config-arn', configArn, r => r.ReplicationConfigArn === configArn);
}

/** The replication of the configuration with this identifier (stored in lower case), or undefined. */
export async function describeReplicationById(identifier: string): Promise<Replication | undefined> {
  const id = identifier.toLowerCase();
  return describeReplication('replication-config-id', id, r => r.ReplicationConfigIdentifier?.toLowerCase() === id);
}

async function describeReplication(filter: string, value: string, matches: (r: Replication) => boolean): Promise<Replication | undefined> {
  try {
    const result = await dms().send(new DescribeReplicationsCommand({ Filters: [{ Name: filter, Values: [value] }] }));
    return (result.Replications ?? []).find(matches);
  } catch (e) {
    if (isError(e, 'ResourceNotFoundFault')) {
      return undefined;
    }
    throw e;
  }
}

/** `StartReplicationType` values. */
export type StartReplicationType = 'start-replication' | 'resume-processing' | 'reload-target';

export async function startReplication(configArn: string, type: StartReplicationType, cdcStopPosition?: string): Promise<void> {
  await dms().send(new StartReplicationCommand({
    ReplicationConfigArn: configArn,
    StartReplicationType: type,
    ...(cdcStopPosition ? { CdcStopPosition: cdcStopPosition } : {}),
  }));
}

export async function stopReplication(configArn: string): Promise<void> {
  await dms().send(new StopReplicationCommand({ ReplicationConfigArn: configArn }));
}

/** Logs the replication's status and full-load progress to the provider's log group. */
export function logReplication(replication: Replication): void {
  const stats = replication.ReplicationStats;
  console.log('Serverless replication', JSON.stringify({
    ReplicationConfigIdentifier: replication.ReplicationConfigIdentifier,
    Status: replication.Status,
    ProvisionState: replication.ProvisionData?.ProvisionState,
    ProvisionedCapacityUnits: replication.ProvisionData?.ProvisionedCapacityUnits,
    StopReason: replication.StopReason,
    FullLoadProgressPercent: stats?.FullLoadProgressPercent,
    TablesLoaded: stats?.TablesLoaded,
    TablesLoading: stats?.TablesLoading,
    TablesQueued: stats?.TablesQueued,
    TablesErrored: stats?.TablesErrored,
  }));
}
