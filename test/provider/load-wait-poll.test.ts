import { DescribeReplicationsCommand, DescribeReplicationTasksCommand, DescribeTableStatisticsCommand, StartReplicationTaskCommand } from '@aws-sdk/client-database-migration-service';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { SERVERLESS_LIFECYCLE_TYPE, TASK_LIFECYCLE_TYPE } from '../../lib/lifecycle/kinds';
import { isComplete, onEvent } from '../../lib/lifecycle/task-lifecycle.handler';
import type { LoadWaitPoll } from '../../lib/provider/handler-types';
import { LoadWaitAnswer, SIGNAL_POLLS_AT_MOST, handOverLoadWait, pollLoad, startsLoadWait } from '../../lib/provider/load-wait-poll';
import { dispatcher, isComplete as waiterPoll } from '../../lib/resource-handlers';
import { WaitConditionServer } from '../helpers/wait-condition-server';
import {
  AFTER, NOW, TASK_ARN, TASK_ID, describeReturns, dmsMock, fault, request, setUp, sleeps, tearDown, task, throttling,
} from '../lifecycle/task-handler-support';

/*
 * Waits longer than a custom resource may take: the lifecycle hands the wait to the stack's load
 * waiter (a Step Functions execution), which polls the task and signals the wait condition handle —
 * a real HTTPS server standing in for CloudFormation's presigned S3 URL.
 */

const sfn = mockClient(SFNClient);
const server = new WaitConditionServer();
const STATE_MACHINE = 'arn:aws:states:us-east-2:123456789012:stateMachine:NeonDmsLoadWaiter';

beforeAll(() => server.start());
afterAll(() => server.stop());

beforeEach(() => {
  setUp();
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });
  server.clear();
});
afterEach(tearDown);

function lifecycleProps(handle: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    TaskArn: TASK_ARN,
    TaskIdentifier: TASK_ID,
    PropertiesHash: 'h1',
    MigrationType: 'full-load',
    StartOnDeploy: 'true',
    WaitForCompletion: 'true',
    MaxWaitSeconds: String(3 * 3600),
    OnUpdate: 'resume-processing',
    ...(handle ? { LoadWaitHandle: handle, LoadWaitStateMachineArn: STATE_MACHINE } : {}),
    ...extra,
  };
}

/** The poll the waiter runs for a create that started the task at NOW. */
function poll(handleId: string, deadline = NOW + 3 * 3600_000): LoadWaitPoll {
  return {
    Request: request(TASK_LIFECYCLE_TYPE, 'Create', lifecycleProps(server.url(handleId)),
      undefined, { Goal: 'running', RequestedAt: String(NOW), WaitDeadline: String(deadline), StartIssued: 'true', StartType: 'start-replication' }),
    Handle: server.url(handleId),
    UniqueId: 'Lifecycle',
  };
}

describe('who hands the wait over', () => {
  test('a create with a handle does; an update only when the handle is new; a delete never', () => {
    const handle = server.url('H1');
    expect(startsLoadWait(request(TASK_LIFECYCLE_TYPE, 'Create', lifecycleProps(handle)))).toBe(true);
    expect(startsLoadWait(request(TASK_LIFECYCLE_TYPE, 'Create', lifecycleProps(undefined)))).toBe(false);
    expect(startsLoadWait(request(TASK_LIFECYCLE_TYPE, 'Update', lifecycleProps(handle), lifecycleProps(handle)))).toBe(false);
    expect(startsLoadWait(request(TASK_LIFECYCLE_TYPE, 'Update', lifecycleProps(server.url('H2')), lifecycleProps(handle)))).toBe(true);
    expect(startsLoadWait(request(TASK_LIFECYCLE_TYPE, 'Delete', lifecycleProps(handle)))).toBe(false);
  });
});

describe('the lifecycle with a wait condition', () => {
  test('completes once the task runs, and starts the load waiter with its request and deadline', async () => {
    const handle = server.url('H1');
    const create = request(TASK_LIFECYCLE_TYPE, 'Create', lifecycleProps(handle));
    describeReturns(task('ready'), task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 10, TablesLoading: 3 } }));
    dmsMock.on(StartReplicationTaskCommand).resolves({});
    const started = await onEvent(create);

    // the custom resource does not wait for the load: that takes longer than CloudFormation allows it
    const result = await isComplete({ ...create, Data: started.Data });
    expect(result.IsComplete).toBe(true);
    const executions = sfn.commandCalls(StartExecutionCommand).map(c => c.args[0].input);
    expect(executions).toHaveLength(1);
    expect(executions[0].stateMachineArn).toBe(STATE_MACHINE);
    expect(executions[0].name).toMatch(/^load-[0-9a-f]{40}$/);
    const input = JSON.parse(executions[0].input!).LoadWaitPoll as LoadWaitPoll;
    expect(input.Handle).toBe(handle);
    expect(input.Request.Data).toMatchObject({ Goal: 'running', RequestedAt: String(NOW), WaitDeadline: String(NOW + 3 * 3600_000), StartIssued: 'true' });
    expect(input.Request.OldResourceProperties).toBeUndefined();
  });

  test('a start that finds the execution already running (a retried poll) is fine', async () => {
    sfn.on(StartExecutionCommand).rejects(fault('ExecutionAlreadyExists', 'exists'));
    const create = request(TASK_LIFECYCLE_TYPE, 'Create', lifecycleProps(server.url('H1')));
    await expect(handOverLoadWait(create, { Goal: 'running' })).resolves.toBeUndefined();
  });

  test('an update that started nothing signals success at once: there is no load to wait for', async () => {
    const update = request(TASK_LIFECYCLE_TYPE, 'Update', lifecycleProps(server.url('H2')), lifecycleProps(server.url('H1')));
    await handOverLoadWait(update, { Goal: 'none' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(server.signals.get('H2')).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: 'Lifecycle', Reason: 'this deployment started no load: nothing to wait for' })]);
  });
});

