import { Replication } from '@aws-sdk/client-database-migration-service';
import { PROPERTIES_HASH_TAG } from './kinds';
import { errorMessage, isError, isThrottling, timing, withThrottleRetry } from '../core/api-calls';
import {
  StartReplicationType,
  describeReplicationByArn,
  describeReplicationById,
  logReplication,
  replicationFailure,
  replicationFinished,
  replicationHasRun,
  replicationRuleFor,
  startReplication,
  stopReplication,
} from '../dms-api/dms-replication';
import { tagValue } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';
import { LoadWaitProperties, handOverLoadWait, waitsThroughCondition } from '../provider/load-wait-poll';
import { isRollingBack, resourceFailed } from '../provider/stack-status';

/** Which of the two resources of a `ServerlessReplicationLifecycle` an event is for. */
export const ROLE_STOPPER = 'Stopper';
export const ROLE_LIFECYCLE = 'Lifecycle';

/** Properties common to both resources (CloudFormation passes every value as a string). */
interface CommonProperties {
  /** `ROLE_STOPPER` or `ROLE_LIFECYCLE`. */
  readonly Role: string;
  /** `ReplicationConfigIdentifier` (lower case). */
  readonly ReplicationConfigIdentifier: string;
  /** Hash of the replication configuration's properties. */
  readonly PropertiesHash: string;
  readonly SourceEndpointArn: string;
  readonly TargetEndpointArn: string;
  /** The configuration's logical id: a rollback does not start a replication whose configuration CloudFormation has yet to restore. */
  readonly ConfigLogicalId?: string;
}

/**
 * Properties of the stopper: the replication configuration depends on it. How the replication
 * starts again after a change, for the restart after a rollback (resources created before these
 * properties have none: a rollback then leaves the replication stopped).
 */
export interface ServerlessStopperProperties extends CommonProperties {
  /** 'full-load' | 'cdc' | 'full-load-and-cdc' */
  readonly ReplicationType?: string;
  /** 'true' | 'false' */
  readonly StartOnDeploy?: string;
  /** 'resume-processing' | 'reload-target' | 'leave-stopped' */
  readonly OnUpdate?: string;
  readonly CdcStopPosition?: string;
}

/** Properties of the lifecycle resource: it depends on the replication configuration. */
export interface ServerlessLifecycleProperties extends CommonProperties, LoadWaitProperties {
  readonly ReplicationConfigArn: string;
  /** 'full-load' | 'cdc' | 'full-load-and-cdc' */
  readonly ReplicationType: string;
  /** 'true' | 'false' */
  readonly StartOnDeploy?: string;
  /** 'true' | 'false' */
  readonly WaitForCompletion?: string;
  readonly MaxWaitSeconds?: string;
  /** 'resume-processing' | 'reload-target' | 'leave-stopped' */
  readonly OnUpdate?: string;
  /** `server_time:…` or `commit_time:…`, passed to StartReplication. */
  readonly CdcStopPosition?: string;
}

const LEAVE_STOPPED = 'leave-stopped';
const DEFAULT_MAX_WAIT_SECONDS = 50 * 60;

interface StartPlan {
  readonly goal: 'running' | 'none';
  readonly startType?: StartReplicationType;
  readonly why: string;
}

/*
 * One resource type, two roles (the `Role` property):
 *
 * Stopper — the replication configuration depends on it, so CloudFormation updates it BEFORE it
 *   modifies the configuration (DMS modifies only a created, stopped or failed configuration).
 *   Create and Delete do nothing. Update, when the configuration's properties, endpoints or
 *   identifier changed: stop the replication (found by its identifier; under the old identifier
 *   when renamed) and wait until it is stopped.
 * Both, during a rollback (the stack is UPDATE_ROLLBACK_IN_PROGRESS): the configuration's
 *   properties-hash tag tells whether CloudFormation has restored it yet: until then the replication
 *   is stopped (DMS modifies only a stopped one), after that it is started again as OnUpdate says;
 *   whichever of the two CloudFormation rolls back after the configuration does the start.
 * Lifecycle — depends on the configuration. Create/Update: start the replication
 *   (start-replication on the first run; after a change resume-processing or reload-target per
 *   OnUpdate), then wait until it runs (or its full load completed with WaitForCompletion), failing
 *   with DMS's messages when it fails. Delete: stop it and wait, so that CloudFormation can delete
 *   the configuration (DMS deletes only a stopped or failed one).
 */
