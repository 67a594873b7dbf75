import { Annotations, Aspects, Duration, Fn, Lazy, Names, Tags, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dms from 'aws-cdk-lib/aws-dms';
import { Construct, IConstruct, IDependable } from 'constructs';
import { MigrationType } from './migration-type';
import { TableMappings } from './table-mappings';
import { LobMode, TaskSettings } from './task-settings';
import { EndpointType, IDmsEndpoint, IReplicationNetwork } from '../core/interfaces';
import { DmsConnectionTest } from '../lifecycle/connection-test';
import { ReplicationTaskLifecycle, TaskUpdateBehavior } from '../lifecycle/task-lifecycle';
import { IReplicationInstance, ReplicationInstance } from '../replication/replication-instance';
import { LogicalReplicationStatus } from '../sources/logical-replication-status';

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
   * The replication instance that runs the task.
   *
   * @default - a new `ReplicationInstance` (dms.t3.medium) is created in `network`
   */
  readonly replicationInstance?: IReplicationInstance;

  /**
   * Where to create the replication instance when `replicationInstance` is not given; its
   * `egressReady` is also what the connection tests and the task start wait for.
   *
   * @default - the replication instance's own `egressReady`; required when `replicationInstance` is not given
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
   * migration types; not together with `cdcStartTime`.
   *
   * @default - CDC starts when the task starts
   */
  readonly cdcStartPosition?: string;

  /**
   * When CDC starts (`CdcStartTime`). Only for CDC migration types; not together with `cdcStartPosition`.
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
   * Keep the deployment waiting until a full load finishes, failing it when tables fail to load or
   * validate. Only meaningful for `MigrationType.FULL_LOAD`.
   *
   * @default false
   */
  readonly waitForCompletion?: boolean;

  /**
   * With `waitForCompletion`, how long the deployment waits for the full load (1–115 minutes) before
   * it completes anyway while the load continues.
   *
   * @default Duration.minutes(105)
   */
  readonly maxWait?: Duration;

  /**
   * What happens to a task that ran before, after a deployment changed its table mappings, settings
   * or CDC positions (it is always stopped before CloudFormation modifies it).
   *
   * @default TaskUpdateBehavior.RESUME
   */
  readonly onUpdate?: TaskUpdateBehavior;

  /**
   * Test the connections from the replication instance to the source and the target at deploy
   * time, before the task starts.
   *
   * @default true
   */
  readonly testConnections?: boolean;

  /**
   * The replication task identifier: 1–255 letters, digits and hyphens, beginning with a letter,
   * no trailing or double hyphen; a literal string (the task is found by it before updates).
   * Stored in lowercase.
   *
   * @default - derived from the construct path, stable across deployments
   */
  readonly taskIdentifier?: string;
}

/**
 * A DMS migration task into Neon: the `AWS::DMS::ReplicationTask`, deploy-time connection tests of
 * both endpoints from the replication instance, and its lifecycle: started on deploy (after the
 * network egress and the connection tests), stopped before CloudFormation modifies or deletes it.
 *
 * @example
 * new DmsMigrationTask(this, 'Migration', {
 *   source,
 *   target: neonEndpoint,
 *   network,
 *   tableMappings: TableMappings.includeSchema('dms_sample'),
 *   migrationType: MigrationType.FULL_LOAD,
 * });
 */
export class DmsMigrationTask extends Construct {
  /** The `AWS::DMS::ReplicationTask`. */
  public readonly replicationTask: dms.CfnReplicationTask;
  /** ARN of the task. */
  public readonly taskArn: string;
  /** The task identifier (its name). */
  public readonly taskIdentifier: string;
  /**
   * The task's resource id, the last part of its ARN: the `ReplicationTaskIdentifier` dimension of
   * the AWS/DMS metrics.
   */
  public readonly taskResourceId: string;
  /** The replication instance running the task (given or created). */
  public readonly replicationInstance: IReplicationInstance;
  /** The migration type. */
  public readonly migrationType: MigrationType;
  /** The table mappings. */
  public readonly tableMappings: TableMappings;
  /** The task settings. */
  public readonly settings: TaskSettings;
  /** Connection test of the source, when `testConnections` is on. */
  public readonly sourceConnectionTest?: DmsConnectionTest;
  /** Connection test of the target, when `testConnections` is on. */
  public readonly targetConnectionTest?: DmsConnectionTest;
  /** What the task start waits for: the network's egress and the connection tests. */
  public readonly startDependencies: IDependable[];
  /** Starts the task on deploy and stops it before updates and deletion. */
  public readonly lifecycle: ReplicationTaskLifecycle;

