// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import {
  CancelReplicationTaskAssessmentRunCommand,
  DatabaseMigrationServiceClient,
  DescribeApplicableIndividualAssessmentsCommand,
  DescribeReplicationTaskAssessmentRunsCommand,
  DescribeReplicationTaskIndividualAssessmentsCommand,
  ReplicationTaskAssessmentRun,
  ReplicationTaskIndividualAssessment,
  StartReplicationTaskAssessmentRunCommand,
} from '@aws-sdk/client-database-migration-service';
import { errorMessage, isError, timing, withThrottleRetry } from '../core/api-calls';
import { describeTaskByArn } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';

/** Properties of a `Custom::DmsPremigrationAssessment` resource (CloudFormation passes every value as a string). */
export interface PremigrationAssessmentProperties {
  /** The replication task to assess. */
  readonly TaskArn: string;
  /** Its identifier: the results folder and the start of the run's name. */
  readonly TaskIdentifier: string;
  /** Hash of the task's properties: a change runs the assessment again. */
  readonly TaskPropertiesHash: string;
  /** The role DMS assumes to write the results (passed with `iam:PassRole`). */
  readonly ServiceAccessRoleArn: string;
  /** The results bucket. */
  readonly ResultLocationBucket: string;
  /** A customer managed key: the results are written with SSE-KMS under it (SSE-S3 without). */
  readonly ResultKmsKeyArn?: string;
  /** Run only these individual assessments. */
  readonly IncludeOnly?: string[];
  /** Leave these individual assessments out. */
  readonly Exclude?: string[];
  /** Individual assessments whose failure, error or warning does not fail the deployment. */
  readonly AcknowledgedAssessments?: string[];
  /** 'true': warnings fail the deployment too. */
  readonly FailOnWarning?: string;
  /** How long the deployment waits for the run, in seconds. */
  readonly MaxWaitSeconds: string;
}

/** Run statuses while DMS works on it. */
const ACTIVE = new Set(['starting', 'provisioning', 'running']);
/** Run statuses after which its individual assessments tell the result. */
const COMPLETED = new Set(['passed', 'warning', 'failed']);
/** Run statuses of a run someone cancelled or deleted. */
const CANCELLED = new Set(['cancelling', 'cancelled', 'deleting']);
/** Run statuses of an internal error of DMS. */
const ERRORED = new Set(['error-provisioning', 'error-executing', 'invalid state']);

/** Errors of the start that pass once IAM has propagated a new role or DMS finished changing the task. */
const START_RETRYABLE = ['AccessDeniedFault', 'S3AccessDeniedFault', 'KMSAccessDeniedFault', 'InvalidResourceStateFault'];
/** How long the start is retried on those errors. */
export const START_RETRY_MS = 5 * 60 * 1000;

/** The longest failure message: CloudFormation shows the reason of a failed resource (4 KB response). */
const MAX_MESSAGE = 1800;

let client: DatabaseMigrationServiceClient | undefined;
function dms(): DatabaseMigrationServiceClient {
  client ??= new DatabaseMigrationServiceClient({ maxAttempts: 4 });
  return client;
}

