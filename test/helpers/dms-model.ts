import * as crypto from 'crypto';

/**
 * AWS Database Migration Service as CloudFormation and the handlers meet it: replication tasks,
 * DMS Serverless replication configurations, endpoints and replication instances, with the rules
 * DMS enforces on each call. A call DMS would refuse throws the fault DMS answers with
 * (`ResourceAlreadyExistsFault`, `InvalidResourceStateFault`, `ResourceNotFoundFault`, ...) and is
 * recorded in `refusals`, so a test can assert that a deployment never took a step DMS refuses.
 *
 * The rules modelled (from the DMS API Reference of each action):
 *
 * - identifiers are unique per account and Region for each kind of resource (tasks, replication
 *   configurations, endpoints, replication instances), compared in lower case as DMS stores them:
 *   a create, or a modify that renames, to an identifier in use fails with `ResourceAlreadyExistsFault`;
 * - `ModifyReplicationTask` only for a task that is `ready`, `stopped` or `failed`;
 *   `ModifyReplicationConfig` only for a configuration that is `created`, `ready`, `stopped` or
 *   `failed` and whose capacity is not being released (deprovisioning);
 * - `DeleteReplicationTask` and `DeleteReplicationConfig` are refused while the task or replication
 *   runs, starts or stops (and while a stopped replication's capacity is being released);
 * - `StartReplicationTask`: `start-replication` only for a task that never ran; `resume-processing`
 *   and `reload-target` only for a task that ran and is stopped, failed or ready; nothing while it
 *   is running, starting, stopping, modifying, creating or deleting. `StartReplication` likewise, and
 *   DMS Serverless cannot `resume-processing` a full-load replication;
 * - `StopReplicationTask` / `StopReplication` only while running or starting;
 * - an endpoint used by a task or a replication configuration cannot be deleted, nor a replication
 *   instance that has tasks.
 *
 * Time moves with `now()` (`Date.now()` unless set: a deployment's simulated clock): a started
 * task is `starting` for `timing.startingSeconds`, then `running`; a stop takes `timing.stoppingSeconds`; a full load
 * takes `timing.fullLoadSeconds`, after which a full-load task stops with `FULL_LOAD_ONLY_FINISHED`,
 * and a full-load-and-CDC task whose settings set `FullLoadSettings.StopTaskCachedChangesNotApplied`
 * stops with `STOPPED_AFTER_FULL_LOAD` ("stop the task after a full load completes, before cached
 * changes are applied"); `resume-processing` of a run whose full load completed goes on with the
 * changes, without loading again; a stopped serverless replication releases its capacity for
 * `timing.deprovisionSeconds`. `loadsCompleted` lists every full load that completed, at its time.
 *
 * `injectFault` makes one action fail for a reason of the test's choosing (an invalid table
 * mapping, say); injected faults are recorded in `injected`, not in `refusals`.
 */

/** The DMS actions the model answers, on behalf of CloudFormation or of a handler. */
export type DmsAction =
  | 'CreateReplicationTask' | 'ModifyReplicationTask' | 'DeleteReplicationTask' | 'StartReplicationTask' | 'StopReplicationTask'
  | 'CreateReplicationConfig' | 'ModifyReplicationConfig' | 'DeleteReplicationConfig' | 'StartReplication' | 'StopReplication'
  | 'CreateEndpoint' | 'ModifyEndpoint' | 'DeleteEndpoint'
  | 'CreateReplicationInstance' | 'ModifyReplicationInstance' | 'DeleteReplicationInstance';

/** A call DMS refused, or one that failed because a test injected a fault. */
export interface DmsRefusal {
  readonly action: DmsAction;
  /** The identifier (or ARN, when unknown) of the resource acted on. */
  readonly target: string;
  readonly fault: string;
  readonly message: string;
  /** Who called: `CloudFormation (<logical id>)` or the custom resource request being handled. */
  readonly caller: string;
  readonly at: number;
}

/** One call that changed something, in the order DMS received them. */
export interface DmsHistoryEntry {
  readonly action: DmsAction;
  readonly target: string;
  readonly arn: string;
  readonly caller: string;
  readonly at: number;
  /** `ok`, or the fault. */
  readonly outcome: string;
  /** E.g. the start type. */
  readonly detail?: string;
}

