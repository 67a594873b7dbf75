import type { Session } from './connection';
import type { Finding, MigrationType, Severity } from './finding';
import type { PreflightFindingCode } from './finding-codes';
import type { SelectedTable } from './selection';
import { DEFAULT_NEON_API_BASE_URL, NeonApiClient, NeonBranchStorage, neonBranchStorage } from '../neon/neon-api';

/*
 * The preflight's capacity checks of the target: the connection slots the DMS task and the
 * verification will take against what the target has free, and the size of the selected source
 * tables against the Neon branch's storage limit (from the Neon API).
 */

/** Where the preflight reads the Neon branch's storage and its limit. */
export interface NeonStorageAccess {
  /** The Neon API key (held in memory only). */
  readonly apiKey: string;
  /** The Neon project id, e.g. `crimson-sun-12345678`. */
  readonly projectId: string;
  /** The compute endpoint DMS writes to, e.g. `ep-cool-darkness-123456`: its branch is the one checked. */
  readonly endpointId: string;
  /** @default 'https://console.neon.tech/api/v2' */
  readonly apiBaseUrl?: string;
}

/** The DMS task's parallelism and the checks' own sessions on the target. */
export interface TargetCapacityOptions {
  /** `FullLoadSettings.MaxFullLoadSubTasks`: tables loaded at once. @default 8 */
  readonly maxFullLoadSubTasks?: number;
  /** `FullLoadSettings.ParallelLoadThreads`: threads per table (0: one). @default 0 */
  readonly parallelLoadThreads?: number;
  /** `ValidationSettings.ThreadCount` with validation on; 0 with it off. @default 0 */
  readonly validationThreads?: number;
  /** Sessions the verification opens on the target (`MigrationVerification.concurrency`); 0 without one. @default 0 */
  readonly verificationSessions?: number;
  /** The Neon branch to check the storage limit of, read from the Neon API. @default - storage not checked (an info finding says so) */
  readonly neon?: NeonStorageAccess;
  /**
   * The Neon branch's size and limit, read already (e.g. by `NeonComputeKeepAlive`, outside the VPC);
   * instead of `neon`. @default - read with `neon`
   */
  readonly neonStorage?: NeonBranchStorage;
}

/** Share of the free slots (or the storage limit) above which a finding warns. */
const HEADROOM = 0.8;
const STORAGE_HEADROOM = 0.9;

type Add = (severity: Severity, code: PreflightFindingCode, message: string) => void;

function adder(findings: Finding[]): Add {
  return (severity, code, message) => findings.push({ severity, code, message });
}

/** Whole positive integers (or 0) only. */
function count(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`targetCapacity.${name} must be an integer from ${min} to ${max}, got ${n}`);
  }
  return n;
}

/**
 * The connection slots the migration takes on the target at once, against the ones free:
 * `max_connections`, less the slots reserved for superusers (and `reserved_connections`) unless the
 * role is a superuser, less the sessions open now (the preflight's own excepted), and the role's and
 * the database's connection limits.
 */
export async function targetConnectionFindings(target: Session, migrationType: MigrationType, options: TargetCapacityOptions,
  ownApplicationName: string): Promise<Finding[]> {
  const subTasks = count('maxFullLoadSubTasks', options.maxFullLoadSubTasks, 8, 1, 49);
  const threads = count('parallelLoadThreads', options.parallelLoadThreads, 0, 0, 200);
  const validation = count('validationThreads', options.validationThreads, 0, 0, 200);
  const verification = count('verificationSessions', options.verificationSessions, 0, 0, 64);
  const parts: string[] = [];
  let required = 0;
  if (migrationType !== 'cdc') {
    const load = subTasks * Math.max(1, threads);
    required += load;
    parts.push(threads > 1 ? `${subTasks} full-load subtasks × ${threads} threads` : `${subTasks} full-load subtasks`);
  }
  if (migrationType !== 'full-load') {
    required += 1;
    parts.push('1 change apply session');
  }
  if (validation > 0) {
    required += validation;
    parts.push(`${validation} validation threads`);
  }
  if (verification > 0) {
    required += verification;
    parts.push(`${verification} verification sessions`);
  }

  const [row] = await target.query<{
    max_connections: number;
    superuser_reserved: number;
    reserved: number;
    in_use: number;
    role_in_use: number;
    db_in_use: number;
    rolsuper: boolean;
    rolconnlimit: number;
    datconnlimit: number;
    role: string;
    database: string;
  }>(`with others as (
       -- another role's sessions show no backend_type without pg_read_all_stats: count every session of a user in a database
       select a.usename, a.datname from pg_catalog.pg_stat_activity a
       where coalesce(a.backend_type, 'client backend') = 'client backend' and a.usesysid is not null and a.datname is not null
         and a.pid <> pg_catalog.pg_backend_pid() and coalesce(a.application_name, '') <> $1)
     select current_setting('max_connections')::int as max_connections,
            current_setting('superuser_reserved_connections')::int as superuser_reserved,
            coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int as reserved,
            (select count(*) from others)::int as in_use,
            (select count(*) from others o where o.usename = current_user)::int as role_in_use,
            (select count(*) from others o where o.datname = current_database())::int as db_in_use,
            r.rolsuper, r.rolconnlimit, d.datconnlimit, current_user as role, current_database() as database
     from pg_catalog.pg_roles r, pg_catalog.pg_database d
     where r.rolname = current_user and d.datname = current_database()`, [ownApplicationName]);

  const reserved = row.rolsuper ? 0 : row.superuser_reserved + row.reserved;
  const limits: Array<{ free: number; why: string }> = [{
    free: row.max_connections - reserved - row.in_use,
    why: `max_connections ${row.max_connections}${reserved > 0 ? ` − ${reserved} reserved` : ''} − ${row.in_use} in use`,
  }];
  // superusers are subject to neither the role's nor the database's CONNECTION LIMIT
  if (row.rolconnlimit >= 0 && !row.rolsuper) {
    limits.push({ free: row.rolconnlimit - row.role_in_use, why: `role ${row.role}'s CONNECTION LIMIT ${row.rolconnlimit} − ${row.role_in_use} in use` });
  }
  if (row.datconnlimit >= 0 && !row.rolsuper) {
    limits.push({ free: row.datconnlimit - row.db_in_use, why: `database ${row.database}'s CONNECTION LIMIT ${row.datconnlimit} − ${row.db_in_use} in use` });
  }
  const tightest = limits.reduce((a, b) => (b.free < a.free ? b : a));
  const free = Math.max(tightest.free, 0);
  const demand = `The migration may open ${required} sessions on the target at once (${parts.join(' + ')})`;
  const findings: Finding[] = [];
  const add = adder(findings);
  if (required > free) {
    add('blocking', 'TARGET_CONNECTIONS', `${demand}, and the target has ${free} free (${tightest.why}): the sessions beyond fail with `
      + '"too many connections" and DMS suspends the tables they load. Lower MaxFullLoadSubTasks (or the validation threads), close other sessions, '
      + 'or raise the Neon compute\'s minimum size: max_connections follows it (0.25 CU: 104, 1 CU: 419).');
  } else if (required > free * HEADROOM) {
    add('warning', 'TARGET_CONNECTIONS', `${demand}, close to the ${free} free on the target (${tightest.why}): the application and new sessions `
      + 'during the migration may find none left.');
  } else {
    add('info', 'TARGET_CONNECTIONS', `${demand}; the target has ${free} free (${tightest.why}).`);
  }
  return findings;
}

