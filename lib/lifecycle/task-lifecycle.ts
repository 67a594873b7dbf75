import { Annotations, ArnFormat, CustomResource, Duration, Lazy, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { grantConnectionTests, sourcesOf } from './connection-test';
import { PROPERTIES_HASH_TAG, TASK_LIFECYCLE_TYPE } from './kinds';
import { IMigrationLifecycle, TaskUpdateBehavior } from './migration-lifecycle';
import { TaskStopper } from './task-stopper';
import { validateDmsArn, validateDmsIdentifier, validateResolvedIdentifier } from '../core/identifiers';
import { IDmsEndpoint } from '../core/interfaces';
import { nagFindingId } from '../core/nag';
import { openSourceDatabases } from '../core/open-database';
import { PROGRESS_METRICS_NAMESPACE } from '../metrics/progress-metrics';
import { LoadCompletion } from '../provider/load-wait';
import { resolvedHash, validateMaxWait, waitsThroughCondition } from '../provider/options';
import { MigrationProvider } from '../provider/provider';
import type { IReplicationInstance } from '../replication/replication-instance';


/**
 * Connections a `ReplicationTaskLifecycle` tests before it starts its task.
 */
export interface TaskConnectionTests {
  /** The endpoints to test, typically the task's source and target. */
  readonly endpoints: IDmsEndpoint[];

  /**
   * The replication instance the connections are tested from (the task's instance). The tests wait
   * for its `egressReady`, and the databases of source endpoints that know their
   * `databaseConnections` are opened to it.
   */
  readonly replicationInstance: IReplicationInstance;
}

/**
 * Properties of a `ReplicationTaskLifecycle`.
 */
export interface ReplicationTaskLifecycleProps {
  /**
   * The task to start, stop and keep deployable. Its `replicationTaskIdentifier` must be a
   * literal string: the step that stops the task before an update finds it by that name.
   */
  readonly replicationTask: dms.CfnReplicationTask;

  /**
   * Start the task when it is first deployed (the console's "Automatically on create").
   *
   * @default true
   */
  readonly startOnDeploy?: boolean;

  /**
   * Keep the deployment waiting until the full load completed: a `full-load` task stopped with
   * `FULL_LOAD_ONLY_FINISHED`, a `full-load-and-cdc` task at 100 % and replicating changes. The
   * deployment fails when the task fails, or when a table is in error or failed validation
   * (the message names the tables).
   *
   * @default false - the deployment completes as soon as the task runs
   */
  readonly waitForCompletion?: boolean;

  /**
   * With `waitForCompletion`, how long to wait for the full load before the deployment completes
   * anyway (successfully; the load continues and monitoring follows it). At most 11 hours 45 minutes.
   * Up to 55 minutes the lifecycle's custom resource waits itself; a longer wait goes through an
   * `AWS::CloudFormation::WaitCondition` (a custom resource must answer within an hour), which the
   * stack's load waiter (a Step Functions state machine) signals when the load finished, failed or
   * `maxWait` passed.
   *
   * @default Duration.minutes(50)
   */
  readonly maxWait?: Duration;

  /**
   * What to do with a task that ran before after a deployment changed it.
   *
   * @default TaskUpdateBehavior.RESUME
   */
  readonly onUpdate?: TaskUpdateBehavior;

  /**
   * What must exist before the task starts: connection tests (`DmsConnectionTest`), the route
   * from the replication subnets to the internet (`IReplicationNetwork.egressReady`), the Neon IP
   * Allow entry.
   *
   * @default - the start waits only for the task
   */
  readonly startAfter?: IDependable[];

  /**
   * Test the connections to these endpoints from the replication instance before the task starts
   * (on the first deploy, and whenever the endpoints or the instance change), and fail the
   * deployment with DMS's message and a hint for the known causes when one fails: what a
   * `DmsConnectionTest` does, in the lifecycle's own resource.
   *
   * @default - no connection test
   */
  readonly testConnections?: TaskConnectionTests;
}

/**
 * Starts a DMS replication task on deploy, and stops it whenever CloudFormation must modify or
 * delete it, so that changing a table mapping and `cdk destroy` work on a running task.
 *
 * How the ordering works:
 *
 * CloudFormation creates a task and leaves it `ready`: nothing starts it. A running task cannot be
 * modified or deleted. CloudFormation updates a resource before every resource that depends on it,
 * and deletes in the reverse order. Two custom resources of the stack's shared provider bracket
 * the task:
 *
 * 1. `Custom::DmsTaskStopper` — one per stack; every TASK depends on it, so it is updated before
 *    any task. Its property maps each task identifier to a SHA-256 hash of the task's
 *    in-place-updatable properties (TableMappings, ReplicationTaskSettings, TaskData,
 *    CdcStartPosition, CdcStartTime, CdcStopPosition). When one of them changes, the map changes:
 *    the handler finds that task by identifier, stops it if it is running or starting, and waits
 *    until it is stopped. A task that left the map (renamed, replaced or removed) is stopped under
 *    its old identifier. Its create and delete do nothing.
 * 2. CloudFormation then modifies (or creates) the task.
 * 3. `Custom::DmsTaskLifecycle` — it depends on the TASK (and on `startAfter`), so it is updated
 *    after it. It carries the task ARN, identifier and the same hash. On create it starts the task
 *    (`start-replication`); on an update after a change it resumes it (`resume-processing`),
 *    reloads it (`reload-target`) or leaves it stopped, per `onUpdate`; with `waitForCompletion` it
 *    waits for the full load. On delete (stack deletion, or the old task after a replacement) it
 *    is deleted before the task: it stops the task and waits, then CloudFormation deletes the task.
 *
 * The stopper runs before the task exists in the template's dependency graph, so it cannot name
 * the task ARN. The construct tags the task with `cdk-neon-migration:lifecycle` = the stack id
 * (`AWS::StackId`), and the shared provider role may start, stop and read the statistics of the
 * tasks carrying that tag: one statement for all tasks of the stack, in the role's default policy,
 * so adding a migration adds no IAM resource.
 *
 * If a deployment fails after the stopper stopped the task, the rollback leaves it stopped.
 *
 * @example
 * import * as dms from 'aws-cdk-lib/aws-dms';
 * import { IDmsEndpoint, ReplicationInstance, ReplicationTaskLifecycle } from 'cdk-neon-migration';
 *
 * declare const task: dms.CfnReplicationTask; // on the instance, with a literal replicationTaskIdentifier
 * declare const instance: ReplicationInstance;
 * declare const source: IDmsEndpoint;
 * declare const neonTarget: IDmsEndpoint;
 *
 * new ReplicationTaskLifecycle(this, 'Lifecycle', {
 *   replicationTask: task,
 *   testConnections: { endpoints: [source, neonTarget], replicationInstance: instance },
 *   waitForCompletion: true,
 * });
 */
export class ReplicationTaskLifecycle extends Construct implements IMigrationLifecycle {
  /**
   * Tag key the construct adds to the task, with the stack id as value; the handlers' permissions
   * on tasks are conditioned on it.
   */
  public static readonly TAG_KEY = MigrationProvider.TAG_KEY;

  /** The task's identifier, in lower case as DMS stores it. */
  public readonly replicationTaskIdentifier: string;
  /** ARN of the task. */
  public readonly replicationTaskArn: string;
  /** The custom resource that starts the task (and stops it on delete). */
  public readonly resource: CustomResource;
  /**
   * The custom resource that stops the task before CloudFormation modifies it: one per stack,
   * shared by every task with a lifecycle in it.
   */
  public readonly stopper: CustomResource;
  /**
   * Completes when the deployment's wait for the task ended: the lifecycle resource, or with a
   * `maxWait` over 55 minutes the wait condition that completes when the full load did. Make what
   * must come after the load (a verification) depend on it.
   */
  public readonly completion: IDependable;

  constructor(scope: Construct, id: string, props: ReplicationTaskLifecycleProps) {
    super(scope, id);

    const task = props.replicationTask;
    const identifier = task.replicationTaskIdentifier;
    if (identifier === undefined) {
      throw new Error('ReplicationTaskLifecycle: replicationTask.replicationTaskIdentifier must be set to a literal string '
        + '(e.g. \'neon-migration\'): the stop before an update finds the task by its identifier, which CloudFormation '
        + 'would otherwise generate.');
    }
    // a token must resolve to a literal at synth (DmsMigrationTask's generated identifiers do)
    validateResolvedIdentifier(this, 'ReplicationTaskLifecycle', 'replicationTask.replicationTaskIdentifier', identifier, 255);
    const lowerCase = validateDmsIdentifier('ReplicationTaskLifecycle', 'replicationTask.replicationTaskIdentifier', identifier, 255);
    const waitForCompletion = props.waitForCompletion ?? false;
    const maxWaitSeconds = validateMaxWait('ReplicationTaskLifecycle', props.maxWait);
    if (props.maxWait && !waitForCompletion) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:lifecycleMaxWaitIgnored',
        'maxWait only applies with waitForCompletion: true; it is ignored.');
    }

    this.replicationTaskIdentifier = lowerCase;
    this.replicationTaskArn = task.ref;

    const provider = MigrationProvider.of(this);
    provider.tag(task);
    grantTaskControl(provider);
    // the handler publishes the progress of a running task, graphed by MigrationDashboard
    // (PutMetricData has no resource-level permissions: the namespace is the condition)
    provider.grantOnce('cloudwatch:progress', () => [new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': PROGRESS_METRICS_NAMESPACE } },
    })]);
    const propertiesHash = Lazy.string({ produce: () => updatablePropertiesHash(task) });
    // CloudFormation writes the hash with every modification: a rollback's handlers read it to tell
    // whether the task has been restored yet
    task.tags.setTag(PROPERTIES_HASH_TAG, propertiesHash);

    // The stack's stopper runs before every task in the graph; it finds the task by identifier.
    const taskLogicalId = Lazy.string({ produce: () => Stack.of(task).getLogicalId(task) });
    this.stopper = TaskStopper.of(this).register(this.replicationTaskIdentifier, {
      Hash: propertiesHash,
      LogicalId: taskLogicalId,
      OnUpdate: props.onUpdate ?? TaskUpdateBehavior.RESUME,
      StartOnDeploy: String(props.startOnDeploy ?? true),
    });
    task.node.addDependency(this.stopper);

    const tests = props.testConnections;
    const testPermissions = tests ? this.grantTests(tests) : [];

    // a wait longer than a custom resource may take goes through a wait condition the load waiter signals
    const completion = waitForCompletion && waitsThroughCondition(maxWaitSeconds)
      ? new LoadCompletion(this, 'LoadCompletion', {
        maxWaitSeconds,
        identity: () => ({
          Task: Stack.of(task).resolve(task.ref),
          Hash: updatablePropertiesHash(task),
          MigrationType: task.migrationType,
          MaxWait: maxWaitSeconds,
        }),
      })
      : undefined;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: TASK_LIFECYCLE_TYPE,
      properties: {
        ...completion?.properties,
        TaskArn: task.ref,
        TaskIdentifier: this.replicationTaskIdentifier,
        TaskLogicalId: taskLogicalId,
        PropertiesHash: propertiesHash,
        MigrationType: task.migrationType,
        StartOnDeploy: String(props.startOnDeploy ?? true),
        WaitForCompletion: String(waitForCompletion),
        MaxWaitSeconds: Token.isUnresolved(maxWaitSeconds) ? Token.asString(maxWaitSeconds) : String(maxWaitSeconds),
        OnUpdate: props.onUpdate ?? TaskUpdateBehavior.RESUME,
        TestEndpointArns: tests?.endpoints.map(e => e.endpointArn),
        TestReplicationInstanceArn: tests?.replicationInstance.replicationInstanceArn,
        TestSources: tests ? sourcesOf(tests.endpoints) : undefined,
      },
    });
    this.resource.node.addDependency(task, ...testPermissions);
    this.completion = completion ? completion.waitFor(this.resource) : this.resource;
    for (const endpoint of tests?.endpoints ?? []) {
      // everything the endpoint is made of (credentials, access role) exists before the test runs
      this.resource.node.addDependency(endpoint);
    }
    if (tests) {
      openSourceDatabases(tests.endpoints, tests.replicationInstance, this.resource, this);
      // the tests need the instance's way out (NAT route, Secrets Manager access, IP Allow entry)
      if (tests.replicationInstance.egressReady) {
        this.resource.node.addDependency(tests.replicationInstance.egressReady);
      }
    }
    this.addStartDependency(...(props.startAfter ?? []));
  }

  private grantTests(tests: TaskConnectionTests): IDependable[] {
    if (tests.endpoints.length === 0) {
      throw new Error('ReplicationTaskLifecycle: testConnections.endpoints is empty: list the endpoints to test, or leave testConnections out.');
    }
    for (const endpoint of tests.endpoints) {
      validateDmsArn('ReplicationTaskLifecycle', endpoint.endpointArn, 'testConnections.endpoints[].endpointArn', 'endpoint');
    }
    const instanceArn = tests.replicationInstance.replicationInstanceArn;
    validateDmsArn('ReplicationTaskLifecycle', instanceArn, 'testConnections.replicationInstance.replicationInstanceArn', 'rep');
    return grantConnectionTests(this, tests.endpoints, tests.endpoints.map(e => e.endpointArn), instanceArn);
  }

  /** Start the task only after `dependables` exist (connection tests, the NAT route, the IP Allow entry). */
  public addStartDependency(...dependables: IDependable[]): void {
    this.resource.node.addDependency(...dependables);
  }

  /** The task's status after the deployment (`running`, or `stopped` for a finished full load). */
  public get status(): string {
    return this.resource.getAttString('Status');
  }
}

