/**
 * The package tasks run this first: the npm package (and every jsii target built from it) must ship
 * the Lambda handler bundles, `assets/<dir>/<name>.lambda/index.js` for every `lib/**\/<name>.lambda.ts`,
 * built from the current sources. It fails naming each missing or outdated bundle and the command
 * that builds them.
 *
 *   ts-node --transpile-only projenrc/check-bundles.ts [root]
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/** The command that builds every handler bundle. */
export const BUNDLE_COMMAND = 'npx projen bundle';

/** A handler bundle that cannot be packaged as it is. */
export interface BundleProblem {
  /** The handler source, relative to the root: `lib/lifecycle/on-event.lambda.ts`. */
  readonly source: string;
  /** The bundle, relative to the root: `assets/lib/lifecycle/on-event.lambda/index.js`. */
  readonly bundle: string;
  /** Why: the bundle is missing, or a source it is built from changed after it. */
  readonly reason: string;
}

/** Every `*.lambda.ts` under `lib/` of `root`, relative to `root`, sorted. */
export function handlerSources(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(relative);
      } else if (entry.isFile() && entry.name.endsWith('.lambda.ts')) {
        found.push(relative);
      }
    }
  };
  walk('lib');
  return [...found, ...SPLIT_BUNDLES.map(([entry]) => entry).filter((entry) => fs.existsSync(path.join(root, entry)))].sort();
}

/**
 * Handler bundles built with code splitting (an entry and one chunk per kind, the `bundle:lib/resource-handlers`
 * task): the entry source and its entry file.
 */
export const SPLIT_BUNDLES: ReadonlyArray<readonly [string, string]> = [
  ['lib/resource-handlers.ts', 'assets/lib/resource-handlers/resource-handlers.mjs'],
];

/**
 * Where the bundle of `source` is written: projen's bundler puts `lib/a/b.lambda.ts` in
 * `assets/lib/a/b.lambda/index.js`; a split bundle's entry is named in `SPLIT_BUNDLES`.
 */
export function bundleOf(source: string): string {
  const split = SPLIT_BUNDLES.find(([entry]) => entry === source);
  return split ? split[1] : path.posix.join('assets', source.replace(/\.ts$/, ''), 'index.js');
}

/**
 * The TypeScript files `source` is built from: itself and every file it imports by a relative path,
 * transitively (packages under node_modules are not followed).
 */
export function localInputs(root: string, source: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) {
      return;
    }
    seen.add(file);
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imported.fileName.startsWith('.')) {
        continue;
      }
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), imported.fileName));
      // an ES-module style import names the `.js` the `.ts` compiles to
      const resolved = [`${base}.ts`, path.posix.join(base, 'index.ts'), base.replace(/\.js$/, '.ts'), base]
        .find((candidate) => candidate.endsWith('.ts') && fs.existsSync(path.join(root, candidate)));
      if (resolved) {
        visit(resolved);
      }
    }
  };
  visit(source);
  return [...seen].sort();
}

/**
 * Files the package ships as they are, copied into `assets/` by the bundle task: the schema tool,
 * which runs in a container with the PostgreSQL client tools rather than in Lambda.
 */
export const COPIED_ASSETS: ReadonlyArray<readonly [string, string]> = [
  ['lib/schema/schema-copy.sh', 'assets/lib/schema/schema-copy.sh'],
  ['lib/schema/neon-extensions.json', 'assets/lib/schema/neon-extensions.json'],
];

/** The handler bundles and copied assets under `root` that are missing or older than a source they are built from. */
export function checkBundles(root: string): BundleProblem[] {
  const problems: BundleProblem[] = [];
  for (const [source, copy] of COPIED_ASSETS) {
    // a project without the file has nothing to copy
    if (!fs.existsSync(path.join(root, source))) continue;
    const copyPath = path.join(root, copy);
    if (!fs.existsSync(copyPath)) {
      problems.push({ source, bundle: copy, reason: 'missing' });
    } else if (!fs.readFileSync(copyPath).equals(fs.readFileSync(path.join(root, source)))) {
      problems.push({ source, bundle: copy, reason: `differs from ${source}` });
    }
  }
  for (const source of handlerSources(root)) {
    const bundle = bundleOf(source);
    const bundlePath = path.join(root, bundle);
    if (!fs.existsSync(bundlePath)) {
      problems.push({ source, bundle, reason: 'missing' });
      continue;
    }
    const builtAt = fs.statSync(bundlePath).mtimeMs;
    const newer = localInputs(root, source).filter((input) => fs.statSync(path.join(root, input)).mtimeMs > builtAt);
    if (newer.length > 0) {
      problems.push({ source, bundle, reason: `older than ${newer.join(', ')}` });
    }
  }
  return problems;
}

/** The message the package tasks fail with. */
export function describeProblems(problems: BundleProblem[]): string {
  return [
    'Refusing to package: the npm package must contain every Lambda handler bundle, built from the current sources.',
    ...problems.map((p) => `  ${p.bundle} (from ${p.source}): ${p.reason}`),
    `Build them with \`${BUNDLE_COMMAND}\`, then package again.`,
  ].join('\n');
}

if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? process.cwd());
  const problems = checkBundles(root);
  if (problems.length > 0) {
    console.error(describeProblems(problems));
    process.exit(1);
  }
  console.log(`handler bundles: ${handlerSources(root).length} present and up to date`);
}
