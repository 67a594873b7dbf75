export * from './migration-lifecycle';
export * from './connection-test';
export * from './task-lifecycle';
export * from './serverless-lifecycle';
