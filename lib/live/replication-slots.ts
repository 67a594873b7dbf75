/*
 * The logical replication slots of a PostgreSQL source, as the slot cleanup sees them: which one a
 * replication task reads, and dropping the ones a task left behind. Runs in the replication network
 * (the slot function); bundled without aws-cdk-lib.
 *
 * DMS names the slots it creates itself, and documents no rule for the name (CHAP_Source.PostgreSQL:
 * "Slots open automatically as soon as a task starts and remain open even when the task is no longer
 * running. Make sure to manually delete open slots."). A task's slot is therefore recognised while
 * the task reads it: the one logical slot of the task's database, decoded with a plugin DMS uses,
 * whose walsender connects from the task's replication instance. A slot is only ever dropped by
 * name, when it is logical, of that database, of such a plugin and inactive.
 */

/** The logical decoding plugins DMS uses for a PostgreSQL source (pglogical when installed, else test_decoding). */
export const DMS_DECODING_PLUGINS: readonly string[] = ['test_decoding', 'pglogical'];

/** What runs the queries: a connected `pg` client. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

/** One logical replication slot of a database. */
export interface LogicalSlot {
  readonly name: string;
  readonly plugin: string;
  readonly database: string;
  /** Whether a walsender reads it now. */
  readonly active: boolean;
  /** Address of the walsender's client while the slot is active (NULL for Unix sockets, or when the role may not see it). */
  readonly clientAddress?: string;
  /** WAL the slot keeps on the server: from its `restart_lsn` to the current WAL position, in bytes. */
  readonly retainedBytes: number;
  readonly restartLsn?: string;
  readonly confirmedFlushLsn?: string;
}

/** The slot a task reads, recognised among the slots of its database. */
export interface TaskSlotMatch {
  /** The task's slot: set only when exactly one slot matches. */
  readonly slot?: string;
  /** Every matching slot: more than one means the task cannot be told apart (no slot is recorded). */
  readonly candidates: string[];
}

/** A slot the cleanup dropped. */
export interface DroppedSlot {
  readonly name: string;
  /** WAL the slot kept on the server when it was dropped, in bytes. */
  readonly retainedBytes: number;
}

/** A slot the cleanup was asked to drop and kept. */
export interface KeptSlot {
  readonly name: string;
  readonly reason: string;
}

/** What `dropTaskSlots` did. */
export interface DropResult {
  readonly dropped: DroppedSlot[];
  readonly kept: KeptSlot[];
  /**
   * How far the oldest WAL position any slot of the server needs moved forward: the WAL the server
   * may now remove at its next checkpoint, in bytes (0 when another slot still needs it).
   */
  readonly releasedBytes: number;
}

const SLOTS_QUERY = `
  SELECT s.slot_name, s.plugin, s.database, s.active,
         host(r.client_addr) AS client_addr,
         coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint AS retained_bytes,
         s.restart_lsn::text AS restart_lsn, s.confirmed_flush_lsn::text AS confirmed_flush_lsn
    FROM pg_replication_slots s
    LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
   WHERE s.slot_type = 'logical' AND s.database = $1
   ORDER BY s.slot_name`;

/** The logical replication slots of `database`. */
export async function listLogicalSlots(db: Queryable, database: string): Promise<LogicalSlot[]> {
  const result = await db.query(SLOTS_QUERY, [database]);
  return result.rows.map((row) => ({
    name: String(row.slot_name),
    plugin: String(row.plugin),
    database: String(row.database),
    active: row.active === true,
    clientAddress: row.client_addr ?? undefined,
    retainedBytes: Number(row.retained_bytes),
    restartLsn: row.restart_lsn ?? undefined,
    confirmedFlushLsn: row.confirmed_flush_lsn ?? undefined,
  }));
}

/**
 * The slot a running task reads: active, decoded with a plugin DMS uses, its walsender connected
 * from one of `addresses` (the task's replication instance). Nothing when none or several match:
 * several tasks of one replication instance reading the same database cannot be told apart.
 */
export function identifyTaskSlot(slots: readonly LogicalSlot[], addresses: readonly string[]): TaskSlotMatch {
  const wanted = new Set(addresses.map(normalizeAddress).filter((a) => a.length > 0));
  const candidates = slots
    .filter((s) => s.active && DMS_DECODING_PLUGINS.includes(s.plugin))
    .filter((s) => s.clientAddress !== undefined && wanted.has(normalizeAddress(s.clientAddress)))
    .map((s) => s.name);
  return { slot: candidates.length === 1 ? candidates[0] : undefined, candidates };
}

/** `::ffff:10.0.0.5` and `10.0.0.5/32` as `10.0.0.5`. */
function normalizeAddress(address: string): string {
  return address.trim().replace(/\/\d+$/, '').replace(/^::ffff:/i, '').toLowerCase();
}

/** The oldest WAL position any slot of the server needs, and the current one. */
async function walHorizon(db: Queryable): Promise<{ oldest?: string; current: string }> {
  const result = await db.query(`SELECT (SELECT min(restart_lsn) FROM pg_replication_slots WHERE restart_lsn IS NOT NULL)::text AS oldest,
    pg_current_wal_lsn()::text AS current`);
  return { oldest: result.rows[0].oldest ?? undefined, current: String(result.rows[0].current) };
}

/**
 * Drops the slots `names` of `database` that a task left behind. A slot is dropped only when it is
 * logical, of `database`, decoded with a plugin DMS uses, and inactive — in one statement, so a
 * walsender that connects meanwhile keeps it; any other slot is kept and the reason reported.
 */
export async function dropTaskSlots(db: Queryable, database: string, names: readonly string[]): Promise<DropResult> {
  const dropped: DroppedSlot[] = [];
  const kept: KeptSlot[] = [];
  const before = await walHorizon(db);
  for (const name of [...new Set(names)]) {
    const found = (await db.query(`SELECT slot_type, database, plugin, active,
        coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint AS retained_bytes
        FROM pg_replication_slots WHERE slot_name = $1`, [name])).rows[0];
    const reason = !found ? 'no such slot'
      : found.slot_type !== 'logical' ? 'not a logical slot'
        : found.database !== database ? `a slot of database ${found.database}`
          : !DMS_DECODING_PLUGINS.includes(found.plugin) ? `decoded with ${found.plugin}, a plugin DMS does not use`
            : found.active === true ? 'active: a walsender reads it' : undefined;
    if (reason) {
      kept.push({ name, reason });
      continue;
    }
    try {
      const result = await db.query(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
        WHERE slot_name = $1 AND slot_type = 'logical' AND database = $2 AND plugin = ANY($3::text[]) AND NOT active`,
      [name, database, DMS_DECODING_PLUGINS]);
      if (result.rows.length === 1) {
        dropped.push({ name, retainedBytes: Number(found.retained_bytes) });
      } else {
        kept.push({ name, reason: 'changed while it was checked (dropped or taken by a walsender)' });
      }
    } catch (e) {
      // "replication slot ... is active for PID ...": a walsender took it between the check and the drop
      kept.push({ name, reason: (e as Error).message });
    }
  }
  const after = await walHorizon(db);
  const releasedBytes = before.oldest === undefined ? 0
    : Number((await db.query('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint AS released', [after.oldest ?? after.current, before.oldest])).rows[0].released);
  return { dropped, kept, releasedBytes: Math.max(0, releasedBytes) };
}
