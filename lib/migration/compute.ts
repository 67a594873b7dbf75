import { Annotations, Lazy, Tags } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import { Construct, IDependable } from 'constructs';
import type { DmsMigrationTaskProps } from './migration-task-props';
import { checkEngineVersion, replicationTypeOf, serverlessMappingProblems } from './task-checks';
import { IReplicationNetwork } from '../core/interfaces';
import { openSourceDatabases } from '../core/open-database';
import { IMigrationLifecycle } from '../lifecycle/migration-lifecycle';
import { ServerlessReplicationLifecycle } from '../lifecycle/serverless-lifecycle';
import { ReplicationTaskLifecycle } from '../lifecycle/task-lifecycle';
import { IReplicationInstance, ReplicationInstance } from '../replication/replication-instance';
import { ServerlessReplication } from '../replication/serverless';
import { MigrationType } from '../task/migration-type';
import { TableMappings } from '../task/table-mappings';
import { TaskSettings } from '../task/task-settings';

/*
 * Where a migration task runs: a replication task on a replication instance, or a DMS Serverless
 * replication. Each placement creates its DMS resource and the lifecycle that starts it on deploy and
 * stops it before CloudFormation changes it, and says where its compute runs.
 */

/** What the task is, whatever runs it. */
export interface TaskDefinition {
  readonly migrationType: MigrationType;
  readonly settings: TaskSettings;
  readonly tableMappings: TableMappings;
  readonly taskIdentifier: string;
  readonly waitForCompletion: boolean;
  /** `CdcStartPosition`, `CdcStartTime`, `CdcStopPosition` as checked. */
  readonly cdc: Partial<dms.CfnReplicationTaskProps>;
}

/** A placed task: its DMS resource, lifecycle and compute. */
export interface PlacedTask {
  /** ARN of the task, or of the replication configuration. */
  readonly arn: string;
  readonly lifecycle: IMigrationLifecycle;
  readonly startDependencies: IDependable[];
  readonly network?: IReplicationNetwork;
  readonly replicationTask?: dms.CfnReplicationTask;
  readonly replicationInstance?: IReplicationInstance;
  readonly replicationConfig?: ServerlessReplication;
}

/** A replication task on the given instance, or on one created in `network`. */
export function placeOnInstance(scope: Construct, props: DmsMigrationTaskProps, task: TaskDefinition): PlacedTask {
  const replicationInstance = props.compute?.replicationInstance ?? props.replicationInstance
    ?? (props.network ? new ReplicationInstance(scope, 'ReplicationInstance', { network: props.network }) : undefined);
  if (!replicationInstance) {
    throw new Error('DmsMigrationTask: set replicationInstance, or network to create a replication instance in it.');
  }
  checkEngineVersion(props.source, replicationInstance);
  const egressReady = props.network?.egressReady ?? replicationInstance.egressReady;
  const testConnections = props.testConnections ?? true;

  const mappings = task.tableMappings;
  const replicationTask = new dms.CfnReplicationTask(scope, 'Resource', {
    replicationTaskIdentifier: task.taskIdentifier,
    migrationType: task.migrationType,
    replicationInstanceArn: replicationInstance.replicationInstanceArn,
    sourceEndpointArn: props.source.endpointArn,
    targetEndpointArn: props.target.endpointArn,
    tableMappings: Lazy.string({ produce: () => mappings.toJson() }),
    replicationTaskSettings: task.settings.toJson(),
    ...task.cdc,
  });
  // written to the tag managers directly: no tag aspect runs at synth
  replicationTask.tags.setTag('cdk-neon-migration:source', props.source.endpointIdentifier);
  replicationTask.tags.setTag('cdk-neon-migration:target', props.target.endpointIdentifier);

  const startDependencies = egressReady ? [egressReady] : [];
  const lifecycle = new ReplicationTaskLifecycle(scope, 'Lifecycle', {
    replicationTask,
    startOnDeploy: props.startOnDeploy ?? true,
    waitForCompletion: task.waitForCompletion,
    maxWait: props.maxWait,
    onUpdate: props.onUpdate,
    startAfter: startDependencies,
    // tested by the lifecycle resource before the start, after the network egress
    testConnections: testConnections ? { endpoints: [props.source, props.target], replicationInstance } : undefined,
  });
  if (!testConnections) {
    // the lifecycle opens the source for its tests; without them the task start still needs it open
    openSourceDatabases([props.source], replicationInstance, lifecycle.resource, scope);
  }
  return {
    // Ref of AWS::DMS::ReplicationTask is its ARN.
    arn: replicationTask.ref,
    lifecycle,
    startDependencies,
    network: props.network ?? replicationInstance.network,
    replicationTask,
    replicationInstance,
  };
}

