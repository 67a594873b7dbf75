import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startPgCluster, PgCluster } from './pg-cluster';
import { main, parseArgs } from '../../lib/fidelity/cli';

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
    create schema same; create table same.t (id int primary key); insert into same.t values (1), (2);`;
  await Promise.all([source.sql(ddl), target.sql(ddl)]);
  await target.sql("update shop.orders set note = 'changed' where id = 42");
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
    expect(r.stdout).toMatch(/different\s+id=42/);

    const j = await cli(['verify', '--schema=shop', '--json', '--concurrency', '2'], env());
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.ok).toBe(false);
    expect(parsed.tables[0].differences).toEqual([{ kind: 'different', key: { id: '42' } }]);
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

  test('exit 2 without SOURCE_DATABASE_URL', async () => {
    const r = await cli(['preflight'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/set SOURCE_DATABASE_URL/);
  });
});

describe('arguments', () => {
  test('usage errors exit 2 and name the problem', async () => {
    for (const [argv, message] of [
      [[], /missing command: preflight or verify/],
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
    expect(r.stdout).toMatch(/usage: cdk-neon-migration <preflight\|verify>/);
  });

  test('parseArgs reads every option', () => {
    expect(parseArgs(['preflight', '--schema', 'a', '--schema=b', '--json', '--concurrency', '3', '--lob-max-size-kb', '64',
      '--migration-type', 'full-load-and-cdc', '--full-lob-mode', '--target-prep-mode', 'TRUNCATE_BEFORE_LOAD', '--max-differences', '5']))
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
        maxDifferences: 5,
      });
  });
});

test('the script runs as a program and sets the exit status', () => {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../lib/fidelity/cli.ts'), 'verify', '--schema', 'shop'], {
    env: { ...process.env, ...env() },
    encoding: 'utf8',
    cwd: path.join(__dirname, '../..'),
  });
  expect(r.stdout).toMatch(/different\s+id=42/);
  expect(r.status).toBe(1);
});
