import { DescribeStackResourceCommand } from '@aws-sdk/client-cloudformation';
import { DescribeReplicationTasksCommand, StartReplicationTaskCommand, StopReplicationTaskCommand } from '@aws-sdk/client-database-migration-service';
import {
  ALL_STATUSES, NEW_TASK_ARN, TASK_ARN, TASK_ID, apiCalls, clearCalls, cloudFormationMock, describeReturns, dmsMock, fault, request, resourceIs,
  setUp, sleeps, stackIs, taggedWith, task, tearDown, throttling,
} from './task-handler-support';
import { TASK_STOPPER_TYPE } from '../../lib/lifecycle/kinds';
import { isComplete, onEvent } from '../../lib/lifecycle/task-stopper.handler';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const BY_ID = `Describe(replication-task-id=${TASK_ID})`;

/** A request to the stack's stopper, whose properties map task identifiers to property hashes. */
function stopperRequest(requestType: 'Create' | 'Update' | 'Delete', tasks: Record<string, string>, old?: Record<string, string>) {
  return request(TASK_STOPPER_TYPE, requestType, { Tasks: tasks }, old && { Tasks: old });
}
const changedMapping = () => stopperRequest('Update', { [TASK_ID]: HASH_B }, { [TASK_ID]: HASH_A });

beforeEach(() => {
  setUp();
  dmsMock.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
});
afterEach(tearDown);

test('create does nothing: the task does not exist yet', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Create', { [TASK_ID]: HASH_A });
  await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: 'dms-task-stopper', Data: { StoppedTasks: '' } });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('delete does nothing: the lifecycle resource stops the task before CloudFormation deletes it', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Delete', { [TASK_ID]: HASH_A });
  await onEvent(event);
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('an update that changes neither a hash nor an identifier does nothing', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Update', { [TASK_ID]: HASH_A, 'other-task': HASH_B }, { 'other-task': HASH_B, [TASK_ID]: HASH_A });
  await onEvent(event);
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('a changed mapping stops the running task and waits until it is stopped', async () => {
  describeReturns(task('running'), task('stopping'), task('stopped'));
  const event = changedMapping();

  await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: 'dms-task-stopper', Data: { StoppedTasks: TASK_ID } });
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
  const event = stopperRequest('Update', { [TASK_ID]: HASH_A }, { 'Old-Name': HASH_A });

  await expect(onEvent(event)).resolves.toMatchObject({ Data: { StoppedTasks: 'old-name' } });
  expect(apiCalls()).toEqual(['Describe(replication-task-id=old-name)', `Stop(${TASK_ARN})`]);
});

test('a task added to the stack is being created: nothing to stop', async () => {
  describeReturns(task('running'));
  const event = stopperRequest('Update', { 'other-task': HASH_A, [TASK_ID]: HASH_B }, { 'other-task': HASH_A });
  await expect(onEvent(event)).resolves.toMatchObject({ Data: { StoppedTasks: '' } });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual([]);
});

test('only the tasks whose hash changed or that left the map are stopped, and all of them are waited for', async () => {
  const byId = (id: string) => ({ Filters: [{ Name: 'replication-task-id', Values: [id] }] });
  dmsMock.on(DescribeReplicationTasksCommand, byId('changed')).resolves({ ReplicationTasks: [task('running', { ReplicationTaskIdentifier: 'changed' })] });
  dmsMock.on(DescribeReplicationTasksCommand, byId('removed')).resolves({ ReplicationTasks: [task('running', { ReplicationTaskIdentifier: 'removed' })] });
  const event = stopperRequest('Update',
    { changed: HASH_B, unchanged: HASH_A, added: HASH_A },
    { removed: HASH_A, unchanged: HASH_A, changed: HASH_A });

  await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: 'dms-task-stopper', Data: { StoppedTasks: 'changed,removed' } });
  expect(apiCalls()).toEqual(['Describe(replication-task-id=changed)', `Stop(${TASK_ARN})`, 'Describe(replication-task-id=removed)', `Stop(${TASK_ARN})`]);
  clearCalls();

  // one still stopping: not complete; both stopped: complete
  dmsMock.on(DescribeReplicationTasksCommand, byId('changed')).resolves({ ReplicationTasks: [task('stopped', { ReplicationTaskIdentifier: 'changed' })] });
  dmsMock.on(DescribeReplicationTasksCommand, byId('removed')).resolves({ ReplicationTasks: [task('stopping', { ReplicationTaskIdentifier: 'removed' })] });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
  dmsMock.on(DescribeReplicationTasksCommand, byId('removed')).resolves({ ReplicationTasks: [task('stopped', { ReplicationTaskIdentifier: 'removed' })] });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  expect(apiCalls()).toEqual(Array(2).fill(['Describe(replication-task-id=changed)', 'Describe(replication-task-id=removed)']).flat());
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

