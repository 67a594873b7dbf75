import {
  DescribeReplicationsCommand,
  Replication,
  StartReplicationCommand,
  StopReplicationCommand,
} from '@aws-sdk/client-database-migration-service';
import { AFTER, BEFORE, NOW, dmsMock, fault, request, setUp, sleeps, stackIs, taggedWith, tearDown, throttling } from './task-handler-support';
import { REPLICATION_STATUS_RULES } from '../../lib/dms-api/dms-replication';
import { SERVERLESS_LIFECYCLE_TYPE } from '../../lib/lifecycle/kinds';
import { ROLE_LIFECYCLE, ROLE_STOPPER, isComplete, onEvent } from '../../lib/lifecycle/serverless-lifecycle.handler';
import { dispatcher } from '../../lib/resource-handlers';

const CONFIG_ARN = 'arn:aws:dms:us-east-2:123456789012:replication-config:CONFIGRESOURCEID1';
const CONFIG_ID = 'neon-migration';
const SOURCE = 'arn:aws:dms:us-east-2:123456789012:endpoint:SOURCE';
const TARGET = 'arn:aws:dms:us-east-2:123456789012:endpoint:TARGET';
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const BY_ARN = `Describe(replication-config-arn=${CONFIG_ARN})`;
const BY_ID = `Describe(replication-config-id=${CONFIG_ID})`;
const STOP = `Stop(${CONFIG_ARN})`;

function replication(status: string, extra: Partial<Replication> = {}, ran = false): Replication {
  return {
    ReplicationConfigArn: CONFIG_ARN,
    ReplicationConfigIdentifier: CONFIG_ID,
    ReplicationType: 'full-load-and-cdc',
    Status: status,
    ...(ran ? { ReplicationStats: { StartDate: BEFORE, StopDate: BEFORE, FullLoadProgressPercent: 100 } } : {}),
    ...extra,
  };
}

/** DescribeReplications answers with these replications in turn (the last one from then on); undefined = none listed. */
function describeReturns(...replications: (Replication | undefined)[]): void {
  const queue = [...replications];
  dmsMock.on(DescribeReplicationsCommand).callsFake(async () => {
    const next = queue.length > 1 ? queue.shift() : queue[0];
    return { Replications: next ? [next] : [] };
  });
}

let seen = 0;
/** The DMS calls made since the last `clear()`, as short strings. */
function calls(): string[] {
  return dmsMock.calls().slice(seen).map(call => {
    const command = call.args[0] as any;
    const input = command.input;
    if (command instanceof DescribeReplicationsCommand) {
      return `Describe(${input.Filters.map((f: any) => `${f.Name}=${f.Values.join(',')}`).join(';')})`;
    }
    if (command instanceof StartReplicationCommand) {
      return `Start(${input.ReplicationConfigArn},${input.StartReplicationType}${input.CdcStopPosition ? `,${input.CdcStopPosition}` : ''})`;
    }
    if (command instanceof StopReplicationCommand) {
      return `Stop(${input.ReplicationConfigArn})`;
    }
    return command.constructor.name;
  });
}
function clear(): void {
  seen = dmsMock.calls().length;
}

const common = { ReplicationConfigIdentifier: CONFIG_ID, PropertiesHash: HASH_A, SourceEndpointArn: SOURCE, TargetEndpointArn: TARGET };
const lifecycleProps = (extra: Record<string, string> = {}) => ({
  Role: ROLE_LIFECYCLE,
  ...common,
  ReplicationConfigArn: CONFIG_ARN,
  ReplicationType: 'full-load-and-cdc',
  StartOnDeploy: 'true',
  WaitForCompletion: 'false',
  MaxWaitSeconds: '6300',
  OnUpdate: 'resume-processing',
  ...extra,
});
const stopperProps = (extra: Record<string, string> = {}) => ({ Role: ROLE_STOPPER, ...common, ...extra });

