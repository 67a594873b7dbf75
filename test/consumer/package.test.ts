import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FIXTURES, STACK_NAME } from './fixture';
import { quickStartApp, quickStartCode } from './quick-start';
import { bundleOf, handlerSources } from '../../projenrc/check-bundles';

/*
 * The consumer's path: the library packed as it is published (projen's compile and package:js, in a
 * copy of the repository), installed from the tarball into a fresh CDK TypeScript app next to
 * aws-cdk-lib and constructs from the npm registry, with README's Quick start — read from README.md
 * now — compiled by tsc in strict mode against the installed package and synthesized by node.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const BIN = path.join(ROOT, 'node_modules', '.bin');
const MINUTES = 60_000;
/** The version of a package the library is developed against (installed in the repository). */
const devVersion = (name: string): string => JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;

/** What the library copy needs to compile and pack: the repository as `npm pack` would see it, without build output. */
const COPIED = ['.projen', '.npmignore', 'API.md', 'LICENSE', 'README.md', 'lib', 'package.json', 'projenrc', 'tsconfig.json', 'test/tsconfig.json'];

let work: string;
let library: string;
const timings: string[] = [];
const testStarted = Date.now();

interface Run {
  readonly status: number | null;
  readonly output: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  timings.push(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${path.basename(command)} ${args.join(' ')}`);
  if (result.error) {
    throw result.error;
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function runOk(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result = run(command, args, cwd, env);
  if (result.status !== 0) {
    // minified sources in stack traces make lines of many kilobytes: shorten them
    const output = result.output.split('\n').map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line)).join('\n');
    throw new Error(`\`${path.basename(command)} ${args.join(' ')}\` in ${cwd} failed (exit ${result.status}):\n${output.slice(-8000)}`);
  }
  return result.output;
}

/** A projen task in the library copy, as the project runs it. */
function projen(task: string): Run {
  return run(path.join(BIN, 'projen'), [task], library);
}

function tarballs(): string[] {
  const dir = path.join(library, 'dist-packages', 'js');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.tgz')).map((f) => path.join(dir, f)) : [];
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'consumer-'));
  library = path.join(work, 'library');
  for (const entry of COPIED) {
    fs.cpSync(path.join(ROOT, entry), path.join(library, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(library, 'node_modules'), 'dir');
  // the copy starts without handler bundles, as a fresh clone does; compile as projen does
  const compile = projen('compile');
  if (compile.status !== 0) {
    throw new Error(`npx projen compile failed in the library copy:\n${compile.output.slice(-8000)}`);
  }
}, 10 * MINUTES);

