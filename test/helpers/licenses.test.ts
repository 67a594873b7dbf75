import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/*
 * The IAM simulator the deploy-reality tests use (@cloud-copilot/iam-simulate, iam-policy) is under
 * the GNU AGPL: it stays a test-only devDependency. Nothing published may contain it or any other
 * copyleft package: not the npm package (its files and bundled dependencies), not the handler
 * bundles that become Lambda assets, not the library's sources.
 */

const ROOT = path.join(__dirname, '..', '..');
const COPYLEFT = /\b(A|L)?GPL\b/i;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

function license(name: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
  return String(manifest.license ?? JSON.stringify(manifest.licenses ?? 'UNKNOWN'));
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
}

test('the simulator is a devDependency, and copyleft', () => {
  expect(Object.keys(pkg.devDependencies)).toEqual(expect.arrayContaining(['@cloud-copilot/iam-simulate']));
  expect(license('@cloud-copilot/iam-simulate')).toMatch(COPYLEFT);
});

test('no runtime, peer or bundled dependency is copyleft', () => {
  const shipped = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...(pkg.bundledDependencies ?? [])];
  expect(shipped.length).toBeGreaterThan(0);
  for (const name of shipped) {
    expect([name, license(name)]).not.toEqual([name, expect.stringMatching(COPYLEFT)]);
  }
});

test('the npm package contains nothing of the simulator and no copyleft bundled dependency', () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const files: string[] = packed.files.map((f: { path: string }) => f.path);
  expect(files.filter(f => /cloud-copilot|iam-simulate|iam-policy/.test(f))).toEqual([]);
  expect(files.filter(f => f.startsWith('test/'))).toEqual([]);
  for (const name of packed.bundled as string[]) {
    expect([name, license(name)]).not.toEqual([name, expect.stringMatching(COPYLEFT)]);
  }
});

test('the library and its handler bundles never load the simulator', () => {
  const sources = walk(path.join(ROOT, 'lib')).filter(f => f.endsWith('.ts'));
  expect(sources.filter(f => /@cloud-copilot/.test(fs.readFileSync(f, 'utf8')))).toEqual([]);
  const bundles = walk(path.join(ROOT, 'assets')).filter(f => f.endsWith('.js'));
  expect(bundles.length).toBeGreaterThan(0);
  expect(bundles.filter(f => /cloud-copilot|iam-simulate|runSimulation/.test(fs.readFileSync(f, 'utf8')))).toEqual([]);
});
