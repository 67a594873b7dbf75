/**
 * Proves the library against one aws-cdk-lib release: installs it (and constructs) into a temporary
 * folder, type-checks lib/ against it and synthesizes the bundled example and the deploy variants of
 * test/deploy/variants.ts with it (environment-agnostic and in a concrete account and Region), and
 * runs test/deploy/compat-checks.ts on each template (the IAM simulation of a distributed
 * verification's requests, whose permissions are partly aws-cdk-lib's grants).
 *
 *   ts-node --transpile-only projenrc/cdk-compat.ts peer-minimum   # the lowest aws-cdk-lib of the peer range
 *   ts-node --transpile-only projenrc/cdk-compat.ts latest         # the newest release on the registry
 *   ts-node --transpile-only projenrc/cdk-compat.ts 2.200.0        # any release
 *
 * With JSII_DEPRECATED=fail, deprecated API fails the check twice over: the type checker lists every
 * use of a deprecated aws-cdk-lib or constructs API in lib/ (whether a synthesis runs it or not), and
 * aws-cdk-lib throws on every deprecated call or property during the syntheses.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { checkBundles, describeProblems } from './check-bundles';

const root = path.resolve(__dirname, '..');

/** A use of deprecated API in lib/. */
export interface DeprecatedUse {
  /** `lib/x.ts:12:5` */
  readonly location: string;
  /** `CfnResource.addDependency` */
  readonly api: string;
  /** The `@deprecated` text. */
  readonly message: string;
}

/** Whether `declaration` belongs to aws-cdk-lib or constructs (the APIs this check is about). */
function isCdkDeclaration(declaration: ts.Declaration): boolean {
  return /[\\/]node_modules[\\/](aws-cdk-lib|constructs)[\\/]/.test(declaration.getSourceFile().fileName);
}

function apiName(symbol: ts.Symbol): string {
  const owner = symbol.declarations?.[0]?.parent;
  const ownerName = owner && (ts.isClassLike(owner) || ts.isInterfaceDeclaration(owner) || ts.isEnumDeclaration(owner))
    ? owner.name?.text : undefined;
  return ownerName ? `${ownerName}.${symbol.name}` : symbol.name;
}

function deprecationOf(tags: readonly ts.JSDocTagInfo[]): string | undefined {
  const tag = tags.find((t) => t.name === 'deprecated');
  return tag ? (ts.displayPartsToString(tag.text).trim() || '(no reason given)') : undefined;
}

/**
 * Every reference in `files` to an aws-cdk-lib or constructs API marked `@deprecated`: identifiers
 * (classes, methods, properties, enum members, types), properties of object literals passed where
 * a props interface is expected, and the resolved overload of calls.
 */