describe('the load waiter\'s poll', () => {
  test('while the full load runs: not done, nothing signalled', async () => {
    describeReturns(task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 40, TablesLoading: 2 } }));
    expect(await dispatcher.loadPoll(poll('P1'))).toEqual({ Done: false });
    expect(server.signals.size).toBe(0);
  });

  test('a finished full load: its tables checked, SUCCESS signalled with a PUT and no Content-Type', async () => {
    describeReturns(task('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationTaskStats: { StartDate: AFTER, StopDate: AFTER, FullLoadProgressPercent: 100 } }));
    dmsMock.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [{ SchemaName: 'app', TableName: 't', TableState: 'Table completed', ValidationState: 'Validated' }] });
    expect(await dispatcher.loadPoll(poll('P2'))).toEqual({ Done: true });
    expect(server.signals.get('P2')).toEqual([expect.objectContaining({
      Status: 'SUCCESS', UniqueId: 'Lifecycle', Reason: 'full load completed (stopped, Stop Reason FULL_LOAD_ONLY_FINISHED)', method: 'PUT', contentType: '',
    })]);
  });

  test('a failed task or table: FAILURE signalled with DMS\'s message, so the deployment fails with it', async () => {
    describeReturns(task('failed', { LastFailureMessage: 'Last Error Replication task out of memory. Stop Reason FATAL_ERROR', ReplicationTaskStats: { StartDate: AFTER, StopDate: AFTER } }));
    expect(await dispatcher.loadPoll(poll('P3'))).toEqual({ Done: true });
    expect(server.signals.get('P3')).toEqual([expect.objectContaining({
      Status: 'FAILURE', Reason: expect.stringContaining('Replication task neon-migration failed: Last Error Replication task out of memory'),
    })]);

    describeReturns(task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 60, TablesErrored: 1 } }));
    dmsMock.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [{ SchemaName: 'app', TableName: 'orders', TableState: 'Table error' }] });
    expect(await dispatcher.loadPoll(poll('P4'))).toEqual({ Done: true });
    expect(server.signals.get('P4')).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringContaining('app.orders (load: Table error)') })]);
  });

  test('maxWait passed while the load continues: SUCCESS, saying so (the deployment completes, the load goes on)', async () => {
    describeReturns(task('running', { ReplicationTaskStats: { StartDate: AFTER, FullLoadProgressPercent: 70, TablesLoading: 1 } }));
    expect(await dispatcher.loadPoll(poll('P5', NOW - 1))).toEqual({ Done: true });
    expect(server.signals.get('P5')).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringMatching(/^maxWait passed while the full load continues/) })]);
  });

  test('a deleted task (ResourceNotFoundFault): the waiter stops at once and signals FAILURE saying so, instead of polling until the 12 hours pass', async () => {
    dmsMock.on(DescribeReplicationTasksCommand).rejects(fault('ResourceNotFoundFault', 'Replication Task not found'));
    expect(await dispatcher.loadPoll(poll('P8'))).toEqual({ Done: true });
    expect(server.signals.get('P8')).toEqual([expect.objectContaining({
      Status: 'FAILURE',
      Reason: expect.stringMatching(/^Replication task neon-migration no longer exists \(DMS answers ResourceNotFoundFault for .*\): it was deleted while the deployment waited for its full load/),
    })]);
  });

  test('a deleted DMS Serverless replication: FAILURE the same way', async () => {
    dmsMock.on(DescribeReplicationsCommand).resolves({ Replications: [] });
    const configArn = 'arn:aws:dms:us-east-2:123456789012:replication-config:CONFIG1';
    const serverless: LoadWaitPoll = {
      Request: request(SERVERLESS_LIFECYCLE_TYPE, 'Create', {
        ReplicationConfigArn: configArn,
        ReplicationConfigIdentifier: 'neon',
        ReplicationType: 'full-load',
        WaitForCompletion: 'true',
        MaxWaitSeconds: String(3 * 3600),
        LoadWaitHandle: server.url('P9'),
        LoadWaitStateMachineArn: STATE_MACHINE,
      }, undefined, { Goal: 'running', RequestedAt: String(NOW), WaitDeadline: String(NOW + 3 * 3600_000), StartIssued: 'true' }),
      Handle: server.url('P9'),
      UniqueId: 'Lifecycle',
    };
    expect(await dispatcher.loadPoll(serverless)).toEqual({ Done: true });
    expect(server.signals.get('P9')).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringMatching(/^Serverless replication neon no longer exists/) })]);
  });

  test('the state a poll returns reaches the next one (the state machine writes it to $.Answer)', async () => {
    const seen: Record<string, any>[] = [];
    const kind = {
      onEvent: async () => ({}),
      loadProgress: async (e: any) => {
        seen.push(e.Data);
        return seen.length < 3 ? { IsComplete: false, Data: { Step: String(seen.length) } } : { IsComplete: true, Data: { Reason: 'done by the kind' } };
      },
    };
    const p = poll('P10');
    let answer = await pollLoad(p, kind);
    expect(answer).toEqual({ Done: false, State: { Step: '1' } });
    answer = await pollLoad(p, kind, answer.State);
    expect(answer).toEqual({ Done: false, State: { Step: '2' } });
    answer = await pollLoad(p, kind, answer.State);
    expect(answer).toEqual({ Done: true });
    expect(seen.map(d => d.Step)).toEqual([undefined, '1', '2']);
    expect(seen[2]).toEqual(expect.objectContaining({ Goal: 'running', StartIssued: 'true' }));
    expect(server.signals.get('P10')).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: 'done by the kind' })]);
  });

  test('a throttled poll polls again', async () => {
    dmsMock.onAnyCommand().rejects(throttling());
    expect(await dispatcher.loadPoll(poll('P6'))).toEqual({ Done: false });
    expect(server.requests.size).toBe(0);
  });
});