afterAll(() => {
  console.log(`consumer path, in ${work}: ${((Date.now() - testStarted) / 1000).toFixed(1)} s\n${timings.join('\n')}`);
  if (work && !process.env.KEEP_CONSUMER_TEST) {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('compile then package:js without the handler bundles: refused, naming each bundle and `npx projen bundle`', () => {
  const result = projen('package:js');

  expect(result.status).not.toBe(0);
  const sources = handlerSources(library);
  expect(sources.length).toBeGreaterThan(0);
  for (const source of sources) {
    expect(result.output).toContain(`${bundleOf(source)} (from ${source}): missing`);
  }
  expect(result.output).toContain('npx projen bundle');
  expect(tarballs()).toEqual([]);
}, 5 * MINUTES);

test('the packed library installs into a fresh CDK app, where README\'s Quick start compiles (strict) and synthesizes', () => {
  // ---- pack as published: bundles, then the package task (its check passes now)
  runOk(path.join(BIN, 'projen'), ['bundle'], library);
  runOk(path.join(BIN, 'projen'), ['package:js'], library);
  const [tarball, ...more] = tarballs();
  expect(more).toEqual([]);
  const entries = runOk('tar', ['-tzf', tarball], work).split('\n');
  expect(entries).toEqual(expect.arrayContaining(['package/package.json', 'package/.jsii', 'package/dist/index.js', 'package/dist/index.d.ts']));
  // every handler a published construct uses is shipped; the bundled example's loader is not (.npmignore)
  const shipped = handlerSources(library).filter((source) => !source.startsWith('lib/example/'));
  expect(shipped.length).toBeGreaterThan(0);
  expect(entries).toEqual(expect.arrayContaining(shipped.map((source) => `package/${bundleOf(source)}`)));

  // ---- a fresh app: the tarball, and aws-cdk-lib (the pinned devDependency) and constructs at the
  // versions the library is developed against
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'quick-start-app', version: '0.0.0', private: true }));
  runOk('npm', [
    'install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error',
    tarball,
    `aws-cdk-lib@${PKG.devDependencies['aws-cdk-lib']}`,
    `constructs@${devVersion('constructs')}`,
  ], app);
  const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'cdk-neon-migration', 'package.json'), 'utf8'));
  expect(installed.name).toBe('cdk-neon-migration');

  // ---- README's Quick start, with real values for what it declares
  const code = quickStartCode(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  fs.copyFileSync(path.join(__dirname, 'fixture.ts'), path.join(app, 'fixture.ts'));
  fs.writeFileSync(path.join(app, 'quick-start.ts'), quickStartApp(code, Object.keys(FIXTURES)));
  // the compiler options of `cdk init app --language=typescript` (aws-cdk's init template)
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['es2022'],
      declaration: true,
      strict: true,
      noImplicitAny: true,
      strictNullChecks: true,
      noImplicitThis: true,
      alwaysStrict: true,
      noUnusedLocals: false,
      noUnusedParameters: false,
      noImplicitReturns: true,
      noFallthroughCasesInSwitch: false,
      inlineSourceMap: true,
      inlineSources: true,
      experimentalDecorators: true,
      strictPropertyInitialization: false,
      skipLibCheck: true,
      typeRoots: ['./node_modules/@types'],
    },
    include: ['quick-start.ts', 'fixture.ts'],
  }));
  runOk(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);

  // ---- synthesize as `cdk synth` does (CDK_OUTDIR), failing on any deprecated aws-cdk-lib API
  const outdir = path.join(work, 'cdk.out');
  runOk(process.execPath, ['quick-start.js'], app, { CDK_OUTDIR: outdir, JSII_DEPRECATED: 'fail' });

  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const artifact = manifest.artifacts?.[STACK_NAME];
  if (!artifact || artifact.type !== 'aws:cloudformation:stack') {
    throw new Error(`the cloud assembly has no stack ${STACK_NAME}: the Quick start must build in the stack it declares (it has ${Object.keys(manifest.artifacts ?? {}).join(', ')})`);
  }
  // annotations: in the manifest, or in the file it names (newer aws-cdk-lib)
  const metadata = artifact.additionalMetadataFile
    ? JSON.parse(fs.readFileSync(path.join(outdir, artifact.additionalMetadataFile), 'utf8')) : artifact.metadata ?? {};
  const messages = Object.entries<any[]>(metadata).flatMap(([constructPath, items]) => items.map((m) => ({ ...m, constructPath })));
  const warnings = messages.filter((m) => m.type === 'aws:cdk:warning');
  timings.push(`Quick start synthesized with ${warnings.length} warning(s)${warnings.map((m) => `\n  ${m.constructPath}: ${m.data}`).join('')}`);
  expect(messages.filter((m) => m.type === 'aws:cdk:error').map((m) => `${m.constructPath}: ${m.data}`)).toEqual([]);
  const template = JSON.parse(fs.readFileSync(path.join(outdir, artifact.properties.templateFile), 'utf8'));
  const types = Object.values<any>(template.Resources).map((r) => r.Type as string);
  const count = (type: string) => types.filter((t) => t === type).length;
  expect(count('AWS::DMS::ReplicationTask')).toBe(1);
  expect(count('AWS::DMS::Endpoint')).toBe(2);
  expect(count('AWS::DMS::ReplicationInstance')).toBe(1);
  // the live migration of the Quick start: schema copy, preflight, verification, the slot cleanup; in the
  // VPC's own private subnets, which keep their routes (no NAT gateway, route or endpoint is added)
  for (const type of ['Custom::NeonSchemaCopy', 'Custom::NeonMigrationPreflight', 'Custom::NeonMigrationVerification', 'Custom::NeonReplicationSlotCleanup']) {
    expect([type, count(type) > 0]).toEqual([type, true]);
  }
  expect([count('AWS::EC2::NatGateway'), count('AWS::EC2::Route'), count('AWS::EC2::VPCEndpoint')]).toEqual([2, 4, 0]);
  // one warning, on purpose: a live migration without a Neon API key is told to keep its compute awake by hand
  expect(warnings.map((m) => m.data)).toEqual([expect.stringMatching(/Neon compute suspends after 5 idle minutes \(scale to zero\)/)]);
  // the handlers came from the installed package: their assets are in the cloud assembly
  const assetDirs = fs.readdirSync(outdir).filter((f) => f.startsWith('asset.'));
  expect(assetDirs.some((dir) => fs.existsSync(path.join(outdir, dir, 'index.js')))).toBe(true);
}, 15 * MINUTES);
