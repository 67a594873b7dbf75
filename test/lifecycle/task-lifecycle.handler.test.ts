import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeConnectionsCommand,
  DescribeReplicationTasksCommand,
  DescribeTableStatisticsCommand,
  StartReplicationTaskCommand,
  StopReplicationTaskCommand,
  TableStatistics,
  TestConnectionCommand,
} from '@aws-sdk/client-database-migration-service';
import {
  AFTER, ALL_STATUSES, NEW_TASK_ARN, NOW, TASK_ARN, TASK_ID,
  apiCalls, clearCalls, cloudWatchMock, describeReturns, dmsMock, fault, request, setUp, sleeps, stackIs, taggedWith, task, tearDown, throttling,
} from './task-handler-support';
import { timing } from '../../lib/core/api-calls';
import { NEON_REFUSAL_CAUSES } from '../../lib/core/neon-refusals';
import { TASK_LIFECYCLE_TYPE, TASK_STOPPER_TYPE } from '../../lib/lifecycle/kinds';
import * as lifecycle from '../../lib/lifecycle/task-lifecycle.handler';
import * as stopper from '../../lib/lifecycle/task-stopper.handler';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../../lib/provider/handler-types';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const BY_ARN = `Describe(replication-task-arn=${TASK_ARN})`;
const BY_NEW_ARN = `Describe(replication-task-arn=${NEW_TASK_ARN})`;
const START = (type: string, arn = TASK_ARN) => `Start(${arn},${type})`;
const STOP = `Stop(${TASK_ARN})`;
const TABLES = `TableStatistics(${TASK_ARN})`;

const BASE = {
  TaskArn: TASK_ARN,
  TaskIdentifier: TASK_ID,
  PropertiesHash: HASH_A,
  MigrationType: 'full-load-and-cdc',
  StartOnDeploy: 'true',
  WaitForCompletion: 'false',
  MaxWaitSeconds: '6300',
  OnUpdate: 'resume-processing',
};

function lifecycleRequest(requestType: 'Create' | 'Update' | 'Delete', props: Partial<typeof BASE> = {}, old?: Partial<typeof BASE>): ProviderRequest {
  return request(TASK_LIFECYCLE_TYPE, requestType, { ...BASE, ...props }, old ? { ...BASE, ...old } : undefined);
}

/** The isComplete request the provider framework builds from onEvent's answer. */
function poll(event: ProviderRequest, result: OnEventResult): Promise<IsCompleteResult> {
  return lifecycle.isComplete({ ...event, PhysicalResourceId: result.PhysicalResourceId, Data: result.Data });
}

function tables(...stats: TableStatistics[]): void {
  dmsMock.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: stats });
}

const LOADED = (name: string): TableStatistics => ({ SchemaName: 'public', TableName: name, TableState: 'Table completed', ValidationState: 'Not enabled', FullLoadRows: 10 });

beforeEach(() => {
  setUp();
  dmsMock.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
  dmsMock.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
});
afterEach(tearDown);

