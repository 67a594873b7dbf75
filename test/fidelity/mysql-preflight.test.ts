import '../../lib/fidelity/mysql';
import { PgCluster, startPgCluster } from './pg-cluster';
import { parseMySqlUrl } from '../../lib/fidelity/mysql/connection';
import { Finding, preflight, PreflightResult } from '../../lib/fidelity/preflight';
import { MySqlServer, startMySqlServer } from '../helpers/mysql-server';
import { SelfSigned, selfSignedCertificate } from '../helpers/tls';

jest.setTimeout(240_000);

let mysql: MySqlServer;
let pg: PgCluster;
let certificate: SelfSigned;

beforeAll(async () => {
  certificate = selfSignedCertificate();
  [mysql, pg] = await Promise.all([startMySqlServer({ tls: certificate }), startPgCluster({ walLevel: 'minimal' })]);
  await mysql.sql(`
    SET SESSION sql_mode = '';
    CREATE DATABASE traps; USE traps;
    CREATE TABLE dates (id INT PRIMARY KEY, d DATE NOT NULL, at DATETIME NULL, ts TIMESTAMP NULL DEFAULT NULL);
    INSERT INTO dates VALUES (1, '2024-01-01', '2024-01-01 10:00:00', NULL), (2, '0000-00-00', '0000-00-00 00:00:00', NULL),
      (3, '2024-00-10', '2024-05-00 00:00:00', NULL), (4, '2024-02-03', NULL, '2024-01-01 00:00:00');
    CREATE TABLE numbers (id INT PRIMARY KEY, ubig BIGINT UNSIGNED, uint INT UNSIGNED, flag TINYINT(1), ok_flag TINYINT(1), ratio FLOAT);
    INSERT INTO numbers VALUES (1, 5, 5, 0, 0, 0.5), (2, 9223372036854775808, 4000000000, 1, 1, 0.1), (3, 18446744073709551615, 7, 2, 0, NULL), (4, NULL, NULL, -1, 1, 1);
    CREATE TABLE labels (id INT PRIMARY KEY, size ENUM('s','m','l'), tags SET('a','b'));
    INSERT INTO labels VALUES (1, 's', 'a,b'), (2, 'x', ''), (3, 'l', NULL);
    CREATE TABLE legacy (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET utf8mb3);
    INSERT INTO legacy VALUES (1, 'plain');
    CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) COLLATE utf8mb4_general_ci, code VARCHAR(10) COLLATE utf8mb4_bin,
      UNIQUE KEY users_email (email), UNIQUE KEY users_code (code));
    INSERT INTO users VALUES (1, 'ann@example.com', 'a'), (2, 'Bob@Example.com', 'b '), (3, 'carl@example.com', 'c'), (4, 'Dan@example.com', 'd  ');
    CREATE TABLE logs (at DATETIME, line TEXT);
    INSERT INTO logs VALUES ('2024-01-01 00:00:00', 'x');
    CREATE DATABASE clean; USE clean;
    CREATE TABLE accounts (id BIGINT PRIMARY KEY, name VARCHAR(40) COLLATE utf8mb4_bin, balance DECIMAL(12,2), opened DATE, score DOUBLE, note TEXT,
      UNIQUE KEY accounts_name (name));
    INSERT INTO accounts VALUES (1, 'alpha', 10.50, '2024-01-01', 0.25, 'n'), (2, 'Beta', -3.00, '1999-12-31', 1e100, NULL);`);
});

afterAll(async () => {
  await Promise.all([mysql?.stop(), pg?.stop()]);
});

