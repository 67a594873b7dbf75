export * from './connection-test';
export * from './task-lifecycle';
