import { CloudFormationClient, DescribeStackResourceCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DatabaseMigrationServiceClient, DescribeReplicationTasksCommand, StopReplicationTaskCommand } from '@aws-sdk/client-database-migration-service';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { acceptTlsReplication, createSlot, slotState, startWalsender, Walsender, writeWal } from './slot-fixture';
import { REPLICATION_SLOT_CLEANUP_TYPE } from '../../lib/live/kinds';
import { handler as slotFunction, pause } from '../../lib/live/replication-slots.lambda';
import { isComplete, onEvent, parsePhysicalId, physicalIdOf, SlotCleanupProperties } from '../../lib/live/slot-cleanup.handler';
import type { ProviderRequest } from '../../lib/provider/handler-types';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';
import { selfSignedCertificate } from '../helpers/tls';

/*
 * The cleanup's shared-provider handler, each request type, with the slot function behind the
 * (mocked) relay running for real against a TLS-only cluster: the slots are real, read by real
 * walsenders from the "replication instance" 127.0.0.1, and what is dropped is read back from
 * pg_replication_slots.
 */

const TASK_ARN = 'arn:aws:dms:us-east-1:123456789012:task:TASKAAAAAAAAAAAAAAAAAAAAAA';
const NEW_TASK_ARN = 'arn:aws:dms:us-east-1:123456789012:task:TASKBBBBBBBBBBBBBBBBBBBBBB';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:source-AbCdEf';
const RELAY_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:relay';
const STACK_ID = 'arn:aws:cloudformation:us-east-1:123456789012:stack/live/guid';

const dms = mockClient(DatabaseMigrationServiceClient);
const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);

let cluster: PgCluster;
let db = 0;
let database: string;
let taskStatus: string;
let stackStatus: string;
let stackResources: Record<string, { PhysicalResourceId: string; ResourceStatus: string }>;
let port: number;
const readers: Walsender[] = [];
const logged: string[] = [];

beforeAll(async () => {
  cluster = await startPgCluster({ tls: selfSignedCertificate(), settings: { max_replication_slots: 20 } });
  await acceptTlsReplication(cluster);
  pause.ms = 50;
});

afterAll(async () => {
  await Promise.all(readers.map((r) => r.stop().catch(() => undefined)));
  await cluster?.stop();
});

beforeEach(async () => {
  // slot names are the cluster's: every test starts without walsenders and slots
  await Promise.all(readers.splice(0).map((r) => r.stop()));
  await cluster.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots');
  database = `app${++db}`;
  await cluster.sql(`CREATE DATABASE ${database}`);
  [dms, cfn, sfn, secrets].forEach((m) => m.reset());
  taskStatus = 'running';
  stackStatus = 'UPDATE_IN_PROGRESS';
  stackResources = { Task: { PhysicalResourceId: TASK_ARN, ResourceStatus: 'UPDATE_COMPLETE' } };
  port = cluster.port;
  dms.on(DescribeReplicationTasksCommand).callsFake((input) => ({
    ReplicationTasks: [{ ReplicationTaskArn: input.Filters[0].Values[0], ReplicationTaskIdentifier: 'orders', Status: taskStatus }],
  }));
  dms.on(StopReplicationTaskCommand).callsFake(() => {
    taskStatus = 'stopping';
    return {};
  });
  cfn.on(DescribeStacksCommand).callsFake(() => ({ Stacks: [{ StackName: 'live', StackStatus: stackStatus, CreationTime: new Date() }] }));
  cfn.on(DescribeStackResourceCommand).callsFake((input) => {
    const found = stackResources[input.LogicalResourceId];
    if (!found) throw Object.assign(new Error(`Resource ${input.LogicalResourceId} does not exist for stack live`), { name: 'ValidationError' });
    return { StackResourceDetail: { LogicalResourceId: input.LogicalResourceId, ResourceType: 'x', LastUpdatedTimestamp: new Date(), ...found } };
  });
  secrets.on(GetSecretValueCommand).callsFake(() => ({
    SecretString: JSON.stringify({ username: 'postgres', password: 'pw', host: '127.0.0.1', port }),
  }));
  sfn.on(StartSyncExecutionCommand).callsFake(async (input) => {
    expect(input.stateMachineArn).toBe(RELAY_ARN);
    const output = await slotFunction(JSON.parse(input.input));
    return { status: 'SUCCEEDED', output: JSON.stringify(output) };
  });
  logged.length = 0;
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { logged.push(args.map(String).join(' ')); });
});

afterEach(() => jest.restoreAllMocks());

function props(extra: Partial<SlotCleanupProperties> = {}): SlotCleanupProperties {
  return {
    TaskArn: TASK_ARN,
    TaskIdentifier: 'orders',
    TaskLogicalId: 'Task',
    SourceSecretArn: SECRET_ARN,
    DatabaseName: database,
    ReplicationInstanceAddresses: '10.0.3.10,127.0.0.1',
    RelayArn: RELAY_ARN,
    TaskProperties: 'h1',
    ...extra,
  };
}

