import { Annotations, Aspects, Duration, Fn, Lazy, Tags, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct, IDependable } from 'constructs';
import { DmsSchemaConversion, SchemaConversionOptions } from '../conversion/schema-conversion';
import { l1Property, replacementAwareIdentifier, replacementKeyOf, validateDmsIdentifier } from '../core/identifiers';
import { EndpointType, IDmsEndpoint, IReplicationNetwork } from '../core/interfaces';
import { openSourceDatabases } from '../core/open-database';
import { IMigrationLifecycle, TaskUpdateBehavior } from '../lifecycle/migration-lifecycle';
import { ServerlessReplicationLifecycle } from '../lifecycle/serverless-lifecycle';
import { ReplicationTaskLifecycle } from '../lifecycle/task-lifecycle';
import { PremigrationAssessment, PremigrationAssessmentOptions } from '../live/assessment';
import { NeonComputeKeepAlive, NeonComputeOptions } from '../live/neon-compute';
import { ReplicationSlotCleanup } from '../live/replication-slot-cleanup';
import { DmsMetrics } from '../metrics/metrics';
import { IMonitoredMigration } from '../monitoring/monitored-migration';
import type { NeonTargetEndpoint } from '../neon/target-endpoint';
import { DEFAULT_DMS_ENGINE_VERSION } from '../replication/engine-version';
import { IReplicationInstance, ReplicationInstance } from '../replication/replication-instance';
import { ReplicationCompute, ReplicationComputeKind, ReplicationType, ServerlessReplication } from '../replication/serverless';
import { PostgresSchemaCopy, SchemaCopyOptions } from '../schema/schema-copy';
import { LogicalReplicationStatus } from '../sources/logical-replication-status';
import { PostgresSourceEndpoint } from '../sources/postgres';
import { SourceDatabase } from '../sources/source-database';
import { MigrationType } from '../task/migration-type';
import { RuleType, TableMappings, TableType } from '../task/table-mappings';
import { LobMode, TargetTablePrepMode, TaskSettings } from '../task/task-settings';

/** Longest replication task identifier DMS accepts. */
const MAX_TASK_IDENTIFIER_LENGTH = 255;

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
}

/**
 * A DMS migration task into Neon: the `AWS::DMS::ReplicationTask` and its lifecycle: connections
 * to both endpoints tested from the replication instance, then the task started on deploy (after
 * the network egress), stopped before CloudFormation modifies or deletes it.
 *
 * With `compute: ReplicationCompute.serverless(...)` the task runs on DMS Serverless instead: an
 * `AWS::DMS::ReplicationConfig` with the same table mappings and settings, started and stopped by a
 * `ServerlessReplicationLifecycle`, without deploy-time connection tests.
 *
 * @example
 * import {
 *   DmsMigrationTask, MigrationType, NatEgressForReplication, NeonTargetEndpoint, PostgresSourceEndpoint, TableMappings,
 * } from 'cdk-neon-migration';
 *
 * declare const source: PostgresSourceEndpoint;
 * declare const neonEndpoint: NeonTargetEndpoint;
 * declare const network: NatEgressForReplication;
 *
 * new DmsMigrationTask(this, 'Migration', {
 *   source,
 *   target: neonEndpoint,
 *   network,
 *   tableMappings: TableMappings.includeSchema('dms_sample'),
 *   migrationType: MigrationType.FULL_LOAD,
 * });
 */
