import { CustomResourceAttributes, DeployEnvironment, DeployedTemplate, TemplateJson } from './deployed';
import { FakeAws } from './fake-aws';
import { IamModel } from './iam-simulation';
import { LoadWaiterModel } from './load-waiter-model';
import { ReceivedSignal, WaitConditionServer } from './wait-condition-server';
import type { IsCompleteResult, ProviderRequest } from '../../lib/provider/handler-types';
import { dispatcher } from '../../lib/resource-handlers';
import { RESOURCE_KINDS } from '../../lib/resource-kinds';


/**
 * Drives a synthesized template's custom resources through their real handlers, the way
 * CloudFormation and the Provider framework would: in dependency order, each with the properties
 * CloudFormation sends (every intrinsic evaluated, scalars as strings), `onEvent` then `isComplete`
 * every 30 seconds of a simulated clock until complete; attributes a handler returns feed the
 * resources evaluated after it. Deletes run in the reverse order. `run` sends one request (Create,
 * Update or Delete) to one resource.
 *
 * The AWS calls the handlers make go to a `FakeAws`; which role made each call is recorded with it,
 * for the IAM simulation. For whole-stack updates, failed updates and their rollbacks, replacements
 * and deletes, with CloudFormation creating and changing the DMS resources too, see
 * `CloudFormationModel` (cloudformation-model.ts), which runs its custom resources through
 * `invokeCustomResource` here.
 */

/** A handler for custom resources other than the shared provider's (e.g. the fidelity checks). */
export type CustomResourceHandler = (event: ProviderRequest) => Promise<{ PhysicalResourceId?: string; Data?: Record<string, any> }>;

export interface DriverOptions {
  readonly env?: Partial<DeployEnvironment>;
  /** Handlers by custom resource type, besides the shared provider's kinds (which go to its dispatcher). */
  readonly handlers?: Record<string, CustomResourceHandler>;
  /** Attributes of custom resources whose handlers do not run here, by logical id. */
  readonly attributes?: CustomResourceAttributes;
  /** Prepares the fake account once the template's resources exist (e.g. imported secrets). */
  readonly prepare?: (fake: FakeAws, deployed: DeployedTemplate) => void;
  /**
   * Serves the wait condition handles: wait conditions are then waited for like CloudFormation does,
   * by running the load waiter's polls until the handle received a signal.
   *
   * @default - a template with a wait condition cannot be deployed
   */
  readonly waitConditions?: WaitConditionServer;
  /** Called before each custom resource runs (e.g. to set the value of a secret it reads). */
  readonly before?: (logicalId: string, driver: DeploymentDriver) => void;
  /**
   * Custom resource types whose handlers are not this library's and do not run here.
   *
   * @default - aws-cdk-lib's own: `Custom::VpcRestrictDefaultSG`
   */
  readonly ignore?: string[];
}

const POLL_SECONDS = 30;
/**
 * How long CloudFormation waits for a custom resource's response (`ServiceTimeout`, at most and by
 * default 3600 seconds); the shared provider's `totalTimeout` is one hour too.
 */
const CUSTOM_RESOURCE_TIMEOUT_SECONDS = 3600;

/** The custom resource types the shared provider serves. */
const SHARED_PROVIDER_TYPES = new Set<string>(Object.keys(RESOURCE_KINDS));

/** What a custom resource request produced: the physical id CloudFormation records and the attributes. */
export interface CustomResourceResult {
  readonly PhysicalResourceId: string;
  readonly Data: Record<string, any>;
}

/** The handlers of a custom resource type: onEvent, and isComplete polled until complete. */
export interface CustomResourceHandlers {
  readonly onEvent: CustomResourceHandler;
  readonly isComplete?: (e: ProviderRequest) => Promise<IsCompleteResult>;
}

/** Work that goes on by itself while a deployment waits (the load waiter's executions): run up to a time. */
export interface BackgroundWork {
  /** Runs what is due until `until` (ms), setting the clock to the time of each step. */
  runUntil(clock: SimulatedClock, until: number): Promise<void>;
}

