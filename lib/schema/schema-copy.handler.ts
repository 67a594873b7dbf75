// The AWS SDK comes from the Lambda runtime: the handler bundles mark it external.
import * as crypto from 'crypto';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, Build, CodeBuildClient, ListBuildsForProjectCommand, StartBuildCommand, StopBuildCommand } from '@aws-sdk/client-codebuild';
import { errorMessage, isError, timing } from '../core/api-calls';
import { describeReplicationByArn, replicationFailure, replicationFinished, replicationHasRun } from '../dms-api/dms-replication';
import { describeTaskByArn, hasRun, ruleFor, startTask, stoppedBecauseFinished, taskFailure } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';
import { LoadWaitProperties, signalWaitCondition, startLoadWait, startsLoadWait, waitsThroughCondition } from '../provider/load-wait-poll';
import { stackStatus } from '../provider/stack-status';

/** Properties of a `Custom::NeonSchemaCopy` resource (CloudFormation passes every value as a string). */
export interface SchemaCopyProperties extends LoadWaitProperties {
  /** The CodeBuild project that runs the schema tool. */
  readonly ProjectName: string;
  /** The tool's steps, in order, separated by spaces: `pre`, `post sequences`, `indexes`, `constraints sequences`. */
  readonly Steps: string;
  /** The task's DMS table mapping (JSON): which tables the steps copy. */
  readonly TableMappings: string;
  /** Changing it runs the steps again. */
  readonly Refresh?: string;
  /**
   * The replication task, or DMS Serverless replication configuration, whose full load the steps
   * follow: they wait for it (through the wait condition), or without one refuse to run while it loads.
   */
  readonly LoadArn?: string;
  /**
   * A task stopped after its full load, before applying the cached changes
   * (`StopTaskCachedChangesNotApplied`): resumed once the steps succeeded.
   */
  readonly ResumeTaskArn?: string;
  /** The build's timeout, in minutes (`timeoutInMinutesOverride`). */
  readonly TimeoutMinutes?: string;
  /** How long a build may wait in CodeBuild's queue, in minutes (the project's `queuedTimeoutInMinutes`). */
  readonly QueueMinutes?: string;
  /**
   * With a wait condition: how long, in seconds from the hand-over, the step waits for the full
   * load before it gives up, leaving its queue, build and resume time within the condition's.
   */
  readonly LoadWaitSeconds?: string;
  /** With a wait condition: how long, in seconds from the hand-over, the whole step may take (the condition waits a margin longer). */
  readonly MaxWaitSeconds?: string;
}

/** The step the rollback of a failed create of the `pre` step runs: it drops what `pre` created. */
export const UNDO_STEP = 'undo';
/** The build timeout of the undo step, in minutes. */
const UNDO_TIMEOUT_MINUTES = 15;
/** Stack statuses in which deleting the `pre` step undoes it: the operation that created it failed and is being rolled back. */
const UNDO_STATUSES = new Set(['ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS']);
/** Stack statuses in which a step handed to the load waiter stops: nothing waits for it any more, and it must not start a build. */
const STOPPING_STATUSES = /ROLLBACK|DELETE/;

/** Lines of the build log a failure message carries: the tool's own messages come last. */
const LOG_LINES = 12;
/** The longest failure message: CloudFormation shows the reason of a failed resource (4 KB response). */
const MAX_MESSAGE = 1500;
/** CodeBuild's default queue timeout, for a project that sets none (480 minutes). */
const DEFAULT_QUEUE_MINUTES = 480;

let codeBuildClient: CodeBuildClient | undefined;
function codeBuild(): CodeBuildClient {
  codeBuildClient ??= new CodeBuildClient({ maxAttempts: 8 });
  return codeBuildClient;
}

let logsClient: CloudWatchLogsClient | undefined;
function logs(): CloudWatchLogsClient {
  logsClient ??= new CloudWatchLogsClient({ maxAttempts: 8 });
  return logsClient;
}

