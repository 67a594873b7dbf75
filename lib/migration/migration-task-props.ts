import { Duration } from 'aws-cdk-lib';
import { SchemaConversionOptions } from '../conversion/schema-conversion-props';
import { IDmsEndpoint, IReplicationNetwork } from '../core/interfaces';
import { TaskUpdateBehavior } from '../lifecycle/migration-lifecycle';
import { PremigrationAssessmentOptions } from '../live/assessment';
import { NeonComputeOptions } from '../live/neon-compute';
import { IReplicationInstance } from '../replication/replication-instance';
import { ReplicationCompute } from '../replication/serverless';
import { SchemaCopyOptions } from '../schema/schema-copy';
import { MigrationType } from '../task/migration-type';
import { TableMappings } from '../task/table-mappings';
import { TaskSettings } from '../task/task-settings';

/**
 * Properties of a `DmsMigrationTask`.
 */
export interface DmsMigrationTaskProps {
  /** The source database endpoint (an endpoint of type `source`). */
  readonly source: IDmsEndpoint;

  /** The target endpoint (of type `target`), usually a `NeonTargetEndpoint`. */
  readonly target: IDmsEndpoint;

  /**
   * The replication instance that runs the task. Not together with `compute`.
   *
   * @default - a new `ReplicationInstance` (dms.t3.medium) is created in `network`
   */
  readonly replicationInstance?: IReplicationInstance;

  /**
   * Where the task runs: `ReplicationCompute.instance(instance)` (the same as `replicationInstance`)
   * or `ReplicationCompute.serverless({ maxCapacityUnits, ... })` for DMS Serverless, which scales
   * between the capacity limits instead of running on one instance. On DMS Serverless the task is an
   * `AWS::DMS::ReplicationConfig` (`replicationConfig`), placed in `network` unless the serverless
   * options name a network or VPC. Not together with `replicationInstance`.
   *
   * @default - `replicationInstance`, or a new replication instance in `network`
   */
  readonly compute?: ReplicationCompute;

  /**
   * Where to create the replication instance when `replicationInstance` is not given (or the
   * DMS Serverless replication, with `compute`); its `egressReady` is also what the connection
   * tests and the task start wait for.
   *
   * @default - the replication instance's own `egressReady`; required when neither
   * `replicationInstance` nor a placement in `compute` is given
   */
  readonly network?: IReplicationNetwork;

  /**
   * The tables to migrate and how to transform them.
   *
   * @default - every table (`%`) of `schemaName`
   */
  readonly tableMappings?: TableMappings;

  /**
   * The schema whose tables are migrated when `tableMappings` is not given.
   *
   * @default - none: set this or `tableMappings`
   */
  readonly schemaName?: string;

  /**
   * Full load, CDC or both. Changing it replaces the task.
   *
   * @default MigrationType.FULL_LOAD
   */
  readonly migrationType?: MigrationType;

  /**
   * The task settings.
   *
   * @default - `new TaskSettings()`: DO_NOTHING, limited LOB mode that stops on truncation,
   * validation and CloudWatch logging on
   */
  readonly settings?: TaskSettings;

  /**
   * Where CDC starts: a PostgreSQL LSN or a checkpoint (`CdcStartPosition`). Only for CDC
   * migration types on a replication instance (DMS Serverless supports no custom CDC start
   * point); not together with `cdcStartTime`.
   *
   * @default - CDC starts when the task starts
   */
  readonly cdcStartPosition?: string;

  /**
   * When CDC starts (`CdcStartTime`). Only for CDC migration types on a replication instance;
   * not together with `cdcStartPosition`.
   *
   * @default - CDC starts when the task starts
   */
  readonly cdcStartTime?: Date;

  /**
   * Where CDC stops: `server_time:YYYY-MM-DDTHH:MM:SS` or `commit_time:YYYY-MM-DDTHH:MM:SS`
   * (`CdcStopPosition`). Only for CDC migration types.
   *
   * @default - CDC runs until the task is stopped
   */
  readonly cdcStopPosition?: string;

  /**
   * Start the task when it is created ("Automatically on create").
   *
   * @default true
   */
  readonly startOnDeploy?: boolean;

  /**
   * Keep the deployment waiting until the full load finished (`FULL_LOAD`: the task stopped after it;
   * `FULL_LOAD_AND_CDC`: every table loaded and changes replicating), failing it when tables fail to
   * load or validate. `MigrationVerification.forTask` needs it. With `CDC` there is no full load: the
   * deployment completes once the task runs.
   *
   * @default false
   */
  readonly waitForCompletion?: boolean;

  /**
   * With `waitForCompletion`, how long the deployment waits for the full load before it completes
   * anyway while the load continues: at most 11 hours 45 minutes. Up to 55 minutes the lifecycle's
   * custom resource waits itself; a longer wait goes through an `AWS::CloudFormation::WaitCondition`
   * that the stack's load waiter signals (a custom resource must answer within an hour).
   *
   * @default Duration.minutes(50)
   */
  readonly maxWait?: Duration;

  /**
   * What happens to a task that ran before, after a deployment changed its table mappings, settings
   * or CDC positions (it is always stopped before CloudFormation modifies it). DMS Serverless
   * cannot resume a full load: a `FULL_LOAD` serverless task stays stopped after a change unless
   * this is `RELOAD`.
   *
   * @default TaskUpdateBehavior.RESUME
   */
  readonly onUpdate?: TaskUpdateBehavior;