describe('create', () => {
  test('starts a new task with start-replication and completes once it runs', async () => {
    describeReturns(task('ready'), task('starting'), task('running'));
    const event = lifecycleRequest('Create');

    const result = await lifecycle.onEvent(event);
    expect(result).toEqual({
      PhysicalResourceId: TASK_ARN,
      Data: {
        TaskArn: TASK_ARN,
        Goal: 'running',
        StartType: 'start-replication',
        StartIssued: 'true',
        RequestedAt: String(NOW),
        WaitDeadline: String(NOW + 6300 * 1000),
        InitialStatus: 'ready',
        InitialFailure: '',
      },
    });
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication')]);
    clearCalls();

    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('startOnDeploy false leaves a new task ready', async () => {
    describeReturns(task('ready'));
    const event = lifecycleRequest('Create', { StartOnDeploy: 'false' });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ Goal: 'none', Status: 'ready' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN]);
  });

  test('a task that ran before the lifecycle existed is resumed, not restarted', async () => {
    describeReturns(task('stopped', {}, true), task('running', {}, true));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, START('resume-processing'), BY_ARN]);
  });

  test('an already running task is not started again', async () => {
    describeReturns(task('running', {}, true));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ Goal: 'running', StartIssued: 'false' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('a task that is still being created is started by isComplete once it is ready', async () => {
    describeReturns(task('creating'), task('creating'), task('ready'), task('starting'), task('running'));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ StartIssued: 'false', InitialStatus: 'creating' });
    expect(apiCalls()).toEqual([BY_ARN]);
    clearCalls();

    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false }); // creating
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false }); // ready → start
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false }); // starting
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN, START('start-replication'), BY_ARN, BY_ARN]);
  });

  test('a task that fails while starting fails the deployment with DMS\'s message', async () => {
    const message = 'Error in mapping rules. Rule with ruleId = 1 failed validation. Table public.orders does not exist';
    describeReturns(task('ready'), task('starting'), task('failed', { LastFailureMessage: message, StopReason: 'Stop Reason FATAL_ERROR' }));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).rejects.toThrow(
      `Replication task ${TASK_ID} failed: ${message} | Stop Reason FATAL_ERROR`);
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, BY_ARN]);
  });

  test('a deferred start that fails is reported, not retried', async () => {
    describeReturns(task('modifying'), task('failed', { LastFailureMessage: 'Endpoint connection failed' }));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow(/failed: Endpoint connection failed/);
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('a start DMS refuses because the task is already starting is polled, not failed', async () => {
    describeReturns(task('ready'), task('starting'));
    dmsMock.on(StartReplicationTaskCommand).rejects(fault('InvalidResourceStateFault', 'Task is currently starting'));
    const result = await lifecycle.onEvent(lifecycleRequest('Create'));
    expect(result.Data).toMatchObject({ StartIssued: 'false' });
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN]);
  });

  test('a start DMS refuses for another reason fails with its message', async () => {
    describeReturns(task('ready'));
    dmsMock.on(StartReplicationTaskCommand).rejects(fault('InvalidResourceStateFault', 'Replication instance is not available'));
    await expect(lifecycle.onEvent(lifecycleRequest('Create')))
      .rejects.toThrow(`Replication task ${TASK_ID} could not be started (start-replication): Replication instance is not available`);
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN]);
  });

  test('a task that is not visible yet is polled until it is', async () => {
    describeReturns(undefined, undefined, task('ready'), task('running'));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ StartIssued: 'false', InitialStatus: 'not found', StartType: 'start-replication' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN, BY_ARN, START('start-replication'), BY_ARN]);
  });
});

// Create of the lifecycle resource, per status of a task that never ran: does onEvent start it, fail, or leave it to isComplete?
const CREATE_TABLE: Record<(typeof ALL_STATUSES)[number], 'start' | 'wait' | 'done' | 'fail'> = {
  'creating': 'wait',
  'ready': 'start',
  'starting': 'wait',
  'running': 'done',
  'stopping': 'wait',
  'stopped': 'start',
  'failed': 'start',
  'failed-move': 'fail',
  'modifying': 'wait',
  'deleting': 'fail',
  'moving': 'wait',
  'testing': 'wait',
};

test.each(ALL_STATUSES.map(s => [s, CREATE_TABLE[s]] as const))('create with a %s task: %s', async (status, expected) => {
  // after a start, DMS reports the task starting
  describeReturns(task(status), task(expected === 'start' ? 'starting' : status));
  const event = lifecycleRequest('Create');
  if (expected === 'fail') {
    await expect(lifecycle.onEvent(event)).rejects.toThrow(`Replication task ${TASK_ID} cannot be started: it is ${status}`);
    expect(apiCalls()).toEqual([BY_ARN]);
    return;
  }
  const result = await lifecycle.onEvent(event);
  expect(apiCalls()).toEqual(expected === 'start' ? [BY_ARN, START('start-replication')] : [BY_ARN]);
  clearCalls();
  const polled = await poll(event, result);
  expect(polled.IsComplete).toBe(expected === 'done');
  expect(apiCalls()).toEqual([BY_ARN]);
});