export class DmsMigrationTask extends Construct implements IMonitoredMigration {
  /** The source endpoint. */
  public readonly source: IDmsEndpoint;
  /** The target endpoint. */
  public readonly target: IDmsEndpoint;
  /** The `AWS::DMS::ReplicationTask`; undefined on DMS Serverless. */
  public readonly replicationTask?: dms.CfnReplicationTask;
  /** The DMS Serverless replication (`AWS::DMS::ReplicationConfig`); undefined on a replication instance. */
  public readonly replicationConfig?: ServerlessReplication;
  /** ARN of the replication configuration; undefined on a replication instance. */
  public readonly replicationConfigArn?: string;
  /** ARN of the task, or of the replication configuration on DMS Serverless. */
  public readonly arn: string;
  /** The task identifier (its name; on DMS Serverless the replication configuration identifier). */
  public readonly taskIdentifier: string;
  /**
   * The resource id, the last part of `arn`: for a task the `ReplicationTaskIdentifier` dimension
   * of the AWS/DMS metrics.
   */
  public readonly taskResourceId: string;
  /** The replication instance running the task (given or created); undefined on DMS Serverless. */
  public readonly replicationInstance?: IReplicationInstance;
  /** Whether the task runs on a replication instance or on DMS Serverless. */
  public readonly computeKind: ReplicationComputeKind;
  /** The migration type. */
  public readonly migrationType: MigrationType;
  /** Whether the deployment waits for the full load (`waitForCompletion`). */
  public readonly waitForCompletion: boolean;
  /** The table mappings. */
  public readonly tableMappings: TableMappings;
  /** The task settings. */
  public readonly settings: TaskSettings;
  /** The schema copy around the full load, with `schemaCopy`. */
  public readonly schemaCopy?: PostgresSchemaCopy;
  /** Keeps the Neon compute active while the migration runs, with `neonCompute`. */
  public readonly neonCompute?: NeonComputeKeepAlive;
  /** The premigration assessment the task start waits for, with `premigrationAssessment`. */
  public readonly premigrationAssessment?: PremigrationAssessment;
  /** The DMS Schema Conversion of the source's schema before the task starts, with `schemaConversion`. */
  public readonly schemaConversion?: DmsSchemaConversion;
  /** Drops the replication slot the task leaves on its PostgreSQL source (see `dropReplicationSlot`). */
  public readonly replicationSlotCleanup?: ReplicationSlotCleanup;
  /**
   * The RDS or Aurora PostgreSQL database a CDC task reads changes from, when the source endpoint
   * knows it (`PostgresSourceEndpoint.fromRdsInstance` / `fromRdsCluster`): `MigrationAlarms` watches
   * its replication slots' WAL and its storage.
   */
  public readonly sourceDatabase?: SourceDatabase;
  /**
   * The network the task's compute runs in (`network`, or the replication instance's): where the
   * schema copy, the preflight, the verification and the replication slot cleanup run by default.
   * Undefined only for an imported replication instance imported without its network.
   */
  public readonly network?: IReplicationNetwork;
  /** What the task start waits for: the network's egress. */
  public readonly startDependencies: IDependable[];
  /**
   * Starts the task on deploy and stops it before updates and deletion: a
   * `ReplicationTaskLifecycle`, or a `ServerlessReplicationLifecycle` on DMS Serverless.
   */
  public readonly lifecycle: IMigrationLifecycle;

