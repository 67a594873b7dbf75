import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DatabaseMigrationServiceClient,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ListTagsForResourceCommand,
  ReplicationTask,
  StartReplicationTaskCommand,
  StartReplicationTaskTypeValue,
  StopReplicationTaskCommand,
  TableStatistics,
} from '@aws-sdk/client-database-migration-service';
import { errorMessage, isError, timing } from '../core/api-calls';
import { PROGRESS_METRICS_NAMESPACE, progressMetricData } from '../metrics/progress-metrics';

/*
 * DMS replication-task helpers shared by the task stopper and task lifecycle handlers.
 * Bundled into the provider functions: imports nothing from aws-cdk-lib.
 */

/** Every status `DescribeReplicationTasks` reports for a task. */
export type TaskStatus =
  | 'creating' | 'ready' | 'starting' | 'running' | 'stopping' | 'stopped'
  | 'failed' | 'failed-move' | 'modifying' | 'deleting' | 'moving' | 'testing';

/**
 * What one reconcile step does about the task's current status:
 * - `act`: call the API that moves the task toward the goal (StartReplicationTask / StopReplicationTask);
 * - `wait`: DMS is busy with the task; poll again;
 * - `done`: the goal is reached;
 * - `fail`: the goal cannot be reached from this status; the deployment fails.
 */
export type Step = 'act' | 'wait' | 'done' | 'fail';

/** The steps for one status, toward each goal. */
export interface StatusRule {
  /** Goal "running": the lifecycle resource's create or update starts the task. */
  readonly toRun: Step;
  /** Goal "stopped": the stopper before an update, the lifecycle resource on delete. */
  readonly toStop: Step;
  /** Why. */
  readonly reason: string;
}

/**
 * The decision table: for every task status, what starting and stopping do.
 *
 * A task that reaches `stopped`, `failed` or `ready` after this deployment started it is judged by
 * its outcome (finished full load, or a failure) before this table applies; see the lifecycle handler.
 */
export const TASK_STATUS_RULES: Readonly<Record<TaskStatus, StatusRule>> = {
  'creating': { toRun: 'wait', toStop: 'wait', reason: 'DMS is still creating the task' },
  'ready': { toRun: 'act', toStop: 'done', reason: 'created or modified, not running' },
  'starting': { toRun: 'wait', toStop: 'act', reason: 'a start is under way; StopReplicationTask cancels it' },
  'running': { toRun: 'done', toStop: 'act', reason: 'replicating' },
  'stopping': { toRun: 'wait', toStop: 'wait', reason: 'a stop is under way' },
  'stopped': { toRun: 'act', toStop: 'done', reason: 'stopped (by a user, a stop position, a finished full load or an error)' },
  'failed': { toRun: 'act', toStop: 'done', reason: 'the last run failed; a start retries it' },
  'failed-move': {
    toRun: 'fail',
    toStop: 'done',
    reason: 'moving the task to another replication instance failed; move it again or recreate it before it can run',
  },
  'modifying': { toRun: 'wait', toStop: 'wait', reason: 'DMS is applying a modification' },
  'deleting': { toRun: 'fail', toStop: 'done', reason: 'the task is being deleted' },
  'moving': { toRun: 'wait', toStop: 'wait', reason: 'the task is moving to another replication instance' },
  'testing': { toRun: 'wait', toStop: 'wait', reason: 'a premigration assessment is running' },
};

/** The rule for `status`; an unknown status waits (DMS may add transitional states). */
export function ruleFor(status: string | undefined): StatusRule {
  const known = TASK_STATUS_RULES[status as TaskStatus];
  return known ?? { toRun: 'wait', toStop: 'wait', reason: `unknown status '${status}'` };
}

/** `StopReason` values that mean the task stopped because its work is done. */
const FINISHED_STOP_REASONS = /FULL_LOAD_ONLY_FINISHED|STOPPED_AFTER_FULL_LOAD|STOPPED_AFTER_CACHED_EVENTS/;

/** Whether the task stopped because it finished (a full-load-only task, or a configured stop after the load). */
export function stoppedBecauseFinished(task: ReplicationTask): boolean {
  return FINISHED_STOP_REASONS.test(task.StopReason ?? '');
}

/** Whether the task ever ran: a `ready` task that never ran needs `start-replication`, any other start type fails. */
export function hasRun(task: ReplicationTask): boolean {
  return Boolean(task.ReplicationTaskStartDate ?? task.ReplicationTaskStats?.StartDate ?? task.ReplicationTaskStats?.FreshStartDate);
}

let client: DatabaseMigrationServiceClient | undefined;
function dms(): DatabaseMigrationServiceClient {
  client ??= new DatabaseMigrationServiceClient({ maxAttempts: 4 });
  return client;
}

/** The task with this ARN, or undefined when it does not exist. */
export async function describeTaskByArn(taskArn: string): Promise<ReplicationTask | undefined> {
  return describeTask('replication-task-arn', taskArn);
}

/** The task with this identifier (DMS stores identifiers in lower case), or undefined when it does not exist. */
export async function describeTaskById(identifier: string): Promise<ReplicationTask | undefined> {
  return describeTask('replication-task-id', identifier.toLowerCase());
}