/**
 * What both custom resources need, for every task of the stack at once: the tasks carry the
 * provider's tag with the stack id as value. Added once per stack to the handler role's default
 * policy, which the handler functions (and so both custom resources) come after. Naming a task ARN
 * there instead would close a cycle: task → stopper → handler functions → role policy → task.
 */
function grantTaskControl(provider: MigrationProvider): void {
  const stack = Stack.of(provider);
  const tasks = stack.formatArn({ service: 'dms', resource: 'task', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  provider.grantOnce('dms:task-control', () => [
    new iam.PolicyStatement({
      actions: ['dms:StartReplicationTask', 'dms:StopReplicationTask', 'dms:DescribeTableStatistics', 'dms:ListTagsForResource'],
      resources: [tasks],
      conditions: { StringEquals: { [`dms:task-tag/${MigrationProvider.TAG_KEY}`]: provider.tagValue } },
    }),
    new iam.PolicyStatement({
      // DescribeReplicationTasks supports no resource-level permissions; it only reads task status
      actions: ['dms:DescribeReplicationTasks'],
      resources: ['*'],
    }),
  ], [{
    id: nagFindingId(provider, 'AwsSolutions-IAM5', 'Resource', tasks),
    reason: 'Starting, stopping and reading the statistics of replication tasks is limited by condition to the tasks tagged with this stack\'s id; the stopper runs before the task exists and cannot name its ARN.',
  }]);
}

/**
 * SHA-256 of the task's properties that CloudFormation updates in place (and that need the task
 * stopped), resolved: tokens are hashed as their resolved CloudFormation expressions.
 */
function updatablePropertiesHash(task: dms.CfnReplicationTask): string {
  return resolvedHash(task, updatableTaskProperties(task));
}

/** The properties of a replication task CloudFormation updates in place, by their CloudFormation names. */
export function updatableTaskProperties(task: dms.CfnReplicationTask): Record<string, unknown> {
  return {
    TableMappings: task.tableMappings,
    ReplicationTaskSettings: task.replicationTaskSettings,
    TaskData: task.taskData,
    CdcStartPosition: task.cdcStartPosition,
    CdcStartTime: task.cdcStartTime,
    CdcStopPosition: task.cdcStopPosition,
  };
}
