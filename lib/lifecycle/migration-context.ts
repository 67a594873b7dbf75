import * as dms from 'aws-cdk-lib/aws-dms';
import { Construct, IDependable } from 'constructs';
import { IMigrationLifecycle } from './migration-lifecycle';
import { IDmsEndpoint, IReplicationNetwork } from '../core/interfaces';
import type { IReplicationInstance } from '../replication/replication-instance';
import { MigrationType } from '../task/migration-type';
import { TableMappings } from '../task/table-mappings';
import { TaskSettings } from '../task/task-settings';

/**
 * What a part of a migration task (the schema copy, the schema conversion, the live-migration
 * safeguards) sees of the task it is wired into: its endpoints and definition, where its compute
 * runs, and the lifecycle whose start the part can hold. Each capability wires itself from it.
 *
 * @internal
 */
export interface MigrationContext {
  /** The task: the parts are created under it. */
  readonly scope: Construct;
  readonly source: IDmsEndpoint;
  readonly target: IDmsEndpoint;
  readonly migrationType: MigrationType;
  readonly settings: TaskSettings;
  readonly tableMappings: TableMappings;
  /** Whether the deployment waits for the full load. */
  readonly waitForCompletion: boolean;
  /** Whether the task runs on DMS Serverless (a replication configuration) rather than on an instance. */
  readonly serverless: boolean;
  /** Where the compute runs; undefined for an instance imported without its network. */
  readonly network?: IReplicationNetwork;
  /** Starts the task on deploy and stops it before updates and deletion. */
  readonly lifecycle: IMigrationLifecycle;
  /** ARN of the task (or of the replication configuration). */
  readonly arn: string;
  /** What the start waits for: the network's egress. */
  readonly startDependencies: IDependable[];
  /** The replication task, on a replication instance. */
  readonly replicationTask?: dms.CfnReplicationTask;
  /** The replication instance, for a task on one. */
  readonly replicationInstance?: IReplicationInstance;
}