/**
 * The clock of a simulated deployment. While a deployment step runs (`run`), `Date.now()` answers
 * it; it advances only when the deployment waits (30 seconds between isComplete polls, a minute
 * between load waiter polls). `sleep` lets `background` work run meanwhile, each step at its time.
 */
export class SimulatedClock {
  public now = Date.parse('2026-11-29T12:00:00Z');
  /** What runs while the deployment waits. @default nothing */
  public background?: BackgroundWork;
  private depth = 0;

  public advance(seconds: number): void {
    this.now += seconds * 1000;
  }

  /** Waits `seconds`: the background work due meanwhile runs at its time, then the clock stands at the end. */
  public async sleep(seconds: number): Promise<void> {
    const until = this.now + seconds * 1000;
    if (this.background) {
      await this.background.runUntil(this, until);
    }
    this.now = Math.max(this.now, until);
  }

  /** Runs `body` with `Date.now()` answering this clock. */
  public async run<T>(body: () => Promise<T>): Promise<T> {
    if (this.depth > 0) {
      return body();
    }
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => this.now);
    this.depth++;
    try {
      return await body();
    } finally {
      this.depth--;
      spy.mockRestore();
    }
  }
}

/** Where a custom resource request runs: the template as deployed, the account, the clock. */
export interface CustomResourceContext {
  readonly deployed: DeployedTemplate;
  readonly iam: IamModel;
  readonly fake: FakeAws;
  readonly clock: SimulatedClock;
}

/**
 * Runs one custom resource request the way CloudFormation and the Provider framework do: `onEvent`,
 * then (when the kind has one) `isComplete` every 30 seconds of the simulated clock until it
 * completes, each with the physical id onEvent answered and the `Data` so far; each function runs as
 * its own role (recorded with the calls it makes). Without a physical id from onEvent, a Create gets
 * `defaultPhysicalId` and an Update or Delete keeps its own; a Delete may not change it (the
 * framework fails such a response). Fails with the handler's error, and when no response came
 * within the resource's `ServiceTimeout` (CloudFormation's limit: 3600 seconds, its default).
 */
export async function invokeCustomResource(ctx: CustomResourceContext, handler: CustomResourceHandlers, event: ProviderRequest,
  defaultPhysicalId: string): Promise<CustomResourceResult> {
  const [onEventRole, isCompleteRole] = functionRoles(ctx, event.ResourceProperties.ServiceToken);
  const origin = `${event.ResourceType} ${event.LogicalResourceId} ${event.RequestType}`;
  ctx.fake.origin = origin;
  ctx.fake.role = onEventRole;
  const requested = ctx.clock.now;
  const limit = Number(event.ResourceProperties.ServiceTimeout ?? CUSTOM_RESOURCE_TIMEOUT_SECONDS);
  try {
    const result = await handler.onEvent(event);
    const physicalId = result.PhysicalResourceId ?? (event.RequestType === 'Create' ? defaultPhysicalId : event.PhysicalResourceId!);
    if (event.RequestType === 'Delete' && physicalId !== event.PhysicalResourceId) {
      throw new Error(`DELETE: cannot change the physical resource ID from "${event.PhysicalResourceId}" to "${physicalId}" during deletion`);
    }
    // as aws-cdk-lib's Provider framework: every poll gets the onEvent result's Data (nothing a poll
    // returned), Data with IsComplete false is an error, and the final Data is onEvent's and the last poll's
    const onEventData = { ...(result.Data ?? {}) };
    let data = onEventData;
    if (handler.isComplete) {
      for (;;) {
        if (ctx.clock.now - requested >= limit * 1000) {
          throw new Error(`CloudFormation did not receive a response from the custom resource within ${limit} seconds (ServiceTimeout)`);
        }
        ctx.fake.origin = origin;
        ctx.fake.role = isCompleteRole;
        const done = await handler.isComplete({ ...event, PhysicalResourceId: physicalId, Data: onEventData });
        if (done.IsComplete) {
          data = { ...onEventData, ...(done.Data ?? {}) };
          break;
        }
        if (done.Data && Object.keys(done.Data).length > 0) throw new Error('"Data" is not allowed if "IsComplete" is "False"');
        await ctx.clock.sleep(POLL_SECONDS);
      }
    }
    return { PhysicalResourceId: physicalId, Data: data };
  } catch (e) {
    throw new Error(`${event.RequestType} of ${event.ResourceType} ${event.LogicalResourceId} failed: ${(e as Error).message}`);
  }
}

