import { ReplicationTask, StartReplicationTaskTypeValue } from '@aws-sdk/client-database-migration-service';
import { PROPERTIES_HASH_TAG } from './kinds';
import { errorMessage, isError, isThrottling, withThrottleRetry } from '../core/api-calls';
import { describeTaskById, hasRun, ruleFor, startTask, stopTask, tagValue } from '../dms-api/dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from '../provider/handler-types';
import { isRollingBack, resourceFailed } from '../provider/stack-status';

/** What the stopper knows about one task of the stack. */
export interface StoppedTask {
  /** Hash of the task's in-place-updatable properties. */
  readonly Hash: string;
  /** 'resume-processing' | 'reload-target' | 'leave-stopped': how the task starts again after a change. */
  readonly OnUpdate?: string;
  /** 'true' | 'false': whether a task that never ran is started. */
  readonly StartOnDeploy?: string;
  /** The task's logical id: a rollback does not start a task CloudFormation has yet to restore (UPDATE_FAILED). */
  readonly LogicalId?: string;
}

/** Properties of the stack's `Custom::DmsTaskStopper` resource. */
export interface TaskStopperProperties {
  /**
   * Every task of the stack that has a lifecycle: `ReplicationTaskIdentifier` (lower case) → what
   * the stopper knows about it (a bare hash in resources created before `StoppedTask`).
   */
  readonly Tasks: Readonly<Record<string, StoppedTask | string>>;
}

/*
 * One resource per stack; every task with a lifecycle depends on it, so CloudFormation updates it
 * BEFORE it modifies any task, and rolls it back AFTER it restored the tasks.
 * Create: nothing to stop (the tasks do not exist yet).
 * Update: stop every task whose updatable properties changed, and every task that left the map
 *   (renamed, replaced or removed: CloudFormation modifies or deletes it later in this deployment),
 *   and wait until none of them is running. Tasks new to the map are being created: nothing to stop.
 * Update during a rollback (the stack is UPDATE_ROLLBACK_IN_PROGRESS): for each task whose properties
 *   the rollback restores (or that is back in the map), the task's properties-hash tag tells whether
 *   CloudFormation has restored it yet: if so, start it again as its OnUpdate says, just as a
 *   lifecycle starts a changed task; if not, stop it, so that CloudFormation can modify it. The
 *   lifecycle does the same from its side, so the rollback lands whichever of the two CloudFormation
 *   rolls back first. Tasks that leave the map (created by the failed update) are kept stopped:
 *   CloudFormation deletes them next. Nothing here fails the rollback: a task that cannot start is
 *   logged and left.
 * Delete: nothing; each task's lifecycle resource stops it before CloudFormation deletes it.
 */

/** The identifiers of the tasks a forward update must stop. */
export function tasksToStop(event: ProviderRequest): string[] {
  if (event.RequestType !== 'Update') {
    return [];
  }
  const tasks = taskMap(event.ResourceProperties);
  const old = taskMap(event.OldResourceProperties);
  return Object.keys(old).filter(id => tasks[id]?.Hash !== old[id].Hash).sort();
}

/** What a rollback's update does: the tasks to start again (restored) and to keep stopped (about to be deleted). */
export function rollbackPlan(event: ProviderRequest): { restart: string[]; stop: string[] } {
  const restored = taskMap(event.ResourceProperties);
  const failed = taskMap(event.OldResourceProperties);
  return {
    restart: Object.keys(restored).filter(id => failed[id]?.Hash !== restored[id].Hash).sort(),
    stop: Object.keys(failed).filter(id => restored[id] === undefined).sort(),
  };
}

/** The `Tasks` map of a resource's properties, with lower-case identifiers. */
function taskMap(properties: Record<string, unknown> | undefined): Record<string, StoppedTask> {
  const tasks = (properties as Partial<TaskStopperProperties> | undefined)?.Tasks ?? {};
  const result: Record<string, StoppedTask> = {};
  for (const [id, entry] of Object.entries(tasks)) {
    result[id.toLowerCase()] = typeof entry === 'string' ? { Hash: entry } : entry;
  }
  return result;
}

/** During a rollback, updates run as written: its update during a rollback stops the task until CloudFormation has restored it, so it can be modified back (see onEvent). */
export const rollback = 'run';

/** Physical id of the stopper: one per stack, so a constant. */
export const STOPPER_PHYSICAL_ID = 'dms-task-stopper';

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  if (event.RequestType === 'Update' && await isRollingBack(event.StackId)) {
    const plan = rollbackPlan(event);
    console.log('Rollback: restarting the restored tasks, keeping stopped the ones about to be deleted', JSON.stringify(plan));
    return { PhysicalResourceId: STOPPER_PHYSICAL_ID, Data: { Rollback: 'true', StoppedTasks: '' } };
  }
  const targets = tasksToStop(event);
  if (targets.length === 0) {
    console.log(`${event.RequestType}: no task to stop`, JSON.stringify({ Tasks: Object.keys(taskMap(event.ResourceProperties)) }));
    return { PhysicalResourceId: STOPPER_PHYSICAL_ID, Data: { StoppedTasks: '' } };
  }
  for (const id of targets) {
    await withThrottleRetry(`Stopping ${id}`, () => stopStep(id));
  }
  return { PhysicalResourceId: STOPPER_PHYSICAL_ID, Data: { StoppedTasks: targets.join(',') } };
}

/**
 * Forward: complete when none of the tasks to stop is running, starting or in transition.
 * Rollback: complete when every restored task was started (or needs no start) and the ones about to
 * be deleted are stopped.
 */
