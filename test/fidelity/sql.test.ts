import { Client } from 'pg';
import { startPgCluster, PgCluster } from './pg-cluster';
import { openSession, versionNumber } from '../../lib/fidelity/connection';
import { inlineParameters, literal } from '../../lib/fidelity/sql';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

let cluster: PgCluster;
let client: Client;
const escape = (text: string) => client.escapeLiteral(text);

beforeAll(async () => {
  cluster = await startPgCluster({ walLevel: 'minimal' });
  client = new Client(cluster.url());
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await cluster?.stop();
});

test('placeholders in quoted identifiers, strings and comments are left alone', () => {
  const sql = `select "a$1", 'it''s $1', $1 -- the table's $2
    /* $2 */, $2, x$1`;
  expect(inlineParameters(sql, ['v', 2], escape)).toBe(`select "a$1", 'it''s $1', 'v' -- the table's $2
    /* $2 */, 2, x$1`);
});

test('a placeholder without a parameter, or a parameter never used, is an error', () => {
  expect(() => inlineParameters('select $2', ['a', 'b'], escape)).toThrow('1 parameter(s) not used by the statement');
  expect(() => inlineParameters('select $3', ['a'], escape)).toThrow('$3 names no parameter (1 given)');
});

test('statement texts whose quoting it does not follow are refused', () => {
  expect(() => inlineParameters("select E'\\'' || $1", ['a'], escape)).toThrow("escape string constants (E'...') are not supported");
  expect(() => inlineParameters('select $$ $1 $$, $1', ['a'], escape)).toThrow('dollar-quoted strings ($$...$$) are not supported');
});

test('negative numbers cannot turn "x - $1" into a comment', () => {
  expect(literal(-5, escape)).toBe('(-5)');
});

// the server reads back exactly the value the parameter held, however hostile the text
test.each([
  ['quotes', "it's \"quoted\""],
  ['backslashes', 'C:\\path\\to\\'],
  ['a statement', "'); drop table x; --"],
  ['newlines and unicode', 'line1\nline2 ✓ 🐘'],
  ['an array', ['a,b', 'c"d', null]],
  ['a number', 42],
  ['a negative number', -7],
  ['a date', new Date('2026-01-02T03:04:05.678Z')],
  ['a buffer', Buffer.from([0, 1, 255])],
])('%s round-trips through the server', async (_name, value) => {
  const cast = Buffer.isBuffer(value) ? 'bytea' : 'text';
  const inlined = inlineParameters(`select $1::${cast}::text as v`, [value], escape, prepareValue);
  const direct = await client.query<{ v: string }>(`select $1::${cast}::text as v`, [value]);
  const viaLiteral = await client.query<{ v: string }>(inlined);
  expect(viaLiteral.rows[0].v).toBe(direct.rows[0].v);
});

test('the version a server reports at connection start gives server_version_num', async () => {
  expect([versionNumber('15.4'), versionNumber('9.6.24'), versionNumber('17beta1'), versionNumber('16.4 (Debian 16.4-1)'), versionNumber('x')])
    .toEqual([150004, 90624, 170000, 160004, undefined]);
  const session = await openSession(cluster.url(), 'test');
  try {
    const [row] = await session.query<{ v: string }>("select current_setting('server_version_num') as v");
    expect(session.serverVersion).toBe(Number(row.v));
    expect(session.serverEncoding).toBe('UTF8');
  } finally {
    await session.close();
  }
});