/** During a rollback, updates run as written: its update during a rollback stops a replication until CloudFormation has restored its configuration, and starts it again after (see onEvent). */
export const rollback = 'run';

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  return isStopper(event) ? stopperOnEvent(event) : lifecycleOnEvent(event);
}

export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  if (isStopper(event)) {
    return stopperIsComplete(event);
  }
  const result = await lifecycleIsComplete(event);
  if (result.IsComplete && event.Data?.Rollback !== 'true') {
    await handOverLoadWait(event, { ...event.Data, ...result.Data });
  }
  return result;
}

/**
 * Where the full load this request started stands (for the load waiter): done when it finished or
 * `WaitDeadline` passed, an error when it failed.
 */
export async function loadProgress(event: ProviderRequest): Promise<IsCompleteResult> {
  return runStep(event, { ...lifecycleProperties(event), WaitForCompletion: 'true' }, 'gone');
}

function isStopper(event: ProviderRequest): boolean {
  return event.ResourceProperties.Role === ROLE_STOPPER;
}

// ---------------------------------------------------------------------------------------------
// Stopper

/** The identifiers of the replications this stopper event must stop. */
export function replicationsToStop(event: ProviderRequest): string[] {
  if (event.RequestType !== 'Update') {
    return [];
  }
  const props = event.ResourceProperties as unknown as ServerlessStopperProperties;
  const old = (event.OldResourceProperties ?? {}) as Partial<ServerlessStopperProperties>;
  const ids = new Set<string>();
  if (old.ReplicationConfigIdentifier && old.ReplicationConfigIdentifier.toLowerCase() !== props.ReplicationConfigIdentifier.toLowerCase()) {
    // a rename is an in-place modification: the running replication still carries the old name
    ids.add(old.ReplicationConfigIdentifier.toLowerCase());
  } else if (configurationChanged(props, old)) {
    ids.add(props.ReplicationConfigIdentifier.toLowerCase());
  }
  return [...ids];
}

/**
 * What a rollback's update of the stopper does. CloudFormation rolls the stopper back after it
 * restored the configuration (the lifecycle stopped the replication first): start the restored
 * replication again, as its lifecycle starts a changed one, when the failed update had changed it.
 */
export function stopperRollbackPlan(event: ProviderRequest): { restart?: string } {
  const restored = event.ResourceProperties as unknown as ServerlessStopperProperties;
  const failed = (event.OldResourceProperties ?? {}) as Partial<ServerlessStopperProperties>;
  const renamed = (failed.ReplicationConfigIdentifier ?? '').toLowerCase() !== restored.ReplicationConfigIdentifier.toLowerCase();
  return renamed || configurationChanged(restored, failed) ? { restart: restored.ReplicationConfigIdentifier.toLowerCase() } : {};
}

async function stopperOnEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as ServerlessStopperProperties;
  const physicalId = `dms-serverless-stopper:${props.ReplicationConfigIdentifier.toLowerCase()}`;
  if (event.RequestType === 'Update' && await isRollingBack(event.StackId)) {
    console.log('Rollback: starting the restored replication again', JSON.stringify(stopperRollbackPlan(event)));
    return { PhysicalResourceId: physicalId, Data: { Rollback: 'true', StoppedReplications: '' } };
  }
  const targets = replicationsToStop(event);
  if (targets.length === 0) {
    console.log(`${event.RequestType}: no replication to stop`, JSON.stringify({ ReplicationConfigIdentifier: props.ReplicationConfigIdentifier }));
    return { PhysicalResourceId: physicalId, Data: { StoppedReplications: '' } };
  }
  for (const id of targets) {
    await withThrottleRetry(`Stopping ${id}`, () => stopStep(id, () => describeReplicationById(id)));
  }
  return { PhysicalResourceId: physicalId, Data: { StoppedReplications: targets.join(',') } };
}

async function stopperIsComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  if (event.Data?.Rollback === 'true') {
    return stopperRollbackIsComplete(event);
  }
  let complete = true;
  for (const id of replicationsToStop(event)) {
    try {
      complete = (await stopStep(id, () => describeReplicationById(id))) && complete;
    } catch (e) {
      if (isThrottling(e)) {
        console.log(`DMS throttled the request for ${id}; polling again`);
        return { IsComplete: false };
      }
      throw e;
    }
  }
  return { IsComplete: complete };
}

