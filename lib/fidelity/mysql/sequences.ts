import type { Client as PgClient, ClientConfig } from 'pg';
import { describeMySqlTable, resolveMySqlTables } from './catalog';
import { MySqlSessionSlots, mident, mqualified } from './connection';
import { ConnectionFailedError } from '../connection';
import { defaultMappings, displayName, NameMapper } from '../selection';
import { MySqlSequenceOptions, SequenceSetting, SequencesResult } from '../source-engine';
import { qualified } from '../sql';

// pg's client alone, as the checks use it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Client: typeof PgClient = require('pg/lib/client');

/**
 * Sets the target's sequences behind the columns converted from MySQL's AUTO_INCREMENT columns
 * (serial or identity columns, found with `pg_get_serial_sequence`) so that the next value they
 * hand out is the source's next value: the larger of the table's `AUTO_INCREMENT` and
 * `MAX(column) + 1`. A sequence already at or past it is kept: never moved backwards. All in one
 * transaction on the target.
 */
export async function setMySqlSequences(options: MySqlSequenceOptions): Promise<SequencesResult> {
  const mappings = options.mappings ?? defaultMappings();
  const mapper = new NameMapper(mappings);
  const sources = new MySqlSessionSlots(options.source, 'cdk-neon-migration cutover', 'source');
  const config: ClientConfig = typeof options.target === 'string' ? { connectionString: options.target } : { ...options.target };
  const client = new Client({ application_name: 'cdk-neon-migration cutover', ...config });
  try {
    await client.connect();
  } catch (e) {
    await sources.closeAll();
    throw new ConnectionFailedError('target', (e as Error).message);
  }
  try {
    const source = await sources.get(0);
    const sequences: SequenceSetting[] = [];
    const withoutSequence: string[] = [];
    const wanted: Array<{ column: string; targetTable: string; targetColumn: string; next: bigint }> = [];
    for (const table of await resolveMySqlTables(source, mappings)) {
      if (table.kind !== 'r') continue;
      const shape = await describeMySqlTable(source, table.source);
      const column = shape?.columns.find((c) => c.autoIncrement);
      if (!shape || !column) continue;
      const targetColumn = mapper.column(table.source, column.name);
      if (targetColumn === undefined) continue;
      // information_schema may cache AUTO_INCREMENT (MySQL 8's information_schema_stats_expiry): the stored maximum bounds it
      const [row] = await source.query<{ m: string | null }>(`SELECT CAST(MAX(${mident(column.name)}) AS CHAR) AS m FROM ${mqualified(table.source.schema, table.source.table)}`);
      const fromMax = row.m === null ? 1n : BigInt(row.m) + 1n;
      const fromCounter = shape.autoIncrement ? BigInt(shape.autoIncrement) : 1n;
      wanted.push({
        column: `${displayName(table.source)}.${column.name}`,
        targetTable: qualified(table.target.schema, table.target.table),
        targetColumn,
        next: fromMax > fromCounter ? fromMax : fromCounter,
      });
    }
    await client.query('begin');
    try {
      for (const w of wanted) {
        const found = await client.query<{ seq: string | null }>('select pg_get_serial_sequence($1, $2) as seq', [w.targetTable, w.targetColumn]);
        const seq = found.rows[0]?.seq ?? null;
        if (seq === null) {
          withoutSequence.push(w.column);
          continue;
        }
        const position = await client.query<{ next: string }>(
          `select (case when is_called then last_value + 1 else last_value end)::text as next from ${seq}`);
        const before = BigInt(position.rows[0].next);
        const action = before < w.next ? 'set' : 'kept';
        if (action === 'set') await client.query('select setval($1::regclass, $2::int8, false)', [seq, w.next.toString()]);
        sequences.push({ column: w.column, sequence: seq, sourceNext: w.next.toString(), targetNextBefore: before.toString(), action });
      }
      await client.query('commit');
    } catch (e) {
      await client.query('rollback').catch(() => undefined);
      throw e;
    }
    return { sequences, withoutSequence };
  } finally {
    await Promise.all([sources.closeAll(), client.end().catch(() => undefined)]);
  }
}
