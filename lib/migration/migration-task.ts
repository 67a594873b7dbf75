import { Fn } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IDependable } from 'constructs';
import { placeOnInstance, placeOnServerless } from './compute';
import { DmsMigrationTaskProps } from './migration-task-props';
import { addTaskWarnings, rdsSourceDatabase, resolveMappings, validateCdc, validateEndpoints, validateTaskIdentifier } from './task-checks';
import { addTaskOutputs } from './task-outputs';
import { DmsSchemaConversion } from '../conversion/schema-conversion';
import { schemaConversionOfTask } from '../conversion/task-wiring';
import { l1Property, replacementAwareIdentifier, replacementKeyOf } from '../core/identifiers';
import { IDmsEndpoint, IReplicationNetwork } from '../core/interfaces';
import { MigrationContext } from '../lifecycle/migration-context';
import { IMigrationLifecycle } from '../lifecycle/migration-lifecycle';
import { PremigrationAssessment } from '../live/assessment';
import { NeonComputeKeepAlive } from '../live/neon-compute';
import { ReplicationSlotCleanup } from '../live/replication-slot-cleanup';
import { neonComputeOfTask, premigrationAssessmentOfTask, slotCleanupOfTask } from '../live/task-wiring';
import { DmsMetrics } from '../metrics/metrics';
import { IMonitoredMigration } from '../monitoring/monitored-migration';
import { IReplicationInstance } from '../replication/replication-instance';
import { ReplicationComputeKind, ServerlessReplication } from '../replication/serverless';
import { PostgresSchemaCopy } from '../schema/schema-copy';
import { schemaCopyOfTask } from '../schema/task-wiring';
import { SourceDatabase } from '../sources/source-database';
import { MigrationType } from '../task/migration-type';
import { TableMappings } from '../task/table-mappings';
import { TaskSettings } from '../task/task-settings';

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

    // what the task is: its endpoints, mappings, settings and type
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

    // where it runs: a replication task on an instance, or a DMS Serverless replication, and its lifecycle
    const definition = {
      migrationType: this.migrationType,
      settings: this.settings,
      tableMappings: this.tableMappings,
      taskIdentifier: this.taskIdentifier,
      waitForCompletion: this.waitForCompletion,
      cdc,
    };
    const placed = this.computeKind === ReplicationComputeKind.SERVERLESS
      ? placeOnServerless(this, props, definition)
      : placeOnInstance(this, props, definition);
    this.replicationTask = placed.replicationTask;
    this.replicationInstance = placed.replicationInstance;
    this.replicationConfig = placed.replicationConfig;
    this.replicationConfigArn = placed.replicationConfig?.replicationConfigArn;
    this.network = placed.network;
    this.arn = placed.arn;
    this.taskResourceId = Fn.select(6, Fn.split(':', this.arn));
    this.startDependencies = placed.startDependencies;
    this.lifecycle = placed.lifecycle;

    // what else a migration is made of: each part wires itself into the task
    const task = this.context();
    this.schemaCopy = props.schemaCopy ? schemaCopyOfTask(task, props.schemaCopy) : undefined;
    this.schemaConversion = props.schemaConversion ? schemaConversionOfTask(task, props.schemaConversion) : undefined;
    this.premigrationAssessment = premigrationAssessmentOfTask(task, props.premigrationAssessment,
      [this.schemaCopy?.before, this.schemaConversion?.completion].filter((d): d is IDependable => d !== undefined));
    this.neonCompute = neonComputeOfTask(task, props.neonCompute);
    this.replicationSlotCleanup = slotCleanupOfTask(task, props.dropReplicationSlot);

    // what the command line needs, as stack outputs
    if (props.outputs ?? true) {
      addTaskOutputs({
        task: this, arn: this.arn, serverless: task.serverless, migrationType: this.migrationType, source: this.source, target: this.target,
      });
    }

    addTaskWarnings(this, props);
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

  /** What the parts of the migration see of the task. */
  private context(): MigrationContext {
    return {
      scope: this,
      source: this.source,
      target: this.target,
      migrationType: this.migrationType,
      settings: this.settings,
      tableMappings: this.tableMappings,
      waitForCompletion: this.waitForCompletion,
      serverless: this.computeKind === ReplicationComputeKind.SERVERLESS,
      network: this.network,
      lifecycle: this.lifecycle,
      arn: this.arn,
      startDependencies: this.startDependencies,
      replicationTask: this.replicationTask,
      replicationInstance: this.replicationInstance,
    };
  }
}
