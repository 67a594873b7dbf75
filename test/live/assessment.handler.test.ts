import {
  CancelReplicationTaskAssessmentRunCommand,
  DescribeApplicableIndividualAssessmentsCommand,
  DescribeReplicationTaskAssessmentRunsCommand,
  DescribeReplicationTaskIndividualAssessmentsCommand,
  ReplicationTaskAssessmentRun,
  ReplicationTaskIndividualAssessment,
  StartReplicationTaskAssessmentRunCommand,
} from '@aws-sdk/client-database-migration-service';
import { timing } from '../../lib/core/api-calls';
import { isComplete, onEvent, START_RETRY_MS } from '../../lib/live/assessment.handler';
import { PREMIGRATION_ASSESSMENT_TYPE } from '../../lib/live/kinds';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { dispatcher } from '../../lib/resource-handlers';
import {
  NOW, TASK_ARN, describeReturns, dmsMock, fault, request, setUp, sleeps, stackIs, task, tearDown, throttling,
} from '../lifecycle/task-handler-support';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/S-NeonDmsPremigrationAssessmentsRole1A2B3C';
const BUCKET = 's-neondmspremigrationassessmentsbucket1a2b3c';
const RUN_NAME = 'neon-migration-20260301100000';
const RUN_ARN = 'arn:aws:dms:us-east-2:123456789012:assessment-run:RUN1';
const LOCATION = `s3://${BUCKET}/neon-migration/`;
const PROPS = {
  TaskArn: TASK_ARN,
  TaskIdentifier: 'neon-migration',
  TaskPropertiesHash: 'hash-1',
  ServiceAccessRoleArn: ROLE_ARN,
  ResultLocationBucket: BUCKET,
  FailOnWarning: 'false',
  MaxWaitSeconds: '3000',
};

function run(status: string, extra: Partial<ReplicationTaskAssessmentRun> = {}): ReplicationTaskAssessmentRun {
  return {
    ReplicationTaskAssessmentRunArn: RUN_ARN,
    ReplicationTaskArn: TASK_ARN,
    AssessmentRunName: RUN_NAME,
    Status: status,
    AssessmentProgress: { IndividualAssessmentCount: 3, IndividualAssessmentCompletedCount: 1 },
    ...extra,
  };
}

function individual(name: string, status: string): ReplicationTaskIndividualAssessment {
  return { IndividualAssessmentName: name, Status: status, ReplicationTaskAssessmentRunArn: RUN_ARN };
}

/** DescribeReplicationTaskAssessmentRuns answers with these runs of the task in turn (the last one from then on). */
function runsAre(...runs: (ReplicationTaskAssessmentRun | undefined)[]): void {
  const queue = [...runs];
  dmsMock.on(DescribeReplicationTaskAssessmentRunsCommand).callsFake(async () => {
    const next = queue.length > 1 ? queue.shift() : queue[0];
    return { ReplicationTaskAssessmentRuns: next ? [run('passed', { AssessmentRunName: 'an-older-run', ReplicationTaskAssessmentRunArn: 'arn:old' }), next] : [] };
  });
}

function individualsAre(...assessments: ReplicationTaskIndividualAssessment[]): void {
  dmsMock.on(DescribeReplicationTaskIndividualAssessmentsCommand).resolves({ ReplicationTaskIndividualAssessments: assessments });
}

function assessment(type: 'Create' | 'Update' | 'Delete', props: Record<string, unknown> = {}, old?: Record<string, unknown>, data?: Record<string, string>): ProviderRequest {
  const event = request(PREMIGRATION_ASSESSMENT_TYPE, type, { ...PROPS, ...props }, old ? { ...PROPS, ...old } : undefined, data);
  return type === 'Create' ? event : { ...event, PhysicalResourceId: `premigration-assessment:${RUN_NAME}` };
}

/** isComplete until complete, as the Provider framework polls: with onEvent's Data only, and never accepting Data with IsComplete false. */
async function poll(event: ProviderRequest, data: Record<string, string>, max = 10): Promise<Record<string, any> | undefined> {
  for (let i = 0; i < max; i++) {
    const result = await isComplete({ ...event, Data: data });
    if (result.IsComplete) return result.Data;
    expect(result.Data).toBeUndefined();
  }
  throw new Error('never completed');
}

