import { ReplicationTask, StartReplicationTaskTypeValue } from '@aws-sdk/client-database-migration-service';
import * as connectionTest from './connection-test.handler';
import type { SourceEndpointDetails } from './connection-test.handler';
import { rollbackStep } from './task-stopper.handler';
import { errorMessage, isError, isThrottling, timing, withThrottleRetry } from '../core/api-calls';
import { describeTableStatistics, describeTaskByArn, failedTables, hasRun, logProgress, publishProgress, ruleFor, startTask, stopTask, stoppedBecauseFinished, taskFailure } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';
import { LoadWaitProperties, handOverLoadWait, waitsThroughCondition } from '../provider/load-wait-poll';
import { isRollingBack } from '../provider/stack-status';

/** Properties of a `Custom::DmsTaskLifecycle` resource (CloudFormation passes every value as a string). */
export interface TaskLifecycleProperties extends LoadWaitProperties {
  readonly TaskArn: string;
  readonly TaskIdentifier: string;
  /** The task's logical id in the stack (see `StoppedTask.LogicalId`). */
  readonly TaskLogicalId?: string;
  readonly PropertiesHash: string;
  readonly MigrationType: string;
  /** 'true' | 'false' */
  readonly StartOnDeploy?: string;
  /** 'true' | 'false' */
  readonly WaitForCompletion?: string;
  readonly MaxWaitSeconds?: string;
  /** 'resume-processing' | 'reload-target' | 'leave-stopped' */
  readonly OnUpdate?: string;
  /** Endpoints whose connections from `TestReplicationInstanceArn` are tested before the task starts. */
  readonly TestEndpointArns?: string[];
  readonly TestReplicationInstanceArn?: string;
  /** The source endpoints among `TestEndpointArns`, for the failure hints. */
  readonly TestSources?: SourceEndpointDetails[];
}

/** `TaskUpdateBehavior.LEAVE_STOPPED`. */
const LEAVE_STOPPED = 'leave-stopped';
const DEFAULT_MAX_WAIT_SECONDS = 50 * 60;
/** Tables named in a failure message; the rest are logged. */
const MAX_TABLES_NAMED = 20;

/** What a create or update does with the task. */
interface StartPlan {
  readonly goal: 'running' | 'none';
  readonly startType?: StartReplicationTaskTypeValue;
  readonly why: string;
}

/*
 * Connection test (with TestEndpointArns): on create, and on an update that changes the endpoints
 *   or the instance, onEvent starts TestConnection for each endpoint (as Custom::DmsConnectionTest
 *   does) and starts nothing; isComplete waits until every test succeeded, fails with DMS's message
 *   and a hint when one failed, and only then starts the task (StartIssued is false).
 * Create/Update: start the task when the plan says so (first run: start-replication; after a
 *   change: resume-processing or reload-target per OnUpdate), then isComplete waits until it runs
 *   (or, with WaitForCompletion, until the full load completed) and fails with DMS's message when it fails.
 * Delete: stop the task and wait until it stopped, so CloudFormation can delete it.
 * Update during a rollback (the stack is UPDATE_ROLLBACK_IN_PROGRESS): a task the failed update created
 *   (a replacement) is stopped, so CloudFormation can delete it; the restored task is stopped until
 *   CloudFormation has restored it and started again after, whichever of lifecycle and stopper runs
 *   after CloudFormation restored it (see the stopper).
 *
 * isComplete cannot keep state between polls: each poll reads the task, and the onEvent `Data`
 * (RequestedAt, StartIssued) tells a run this deployment started apart from an earlier one.
 */
