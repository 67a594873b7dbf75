import * as fs from 'fs';
import * as path from 'path';
import { FIXTURES } from './fixture';
import { declarations, quickStartApp, quickStartCode } from './quick-start';

const README = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

const SAMPLE = [
  '# lib',
  '```ts',
  "const before = 'not this block';",
  '```',
  '## Quick start',
  'Some text.',
  '```bash',
  'npm install lib',
  '```',
  '```ts',
  "import { Stack } from 'aws-cdk-lib';",
  'declare const stack: Stack;',
  'declare const  database :  rds.DatabaseInstance ; // your source',
  "new Thing(stack, 'Thing', { database });",
  '```',
  '```ts',
  "const second = 'not this block either';",
  '```',
  '## Next',
].join('\n');

describe('README\'s Quick start as a program', () => {
  test('README.md has a Quick start block, and the fixture has a value for everything it declares', () => {
    const code = quickStartCode(README);
    const program = quickStartApp(code, Object.keys(FIXTURES));
    for (const line of code.split('\n').filter((l) => !/^\s*declare\b/.test(l))) {
      expect(program).toContain(line);
    }
    expect(program).not.toMatch(/^\s*declare\b/m);
  });

  test('the first ```ts block under "## Quick start" is the one taken', () => {
    expect(quickStartCode(SAMPLE)).toBe([
      "import { Stack } from 'aws-cdk-lib';",
      'declare const stack: Stack;',
      'declare const  database :  rds.DatabaseInstance ; // your source',
      "new Thing(stack, 'Thing', { database });",
    ].join('\n'));
  });

  test('each declaration gets the fixture value of its name and type; the fixture app is synthesized', () => {
    const program = quickStartApp(quickStartCode(SAMPLE), ['stack: Stack', 'database: rds.DatabaseInstance'], './values');
    expect(program).toBe([
      'import * as quickStartFixture from "./values";',
      "import { Stack } from 'aws-cdk-lib';",
      'const stack: Stack = quickStartFixture.FIXTURES["stack: Stack"]();',
      'const database: rds.DatabaseInstance = quickStartFixture.FIXTURES["database: rds.DatabaseInstance"]();',
      "new Thing(stack, 'Thing', { database });",
      'quickStartFixture.app.synth();',
      '',
    ].join('\n'));
  });

  test('a declaration the fixture has no value for fails, naming it and what to add', () => {
    expect(() => quickStartApp(quickStartCode(SAMPLE), ['stack: Stack']))
      .toThrow("README's Quick start declares `declare const  database :  rds.DatabaseInstance ; // your source`, "
        + "which test/consumer/fixture.ts has no value for: add 'database: rds.DatabaseInstance' to FIXTURES (it has 'stack: Stack').");
  });

  test.each([
    'declare let stack: Stack;',
    'declare const stack;',
    'declare function make(): Stack;',
  ])('a declaration written as %j is refused', (line) => {
    expect(() => declarations(line)).toThrow(`the Quick start declares something the consumer test cannot give a value to: \`${line}\``);
  });

  test('no heading, or no ts block under it, fails saying so', () => {
    expect(() => quickStartCode('# lib\n```ts\nx\n```\n')).toThrow('README.md has no "## Quick start" heading');
    expect(() => quickStartCode('## Quick start\n```bash\nx\n```\n## Next\n```ts\ny\n```\n'))
      .toThrow('the "## Quick start" section of README.md has no ```ts code block');
  });
});
