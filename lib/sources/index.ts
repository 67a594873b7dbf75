export * from './ssl';
export * from './options';
export * from './logical-replication-status';
export * from './postgres';
export * from './mysql';
export * from './oracle';
export * from './sqlserver';
export * from './source-database';