describe('update', () => {
  test('stop, modify, resume: the stopper stops the running task, the lifecycle resumes it after the change', async () => {
    // 1. the stack's stopper (updated first: every task depends on it)
    const stopperEvent = request(TASK_STOPPER_TYPE, 'Update', { Tasks: { [TASK_ID]: HASH_B } }, { Tasks: { [TASK_ID]: HASH_A } });
    describeReturns(task('running', {}, true), task('stopping', {}, true), task('stopped', { StopReason: 'Stop Reason NORMAL' }, true));
    await stopper.onEvent(stopperEvent);
    await expect(stopper.isComplete(stopperEvent)).resolves.toEqual({ IsComplete: false });
    await expect(stopper.isComplete(stopperEvent)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([
      `Describe(replication-task-id=${TASK_ID})`, STOP,
      `Describe(replication-task-id=${TASK_ID})`, `Describe(replication-task-id=${TASK_ID})`,
    ]);
    clearCalls();

    // 2. CloudFormation modifies the stopped task; 3. the lifecycle (after the task) resumes it
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B }, { PropertiesHash: HASH_A });
    dmsMock.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    describeReturns(
      task('stopped', { StopReason: 'Stop Reason NORMAL' }, true),
      task('starting', {}, true),
      task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 100 } }, true),
    );
    const result = await lifecycle.onEvent(event);
    expect(result).toMatchObject({ PhysicalResourceId: TASK_ARN, Data: { Goal: 'running', StartType: 'resume-processing', StartIssued: 'true' } });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
    expect(apiCalls()).toEqual([BY_ARN, START('resume-processing'), BY_ARN, BY_ARN]);
  });

  test('onUpdate RELOAD reloads the target', async () => {
    describeReturns(task('stopped', {}, true), task('running', {}, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B, OnUpdate: 'reload-target' }, { PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, START('reload-target'), BY_ARN]);
  });

  test('onUpdate LEAVE_STOPPED leaves the changed task stopped', async () => {
    describeReturns(task('stopped', { StopReason: 'Stop Reason NORMAL' }, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B, OnUpdate: 'leave-stopped' }, { PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ Goal: 'none', Status: 'stopped', StopReason: 'Stop Reason NORMAL' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN]);
  });

  test('a task the user stopped stays stopped when the task did not change', async () => {
    describeReturns(task('stopped', {}, true));
    const event = lifecycleRequest('Update', { WaitForCompletion: 'true' }, { WaitForCompletion: 'false' });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ Goal: 'none', Status: 'stopped' });
    expect(apiCalls()).toEqual([BY_ARN]);
  });

  test('a changed task that is (still) running is not restarted', async () => {
    describeReturns(task('running', {}, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B, OnUpdate: 'reload-target' }, { PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true, Data: { Status: 'running' } });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('a renamed task is resumed', async () => {
    describeReturns(task('stopped', {}, true));
    await lifecycle.onEvent(lifecycleRequest('Update', { TaskIdentifier: TASK_ID }, { TaskIdentifier: 'old-name' }));
    expect(apiCalls()).toEqual([BY_ARN, START('resume-processing')]);
  });

  test('a failed task is resumed after the change that fixes it', async () => {
    describeReturns(task('failed', { LastFailureMessage: 'old failure' }, true), task('running', {}, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B }, { PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ InitialFailure: 'old failure' });
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, START('resume-processing'), BY_ARN]);
  });

  test('a replaced task (new ARN) never ran: start-replication, whatever onUpdate says', async () => {
    describeReturns(task('ready', {}, false, NEW_TASK_ARN));
    const event = lifecycleRequest('Update', { TaskArn: NEW_TASK_ARN, OnUpdate: 'reload-target' }, { TaskArn: TASK_ARN });
    const result = await lifecycle.onEvent(event);
    expect(result.PhysicalResourceId).toBe(NEW_TASK_ARN);
    expect(apiCalls()).toEqual([BY_NEW_ARN, START('start-replication', NEW_TASK_ARN)]);
  });

  test('a task still being modified is resumed by isComplete once the modification is done', async () => {
    describeReturns(task('modifying', {}, true), task('modifying', {}, true), task('stopped', {}, true), task('running', {}, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B }, { PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ StartIssued: 'false', StartType: 'resume-processing' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN, BY_ARN, START('resume-processing'), BY_ARN]);
  });

  test('a task stopped by someone during the deployment fails it', async () => {
    describeReturns(task('stopped', {}, true), task('stopped', { StopReason: 'Stop Reason NORMAL', ReplicationTaskStats: { StartDate: AFTER, StopDate: AFTER } }, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_B }, { PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow(`Replication task ${TASK_ID} stopped during the deployment: Stop Reason NORMAL`);
  });
});