  constructor(scope: Construct, id: string, props: DmsMigrationTaskProps) {
    super(scope, id);

    validateEndpoints(props.source, props.target);
    this.source = props.source;
    this.target = props.target;
    this.migrationType = props.migrationType ?? MigrationType.FULL_LOAD;
    this.waitForCompletion = props.waitForCompletion ?? false;
    const settings = props.settings ?? new TaskSettings();
    // with a schema copy, a full load and CDC stops after the load so the indexes exist before the cached changes apply
    this.settings = props.schemaCopy && this.migrationType === MigrationType.FULL_LOAD_AND_CDC ? settings.withStopAfterFullLoad() : settings;
    this.tableMappings = resolveMappings(props);
    const cdc = validateCdc(this.migrationType, props);

    if (props.compute && props.replicationInstance) {
      throw new Error('DmsMigrationTask: compute and replicationInstance are alternatives: pass the instance as '
        + 'compute: ReplicationCompute.instance(instance), or set replicationInstance alone.');
    }
    if (props.network && (props.replicationInstance || props.compute?.replicationInstance)) {
      throw new Error('DmsMigrationTask: network and replicationInstance are alternatives: an instance brings its network with it '
        + '(what the task waits for is the instance\'s egressReady). Pass network to create an instance in it, or the instance alone.');
    }
    this.computeKind = props.compute?.kind ?? ReplicationComputeKind.INSTANCE;

    // replaced with the properties that make CloudFormation replace the task or configuration (a new
    // name, or "already exists"), the replacements of its endpoints and instance included
    this.taskIdentifier = props.taskIdentifier !== undefined
      ? validateTaskIdentifier(props.taskIdentifier)
      : replacementAwareIdentifier(this, 120, () => this.computeKind === ReplicationComputeKind.SERVERLESS
        ? { ResourceIdentifier: l1Property(this.replicationConfig!.resource, 'resourceIdentifier') }
        : {
          MigrationType: this.replicationTask!.migrationType,
          SourceEndpointArn: [this.replicationTask!.sourceEndpointArn, replacementKeyOf(props.source, props.source.endpointArn)],
          TargetEndpointArn: [this.replicationTask!.targetEndpointArn, replacementKeyOf(props.target, props.target.endpointArn)],
          ReplicationInstanceArn: [this.replicationTask!.replicationInstanceArn,
            replacementKeyOf(this.replicationInstance!, this.replicationInstance!.replicationInstanceArn)],
          ResourceIdentifier: l1Property(this.replicationTask!, 'resourceIdentifier'),
        });

    const mappings = this.tableMappings;
    this.node.addValidation({ validate: () => mappings.validate() });
    this.sourceDatabase = this.migrationType !== MigrationType.FULL_LOAD ? rdsSourceDatabase(props.source) : undefined;

    if (this.computeKind === ReplicationComputeKind.SERVERLESS) {
      const replication = this.createServerless(props, cdc);
      this.replicationConfig = replication;
      this.replicationConfigArn = replication.replicationConfigArn;
      this.network = replication.network;
      this.arn = replication.replicationConfigArn;
      this.taskResourceId = Fn.select(6, Fn.split(':', this.arn));
      const egress = props.network?.egressReady ?? replication.egressReady;
      this.startDependencies = egress ? [egress] : [];
      this.lifecycle = new ServerlessReplicationLifecycle(this, 'Lifecycle', {
        replicationConfig: replication.resource,
        startOnDeploy: props.startOnDeploy ?? true,
        waitForCompletion: this.waitForCompletion,
        maxWait: props.maxWait,
        onUpdate: props.onUpdate,
        cdcStopPosition: props.cdcStopPosition,
        startAfter: this.startDependencies,
      });
      // the serverless replication tests its connections when it starts: the source must let it in by then
      openSourceDatabases([props.source], replication, this.lifecycle.resource, this);
      this.schemaCopy = this.addSchemaCopy(props, this.arn);
      if (props.premigrationAssessment) {
        throw new Error('DmsMigrationTask: premigrationAssessment runs StartReplicationTaskAssessmentRun on a replication task, which DMS Serverless '
          + 'has not: run the task on a replication instance, or remove premigrationAssessment.');
      }
      this.neonCompute = this.addNeonCompute(props);
      this.schemaConversion = this.addSchemaConversion(props);
      if (props.dropReplicationSlot === true) {
        throw new Error('DmsMigrationTask: dropReplicationSlot needs a replication instance: DMS Serverless reads the source from addresses '
          + 'the stack cannot know, so the slot it leaves cannot be told from another\'s. Remove dropReplicationSlot and drop the slot by hand '
          + 'after the migration (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active AND ...).');
      }
      this.addWarnings(props);
      return;
    }

    const replicationInstance = props.compute?.replicationInstance ?? props.replicationInstance
      ?? (props.network ? new ReplicationInstance(this, 'ReplicationInstance', { network: props.network }) : undefined);
    if (!replicationInstance) {
      throw new Error('DmsMigrationTask: set replicationInstance, or network to create a replication instance in it.');
    }
    this.replicationInstance = replicationInstance;
    this.network = props.network ?? replicationInstance.network;
    checkEngineVersion(props.source, replicationInstance);
    const egressReady = props.network?.egressReady ?? replicationInstance.egressReady;
    const testConnections = props.testConnections ?? true;

    const replicationTask = new dms.CfnReplicationTask(this, 'Resource', {
      replicationTaskIdentifier: this.taskIdentifier,
      migrationType: this.migrationType,
      replicationInstanceArn: replicationInstance.replicationInstanceArn,
      sourceEndpointArn: props.source.endpointArn,
      targetEndpointArn: props.target.endpointArn,
      tableMappings: Lazy.string({ produce: () => mappings.toJson() }),
      replicationTaskSettings: this.settings.toJson(),
      ...cdc,
    });
    this.replicationTask = replicationTask;
    // Ref of AWS::DMS::ReplicationTask is its ARN.
    this.arn = replicationTask.ref;
    this.taskResourceId = Fn.select(6, Fn.split(':', this.arn));
    // written to the tag managers directly: no tag aspect runs at synth
    replicationTask.tags.setTag('cdk-neon-migration:source', props.source.endpointIdentifier);
    replicationTask.tags.setTag('cdk-neon-migration:target', props.target.endpointIdentifier);

    this.startDependencies = egressReady ? [egressReady] : [];
    this.lifecycle = new ReplicationTaskLifecycle(this, 'Lifecycle', {
      replicationTask,
      startOnDeploy: props.startOnDeploy ?? true,
      waitForCompletion: props.waitForCompletion ?? false,
      maxWait: props.maxWait,
      onUpdate: props.onUpdate,
      startAfter: this.startDependencies,
      // tested by the lifecycle resource before the start, after the network egress
      testConnections: testConnections ? { endpoints: [props.source, props.target], replicationInstance } : undefined,
    });
    if (!testConnections) {
      // the lifecycle opens the source for its tests; without them the task start still needs it open
      openSourceDatabases([props.source], replicationInstance, this.lifecycle.resource, this);
    }
    this.schemaCopy = this.addSchemaCopy(props, this.arn);
    this.schemaConversion = this.addSchemaConversion(props);
    this.premigrationAssessment = this.addPremigrationAssessment(props, replicationTask, replicationInstance);
    this.neonCompute = this.addNeonCompute(props);
    this.replicationSlotCleanup = this.addSlotCleanup(props, replicationTask, replicationInstance);

    this.addWarnings(props);
  }

