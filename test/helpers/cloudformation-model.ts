import * as crypto from 'crypto';
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import { CfnResource, Fn } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import {
  CustomResourceContext, CustomResourceHandler, CustomResourceResult, SimulatedClock, cfnStrings, handlersFor, invokeCustomResource, isCustom,
  stringValues, topologicalOrder, waitOnCondition,
} from './deploy-driver';
import { DeployEnvironment, DeployedTemplate, ResourceJson, TemplateJson, uuid } from './deployed';
import { DmsModel } from './dms-model';
import { FakeAws } from './fake-aws';
import { IamModel } from './iam-simulation';
import { LoadWaiterModel } from './load-waiter-model';
import { WaitConditionServer } from './wait-condition-server';
import type { ProviderRequest } from '../../lib/provider/handler-types';

/**
 * CloudFormation deploying one stack, step by step, as its documentation describes, with the
 * stack's custom resources answered by their real handlers (through `invokeCustomResource`: onEvent,
 * then isComplete polls, as the Provider framework runs them) and its AWS::DMS::* resources created,
 * modified and deleted in a `DmsModel` that enforces DMS's rules. `create`, `update` and `delete`
 * return the stack status the operation ended in; `events` lists every resource step with the stack
 * status it happened in, and `dms.refusals` every call DMS refused.
 *
 * What it does, and the CloudFormation documentation it follows (AWS CloudFormation User Guide):
 *
 * - Order ("DependsOn attribute"; "Update behaviors of stack resources"). A resource is created and
 *   updated after every resource it references (`Ref`, `Fn::GetAtt`, `Fn::Sub`) or names in
 *   `DependsOn`, and deleted before them. One at a time: CloudFormation runs independent resources
 *   in parallel, and every order this model takes is one CloudFormation may take.
 * - Update behaviors ("Update behaviors of stack resources"). A resource whose evaluated properties
 *   did not change is left alone (a `DependsOn` change alone updates nothing). A changed property
 *   that the CloudFormation resource specification (@aws-cdk/aws-service-spec, `causesReplacement:
 *   'yes'`, also inside a property's type) documents as "Update requires: Replacement" replaces the
 *   resource: CloudFormation creates the new physical resource in the resource's place in the
 *   order, the resources that reference it get its new id (their properties change, so they are
 *   updated or replaced in turn), and the old one is deleted in the cleanup phase. Any other change
 *   ("Update requires: No interruption" or "Some interruptions"; conditional replacements, `'maybe'`,
 *   included) updates the same physical resource: for a DMS task, ModifyReplicationTask (tags alone
 *   are tagged without a modification). A custom-named resource that needs replacing (its name is its
 *   physical id and stays the same) fails the update, as CloudFormation refuses to replace it.
 * - Custom resources ("Custom resources"; "Custom resource request types"). A Create, an Update
 *   (`ResourceProperties` = new, `OldResourceProperties` = previous, with its `PhysicalResourceId`)
 *   whenever any property changed, never a replacement for a property change, and a Delete. An
 *   Update answered with another `PhysicalResourceId` is a replacement: CloudFormation sends a Delete
 *   for the old id, with the old properties, in the cleanup phase.
 * - Cleanup ("Stack status codes": UPDATE_COMPLETE_CLEANUP_IN_PROGRESS). Once every create and
 *   update succeeded, the old physical resources of replaced resources and the resources removed
 *   from the template are deleted, in reverse dependency order. A delete failing there does not fail
 *   the update: it is recorded in `cleanupFailures` and the stack still ends UPDATE_COMPLETE.
 * - Rollback of a failed update ("Stack status codes": UPDATE_ROLLBACK_IN_PROGRESS,
 *   UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, UPDATE_ROLLBACK_FAILED; "Continue rolling back an
 *   update"). When a resource's create or update fails (DMS refusing a call, a handler throwing,
 *   `failAt`), nothing further is created or updated. Every resource updated in place in this
 *   update, the one whose update failed included, is updated back to its previous properties, in
 *   reverse dependency order: a custom resource gets an Update with `ResourceProperties` = its
 *   previous properties and `OldResourceProperties` = the new ones, a DMS resource is modified back.
 *   A replaced resource goes back to its old physical resource without a call on it. Then the
 *   physical resources this update created (new resources, the new physical resources of
 *   replacements) are deleted in reverse dependency order. A failing step of the rollback ends the
 *   stack in UPDATE_ROLLBACK_FAILED (the model stops there); otherwise UPDATE_ROLLBACK_COMPLETE.
 * - A failed create rolls back by deleting what was created, in reverse order (ROLLBACK_IN_PROGRESS
 *   → ROLLBACK_COMPLETE, or ROLLBACK_FAILED). A custom resource whose Create failed was answered with
 *   the Provider framework's CREATE_FAILED marker as physical id: its Delete never reaches a handler.
 * - A stack delete deletes every resource in reverse dependency order (DELETE_IN_PROGRESS →
 *   DELETE_COMPLETE, or DELETE_FAILED at the first delete that fails). `DeletionPolicy: Retain`
 *   keeps a resource on stack deletion and removal, `RetainExceptOnCreate` too except in the
 *   rollback of the create that made it; `UpdateReplacePolicy: Retain` keeps the old physical
 *   resource of a replacement ("DeletionPolicy attribute"; "UpdateReplacePolicy attribute").
 * - The services behind native resources other than DMS's (`account`, e.g. `AccountModel` in
 *   account-model.ts) are told of each one created and retained, and asked before each delete: a
 *   service refusing it (S3 refusing a bucket that holds object versions, EC2 a security group with
 *   network interfaces) fails the step as CloudFormation's resource handler would.
 * - `adopt` takes a stack as a deployment left it without running every handler's Create, for the
 *   questions that start after a deployment (a stack delete).
 * - While an operation runs, `DescribeStacks` (FakeAws) answers the stack's current status, so a
 *   handler can tell an update from its rollback. A stack created again after it was deleted (or
 *   after its creation rolled back: a stack in ROLLBACK_COMPLETE can only be deleted, which the CDK
 *   CLI does before it creates it again) has a new stack id; the old id answers DELETE_COMPLETE.
 * - Wait conditions ("Using wait conditions"; AWS::CloudFormation::WaitCondition): CloudFormation
 *   waits on one when it creates it. The signals its handle received — before the condition was
 *   created too — decide in the order they came: `Count` SUCCESS signals of distinct `UniqueId`s
 *   complete it (its `Data` attribute is the JSON of their `Data` by `UniqueId`), a FAILURE signal
 *   fails it; without them `Timeout` seconds after its creation began, it fails ("WaitCondition timed
 *   out"). A handle created again (a new physical resource) is a new presigned URL.
 * - Custom resources answer within their `ServiceTimeout` (3600 seconds by default and at most):
 *   later, the resource fails (`invokeCustomResource`).
 * - Time: a custom resource's isComplete polls every 30 seconds, a wait condition waits; meanwhile
 *   the stack's load waiter (`LoadWaiterModel`: Step Functions executions a handler started) polls
 *   every minute by itself, whatever CloudFormation waits for. `wait` lets time pass between
 *   operations.
 *
 * Decided here without documentation to follow (the aws-cdk repository's docs/CLOUDFORMATION.md
 * describes the observed behaviour the rest agrees with): the rollback updates in reverse dependency
 * order (`rollbackOrder: 'dependency'` runs them in dependency order instead); a resource whose
 * in-place update failed is updated back with its previous properties like the others; a custom
 * resource that changed its physical id is rolled back like a replacement (its new id deleted in the
 * rollback cleanup, no Update); the first failing step of a rollback or a stack delete stops it;
 * CloudFormation's own create, modify and delete of a DMS resource take no time on the clock.
 *
 * To make a deployment fail at a chosen point, add a `Custom::Failing` resource
 * (`addFailingResource`) and pass its logical id as `failAt`: its create or update fails, after
 * everything it depends on was created or updated. `failAt` may name any resource: its create or
 * update then fails before it takes effect.
 *
 * @example
 * const model = new CloudFormationModel({ env: { stackName: 'Migration' } });
 * await model.create(before);
 * const outcome = await model.update(after, { failAt: 'Failing' });
 * expect(outcome.status).toBe('UPDATE_ROLLBACK_COMPLETE');
 * expect(model.dms.refusals).toEqual([]);
 * model.restore();
 */

