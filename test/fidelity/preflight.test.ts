import * as fs from 'fs';
import * as path from 'path';
import { startPgCluster, PgCluster } from './pg-cluster';
import { PREFLIGHT_FINDING_CODES } from '../../lib/fidelity/finding-codes';
import { Finding, preflight, PreflightOptions } from '../../lib/fidelity/preflight';
import { TableMappings } from '../../lib/fidelity/selection';

/** wal_level=replica and a single WAL sender: not fit for CDC. */
let replica: PgCluster;
/** wal_level=logical: the target, and a CDC-ready source. */
let logical: PgCluster;

const SOURCE = `
  create type mood as enum ('sad', 'happy');
  create table nopk (a int, b text);
  insert into nopk values (1, 'x');
  create table nopk_full (a int, b text);
  alter table nopk_full replica identity full;
  create table docs (id int primary key, body text, data jsonb, blob bytea, small varchar(10));
  insert into docs values (1, repeat('x', 100 * 1024), '{"a": 1}', '\\x00ff', 'ok'), (2, 'short', null, null, null);
  create table tagged (id int primary key, tags text[]);
  create table tags_nopk (tags int[]);
  create table amounts (id int primary key, exact numeric, bounded numeric(10,2), m mood);
  insert into amounts values (1, 1.1234567, 1.5, 'sad');
  create table fits (id int primary key, exact numeric);
  insert into fits values (1, 12.5);
`;

beforeAll(async () => {
  [replica, logical] = await Promise.all([
    startPgCluster({ walLevel: 'replica', settings: { max_wal_senders: 1 } }),
    startPgCluster({ walLevel: 'logical' }),
  ]);
  await replica.sql(SOURCE);
  // the target: docs lacks blob, has data as json and a NOT NULL extra column; tagged holds a row; nopk is absent
  await logical.sql(`
    create table docs (id int primary key, body text, data json, small varchar(10), tenant int not null, note text);
    create table tagged (id int primary key, tags text[]);
    insert into tagged values (1, '{a}');
    create table fits (id int primary key, exact numeric);
    create role app login;
  `);
  await logical.sql("select pg_create_logical_replication_slot('old_slot', 'test_decoding')");
});

afterAll(async () => {
  await Promise.all([replica?.stop(), logical?.stop()]);
});

function only(tables: string[]): TableMappings {
  return {
    rules: tables.map((t, i) => ({
      'rule-type': 'selection',
      'rule-id': String(i + 1),
      'rule-action': 'include',
      'object-locator': { 'schema-name': 'public', 'table-name': t },
    })),
  };
}

function codes(findings: readonly Finding[], filter: Partial<Finding> = {}): string[] {
  return findings
    .filter((f) => Object.entries(filter).every(([k, v]) => (f as unknown as Record<string, unknown>)[k] === v))
    .map((f) => `${f.severity}:${f.code}${f.table ? `:${f.table}` : ''}${f.column ? `.${f.column}` : ''}`)
    .sort();
}

async function run(options: Partial<PreflightOptions>) {
  return preflight({ source: replica.url(), ...options });
}

describe('primary keys', () => {
  test('a table without primary key is a warning for a full load', async () => {
    const result = await run({ mappings: only(['nopk']) });
    expect(codes(result.findings)).toEqual(['info:LOB_COLUMN:public.nopk.b', 'warning:NO_PRIMARY_KEY:public.nopk']);
    expect(result.ok).toBe(true);
  });

  test('a table without primary key blocks CDC, unless it has REPLICA IDENTITY FULL', async () => {
    const result = await run({ mappings: only(['nopk', 'nopk_full']), migrationType: 'full-load-and-cdc' });
    expect(codes(result.findings, { code: 'NO_PRIMARY_KEY' })).toEqual([
      'blocking:NO_PRIMARY_KEY:public.nopk',
      'warning:NO_PRIMARY_KEY:public.nopk_full',
    ]);
    expect(result.ok).toBe(false);
  });

  test('an array column needs a primary key', async () => {
    const result = await run({ mappings: only(['tags_nopk', 'tagged']), migrationType: 'cdc' });
    expect(codes(result.findings, { code: 'ARRAY_WITHOUT_PK' })).toEqual(['blocking:ARRAY_WITHOUT_PK:public.tags_nopk.tags']);
  });
});

