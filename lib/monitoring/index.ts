export * from './monitored-migration';
export { DmsMetrics } from './metrics';
export { ProgressMetricName } from './progress-metrics';
export * from './notification-topic';
export * from './alarms';
export * from './dashboard';
