import { readDoc, section } from './doc-files';
import { Command, COMMANDS, usage } from '../../lib/command-line/usage';

/*
 * docs/cutover.md prints the help of every command as the command line prints it, and its options
 * table names every option the help texts name.
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