describe('LOB columns', () => {
  test('a stored value over LobMaxSize blocks: it would be truncated', async () => {
    const result = await run({ mappings: only(['docs']), lobMaxSizeKb: 32 });
    expect(codes(result.findings)).toEqual([
      'blocking:LOB_TRUNCATED:public.docs.body',
      'info:LOB_COLUMN:public.docs.blob',
      'info:LOB_COLUMN:public.docs.data',
    ]);
    const truncated = result.findings.find((f) => f.code === 'LOB_TRUNCATED')!;
    expect(truncated.message).toMatch(/100 KB \(102400 bytes\), over the LOB limit of 32 KB/);
    expect(truncated.message).toMatch(/Raise LobMaxSize to at least 100 KB/);
    expect(result.ok).toBe(false);
  });

  test('a limit above the largest value passes, and full LOB mode never truncates', async () => {
    expect((await run({ mappings: only(['docs']), lobMaxSizeKb: 100 })).ok).toBe(true);
    expect((await run({ mappings: only(['docs']), lobMaxSizeKb: 99 })).ok).toBe(false);
    expect((await run({ mappings: only(['docs']), fullLobMode: true })).ok).toBe(true);
  });

  test('SupportLobs=false blocks every LOB column: it would be dropped', async () => {
    const result = await run({ mappings: only(['docs']), supportLobs: false });
    expect(codes(result.findings)).toEqual([
      'blocking:LOB_COLUMN_DROPPED:public.docs.blob',
      'blocking:LOB_COLUMN_DROPPED:public.docs.body',
      'blocking:LOB_COLUMN_DROPPED:public.docs.data',
    ]);
  });

  test('the default limit is 32 KB', async () => {
    expect(codes((await run({ mappings: only(['docs']) })).findings, { severity: 'blocking' })).toEqual(['blocking:LOB_TRUNCATED:public.docs.body']);
  });
});

describe('types', () => {
  test('numeric without precision blocks when stored values do not fit NUMERIC(28,6); enums are converted', async () => {
    const result = await run({ mappings: only(['amounts', 'fits']) });
    expect(codes(result.findings)).toEqual([
      'blocking:NUMERIC_PRECISION_LOSS:public.amounts.exact',
      'warning:TYPE_CONVERTED:public.amounts.m',
      'warning:TYPE_CONVERTED:public.fits.exact',
    ]);
  });
});

describe('CDC prerequisites', () => {
  test('wal_level=replica and a single WAL sender block CDC', async () => {
    const result = await run({ mappings: only(['docs']), migrationType: 'cdc', fullLobMode: true });
    expect(codes(result.findings, { severity: 'blocking' })).toEqual(['blocking:MAX_WAL_SENDERS', 'blocking:WAL_LEVEL']);
    expect(result.findings.find((f) => f.code === 'WAL_LEVEL')!.message).toMatch(/wal_level is replica/);
  });

  test('a full load does not check replication settings', async () => {
    const result = await run({ mappings: only(['docs']), fullLobMode: true });
    expect(codes(result.findings, { severity: 'blocking' })).toEqual([]);
  });

  test('a logical source passes; existing slots are listed; a role without REPLICATION blocks', async () => {
    await logical.sql('create table src (id int primary key); grant select on src to app;');
    const superuser = await preflight({ source: logical.url(), mappings: only(['src']), migrationType: 'full-load-and-cdc' });
    expect(codes(superuser.findings)).toEqual(['warning:REPLICATION_SLOT']);
    expect(superuser.findings[0].message).toMatch(/old_slot \(logical, test_decoding, database postgres\) exists and is inactive/);
    expect(superuser.ok).toBe(true);

    const app = await preflight({ source: logical.url().replace('postgres@', 'app@'), mappings: only(['src']), migrationType: 'cdc' });
    expect(codes(app.findings, { severity: 'blocking' })).toEqual(['blocking:REPLICATION_PRIVILEGE']);

    await logical.sql('alter role app replication');
    const granted = await preflight({ source: logical.url().replace('postgres@', 'app@'), mappings: only(['src']), migrationType: 'cdc' });
    expect(granted.ok).toBe(true);
  });
});

