/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Records the logical replication slot a task reads on a PostgreSQL source, and drops the slots a task left when CloudFormation deletes (or replaces) the task. */
export const REPLICATION_SLOT_CLEANUP_TYPE = 'Custom::NeonReplicationSlotCleanup';

/** Keeps a Neon compute from suspending while a migration runs, and restores its setting on delete. */
export const NEON_COMPUTE_KEEP_ALIVE_TYPE = 'Custom::NeonComputeKeepAlive';

/** Runs a DMS premigration assessment of a replication task and fails on failed individual assessments. */
export const PREMIGRATION_ASSESSMENT_TYPE = 'Custom::DmsPremigrationAssessment';