/*
 * Create (and an update that changes Refresh):
 * - a step with a wait condition (the steps after the full load): hands the step to the stack's load
 *   waiter and completes; the waiter's polls (loadProgress) wait for the full load, start the build,
 *   follow it, resume a task stopped after its load, and signal the wait condition, up to 12 hours;
 * - a step without one (pre): starts a build of the project with the steps and the table mapping as
 *   environment variables (the connection details come from Secrets Manager into the build, never
 *   through here); isComplete waits for the build and fails with the end of the build log (the
 *   tool's own message), or says so when the build never left CodeBuild's queue.
 * Other updates: nothing (a new wait condition is signalled at once: there is nothing to wait for).
 * Delete: the schema stays in Neon, except when the stack rolls back the operation that created the
 *   pre step (a failed first deployment): then the undo step drops what pre created, so that the next
 *   deployment's pre finds the target as this one did; never failing the rollback. Deleting a step
 *   after the load stops its builds still running.
 */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const physicalId = event.PhysicalResourceId ?? `schema-copy:${props.ProjectName}:${props.Steps}`;
  if (event.RequestType === 'Delete') {
    return { PhysicalResourceId: physicalId, Data: await deleteStep(event, props) };
  }
  if (event.RequestType === 'Update' && !runsAgain(event)) {
    console.log('Update: no schema step to run');
    if (startsLoadWait(event)) {
      const reason = `this deployment runs no schema step '${props.Steps}': nothing to wait for`;
      await signalWaitCondition(props.LoadWaitHandle!, { Status: 'SUCCESS', Reason: reason, UniqueId: event.LogicalResourceId, Data: reason });
    }
    return { PhysicalResourceId: physicalId, Data: { BuildId: '' } };
  }
  if (waitsThroughCondition(event)) {
    await startLoadWait(event, { HandedOverAt: String(timing.now()) });
    console.log(`Schema steps '${props.Steps}' handed to the load waiter: they run once the full load finished, and the wait condition completes with them`);
    return { PhysicalResourceId: physicalId, Data: { BuildId: '' } };
  }
  if (props.LoadArn) {
    await requireFullLoadFinished(props.LoadArn, props.Steps);
  }
  const buildId = await startBuild(props, props.Steps);
  return { PhysicalResourceId: physicalId, Data: { BuildId: buildId } };
}

/**
 * Whether an update runs the steps again: only when Refresh changed. The steps ran when the resource
 * was created; running them again on a changed selection would fail on the tables they created
 * (the pre-data step refuses existing tables, the others existing indexes), so that is the user's
 * explicit decision, after dropping what is to be created again.
 */
export function runsAgain(event: ProviderRequest): boolean {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const old = (event.OldResourceProperties ?? {}) as Partial<SchemaCopyProperties>;
  return old.Refresh !== props.Refresh;
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const buildId = event.Data?.BuildId as string | undefined;
  if (!buildId) {
    return { IsComplete: true };
  }
  if (event.Data?.Undo === 'true') {
    return undoIsComplete(buildId);
  }
  if (event.Data?.BuildStatus !== 'SUCCEEDED') {
    if (!(await buildSucceeded(buildId, props))) {
      return { IsComplete: false };
    }
  }
  if (!props.ResumeTaskArn) {
    return { IsComplete: true, Data: { BuildStatus: 'SUCCEEDED' } };
  }
  // the Provider framework refuses Data with IsComplete false: each poll reads the build again
  return await resumeStep(props.ResumeTaskArn) ? { IsComplete: true, Data: { BuildStatus: 'SUCCEEDED' } } : { IsComplete: false };
}

/**
 * One look of the load waiter at a step handed to it (its state in `event.Data`: `Phase`, `BuildId`):
 * `load` waits for the full load, `build` follows the build, `resume` resumes a task stopped after
 * its load. Fails (the waiter signals FAILURE) when the load failed or its task is gone, when the
 * load outlasts the step's `LoadWaitSeconds`, when the build failed, and when the stack is rolled
 * back or deleted meanwhile (nothing waits for the step any more: it must start nothing).
 */