describe('waitForCompletion', () => {
  test('a full load that completes (FULL_LOAD_ONLY_FINISHED) completes the deployment after checking the tables', async () => {
    describeReturns(
      task('ready', { MigrationType: 'full-load' }),
      task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 40, TablesLoaded: 2, TablesLoading: 3, TablesQueued: 0, TablesErrored: 0 } }),
      task('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationTaskStats: { StartDate: AFTER, StopDate: AFTER, FullLoadProgressPercent: 100, TablesLoaded: 5 } }),
    );
    tables(LOADED('orders'), LOADED('customers'));
    const event = lifecycleRequest('Create', { MigrationType: 'full-load', WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    expect(console.log).toHaveBeenCalledWith('Replication task', expect.stringContaining('"FullLoadProgressPercent":40,"TablesLoaded":2,"TablesLoading":3'));
    await expect(poll(event, result)).resolves.toEqual({
      IsComplete: true, Data: { Status: 'stopped', StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED' },
    });
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, BY_ARN, TABLES]);
  });

  test('a table error during the load fails the deployment naming the table', async () => {
    describeReturns(
      task('ready'),
      task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 60, TablesLoaded: 1, TablesErrored: 1 } }),
    );
    tables(LOADED('customers'), { SchemaName: 'public', TableName: 'orders', TableState: 'Table error' });
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow(`Replication task ${TASK_ID}: 1 table(s) failed: public.orders (load: Table error)`);
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, TABLES]);
  });

  test('validation mismatches at the end of the full load fail the deployment naming the tables', async () => {
    describeReturns(
      task('ready'),
      task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 100, TablesLoaded: 2, TablesLoading: 0, TablesQueued: 0 } }),
    );
    tables(
      { ...LOADED('customers'), ValidationState: 'Validated' },
      { ...LOADED('orders'), ValidationState: 'Mismatched records', ValidationFailedRecords: 3 },
    );
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow('1 table(s) failed: public.orders (validation: Mismatched records, 3 failed records)');
  });

  test('a full-load-and-cdc task completes the deployment at 100 % while it keeps replicating', async () => {
    describeReturns(
      task('ready'),
      task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 100, TablesLoaded: 2, TablesLoading: 0, TablesQueued: 0 } }),
    );
    tables(LOADED('customers'), LOADED('orders'));
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, TABLES]);
  });

  test('while it waits it publishes the task progress as CdkNeonMigration metrics', async () => {
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 40, TablesLoaded: 1, TablesLoading: 3, TablesQueued: 2, TablesErrored: 0 } }));
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    const puts = cloudWatchMock.commandCalls(PutMetricDataCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0].args[0].input.Namespace).toBe('CdkNeonMigration');
    const byName = Object.fromEntries((puts[0].args[0].input.MetricData ?? []).map((d) => [d.MetricName, d.Value]));
    expect(byName).toEqual({ TablesLoaded: 1, TablesLoading: 3, TablesQueued: 2, TablesErrored: 0, FullLoadProgressPercent: 40 });
    expect(puts[0].args[0].input.MetricData?.[0].Dimensions).toEqual([{ Name: 'TaskIdentifier', Value: TASK_ID }]);
  });

  test('a failed progress publish does not fail the deployment', async () => {
    cloudWatchMock.on(PutMetricDataCommand).rejects(fault('AccessDenied', 'not allowed'));
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 40, TablesLoading: 3 } }));
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    expect(console.log).toHaveBeenCalledWith('Progress metrics not published: not allowed');
  });

  test('a cdc-only task completes as soon as it runs', async () => {
    describeReturns(task('ready', { MigrationType: 'cdc' }), task('running', { MigrationType: 'cdc' }));
    tables();
    const event = lifecycleRequest('Create', { MigrationType: 'cdc', WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toMatchObject({ IsComplete: true, Data: { Status: 'running' } });
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, TABLES]);
  });

  test('at maxWait the deployment completes with Status running and the load continues', async () => {
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 40, TablesLoading: 3 } }));
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true', MaxWaitSeconds: '600' });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ WaitDeadline: String(NOW + 600_000) });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });

    timing.now = () => NOW + 600_000;
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '', WaitTimedOut: 'true' } });
    expect(console.log).toHaveBeenCalledWith(expect.stringContaining('Stopped waiting for neon-migration after maxWait: the full load continues (40% done)'));
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, BY_ARN]);
  });

  test('without waitForCompletion a full load that already finished completes without reading table statistics', async () => {
    describeReturns(task('ready', { MigrationType: 'full-load' }), task('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationTaskStats: { StopDate: AFTER } }));
    const event = lifecycleRequest('Create', { MigrationType: 'full-load' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'stopped', StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED' } });
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN]);
  });

  test('table statistics are read across pages', async () => {
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 100, TablesLoading: 0, TablesQueued: 0 } }));
    dmsMock.on(DescribeTableStatisticsCommand)
      .resolvesOnce({ TableStatistics: [LOADED('a')], Marker: 'page2' })
      .resolves({ TableStatistics: [{ SchemaName: 'sales', TableName: 'b', TableState: 'Table error' }] });
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow('sales.b (load: Table error)');
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN, TABLES, `TableStatistics(${TASK_ARN},page2)`]);
  });
});

