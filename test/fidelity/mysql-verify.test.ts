import '../../lib/fidelity/mysql';
import * as fs from 'fs';
import * as path from 'path';
import { Client } from 'pg';
import { PgCluster, startPgCluster } from './pg-cluster';
import { DMS_MYSQL_TO_POSTGRES } from '../../lib/fidelity/mysql/type-mapping';
import { verify, VerifyResult } from '../../lib/fidelity/verify';
import { copyLikeDms } from '../helpers/mysql-copy';
import { MySqlServer, startMySqlServer } from '../helpers/mysql-server';
import { selfSignedCertificate } from '../helpers/tls';

jest.setTimeout(240_000);

let mysql: MySqlServer;
let pg: PgCluster;
let db = 0;

beforeAll(async () => {
  [mysql, pg] = await Promise.all([startMySqlServer({ tls: selfSignedCertificate() }), startPgCluster({ walLevel: 'minimal' })]);
});

afterAll(async () => {
  await Promise.all([mysql?.stop(), pg?.stop()]);
});

/**
 * One column per family DMS maps: each row exercises the canonical text of every type
 * (MariaDB: JSON is LONGTEXT with a json_valid check, as in MariaDB 10.11).
 */
const TYPES_TABLE = `
CREATE TABLE types (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tiny TINYINT, flag TINYINT(1), usmall SMALLINT UNSIGNED, umed MEDIUMINT UNSIGNED, ubig BIGINT UNSIGNED, big BIGINT,
  amount DECIMAL(12,3), f FLOAT, d DOUBLE, b1 BIT(1), b12 BIT(12),
  day DATE, at DATETIME(3), stamp TIMESTAMP(6) NULL DEFAULT NULL, tm TIME, yr YEAR,
  c CHAR(5), v VARCHAR(40) CHARACTER SET utf8mb4, lat VARCHAR(20) CHARACTER SET latin1, tx TEXT, lt LONGTEXT,
  e ENUM('small','medium','large'), s SET('a','b','c'), vb VARBINARY(16), bl BLOB, j JSON
) ENGINE=InnoDB`;

const TYPES_ROWS = `
INSERT INTO types (tiny, flag, usmall, umed, ubig, big, amount, f, d, b1, b12, day, at, stamp, tm, yr, c, v, lat, tx, lt, e, s, vb, bl, j) VALUES
 (-128, 1, 65535, 16777215, 9223372036854775807, -9223372036854775808, 123456789.125, 0.1, 0.1 + 0.2, b'1', b'101010101010',
  '2024-02-29', '2024-02-29 23:59:59.999', '2038-01-19 03:14:07.123456', '23:59:59', 2155, 'ab', 'naïve 😀 text', 'café', 'text', REPEAT('long ', 100),
  'medium', 'a,c', x'00ff10', x'deadbeef', '{"b": [1, 2], "a": "x"}'),
 (127, 0, 0, 0, 0, 0, -0.5, -3.4e38, 1.7976931348623157e308, b'0', b'0', '1000-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:01', '12:00:00', 1901,
  '', '', '', '', '', 'small', '', x'', x'', '[]'),
 (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 1, 7, 8, 9223372036854775806, 42, 0.000, 1e-10, -2.5e-300, b'1', b'111111111111', '9999-12-31', '9999-12-31 23:59:59.999', '2001-09-09 01:46:40', '00:00:00.5', 2000,
  'trail', 'tab\\there "quoted" back\\\\slash', 'Ünïcödé', 'line\\nbreak', 'x', 'large', 'a,b,c', x'41', x'00', '{"n": 1.5, "s": "\\\\u00e9"}')`;

async function freshDatabase(sql: string): Promise<string> {
  const name = `v${++db}`;
  await mysql.sql(`CREATE DATABASE ${name}; USE ${name}; ${sql}`);
  await pg.sql(`create database ${name}`);
  return name;
}