export async function loadProgress(event: ProviderRequest): Promise<IsCompleteResult> {
  const props = event.ResourceProperties as unknown as SchemaCopyProperties;
  const data = event.Data ?? {};
  const handedOverAt = Number(data.HandedOverAt ?? timing.now());
  const status = await stackStatus(event.StackId);
  if (STOPPING_STATUSES.test(status)) {
    throw new Error(`The stack is ${status}: the schema steps '${props.Steps}' no longer run (nothing waits for them).`);
  }
  const maxWait = Number(props.MaxWaitSeconds ?? 0);
  if (maxWait > 0 && timing.now() > handedOverAt + maxWait * 1000) {
    throw new Error(`The schema steps '${props.Steps}' did not complete within ${hours(maxWait)} of the full load's end being awaited: `
      + 'CloudFormation waits at most 12 hours for them. See the build in the CodeBuild console.');
  }
  let phase = String(data.Phase ?? (props.LoadArn ? 'load' : 'start'));
  if (phase === 'load') {
    if (!(await loadFinished(props, handedOverAt))) {
      return { IsComplete: false, Data: { Phase: 'load' } };
    }
    phase = 'start';
  }
  if (phase === 'start') {
    const buildId = await startBuild(props, props.Steps, crypto.createHash('sha256').update(props.LoadWaitHandle ?? event.RequestId).digest('hex').slice(0, 32));
    return { IsComplete: false, Data: { Phase: 'build', BuildId: buildId } };
  }
  if (phase === 'build') {
    if (!(await buildSucceeded(String(data.BuildId), props))) {
      return { IsComplete: false };
    }
    if (!props.ResumeTaskArn) {
      return { IsComplete: true, Data: { Reason: `schema steps '${props.Steps}' completed (build ${data.BuildId})` } };
    }
    phase = 'resume';
  }
  if (await resumeStep(props.ResumeTaskArn!)) {
    return { IsComplete: true, Data: { Reason: `schema steps '${props.Steps}' completed (build ${data.BuildId}); the task was resumed` } };
  }
  return { IsComplete: false, Data: { Phase: 'resume' } };
}

/** Starts a build of the steps; its id. */
async function startBuild(props: SchemaCopyProperties, steps: string, idempotencyToken?: string, timeoutMinutes?: number): Promise<string> {
  const timeout = timeoutMinutes ?? Number(props.TimeoutMinutes ?? 0);
  const result = await codeBuild().send(new StartBuildCommand({
    projectName: props.ProjectName,
    environmentVariablesOverride: [
      { name: 'SCHEMA_STEPS', value: steps, type: 'PLAINTEXT' },
      { name: 'TABLE_MAPPINGS', value: props.TableMappings, type: 'PLAINTEXT' },
    ],
    ...(timeout > 0 ? { timeoutInMinutesOverride: timeout } : {}),
    ...(idempotencyToken ? { idempotencyToken } : {}),
  }));
  const buildId = result.build?.id;
  if (!buildId) {
    throw new Error(`CodeBuild started no build of ${props.ProjectName}.`);
  }
  console.log(`Schema steps '${steps}' started: build ${buildId}`);
  return buildId;
}

/**
 * Whether the build succeeded: false while it is queued or runs (logging where it is), an error with
 * the end of its log when it failed, and one that says so when it never left CodeBuild's queue.
 */
async function buildSucceeded(buildId: string, props: SchemaCopyProperties): Promise<boolean> {
  const build = (await codeBuild().send(new BatchGetBuildsCommand({ ids: [buildId] }))).builds?.[0];
  const status = build?.buildStatus ?? 'IN_PROGRESS';
  const phase = build?.currentPhase ?? 'QUEUED';
  if (status === 'IN_PROGRESS') {
    if (phase === 'SUBMITTED' || phase === 'QUEUED') {
      const queued = build?.startTime ? Math.round((timing.now() - build.startTime.getTime()) / 60_000) : 0;
      console.log(`Build ${buildId} is queued for ${queued} min: CodeBuild's concurrent builds are in use; it leaves the queue `
        + `after ${queueMinutes(props)} min (queuedTimeoutInMinutes) if it has not started`);
    } else {
      console.log(`Build ${buildId}: ${status} (${phase})`);
    }
    return false;
  }
  if (status === 'SUCCEEDED') {
    return true;
  }
  if (neverLeftQueue(build)) {
    throw new Error(`Schema steps '${props.Steps}' did not start: build ${buildId} waited in CodeBuild's queue for ${queueMinutes(props)} minutes `
      + '(the project\'s queuedTimeoutInMinutes) and was removed from it (' + status + '). The account\'s concurrent builds of this compute type '
      + 'were in use by other builds (a CodeBuild quota): deploy again once they finished, or raise the quota.');
  }
  throw new Error(`Schema steps '${props.Steps}' failed (build ${buildId}, ${status}): ${await failureOf(build)}`);
}

