import type { OnEventResult, ProviderRequest } from './handler-types';

// Placeholder: implemented by its construct's issue.
export async function onEvent(event: ProviderRequest): Promise<OnEventResult> {
  throw new Error(`${event.ResourceType} is not implemented yet`);
}
