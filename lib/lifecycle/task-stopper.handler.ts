import { ReplicationTask, StartReplicationTaskTypeValue } from '@aws-sdk/client-database-migration-service';
import {
  describeTaskById,
  errorMessage,
  hasRun,
  isError,
  isThrottling,
  ruleFor,
  startTask,
  stopTask,
  withThrottleRetry,
} from './dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from './handler-types';
import { isRollingBack } from './stack-status';

/** What the stopper knows about one task of the stack. */
export interface StoppedTask {
  /** Hash of the task's in-place-updatable properties. */
  readonly Hash: string;
  /** 'resume-processing' | 'reload-target' | 'leave-stopped': how the task starts again after a change. */
  readonly OnUpdate?: string;
  /** 'true' | 'false': whether a task that never ran is started. */
  readonly StartOnDeploy?: string;
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
 * Update during a rollback (the stack is UPDATE_ROLLBACK_IN_PROGRESS): CloudFormation has restored the
 *   tasks (the lifecycle stopped them first). Start again, as their OnUpdate says, the tasks whose
 *   properties were restored or that are back in the map, just as a lifecycle starts a changed task;
 *   keep stopped the tasks that leave the map (created by the failed update: CloudFormation deletes
 *   them next). Nothing here fails the rollback: a task that cannot start is logged and left.
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
  const rollback = event.Data?.Rollback === 'true';
  const plan = rollback ? rollbackPlan(event) : { restart: [], stop: tasksToStop(event) };
  const restored = taskMap(event.ResourceProperties);
  let complete = true;
  try {
    for (const id of plan.stop) {
      complete = (await stopStep(id)) && complete;
    }
    for (const id of plan.restart) {
      complete = (await restartStep(id, restored[id])) && complete;
    }
  } catch (e) {
    if (isThrottling(e)) {
      console.log('DescribeReplicationTasks throttled; polling again');
      return { IsComplete: false };
    }
    if (!rollback) {
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

/** One reconcile step toward "started again" after a rollback; true when done (started, running, or to stay stopped). */
async function restartStep(identifier: string, entry: StoppedTask): Promise<boolean> {
  const task = await describeTaskById(identifier);
  if (!task) {
    console.log(`Rollback: task ${identifier} does not exist: nothing to start`);
    return true;
  }
  const type = restartType(entry, task);
  if (type === undefined) {
    console.log(`Rollback: task ${identifier} stays ${task.Status} (${hasRun(task) ? 'onUpdate is leave-stopped' : 'startOnDeploy is false and it never ran'})`);
    return true;
  }
  const rule = ruleFor(task.Status);
  console.log(`Rollback: task ${identifier} is ${task.Status}: ${rule.reason} → ${rule.toRun}`);
  switch (rule.toRun) {
    case 'done':
      return true;
    case 'fail':
      console.log(`Rollback: task ${identifier} cannot be started again (${rule.reason}); start it by hand`);
      return true;
    case 'wait':
      return false;
    default:
      try {
        await startTask(task.ReplicationTaskArn!, type);
        console.log(`Rollback: StartReplicationTask ${identifier} (${type}) requested`);
        return true;
      } catch (e) {
        if (!isError(e, 'InvalidResourceStateFault')) {
          throw e;
        }
        console.log(`Rollback: StartReplicationTask ${identifier} not accepted now (${errorMessage(e)}); polling again`);
        return false;
      }
  }
}
