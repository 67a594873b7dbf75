export * from './migration-type';
export * from './table-mappings';
export * from './task-settings';