beforeEach(() => {
  setUp();
  dmsMock.on(StartReplicationTaskAssessmentRunCommand).resolves({ ReplicationTaskAssessmentRun: run('starting') });
  dmsMock.on(CancelReplicationTaskAssessmentRunCommand).resolves({ ReplicationTaskAssessmentRun: run('cancelling') });
});
afterEach(tearDown);

describe('starting the run', () => {
  test('Create starts a run named after the task and the time, results in the task\'s folder with SSE-S3, through the stack\'s role', async () => {
    const result = await onEvent(assessment('Create'));
    expect(result).toEqual({ PhysicalResourceId: `premigration-assessment:${RUN_NAME}`, Data: { RunName: RUN_NAME, RequestedAt: String(NOW), Judge: 'new' } });
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand).map((c) => c.args[0].input)).toEqual([{
      ReplicationTaskArn: TASK_ARN,
      ServiceAccessRoleArn: ROLE_ARN,
      ResultLocationBucket: BUCKET,
      ResultLocationFolder: 'neon-migration',
      ResultEncryptionMode: 'SSE_S3',
      AssessmentRunName: RUN_NAME,
    }]);
    // nothing named: the applicable assessments need no look-up
    expect(dmsMock.commandCalls(DescribeApplicableIndividualAssessmentsCommand)).toHaveLength(0);
  });

  test('a customer managed key writes the results with SSE-KMS under it', async () => {
    await onEvent(assessment('Create', { ResultKmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:key/k1' }));
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)[0].args[0].input).toEqual(expect.objectContaining({
      ResultEncryptionMode: 'SSE_KMS', ResultKmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:key/k1',
    }));
  });

  test('includeOnly is checked against every page of the assessments DMS finds applicable, then passed on', async () => {
    dmsMock.on(DescribeApplicableIndividualAssessmentsCommand)
      .resolvesOnce({ IndividualAssessmentNames: ['postgres-check-dbowner', 'unsupported-data-types-in-source'], Marker: 'm1' })
      .resolves({ IndividualAssessmentNames: ['postgres-check-batch-apply-target-pk-ui-absence'] });
    await onEvent(assessment('Create', { IncludeOnly: ['postgres-check-dbowner', 'postgres-check-batch-apply-target-pk-ui-absence'] }));
    expect(dmsMock.commandCalls(DescribeApplicableIndividualAssessmentsCommand).map((c) => c.args[0].input)).toEqual([
      { ReplicationTaskArn: TASK_ARN, MaxRecords: 100, Marker: undefined },
      { ReplicationTaskArn: TASK_ARN, MaxRecords: 100, Marker: 'm1' },
    ]);
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)[0].args[0].input.IncludeOnly)
      .toEqual(['postgres-check-dbowner', 'postgres-check-batch-apply-target-pk-ui-absence']);
  });

  test('an assessment that does not apply to the task is refused before the start, listing the ones that do', async () => {
    dmsMock.on(DescribeApplicableIndividualAssessmentsCommand).resolves({ IndividualAssessmentNames: ['postgres-check-dbowner'] });
    await expect(onEvent(assessment('Create', { Exclude: ['oracle-check-cdc-support'] }))).rejects.toThrow(
      'premigrationAssessment names assessments that do not apply to task neon-migration: oracle-check-cdc-support. '
      + 'DMS applies these to it: postgres-check-dbowner. Correct includeOnly/exclude.');
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(0);
  });

  test('a throttled call is retried with backoff', async () => {
    dmsMock.on(StartReplicationTaskAssessmentRunCommand).rejectsOnce(throttling()).resolves({ ReplicationTaskAssessmentRun: run('starting') });
    await onEvent(assessment('Create'));
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(2);
    expect(sleeps).toEqual([1000]);
  });

  test('a role DMS cannot use yet (IAM propagation) is tried again by isComplete, which then follows the run', async () => {
    dmsMock.on(StartReplicationTaskAssessmentRunCommand)
      .rejectsOnce(fault('AccessDeniedFault', 'DMS cannot assume the role'))
      .resolves({ ReplicationTaskAssessmentRun: run('starting') });
    const event = assessment('Create');
    const result = await onEvent(event);
    runsAre(undefined, run('running'), run('passed'));
    individualsAre(individual('postgres-check-dbowner', 'passed'));
    const data = await poll({ ...event, PhysicalResourceId: result.PhysicalResourceId }, result.Data!);
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(2);
    expect(data).toEqual(expect.objectContaining({ Status: 'passed' }));
  });

  test('past the retry window, the start\'s error fails the deployment with what to check', async () => {
    dmsMock.on(StartReplicationTaskAssessmentRunCommand).rejects(fault('S3AccessDeniedFault', 'Access denied to the bucket'));
    runsAre(undefined);
    const event = assessment('Create');
    const late = { RunName: RUN_NAME, RequestedAt: String(NOW - START_RETRY_MS - 1), Judge: 'new' };
    await expect(isComplete({ ...event, Data: late })).rejects.toThrow(
      `DMS did not start the premigration assessment of task neon-migration within 5 minutes: Access denied to the bucket. Check that DMS may assume ${ROLE_ARN} `
      + `(trust dms.amazonaws.com) and that the role may write to s3://${BUCKET}.`);
  });

  test('a running task cannot be assessed: the deployment fails at once saying so', async () => {
    dmsMock.on(StartReplicationTaskAssessmentRunCommand).rejects(fault('InvalidResourceStateFault', 'Task is running'));
    describeReturns(task('running'));
    await expect(onEvent(assessment('Create'))).rejects.toThrow('DMS assesses a task that is not running, and task neon-migration is running');
  });
});