describe('delete', () => {
  test('stops a running task and waits until it stopped, so CloudFormation can delete it', async () => {
    describeReturns(task('running', {}, true), task('stopping', {}, true), task('stopped', {}, true));
    const event = lifecycleRequest('Delete');
    const result = await lifecycle.onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: 'physical', Data: { TaskArn: TASK_ARN, Goal: 'stopped' } });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, STOP, BY_ARN, BY_ARN]);
  });

  test('a task that no longer exists is deleted successfully', async () => {
    describeReturns(undefined);
    const event = lifecycleRequest('Delete');
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('DescribeReplicationTasks answering ResourceNotFoundFault counts as not found', async () => {
    dmsMock.on(DescribeReplicationTasksCommand).rejects(fault('ResourceNotFoundFault', 'No Tasks found matching provided filters'));
    const event = lifecycleRequest('Delete');
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  const DELETE_TABLE: Record<(typeof ALL_STATUSES)[number], { stops: boolean; complete: boolean }> = {
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

  test.each(ALL_STATUSES.map(s => [s, DELETE_TABLE[s]] as const))('delete with a %s task: %j', async (status, expected) => {
    describeReturns(task(status, {}, true));
    const event = lifecycleRequest('Delete');
    const result = await lifecycle.onEvent(event);
    expect(apiCalls()).toEqual(expected.stops ? [BY_ARN, STOP] : [BY_ARN]);
    clearCalls();
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: expected.complete });
    expect(apiCalls()).toEqual(expected.stops ? [BY_ARN, STOP] : [BY_ARN]);
  });
});

describe('throttling', () => {
  test('onEvent retries throttled calls with backoff', async () => {
    dmsMock.on(DescribeReplicationTasksCommand)
      .rejectsOnce(throttling())
      .resolves({ ReplicationTasks: [task('ready')] });
    dmsMock.on(StartReplicationTaskCommand)
      .rejectsOnce(throttling())
      .resolves({ ReplicationTask: task('starting') });
    const result = await lifecycle.onEvent(lifecycleRequest('Create'));
    expect(result.Data).toMatchObject({ StartIssued: 'true' });
    expect(sleeps).toEqual([1000, 1000]);
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN, START('start-replication'), START('start-replication')]);
  });

  test('isComplete treats throttling as not complete yet', async () => {
    describeReturns(task('ready'));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    clearCalls();
    dmsMock.on(DescribeReplicationTasksCommand).rejects(throttling());
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    const deleteEvent = lifecycleRequest('Delete');
    await expect(poll(deleteEvent, { PhysicalResourceId: TASK_ARN, Data: { TaskArn: TASK_ARN, Goal: 'stopped' } })).resolves.toEqual({ IsComplete: false });
    expect(apiCalls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('throttled table statistics are polled again too', async () => {
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 100, TablesLoading: 0, TablesQueued: 0 } }));
    dmsMock.on(DescribeTableStatisticsCommand).rejects(throttling());
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
  });
});