describe('target tables with DO_NOTHING', () => {
  test('missing tables and columns, type changes, required extra columns and existing rows are found', async () => {
    const result = await run({ target: logical.url(), mappings: only(['docs', 'nopk', 'tagged']), fullLobMode: true });
    expect(codes(result.findings, { severity: 'blocking' })).toEqual([
      'blocking:TARGET_COLUMN_MISSING:public.docs.blob',
      'blocking:TARGET_COLUMN_REQUIRED:public.docs',
    ]);
    expect(codes(result.findings, { severity: 'warning' })).toEqual([
      'warning:NO_PRIMARY_KEY:public.nopk',
      'warning:TARGET_COLUMN_TYPE:public.docs.data',
      'warning:TARGET_NOT_EMPTY:public.tagged',
      'warning:TARGET_TABLE_MISSING:public.nopk',
    ]);
    expect(codes(result.findings, { code: 'TARGET_COLUMN_EXTRA' })).toEqual(['info:TARGET_COLUMN_EXTRA:public.docs']);
    expect(result.findings.find((f) => f.code === 'TARGET_COLUMN_TYPE')!.message).toMatch(/jsonb on the source, json on the target/);
  });

  test('a pre-created target keeps numeric types: no NUMERIC(28,6) finding', async () => {
    const result = await run({ target: logical.url(), mappings: only(['fits']) });
    expect(codes(result.findings)).toEqual([]);
  });

  test('TRUNCATE_BEFORE_LOAD keeps an existing table too: its types are kept (no NUMERIC(28,6) finding); a missing one DMS creates', async () => {
    const kept = await run({ target: logical.url(), mappings: only(['fits']), targetTablePrepMode: 'TRUNCATE_BEFORE_LOAD' });
    expect(codes(kept.findings)).toEqual([]);
    const created = await run({ target: logical.url(), mappings: only(['amounts']), targetTablePrepMode: 'TRUNCATE_BEFORE_LOAD' });
    expect(codes(created.findings)).toEqual(['blocking:NUMERIC_PRECISION_LOSS:public.amounts.exact', 'warning:TYPE_CONVERTED:public.amounts.m']);
    // without the target, nothing is known of its tables: DMS may create them
    expect(codes((await run({ mappings: only(['fits']), targetTablePrepMode: 'TRUNCATE_BEFORE_LOAD' })).findings)).toEqual(['warning:TYPE_CONVERTED:public.fits.exact']);
  });

  test('other prep modes do not check target tables', async () => {
    const result = await run({ target: logical.url(), mappings: only(['docs']), fullLobMode: true, targetTablePrepMode: 'DROP_AND_CREATE' });
    expect(codes(result.findings, { severity: 'blocking' })).toEqual([]);
  });
});

describe('selection and options', () => {
  test('no selected table blocks, and the finding names the selection', async () => {
    const result = await run({ mappings: only(['does_not_exist']) });
    expect(codes(result.findings)).toEqual(['blocking:NO_TABLES_SELECTED']);
    expect(result.findings[0].message).toBe('The selection rules match no table on the source (include public.does_not_exist). '
      + 'Check the schema and table names: they are case-sensitive; % matches any run of characters, _ any one character, [_] an underscore.');
    expect(result.tables).toEqual([]);
    expect(result.ok).toBe(false);
  });

  test('a database that cannot be reached is named: source or target', async () => {
    const down = 'postgresql://postgres@127.0.0.1:1/postgres';
    await expect(run({ source: down })).rejects.toMatchObject({ name: 'ConnectionFailedError', side: 'source' });
    await expect(run({ target: down })).rejects.toMatchObject({
      side: 'target', message: 'cannot connect to the target database: connect ECONNREFUSED 127.0.0.1:1',
    });
  });

  test('excluded tables are not checked', async () => {
    const result = await run({
      mappings: {
        rules: [
          { 'rule-type': 'selection', 'rule-id': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'public', 'table-name': '%' } },
          { 'rule-type': 'selection', 'rule-id': '2', 'rule-action': 'exclude', 'object-locator': { 'schema-name': 'public', 'table-name': 'no%' } },
        ],
      },
    });
    expect(result.tables.map((t) => t.source.table)).toEqual(['amounts', 'docs', 'fits', 'tagged', 'tags_nopk']);
  });

  test('invalid options are rejected', async () => {
    await expect(run({ migrationType: 'bulk' as never })).rejects.toThrow(/migrationType must be one of full-load, cdc, full-load-and-cdc, got "bulk"/);
    await expect(run({ lobMaxSizeKb: 0 })).rejects.toThrow(/lobMaxSizeKb must be a positive number, got 0/);
    await expect(run({ targetTablePrepMode: 'KEEP' as never })).rejects.toThrow(/targetTablePrepMode must be one of/);
  });
});

describe('finding codes', () => {
  test('docs/data-fidelity.md lists every finding code preflight knows, and no other (those of MySQL sources in docs/mysql-sources.md)', () => {
    const codesIn = (table: string) => [...table.matchAll(/^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \|/gm)].flatMap((m) => m[1].split(', ').map((c) => c.slice(1, -1)));
    const findings = (file: string) => {
      const text = fs.readFileSync(path.join(__dirname, '../../docs', file), 'utf8');
      const start = text.indexOf('## preflight findings');
      expect(start).toBeGreaterThanOrEqual(0);
      return codesIn(text.slice(start, text.indexOf('\n## ', start + 1)));
    };
    const listed = [...findings('data-fidelity.md'), ...findings('mysql-sources.md')];
    expect(listed.filter((c, i) => listed.indexOf(c) !== i)).toEqual([]);
    expect([...listed].sort()).toEqual([...PREFLIGHT_FINDING_CODES].sort());
  });
});
