import { DescribeReplicationTasksCommand, StopReplicationTaskCommand } from '@aws-sdk/client-database-migration-service';
import {
  ALL_STATUSES, TASK_ARN, TASK_ID, apiCalls, clearCalls, describeReturns, dmsMock, fault, request, setUp, sleeps, task, tearDown, throttling,
} from './task-handler-support';
import { ResourceTypes } from '../../lib/lifecycle/kinds';
import { isComplete, onEvent } from '../../lib/lifecycle/task-stopper.handler';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const BY_ID = `Describe(replication-task-id=${TASK_ID})`;

function stopperRequest(requestType: 'Create' | 'Update' | 'Delete', props: Record<string, string>, old?: Record<string, string>) {
  return request(ResourceTypes.TASK_STOPPER, requestType, props, old);
}
const changedMapping = () => stopperRequest('Update', { TaskIdentifier: TASK_ID, PropertiesHash: HASH_B }, { TaskIdentifier: TASK_ID, PropertiesHash: HASH_A });

beforeEach(() => {
  setUp();
  dmsMock.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
});
afterEach(tearDown);

test('create does nothing: the task does not exist yet', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Create', { TaskIdentifier: TASK_ID, PropertiesHash: HASH_A });
  await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: `dms-task-stopper:${TASK_ID}`, Data: { StoppedTasks: '' } });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('delete does nothing: the lifecycle resource stops the task before CloudFormation deletes it', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Delete', { TaskIdentifier: TASK_ID, PropertiesHash: HASH_A });
  await onEvent(event);
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('an update that changes neither the hash nor the identifier does nothing', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Update', { TaskIdentifier: TASK_ID, PropertiesHash: HASH_A }, { TaskIdentifier: TASK_ID, PropertiesHash: HASH_A });
  await onEvent(event);
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('a changed mapping stops the running task and waits until it is stopped', async () => {
  describeReturns(task('running'), task('stopping'), task('stopped'));
  const event = changedMapping();

  await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: `dms-task-stopper:${TASK_ID}`, Data: { StoppedTasks: TASK_ID } });
  expect(apiCalls()).toEqual([BY_ID, `Stop(${TASK_ARN})`]);
  clearCalls();

  await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([BY_ID, BY_ID]);
});

// What the stopper does, per status, when the task changed: stop it (onEvent), and whether it is then stopped (isComplete).
const STOPPER_TABLE: Record<(typeof ALL_STATUSES)[number], { stops: boolean; complete: boolean }> = {
  'creating': { stops: false, complete: false },
  'ready': { stops: false, complete: true },
  'starting': { stops: true, complete: false },
  'running': { stops: true, complete: false },
  'stopping': { stops: false, complete: false },
  'stopped': { stops: false, complete: true },
  'failed': { stops: false, complete: true },
  'failed-move': { stops: false, complete: true },
  'modifying': { stops: false, complete: false },
  'deleting': { stops: false, complete: true },
  'moving': { stops: false, complete: false },
  'testing': { stops: false, complete: false },
};

test.each(ALL_STATUSES.map(s => [s, STOPPER_TABLE[s]] as const))('update of a %s task: %j', async (status, expected) => {
  describeReturns(task(status));
  await onEvent(changedMapping());
  expect(apiCalls()).toEqual(expected.stops ? [BY_ID, `Stop(${TASK_ARN})`] : [BY_ID]);
  clearCalls();

  await expect(isComplete(changedMapping())).resolves.toEqual({ IsComplete: expected.complete });
  // isComplete repeats the stop while the task is still running or starting (DMS accepts it, or answers InvalidResourceStateFault)
  expect(apiCalls()).toEqual(expected.stops ? [BY_ID, `Stop(${TASK_ARN})`] : [BY_ID]);
});

test('a renamed task is stopped under its old identifier (the new one does not exist yet)', async () => {
  dmsMock.on(DescribeReplicationTasksCommand, { Filters: [{ Name: 'replication-task-id', Values: ['old-name'] }] })
    .resolves({ ReplicationTasks: [task('running', { ReplicationTaskIdentifier: 'old-name' })] });
  const event = stopperRequest('Update', { TaskIdentifier: TASK_ID, PropertiesHash: HASH_A }, { TaskIdentifier: 'Old-Name', PropertiesHash: HASH_A });

  await expect(onEvent(event)).resolves.toMatchObject({ Data: { StoppedTasks: 'old-name' } });
  expect(apiCalls()).toEqual(['Describe(replication-task-id=old-name)', `Stop(${TASK_ARN})`]);
});