describe('message sizes (CloudFormation custom-resource responses are limited to 4 KB)', () => {
  test('a failure names at most 20 tables and logs the rest', async () => {
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, TablesErrored: 25 } }));
    tables(...Array.from({ length: 25 }, (_, i) => ({ SchemaName: 'public', TableName: `t${i}`, TableState: 'Table error' })));
    const event = lifecycleRequest('Create', { WaitForCompletion: 'true' });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow(/25 table\(s\) failed: public.t0 \(load: Table error\), .*public.t19 \(load: Table error\) and 5 more \(see the handler log\)$/);
    expect(console.log).toHaveBeenCalledWith('Failed tables', expect.stringContaining('public.t24'));
  });

  test('a long DMS failure message is shortened, and only its start is kept in Data', async () => {
    const long = 'x'.repeat(5000);
    describeReturns(task('failed', { LastFailureMessage: long }), task('failed', { LastFailureMessage: long }));
    const event = lifecycleRequest('Create');
    const result = await lifecycle.onEvent(event);
    expect(result.Data!.InitialFailure).toHaveLength(200);
    const error = await poll(event, result).catch((e: Error) => e);
    expect((error as Error).message.length).toBeLessThan(2100);
    expect(apiCalls()).toEqual([BY_ARN, START('start-replication'), BY_ARN]);
  });
});