  /** The cleanup of the replication slot the task leaves on its PostgreSQL source (`dropReplicationSlot`). */
  private addSlotCleanup(
    props: DmsMigrationTaskProps, task: dms.CfnReplicationTask, instance: IReplicationInstance,
  ): ReplicationSlotCleanup | undefined {
    const cdc = this.migrationType !== MigrationType.FULL_LOAD;
    const postgres = props.source instanceof PostgresSourceEndpoint;
    if (props.dropReplicationSlot === true) {
      const missing = [
        ...(cdc ? [] : ['a CDC migration type (FULL_LOAD_AND_CDC or CDC): a full load leaves no slot']),
        ...(postgres ? [] : ['a PostgresSourceEndpoint']),
        ...(this.network ? [] : ['a network (the replication network the slot function runs in, which reaches the source): import the replication instance with its network']),
      ];
      if (missing.length > 0) {
        throw new Error(`DmsMigrationTask: dropReplicationSlot needs ${missing.join(', ')}. Remove dropReplicationSlot, or drop the slot by hand `
          + 'after the migration (SELECT pg_drop_replication_slot(...) on the source).');
      }
    }
    if (props.dropReplicationSlot === false || !cdc || !postgres) return undefined;
    if (!this.network) {
      Annotations.of(this).addInfo('The replication slot this CDC task leaves on its PostgreSQL source is not dropped by the stack: '
        + 'dropReplicationSlot needs the network the replication instance runs in (import the instance with its network). After the migration, drop it on the source '
        + 'with SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active AND plugin IN (\'test_decoding\', \'pglogical\').');
      return undefined;
    }
    if (!(this.lifecycle instanceof ReplicationTaskLifecycle)) return undefined;
    return new ReplicationSlotCleanup(this, 'SlotCleanup', {
      source: props.source as PostgresSourceEndpoint,
      replicationTask: task,
      lifecycle: this.lifecycle,
      replicationInstance: instance,
      network: this.network,
    });
  }

  /**
   * ARN of the replication task. Only for a task on a replication instance: on DMS Serverless
   * there is no task in the template (use `replicationConfigArn` or `arn`).
   */
  public get taskArn(): string {
    if (!this.replicationTask) {
      throw new Error(`DmsMigrationTask: taskArn is the ARN of a replication task, and ${this.node.path} runs on DMS Serverless: `
        + 'use replicationConfigArn (or arn).');
    }
    return this.replicationTask.ref;
  }

  /**
   * Identifier of the replication instance the task runs on (the `ReplicationInstanceIdentifier`
   * dimension of its metrics). Only for a task on a replication instance.
   */
  public get replicationInstanceIdentifier(): string {
    if (!this.replicationInstance) {
      throw new Error(`DmsMigrationTask: replicationInstanceIdentifier names the replication instance of a task, and ${this.node.path} `
        + 'runs on DMS Serverless, which has none: its alarms and dashboard need a task on a replication instance.');
    }
    return this.replicationInstance.replicationInstanceIdentifier;
  }

