import { SCHEMA_CONVERSION_TYPE } from './conversion/kinds';
import { DISTRIBUTED_VERIFICATION_TYPE } from './fidelity/kinds';
import { CONNECTION_TEST_TYPE, SERVERLESS_LIFECYCLE_TYPE, TASK_LIFECYCLE_TYPE, TASK_STOPPER_TYPE } from './lifecycle/kinds';
import { NEON_COMPUTE_KEEP_ALIVE_TYPE, PREMIGRATION_ASSESSMENT_TYPE, REPLICATION_SLOT_CLEANUP_TYPE } from './live/kinds';
import { NEON_CREDENTIALS_TYPE } from './neon/kinds';
import { NEON_IP_ALLOW_TYPE } from './network/kinds';
import type { KindRegistry } from './provider/handler-types';
import { DMS_ACCOUNT_ROLES_TYPE } from './replication/kinds';
import { SCHEMA_COPY_TYPE } from './schema/kinds';
import { SECRET_ARNS_TYPE } from './secrets/kinds';

/*
 * The composition root of the stack's shared custom-resource provider: every kind it serves, and
 * where its handler lives. A request loads the handler of its own kind only (each is a chunk of
 * the provider's bundle). A new kind is its room's type, construct and handler, and one line here.
 */
export const RESOURCE_KINDS: KindRegistry = {
  [CONNECTION_TEST_TYPE]: () => import('./lifecycle/connection-test.handler.js'),
  [TASK_LIFECYCLE_TYPE]: () => import('./lifecycle/task-lifecycle.handler.js'),
  [TASK_STOPPER_TYPE]: () => import('./lifecycle/task-stopper.handler.js'),
  [SERVERLESS_LIFECYCLE_TYPE]: () => import('./lifecycle/serverless-lifecycle.handler.js'),
  [NEON_CREDENTIALS_TYPE]: () => import('./neon/credentials.handler.js'),
  [NEON_IP_ALLOW_TYPE]: () => import('./network/ip-allow.handler.js'),
  [DMS_ACCOUNT_ROLES_TYPE]: () => import('./replication/account-roles.handler.js'),
  [SECRET_ARNS_TYPE]: () => import('./secrets/secret-arns.handler.js'),
  [SCHEMA_COPY_TYPE]: () => import('./schema/schema-copy.handler.js'),
  [SCHEMA_CONVERSION_TYPE]: () => import('./conversion/schema-conversion.handler.js'),
  [REPLICATION_SLOT_CLEANUP_TYPE]: () => import('./live/slot-cleanup.handler.js'),
  [NEON_COMPUTE_KEEP_ALIVE_TYPE]: () => import('./live/neon-compute.handler.js'),
  [PREMIGRATION_ASSESSMENT_TYPE]: () => import('./live/assessment.handler.js'),
  [DISTRIBUTED_VERIFICATION_TYPE]: () => import('./fidelity/distributed/start.handler.js'),
};