describe('connection test before the start', () => {
  const SOURCE = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCE';
  const TARGET = 'arn:aws:dms:us-east-2:123456789012:endpoint:NEON';
  const INSTANCE = 'arn:aws:dms:us-east-2:123456789012:rep:INSTANCE';
  const TESTED = { TestEndpointArns: [SOURCE, TARGET], TestReplicationInstanceArn: INSTANCE } as unknown as Partial<typeof BASE>;
  const connections = (source: string, target: string, failure?: string) => ({
    Connections: [
      { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: source },
      { EndpointArn: TARGET, ReplicationInstanceArn: INSTANCE, Status: target, LastFailureMessage: failure },
    ],
  });

  beforeEach(() => {
    dmsMock.on(TestConnectionCommand).resolves({});
  });

  test('create: tests both endpoints first, and starts the task only when both connections succeeded', async () => {
    dmsMock.on(DescribeConnectionsCommand)
      .resolvesOnce({ Connections: [] }) // onEvent: no test running yet
      .resolvesOnce(connections('successful', 'testing'))
      .resolves(connections('successful', 'successful'));
    describeReturns(task('ready'), task('ready'), task('starting'), task('running', { ReplicationTaskStats: { StartDate: AFTER } }, true));
    const event = lifecycleRequest('Create', TESTED);

    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ Goal: 'running', StartType: 'start-replication', StartIssued: 'false' });
    expect(apiCalls()).toEqual(['DescribeConnectionsCommand', 'TestConnectionCommand', 'TestConnectionCommand', BY_ARN]);
    expect(dmsMock.commandCalls(TestConnectionCommand).map(c => c.args[0].input)).toEqual([
      { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE },
      { EndpointArn: TARGET, ReplicationInstanceArn: INSTANCE },
    ]);
    clearCalls();

    // the target is still being tested: no start
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    expect(apiCalls()).toEqual(['DescribeConnectionsCommand']);
    clearCalls();
    // both succeeded: the task is started
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    expect(apiCalls()).toEqual(['DescribeConnectionsCommand', BY_ARN, START('start-replication')]);
    clearCalls();
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
    expect(apiCalls()).toEqual(['DescribeConnectionsCommand', BY_ARN, 'DescribeConnectionsCommand', BY_ARN]);
  });

  test('a failed connection fails the deployment with DMS\'s message and the hint, and the task is not started', async () => {
    dmsMock.on(DescribeConnectionsCommand)
      .resolvesOnce({ Connections: [] })
      .resolves(connections('successful', 'failed', 'FATAL: The endpoint ID is not specified'));
    describeReturns(task('ready'));
    const event = lifecycleRequest('Create', TESTED);
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).rejects.toThrow(
      `Connection test from ${INSTANCE} to ${TARGET} failed: FATAL: The endpoint ID is not specified. Hint: ${NEON_REFUSAL_CAUSES['endpoint-not-specified']}`);
    expect(dmsMock.commandCalls(StartReplicationTaskCommand)).toHaveLength(0);
  });

  test('a source that times out gets the source\'s hint: its database\'s security groups, not NAT or IP Allow', async () => {
    dmsMock.on(DescribeConnectionsCommand)
      .resolvesOnce({ Connections: [] })
      .resolves({
        Connections: [
          { EndpointArn: SOURCE, ReplicationInstanceArn: INSTANCE, Status: 'failed', LastFailureMessage: 'Message: timeout expired' },
          { EndpointArn: TARGET, ReplicationInstanceArn: INSTANCE, Status: 'successful' },
        ],
      });
    describeReturns(task('ready'));
    const event = lifecycleRequest('Create', { ...TESTED, TestSources: [{ EndpointArn: SOURCE, Port: '5432', SecurityGroupIds: ['sg-0db'] }] } as any);
    const result = await lifecycle.onEvent(event);
    const error = await poll(event, result).then(() => new Error('no failure'), (e: Error) => e);
    expect(error.message).toContain(`Connection test from ${INSTANCE} to ${SOURCE} failed: Message: timeout expired. Hint: The replication instance `
      + 'cannot reach the source database: the database\'s security groups (sg-0db) must admit the replication instance\'s security group on TCP 5432');
    expect(error.message).not.toContain('NatEgressForReplication');
  });

  test('an update that keeps the endpoints and the instance tests nothing and resumes the task at once', async () => {
    describeReturns(task('stopped', {}, true));
    const event = lifecycleRequest('Update', { ...TESTED, PropertiesHash: HASH_B }, { ...TESTED, PropertiesHash: HASH_A });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ StartType: 'resume-processing', StartIssued: 'true' });
    expect(apiCalls()).toEqual([BY_ARN, START('resume-processing')]);
  });

  test('an update that changes an endpoint tests the connections again before the start', async () => {
    dmsMock.on(DescribeConnectionsCommand).resolves(connections('successful', 'testing'));
    describeReturns(task('ready'));
    const event = lifecycleRequest('Update', { ...TESTED, TaskArn: NEW_TASK_ARN } as any,
      { ...TESTED, TestEndpointArns: [SOURCE, 'arn:aws:dms:us-east-2:123456789012:endpoint:OLDNEON'] } as any);
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toMatchObject({ StartIssued: 'false' });
    // the target is being tested already (e.g. by a retried invocation): only the source test is started
    expect(apiCalls()).toEqual(['DescribeConnectionsCommand', 'TestConnectionCommand', BY_NEW_ARN]);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    expect(dmsMock.commandCalls(StartReplicationTaskCommand)).toHaveLength(0);
  });

  test('connectionTestOf: none on delete, none without endpoints, the test properties otherwise', () => {
    expect(lifecycle.connectionTestOf(lifecycleRequest('Delete', TESTED))).toBeUndefined();
    expect(lifecycle.connectionTestOf(lifecycleRequest('Create'))).toBeUndefined();
    expect(lifecycle.connectionTestOf(lifecycleRequest('Create', TESTED))).toMatchObject({
      RequestType: 'Create',
      ResourceType: 'Custom::DmsConnectionTest',
      ResourceProperties: { EndpointArns: [SOURCE, TARGET], ReplicationInstanceArn: INSTANCE },
    });
  });
});

