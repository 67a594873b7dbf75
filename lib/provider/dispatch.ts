import type { IsCompleteResult, KindRegistry, LoadWaitPoll, OnEventResult, ProviderRequest, ResourceKindHandler } from './handler-types';
import { LoadWaitAnswer, pollLoad } from './load-wait-poll';
import { rollbackStatus } from './stack-status';
import { errorMessage } from '../core/api-calls';

/*
 * Routes the Provider framework's requests to the kind of their `ResourceType`, loading only that
 * kind's handler module, and keeps the rules every kind inherits:
 *
 * - a request is logged as it came, without its pre-signed `ResponseURL`;
 * - during a rollback (the stack UPDATE_ROLLBACK_IN_PROGRESS or ROLLBACK_IN_PROGRESS), an Update runs
 *   only what its kind was written to run then (`rollback`); any other kind is left as it is, and
 *   nothing a kind throws fails the rollback: the error is logged and the request answered as done.
 *   A rollback that ends in UPDATE_ROLLBACK_FAILED leaves a stack only `continue-update-rollback`
 *   with skipped resources can mend; a resource left unchanged is mended by the next deployment.
 */

/** The request as it is safe to log: never the pre-signed response URL. */
export function loggable(event: ProviderRequest): Record<string, unknown> {
  const { ResponseURL: _url, ...rest } = event as ProviderRequest & { ResponseURL?: string };
  return rest;
}

/** The functions a provider's handler bundle exports, for one registry of kinds. */
export class Dispatcher {
  private readonly loaded = new Map<string, ResourceKindHandler>();

  constructor(private readonly kinds: KindRegistry) {}

  /** The registered custom-resource types. */
  public get types(): string[] {
    return Object.keys(this.kinds);
  }

  /** The handler module of `type`, loaded on first use. */
  public async handlerFor(type: string): Promise<ResourceKindHandler> {
    const cached = this.loaded.get(type);
    if (cached) return cached;
    const load = this.kinds[type];
    if (!load) {
      throw new Error(`Unsupported resource type ${type}`);
    }
    const handler = await load();
    this.loaded.set(type, handler);
    return handler;
  }

  /** onEvent of the provider. */
  public async onEvent(event: ProviderRequest): Promise<OnEventResult> {
    console.log('onEvent', JSON.stringify(loggable(event)));
    const handler = await this.handlerFor(event.ResourceType);
    const rollback = await this.rollbackOf(event);
    if (!rollback) {
      return handler.onEvent(event);
    }
    const done: OnEventResult = { PhysicalResourceId: event.PhysicalResourceId };
    if (event.RequestType === 'Delete') {
      // what a failed create made is deleted as usual, but never fails the rollback
      return this.neverFailing(rollback, event, done, () => handler.onEvent(event));
    }
    if (!handler.rollback) {
      console.log(`The stack is ${rollback}: ${event.ResourceType} ${event.LogicalResourceId} is left as it is (its kind runs nothing during a rollback)`);
      return handler.unchangedData ? { ...done, Data: handler.unchangedData(event) } : done;
    }
    const action = handler.rollback;
    return this.neverFailing(rollback, event, done, () => action === 'run' ? handler.onEvent(event) : action(event));
  }

  /** isComplete of the provider. */
  public async isComplete(event: ProviderRequest): Promise<IsCompleteResult> {
    const handler = await this.handlerFor(event.ResourceType);
    const rollback = await this.rollbackOf(event);
    if (rollback && event.RequestType === 'Update' && !handler.rollback) {
      return { IsComplete: true };
    }
    if (!handler.isComplete) {
      return { IsComplete: true };
    }
    if (!rollback) {
      return handler.isComplete(event);
    }
    return this.neverFailing(rollback, event, { IsComplete: true }, () => handler.isComplete!(event));
  }

  /** One poll of the load waiter, for the kind of its request, with the state the previous poll left. */
  public async loadPoll(poll: LoadWaitPoll, state?: Record<string, string>): Promise<LoadWaitAnswer> {
    const handler = await this.handlerFor(poll.Request.ResourceType);
    if (!handler.loadProgress) {
      throw new Error(`${poll.Request.ResourceType} does not wait for loads`);
    }
    return pollLoad(poll, handler, state);
  }

  /**
   * The status of the stack when this request is part of a rollback: an Update during
   * UPDATE_ROLLBACK_IN_PROGRESS (or ROLLBACK_IN_PROGRESS), a Delete of what a failed create made
   * (ROLLBACK_IN_PROGRESS). Undefined otherwise; a Delete whose stack status cannot be read is taken
   * as an ordinary one.
   */
  private async rollbackOf(event: ProviderRequest): Promise<string | undefined> {
    if (event.RequestType === 'Create') return undefined;
    if (event.RequestType === 'Update') return rollbackStatus(event.StackId);
    try {
      const status = await rollbackStatus(event.StackId);
      return status === 'ROLLBACK_IN_PROGRESS' ? status : undefined;
    } catch (e) {
      console.log(`Reading the stack's status for a Delete: ${errorMessage(e)}; taking it as an ordinary delete`);
      return undefined;
    }
  }

  private async neverFailing<T>(status: string, event: ProviderRequest, done: T, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      console.log(`The stack is ${status}: ${event.RequestType} of ${event.ResourceType} ${event.LogicalResourceId} failed (${errorMessage(e)}); `
        + 'the rollback goes on without it. Check the resource, or deploy again.');
      return done;
    }
  }
}
