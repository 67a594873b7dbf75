import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import { DescribeReplicationsCommand, StartReplicationTaskCommand } from '@aws-sdk/client-database-migration-service';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { NOW, TASK_ARN, describeReturns, dmsMock, request, setUp, stackIs, task, tearDown } from './task-handler-support';
import { timing } from '../../lib/core/api-calls';
import type { LoadWaitPoll } from '../../lib/provider/handler-types';
import { pollLoad } from '../../lib/provider/load-wait-poll';
import { SCHEMA_COPY_TYPE } from '../../lib/schema/kinds';
import * as handler from '../../lib/schema/schema-copy.handler';
import { isComplete, loadProgress, onEvent } from '../../lib/schema/schema-copy.handler';
import { WaitConditionServer } from '../helpers/wait-condition-server';

const codeBuild = mockClient(CodeBuildClient);
const logs = mockClient(CloudWatchLogsClient);
const MAPPINGS = '{"rules":[{"rule-type":"selection","rule-id":"1","rule-name":"1","object-locator":{"schema-name":"app","table-name":"%"},"rule-action":"include"}]}';
const PROPS = { ProjectName: 'schema-project', Steps: 'pre', TableMappings: MAPPINGS };
const BUILD = 'schema-project:0b6f-1';

function build(status: string, extra: Record<string, unknown> = {}): any {
  return { builds: [{ id: BUILD, buildStatus: status, currentPhase: 'BUILD', logs: { groupName: '/schema', streamName: 'stream-1' }, ...extra }] };
}

beforeEach(() => {
  setUp();
  codeBuild.reset();
  logs.reset();
  codeBuild.on(StartBuildCommand).resolves({ build: { id: BUILD } });
});
afterEach(tearDown);

test('create starts a build with the steps and the table mapping, nothing secret, and waits for it', async () => {
  const event = request(SCHEMA_COPY_TYPE, 'Create', PROPS);
  const result = await onEvent(event);
  expect(result).toEqual({ PhysicalResourceId: 'schema-copy:schema-project:pre', Data: { BuildId: BUILD } });
  expect(codeBuild.commandCalls(StartBuildCommand)[0].args[0].input).toEqual({
    projectName: 'schema-project',
    environmentVariablesOverride: [
      { name: 'SCHEMA_STEPS', value: 'pre', type: 'PLAINTEXT' },
      { name: 'TABLE_MAPPINGS', value: MAPPINGS, type: 'PLAINTEXT' },
    ],
  });
  codeBuild.on(BatchGetBuildsCommand).resolvesOnce(build('IN_PROGRESS')).resolves(build('SUCCEEDED'));
  const polled = { ...event, PhysicalResourceId: result.PhysicalResourceId, Data: result.Data };
  await expect(isComplete(polled)).resolves.toEqual({ IsComplete: false });
  await expect(isComplete(polled)).resolves.toEqual({ IsComplete: true, Data: { BuildStatus: 'SUCCEEDED' } });
  expect(codeBuild.commandCalls(BatchGetBuildsCommand)[0].args[0].input).toEqual({ ids: [BUILD] });
});

test('a failed build fails the deployment with the tool\'s own message from the end of the build log', async () => {
  codeBuild.on(BatchGetBuildsCommand).resolves(build('FAILED'));
  logs.on(GetLogEventsCommand).resolves({
    events: [
      { message: '[Container] 2026/11/29 12:00:01 Running command for step in $SCHEMA_STEPS; do ...\n' },
      { message: 'schema-copy pre: the target lacks extensions the source uses: postgis_raster\n' },
      { message: '[Container] 2026/11/29 12:00:02 Command did not exit successfully\n' },
    ],
  });
  const event = request(SCHEMA_COPY_TYPE, 'Create', PROPS, undefined, { BuildId: BUILD });
  await expect(isComplete(event)).rejects.toThrow(new Error(
    `Schema steps 'pre' failed (build ${BUILD}, FAILED): schema-copy pre: the target lacks extensions the source uses: postgis_raster`));
  expect(logs.commandCalls(GetLogEventsCommand)[0].args[0].input).toEqual({ logGroupName: '/schema', logStreamName: 'stream-1', startFromHead: false, limit: 50 });
});

