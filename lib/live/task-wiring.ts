import { Annotations } from 'aws-cdk-lib';
import { IDependable } from 'constructs';
import { PremigrationAssessment, PremigrationAssessmentOptions } from './assessment';
import { NeonComputeKeepAlive, NeonComputeOptions } from './neon-compute';
import { ReplicationSlotCleanup } from './replication-slot-cleanup';
import { openSourceDatabases } from '../core/open-database';
import { MigrationContext } from '../lifecycle/migration-context';
import { ReplicationTaskLifecycle } from '../lifecycle/task-lifecycle';
import { PostgresSourceEndpoint } from '../sources/postgres';
import { MigrationType } from '../task/migration-type';

/*
 * The safeguards of a live migration, wired into a migration task: the Neon compute kept active,
 * DMS's premigration assessment before the first start, the replication slot dropped afterwards.
 */

/**
 * The compute of a Neon target kept from suspending while the migration runs (`neonCompute`), set
 * before the task starts; without `neonCompute`, a CDC migration into Neon warns.
 *
 * @internal
 */
export function neonComputeOfTask(task: MigrationContext, options: NeonComputeOptions | undefined): NeonComputeKeepAlive | undefined {
  const neonEndpointId = (task.target as unknown as { neonEndpointId?: string }).neonEndpointId;
  if (!options) {
    if (neonEndpointId !== undefined && task.migrationType !== MigrationType.FULL_LOAD) {
      NeonComputeKeepAlive.addManualStepWarning(task.scope, neonEndpointId);
    }
    return undefined;
  }
  if (neonEndpointId === undefined) {
    throw new Error('DmsMigrationTask: neonCompute keeps the compute of a NeonTargetEndpoint active, and the target is not one '
      + '(it names its compute by the first label of its host). Create the target with NeonTargetEndpoint, or remove neonCompute.');
  }
  const keepAlive = new NeonComputeKeepAlive(task.scope, 'NeonCompute', { ...options, neonEndpointId });
  task.lifecycle.addStartDependency(keepAlive.resource);
  return keepAlive;
}

/**
 * The premigration assessment of `premigrationAssessment`: after the task exists, the instance's way
 * out and the source's ingress rule (DMS connects to both endpoints from the instance), after what
 * puts the target tables in Neon (`tablesReady`: the schema copy's pre-data step, the schema
 * conversion), since the assessments look at them; before the start.
 *
 * @internal
 */
export function premigrationAssessmentOfTask(task: MigrationContext, options: PremigrationAssessmentOptions | undefined,
  tablesReady: IDependable[]): PremigrationAssessment | undefined {
  if (!options) return undefined;
  if (!task.replicationTask || !task.replicationInstance) {
    throw new Error('DmsMigrationTask: premigrationAssessment runs StartReplicationTaskAssessmentRun on a replication task, which DMS Serverless '
      + 'has not: run the task on a replication instance, or remove premigrationAssessment.');
  }
  const assessment = new PremigrationAssessment(task.scope, 'PremigrationAssessment', { ...options, replicationTask: task.replicationTask });
  assessment.resource.node.addDependency(...task.startDependencies, task.source, task.target);
  openSourceDatabases([task.source], task.replicationInstance, assessment.resource, task.scope);
  if (tablesReady.length > 0) {
    assessment.resource.node.addDependency(...tablesReady);
  }
  task.lifecycle.addStartDependency(assessment.resource);
  return assessment;
}

/**
 * The cleanup of the replication slot the task leaves on its PostgreSQL source (`dropReplicationSlot`):
 * on by default for CDC from a `PostgresSourceEndpoint` on a replication instance whose network is known.
 *
 * @internal
 */
export function slotCleanupOfTask(task: MigrationContext, dropReplicationSlot: boolean | undefined): ReplicationSlotCleanup | undefined {
  if (task.serverless) {
    if (dropReplicationSlot === true) {
      throw new Error('DmsMigrationTask: dropReplicationSlot needs a replication instance: DMS Serverless reads the source from addresses '
        + 'the stack cannot know, so the slot it leaves cannot be told from another\'s. Remove dropReplicationSlot and drop the slot by hand '
        + 'after the migration (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active AND ...).');
    }
    return undefined;
  }
  const cdc = task.migrationType !== MigrationType.FULL_LOAD;
  const postgres = task.source instanceof PostgresSourceEndpoint;
  if (dropReplicationSlot === true) {
    const missing = [
      ...(cdc ? [] : ['a CDC migration type (FULL_LOAD_AND_CDC or CDC): a full load leaves no slot']),
      ...(postgres ? [] : ['a PostgresSourceEndpoint']),
      ...(task.network ? [] : ['a network (the replication network the slot function runs in, which reaches the source): import the replication instance with its network']),
    ];
    if (missing.length > 0) {
      throw new Error(`DmsMigrationTask: dropReplicationSlot needs ${missing.join(', ')}. Remove dropReplicationSlot, or drop the slot by hand `
        + 'after the migration (SELECT pg_drop_replication_slot(...) on the source).');
    }
  }
  if (dropReplicationSlot === false || !cdc || !postgres) return undefined;
  if (!task.network) {
    Annotations.of(task.scope).addInfo('The replication slot this CDC task leaves on its PostgreSQL source is not dropped by the stack: '
      + 'dropReplicationSlot needs the network the replication instance runs in (import the instance with its network). After the migration, drop it on the source '
      + 'with SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active AND plugin IN (\'test_decoding\', \'pglogical\').');
    return undefined;
  }
  if (!(task.lifecycle instanceof ReplicationTaskLifecycle) || !task.replicationTask || !task.replicationInstance) return undefined;
  return new ReplicationSlotCleanup(task.scope, 'SlotCleanup', {
    source: task.source as PostgresSourceEndpoint,
    replicationTask: task.replicationTask,
    lifecycle: task.lifecycle,
    replicationInstance: task.replicationInstance,
    network: task.network,
  });
}
