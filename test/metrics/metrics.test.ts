import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { DmsMetrics, ProgressMetricName } from '../../lib/metrics';

const TASK_ARN = 'arn:aws:dms:us-east-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function newStack(): Stack {
  return new Stack(new App(), 'S');
}

describe('DmsMetrics.taskResourceId', () => {
  test('a literal ARN gives its last part', () => {
    expect(DmsMetrics.taskResourceId(TASK_ARN)).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
  });

  test('a token ARN gives Fn::Select 6 of Fn::Split on colons', () => {
    const stack = newStack();
    expect(stack.resolve(DmsMetrics.taskResourceId(stackToken(stack)))).toEqual({ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Task' }] }] });
  });

  test('a literal that is not a task ARN is rejected', () => {
    expect(() => DmsMetrics.taskResourceId('orders-task')).toThrow(
      /taskArn must be the ARN of a DMS replication task \(arn:<partition>:dms:<region>:<account>:task:<resource id>\), got 'orders-task'/,
    );
    expect(() => DmsMetrics.taskResourceId('arn:aws:dms:us-east-1:123456789012:rep:ABC')).toThrow(/taskArn must be the ARN of a DMS replication task/);
  });
});

describe('task metrics', () => {
  test.each([
    ['fullLoadThroughputRowsSource', 'FullLoadThroughputRowsSource', 'Average'],
    ['fullLoadThroughputRowsTarget', 'FullLoadThroughputRowsTarget', 'Average'],
    ['fullLoadThroughputBandwidthTarget', 'FullLoadThroughputBandwidthTarget', 'Average'],
    ['cdcLatencySource', 'CDCLatencySource', 'Average'],
    ['cdcLatencyTarget', 'CDCLatencyTarget', 'Average'],
    ['cdcIncomingChanges', 'CDCIncomingChanges', 'Maximum'],
    ['cdcChangesDiskTarget', 'CDCChangesDiskTarget', 'Maximum'],
  ] as const)('%s is %s with both dimensions, %s over 5 minutes', (method, metricName, statistic) => {
    const metric = DmsMetrics[method](TASK_ARN, 'rep-instance-1');
    expect(metric.namespace).toBe('AWS/DMS');
    expect(metric.metricName).toBe(metricName);
    expect(metric.dimensions).toEqual({
      ReplicationInstanceIdentifier: 'rep-instance-1',
      ReplicationTaskIdentifier: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    });
    expect(metric.statistic).toBe(statistic);
    expect(metric.period.toSeconds()).toBe(300);
  });

  test('a token task ARN and instance identifier resolve to Fn::Select and the token', () => {
    const stack = newStack();
    const metric = DmsMetrics.cdcLatencyTarget(stackToken(stack), stackToken(stack, 'Instance'));
    expect(stack.resolve(metric.dimensions)).toEqual({
      ReplicationInstanceIdentifier: { Ref: 'Instance' },
      ReplicationTaskIdentifier: { 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'Task' }] }] },
    });
  });

  test('a literal instance identifier is lowercased, as DMS stores it', () => {
    const metric = DmsMetrics.cdcLatencySource(TASK_ARN, 'Rep-Instance-1');
    expect(metric.dimensions?.ReplicationInstanceIdentifier).toBe('rep-instance-1');
  });

  test('props override statistic and period but not the dimensions', () => {
    const metric = DmsMetrics.taskMetric(TASK_ARN, 'rep', 'CDCThroughputRowsTarget', {
      statistic: 'p99',
      period: Duration.minutes(1),
      dimensionsMap: { ReplicationTaskIdentifier: 'my-task-name' },
    });
    expect(metric.metricName).toBe('CDCThroughputRowsTarget');
    expect(metric.statistic).toBe('p99');
    expect(metric.period.toSeconds()).toBe(60);
    expect(metric.dimensions?.ReplicationTaskIdentifier).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
  });

  test('an empty instance identifier is rejected', () => {
    expect(() => DmsMetrics.cdcLatencySource(TASK_ARN, ' ')).toThrow(
      /replicationInstanceIdentifier must not be empty: pass the replication instance identifier \(its name\)/,
    );
  });
});

describe('instance metrics', () => {
  test.each([
    ['cpuUtilization', 'CPUUtilization'],
    ['freeableMemory', 'FreeableMemory'],
    ['freeStorageSpace', 'FreeStorageSpace'],
    ['swapUsage', 'SwapUsage'],
  ] as const)('%s is %s with only the instance dimension', (method, metricName) => {
    const metric = DmsMetrics[method]('rep-instance-1');
    expect(metric.namespace).toBe('AWS/DMS');
    expect(metric.metricName).toBe(metricName);
    expect(metric.dimensions).toEqual({ ReplicationInstanceIdentifier: 'rep-instance-1' });
    expect(metric.statistic).toBe('Average');
    expect(metric.period.toSeconds()).toBe(300);
  });
});

describe('progress metrics', () => {
  test.each([
    ['tablesLoaded', 'TablesLoaded'],
    ['tablesErrored', 'TablesErrored'],
    ['fullLoadProgressPercent', 'FullLoadProgressPercent'],
  ] as const)('%s is CdkNeonMigration/%s by task identifier', (method, metricName) => {
    const metric = DmsMetrics[method]('orders-task');
    expect(metric.namespace).toBe('CdkNeonMigration');
    expect(metric.metricName).toBe(metricName);
    expect(metric.dimensions).toEqual({ TaskIdentifier: 'orders-task' });
    expect(metric.statistic).toBe('Maximum');
  });

  test('progressMetric takes any progress metric name', () => {
    expect(DmsMetrics.progressMetric('t', ProgressMetricName.TABLES_QUEUED).metricName).toBe('TablesQueued');
  });

  test('an empty task identifier is rejected', () => {
    expect(() => DmsMetrics.tablesLoaded('')).toThrow(/taskIdentifier must not be empty: pass the replication task identifier \(its name\)/);
  });
});

/** A string token resolving to `{ Ref: logicalId }`. */
function stackToken(stack: Stack, logicalId = 'Task'): string {
  return new CfnParameter(stack, logicalId, { type: 'String' }).valueAsString;
}
