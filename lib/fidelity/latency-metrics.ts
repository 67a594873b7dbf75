import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';

/** The metrics of a task's replication latency, in seconds (namespace `AWS/DMS`). */
export const LATENCY_METRICS = ['CDCLatencySource', 'CDCLatencyTarget'] as const;

/** How old the newest datapoint may be by default: 10 minutes. */
export const DEFAULT_MAX_AGE_MS = 600_000;

/** Which task's latency to read: the dimensions of its metrics. */
export interface LatencyMetricDimensions {
  /** `ReplicationInstanceIdentifier`: the replication instance's identifier. */
  readonly instanceIdentifier: string;
  /** `ReplicationTaskIdentifier`: the task's resource id, the last part of its ARN. */
  readonly taskResourceId: string;
}

/** A reading of the latency metrics. */
export interface LatencyMetricReading {
  /** `CDCLatencySource` + `CDCLatencyTarget` of the newest datapoints, in milliseconds. */
  readonly latencyMs?: number;
  /** Why there is no latency: no recent datapoint. */
  readonly problem?: string;
  readonly detail: string;
}

/**
 * The newest `CDCLatencySource` and `CDCLatencyTarget` of a task (`GetMetricData`, 1-minute
 * Maximum, the last `maxAgeMs`), summed: the longer of the two readings of AWS's documentation
 * (target latency alone, or source plus target). No datapoint of either gives a `problem`.
 */
export async function readLatencyMetrics(
  cloudwatch: CloudWatchClient, dimensions: LatencyMetricDimensions, nowMs: number, maxAgeMs: number = DEFAULT_MAX_AGE_MS,
): Promise<LatencyMetricReading> {
  const response = await cloudwatch.send(new GetMetricDataCommand({
    StartTime: new Date(nowMs - maxAgeMs),
    EndTime: new Date(nowMs),
    ScanBy: 'TimestampDescending',
    MetricDataQueries: LATENCY_METRICS.map((metric, i) => ({
      Id: `m${i}`,
      ReturnData: true,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/DMS',
          MetricName: metric,
          Dimensions: [
            { Name: 'ReplicationInstanceIdentifier', Value: dimensions.instanceIdentifier },
            { Name: 'ReplicationTaskIdentifier', Value: dimensions.taskResourceId },
          ],
        },
        Period: 60,
        Stat: 'Maximum',
      },
    })),
  }));
  const newest = LATENCY_METRICS.map((metric, i) => {
    const series = response.MetricDataResults?.find((r) => r.Id === `m${i}`);
    const points = (series?.Timestamps ?? []).map((t, j) => ({ at: new Date(t), value: series?.Values?.[j] }))
      .filter((p): p is { at: Date; value: number } => p.value !== undefined)
      .sort((a, b) => b.at.getTime() - a.at.getTime());
    return { metric, point: points[0] };
  });
  const missing = newest.filter((n) => !n.point).map((n) => n.metric);
  if (missing.length > 0) {
    return {
      problem: `no ${missing.join(' or ')} datapoint of the task in the last ${Math.round(maxAgeMs / 60_000)} minute(s) `
        + `(dimensions ReplicationInstanceIdentifier=${dimensions.instanceIdentifier}, ReplicationTaskIdentifier=${dimensions.taskResourceId})`,
      detail: 'GetMetricData',
    };
  }
  const latencyMs = Math.round(newest.reduce((sum, n) => sum + n.point!.value, 0) * 1000);
  const at = newest.map((n) => n.point!.at.getTime()).reduce((a, b) => Math.min(a, b));
  return { latencyMs, detail: `${newest.map((n) => `${n.metric} ${n.point!.value} s`).join(' + ')}, at ${new Date(at).toISOString()}` };
}
