/**
 * The request and response shapes of the custom-resource Provider framework, as the shared
 * handlers see them. Kept local so the handler bundles import nothing from aws-cdk-lib.
 */
export interface ProviderRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResourceType: string;
  readonly LogicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly ResourceProperties: Record<string, any>;
  readonly OldResourceProperties?: Record<string, any>;
  /** Set for Update and Delete, and on isComplete calls (from the onEvent response). */
  readonly PhysicalResourceId?: string;
  /** isComplete calls only: the `Data` returned by onEvent (merged across polls). */
  readonly Data?: Record<string, any>;
}

export interface OnEventResult {
  readonly PhysicalResourceId?: string;
  readonly Data?: Record<string, any>;
  readonly NoEcho?: boolean;
}

export interface IsCompleteResult {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, any>;
}

/** One kind of custom resource served by the shared provider. */
export interface ResourceKindHandler {
  onEvent(event: ProviderRequest): Promise<OnEventResult>;
  /** Omitted: complete as soon as onEvent returns. */
  isComplete?(event: ProviderRequest): Promise<IsCompleteResult>;
}
