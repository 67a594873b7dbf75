/** Whether a PostgreSQL source has logical replication on, as far as the app can tell. */
export enum LogicalReplicationStatus {
  /** `rds.logical_replication` (or `wal_level=logical`) is known to be on. */
  ENABLED = 'enabled',
  /** Known to be off, e.g. an RDS instance on the default parameter group. */
  DISABLED = 'disabled',
  /** Not visible to the app, e.g. an imported database or a parameter group from elsewhere. */
  UNKNOWN = 'unknown',
}
