import * as connectionTest from './connection-test.handler';
import type { IsCompleteResult, LoadWaitPoll, OnEventResult, ProviderRequest, ResourceKindHandler } from './handler-types';
import { ResourceTypes } from './kinds';
import { LoadWaitAnswer, pollLoad } from './load-wait.handler';
import * as serverlessLifecycle from './serverless-lifecycle.handler';
import * as taskLifecycle from './task-lifecycle.handler';
import * as taskStopper from './task-stopper.handler';
import * as schemaConversion from '../conversion/schema-conversion.handler';
import * as distributedVerification from '../fidelity/distributed/start.handler';
import * as premigrationAssessment from '../live/assessment.handler';
import * as neonComputeKeepAlive from '../live/neon-compute.handler';
import * as slotCleanup from '../live/slot-cleanup.handler';
import * as neonCredentials from '../neon/credentials.handler';
import * as neonIpAllow from '../network/ip-allow.handler';
import * as accountRoles from '../replication/account-roles.handler';
import * as schemaCopy from '../schema/schema-copy.handler';
import * as secretArns from '../secrets/secret-arns.handler';

const HANDLERS: Record<string, ResourceKindHandler> = {
  [ResourceTypes.CONNECTION_TEST]: connectionTest,
  [ResourceTypes.TASK_LIFECYCLE]: taskLifecycle,
  [ResourceTypes.TASK_STOPPER]: taskStopper,
  [ResourceTypes.SERVERLESS_LIFECYCLE]: serverlessLifecycle,
  [ResourceTypes.NEON_CREDENTIALS]: neonCredentials,
  [ResourceTypes.NEON_IP_ALLOW]: neonIpAllow,
  [ResourceTypes.DMS_ACCOUNT_ROLES]: accountRoles,
  [ResourceTypes.SECRET_ARNS]: secretArns,
  [ResourceTypes.SCHEMA_COPY]: schemaCopy,
  [ResourceTypes.SCHEMA_CONVERSION]: schemaConversion,
  [ResourceTypes.REPLICATION_SLOT_CLEANUP]: slotCleanup,
  [ResourceTypes.NEON_COMPUTE_KEEP_ALIVE]: neonComputeKeepAlive,
  [ResourceTypes.PREMIGRATION_ASSESSMENT]: premigrationAssessment,
  [ResourceTypes.DISTRIBUTED_VERIFICATION]: distributedVerification,
};

function handlerFor(event: ProviderRequest): ResourceKindHandler {
  const handler = HANDLERS[event.ResourceType];
  if (!handler) {
    throw new Error(`Unsupported resource type ${event.ResourceType}`);
  }
  return handler;
}

/** The request as it is safe to log: never the pre-signed response URL. */
export function loggable(event: ProviderRequest): Record<string, unknown> {
  const { ResponseURL: _url, ...rest } = event as ProviderRequest & { ResponseURL?: string };
  return rest;
}

export async function dispatchOnEvent(event: ProviderRequest): Promise<OnEventResult> {
  console.log('onEvent', JSON.stringify(loggable(event)));
  return handlerFor(event).onEvent(event);
}

export async function dispatchIsComplete(event: ProviderRequest): Promise<IsCompleteResult> {
  const handler = handlerFor(event);
  if (!handler.isComplete) {
    return { IsComplete: true };
  }
  return handler.isComplete(event);
}

/** One poll of the load waiter, for the lifecycle kind of its request. */
export async function dispatchLoadPoll(poll: LoadWaitPoll): Promise<LoadWaitAnswer> {
  const handler = handlerFor(poll.Request);
  if (!handler.loadProgress) {
    throw new Error(`${poll.Request.ResourceType} does not wait for loads`);
  }
  return pollLoad(poll, handler);
}