describe('a signal S3 does not take at once', () => {
  function loadFinished(): void {
    describeReturns(task('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationTaskStats: { StartDate: AFTER, StopDate: AFTER, FullLoadProgressPercent: 100 } }));
    dmsMock.on(DescribeTableStatisticsCommand).resolves({ TableStatistics: [] });
  }

  test('S3\'s 503, 500 and a reset connection are tried again with backoff, each on a new connection; the signal arrives once', async () => {
    loadFinished();
    server.failNext('R1', 503, 'reset', 500);
    expect(await dispatcher.loadPoll(poll('R1'))).toEqual({ Done: true });
    expect(server.signals.get('R1')).toEqual([expect.objectContaining({ Status: 'SUCCESS', UniqueId: 'Lifecycle' })]);
    const requests = server.requests.get('R1')!;
    expect(requests.map(r => r.answer)).toEqual([503, 'reset', 500, 200]);
    expect(new Set(requests.map(r => r.clientPort)).size).toBe(4);
    expect(sleeps).toEqual([1000, 2000, 4000]);
  });

  test('a handle S3 refuses (403: the URL expired, the stack is gone) ends the wait at once, without retrying', async () => {
    loadFinished();
    server.failNext('R2', 403);
    expect(await dispatcher.loadPoll(poll('R2'))).toEqual({ Done: true });
    expect(server.requests.get('R2')!.map(r => r.answer)).toEqual([403]);
    expect(server.signals.get('R2')).toBeUndefined();
  });

  test('a signal still not taken after its retries is tried by the next poll, which does not ask DMS again', async () => {
    loadFinished();
    server.failNext('R3', 503, 503, 503, 503);
    const first = await dispatcher.loadPoll(poll('R3'));
    expect(first).toEqual({ Done: false, State: { PendingSignal: expect.any(String), SignalPolls: '1' } });
    expect(server.signals.get('R3')).toBeUndefined();
    const asked = dmsMock.calls().length;
    // the state machine's next poll: its input with the answer in $.Answer
    expect(await waiterPoll({ LoadWaitPoll: poll('R3'), Answer: first as LoadWaitAnswer })).toEqual({ Done: true });
    expect(dmsMock.calls().length).toBe(asked);
    expect(server.signals.get('R3')).toEqual([expect.objectContaining({
      Status: 'SUCCESS', UniqueId: 'Lifecycle', Reason: 'full load completed (stopped, Stop Reason FULL_LOAD_ONLY_FINISHED)',
    })]);
  });

  test(`a handle that never answers is given up after ${SIGNAL_POLLS_AT_MOST} polls`, async () => {
    loadFinished();
    let answer: LoadWaitAnswer | undefined;
    let polls = 0;
    do {
      answer = await waiterPoll({ LoadWaitPoll: { ...poll('R4'), Handle: 'https://127.0.0.1:1/closed' }, ...(answer ? { Answer: answer } : {}) }) as LoadWaitAnswer;
      polls++;
    } while (!answer.Done && polls < 100);
    expect(polls).toBe(SIGNAL_POLLS_AT_MOST);
  });
});
