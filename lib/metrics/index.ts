export { DmsMetrics } from './metrics';
export { ProgressMetricName } from './progress-metrics';