test('without a readable log, CodeBuild\'s phase messages', async () => {
  codeBuild.on(BatchGetBuildsCommand).resolves(build('TIMED_OUT', { logs: undefined, phases: [{ phaseType: 'BUILD', contexts: [{ statusCode: 'BUILD_TIMED_OUT', message: 'Build has timed out.' }] }] }));
  const event = request(SCHEMA_COPY_TYPE, 'Create', PROPS, undefined, { BuildId: BUILD });
  await expect(isComplete(event)).rejects.toThrow(`Schema steps 'pre' failed (build ${BUILD}, TIMED_OUT): Build has timed out.`);
});

test('after the post-data step, a task stopped after its full load is resumed, and the resource completes once it runs', async () => {
  dmsMock.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
  codeBuild.on(BatchGetBuildsCommand).resolves(build('SUCCEEDED'));
  describeReturns(task('stopped', { StopReason: 'Stop Reason STOPPED_AFTER_FULL_LOAD' }, true), task('starting', {}, true), task('running', {}, true));
  const event = request(SCHEMA_COPY_TYPE, 'Create', { ...PROPS, Steps: 'post sequences', ResumeTaskArn: TASK_ARN }, undefined, { BuildId: BUILD });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: false });
  await expect(isComplete(event)).resolves.toEqual({ IsComplete: true, Data: { BuildStatus: 'SUCCEEDED' } });
  expect(dmsMock.commandCalls(StartReplicationTaskCommand).map(c => c.args[0].input)).toEqual([
    { ReplicationTaskArn: TASK_ARN, StartReplicationTaskType: 'resume-processing' },
  ]);
});

test.each([
  ['Delete', 'Delete', PROPS, undefined],
  ['an update that changes nothing the steps copy', 'Update', { ...PROPS, ProjectName: 'schema-project' }, PROPS],
  // the tables exist in Neon: running pre again would fail on them, so only Refresh runs it again
  ['an update of the table mapping', 'Update', { ...PROPS, TableMappings: MAPPINGS.replace('"app"', '"sales"') }, PROPS],
  ['an update of the steps (a library upgrade)', 'Update', { ...PROPS, Steps: 'indexes' }, { ...PROPS, Steps: 'post sequences' }],
])('%s runs nothing (the schema stays in Neon)', async (_name, type, props, old) => {
  const event = request(SCHEMA_COPY_TYPE, type as 'Delete' | 'Update', props, old);
  const result = await onEvent(event);
  expect(result.Data).toEqual({ BuildId: '' });
  await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
  expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
});

test('an update of Refresh runs the steps again, with the current table mapping', async () => {
  const mappings = MAPPINGS.replace('"app"', '"sales"');
  const event = request(SCHEMA_COPY_TYPE, 'Update', { ...PROPS, TableMappings: mappings, Refresh: '2' }, PROPS);
  await onEvent(event);
  expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(1);
  expect(codeBuild.commandCalls(StartBuildCommand)[0].args[0].input.environmentVariablesOverride).toContainEqual(
    { name: 'TABLE_MAPPINGS', value: mappings, type: 'PLAINTEXT' });
});