/** A DMS Serverless replication with the task's endpoints, mappings and settings, placed in `network` or by its own options. */
export function placeOnServerless(scope: Construct, props: DmsMigrationTaskProps, task: TaskDefinition): PlacedTask {
  const options = props.compute!.serverlessOptions!;
  if (task.cdc.cdcStartPosition !== undefined || task.cdc.cdcStartTime !== undefined) {
    throw new Error('DmsMigrationTask: DMS Serverless does not support custom CDC start points: remove cdcStartPosition and '
      + 'cdcStartTime (CDC starts when the replication starts), or run the task on a replication instance.');
  }
  const placedByOptions = options.network !== undefined || options.vpc !== undefined;
  if (!placedByOptions && !props.network) {
    throw new Error('DmsMigrationTask: a DMS Serverless task needs a network: set network (or network or vpc in '
      + 'ReplicationCompute.serverless({...})).');
  }
  if (options.network && props.network && options.network !== props.network) {
    throw new Error('DmsMigrationTask: network and the network of ReplicationCompute.serverless({...}) differ: set one of them.');
  }
  if (props.testConnections === true) {
    Annotations.of(scope).addWarningV2('cdk-neon-migration:serverlessNoConnectionTest',
      'testConnections is ignored on DMS Serverless: TestConnection needs a replication instance. The serverless replication '
      + 'tests both connections itself when it starts, and the deployment fails with DMS\'s message when a test fails.');
  }
  const mappings = task.tableMappings;
  scope.node.addValidation({ validate: () => serverlessMappingProblems(mappings) });

  const replication = new ServerlessReplication(scope, 'Serverless', {
    ...options,
    network: placedByOptions ? options.network : props.network,
    sourceEndpointArn: props.source.endpointArn,
    targetEndpointArn: props.target.endpointArn,
    replicationType: replicationTypeOf(task.migrationType),
    tableMappings: Lazy.string({ produce: () => mappings.toJson() }),
    replicationSettings: task.settings.toJson(),
    replicationConfigIdentifier: task.taskIdentifier,
  });
  Tags.of(replication.resource).add('cdk-neon-migration:source', props.source.endpointIdentifier);
  Tags.of(replication.resource).add('cdk-neon-migration:target', props.target.endpointIdentifier);

  const egress = props.network?.egressReady ?? replication.egressReady;
  const startDependencies = egress ? [egress] : [];
  const lifecycle = new ServerlessReplicationLifecycle(scope, 'Lifecycle', {
    replicationConfig: replication.resource,
    startOnDeploy: props.startOnDeploy ?? true,
    waitForCompletion: task.waitForCompletion,
    maxWait: props.maxWait,
    onUpdate: props.onUpdate,
    cdcStopPosition: props.cdcStopPosition,
    startAfter: startDependencies,
  });
  // the serverless replication tests its connections when it starts: the source must let it in by then
  openSourceDatabases([props.source], replication, lifecycle.resource, scope);
  return {
    arn: replication.replicationConfigArn,
    lifecycle,
    startDependencies,
    network: replication.network,
    replicationConfig: replication,
  };
}
