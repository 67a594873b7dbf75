import { CustomResource, Lazy, Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { ResourceTypes } from './kinds';
import { MigrationProvider } from './provider';

/**
 * The one `Custom::DmsTaskStopper` of a stack, shared by every `ReplicationTaskLifecycle` in it.
 *
 * Every task with a lifecycle depends on it, so CloudFormation updates it before it modifies any
 * task. Its only property maps each task identifier to the hash of the task's in-place-updatable
 * properties; when a hash changes (or a task leaves the map), its handler stops that task and waits
 * until it is stopped. One resource per stack instead of one per task.
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

  /** Task identifier (lower case) → hash of its updatable properties (a token until synth). */
  private readonly tasks = new Map<string, string>();

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: MigrationProvider.of(this).serviceToken,
      resourceType: ResourceTypes.TASK_STOPPER,
      properties: {
        Tasks: Lazy.any({
          produce: () => Object.fromEntries([...this.tasks.entries()].sort(([a], [b]) => a.localeCompare(b))),
        }),
      },
    });
  }

  /**
   * Adds a task to the map and returns the resource the task must depend on.
   *
   * @param identifier the task's `ReplicationTaskIdentifier`, in lower case
   * @param propertiesHash hash of the task's in-place-updatable properties
   */
  public register(identifier: string, propertiesHash: string): CustomResource {
    if (this.tasks.has(identifier)) {
      throw new Error(`ReplicationTaskLifecycle: two replication tasks in stack ${Stack.of(this).stackName} have the identifier `
        + `'${identifier}'; DMS task identifiers are unique per account and region. Give each task its own identifier.`);
    }
    this.tasks.set(identifier, propertiesHash);
    return this.resource;
  }
}