function lifecycle(requestType: 'Create' | 'Update' | 'Delete', props = lifecycleProps(), old?: Record<string, string>, data?: Record<string, string>) {
  return request(SERVERLESS_LIFECYCLE_TYPE, requestType, props, old, data);
}
function stopper(requestType: 'Create' | 'Update' | 'Delete', props = stopperProps(), old?: Record<string, string>) {
  return request(SERVERLESS_LIFECYCLE_TYPE, requestType, props, old);
}
/** isComplete sees the request with the Data onEvent returned. */
function polled(event: ReturnType<typeof lifecycle>, data: Record<string, any> | undefined) {
  return { ...event, PhysicalResourceId: CONFIG_ARN, Data: data };
}

beforeEach(() => {
  setUp();
  seen = 0;
  dmsMock.on(StartReplicationCommand).resolves({ Replication: replication('initializing') });
  dmsMock.on(StopReplicationCommand).resolves({ Replication: replication('stopping') });
});
afterEach(tearDown);

describe('lifecycle: create', () => {
  test('starts a replication that was never started (not listed yet) and waits until it runs', async () => {
    describeReturns(undefined);
    const event = lifecycle('Create');
    const result = await onEvent(event);
    expect(result).toEqual({
      PhysicalResourceId: CONFIG_ARN,
      Data: {
        ReplicationConfigArn: CONFIG_ARN,
        Goal: 'running',
        RequestedAt: String(NOW),
        WaitDeadline: String(NOW + 6300 * 1000),
        InitialStatus: 'not started',
        InitialFailure: '',
        StartType: 'start-replication',
        StartIssued: 'true',
      },
    });
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},start-replication)`]);
    clear();

    describeReturns(replication('provisioning_capacity', { ProvisionData: { ProvisionState: 'provisioning' } }), replication('running'));
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
    expect(calls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('a created replication listed by DMS is started the same way; the CDC stop position goes with the start', async () => {
    describeReturns(replication('created'));
    await onEvent(lifecycle('Create', lifecycleProps({ CdcStopPosition: 'server_time:2026-02-09T12:12:12' })));
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},start-replication,server_time:2026-02-09T12:12:12)`]);
  });

  test('startOnDeploy false starts nothing', async () => {
    describeReturns(replication('created'));
    const result = await onEvent(lifecycle('Create', lifecycleProps({ StartOnDeploy: 'false' })));
    expect(result.Data).toMatchObject({ Goal: 'none', Status: 'created' });
    expect(calls()).toEqual([BY_ARN]);
    await expect(isComplete(polled(lifecycle('Create'), result.Data))).resolves.toEqual({ IsComplete: true });
  });

  test('a failure while starting fails the deployment with DMS\'s messages', async () => {
    describeReturns(undefined);
    const event = lifecycle('Create');
    const result = await onEvent(event);
    clear();
    describeReturns(
      replication('testing_connection'),
      replication('failed', {
        FailureMessages: ['Test connection failed for endpoint neon.', 'no pg_hba.conf entry for host'],
        StopReason: 'Stop Reason FATAL_ERROR',
        ReplicationStats: { StartDate: AFTER },
      }),
    );
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled(event, result.Data))).rejects.toThrow(
      'Serverless replication neon-migration failed: Test connection failed for endpoint neon. | no pg_hba.conf entry for host | Stop Reason FATAL_ERROR');
    expect(calls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('StartReplication refused by DMS fails the deployment with its message', async () => {
    describeReturns(replication('created'));
    dmsMock.on(StartReplicationCommand).rejects(fault('InvalidParameterCombinationException', 'The source endpoint is not supported by DMS Serverless'));
    await expect(onEvent(lifecycle('Create'))).rejects.toThrow(
      'Serverless replication neon-migration could not be started (start-replication): The source endpoint is not supported by DMS Serverless');
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},start-replication)`]);
  });

  test('a start refused while DMS moved on is polled again', async () => {
    describeReturns(replication('created'), replication('initializing'));
    dmsMock.on(StartReplicationCommand).rejectsOnce(fault('InvalidResourceStateFault', 'Replication is not in a valid state'));
    const result = await onEvent(lifecycle('Create'));
    expect(result.Data).toMatchObject({ StartIssued: 'false' });
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},start-replication)`, BY_ARN]);
  });

  test('throttled calls are retried with backoff in onEvent, and polled again in isComplete', async () => {
    dmsMock.on(DescribeReplicationsCommand)
      .rejectsOnce(throttling())
      .rejectsOnce(throttling())
      .resolves({ Replications: [replication('created')] });
    const event = lifecycle('Create');
    const result = await onEvent(event);
    expect(sleeps).toEqual([1000, 2000]);
    expect(calls()).toEqual([BY_ARN, BY_ARN, BY_ARN, `Start(${CONFIG_ARN},start-replication)`]);
    clear();

    dmsMock.on(DescribeReplicationsCommand).rejects(throttling());
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: false });
  });
});

