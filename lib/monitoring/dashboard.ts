import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { IMonitoredMigration } from './monitored-migration';
import { normalizeInstanceIdentifier } from '../metrics/identifiers';
import { DmsMetrics } from '../metrics/metrics';

/** Properties of a `MigrationDashboard`. */
export interface MigrationDashboardProps {
  /**
   * Name of the CloudWatch dashboard.
   *
   * @default - CloudFormation generates a name
   */
  readonly dashboardName?: string;

  /**
   * Migrations shown from the start; more can be added with `addMigration`.
   *
   * @default - none
   */
  readonly migrations?: IMonitoredMigration[];

  /**
   * Period of every graph.
   *
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;

  /**
   * Time range shown when the dashboard opens, as an ISO 8601 duration relative to now.
   *
   * @default '-PT12H'
   */
  readonly start?: string;
}

/** Width of the CloudWatch dashboard grid. */
const GRID_WIDTH = 24;
const GRAPH_HEIGHT = 6;
const HEADER_HEIGHT = 3;

/**
 * A CloudWatch dashboard for one or more migrations. For each migration: a header with links to
 * the task in the DMS console and to its log group, full-load progress (tables loaded and errored,
 * percent, from the progress metrics published while the task is waited for), full-load throughput,
 * CDC latency and backlog; for each replication instance: CPU, freeable memory, free storage and swap.
 */
export class MigrationDashboard extends Construct {
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly period: Duration;
  private readonly instances = new Set<string>();

  constructor(scope: Construct, id: string, props: MigrationDashboardProps = {}) {
    super(scope, id);
    this.period = props.period ?? Duration.minutes(5);
    const periodSeconds = this.period.toSeconds({ integral: false });
    if (!Token.isUnresolved(periodSeconds) && (periodSeconds < 60 || periodSeconds % 60 !== 0)) {
      throw new Error(`period must be a whole number of minutes, got ${this.period.toHumanString()}`);
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      start: props.start ?? '-PT12H',
    });
    for (const migration of props.migrations ?? []) {
      this.addMigration(migration);
    }
  }

  /**
   * Add the widgets of one migration, and of its replication instance unless another migration
   * on the same instance was added before.
   */
  public addMigration(migration: IMonitoredMigration): void {
    const taskArn = migration.taskArn;
    const instance = normalizeInstanceIdentifier(migration.replicationInstanceIdentifier);
    const task = migration.taskIdentifier;
    const opts = { period: this.period };

    this.dashboard.addWidgets(new cloudwatch.TextWidget({
      markdown: this.header(migration, instance),
      width: GRID_WIDTH,
      height: HEADER_HEIGHT,
    }));

    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Full load progress',
        metrics: [
          DmsMetrics.fullLoadProgressPercent(task, { ...opts, label: 'Percent loaded' }),
          DmsMetrics.tablesLoaded(task, { ...opts, label: 'Tables loaded' }),
          DmsMetrics.tablesErrored(task, { ...opts, label: 'Tables errored' }),
        ],
        width: 8,
        height: GRAPH_HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: 'Full load throughput (rows/s)',
        left: [
          DmsMetrics.fullLoadThroughputRowsSource(taskArn, instance, { ...opts, label: 'Read from source' }),
          DmsMetrics.fullLoadThroughputRowsTarget(taskArn, instance, { ...opts, label: 'Written to target' }),
        ],
        leftYAxis: { min: 0 },
        width: 8,
        height: GRAPH_HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: 'Full load bandwidth to target (KB/s)',
        left: [DmsMetrics.fullLoadThroughputBandwidthTarget(taskArn, instance, { ...opts, label: 'To target' })],
        leftYAxis: { min: 0 },
        width: 8,
        height: GRAPH_HEIGHT,
      }),
    );

    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'CDC latency (seconds)',
        left: [
          DmsMetrics.cdcLatencySource(taskArn, instance, { ...opts, label: 'Source' }),
          DmsMetrics.cdcLatencyTarget(taskArn, instance, { ...opts, label: 'Target' }),
        ],
        leftYAxis: { min: 0 },
        width: 12,
        height: GRAPH_HEIGHT,
      }),
      new cloudwatch.GraphWidget({
        title: 'CDC backlog (changes)',
        left: [
          DmsMetrics.cdcIncomingChanges(taskArn, instance, { ...opts, label: 'Waiting to be applied' }),
          DmsMetrics.cdcChangesDiskTarget(taskArn, instance, { ...opts, label: 'Spilled to disk (target)' }),
        ],
        leftYAxis: { min: 0 },
        width: 12,
        height: GRAPH_HEIGHT,
      }),
    );

    if (!this.instances.has(instance)) {
      this.instances.add(instance);
      this.addInstance(instance);
    }
  }

  /** Add a row showing the state of the given alarms, e.g. `MigrationAlarms.alarms`. */
  public addAlarmStatus(alarms: cloudwatch.IAlarm[], title?: string): void {
    if (alarms.length === 0) {
      throw new Error('addAlarmStatus needs at least one alarm');
    }
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({
      title: title ?? 'Migration alarms',
      alarms,
      width: GRID_WIDTH,
      height: 3,
    }));
  }

  private addInstance(instance: string): void {
    const opts = { period: this.period };
    const graph = (title: string, metric: cloudwatch.IMetric) => new cloudwatch.GraphWidget({
      title,
      left: [metric],
      leftYAxis: { min: 0 },
      legendPosition: cloudwatch.LegendPosition.HIDDEN,
      width: 6,
      height: GRAPH_HEIGHT,
    });
    this.dashboard.addWidgets(
      graph(`Instance ${instance}: CPU (%)`, DmsMetrics.cpuUtilization(instance, { ...opts, label: 'CPU' })),
      graph(`Instance ${instance}: freeable memory (bytes)`, DmsMetrics.freeableMemory(instance, { ...opts, label: 'Freeable memory' })),
      graph(`Instance ${instance}: free storage (bytes)`, DmsMetrics.freeStorageSpace(instance, {
        ...opts,
        statistic: cloudwatch.Stats.MINIMUM,
        label: 'Free storage',
      })),
      graph(`Instance ${instance}: swap (bytes)`, DmsMetrics.swapUsage(instance, {
        ...opts,
        statistic: cloudwatch.Stats.MAXIMUM,
        label: 'Swap used',
      })),
    );
  }

  private header(migration: IMonitoredMigration, instance: string): string {
    const region = Stack.of(this).region;
    const task = migration.taskIdentifier;
    const logGroup = `dms-tasks-${instance}`;
    const taskUrl = `https://console.aws.amazon.com/dms/v2/home?region=${region}#taskDetails/${task}`;
    const logsUrl = `https://console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${logGroup}`;
    return [
      `## Migration ${migration.displayName ?? task}`,
      `Task \`${task}\` on replication instance \`${instance}\` · [Task in the DMS console](${taskUrl}) · ` +
      `[Task logs](${logsUrl}) (log group \`${logGroup}\`, stream \`dms-task-${DmsMetrics.taskResourceId(migration.taskArn)}\`)`,
      'Progress comes from the `CdkNeonMigration` metrics, published while the deployment waits for the task.',
    ].join('\n\n');
  }
}