/** During a rollback, updates run as written: its update during a rollback stops a task the failed update created and starts the restored one again (see onEvent). */
export const rollback = 'run';

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = properties(event);
  const requestedAt = timing.now();

  if (event.RequestType === 'Delete') {
    await withThrottleRetry(`Stopping ${props.TaskIdentifier}`, () => stopStep(props));
    return { PhysicalResourceId: event.PhysicalResourceId ?? props.TaskArn, Data: { TaskArn: props.TaskArn, Goal: 'stopped' } };
  }
  if (event.RequestType === 'Update' && await isRollingBack(event.StackId)) {
    return rollbackOnEvent(event, props);
  }

  const test = connectionTestOf(event);
  if (test) {
    await connectionTest.onEvent(test);
  }
  const task = await withThrottleRetry(`Describing ${props.TaskIdentifier}`, () => describeTaskByArn(props.TaskArn));
  const plan = planStart(event, props, task);
  console.log(`${event.RequestType} ${props.TaskIdentifier}: ${plan.goal === 'none' ? 'leaving the task as it is' : `start (${plan.startType})`}: ${plan.why}`);

  const data: Record<string, string> = {
    TaskArn: props.TaskArn,
    Goal: plan.goal,
    RequestedAt: String(requestedAt),
    WaitDeadline: String(requestedAt + maxWaitSeconds(props) * 1000),
    InitialStatus: task?.Status ?? 'not found',
    InitialFailure: failureKey(task?.LastFailureMessage),
  };
  if (plan.goal === 'none') {
    return { PhysicalResourceId: props.TaskArn, Data: { ...data, ...outcome(task) } };
  }
  data.StartType = plan.startType!;
  // with a connection test, the start waits for its result (isComplete)
  const issued = test ? false : await withThrottleRetry(`Starting ${props.TaskIdentifier}`, () => startStep(props, plan.startType!, task));
  data.StartIssued = String(issued);
  return { PhysicalResourceId: props.TaskArn, Data: data };
}

/**
 * The connection test this create or update runs before the start, as a `Custom::DmsConnectionTest`
 * request: on create, and when the endpoints or the instance changed; none otherwise.
 */
export function connectionTestOf(event: ProviderRequest): ProviderRequest | undefined {
  const props = properties(event);
  if (event.RequestType === 'Delete' || !props.TestEndpointArns?.length || !props.TestReplicationInstanceArn) {
    return undefined;
  }
  const old = (event.OldResourceProperties ?? {}) as Partial<TaskLifecycleProperties>;
  if (event.RequestType === 'Update' && JSON.stringify(old.TestEndpointArns ?? []) === JSON.stringify(props.TestEndpointArns)
    && old.TestReplicationInstanceArn === props.TestReplicationInstanceArn) {
    return undefined;
  }
  return {
    ...event,
    ResourceType: 'Custom::DmsConnectionTest',
    ResourceProperties: {
      EndpointArns: props.TestEndpointArns,
      ReplicationInstanceArn: props.TestReplicationInstanceArn,
      Sources: props.TestSources,
    },
    OldResourceProperties: undefined,
  };
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const result = await isCompleteStep(event);
  if (result.IsComplete && event.Data?.Rollback !== 'true') {
    await handOverLoadWait(event, { ...event.Data, ...result.Data });
  }
  return result;
}

/**
 * An update CloudFormation sends while it rolls a failed update back. After a replacement, the new
 * task (the failed properties' `TaskArn`) is stopped: CloudFormation deletes it in the cleanup, and
 * DMS deletes no running task. The task the rollback restores is reconciled as the stopper does
 * (`rollbackStep`): started again once CloudFormation has restored it (its properties-hash tag),
 * stopped until then. Nothing here may fail the rollback.
 */
function rollbackOnEvent(event: ProviderRequest, props: TaskLifecycleProperties): OnEventResult {
  const old = (event.OldResourceProperties ?? {}) as Partial<TaskLifecycleProperties>;
  const replaced = old.TaskArn !== undefined && old.TaskArn !== props.TaskArn;
  const restores = replaced || old.TaskIdentifier !== props.TaskIdentifier || old.PropertiesHash !== props.PropertiesHash;
  console.log(`Rollback of ${props.TaskIdentifier}: ${restores ? 'reconciling the restored task' : 'the task itself is not restored; leaving it as it is'}`
    + `${replaced ? `; stopping ${old.TaskArn}, which CloudFormation deletes next` : ''}`);
  return {
    PhysicalResourceId: props.TaskArn,
    Data: { TaskArn: props.TaskArn, Goal: 'none', Rollback: 'true', Restore: String(restores), ...(replaced ? { StopArn: old.TaskArn } : {}) },
  };
}

