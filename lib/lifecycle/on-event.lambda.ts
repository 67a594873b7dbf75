import { dispatchOnEvent } from './dispatch';
import type { OnEventResult, ProviderRequest } from './handler-types';

/** onEvent of the shared provider: routes by `ResourceType`. */
export async function handler(event: ProviderRequest): Promise<OnEventResult> {
  return dispatchOnEvent(event);
}