/** The stopper's part of a rollback: reconciles the restored replication (never fails the rollback). */
async function stopperRollbackIsComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const { restart } = stopperRollbackPlan(event);
  if (!restart) {
    return { IsComplete: true };
  }
  // before CloudFormation renames it back, the replication still carries the failed update's name
  const failedName = (event.OldResourceProperties as Partial<ServerlessStopperProperties> | undefined)?.ReplicationConfigIdentifier;
  const describe = async () => (await describeReplicationById(restart)) ?? (failedName ? describeReplicationById(failedName) : undefined);
  return rollbackStep(event, event.ResourceProperties as unknown as ServerlessStopperProperties, describe);
}

/**
 * One reconcile step of a rollback for a replication whose configuration it restores: stopped until
 * CloudFormation has restored the configuration (its properties-hash tag equals `restored`'s hash),
 * then started again as `restored` says, like a lifecycle starts a changed replication. Lifecycle
 * and stopper both do it, so the rollback lands whichever CloudFormation rolls back first. Never
 * fails the rollback: what cannot be started is logged and left.
 */
async function rollbackStep(event: ProviderRequest, restored: ServerlessStopperProperties,
  describe: () => Promise<Replication | undefined>): Promise<IsCompleteResult> {
  const name = restored.ReplicationConfigIdentifier;
  try {
    const replication = await describe();
    if (!replication?.ReplicationConfigArn) {
      console.log(`Rollback: replication ${name} not found: nothing to do`);
      return { IsComplete: true };
    }
    const restoredNow = await tagValue(replication.ReplicationConfigArn, PROPERTIES_HASH_TAG) === restored.PropertiesHash
      && !(restored.ConfigLogicalId && await resourceFailed(event.StackId, restored.ConfigLogicalId));
    if (!restoredNow) {
      console.log(`Rollback: ${name} still has the failed update's configuration: stopping it so that CloudFormation can restore it`);
      return { IsComplete: await stopStep(name, async () => replication) };
    }
    const props: ServerlessLifecycleProperties = {
      ...restored,
      Role: ROLE_LIFECYCLE,
      ReplicationConfigArn: replication.ReplicationConfigArn,
      ReplicationType: restored.ReplicationType ?? replication.ReplicationType ?? '',
      // resources created before the stopper knew how to restart: leave the replication stopped
      OnUpdate: restored.OnUpdate ?? LEAVE_STOPPED,
    };
    const updated = { ...event, RequestType: 'Update' as const, ResourceProperties: props as unknown as Record<string, any> };
    const plan = planStart(updated, props, replication);
    console.log(`Rollback: ${name} is restored: ${plan.goal === 'none' ? 'leaving it as it is' : `start (${plan.startType})`}: ${plan.why}`);
    if (plan.goal === 'none') {
      return { IsComplete: true };
    }
    const rule = replicationRuleFor(replication);
    if (rule.toRun === 'wait') {
      return { IsComplete: false };
    }
    if (rule.toRun === 'act') {
      return { IsComplete: await startStep(props, plan.startType!, replication) };
    }
    return { IsComplete: true };
  } catch (e) {
    if (isThrottling(e)) {
      return { IsComplete: false };
    }
    // a rollback that fails here would leave the stack in UPDATE_ROLLBACK_FAILED
    console.log(`Rollback: ${errorMessage(e)}; leaving the replication ${name} as it is`);
    return { IsComplete: true };
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

async function lifecycleOnEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = lifecycleProperties(event);
  const requestedAt = timing.now();
  const name = props.ReplicationConfigIdentifier;

  if (event.RequestType === 'Delete') {
    await withThrottleRetry(`Stopping ${name}`, () => stopStep(name, () => describeReplicationByArn(props.ReplicationConfigArn)));
    return {
      PhysicalResourceId: event.PhysicalResourceId ?? props.ReplicationConfigArn,
      Data: { ReplicationConfigArn: props.ReplicationConfigArn, Goal: 'stopped' },
    };
  }
  if (event.RequestType === 'Update' && await isRollingBack(event.StackId)) {
    // CloudFormation restores the configuration next (DMS modifies or deletes only a stopped one);
    // the stopper, rolled back after it, starts the restored replication again
    const failed = (event.OldResourceProperties ?? {}) as Partial<ServerlessLifecycleProperties>;
    const replaced = failed.ReplicationConfigArn !== undefined && failed.ReplicationConfigArn !== props.ReplicationConfigArn;
    const restores = replaced || failed.ReplicationConfigIdentifier !== props.ReplicationConfigIdentifier || configurationChanged(props, failed);
    console.log(`Rollback of ${name}: ${restores ? 'reconciling the restored replication' : 'the configuration is not restored'}`
      + `${replaced ? `; stopping ${failed.ReplicationConfigArn}, which CloudFormation deletes next` : ''}`);
    return {
      PhysicalResourceId: props.ReplicationConfigArn,
      Data: {
        ReplicationConfigArn: props.ReplicationConfigArn,
        Goal: 'none',
        Rollback: 'true',
        Restore: String(restores),
        ...(replaced ? { StopArn: failed.ReplicationConfigArn } : {}),
      },
    };
  }

  const replication = await withThrottleRetry(`Describing ${name}`, () => describeReplicationByArn(props.ReplicationConfigArn));
  const plan = planStart(event, props, replication);
  console.log(`${event.RequestType} ${name}: ${plan.goal === 'none' ? 'leaving the replication as it is' : `start (${plan.startType})`}: ${plan.why}`);

  const data: Record<string, string> = {
    ReplicationConfigArn: props.ReplicationConfigArn,
    Goal: plan.goal,
    RequestedAt: String(requestedAt),
    WaitDeadline: String(requestedAt + maxWaitSeconds(props) * 1000),
    InitialStatus: replication?.Status ?? 'not started',
    InitialFailure: failureKey(replication),
  };
  if (plan.goal === 'none') {
    return { PhysicalResourceId: props.ReplicationConfigArn, Data: { ...data, ...outcome(replication) } };
  }
  data.StartType = plan.startType!;
  const issued = await withThrottleRetry(`Starting ${name}`, () => startStep(props, plan.startType!, replication));
  data.StartIssued = String(issued);
  return { PhysicalResourceId: props.ReplicationConfigArn, Data: data };
}

async function lifecycleIsComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const props = lifecycleProperties(event);
  try {
    if (event.RequestType === 'Delete') {
      return { IsComplete: await stopStep(props.ReplicationConfigIdentifier, () => describeReplicationByArn(props.ReplicationConfigArn)) };
    }
    if (event.Data?.Rollback === 'true') {
      const stopArn = event.Data.StopArn as string | undefined;
      if (stopArn && !(await stopStep(props.ReplicationConfigIdentifier, () => describeReplicationByArn(stopArn)))) {
        return { IsComplete: false };
      }
      return event.Data.Restore === 'true'
        ? await rollbackStep(event, props, () => describeReplicationByArn(props.ReplicationConfigArn))
        : { IsComplete: true };
    }
    if (event.Data?.Goal !== 'running') {
      return { IsComplete: true };
    }
    return await runStep(event, props);
  } catch (e) {
    if (isThrottling(e)) {
      console.log(`DMS throttled the request for ${props.ReplicationConfigIdentifier}; polling again`);
      return { IsComplete: false };
    }
    throw e;
  }
}

