import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundleOf, checkBundles, describeProblems, handlerSources, localInputs } from '../../projenrc/check-bundles';

const ROOT = path.resolve(__dirname, '..', '..');
const created: string[] = [];
afterAll(() => created.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A project tree with two handlers; `files` maps relative paths to contents. */
function project(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-check-'));
  created.push(root);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** Set the modification time of `file` under `root`, `secondsAgo` seconds in the past. */
function age(root: string, file: string, secondsAgo: number): void {
  const time = new Date(Date.now() - secondsAgo * 1000);
  fs.utimesSync(path.join(root, file), time, time);
}

const SOURCES = {
  'lib/a/first.lambda.ts': "import { helper } from './helper';\nimport * as aws from '@aws-sdk/client-dms';\nexport const handler = () => helper(aws);\n",
  'lib/a/helper.ts': "export { shared as helper } from '../shared';\n",
  'lib/shared/index.ts': 'export const shared = (x: unknown) => x;\n',
  'lib/b/second.lambda.ts': 'export const handler = async () => 1;\n',
  'lib/unrelated.ts': 'export const unrelated = 1;\n',
};

describe('handler bundle check (projenrc/check-bundles.ts)', () => {
  test('finds every *.lambda.ts under lib/ and where its bundle goes', () => {
    const root = project(SOURCES);
    expect(handlerSources(root)).toEqual(['lib/a/first.lambda.ts', 'lib/b/second.lambda.ts']);
    expect(bundleOf('lib/a/first.lambda.ts')).toBe('assets/lib/a/first.lambda/index.js');
  });

  test('a handler is built from itself and what it imports by relative path, transitively', () => {
    const root = project(SOURCES);
    expect(localInputs(root, 'lib/a/first.lambda.ts')).toEqual(['lib/a/first.lambda.ts', 'lib/a/helper.ts', 'lib/shared/index.ts']);
  });

  test('the files copied into assets (the schema copy\'s script and extension list) must be there and equal their source', () => {
    const files = {
      ...SOURCES,
      'assets/lib/a/first.lambda/index.js': '1',
      'assets/lib/b/second.lambda/index.js': '1',
      'lib/schema/schema-copy.sh': '#!/bin/bash\necho 1\n',
      'lib/schema/neon-extensions.json': '{}',
    };
    const root = project(files);
    expect(checkBundles(root)).toEqual([
      { source: 'lib/schema/schema-copy.sh', bundle: 'assets/lib/schema/schema-copy.sh', reason: 'missing' },
      { source: 'lib/schema/neon-extensions.json', bundle: 'assets/lib/schema/neon-extensions.json', reason: 'missing' },
    ]);
    fs.mkdirSync(path.join(root, 'assets', 'lib', 'schema'), { recursive: true });
    fs.writeFileSync(path.join(root, 'assets/lib/schema/schema-copy.sh'), '#!/bin/bash\necho 0\n');
    fs.writeFileSync(path.join(root, 'assets/lib/schema/neon-extensions.json'), '{}');
    expect(checkBundles(root)).toEqual([
      { source: 'lib/schema/schema-copy.sh', bundle: 'assets/lib/schema/schema-copy.sh', reason: 'differs from lib/schema/schema-copy.sh' },
    ]);
    fs.writeFileSync(path.join(root, 'assets/lib/schema/schema-copy.sh'), '#!/bin/bash\necho 1\n');
    expect(checkBundles(root)).toEqual([]);
  });

  test('missing bundles are named, with the command that builds them', () => {
    const root = project({ ...SOURCES, 'assets/lib/b/second.lambda/index.js': 'exports.handler = 1;' });
    const problems = checkBundles(root);
    expect(problems).toEqual([{ source: 'lib/a/first.lambda.ts', bundle: 'assets/lib/a/first.lambda/index.js', reason: 'missing' }]);
    expect(describeProblems(problems)).toBe([
      'Refusing to package: the npm package must contain every Lambda handler bundle, built from the current sources.',
      '  assets/lib/a/first.lambda/index.js (from lib/a/first.lambda.ts): missing',
      'Build them with `npx projen bundle`, then package again.',
    ].join('\n'));
  });

  test('a bundle older than a file it is built from is refused; one older than an unrelated file is not', () => {
    const root = project({
      ...SOURCES,
      'assets/lib/a/first.lambda/index.js': 'exports.handler = 1;',
      'assets/lib/b/second.lambda/index.js': 'exports.handler = 2;',
    });
    for (const file of Object.keys(SOURCES)) age(root, file, 120);
    age(root, 'assets/lib/a/first.lambda/index.js', 60);
    age(root, 'assets/lib/b/second.lambda/index.js', 60);
    expect(checkBundles(root)).toEqual([]);

    age(root, 'lib/unrelated.ts', 0);
    expect(checkBundles(root)).toEqual([]);

    age(root, 'lib/shared/index.ts', 0);
    expect(checkBundles(root)).toEqual([
      { source: 'lib/a/first.lambda.ts', bundle: 'assets/lib/a/first.lambda/index.js', reason: 'older than lib/shared/index.ts' },
    ]);
  });

  test('as a command: exit 1 and the message on stderr; exit 0 when every bundle is there', () => {
    const root = project(SOURCES);
    const run = () => spawnSync(path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['--transpile-only', path.join(ROOT, 'projenrc', 'check-bundles.ts'), root], {
      cwd: ROOT, encoding: 'utf8',
    });
    const refused = run();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('assets/lib/a/first.lambda/index.js (from lib/a/first.lambda.ts): missing');
    expect(refused.stderr).toContain('assets/lib/b/second.lambda/index.js (from lib/b/second.lambda.ts): missing');
    expect(refused.stderr).toContain('npx projen bundle');

    for (const source of handlerSources(root)) {
      fs.mkdirSync(path.dirname(path.join(root, bundleOf(source))), { recursive: true });
      fs.writeFileSync(path.join(root, bundleOf(source)), 'exports.handler = 1;');
    }
    const accepted = run();
    expect(accepted.stderr).toBe('');
    expect(accepted.status).toBe(0);
  });

  test('every package task runs the check before it packs', () => {
    const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;
    expect(tasks['check:bundles'].steps).toEqual([{ exec: 'ts-node --transpile-only projenrc/check-bundles.ts' }]);
    for (const language of ['js', 'java', 'python', 'dotnet', 'go']) {
      expect(tasks[`package:${language}`].steps[0]).toEqual({ spawn: 'check:bundles' });
    }
  });
});