describe('lifecycle: wait for completion', () => {
  const waiting = (type: string) => lifecycleProps({ WaitForCompletion: 'true', ReplicationType: type });

  test('a full load: done when it stopped because it finished', async () => {
    describeReturns(undefined);
    const event = lifecycle('Create', waiting('full-load'));
    const result = await onEvent(event);
    describeReturns(
      replication('running', { ReplicationStats: { StartDate: AFTER, FullLoadProgressPercent: 40, TablesLoading: 2 } }),
      replication('stopped', { StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED', ReplicationStats: { StartDate: AFTER, StopDate: AFTER, FullLoadProgressPercent: 100 } }),
    );
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({
      IsComplete: true, Data: { Status: 'stopped', StopReason: 'Stop Reason FULL_LOAD_ONLY_FINISHED' },
    });
  });

  test('errored tables fail the deployment', async () => {
    describeReturns(undefined);
    const event = lifecycle('Create', waiting('full-load-and-cdc'));
    const result = await onEvent(event);
    describeReturns(replication('running', { ReplicationStats: { StartDate: AFTER, FullLoadProgressPercent: 80, TablesErrored: 3 } }));
    await expect(isComplete(polled(event, result.Data))).rejects.toThrow(
      'Serverless replication neon-migration: 3 table(s) errored during the full load');
  });

  test('full load and CDC: done when the load reached 100 %', async () => {
    describeReturns(undefined);
    const event = lifecycle('Create', waiting('full-load-and-cdc'));
    const result = await onEvent(event);
    describeReturns(replication('running', { ReplicationStats: { StartDate: AFTER, FullLoadProgressPercent: 100, TablesLoading: 0, TablesQueued: 0 } }));
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
  });

  test('a stop that is not a finished load fails the deployment', async () => {
    describeReturns(undefined);
    const event = lifecycle('Create', waiting('full-load'));
    const result = await onEvent(event);
    describeReturns(replication('stopped', { StopReason: 'Stop Reason STOPPED_DUE_TO_LOW_MEMORY', ReplicationStats: { StopDate: AFTER } }));
    await expect(isComplete(polled(event, result.Data))).rejects.toThrow(
      'Serverless replication neon-migration stopped during the deployment: Stop Reason STOPPED_DUE_TO_LOW_MEMORY');
  });
});

describe('update: stop before the change, resume after it', () => {
  test('the stopper stops the running replication (found by identifier) and waits; the lifecycle resumes it', async () => {
    // 1. the stopper, before CloudFormation modifies the configuration
    describeReturns(replication('running', {}, true));
    const stop = stopper('Update', stopperProps({ PropertiesHash: HASH_B }), stopperProps());
    await expect(onEvent(stop)).resolves.toEqual({
      PhysicalResourceId: `dms-serverless-stopper:${CONFIG_ID}`, Data: { StoppedReplications: CONFIG_ID },
    });
    expect(calls()).toEqual([BY_ID, STOP]);
    clear();
    describeReturns(replication('stopping', {}, true), replication('stopped', {}, true));
    await expect(isComplete(stop)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(stop)).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([BY_ID, BY_ID]);
    clear();

    // 2. the lifecycle resource, after the modification
    const update = lifecycle('Update', lifecycleProps({ PropertiesHash: HASH_B }), lifecycleProps());
    const result = await onEvent(update);
    expect(result.Data).toMatchObject({ Goal: 'running', StartType: 'resume-processing', StartIssued: 'true', InitialStatus: 'stopped' });
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},resume-processing)`]);
    clear();
    describeReturns(replication('running', { ReplicationStats: { StartDate: AFTER } }));
    await expect(isComplete(polled(update, result.Data))).resolves.toEqual({ IsComplete: true, Data: { Status: 'running', StopReason: '' } });
  });

  test('onUpdate RELOAD reloads the target', async () => {
    describeReturns(replication('stopped', {}, true));
    await onEvent(lifecycle('Update', lifecycleProps({ PropertiesHash: HASH_B, OnUpdate: 'reload-target' }), lifecycleProps()));
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},reload-target)`]);
  });

  test('onUpdate LEAVE_STOPPED leaves it stopped', async () => {
    describeReturns(replication('stopped', {}, true));
    const result = await onEvent(lifecycle('Update', lifecycleProps({ PropertiesHash: HASH_B, OnUpdate: 'leave-stopped' }), lifecycleProps()));
    expect(result.Data).toMatchObject({ Goal: 'none', Status: 'stopped' });
    expect(calls()).toEqual([BY_ARN]);
  });

  test('a full-load replication cannot be resumed: it stays stopped', async () => {
    describeReturns(replication('stopped', {}, true));
    const props = (hash: string) => lifecycleProps({ PropertiesHash: hash, ReplicationType: 'full-load' });
    const result = await onEvent(lifecycle('Update', props(HASH_B), props(HASH_A)));
    expect(result.Data).toMatchObject({ Goal: 'none' });
    expect(calls()).toEqual([BY_ARN]);
  });

  test('an unchanged configuration is left as it is', async () => {
    describeReturns(replication('running', {}, true));
    const result = await onEvent(lifecycle('Update', lifecycleProps({ StartOnDeploy: 'false' }), lifecycleProps()));
    expect(result.Data).toMatchObject({ Goal: 'none', Status: 'running' });
    expect(calls()).toEqual([BY_ARN]);
  });

  test('a replaced target endpoint counts as a change for the stopper and the lifecycle', async () => {
    describeReturns(replication('running', {}, true));
    await onEvent(stopper('Update', stopperProps({ TargetEndpointArn: `${TARGET}2` }), stopperProps()));
    expect(calls()).toEqual([BY_ID, STOP]);
    clear();
    describeReturns(replication('stopped', {}, true));
    await onEvent(lifecycle('Update', lifecycleProps({ TargetEndpointArn: `${TARGET}2` }), lifecycleProps()));
    expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},resume-processing)`]);
  });

  test('a renamed configuration is stopped under its old identifier', async () => {
    dmsMock.on(DescribeReplicationsCommand, { Filters: [{ Name: 'replication-config-id', Values: ['old-name'] }] })
      .resolves({ Replications: [replication('running', { ReplicationConfigIdentifier: 'old-name' }, true)] });
    const event = stopper('Update', stopperProps(), stopperProps({ ReplicationConfigIdentifier: 'Old-Name' }));
    await expect(onEvent(event)).resolves.toMatchObject({ Data: { StoppedReplications: 'old-name' } });
    expect(calls()).toEqual(['Describe(replication-config-id=old-name)', STOP]);
  });

  test('the stopper ignores a replication DMS lists under another identifier', async () => {
    describeReturns(replication('running', { ReplicationConfigIdentifier: 'someone-else' }, true));
    const event = stopper('Update', stopperProps({ PropertiesHash: HASH_B }), stopperProps());
    await onEvent(event);
    expect(calls()).toEqual([BY_ID]);
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
  });

  test.each(['Create', 'Delete'] as const)('the stopper does nothing on %s', async (requestType) => {
    describeReturns(replication('running', {}, true));
    const event = stopper(requestType);
    await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: `dms-serverless-stopper:${CONFIG_ID}`, Data: { StoppedReplications: '' } });
    await expect(isComplete(event)).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([]);
  });

  test('the stopper polls again when throttled', async () => {
    dmsMock.on(DescribeReplicationsCommand).rejects(throttling());
    await expect(isComplete(stopper('Update', stopperProps({ PropertiesHash: HASH_B }), stopperProps()))).resolves.toEqual({ IsComplete: false });
  });
});

describe('delete', () => {
  test('stops a running replication and waits until it is stopped, so CloudFormation can delete the configuration', async () => {
    describeReturns(replication('running', {}, true));
    const event = lifecycle('Delete');
    await expect(onEvent(event)).resolves.toEqual({ PhysicalResourceId: 'physical', Data: { ReplicationConfigArn: CONFIG_ARN, Goal: 'stopped' } });
    expect(calls()).toEqual([BY_ARN, STOP]);
    clear();

    describeReturns(
      replication('stopping', {}, true),
      replication('stopped', { ProvisionData: { ProvisionState: 'deprovisioning' } }, true),
      replication('stopped', { ProvisionData: { ProvisionState: 'deprovisioned' } }, true),
    );
    await expect(isComplete(polled(event, undefined))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled(event, undefined))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled(event, undefined))).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([BY_ARN, BY_ARN, BY_ARN]);
  });

  test('a replication that never started is nothing to stop', async () => {
    describeReturns(undefined);
    const event = lifecycle('Delete');
    await onEvent(event);
    await expect(isComplete(polled(event, undefined))).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([BY_ARN, BY_ARN]);
  });

  test('a stop DMS refuses because the replication moved on is polled again, other errors fail', async () => {
    describeReturns(replication('running', {}, true));
    dmsMock.on(StopReplicationCommand).rejectsOnce(fault('InvalidResourceStateFault', 'Replication is stopping'));
    await expect(isComplete(polled(lifecycle('Delete'), undefined))).resolves.toEqual({ IsComplete: false });
    dmsMock.on(StopReplicationCommand).rejects(fault('AccessDeniedFault', 'not authorized to perform dms:StopReplication'));
    await expect(isComplete(polled(lifecycle('Delete'), undefined))).rejects.toThrow('not authorized to perform dms:StopReplication');
  });
});

// What stopping does, per status: StopReplication or not, and whether the goal "stopped" is reached.
const STOP_TABLE: Record<keyof typeof REPLICATION_STATUS_RULES, { stops: boolean; complete: boolean }> = {
  created: { stops: false, complete: true },
  ready: { stops: false, complete: true },
  initializing: { stops: true, complete: false },
  preparing_metadata_resources: { stops: true, complete: false },
  testing_connection: { stops: true, complete: false },
  fetching_metadata: { stops: true, complete: false },
  calculating_capacity: { stops: true, complete: false },
  provisioning_capacity: { stops: true, complete: false },
  replication_starting: { stops: true, complete: false },
  running: { stops: true, complete: false },
  stopping: { stops: false, complete: false },
  stopped: { stops: false, complete: true },
  failed: { stops: false, complete: true },
  deleting: { stops: false, complete: true },
};

test.each(Object.entries(STOP_TABLE))('delete of a %s replication: %j', async (status, expected) => {
  describeReturns(replication(status, {}, true));
  await expect(isComplete(polled(lifecycle('Delete'), undefined))).resolves.toEqual({ IsComplete: expected.complete });
  expect(calls()).toEqual(expected.stops ? [BY_ARN, STOP] : [BY_ARN]);
});

test('an unknown status waits for both goals', async () => {
  describeReturns(replication('migrating_somewhere', {}, true));
  await expect(isComplete(polled(lifecycle('Delete'), undefined))).resolves.toEqual({ IsComplete: false });
  expect(calls()).toEqual([BY_ARN]);
});

test('the shared provider routes Custom::DmsServerlessLifecycle to this handler', async () => {
  describeReturns(replication('created'));
  const event = lifecycle('Create');
  const result = await dispatcher.onEvent(event);
  expect(result.Data).toMatchObject({ StartType: 'start-replication' });
  describeReturns(replication('running', { ReplicationStats: { StartDate: AFTER } }));
  await expect(dispatcher.isComplete(polled(event, result.Data))).resolves.toMatchObject({ IsComplete: true });
  expect(calls()).toEqual([BY_ARN, `Start(${CONFIG_ARN},start-replication)`, BY_ARN]);
});

describe('rolling a failed update back (the stack is UPDATE_ROLLBACK_IN_PROGRESS)', () => {
  const restart = { ReplicationType: 'full-load-and-cdc', StartOnDeploy: 'true', OnUpdate: 'resume-processing' };
  const TAGS = 'ListTagsForResourceCommand';
  beforeEach(() => {
    stackIs('UPDATE_ROLLBACK_IN_PROGRESS');
    dmsMock.on(StopReplicationCommand).resolves({});
    dmsMock.on(StartReplicationCommand).resolves({});
  });

  test('the lifecycle, before CloudFormation restores the configuration: the replication is stopped; nothing started', async () => {
    taggedWith(HASH_B);
    describeReturns(replication('running', {}, true), replication('stopped', {}, true));
    // the rollback's update: the properties of before the failed update as new, the failed ones as old
    const event = lifecycle('Update', lifecycleProps(), lifecycleProps({ PropertiesHash: HASH_B }));
    const result = await onEvent(event);
    expect(result.Data).toEqual({ ReplicationConfigArn: CONFIG_ARN, Goal: 'none', Rollback: 'true', Restore: 'true' });
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(polled(event, result.Data))).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([BY_ARN, TAGS, STOP, BY_ARN, TAGS]);
  });

  test('the stopper, after CloudFormation restored the configuration: the replication starts again as onUpdate says', async () => {
    taggedWith(HASH_A);
    describeReturns(replication('stopped', {}, true));
    const event = stopper('Update', stopperProps(restart), stopperProps({ ...restart, PropertiesHash: HASH_B }));
    const result = await onEvent(event);
    expect(result.Data).toEqual({ Rollback: 'true', StoppedReplications: '' });
    expect(calls()).toEqual([]);
    await expect(isComplete({ ...event, Data: result.Data })).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([BY_ID, TAGS, `Start(${CONFIG_ARN},resume-processing)`]);
  });

  test('whichever runs second starts it: the lifecycle after the restore starts, the stopper before it stops', async () => {
    taggedWith(HASH_A);
    describeReturns(replication('stopped', {}, true));
    const life = lifecycle('Update', lifecycleProps(), lifecycleProps({ PropertiesHash: HASH_B }));
    await isComplete(polled(life, (await onEvent(life)).Data));
    expect(calls()).toEqual([BY_ARN, TAGS, `Start(${CONFIG_ARN},resume-processing)`]);
    clear();
    taggedWith(HASH_B);
    describeReturns(replication('running', {}, true));
    const stop = stopper('Update', stopperProps(restart), stopperProps({ ...restart, PropertiesHash: HASH_B }));
    await isComplete({ ...stop, Data: (await onEvent(stop)).Data });
    expect(calls()).toEqual([BY_ID, TAGS, STOP]);
  });

  test.each([
    ['a full-load replication with onUpdate RESUME (DMS cannot resume a full load)', { ReplicationType: 'full-load', OnUpdate: 'resume-processing' }, []],
    ['a full-load replication with onUpdate RELOAD', { ReplicationType: 'full-load', OnUpdate: 'reload-target' }, [`Start(${CONFIG_ARN},reload-target)`]],
    ['onUpdate LEAVE_STOPPED', { ReplicationType: 'cdc', OnUpdate: 'leave-stopped' }, []],
    ['a stopper from before it knew how to restart', {}, []],
  ])('restored: %s', async (_name, props, starts) => {
    taggedWith(HASH_A);
    describeReturns(replication('stopped', {}, true));
    const event = stopper('Update', stopperProps(props as Record<string, string>), stopperProps({ ...props, PropertiesHash: HASH_B }));
    await isComplete({ ...event, Data: (await onEvent(event)).Data });
    expect(calls()).toEqual([BY_ID, TAGS, ...starts]);
  });

  test('a configuration the rollback leaves unchanged is neither stopped nor started', async () => {
    describeReturns(replication('running', {}, true));
    const life = lifecycle('Update', lifecycleProps({ MaxWaitSeconds: '600' }), lifecycleProps());
    expect((await onEvent(life)).Data).toMatchObject({ Goal: 'none', Rollback: 'true', Restore: 'false' });
    const stop = stopper('Update', stopperProps({ OnUpdate: 'reload-target' }), stopperProps({ OnUpdate: 'resume-processing' }));
    await expect(isComplete({ ...stop, Data: (await onEvent(stop)).Data })).resolves.toEqual({ IsComplete: true });
    expect(calls()).toEqual([]);
  });
});
