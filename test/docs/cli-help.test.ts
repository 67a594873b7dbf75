import { readDoc, section } from './doc-files';
import { Command, usage } from '../../lib/command-line/usage';
import { PLAN_LOAD_USAGE } from '../../lib/scale/plan-load-cli';

/*
 * docs/cutover.md prints the help of every command as the command line prints it, and its options
 * table names every option the help texts name.
 */

const PAGE = 'docs/cutover.md';
const page = readDoc(PAGE);
const HELP: Record<string, string> = {
  'cdk-neon-migration --help': usage(),
  ...Object.fromEntries((['preflight', 'verify', 'schema', 'cutover'] as Command[]).map((c) => [`cdk-neon-migration ${c} --help`, usage(c)])),
  'cdk-neon-migration plan-load --help': PLAN_LOAD_USAGE,
};

describe(`${PAGE}: the command line`, () => {
  test.each(Object.entries(HELP))('shows `%s` exactly as the command prints it', (_, text) => {
    expect(page).toContain(`\`\`\`text\n${text.replace(/\n+$/, '')}\n\`\`\``);
  });

  test('its options table names every option of preflight, verify, schema and cutover', () => {
    const table = section(page, '## The command line', PAGE).split('\n').filter((l) => l.startsWith('| `-'));
    expect(table.length).toBeGreaterThan(10);
    const options = new Set(['preflight', 'verify', 'schema', 'cutover'].flatMap((c) => usage(c as Command).match(/(?<![\w-])--[a-z][a-z-]*/g) ?? []));
    const missing = [...options].filter((o) => !table.some((row) => row.split('|')[1].includes(`\`${o}`)));
    expect(missing).toEqual([]);
  });
});