  /**
   * Grants what the `cdk-neon-migration cutover` and `verify --task-arn` commands ask of AWS for this
   * task: its status and table mapping (`dms:DescribeReplicationTasks`), its replication instance's
   * identifier (`dms:DescribeReplicationInstances`) and its CDC latency metrics
   * (`cloudwatch:GetMetricData`). None of the three has resource-level permissions (Service
   * Authorization Reference): they are granted on `*`. Only for a task on a replication instance.
   *
   * @example
   * import * as iam from 'aws-cdk-lib/aws-iam';
   * import { DmsMigrationTask } from 'cdk-neon-migration';
   *
   * declare const migration: DmsMigrationTask;
   * declare const operator: iam.IRole;
   *
   * migration.grantCutover(operator);
   */
  public grantCutover(grantee: iam.IGrantable): iam.Grant {
    if (!this.replicationTask) {
      throw new Error(`DmsMigrationTask.grantCutover: ${this.node.path} runs on DMS Serverless, and the cutover command reads the latency of `
        + 'a replication task on a replication instance (the metric dimensions of DMS Serverless replications are not documented).');
    }
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dms:DescribeReplicationTasks', 'dms:DescribeReplicationInstances', 'cloudwatch:GetMetricData'],
      resourceArns: ['*'],
    });
  }

  /** The task's status after the deployment (`running`, or `stopped` for a finished full load). */
  public get status(): string {
    return this.lifecycle.status;
  }

  /**
   * A metric of this task (namespace `AWS/DMS`, dimensions `ReplicationInstanceIdentifier` and
   * `ReplicationTaskIdentifier` = the task's resource id), averaged over 5 minutes unless `props` say otherwise.
   * Only for a task on a replication instance.
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.replicationInstance) {
      throw new Error('DmsMigrationTask: metric() builds replication-task metrics (dimensions ReplicationInstanceIdentifier and '
        + `ReplicationTaskIdentifier); ${this.node.path} runs on DMS Serverless, whose replications publish their AWS/DMS metrics per replication configuration.`);
    }
    return DmsMetrics.taskMetric(this.taskArn, this.replicationInstance.replicationInstanceIdentifier, metricName, props).attachTo(this);
  }

  /** Rows read from the source per second during the full load. */
  public metricFullLoadThroughputRowsSource(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('FullLoadThroughputRowsSource', props);
  }

  /** Rows written to the target per second during the full load. */
  public metricFullLoadThroughputRowsTarget(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('FullLoadThroughputRowsTarget', props);
  }

  /** Kilobytes written to the target per second during the full load. */
  public metricFullLoadThroughputBandwidthTarget(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('FullLoadThroughputBandwidthTarget', props);
  }

  /** Seconds between the last event captured from the source and now (CDC). */
  public metricCdcLatencySource(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CDCLatencySource', props);
  }

  /** Seconds between the first event waiting to be committed on the target and now (CDC). */
  public metricCdcLatencyTarget(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CDCLatencyTarget', props);
  }

  /** Change events waiting to be applied to the target (CDC). */
  public metricCdcIncomingChanges(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CDCIncomingChanges', props);
  }

  /** Change rows waiting on the replication instance's disk to be committed (CDC). */
  public metricCdcChangesDiskTarget(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CDCChangesDiskTarget', props);
  }

  /** The DMS Serverless replication with this task's endpoints, mappings and settings. */
  private createServerless(props: DmsMigrationTaskProps, cdc: Partial<dms.CfnReplicationTaskProps>): ServerlessReplication {
    const options = props.compute!.serverlessOptions!;
    if (cdc.cdcStartPosition !== undefined || cdc.cdcStartTime !== undefined) {
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
      Annotations.of(this).addWarningV2('cdk-neon-migration:serverlessNoConnectionTest',
        'testConnections is ignored on DMS Serverless: TestConnection needs a replication instance. The serverless replication '
        + 'tests both connections itself when it starts, and the deployment fails with DMS\'s message when a test fails.');
    }
    const mappings = this.tableMappings;
    this.node.addValidation({ validate: () => serverlessMappingProblems(mappings) });

    const replication = new ServerlessReplication(this, 'Serverless', {
      ...options,
      network: placedByOptions ? options.network : props.network,
      sourceEndpointArn: props.source.endpointArn,
      targetEndpointArn: props.target.endpointArn,
      replicationType: replicationTypeOf(this.migrationType),
      tableMappings: Lazy.string({ produce: () => mappings.toJson() }),
      replicationSettings: this.settings.toJson(),
      replicationConfigIdentifier: this.taskIdentifier,
    });
    Tags.of(replication.resource).add('cdk-neon-migration:source', props.source.endpointIdentifier);
    Tags.of(replication.resource).add('cdk-neon-migration:target', props.target.endpointIdentifier);
    return replication;
  }

  /**
   * The schema copy of `props.schemaCopy`, ordered around the task: the pre-data step before the start,
   * the post-data and sequence steps after the full load (resuming a task stopped after it).
   */
  private addSchemaCopy(props: DmsMigrationTaskProps, taskArn: string): PostgresSchemaCopy | undefined {
    const options = props.schemaCopy;
    if (!options) {
      return undefined;
    }
    const owner = 'DmsMigrationTask: schemaCopy';
    const source = props.source as unknown as { secret?: secretsmanager.ISecret; databaseName?: string };
    if (!['postgres', 'aurora-postgresql'].includes(props.source.engineName) || !source.secret || source.databaseName === undefined) {
      throw new Error(`${owner} copies a PostgreSQL schema with its client tools: the source must be a PostgresSourceEndpoint created by this library `
        + '(it knows its secret and database).');
    }
    const target = props.target as unknown as { credentialsSecret?: secretsmanager.ISecret };
    if (!target.credentialsSecret) {
      throw new Error(`${owner} needs a NeonTargetEndpoint as target: it reads Neon's credentials from the endpoint's credentials secret.`);
    }
    if (this.migrationType === MigrationType.CDC) {
      throw new Error(`${owner} applies to full-load migrations: with MigrationType.CDC the target already holds the tables (copy the schema by hand: cdk-neon-migration schema pre).`);
    }
    if (!this.waitForCompletion) {
      throw new Error(`${owner} creates indexes, constraints and sequences after the full load: set waitForCompletion: true, so the deployment knows when it ended.`);
    }
    if (this.settings.targetTablePrepMode === TargetTablePrepMode.DROP_AND_CREATE) {
      throw new Error(`${owner} creates the target tables before the load, and TargetTablePrepMode.DROP_AND_CREATE would drop them (with their defaults, `
        + 'types and sequences): use DO_NOTHING or TRUNCATE_BEFORE_LOAD.');
    }
    if (this.computeKind === ReplicationComputeKind.SERVERLESS && this.migrationType === MigrationType.FULL_LOAD_AND_CDC) {
      throw new Error(`${owner} with FULL_LOAD_AND_CDC needs the task to stop after the full load and resume, which the library supports on a `
        + 'replication instance only: run the task on an instance, or use FULL_LOAD.');
    }
    const network = options.network ?? this.network;
    if (!network) {
      throw new Error(`${owner} runs the PostgreSQL client tools in the replication network, and the task's replication instance was imported `
        + 'without its network: set schemaCopy.network (the network the instance runs in), or import the instance with its network.');
    }
    const copy = new PostgresSchemaCopy(this, 'Schema', {
      ...options,
      network,
      sourceSecret: source.secret,
      sourceDatabaseName: source.databaseName,
      targetSecret: target.credentialsSecret,
      tableMappings: this.tableMappings,
      changeDataCapture: this.migrationType === MigrationType.FULL_LOAD_AND_CDC,
      loadArn: taskArn,
      resumeTaskArn: this.migrationType === MigrationType.FULL_LOAD_AND_CDC ? taskArn : undefined,
    });
    // the tools reach the source like the replication compute does
    openSourceDatabases([props.source], copy, copy.before, this);
    this.lifecycle.addStartDependency(copy.before);
    copy.addAfterDependency(this.lifecycle.completion);
    return copy;
  }

  /**
   * The DMS Schema Conversion of `props.schemaConversion`: the converted schema is in Neon before the
   * task starts.
   */
  private addSchemaConversion(props: DmsMigrationTaskProps): DmsSchemaConversion | undefined {
    const options = props.schemaConversion;
    if (!options) {
      return undefined;
    }
    const owner = 'DmsMigrationTask: schemaConversion';
    const target = props.target as unknown as { credentialsSecret?: unknown };
    if (!target.credentialsSecret) {
      throw new Error(`${owner} needs a NeonTargetEndpoint as target: its credentials secret is the Neon data provider's.`);
    }
    if (this.migrationType === MigrationType.CDC) {
      throw new Error(`${owner} applies the converted schema before a full load; with MigrationType.CDC the tables are in Neon already, `
        + 'and applying the schema again would overwrite them. Use FULL_LOAD or FULL_LOAD_AND_CDC, or leave schemaConversion out.');
    }
    const network = options.network ?? this.network;
    if (!network) {
      throw new Error(`${owner} runs DMS Schema Conversion in the replication network, and the task's replication instance was imported `
        + 'without its network: set schemaConversion.network (the network the instance runs in), or import the instance with its network.');
    }
    const conversion = new DmsSchemaConversion(this, 'SchemaConversion', {
      ...options,
      network,
      source: props.source,
      target: props.target as unknown as NeonTargetEndpoint,
      tableMappings: this.tableMappings,
      taskSettings: this.settings,
    });
    this.lifecycle.addStartDependency(conversion.completion);
    return conversion;
  }

  /**
   * The compute of a Neon target kept from suspending while the migration runs (`neonCompute`),
   * set before the task starts; without `neonCompute`, a CDC migration into Neon warns.
   */
  private addNeonCompute(props: DmsMigrationTaskProps): NeonComputeKeepAlive | undefined {
    const neonEndpointId = (props.target as unknown as { neonEndpointId?: string }).neonEndpointId;
    if (!props.neonCompute) {
      if (neonEndpointId !== undefined && this.migrationType !== MigrationType.FULL_LOAD) {
        NeonComputeKeepAlive.addManualStepWarning(this, neonEndpointId);
      }
      return undefined;
    }
    if (neonEndpointId === undefined) {
      throw new Error('DmsMigrationTask: neonCompute keeps the compute of a NeonTargetEndpoint active, and the target is not one '
        + '(it names its compute by the first label of its host). Create the target with NeonTargetEndpoint, or remove neonCompute.');
    }
    const keepAlive = new NeonComputeKeepAlive(this, 'NeonCompute', { ...props.neonCompute, neonEndpointId });
    this.lifecycle.addStartDependency(keepAlive.resource);
    return keepAlive;
  }

  /**
   * The premigration assessment of `premigrationAssessment`: after the task exists, the instance's
   * way out and the source's ingress rule (DMS connects to both endpoints from the instance), after
   * the schema copy's pre-data step or the schema conversion (the assessments look at the target
   * tables); before the start.
   */
  private addPremigrationAssessment(props: DmsMigrationTaskProps, task: dms.CfnReplicationTask,
    instance: IReplicationInstance): PremigrationAssessment | undefined {
    if (!props.premigrationAssessment) {
      return undefined;
    }
    const assessment = new PremigrationAssessment(this, 'PremigrationAssessment', { ...props.premigrationAssessment, replicationTask: task });
    assessment.resource.node.addDependency(...this.startDependencies, props.source, props.target);
    openSourceDatabases([props.source], instance, assessment.resource, this);
    if (this.schemaCopy) {
      assessment.resource.node.addDependency(this.schemaCopy.before);
    }
    if (this.schemaConversion) {
      // the converted tables are in Neon before the assessments look at the target
      assessment.resource.node.addDependency(this.schemaConversion.completion);
    }
    this.lifecycle.addStartDependency(assessment.resource);
    return assessment;
  }

  private addWarnings(props: DmsMigrationTaskProps): void {
    if (this.settings.lobMode === LobMode.NONE) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:lobModeNone',
        'LobMode.NONE ("Don\'t include LOB columns") leaves every LOB column out of the migration: TEXT, JSON, JSONB, BYTEA, XML '
        + 'and array columns of a PostgreSQL source arrive missing or NULL in Neon. Use LobMode.LIMITED (the default) or '
        + 'LobMode.FULL unless the selected tables have no such columns.');
    }
    const cdc = this.migrationType !== MigrationType.FULL_LOAD;
    if (cdc) {
      // The source's parameter group may get its parameters after this construct: check at the end.
      const source = props.source;
      const task = this;
      Aspects.of(this).add({
        visit(node: IConstruct) {
          if (node === task && logicalReplicationOf(source) === LogicalReplicationStatus.DISABLED) {
            Annotations.of(task).addWarningV2('cdk-neon-migration:logicalReplicationOff',
              `${task.migrationType} needs logical replication on the source, but the parameter group of source `
              + `'${describe(source)}' does not set rds.logical_replication=1 (a static parameter: set it and reboot the database before the task starts).`);
          }
        },
      });
    }
    if (props.waitForCompletion && this.migrationType === MigrationType.CDC) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:waitForCdc',
        'waitForCompletion has no full load to wait for with cdc: the deployment completes as soon as the task replicates changes, '
        + 'which it does until it is stopped.');
    }
    if (this.settings.batchApplyEnabled && !cdc) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:batchApplyFullLoad',
        'batchApplyEnabled only affects change processing; it has no effect with MigrationType.FULL_LOAD.');
    }
  }
}

