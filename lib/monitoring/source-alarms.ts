import { Annotations, Aws, Size, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MigrationDashboard } from './dashboard';
import { MigrationNotificationTopic } from './notification-topic';
import { SourceDatabase, SourceDatabaseKind } from '../sources/source-database';

const GIB = 1024 ** 3;

/** Properties of `PostgresSourceAlarms`. */
export interface PostgresSourceAlarmsProps {
  /** The source database (`SourceDatabase.fromEndpoint(source)` for an endpoint made from an RDS instance or Aurora cluster). */
  readonly database: SourceDatabase;

  /**
   * Where the alarms go, e.g. `MigrationAlarms.topic` to have them next to the task's alarms. A topic
   * of this app gets the publish statement CloudWatch needs; for an imported one, allow
   * `cloudwatch.amazonaws.com` to publish yourself.
   *
   * @default - a new `MigrationNotificationTopic`
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * RDS for PostgreSQL only: alarm when `OldestReplicationSlotLag` (the WAL the most lagging slot has
   * not received) stays above this. A CDC task that is stopped, slow or deleted while its slot stays
   * makes it grow without bound.
   *
   * @default - 10 % of the instance's allocated storage; 5 GiB when it is unknown
   */
  readonly slotLagThreshold?: Size;

  /**
   * Alarm when `TransactionLogsDiskUsage` (the WAL kept on the database's storage) stays above this.
   *
   * @default - 20 % of the instance's allocated storage; 20 GiB when it is unknown and for Aurora
   */
  readonly walDiskUsageThreshold?: Size;

  /**
   * Alarm when `ReplicationSlotDiskUsage` (logical decoding spilled to disk: large or long
   * transactions) stays above this.
   *
   * @default - 5 % of the instance's allocated storage; 5 GiB when it is unknown and for Aurora
   */
  readonly slotDiskUsageThreshold?: Size;

  /**
   * Alarm when free storage falls below this: `FreeStorageSpace` of an RDS instance, `FreeLocalStorage`
   * of an Aurora writer (where logical decoding spills and temporary files go). When it reaches zero
   * the database stops accepting writes.
   *
   * @default - 10 % of the instance's allocated storage; 10 GiB when it is unknown; 5 GiB for an Aurora writer
   */
  readonly freeStorageThreshold?: Size;

  /**
   * Consecutive 5-minute periods the slot lag, WAL and spill usage must stay above their
   * thresholds (the free-storage alarm fires on the first).
   *
   * @default 3
   */
  readonly evaluationPeriods?: number;

  /**
   * Prefix of the alarm names, e.g. `orders-migration` gives `orders-migration-source-slot-lag`.
   *
   * @default - CloudFormation generates the names
   */
  readonly alarmNamePrefix?: string;
}

/**
 * Alarms that keep a PostgreSQL source safe while DMS reads it through a logical replication slot
 * for weeks: the WAL a slot keeps, the disk the WAL and spilled decoding take, the storage left.
 *
 * A logical slot keeps every WAL segment its reader has not confirmed, also while the DMS task is
 * stopped, slow or deleted; the source's storage fills and it stops accepting writes. The DMS User
 * Guide recommends "space usage alarms in the source PostgreSQL instance when you use logical
 * replication slots" (CHAP_Source.PostgreSQL). Metrics (namespace `AWS/RDS`, in bytes):
 *
 * - RDS for PostgreSQL (`DBInstanceIdentifier`): `OldestReplicationSlotLag`, `TransactionLogsDiskUsage`,
 *   `ReplicationSlotDiskUsage`, `FreeStorageSpace`;
 * - Aurora PostgreSQL, the writer (`DBClusterIdentifier`, `Role=WRITER`): `TransactionLogsDiskUsage`
 *   (published while logical replication or DMS is in use), `ReplicationSlotDiskUsage`, `FreeLocalStorage`.
 *
 * @example
 * import * as rds from 'aws-cdk-lib/aws-rds';
 * import { MigrationAlarms, PostgresSourceAlarms, SourceDatabase } from 'cdk-neon-migration';
 *
 * declare const database: rds.DatabaseInstance;
 * declare const alarms: MigrationAlarms;
 *
 * new PostgresSourceAlarms(this, 'SourceAlarms', {
 *   database: SourceDatabase.rdsInstance(database),
 *   notificationTopic: alarms.topic,
 * });
 */
