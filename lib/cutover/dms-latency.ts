import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DatabaseMigrationServiceClient, DescribeReplicationInstancesCommand, DescribeReplicationTasksCommand, ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import type { LatencyReading } from './cutover';
import { DEFAULT_MAX_AGE_MS, readLatencyMetrics } from '../fidelity/latency-metrics';
import type { TableMappings } from '../fidelity/selection';

/** The parts of a DMS replication task's ARN: `arn:<partition>:dms:<region>:<account>:task:<resource id>`. */
export interface TaskArnParts {
  readonly region: string;
  /** The last part: the value of the `ReplicationTaskIdentifier` metric dimension. */
  readonly resourceId: string;
}

/** Splits a task ARN, or throws naming what a task ARN looks like. */
export function parseTaskArn(arn: string): TaskArnParts {
  const match = /^arn:aws[a-z-]*:dms:([a-z0-9-]+):\d{12}:task:([A-Za-z0-9-]+)$/.exec(arn.trim());
  if (!match) {
    throw new Error(`"${arn}" is not the ARN of a DMS replication task (arn:aws:dms:<region>:<account>:task:<resource id>; `
      + 'DMS Serverless replications are not supported: their latency metrics are not documented)');
  }
  return { region: match[1], resourceId: match[2] };
}

/** Options of {@link dmsTaskLatency}. */
export interface DmsTaskLatencyOptions {
  /** The replication task's ARN. */
  readonly taskArn: string;
  /** @default - a client for the task's Region */
  readonly dms?: DatabaseMigrationServiceClient;
  /** @default - a client for the task's Region */
  readonly cloudwatch?: CloudWatchClient;
  /** How old the newest latency datapoint may be. @default 600000 (10 minutes) */
  readonly maxAgeMs?: number;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/** A reading of a DMS task: its latency, or why it cannot be cut over; and its table mapping. */
export interface DmsTaskReading extends LatencyReading {
  /** The task's table mapping, as DMS returns it. */
  readonly tableMappings?: TableMappings;
}

/** Why a task in this state cannot be cut over, or undefined when it can. */
function taskProblem(task: ReplicationTask): string | undefined {
  const name = task.ReplicationTaskIdentifier ?? task.ReplicationTaskArn;
  if (task.MigrationType === 'full-load') return `the task ${name} is a full load without ongoing replication: there is nothing to cut over (verify it instead)`;
  if (task.Status !== 'running') {
    const why = [task.StopReason, task.LastFailureMessage].filter((x) => x).join(': ');
    return `the task ${name} is ${task.Status ?? 'in an unknown state'}${why ? ` (${why})` : ''}, not running: its changes are not being applied`;
  }
  const stats = task.ReplicationTaskStats;
  if (stats && ((stats.TablesLoading ?? 0) > 0 || (stats.TablesQueued ?? 0) > 0)) {
    return `the task ${name} is still loading tables (${stats.TablesLoading ?? 0} loading, ${stats.TablesQueued ?? 0} queued): wait for the full load to finish`;
  }
  if (stats && (stats.TablesErrored ?? 0) > 0) {
    return `the task ${name} has ${stats.TablesErrored} table(s) in error: see the table statistics of the task and reload them`;
  }
  return undefined;
}

/**
 * A latency source for `cutover` from a DMS replication task on a replication instance: the task's
 * status and statistics (`DescribeReplicationTasks`), and its newest `CDCLatencySource` and
 * `CDCLatencyTarget` (`GetMetricData`, namespace `AWS/DMS`, 1-minute Maximum). The latency is their
 * sum, in milliseconds: the longer of the two readings of AWS's documentation (target latency alone,
 * or source plus target). A task that is not running, still loading, has tables in error, or has no
 * datapoint newer than `maxAgeMs` gives a `problem` instead.
 *
 * Permissions: `dms:DescribeReplicationTasks`, `dms:DescribeReplicationInstances` and
 * `cloudwatch:GetMetricData`.
 */
export function dmsTaskLatency(options: DmsTaskLatencyOptions): () => Promise<DmsTaskReading> {
  const { region, resourceId } = parseTaskArn(options.taskArn);
  const dms = options.dms ?? new DatabaseMigrationServiceClient({ region });
  const cloudwatch = options.cloudwatch ?? new CloudWatchClient({ region });
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  const instanceIds = new Map<string, string>();

  const instanceIdentifier = async (instanceArn: string): Promise<string> => {
    const known = instanceIds.get(instanceArn);
    if (known) return known;
    const response = await dms.send(new DescribeReplicationInstancesCommand({
      Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }],
    }));
    const id = response.ReplicationInstances?.[0]?.ReplicationInstanceIdentifier;
    if (!id) throw new Error(`the replication instance ${instanceArn} of the task was not found`);
    instanceIds.set(instanceArn, id);
    return id;
  };

  return async () => {
    const described = await dms.send(new DescribeReplicationTasksCommand({
      Filters: [{ Name: 'replication-task-arn', Values: [options.taskArn.trim()] }],
    }));
    const task = described.ReplicationTasks?.[0];
    if (!task) throw new Error(`the replication task ${options.taskArn} was not found in ${region}`);
    let tableMappings: TableMappings | undefined;
    if (task.TableMappings) tableMappings = JSON.parse(task.TableMappings) as TableMappings;
    const problem = taskProblem(task);
    if (problem) return { problem, detail: `DescribeReplicationTasks: ${task.Status}`, tableMappings };
    if (!task.ReplicationInstanceArn) {
      return { problem: 'the task has no replication instance: DMS Serverless replications are not supported', detail: 'DescribeReplicationTasks', tableMappings };
    }
    const instance = await instanceIdentifier(task.ReplicationInstanceArn);
    const reading = await readLatencyMetrics(cloudwatch, { instanceIdentifier: instance, taskResourceId: resourceId }, now(), maxAgeMs);
    return { ...reading, tableMappings };
  };
}