export function findDeprecatedUses(program: ts.Program, files: readonly ts.SourceFile[], base: string): DeprecatedUse[] {
  const checker = program.getTypeChecker();
  const uses = new Map<string, DeprecatedUse>();

  const record = (node: ts.Node, symbol: ts.Symbol, message: string) => {
    const file = node.getSourceFile();
    const { line, character } = file.getLineAndCharacterOfPosition(node.getStart());
    const location = `${path.relative(base, file.fileName)}:${line + 1}:${character + 1}`;
    uses.set(`${location} ${symbol.name}`, { location, api: apiName(symbol), message });
  };

  const checkSymbol = (node: ts.Node, found: ts.Symbol | undefined) => {
    let symbol = found;
    if (symbol && (symbol.flags & ts.SymbolFlags.Alias) !== 0) { // eslint-disable-line no-bitwise
      symbol = checker.getAliasedSymbol(symbol);
    }
    const declarations = symbol?.declarations ?? [];
    if (!symbol || declarations.length === 0 || !declarations.some(isCdkDeclaration)) {
      return;
    }
    // overloads: only the one a call resolves to counts (below)
    if (declarations.length > 1 && declarations.every(ts.isFunctionLike)) {
      return;
    }
    const message = deprecationOf(symbol.getJsDocTags(checker));
    if (message) {
      record(node, symbol, message);
    }
  };

  const visit = (node: ts.Node) => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      if ((ts.isPropertyAssignment(parent) || ts.isShorthandPropertyAssignment(parent)) && parent.name === node
        && ts.isObjectLiteralExpression(parent.parent)) {
        // a property of an object literal: the property of the type the literal is passed as
        const contextual = checker.getContextualType(parent.parent);
        checkSymbol(node, contextual?.getProperty(node.text));
      } else {
        checkSymbol(node, checker.getSymbolAtLocation(node));
      }
    }
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const signature = checker.getResolvedSignature(node);
      const declaration = signature?.getDeclaration();
      const name = declaration && ts.isFunctionLike(declaration) ? declaration.name : undefined;
      const symbol = name ? checker.getSymbolAtLocation(name) : undefined;
      if (signature && declaration && isCdkDeclaration(declaration) && symbol && (symbol.declarations?.length ?? 0) > 1) {
        const message = deprecationOf(signature.getJsDocTags());
        if (message) {
          record(node, symbol, message);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  files.forEach(visit);
  return [...uses.values()].sort((a, b) => a.location.localeCompare(b.location, 'en', { numeric: true }));
}

function npm(args: string[], cwd?: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** The aws-cdk-lib and constructs versions `which` names. */
function resolveVersions(which: string): { cdk: string; constructs: string } {
  if (which === 'peer-minimum') {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const minimum = (range: string) => range.replace(/^[\^~>=]+/, '');
    return { cdk: minimum(pkg.peerDependencies['aws-cdk-lib']), constructs: minimum(pkg.peerDependencies.constructs) };
  }
  const cdk = which === 'latest' ? npm(['view', 'aws-cdk-lib', 'version']) : which;
  if (!/^\d+\.\d+\.\d+$/.test(cdk)) {
    throw new Error(`usage: cdk-compat.ts <peer-minimum|latest|x.y.z>; got '${which}'`);
  }
  return { cdk, constructs: npm(['view', 'constructs', 'version']) };
}

function typeCheck(dir: string, modules: string): ts.Program {
  const own = path.join(root, 'node_modules');
  const configPath = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(configPath, JSON.stringify({
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
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!parsed) {
    throw new Error(`cannot read ${configPath}`);
  }
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => root,
      getNewLine: () => '\n',
    };
    console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
    throw new Error(`lib/ does not type-check against aws-cdk-lib in ${modules}`);
  }
  return program;
}

function synthesize(dir: string, modules: string, cdk: string): void {
  // aws-cdk-lib and constructs resolve from the temporary folder, for lib/ and test/ alike
  fs.writeFileSync(path.join(dir, 'hook.js'), `
const Module = require('module');
const resolve = Module._resolveFilename;
const from = { id: ${JSON.stringify(path.join(dir, 'x.js'))}, filename: ${JSON.stringify(path.join(dir, 'x.js'))}, paths: [${JSON.stringify(modules)}] };
Module._resolveFilename = function (request, parent, ...rest) {
  const ours = request === 'constructs' || request === 'aws-cdk-lib' || request.startsWith('aws-cdk-lib/');
  return resolve.call(this, request, ours ? from : parent, ...rest);
};`);
  fs.writeFileSync(path.join(dir, 'synth.ts'), `
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { compatChecks } from ${JSON.stringify(path.join(root, 'test/deploy/compat-checks'))};
import { CONCRETE_ENV, VARIANTS } from ${JSON.stringify(path.join(root, 'test/deploy/variants'))};

const version = require('aws-cdk-lib/package.json').version;
if (version !== ${JSON.stringify(cdk)}) {
  throw new Error('resolved aws-cdk-lib ' + version + ', not ${cdk}');
}
async function main() {
  for (const [label, env] of [['environment-agnostic', undefined], ['in ' + CONCRETE_ENV.region, CONCRETE_ENV]] as const) {
    for (const build of VARIANTS) {
      const app = new App({ outdir: fs.mkdtempSync(path.join(${JSON.stringify(dir)}, 'cdk.out-')) });
      const { name, stack } = build(app, env);
      const artifact = app.synth().getStackByName(stack.stackName);
      const errors = artifact.messages.filter((m) => m.level === 'error');
      if (errors.length > 0) {
        throw new Error(name + ': ' + errors.map((m) => m.id + ': ' + m.entry.data).join('; '));
      }
      const problems = await compatChecks(artifact.template, { ...(env ? { account: env.account, region: env.region } : {}), stackName: stack.stackName });
      if (problems.length > 0) {
        throw new Error(name + ' (' + label + '):\\n  ' + problems.join('\\n  '));
      }
      console.log('synthesized ' + name + ' (' + label + ') with aws-cdk-lib ' + version + ': ' + Object.keys(artifact.template.Resources).length + ' resources');
    }
  }
}
main().catch((e) => { console.error(e.message); process.exit(1); });
`);
  execFileSync(process.execPath, ['-r', path.join(dir, 'hook.js'), '-r', 'ts-node/register', path.join(dir, 'synth.ts')], {
    cwd: root, stdio: 'inherit', env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
  });
}

function main(which: string): void {
  const { cdk, constructs } = resolveVersions(which);
  const failOnDeprecated = process.env.JSII_DEPRECATED === 'fail';
  const bundles = checkBundles(root);
  if (bundles.length > 0) {
    throw new Error(`the syntheses need the handler bundles.\n${describeProblems(bundles)}`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdk-compat-${cdk}-`));
  const modules = path.join(dir, 'node_modules');
  console.log(`installing aws-cdk-lib@${cdk} constructs@${constructs} into ${dir}`);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"cdk-compat-check","private":true}');
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `aws-cdk-lib@${cdk}`, `constructs@${constructs}`], dir);

  console.log(`type-checking lib/ against aws-cdk-lib ${cdk}`);
  const program = typeCheck(dir, modules);
  if (failOnDeprecated) {
    const libDir = path.join(root, 'lib') + path.sep;
    const files = program.getSourceFiles().filter((f) => path.resolve(f.fileName).startsWith(libDir));
    const uses = findDeprecatedUses(program, files, root);
    if (uses.length > 0) {
      console.error(`deprecated in aws-cdk-lib ${cdk}:`);
      for (const use of uses) {
        console.error(`  ${use.location}  ${use.api}: ${use.message}`);
      }
      throw new Error(`lib/ uses ${uses.length} deprecated aws-cdk-lib or constructs API(s)`);
    }
    console.log(`no deprecated aws-cdk-lib or constructs API in lib/ (${files.length} files)`);
  }

  console.log(`synthesizing the deploy variants with aws-cdk-lib ${cdk}${failOnDeprecated ? ', JSII_DEPRECATED=fail' : ''}`);
  synthesize(dir, modules, cdk);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`aws-cdk-lib ${cdk}: compatible`);
}

if (require.main === module) {
  try {
    main(process.argv[2] ?? 'peer-minimum');
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
