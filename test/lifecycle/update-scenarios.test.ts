import { App, aws_dms as dms, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DmsMigrationTask } from '../../lib/migration';
import { NeonTargetEndpoint } from '../../lib/neon';
import { ReplicationCompute, ReplicationInstance } from '../../lib/replication';
import { PostgresSourceEndpoint } from '../../lib/sources';
import { MigrationType } from '../../lib/task';
import { CloudFormationModel, DeploymentOutcome, FAILING_RESOURCE_TYPE, addFailingResource } from '../helpers/cloudformation-model';

type RollbackOrder = 'reverse-dependency' | 'dependency';
import { TemplateJson, secretSuffix } from '../helpers/deployed';
import { DmsAction, DmsTiming } from '../helpers/dms-model';
import { IamModel } from '../helpers/iam-simulation';

/*
 * Stack updates, failed updates and their rollbacks, replacements and deletes of a migration, run
 * through CloudFormation's sequence of events (test/helpers/cloudformation-model.ts) with the real
 * handlers answering the custom resources, against a DMS that refuses what DMS refuses
 * (test/helpers/dms-model.ts). Every scenario runs for a task on a replication instance and for DMS
 * Serverless, and asserts the stack status the operation ends in, that DMS refused no call, and
 * what DMS holds afterwards.
 */

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STACK = 'Migration';
const dmsArn = (kind: string, id: string) => `arn:aws:dms:${REGION}:${ACCOUNT}:${kind}:${id}`;
/** Created outside the stack. */
const EXISTING_INSTANCE_ARN = dmsArn('rep', 'EXISTINGINSTANCE');
const SOURCE_ARN = dmsArn('endpoint', 'SOURCEPRIMARY');
const OTHER_SOURCE_ARN = dmsArn('endpoint', 'SOURCEREPLICA');
const TARGET_ARN = dmsArn('endpoint', 'NEONTARGET');
const KEY_A = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-0000-4000-8000-00000000000a`;
const KEY_B = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-0000-4000-8000-00000000000b`;
const SOURCE_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:source/app-${secretSuffix('source/app')}`;
/** Logical id of the stand-in resource that fails after the lifecycle. */
const FAILING = 'Failing';

type Compute = 'instance' | 'serverless';

/** One version of the migration stack. */
interface Shape {
  readonly compute: Compute;
  /** The schema the table mapping selects. @default 'app' */
  readonly schema?: string;
  /** @default MigrationType.FULL_LOAD_AND_CDC */
  readonly migrationType?: MigrationType;
  /** An existing source endpoint, another one, or one the stack creates. @default 'existing' */
  readonly source?: 'existing' | 'other' | 'created';
  /** The KMS key of the source endpoint the stack creates (`KmsKeyId`, "Update requires: Replacement"). */
  readonly sourceKey?: string;
  /** How the key is set: on the L1 (`CfnEndpoint.kmsKeyId`) or as a raw property override. @default 'property' */
  readonly sourceKeyBy?: 'property' | 'override';
  /** An existing replication instance, or one the stack creates (instance compute). @default 'existing' */
  readonly instance?: 'existing' | 'created';
  /** The KMS key of the created replication instance, or of the DMS Serverless compute. @default KEY_A */
  readonly computeKey?: string;
  /** Adds the `Custom::Failing` stand-in after the migration's lifecycle. */
  readonly failing?: boolean;
}

function synth(shape: Shape): TemplateJson {
  const stack = new Stack(new App(), STACK);
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    availabilityZones: [`${REGION}a`, `${REGION}b`],
    privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
  });
  const securityGroups = [ec2.SecurityGroup.fromSecurityGroupId(stack, 'ReplicationGroup', 'sg-0a1b2c3d4e5f60718')];
  const computeKey = kms.Key.fromKeyArn(stack, 'ComputeKey', shape.computeKey ?? KEY_A);

  let source;
  if (shape.source === 'created') {
    const endpoint = new PostgresSourceEndpoint(stack, 'Source', {
      secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'SourceSecret', SOURCE_SECRET_ARN),
      databaseName: 'app',
      engineMajorVersion: 16,
    });
    if (shape.sourceKey && shape.sourceKeyBy === 'override') {
      endpoint.resource.addPropertyOverride('KmsKeyId', shape.sourceKey);
    } else if (shape.sourceKey) {
      endpoint.resource.kmsKeyId = shape.sourceKey;
    }
    source = endpoint;
  } else {
    source = PostgresSourceEndpoint.fromEndpointAttributes(stack, 'Source', {
      endpointArn: shape.source === 'other' ? OTHER_SOURCE_ARN : SOURCE_ARN,
      engineMajorVersion: 16,
    });
  }
  const target = NeonTargetEndpoint.fromEndpointArn(stack, 'Target', TARGET_ARN);

  const common = { source, target, schemaName: shape.schema ?? 'app', migrationType: shape.migrationType ?? MigrationType.FULL_LOAD_AND_CDC };
  let migration: DmsMigrationTask;
  if (shape.compute === 'serverless') {
    migration = new DmsMigrationTask(stack, 'Migration', {
      ...common,
      compute: ReplicationCompute.serverless({ maxCapacityUnits: 2, vpc, securityGroups, kmsKey: computeKey, manageAccountRoles: false }),
    });
  } else {
    const replicationInstance = shape.instance === 'created'
      ? new ReplicationInstance(stack, 'Instance', { vpc, securityGroups, kmsKey: computeKey, manageAccountRoles: false })
      : ReplicationInstance.fromReplicationInstanceAttributes(stack, 'Instance', {
        replicationInstanceArn: EXISTING_INSTANCE_ARN,
        replicationInstanceIdentifier: 'existing-instance',
      });
    migration = new DmsMigrationTask(stack, 'Migration', { ...common, replicationInstance });
  }
  if (shape.failing) {
    addFailingResource(stack, FAILING, [migration.lifecycle.resource]);
  }
  return Template.fromStack(stack).toJSON() as TemplateJson;
}

const models: CloudFormationModel[] = [];

beforeEach(() => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
});

afterEach(() => {
  models.splice(0).forEach(m => m.restore());
  jest.restoreAllMocks();
});

/** A model of the stack created from `shape`, the migration running (or, for a full load, started). */
async function created(shape: Shape, timing: Partial<DmsTiming> = {}, rollbackOrder: RollbackOrder = 'reverse-dependency'): Promise<CloudFormationModel> {
  const model = new CloudFormationModel({ env: { stackName: STACK, account: ACCOUNT, region: REGION }, rollbackOrder });
  models.push(model);
  Object.assign(model.dms.timing, timing);
  expect(summary(model, await model.create(synth(shape)))).toEqual({ status: 'CREATE_COMPLETE', refusals: [] });
  return model;
}

/** The outcome of an operation with what DMS refused during it, reasons included, for assertions that show them. */
function summary(model: CloudFormationModel, outcome: DeploymentOutcome): Record<string, unknown> {
  return {
    status: outcome.status,
    ...(outcome.failure ? { failure: `${outcome.failure.logicalId}: ${outcome.failure.reason}` } : {}),
    ...(outcome.rollbackFailure ? { rollbackFailure: `${outcome.rollbackFailure.logicalId}: ${outcome.rollbackFailure.reason}` } : {}),
    ...(outcome.cleanupFailures.length > 0 ? { cleanupFailures: outcome.cleanupFailures.map(f => `${f.logicalId} ${f.physicalId}: ${f.reason}`) } : {}),
    refusals: model.dms.refusals.map(r => `${r.action} ${r.target} (${r.caller}): ${r.fault}: ${r.message}`),
  };
}

/** The migration's task(s) or serverless replication(s) as DMS holds them now. */
interface Run {
  readonly arn: string;
  readonly identifier: string;
  readonly status: string;
  readonly type: string;
  readonly sourceEndpointArn: string;
  readonly replicationInstanceArn?: string;
  readonly schemas: string[];
}

function runs(model: CloudFormationModel, compute: Compute): Run[] {
  model.dms.advance();
  if (compute === 'instance') {
    return [...model.dms.tasks.values()].map(t => ({
      arn: t.arn,
      identifier: t.identifier,
      status: t.status,
      type: t.migrationType,
      sourceEndpointArn: t.sourceEndpointArn,
      replicationInstanceArn: t.replicationInstanceArn,
      schemas: schemasOf(t.properties.TableMappings),
    }));
  }
  return [...model.dms.replications.values()].map(r => ({
    arn: r.arn,
    identifier: r.identifier,
    status: r.status,
    type: r.replicationType,
    sourceEndpointArn: r.sourceEndpointArn,
    schemas: schemasOf(r.properties.TableMappings),
  }));
}

/**
 * The one task or replication DMS holds. `settled`: as it is once DMS finished what it was asked to
 * do (a start issued during the rollback runs a minute later), ten minutes after the operation.
 */
function onlyRun(model: CloudFormationModel, compute: Compute, settled = false): Run {
  if (settled) {
    model.clock.advance(600);
  }
  const all = runs(model, compute);
  expect(all).toHaveLength(1);
  return all[0];
}

/** The schemas a table mapping (JSON string in a task, object in a replication configuration) selects. */
function schemasOf(mappings: unknown): string[] {
  const doc = (typeof mappings === 'string' ? JSON.parse(mappings) : mappings) as { rules: Record<string, any>[] };
  return doc.rules.filter(r => r['rule-type'] === 'selection').map(r => r['object-locator']['schema-name']);
}

/** The calls DMS accepted on `arn` since history entry `from`, as `Action detail`. */
function steps(model: CloudFormationModel, arn: string, from = 0): string[] {
  return model.dms.history.slice(from).filter(h => h.arn === arn && h.outcome === 'ok').map(h => (h.detail ? `${h.action} ${h.detail}` : h.action));
}

/** Where in DMS's history the call `action` on `arn` was accepted (-1: never). */
function indexOf(model: CloudFormationModel, action: DmsAction, arn: string): number {
  return model.dms.history.findIndex(h => h.action === action && h.arn === arn && h.outcome === 'ok');
}

const ACTIONS = {
  instance: { stop: 'StopReplicationTask', modify: 'ModifyReplicationTask', start: 'StartReplicationTask', create: 'CreateReplicationTask', delete: 'DeleteReplicationTask' },
  serverless: { stop: 'StopReplication', modify: 'ModifyReplicationConfig', start: 'StartReplication', create: 'CreateReplicationConfig', delete: 'DeleteReplicationConfig' },
} as const;

/*
 * CloudFormation rolls a failed update back in an order it does not document: the scenarios run with
 * the updated resources rolled back in reverse dependency order and in dependency order, and must land
 * in both.
 */
describe.each<[RollbackOrder]>([['reverse-dependency'], ['dependency']])('CloudFormation rolling back in %s order', (rollbackOrder) => {
  describe.each<[string, Compute]>([
    ['a task on a replication instance', 'instance'],
    ['DMS Serverless', 'serverless'],
  ])('%s', (_name, compute) => {
    const action = ACTIONS[compute];

    test('a changed table mapping: the running migration is stopped, modified in place and resumed', async () => {
      const model = await created({ compute }, {}, rollbackOrder);
      const before = onlyRun(model, compute);
      expect(before.status).toBe('running');
      const from = model.dms.history.length;

      const outcome = await model.update(synth({ compute, schema: 'sales' }));

      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_COMPLETE', refusals: [] });
      const after = onlyRun(model, compute);
      expect({ arn: after.arn, status: after.status, schemas: after.schemas }).toEqual({ arn: before.arn, status: 'running', schemas: ['sales'] });
      expect(steps(model, before.arn, from)).toEqual([action.stop, action.modify, `${action.start} resume-processing`]);
    });

    test('an update that fails after the migration was resumed rolls back: modified back without a refusal, running again with the old mapping', async () => {
      const model = await created({ compute }, {}, rollbackOrder);
      const before = onlyRun(model, compute);
      const from = model.dms.history.length;

      const outcome = await model.update(synth({ compute, schema: 'sales', failing: true }), { failAt: FAILING });

      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_ROLLBACK_COMPLETE', failure: `${FAILING}: ${FAILING} failed (failAt)`, refusals: [] });
      // the failure came after the lifecycle had resumed the modified migration
      expect(steps(model, before.arn, from).slice(0, 3)).toEqual([action.stop, action.modify, `${action.start} resume-processing`]);
      const after = onlyRun(model, compute, true);
      expect({ arn: after.arn, status: after.status, schemas: after.schemas }).toEqual({ arn: before.arn, status: 'running', schemas: ['app'] });
    });

    // The migration runs again when CloudFormation restores the task before it rolls the stopper back
    // (reverse dependency order). Rolled back in dependency order, the stopper comes first and must not
    // start a task CloudFormation is about to modify again (its update failed): it stays stopped.
    test('an update whose own modification DMS rejects (an invalid table mapping) rolls back, and the migration is unchanged', async () => {
      const model = await created({ compute }, {}, rollbackOrder);
      const before = onlyRun(model, compute);
      model.dms.injectFault({
        action: action.modify,
        name: 'InvalidParameterValueException',
        message: 'Invalid table mappings: no table of schema sales exists',
        when: (_target, request) => request.TableMappings !== undefined && schemasOf(request.TableMappings).includes('sales'),
      });

      const outcome = await model.update(synth({ compute, schema: 'sales' }));

      expect(summary(model, outcome)).toEqual({
        status: 'UPDATE_ROLLBACK_COMPLETE',
        failure: expect.stringMatching(/^Migration\w+: InvalidParameterValueException: Invalid table mappings/),
        refusals: [],
      });
      expect(model.dms.injected).toHaveLength(1);
      const after = onlyRun(model, compute, true);
      const expected = rollbackOrder === 'reverse-dependency' ? 'running' : 'stopped';
      expect({ arn: after.arn, status: after.status, schemas: after.schemas }).toEqual({ arn: before.arn, status: expected, schemas: ['app'] });
    });

    test('a stack delete during a running full load: the lifecycle stops it, DMS accepts the delete', async () => {
      const model = await created({ compute, migrationType: MigrationType.FULL_LOAD }, { fullLoadSeconds: 6 * 3600 }, rollbackOrder);
      const before = onlyRun(model, compute);
      expect(before.status).toBe('running');
      const from = model.dms.history.length;

      const outcome = await model.delete();

      expect(summary(model, outcome)).toEqual({ status: 'DELETE_COMPLETE', refusals: [] });
      expect(runs(model, compute)).toEqual([]);
      expect(steps(model, before.arn, from)).toEqual([action.stop, action.delete]);
    });

    test('every request the handlers make in an update, a failed update and its rollback, and the delete is allowed by their role', async () => {
      const model = await created({ compute }, {}, rollbackOrder);
      await model.update(synth({ compute, schema: 'sales' }));
      await model.update(synth({ compute, schema: 'app', failing: true }), { failAt: FAILING });
      await model.delete();

      const iam = IamModel.of(model.deployed(synth({ compute, schema: 'sales' })));
      const requests = model.fake.calls.flatMap(call => call.requests.map(request => ({ role: call.role, request })));
      expect(requests.length).toBeGreaterThan(10);
      const denied: string[] = [];
      for (const { role, request } of requests) {
        const decision = await iam.decide(role, request);
        if (!decision.allowed) denied.push(`${role}: ${request.action} on ${request.resource} (${decision.result}) by ${request.origin}`);
      }
      expect(denied).toEqual([]);
    });
  });

  describe('a change that replaces the task (migration type, another source endpoint)', () => {
    const replaced = { compute: 'instance' as const, migrationType: MigrationType.CDC, source: 'other' as const };

    test('CloudFormation replaces the task: the new one (another identifier) is created before the old one, stopped, is deleted', async () => {
      const model = await created({ compute: 'instance' }, {}, rollbackOrder);
      const old = onlyRun(model, 'instance');

      const outcome = await model.update(synth(replaced));

      expect(outcome.changes.find(c => c.type === 'AWS::DMS::ReplicationTask')).toEqual(expect.objectContaining({
        kind: 'replace', replacing: ['MigrationType', 'SourceEndpointArn'],
      }));
      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_COMPLETE', refusals: [] });
      const now = onlyRun(model, 'instance');
      expect(now).toEqual(expect.objectContaining({ status: 'running', type: 'cdc', sourceEndpointArn: OTHER_SOURCE_ARN }));
      expect(now.arn).not.toBe(old.arn);
      expect(now.identifier).not.toBe(old.identifier);
      const createdNew = indexOf(model, 'CreateReplicationTask', now.arn);
      const deletedOld = indexOf(model, 'DeleteReplicationTask', old.arn);
      expect(createdNew).toBeGreaterThanOrEqual(0);
      expect(deletedOld).toBeGreaterThan(createdNew);
      expect(indexOf(model, 'StopReplicationTask', old.arn)).toBeLessThan(deletedOld);
    });

    test('the replacement followed by a failure rolls back: the new task is stopped and deleted in the cleanup, the old one runs again', async () => {
      const model = await created({ compute: 'instance' }, {}, rollbackOrder);
      const old = onlyRun(model, 'instance');

      const outcome = await model.update(synth({ ...replaced, failing: true }), { failAt: FAILING });

      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_ROLLBACK_COMPLETE', failure: `${FAILING}: ${FAILING} failed (failAt)`, refusals: [] });
      const now = onlyRun(model, 'instance', true);
      expect(now).toEqual(expect.objectContaining({ arn: old.arn, identifier: old.identifier, status: 'running', type: 'full-load-and-cdc', sourceEndpointArn: SOURCE_ARN }));
      const replacement = model.dms.history.find(h => h.action === 'CreateReplicationTask' && h.arn !== old.arn && h.outcome === 'ok');
      expect(replacement).toBeDefined();
      expect(steps(model, replacement!.arn)).toEqual(['CreateReplicationTask', 'StartReplicationTask start-replication', 'StopReplicationTask', 'DeleteReplicationTask']);
      const cleanup = model.events.findIndex(e => e.stackStatus === 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS');
      const deletedAt = model.events.findIndex(e => e.type === 'AWS::DMS::ReplicationTask' && e.status === 'DELETE_COMPLETE' && e.physicalId === replacement!.arn);
      expect(deletedAt).toBeGreaterThan(cleanup);
    });
  });

  describe('the same change on DMS Serverless (the specification updates a replication configuration in place)', () => {
    const changed = { compute: 'serverless' as const, migrationType: MigrationType.CDC, source: 'other' as const };

    test('the replication is stopped, modified and started again under the same ARN', async () => {
      const model = await created({ compute: 'serverless' }, {}, rollbackOrder);
      const old = onlyRun(model, 'serverless');

      const outcome = await model.update(synth(changed));

      expect(outcome.changes.find(c => c.type === 'AWS::DMS::ReplicationConfig')).toEqual(expect.objectContaining({ kind: 'update', replacing: [] }));
      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_COMPLETE', refusals: [] });
      expect(onlyRun(model, 'serverless')).toEqual(expect.objectContaining({ arn: old.arn, status: 'running', type: 'cdc', sourceEndpointArn: OTHER_SOURCE_ARN }));
    });

    test('followed by a failure, it rolls back: modified back, running again with the old type and source', async () => {
      const model = await created({ compute: 'serverless' }, {}, rollbackOrder);
      const old = onlyRun(model, 'serverless');

      const outcome = await model.update(synth({ ...changed, failing: true }), { failAt: FAILING });

      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_ROLLBACK_COMPLETE', failure: `${FAILING}: ${FAILING} failed (failAt)`, refusals: [] });
      expect(onlyRun(model, 'serverless', true)).toEqual(expect.objectContaining({
        arn: old.arn, status: 'running', type: 'full-load-and-cdc', sourceEndpointArn: SOURCE_ARN, schemas: ['app'],
      }));
    });
  });

  describe.each<[string, Compute, 'property' | 'override']>([
    ['a task on a replication instance', 'instance', 'property'],
    ['DMS Serverless', 'serverless', 'property'],
    ['a task on a replication instance, the key set by a property override', 'instance', 'override'],
  ])('replacing the source endpoint the stack creates (its KMS key), %s', (_name, compute, sourceKeyBy) => {
    test('a new endpoint (another identifier) is created, the migration moves to it and runs, the old endpoint is deleted', async () => {
      const model = await created({ compute, source: 'created', sourceKey: KEY_A, sourceKeyBy }, {}, rollbackOrder);
      const oldEndpoint = [...model.dms.endpoints.values()];
      expect(oldEndpoint).toHaveLength(1);
      const oldRun = onlyRun(model, compute);

      const outcome = await model.update(synth({ compute, source: 'created', sourceKey: KEY_B, sourceKeyBy }));

      expect(outcome.changes.find(c => c.type === 'AWS::DMS::Endpoint')).toEqual(expect.objectContaining({ kind: 'replace', replacing: ['KmsKeyId'] }));
      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_COMPLETE', refusals: [] });
      const endpoints = [...model.dms.endpoints.values()];
      expect(endpoints).toHaveLength(1);
      expect(endpoints[0].arn).not.toBe(oldEndpoint[0].arn);
      expect(endpoints[0].identifier).not.toBe(oldEndpoint[0].identifier);
      expect(endpoints[0].properties.KmsKeyId).toBe(KEY_B);
      const now = onlyRun(model, compute);
      expect(now).toEqual(expect.objectContaining({ status: 'running', sourceEndpointArn: endpoints[0].arn }));
      // a task's SourceEndpointArn forces its replacement; a replication configuration's is modified
      expect(now.arn === oldRun.arn).toBe(compute === 'serverless');
    });
  });

  describe('replacing the compute', () => {
    test('the replication instance the stack creates (its KMS key): a new instance, the task replaced onto it and running, the old ones deleted', async () => {
      const model = await created({ compute: 'instance', instance: 'created', computeKey: KEY_A }, {}, rollbackOrder);
      const oldInstance = [...model.dms.instances.values()];
      expect(oldInstance).toHaveLength(1);

      const outcome = await model.update(synth({ compute: 'instance', instance: 'created', computeKey: KEY_B }));

      expect(outcome.changes.find(c => c.type === 'AWS::DMS::ReplicationInstance')).toEqual(expect.objectContaining({ kind: 'replace', replacing: ['KmsKeyId'] }));
      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_COMPLETE', refusals: [] });
      const instances = [...model.dms.instances.values()];
      expect(instances).toHaveLength(1);
      expect(instances[0].identifier).not.toBe(oldInstance[0].identifier);
      expect(instances[0].properties.KmsKeyId).toBe(KEY_B);
      expect(onlyRun(model, 'instance')).toEqual(expect.objectContaining({ status: 'running', replicationInstanceArn: instances[0].arn }));
    });

    test('DMS Serverless: a new KMS key for the compute modifies the stopped configuration in place, and the replication runs again', async () => {
      const model = await created({ compute: 'serverless', computeKey: KEY_A }, {}, rollbackOrder);
      const old = onlyRun(model, 'serverless');
      const from = model.dms.history.length;

      const outcome = await model.update(synth({ compute: 'serverless', computeKey: KEY_B }));

      expect(outcome.changes.find(c => c.type === 'AWS::DMS::ReplicationConfig')).toEqual(expect.objectContaining({ kind: 'update', properties: ['ComputeConfig', 'Tags'] }));
      expect(summary(model, outcome)).toEqual({ status: 'UPDATE_COMPLETE', refusals: [] });
      expect(onlyRun(model, 'serverless')).toEqual(expect.objectContaining({ arn: old.arn, status: 'running' }));
      expect(steps(model, old.arn, from)).toEqual(['StopReplication', 'ModifyReplicationConfig', 'StartReplication resume-processing']);
    });
  });
});

describe('what the model refuses (a task without a lifecycle)', () => {
  /** A table mapping selecting every table of `schema`. */
  const mapping = (schema: string) => JSON.stringify({
    rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'object-locator': { 'schema-name': schema, 'table-name': '%' }, 'rule-action': 'include' }],
  });
  const STAND_IN_TOKEN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:stand-in`;

  function plainTask(props: Partial<dms.CfnReplicationTaskProps>): TemplateJson {
    const stack = new Stack(new App(), STACK);
    new dms.CfnReplicationTask(stack, 'Task', {
      replicationTaskIdentifier: 'plain-task',
      migrationType: 'full-load-and-cdc',
      replicationInstanceArn: EXISTING_INSTANCE_ARN,
      sourceEndpointArn: SOURCE_ARN,
      targetEndpointArn: TARGET_ARN,
      tableMappings: mapping('app'),
      ...props,
    });
    return Template.fromStack(stack).toJSON() as TemplateJson;
  }

  async function plainModel(): Promise<CloudFormationModel> {
    const model = new CloudFormationModel({ env: { stackName: STACK, account: ACCOUNT, region: REGION } });
    models.push(model);
    expect((await model.create(plainTask({}))).status).toBe('CREATE_COMPLETE');
    return model;
  }

  test('modifying a running task: DMS refuses, the update rolls back, and modifying it back fails the rollback', async () => {
    const model = await plainModel();
    const arn = model.physicalId('Task');
    await model.clock.run(async () => {
      model.dms.startReplicationTask(arn, 'start-replication');
      model.clock.advance(60);
    });
    const outcome = await model.update(plainTask({ tableMappings: mapping('sales') }));

    expect(outcome.status).toBe('UPDATE_ROLLBACK_FAILED');
    expect(model.status).toBe('UPDATE_ROLLBACK_FAILED');
    expect(model.dms.refusals.map(r => `${r.action} ${r.fault}`)).toEqual(['ModifyReplicationTask InvalidResourceStateFault', 'ModifyReplicationTask InvalidResourceStateFault']);
  });

  test('a replacement that keeps the identifier: the new task cannot be created (ResourceAlreadyExistsFault), the update rolls back', async () => {
    const model = await plainModel();
    const arn = model.physicalId('Task');

    const outcome = await model.update(plainTask({ migrationType: 'cdc' }));

    expect(outcome).toEqual(expect.objectContaining({
      status: 'UPDATE_ROLLBACK_COMPLETE',
      failure: { logicalId: 'Task', reason: expect.stringMatching(/^ResourceAlreadyExistsFault: .*plain-task already exists/) },
    }));
    expect(model.physicalId('Task')).toBe(arn);
    expect([...model.dms.tasks.keys()]).toEqual([arn]);
  });

  test.each<['reverse-dependency' | 'dependency', string[]]>([
    ['reverse-dependency', ['After', 'Task']],
    ['dependency', ['Task', 'After']],
  ])('a failed update rolls the updated resources back in %s order, and deletes what it created in the cleanup', async (rollbackOrder, order) => {
    // the plain task; `After` (updated in place when its generation changes) after it; `Last` after both
    const withAfter = (generation: number, failing: boolean, schema: string): TemplateJson => {
      const template = plainTask({ tableMappings: mapping(schema) });
      const resources: Record<string, any> = { ...template.Resources };
      resources.After = { Type: FAILING_RESOURCE_TYPE, Properties: { ServiceToken: STAND_IN_TOKEN, Generation: generation }, DependsOn: ['Task'] };
      if (failing) {
        resources.Last = { Type: FAILING_RESOURCE_TYPE, Properties: { ServiceToken: STAND_IN_TOKEN }, DependsOn: ['After'] };
      }
      return { ...template, Resources: resources };
    };
    const model = new CloudFormationModel({ env: { stackName: STACK, account: ACCOUNT, region: REGION }, rollbackOrder });
    models.push(model);
    expect((await model.create(withAfter(1, false, 'app'))).status).toBe('CREATE_COMPLETE');
    const arn = model.physicalId('Task');

    const outcome = await model.update(withAfter(2, true, 'sales'), { failAt: 'Last' });

    expect(outcome.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    const rolledBack = model.events.filter(e => e.stackStatus === 'UPDATE_ROLLBACK_IN_PROGRESS' && e.status === 'UPDATE_COMPLETE').map(e => e.logicalId);
    expect(rolledBack).toEqual(order);
    expect(model.resource('After')!.properties.Generation).toBe('1');
    expect(model.resource('Last')).toBeUndefined();
    expect(schemasOf(model.dms.tasks.get(arn)!.properties.TableMappings)).toEqual(['app']);
    expect(model.dms.history.filter(h => h.action === 'ModifyReplicationTask').map(h => h.caller)).toEqual(['CloudFormation (Task)', 'CloudFormation (Task)']);
  });

  test('a replacement under a new identifier: created first, the old task deleted in the cleanup', async () => {
    const model = await plainModel();
    const arn = model.physicalId('Task');

    const outcome = await model.update(plainTask({ migrationType: 'cdc', replicationTaskIdentifier: 'plain-task-cdc' }));

    expect(outcome.status).toBe('UPDATE_COMPLETE');
    expect(model.physicalId('Task')).not.toBe(arn);
    expect([...model.dms.tasks.values()].map(t => [t.identifier, t.migrationType])).toEqual([['plain-task-cdc', 'cdc']]);
    const cleanup = model.events.findIndex(e => e.stackStatus === 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
    expect(model.events.findIndex(e => e.logicalId === 'Task' && e.status === 'DELETE_COMPLETE' && e.physicalId === arn)).toBeGreaterThan(cleanup);
  });
});