describe('a step after the load without a wait condition (a template of before) refuses to run while DMS still loads', () => {
  const AFTER_PROPS = { ...PROPS, Steps: 'post sequences', LoadArn: TASK_ARN };

  test.each([
    ['a full load that finished', task('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationTaskStats: { FullLoadProgressPercent: 100 } })],
    ['a task stopped after its full load', task('stopped', { StopReason: 'Stop Reason STOPPED_AFTER_FULL_LOAD', ReplicationTaskStats: { FullLoadProgressPercent: 100 } })],
    ['a task replicating changes after its full load', task('running', { ReplicationTaskStats: { FullLoadProgressPercent: 100, TablesLoading: 0, TablesQueued: 0, TablesLoaded: 12 } })],
  ])('%s: the build starts', async (_name, state) => {
    describeReturns(state);
    await onEvent(request(SCHEMA_COPY_TYPE, 'Create', AFTER_PROPS));
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(1);
  });

  test.each([
    ['still loading', task('running', { ReplicationTaskStats: { FullLoadProgressPercent: 40, TablesLoading: 3, TablesQueued: 8 } }), /\(running, 40% loaded\)/],
    ['gone', undefined, /\(not found, 0% loaded\)/],
  ])('%s: refused before any build, naming the steps by hand', async (_name, state, detail) => {
    describeReturns(state);
    await expect(onEvent(request(SCHEMA_COPY_TYPE, 'Create', AFTER_PROPS))).rejects.toThrow(detail);
    await expect(onEvent(request(SCHEMA_COPY_TYPE, 'Create', AFTER_PROPS))).rejects.toThrow(
      /has not finished .* the schema steps 'post sequences' must not run while DMS loads, and this step cannot wait for it\. Run them by hand/);
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });
});

describe('a step after the load waits for the load and its build through the load waiter', () => {
  const sfn = mockClient(SFNClient);
  const server = new WaitConditionServer();
  const STATE_MACHINE = 'arn:aws:states:us-east-2:123456789012:stateMachine:NeonDmsLoadWaiter';
  const WAITED = {
    ...PROPS,
    Steps: 'post sequences',
    LoadArn: TASK_ARN,
    TimeoutMinutes: '180',
    QueueMinutes: '10',
    MaxWaitSeconds: String(11.75 * 3600),
    LoadWaitSeconds: String(8.25 * 3600),
  };
  const loading = task('running', { ReplicationTaskStats: { FullLoadProgressPercent: 40, TablesLoading: 3, TablesQueued: 8 } });
  const loaded = task('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationTaskStats: { FullLoadProgressPercent: 100 } });
  let now = NOW;

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    sfn.reset();
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:execution', startDate: new Date() });
    server.signals.clear();
    now = NOW;
    timing.now = () => now;
    stackIs('CREATE_IN_PROGRESS');
  });

  function waited(handleId: string, extra: Record<string, string> = {}) {
    return { ...WAITED, LoadWaitHandle: server.url(handleId), LoadWaitStateMachineArn: STATE_MACHINE, ...extra };
  }

  /** The poll the waiter runs for the step created at NOW. */
  function poll(handleId: string, extra: Record<string, string> = {}): LoadWaitPoll {
    return {
      Request: request(SCHEMA_COPY_TYPE, 'Create', waited(handleId, extra), undefined, { BuildId: '', HandedOverAt: String(NOW), StartIssued: 'true' }),
      Handle: server.url(handleId),
      UniqueId: 'After',
    };
  }

  /** Polls once a minute, as the state machine does, carrying each answer's state to the next poll; the answers. */
  async function follow(p: LoadWaitPoll, polls: number): Promise<{ Done: boolean; State?: Record<string, string> }[]> {
    const answers: { Done: boolean; State?: Record<string, string> }[] = [];
    let state: Record<string, string> | undefined;
    for (let i = 0; i < polls; i++) {
      now += 60_000;
      const answer = await pollLoad(p, handler, state);
      answers.push(answer);
      state = answer.State;
      if (answer.Done) break;
    }
    return answers;
  }

  test('create hands the step to the load waiter and completes at once: no build, no look at the load yet', async () => {
    const event = request(SCHEMA_COPY_TYPE, 'Create', waited('H1'));
    const result = await onEvent(event);
    expect(result.Data).toEqual({ BuildId: '' });
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);
    expect(input.LoadWaitPoll.Handle).toBe(server.url('H1'));
    expect(input.LoadWaitPoll.Request.Data).toEqual(expect.objectContaining({ HandedOverAt: String(NOW) }));
  });

  test('waits while the task loads, starts the build once the load finished, and signals SUCCESS when it succeeded', async () => {
    describeReturns(loading, loading, loaded);
    codeBuild.on(BatchGetBuildsCommand).resolvesOnce(build('IN_PROGRESS')).resolves(build('SUCCEEDED'));
    const answers = await follow(poll('H2'), 10);
    expect(answers.map(a => a.State?.Phase ?? (a.Done ? 'done' : '?'))).toEqual(['load', 'load', 'build', 'build', 'done']);
    expect(codeBuild.commandCalls(StartBuildCommand)[0].args[0].input).toEqual(expect.objectContaining({
      projectName: 'schema-project', timeoutInMinutesOverride: 180, idempotencyToken: expect.stringMatching(/^[0-9a-f]{32}$/),
    }));
    expect(server.signals.get('H2')).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: `schema steps 'post sequences' completed (build ${BUILD})` })]);
  });

  test('with a task stopped after its full load: the indexes, then the task resumed, then SUCCESS', async () => {
    dmsMock.on(StartReplicationTaskCommand).resolves({ ReplicationTask: task('starting') });
    describeReturns(task('stopped', { StopReason: 'Stop Reason STOPPED_AFTER_FULL_LOAD', ReplicationTaskStats: { FullLoadProgressPercent: 100 } }, true),
      task('stopped', { StopReason: 'Stop Reason STOPPED_AFTER_FULL_LOAD' }, true), task('starting', {}, true), task('running', {}, true));
    codeBuild.on(BatchGetBuildsCommand).resolves(build('SUCCEEDED'));
    await follow(poll('H3', { Steps: 'indexes', ResumeTaskArn: TASK_ARN }), 10);
    expect(dmsMock.commandCalls(StartReplicationTaskCommand).map(c => c.args[0].input.StartReplicationTaskType)).toEqual(['resume-processing']);
    expect(server.signals.get('H3')).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringContaining('the task was resumed') })]);
  });

  test.each([
    ['the task is gone (deleted by a rollback or by hand)', undefined, /no longer exists \(DMS finds none\): it was deleted while the schema steps 'post sequences' waited for its full load/],
    ['the load failed', task('failed', { LastFailureMessage: 'Last Error Table app.t errored' }), /The full load of task neon-migration failed, so the schema steps 'post sequences' did not run: Last Error Table app\.t errored/],
    ['the task was stopped during the load', task('stopped', { StopReason: 'Stop Reason NORMAL', ReplicationTaskStats: { FullLoadProgressPercent: 70 } }), /stopped before its full load finished \(Stop Reason NORMAL\)/],
    ['the task never started', task('ready'), /never started, so its full load cannot finish/],
  ])('%s: FAILURE signalled at once, with the reason, and no build', async (_name, state, reason) => {
    describeReturns(state);
    const answers = await follow(poll('H4'), 5);
    expect(answers).toEqual([{ Done: true }]);
    expect(server.signals.get('H4')).toEqual([expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringMatching(reason) })]);
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });

  test('a load longer than the step may wait for it: FAILURE naming maxWait, the timeout and deployAfterLoadSteps', async () => {
    describeReturns(loading);
    const p = poll('H5');
    // the hand-over was LoadWaitSeconds ago
    now = NOW + 8.25 * 3600_000 - 60_000;
    await expect(pollLoad(p, handler)).resolves.toEqual({ Done: false, State: { Phase: 'load' } });
    now += 60_000;
    await expect(pollLoad(p, handler, { Phase: 'load' })).resolves.toEqual({ Done: true });
    expect(server.signals.get('H5')![0].Reason).toMatch(
      /has not finished \(running, 40% loaded\) 8 h 15 min after .* Raise maxWait .* shorten schemaCopy\.timeout, or set schemaCopy\.deployAfterLoadSteps: false/);
  });

  test('the stack rolls back or is deleted meanwhile: the step starts nothing and ends', async () => {
    describeReturns(loaded);
    stackIs('ROLLBACK_IN_PROGRESS');
    await follow(poll('H6'), 3);
    expect(server.signals.get('H6')![0]).toEqual(expect.objectContaining({ Status: 'FAILURE', Reason: expect.stringContaining('The stack is ROLLBACK_IN_PROGRESS') }));
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });

  test('a build that never left CodeBuild\'s queue fails with that reason, naming queuedTimeoutInMinutes and the quota', async () => {
    describeReturns(loaded);
    codeBuild.on(BatchGetBuildsCommand).resolvesOnce(build('IN_PROGRESS', { currentPhase: 'QUEUED', startTime: new Date(NOW) })).resolves(build('TIMED_OUT', {
      currentPhase: 'COMPLETED',
      phases: [{ phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' }, { phaseType: 'QUEUED', phaseStatus: 'TIMED_OUT' }, { phaseType: 'COMPLETED' }],
    }));
    await follow(poll('H7'), 6);
    expect(server.signals.get('H7')![0].Reason).toMatch(
      /did not start: build .* waited in CodeBuild's queue for 10 minutes \(the project's queuedTimeoutInMinutes\) and was removed from it \(TIMED_OUT\)\. The account's concurrent builds .* \(a CodeBuild quota\)/);
    expect(logs.commandCalls(GetLogEventsCommand)).toHaveLength(0);
  });

  test('DMS Serverless: the replication\'s statistics decide', async () => {
    const configArn = 'arn:aws:dms:us-east-2:123456789012:replication-config:CONFIG1';
    dmsMock.on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [{ ReplicationConfigArn: configArn, ReplicationConfigIdentifier: 'neon', Status: 'running', ReplicationStats: { FullLoadProgressPercent: 55, TablesLoading: 2 } }] })
      .resolves({ Replications: [{ ReplicationConfigArn: configArn, ReplicationConfigIdentifier: 'neon', Status: 'stopped', StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationStats: { FullLoadProgressPercent: 100 } }] });
    const event = { ...poll('H8', { LoadArn: configArn }).Request };
    await expect(loadProgress(event)).resolves.toEqual({ IsComplete: false, Data: { Phase: 'load' } });
    await expect(loadProgress(event)).resolves.toEqual({ IsComplete: false, Data: { Phase: 'build', BuildId: BUILD } });
    expect(dmsMock.commandCalls(DescribeReplicationsCommand)[0].args[0].input).toEqual({ Filters: [{ Name: 'replication-config-arn', Values: [configArn] }] });
  });

  test('an update that runs nothing but gets a new wait condition signals it at once; Refresh runs the step again through the waiter', async () => {
    const update = request(SCHEMA_COPY_TYPE, 'Update', waited('H9'), waited('H0'));
    await onEvent(update);
    expect(server.signals.get('H9')).toEqual([expect.objectContaining({ Status: 'SUCCESS', Reason: expect.stringContaining('runs no schema step') })]);
    await onEvent(request(SCHEMA_COPY_TYPE, 'Update', waited('H10', { Refresh: '2' }), waited('H9')));
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(server.signals.get('H10')).toBeUndefined();
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });
});

