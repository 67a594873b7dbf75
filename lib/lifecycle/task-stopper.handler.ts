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

/** Properties of a `Custom::DmsTaskStopper` resource. */
export interface TaskStopperProperties {
  /** `ReplicationTaskIdentifier` of the task (lower case). */
  readonly TaskIdentifier: string;
  /** Hash of the task's in-place-updatable properties. */
  readonly PropertiesHash: string;
}

/*
 * The task depends on this resource, so CloudFormation updates it BEFORE it modifies the task.
 * Create: nothing to stop (the task does not exist yet, or is unchanged).
 * Update: the task's updatable properties or its identifier changed: stop the task (under its old
 *   identifier too, when it is renamed or replaced) and wait until it is no longer running.
 * Delete: nothing; the lifecycle resource stops the task before CloudFormation deletes it.
 */

/** The identifiers of the tasks this event must stop. */
export function tasksToStop(event: ProviderRequest): string[] {
  if (event.RequestType !== 'Update') {
    return [];
  }
  const props = event.ResourceProperties as unknown as TaskStopperProperties;
  const old = (event.OldResourceProperties ?? {}) as Partial<TaskStopperProperties>;
  const ids = new Set<string>();
  if (old.TaskIdentifier && old.TaskIdentifier !== props.TaskIdentifier) {
    ids.add(old.TaskIdentifier.toLowerCase());
  }
  if (old.PropertiesHash !== props.PropertiesHash) {
    ids.add(props.TaskIdentifier.toLowerCase());
  }
  return [...ids];
}

export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  const props = event.ResourceProperties as unknown as TaskStopperProperties;
  const physicalId = `dms-task-stopper:${props.TaskIdentifier.toLowerCase()}`;
  const targets = tasksToStop(event);
  if (targets.length === 0) {
    console.log(`${event.RequestType}: no task to stop`, JSON.stringify({ TaskIdentifier: props.TaskIdentifier }));
    return { PhysicalResourceId: physicalId, Data: { StoppedTasks: '' } };
  }
  for (const id of targets) {
    await withThrottleRetry(`Stopping ${id}`, () => stopStep(id));
  }
  return { PhysicalResourceId: physicalId, Data: { StoppedTasks: targets.join(',') } };
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