function request(type: 'Create' | 'Update' | 'Delete', properties: SlotCleanupProperties, physicalId?: string, old?: SlotCleanupProperties): ProviderRequest {
  return {
    RequestType: type,
    ResourceType: REPLICATION_SLOT_CLEANUP_TYPE,
    LogicalResourceId: 'SlotCleanup',
    StackId: STACK_ID,
    RequestId: 'r',
    ResourceProperties: { ServiceToken: 'token', ...properties },
    PhysicalResourceId: physicalId,
    ...(old ? { OldResourceProperties: old } : {}),
  };
}

/** Runs a delete as the Provider framework does: onEvent, then isComplete until complete (at most `polls` times). */
async function runDelete(event: ProviderRequest, between: (poll: number) => Promise<void> = async () => undefined, polls = 20): Promise<number> {
  const started = await onEvent(event);
  expect(started.PhysicalResourceId).toBe(event.PhysicalResourceId);
  for (let poll = 0; poll < polls; poll++) {
    if ((await isComplete({ ...event, Data: started.Data })).IsComplete) return poll;
    await between(poll);
  }
  throw new Error('the delete never completed');
}

async function taskSlot(name: string): Promise<Walsender> {
  await createSlot(cluster, database, name);
  await writeWal(cluster, database, 2);
  const reader = await startWalsender(cluster, database, name);
  readers.push(reader);
  return reader;
}