/** The roles of the functions answering onEvent and isComplete for the resource's service token. */
function functionRoles(ctx: CustomResourceContext, token: string): [string, string] {
  const d = ctx.deployed;
  const framework = ctx.iam.functionWithArn(token);
  const env = d.properties(framework).Environment?.Variables ?? {};
  const onEvent = env.USER_ON_EVENT_FUNCTION_ARN ? ctx.iam.functionWithArn(env.USER_ON_EVENT_FUNCTION_ARN) : framework;
  const isComplete = env.USER_IS_COMPLETE_FUNCTION_ARN ? ctx.iam.functionWithArn(env.USER_IS_COMPLETE_FUNCTION_ARN) : onEvent;
  return [ctx.iam.roleOfFunction(onEvent), ctx.iam.roleOfFunction(isComplete)];
}

/** The handlers of a custom resource type: `handlers` first, then the shared provider's dispatcher. */
export function handlersFor(type: string, handlers: Record<string, CustomResourceHandler> = {}): CustomResourceHandlers {
  const custom = handlers[type];
  if (custom) {
    return { onEvent: custom };
  }
  if (SHARED_PROVIDER_TYPES.has(type)) {
    return { onEvent: (e) => dispatcher.onEvent(e), isComplete: (e) => dispatcher.isComplete(e) };
  }
  throw new Error(`no handler for ${type}: pass one in handlers, or its attributes`);
}

/** How a wait condition ended. */
export type ConditionOutcome =
  | { readonly status: 'SUCCESS'; readonly signal: ReceivedSignal; readonly data: string }
  | { readonly status: 'FAILURE'; readonly signal: ReceivedSignal; readonly reason: string }
  | { readonly status: 'TIMEOUT'; readonly reason: string };

/**
 * CloudFormation waiting on a wait condition it creates ("Using wait conditions";
 * AWS::CloudFormation::WaitCondition): the signals its handle received (the server's signals at
 * `handlePath`), before the condition was created too, decide in the order they came: `count`
 * SUCCESS signals of distinct `UniqueId`s complete it (`data`: its `Data` attribute, their `Data` by
 * `UniqueId` as JSON), a FAILURE signal fails it; without them `timeoutSeconds` after it began, it
 * times out. The clock runs meanwhile, and the stack's load waiter (`waiter`) polls by itself.
 */
export async function waitOnCondition(clock: SimulatedClock, waiter: LoadWaiterModel, server: WaitConditionServer, handlePath: string,
  count: number, timeoutSeconds: number): Promise<ConditionOutcome> {
  const deadline = clock.now + timeoutSeconds * 1000;
  for (;;) {
    const successes = new Map<string, ReceivedSignal>();
    for (const signal of server.signals.get(handlePath) ?? []) {
      if (signal.Status !== 'SUCCESS') {
        return { status: 'FAILURE', signal, reason: `WaitCondition received failed message: '${signal.Reason}' for uniqueId: ${signal.UniqueId}` };
      }
      successes.set(signal.UniqueId, signal);
      if (successes.size >= count) {
        return { status: 'SUCCESS', signal, data: JSON.stringify(Object.fromEntries([...successes.values()].map(x => [x.UniqueId, x.Data]))) };
      }
    }
    if (clock.now >= deadline) {
      return { status: 'TIMEOUT', reason: `WaitCondition timed out. Received ${successes.size} conditions when expecting ${count}` };
    }
    const next = waiter.nextPollAt();
    await clock.sleep((Math.min(next ?? deadline, deadline) - clock.now) / 1000);
  }
}

let deployments = 0;