/** A fault a test injects: the next calls of `action` for which `when` holds fail with it. */
export interface InjectedFault {
  readonly action: DmsAction;
  /** The fault's name, e.g. `InvalidParameterValueException`. */
  readonly name: string;
  readonly message: string;
  /** Which calls fail: the resource as it is, and what the call asks for. @default every call */
  readonly when?: (target: { identifier: string; arn: string; properties: Record<string, any> }, request: Record<string, any>) => boolean;
  /** How many calls fail. @default unlimited */
  readonly times?: number;
}

/** How long DMS takes to move between states, in seconds of the simulated clock. */
export interface DmsTiming {
  startingSeconds: number;
  stoppingSeconds: number;
  fullLoadSeconds: number;
  deprovisionSeconds: number;
}

/** A replication task. `properties` are the CloudFormation properties it was created or last modified with. */
export interface DmsTask {
  readonly arn: string;
  identifier: string;
  migrationType: string;
  replicationInstanceArn: string;
  sourceEndpointArn: string;
  targetEndpointArn: string;
  properties: Record<string, any>;
  tags: Record<string, string>;
  status: string;
  stopReason?: string;
  lastFailureMessage?: string;
  /** When the last run started (`ReplicationTaskStartDate`); unset until the first start. */
  started?: number;
  stopped?: number;
  /** End of the current transitional state (`starting`, `stopping`). */
  until?: number;
  /** When the current run's full load completes. */
  loadDoneAt?: number;
  /** A resumed run whose full load had completed: when it completed. */
  loadKept?: number;
  /** Whether `loadsCompleted` holds the current run's load. */
  loadRecorded?: boolean;
}

/** A DMS Serverless replication configuration and its replication. */
export interface DmsReplication {
  readonly arn: string;
  identifier: string;
  replicationType: string;
  sourceEndpointArn: string;
  targetEndpointArn: string;
  properties: Record<string, any>;
  tags: Record<string, string>;
  status: string;
  stopReason?: string;
  started?: number;
  stopped?: number;
  until?: number;
  loadDoneAt?: number;
  loadKept?: number;
  loadRecorded?: boolean;
  /** Capacity is released until then, after a stop. */
  deprovisionedAt?: number;
}

export interface DmsEndpoint {
  readonly arn: string;
  identifier: string;
  properties: Record<string, any>;
  tags: Record<string, string>;
}

export interface DmsReplicationInstance {
  readonly arn: string;
  identifier: string;
  properties: Record<string, any>;
  tags: Record<string, string>;
}

/** What a `StartReplicationTask` / `StartReplication` asks for. */
export type StartType = 'start-replication' | 'resume-processing' | 'reload-target';

/** Serverless statuses between StartReplication and `running`. */
const SERVERLESS_STARTING = 'initializing';

export class DmsFault extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class DmsModel {
  public readonly tasks = new Map<string, DmsTask>();
  public readonly replications = new Map<string, DmsReplication>();
  public readonly endpoints = new Map<string, DmsEndpoint>();
  public readonly instances = new Map<string, DmsReplicationInstance>();
  /** Every call DMS refused by its rules. */
  public readonly refusals: DmsRefusal[] = [];
  /** Every call that failed with an injected fault. */
  public readonly injected: DmsRefusal[] = [];
  /** Every call that changed something (or was refused), in order. */
  public readonly history: DmsHistoryEntry[] = [];
  /** Every full load that completed: the task or replication, and when (its `FullLoadFinishDate`). */
  public readonly loadsCompleted: { readonly arn: string; readonly at: number }[] = [];
  public readonly timing: DmsTiming = { startingSeconds: 30, stoppingSeconds: 30, fullLoadSeconds: 90, deprovisionSeconds: 30 };
  /** Who calls now; the deployment sets it before each step. */
  public caller = '(unknown caller)';
  private readonly faults: { fault: InjectedFault; remaining: number }[] = [];
  /** ARNs of every resource this model created, to tell a deleted one from one created elsewhere. */
  private readonly known = new Set<string>();

  constructor(private readonly arnPrefix: string) {}

  /** The clock DMS's states move with. @default Date.now */
  public now: () => number = () => Date.now();

