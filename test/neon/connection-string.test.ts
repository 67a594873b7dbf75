import * as fs from 'fs';
import * as path from 'path';
import {
  NeonConnectionError,
  neonDmsPassword,
  parseConnectionString,
  neonDirectHost,
  parseNeonHost,
  portProblem,
  splitAuthority,
} from '../../lib/neon/connection-string';

const SYNTH = { propertyName: 'connectionString', passwordAllowed: false, rejectChannelBinding: true };
const SECRET = { propertyName: 'connectionStringSecret', passwordAllowed: true, rejectChannelBinding: false };

describe('parseConnectionString', () => {
  test('parses the connection string of Neon\'s guide (without password)', () => {
    expect(parseConnectionString('postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb?sslmode=require', SYNTH)).toEqual({
      host: 'ep-curly-term-54009904.us-east-2.aws.neon.tech',
      endpointId: 'ep-curly-term-54009904',
      isNeonHost: true,
      cloud: 'aws',
      region: 'us-east-2',
      port: 5432,
      databaseName: 'neondb',
      username: 'daniel',
      password: undefined,
      sslMode: 'require',
      channelBinding: undefined,
    });
  });

  test('parses a full string from a secret, decoding user and password', () => {
    const parsed = parseConnectionString(
      'postgres://app%40team:AbC123%24dEf@ep-curly-term-54009904.c-2.us-east-2.aws.neon.tech:6543/my%20db?sslmode=require&channel_binding=require',
      SECRET);
    expect(parsed).toMatchObject({
      username: 'app@team',
      password: 'AbC123$dEf',
      port: 6543,
      databaseName: 'my db',
      endpointId: 'ep-curly-term-54009904',
      region: 'us-east-2',
      cloud: 'aws',
      channelBinding: 'require',
    });
  });

  test.each([
    ['ep-cool-darkness-123456.eastus2.azure.neon.tech', 'azure', 'eastus2'],
    ['ep-cool-darkness-123456.us-central1.gcp.neon.tech', 'gcp', 'us-central1'],
    ['ep-cool-darkness-123456.us-east-2.neon.tech', undefined, 'us-east-2'],
  ])('parses the cloud and region of %s', (host, cloud, region) => {
    const parsed = parseConnectionString(`postgresql://u@${host}/db`, SYNTH);
    expect(parsed.cloud).toBe(cloud);
    expect(parsed.region).toBe(region);
    expect(parsed.endpointId).toBe('ep-cool-darkness-123456');
  });

  test.each([
    ['mysql://u@ep-a-1.us-east-2.aws.neon.tech/db', 'it must start with postgresql://'],
    ['ep-a-1.us-east-2.aws.neon.tech', 'it must start with postgresql://'],
    ['postgresql://ep-a-1.us-east-2.aws.neon.tech/db', 'it names no user before the @'],
    ['postgresql://u@ep-a-1.us-east-2.aws.neon.tech', 'it names no database after the host, e.g. /neondb'],
  ])('rejects the malformed %s', (value, detail) => {
    expect(() => parseConnectionString(value, SYNTH)).toThrow(new NeonConnectionError(
      `connectionString is not a PostgreSQL connection string (${detail}). Expected postgresql://<user>@<host>/<database>?sslmode=require, as shown in the Neon console's Connect dialog.`));
  });

  test.each([
    ['0', 'port 0 is outside 1–65535'],
    ['65536', 'port 65536 is outside 1–65535'],
    ['99999', 'port 99999 is outside 1–65535'],
    ['5432x', 'the port is not a number from 1 to 65535'],
  ])('a port of %s is refused, naming the port', (port, problem) => {
    expect(() => parseConnectionString(`postgresql://u@ep-a-1.us-east-2.aws.neon.tech:${port}/db`, SYNTH)).toThrow(new NeonConnectionError(
      `connectionString: ${problem}. Use the port of your Neon connection string, or leave it out for 5432.`));
  });

  test('ports 1 and 65535 are accepted', () => {
    expect(parseConnectionString('postgresql://u@ep-a-1.us-east-2.aws.neon.tech:1/db', SYNTH).port).toBe(1);
    expect(parseConnectionString('postgresql://u:p@ep-a-1.us-east-2.aws.neon.tech:65535/db', SECRET).port).toBe(65535);
  });

  test('an unencoded / in the password is refused without repeating any part of it', () => {
    const message = (() => {
      try {
        parseConnectionString('postgresql://u:12345/678@ep-a-1.us-east-2.aws.neon.tech/db', SECRET);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected an error');
    })();
    expect(message).toBe('connectionStringSecret is not a PostgreSQL connection string (an @ follows the host: percent-encode /, ?, # and @ in the user name and password). '
      + 'Expected postgresql://<user>@<host>/<database>?sslmode=require, as shown in the Neon console\'s Connect dialog.');
    expect(message).not.toMatch(/12345|678/);
  });

  test('an empty password in a string read from a secret is refused', () => {
    expect(() => parseConnectionString('postgresql://daniel:@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb', SECRET))
      .toThrow(new NeonConnectionError('connectionStringSecret holds an empty password (nothing between the : and the @): store the connection string with '
        + 'the role\'s password, postgresql://<user>:<password>@<host>/<database>, as the Neon console shows it.'));
  });

  test('never repeats a malformed string (it may hold a password)', () => {
    try {
      parseConnectionString('postgresql://u:Pw-leak-canary-7f3a91@/db', SECRET);
      throw new Error('expected an error');
    } catch (e) {
      expect((e as Error).message).toMatch(/^connectionStringSecret is not a PostgreSQL connection string/);
      expect((e as Error).message).not.toContain('Pw-leak-canary-7f3a91');
    }
  });

  test('rejects a password written into the string at synth time', () => {
    expect(() => parseConnectionString('postgresql://daniel:AbC123dEf@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb', SYNTH))
      .toThrow('connectionString contains a password. Remove it from the string and pass it as password: SecretValue '
        + '(e.g. SecretValue.secretsManager(\'neon/password\')), or store the whole connection string in Secrets Manager and use connectionStringSecret.');
  });

  test('requires a password in a string read from a secret', () => {
    expect(() => parseConnectionString('postgresql://daniel@ep-curly-term-54009904.us-east-2.aws.neon.tech/neondb', SECRET))
      .toThrow('connectionStringSecret holds no password: store the connection string as the Neon console shows it, postgresql://<user>:<password>@<host>/<database>.');
  });

  test('rejects channel_binding=require when asked to', () => {
    expect(() => parseConnectionString('postgresql://u@ep-a-1.us-east-2.aws.neon.tech/db?sslmode=require&channel_binding=require', SYNTH))
      .toThrow('connectionString sets channel_binding=require, which DMS cannot satisfy: Neon\'s endpoint-in-password form (endpoint=<endpoint_id>$<password>) '
        + 'falls back from SCRAM channel binding to password authentication inside TLS. Remove channel_binding=require from the connection string.');
    expect(parseConnectionString('postgresql://u@ep-a-1.us-east-2.aws.neon.tech/db?channel_binding=prefer', SYNTH).channelBinding).toBe('prefer');
  });

  test('rejects sslmode=disable', () => {
    expect(() => parseConnectionString('postgresql://u@ep-a-1.us-east-2.aws.neon.tech/db?sslmode=disable', SYNTH))
      .toThrow('connectionString sets sslmode=disable: Neon only accepts TLS connections. Remove sslmode from the string (the endpoint uses sslMode, require by default).');
  });
});

describe('parseNeonHost', () => {
  test('rejects the pooled host and names the direct one', () => {
    expect(() => parseNeonHost('ep-curly-term-54009904-pooler.us-east-2.aws.neon.tech', { propertyName: 'host' }))
      .toThrow('host: ep-curly-term-54009904-pooler.us-east-2.aws.neon.tech is Neon\'s pooled (PgBouncer) host. DMS needs the direct host, '
        + 'because PgBouncer in transaction mode breaks DMS\'s session-level work and logical replication. '
        + 'Use ep-curly-term-54009904.us-east-2.aws.neon.tech (the host without -pooler).');
  });

  test('rejects a non-Neon host unless allowed', () => {
    expect(() => parseNeonHost('db.example.com', { propertyName: 'host' }))
      .toThrow('host: db.example.com is not a Neon host (*.neon.tech). Check the host in the Neon console\'s Connect dialog, '
        + 'or set allowNonNeonHost: true to connect through another name (then set neonEndpointId unless the first label is the endpoint ID).');
    expect(() => parseNeonHost('db.example.com', { propertyName: 'host', allowNonNeonHost: true }))
      .toThrow('host: the first label of db.example.com is not a Neon endpoint ID (ep-...). Set neonEndpointId to the endpoint ID shown in the Neon console.');
    expect(parseNeonHost('db.example.com', { propertyName: 'host', allowNonNeonHost: true, endpointId: 'ep-a-1' }))
      .toEqual({ host: 'db.example.com', endpointId: 'ep-a-1', isNeonHost: false, cloud: undefined, region: undefined });
  });

  test('rejects an invalid host name', () => {
    expect(() => parseNeonHost('ep a.neon.tech', { propertyName: 'host' }))
      .toThrow('host: \'ep a.neon.tech\' is not a valid host name. Use the host of your Neon connection string, e.g. ep-curly-term-54009904.us-east-2.aws.neon.tech.');
  });

  test('lower-cases the host', () => {
    expect(parseNeonHost('EP-A-1.US-EAST-2.AWS.NEON.TECH', { propertyName: 'host' }).endpointId).toBe('ep-a-1');
  });
});

test('neonDirectHost gives the direct host of a Neon pooled host only', () => {
  expect(neonDirectHost('ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech')).toBe('ep-cool-darkness-123456.us-east-2.aws.neon.tech');
  expect(neonDirectHost('EP-A-1-POOLER.c-2.us-east-2.aws.neon.tech')).toBe('ep-a-1.c-2.us-east-2.aws.neon.tech');
  expect(neonDirectHost('ep-cool-darkness-123456.us-east-2.aws.neon.tech')).toBeUndefined();
  expect(neonDirectHost('db-pooler.example.com')).toBeUndefined();
});

test('splitAuthority and portProblem read the authority as written', () => {
  expect(splitAuthority('u:p@h:5432/db')).toEqual({ hasUserInfo: true, host: 'h', port: '5432' });
  expect(splitAuthority('u:p:q@[::1]:6543/db?x=1')).toEqual({ hasUserInfo: true, host: '[::1]', port: '6543' });
  expect(splitAuthority('h/db')).toEqual({ hasUserInfo: false, host: 'h', port: undefined });
  expect(splitAuthority('u:a/b@h/db')).toBeUndefined();
  expect(portProblem('5432')).toBeUndefined();
  expect(portProblem('65536')).toBe('port 65536 is outside 1–65535');
  expect(portProblem('-1')).toBe('the port is not a number from 1 to 65535');
});

test('neonDmsPassword uses the endpoint-in-password form of Neon\'s guide', () => {
  expect(neonDmsPassword('ep-curly-term-54009904', 'AbC123dEf')).toBe('endpoint=ep-curly-term-54009904$AbC123dEf');
});

test('the parser stays free of aws-cdk-lib (it is bundled into the handler)', () => {
  const source = fs.readFileSync(path.join(__dirname, '../../lib/neon/connection-string.ts'), 'utf8');
  expect(source).not.toMatch(/from '(aws-cdk-lib|constructs)/);
  expect(source).not.toMatch(/^import /m);
});