export class DeploymentDriver {
  public readonly deployed: DeployedTemplate;
  public readonly fake: FakeAws;
  public readonly iam: IamModel;
  public readonly clock = new SimulatedClock();
  /** Physical id and returned data of every custom resource that ran. */
  public readonly results = new Map<string, { physicalId: string; data: Record<string, any>; properties: Record<string, any> }>();
  /** The signal each wait condition received. */
  public readonly waitSignals = new Map<string, { Status: string; Reason: string }>();
  /** The stack's load waiter: the Step Functions executions the handlers started. */
  public readonly waiter = new LoadWaiterModel(() => this);
  private readonly attributes: CustomResourceAttributes;

  constructor(template: TemplateJson, private readonly options: DriverOptions = {}) {
    this.attributes = { ...(options.attributes ?? {}) };
    this.deployed = new DeployedTemplate(template, options.env, this.attributes);
    if (options.waitConditions) {
      // each deployment's handles are its own (a shared server keeps every deployment's signals)
      const server = options.waitConditions;
      const deployment = `deployment-${++deployments}`;
      this.deployed.waitConditionUrl = (logicalId) => server.url(`${deployment}/${logicalId}`);
    }
    this.iam = IamModel.of(this.deployed);
    this.fake = new FakeAws(this.deployed);
    this.clock.background = this.waiter;
    options.prepare?.(this.fake, this.deployed);
  }

  /** The custom resources in the order CloudFormation creates them. */
  public customResources(): string[] {
    const d = this.deployed;
    const order = topologicalOrder(d.template);
    const ignored = new Set(this.options.ignore ?? ['Custom::VpcRestrictDefaultSG']);
    return order.filter(id => isCustom(d.resource(id).Type) && !ignored.has(d.resource(id).Type));
  }

  /** Creates every custom resource (Create events) and waits for every wait condition, failing with the handler's error. */
  public async create(): Promise<void> {
    this.fake.stackStatus = 'CREATE_IN_PROGRESS';
    await this.clock.run(async () => {
      for (const id of topologicalOrder(this.deployed.template)) {
        const type = this.deployed.resource(id).Type;
        if (type === 'AWS::CloudFormation::WaitCondition') {
          await this.waitFor(id);
        } else if (this.customResources().includes(id)) {
          this.options.before?.(id, this);
          await this.run(id, 'Create');
        }
      }
    });
    this.fake.stackStatus = 'CREATE_COMPLETE';
  }

  /**
   * Waits for a wait condition as CloudFormation does (`waitOnCondition`), for at most its timeout,
   * while the load waiter's executions poll; fails when it timed out or received a FAILURE signal.
   */
  public async waitFor(logicalId: string): Promise<void> {
    const server = this.options.waitConditions;
    if (!server) {
      throw new Error(`${logicalId} is a wait condition: pass waitConditions to the driver`);
    }
    const d = this.deployed;
    const handleId = d.referencedLogicalId(d.resource(logicalId).Properties!.Handle)!;
    const outcome = await this.clock.run(() => waitOnCondition(this.clock, this.waiter, server, new URL(d.ref(handleId)).pathname.slice(1),
      Number(d.property(logicalId, 'Count') ?? 1), Number(d.property(logicalId, 'Timeout'))));
    if (outcome.status !== 'SUCCESS') {
      throw new Error(`wait condition ${logicalId}: ${outcome.reason}`);
    }
    this.waitSignals.set(logicalId, outcome.signal);
  }

  /** Deletes every custom resource that was created, in reverse order. */
  public async delete(): Promise<void> {
    this.fake.stackStatus = 'DELETE_IN_PROGRESS';
    await this.clock.run(async () => {
      for (const id of [...this.customResources()].reverse()) {
        if (this.results.has(id)) {
          await this.run(id, 'Delete');
        }
      }
    });
  }