export type StackStatus =
  | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'ROLLBACK_IN_PROGRESS' | 'ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED'
  | 'UPDATE_IN_PROGRESS' | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' | 'UPDATE_COMPLETE'
  | 'UPDATE_ROLLBACK_IN_PROGRESS' | 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' | 'UPDATE_ROLLBACK_COMPLETE' | 'UPDATE_ROLLBACK_FAILED'
  | 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED';

/** The stand-in resource type a test adds to make a deployment fail where it wants (`failAt`). */
export const FAILING_RESOURCE_TYPE = 'Custom::Failing';

let modelCount = 0;

/** The physical id the Provider framework answers a failed Create with; its Delete is ignored. */
const CREATE_FAILED_MARKER = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

/**
 * Adds a `Custom::Failing` resource that comes after `after` (DependsOn): pass its logical id as
 * `failAt` to make the deployment fail once `after` were created or updated. It does nothing
 * otherwise. `generation` is a property: changing it makes CloudFormation update the resource.
 */
export function addFailingResource(scope: IConstruct, id: string, after: IConstruct[], generation = 1): CfnResource {
  const resource = new CfnResource(scope, id, {
    type: FAILING_RESOURCE_TYPE,
    properties: {
      ServiceToken: Fn.sub('arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:failing-stand-in'),
      Generation: generation,
    },
  });
  for (const construct of after) {
    resource.node.addDependency(construct);
  }
  return resource;
}

/** One physical resource of the stack, as CloudFormation records it. */
export interface PhysicalResource {
  readonly logicalId: string;
  readonly type: string;
  readonly physicalId: string;
  /** The properties it was created or last updated with, evaluated (custom resources: as sent, scalars as strings). */
  readonly properties: Record<string, any>;
  /** Attributes (`Fn::GetAtt`): what a custom resource's handler answered, as strings. */
  readonly attributes: Record<string, string>;
  /** How many physical resources the logical id had before this one. */
  readonly generation: number;
  /** The template entry it was made from (DeletionPolicy, UpdateReplacePolicy). */
  readonly template: ResourceJson;
}

/** One step on one resource, with the stack status it happened in. */
export interface ResourceEvent {
  readonly at: number;
  readonly stackStatus: StackStatus;
  readonly logicalId: string;
  readonly type: string;
  readonly physicalId?: string;
  readonly status: string;
  readonly reason?: string;
}

/** What happened to a resource in an update. */
export type ChangeKind = 'create' | 'update' | 'replace' | 'remove';

export interface ResourceChange {
  readonly logicalId: string;
  readonly type: string;
  readonly kind: ChangeKind;
  /** The properties that changed. */
  readonly properties: string[];
  /** The changed properties that require replacement (native resources). */
  readonly replacing: string[];
}

export interface DeploymentOutcome {
  readonly status: StackStatus;
  /** The create or update that failed and started the rollback. */
  readonly failure?: { readonly logicalId: string; readonly reason: string };
  /** The rollback (or delete) step that failed. */
  readonly rollbackFailure?: { readonly logicalId: string; readonly reason: string };
  /** Deletes that failed in a cleanup phase (the operation still completed). */
  readonly cleanupFailures: { readonly logicalId: string; readonly physicalId: string; readonly reason: string }[];
  /** What the update changed, in the order it changed it (updates only). */
  readonly changes: ResourceChange[];
}

export interface OperationOptions {
  /** The resource whose create or update fails (before it takes effect). */
  readonly failAt?: string;
}

export interface CloudFormationModelOptions {
  readonly env?: Partial<DeployEnvironment>;
  /** Handlers by custom resource type, besides the shared provider's kinds (which go to its dispatcher). */
  readonly handlers?: Record<string, CustomResourceHandler>;
  /**
   * Custom resource types that succeed without running anything.
   *
   * @default - `Custom::Failing` and aws-cdk-lib's `Custom::VpcRestrictDefaultSG`
   */
  readonly noop?: string[];
  /** Prepares the account before the first create (e.g. secrets created outside the stack). */
  readonly prepare?: (fake: FakeAws) => void;
  /** Serves wait condition handles: wait conditions are waited for like `DeploymentDriver` does. */
  readonly waitConditions?: WaitConditionServer;
  /**
   * The order of the updates back in a rollback.
   *
   * @default 'reverse-dependency'
   */
  readonly rollbackOrder?: 'reverse-dependency' | 'dependency';
  /**
   * The other stacks of the app, deployed before this one: `Fn::ImportValue` reads their exports.
   *
   * @default - none
   */
  readonly neighbours?: DeployedTemplate[];
  /**
   * What AWS does with the stack's native resources beyond DMS: the account's S3 objects, KMS keys,
   * network interfaces. Told of each native resource created, asked before each is deleted (its
   * service refusing throws), told of each resource a retention policy keeps.
   *
   * @default - native resources other than DMS's are created and deleted without a rule
   */
  readonly account?: AccountRules;
}

