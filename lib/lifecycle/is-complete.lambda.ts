import { dispatchIsComplete, dispatchLoadPoll } from './dispatch';
import type { IsCompleteResult, LoadWaitPoll, ProviderRequest } from './handler-types';
import type { LoadWaitAnswer } from './load-wait.handler';

/**
 * isComplete of the shared provider (routes by `ResourceType`), and the poll step of the stack's
 * load waiter (an event with `LoadWaitPoll`).
 */
export async function handler(event: ProviderRequest | { LoadWaitPoll: LoadWaitPoll }): Promise<IsCompleteResult | LoadWaitAnswer> {
  if ('LoadWaitPoll' in event) {
    return dispatchLoadPoll(event.LoadWaitPoll);
  }
  return dispatchIsComplete(event);
}