/** Decides whether a create or update starts the replication, and how. */
export function planStart(event: ProviderRequest, props: ServerlessLifecycleProperties, replication: Replication | undefined): StartPlan {
  const startOnDeploy = flag(props.StartOnDeploy, true);
  if (!replicationHasRun(replication)) {
    return startOnDeploy
      ? { goal: 'running', startType: 'start-replication', why: 'the replication never ran: first run' }
      : { goal: 'none', why: 'startOnDeploy is false and the replication never ran' };
  }
  let type: string;
  if (event.RequestType === 'Create') {
    if (!startOnDeploy) {
      return { goal: 'none', why: 'startOnDeploy is false' };
    }
    type = 'resume-processing';
  } else {
    const old = (event.OldResourceProperties ?? {}) as Partial<ServerlessLifecycleProperties>;
    const changed = old.ReplicationConfigArn !== props.ReplicationConfigArn
      || old.ReplicationConfigIdentifier !== props.ReplicationConfigIdentifier
      || configurationChanged(props, old);
    if (!changed) {
      return { goal: 'none', why: 'the replication configuration did not change, so the stopper did not stop it' };
    }
    type = props.OnUpdate ?? 'resume-processing';
    if (type === LEAVE_STOPPED) {
      return { goal: 'none', why: 'the replication configuration changed and onUpdate is LEAVE_STOPPED' };
    }
  }
  if (type === 'resume-processing' && props.ReplicationType === 'full-load') {
    return {
      goal: 'none',
      why: 'DMS cannot resume a full-load replication that ran before; it stays stopped (onUpdate RELOAD loads every table again)',
    };
  }
  return { goal: 'running', startType: type as StartReplicationType, why: `the replication ran before: ${type}` };
}

