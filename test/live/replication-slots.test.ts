import { Client } from 'pg';
import { createSlot, slotState, startWalsender, Walsender, writeWal } from './slot-fixture';
import { dropTaskSlots, identifyTaskSlot, listLogicalSlots } from '../../lib/live/replication-slots';
import { PgCluster, startPgCluster } from '../fidelity/pg-cluster';

/*
 * The slot cleanup's SQL against a real cluster with wal_level=logical: the task's slot (created
 * first, so it holds the oldest WAL), read by a walsender from the task's replication instance
 * (127.0.0.1); another task's slot, stopped; a third task's slot, read from another replication
 * instance (::1); a slot of another database; a pgoutput slot (a publication's, not DMS's).
 */

let cluster: PgCluster;
let client: Client;
const walsenders: Walsender[] = [];

beforeAll(async () => {
  cluster = await startPgCluster({ settings: { listen_addresses: '127.0.0.1,::1', max_replication_slots: 12 } });
  await cluster.sql('CREATE DATABASE app');
  await cluster.sql('CREATE DATABASE other');
  client = new Client({ connectionString: cluster.url('app') });
  await client.connect();
});

afterAll(async () => {
  await Promise.all(walsenders.map((w) => w.stop().catch(() => undefined)));
  await client?.end();
  await cluster?.stop();
});

describe('replication slots of a task on a real cluster', () => {
  let taskSlotLsn: string;

  beforeAll(async () => {
    taskSlotLsn = await createSlot(cluster, 'app', 'dms_task_slot');
    await writeWal(cluster, 'app', 8);
    await createSlot(cluster, 'app', 'other_task_stopped');
    await createSlot(cluster, 'app', 'other_instance_running');
    await createSlot(cluster, 'other', 'other_database');
    await createSlot(cluster, 'app', 'publication_slot', 'pgoutput');
    await writeWal(cluster, 'app', 2);
    walsenders.push(await startWalsender(cluster, 'app', 'dms_task_slot', '127.0.0.1'));
    walsenders.push(await startWalsender(cluster, 'app', 'other_instance_running', '::1'));
  });

  test('lists the logical slots of the database with their walsender and the WAL they keep', async () => {
    const slots = await listLogicalSlots(client, 'app');
    expect(slots.map((s) => s.name)).toEqual(['dms_task_slot', 'other_instance_running', 'other_task_stopped', 'publication_slot']);
    const task = slots.find((s) => s.name === 'dms_task_slot')!;
    expect(task).toMatchObject({ plugin: 'test_decoding', database: 'app', active: true, clientAddress: '127.0.0.1' });
    expect(slots.find((s) => s.name === 'other_instance_running')).toMatchObject({ active: true, clientAddress: '::1' });
    expect(slots.find((s) => s.name === 'other_task_stopped')).toMatchObject({ active: false, clientAddress: undefined });
    // the task's slot was created before the 8 MB were written
    expect(task.retainedBytes).toBeGreaterThan(0);
  });

  test('recognises the task\'s slot by its walsender\'s address, and refuses to choose between two', async () => {
    const slots = await listLogicalSlots(client, 'app');
    expect(identifyTaskSlot(slots, ['127.0.0.1'])).toEqual({ slot: 'dms_task_slot', candidates: ['dms_task_slot'] });
    expect(identifyTaskSlot(slots, ['10.0.0.9', '::1/128'])).toEqual({ slot: 'other_instance_running', candidates: ['other_instance_running'] });
    expect(identifyTaskSlot(slots, ['::ffff:127.0.0.1', '::1'])).toEqual({ slot: undefined, candidates: ['dms_task_slot', 'other_instance_running'] });
    expect(identifyTaskSlot(slots, ['10.0.0.9'])).toEqual({ slot: undefined, candidates: [] });
  });

  test('never drops an active slot, a slot of another database, or one of another plugin', async () => {
    const result = await dropTaskSlots(client, 'app', ['dms_task_slot', 'other_database', 'publication_slot', 'no_such_slot']);
    expect(result.dropped).toEqual([]);
    expect(result.releasedBytes).toBe(0);
    expect(result.kept).toEqual([
      { name: 'dms_task_slot', reason: 'active: a walsender reads it' },
      { name: 'other_database', reason: 'a slot of database other' },
      { name: 'publication_slot', reason: 'decoded with pgoutput, a plugin DMS does not use' },
      { name: 'no_such_slot', reason: 'no such slot' },
    ]);
    expect(Object.keys(await slotState(cluster)).sort()).toEqual(
      ['dms_task_slot', 'other_database', 'other_instance_running', 'other_task_stopped', 'publication_slot']);
  });

  test('once the task stopped, drops its slot only, and the WAL it held is released', async () => {
    await walsenders[0].stop();
    const before = await slotState(cluster);
    // no walsender confirmed anything: the slot still holds the WAL written since it was created
    expect(before.dms_task_slot).toMatchObject({ active: false, restartLsn: taskSlotLsn });
    // the next-oldest slot decides how far the server's WAL horizon moves
    const nextOldest = ['other_task_stopped', 'other_instance_running', 'other_database', 'publication_slot']
      .map((name) => before[name].retained).reduce((a, b) => Math.max(a, b));
    const expectedRelease = before.dms_task_slot.retained - nextOldest;
    expect(expectedRelease).toBeGreaterThan(8 * 1024 * 1024 * 0.9);

    const result = await dropTaskSlots(client, 'app', ['dms_task_slot']);

    expect(result.kept).toEqual([]);
    expect(result.dropped).toHaveLength(1);
    expect(result.dropped[0].name).toBe('dms_task_slot');
    expect(result.dropped[0].retainedBytes).toBeGreaterThanOrEqual(before.dms_task_slot.retained);
    expect(result.releasedBytes).toBe(expectedRelease);
    const after = await slotState(cluster);
    expect(after.dms_task_slot).toBeUndefined();
    expect(after.other_task_stopped).toMatchObject({ active: false, restartLsn: before.other_task_stopped.restartLsn });
    expect(after.other_instance_running.active).toBe(true);
    expect(after.other_database).toBeDefined();
    expect(after.publication_slot).toBeDefined();
  });

  test('dropping the same slot again is a no-op', async () => {
    const result = await dropTaskSlots(client, 'app', ['dms_task_slot', 'dms_task_slot']);
    expect(result).toEqual({ dropped: [], kept: [{ name: 'dms_task_slot', reason: 'no such slot' }], releasedBytes: 0 });
  });
});