async function describeTask(filter: string, value: string): Promise<ReplicationTask | undefined> {
  try {
    const result = await dms().send(new DescribeReplicationTasksCommand({
      Filters: [{ Name: filter, Values: [value] }],
      WithoutSettings: true,
    }));
    return result.ReplicationTasks?.[0];
  } catch (e) {
    if (isError(e, 'ResourceNotFoundFault')) {
      return undefined;
    }
    throw e;
  }
}

/** The value of the tag `key` on the DMS resource `arn` (task, replication configuration), undefined when untagged or gone. */
export async function tagValue(arn: string, key: string): Promise<string | undefined> {
  try {
    const result = await dms().send(new ListTagsForResourceCommand({ ResourceArn: arn }));
    return result.TagList?.find(tag => tag.Key === key)?.Value;
  } catch (e) {
    if (isError(e, 'ResourceNotFoundFault')) {
      return undefined;
    }
    throw e;
  }
}

export async function startTask(taskArn: string, type: StartReplicationTaskTypeValue): Promise<ReplicationTask | undefined> {
  const result = await dms().send(new StartReplicationTaskCommand({
    ReplicationTaskArn: taskArn,
    StartReplicationTaskType: type,
  }));
  return result.ReplicationTask;
}

export async function stopTask(taskArn: string): Promise<ReplicationTask | undefined> {
  const result = await dms().send(new StopReplicationTaskCommand({ ReplicationTaskArn: taskArn }));
  return result.ReplicationTask;
}

/** Every table's statistics (all pages). */
export async function describeTableStatistics(taskArn: string): Promise<TableStatistics[]> {
  const tables: TableStatistics[] = [];
  let marker: string | undefined;
  do {
    const page = await dms().send(new DescribeTableStatisticsCommand({
      ReplicationTaskArn: taskArn,
      MaxRecords: 500,
      Marker: marker,
    }));
    tables.push(...(page.TableStatistics ?? []));
    marker = page.Marker;
  } while (marker);
  return tables;
}

/** Validation states that mean the target does not match the source. */
const FAILED_VALIDATION_STATES = new Set(['Mismatched records', 'Table error', 'Error']);

/** The tables that failed to load or failed validation, as `schema.table (state)`. */
export function failedTables(tables: TableStatistics[]): string[] {
  const failed: string[] = [];
  for (const t of tables) {
    const name = `${t.SchemaName}.${t.TableName}`;
    if (t.TableState === 'Table error') {
      failed.push(`${name} (load: Table error)`);
    } else if (t.ValidationState && FAILED_VALIDATION_STATES.has(t.ValidationState)) {
      const details = t.ValidationStateDetails ? `, ${t.ValidationStateDetails}` : '';
      const count = t.ValidationFailedRecords ? `, ${t.ValidationFailedRecords} failed records` : '';
      failed.push(`${name} (validation: ${t.ValidationState}${count}${details})`);
    }
  }
  return failed;
}

/** Logs the task's status and full-load progress to the provider's log group. */
let cloudwatch: CloudWatchClient | undefined;

/**
 * Copies the task's progress (`ReplicationTaskStats`) into the `CdkNeonMigration` CloudWatch
 * metrics that `MigrationDashboard` graphs. Best effort: a failed publish never fails the deploy.
 */
export async function publishProgress(task: ReplicationTask): Promise<void> {
  const data = progressMetricData(task.ReplicationTaskIdentifier ?? '', task.ReplicationTaskStats, new Date(timing.now()));
  if (!task.ReplicationTaskIdentifier || data.length === 0) {
    return;
  }
  try {
    cloudwatch ??= new CloudWatchClient({});
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: PROGRESS_METRICS_NAMESPACE, MetricData: data }));
  } catch (e) {
    console.log(`Progress metrics not published: ${errorMessage(e)}`);
  }
}

export function logProgress(task: ReplicationTask): void {
  const stats = task.ReplicationTaskStats;
  console.log('Replication task', JSON.stringify({
    ReplicationTaskIdentifier: task.ReplicationTaskIdentifier,
    Status: task.Status,
    StopReason: task.StopReason,
    FullLoadProgressPercent: stats?.FullLoadProgressPercent,
    TablesLoaded: stats?.TablesLoaded,
    TablesLoading: stats?.TablesLoading,
    TablesQueued: stats?.TablesQueued,
    TablesErrored: stats?.TablesErrored,
    ElapsedTimeMillis: stats?.ElapsedTimeMillis,
  }));
}

/** The message a failed or unexpectedly stopped task reports. */
export function taskFailure(task: ReplicationTask): string {
  const parts = [task.LastFailureMessage, task.StopReason].map(p => p?.trim()).filter((p): p is string => Boolean(p));
  const message = parts.length > 0 ? parts.join(' | ') : 'DMS reported no failure message';
  // the reason CloudFormation shows must stay well under the 4 KB custom-resource response
  return message.length > 2000 ? `${message.slice(0, 2000)}…` : message;
}