  /**
   * Test the connections from the replication instance to the source and the target at deploy
   * time, before the task starts (in the task's lifecycle resource, on the first deploy and
   * whenever an endpoint or the instance changes). Not available on DMS Serverless (`TestConnection` needs a
   * replication instance): a serverless replication tests both connections itself when it
   * starts, and the deployment fails with DMS's message when a test fails.
   *
   * @default true (ignored on DMS Serverless)
   */
  readonly testConnections?: boolean;

  /**
   * Copy the source's schema into Neon around the full load, with the PostgreSQL client tools: before
   * the task starts, the pre-data section of `pg_dump` (types, domains, functions, sequences, tables,
   * views) for the selected tables; after the full load, the post-data section (indexes, constraints,
   * triggers) and every sequence set from the source. Needs a `PostgresSourceEndpoint`, a
   * `NeonTargetEndpoint`, `waitForCompletion: true`, a full-load migration type, a target table
   * preparation mode other than `DROP_AND_CREATE`, and table mappings without renaming rules. With
   * `FULL_LOAD_AND_CDC` the task stops after the full load (`stopAfterFullLoad`) so the indexes exist
   * before it applies the cached changes, and the step that creates them resumes it; foreign keys,
   * triggers and the sequences follow at the cut-over (`schemaCopy.cutover`).
   *
   * @default - no schema copy: DMS creates missing tables itself, with their columns and primary key only
   */
  readonly schemaCopy?: SchemaCopyOptions;

  /**
   * Keep the Neon compute of `target` (a `NeonTargetEndpoint`) from suspending while the migration
   * is in the stack, with a Neon API key: its scale-to-zero setting is turned off before the task
   * starts and restored when the migration leaves the stack. Without it, a change data capture
   * migration into Neon gets the synth warning `cdk-neon-migration:neonComputeSuspends` naming the
   * manual step.
   *
   * @default - the compute's scale-to-zero setting is left as it is
   */
  readonly neonCompute?: NeonComputeOptions;

  /**
   * Run a DMS premigration assessment of the task after it exists and before its first start (and
   * again whenever the task's properties change), failing the deployment on individual assessments
   * that fail and are not acknowledged. On a replication instance only.
   *
   * @default - no premigration assessment
   */
  readonly premigrationAssessment?: PremigrationAssessmentOptions;

  /**
   * Convert the schema of a MySQL, Oracle or SQL Server source into Neon with DMS Schema Conversion
   * before the task starts, as Neon's guide asks for a source other than PostgreSQL: the objects the
   * table mappings select are assessed (the deployment fails on action items at or above `failOn`),
   * converted, and applied to Neon; the task then loads into the converted tables. Needs a
   * `NeonTargetEndpoint`, a full-load migration type, a target table preparation mode other than
   * `DROP_AND_CREATE`, and table mappings whose renames the conversion can follow (see
   * `DmsSchemaConversion`). Not together with `schemaCopy` (PostgreSQL sources).
   *
   * @default - no schema conversion: DMS creates missing tables itself, with their columns and primary key only
   */
  readonly schemaConversion?: SchemaConversionOptions;

  /**
   * The replication task identifier (on DMS Serverless: the replication configuration
   * identifier): 1–255 letters, digits and hyphens, beginning with a letter, no trailing or double
   * hyphen; a literal string (the task is found by it before updates). Stored in lowercase.
   *
   * @default - derived from the construct path, stable across deployments
   */
  readonly taskIdentifier?: string;

  /**
   * Drop the logical replication slot the task leaves on its PostgreSQL source when CloudFormation
   * deletes or replaces the task. DMS creates the slot when a CDC task starts and keeps it after the
   * task stops or is deleted, holding the source's WAL until someone drops it. The cleanup records
   * the slot the running task reads and drops only that slot, only once it is inactive; a deletion
   * never fails because the source cannot be reached (the log says what to drop by hand).
   *
   * Applies to CDC migration types (`FULL_LOAD_AND_CDC`, `CDC`) from a `PostgresSourceEndpoint` on a
   * replication instance whose network is known (created by the task or by `ReplicationInstance`).
   *
   * @default - true where it applies, false otherwise
   */
  readonly dropReplicationSlot?: boolean;

  /**
   * Declare the stack outputs the command line needs, named after the task (`MigrationTaskArn` for
   * a task with id `Migration` at the top of its stack; a task deeper in the tree gets its path and a
   * hash): the task's ARN (`TaskArn`; `ReplicationConfigArn` on DMS Serverless), the complete ARNs of
   * the source endpoint's secret (`SourceSecretArn`) and of a `NeonTargetEndpoint`'s
   * `clientCredentialsSecret` (`TargetSecretArn`), from which `SOURCE_DATABASE_URL` and
   * `TARGET_DATABASE_URL` are made, and for a task with ongoing replication on a replication instance
   * the command that cuts it over (`CutoverCommand`). The stack's Region is declared once per stack
   * (`NeonMigrationRegion`). A template holds at most 200 outputs: a stack of many migrations may need
   * `false` here for some of them (its synthesis fails, naming this property, otherwise).
   *
   * @default true
   */
  readonly outputs?: boolean;
}