/** Polls a rollback's update (see `rollbackOnEvent`); never fails it. */
async function rollbackIsComplete(event: ProviderRequest, props: TaskLifecycleProperties): Promise<IsCompleteResult> {
  try {
    const stopArn = event.Data?.StopArn as string | undefined;
    if (stopArn && !(await stopStep({ ...props, TaskArn: stopArn }))) {
      return { IsComplete: false };
    }
    if (event.Data?.Restore !== 'true') {
      return { IsComplete: true };
    }
    const entry = { Hash: props.PropertiesHash, OnUpdate: props.OnUpdate, StartOnDeploy: props.StartOnDeploy, LogicalId: props.TaskLogicalId };
    return { IsComplete: await rollbackStep(event.StackId, await describeTaskByArn(props.TaskArn), entry, props.TaskIdentifier) };
  } catch (e) {
    if (isThrottling(e)) {
      return { IsComplete: false };
    }
    // a rollback that fails here would leave the stack in UPDATE_ROLLBACK_FAILED
    console.log(`Rollback of ${props.TaskIdentifier}: ${errorMessage(e)}; leaving the task as it is`);
    return { IsComplete: true };
  }
}

/**
 * Where the full load this request started stands (for the load waiter): done when it finished or
 * `WaitDeadline` passed, an error when it failed.
 */
export async function loadProgress(event: ProviderRequest): Promise<IsCompleteResult> {
  return runStep(event, { ...properties(event), WaitForCompletion: 'true' }, 'gone');
}

async function isCompleteStep(event: ProviderRequest): Promise<IsCompleteResult> {
  const props = properties(event);
  try {
    if (event.RequestType === 'Delete') {
      return { IsComplete: await stopStep(props) };
    }
    if (event.Data?.Rollback === 'true') {
      return await rollbackIsComplete(event, props);
    }
    const test = connectionTestOf(event);
    if (test && !(await connectionTest.isComplete(test)).IsComplete) {
      return { IsComplete: false };
    }
    if (event.Data?.Goal !== 'running') {
      return { IsComplete: true };
    }
    return await runStep(event, props);
  } catch (e) {
    if (isThrottling(e)) {
      console.log(`DMS throttled the request for ${props.TaskIdentifier}; polling again`);
      return { IsComplete: false };
    }
    throw e;
  }
}

/** Decides whether a create or update starts the task, and how. */
export function planStart(event: ProviderRequest, props: TaskLifecycleProperties, task: ReplicationTask | undefined): StartPlan {
  const startOnDeploy = flag(props.StartOnDeploy, true);
  if (!task || !hasRun(task)) {
    return startOnDeploy
      ? { goal: 'running', startType: 'start-replication', why: 'the task never ran: first run' }
      : { goal: 'none', why: 'startOnDeploy is false and the task never ran' };
  }
  if (event.RequestType === 'Create') {
    return startOnDeploy
      ? { goal: 'running', startType: 'resume-processing', why: 'the task ran before: resuming it where it stopped' }
      : { goal: 'none', why: 'startOnDeploy is false' };
  }
  const old = (event.OldResourceProperties ?? {}) as Partial<TaskLifecycleProperties>;
  const changed = old.TaskArn !== props.TaskArn || old.TaskIdentifier !== props.TaskIdentifier || old.PropertiesHash !== props.PropertiesHash;
  if (!changed) {
    return { goal: 'none', why: 'the task did not change, so the stopper did not stop it' };
  }
  const onUpdate = props.OnUpdate ?? 'resume-processing';
  if (onUpdate === LEAVE_STOPPED) {
    return { goal: 'none', why: 'the task changed and onUpdate is LEAVE_STOPPED' };
  }
  return { goal: 'running', startType: onUpdate as StartReplicationTaskTypeValue, why: `the task changed: onUpdate is ${onUpdate}` };
}