test('a replaced task with a changed mapping: stops the old task, and the new identifier when it exists', async () => {
  dmsMock.on(DescribeReplicationTasksCommand, { Filters: [{ Name: 'replication-task-id', Values: ['old-name'] }] })
    .resolves({ ReplicationTasks: [task('running', { ReplicationTaskIdentifier: 'old-name' })] });
  dmsMock.on(DescribeReplicationTasksCommand, { Filters: [{ Name: 'replication-task-id', Values: [TASK_ID] }] })
    .resolves({ ReplicationTasks: [] });
  const event = stopperRequest('Update', { TaskIdentifier: TASK_ID, PropertiesHash: HASH_B }, { TaskIdentifier: 'old-name', PropertiesHash: HASH_A });

  await onEvent(event);
  expect(apiCalls()).toEqual(['Describe(replication-task-id=old-name)', `Stop(${TASK_ARN})`, BY_ID]);
  clearCalls();
  dmsMock.on(DescribeReplicationTasksCommand, { Filters: [{ Name: 'replication-task-id', Values: ['old-name'] }] })
    .resolves({ ReplicationTasks: [task('stopped', { ReplicationTaskIdentifier: 'old-name' })] });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual(['Describe(replication-task-id=old-name)', BY_ID]);
});

test('a task that is not found is nothing to stop', async () => {
  describeReturns(undefined);
  await onEvent(changedMapping());
  await expect(isComplete(changedMapping())).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([BY_ID, BY_ID]);
});

test('a stop DMS refuses because the task moved on is polled again, not failed', async () => {
  describeReturns(task('running'));
  dmsMock.on(StopReplicationTaskCommand).rejects(fault('InvalidResourceStateFault', 'Task is already stopping'));
  await expect(onEvent(changedMapping())).resolves.toMatchObject({ Data: { StoppedTasks: TASK_ID } });
  await expect(isComplete(changedMapping())).resolves.toEqual({ IsComplete: false });
  expect(apiCalls()).toEqual([BY_ID, `Stop(${TASK_ARN})`, BY_ID, `Stop(${TASK_ARN})`]);
});

test('any other stop error fails the update', async () => {
  describeReturns(task('running'));
  dmsMock.on(StopReplicationTaskCommand).rejects(fault('AccessDeniedException', 'not authorized to perform dms:StopReplicationTask'));
  await expect(onEvent(changedMapping())).rejects.toThrow(/not authorized to perform dms:StopReplicationTask/);
  expect(apiCalls()).toEqual([BY_ID, `Stop(${TASK_ARN})`]);
});

test('throttling: onEvent retries with backoff; isComplete polls again', async () => {
  dmsMock.on(DescribeReplicationTasksCommand)
    .rejectsOnce(throttling())
    .rejectsOnce(throttling())
    .resolves({ ReplicationTasks: [task('running')] });
  await onEvent(changedMapping());
  expect(sleeps).toEqual([1000, 2000]);
  expect(apiCalls()).toEqual([BY_ID, BY_ID, BY_ID, `Stop(${TASK_ARN})`]);
  clearCalls();

  dmsMock.on(DescribeReplicationTasksCommand).rejects(throttling());
  await expect(isComplete(changedMapping())).resolves.toEqual({ IsComplete: false });
  expect(apiCalls()).toEqual([BY_ID]);
});

test('onEvent gives up after five throttled attempts', async () => {
  dmsMock.on(DescribeReplicationTasksCommand).rejects(throttling());
  await expect(onEvent(changedMapping())).rejects.toThrow(/Rate exceeded/);
  expect(sleeps).toEqual([1000, 2000, 4000, 8000]);
  expect(apiCalls()).toEqual([BY_ID, BY_ID, BY_ID, BY_ID, BY_ID]);
});
