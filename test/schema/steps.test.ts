import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InvalidConnectionStringError } from '../../lib/fidelity/connection-url';
import {
  ALL_SCHEMA_COPY_STEPS, CDC_SCHEMA_COPY_STEPS, libpqVariablesFromUrl, neonExtensionsPath, runSchemaCopy, SCHEMA_COPY_STEPS, schemaCopyEnvironment,
  schemaCopyScriptPath, SchemaCopyError, shippedFile,
} from '../../lib/schema/steps';

describe('connection strings as libpq variables', () => {
  test('user, password, host, port, database and parameters, percent-decoded', () => {
    expect(libpqVariablesFromUrl(
      'postgresql://neondb_owner:endpoint%3Dep-cool-123%24p%40ss%2Fw@ep-cool-123.us-east-2.aws.neon.tech:5432/neon%20db?sslmode=require&options=endpoint%3Dep-cool-123',
      'target',
    )).toEqual({
      PGUSER: 'neondb_owner',
      PGPASSWORD: 'endpoint=ep-cool-123$p@ss/w',
      PGHOST: 'ep-cool-123.us-east-2.aws.neon.tech',
      PGPORT: '5432',
      PGDATABASE: 'neon db',
      PGSSLMODE: 'require',
      PGOPTIONS: 'endpoint=ep-cool-123',
    });
  });

  test('a Neon password written unencoded passes through', () => {
    expect(libpqVariablesFromUrl('postgresql://u:endpoint=ep-x$secret@h/db', 'target').PGPASSWORD).toBe('endpoint=ep-x$secret');
  });

  test('IPv6 hosts, a host parameter, certificates; node-postgres parameters are dropped', () => {
    expect(libpqVariablesFromUrl('postgres://u@[::1]:6543/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&uselibpqcompat=true', 'source')).toEqual({
      PGUSER: 'u', PGHOST: '::1', PGPORT: '6543', PGDATABASE: 'db', PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/etc/ca.pem',
    });
    expect(libpqVariablesFromUrl('postgresql:///db?host=/var/run/postgresql&user=me', 'source')).toEqual({
      PGHOST: '/var/run/postgresql', PGDATABASE: 'db', PGUSER: 'me',
    });
    expect(libpqVariablesFromUrl('postgresql://u@h/db?sslmode=no-verify', 'source').PGSSLMODE).toBe('require');
  });

  test('problems name the side and never repeat the string', () => {
    const attempt = (url: string) => {
      try {
        libpqVariablesFromUrl(url, 'target');
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidConnectionStringError);
        expect((e as Error).message).not.toContain('hunter2');
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(attempt('mysql://u:hunter2@h/db')).toMatch(/^TARGET_DATABASE_URL \(the target database\): not a PostgreSQL connection string/);
    expect(attempt('postgresql://u:hunter2@h/db?frobnicate=1')).toBe(
      'TARGET_DATABASE_URL (the target database): the parameter frobnicate is not a libpq connection parameter the schema copy can pass on');
    expect(attempt('postgresql://u:hunter2@h/')).toMatch(/names no database/);
    expect(attempt('postgresql://:hunter2@h/db')).toMatch(/names no user/);
    expect(attempt('postgresql://u:hunter2%zz@h/db')).toBe(
      'TARGET_DATABASE_URL (the target database): the password holds a % that does not start a percent-encoded character');
  });
});

describe('the script\'s environment', () => {
  test('each side\'s variables with its prefix, the mapping as JSON', () => {
    expect(schemaCopyEnvironment({
      source: { PGHOST: 's', PGUSER: 'su', PGDATABASE: 'sd' },
      target: { PGHOST: 't', PGUSER: 'tu', PGDATABASE: 'td', PGPASSWORD: 'endpoint=ep$x', PGSSLMODE: 'require' },
      mappings: { rules: [] },
      allowedExtensionsFile: '/x.json',
    })).toEqual({
      SOURCE_PGHOST: 's',
      SOURCE_PGUSER: 'su',
      SOURCE_PGDATABASE: 'sd',
      TARGET_PGHOST: 't',
      TARGET_PGUSER: 'tu',
      TARGET_PGDATABASE: 'td',
      TARGET_PGPASSWORD: 'endpoint=ep$x',
      TARGET_PGSSLMODE: 'require',
      TABLE_MAPPINGS: '{"rules":[]}',
      ALLOWED_EXTENSIONS_FILE: '/x.json',
    });
    expect(() => schemaCopyEnvironment({ source: { HOST: 'x' }, mappings: { rules: [] } })).toThrow('HOST is not a libpq environment variable');
  });

  test('the script and the extension list are found next to the module', () => {
    expect(() => fs.accessSync(schemaCopyScriptPath(), fs.constants.X_OK)).not.toThrow();
    const list = JSON.parse(fs.readFileSync(neonExtensionsPath(), 'utf8'));
    expect(list.source).toBe('https://neon.com/docs/extensions/pg-extensions');
    expect(list.retrieved).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(list.extensions.citext).toMatchObject({ 14: '1.6', 17: '1.6' });
    expect(list.extensions.vector).toBeDefined();
    expect(list.extensions.sslinfo).toBeUndefined();
  });

  test('the published package\'s files are found under assets/lib/schema, beside dist/schema', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-package-'));
    try {
      const moduleDir = path.join(root, 'dist', 'schema');
      fs.mkdirSync(moduleDir, { recursive: true });
      fs.mkdirSync(path.join(root, 'assets', 'lib', 'schema'), { recursive: true });
      const shipped = path.join(root, 'assets', 'lib', 'schema', 'schema-copy.sh');
      fs.writeFileSync(shipped, '#!/bin/bash\n');
      expect(shippedFile('schema-copy.sh', moduleDir)).toBe(shipped);
      // beside the module first
      fs.writeFileSync(path.join(moduleDir, 'schema-copy.sh'), '#!/bin/bash\n');
      expect(shippedFile('schema-copy.sh', moduleDir)).toBe(path.join(moduleDir, 'schema-copy.sh'));
      expect(() => shippedFile('neon-extensions.json', moduleDir)).toThrow(
        `neon-extensions.json was not found (looked in ${path.join(moduleDir, 'neon-extensions.json')}, `
        + `${path.join(root, 'lib', 'schema', 'neon-extensions.json')}, ${path.join(root, 'assets', 'lib', 'schema', 'neon-extensions.json')})`);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('the steps in the order of each kind of migration', () => {
    expect(SCHEMA_COPY_STEPS).toEqual(['pre', 'post', 'sequences']);
    expect(CDC_SCHEMA_COPY_STEPS).toEqual(['pre', 'indexes', 'constraints', 'sequences']);
    expect(ALL_SCHEMA_COPY_STEPS).toEqual(['pre', 'indexes', 'constraints', 'post', 'sequences', 'plan']);
    const header = fs.readFileSync(schemaCopyScriptPath(), 'utf8').split('\n')[2];
    // and undo, which only the deployment's rollback runs (the command line does not offer it)
    expect(header).toBe(`# schema-copy.sh <${[...ALL_SCHEMA_COPY_STEPS, 'undo'].join('|')}>`);
  });

  test('the script documents its environment and never traces commands', () => {
    const script = fs.readFileSync(schemaCopyScriptPath(), 'utf8');
    for (const name of ['SOURCE_PGHOST', 'TARGET_PGPASSWORD', 'TARGET_PGSSLMODE', 'TABLE_MAPPINGS', 'ALLOWED_EXTENSIONS_FILE']) {
      expect(script.slice(0, script.indexOf('set -euo pipefail'))).toContain(name);
    }
    expect(script).not.toMatch(/set -[a-z]*x|set -o xtrace/);
  });

  test('an unknown step and a missing variable are usage errors, exit 2', async () => {
    const env = schemaCopyEnvironment({ source: { PGHOST: 'h', PGUSER: 'u', PGDATABASE: 'd' }, mappings: { rules: [] } });
    await expect(runSchemaCopy('drop' as never, env)).rejects.toThrow('unknown schema copy step "drop"');
    const error = await runSchemaCopy('pre', env).catch((e) => e);
    expect(error).toBeInstanceOf(SchemaCopyError);
    expect(error).toMatchObject({ step: 'pre', place: 'environment', exitCode: 2, detail: 'TARGET_PGHOST is not set' });
  });
});