describe('rolling a failed update back (the stack is UPDATE_ROLLBACK_IN_PROGRESS)', () => {
  const entry = (hash: string, extra: Record<string, string> = {}) => ({ Hash: hash, OnUpdate: 'resume-processing', StartOnDeploy: 'true', ...extra });
  /** The rollback's update: the properties of before the failed update as new, the failed ones as old. */
  const rollback = (restored: Record<string, unknown>, failed: Record<string, unknown>) =>
    request(TASK_STOPPER_TYPE, 'Update', { Tasks: restored }, { Tasks: failed });
  const TAGS = `Tags(${TASK_ARN})`;

  beforeEach(() => {
    stackIs('UPDATE_ROLLBACK_IN_PROGRESS');
    dmsMock.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    dmsMock.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
  });

  test('CloudFormation restored the task before (its tag carries the restored hash): started again as its onUpdate says', async () => {
    taggedWith(HASH_A);
    describeReturns(task('stopped', {}, true));
    const event = rollback({ [TASK_ID]: entry(HASH_A) }, { [TASK_ID]: entry(HASH_B) });
    const result = await onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: 'dms-task-stopper', Data: { Rollback: 'true', StoppedTasks: '' } });
    expect(apiCalls()).toEqual([]);
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS, `Start(${TASK_ARN},resume-processing)`]);
  });

  test('CloudFormation restores the task after (its tag still carries the failed hash): stopped, so that it can be modified', async () => {
    taggedWith(HASH_B);
    describeReturns(task('running', {}, true), task('stopped', {}, true));
    const event = rollback({ [TASK_ID]: entry(HASH_A) }, { [TASK_ID]: entry(HASH_B) });
    const data = (await onEvent(event)).Data;
    await expect(isComplete({ ...event, Data: data })).resolves.toEqual({ IsComplete: false });
    await expect(isComplete({ ...event, Data: data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS, `Stop(${TASK_ARN})`, BY_ID, TAGS]);
    expect(dmsMock.commandCalls(StartReplicationTaskCommand)).toHaveLength(0);
  });

  test('a task whose own update failed carries the restored hash, but CloudFormation has yet to roll it back: stopped, not started', async () => {
    taggedWith(HASH_A);
    resourceIs('UPDATE_FAILED');
    describeReturns(task('stopped', {}, true));
    const event = rollback({ [TASK_ID]: entry(HASH_A, { LogicalId: 'MigrationTask' }) }, { [TASK_ID]: entry(HASH_B, { LogicalId: 'MigrationTask' }) });
    await expect(isComplete({ ...event, Data: (await onEvent(event)).Data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS]);
    expect(cloudFormationMock.commandCalls(DescribeStackResourceCommand)[0].args[0].input)
      .toEqual({ StackName: 'arn:aws:cloudformation:us-east-2:123456789012:stack/S/1', LogicalResourceId: 'MigrationTask' });

    // once CloudFormation restored it (UPDATE_COMPLETE in the rollback), it is started again
    resourceIs('UPDATE_COMPLETE');
    clearCalls();
    await expect(isComplete({ ...event, Data: (await onEvent(event)).Data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS, `Start(${TASK_ARN},resume-processing)`]);
  });

  test('a restored task that DMS is still modifying is waited for, then started', async () => {
    taggedWith(HASH_A);
    describeReturns(task('modifying', {}, true), task('stopped', {}, true));
    const event = rollback({ [TASK_ID]: entry(HASH_A) }, { [TASK_ID]: entry(HASH_B) });
    const data = (await onEvent(event)).Data;
    await expect(isComplete({ ...event, Data: data })).resolves.toEqual({ IsComplete: false });
    await expect(isComplete({ ...event, Data: data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS, BY_ID, TAGS, `Start(${TASK_ARN},resume-processing)`]);
  });

  test('reload-target when onUpdate is RELOAD; start-replication for a task that never ran', async () => {
    taggedWith(HASH_A);
    describeReturns(task('stopped', {}, true));
    const reload = rollback({ [TASK_ID]: entry(HASH_A, { OnUpdate: 'reload-target' }) }, { [TASK_ID]: entry(HASH_B) });
    await expect(isComplete({ ...reload, Data: (await onEvent(reload)).Data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS, `Start(${TASK_ARN},reload-target)`]);
    clearCalls();

    describeReturns(task('ready'));
    const fresh = rollback({ [TASK_ID]: entry(HASH_A) }, { [TASK_ID]: entry(HASH_B) });
    await isComplete({ ...fresh, Data: (await onEvent(fresh)).Data });
    expect(apiCalls()).toEqual([BY_ID, TAGS, `Start(${TASK_ARN},start-replication)`]);
  });

  test.each([
    ['onUpdate is LEAVE_STOPPED', entry(HASH_A, { OnUpdate: 'leave-stopped' }), task('stopped', {}, true)],
    ['startOnDeploy is false and the task never ran', entry(HASH_A, { StartOnDeploy: 'false' }), task('ready')],
    ['the task runs already', entry(HASH_A), task('running', {}, true)],
    ['a resource from before the stopper knew onUpdate (a bare hash) and a task that runs', HASH_A, task('running', {}, true)],
  ])('a restored task is not started when %s', async (_name, restored, current) => {
    taggedWith(HASH_A);
    describeReturns(current);
    const event = rollback({ [TASK_ID]: restored }, { [TASK_ID]: entry(HASH_B) });
    await expect(isComplete({ ...event, Data: (await onEvent(event)).Data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, TAGS]);
  });

  test('a task the failed update created (it leaves the map) is kept stopped: CloudFormation deletes it next', async () => {
    describeReturns(task('running', {}, true, NEW_TASK_ARN), task('stopped', {}, true, NEW_TASK_ARN));
    const event = rollback({}, { [TASK_ID]: entry(HASH_B) });
    const data = (await onEvent(event)).Data;
    await expect(isComplete({ ...event, Data: data })).resolves.toEqual({ IsComplete: false });
    await expect(isComplete({ ...event, Data: data })).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ID, `Stop(${NEW_TASK_ARN})`, BY_ID]);
  });

  test('a refused start never fails the rollback (UPDATE_ROLLBACK_FAILED would need support): it is logged', async () => {
    taggedWith(HASH_A);
    describeReturns(task('stopped', {}, true));
    dmsMock.on(StartReplicationTaskCommand).rejects(fault('AccessDeniedFault', 'not allowed'));
    const event = rollback({ [TASK_ID]: entry(HASH_A) }, { [TASK_ID]: entry(HASH_B) });
    await expect(isComplete({ ...event, Data: (await onEvent(event)).Data })).resolves.toEqual({ IsComplete: true });
    expect(console.log).toHaveBeenCalledWith(expect.stringContaining('Rollback: not allowed; leaving the tasks as they are'));
  });

  test('outside a rollback the same request is a forward update: the changed task is stopped, tags unread', async () => {
    stackIs('UPDATE_IN_PROGRESS');
    describeReturns(task('running', {}, true));
    const event = rollback({ [TASK_ID]: entry(HASH_A) }, { [TASK_ID]: entry(HASH_B) });
    await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: 'dms-task-stopper', Data: { StoppedTasks: TASK_ID } });
    expect(apiCalls()).toEqual([BY_ID, `Stop(${TASK_ARN})`]);
  });
});