/** The rules of the services behind a stack's native resources (see `CloudFormationModelOptions.account`). */
export interface AccountRules {
  /** The account the handlers call, once the model made it: who calls (`fake.role`) while a handler runs. */
  attached?(fake: FakeAws): void;
  /** Throws what the service answers when it refuses the creation (a name in use). */
  created(view: DeployedTemplate, resource: PhysicalResource): void;
  /**
   * Throws what the service answers when it refuses the deletion. `policy` is the DeletionPolicy
   * (UpdateReplacePolicy for a replaced resource) that applies: `Snapshot` keeps a final snapshot.
   */
  deleting(view: DeployedTemplate, resource: PhysicalResource, policy: string | undefined): void;
  retained(view: DeployedTemplate, resource: PhysicalResource): void;
}

/** How `adopt` names what the handlers of a stack's custom resources answered when it was created. */
export interface AdoptOptions {
  /**
   * The physical id a custom resource's handler answered at Create.
   *
   * @default `<logicalId>-physical-id`
   */
  readonly physicalId?: (logicalId: string, type: string, properties: Record<string, any>) => string | undefined;
  /**
   * An attribute a custom resource's handler answered at Create.
   *
   * @default `<logicalId>.<attribute>`
   */
  readonly attribute?: (view: DeployedTemplate, logicalId: string, attribute: string) => string;
  /**
   * Custom resource types whose Create runs through their handlers, as in `create` (what they
   * leave in the account is then the handlers' own, e.g. roles they create).
   *
   * @default - no handler runs
   */
  readonly run?: string[];
}

/** A template as deployed at one moment: `Ref` and `Fn::GetAtt` answer the stack's physical resources. */
class ModelledTemplate extends DeployedTemplate {
  constructor(template: TemplateJson, env: Partial<DeployEnvironment>, private readonly lookup: (logicalId: string) => PhysicalResource | undefined,
    stackId?: string) {
    super(template, env);
    if (stackId) Object.assign(this, { stackId });
  }

  public ref(logicalId: string): string {
    return this.lookup(logicalId)?.physicalId ?? super.ref(logicalId);
  }

  public getAtt(logicalId: string, attribute: string): any {
    const known = this.lookup(logicalId)?.attributes[attribute];
    return known ?? super.getAtt(logicalId, attribute);
  }

  public customAttribute(logicalId: string, attribute: string): string {
    const value = this.optionalCustomAttribute(logicalId, attribute);
    if (value === undefined) {
      throw new Error(`${logicalId}.${attribute}: the custom resource does not exist, or its handler did not answer this attribute`);
    }
    return value;
  }

  public optionalCustomAttribute(logicalId: string, attribute: string): string | undefined {
    const resource = this.lookup(logicalId);
    return attribute === 'PhysicalResourceId' ? resource?.physicalId : resource?.attributes[attribute];
  }

  /** The physical id the resource's type gives it, from its template properties alone. */
  public basePhysicalId(logicalId: string): string {
    return super.ref(logicalId);
  }
}

/** A resource step that failed: the resource, and why. */
class StepFailure extends Error {
  constructor(public readonly logicalId: string, reason: string) {
    super(reason);
  }
}

/** One create, update or replacement of the roll-forward, and what it needs to be rolled back. */
interface Action {
  readonly logicalId: string;
  kind: 'create' | 'update' | 'replace';
  readonly before?: PhysicalResource;
  /** The properties the update asked for. */
  readonly attempted: Record<string, any>;
  /** The physical resource it produced; none when it failed. */
  after?: PhysicalResource;
}

export class CloudFormationModel {
  public readonly dms: DmsModel;
  public readonly clock = new SimulatedClock();
  public readonly events: ResourceEvent[] = [];
  /** The signal each wait condition received. */
  public readonly waitSignals = new Map<string, { Status: string; Reason: string }>();
  /** The stack's load waiter: the Step Functions executions the handlers started. */
  public readonly waiter: LoadWaiterModel;
  public status: StackStatus | 'NONE' = 'NONE';
  private readonly env: Partial<DeployEnvironment>;
  private readonly stackName: string;
  private readonly deployEnv: DeployEnvironment;
  private readonly current = new Map<string, PhysicalResource>();
  private readonly generations = new Map<string, number>();
  private readonly noop: Set<string>;
  private fakeAws?: FakeAws;
  private template?: TemplateJson;
  private requests = 0;
  /** Tells this model's wait condition handles from other models' on a shared server. */
  private readonly modelId = `model-${++modelCount}`;
  /** How often the stack was created after it was deleted: each creation has a stack id of its own. */
  private incarnation = 0;
  /** The template being deployed, or last deployed: where the load waiter's executions run. */
  private active?: ModelledTemplate;

  constructor(private readonly options: CloudFormationModelOptions = {}) {
    this.env = options.env ?? {};
    const d = new DeployedTemplate({ Resources: {} }, this.env);
    this.stackName = d.env.stackName;
    this.deployEnv = d.env;
    this.dms = new DmsModel(`arn:${d.env.partition}:dms:${d.env.region}:${d.env.account}`);
    this.dms.now = () => this.clock.now;
    this.noop = new Set(options.noop ?? [FAILING_RESOURCE_TYPE, 'Custom::VpcRestrictDefaultSG']);
    this.waiter = new LoadWaiterModel(() => (this.active && this.fakeAws ? this.context(this.active) : undefined));
    this.clock.background = this.waiter;
  }

  /** The account the handlers call (exists once `create` started). */
  public get fake(): FakeAws {
    if (!this.fakeAws) throw new Error('the stack was never created');
    return this.fakeAws;
  }

  /** The template the stack holds now (the last one that deployed, or was rolled back to). */
  public get deployedTemplate(): TemplateJson | undefined {
    return this.template;
  }

  /** The physical resource a logical id has now. */
  public resource(logicalId: string): PhysicalResource | undefined {
    return this.current.get(logicalId);
  }

  /** The physical id a logical id has now. */
  public physicalId(logicalId: string): string {
    const r = this.current.get(logicalId);
    if (!r) throw new Error(`${logicalId} does not exist in the stack`);
    return r.physicalId;
  }

  /** A template (the stack's own by default) as deployed now: intrinsics evaluate to the stack's physical resources. */
  public deployed(template?: TemplateJson): DeployedTemplate {
    const t = template ?? this.template;
    if (!t) throw new Error('the stack holds no template: pass one');
    return this.view(t);
  }