export class PostgresSourceAlarms extends Construct {
  /** The topic the alarms go to. */
  public readonly topic: sns.ITopic;
  /** The watched database. */
  public readonly database: SourceDatabase;
  /** `OldestReplicationSlotLag` above its threshold (RDS for PostgreSQL only). */
  public readonly slotLagAlarm?: cloudwatch.Alarm;
  /** `TransactionLogsDiskUsage` above its threshold. */
  public readonly walDiskUsageAlarm: cloudwatch.Alarm;
  /** `ReplicationSlotDiskUsage` above its threshold. */
  public readonly slotDiskUsageAlarm: cloudwatch.Alarm;
  /** `FreeStorageSpace` (RDS) or the writer's `FreeLocalStorage` (Aurora) below its threshold. */
  public readonly freeStorageAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PostgresSourceAlarmsProps) {
    super(scope, id);
    const db = props.database;
    this.database = db;
    const rdsInstance = db.kind === SourceDatabaseKind.RDS_INSTANCE;
    const allocated = db.allocatedStorage;
    const share = (fraction: number, fallback: Size) => allocated && !Token.isUnresolved(allocated.toBytes())
      ? Size.mebibytes(Math.floor(allocated.toMebibytes() * fraction)) : fallback;
    const slotLag = props.slotLagThreshold ?? share(0.1, Size.gibibytes(5));
    const walUsage = props.walDiskUsageThreshold ?? (rdsInstance ? share(0.2, Size.gibibytes(20)) : Size.gibibytes(20));
    const spill = props.slotDiskUsageThreshold ?? (rdsInstance ? share(0.05, Size.gibibytes(5)) : Size.gibibytes(5));
    const free = props.freeStorageThreshold ?? (rdsInstance ? share(0.1, Size.gibibytes(10)) : Size.gibibytes(5));
    const periods = props.evaluationPeriods ?? 3;
    const thresholds = { slotLagThreshold: slotLag, walDiskUsageThreshold: walUsage, slotDiskUsageThreshold: spill, freeStorageThreshold: free };
    validate(thresholds, allocated, periods);
    if (!rdsInstance && props.slotLagThreshold !== undefined) {
      throw new Error('PostgresSourceAlarms: slotLagThreshold applies to RDS for PostgreSQL (OldestReplicationSlotLag), which Aurora PostgreSQL does not publish: '
        + 'remove it; walDiskUsageThreshold watches the WAL an Aurora writer keeps.');
    }

    this.topic = props.notificationTopic ?? new MigrationNotificationTopic(this, 'Notifications').topic;
    const name = (suffix: string) => props.alarmNamePrefix ? `${props.alarmNamePrefix}-${suffix}` : undefined;
    const what = rdsInstance ? `RDS instance ${db.identifier}` : `the writer of Aurora cluster ${db.identifier}`;
    const slots = 'SELECT slot_name, active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) FROM pg_replication_slots;';
    type Sustained = (threshold: Size, metric: cloudwatch.Metric, suffix: string, description: string, idName: string) => cloudwatch.Alarm;
    const sustained: Sustained = (threshold, metric, suffix, description, idName) => new cloudwatch.Alarm(this, idName, {
      alarmName: name(suffix),
      alarmDescription: description,
      metric,
      threshold: threshold.toBytes(),
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (rdsInstance) {
      this.slotLagAlarm = sustained(slotLag, this.metricOldestReplicationSlotLag(), 'source-slot-lag',
        `Source ${what}: a replication slot keeps more than ${describe(slotLag)} of WAL it has not delivered. The DMS task reading it is `
        + 'stopped, failing or slower than the writes, or was deleted and left its slot. Check the task (resume it, or look at CDCLatencySource); '
        + `list the slots (${slots}) and drop a slot no task reads any more with SELECT pg_drop_replication_slot('<name>'), before the storage fills.`,
        'SlotLag');
    }
    this.walDiskUsageAlarm = sustained(walUsage, this.metricTransactionLogsDiskUsage(), 'source-wal-disk-usage',
      `Source ${what}: WAL takes more than ${describe(walUsage)} of disk. A replication slot keeps it for a reader that is behind or gone: `
      + `list the slots (${slots}), resume the DMS task or drop the slot it left, or grow the storage before it fills.`,
      'WalDiskUsage');
    this.slotDiskUsageAlarm = sustained(spill, this.metricReplicationSlotDiskUsage(), 'source-slot-disk-usage',
      `Source ${what}: logical decoding spills more than ${describe(spill)} to disk (ReplicationSlotDiskUsage). Large or long-running `
      + 'transactions are decoded through files until they end: find them (pg_stat_activity, xact_start), let them finish or split them; '
      + 'an inactive slot also keeps its spill files until it is dropped.',
      'SlotDiskUsage');
    this.freeStorageAlarm = new cloudwatch.Alarm(this, 'FreeStorage', {
      alarmName: name('source-free-storage'),
      alarmDescription: `Source ${what}: free ${rdsInstance ? 'storage' : 'local storage'} is below ${describe(free)}. `
        + (rdsInstance ? 'When it runs out the database stops accepting writes. ' : 'Logical decoding spill files and temporary files live there. ')
        + `If WAL kept by a replication slot is the cause (WAL disk usage), resume the task or drop the slot it left (${slots}); `
        + (rdsInstance ? 'otherwise grow the allocated storage.' : 'otherwise move the writer to a larger instance class.'),
      metric: this.metricFreeStorage(),
      threshold: free.toBytes(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const action = new cloudwatchActions.SnsAction(this.topic);
    const alarms = [this.slotLagAlarm, this.walDiskUsageAlarm, this.slotDiskUsageAlarm, this.freeStorageAlarm]
      .filter((a): a is cloudwatch.Alarm => a !== undefined);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
    }
    const added = this.topic.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: {
        ArnEquals: { 'aws:SourceArn': alarms.map((a) => a.alarmArn) },
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      },
    })).statementAdded;
    if (!added) {
      Annotations.of(this).addWarningV2('cdk-neon-migration:sourceAlarms:importedTopic',
        'notificationTopic is imported, so its access policy cannot be changed here: allow cloudwatch.amazonaws.com to sns:Publish to it '
        + '(and to use its KMS key), or the source alarms reach no one.');
    }
  }

  /** Every alarm of this construct, e.g. for `MigrationDashboard.addAlarmStatus`. */
  public get alarms(): cloudwatch.IAlarm[] {
    return [this.slotLagAlarm, this.walDiskUsageAlarm, this.slotDiskUsageAlarm, this.freeStorageAlarm]
      .filter((a): a is cloudwatch.Alarm => a !== undefined);
  }

  /** `OldestReplicationSlotLag`, bytes (maximum over 5 minutes). RDS for PostgreSQL only. */
  public metricOldestReplicationSlotLag(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (this.database.kind !== SourceDatabaseKind.RDS_INSTANCE) {
      throw new Error('PostgresSourceAlarms: OldestReplicationSlotLag is an RDS for PostgreSQL metric; Aurora PostgreSQL does not publish it.');
    }
    return this.database.metric('OldestReplicationSlotLag', props);
  }

  /** `TransactionLogsDiskUsage`, bytes (maximum over 5 minutes). */
  public metricTransactionLogsDiskUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.database.metric('TransactionLogsDiskUsage', props);
  }

  /** `ReplicationSlotDiskUsage`, bytes (maximum over 5 minutes). */
  public metricReplicationSlotDiskUsage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.database.metric('ReplicationSlotDiskUsage', props);
  }

  /** `FreeStorageSpace` of an RDS instance, or the Aurora writer's `FreeLocalStorage`, bytes (minimum over 5 minutes). */
  public metricFreeStorage(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    const name = this.database.kind === SourceDatabaseKind.RDS_INSTANCE ? 'FreeStorageSpace' : 'FreeLocalStorage';
    return this.database.metric(name, { statistic: cloudwatch.Stats.MINIMUM, ...props });
  }

  /** `TransactionLogsGeneration`, bytes per second (average over 5 minutes): how fast WAL is written. RDS for PostgreSQL only. */
  public metricTransactionLogsGeneration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.database.metric('TransactionLogsGeneration', { statistic: cloudwatch.Stats.AVERAGE, ...props });
  }

  /**
   * Add a row for the source to `dashboard`: the WAL the slots keep and its disk usage, the decoding
   * spilled to disk, the storage left, each with its alarm threshold, and (RDS) the WAL written per second.
   */
  public addToDashboard(dashboard: MigrationDashboard): void {
    const rdsInstance = this.database.kind === SourceDatabaseKind.RDS_INSTANCE;
    const graph = (title: string, metrics: cloudwatch.IMetric[], alarm?: cloudwatch.Alarm, width = 6) => new cloudwatch.GraphWidget({
      title,
      left: metrics,
      leftYAxis: { min: 0 },
      leftAnnotations: alarm ? [alarm.toAnnotation()] : undefined,
      width,
      height: 6,
    });
    const source = rdsInstance ? `RDS instance \`${this.database.identifier}\`` : `Aurora cluster \`${this.database.identifier}\` (writer)`;
    dashboard.dashboard.addWidgets(new cloudwatch.TextWidget({
      markdown: `### Source ${source}\n\nWAL kept for the replication slots, and the storage it takes. `
        + 'A stopped or deleted DMS task\'s slot keeps WAL until the task resumes or the slot is dropped.',
      width: 24,
      height: 2,
    }));
    const widgets: cloudwatch.IWidget[] = [];
    if (rdsInstance) {
      widgets.push(graph('Oldest replication slot lag (bytes)', [this.metricOldestReplicationSlotLag({ label: 'Slot lag' })], this.slotLagAlarm));
    }
    widgets.push(
      graph('WAL disk usage (bytes)', [this.metricTransactionLogsDiskUsage({ label: 'Transaction logs' })], this.walDiskUsageAlarm),
      graph('Replication slot disk usage (bytes)', [this.metricReplicationSlotDiskUsage({ label: 'Spilled decoding' })], this.slotDiskUsageAlarm),
      graph(rdsInstance ? 'Free storage (bytes)' : 'Free local storage (bytes)', [this.metricFreeStorage({ label: 'Free' })], this.freeStorageAlarm),
    );
    if (!rdsInstance) {
      widgets.push(new cloudwatch.AlarmStatusWidget({ title: 'Source alarms', alarms: this.alarms, width: 6, height: 6 }));
    }
    dashboard.dashboard.addWidgets(...widgets);
    if (rdsInstance) {
      dashboard.dashboard.addWidgets(
        graph('WAL written (bytes/s)', [this.metricTransactionLogsGeneration({ label: 'WAL generation' })], undefined, 12),
        new cloudwatch.AlarmStatusWidget({ title: 'Source alarms', alarms: this.alarms, width: 12, height: 6 }),
      );
    }
  }
}

