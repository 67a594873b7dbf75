import { Duration, Fn, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { normalizeInstanceIdentifier } from './identifiers';
import { PROGRESS_METRICS_DIMENSION, PROGRESS_METRICS_NAMESPACE, ProgressMetricName } from './progress-metrics';

const DMS_NAMESPACE = 'AWS/DMS';
const DEFAULT_PERIOD = Duration.minutes(5);
const TASK_ARN_PATTERN = /^arn:[^:]+:dms:[^:]*:[^:]*:task:([^:]+)$/;

/**
 * CloudWatch metrics of DMS replication tasks and instances (namespace `AWS/DMS`) and of the
 * progress metrics this library publishes (namespace `CdkNeonMigration`).
 *
 * Task metrics carry two dimensions: `ReplicationInstanceIdentifier` and `ReplicationTaskIdentifier`.
 * The latter is the task's *resource id*, the last part of its ARN, not the task's name.
 * Every method takes the task ARN and derives the resource id from it.
 *
 * Defaults: a 5-minute period; `Average` for rates and latencies, `Maximum` for backlogs.
 */
export class DmsMetrics {
  /** Namespace of the metrics DMS publishes. */
  public static readonly NAMESPACE = DMS_NAMESPACE;

  /** Namespace of the progress metrics published while a task is waited for. */
  public static readonly PROGRESS_NAMESPACE = PROGRESS_METRICS_NAMESPACE;

  /** The dimension of the progress metrics; its value is the task identifier (name). */
  public static readonly PROGRESS_DIMENSION = PROGRESS_METRICS_DIMENSION;

  /**
   * The resource id of a replication task: the last `:`-separated part of its ARN, which is the
   * value of the `ReplicationTaskIdentifier` metric dimension. For an unresolved ARN (a token)
   * this is `Fn::Select [6, Fn::Split [":", arn]]`.
   */
  public static taskResourceId(taskArn: string): string {
    if (Token.isUnresolved(taskArn)) {
      return Fn.select(6, Fn.split(':', taskArn));
    }
    const match = TASK_ARN_PATTERN.exec(taskArn);
    if (!match) {
      throw new Error(
        `taskArn must be the ARN of a DMS replication task (arn:<partition>:dms:<region>:<account>:task:<resource id>), got '${taskArn}'`,
      );
    }
    return match[1];
  }

  /**
   * Any AWS/DMS task metric, with the dimensions `ReplicationInstanceIdentifier` and
   * `ReplicationTaskIdentifier` (the resource id from `taskArn`).
   *
   * Defaults to `Average` over 5 minutes; `props` override both.
   */
  public static taskMetric(
    taskArn: string,
    replicationInstanceIdentifier: string,
    metricName: string,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      statistic: cloudwatch.Stats.AVERAGE,
      period: DEFAULT_PERIOD,
      ...props,
      namespace: DMS_NAMESPACE,
      metricName,
      dimensionsMap: {
        ReplicationInstanceIdentifier: normalizeInstanceIdentifier(replicationInstanceIdentifier),
        ReplicationTaskIdentifier: DmsMetrics.taskResourceId(taskArn),
      },
    });
  }

  /**
   * Any AWS/DMS replication instance metric, with the dimension `ReplicationInstanceIdentifier`.
   *
   * Defaults to `Average` over 5 minutes; `props` override both.
   */
  public static instanceMetric(
    replicationInstanceIdentifier: string,
    metricName: string,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      statistic: cloudwatch.Stats.AVERAGE,
      period: DEFAULT_PERIOD,
      ...props,
      namespace: DMS_NAMESPACE,
      metricName,
      dimensionsMap: {
        ReplicationInstanceIdentifier: normalizeInstanceIdentifier(replicationInstanceIdentifier),
      },
    });
  }

  /** Rows per second read from the source during full load (`FullLoadThroughputRowsSource`, Average). */
  public static fullLoadThroughputRowsSource(
    taskArn: string,
    replicationInstanceIdentifier: string,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'FullLoadThroughputRowsSource', props);
  }

  /** Rows per second written to the target during full load (`FullLoadThroughputRowsTarget`, Average). */
  public static fullLoadThroughputRowsTarget(
    taskArn: string,
    replicationInstanceIdentifier: string,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'FullLoadThroughputRowsTarget', props);
  }

  /** KB per second sent to the target during full load (`FullLoadThroughputBandwidthTarget`, Average). */
  public static fullLoadThroughputBandwidthTarget(
    taskArn: string,
    replicationInstanceIdentifier: string,
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'FullLoadThroughputBandwidthTarget', props);
  }

  /** Seconds between the last change captured from the source and now (`CDCLatencySource`, Average). */
  public static cdcLatencySource(taskArn: string, replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'CDCLatencySource', props);
  }

  /** Seconds between the oldest change waiting to commit on the target and now (`CDCLatencyTarget`, Average). */
  public static cdcLatencyTarget(taskArn: string, replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'CDCLatencyTarget', props);
  }

  /**
   * Change events waiting to be applied to the target (`CDCIncomingChanges`).
   * A point-in-time backlog, so the default statistic is `Maximum`, not `Sum`.
   */
  public static cdcIncomingChanges(taskArn: string, replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'CDCIncomingChanges', {
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  /** Rows spilled to disk waiting to be committed to the target (`CDCChangesDiskTarget`, Maximum). */
  public static cdcChangesDiskTarget(taskArn: string, replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.taskMetric(taskArn, replicationInstanceIdentifier, 'CDCChangesDiskTarget', {
      statistic: cloudwatch.Stats.MAXIMUM,
      ...props,
    });
  }

  /** Percentage of CPU used by the replication instance (`CPUUtilization`, Average). */
  public static cpuUtilization(replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.instanceMetric(replicationInstanceIdentifier, 'CPUUtilization', props);
  }

  /** Memory of the replication instance that can be freed, in bytes (`FreeableMemory`, Average). */
  public static freeableMemory(replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.instanceMetric(replicationInstanceIdentifier, 'FreeableMemory', props);
  }

  /** Free storage of the replication instance, in bytes (`FreeStorageSpace`, Average). */
  public static freeStorageSpace(replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.instanceMetric(replicationInstanceIdentifier, 'FreeStorageSpace', props);
  }

  /** Swap used on the replication instance, in bytes (`SwapUsage`, Average). */
  public static swapUsage(replicationInstanceIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.instanceMetric(replicationInstanceIdentifier, 'SwapUsage', props);
  }

  /**
   * A progress metric (namespace `CdkNeonMigration`, dimension `TaskIdentifier` = the task
   * identifier), published by the task-lifecycle custom resource while it waits for the task.
   *
   * Defaults to `Maximum` over 5 minutes.
   */
  public static progressMetric(taskIdentifier: string, metricName: ProgressMetricName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!Token.isUnresolved(taskIdentifier) && taskIdentifier.trim() === '') {
      throw new Error('taskIdentifier must not be empty: pass the replication task identifier (its name)');
    }
    return new cloudwatch.Metric({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: DEFAULT_PERIOD,
      ...props,
      namespace: PROGRESS_METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [PROGRESS_METRICS_DIMENSION]: taskIdentifier },
    });
  }

  /** Tables whose full load completed (`CdkNeonMigration/TablesLoaded`, Maximum). */
  public static tablesLoaded(taskIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.progressMetric(taskIdentifier, ProgressMetricName.TABLES_LOADED, props);
  }

  /** Tables whose load failed (`CdkNeonMigration/TablesErrored`, Maximum). */
  public static tablesErrored(taskIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.progressMetric(taskIdentifier, ProgressMetricName.TABLES_ERRORED, props);
  }

  /** Full-load progress in percent (`CdkNeonMigration/FullLoadProgressPercent`, Maximum). */
  public static fullLoadProgressPercent(taskIdentifier: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return DmsMetrics.progressMetric(taskIdentifier, ProgressMetricName.FULL_LOAD_PROGRESS_PERCENT, props);
  }

  private constructor() {}
}