describe('judging the run', () => {
  const started = { RunName: RUN_NAME, RequestedAt: String(NOW), Judge: 'new' };

  test.each(['starting', 'provisioning', 'running', 'a status DMS adds later'])('%s: not complete yet, and no Data (the framework refuses it)', async (status) => {
    runsAre(run(status));
    await expect(isComplete(assessment('Create', {}, undefined, started))).resolves.toEqual({ IsComplete: false });
  });

  test('passed: complete, with the counts, the results folder and the run', async () => {
    runsAre(run('passed', { ResultStatistic: { Passed: 3, Failed: 0, Error: 0, Warning: 0, Cancelled: 0, Skipped: 1 } }));
    individualsAre(individual('a', 'passed'), individual('b', 'passed'), individual('c', 'passed'), individual('d', 'skipped'));
    await expect(isComplete(assessment('Create', {}, undefined, started))).resolves.toEqual({
      IsComplete: true,
      Data: { RunArn: RUN_ARN, Status: 'passed', Summary: '3 passed, 0 failed, 0 error, 0 warning, 0 cancelled, 1 skipped', ResultLocation: LOCATION, Warnings: '', Acknowledged: '' },
    });
    expect(dmsMock.commandCalls(DescribeReplicationTaskAssessmentRunsCommand)[0].args[0].input).toEqual({
      Filters: [{ Name: 'replication-task-arn', Values: [TASK_ARN] }], MaxRecords: 100, Marker: undefined,
    });
    expect(dmsMock.commandCalls(DescribeReplicationTaskIndividualAssessmentsCommand)[0].args[0].input).toEqual({
      Filters: [{ Name: 'replication-task-assessment-run-arn', Values: [RUN_ARN] }], MaxRecords: 100, Marker: undefined,
    });
  });

  test('failed: the deployment fails naming the failed and errored assessments, the counts and the S3 folder', async () => {
    runsAre(run('failed', { LastFailureMessage: 'Tables without primary keys found' }));
    individualsAre(individual('postgres-check-dbowner', 'passed'), individual('table-with-no-primary-key-or-unique-constraint', 'failed'),
      individual('postgres-check-bytea-data-type', 'error'), individual('postgres-check-wal-sender-timeout', 'warning'));
    await expect(isComplete(assessment('Create', {}, undefined, started))).rejects.toThrow(new Error(
      `Premigration assessment ${RUN_NAME} of task neon-migration: 2 individual assessment(s) did not pass: `
      + 'table-with-no-primary-key-or-unique-constraint (failed), postgres-check-bytea-data-type (error) '
      + '(1 passed, 1 failed, 1 error, 1 warning, 0 cancelled, 0 skipped); last failure: Tables without primary keys found. '
      + `Each assessment's findings are in ${LOCATION} (summary.json, and one file per assessment). Fix what they name, or list the assessments in `
      + 'premigrationAssessment.acknowledgedAssessments to accept them, and deploy again.'));
  });

  test('acknowledged assessments do not fail the deployment, and are reported as such', async () => {
    runsAre(run('failed'));
    individualsAre(individual('postgres-check-dbowner', 'passed'), individual('table-with-no-primary-key-or-unique-constraint', 'failed'));
    const result = await isComplete(assessment('Create', { AcknowledgedAssessments: ['table-with-no-primary-key-or-unique-constraint'] }, undefined, started));
    expect(result).toEqual({ IsComplete: true, Data: expect.objectContaining({ Status: 'failed', Acknowledged: 'table-with-no-primary-key-or-unique-constraint' }) });
  });

  test('warning: complete and the warnings listed; with failOnWarning they fail the deployment unless acknowledged', async () => {
    runsAre(run('warning'));
    individualsAre(individual('postgres-check-dbowner', 'passed'), individual('postgres-check-wal-sender-timeout', 'warning'));
    await expect(isComplete(assessment('Create', {}, undefined, started))).resolves.toEqual({
      IsComplete: true, Data: expect.objectContaining({ Status: 'warning', Warnings: 'postgres-check-wal-sender-timeout' }),
    });
    await expect(isComplete(assessment('Create', { FailOnWarning: 'true' }, undefined, started))).rejects.toThrow(
      /1 individual assessment\(s\) did not pass: postgres-check-wal-sender-timeout \(warning\)/);
    await expect(isComplete(assessment('Create', { FailOnWarning: 'true', AcknowledgedAssessments: ['postgres-check-wal-sender-timeout'] }, undefined, started)))
      .resolves.toEqual(expect.objectContaining({ IsComplete: true }));
  });

  test('individual assessments are read from every page', async () => {
    runsAre(run('failed'));
    dmsMock.on(DescribeReplicationTaskIndividualAssessmentsCommand)
      .resolvesOnce({ ReplicationTaskIndividualAssessments: [individual('a', 'passed')], Marker: 'next' })
      .resolves({ ReplicationTaskIndividualAssessments: [individual('b', 'cancelled')] });
    await expect(isComplete(assessment('Create', {}, undefined, started))).rejects.toThrow(/did not pass: b \(cancelled\)/);
    expect(dmsMock.commandCalls(DescribeReplicationTaskIndividualAssessmentsCommand)[1].args[0].input.Marker).toBe('next');
  });

  test.each(['cancelling', 'cancelled', 'deleting'])('%s: someone cancelled or deleted the run; the deployment fails, asking to deploy again', async (status) => {
    runsAre(run(status));
    await expect(isComplete(assessment('Create', {}, undefined, started))).rejects.toThrow(
      `Premigration assessment ${RUN_NAME} of task neon-migration was cancelled or deleted (${status}) before it completed. Deploy again`);
  });

  test.each(['error-provisioning', 'error-executing', 'invalid state'])('%s: DMS could not run it; the deployment fails with its message', async (status) => {
    runsAre(run(status, { LastFailureMessage: 'Failed to connect to the target endpoint' }));
    await expect(isComplete(assessment('Create', {}, undefined, started))).rejects.toThrow(
      `Premigration assessment ${RUN_NAME} of task neon-migration ended ${status}: Failed to connect to the target endpoint. DMS could not run it`);
  });

  test('a throttled describe is retried', async () => {
    dmsMock.on(DescribeReplicationTaskAssessmentRunsCommand).rejectsOnce(throttling()).resolves({ ReplicationTaskAssessmentRuns: [run('running')] });
    await expect(isComplete(assessment('Create', {}, undefined, started))).resolves.toEqual({ IsComplete: false });
    expect(sleeps).toEqual([1000]);
  });

  test('past maxWait, within the custom resource\'s hour, the run is cancelled and the deployment fails with what to do', async () => {
    runsAre(run('running'));
    const late = { ...started, RequestedAt: String(NOW - 3001 * 1000) };
    await expect(isComplete(assessment('Create', {}, undefined, late))).rejects.toThrow(
      `Premigration assessment ${RUN_NAME} of task neon-migration did not complete within 50 minutes (running, 1 of 3 assessments done) and was cancelled. `
      + 'A custom resource must answer within an hour: raise premigrationAssessment.maxWait (at most 55 minutes)');
    expect(dmsMock.commandCalls(CancelReplicationTaskAssessmentRunCommand).map((c) => c.args[0].input))
      .toEqual([{ ReplicationTaskAssessmentRunArn: RUN_ARN }]);
  });
});