/*
 * Create, and an update that changed the task (its ARN or the hash of its properties): checks the
 * named assessments against the ones DMS finds applicable to the task, and starts a premigration
 * assessment run; isComplete waits for it and judges its individual assessments. Other updates
 * judge the last run again (acknowledgements may have changed), or run it anew when the last run is
 * gone or did not complete. An update during a rollback runs nothing. Delete cancels a run still
 * under way; the results stay in the bucket.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = parseProperties(event.ResourceProperties);
  if (event.RequestType === 'Delete') {
    return cancelOnDelete(props, event.PhysicalResourceId!);
  }
  if (event.RequestType === 'Update') {
    const old = parseProperties(event.OldResourceProperties ?? {});
    const previousRun = runNameOf(event.PhysicalResourceId);
    const taskChanged = old.TaskArn !== props.TaskArn || old.TaskPropertiesHash !== props.TaskPropertiesHash;
    if (!taskChanged && previousRun) {
      const previous = await findRun(props.TaskArn, previousRun);
      const status = previous?.Status ?? '';
      if (COMPLETED.has(status) || ACTIVE.has(status)) {
        console.log(`The task did not change: the results of ${previousRun} are judged again`);
        return { PhysicalResourceId: event.PhysicalResourceId, Data: { RunName: previousRun, RequestedAt: String(timing.now()), Judge: 'existing' } };
      }
      // nothing to judge: the last run is gone, was cancelled or did not complete
      console.log(`${previousRun} is ${status || 'gone'}: the assessment runs again`);
    }
  }
  await checkAssessmentNames(props);
  const runName = newRunName(props.TaskIdentifier);
  const started = await tryStart(props, runName);
  console.log(`Premigration assessment ${runName} of ${props.TaskIdentifier}: ${started ? `started (${started})` : 'to be started once DMS accepts it'}`);
  return {
    PhysicalResourceId: `premigration-assessment:${runName}`,
    Data: { RunName: runName, RequestedAt: String(timing.now()), Judge: 'new' },
  };
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const props = parseProperties(event.ResourceProperties);
  const runName = String(event.Data?.RunName ?? '');
  if (!runName) {
    return { IsComplete: true };
  }
  if (event.RequestType === 'Delete') {
    const run = await findRun(props.TaskArn, runName);
    return { IsComplete: !run || !(ACTIVE.has(run.Status ?? '') || run.Status === 'cancelling') };
  }
  const elapsed = timing.now() - Number(event.Data?.RequestedAt ?? timing.now());
  const run = await findRun(props.TaskArn, runName);
  if (!run) {
    if (event.Data?.Judge === 'existing') {
      console.log(`${runName} no longer exists: nothing to judge`);
      return { IsComplete: true };
    }
    // the start met an error that passes (a new role not yet usable by DMS): try again
    if (elapsed > START_RETRY_MS) {
      await start(props, runName);
    } else {
      await tryStart(props, runName);
    }
    return { IsComplete: false };
  }
  const status = run.Status ?? 'unknown';
  const progress = run.AssessmentProgress;
  console.log(`${runName}: ${status} (${progress?.IndividualAssessmentCompletedCount ?? 0} of ${progress?.IndividualAssessmentCount ?? '?'} assessments done)`);
  if (COMPLETED.has(status)) {
    return judge(props, run);
  }
  const location = resultLocation(props);
  if (CANCELLED.has(status)) {
    throw new Error(limit(`Premigration assessment ${runName} of task ${props.TaskIdentifier} was cancelled or deleted (${status}) before it completed. `
      + `Deploy again to run it anew. Results so far: ${location}`));
  }
  if (ERRORED.has(status)) {
    throw new Error(limit(`Premigration assessment ${runName} of task ${props.TaskIdentifier} ended ${status}`
      + `${run.LastFailureMessage ? `: ${run.LastFailureMessage}` : ''}. DMS could not run it; deploy again, and if it fails again check the `
      + `replication instance and both endpoints' connections (DMS console, the task, Premigration assessments). Results: ${location}`));
  }
  const maxWait = Number(props.MaxWaitSeconds) * 1000;
  if (elapsed > maxWait) {
    await cancel(run);
    throw new Error(limit(`Premigration assessment ${runName} of task ${props.TaskIdentifier} did not complete within ${Math.round(maxWait / 60_000)} minutes `
      + `(${status}, ${progress?.IndividualAssessmentCompletedCount ?? 0} of ${progress?.IndividualAssessmentCount ?? '?'} assessments done) and was cancelled. `
      + 'A custom resource must answer within an hour: raise premigrationAssessment.maxWait (at most 55 minutes), run fewer assessments (includeOnly/exclude), '
      + `or run it yourself from the DMS console and remove premigrationAssessment. Results so far: ${location}`));
  }
  return { IsComplete: false };
}

/** The run's verdict: fails on individual assessments that did not pass and are not acknowledged. */
async function judge(props: PremigrationAssessmentProperties, run: ReplicationTaskAssessmentRun): Promise<IsCompleteResult> {
  const individuals = await listIndividuals(run.ReplicationTaskAssessmentRunArn!);
  const acknowledged = new Set(props.AcknowledgedAssessments ?? []);
  const failOnWarning = props.FailOnWarning === 'true';
  const bad = (a: ReplicationTaskIndividualAssessment) =>
    ['failed', 'error', 'cancelled'].includes(a.Status ?? '') || (failOnWarning && a.Status === 'warning');
  const failing = individuals.filter((a) => bad(a) && !acknowledged.has(a.IndividualAssessmentName ?? ''));
  const accepted = individuals.filter((a) => bad(a) && acknowledged.has(a.IndividualAssessmentName ?? ''));
  const warnings = individuals.filter((a) => a.Status === 'warning');
  const summary = summarize(run, individuals);
  const location = resultLocation(props);
  console.log('Premigration assessment results', JSON.stringify({
    Run: run.AssessmentRunName,
    Status: run.Status,
    Summary: summary,
    Assessments: individuals.map((a) => [a.IndividualAssessmentName, a.Status]),
    Acknowledged: accepted.map(describe),
  }));
  if (failing.length > 0) {
    throw new Error(limit(`Premigration assessment ${run.AssessmentRunName} of task ${props.TaskIdentifier}: ${failing.length} individual assessment(s) `
      + `did not pass: ${failing.map(describe).join(', ')} (${summary})${run.LastFailureMessage ? `; last failure: ${run.LastFailureMessage}` : ''}. `
      + `Each assessment's findings are in ${location} (summary.json, and one file per assessment). Fix what they name, or list the assessments in `
      + 'premigrationAssessment.acknowledgedAssessments to accept them, and deploy again.'));
  }
  return {
    IsComplete: true,
    Data: {
      RunArn: run.ReplicationTaskAssessmentRunArn ?? '',
      Status: run.Status ?? '',
      Summary: summary,
      ResultLocation: location,
      Warnings: warnings.map((a) => a.IndividualAssessmentName).join(','),
      Acknowledged: accepted.map((a) => a.IndividualAssessmentName).join(','),
    },
  };
}