/**
 * The size of the selected source tables (tables, indexes and TOAST: what arrives in Neon) against
 * the Neon branch's storage limit, with what the branch holds already. Without Neon API access, an
 * info finding gives the sizes and says the limit was not checked.
 */
export async function targetStorageFindings(source: Session, tables: readonly SelectedTable[],
  options: Pick<TargetCapacityOptions, 'neon' | 'neonStorage'>): Promise<Finding[]> {
  const neon = options.neon;
  const [sizes] = await source.query<{ selected: string; database: string }>(
    `select coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::int8 as selected,
            pg_catalog.pg_database_size(current_database())::int8 as database
     from pg_catalog.pg_class c
     join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     join unnest($1::text[], $2::text[]) as t(schema_name, table_name) on n.nspname = t.schema_name and c.relname = t.table_name
     where c.relkind in ('r', 'p', 'm')`,
    [tables.map((t) => t.source.schema), tables.map((t) => t.source.table)]);
  const selected = Number(sizes.selected);
  const database = Number(sizes.database);
  const findings: Finding[] = [];
  const add = adder(findings);
  const onSource = `The selected tables take ${bytes(selected)} on the source (the database ${bytes(database)})`;
  if (!neon && !options.neonStorage) {
    add('info', 'TARGET_STORAGE_UNCHECKED', `${onSource}; the Neon branch's storage limit was not checked: give the preflight a Neon API key `
      + '(with the project and endpoint ids) to compare them, or compare them with the limit of the project\'s plan yourself.');
    return findings;
  }
  let storage = options.neonStorage;
  try {
    storage ??= await neonBranchStorage(new NeonApiClient({ baseUrl: neon!.apiBaseUrl ?? DEFAULT_NEON_API_BASE_URL, apiKey: neon!.apiKey }),
      neon!.projectId, neon!.endpointId);
  } catch (e) {
    add('warning', 'TARGET_STORAGE_UNCHECKED', `${onSource}; the Neon branch's storage limit could not be read (${(e as Error).message}): `
      + 'check the API key, project and endpoint ids, or compare the sizes with the limit of the project\'s plan yourself.');
    return findings;
  }
  const projected = storage.usedBytes + selected;
  const branch = `Neon branch ${storage.branchId} holds ${bytes(storage.usedBytes)}`;
  if (storage.limitBytes === undefined) {
    add('info', 'TARGET_STORAGE', `${onSource}; ${branch} and has no storage limit.`);
  } else if (projected > storage.limitBytes) {
    add('blocking', 'TARGET_STORAGE', `${onSource}; ${branch}, and its limit is ${bytes(storage.limitBytes)} (${storage.limitSource}): `
      + `about ${bytes(projected)} would not fit, and Neon suspends the branch's compute once it reaches the limit. Raise the limit (the project's plan or `
      + 'its logical size quota), or select fewer tables.');
  } else if (projected > storage.limitBytes * STORAGE_HEADROOM) {
    add('warning', 'TARGET_STORAGE', `${onSource}; ${branch}: about ${bytes(projected)} of its ${bytes(storage.limitBytes)} limit (${storage.limitSource}) `
      + 'after the load, little room for indexes built afterwards and for growth.');
  } else {
    add('info', 'TARGET_STORAGE', `${onSource}; ${branch}: about ${bytes(projected)} of its ${bytes(storage.limitBytes)} limit after the load.`);
  }
  return findings;
}

/** A byte count for people: `512 B`, `3.4 MB`, `1.2 GB` (powers of 1024). */
export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