  /** Creates the stack (CREATE_IN_PROGRESS); a failure rolls it back (ROLLBACK_IN_PROGRESS). */
  public async create(template: TemplateJson, options: OperationOptions = {}): Promise<DeploymentOutcome> {
    if (this.status !== 'NONE' && this.status !== 'DELETE_COMPLETE') {
      throw new Error(`the stack exists (${this.status})`);
    }
    if (this.status === 'DELETE_COMPLETE') {
      this.incarnation++;
    }
    const view = this.view(template);
    this.fakeAws ??= this.newFake(view);
    this.fakeAws.activate();
    this.fakeAws.currentStackId = view.stackId;
    this.active = view;
    return this.clock.run(async () => {
      this.setStatus('CREATE_IN_PROGRESS');
      const created: PhysicalResource[] = [];
      for (const id of topologicalOrder(template)) {
        try {
          const r = await this.createResource(view, id, options);
          this.current.set(id, r);
          created.push(r);
        } catch (e) {
          const failure = this.failed(id, template.Resources[id].Type, 'CREATE_FAILED', e);
          this.setStatus('ROLLBACK_IN_PROGRESS');
          for (const r of created.reverse()) {
            try {
              await this.deleteResource(view, r, 'rollback-create');
              this.current.delete(r.logicalId);
            } catch (d) {
              const rollbackFailure = this.failed(r.logicalId, r.type, 'DELETE_FAILED', d);
              this.setStatus('ROLLBACK_FAILED');
              return { status: 'ROLLBACK_FAILED', failure, rollbackFailure, cleanupFailures: [], changes: [] };
            }
          }
          this.setStatus('ROLLBACK_COMPLETE');
          return { status: 'ROLLBACK_COMPLETE', failure, cleanupFailures: [], changes: [] };
        }
      }
      this.template = template;
      this.setStatus('CREATE_COMPLETE');
      return { status: 'CREATE_COMPLETE', cleanupFailures: [], changes: [] };
    });
  }

  /**
   * Takes the stack as a deployment of `template` left it, without running it: every resource
   * exists (CREATE_COMPLETE), native ones with the physical ids their types give them (DMS's in the
   * account's DMS, the others told to `account`), custom resources with the physical ids and
   * attributes `options` says their handlers answered. For what happens after a deployment — a stack
   * delete — when running every handler's Create is more than the question needs.
   */
  public async adopt(template: TemplateJson, options: AdoptOptions = {}): Promise<void> {
    if (this.status !== 'NONE' && this.status !== 'DELETE_COMPLETE') {
      throw new Error(`the stack exists (${this.status})`);
    }
    const view = this.view(template);
    this.fakeAws ??= this.newFake(view);
    this.fakeAws.activate();
    await this.clock.run(async () => {
      this.setStatus('CREATE_IN_PROGRESS');
      for (const id of topologicalOrder(template)) {
        const json = template.Resources[id];
        const generation = this.nextGeneration(id);
        let physicalId: string;
        let attributes: Record<string, string> = {};
        let properties: Record<string, any>;
        if (isCustom(json.Type) && options.run?.includes(json.Type)) {
          properties = this.evaluate(view, id);
          const result = await this.invoke(view, {
            RequestType: 'Create',
            ResourceType: json.Type,
            LogicalResourceId: id,
            StackId: view.stackId,
            RequestId: this.requestId(id, 'Create'),
            ResourceProperties: properties,
          });
          physicalId = result.PhysicalResourceId;
          attributes = { PhysicalResourceId: physicalId, ...stringValues(result.Data) };
        } else if (isCustom(json.Type)) {
          properties = this.evaluate(view, id);
          physicalId = options.physicalId?.(id, json.Type, properties) ?? `${id}-physical-id`;
          attributes = { PhysicalResourceId: physicalId };
          for (const attribute of referencedAttributes(template, id)) {
            attributes[attribute] = options.attribute?.(view, id, attribute) ?? `${id}.${attribute}`;
          }
        } else {
          properties = this.evaluate(view, id);
          physicalId = this.allocatePhysicalId(view, id, json.Type, generation);
          attributes = this.createNative(view, id, json.Type, physicalId, properties);
        }
        const resource: PhysicalResource = { logicalId: id, type: json.Type, physicalId, properties, attributes, generation, template: json };
        this.current.set(id, resource);
        if (!isCustom(json.Type)) this.options.account?.created(view, resource);
        this.event(id, json.Type, 'CREATE_COMPLETE', physicalId, 'adopted');
      }
      this.template = template;
      this.setStatus('CREATE_COMPLETE');
    });
  }