describe('deleting a step', () => {
  test('the pre step, while the stack rolls back the operation that created it: the undo build drops what it created', async () => {
    stackIs('ROLLBACK_IN_PROGRESS');
    const event = request(SCHEMA_COPY_TYPE, 'Delete', { ...PROPS, TimeoutMinutes: '45' });
    const result = await onEvent(event);
    expect(result.Data).toEqual({ BuildId: BUILD, Undo: 'true' });
    expect(codeBuild.commandCalls(StartBuildCommand)[0].args[0].input).toEqual(expect.objectContaining({
      environmentVariablesOverride: expect.arrayContaining([{ name: 'SCHEMA_STEPS', value: 'undo', type: 'PLAINTEXT' }]),
      timeoutInMinutesOverride: 15,
    }));
    codeBuild.on(BatchGetBuildsCommand).resolvesOnce(build('IN_PROGRESS')).resolves(build('SUCCEEDED'));
    const polled = { ...event, Data: result.Data };
    await expect(isComplete(polled)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled)).resolves.toEqual({ IsComplete: true });
  });

  test('the same in the cleanup of a failed update that created it; a failed undo never fails the deletion', async () => {
    stackIs('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    const event = request(SCHEMA_COPY_TYPE, 'Delete', PROPS);
    const result = await onEvent(event);
    codeBuild.on(BatchGetBuildsCommand).resolves(build('FAILED'));
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'schema-copy undo: source: could not connect' }] });
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
    expect(console.log).toHaveBeenCalledWith(expect.stringContaining('drop it by hand (schema-copy.sh undo)'));
  });

  test.each(['DELETE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'])('the pre step in %s: the schema stays in Neon', async (status) => {
    stackIs(status);
    await expect(onEvent(request(SCHEMA_COPY_TYPE, 'Delete', PROPS))).resolves.toEqual(expect.objectContaining({ Data: { BuildId: '' } }));
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });

  test('a step after the load stops the project\'s builds still running, and never fails', async () => {
    codeBuild.on(ListBuildsForProjectCommand).resolves({ ids: ['schema-project:3', 'schema-project:2', 'schema-project:1'] });
    codeBuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        { id: 'schema-project:3', buildStatus: 'IN_PROGRESS' }, { id: 'schema-project:2', buildStatus: 'SUCCEEDED' }, { id: 'schema-project:1', buildStatus: 'SUCCEEDED' },
      ],
    });
    codeBuild.on(StopBuildCommand).resolves({});
    await onEvent(request(SCHEMA_COPY_TYPE, 'Delete', { ...PROPS, Steps: 'post sequences' }));
    expect(codeBuild.commandCalls(StopBuildCommand).map(c => c.args[0].input)).toEqual([{ id: 'schema-project:3' }]);
    codeBuild.on(ListBuildsForProjectCommand).rejects(new Error('AccessDenied'));
    await expect(onEvent(request(SCHEMA_COPY_TYPE, 'Delete', { ...PROPS, Steps: 'post sequences' }))).resolves.toEqual(expect.objectContaining({ Data: { BuildId: '' } }));
  });
});