/** Whether a finished build ended before it left the queue: its QUEUED phase did not succeed, or it has no phase after it. */
function neverLeftQueue(build: Build | undefined): boolean {
  const phases = build?.phases ?? [];
  const queued = phases.find(p => p.phaseType === 'QUEUED');
  if (queued && queued.phaseStatus && queued.phaseStatus !== 'SUCCEEDED') return true;
  return phases.length > 0 && !phases.some(p => p.phaseType && !['SUBMITTED', 'QUEUED', 'COMPLETED'].includes(p.phaseType));
}

function queueMinutes(props: SchemaCopyProperties): number {
  const n = Number(props.QueueMinutes);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_QUEUE_MINUTES;
}

/** Full-load statistics of a task or a serverless replication. */
interface LoadState {
  readonly name: string;
  readonly status?: string;
  /** `finished`, still `loading`, or why it will not finish: `gone`, `failed`, `stopped`, `never-started`. */
  readonly outcome: 'finished' | 'loading' | 'gone' | 'failed' | 'stopped' | 'never-started';
  readonly percent?: number;
  readonly failure?: string;
}

/**
 * Whether the full load the step follows finished; false while it loads (until `LoadWaitSeconds`
 * after the hand-over); an error when it will not finish (failed, stopped, never started, gone) or
 * took longer than the step may wait.
 */
async function loadFinished(props: SchemaCopyProperties, handedOverAt: number): Promise<boolean> {
  const state = await loadState(props.LoadArn!);
  console.log(`Full load of ${state.name}: ${state.status ?? 'not found'}, ${state.percent ?? 0}% (${state.outcome})`);
  const steps = `the schema steps '${props.Steps}' did not run`;
  switch (state.outcome) {
    case 'finished':
      return true;
    case 'gone':
      throw new Error(`The replication task or replication ${props.LoadArn} no longer exists (DMS finds none): it was deleted while `
        + `the schema steps '${props.Steps}' waited for its full load; ${steps}.`);
    case 'failed':
      throw new Error(`The full load of ${state.name} failed, so ${steps}: ${state.failure}`);
    case 'stopped':
      throw new Error(`${state.name} stopped before its full load finished (${state.failure}), so ${steps}. Start it again, `
        + 'then run the steps by hand (cdk-neon-migration schema) or deploy with a changed schemaCopy.refresh.');
    case 'never-started':
      throw new Error(`${state.name} never started, so its full load cannot finish and ${steps}: start the task (startOnDeploy) or leave the schema copy out.`);
    default:
      break;
  }
  const limit = Number(props.LoadWaitSeconds ?? 0);
  if (limit > 0 && timing.now() >= handedOverAt + limit * 1000) {
    throw new Error(`The full load of ${state.name} has not finished (${state.status}, ${state.percent ?? 0}% loaded) ${hours(limit)} after `
      + `the deployment began waiting for it here, and ${steps}: CloudFormation waits at most 12 hours for them, the build's timeout `
      + 'included. Raise maxWait (the lifecycle waits up to 11 hours 45 minutes before these steps begin to), shorten schemaCopy.timeout, '
      + 'or set schemaCopy.deployAfterLoadSteps: false and run them by hand (cdk-neon-migration schema) once the load ended.');
  }
  return false;
}