const only = (schema: string) => ({ rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': schema, 'table-name': '%' } }] });

async function target(name: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: pg.url(name) });
  await c.connect();
  try {
    await c.query(`set search_path = ${name}, public; ${sql}`);
  } finally {
    await c.end();
  }
}

function table(result: VerifyResult, name: string) {
  const t = result.tables.find((x) => x.source.table === name);
  if (!t) throw new Error(`no result for ${name}: ${JSON.stringify(result.tables.map((x) => x.source.table))}`);
  return t;
}

test('docs/mysql-sources.md lists the DMS type mapping the library uses, row for row', () => {
  const doc = fs.readFileSync(path.join(__dirname, '../../docs/mysql-sources.md'), 'utf8');
  const start = doc.indexOf('| MySQL | DMS | PostgreSQL (DMS creates) |');
  const mapping = doc.slice(start).split('\n\n')[0];
  const rows = mapping.split('\n').slice(2).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  expect(start).toBeGreaterThan(0);
  expect(rows).toEqual(DMS_MYSQL_TO_POSTGRES.map((m) => [m.mysql, m.dms, m.postgres]));
});

describe('verify MySQL → PostgreSQL (MariaDB 10.11 in the tests)', () => {
  test('a copy made the way DMS maps the types matches: every type family, NULLs, extremes, UTF-8 from latin1 and utf8mb4; MariaDB\'s JSON (LONGTEXT, unlike MySQL 8\'s binary JSON) as text', async () => {
    const name = await freshDatabase(`${TYPES_TABLE}; ${TYPES_ROWS}`);
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name] });
    const result = await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) });
    const t = table(result, 'types');
    expect(t).toEqual(expect.objectContaining({ status: 'match', method: 'key-ranges', sourceRows: 4, targetRows: 4, differences: [], typeChanges: [] }));
    expect(result.ok).toBe(true);
  });

  test('a copy made with Schema Conversion\'s types matches too: boolean, numeric(20), bit varying, timestamptz, a PostgreSQL enum, real, json', async () => {
    // BIGINT UNSIGNED beyond bigint's range: Schema Conversion's numeric(20) holds it
    const name = await freshDatabase(`${TYPES_TABLE}; ${TYPES_ROWS}; INSERT INTO types (ubig) VALUES (18446744073709551615)`);
    await pg.sql('create type size as enum (\'small\', \'medium\', \'large\')', name);
    await copyLikeDms(mysql.url(name), pg.url(name), {
      schemas: [name],
      types: {
        'types.flag': 'boolean',
        'types.ubig': 'numeric(20,0)',
        'types.b12': 'bit varying(12)',
        'types.stamp': 'timestamp with time zone',
        'types.e': `${name}.size`.replace(`${name}.`, 'public.'),
        'types.s': 'text',
        'types.f': 'real',
        'types.j': 'json',
        'types.tm': 'time',
        'types.tx': 'text',
      },
    });
    const result = await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) });
    expect(table(result, 'types')).toEqual(expect.objectContaining({ status: 'match', differences: [], typeChanges: [] }));
  });

  test('planted differences are each reported by key: a missing row, an extra row, a changed value in each type family, truncated text, a zero date', async () => {
    const name = await freshDatabase(`${TYPES_TABLE};
      INSERT INTO types (id, tiny, amount, f, d, b1, b12, day, at, tm, v, vb, j, e, ubig)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
        SELECT i, i % 100, i * 1.5, i / 3, i / 7, i % 2, i, DATE '2024-01-01' + INTERVAL i DAY, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL i SECOND,
               SEC_TO_TIME(i), CONCAT('value ', i), UNHEX(HEX(i)), JSON_OBJECT('i', i), ELT(1 + i % 3, 'small', 'medium', 'large'), i FROM n;
      SET SESSION sql_mode = '';
      UPDATE types SET day = '0000-00-00' WHERE id = 250;`);
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name] });
    await target(name, `
      delete from types where id = 10;
      insert into types (id, tiny) values (1000, 1);
      update types set tiny = tiny + 1 where id = 20;
      update types set amount = amount + 0.001 where id = 30;
      update types set f = f * 1.001 where id = 40;
      update types set d = d + 1e-9 where id = 50;
      update types set b1 = not b1 where id = 60;
      update types set b12 = decode('0000000000000fff', 'hex') where id = 70;
      update types set at = at + interval '1 millisecond' where id = 80;
      update types set tm = '00:01:31' where id = 90;
      update types set v = left(v, 5) where id = 100;
      update types set vb = decode('ff', 'hex') where id = 110;
      update types set j = '{"i": 0}' where id = 120;
      update types set e = 'huge' where id = 130;
      update types set ubig = 7 where id = 140;
      update types set day = day + 1 where id = 150;`);
    const result = await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name), leafRows: 20, bucketRows: 50 });
    const t = table(result, 'types');
    expect(t.status).toBe('mismatch');
    expect(t.ranges).toBeGreaterThan(1);
    const byKey = Object.fromEntries(t.differences.map((d) => [d.key.id, d.kind]));
    expect(byKey).toEqual({
      10: 'missing-in-target',
      1000: 'extra-in-target',
      ...Object.fromEntries([20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 250].map((k) => [k, 'different'])),
    });
    expect(t.differences).toHaveLength(17);
    // each differing row names its differing column, compared value by value across the engines
    const planted = [[20, 'tiny'], [30, 'amount'], [40, 'f'], [50, 'd'], [60, 'b1'], [70, 'b12'], [80, 'at'], [90, 'tm'], [100, 'v'], [110, 'vb'],
      [120, 'j'], [130, 'e'], [140, 'ubig'], [150, 'day'], [250, 'day']];
    expect(t.differences.filter((d) => d.kind === 'different').map((d) => [Number(d.key.id), ...(d.columns ?? [])]).sort((a, b) => Number(a[0]) - Number(b[0])))
      .toEqual(planted);
    // the first pass scanned by two MySQL sessions at once (each a part of the key range): the same differences
    const parallel = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name), leafRows: 20, bucketRows: 50, mysqlScanSessions: 2 }), 'types');
    expect(parallel.differences).toEqual(t.differences);
    await expect(verify({ source: mysql.url(name), target: pg.url(name), mysqlScanSessions: 0 })).rejects.toThrow(/mysqlScanSessions must be a positive integer, got 0/);
  });

  test('floats compare within their documented tolerance: FLOAT to 6 significant digits, DOUBLE to 15', async () => {
    const name = await freshDatabase(`CREATE TABLE f (id INT PRIMARY KEY, f FLOAT, d DOUBLE);
      INSERT INTO f VALUES (1, 0.1, 0.1), (2, 123456.7, 1234567890.12345), (3, -1.5e-20, 3.3e300)`);
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name] });
    // beyond the tolerance: reported; within it: equal
    await target(name, 'update f set f = f + 1e-9 where id = 1; update f set d = d * (1 + 1e-17) where id = 2; update f set d = d * 1.0000001 where id = 3');
    const t = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) }), 'f');
    expect(t.differences).toEqual([{ kind: 'different', key: { id: '3' }, columns: ['d'] }]);
  });

  test('a table without a primary key is compared as a whole: equal, then one value changed', async () => {
    const name = await freshDatabase(`CREATE TABLE events (at DATETIME, what VARCHAR(20));
      INSERT INTO events VALUES ('2024-01-01 10:00:00', 'a'), ('2024-01-01 10:00:00', 'a'), ('2024-01-02 00:00:00', 'b')`);
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name] });
    const equal = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) }), 'events');
    expect(equal).toEqual(expect.objectContaining({ status: 'match', method: 'whole-table', sourceRows: 3, targetRows: 3 }));
    await target(name, "update events set what = 'B' where what = 'b'");
    const changed = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) }), 'events');
    expect(changed).toEqual(expect.objectContaining({ status: 'mismatch', method: 'whole-table', mismatchedRanges: 1, differencesTruncated: true }));
  });

  test('string and composite keys are ranged by their UTF-8 bytes on both sides, whatever the collation (a _ci key, accents, case)', async () => {
    const name = await freshDatabase(`CREATE TABLE people (last VARCHAR(30) COLLATE utf8mb4_general_ci, first VARCHAR(30) COLLATE utf8mb4_unicode_ci, n INT, PRIMARY KEY (last, first));
      INSERT INTO people WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
        SELECT ELT(1 + i % 6, 'Zed', 'émile', 'Émile', 'adam', 'Bob', 'bob ', 'zed'), CONCAT(ELT(1 + i % 3, 'A', 'b', 'ç'), i), i FROM n;`);
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name] });
    const equal = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name), leafRows: 10, bucketRows: 40 }), 'people');
    expect(equal).toEqual(expect.objectContaining({ status: 'match', method: 'key-ranges', sourceRows: 400 }));
    expect(equal.ranges).toBeGreaterThan(1);
    await target(name, "update people set n = -1 where last = 'émile' and first = 'b7'; delete from people where last = 'Zed' and first = 'A6'");
    const changed = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name), leafRows: 10, bucketRows: 40 }), 'people');
    expect(changed.differences).toEqual(expect.arrayContaining([
      { kind: 'different', key: { last: 'émile', first: 'b7' }, columns: ['n'] },
      { kind: 'missing-in-target', key: { last: 'Zed', first: 'A6' } },
    ]));
    expect(changed.differences).toHaveLength(2);
  });

  test('during CDC, a row that arrives while the re-check waits is not reported; a row still missing is', async () => {
    const name = await freshDatabase(`CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20));
      INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) SELECT i, CONCAT('v', i) FROM n`);
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name] });
    await target(name, 'create table in_flight as select * from t where id = 5; delete from t where id in (5, 6)');
    const waits: number[] = [];
    const result = await verify({
      source: mysql.url(name),
      target: pg.url(name),
      mappings: only(name),
      recheck: {
        latencyMs: async () => 250,
        marginMs: 0,
        maxRounds: 2,
        // the task applies row 5 while verify waits
        sleep: async (ms) => { waits.push(ms); await target(name, 'insert into t select * from in_flight; truncate in_flight'); },
      },
    });
    const t = table(result, 't');
    expect(t.differences).toEqual([{ kind: 'missing-in-target', key: { id: '6' } }]);
    expect(t.recheck).toEqual(expect.objectContaining({ settledRows: 1, unsettledRows: 0 }));
    expect(waits[0]).toBe(250);
  });

  test('a column of another type on the target is reported as a type change, not compared', async () => {
    const name = await freshDatabase('CREATE TABLE t (id INT PRIMARY KEY, at DATETIME); INSERT INTO t VALUES (1, NOW())');
    await copyLikeDms(mysql.url(name), pg.url(name), { schemas: [name], types: { 't.at': 'text' } });
    const t = table(await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) }), 't');
    expect(t.status).toBe('type-changed');
    expect(t.typeChanges).toEqual([{ column: 'at', targetColumn: 'at', sourceType: 'datetime', targetType: 'text' }]);
  });

  test('a selection that matches nothing fails; a missing target table is reported', async () => {
    const name = await freshDatabase('CREATE TABLE only_here (id INT PRIMARY KEY); INSERT INTO only_here VALUES (1), (2)');
    const nothing = await verify({ source: mysql.url(name), target: pg.url(name), mappings: only('no_such_schema') });
    expect(nothing.ok).toBe(false);
    expect(nothing.findings.map((f) => f.code)).toEqual(['NO_TABLES_SELECTED']);
    const missing = await verify({ source: mysql.url(name), target: pg.url(name), mappings: only(name) });
    expect(table(missing, 'only_here')).toEqual(expect.objectContaining({ status: 'missing-target', sourceRows: 2 }));
  });
});