function validateEndpoints(source: IDmsEndpoint, target: IDmsEndpoint): void {
  const swapped = source.endpointType === EndpointType.TARGET && target.endpointType === EndpointType.SOURCE;
  if (swapped) {
    throw new Error(`DmsMigrationTask: source and target are swapped: '${describe(source)}' is a target endpoint and '${describe(target)}' a source endpoint; pass the source database endpoint as source and the Neon endpoint as target.`);
  }
  if (source.endpointType !== EndpointType.SOURCE) {
    throw new Error(`DmsMigrationTask: source '${describe(source)}' is a ${source.endpointType} endpoint; pass an endpoint of type source (e.g. PostgresSourceEndpoint).`);
  }
  if (target.endpointType !== EndpointType.TARGET) {
    throw new Error(`DmsMigrationTask: target '${describe(target)}' is a ${target.endpointType} endpoint; pass an endpoint of type target (e.g. NeonTargetEndpoint).`);
  }
}

function describe(endpoint: IDmsEndpoint): string {
  return Token.isUnresolved(endpoint.endpointIdentifier) ? endpoint.node.path : endpoint.endpointIdentifier;
}

function resolveMappings(props: DmsMigrationTaskProps): TableMappings {
  if (props.tableMappings && props.schemaName !== undefined) {
    throw new Error('DmsMigrationTask: tableMappings and schemaName are alternatives: include the schema in tableMappings, or set schemaName alone.');
  }
  if (props.tableMappings) {
    return props.tableMappings;
  }
  if (props.schemaName === undefined) {
    throw new Error('DmsMigrationTask: set schemaName (every table of that schema is migrated) or tableMappings.');
  }
  return TableMappings.includeSchema(props.schemaName);
}