describe('rolling a failed update back (the stack is UPDATE_ROLLBACK_IN_PROGRESS)', () => {
  const TAGS = `Tags(${TASK_ARN})`;
  beforeEach(() => {
    stackIs('UPDATE_ROLLBACK_IN_PROGRESS');
    dmsMock.on(StopReplicationTaskCommand).resolves({ ReplicationTask: task('stopping') });
  });

  test('before CloudFormation restores the task: it is stopped (so DMS accepts the modification); nothing is started or tested', async () => {
    taggedWith(HASH_B);
    describeReturns(task('running', {}, true), task('stopping', {}, true), task('stopped', {}, true));
    // the rollback's update: the properties of before the failed update as new, the failed ones as old
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_A }, { PropertiesHash: HASH_B, TestEndpointArns: ['x'] } as any);
    const result = await lifecycle.onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: TASK_ARN, Data: { TaskArn: TASK_ARN, Goal: 'none', Rollback: 'true', Restore: 'true' } });
    expect(apiCalls()).toEqual([]);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, TAGS, `Stop(${TASK_ARN})`, BY_ARN, TAGS, BY_ARN, TAGS]);
    expect(dmsMock.commandCalls(StartReplicationTaskCommand)).toHaveLength(0);
    expect(dmsMock.commandCalls(TestConnectionCommand)).toHaveLength(0);
  });

  test('after CloudFormation restored the task: it is started again as onUpdate says', async () => {
    taggedWith(HASH_A);
    describeReturns(task('stopped', {}, true));
    const event = lifecycleRequest('Update', { PropertiesHash: HASH_A, OnUpdate: 'reload-target' }, { PropertiesHash: HASH_B });
    const result = await lifecycle.onEvent(event);
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_ARN, TAGS, `Start(${TASK_ARN},reload-target)`]);
  });

  test('after a replacement, the new task (the failed properties\' TaskArn) is stopped, and the old one started again', async () => {
    taggedWith(HASH_A);
    describeReturns(task('running', {}, true, NEW_TASK_ARN), task('stopped', {}, true, NEW_TASK_ARN), task('stopped', {}, true));
    const event = lifecycleRequest('Update', {}, { TaskArn: NEW_TASK_ARN });
    const result = await lifecycle.onEvent(event);
    expect(result.PhysicalResourceId).toBe(TASK_ARN);
    expect(result.Data).toMatchObject({ StopArn: NEW_TASK_ARN, Restore: 'true' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: false });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([BY_NEW_ARN, `Stop(${NEW_TASK_ARN})`, BY_NEW_ARN, BY_ARN, TAGS, `Start(${TASK_ARN},resume-processing)`]);
  });

  test('a rollback that restores no task property (e.g. only maxWait) leaves the task as it is', async () => {
    describeReturns(task('running', {}, true));
    const event = lifecycleRequest('Update', { MaxWaitSeconds: '600' }, { MaxWaitSeconds: '1200' });
    const result = await lifecycle.onEvent(event);
    expect(result.Data).toEqual({ TaskArn: TASK_ARN, Goal: 'none', Rollback: 'true', Restore: 'false' });
    await expect(poll(event, result)).resolves.toEqual({ IsComplete: true });
    expect(apiCalls()).toEqual([]);
  });

  test('an error never fails the rollback', async () => {
    taggedWith(HASH_A);
    describeReturns(task('stopped', {}, true));
    dmsMock.on(StartReplicationTaskCommand).rejects(fault('AccessDeniedFault', 'not allowed'));
    const event = lifecycleRequest('Update', {}, { PropertiesHash: HASH_B });
    await expect(poll(event, await lifecycle.onEvent(event))).resolves.toEqual({ IsComplete: true });
  });
});