function describe(a: ReplicationTaskIndividualAssessment): string {
  return `${a.IndividualAssessmentName} (${a.Status})`;
}

/** Counts by outcome: the run's statistics, or counted from its individual assessments. */
function summarize(run: ReplicationTaskAssessmentRun, individuals: ReplicationTaskIndividualAssessment[]): string {
  const stats = run.ResultStatistic;
  const count = (status: string) => individuals.filter((a) => a.Status === status).length;
  const values: Array<[string, number]> = [
    ['passed', stats?.Passed ?? count('passed')],
    ['failed', stats?.Failed ?? count('failed')],
    ['error', stats?.Error ?? count('error')],
    ['warning', stats?.Warning ?? count('warning')],
    ['cancelled', stats?.Cancelled ?? count('cancelled')],
    ['skipped', stats?.Skipped ?? count('skipped')],
  ];
  return values.map(([name, n]) => `${n} ${name}`).join(', ');
}

function resultLocation(props: PremigrationAssessmentProperties): string {
  return `s3://${props.ResultLocationBucket}/${props.TaskIdentifier}/`;
}

/**
 * DMS refuses a run naming assessments that do not apply to the task's engines and migration type;
 * say which do, before starting. Acknowledged names that do not apply are only logged.
 */
async function checkAssessmentNames(props: PremigrationAssessmentProperties): Promise<void> {
  const named = [...(props.IncludeOnly ?? []), ...(props.Exclude ?? []), ...(props.AcknowledgedAssessments ?? [])];
  if (named.length === 0) {
    return;
  }
  const applicable: string[] = [];
  let marker: string | undefined;
  do {
    const page = await withThrottleRetry('DescribeApplicableIndividualAssessments', () => dms().send(
      new DescribeApplicableIndividualAssessmentsCommand({ ReplicationTaskArn: props.TaskArn, MaxRecords: 100, Marker: marker })));
    applicable.push(...(page.IndividualAssessmentNames ?? []));
    marker = page.Marker;
  } while (marker);
  const known = new Set(applicable);
  const unknown = [...(props.IncludeOnly ?? []), ...(props.Exclude ?? [])].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(limit(`premigrationAssessment names assessments that do not apply to task ${props.TaskIdentifier}: ${unknown.join(', ')}. `
      + `DMS applies these to it: ${applicable.join(', ') || '(none)'}. Correct includeOnly/exclude.`));
  }
  for (const name of (props.AcknowledgedAssessments ?? []).filter((n) => !known.has(n))) {
    console.log(`acknowledgedAssessments names '${name}', which does not apply to task ${props.TaskIdentifier}`);
  }
}

