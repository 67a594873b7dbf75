import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fencedBlocks, readDoc, section } from './doc-files';
import { Command, COMMANDS, usage } from '../../lib/command-line/usage';
import { checkConnectionString } from '../../lib/fidelity/connection-url';
import { libpqVariablesFromUrl } from '../../lib/schema/steps';

/*
 * docs/cutover.md prints the help of every command as the command line prints it, its options
 * table names every option the help texts name, and its way from the stack's secret outputs to the
 * connection strings gives strings the command line accepts.
 */

const PAGE = 'docs/cutover.md';
const page = readDoc(PAGE);
const HELP: Record<string, string> = {
  'cdk-neon-migration --help': usage(),
  ...Object.fromEntries(COMMANDS.map((c: Command) => [`cdk-neon-migration ${c} --help`, usage(c)])),
};

describe(`${PAGE}: the command line`, () => {
  test.each(Object.entries(HELP))('shows `%s` exactly as the command prints it', (_, text) => {
    expect(page).toContain(`\`\`\`text\n${text.replace(/\n+$/, '')}\n\`\`\``);
  });

  test('its options table names every option of every command, and --version', () => {
    const table = section(page, '## The command line', PAGE).split('\n').filter((l) => l.startsWith('| `-'));
    expect(table.length).toBeGreaterThan(10);
    const options = new Set([usage(), ...COMMANDS.map((c) => usage(c))].flatMap((text) => text.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? []));
    expect([...options]).toEqual(expect.arrayContaining(['--version', '--min-rows', '--rows-per-segment', '--max-segments']));
    const missing = [...options].filter((o) => !table.some((row) => row.split('|')[1].includes(`\`${o}`)));
    expect(missing).toEqual([]);
  });
});

describe(`${PAGE}: the connection strings made from the secrets the stack outputs`, () => {
  const snippet = fencedBlocks(section(page, '### What the stack outputs', PAGE), PAGE).find((b) => b.language === 'bash')!.code;

  /**
   * Runs the page's `url` function as written, in bash, with `aws` answering as the AWS CLI does for
   * `secretsmanager get-secret-value --query SecretString --output text`: the secret's JSON, on one line.
   */
  function url(secret: Record<string, unknown>, args: string): { stdout: string; stderr: string; argv: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-url-'));
    try {
      fs.writeFileSync(path.join(dir, 'secret.json'), JSON.stringify(secret));
      fs.writeFileSync(path.join(dir, 'aws'), `#!/bin/sh\necho "$*" > "${dir}/argv"\ncat "${dir}/secret.json"; echo\n`, { mode: 0o755 });
      const fn = snippet.split('\n').filter((l) => !l.startsWith('export ')).join('\n');
      const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `set -eo pipefail\n${fn}\nurl ${args}`], { encoding: 'utf8', env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir } });
      return { stdout: r.stdout, stderr: r.stderr, argv: fs.readFileSync(path.join(dir, 'argv'), 'utf8').trim() };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  test('Neon\'s clients\' secret: a connection string the command line accepts, the password percent-encoded and read back as it is', () => {
    const password = 'npg_a#b?c@d/e:f%g';
    const secret = { engine: 'postgres', username: 'neondb_owner', password, host: 'ep-cool-name-123456.us-east-2.aws.neon.tech', port: 5432, dbname: 'neondb' };
    const r = url(secret, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-AbCdEf verify-full');
    expect(r.stderr).toBe('');
    expect(r.argv).toBe('secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-AbCdEf --query SecretString --output text');
    const built = r.stdout.trim();
    expect(built).toBe('postgresql://neondb_owner:npg_a%23b%3Fc%40d%2Fe%3Af%25g@ep-cool-name-123456.us-east-2.aws.neon.tech:5432/neondb?sslmode=verify-full');
    expect(() => checkConnectionString(built, 'target')).not.toThrow();
    expect(libpqVariablesFromUrl(built, 'target')).toMatchObject({ PGUSER: 'neondb_owner', PGPASSWORD: password, PGDATABASE: 'neondb', PGSSLMODE: 'verify-full' });
  });

  test('an RDS secret without dbname: the database given', () => {
    const secret = { engine: 'postgres', username: 'postgres', password: 'p@ss word', host: 'db.abc.us-east-1.rds.amazonaws.com', port: 5432, dbInstanceIdentifier: 'db' };
    const built = url(secret, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf require app').stdout.trim();
    expect(built).toBe('postgresql://postgres:p%40ss%20word@db.abc.us-east-1.rds.amazonaws.com:5432/app?sslmode=require');
    expect(() => checkConnectionString(built, 'source')).not.toThrow();
    expect(libpqVariablesFromUrl(built, 'source')).toMatchObject({ PGPASSWORD: 'p@ss word', PGDATABASE: 'app' });
  });
});