/** Issues StartReplication when the status allows it; true when a start was requested. */
async function startStep(props: ServerlessLifecycleProperties, type: StartReplicationType, replication: Replication | undefined): Promise<boolean> {
  const name = props.ReplicationConfigIdentifier;
  const rule = replicationRuleFor(replication);
  console.log(`Replication ${name} is ${replication?.Status ?? 'not started'}: ${rule.reason} → ${rule.toRun}`);
  switch (rule.toRun) {
    case 'fail':
      throw new Error(`Serverless replication ${name} cannot be started: it is ${replication?.Status} (${rule.reason}).`);
    case 'act':
      break;
    default:
      return false;
  }
  try {
    await startReplication(props.ReplicationConfigArn, type, props.CdcStopPosition || undefined);
    console.log(`StartReplication ${name} (${type}) requested`);
    return true;
  } catch (e) {
    if (isError(e, 'InvalidResourceStateFault')) {
      const now = await describeReplicationByArn(props.ReplicationConfigArn);
      const next = replicationRuleFor(now).toRun;
      if (now && (next === 'wait' || next === 'done')) {
        console.log(`StartReplication ${name} not accepted while ${now.Status}; polling again`);
        return false;
      }
    }
    if (isThrottling(e)) {
      throw e;
    }
    throw new Error(`Serverless replication ${name} could not be started (${type}): ${errorMessage(e)}`);
  }
}

/**
 * One poll toward "running" (or "full load completed" with WaitForCompletion). For the load waiter
 * (`missing` 'gone'), which follows a replication it saw running, one DMS does not find was deleted:
 * the wait ends there, failing.
 */
async function runStep(event: ProviderRequest, props: ServerlessLifecycleProperties, missing: 'not-yet' | 'gone' = 'not-yet'): Promise<IsCompleteResult> {
  const data = event.Data ?? {};
  const name = props.ReplicationConfigIdentifier;
  const requestedAt = Number(data.RequestedAt ?? 0);
  const startIssued = data.StartIssued === 'true';
  const replication = await describeReplicationByArn(props.ReplicationConfigArn);
  if (!replication && missing === 'gone') {
    throw new Error(`Serverless replication ${name} no longer exists (DMS finds no replication of ${props.ReplicationConfigArn}): `
      + 'its configuration was deleted while the deployment waited for its full load (a rollback, a stack deletion, or by hand); the wait ends here.');
  }
  if (!replication) {
    if (!startIssued) {
      await startStep(props, (data.StartType ?? 'start-replication') as StartReplicationType, undefined);
    }
    return { IsComplete: false };
  }
  logReplication(replication);
  const status = (replication.Status ?? '').toLowerCase();

  if (status === 'running') {
    return runningStep(props, replication, Number(data.WaitDeadline ?? 0));
  }

  const ranNow = endedSince(replication, requestedAt);
  if (status === 'failed' && (startIssued || ranNow || failureKey(replication) !== (data.InitialFailure ?? ''))) {
    throw new Error(`Serverless replication ${name} failed: ${replicationFailure(replication)}`);
  }
  if (status === 'stopped' && ranNow) {
    if (!replicationFinished(replication)) {
      throw new Error(`Serverless replication ${name} stopped during the deployment: ${replicationFailure(replication)}`);
    }
    if (flag(props.WaitForCompletion, false)) {
      checkErroredTables(name, replication);
    }
    console.log(`Replication ${name} finished: ${replication.StopReason}`);
    return { IsComplete: true, Data: outcome(replication) };
  }

  const rule = replicationRuleFor(replication);
  switch (rule.toRun) {
    case 'fail':
      throw new Error(`Serverless replication ${name} cannot be started: it is ${replication.Status} (${rule.reason}).`);
    case 'act':
      if (!startIssued) {
        // onEvent found the replication busy: start it now
        await startStep(props, (data.StartType ?? 'start-replication') as StartReplicationType, replication);
      }
      return { IsComplete: false };
    default:
      return { IsComplete: false };
  }
}