/** Starts the run; undefined when DMS refused it for a reason that passes (retried by isComplete). */
async function tryStart(props: PremigrationAssessmentProperties, runName: string): Promise<string | undefined> {
  try {
    return await start(props, runName, true);
  } catch (e) {
    if (e instanceof RetryLater) {
      console.log(`${runName} not started yet: ${e.message}`);
      return undefined;
    }
    throw e;
  }
}

class RetryLater extends Error {}

async function start(props: PremigrationAssessmentProperties, runName: string, retryable = false): Promise<string> {
  try {
    const result = await withThrottleRetry('StartReplicationTaskAssessmentRun', () => dms().send(new StartReplicationTaskAssessmentRunCommand({
      ReplicationTaskArn: props.TaskArn,
      ServiceAccessRoleArn: props.ServiceAccessRoleArn,
      ResultLocationBucket: props.ResultLocationBucket,
      ResultLocationFolder: props.TaskIdentifier,
      ResultEncryptionMode: props.ResultKmsKeyArn ? 'SSE_KMS' : 'SSE_S3',
      ResultKmsKeyArn: props.ResultKmsKeyArn,
      AssessmentRunName: runName,
      IncludeOnly: props.IncludeOnly && props.IncludeOnly.length > 0 ? props.IncludeOnly : undefined,
      Exclude: props.Exclude && props.Exclude.length > 0 ? props.Exclude : undefined,
    })));
    return result.ReplicationTaskAssessmentRun?.ReplicationTaskAssessmentRunArn ?? '';
  } catch (e) {
    if (isError(e, 'InvalidResourceStateFault')) {
      const task = await describeTaskByArn(props.TaskArn);
      if (task?.Status === 'running' || task?.Status === 'starting') {
        throw new Error(`DMS assesses a task that is not running, and task ${props.TaskIdentifier} is ${task.Status}: stop it, deploy again, and start it `
          + 'once the assessment passed (the task\'s lifecycle starts it after the assessment on the first deploy).');
      }
    }
    if (isError(e, ...START_RETRYABLE)) {
      if (retryable) {
        throw new RetryLater(errorMessage(e));
      }
      throw new Error(limit(`DMS did not start the premigration assessment of task ${props.TaskIdentifier} within ${START_RETRY_MS / 60_000} minutes: `
        + `${errorMessage(e)}. Check that DMS may assume ${props.ServiceAccessRoleArn} (trust dms.amazonaws.com) and that the role may write to `
        + `s3://${props.ResultLocationBucket}${props.ResultKmsKeyArn ? ` and use the key ${props.ResultKmsKeyArn}` : ''}.`));
    }
    throw e;
  }
}

async function cancelOnDelete(props: PremigrationAssessmentProperties, physicalId: string): Promise<OnEventResult> {
  const runName = runNameOf(physicalId);
  const run = runName ? await findRun(props.TaskArn, runName) : undefined;
  if (run && ACTIVE.has(run.Status ?? '')) {
    await cancel(run);
    return { PhysicalResourceId: physicalId, Data: { RunName: runName! } };
  }
  console.log(`Delete: ${runName ?? physicalId} is ${run?.Status ?? 'gone'}; its results stay in the bucket`);
  return { PhysicalResourceId: physicalId, Data: { RunName: '' } };
}

