export * from './migration-task-props';
export * from './migration-task';
