import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand, ResourceStatus } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DatabaseMigrationServiceClient,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  ListTagsForResourceCommand,
  ReplicationTask,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
} from '@aws-sdk/client-database-migration-service';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { timing } from '../../lib/core/api-calls';
import { PROPERTIES_HASH_TAG } from '../../lib/lifecycle/kinds';
import type { ProviderRequest } from '../../lib/provider/handler-types';

/** Shared fixtures of the task stopper and task lifecycle handler tests. */

export const TASK_ARN = 'arn:aws:dms:us-east-2:123456789012:task:TASKRESOURCEID1';
export const NEW_TASK_ARN = 'arn:aws:dms:us-east-2:123456789012:task:TASKRESOURCEID2';
export const TASK_ID = 'neon-migration';
/** The moment onEvent runs in these tests. */
export const NOW = Date.parse('2026-03-01T10:00:00Z');
export const BEFORE = new Date(NOW - 3_600_000);
export const AFTER = new Date(NOW + 60_000);

export const ALL_STATUSES = [
  'creating', 'ready', 'starting', 'running', 'stopping', 'stopped',
  'failed', 'failed-move', 'modifying', 'deleting', 'moving', 'testing',
] as const;

export const dmsMock: AwsClientStub<DatabaseMigrationServiceClient> = mockClient(DatabaseMigrationServiceClient);

/** Progress metrics the lifecycle handler publishes while it waits. */
export const cloudWatchMock: AwsClientStub<CloudWatchClient> = mockClient(CloudWatchClient);

/** The stack's status, which tells the handlers an update from a rollback's update. */
export const cloudFormationMock: AwsClientStub<CloudFormationClient> = mockClient(CloudFormationClient);
let stackStatus = 'UPDATE_IN_PROGRESS';

/** The stack is in `status` from now on (e.g. `UPDATE_ROLLBACK_IN_PROGRESS`). */
export function stackIs(status: string): void {
  stackStatus = status;
}

/** DescribeStackResource answers that the resource is `status` (e.g. `UPDATE_FAILED`). */
export function resourceIs(status: string): void {
  cloudFormationMock.on(DescribeStackResourceCommand).resolves({
    StackResourceDetail: { LogicalResourceId: 'Task', ResourceType: 'AWS::DMS::ReplicationTask', ResourceStatus: status as ResourceStatus, LastUpdatedTimestamp: new Date(0) },
  });
}

/** ListTagsForResource answers with the properties-hash tag CloudFormation last wrote: `hash` (undefined: no tag). */
export function taggedWith(hash: string | undefined): void {
  dmsMock.on(ListTagsForResourceCommand).resolves({ TagList: hash === undefined ? [] : [{ Key: PROPERTIES_HASH_TAG, Value: hash }] });
}

export const sleeps: number[] = [];
const realTiming = { ...timing };

/** Resets the mock, freezes the clock at NOW and records backoff sleeps instead of waiting. */
export function setUp(): void {
  dmsMock.reset();
  cloudWatchMock.reset();
  cloudWatchMock.on(PutMetricDataCommand).resolves({});
  cloudFormationMock.reset();
  stackStatus = 'UPDATE_IN_PROGRESS';
  cloudFormationMock.on(DescribeStacksCommand).callsFake(async (input) => ({
    Stacks: [{ StackId: input.StackName, StackName: 'S', StackStatus: stackStatus, CreationTime: new Date(0) }],
  }));
  callsSeen = 0;
  sleeps.length = 0;
  timing.now = () => NOW;
  timing.sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
}

export function tearDown(): void {
  timing.now = realTiming.now;
  timing.sleep = realTiming.sleep;
  jest.restoreAllMocks();
}

/** A task as DescribeReplicationTasks returns it. `ran` gives it the dates of an earlier run. */
export function task(status: string, extra: Partial<ReplicationTask> = {}, ran = false, arn = TASK_ARN): ReplicationTask {
  return {
    ReplicationTaskArn: arn,
    ReplicationTaskIdentifier: TASK_ID,
    Status: status,
    MigrationType: 'full-load-and-cdc',
    ...(ran ? { ReplicationTaskStartDate: BEFORE, ReplicationTaskStats: { StartDate: BEFORE, StopDate: BEFORE, FullLoadProgressPercent: 100 } } : {}),
    ...extra,
  };
}

/** DescribeReplicationTasks answers with these tasks in turn (the last one from then on); undefined = not found. */
export function describeReturns(...tasks: (ReplicationTask | undefined)[]): void {
  const queue = [...tasks];
  dmsMock.on(DescribeReplicationTasksCommand).callsFake(async () => {
    const next = queue.length > 1 ? queue.shift() : queue[0];
    return { ReplicationTasks: next ? [next] : [] };
  });
}

export function throttling(): Error {
  const e = new Error('Rate exceeded');
  e.name = 'ThrottlingException';
  return e;
}

export function fault(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * Every DMS call made, in order, as a short string:
 * `Describe(replication-task-id=x)`, `Start(resume-processing)`, `Stop(arn)`, `TableStatistics(arn)`.
 */
export function apiCalls(): string[] {
  return dmsMock.calls().slice(callsSeen).map(call => {
    const command = call.args[0] as any;
    const input = command.input;
    if (command instanceof DescribeReplicationTasksCommand) {
      expect(input.WithoutSettings).toBe(true);
      return `Describe(${input.Filters.map((f: any) => `${f.Name}=${f.Values.join(',')}`).join(';')})`;
    }
    if (command instanceof StartReplicationTaskCommand) {
      return `Start(${input.ReplicationTaskArn},${input.StartReplicationTaskType})`;
    }
    if (command instanceof StopReplicationTaskCommand) {
      return `Stop(${input.ReplicationTaskArn})`;
    }
    if (command instanceof DescribeTableStatisticsCommand) {
      return `TableStatistics(${input.ReplicationTaskArn}${input.Marker ? `,${input.Marker}` : ''})`;
    }
    if (command instanceof ListTagsForResourceCommand) {
      return `Tags(${input.ResourceArn})`;
    }
    return command.constructor.name;
  });
}

let callsSeen = 0;

/** `apiCalls()` forgets the calls made so far (the mock's history stays: sinon counts `*Once` answers by it). */
export function clearCalls(): void {
  callsSeen = dmsMock.calls().length;
}

export function request(
  resourceType: string,
  requestType: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown>,
  old?: Record<string, unknown>,
  data?: Record<string, string>,
): ProviderRequest {
  return {
    RequestType: requestType,
    ResourceType: resourceType,
    LogicalResourceId: 'Lifecycle',
    StackId: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1',
    RequestId: 'req-1',
    ResourceProperties: { ServiceToken: 'token', ...props },
    OldResourceProperties: old ? { ServiceToken: 'token', ...old } : undefined,
    PhysicalResourceId: requestType === 'Create' ? undefined : 'physical',
    Data: data,
  };
}