function validateCdc(migrationType: MigrationType, props: DmsMigrationTaskProps): Partial<dms.CfnReplicationTaskProps> {
  const set = (['cdcStartPosition', 'cdcStartTime', 'cdcStopPosition'] as const).filter((p) => props[p] !== undefined);
  if (migrationType === MigrationType.FULL_LOAD && set.length > 0) {
    throw new Error(`DmsMigrationTask: ${set.join(', ')} only apply to MigrationType.CDC or FULL_LOAD_AND_CDC (migrationType is ${migrationType}).`);
  }
  if (props.cdcStartPosition !== undefined && props.cdcStartTime !== undefined) {
    throw new Error('DmsMigrationTask: cdcStartPosition and cdcStartTime are mutually exclusive: set one of them.');
  }
  const stop = props.cdcStopPosition;
  if (stop !== undefined && !Token.isUnresolved(stop) && !/^(server_time|commit_time):\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(stop)) {
    throw new Error(`DmsMigrationTask: cdcStopPosition '${stop}' must be server_time:YYYY-MM-DDTHH:MM:SS or commit_time:YYYY-MM-DDTHH:MM:SS (UTC).`);
  }
  if (props.cdcStartPosition !== undefined && !Token.isUnresolved(props.cdcStartPosition) && props.cdcStartPosition.trim() === '') {
    throw new Error('DmsMigrationTask: cdcStartPosition is empty; give an LSN or checkpoint, or omit it.');
  }
  const time = props.cdcStartTime;
  if (time !== undefined && isNaN(time.getTime())) {
    throw new Error('DmsMigrationTask: cdcStartTime is an invalid Date.');
  }
  return {
    cdcStartPosition: props.cdcStartPosition,
    cdcStartTime: time === undefined ? undefined : Math.floor(time.getTime() / 1000),
    cdcStopPosition: stop,
  };
}