  /**
   * Updates the stack to `template` (UPDATE_IN_PROGRESS, then UPDATE_COMPLETE_CLEANUP_IN_PROGRESS);
   * a failure rolls it back (UPDATE_ROLLBACK_IN_PROGRESS, UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS).
   */
  public async update(template: TemplateJson, options: OperationOptions = {}): Promise<DeploymentOutcome> {
    const previous = this.template;
    if (!previous || !['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'].includes(this.status)) {
      throw new Error(`the stack cannot be updated in ${this.status}`);
    }
    for (const [id, r] of Object.entries(template.Resources)) {
      const old = previous.Resources[id];
      if (old && old.Type !== r.Type) {
        throw new Error(`ValidationError: Update of resource type is not permitted (${id}: ${old.Type} → ${r.Type})`);
      }
    }
    const newView = this.view(template);
    const oldView = this.view(previous);
    this.fakeAws?.activate();
    this.active = newView;
    return this.clock.run(async () => {
      this.setStatus('UPDATE_IN_PROGRESS');
      const actions: Action[] = [];
      const changes: ResourceChange[] = [];
      let failure: { logicalId: string; reason: string } | undefined;
      for (const id of topologicalOrder(template)) {
        const type = template.Resources[id].Type;
        const before = previous.Resources[id] ? this.current.get(id) : undefined;
        let action: Action | undefined;
        try {
          const attempted = this.evaluate(newView, id);
          if (!before) {
            action = { logicalId: id, kind: 'create', attempted };
            changes.push({ logicalId: id, type, kind: 'create', properties: Object.keys(attempted), replacing: [] });
          } else {
            const changed = changedProperties(before.properties, attempted);
            if (changed.length === 0) continue;
            const replacing = isCustom(type) ? [] : replacingChanges(type, before.properties, attempted);
            action = { logicalId: id, kind: replacing.length > 0 ? 'replace' : 'update', before, attempted };
            changes.push({ logicalId: id, type, kind: action.kind, properties: changed, replacing });
          }
          actions.push(action);
          action.after = await this.apply(newView, action, options);
          this.current.set(id, action.after);
          if (action.kind === 'update' && action.after.physicalId !== before!.physicalId) {
            // a custom resource answered another physical id: CloudFormation replaced it
            action.kind = 'replace';
            changes[changes.length - 1] = { ...changes[changes.length - 1], kind: 'replace' };
          }
        } catch (e) {
          failure = this.failed(id, type, action?.kind === 'update' ? 'UPDATE_FAILED' : 'CREATE_FAILED', e);
          break;
        }
      }

      if (failure) {
        return this.rollBack(previous, template, oldView, newView, actions, changes, failure);
      }

      this.setStatus('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      const cleanupFailures: DeploymentOutcome['cleanupFailures'] = [];
      const obsolete = new Map<string, PhysicalResource>();
      for (const a of actions) {
        if (a.kind === 'replace' && a.before) obsolete.set(a.logicalId, a.before);
      }
      for (const id of Object.keys(previous.Resources)) {
        if (!template.Resources[id] && this.current.has(id)) {
          obsolete.set(id, this.current.get(id)!);
          this.current.delete(id);
          changes.push({ logicalId: id, type: previous.Resources[id].Type, kind: 'remove', properties: [], replacing: [] });
        }
      }
      for (const id of [...topologicalOrder(previous)].reverse()) {
        const r = obsolete.get(id);
        if (!r) continue;
        try {
          await this.deleteResource(oldView, r, template.Resources[id] ? 'replaced' : 'removed');
        } catch (e) {
          cleanupFailures.push({ logicalId: id, physicalId: r.physicalId, reason: this.failed(id, r.type, 'DELETE_FAILED', e).reason });
        }
      }
      this.template = template;
      this.setStatus('UPDATE_COMPLETE');
      return { status: 'UPDATE_COMPLETE', cleanupFailures, changes };
    });
  }

  /**
   * Deletes the stack (DELETE_IN_PROGRESS): every resource in reverse dependency order. A stack in
   * ROLLBACK_COMPLETE holds nothing: it is deleted at once.
   */
  public async delete(): Promise<DeploymentOutcome> {
    if (this.status === 'ROLLBACK_COMPLETE') {
      return this.clock.run(async () => {
        this.setStatus('DELETE_IN_PROGRESS');
        this.fake.deletedStackIds.add(this.fake.currentStackId!);
        this.setStatus('DELETE_COMPLETE');
        return { status: 'DELETE_COMPLETE', cleanupFailures: [], changes: [] };
      });
    }
    const template = this.template;
    if (!template) throw new Error('the stack was never created');
    const view = this.view(template);
    this.fakeAws?.activate();
    this.active = view;
    return this.clock.run(async () => {
      this.setStatus('DELETE_IN_PROGRESS');
      for (const id of [...topologicalOrder(template)].reverse()) {
        const r = this.current.get(id);
        if (!r) continue;
        try {
          await this.deleteResource(view, r, 'removed');
          this.current.delete(id);
        } catch (e) {
          const rollbackFailure = this.failed(id, r.type, 'DELETE_FAILED', e);
          this.setStatus('DELETE_FAILED');
          return { status: 'DELETE_FAILED', rollbackFailure, cleanupFailures: [], changes: [] };
        }
      }
      this.template = undefined;
      this.fake.deletedStackIds.add(view.stackId);
      this.setStatus('DELETE_COMPLETE');
      return { status: 'DELETE_COMPLETE', cleanupFailures: [], changes: [] };
    });
  }

  /** Time passes between operations: the load waiter's executions go on meanwhile. */
  public async wait(seconds: number): Promise<void> {
    await this.clock.run(() => this.clock.sleep(seconds));
  }

  /** Restores the SDK clients the account's stand-ins replaced. */
  public restore(): void {
    this.fakeAws?.restore();
  }

  /** Every event so far, one line each, for failure messages. */
  public trace(): string[] {
    return this.events.map(e => `${e.stackStatus} ${e.logicalId} ${e.status}${e.physicalId ? ` ${e.physicalId}` : ''}${e.reason ? `: ${e.reason}` : ''}`);
  }

  // ---------------------------------------------------------------------------------------------

  private async rollBack(previous: TemplateJson, template: TemplateJson, oldView: ModelledTemplate, newView: ModelledTemplate, actions: Action[],
    changes: ResourceChange[], failure: { logicalId: string; reason: string }): Promise<DeploymentOutcome> {
    this.setStatus('UPDATE_ROLLBACK_IN_PROGRESS');
    const created: PhysicalResource[] = [];
    const ordered = this.options.rollbackOrder === 'dependency' ? actions : [...actions].reverse();
    for (const a of ordered) {
      const type = template.Resources[a.logicalId].Type;
      if (a.kind === 'create') {
        this.current.delete(a.logicalId);
        if (a.after) created.push(a.after);
        continue;
      }
      if (a.kind === 'replace') {
        // back to the old physical resource, without a call on it
        this.current.set(a.logicalId, a.before!);
        this.event(a.logicalId, type, 'UPDATE_COMPLETE', a.before!.physicalId, 'rolled back to the previous physical resource');
        if (a.after) created.push(a.after);
        continue;
      }
      try {
        const now = a.after ?? { ...a.before!, properties: a.attempted };
        const reverted = await this.revert(oldView, a, now);
        this.current.set(a.logicalId, reverted);
        if (reverted.physicalId !== now.physicalId) {
          // the rollback Update answered another physical id: the one it replaced goes in the cleanup
          created.push(now);
        }
      } catch (e) {
        const rollbackFailure = this.failed(a.logicalId, type, 'UPDATE_FAILED', e);
        this.setStatus('UPDATE_ROLLBACK_FAILED');
        return { status: 'UPDATE_ROLLBACK_FAILED', failure, rollbackFailure, cleanupFailures: [], changes };
      }
    }
    this.setStatus('UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
    const cleanupFailures: DeploymentOutcome['cleanupFailures'] = [];
    const order = [...topologicalOrder(template)].reverse();
    created.sort((x, y) => order.indexOf(x.logicalId) - order.indexOf(y.logicalId));
    for (const r of created) {
      try {
        await this.deleteResource(newView, r, 'rollback-create');
      } catch (e) {
        cleanupFailures.push({ logicalId: r.logicalId, physicalId: r.physicalId, reason: this.failed(r.logicalId, r.type, 'DELETE_FAILED', e).reason });
      }
    }
    this.template = previous;
    this.setStatus('UPDATE_ROLLBACK_COMPLETE');
    return { status: 'UPDATE_ROLLBACK_COMPLETE', failure, cleanupFailures, changes };
  }

  /** Runs a create, update or replacement of the roll-forward. */
  private async apply(view: ModelledTemplate, action: Action, options: OperationOptions): Promise<PhysicalResource> {
    if (action.kind !== 'update') {
      return this.createResource(view, action.logicalId, options, action.before);
    }
    const before = action.before!;
    this.event(before.logicalId, before.type, 'UPDATE_IN_PROGRESS', before.physicalId);
    this.injectedFailure(action.logicalId, options);
    const after = await this.updateResource(view, before, action.attempted);
    this.event(before.logicalId, before.type, 'UPDATE_COMPLETE', after.physicalId);
    return after;
  }

  /** The update back to the previous properties, in a rollback. */
  private async revert(oldView: ModelledTemplate, action: Action, now: PhysicalResource): Promise<PhysicalResource> {
    const before = action.before!;
    this.event(before.logicalId, before.type, 'UPDATE_IN_PROGRESS', now.physicalId, 'rolling back to the previous properties');
    const reverted = await this.updateResource(oldView, now, before.properties);
    this.event(before.logicalId, before.type, 'UPDATE_COMPLETE', reverted.physicalId);
    return { ...reverted, attributes: isCustom(before.type) ? reverted.attributes : before.attributes, generation: before.generation };
  }

  private async createResource(view: ModelledTemplate, logicalId: string, options: OperationOptions,
    replacing?: PhysicalResource): Promise<PhysicalResource> {
    const json = view.resource(logicalId);
    const type = json.Type;
    const generation = this.nextGeneration(logicalId);
    const properties = this.evaluate(view, logicalId);
    this.event(logicalId, type, 'CREATE_IN_PROGRESS', undefined, replacing ? `replacing ${replacing.physicalId}` : undefined);
    this.injectedFailure(logicalId, options);
    let physicalId: string;
    let attributes: Record<string, string> = {};
    if (isCustom(type)) {
      if (this.noop.has(type)) {
        physicalId = `${logicalId}-${this.requestId(logicalId, 'Create')}`;
      } else {
        const result = await this.invoke(view, {
          RequestType: 'Create',
          ResourceType: type,
          LogicalResourceId: logicalId,
          StackId: view.stackId,
          RequestId: this.requestId(logicalId, 'Create'),
          ResourceProperties: properties,
        });
        physicalId = result.PhysicalResourceId;
        attributes = { PhysicalResourceId: physicalId, ...stringValues(result.Data) };
      }
    } else {
      physicalId = this.allocatePhysicalId(view, logicalId, type, generation);
      if (replacing && physicalId === replacing.physicalId) {
        throw new StepFailure(logicalId, `CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename ${physicalId} and update the stack again.`);
      }
      attributes = this.createNative(view, logicalId, type, physicalId, properties);
      this.options.account?.created(view, { logicalId, type, physicalId, properties, attributes, generation, template: json });
      if (type === 'AWS::CloudFormation::WaitCondition') {
        attributes = await this.waitOnCondition(logicalId, properties);
      }
    }
    this.event(logicalId, type, 'CREATE_COMPLETE', physicalId);
    return { logicalId, type, physicalId, properties, attributes, generation, template: json };
  }

  private async updateResource(view: ModelledTemplate, now: PhysicalResource, properties: Record<string, any>): Promise<PhysicalResource> {
    if (isCustom(now.type)) {
      if (this.noop.has(now.type)) {
        return { ...now, properties };
      }
      const result = await this.invoke(view, {
        RequestType: 'Update',
        ResourceType: now.type,
        LogicalResourceId: now.logicalId,
        StackId: view.stackId,
        RequestId: this.requestId(now.logicalId, 'Update'),
        ResourceProperties: properties,
        OldResourceProperties: now.properties,
        PhysicalResourceId: now.physicalId,
      });
      return {
        ...now,
        physicalId: result.PhysicalResourceId,
        properties,
        attributes: { PhysicalResourceId: result.PhysicalResourceId, ...stringValues(result.Data) },
        generation: result.PhysicalResourceId === now.physicalId ? now.generation : this.nextGeneration(now.logicalId),
      };
    }
    this.updateNative(now, properties);
    return { ...now, properties };
  }

  /** CloudFormation waiting on a wait condition it creates (`waitOnCondition`); its attributes. */
  private async waitOnCondition(logicalId: string, properties: Record<string, any>): Promise<Record<string, string>> {
    const server = this.options.waitConditions;
    if (!server) {
      throw new StepFailure(logicalId, `${logicalId} is a wait condition: pass waitConditions to the model`);
    }
    const outcome = await waitOnCondition(this.clock, this.waiter, server, new URL(String(properties.Handle)).pathname.slice(1),
      Number(properties.Count ?? 1), Number(properties.Timeout));
    if (outcome.status !== 'TIMEOUT') this.waitSignals.set(logicalId, outcome.signal);
    if (outcome.status !== 'SUCCESS') throw new StepFailure(logicalId, outcome.reason);
    return { Data: outcome.data };
  }

  /** Deletes a physical resource; `why` decides which retention policy applies. */
  private async deleteResource(view: ModelledTemplate, r: PhysicalResource, why: 'removed' | 'replaced' | 'rollback-create'): Promise<void> {
    const policy = why === 'replaced' ? (r.template as any).UpdateReplacePolicy : (r.template as any).DeletionPolicy;
    if (policy === 'Retain' || (policy === 'RetainExceptOnCreate' && why !== 'rollback-create')) {
      this.event(r.logicalId, r.type, 'DELETE_SKIPPED', r.physicalId);
      this.options.account?.retained(view, r);
      return;
    }
    this.event(r.logicalId, r.type, 'DELETE_IN_PROGRESS', r.physicalId);
    if (isCustom(r.type)) {
      if (!this.noop.has(r.type) && r.physicalId !== CREATE_FAILED_MARKER) {
        await this.invoke(view, {
          RequestType: 'Delete',
          ResourceType: r.type,
          LogicalResourceId: r.logicalId,
          StackId: view.stackId,
          RequestId: this.requestId(r.logicalId, 'Delete'),
          ResourceProperties: r.properties,
          PhysicalResourceId: r.physicalId,
        });
      }
    } else {
      this.options.account?.deleting(view, r, policy);
      this.deleteNative(r);
    }
    this.event(r.logicalId, r.type, 'DELETE_COMPLETE', r.physicalId);
  }

  /** Runs a custom resource request through its handlers, as the function its ServiceToken names. */
  private async invoke(view: ModelledTemplate, event: ProviderRequest): Promise<CustomResourceResult> {
    this.dms.caller = `${event.ResourceType} ${event.LogicalResourceId} ${event.RequestType}`;
    return invokeCustomResource(this.context(view), handlersFor(event.ResourceType, this.options.handlers), event, event.RequestId);
  }

  private context(view: ModelledTemplate): CustomResourceContext {
    return { deployed: view, iam: IamModel.of(view), fake: this.fake, clock: this.clock };
  }

  // ---------------------------------------------------------------------------------------------
  // Native resources: what CloudFormation's resource handlers call

  private createNative(view: ModelledTemplate, logicalId: string, type: string, physicalId: string,
    properties: Record<string, any>): Record<string, string> {
    this.dms.caller = `CloudFormation (${logicalId})`;
    const tags = tagMap(properties.Tags);
    const withName = (name: string) => ({ ...properties, [name]: properties[name] ?? this.generatedIdentifier(view, logicalId) });
    switch (type) {
      case 'AWS::DMS::ReplicationTask':
        this.dms.createReplicationTask(physicalId, withName('ReplicationTaskIdentifier'), tags);
        return {};
      case 'AWS::DMS::ReplicationConfig':
        this.dms.createReplicationConfig(physicalId, withName('ReplicationConfigIdentifier'), tags);
        return { ReplicationConfigArn: physicalId };
      case 'AWS::DMS::Endpoint':
        this.dms.createEndpoint(physicalId, withName('EndpointIdentifier'), tags);
        return {};
      case 'AWS::DMS::ReplicationInstance':
        this.dms.createReplicationInstance(physicalId, withName('ReplicationInstanceIdentifier'), tags);
        return {};
      case 'AWS::SecretsManager::Secret':
        if (!this.fake.secrets.some(s => s.arn === physicalId)) {
          const kmsKeyId = properties.KmsKeyId;
          this.fake.secrets.push({
            arn: physicalId,
            name: physicalId.split(':secret:')[1].slice(0, -7),
            value: 'generated',
            kmsKeyArn: kmsKeyId ? IamModel.of(view).keyArn(kmsKeyId) : undefined,
          });
        }
        return {};
      default:
        return {};
    }
  }

  private updateNative(now: PhysicalResource, properties: Record<string, any>): void {
    this.dms.caller = `CloudFormation (${now.logicalId})`;
    const changed = changedProperties(now.properties, properties);
    const modified = Object.fromEntries(changed.filter(p => p !== 'Tags').map(p => [p, properties[p]]));
    const modify = Object.keys(modified).length > 0;
    switch (now.type) {
      case 'AWS::DMS::ReplicationTask':
        if (modify) this.dms.modifyReplicationTask(now.physicalId, modified);
        break;
      case 'AWS::DMS::ReplicationConfig':
        if (modify) this.dms.modifyReplicationConfig(now.physicalId, modified);
        break;
      case 'AWS::DMS::Endpoint':
        if (modify) this.dms.modifyEndpoint(now.physicalId, modified);
        break;
      case 'AWS::DMS::ReplicationInstance':
        if (modify) this.dms.modifyReplicationInstance(now.physicalId, modified);
        break;
      default:
        return;
    }
    if (changed.includes('Tags')) {
      this.dms.setTags(now.physicalId, tagMap(properties.Tags));
    }
  }

  private deleteNative(r: PhysicalResource): void {
    this.dms.caller = `CloudFormation (${r.logicalId})`;
    switch (r.type) {
      case 'AWS::DMS::ReplicationTask': return this.dms.deleteReplicationTask(r.physicalId);
      case 'AWS::DMS::ReplicationConfig': return this.dms.deleteReplicationConfig(r.physicalId);
      case 'AWS::DMS::Endpoint': return this.dms.deleteEndpoint(r.physicalId);
      case 'AWS::DMS::ReplicationInstance': return this.dms.deleteReplicationInstance(r.physicalId);
      default: return;
    }
  }

  /**
   * The physical id of a new physical resource: the one its type gives it the first time; for a
   * replacement a new one (a new DMS resource id, a new generated name), unless its name is set in
   * the template, which it keeps.
   */
  private allocatePhysicalId(view: ModelledTemplate, logicalId: string, type: string, generation: number): string {
    if (type === 'AWS::CloudFormation::WaitConditionHandle') {
      // a new handle is a new presigned URL: the signals of the one before do not count
      return view.waitConditionUrl(generation === 0 ? logicalId : `${logicalId}-${generation}`);
    }
    const base = view.basePhysicalId(logicalId);
    if (generation === 0) return base;
    if (/^arn:[^:]+:dms:/.test(base)) {
      return `${base.split(':').slice(0, 6).join(':')}:${dmsResourceId(`${logicalId}#${generation}`)}`;
    }
    const nameProperty = NAME_PROPERTIES[type];
    if (nameProperty && view.resource(logicalId).Properties?.[nameProperty] !== undefined) {
      return base;
    }
    return `${base}-${generation}`;
  }

  /** The identifier CloudFormation generates for a DMS resource without one: stack name, logical id, random part. */
  private generatedIdentifier(view: ModelledTemplate, logicalId: string): string {
    const random = crypto.createHash('sha256').update(`${view.env.stackName}/${logicalId}/${this.generations.get(logicalId)}`).digest('hex').slice(0, 12);
    return `${view.env.stackName}-${logicalId}-${random}`.toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/-+/g, '-').replace(/^[^a-z]+/, '').slice(0, 63);
  }

  private nextGeneration(logicalId: string): number {
    const next = this.generations.has(logicalId) ? this.generations.get(logicalId)! + 1 : 0;
    this.generations.set(logicalId, next);
    return next;
  }

  /** The properties CloudFormation hands the resource now: evaluated; for custom resources every scalar a string. */
  private evaluate(view: ModelledTemplate, logicalId: string): Record<string, any> {
    const properties = view.properties(logicalId);
    return isCustom(view.resource(logicalId).Type) ? cfnStrings(properties) as Record<string, any> : properties;
  }

  private injectedFailure(logicalId: string, options: OperationOptions): void {
    if (options.failAt === logicalId) {
      throw new StepFailure(logicalId, `${logicalId} failed (failAt)`);
    }
  }

  private requestId(logicalId: string, type: string): string {
    return `request-${++this.requests}-${logicalId}-${type}`;
  }

  private view(template: TemplateJson): ModelledTemplate {
    const stackId = this.incarnation === 0 ? undefined
      : `arn:${this.deployEnv.partition}:cloudformation:${this.deployEnv.region}:${this.deployEnv.account}:stack/${this.stackName}/${uuid(`${this.stackName}#${this.incarnation}`)}`;
    const view = new ModelledTemplate(template, this.env, id => this.current.get(id), stackId);
    view.neighbours = this.options.neighbours ?? [];
    const server = this.options.waitConditions;
    // each model is an account of its own: its handles' URLs are its own
    if (server) view.waitConditionUrl = (logicalId) => server.url(`${this.modelId}/${logicalId}`);
    return view;
  }

  private newFake(view: ModelledTemplate): FakeAws {
    const fake = new FakeAws(view, { dms: this.dms });
    // a resource's status is that of its last step (e.g. UPDATE_FAILED until the rollback restores it)
    fake.resourceStatus = (logicalId) => [...this.events].reverse().find(e => e.logicalId === logicalId)?.status;
    this.options.account?.attached?.(fake);
    this.options.prepare?.(fake);
    return fake;
  }

  private setStatus(status: StackStatus): void {
    this.status = status;
    if (this.fakeAws) this.fakeAws.stackStatus = status;
    this.event(this.stackName, 'AWS::CloudFormation::Stack', status);
  }

  private event(logicalId: string, type: string, status: string, physicalId?: string, reason?: string): void {
    this.events.push({ at: this.clock.now, stackStatus: this.status as StackStatus, logicalId, type, status, physicalId, reason });
  }

  /** Records a failed step; its reason. */
  private failed(logicalId: string, type: string, status: string, e: unknown): { logicalId: string; reason: string } {
    const error = e as Error;
    const reason = error instanceof StepFailure || !error.name || error.name === 'Error' ? error.message : `${error.name}: ${error.message}`;
    this.event(logicalId, type, status, this.current.get(logicalId)?.physicalId, reason);
    return { logicalId, reason };
  }
}

/** The property that names a resource whose physical id is its name (a replacement keeps it, and fails). */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::Events::Rule': 'Name',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::RDS::DBInstance': 'DBInstanceIdentifier',
  'AWS::RDS::DBSubnetGroup': 'DBSubnetGroupName',
  'AWS::DMS::EventSubscription': 'SubscriptionName',
  'AWS::DMS::ReplicationSubnetGroup': 'ReplicationSubnetGroupIdentifier',
};

