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

/**
 * What a kind does with an Update CloudFormation sends while it rolls a failed update back (the
 * previous properties as `ResourceProperties`, the failed ones as `OldResourceProperties`):
 * - `'run'`: its onEvent and isComplete run as for any update: the kind was written to bring its
 *   resource back to the previous properties (a task started again, a secret written back);
 * - a function: runs instead of onEvent (isComplete follows as usual).
 */
export type RollbackAction = 'run' | ((event: ProviderRequest) => Promise<OnEventResult>);

/**
 * One kind of custom resource served by a provider: the module a kind registers (its `onEvent`,
 * `isComplete` and the other members, exported by name).
 */
export interface ResourceKindHandler {
  /**
   * What an Update does during a rollback (see `RollbackAction`). Without it, nothing runs: the
   * dispatcher answers the Update with the resource's physical id and completes it. That is the
   * rule of the framework: during a rollback no kind makes a change it was not written to make.
   */
  readonly rollback?: RollbackAction;
  /**
   * The `Data` of an Update a rollback leaves as it is (no `rollback`): the attributes other
   * resources or outputs read must still be there.
   */
  unchangedData?(event: ProviderRequest): Record<string, string>;
  onEvent(event: ProviderRequest): Promise<OnEventResult>;
  /** Omitted: complete as soon as onEvent returns. */
  isComplete?(event: ProviderRequest): Promise<IsCompleteResult>;
  /**
   * One look at what a create or update handed to the stack's load waiter because it takes longer
   * than a custom resource may (a lifecycle's full load; a schema step's wait for the load and its
   * build): complete when it ended (`Data.Reason` says how, for the wait condition's signal), an
   * error when it failed. `event.Data` is the `Data` of the request's onEvent and isComplete, with
   * the `Data` the previous look returned incomplete over it: the state a look passes to the next.
   */
  loadProgress?(event: ProviderRequest): Promise<IsCompleteResult>;
}

/** The kinds a provider serves: each custom-resource type and how to load its handler. */
export type KindRegistry = Readonly<Record<string, () => Promise<ResourceKindHandler>>>;

/**
 * The input of one poll of the stack's load waiter (a Step Functions state machine): the request
 * whose wait it follows (a lifecycle's full load, a schema step), and the wait condition to signal
 * when the wait ended.
 */
export interface LoadWaitPoll {
  /** The request, with the `Data` of its onEvent (RequestedAt, WaitDeadline, ...). */
  readonly Request: ProviderRequest;
  /** The presigned URL of the `AWS::CloudFormation::WaitConditionHandle`. */
  readonly Handle: string;
  /** `UniqueId` of the signal. */
  readonly UniqueId: string;
}
