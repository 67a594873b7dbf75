/* The custom-resource types of this room, served by the stack's shared provider (registered in lib/resource-kinds.ts). */

/** Runs `TestConnection` for one or more endpoints from one replication instance. */
export const CONNECTION_TEST_TYPE = 'Custom::DmsConnectionTest';

/** Stops a running task before CloudFormation modifies or deletes it. */
export const TASK_STOPPER_TYPE = 'Custom::DmsTaskStopper';

/** Starts (and optionally waits for) a replication task after it exists. */
export const TASK_LIFECYCLE_TYPE = 'Custom::DmsTaskLifecycle';

/** Starts a DMS Serverless replication, and stops it before CloudFormation modifies or deletes its configuration. */
export const SERVERLESS_LIFECYCLE_TYPE = 'Custom::DmsServerlessLifecycle';

/**
 * Tag the lifecycles put on a task (or serverless configuration) with the hash of its updatable
 * properties. CloudFormation sets it with every modification, so during a rollback the handlers can
 * tell whether CloudFormation has restored the resource yet: restart it if so, stop it if not.
 */
export const PROPERTIES_HASH_TAG = 'cdk-neon-migration:properties-hash';