describe('updates and delete', () => {
  test('an update that did not change the task runs nothing new and judges the last run again with the current acknowledgements', async () => {
    runsAre(run('failed'));
    individualsAre(individual('table-with-no-primary-key-or-unique-constraint', 'failed'));
    const event = assessment('Update', { AcknowledgedAssessments: ['table-with-no-primary-key-or-unique-constraint'] }, {});
    const result = await onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: `premigration-assessment:${RUN_NAME}`, Data: { RunName: RUN_NAME, RequestedAt: String(NOW), Judge: 'existing' } });
    await expect(poll(event, result.Data!)).resolves.toEqual(expect.objectContaining({ Acknowledged: 'table-with-no-primary-key-or-unique-constraint' }));
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(0);
  });

  test.each([
    ['is gone', undefined],
    ['was cancelled', run('cancelled')],
    ['ended in an error of DMS', run('error-executing')],
  ])('an unchanged task whose last run %s is assessed anew: there is nothing to judge', async (_name, last) => {
    runsAre(last);
    timing.now = () => NOW + 120_000;
    const result = await onEvent(assessment('Update', {}, {}));
    expect(result.PhysicalResourceId).toBe('premigration-assessment:neon-migration-20260301100200');
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(1);
  });

  test.each([
    ['its properties', { TaskPropertiesHash: 'hash-2' }],
    ['the task itself (a replacement)', { TaskArn: 'arn:aws:dms:us-east-2:123456789012:task:TASKRESOURCEID2' }],
  ])('an update that changed %s runs the assessment again under a new physical id', async (_name, change) => {
    timing.now = () => NOW + 60_000;
    const result = await onEvent(assessment('Update', change, {}));
    expect(result.PhysicalResourceId).toBe('premigration-assessment:neon-migration-20260301100100');
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(1);
  });

  test('an update during a rollback runs and judges nothing', async () => {
    stackIs('UPDATE_ROLLBACK_IN_PROGRESS');
    const event = assessment('Update', { TaskPropertiesHash: 'hash-0' }, {});
    // the provider's dispatcher keeps the rule for every kind that does not say otherwise
    const result = await dispatcher.onEvent(event);
    expect(result).toEqual({ PhysicalResourceId: `premigration-assessment:${RUN_NAME}` });
    await expect(dispatcher.isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
    expect(dmsMock.commandCalls(StartReplicationTaskAssessmentRunCommand)).toHaveLength(0);
  });

  test('delete cancels a run under way and waits until DMS let go of the task', async () => {
    runsAre(run('running'), run('cancelling'), run('cancelled'));
    const event = assessment('Delete');
    const result = await onEvent(event);
    expect(dmsMock.commandCalls(CancelReplicationTaskAssessmentRunCommand).map((c) => c.args[0].input))
      .toEqual([{ ReplicationTaskAssessmentRunArn: RUN_ARN }]);
    expect(result).toEqual({ PhysicalResourceId: `premigration-assessment:${RUN_NAME}`, Data: { RunName: RUN_NAME } });
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: false });
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
  });

  test('delete of a completed run keeps its results and calls nothing more', async () => {
    runsAre(run('passed'));
    const event = assessment('Delete');
    const result = await onEvent(event);
    expect(result.Data).toEqual({ RunName: '' });
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
    expect(dmsMock.commandCalls(CancelReplicationTaskAssessmentRunCommand)).toHaveLength(0);
  });
});
