import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { startPgCluster, PgCluster } from './pg-cluster';
import { main, parseArgs, usage } from '../../lib/cli';
import type { Command } from '../../lib/command-line/usage';
import { checkConnectionString, InvalidConnectionStringError, withLibpqSslModes } from '../../lib/fidelity/connection-url';
import { selfSignedCertificate } from '../helpers/tls';

const TASK_ARN = 'arn:aws:dms:eu-west-1:123456789012:task:ABCDEFGHIJKLMNOPQRSTUVWXYZ';
let source: PgCluster;
let target: PgCluster;

class Sink {
  text = '';
  constructor(readonly isTTY = false, readonly columns = 100) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

async function cli(argv: string[], env: Record<string, string | undefined>, tty = false) {
  const stdout = new Sink();
  const stderr = new Sink(tty);
  const code = await main(argv, env, stdout, stderr);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

beforeAll(async () => {
  [source, target] = await Promise.all([startPgCluster({ walLevel: 'replica' }), startPgCluster()]);
  const ddl = `create schema shop; create table shop.orders (id int primary key, note text);
    insert into shop.orders select g, 'n' || g from generate_series(1, 500) g;
    create schema same; create table same.t (id int primary key); insert into same.t values (1), (2);
    create schema typed; create table typed.t (id int primary key, qty integer, note text);
    insert into typed.t select g, g * 10, 'n' || g from generate_series(1, 3) g;
    create schema keyed; create table keyed.t (k text primary key, v int);
    insert into keyed.t values ('a, b=c', 1), ('plain', 2), ('a', 3);
    create schema wide; create table wide.people (id int primary key, "Secret Col" text, email text, n int, at timestamptz);
    insert into wide.people select g, 'source-secret-' || g, 'p' || g || '@example.com', g, '2024-01-01' from generate_series(1, 50) g;`;
  await Promise.all([source.sql(ddl), target.sql(ddl)]);
  await target.sql(`update shop.orders set note = 'changed' where id = 42;
    alter table typed.t alter column qty type bigint;
    update keyed.t set v = 10 where k = 'a, b=c';
    update wide.people set "Secret Col" = 'target-secret', email = null where id = 7;`);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

const env = () => ({ SOURCE_DATABASE_URL: source.url(), TARGET_DATABASE_URL: target.url() });

describe('verify', () => {
  test('exit 0 when the tables match', async () => {
    const r = await cli(['verify', '--schema', 'same'], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/same\.t\s+2\s+2\s+MATCH/);
    expect(r.stdout).toMatch(/All 1 table\(s\) match\./);
    expect(r.stderr).toBe('');
  });

  test('exit 1 with the differing key listed, as text and as JSON', async () => {
    const r = await cli(['verify', '--schema', 'shop'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/shop\.orders\s+500\s+500\s+MISMATCH/);
    expect(r.stdout).toMatch(/different\s+id="42" {2}\(columns: note\)\n/);

    const j = await cli(['verify', '--schema=shop', '--json', '--concurrency', '2'], env());
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.ok).toBe(false);
    expect(parsed.tables[0].differences).toEqual([{ kind: 'different', key: { id: '42' }, columns: ['note'] }]);
  });

  test('a mappings file selects the tables', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mappings-')), 'm.json');
    fs.writeFileSync(file, JSON.stringify({ rules: [{ 'rule-type': 'selection', 'rule-id': '1', 'rule-name': '1', 'rule-action': 'include', 'object-locator': { 'schema-name': 'same', 'table-name': '%' } }] }));
    const r = await cli(['verify', '--mappings', file, '--json'], env());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tables.map((t: { source: { table: string } }) => t.source.table)).toEqual(['t']);
  });

  test('a progress bar is drawn on a terminal only', async () => {
    const tty = await cli(['verify', '--schema', 'same'], env(), true);
    expect(tty.stderr).toMatch(/verify \[#+\] 1\/1 same\.t/);
    const pipe = await cli(['verify', '--schema', 'same'], env(), false);
    expect(pipe.stderr).toBe('');
  });

  test('exit 2 without TARGET_DATABASE_URL, or when a database cannot be reached', async () => {
    const r = await cli(['verify'], { SOURCE_DATABASE_URL: source.url() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/set TARGET_DATABASE_URL to the target connection string/);
    const down = await cli(['verify'], { SOURCE_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres', TARGET_DATABASE_URL: target.url() });
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^error: /);
  });

  test('a selection that matches no table fails (exit 1) and names the selection, as text and as JSON', async () => {
    const r = await cli(['verify', '--schema', 'shop_typo'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('NO_TABLES_SELECTED: The selection rules match no table on the source (include shop_typo.%). '
      + 'Check the schema and table names: they are case-sensitive; % matches any run of characters, _ any one character, [_] an underscore.\n\nVerify FAILED: no table was compared.\n');
    expect(r.stdout).not.toMatch(/All 0 table/);

    const j = await cli(['verify', '--schema', 'shop_typo', '--json'], env());
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.stdout);
    expect(parsed).toMatchObject({ ok: false, tables: [] });
    expect(parsed.findings).toEqual([{ code: 'NO_TABLES_SELECTED', message: expect.stringContaining('(include shop_typo.%)') }]);
  });

  test('a column whose type changed is named with both types, not listed row by row, as text and as JSON', async () => {
    const r = await cli(['verify', '--schema', 'typed'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/typed\.t\s+3\s+3\s+TYPE CHANGED \(qty: integer -> bigint\)/);
    expect(r.stdout).toMatch(/typed\.t: column type changed, rows not compared .*\n {2}qty: integer on the source, bigint on the target\n/);
    expect(r.stdout).not.toMatch(/differing row/);

    const j = await cli(['verify', '--schema', 'typed', '--json'], env());
    expect(j.code).toBe(1);
    const [table] = JSON.parse(j.stdout).tables;
    expect(table).toMatchObject({
      status: 'type-changed',
      sourceRows: 3,
      targetRows: 3,
      differences: [],
      typeChanges: [{ column: 'qty', targetColumn: 'qty', sourceType: 'integer', targetType: 'bigint' }],
    });
  });

  test('differing keys are quoted: a key holding ", " or "=" cannot be misread', async () => {
    const r = await cli(['verify', '--schema', 'keyed'], env());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\n {2}different {10}k="a, b=c" {2}\(columns: v\)\n/);
    const j = await cli(['verify', '--schema', 'keyed', '--json'], env());
    expect(JSON.parse(j.stdout).tables[0].differences).toEqual([{ kind: 'different', key: { k: 'a, b=c' }, columns: ['v'] }]);
  });
});

test('verify names the differing columns of a differing row, never their values (text and JSON)', async () => {
  const r = await cli(['verify', '--schema', 'wide'], env());
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('\nwide.people: 1 differing row(s)\n  different          id="7"  (columns: "Secret Col", email)\n');
  for (const value of ['secret', '@example.com', 'p7']) expect(r.stdout).not.toContain(value);
  const j = await cli(['verify', '--schema', 'wide', '--json'], env());
  expect(JSON.parse(j.stdout).tables[0].differences).toEqual([{ kind: 'different', key: { id: '7' }, columns: ['Secret Col', 'email'] }]);
  expect(j.stdout).not.toContain('secret-');
});

describe('connection strings', () => {
  const CANARY = 'pw-canary-51d0';

  test.each([
    // a mysql:// source is a MySQL source (test/cutover/mysql-cutover.test.ts); other schemes are refused
    ['mongodb://u:PW@127.0.0.1/db', 'not a PostgreSQL connection string: it must start with postgresql:// or postgres://'],
    ['host=127.0.0.1 dbname=db', 'not a PostgreSQL connection string: it must start with postgresql:// or postgres://'],
    ['postgresql:///db', 'it names no host'],
    ['postgresql://u:PW@/db', 'it names no host'],
    ['postgresql://u:PW@127.0.0.1:0/db', 'port 0 is outside 1–65535'],
    ['postgresql://u:PW@127.0.0.1:70000/db', 'port 70000 is outside 1–65535'],
    ['postgresql://u:PW@127.0.0.1:54x2/db', 'the port is not a number from 1 to 65535'],
    ['postgresql://u:PW@127.0.0.1/db?port=99999', 'port 99999 is outside 1–65535 (the port parameter)'],
    ['postgresql://u:PW/x@127.0.0.1/db', 'an @ follows the host: percent-encode /, ?, # and @ in the user name and password'],
    // a # or ? in the password ends the URL's host part: named as what it is, not as a bad port
    ['postgresql://u:PW#x@127.0.0.1:5432/db?sslmode=require', 'the user name or password holds # unencoded, where a URL\'s host part ends: '
      + 'percent-encode # (as %23); in a user name or password write / as %2F, @ as %40 and % as %25 too'],
    ['postgres://u:PW?x#y@127.0.0.1/db', 'the user name or password holds ? and # unencoded, where a URL\'s host part ends: '
      + 'percent-encode ? (as %3F) and # (as %23)'],
    ['postgresql://u:PW@ep-cool-name-123456-pooler.us-east-2.aws.neon.tech/db?sslmode=require',
      'ep-cool-name-123456-pooler.us-east-2.aws.neon.tech is Neon\'s pooled (PgBouncer) host. Use the direct host, as the DMS endpoint does: '
      + 'ep-cool-name-123456.us-east-2.aws.neon.tech (the same host without -pooler).'],
    ['postgresql://u:PW@127.0.0.1/db?sslmode=on', 'sslmode=on is not an SSL mode node-postgres knows'],
    ['postgresql://u:PW@127.0.0.1/db?sslmode=verify-ca', 'sslmode=verify-ca needs sslrootcert=<file>'],
  ])('%s is refused before connecting, naming the side', async (url, problem) => {
    const value = url.replace('PW', CANARY);
    const bad = await cli(['verify', '--schema', 'same'], { SOURCE_DATABASE_URL: value, TARGET_DATABASE_URL: target.url() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`error: SOURCE_DATABASE_URL (the source database): ${problem}`);
    expect(bad.stderr).not.toContain(CANARY);
    expect(bad.stdout).toBe('');

    const badTarget = await cli(['verify', '--schema', 'same'], { SOURCE_DATABASE_URL: source.url(), TARGET_DATABASE_URL: value });
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toContain(`error: TARGET_DATABASE_URL (the target database): ${problem}`);
    expect(badTarget.stderr).not.toContain(CANARY);
  });

  test('a mysql:// source whose password holds # or ? unencoded is refused before connecting, naming the encoding', async () => {
    for (const [url, chars] of [
      // a digit-only password before the #: a URL parser would take it for the port of a host named "u"
      [`mysql://u:1234#${CANARY}@127.0.0.1:3306/app?sslmode=require`, '# (as %23)'],
      [`mysql://u:${CANARY}?x@127.0.0.1/app`, '? (as %3F)'],
    ]) {
      const r = await cli(['verify', '--schema', 'app'], { SOURCE_DATABASE_URL: url, TARGET_DATABASE_URL: target.url() });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`error: SOURCE_DATABASE_URL (the source database): the user name or password holds ${chars.slice(0, 1)} unencoded, `
        + `where a URL's host part ends: percent-encode ${chars}`);
      expect(r.stderr).not.toContain(CANARY);
      expect(r.stderr).not.toContain('1234');
    }
  });

  test('an encoded password passes the checks (and then fails to connect)', async () => {
    const r = await cli(['preflight', '--schema', 'same'], { SOURCE_DATABASE_URL: `postgresql://u:${CANARY}%23x%3Fy@127.0.0.1:1/db` });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: SOURCE_DATABASE_URL \(the source database\): cannot connect: /);
  });

  test('preflight checks TARGET_DATABASE_URL too when it is set', async () => {
    const r = await cli(['preflight', '--schema', 'same'], { SOURCE_DATABASE_URL: source.url(), TARGET_DATABASE_URL: 'postgresql://u@127.0.0.1:65536/db' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: TARGET_DATABASE_URL \(the target database\): port 65536 is outside 1–65535\n/);
  });

  test('an IPv6 host, a host parameter and the highest port pass the checks (and then fail to connect)', async () => {
    for (const url of [
      'postgresql://u@[::1]:65535/db',
      'postgres://u@/db?host=127.0.0.1&port=1',
    ]) {
      const r = await cli(['preflight', '--schema', 'same'], { SOURCE_DATABASE_URL: url });
      expect({ url, code: r.code }).toEqual({ url, code: 2 });
      expect(r.stderr).toMatch(/^error: SOURCE_DATABASE_URL \(the source database\): cannot connect: /);
    }
  });

  test('the generic checks accept any PostgreSQL host; only Neon\'s pooled host is refused for being pooled', () => {
    expect(() => checkConnectionString('postgresql://u:p@ep-cool-name-123456.us-east-2.aws.neon.tech/db?sslmode=verify-full', 'target')).not.toThrow();
    expect(() => checkConnectionString('postgres://u:p@db-pooler.internal.example.com:6432/app?sslmode=require', 'source')).not.toThrow();
    expect(() => checkConnectionString('postgresql://u:p@EP-A-1-POOLER.C-2.US-EAST-2.AWS.NEON.TECH/db', 'source'))
      .toThrow(new InvalidConnectionStringError('source', 'ep-a-1-pooler.c-2.us-east-2.aws.neon.tech is Neon\'s pooled (PgBouncer) host. '
        + 'Use the direct host, as the DMS endpoint does: ep-a-1.c-2.us-east-2.aws.neon.tech (the same host without -pooler).'));
    expect(() => checkConnectionString('postgresql://u@/db?host=ep-a-1-pooler.us-east-2.aws.neon.tech', 'target'))
      .toThrow(/^TARGET_DATABASE_URL \(the target database\): ep-a-1-pooler\.us-east-2\.aws\.neon\.tech is Neon's pooled/);
  });

  test('a connection failure names the side that failed', async () => {
    const sourceDown = await cli(['verify', '--schema', 'same'], { SOURCE_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres', TARGET_DATABASE_URL: target.url() });
    expect(sourceDown.code).toBe(2);
    expect(sourceDown.stderr).toMatch(/^error: SOURCE_DATABASE_URL \(the source database\): cannot connect: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);

    const targetDown = await cli(['verify', '--schema', 'same'], { SOURCE_DATABASE_URL: source.url(), TARGET_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres' });
    expect(targetDown.code).toBe(2);
    expect(targetDown.stderr).toMatch(/^error: TARGET_DATABASE_URL \(the target database\): cannot connect: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);

    const noDatabase = await cli(['preflight', '--schema', 'same'], { SOURCE_DATABASE_URL: source.url('nope') });
    expect(noDatabase.stderr).toMatch(/^error: SOURCE_DATABASE_URL \(the source database\): cannot connect: database "nope" does not exist\n$/);
  });
});

describe('--json errors', () => {
  test('are printed as JSON on stdout with exit 2: usage, connection string, connection', async () => {
    const wrong = await cli(['verify', '--json', '--bogus'], env());
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe('');
    expect(JSON.parse(wrong.stdout)).toEqual({ error: { code: 'USAGE', message: 'unknown option --bogus' } });

    const invalid = await cli(['verify', '--json'], { SOURCE_DATABASE_URL: source.url(), TARGET_DATABASE_URL: 'postgresql://u@127.0.0.1:0/db' });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toBe('');
    expect(JSON.parse(invalid.stdout)).toEqual({
      error: {
        code: 'INVALID_CONNECTION_STRING',
        message: 'TARGET_DATABASE_URL (the target database): port 0 is outside 1–65535',
        variable: 'TARGET_DATABASE_URL',
        side: 'target',
      },
    });

    const down = await cli(['preflight', '--json'], { SOURCE_DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/postgres' });
    expect(down.code).toBe(2);
    expect(down.stderr).toBe('');
    expect(JSON.parse(down.stdout)).toEqual({
      error: {
        code: 'CONNECTION_FAILED',
        message: 'SOURCE_DATABASE_URL (the source database): cannot connect: connect ECONNREFUSED 127.0.0.1:1',
        variable: 'SOURCE_DATABASE_URL',
        side: 'source',
      },
    });

    const missing = await cli(['preflight', '--json'], {});
    expect(JSON.parse(missing.stdout)).toEqual({ error: { code: 'USAGE', message: 'set SOURCE_DATABASE_URL to the source connection string' } });
  });
});

describe('TLS', () => {
  let tlsCluster: PgCluster;
  beforeAll(async () => {
    const cert = selfSignedCertificate();
    tlsCluster = await startPgCluster({ walLevel: 'replica', tls: cert });
    await tlsCluster.sql('create schema same; create table same.t (id int primary key); insert into same.t values (1), (2);');
  });
  afterAll(async () => {
    await tlsCluster?.stop();
  });

  function program(sourceUrl: string) {
    return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../lib/cli.ts'), 'verify', '--schema', 'same'], {
      env: { ...process.env, NODE_NO_WARNINGS: '', NODE_OPTIONS: '', SOURCE_DATABASE_URL: sourceUrl, TARGET_DATABASE_URL: target.url() },
      encoding: 'utf8',
      cwd: path.join(__dirname, '../..'),
    });
  }

  test('sslmode values node-postgres would warn about get their libpq meaning; others and explicit choices stay', () => {
    expect(withLibpqSslModes('postgresql://u@h/db?sslmode=require')).toBe('postgresql://u@h/db?sslmode=require&uselibpqcompat=true');
    expect(withLibpqSslModes('postgresql://u@h/db?sslmode=prefer&application_name=x#f')).toBe('postgresql://u@h/db?sslmode=prefer&application_name=x&uselibpqcompat=true#f');
    expect(withLibpqSslModes('postgresql://u@h/db?sslmode=verify-ca&sslrootcert=/ca.pem')).toMatch(/&uselibpqcompat=true$/);
    for (const unchanged of [
      'postgresql://u@h/db',
      'postgresql://u@h/db?sslmode=verify-full',
      'postgresql://u@h/db?sslmode=disable',
      'postgresql://u@h/db?sslmode=no-verify',
      'postgresql://u@h/db?sslmode=require&uselibpqcompat=false',
    ]) {
      expect(withLibpqSslModes(unchanged)).toBe(unchanged);
    }
  });

  test('sslmode=require encrypts without verifying the certificate, and node-postgres prints no warning about it', () => {
    const r = program(`${tlsCluster.url()}?sslmode=require`);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/All 1 table\(s\) match\./);
    expect(r.status).toBe(0);
  });

  test('sslmode=verify-full verifies the certificate: a self-signed one is refused, naming the source', () => {
    const r = program(`${tlsCluster.url()}?sslmode=verify-full`);
    expect(r.stderr).toMatch(/^error: SOURCE_DATABASE_URL \(the source database\): cannot connect: self[- ]signed certificate/);
    expect(r.stderr).not.toMatch(/warning/i);
    expect(r.status).toBe(2);
  });

  test('the server accepts TLS connections only: sslmode=disable is refused', () => {
    const r = program(`${tlsCluster.url()}?sslmode=disable`);
    expect(r.stderr).toMatch(/^error: SOURCE_DATABASE_URL \(the source database\): cannot connect: .*no encryption/);
    expect(r.status).toBe(2);
  });
});

describe('preflight', () => {
  test('exit 0 for a full load, 1 when CDC is blocked by wal_level=replica', async () => {
    const ok = await cli(['preflight', '--schema', 'same'], env());
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Preflight passed\./);
    const cdc = await cli(['preflight', '--schema', 'same', '--migration-type', 'cdc'], env());
    expect(cdc.code).toBe(1);
    expect(cdc.stdout).toMatch(/BLOCKING\s+WAL_LEVEL/);
    expect(cdc.stdout).toMatch(/Preflight FAILED/);
  });

  test('LOB options reach the checks', async () => {
    const dropped = await cli(['preflight', '--schema', 'shop', '--no-lobs', '--json'], { SOURCE_DATABASE_URL: source.url() });
    expect(dropped.code).toBe(1);
    expect(JSON.parse(dropped.stdout).findings.map((f: { code: string }) => f.code)).toEqual(['LOB_COLUMN_DROPPED']);
    const limited = await cli(['preflight', '--schema', 'shop', '--lob-max-size-kb', '1'], { SOURCE_DATABASE_URL: source.url() });
    expect(limited.code).toBe(0);
  });

  test('its advice names the schema copy\'s pre step, and running that step clears what it named', async () => {
    await source.sql(`create extension ltree; create schema advice; create type advice.mood as enum ('sad', 'happy');
      create table advice.amounts (id int primary key, exact numeric, m advice.mood, path ltree);
      insert into advice.amounts values (1, 1.1234567, 'sad', 'a.b');`);
    const findings = async (code: number) => {
      const r = await cli(['preflight', '--schema', 'advice', '--json'], env());
      expect([r.code, r.stderr]).toEqual([code, '']);
      return (JSON.parse(r.stdout).findings as Array<{ severity: string; code: string; column?: string; message: string }>);
    };
    try {
      // before the schema exists on the target: DMS would create the table, changing the types
      const before = await findings(1);
      expect(before.map((f) => `${f.severity}:${f.code}:${f.column ?? ''}`).sort()).toEqual([
        'blocking:NUMERIC_PRECISION_LOSS:exact', 'warning:TARGET_TABLE_MISSING:', 'warning:TYPE_CONVERTED:m', 'warning:UNKNOWN_TYPE:path',
      ]);
      for (const f of before) {
        expect([f.code, f.message]).toEqual([f.code, expect.stringContaining('the schema copy\'s pre step (schemaCopy on the DmsMigrationTask, or npx cdk-neon-migration schema pre)')]);
        expect(f.message).not.toMatch(/pg_dump/);
      }
      // the step the advice names
      const pre = await cli(['schema', 'pre', '--schema', 'advice'], env());
      expect([pre.code, pre.stderr]).toEqual([0, '']);
      // the table exists with the source's types (and the extension with it): only the reminder to verify the ltree column stays
      expect((await findings(0)).map((f) => `${f.severity}:${f.code}:${f.column ?? ''}`)).toEqual(['warning:UNKNOWN_TYPE:path']);
      await expect(target.sql("do $$ begin if not exists (select from pg_extension where extname = 'ltree') then raise exception 'no ltree'; end if; end $$")).resolves.toBeUndefined();
    } finally {
      await Promise.all([source, target].map((c) => c.sql('drop schema if exists advice cascade; drop extension if exists ltree;')));
    }
  });

  test('exit 2 without SOURCE_DATABASE_URL', async () => {
    const r = await cli(['preflight'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/set SOURCE_DATABASE_URL/);
  });
});

describe('arguments', () => {
  test('usage errors exit 2 and name the problem', async () => {
    for (const [argv, message] of [
      [[], /missing command: preflight, verify, schema, cutover or plan-load/],
      [['migrate'], /unknown command "migrate"/],
      [['verify', '--bogus'], /unknown option --bogus/],
      [['verify', '--concurrency', 'x'], /--concurrency takes a positive integer, got "x"/],
      [['preflight', '--migration-type', 'bulk'], /--migration-type must be one of full-load, cdc, full-load-and-cdc, got "bulk"/],
      [['verify', '--schema'], /--schema needs a value/],
      [['verify', '--schema', 'a', '--mappings', 'm.json'], /use either --schema or --mappings, not both/],
      [['verify', '--mappings', '/nonexistent/m.json'], /cannot read --mappings file/],
    ] as Array<[string[], RegExp]>) {
      const r = await cli(argv, env());
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  });

  test('--help exits 0 with the usage', async () => {
    const r = await cli(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: cdk-neon-migration <preflight\|verify\|schema\|cutover\|plan-load> \[options\]\n {7}cdk-neon-migration --version\n\ncommands:\n {2}preflight .*\n {2}verify .*\n.*\n {2}schema /);
    expect(r.stdout).toMatch(/^ {2}plan-load {3}before the task: proposes parallel-load ranges/m);
  });

  test('every wrong option or argument, of every command, has one shape: "error: <message>", then that command\'s usage (or, with --json, the USAGE error)', async () => {
    const mappings = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'usage-')), 'bad.json');
    fs.writeFileSync(mappings, '{"rules": ');
    const cases: Array<[string[], Command | undefined, string]> = [
      [[], undefined, 'missing command: preflight, verify, schema, cutover or plan-load'],
      [['migrate'], undefined, 'unknown command "migrate": preflight, verify, schema, cutover or plan-load'],
      [['--bogus', 'verify'], 'verify', 'unknown option --bogus'],
      [['preflight', '--migration-type', 'bulk'], 'preflight', '--migration-type must be one of full-load, cdc, full-load-and-cdc, got "bulk"'],
      [['verify', '--concurrency', '0'], 'verify', '--concurrency takes a positive integer, got "0"'],
      [['verify', '--mappings', mappings], 'verify', `--mappings file ${mappings} is not valid JSON: Unexpected end of JSON input`],
      [['schema', 'pre', '--concurrency', '2'], 'schema', '--concurrency does not apply to schema'],
      [['schema'], 'schema', 'missing schema step: pre, indexes, constraints, post, sequences or plan'],
      [['cutover', '--task-arn', 'arn:aws:dms:eu-west-1:123456789012:replication-config:XYZ'], 'cutover',
        '--task-arn: "arn:aws:dms:eu-west-1:123456789012:replication-config:XYZ" is not the ARN of a DMS replication task '
        + '(arn:aws:dms:<region>:<account>:task:<resource id>; DMS Serverless replications are not supported: their latency metrics are not documented)'],
      [['cutover', '--task-arn', TASK_ARN, '--poll'], 'cutover', '--poll needs a value'],
      [['plan-load', '--bogus'], 'plan-load', 'unknown option --bogus'],
      [['plan-load', '--min-rows', 'many'], 'plan-load', '--min-rows takes a positive integer, got "many"'],
      [['plan-load', '--max-segments', '50'], 'plan-load', '--max-segments is 50; use 2 to 49 (MaxFullLoadSubTasks is at most 49)'],
      [['plan-load', '--max-differences', '3'], 'plan-load', '--max-differences applies to verify and cutover only, not to plan-load'],
      [['plan-load', '--concurrency', '3'], 'plan-load', '--concurrency does not apply to plan-load'],
      [['plan-load', '--mappings', mappings], 'plan-load', `--mappings file ${mappings} is not valid JSON: Unexpected end of JSON input`],
      [['verify', '--min-rows', '5'], 'verify', '--min-rows applies to plan-load only, not to verify'],
      [['plan-load'], 'plan-load', 'set SOURCE_DATABASE_URL to the source connection string'],
    ];
    for (const [argv, command, message] of cases) {
      const sourceless = argv[0] === 'plan-load' && argv.length === 1;
      const r = await cli(argv, sourceless ? {} : env());
      expect({ argv, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ argv, code: 2, stdout: '', stderr: `error: ${message}\n\n${usage(command)}` });
      const j = await cli([...argv, '--json'], sourceless ? {} : env());
      expect({ argv, code: j.code, stderr: j.stderr, stdout: JSON.parse(j.stdout) }).toEqual({ argv, code: 2, stderr: '', stdout: { error: { code: 'USAGE', message } } });
    }
  });

  test('plan-load has its help like every command: -h, --help, help plan-load', async () => {
    const help = await cli(['plan-load', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: cdk-neon-migration plan-load \[options\]\n/);
    expect(help.stdout).toMatch(/--max-segments <n>/);
    for (const argv of [['plan-load', '-h'], ['help', 'plan-load']]) expect((await cli(argv, {})).stdout).toBe(help.stdout);
  });

  test('--version prints the package\'s version, read from its package.json', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
    const r = await cli(['--version'], {});
    expect(r).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(JSON.parse((await cli(['--version', '--json'], {})).stdout)).toEqual({ version: pkg.version });
  });

  test('--version in the installed layout: dist/command-line under the package\'s root, inside an application', () => {
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'installed-'));
    try {
      const root = path.join(app, 'node_modules', 'cdk-neon-migration');
      fs.mkdirSync(path.join(root, 'dist', 'command-line'), { recursive: true });
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '9.9.9' }));
      fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'cdk-neon-migration', version: '1.42.0' }));
      // the module as tsc compiles it into dist/
      const moduleText = fs.readFileSync(path.join(__dirname, '../../lib/command-line/version.ts'), 'utf8');
      fs.writeFileSync(path.join(root, 'dist', 'command-line', 'version.js'),
        ts.transpileModule(moduleText, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText);
      const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("./node_modules/cdk-neon-migration/dist/command-line/version.js").packageVersion())'],
        { cwd: app, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('1.42.0');
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
    }
  });

  test('parseArgs reads every option', () => {
    expect(parseArgs(['preflight', '--schema', 'a', '--schema=b', '--json', '--concurrency', '3', '--lob-max-size-kb', '64',
      '--migration-type', 'full-load-and-cdc', '--full-lob-mode', '--target-prep-mode', 'TRUNCATE_BEFORE_LOAD']))
      .toEqual({
        command: 'preflight',
        schemas: ['a', 'b'],
        json: true,
        concurrency: 3,
        lobMaxSizeKb: 64,
        migrationType: 'full-load-and-cdc',
        supportLobs: true,
        fullLobMode: true,
        targetTablePrepMode: 'TRUNCATE_BEFORE_LOAD',
      });
    expect(parseArgs(['--max-differences=5', 'verify', '--mappings', 'm.json']))
      .toEqual({ command: 'verify', schemas: [], mappingsFile: 'm.json', json: false, supportLobs: true, fullLobMode: false, maxDifferences: 5 });
  });

  test('an option of the other command is refused, with that command\'s help', async () => {
    const r = await cli(['verify', '--no-lobs'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --no-lobs applies to preflight only, not to verify\n\nusage: cdk-neon-migration verify \[options\]/);
    const p = await cli(['preflight', '--max-differences', '3'], env());
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/^error: --max-differences applies to verify and cutover only, not to preflight\n\nusage: cdk-neon-migration preflight \[options\]/);
  });

  test('each command has its own help', async () => {
    const preflightHelp = await cli(['preflight', '--help'], {});
    expect(preflightHelp.code).toBe(0);
    expect(preflightHelp.stdout).toMatch(/^usage: cdk-neon-migration preflight \[options\]\n/);
    expect(preflightHelp.stdout).toMatch(/--migration-type <type>/);
    expect(preflightHelp.stdout).toMatch(/--no-lobs/);
    expect(preflightHelp.stdout).not.toMatch(/--max-differences/);

    const verifyHelp = await cli(['verify', '-h'], {});
    expect(verifyHelp.code).toBe(0);
    expect(verifyHelp.stdout).toMatch(/^usage: cdk-neon-migration verify \[options\]\n/);
    expect(verifyHelp.stdout).toMatch(/--max-differences <n>/);
    expect(verifyHelp.stdout).not.toMatch(/--no-lobs|--migration-type/);

    for (const argv of [['help', 'verify'], ['--help', 'verify']]) {
      expect((await cli(argv, {})).stdout).toBe(verifyHelp.stdout);
    }
    const general = await cli(['help'], {});
    expect(general.stdout).toMatch(/^usage: cdk-neon-migration <preflight\|verify\|schema\|cutover\|plan-load> \[options\]\n/);
    expect(general.stdout).toMatch(/Run cdk-neon-migration <command> --help/);
  });
});

test('the script runs as a program and sets the exit status', () => {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../lib/cli.ts'), 'verify', '--schema', 'shop'], {
    env: { ...process.env, ...env() },
    encoding: 'utf8',
    cwd: path.join(__dirname, '../..'),
  });
  expect(r.stdout).toMatch(/different\s+id="42"/);
  expect(r.status).toBe(1);
});

test('run as a program: --version prints the version and exits 0; a wrong option of plan-load prints the error and its usage, exit 2', () => {
  const program = (argv: string[]) => spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../lib/cli.ts'), ...argv], {
    env: { PATH: process.env.PATH }, encoding: 'utf8', cwd: path.join(__dirname, '../..'),
  });
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'));
  for (const argv of [['--version'], ['plan-load', '--version']]) {
    const version = program(argv);
    expect({ argv, status: version.status, stdout: version.stdout, stderr: version.stderr }).toEqual({ argv, status: 0, stdout: `${pkg.version}\n`, stderr: '' });
  }
  const wrong = program(['plan-load', '--max-segments']);
  expect(wrong.status).toBe(2);
  expect(wrong.stdout).toBe('');
  expect(wrong.stderr).toBe(`error: --max-segments needs a value\n\n${usage('plan-load')}`);
});