/** Issues StartReplicationTask when the status allows it; true when a start was requested. */
async function startStep(props: TaskLifecycleProperties, type: StartReplicationTaskTypeValue, task: ReplicationTask | undefined): Promise<boolean> {
  if (!task) {
    console.log(`Task ${props.TaskArn} is not visible yet; polling again`);
    return false;
  }
  const rule = ruleFor(task.Status);
  console.log(`Task ${props.TaskIdentifier} is ${task.Status}: ${rule.reason} → ${rule.toRun}`);
  switch (rule.toRun) {
    case 'fail':
      throw new Error(`Replication task ${props.TaskIdentifier} cannot be started: it is ${task.Status} (${rule.reason}).`);
    case 'act':
      break;
    default:
      return false;
  }
  try {
    await startTask(props.TaskArn, type);
    console.log(`StartReplicationTask ${props.TaskIdentifier} (${type}) requested`);
    return true;
  } catch (e) {
    if (!isError(e, 'InvalidResourceStateFault')) {
      throw e;
    }
    const now = await describeTaskByArn(props.TaskArn);
    const next = ruleFor(now?.Status).toRun;
    if (now && (next === 'wait' || next === 'done')) {
      console.log(`StartReplicationTask ${props.TaskIdentifier} not accepted while ${now.Status}; polling again`);
      return false;
    }
    throw new Error(`Replication task ${props.TaskIdentifier} could not be started (${type}): ${errorMessage(e)}`);
  }
}

/**
 * One poll toward "running" (or "load completed" with WaitForCompletion). A task DMS does not find
 * is one it has not shown yet (`missing` 'not-yet': right after CloudFormation created it), or for
 * the load waiter, which follows a task it saw running, one that was deleted (`missing` 'gone'):
 * the wait ends there, failing, instead of polling a task that will never finish.
 */
async function runStep(event: ProviderRequest, props: TaskLifecycleProperties, missing: 'not-yet' | 'gone' = 'not-yet'): Promise<IsCompleteResult> {
  const data = event.Data ?? {};
  const requestedAt = Number(data.RequestedAt ?? 0);
  const startIssued = data.StartIssued === 'true';
  const task = await describeTaskByArn(props.TaskArn);
  if (!task && missing === 'gone') {
    throw new Error(`Replication task ${props.TaskIdentifier} no longer exists (DMS answers ResourceNotFoundFault for ${props.TaskArn}): `
      + 'it was deleted while the deployment waited for its full load (a rollback, a stack deletion, or by hand); the wait ends here.');
  }
  if (!task) {
    console.log(`Task ${props.TaskArn} is not visible yet; polling again`);
    return { IsComplete: false };
  }
  logProgress(task);
  await publishProgress(task);

  if (task.Status === 'running') {
    return runningStep(props, task, Number(data.WaitDeadline ?? 0));
  }

  // A run this deployment started has ended: judge its outcome.
  const ranNow = endedSince(task, requestedAt);
  const newFailure = task.Status === 'failed' && (startIssued || ranNow || failureKey(task.LastFailureMessage) !== (data.InitialFailure ?? ''));
  if (newFailure) {
    throw new Error(`Replication task ${props.TaskIdentifier} failed: ${taskFailure(task)}`);
  }
  if ((task.Status === 'stopped' || task.Status === 'ready') && ranNow) {
    if (!stoppedBecauseFinished(task)) {
      throw new Error(`Replication task ${props.TaskIdentifier} stopped during the deployment: ${taskFailure(task)}`);
    }
    if (flag(props.WaitForCompletion, false)) {
      await checkTables(props);
    }
    console.log(`Task ${props.TaskIdentifier} finished: ${task.StopReason}`);
    return { IsComplete: true, Data: outcome(task) };
  }

  const rule = ruleFor(task.Status);
  switch (rule.toRun) {
    case 'fail':
      throw new Error(`Replication task ${props.TaskIdentifier} cannot be started: it is ${task.Status} (${rule.reason}).`);
    case 'act':
      if (!startIssued) {
        // onEvent found the task busy (creating, modifying, ...): start it now
        await startStep(props, (data.StartType ?? 'start-replication') as StartReplicationTaskTypeValue, task);
      }
      return { IsComplete: false };
    default:
      return { IsComplete: false };
  }
}

