import { dispatchIsComplete } from './dispatch';
import type { IsCompleteResult, ProviderRequest } from './handler-types';

/** isComplete of the shared provider: routes by `ResourceType`. */
export async function handler(event: ProviderRequest): Promise<IsCompleteResult> {
  return dispatchIsComplete(event);
}
