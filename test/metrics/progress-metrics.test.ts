import { progressMetricData } from '../../lib/metrics/progress-metrics';

describe('progressMetricData', () => {
  test('turns ReplicationTaskStats into PutMetricData data, by task identifier', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const data = progressMetricData('orders', {
      TablesLoaded: 12,
      TablesLoading: 2,
      TablesQueued: 5,
      TablesErrored: 1,
      FullLoadProgressPercent: 63,
    }, at);
    expect(data).toEqual([
      { MetricName: 'TablesLoaded', Dimensions: [{ Name: 'TaskIdentifier', Value: 'orders' }], Value: 12, Unit: 'Count', Timestamp: at },
      { MetricName: 'TablesLoading', Dimensions: [{ Name: 'TaskIdentifier', Value: 'orders' }], Value: 2, Unit: 'Count', Timestamp: at },
      { MetricName: 'TablesQueued', Dimensions: [{ Name: 'TaskIdentifier', Value: 'orders' }], Value: 5, Unit: 'Count', Timestamp: at },
      { MetricName: 'TablesErrored', Dimensions: [{ Name: 'TaskIdentifier', Value: 'orders' }], Value: 1, Unit: 'Count', Timestamp: at },
      { MetricName: 'FullLoadProgressPercent', Dimensions: [{ Name: 'TaskIdentifier', Value: 'orders' }], Value: 63, Unit: 'Percent', Timestamp: at },
    ]);
  });

  test('leaves out what DMS did not report instead of sending zero', () => {
    const data = progressMetricData('orders', { TablesLoaded: 0, FullLoadProgressPercent: undefined });
    expect(data).toEqual([{ MetricName: 'TablesLoaded', Dimensions: [{ Name: 'TaskIdentifier', Value: 'orders' }], Value: 0, Unit: 'Count' }]);
    expect(progressMetricData('orders', undefined)).toEqual([]);
  });

  test('needs a task identifier', () => {
    expect(() => progressMetricData('', { TablesLoaded: 1 })).toThrow(/progressMetricData needs the replication task identifier/);
  });
});