/** Fails unless the full load finished (a step without a wait condition: it cannot wait for it). */
async function requireFullLoadFinished(arn: string, steps: string): Promise<void> {
  const state = await loadState(arn);
  console.log(`Full load of ${state.name}: ${state.status ?? 'unknown'}, ${state.percent ?? 0}% (${state.outcome})`);
  if (state.outcome !== 'finished') {
    throw new Error(`The full load of ${state.name} has not finished (${state.status ?? 'not found'}, ${state.percent ?? 0}% loaded): `
      + `the schema steps '${steps}' must not run while DMS loads, and this step cannot wait for it. Run them by hand with `
      + 'cdk-neon-migration schema once the load ended.');
  }
}

async function loadState(arn: string): Promise<LoadState> {
  const loaded = (stats: { FullLoadProgressPercent?: number; TablesLoading?: number; TablesQueued?: number } | undefined) =>
    (stats?.FullLoadProgressPercent ?? 0) >= 100 && (stats?.TablesLoading ?? 0) === 0 && (stats?.TablesQueued ?? 0) === 0;
  if (/:replication-config:/.test(arn)) {
    const replication = await describeReplicationByArn(arn);
    if (!replication) return { name: arn, outcome: 'gone' };
    const status = replication.Status?.toLowerCase() ?? '';
    const base = { name: `replication ${replication.ReplicationConfigIdentifier ?? arn}`, status: replication.Status, percent: replication.ReplicationStats?.FullLoadProgressPercent };
    if (replicationFinished(replication) || (status === 'running' && loaded(replication.ReplicationStats))) return { ...base, outcome: 'finished' };
    if (status === 'failed') return { ...base, outcome: 'failed', failure: replicationFailure(replication) };
    if (status === 'stopped') return { ...base, outcome: 'stopped', failure: replicationFailure(replication) };
    if (!replicationHasRun(replication) && ['created', 'ready'].includes(status)) return { ...base, outcome: 'never-started' };
    return { ...base, outcome: 'loading' };
  }
  const task = await describeTaskByArn(arn);
  if (!task) return { name: arn, outcome: 'gone' };
  const base = { name: `task ${task.ReplicationTaskIdentifier ?? arn}`, status: task.Status, percent: task.ReplicationTaskStats?.FullLoadProgressPercent };
  if ((task.Status === 'stopped' && stoppedBecauseFinished(task)) || (task.Status === 'running' && loaded(task.ReplicationTaskStats))) {
    return { ...base, outcome: 'finished' };
  }
  if (task.Status === 'failed') return { ...base, outcome: 'failed', failure: taskFailure(task) };
  if (task.Status === 'stopped') return { ...base, outcome: 'stopped', failure: taskFailure(task) };
  if (task.Status === 'ready' && !hasRun(task)) return { ...base, outcome: 'never-started' };
  return { ...base, outcome: 'loading' };
}

/**
 * What deleting a step does. The pre step, while the stack rolls back the operation that created
 * it, starts the undo build (isComplete follows it); a step after the load stops the project's
 * builds still running (its own: the other steps of the project ran before it or after it). Never
 * fails: a deletion or rollback must go on; what could not be done is logged with what to do.
 */
async function deleteStep(event: ProviderRequest, props: SchemaCopyProperties): Promise<Record<string, string>> {
  try {
    if (props.Steps === 'pre') {
      const status = await stackStatus(event.StackId);
      if (!UNDO_STATUSES.has(status)) {
        console.log(`Delete (${status}): the schema stays in Neon`);
        return { BuildId: '' };
      }
      console.log(`The stack is ${status}: the operation that ran the pre step failed; dropping what it created, so that the next deployment's pre step can create it again`);
      return { BuildId: await startBuild(props, UNDO_STEP, undefined, UNDO_TIMEOUT_MINUTES), Undo: 'true' };
    }
    await stopRunningBuilds(props);
  } catch (e) {
    console.log(`Delete of the schema steps '${props.Steps}': ${errorMessage(e)}; ${props.Steps === 'pre'
      ? 'what the pre step created stays in Neon: drop it by hand (schema-copy.sh undo) before the next deployment'
      : 'stop the build of the project in the CodeBuild console if one still runs'}`);
  }
  return { BuildId: '' };
}

