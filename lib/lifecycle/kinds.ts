/**
 * The custom-resource types served by the one shared provider of a stack
 * (see `MigrationProvider`). Each maps to one handler module in `dispatch.ts`.
 */
export const ResourceTypes = {
  /** Parses a Neon connection string held in a secret and writes the DMS credentials secret. */
  NEON_CREDENTIALS: 'Custom::NeonDmsCredentials',
  /** Adds the NAT Elastic IPs to a Neon project's IP Allow list. */
  NEON_IP_ALLOW: 'Custom::NeonIpAllow',
  /** Ensures the account-level roles `dms-vpc-role` and `dms-cloudwatch-logs-role`. */
  DMS_ACCOUNT_ROLES: 'Custom::DmsAccountRoles',
  /** Runs `TestConnection` for one or more endpoints from one replication instance. */
  CONNECTION_TEST: 'Custom::DmsConnectionTest',
  /** Stops a running task before CloudFormation modifies or deletes it. */
  TASK_STOPPER: 'Custom::DmsTaskStopper',
  /** Starts (and optionally waits for) a replication task after it exists. */
  TASK_LIFECYCLE: 'Custom::DmsTaskLifecycle',
  /** Finds the complete ARNs of the secrets of a stack known by name. */
  SECRET_ARNS: 'Custom::NeonDmsSecretArns',
  /** Starts a DMS Serverless replication, and stops it before CloudFormation modifies or deletes its configuration. */
  SERVERLESS_LIFECYCLE: 'Custom::DmsServerlessLifecycle',
  /** Runs steps of the PostgreSQL schema copy (pre; post or indexes and constraints; sequences) as a CodeBuild build, and waits for it. */
  SCHEMA_COPY: 'Custom::NeonSchemaCopy',
  /**
   * Records the logical replication slot a task reads on a PostgreSQL source, and drops the slots a
   * task left when CloudFormation deletes (or replaces) the task.
   */
  REPLICATION_SLOT_CLEANUP: 'Custom::NeonReplicationSlotCleanup',
  /** Keeps a Neon compute from suspending while a migration runs, and restores its setting on delete. */
  NEON_COMPUTE_KEEP_ALIVE: 'Custom::NeonComputeKeepAlive',
  /** Runs a DMS premigration assessment of a replication task and fails on failed individual assessments. */
  PREMIGRATION_ASSESSMENT: 'Custom::DmsPremigrationAssessment',
  /** Runs DMS Schema Conversion for a MySQL, Oracle or SQL Server source: assess and convert, then apply the converted schema to Neon. */
  SCHEMA_CONVERSION: 'Custom::DmsSchemaConversion',
  /** Starts a distributed verification (its Step Functions state machine), whose report signals a wait condition or the alarms. */
  DISTRIBUTED_VERIFICATION: 'Custom::NeonDistributedVerification',
} as const;

/**
 * Tag the lifecycles put on a task (or serverless configuration) with the hash of its updatable
 * properties. CloudFormation sets it with every modification, so during a rollback the handlers can
 * tell whether CloudFormation has restored the resource yet: restart it if so, stop it if not.
 */
export const PROPERTIES_HASH_TAG = 'cdk-neon-migration:properties-hash';
