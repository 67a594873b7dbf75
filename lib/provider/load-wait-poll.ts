import * as crypto from 'crypto';
// loaded when a wait is handed over: loading the provider's entry costs nothing of it
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { LoadWaitPoll, ProviderRequest, ResourceKindHandler } from './handler-types';
import { errorMessage, isError, isThrottling, timing } from '../core/api-calls';
import { httpsRequest } from '../core/https-request';

/*
 * Waits longer than a custom resource may (CloudFormation fails one that has not answered within
 * an hour): the lifecycle completes once the task runs (a schema step after the load, once it
 * handed its work over) and starts the stack's load waiter, a Step Functions state machine that
 * asks the kind's `loadProgress` every minute and signals the resource's
 * `AWS::CloudFormation::WaitCondition` (up to 12 hours) when the wait ended: the load finished,
 * failed or `maxWait` passed; the schema step's build succeeded or failed.
 *
 * A look may leave state for the next one: the state machine writes each answer to `$.Answer` of
 * its input, which the next poll receives (`LoadWaitAnswer.State`).
 */

/** Properties a lifecycle resource carries when its wait goes through a wait condition. */
export interface LoadWaitProperties {
  /** Presigned URL of the wait condition handle (its `Ref`). */
  readonly LoadWaitHandle?: string;
  /** The stack's load waiter. */
  readonly LoadWaitStateMachineArn?: string;
}

/** What one poll answers the state machine. */
export interface LoadWaitAnswer {
  readonly Done: boolean;
  /** What the next poll gets as the `Data` of its look, over the request's (a build started, ...). */
  readonly State?: Record<string, string>;
}

let sfn: SFNClient | undefined;

/**
 * Whether the lifecycle's wait for the full load goes through a wait condition: then the custom
 * resource itself waits only until the task runs.
 */
export function waitsThroughCondition(event: ProviderRequest): boolean {
  const props = event.ResourceProperties as LoadWaitProperties;
  return Boolean(props.LoadWaitHandle && props.LoadWaitStateMachineArn);
}

/**
 * Called when a lifecycle create or update completed: hands the wait to the load waiter when this
 * request has a wait condition it has not signalled yet. A request that started nothing signals
 * success at once: there is no load to wait for.
 */
export async function handOverLoadWait(event: ProviderRequest, data: Record<string, any>): Promise<void> {
  if (!startsLoadWait(event)) {
    return;
  }
  if (data.Goal === 'running') {
    await startLoadWait(event, data);
    return;
  }
  const reason = 'this deployment started no load: nothing to wait for';
  await signalWaitCondition((event.ResourceProperties as LoadWaitProperties).LoadWaitHandle!,
    { Status: 'SUCCESS', Reason: reason, UniqueId: event.LogicalResourceId, Data: reason });
}

/** Whether this create or update hands its wait to the load waiter: a wait condition handle it has not signalled yet. */
export function startsLoadWait(event: ProviderRequest): boolean {
  const props = event.ResourceProperties as LoadWaitProperties;
  if (event.RequestType === 'Delete' || !props.LoadWaitHandle || !props.LoadWaitStateMachineArn) {
    return false;
  }
  const old = (event.OldResourceProperties ?? {}) as LoadWaitProperties;
  return event.RequestType === 'Create' || old.LoadWaitHandle !== props.LoadWaitHandle;
}

/**
 * Starts the load waiter for this request. The execution is named after the handle, so a repeated
 * call starts nothing new (Step Functions answers a start with the same name and input with the
 * running execution).
 */
export async function startLoadWait(event: ProviderRequest, data: Record<string, any>): Promise<void> {
  const props = event.ResourceProperties as LoadWaitProperties;
  const handle = props.LoadWaitHandle!;
  const name = `load-${crypto.createHash('sha256').update(handle).digest('hex').slice(0, 40)}`;
  const poll: LoadWaitPoll = {
    Request: { ...event, OldResourceProperties: undefined, Data: { ...data, StartIssued: 'true' } },
    Handle: handle,
    UniqueId: event.LogicalResourceId,
  };
  const sdk = await import('@aws-sdk/client-sfn');
  sfn ??= new sdk.SFNClient({});
  try {
    await sfn.send(new sdk.StartExecutionCommand({
      stateMachineArn: props.LoadWaitStateMachineArn,
      name,
      input: JSON.stringify({ LoadWaitPoll: poll }),
    }));
  } catch (e) {
    if (!isError(e, 'ExecutionAlreadyExists')) {
      throw e;
    }
  }
  console.log(`The load of ${event.LogicalResourceId} is followed by the load waiter (${name}); its wait condition completes when the load ends`);
}

/** State a poll leaves when its signal did not get through: the signal, and how many polls tried it. */
const PENDING_SIGNAL = 'PendingSignal';
const SIGNAL_POLLS = 'SignalPolls';
/** Polls (a minute apart) that try a signal S3 did not take before the waiter gives up on it. */
export const SIGNAL_POLLS_AT_MOST = 15;

/**
 * One poll: asks the kind how the wait goes (with the state the previous poll left), signals the
 * wait condition when it ended. A signal that did not get through (a network error, S3's 500 or
 * 503) is tried again by the next polls, without asking the kind again, for up to
 * `SIGNAL_POLLS_AT_MOST` polls; a handle S3 refuses (expired, its stack gone) ends the wait.
 */