const only = (schema: string) => ({ rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': schema, 'table-name': '%' } }] });

function find(result: PreflightResult, code: string, table?: string, column?: string): Finding {
  const f = result.findings.find((x) => x.code === code
    && (table === undefined || x.table === table) && (column === undefined || x.column === column));
  if (!f) throw new Error(`no ${code} on ${table}.${column}: ${JSON.stringify(result.findings.map((x) => [x.code, x.table, x.column]))}`);
  return f;
}

describe('preflight of a MySQL source (MariaDB 10.11 in the tests)', () => {
  test('each trap is found on the stored data, with its count and example keys', async () => {
    const result = await preflight({ source: mysql.url(), mappings: only('traps') });
    expect(result.ok).toBe(false);

    // zero dates and zero-in-date values: DMS writes NULL (and the NOT NULL column fails)
    expect(find(result, 'MYSQL_ZERO_DATE', 'traps.dates', 'd')).toEqual(expect.objectContaining({
      severity: 'blocking', rows: 2, exampleKeys: [{ id: '2' }, { id: '3' }],
    }));
    expect(find(result, 'MYSQL_ZERO_DATE', 'traps.dates', 'd').message).toMatch(/NOT NULL/);
    expect(find(result, 'MYSQL_ZERO_DATE', 'traps.dates', 'at')).toEqual(expect.objectContaining({ rows: 2, exampleKeys: [{ id: '2' }, { id: '3' }] }));
    expect(result.findings.filter((f) => f.code === 'MYSQL_ZERO_DATE' && f.column === 'ts')).toEqual([]);

    // BIGINT UNSIGNED beyond bigint (DMS creates bigint); INT UNSIGNED fits DMS's bigint
    expect(find(result, 'MYSQL_UNSIGNED_OVERFLOW', 'traps.numbers', 'ubig')).toEqual(expect.objectContaining({
      severity: 'blocking', rows: 2, exampleKeys: [{ id: '2' }, { id: '3' }],
    }));
    expect(result.findings.filter((f) => f.code === 'MYSQL_UNSIGNED_OVERFLOW' && f.column === 'uint')).toEqual([]);

    // TINYINT(1) holding other values than 0 and 1; one holding only 0 and 1 is no finding (DMS keeps it an integer)
    expect(find(result, 'MYSQL_TINYINT_BOOLEAN', 'traps.numbers', 'flag')).toEqual(expect.objectContaining({
      severity: 'warning', rows: 2, exampleKeys: [{ id: '3' }, { id: '4' }],
    }));
    expect(result.findings.filter((f) => f.column === 'ok_flag')).toEqual([]);
    expect(find(result, 'MYSQL_FLOAT', 'traps.numbers', 'ratio').severity).toBe('info');

    // ENUM with the invalid-value '' stored; SET
    expect(find(result, 'MYSQL_ENUM_SET', 'traps.labels', 'size')).toEqual(expect.objectContaining({ severity: 'warning', rows: 1, exampleKeys: [{ id: '2' }] }));
    expect(find(result, 'MYSQL_ENUM_SET', 'traps.labels', 'tags').severity).toBe('info');

    expect(find(result, 'MYSQL_UTF8MB3', 'traps.legacy', 'name').severity).toBe('warning');

    // a unique key under a case-insensitive collation; trailing spaces in a unique key under PAD SPACE
    expect(find(result, 'MYSQL_CASE_INSENSITIVE_UNIQUE', 'traps.users', 'email')).toEqual(expect.objectContaining({
      severity: 'warning', rows: 2, exampleKeys: [{ id: '2' }, { id: '4' }],
    }));
    expect(result.findings.filter((f) => f.code === 'MYSQL_CASE_INSENSITIVE_UNIQUE' && f.column === 'code')).toEqual([]);
    expect(find(result, 'MYSQL_TRAILING_SPACE_UNIQUE', 'traps.users', 'code')).toEqual(expect.objectContaining({
      severity: 'warning', rows: 2, exampleKeys: [{ id: '2' }, { id: '4' }],
    }));

    // DATETIME without a zone; no primary key; a LOB column measured
    expect(find(result, 'MYSQL_DATETIME', 'traps.dates').message).toMatch(/DATETIME column\(s\) \(at\) carry no time zone/);
    expect(find(result, 'NO_PRIMARY_KEY', 'traps.logs').severity).toBe('warning');

    // never a stored value in a message: keys only
    const text = JSON.stringify(result.findings);
    for (const secret of ['ann@example.com', 'Bob@Example.com', '18446744073709551615', '4000000000', 'plain']) expect(text).not.toContain(secret);
  });

  test('TLS as sslmode says: verify-full against the server\'s CA passes, another CA or no TLS is refused; bad strings name the side, never the password', async () => {
    const url = (query: string) => mysql.url().replace('?sslmode=require', `?${query}`);
    const verified = await preflight({ source: url(`sslmode=verify-full&sslrootcert=${certificate.certFile}`), mappings: only('clean') });
    expect(verified.ok).toBe(true);
    const other = selfSignedCertificate();
    await expect(preflight({ source: url(`sslmode=verify-ca&sslrootcert=${other.certFile}`), mappings: only('clean') }))
      .rejects.toThrow(/cannot connect to the source database: .*(certificate|self.signed)/i);
    // the server requires secure transport
    await expect(preflight({ source: url('sslmode=disable'), mappings: only('clean') })).rejects.toThrow(/cannot connect to the source database: .*(secure transport|access denied)/i);
    for (const [value, problem] of [
      [url('sslmode=maybe'), /sslmode=maybe is not one of disable, require, verify-ca, verify-full/],
      [url('sslmode=verify-ca'), /sslmode=verify-ca needs sslrootcert=<file>/],
      ['mysql://:pw-canary@127.0.0.1:3306/', /it names no user/],
      ['mysql://u:pw-canary@:3306/', /cannot be parsed as a URL|it names no host/],
    ] as const) {
      expect(() => parseMySqlUrl(value, 'source')).toThrow(problem);
      try {
        parseMySqlUrl(value, 'source');
      } catch (e) {
        expect((e as Error).message).toMatch(/^SOURCE_DATABASE_URL \(the source database\): /);
        expect((e as Error).message).not.toContain(mysql.password);
        expect((e as Error).message).not.toContain('pw-canary');
      }
    }
  });

  test('a clean dataset gives no finding', async () => {
    const result = await preflight({ source: mysql.url(), mappings: only('clean') });
    expect(result.findings).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.tables.map((t) => t.source.table)).toEqual(['accounts']);
  });

  test('against a pre-created target: INT UNSIGNED into integer overflows; TINYINT(1) into boolean with other values blocks', async () => {
    await pg.sql(`create schema traps;
      create table traps.numbers (id int primary key, ubig numeric(20,0), uint integer, flag boolean, ok_flag boolean, ratio real)`);
    const result = await preflight({ source: mysql.url(), target: pg.url(), mappings: only('traps') });
    expect(find(result, 'MYSQL_UNSIGNED_OVERFLOW', 'traps.numbers', 'uint')).toEqual(expect.objectContaining({ rows: 1, exampleKeys: [{ id: '2' }] }));
    expect(result.findings.filter((f) => f.code === 'MYSQL_UNSIGNED_OVERFLOW' && f.column === 'ubig')).toEqual([]);
    expect(find(result, 'MYSQL_TINYINT_BOOLEAN', 'traps.numbers', 'flag').severity).toBe('blocking');
    expect(find(result, 'MYSQL_TINYINT_BOOLEAN', 'traps.numbers', 'ok_flag').severity).toBe('info');
  });

  test('CDC: the binary log of this server passes (ROW, FULL, kept, privileges); a TIMESTAMP column with a non-UTC server zone warns', async () => {
    const result = await preflight({ source: mysql.url(), mappings: only('clean'), migrationType: 'full-load-and-cdc' });
    expect(result.findings).toEqual([]);
    const zoned = await startMySqlServer({ settings: { 'default-time-zone': '+02:00' } });
    try {
      await zoned.sql('CREATE DATABASE z; CREATE TABLE z.t (id INT PRIMARY KEY, ts TIMESTAMP NULL)');
      const z = await preflight({ source: zoned.url(), mappings: only('z') });
      expect(find(z, 'MYSQL_TIME_ZONE').message).toMatch(/\+02:00.*z\.t\.ts.*serverTimezone/);
    } finally {
      await zoned.stop();
    }
  });

  test('CDC: no binary log, STATEMENT format, MINIMAL images, short retention, Amazon RDS\'s retention hours and missing privileges are each blocking', async () => {
    const off = await startMySqlServer({ binlog: false });
    const minimal = await startMySqlServer({ settings: { 'binlog-format': 'STATEMENT', 'binlog-row-image': 'MINIMAL', 'binlog-expire-logs-seconds': 3600 } });
    try {
      const url = (s: MySqlServer, user?: string) => (user ? s.urlAs(user, `pw-${user}`) : s.url());
      await off.sql('CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY)');
      const noLog = await preflight({ source: url(off), mappings: only('d'), migrationType: 'cdc' });
      expect(find(noLog, 'MYSQL_BINLOG').severity).toBe('blocking');

      await minimal.sql(`CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY); CREATE TABLE d.nokey (x INT);
        CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'pw-reader'; GRANT SELECT ON *.* TO 'reader'@'127.0.0.1';`);
      const statement = await preflight({ source: url(minimal), mappings: only('d'), migrationType: 'cdc' });
      expect(find(statement, 'MYSQL_BINLOG_FORMAT').message).toMatch(/STATEMENT/);
      expect(find(statement, 'MYSQL_BINLOG_ROW_IMAGE').message).toMatch(/MINIMAL/);
      expect(find(statement, 'MYSQL_BINLOG_RETENTION').message).toMatch(/1\.0 hour/);
      expect(find(statement, 'NO_PRIMARY_KEY', 'd.nokey').severity).toBe('blocking');

      const reader = await preflight({ source: url(minimal, 'reader'), mappings: only('d'), migrationType: 'cdc' });
      expect(find(reader, 'MYSQL_REPLICATION_PRIVILEGE').message).toMatch(/REPLICATION SLAVE and REPLICATION CLIENT/);

      // Amazon RDS keeps its binary-log retention in mysql.rds_configuration (NULL by default: purged at once)
      await minimal.sql("CREATE TABLE mysql.rds_configuration (name VARCHAR(100), value VARCHAR(100)); INSERT INTO mysql.rds_configuration VALUES ('binlog retention hours', NULL)");
      const rds = await preflight({ source: url(minimal), mappings: only('d'), migrationType: 'cdc' });
      expect(find(rds, 'MYSQL_BINLOG_RETENTION')).toEqual(expect.objectContaining({ severity: 'blocking' }));
      expect(find(rds, 'MYSQL_BINLOG_RETENTION').message).toMatch(/rds_set_configuration\('binlog retention hours', 24\)/);
      await minimal.sql("UPDATE mysql.rds_configuration SET value = '24'");
      const kept = await preflight({ source: url(minimal), mappings: only('d'), migrationType: 'cdc' });
      expect(kept.findings.filter((f) => f.code === 'MYSQL_BINLOG_RETENTION')).toEqual([]);
    } finally {
      await Promise.all([off.stop(), minimal.stop()]);
    }
  });
});