/** The top-level properties whose evaluated values differ. */
function changedProperties(before: Record<string, any>, after: Record<string, any>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter(n => canonical(before[n]) !== canonical(after[n])).sort();
}

function canonical(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map(k => [k, v[k]])) : v));
}

/* The parts of the @aws-cdk/service-spec-types model read here. */
interface SpecProperty {
  readonly type: { readonly type: string; readonly reference?: { readonly $ref: string } };
  readonly causesReplacement?: 'yes' | 'no' | 'maybe';
}

interface SpecResource {
  readonly properties: Record<string, SpecProperty>;
  readonly additionalReplacementProperties?: string[][];
}

let spec: { resource(type: string): SpecResource | undefined; typeDefinition(id: string): { properties: Record<string, SpecProperty> } } | undefined;

function specification(): NonNullable<typeof spec> {
  if (!spec) {
    const db = loadAwsServiceSpecSync();
    spec = {
      resource: (type) => db.lookup('resource', 'cloudFormationType', 'equals', type)[0] as unknown as SpecResource | undefined,
      typeDefinition: (id) => db.get('typeDefinition', id) as unknown as { properties: Record<string, SpecProperty> },
    };
  }
  return spec;
}

/**
 * The changed properties of a `type` resource that replace it, as dotted paths, per the
 * CloudFormation resource specification (@aws-cdk/aws-service-spec): a property (or a property of a
 * property's type) with `causesReplacement: 'yes'` ("Update requires: Replacement"), or a path the
 * resource lists in `additionalReplacementProperties`. Conditional replacements (`'maybe'`, "Update
 * requires: Some interruptions" in some cases) are taken as updates.
 */