/** The replication runs: done, unless WaitForCompletion waits for the full load. */
function runningStep(props: ServerlessLifecycleProperties, replication: Replication, waitDeadline: number): IsCompleteResult {
  const name = props.ReplicationConfigIdentifier;
  if (!flag(props.WaitForCompletion, false)) {
    return { IsComplete: true, Data: outcome(replication) };
  }
  checkErroredTables(name, replication);
  const stats = replication.ReplicationStats ?? {};
  const loadDone = (stats.FullLoadProgressPercent ?? 0) >= 100 && (stats.TablesLoading ?? 0) === 0 && (stats.TablesQueued ?? 0) === 0;
  if (props.ReplicationType === 'cdc' || (props.ReplicationType === 'full-load-and-cdc' && loadDone)) {
    console.log(`Replication ${name} is running${props.ReplicationType === 'cdc' ? '' : ' and its full load completed'}: replicating changes`);
    return { IsComplete: true, Data: outcome(replication) };
  }
  if (waitDeadline > 0 && timing.now() >= waitDeadline) {
    console.log(`Stopped waiting for ${name} after maxWait: the full load continues (${stats.FullLoadProgressPercent ?? 0}% done).`);
    return { IsComplete: true, Data: { ...outcome(replication), WaitTimedOut: 'true' } };
  }
  return { IsComplete: false };
}

function checkErroredTables(name: string, replication: Replication): void {
  const errored = replication.ReplicationStats?.TablesErrored ?? 0;
  if (errored > 0) {
    throw new Error(`Serverless replication ${name}: ${errored} table(s) errored during the full load; see the replication's table statistics in the DMS console.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Shared

/** One reconcile step toward "stopped"; true when the replication is stopped (or never ran). */
async function stopStep(name: string, describe: () => Promise<Replication | undefined>): Promise<boolean> {
  const replication = await describe();
  if (!replication) {
    console.log(`Replication ${name} was never started: nothing to stop`);
    return true;
  }
  const rule = replicationRuleFor(replication);
  console.log(`Replication ${name} is ${replication.Status}: ${rule.reason} → ${rule.toStop}`);
  if (rule.toStop === 'done') {
    return true;
  }
  if (rule.toStop === 'act') {
    try {
      await stopReplication(replication.ReplicationConfigArn!);
      console.log(`StopReplication ${name} requested`);
    } catch (e) {
      // the replication moved on (e.g. to stopping) between the describe and the stop: poll again
      if (!isError(e, 'InvalidResourceStateFault')) {
        throw e;
      }
      console.log(`StopReplication ${name} not accepted now (${errorMessage(e)}); polling again`);
    }
  }
  return false;
}

function configurationChanged(props: CommonProperties, old: Partial<CommonProperties>): boolean {
  return old.PropertiesHash !== props.PropertiesHash
    || old.SourceEndpointArn !== props.SourceEndpointArn
    || old.TargetEndpointArn !== props.TargetEndpointArn;
}

/** Whether the replication started or stopped after this deployment's request. */
function endedSince(replication: Replication, requestedAt: number): boolean {
  const stats = replication.ReplicationStats;
  const times = [stats?.StartDate, stats?.StopDate, stats?.FullLoadFinishDate, replication.ReplicationLastStopTime]
    .filter((d): d is Date => d instanceof Date);
  return requestedAt > 0 && times.some(d => d.getTime() >= requestedAt);
}

function outcome(replication: Replication | undefined): Record<string, string> {
  return { Status: replication?.Status ?? 'not started', StopReason: replication?.StopReason ?? '' };
}

/** The start of the failure messages, enough to tell a new failure from the one before. */
function failureKey(replication: Replication | undefined): string {
  return (replication?.FailureMessages ?? []).join(' | ').slice(0, 200);
}

/** The request's properties; with a wait condition, the custom resource waits only until the replication runs. */
function lifecycleProperties(event: ProviderRequest): ServerlessLifecycleProperties {
  const props = event.ResourceProperties as unknown as ServerlessLifecycleProperties;
  return waitsThroughCondition(event) ? { ...props, WaitForCompletion: 'false' } : props;
}

function flag(value: string | boolean | undefined, dflt: boolean): boolean {
  if (value === undefined || value === '') {
    return dflt;
  }
  return value === true || value === 'true';
}

function maxWaitSeconds(props: ServerlessLifecycleProperties): number {
  const n = Number(props.MaxWaitSeconds);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_WAIT_SECONDS;
}
