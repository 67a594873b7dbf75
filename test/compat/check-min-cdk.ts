/**
 * Proves the peer-dependency minimum in package.json: installs exactly that aws-cdk-lib and
 * constructs into a temporary folder, type-checks lib/ against them, and synthesizes the example.
 *
 *   npx projen compat:min-cdk
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const minimum = (range: string) => range.replace(/^[\^~>=]+/, '');
const cdk = minimum(pkg.peerDependencies['aws-cdk-lib']);
const constructs = minimum(pkg.peerDependencies.constructs);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), `min-cdk-${cdk}-`));
const modules = path.join(dir, 'node_modules');

console.log(`installing aws-cdk-lib@${cdk} constructs@${constructs} into ${dir}`);
fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"min-cdk-check","private":true}');
execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `aws-cdk-lib@${cdk}`, `constructs@${constructs}`], { cwd: dir, stdio: 'inherit' });

const own = path.join(root, 'node_modules');
fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
  compilerOptions: {
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    experimentalDecorators: true,
    resolveJsonModule: true,
    types: ['node'],
    typeRoots: [path.join(own, '@types')],
    baseUrl: '.',
    ignoreDeprecations: '6.0',
    paths: {
      'aws-cdk-lib': [path.join(modules, 'aws-cdk-lib')],
      'aws-cdk-lib/*': [path.join(modules, 'aws-cdk-lib/*')],
      'constructs': [path.join(modules, 'constructs')],
      'pg': [path.join(own, '@types/pg')],
      '*': [path.join(own, '*')],
    },
  },
  include: [path.join(root, 'lib/**/*.ts')],
}));
console.log(`type-checking lib/ against aws-cdk-lib ${cdk}`);
execFileSync(path.join(own, '.bin', 'tsc'), ['-p', path.join(dir, 'tsconfig.json')], { stdio: 'inherit' });

// synthesize the example with aws-cdk-lib and constructs resolved from the temporary folder
fs.writeFileSync(path.join(dir, 'hook.js'), `
const Module = require('module');
const resolve = Module._resolveFilename;
const from = { id: ${JSON.stringify(path.join(dir, 'x.js'))}, filename: ${JSON.stringify(path.join(dir, 'x.js'))}, paths: [${JSON.stringify(modules)}] };
Module._resolveFilename = function (request, parent, ...rest) {
  const ours = request === 'constructs' || request === 'aws-cdk-lib' || request.startsWith('aws-cdk-lib/');
  return resolve.call(this, request, ours ? from : parent, ...rest);
};`);
fs.writeFileSync(path.join(dir, 'synth.ts'), `
import { App } from 'aws-cdk-lib';
import { NeonMigrationExampleStack } from ${JSON.stringify(path.join(root, 'lib/example/example-stack'))};
const app = new App({ outdir: ${JSON.stringify(path.join(dir, 'cdk.out'))} });
new NeonMigrationExampleStack(app, 'Example');
const stack = app.synth().getStackByName('Example');
const version = require('aws-cdk-lib/package.json').version;
if (version !== ${JSON.stringify(cdk)}) { throw new Error('resolved aws-cdk-lib ' + version); }
console.log('synthesized the example with aws-cdk-lib ' + version + ': ' + Object.keys(stack.template.Resources).length + ' resources');
`);
execFileSync(process.execPath, ['-r', path.join(dir, 'hook.js'), '-r', 'ts-node/register', path.join(dir, 'synth.ts')], {
  cwd: root, stdio: 'inherit', env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
});
fs.rmSync(dir, { recursive: true, force: true });
