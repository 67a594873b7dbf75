import { CustomResource, Lazy, Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { TASK_STOPPER_TYPE } from './kinds';
import { MigrationProvider } from '../provider/provider';

/**
 * What the stopper knows about one task (CloudFormation passes every value as a string).
 *
 * @internal
 */
export interface StopperEntry {
  readonly Hash: string;
  /** `TaskUpdateBehavior` value. */
  readonly OnUpdate: string;
  /** 'true' | 'false' */
  readonly StartOnDeploy: string;
  /** The task's logical id in the stack. */
  readonly LogicalId: string;
}

/**
 * The one `Custom::DmsTaskStopper` of a stack, shared by every `ReplicationTaskLifecycle` in it.
 *
 * Every task with a lifecycle depends on it, so CloudFormation updates it before it modifies any
 * task, and rolls it back after it restored the tasks. Its only property maps each task identifier
 * to the hash of the task's in-place-updatable properties (and how the task starts again after a
 * change); when a hash changes (or a task leaves the map), its handler stops that task and waits
 * until it is stopped; when CloudFormation rolls a failed update back, it starts the restored tasks
 * again. One resource per stack instead of one per task.
 *
 * @internal
 */
export class TaskStopper extends Construct {
  /** Construct id under the stack; part of the public contract (changing it replaces the resource). */
  public static readonly ID = 'NeonDmsTaskStopper';

  /** The stopper of `scope`'s stack, created on first use. */
  public static of(scope: IConstruct): TaskStopper {
    const stack = Stack.of(scope);
    const existing = stack.node.tryFindChild(TaskStopper.ID);
    return (existing as TaskStopper | undefined) ?? new TaskStopper(stack, TaskStopper.ID);
  }

  /** The custom resource every registered task depends on. */
  public readonly resource: CustomResource;

  /** Task identifier (lower case) → its hash (a token until synth) and how it starts again. */
  private readonly tasks = new Map<string, StopperEntry>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    // two tasks with the same identifier (known only once generated identifiers resolve) fail the synth
    this.node.addValidation({
      validate: () => {
        try {
          this.resolvedTasks(true);
          return [];
        } catch (e) {
          return [(e as Error).message];
        }
      },
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: MigrationProvider.of(this).serviceToken,
      resourceType: TASK_STOPPER_TYPE,
      properties: {
        Tasks: Lazy.any({ produce: () => this.resolvedTasks() }),
      },
    });
  }

  /**
   * Adds a task to the map and returns the resource the task must depend on.
   *
   * @param identifier the task's `ReplicationTaskIdentifier`, in lower case
   * @param entry hash of the task's in-place-updatable properties, and how the task starts again
   * after a change (the stopper restarts it when CloudFormation rolls a failed update back)
   */
  public register(identifier: string, entry: StopperEntry): CustomResource {
    if (this.tasks.has(identifier)) {
      throw duplicate(this, identifier);
    }
    this.tasks.set(identifier, entry);
    return this.resource;
  }

  /**
   * The map, with every identifier resolved (generated identifiers are tokens until synth). With
   * `strict`, a duplicate identifier throws; otherwise (while tokens resolve, before the validation
   * reports it) it, and an identifier that is no literal, is left out.
   */
  private resolvedTasks(strict = false): Record<string, StopperEntry> {
    const stack = Stack.of(this);
    const result: Record<string, StopperEntry> = {};
    for (const [identifier, entry] of this.tasks.entries()) {
      const resolved = stack.resolve(identifier);
      if (typeof resolved !== 'string') {
        continue; // the lifecycle's own validation names it
      }
      if (result[resolved] !== undefined && strict) {
        throw duplicate(this, resolved);
      }
      result[resolved] ??= entry;
    }
    return Object.fromEntries(Object.entries(result).sort(([a], [b]) => a.localeCompare(b)));
  }
}

function duplicate(scope: Construct, identifier: string): Error {
  return new Error(`ReplicationTaskLifecycle: two replication tasks in stack ${Stack.of(scope).stackName} have the identifier `
    + `'${identifier}'; DMS task identifiers are unique per account and region. Give each task its own identifier.`);
}

