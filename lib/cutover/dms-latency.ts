import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  DatabaseMigrationServiceClient, DescribeReplicationInstancesCommand, DescribeReplicationTasksCommand, ReplicationTask,
} from '@aws-sdk/client-database-migration-service';
import type { LatencyReading } from './cutover';
import { parseTaskArn } from './task-arn';
import { DEFAULT_MAX_AGE_MS, readLatencyMetrics } from '../fidelity/latency-metrics';
import type { TableMappings } from '../fidelity/selection';

export { parseTaskArn } from './task-arn';
export type { TaskArnParts } from './task-arn';

/** What the latency reader asks of AWS: the permissions `DmsMigrationTask.grantCutover` grants. */
export const CUTOVER_ACTIONS = ['dms:DescribeReplicationTasks', 'dms:DescribeReplicationInstances', 'cloudwatch:GetMetricData'] as const;

/** How a call to AWS failed: no credentials, credentials refused, or an action not allowed. */
export type AwsCallProblem = 'AWS_CREDENTIALS' | 'AWS_CREDENTIALS_INVALID' | 'AWS_ACCESS_DENIED';

/**
 * A call to AWS that failed for want of credentials or permissions, in the terms of what to do:
 * the call (`dms:DescribeReplicationTasks`), the Region it went to, where credentials come from, and
 * what grants the permissions. `name` is `AwsCallError` (the class may come from a bundled copy).
 */
export class AwsCallError extends Error {
  constructor(
    readonly code: AwsCallProblem,
    /** The IAM action of the call, e.g. `dms:DescribeReplicationTasks`. */
    readonly action: string,
    readonly region: string,
    message: string,
  ) {
    super(message);
    this.name = 'AwsCallError';
  }
}

const PERMISSIONS = `The command needs ${CUTOVER_ACTIONS.join(', ')}: DmsMigrationTask.grantCutover(<role or user>) grants them.`;

/** The problem of an SDK error that is about credentials or permissions, or undefined for any other. */
function awsCallProblem(e: unknown): AwsCallProblem | undefined {
  const error = e as { name?: unknown; message?: unknown } | undefined;
  const name = typeof error?.name === 'string' ? error.name : '';
  const message = typeof error?.message === 'string' ? error.message : '';
  if (name === 'CredentialsProviderError' || name === 'TokenProviderError' || /could not load credentials/i.test(message)) return 'AWS_CREDENTIALS';
  if (/^(ExpiredToken|ExpiredTokenException|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidSignatureException|IncompleteSignature)$/.test(name)) {
    return 'AWS_CREDENTIALS_INVALID';
  }
  if (/^(AccessDenied|AccessDeniedException|AccessDeniedFault|UnauthorizedOperation)$/.test(name) || / is not authorized to perform: /.test(message)) return 'AWS_ACCESS_DENIED';
  return undefined;
}

/** Runs one call to AWS; a failure for want of credentials or permissions becomes an {@link AwsCallError} naming what to do. */
async function awsCall<T>(action: string, region: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    const problem = awsCallProblem(e);
    if (!problem) throw e;
    const cause = (e as Error).message;
    const where = `${action} (in ${region}, the Region of the task ARN: AWS_REGION does not change it)`;
    switch (problem) {
      case 'AWS_CREDENTIALS':
        throw new AwsCallError(problem, action, region, `${where} needs AWS credentials, and none were found (${cause}). `
          + 'Set AWS_PROFILE to a profile of your AWS config (~/.aws/config, after aws sso login for an SSO profile), '
          + `or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them. ${PERMISSIONS}`);
      case 'AWS_CREDENTIALS_INVALID':
        throw new AwsCallError(problem, action, region, `${where} was refused: the AWS credentials are not valid or have expired (${cause}). `
          + `Renew them (aws sso login, or new keys), or set AWS_PROFILE to another profile. ${PERMISSIONS}`);
      default:
        throw new AwsCallError(problem, action, region, `${where} was refused: the AWS identity may not call it (${cause}). ${PERMISSIONS}`);
    }
  }
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
 * `cloudwatch:GetMetricData` (`DmsMigrationTask.grantCutover`). A call refused for want of
 * credentials or permissions throws an {@link AwsCallError} naming the call and what to do.
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
    const response = await awsCall('dms:DescribeReplicationInstances', region, () => dms.send(new DescribeReplicationInstancesCommand({
      Filters: [{ Name: 'replication-instance-arn', Values: [instanceArn] }],
    })));
    const id = response.ReplicationInstances?.[0]?.ReplicationInstanceIdentifier;
    if (!id) throw new Error(`the replication instance ${instanceArn} of the task was not found`);
    instanceIds.set(instanceArn, id);
    return id;
  };

  return async () => {
    const described = await awsCall('dms:DescribeReplicationTasks', region, () => dms.send(new DescribeReplicationTasksCommand({
      Filters: [{ Name: 'replication-task-arn', Values: [options.taskArn.trim()] }],
    })));
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
    const reading = await awsCall('cloudwatch:GetMetricData', region,
      () => readLatencyMetrics(cloudwatch, { instanceIdentifier: instance, taskResourceId: resourceId }, now(), maxAgeMs));
    return { ...reading, tableMappings };
  };
}
