/**
 * The DMS engine version a new replication instance runs unless told otherwise: the oldest that
 * supports every PostgreSQL version DMS reads from (17 and 18 need 3.6.1; DMS's own default, 3.5.4,
 * supports sources up to 16) and writes to (17 and 18 need 3.5.4).
 */
export const DEFAULT_DMS_ENGINE_VERSION = '3.6.1';
