export * from './migration-task';