  /** Makes later calls of `fault.action` fail (see `InjectedFault`). */
  public injectFault(fault: InjectedFault): void {
    this.faults.push({ fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  /** An ARN for a new resource of `kind` (`task`, `endpoint`, `rep`, `replication-config`), unique per `seed`. */
  public arnFor(kind: string, seed: string): string {
    const id = crypto.createHash('sha256').update(seed).digest('hex').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 26);
    return `${this.arnPrefix}:${kind}:${id}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Replication tasks

  public createReplicationTask(arn: string, properties: Record<string, any>, tags: Record<string, string>): DmsTask {
    return this.act('CreateReplicationTask', lower(properties.ReplicationTaskIdentifier) ?? arn, arn, {}, properties, () => {
      const identifier = required(properties, 'ReplicationTaskIdentifier');
      this.unique('replication task', identifier, [...this.tasks.values()]);
      this.mustExist(properties.ReplicationInstanceArn, this.instances, 'replication instance');
      this.mustExist(properties.SourceEndpointArn, this.endpoints, 'endpoint');
      this.mustExist(properties.TargetEndpointArn, this.endpoints, 'endpoint');
      const task: DmsTask = {
        arn,
        identifier,
        migrationType: properties.MigrationType,
        replicationInstanceArn: properties.ReplicationInstanceArn,
        sourceEndpointArn: properties.SourceEndpointArn,
        targetEndpointArn: properties.TargetEndpointArn,
        properties: { ...properties },
        tags: { ...tags },
        status: 'ready',
      };
      this.tasks.set(arn, task);
      this.known.add(arn);
      return task;
    });
  }

  /** CloudFormation's in-place update: the changed modifiable properties (identifier, mappings, settings, CDC positions). */
  public modifyReplicationTask(arn: string, properties: Record<string, any>): void {
    const task = this.tasks.get(arn);
    this.act('ModifyReplicationTask', task?.identifier ?? arn, arn, task ?? {}, properties, () => {
      const t = this.taskByArn(arn);
      if (!['ready', 'stopped', 'failed'].includes(t.status)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication task ${t.identifier} cannot be modified while it is ${t.status}: stop it first.`);
      }
      const identifier = lower(properties.ReplicationTaskIdentifier) ?? t.identifier;
      if (identifier !== t.identifier) {
        this.unique('replication task', identifier, [...this.tasks.values()].filter(x => x !== t));
      }
      t.identifier = identifier;
      t.properties = { ...t.properties, ...properties };
    });
  }

  public deleteReplicationTask(arn: string): void {
    const task = this.tasks.get(arn);
    this.act('DeleteReplicationTask', task?.identifier ?? arn, arn, task ?? {}, {}, () => {
      const t = this.taskByArn(arn);
      if (['running', 'starting', 'stopping', 'modifying', 'creating', 'moving', 'testing'].includes(t.status)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication task ${t.identifier} is ${t.status}: a task can be deleted only when it is not running; stop it first.`);
      }
      this.tasks.delete(arn);
    });
  }

  public startReplicationTask(arn: string, type: StartType): DmsTask {
    const task = this.tasks.get(arn);
    return this.act('StartReplicationTask', task?.identifier ?? arn, arn, task ?? {}, { StartReplicationTaskType: type }, () => {
      const t = this.taskByArn(arn);
      if (!['ready', 'stopped', 'failed'].includes(t.status)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication task ${t.identifier} cannot be started while it is ${t.status}.`);
      }
      checkStartType(`Replication task ${t.identifier}`, type, t.started !== undefined);
      const now = this.now();
      const kept = type === 'resume-processing' ? completedLoad(t) : undefined;
      Object.assign(t, { status: 'starting', until: now + this.timing.startingSeconds * 1000, stopReason: undefined, started: now, stopped: undefined });
      Object.assign(t, { loadDoneAt: undefined, loadKept: kept, loadRecorded: kept !== undefined });
      return t;
    }, type);
  }

  public stopReplicationTask(arn: string): DmsTask {
    const task = this.tasks.get(arn);
    return this.act('StopReplicationTask', task?.identifier ?? arn, arn, task ?? {}, {}, () => {
      const t = this.taskByArn(arn);
      if (t.status !== 'running' && t.status !== 'starting') {
        throw new DmsFault('InvalidResourceStateFault', `Replication task ${t.identifier} is ${t.status}: only a running or starting task can be stopped.`);
      }
      Object.assign(t, { status: 'stopping', until: this.now() + this.timing.stoppingSeconds * 1000 });
      return t;
    });
  }

  /** The task, its state brought up to now. */
  public task(arnOrIdentifier: string): DmsTask | undefined {
    this.advance();
    return this.tasks.get(arnOrIdentifier) ?? [...this.tasks.values()].find(t => t.identifier === arnOrIdentifier.toLowerCase());
  }

  // ---------------------------------------------------------------------------------------------
  // DMS Serverless replication configurations

  public createReplicationConfig(arn: string, properties: Record<string, any>, tags: Record<string, string>): DmsReplication {
    return this.act('CreateReplicationConfig', lower(properties.ReplicationConfigIdentifier) ?? arn, arn, {}, properties, () => {
      const identifier = required(properties, 'ReplicationConfigIdentifier');
      this.unique('replication configuration', identifier, [...this.replications.values()]);
      this.mustExist(properties.SourceEndpointArn, this.endpoints, 'endpoint');
      this.mustExist(properties.TargetEndpointArn, this.endpoints, 'endpoint');
      const replication: DmsReplication = {
        arn,
        identifier,
        replicationType: properties.ReplicationType,
        sourceEndpointArn: properties.SourceEndpointArn,
        targetEndpointArn: properties.TargetEndpointArn,
        properties: { ...properties },
        tags: { ...tags },
        status: 'created',
      };
      this.replications.set(arn, replication);
      this.known.add(arn);
      return replication;
    });
  }

  public modifyReplicationConfig(arn: string, properties: Record<string, any>): void {
    const replication = this.replications.get(arn);
    this.act('ModifyReplicationConfig', replication?.identifier ?? arn, arn, replication ?? {}, properties, () => {
      const r = this.replicationByArn(arn);
      if (!['created', 'ready', 'stopped', 'failed'].includes(r.status)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication configuration ${r.identifier} cannot be modified while its replication is ${r.status}: stop it first.`);
      }
      if (this.deprovisioning(r)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication configuration ${r.identifier} cannot be modified while DMS releases its capacity.`);
      }
      const identifier = lower(properties.ReplicationConfigIdentifier) ?? r.identifier;
      if (identifier !== r.identifier) {
        this.unique('replication configuration', identifier, [...this.replications.values()].filter(x => x !== r));
      }
      this.mustExist(properties.SourceEndpointArn, this.endpoints, 'endpoint');
      this.mustExist(properties.TargetEndpointArn, this.endpoints, 'endpoint');
      r.identifier = identifier;
      r.properties = { ...r.properties, ...properties };
      r.replicationType = r.properties.ReplicationType;
      r.sourceEndpointArn = r.properties.SourceEndpointArn;
      r.targetEndpointArn = r.properties.TargetEndpointArn;
    });
  }

  public deleteReplicationConfig(arn: string): void {
    const replication = this.replications.get(arn);
    this.act('DeleteReplicationConfig', replication?.identifier ?? arn, arn, replication ?? {}, {}, () => {
      const r = this.replicationByArn(arn);
      if (!['created', 'ready', 'stopped', 'failed'].includes(r.status)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication configuration ${r.identifier} cannot be deleted while its replication is ${r.status}: stop it first.`);
      }
      if (this.deprovisioning(r)) {
        throw new DmsFault('InvalidResourceStateFault', `Replication configuration ${r.identifier} cannot be deleted while DMS releases its capacity.`);
      }
      this.replications.delete(arn);
    });
  }

  public startReplication(arn: string, type: StartType): DmsReplication {
    const replication = this.replications.get(arn);
    return this.act('StartReplication', replication?.identifier ?? arn, arn, replication ?? {}, { StartReplicationType: type }, () => {
      const r = this.replicationByArn(arn);
      if (!['created', 'ready', 'stopped', 'failed'].includes(r.status) || this.deprovisioning(r)) {
        const state = this.deprovisioning(r) ? 'releasing its capacity' : r.status;
        throw new DmsFault('InvalidResourceStateFault', `Replication ${r.identifier} cannot be started while it is ${state}.`);
      }
      checkStartType(`Replication ${r.identifier}`, type, r.started !== undefined);
      if (type === 'resume-processing' && r.replicationType === 'full-load') {
        throw new DmsFault('InvalidParameterCombinationException', `Replication ${r.identifier} is a full-load replication: resume-processing is not supported; use reload-target.`);
      }
      const now = this.now();
      const kept = type === 'resume-processing' ? completedLoad(r) : undefined;
      Object.assign(r, { status: SERVERLESS_STARTING, until: now + this.timing.startingSeconds * 1000, stopReason: undefined, started: now });
      Object.assign(r, { stopped: undefined, loadDoneAt: undefined, deprovisionedAt: undefined, loadKept: kept, loadRecorded: kept !== undefined });
      return r;
    }, type);
  }

  public stopReplication(arn: string): DmsReplication {
    const replication = this.replications.get(arn);
    return this.act('StopReplication', replication?.identifier ?? arn, arn, replication ?? {}, {}, () => {
      const r = this.replicationByArn(arn);
      if (r.status !== 'running' && r.status !== SERVERLESS_STARTING) {
        throw new DmsFault('InvalidResourceStateFault', `Replication ${r.identifier} is ${r.status}: only a running or starting replication can be stopped.`);
      }
      Object.assign(r, { status: 'stopping', until: this.now() + this.timing.stoppingSeconds * 1000 });
      return r;
    });
  }

  /** The replication, its state brought up to now. */
  public replication(arnOrIdentifier: string): DmsReplication | undefined {
    this.advance();
    return this.replications.get(arnOrIdentifier) ?? [...this.replications.values()].find(r => r.identifier === arnOrIdentifier.toLowerCase());
  }

  /** Whether DMS is still releasing the capacity of the stopped replication. */
  public deprovisioning(r: DmsReplication): boolean {
    return r.deprovisionedAt !== undefined && this.now() < r.deprovisionedAt;
  }

  // ---------------------------------------------------------------------------------------------
  // Endpoints and replication instances

  public createEndpoint(arn: string, properties: Record<string, any>, tags: Record<string, string>): DmsEndpoint {
    return this.act('CreateEndpoint', lower(properties.EndpointIdentifier) ?? arn, arn, {}, properties, () => {
      const identifier = required(properties, 'EndpointIdentifier');
      this.unique('endpoint', identifier, [...this.endpoints.values()]);
      const endpoint = { arn, identifier, properties: { ...properties }, tags: { ...tags } };
      this.endpoints.set(arn, endpoint);
      this.known.add(arn);
      return endpoint;
    });
  }

  public modifyEndpoint(arn: string, properties: Record<string, any>): void {
    const endpoint = this.endpoints.get(arn);
    this.act('ModifyEndpoint', endpoint?.identifier ?? arn, arn, endpoint ?? {}, properties, () => {
      const e = this.endpoints.get(arn);
      if (!e) throw new DmsFault('ResourceNotFoundFault', `Endpoint ${arn} not found.`);
      const identifier = lower(properties.EndpointIdentifier) ?? e.identifier;
      if (identifier !== e.identifier) {
        this.unique('endpoint', identifier, [...this.endpoints.values()].filter(x => x !== e));
      }
      e.identifier = identifier;
      e.properties = { ...e.properties, ...properties };
    });
  }

  public deleteEndpoint(arn: string): void {
    const endpoint = this.endpoints.get(arn);
    this.act('DeleteEndpoint', endpoint?.identifier ?? arn, arn, endpoint ?? {}, {}, () => {
      const e = this.endpoints.get(arn);
      if (!e) throw new DmsFault('ResourceNotFoundFault', `Endpoint ${arn} not found.`);
      const users = [
        ...[...this.tasks.values()].filter(t => t.sourceEndpointArn === arn || t.targetEndpointArn === arn).map(t => `task ${t.identifier}`),
        ...[...this.replications.values()].filter(r => r.sourceEndpointArn === arn || r.targetEndpointArn === arn).map(r => `replication ${r.identifier}`),
      ];
      if (users.length > 0) {
        throw new DmsFault('InvalidResourceStateFault', `Endpoint ${e.identifier} is used by ${users.join(', ')}: delete them before the endpoint.`);
      }
      this.endpoints.delete(arn);
    });
  }

  public createReplicationInstance(arn: string, properties: Record<string, any>, tags: Record<string, string>): DmsReplicationInstance {
    return this.act('CreateReplicationInstance', lower(properties.ReplicationInstanceIdentifier) ?? arn, arn, {}, properties, () => {
      const identifier = required(properties, 'ReplicationInstanceIdentifier');
      this.unique('replication instance', identifier, [...this.instances.values()]);
      const instance = { arn, identifier, properties: { ...properties }, tags: { ...tags } };
      this.instances.set(arn, instance);
      this.known.add(arn);
      return instance;
    });
  }

  public modifyReplicationInstance(arn: string, properties: Record<string, any>): void {
    const instance = this.instances.get(arn);
    this.act('ModifyReplicationInstance', instance?.identifier ?? arn, arn, instance ?? {}, properties, () => {
      const i = this.instances.get(arn);
      if (!i) throw new DmsFault('ResourceNotFoundFault', `Replication instance ${arn} not found.`);
      const identifier = lower(properties.ReplicationInstanceIdentifier) ?? i.identifier;
      if (identifier !== i.identifier) {
        this.unique('replication instance', identifier, [...this.instances.values()].filter(x => x !== i));
      }
      i.identifier = identifier;
      i.properties = { ...i.properties, ...properties };
    });
  }

  public deleteReplicationInstance(arn: string): void {
    const instance = this.instances.get(arn);
    this.act('DeleteReplicationInstance', instance?.identifier ?? arn, arn, instance ?? {}, {}, () => {
      const i = this.instances.get(arn);
      if (!i) throw new DmsFault('ResourceNotFoundFault', `Replication instance ${arn} not found.`);
      const tasks = [...this.tasks.values()].filter(t => t.replicationInstanceArn === arn).map(t => t.identifier);
      if (tasks.length > 0) {
        throw new DmsFault('InvalidResourceStateFault', `Replication instance ${i.identifier} has tasks (${tasks.join(', ')}): delete them before the instance.`);
      }
      this.instances.delete(arn);
    });
  }

  /** Sets the tags of a resource (CloudFormation's tag-only update: allowed in every state). */
  public setTags(arn: string, tags: Record<string, string>): void {
    const resource = this.tasks.get(arn) ?? this.replications.get(arn) ?? this.endpoints.get(arn) ?? this.instances.get(arn);
    if (resource) resource.tags = { ...tags };
  }

  /** The tags of any DMS resource, for the request context IAM sees. */
  public tagsOf(arn: string): Record<string, string> | undefined {
    return (this.tasks.get(arn) ?? this.replications.get(arn) ?? this.endpoints.get(arn) ?? this.instances.get(arn))?.tags;
  }

  /**
   * Moves every task and replication through the states time has taken it to: starting → running,
   * stopping → stopped, a full-load run → stopped (FULL_LOAD_ONLY_FINISHED), capacity released.
   */
  public advance(): void {
    const now = this.now();
    for (const t of this.tasks.values()) {
      this.advanceRun(t, now, t.migrationType, 'starting');
    }
    for (const r of this.replications.values()) {
      this.advanceRun(r, now, r.replicationType, SERVERLESS_STARTING);
      if (r.status === 'stopped' && r.deprovisionedAt === undefined && r.stopped !== undefined) {
        r.deprovisionedAt = r.stopped + this.timing.deprovisionSeconds * 1000;
      }
    }
  }

  private advanceRun(run: DmsTask | DmsReplication, now: number, type: string, starting: string): void {
    if (run.status === starting && now >= run.until!) {
      run.status = 'running';
      run.loadDoneAt = run.loadKept ?? (type === 'cdc' ? run.until! : run.until! + this.timing.fullLoadSeconds * 1000);
    }
    if (run.status === 'running' && type !== 'cdc' && now >= run.loadDoneAt! && !run.loadRecorded) {
      run.loadRecorded = true;
      this.loadsCompleted.push({ arn: run.arn, at: run.loadDoneAt! });
      if (type === 'full-load-and-cdc' && stopsAfterFullLoad(run)) {
        Object.assign(run, { status: 'stopped', stopReason: 'Stop Reason STOPPED_AFTER_FULL_LOAD', stopped: run.loadDoneAt });
      }
    }
    if (run.status === 'running' && type === 'full-load' && now >= run.loadDoneAt!) {
      // a resumed run whose load had completed stops once it runs
      Object.assign(run, { status: 'stopped', stopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', stopped: Math.max(run.loadDoneAt!, run.until!) });
    }
    if (run.status === 'stopping' && now >= run.until!) {
      Object.assign(run, { status: 'stopped', stopReason: 'Stop Reason STOPPED_BY_USER', stopped: run.until });
    }
  }

  /** Full-load progress of the current run: percent done and whether the load completed. */
  public loadProgress(run: DmsTask | DmsReplication): { percent: number; done: boolean } {
    if (run.started === undefined) return { percent: 0, done: false };
    const now = run.stopped ?? this.now();
    if (run.loadDoneAt === undefined) return { percent: 0, done: false };
    if (now >= run.loadDoneAt) return { percent: 100, done: true };
    const total = this.timing.fullLoadSeconds * 1000;
    return { percent: Math.max(0, Math.floor(100 * (1 - (run.loadDoneAt - now) / total))), done: false };
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * Runs one call: brings states up to now, fails it with an injected fault when one applies, then
   * runs `body`; records the call in `history`, and a fault `body` throws in `refusals`.
   */
  private act<T>(action: DmsAction, target: string, arn: string, resource: { identifier?: string; properties?: Record<string, any> },
    request: Record<string, any>, body: () => T, detail?: string): T {
    this.advance();
    const entry = { action, target, arn, caller: this.caller, at: this.now(), detail };
    const injected = this.faults.find(f => f.remaining > 0 && f.fault.action === action
      && (f.fault.when?.({ identifier: resource.identifier ?? target, arn, properties: resource.properties ?? {} }, request) ?? true));
    if (injected) {
      injected.remaining--;
      this.injected.push({ action, target, fault: injected.fault.name, message: injected.fault.message, caller: this.caller, at: entry.at });
      this.history.push({ ...entry, outcome: injected.fault.name });
      throw new DmsFault(injected.fault.name, injected.fault.message);
    }
    try {
      const result = body();
      this.history.push({ ...entry, outcome: 'ok' });
      return result;
    } catch (e) {
      const fault = e as Error;
      this.refusals.push({ action, target, fault: fault.name, message: fault.message, caller: this.caller, at: entry.at });
      this.history.push({ ...entry, outcome: fault.name });
      throw e;
    }
  }

  private unique(kind: string, identifier: string, existing: { identifier: string }[]): void {
    if (existing.some(x => x.identifier === identifier)) {
      throw new DmsFault('ResourceAlreadyExistsFault', `${/^[aeiou]/.test(kind) ? 'An' : 'A'} ${kind} with the identifier ${identifier} already exists.`);
    }
  }

  /** A resource this model created and deleted is gone; ARNs it never created exist elsewhere (imported). */
  private mustExist(arn: string | undefined, resources: Map<string, unknown>, kind: string): void {
    if (arn !== undefined && this.known.has(arn) && !resources.has(arn)) {
      throw new DmsFault('ResourceNotFoundFault', `The ${kind} ${arn} does not exist.`);
    }
  }

  private taskByArn(arn: string): DmsTask {
    const t = this.tasks.get(arn);
    if (!t) throw new DmsFault('ResourceNotFoundFault', `Replication task ${arn} not found.`);
    return t;
  }

  private replicationByArn(arn: string): DmsReplication {
    const r = this.replications.get(arn);
    if (!r) throw new DmsFault('ResourceNotFoundFault', `Replication configuration ${arn} not found.`);
    return r;
  }
}

/** When the full load of the run's last start completed, if it did before the run stopped. */
function completedLoad(run: DmsTask | DmsReplication): number | undefined {
  return run.loadDoneAt !== undefined && run.stopped !== undefined && run.loadDoneAt <= run.stopped ? run.loadDoneAt : undefined;
}

/** Whether the task's settings stop it once its full load completed, before the cached changes apply. */
function stopsAfterFullLoad(run: DmsTask | DmsReplication): boolean {
  const raw = run.properties.ReplicationTaskSettings ?? run.properties.ReplicationSettings;
  const settings = typeof raw === 'string' ? JSON.parse(raw) : raw;
  return settings?.FullLoadSettings?.StopTaskCachedChangesNotApplied === true;
}

function checkStartType(what: string, type: StartType, hasRun: boolean): void {
  if (type === 'start-replication' && hasRun) {
    throw new DmsFault('InvalidResourceStateFault', `${what} ran before: start-replication is only for the first run; use resume-processing or reload-target.`);
  }
  if (type !== 'start-replication' && !hasRun) {
    throw new DmsFault('InvalidResourceStateFault', `${what} never ran: ${type} needs a task that ran before; use start-replication.`);
  }
}

function lower(value: unknown): string | undefined {
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

function required(properties: Record<string, any>, name: string): string {
  const value = lower(properties[name]);
  if (!value) throw new DmsFault('InvalidParameterValueException', `${name} is required.`);
  return value;
}