/** The task runs: done, unless WaitForCompletion waits for the full load. */
async function runningStep(props: TaskLifecycleProperties, task: ReplicationTask, waitDeadline: number): Promise<IsCompleteResult> {
  if (!flag(props.WaitForCompletion, false)) {
    return { IsComplete: true, Data: outcome(task) };
  }
  const stats = task.ReplicationTaskStats ?? {};
  if ((stats.TablesErrored ?? 0) > 0) {
    await checkTables(props);
    throw new Error(`Replication task ${props.TaskIdentifier}: ${stats.TablesErrored} table(s) errored during the full load.`);
  }
  const loadDone = (stats.FullLoadProgressPercent ?? 0) >= 100 && (stats.TablesLoading ?? 0) === 0 && (stats.TablesQueued ?? 0) === 0;
  if (props.MigrationType === 'cdc' || (props.MigrationType === 'full-load-and-cdc' && loadDone)) {
    await checkTables(props);
    console.log(`Task ${props.TaskIdentifier} is running${props.MigrationType === 'cdc' ? '' : ' and its full load completed'}: replicating changes`);
    return { IsComplete: true, Data: outcome(task) };
  }
  if (waitDeadline > 0 && timing.now() >= waitDeadline) {
    console.log(`Stopped waiting for ${props.TaskIdentifier} after maxWait: the full load continues `
      + `(${stats.FullLoadProgressPercent ?? 0}% done); follow it in the DMS console or the task's CloudWatch metrics.`);
    return { IsComplete: true, Data: { ...outcome(task), WaitTimedOut: 'true' } };
  }
  return { IsComplete: false };
}

/** Fails naming every table that errored or failed validation. */
async function checkTables(props: TaskLifecycleProperties): Promise<void> {
  const failed = failedTables(await describeTableStatistics(props.TaskArn));
  if (failed.length > 0) {
    // the reason CloudFormation shows must stay well under the 4 KB custom-resource response
    const named = failed.slice(0, MAX_TABLES_NAMED).join(', ');
    const more = failed.length > MAX_TABLES_NAMED ? ` and ${failed.length - MAX_TABLES_NAMED} more (see the handler log)` : '';
    if (more) {
      console.log('Failed tables', JSON.stringify(failed));
    }
    throw new Error(`Replication task ${props.TaskIdentifier}: ${failed.length} table(s) failed: ${named}${more}`);
  }
}

/** One reconcile step toward "stopped" (delete); true when stopped or gone. */
async function stopStep(props: TaskLifecycleProperties): Promise<boolean> {
  const task = await describeTaskByArn(props.TaskArn);
  if (!task) {
    console.log(`Task ${props.TaskArn} does not exist: nothing to stop`);
    return true;
  }
  const rule = ruleFor(task.Status);
  console.log(`Task ${props.TaskIdentifier} is ${task.Status}: ${rule.reason} → ${rule.toStop}`);
  if (rule.toStop === 'done') {
    return true;
  }
  if (rule.toStop === 'act') {
    try {
      await stopTask(props.TaskArn);
      console.log(`StopReplicationTask ${props.TaskIdentifier} requested`);
    } catch (e) {
      if (!isError(e, 'InvalidResourceStateFault')) {
        throw e;
      }
      console.log(`StopReplicationTask ${props.TaskIdentifier} not accepted now (${errorMessage(e)}); polling again`);
    }
  }
  return false;
}

/** Whether the task started or stopped after this deployment's request (a run it started has ended). */
function endedSince(task: ReplicationTask, requestedAt: number): boolean {
  const stats = task.ReplicationTaskStats;
  const times = [stats?.StartDate, stats?.StopDate, stats?.FullLoadFinishDate].filter((d): d is Date => d instanceof Date);
  return requestedAt > 0 && times.some(d => d.getTime() >= requestedAt);
}

function outcome(task: ReplicationTask | undefined): Record<string, string> {
  return { Status: task?.Status ?? 'not found', StopReason: task?.StopReason ?? '' };
}

/** The start of a failure message, enough to tell a new failure from the one before (Data stays small). */
function failureKey(message: string | undefined): string {
  return (message ?? '').slice(0, 200);
}

/** The request's properties; with a wait condition, the custom resource waits only until the task runs. */
function properties(event: ProviderRequest): TaskLifecycleProperties {
  const props = event.ResourceProperties as unknown as TaskLifecycleProperties;
  return waitsThroughCondition(event) ? { ...props, WaitForCompletion: 'false' } : props;
}

function flag(value: string | boolean | undefined, dflt: boolean): boolean {
  if (value === undefined || value === '') {
    return dflt;
  }
  return value === true || value === 'true';
}

function maxWaitSeconds(props: TaskLifecycleProperties): number {
  const n = Number(props.MaxWaitSeconds);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_WAIT_SECONDS;
}
