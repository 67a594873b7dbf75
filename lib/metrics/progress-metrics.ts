/*
 * Names of the progress metrics the task-lifecycle custom resource publishes while it waits for a
 * replication task, and the shape of the data it sends with `PutMetricData`.
 *
 * CloudWatch has no AWS/DMS metric for "tables loaded" or "full load percent": DMS reports them only
 * through `DescribeReplicationTasks` (`ReplicationTaskStats`). The lifecycle handler copies them into
 * the namespace below, and `MigrationDashboard` graphs them.
 *
 * This module imports nothing, so the Lambda handlers can bundle it without aws-cdk-lib.
 */

/** CloudWatch namespace of the progress metrics. */
export const PROGRESS_METRICS_NAMESPACE = 'CdkNeonMigration';

/**
 * The one dimension of every progress metric. Its value is the replication task identifier
 * (the task's name, `ReplicationTaskIdentifier` in `DescribeReplicationTasks`), not its ARN.
 */
export const PROGRESS_METRICS_DIMENSION = 'TaskIdentifier';

/** The progress metrics, named after the `ReplicationTaskStats` fields they copy. */
export enum ProgressMetricName {
  /** Tables whose full load completed (Count). */
  TABLES_LOADED = 'TablesLoaded',
  /** Tables being loaded now (Count). */
  TABLES_LOADING = 'TablesLoading',
  /** Tables waiting for their full load (Count). */
  TABLES_QUEUED = 'TablesQueued',
  /** Tables whose load failed (Count). */
  TABLES_ERRORED = 'TablesErrored',
  /** Full-load progress of the whole task, 0–100 (Percent). */
  FULL_LOAD_PROGRESS_PERCENT = 'FullLoadProgressPercent',
}

/** The `ReplicationTaskStats` fields the progress metrics are made of (same names as the DMS API). */
export interface ReplicationTaskStatsLike {
  readonly TablesLoaded?: number;
  readonly TablesLoading?: number;
  readonly TablesQueued?: number;
  readonly TablesErrored?: number;
  readonly FullLoadProgressPercent?: number;
}

/** One datum of `PutMetricData` (the `MetricDatum` shape of @aws-sdk/client-cloudwatch). */
export interface ProgressMetricDatum {
  readonly MetricName: string;
  readonly Dimensions: { readonly Name: string; readonly Value: string }[];
  readonly Value: number;
  readonly Unit: 'Count' | 'Percent';
  readonly Timestamp?: Date;
}

const ORDER: ProgressMetricName[] = [
  ProgressMetricName.TABLES_LOADED,
  ProgressMetricName.TABLES_LOADING,
  ProgressMetricName.TABLES_QUEUED,
  ProgressMetricName.TABLES_ERRORED,
  ProgressMetricName.FULL_LOAD_PROGRESS_PERCENT,
];

/**
 * The `MetricData` of one `PutMetricData` call (namespace `PROGRESS_METRICS_NAMESPACE`) for the
 * statistics of one task. Fields DMS did not report are left out rather than sent as zero.
 */
export function progressMetricData(
  taskIdentifier: string,
  stats: ReplicationTaskStatsLike | undefined,
  timestamp?: Date,
): ProgressMetricDatum[] {
  if (!taskIdentifier) {
    throw new Error('progressMetricData needs the replication task identifier');
  }
  if (!stats) {
    return [];
  }
  const data: ProgressMetricDatum[] = [];
  for (const name of ORDER) {
    const value = stats[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      continue;
    }
    data.push({
      MetricName: name,
      Dimensions: [{ Name: PROGRESS_METRICS_DIMENSION, Value: taskIdentifier }],
      Value: value,
      Unit: name === ProgressMetricName.FULL_LOAD_PROGRESS_PERCENT ? 'Percent' : 'Count',
      ...(timestamp ? { Timestamp: timestamp } : {}),
    });
  }
  return data;
}