  constructor(scope: Construct, id: string, props: DmsMigrationTaskProps) {
    super(scope, id);

    validateEndpoints(props.source, props.target);
    this.migrationType = props.migrationType ?? MigrationType.FULL_LOAD;
    this.settings = props.settings ?? new TaskSettings();
    this.tableMappings = resolveMappings(props);
    const cdc = validateCdc(this.migrationType, props);

    if (props.replicationInstance) {
      this.replicationInstance = props.replicationInstance;
    } else if (props.network) {
      this.replicationInstance = new ReplicationInstance(this, 'ReplicationInstance', { network: props.network });
    } else {
      throw new Error('DmsMigrationTask: set replicationInstance, or network to create a replication instance in it.');
    }
    const egressReady = props.network?.egressReady ?? this.replicationInstance.egressReady;

    this.taskIdentifier = props.taskIdentifier !== undefined
      ? validateTaskIdentifier(props.taskIdentifier)
      : generateTaskIdentifier(this);

    const mappings = this.tableMappings;
    this.node.addValidation({ validate: () => mappings.validate() });

    this.replicationTask = new dms.CfnReplicationTask(this, 'Resource', {
      replicationTaskIdentifier: this.taskIdentifier,
      migrationType: this.migrationType,
      replicationInstanceArn: this.replicationInstance.replicationInstanceArn,
      sourceEndpointArn: props.source.endpointArn,
      targetEndpointArn: props.target.endpointArn,
      tableMappings: Lazy.string({ produce: () => mappings.toJson() }),
      replicationTaskSettings: this.settings.toJson(),
      ...cdc,
    });
    // Ref of AWS::DMS::ReplicationTask is its ARN.
    this.taskArn = this.replicationTask.ref;
    this.taskResourceId = Fn.select(6, Fn.split(':', this.taskArn));
    Tags.of(this.replicationTask).add('cdk-neon-migration:source', props.source.endpointIdentifier);
    Tags.of(this.replicationTask).add('cdk-neon-migration:target', props.target.endpointIdentifier);

    this.startDependencies = egressReady ? [egressReady] : [];
    if (props.testConnections ?? true) {
      this.sourceConnectionTest = new DmsConnectionTest(this, 'SourceConnectionTest', {
        endpoint: props.source,
        replicationInstanceArn: this.replicationInstance.replicationInstanceArn,
        dependsOn: egressReady ? [egressReady] : [],
      });
      this.targetConnectionTest = new DmsConnectionTest(this, 'TargetConnectionTest', {
        endpoint: props.target,
        replicationInstanceArn: this.replicationInstance.replicationInstanceArn,
        dependsOn: egressReady ? [egressReady] : [],
      });
      this.startDependencies.push(this.sourceConnectionTest, this.targetConnectionTest);
    }

    this.lifecycle = new ReplicationTaskLifecycle(this, 'Lifecycle', {
      replicationTask: this.replicationTask,
      startOnDeploy: props.startOnDeploy ?? true,
      waitForCompletion: props.waitForCompletion ?? false,
      maxWait: props.maxWait,
      onUpdate: props.onUpdate,
      startAfter: this.startDependencies,
    });

    this.addWarnings(props);
  }

  /** The task's status after the deployment (`running`, or `stopped` for a finished full load). */
  public get status(): string {
    return this.lifecycle.status;
  }

  /**
   * A metric of this task (namespace `AWS/DMS`, dimensions `ReplicationInstanceIdentifier` and
   * `ReplicationTaskIdentifier` = the task's resource id), averaged over 5 minutes unless `props` say otherwise.
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/DMS',
      metricName,
      dimensionsMap: {
        ReplicationInstanceIdentifier: this.replicationInstance.replicationInstanceIdentifier,
        ReplicationTaskIdentifier: this.taskResourceId,
      },
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.AVERAGE,
      ...props,
    }).attachTo(this);
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
    if (props.waitForCompletion && this.migrationType !== MigrationType.FULL_LOAD) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:waitForCdc',
        `waitForCompletion has no end to wait for with ${this.migrationType}: the task keeps replicating changes until it is stopped.`);
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

function validateTaskIdentifier(value: string): string {
  if (Token.isUnresolved(value)) {
    throw new Error('DmsMigrationTask: taskIdentifier must be a literal string, not a token: the task is found by its identifier to stop it before updates. Omit it to get one derived from the construct path.');
  }
  const problems: string[] = [];
  if (value.length < 1 || value.length > MAX_TASK_IDENTIFIER_LENGTH) {
    problems.push(`be 1 to ${MAX_TASK_IDENTIFIER_LENGTH} characters long (it has ${value.length})`);
  }
  if (!/^[A-Za-z]/.test(value)) {
    problems.push('begin with a letter');
  }
  if (!/^[A-Za-z0-9-]*$/.test(value)) {
    problems.push('contain only ASCII letters, digits and hyphens');
  }
  if (value.endsWith('-')) {
    problems.push('not end with a hyphen');
  }
  if (value.includes('--')) {
    problems.push('not contain two consecutive hyphens');
  }
  if (problems.length > 0) {
    throw new Error(`DmsMigrationTask: taskIdentifier '${value}' must ${problems.join(', ')}.`);
  }
  return value.toLowerCase();
}

function generateTaskIdentifier(scope: Construct): string {
  const unique = Names.uniqueResourceName(scope, { maxLength: 120, separator: '-' })
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '');
  return unique.length > 0 ? unique : 'dms-task';
}

/** The logical-replication status a source endpoint reports (`logicalReplicationStatus()`), if it reports one. */
function logicalReplicationOf(source: IDmsEndpoint): string | undefined {
  const probe = (source as unknown as { logicalReplicationStatus?: unknown }).logicalReplicationStatus;
  return typeof probe === 'function' ? String(probe.call(source)) : undefined;
}