function validate(thresholds: Record<string, Size>, allocated: Size | undefined, periods: number): void {
  for (const [property, size] of Object.entries(thresholds)) {
    const bytes = size.toBytes();
    if (Token.isUnresolved(bytes)) continue;
    if (bytes <= 0) {
      throw new Error(`PostgresSourceAlarms: ${property} must be larger than 0, e.g. Size.gibibytes(10).`);
    }
    if (allocated && !Token.isUnresolved(allocated.toBytes()) && bytes >= allocated.toBytes()) {
      throw new Error(`PostgresSourceAlarms: ${property} (${describe(size)}) must be smaller than the instance's allocated storage `
        + `(${describe(allocated)}): the alarm could never ${property === 'freeStorageThreshold' ? 'stay quiet' : 'fire'}. Lower it.`);
    }
  }
  if (!Token.isUnresolved(periods) && (!Number.isInteger(periods) || periods < 1)) {
    throw new Error(`PostgresSourceAlarms: evaluationPeriods must be a whole number of at least 1, got ${periods}.`);
  }
}

function describe(size: Size): string {
  const bytes = size.toBytes();
  if (Token.isUnresolved(bytes)) return 'the threshold';
  const gib = bytes / GIB;
  return Number.isInteger(gib) ? `${gib} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}