export function replacingChanges(type: string, before: Record<string, any>, after: Record<string, any>): string[] {
  const resource = specification().resource(type);
  if (!resource) return [];
  const found: string[] = [];
  const walk = (properties: Record<string, SpecProperty>, b: any, a: any, path: string[]) => {
    for (const name of new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])) {
      if (canonical(b?.[name]) === canonical(a?.[name]) || !properties[name]) continue;
      const property = properties[name];
      if (property.causesReplacement === 'yes') {
        found.push([...path, name].join('.'));
      } else if (property.type.type === 'ref' && isObject(b?.[name]) && isObject(a?.[name])) {
        walk(specification().typeDefinition(property.type.reference!.$ref).properties, b[name], a[name], [...path, name]);
      }
    }
  };
  walk(resource.properties, before, after, []);
  for (const path of resource.additionalReplacementProperties ?? []) {
    const at = (root: any) => path.reduce((v, k) => (isObject(v) ? v[k] : undefined), root);
    if (canonical(at(before)) !== canonical(at(after)) && !found.includes(path.join('.'))) {
      found.push(path.join('.'));
    }
  }
  return found.sort();
}

function isObject(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function tagMap(tags: unknown): Record<string, string> {
  if (Array.isArray(tags)) return Object.fromEntries(tags.map((t: { Key: string; Value: string }) => [t.Key, t.Value]));
  return tags && typeof tags === 'object' ? tags as Record<string, string> : {};
}

/** DMS resource ids: 26 upper-case letters and digits. */
function dmsResourceId(seed: string): string {
  return crypto.createHash('sha256').update(seed).digest('hex').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 26);
}

/** The attributes of `logicalId` the template reads (`Fn::GetAtt`, `${Id.Attr}` in `Fn::Sub`). */
function referencedAttributes(template: TemplateJson, logicalId: string): Set<string> {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(walk);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const v = value as Record<string, any>;
    if (Array.isArray(v['Fn::GetAtt']) && v['Fn::GetAtt'][0] === logicalId) found.add(String(v['Fn::GetAtt'][1]));
    if (typeof v['Fn::GetAtt'] === 'string' && v['Fn::GetAtt'].startsWith(`${logicalId}.`)) found.add(v['Fn::GetAtt'].slice(logicalId.length + 1));
    const sub = v['Fn::Sub'];
    if (typeof sub === 'string' || Array.isArray(sub)) {
      for (const m of String(Array.isArray(sub) ? sub[0] : sub).matchAll(/\$\{([^}.!]+)\.([^}]+)\}/g)) {
        if (m[1] === logicalId) found.add(m[2]);
      }
    }
    Object.values(v).forEach(walk);
  };
  walk(template.Resources);
  walk(template.Outputs);
  return found;
}