  /**
   * Runs one custom resource request through its handler (onEvent, then isComplete until done), with
   * the resource's properties in the template as CloudFormation sends them. An Update carries the
   * properties of its last run as `OldResourceProperties` and its physical id, and records the
   * physical id it answers.
   */
  public async run(logicalId: string, requestType: 'Create' | 'Update' | 'Delete'): Promise<void> {
    const d = this.deployed;
    const resource = d.resource(logicalId);
    const properties = cfnStrings(d.properties(logicalId)) as Record<string, any>;
    const previous = this.results.get(logicalId);
    if (requestType === 'Update' && !previous) {
      throw new Error(`${logicalId} was never created: nothing to update`);
    }
    const event: ProviderRequest = {
      RequestType: requestType,
      ResourceType: resource.Type,
      LogicalResourceId: logicalId,
      StackId: d.stackId,
      RequestId: `request-${logicalId}-${requestType}`,
      ResourceProperties: requestType === 'Delete' && previous ? previous.properties : properties,
      ...(requestType === 'Update' ? { OldResourceProperties: previous!.properties } : {}),
      PhysicalResourceId: previous?.physicalId,
    };
    const result = await this.clock.run(() => invokeCustomResource(this, handlersFor(resource.Type, this.options.handlers), event,
      `${logicalId}-physical-id`));
    if (requestType !== 'Delete') {
      this.results.set(logicalId, { physicalId: result.PhysicalResourceId, data: result.Data, properties });
      this.attributes[logicalId] = { PhysicalResourceId: result.PhysicalResourceId, ...stringValues(result.Data) };
    }
  }
}

/** Whether `type` is a custom resource type. */
export function isCustom(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

/** CloudFormation passes custom resource properties with every scalar as a string. */
export function cfnStrings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cfnStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cfnStrings(v)]));
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

/** Custom resource attributes as `Fn::GetAtt` returns them: strings. */
export function stringValues(data: Record<string, any>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** What each resource waits for: the resources it names in `DependsOn` or references (`Ref`, `Fn::GetAtt`, `Fn::Sub`). */
export function directDependencies(template: TemplateJson): Map<string, Set<string>> {
  const resources = template.Resources;
  const deps = new Map<string, Set<string>>();
  for (const [id, r] of Object.entries(resources)) {
    const set = new Set<string>();
    const dependsOn = r.DependsOn === undefined ? [] : Array.isArray(r.DependsOn) ? r.DependsOn : [r.DependsOn];
    dependsOn.forEach(x => set.add(x));
    collectReferences(r.Properties, set, resources);
    deps.set(id, set);
  }
  return deps;
}

/** Every resource `logicalId` comes after (CloudFormation creates it only once they are complete). */
export function comesAfter(template: TemplateJson, logicalId: string): Set<string> {
  const deps = directDependencies(template);
  const found = new Set<string>();
  const visit = (id: string) => {
    for (const dep of deps.get(id) ?? []) {
      if (!found.has(dep) && template.Resources[dep]) {
        found.add(dep);
        visit(dep);
      }
    }
  };
  visit(logicalId);
  return found;
}

/** Resources in an order where every resource comes after what it references or depends on. */
export function topologicalOrder(template: TemplateJson): string[] {
  const resources = template.Resources;
  const deps = directDependencies(template);
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string) => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new Error(`dependency cycle through ${id}`);
    state.set(id, 'visiting');
    for (const dep of [...(deps.get(id) ?? [])].sort()) {
      if (resources[dep]) visit(dep);
    }
    state.set(id, 'done');
    order.push(id);
  };
  Object.keys(resources).sort().forEach(visit);
  return order;
}

function collectReferences(value: unknown, into: Set<string>, resources: Record<string, unknown>): void {
  if (Array.isArray(value)) {
    value.forEach(v => collectReferences(v, into, resources));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const v = value as Record<string, any>;
  if (typeof v.Ref === 'string' && resources[v.Ref]) into.add(v.Ref);
  if (Array.isArray(v['Fn::GetAtt'])) into.add(v['Fn::GetAtt'][0]);
  if (typeof v['Fn::Sub'] === 'string' || Array.isArray(v['Fn::Sub'])) {
    const text = Array.isArray(v['Fn::Sub']) ? v['Fn::Sub'][0] : v['Fn::Sub'];
    for (const m of String(text).matchAll(/\$\{([^}.!]+)/g)) {
      if (resources[m[1]]) into.add(m[1]);
    }
  }
  Object.values(v).forEach(x => collectReferences(x, into, resources));
}