export async function pollLoad(poll: LoadWaitPoll, handler: ResourceKindHandler, state: Record<string, string> = {}): Promise<LoadWaitAnswer> {
  if (state[PENDING_SIGNAL]) {
    return deliver(poll, JSON.parse(state[PENDING_SIGNAL]), state);
  }
  let status: 'SUCCESS' | 'FAILURE';
  let reason: string;
  try {
    const progress = await handler.loadProgress!({ ...poll.Request, Data: { ...poll.Request.Data, ...state } });
    if (!progress.IsComplete) {
      const next = { ...state, ...stringValues(progress.Data) };
      return Object.keys(next).length > 0 ? { Done: false, State: next } : { Done: false };
    }
    status = 'SUCCESS';
    reason = progress.Data?.Reason ?? (progress.Data?.WaitTimedOut === 'true'
      ? 'maxWait passed while the full load continues: follow it in the DMS console or on the dashboard'
      : `full load completed (${progress.Data?.Status ?? 'done'}${progress.Data?.StopReason ? `, ${progress.Data.StopReason}` : ''})`);
  } catch (e) {
    if (isThrottling(e)) {
      return Object.keys(state).length > 0 ? { Done: false, State: state } : { Done: false };
    }
    status = 'FAILURE';
    reason = errorMessage(e);
  }
  return deliver(poll, { Status: status, Reason: reason }, state);
}

/** Signals the outcome of the wait; when the signal does not get through, leaves it for the next poll. */
async function deliver(poll: LoadWaitPoll, outcome: { Status: 'SUCCESS' | 'FAILURE'; Reason: string }, state: Record<string, string>): Promise<LoadWaitAnswer> {
  try {
    await signalWaitCondition(poll.Handle, { ...outcome, UniqueId: poll.UniqueId, Data: outcome.Reason });
    console.log(`Signalled ${outcome.Status} for ${poll.UniqueId}: ${outcome.Reason}`);
    return { Done: true };
  } catch (e) {
    const polls = Number(state[SIGNAL_POLLS] ?? 0) + 1;
    if (e instanceof SignalRefused || polls >= SIGNAL_POLLS_AT_MOST) {
      // the wait condition is gone (a rolled back or deleted stack), or S3 did not take the signal for long: nothing to do
      console.log(`Could not signal the wait condition of ${poll.UniqueId} (${errorMessage(e)}); stopping`);
      return { Done: true };
    }
    console.log(`Could not signal the wait condition of ${poll.UniqueId} yet (${errorMessage(e)}); the next poll tries again`);
    return { Done: false, State: { ...state, [PENDING_SIGNAL]: JSON.stringify(outcome), [SIGNAL_POLLS]: String(polls) } };
  }
}

function stringValues(data: Record<string, unknown> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, String(v)]));
}

/** A wait condition signal (the JSON body CloudFormation reads from the handle's presigned URL). */
export interface WaitConditionSignal {
  readonly Status: 'SUCCESS' | 'FAILURE';
  readonly Reason: string;
  readonly UniqueId: string;
  readonly Data: string;
}

/** How a signal is sent again: S3 asks for retries of its 500 and 503 answers, each on a new connection. */
export const signalRetry = { attempts: 4, baseDelayMs: 1_000, requestTimeoutMs: 10_000 };

/** S3 refused the signal for good (a 4xx other than 408 and 429: the URL expired, the handle is gone). */
export class SignalRefused extends Error {
  constructor(public readonly status: number) {
    super(`the wait condition handle answered HTTP ${status}`);
    this.name = 'SignalRefused';
  }
}

/**
 * PUTs the signal to the presigned URL, without a Content-Type (CloudFormation requires it empty or
 * absent). Only https URLs: the handle is an Amazon S3 presigned URL. A network error, a timeout,
 * a 408, 429 or 5xx answer is retried with backoff (1, 2, 4 s) on a new connection; a signal is the
 * same JSON each time, so a repeated one counts once (CloudFormation counts signals by `UniqueId`).
 * Throws `SignalRefused` for an answer that retrying cannot change, and an error naming the last
 * failure when every attempt failed.
 */
export async function signalWaitCondition(url: string, signal: WaitConditionSignal): Promise<void> {
  // CloudFormation shows the reason: keep it short
  const body = JSON.stringify({ ...signal, Reason: signal.Reason.slice(0, 1000), Data: signal.Data.slice(0, 1000) });
  let lastFailure = '';
  for (let attempt = 1; attempt <= signalRetry.attempts; attempt++) {
    if (attempt > 1) {
      const delay = signalRetry.baseDelayMs * 2 ** (attempt - 2);
      console.log(`Signal for ${signal.UniqueId}: ${lastFailure}; trying again in ${delay} ms`);
      await timing.sleep(delay);
    }
    try {
      const response = await httpsRequest(url, {
        method: 'PUT', headers: { 'content-type': '' }, body, timeoutMs: signalRetry.requestTimeoutMs, newConnection: attempt > 1,
      });
      if (response.status < 300) {
        return;
      }
      if (response.status !== 408 && response.status !== 429 && response.status < 500) {
        throw new SignalRefused(response.status);
      }
      lastFailure = `HTTP ${response.status}`;
    } catch (e) {
      if (e instanceof SignalRefused) {
        throw e;
      }
      lastFailure = `${(e as Error).name}: ${errorMessage(e)}`;
    }
  }
  throw new Error(`the wait condition handle did not take the signal in ${signalRetry.attempts} attempts (${lastFailure})`);
}