async function cancel(run: ReplicationTaskAssessmentRun): Promise<void> {
  try {
    await withThrottleRetry('CancelReplicationTaskAssessmentRun', () => dms().send(
      new CancelReplicationTaskAssessmentRunCommand({ ReplicationTaskAssessmentRunArn: run.ReplicationTaskAssessmentRunArn })));
    console.log(`${run.AssessmentRunName} cancelled`);
  } catch (e) {
    console.log(`${run.AssessmentRunName} could not be cancelled: ${errorMessage(e)}`);
  }
}

/** The task's run called `runName`, undefined when there is none. */
async function findRun(taskArn: string, runName: string): Promise<ReplicationTaskAssessmentRun | undefined> {
  let marker: string | undefined;
  do {
    let page;
    try {
      page = await withThrottleRetry('DescribeReplicationTaskAssessmentRuns', () => dms().send(new DescribeReplicationTaskAssessmentRunsCommand({
        Filters: [{ Name: 'replication-task-arn', Values: [taskArn] }],
        MaxRecords: 100,
        Marker: marker,
      })));
    } catch (e) {
      if (isError(e, 'ResourceNotFoundFault')) {
        return undefined;
      }
      throw e;
    }
    const found = (page.ReplicationTaskAssessmentRuns ?? []).find((r) => r.AssessmentRunName === runName);
    if (found) {
      return found;
    }
    marker = page.Marker;
  } while (marker);
  return undefined;
}

async function listIndividuals(runArn: string): Promise<ReplicationTaskIndividualAssessment[]> {
  const all: ReplicationTaskIndividualAssessment[] = [];
  let marker: string | undefined;
  do {
    const page = await withThrottleRetry('DescribeReplicationTaskIndividualAssessments', () => dms().send(
      new DescribeReplicationTaskIndividualAssessmentsCommand({
        Filters: [{ Name: 'replication-task-assessment-run-arn', Values: [runArn] }],
        MaxRecords: 100,
        Marker: marker,
      })));
    all.push(...(page.ReplicationTaskIndividualAssessments ?? []));
    marker = page.Marker;
  } while (marker);
  return all;
}

/** A run name DMS has not seen for the task: its identifier and the time, e.g. `neon-migration-20261129120000`. */
function newRunName(taskIdentifier: string): string {
  const stamp = new Date(timing.now()).toISOString().replace(/[^0-9]/g, '').slice(0, 14);
  return `${taskIdentifier.slice(0, 48).replace(/-+$/, '')}-${stamp}`;
}

function runNameOf(physicalId: string | undefined): string | undefined {
  const match = /^premigration-assessment:(.+)$/.exec(physicalId ?? '');
  return match?.[1];
}

function limit(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

function parseProperties(raw: Record<string, any>): PremigrationAssessmentProperties {
  const list = (value: unknown): string[] | undefined => (Array.isArray(value) ? value.map(String) : undefined);
  return {
    TaskArn: String(raw.TaskArn ?? ''),
    TaskIdentifier: String(raw.TaskIdentifier ?? ''),
    TaskPropertiesHash: String(raw.TaskPropertiesHash ?? ''),
    ServiceAccessRoleArn: String(raw.ServiceAccessRoleArn ?? ''),
    ResultLocationBucket: String(raw.ResultLocationBucket ?? ''),
    ResultKmsKeyArn: raw.ResultKmsKeyArn || undefined,
    IncludeOnly: list(raw.IncludeOnly),
    Exclude: list(raw.Exclude),
    AcknowledgedAssessments: list(raw.AcknowledgedAssessments),
    FailOnWarning: raw.FailOnWarning,
    MaxWaitSeconds: String(raw.MaxWaitSeconds ?? '3000'),
  };
}