export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const rollingBack = event.Data?.Rollback === 'true';
  const plan = rollingBack ? rollbackPlan(event) : { restart: [], stop: tasksToStop(event) };
  const restored = taskMap(event.ResourceProperties);
  let complete = true;
  try {
    for (const id of plan.stop) {
      complete = (await stopStep(id)) && complete;
    }
    for (const id of plan.restart) {
      complete = (await rollbackStep(event.StackId, await describeTaskById(id), restored[id], id)) && complete;
    }
  } catch (e) {
    if (isThrottling(e)) {
      console.log('DescribeReplicationTasks throttled; polling again');
      return { IsComplete: false };
    }
    if (!rollingBack) {
      throw e;
    }
    // a rollback that fails here would leave the stack in UPDATE_ROLLBACK_FAILED
    console.log(`Rollback: ${errorMessage(e)}; leaving the tasks as they are`);
    return { IsComplete: true };
  }
  return { IsComplete: complete };
}

/** One reconcile step toward "stopped"; true when the task is stopped (or gone). */
async function stopStep(identifier: string): Promise<boolean> {
  const task = await describeTaskById(identifier);
  if (!task) {
    console.log(`Task ${identifier} does not exist: nothing to stop`);
    return true;
  }
  const rule = ruleFor(task.Status);
  console.log(`Task ${identifier} is ${task.Status}: ${rule.reason} → ${rule.toStop}`);
  switch (rule.toStop) {
    case 'done':
      return true;
    case 'act':
      try {
        await stopTask(task.ReplicationTaskArn!);
        console.log(`StopReplicationTask ${identifier} requested`);
      } catch (e) {
        // the task moved on (e.g. to stopping) between the describe and the stop: poll again
        if (!isError(e, 'InvalidResourceStateFault')) {
          throw e;
        }
        console.log(`StopReplicationTask ${identifier} not accepted now (${errorMessage(e)}); polling again`);
      }
      return false;
    default:
      return false;
  }
}

/** How a restored task starts again, as its lifecycle starts a changed one; undefined when it stays stopped. */
export function restartType(entry: StoppedTask, task: ReplicationTask): StartReplicationTaskTypeValue | undefined {
  if (!hasRun(task)) {
    return entry.StartOnDeploy === 'false' ? undefined : 'start-replication';
  }
  const onUpdate = entry.OnUpdate ?? 'resume-processing';
  return onUpdate === 'leave-stopped' ? undefined : onUpdate as StartReplicationTaskTypeValue;
}

/**
 * One reconcile step of a rollback for a task whose properties it restores: started again (as
 * `entry` says) once CloudFormation has restored it, its properties-hash tag equal to `entry.Hash`;
 * stopped until then. True when done.
 *
 * @param stackId the stack, whose resource statuses tell a task CloudFormation has yet to restore
 * @param label the task, for the log
 */
export async function rollbackStep(stackId: string, task: ReplicationTask | undefined, entry: StoppedTask, label: string): Promise<boolean> {
  if (!task?.ReplicationTaskArn) {
    console.log(`Rollback: task ${label} does not exist: nothing to do`);
    return true;
  }
  // the tag says CloudFormation last wrote the restored properties; a task whose own update failed
  // carries them too, but CloudFormation has yet to roll it back (it modifies it again)
  const restored = await tagValue(task.ReplicationTaskArn, PROPERTIES_HASH_TAG) === entry.Hash
    && !(entry.LogicalId && await resourceFailed(stackId, entry.LogicalId));
  if (!restored) {
    console.log(`Rollback: task ${label} still has the failed update's properties: stopping it so that CloudFormation can restore it`);
    return stopTaskStep(task, label);
  }
  const type = restartType(entry, task);
  if (type === undefined) {
    console.log(`Rollback: task ${label} is restored and stays ${task.Status} (${hasRun(task) ? 'onUpdate is leave-stopped' : 'startOnDeploy is false and it never ran'})`);
    return true;
  }
  const rule = ruleFor(task.Status);
  console.log(`Rollback: task ${label} is restored and ${task.Status}: ${rule.reason} → ${rule.toRun}`);
  switch (rule.toRun) {
    case 'done':
      return true;
    case 'fail':
      console.log(`Rollback: task ${label} cannot be started again (${rule.reason}); start it by hand`);
      return true;
    case 'wait':
      return false;
    default:
      try {
        await startTask(task.ReplicationTaskArn, type);
        console.log(`Rollback: StartReplicationTask ${label} (${type}) requested`);
        return true;
      } catch (e) {
        if (!isError(e, 'InvalidResourceStateFault')) {
          throw e;
        }
        console.log(`Rollback: StartReplicationTask ${label} not accepted now (${errorMessage(e)}); polling again`);
        return false;
      }
  }
}

/** One step toward "stopped" for a task already described; true when stopped. */
async function stopTaskStep(task: ReplicationTask, label: string): Promise<boolean> {
  const rule = ruleFor(task.Status);
  console.log(`Task ${label} is ${task.Status}: ${rule.reason} → ${rule.toStop}`);
  if (rule.toStop === 'done') {
    return true;
  }
  if (rule.toStop === 'act') {
    try {
      await stopTask(task.ReplicationTaskArn!);
      console.log(`StopReplicationTask ${label} requested`);
    } catch (e) {
      if (!isError(e, 'InvalidResourceStateFault')) {
        throw e;
      }
      console.log(`StopReplicationTask ${label} not accepted now (${errorMessage(e)}); polling again`);
    }
  }
  return false;
}