/** Follows the undo build; complete when it ended, however it ended (logged). */
async function undoIsComplete(buildId: string): Promise<IsCompleteResult> {
  try {
    const build = (await codeBuild().send(new BatchGetBuildsCommand({ ids: [buildId] }))).builds?.[0];
    const status = build?.buildStatus ?? 'IN_PROGRESS';
    if (status === 'IN_PROGRESS') {
      console.log(`Undo build ${buildId}: ${build?.currentPhase ?? 'queued'}`);
      return { IsComplete: false };
    }
    console.log(status === 'SUCCEEDED'
      ? `Undo build ${buildId} dropped what the pre step created`
      : `Undo build ${buildId} ${status}: ${await failureOf(build)}. What the pre step created stays in Neon: drop it by hand (schema-copy.sh undo) before the next deployment`);
  } catch (e) {
    console.log(`Undo build ${buildId}: ${errorMessage(e)}; check it in the CodeBuild console`);
  }
  return { IsComplete: true };
}

/** Stops the project's builds that are still queued or running (the newest 100 builds are looked at). */
async function stopRunningBuilds(props: SchemaCopyProperties): Promise<void> {
  const ids = (await codeBuild().send(new ListBuildsForProjectCommand({ projectName: props.ProjectName, sortOrder: 'DESCENDING' }))).ids ?? [];
  if (ids.length === 0) return;
  const builds = (await codeBuild().send(new BatchGetBuildsCommand({ ids: ids.slice(0, 100) }))).builds ?? [];
  for (const build of builds.filter(b => b.buildStatus === 'IN_PROGRESS' && b.id)) {
    try {
      await codeBuild().send(new StopBuildCommand({ id: build.id }));
      console.log(`Stopped build ${build.id} of the schema steps '${props.Steps}': nothing waits for it any more`);
    } catch (e) {
      console.log(`Stopping build ${build.id}: ${errorMessage(e)}`);
    }
  }
}

/** The end of the build's log, where the tool writes its own message, or CodeBuild's phase messages. */
async function failureOf(build: Build | undefined): Promise<string> {
  const group = build?.logs?.groupName;
  const stream = build?.logs?.streamName;
  let text = '';
  if (group && stream) {
    try {
      const events = await logs().send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: false, limit: 50 }));
      const lines = (events.events ?? []).map(e => (e.message ?? '').trimEnd()).filter(line => line.length > 0 && !/^\[Container\]/.test(line));
      text = lines.slice(-LOG_LINES).join(' | ');
    } catch (e) {
      console.log(`The build log could not be read: ${errorMessage(e)}`);
    }
  }
  if (!text) {
    text = (build?.phases ?? []).flatMap(p => (p.contexts ?? []).map(c => c.message ?? '')).filter(m => m.length > 0).join(' | ')
      || 'the build log holds no message';
  }
  return text.length > MAX_MESSAGE ? `…${text.slice(-MAX_MESSAGE)}` : text;
}

/** Resumes the task stopped after its full load (it applies the cached changes and continues with CDC); true when running. */
async function resumeStep(taskArn: string): Promise<boolean> {
  const task = await describeTaskByArn(taskArn);
  if (!task) {
    throw new Error(`Replication task ${taskArn} not found: it cannot be resumed after the schema steps.`);
  }
  const rule = ruleFor(task.Status);
  console.log(`Task ${task.ReplicationTaskIdentifier} is ${task.Status}: ${rule.reason} → ${rule.toRun}`);
  switch (rule.toRun) {
    case 'done':
      return true;
    case 'fail':
      throw new Error(`Replication task ${task.ReplicationTaskIdentifier} cannot be resumed after the schema steps: it is ${task.Status} (${rule.reason}).`);
    case 'wait':
      return false;
    default:
      try {
        await startTask(taskArn, 'resume-processing');
        console.log(`Task ${task.ReplicationTaskIdentifier} resumed: it applies the cached changes, then replicates changes`);
      } catch (e) {
        if (!isError(e, 'InvalidResourceStateFault')) {
          throw e;
        }
        console.log(`Resuming ${task.ReplicationTaskIdentifier} not accepted now (${errorMessage(e)}); polling again`);
      }
      return false;
  }
}

function hours(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return h > 0 ? `${h} h${m > 0 ? ` ${m} min` : ''}` : `${m} min`;
}
