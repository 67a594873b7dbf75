import {
  describeTaskById,
  errorMessage,
  isError,
  isThrottling,
  ruleFor,
  stopTask,
  withThrottleRetry,
} from './dms-task';
import type { IsCompleteResult, OnEventResult, ProviderRequest } from './handler-types';

/** Properties of the stack's `Custom::DmsTaskStopper` resource. */
export interface TaskStopperProperties {
  /**
   * Every task of the stack that has a lifecycle: `ReplicationTaskIdentifier` (lower case) → hash
   * of the task's in-place-updatable properties.
   */
  readonly Tasks: Readonly<Record<string, string>>;
}

/*
 * One resource per stack; every task with a lifecycle depends on it, so CloudFormation updates it
 * BEFORE it modifies any task.
 * Create: nothing to stop (the tasks do not exist yet).
 * Update: stop every task whose updatable properties changed, and every task that left the map
 *   (renamed, replaced or removed: CloudFormation modifies or deletes it later in this deployment),
 *   and wait until none of them is running. Tasks new to the map are being created: nothing to stop.
 * Delete: nothing; each task's lifecycle resource stops it before CloudFormation deletes it.
 */

/** The identifiers of the tasks this event must stop. */
export function tasksToStop(event: ProviderRequest): string[] {
  if (event.RequestType !== 'Update') {
    return [];
  }
  const tasks = taskMap(event.ResourceProperties);
  const old = taskMap(event.OldResourceProperties);
  const ids = new Set<string>();
  for (const [id, hash] of Object.entries(old)) {
    if (tasks[id] !== hash) {
      ids.add(id);
    }
  }
  return [...ids].sort();
}

/** The `Tasks` map of a resource's properties, with lower-case identifiers. */
function taskMap(properties: Record<string, unknown> | undefined): Record<string, string> {
  const tasks = (properties as Partial<TaskStopperProperties> | undefined)?.Tasks ?? {};
  const result: Record<string, string> = {};
  for (const [id, hash] of Object.entries(tasks)) {
    result[id.toLowerCase()] = hash;
  }
  return result;
}

/** Physical id of the stopper: one per stack, so a constant. */
export const STOPPER_PHYSICAL_ID = 'dms-task-stopper';

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
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

/** Complete when none of the tasks to stop is running, starting or in transition. */
export async function isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  let complete = true;
  for (const id of tasksToStop(event)) {
    try {
      complete = (await stopStep(id)) && complete;
    } catch (e) {
      if (isThrottling(e)) {
        console.log(`DescribeReplicationTasks throttled for ${id}; polling again`);
        return { IsComplete: false };
      }
      throw e;
    }
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
