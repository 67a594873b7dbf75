export * from './monitored-migration';
export * from './notification-topic';
export * from './alarms';
export * from './dashboard';
export * from './source-alarms';
