import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { MappingRule, TableMappings } from '../../lib/fidelity/selection';
import { LibpqVariables, runSchemaCopy, schemaCopyEnvironment, SchemaCopyEnvironment, SchemaCopyError, SchemaCopyStep } from '../../lib/schema/steps';
import { PgCluster } from '../fidelity/pg-cluster';

/** The rich source schema: every kind of object the schema copy has to carry. */
export const FIXTURE = fs.readFileSync(path.join(__dirname, 'fixture.sql'), 'utf8');

/** The libpq variables of a database of a local cluster (trust authentication, no password). */
export function libpq(cluster: PgCluster, database = 'postgres'): LibpqVariables {
  return { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: 'postgres', PGDATABASE: database, PGSSLMODE: 'disable' };
}

export const include = (schema: string, table: string, extra: Partial<MappingRule> = {}): MappingRule => ({
  'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': schema, 'table-name': table }, ...extra,
});
export const exclude = (schema: string, table: string): MappingRule => ({
  'rule-type': 'selection', 'rule-action': 'exclude', 'object-locator': { 'schema-name': schema, 'table-name': table },
});

/** Numbers the rules as DMS requires (rule-id and rule-name). */
export function mappings(...rules: MappingRule[]): TableMappings {
  return { rules: rules.map((r, i) => ({ 'rule-id': String(i + 1), 'rule-name': String(i + 1), ...r })) };
}

/** The fixture's tables: schemas app and audit, without app.scratch. */
export const FIXTURE_MAPPINGS = mappings(include('app', '%'), exclude('app', 'scratch'), include('audit', '%'));

/** Neon's extension list, shipped with the script. */
export const NEON_EXTENSIONS = path.join(__dirname, '..', '..', 'lib', 'schema', 'neon-extensions.json');

/** Runs a step; resolves with its lines, or with the error it failed with. */
export async function step(
  name: SchemaCopyStep | 'plan', env: SchemaCopyEnvironment,
): Promise<{ lines: string[]; error?: SchemaCopyError }> {
  try {
    const result = await runSchemaCopy(name as SchemaCopyStep, env);
    return { lines: [...result.lines] };
  } catch (e) {
    if (!(e instanceof SchemaCopyError)) throw e;
    return { lines: e.output.split('\n').filter((l) => l), error: e };
  }
}

/** The environment of a copy from `source` to `target`. */
export function copyEnvironment(
  source: PgCluster, sourceDb: string, target: PgCluster, targetDb: string, tableMappings: TableMappings = FIXTURE_MAPPINGS,
  allowedExtensionsFile: string | undefined = NEON_EXTENSIONS,
): SchemaCopyEnvironment {
  return schemaCopyEnvironment({
    source: libpq(source, sourceDb), target: libpq(target, targetDb), mappings: tableMappings, allowedExtensionsFile,
  });
}

/** Runs psql with a command on a database; throws with psql's message on failure. */
export function psql(cluster: PgCluster, db: string, sql: string): string {
  const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', cluster.url(db), '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return r.stdout.trim();
}

/**
 * A full load as DMS does it into tables that exist already (target table preparation DO_NOTHING):
 * each selected table's rows are written with COPY into the existing target table, in no particular
 * order and without constraints or triggers in the way (the post-data section is not restored yet);
 * sequences are not touched.
 *
 * - Generated columns are left out of the column list: PostgreSQL refuses any value written into a
 *   generated column, COPY included, so a load that writes them fails; the target computes them from
 *   the copied columns, which gives the source's values (the expression is the same).
 * - Identity columns are written with the source's values, GENERATED ALWAYS ones too: COPY FROM writes
 *   the values it is given into identity columns (as INSERT ... OVERRIDING SYSTEM VALUE does).
 * - A partitioned table is loaded through its root, which routes each row to its partition.
 */
export function dmsLikeFullLoad(source: PgCluster, sourceDb: string, target: PgCluster, targetDb: string, tables: readonly string[]): void {
  for (const table of tables) {
    const columns = psql(source, sourceDb, `
      select string_agg(quote_ident(attname), ', ' order by attnum) from pg_attribute
      where attrelid = '${table}'::regclass and attnum > 0 and not attisdropped and attgenerated = ''`);
    const script = 'set -o pipefail; psql -X -q -v ON_ERROR_STOP=1 -d "$SRC" -c "$OUT" | psql -X -q -v ON_ERROR_STOP=1 -d "$TGT" -c "$IN"';
    const r = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        SRC: source.url(sourceDb),
        TGT: target.url(targetDb),
        OUT: `copy (select ${columns} from ${table}) to stdout`,
        IN: `copy ${table} (${columns}) from stdin`,
      },
    });
    if (r.status !== 0) throw new Error(`loading ${table}: ${r.stderr}`);
  }
}

/** The tables the fixture mapping selects (the partitioned table by its root). */
export const FIXTURE_TABLES = ['app.customers', 'app.products', 'app.orders', 'app.order_lines', 'app.events', 'audit.log'];

/** `pg_dump --schema-only` of some schemas, without owners and privileges (they differ between services). */
export function schemaDump(cluster: PgCluster, db: string, args: readonly string[]): string {
  const r = spawnSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', ...args, '-d', cluster.url(db)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

/**
 * A schema dump without the lines that legitimately differ between two databases holding the same
 * schema:
 * - `\restrict <key>` and `\unrestrict <key>`: pg_dump (17.6, 16.10, 15.14 and later) writes a
 *   random key per dump, which psql uses to refuse meta-commands smuggled into the dump;
 * - `-- Dumped from database version …` and `-- Dumped by pg_dump version …`: the server versions of
 *   the two sides (a source on one major version, Neon on another) and of the tool.
 * Everything else, comments naming each object included, must be identical.
 */
export function normaliseDump(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !/^\\(un)?restrict /.test(line))
    .filter((line) => !/^-- Dumped (from database|by pg_dump) version /.test(line))
    .join('\n');
}
