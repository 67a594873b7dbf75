import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { DescribeReplicationsCommand, StartReplicationTaskCommand } from '@aws-sdk/client-database-migration-service';
import { mockClient } from 'aws-sdk-client-mock';
import { TASK_ARN, describeReturns, dmsMock, request, setUp, task, tearDown } from './task-handler-support';
import { SCHEMA_COPY_TYPE } from '../../lib/schema/kinds';
import { isComplete, onEvent } from '../../lib/schema/schema-copy.handler';

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

describe('the steps after the full load refuse to run while DMS still loads (the deployment stopped waiting at maxWait)', () => {
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
    ['stopped by someone during the load', task('stopped', { StopReason: 'Stop Reason NORMAL', ReplicationTaskStats: { FullLoadProgressPercent: 70 } }), /\(stopped, 70% loaded\)/],
    ['gone', undefined, /\(not found, 0% loaded\)/],
  ])('%s: refused, naming maxWait and the steps by hand, before any build', async (_name, state, detail) => {
    describeReturns(state);
    const refusal = onEvent(request(SCHEMA_COPY_TYPE, 'Create', AFTER_PROPS));
    await expect(refusal).rejects.toThrow(detail);
    await expect(onEvent(request(SCHEMA_COPY_TYPE, 'Create', AFTER_PROPS))).rejects.toThrow(
      /has not finished .* the schema steps 'post sequences' must not run while DMS loads\. Raise maxWait \(up to 12 hours\) and deploy again, or run the steps by hand/);
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(0);
  });

  test('DMS Serverless: the replication\'s statistics decide', async () => {
    const configArn = 'arn:aws:dms:us-east-2:123456789012:replication-config:CONFIG1';
    dmsMock.on(DescribeReplicationsCommand)
      .resolvesOnce({ Replications: [{ ReplicationConfigArn: configArn, ReplicationConfigIdentifier: 'neon', Status: 'running', ReplicationStats: { FullLoadProgressPercent: 55, TablesLoading: 2 } }] })
      .resolves({ Replications: [{ ReplicationConfigArn: configArn, ReplicationConfigIdentifier: 'neon', Status: 'stopped', StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationStats: { FullLoadProgressPercent: 100 } }] });
    const event = request(SCHEMA_COPY_TYPE, 'Create', { ...AFTER_PROPS, LoadArn: configArn });
    await expect(onEvent(event)).rejects.toThrow(/The full load of neon has not finished \(running, 55% loaded\)/);
    await onEvent(event);
    expect(codeBuild.commandCalls(StartBuildCommand)).toHaveLength(1);
    expect(dmsMock.commandCalls(DescribeReplicationsCommand)[0].args[0].input).toEqual({ Filters: [{ Name: 'replication-config-arn', Values: [configArn] }] });
  });
});
