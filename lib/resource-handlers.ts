import { Dispatcher } from './provider/dispatch';
import type { IsCompleteResult, LoadWaitPoll, OnEventResult, ProviderRequest } from './provider/handler-types';
import type { LoadWaitAnswer } from './provider/load-wait-poll';
import { RESOURCE_KINDS } from './resource-kinds';

/*
 * The handler bundle of the stack's shared provider (built with one chunk per kind): `onEvent` and
 * `isComplete` of the Provider framework, and the poll step of the stack's load waiter.
 */

export const dispatcher = new Dispatcher(RESOURCE_KINDS);

/** The input of the load waiter's poll step: its execution's state. */
interface LoadWaitStep {
  readonly LoadWaitPoll: LoadWaitPoll;
  /** The previous poll's answer (absent at the first). */
  readonly Answer?: LoadWaitAnswer;
}

/** onEvent of the shared provider: routes by `ResourceType`. */
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  return dispatcher.onEvent(event);
}

/**
 * isComplete of the shared provider (routes by `ResourceType`), and the poll step of the stack's
 * load waiter (an event with `LoadWaitPoll`, and from the second poll on the previous poll's answer
 * in `Answer`, where the state machine writes it).
 */
export async function isComplete(event: ProviderRequest | LoadWaitStep): Promise<IsCompleteResult | LoadWaitAnswer> {
  if ('LoadWaitPoll' in event) {
    return dispatcher.loadPoll(event.LoadWaitPoll, event.Answer?.State);
  }
  return dispatcher.isComplete(event);
}
