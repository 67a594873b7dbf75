export * from './account-roles';
export * from './placement-options';
export * from './replication-instance';
export * from './serverless';
