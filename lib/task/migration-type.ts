/**
 * What a replication task migrates (`MigrationType`; changing it replaces the task).
 */
export enum MigrationType {
  /** Copy the existing data once ("Migrate existing data", the Neon guide's choice). */
  FULL_LOAD = 'full-load',
  /** Replicate ongoing changes only, from now or from a CDC start position. */
  CDC = 'cdc',
  /** Copy the existing data, then keep replicating changes until the task is stopped. */
  FULL_LOAD_AND_CDC = 'full-load-and-cdc',
}