/** `ReplicationType` of a serverless replication: the same values as `MigrationType`. */
function replicationTypeOf(migrationType: MigrationType): ReplicationType {
  switch (migrationType) {
    case MigrationType.CDC: return ReplicationType.CDC;
    case MigrationType.FULL_LOAD_AND_CDC: return ReplicationType.FULL_LOAD_AND_CDC;
    default: return ReplicationType.FULL_LOAD;
  }
}

/** DMS Serverless does not support views: selection rules must select tables only. */
function serverlessMappingProblems(mappings: TableMappings): string[] {
  return mappings.rules
    .filter(rule => rule.ruleType === RuleType.SELECTION)
    .filter(rule => rule.objectLocator.tableType === TableType.VIEW || rule.objectLocator.tableType === TableType.ALL)
    .map(rule => `DmsMigrationTask: selection rule '${rule.ruleName}' selects views (table-type ${rule.objectLocator.tableType}), `
      + 'which DMS Serverless does not support: select TableType.TABLE, or run the task on a replication instance.');
}

/** The oldest DMS engine version that reads each PostgreSQL major version DMS documents a minimum for (CHAP_Source.PostgreSQL). */
const POSTGRES_SOURCE_MINIMUM_ENGINE: ReadonlyArray<[number, string]> = [[17, '3.6.1'], [16, '3.5.3'], [15, '3.5.1'], [14, '3.4.7']];

/** A PostgreSQL source newer than the replication instance's DMS engine reads fails when the task starts: refuse it at synth. */
function checkEngineVersion(source: IDmsEndpoint, instance: IReplicationInstance): void {
  const version = instance instanceof ReplicationInstance ? instance.engineVersion : undefined;
  const major = (source as unknown as { engineMajorVersion?: number }).engineMajorVersion;
  if (version === undefined || Token.isUnresolved(version) || major === undefined || Token.isUnresolved(major)) {
    return;
  }
  const minimum = POSTGRES_SOURCE_MINIMUM_ENGINE.find(([from]) => major >= from)?.[1];
  if (minimum !== undefined && compareVersions(version, minimum) < 0) {
    throw new Error(`DmsMigrationTask: source '${describe(source)}' runs PostgreSQL ${major}, which DMS reads from engine version ${minimum} on, `
      + `but the replication instance's engineVersion is ${version}: set engineVersion to ${minimum} or later (the default is ${DEFAULT_DMS_ENGINE_VERSION}).`);
  }
}

/** Compares dotted version numbers: negative when `a` is older than `b`. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function validateTaskIdentifier(value: string): string {
  if (Token.isUnresolved(value)) {
    throw new Error('DmsMigrationTask: taskIdentifier must be a literal string, not a token: the task is found by its identifier to stop it before updates. Omit it to get one derived from the construct path.');
  }
  return validateDmsIdentifier('DmsMigrationTask', 'taskIdentifier', value, MAX_TASK_IDENTIFIER_LENGTH);
}

/** The logical-replication status a source endpoint reports (`logicalReplicationStatus()`), if it reports one. */
function logicalReplicationOf(source: IDmsEndpoint): string | undefined {
  const probe = (source as unknown as { logicalReplicationStatus?: unknown }).logicalReplicationStatus;
  return typeof probe === 'function' ? String(probe.call(source)) : undefined;
}

/** The RDS or Aurora database of a PostgreSQL source endpoint that knows it, for the source alarms. */
function rdsSourceDatabase(source: IDmsEndpoint): SourceDatabase | undefined {
  return source instanceof PostgresSourceEndpoint ? SourceDatabase.ofEndpoint(source) : undefined;
}
