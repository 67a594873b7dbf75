export * from './neon-compute';
export * from './assessment';
export * from './replication-slot-cleanup';