describe('Create and Update: the slot the task reads is recorded in the physical id', () => {
  test('the running task\'s slot, read from its replication instance, among another task\'s', async () => {
    await createSlot(cluster, database, 'other_task');
    await taskSlot('orders_slot');

    const result = await onEvent(request('Create', props()));

    expect(result.PhysicalResourceId).toBe(physicalIdOf(TASK_ARN, 'orders_slot'));
    expect(parsePhysicalId(result.PhysicalResourceId)).toEqual({ taskArn: TASK_ARN, slot: 'orders_slot' });
    expect(result.Data).toEqual({ SlotName: 'orders_slot', Candidates: 'orders_slot', Warning: '' });
    expect(sfn.commandCalls(StartSyncExecutionCommand)[0].args[0].input.input).not.toContain('"pw"');
  });

  test('a task that does not run yet: nothing recorded, and the source is not asked', async () => {
    taskStatus = 'ready';
    const result = await onEvent(request('Create', props()));
    expect(result.PhysicalResourceId).toBe(physicalIdOf(TASK_ARN, undefined));
    expect(sfn.commandCalls(StartSyncExecutionCommand)).toHaveLength(0);
  });

  test('the slot the source endpoint names is the task\'s: recorded without looking', async () => {
    const result = await onEvent(request('Create', props({ SlotName: 'named_slot' })));
    expect(result.PhysicalResourceId).toBe(physicalIdOf(TASK_ARN, 'named_slot'));
    expect(sfn.commandCalls(StartSyncExecutionCommand)).toHaveLength(0);
  });

  test('two tasks of the instance reading the database cannot be told apart: none is recorded, the warning says why', async () => {
    await taskSlot('first_task');
    await taskSlot('second_task');
    const result = await onEvent(request('Create', props()));
    expect(result.PhysicalResourceId).toBe(physicalIdOf(TASK_ARN, undefined));
    expect(result.Data!.Warning).toMatch(/Several active slots .*first_task, second_task.*none is recorded/);
  });

  test('a source the slot function cannot reach fails the create, naming what to open; a rollback\'s update goes on', async () => {
    port = 1;
    await expect(onEvent(request('Create', props()))).rejects.toThrow(/cannot reach the source: .*ECONNREFUSED.*must admit it as it admits the replication instance/);
    stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
    const recorded = physicalIdOf(TASK_ARN, 'orders_slot');
    const result = await onEvent(request('Update', props(), recorded, props({ TaskProperties: 'h0' })));
    expect(result.PhysicalResourceId).toBe(recorded);
    expect(result.Data!.Warning).toMatch(/cannot reach the source/);
  });

  test('after a reload recreated the slot, the update records the new one; the delete of the old id drops the old slot only', async () => {
    const reader = await taskSlot('slot_before_reload');
    const created = await onEvent(request('Create', props()));
    await reader.stop();
    await taskSlot('slot_after_reload');

    const updated = await onEvent(request('Update', props({ TaskProperties: 'h2' }), created.PhysicalResourceId, props()));
    expect(updated.PhysicalResourceId).toBe(physicalIdOf(TASK_ARN, 'slot_after_reload'));

    // CloudFormation deletes the old physical id in the cleanup: the task stays, the resource records the new slot
    stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stackResources.SlotCleanup = { PhysicalResourceId: updated.PhysicalResourceId!, ResourceStatus: 'UPDATE_COMPLETE' };
    await runDelete(request('Delete', props(), created.PhysicalResourceId));

    const slots = await slotState(cluster);
    expect(slots.slot_before_reload).toBeUndefined();
    expect(slots.slot_after_reload.active).toBe(true);
    expect(dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(0);
    expect(logged.join('\n')).toMatch(/Dropped replication slot slot_before_reload .* it kept \d+\.\d MB of WAL/);
  });
});

describe('Delete', () => {
  test('stack deletion: stops the running task, waits for it and its walsender, drops its slot and reports the WAL released', async () => {
    await createSlot(cluster, database, 'other_task');
    const reader = await taskSlot('orders_slot');
    const created = await onEvent(request('Create', props()));
    stackStatus = 'DELETE_IN_PROGRESS';

    const polls = await runDelete(request('Delete', props(), created.PhysicalResourceId), async (poll) => {
      // DMS stops the task on the second look; its walsender lets go of the slot a look later
      if (poll === 1) taskStatus = 'stopped';
      if (poll === 2) await reader.stop();
    });

    expect(dms.commandCalls(StopReplicationTaskCommand).map((c) => c.args[0].input.ReplicationTaskArn)).toContain(TASK_ARN);
    expect(polls).toBeGreaterThanOrEqual(3);
    const slots = await slotState(cluster);
    expect(slots.orders_slot).toBeUndefined();
    expect(slots.other_task).toMatchObject({ active: false });
    expect(logged.join('\n')).toMatch(/Dropped replication slot orders_slot of app\d+ \(task orders\)/);
    expect(logged.join('\n')).toMatch(/The source may remove \d+\.\d MB of WAL at its next checkpoint/);
  });

  test('the task replaced: its stopped task\'s recorded slot is dropped, the new task\'s active slot kept', async () => {
    await createSlot(cluster, database, 'old_task_slot');
    await taskSlot('new_task_slot');
    stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    stackResources.Task = { PhysicalResourceId: NEW_TASK_ARN, ResourceStatus: 'UPDATE_COMPLETE' };
    taskStatus = 'stopped';

    await runDelete(request('Delete', props(), physicalIdOf(TASK_ARN, 'old_task_slot')));

    const slots = await slotState(cluster);
    expect(slots.old_task_slot).toBeUndefined();
    expect(slots.new_task_slot.active).toBe(true);
    expect(dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(0);
  });

  test('the cleanup removed from the template while the task stays: nothing is stopped or dropped', async () => {
    await createSlot(cluster, database, 'orders_slot');
    taskStatus = 'stopped';
    stackStatus = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';

    await runDelete(request('Delete', props(), physicalIdOf(TASK_ARN, 'orders_slot')));

    expect((await slotState(cluster)).orders_slot).toBeDefined();
    expect(sfn.commandCalls(StartSyncExecutionCommand)).toHaveLength(0);
    expect(logged.join('\n')).toMatch(/Task orders stays: its replication slot is kept/);
  });

  test('a source it cannot reach, or a relay that fails, never fails the delete: the log says what to drop by hand', async () => {
    stackStatus = 'DELETE_IN_PROGRESS';
    taskStatus = 'stopped';
    port = 1;
    await runDelete(request('Delete', props(), physicalIdOf(TASK_ARN, 'orders_slot')));
    expect(logged.join('\n')).toMatch(/WARNING: replication slot\(s\) orders_slot .* were not dropped: .*ECONNREFUSED.*SELECT pg_drop_replication_slot\('orders_slot'\);/);

    sfn.reset();
    sfn.on(StartSyncExecutionCommand).resolves({ status: 'FAILED', error: 'Lambda.Unknown', cause: 'timed out' });
    logged.length = 0;
    await runDelete(request('Delete', props(), physicalIdOf(TASK_ARN, 'orders_slot')));
    expect(logged.join('\n')).toMatch(/WARNING: .*not dropped: the slot function did not answer \(FAILED\): Lambda.Unknown timed out/);
  });

  test('a slot that stays active past the wait is kept and named, and the delete completes', async () => {
    await taskSlot('orders_slot');
    stackStatus = 'DELETE_IN_PROGRESS';
    taskStatus = 'stopped';
    const event = request('Delete', props(), physicalIdOf(TASK_ARN, 'orders_slot'));
    const started = await onEvent(event);
    const late = { ...event, Data: { ...started.Data, Deadline: '0' } };
    expect((await isComplete(late)).IsComplete).toBe(true);
    expect(logged.join('\n')).toMatch(/Kept replication slot orders_slot .*active: a walsender reads it\. Drop it by hand/);
    expect((await slotState(cluster)).orders_slot.active).toBe(true);
  });

  test('a delete with no slot known drops nothing and says where to look', async () => {
    stackStatus = 'DELETE_IN_PROGRESS';
    taskStatus = 'stopped';
    await runDelete(request('Delete', props(), physicalIdOf(TASK_ARN, undefined)));
    expect(logged.join('\n')).toMatch(/WARNING: CloudFormation deletes task orders, and no replication slot of it is known/);
    expect(dms.commandCalls(StopReplicationTaskCommand)).toHaveLength(0);
  });
});
