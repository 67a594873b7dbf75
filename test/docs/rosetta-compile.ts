import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BatchSnippetTranslator, CSharpVisitor, GoVisitor, JavaVisitor, PythonVisitor, SnippetLocation, SnippetParameters,
  TypeScriptSnippet, typeScriptSnippetFromVisibleSource,
} from 'jsii-rosetta';
import * as ts from 'typescript';
import { ROOT } from './doc-files';

/*
 * Examples are code: README.md's, docs/*.md's and the JSDoc @example's, compiled the way
 * `jsii-rosetta extract --strict` compiles them for Construct Hub — rosetta's own markdown
 * extraction, its fixtures (rosetta/*.ts-fixture), its strict compiler options — and translated
 * into Python, Java, C# and Go. The build runs rosetta on the jsii assembly after the jsii compile;
 * this runs it on the sources, so `npm test` fails on a broken example without one, and on the pages
 * under docs/, which the assembly does not carry.
 *
 * `cdk-neon-migration` resolves to lib/index.ts through a package of its own in a temporary
 * directory, next to links to aws-cdk-lib, constructs and @types/node.
 */

/**
 * rosetta's markdown extraction and fixtures are not in its package's `exports`: loaded by path from
 * the installed package (jsii-rosetta is pinned to ~6.0 in .projenrc.ts).
 */
const ROSETTA_LIB = path.dirname(require.resolve('jsii-rosetta'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { extractTypescriptSnippetsFromMarkdown } = require(path.join(ROSETTA_LIB, 'markdown', 'extract-snippets.js')) as {
  extractTypescriptSnippetsFromMarkdown(markdown: string, location: { api: 'file'; fileName: string }, strict: boolean): TypeScriptSnippet[];
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { fixturize } = require(path.join(ROSETTA_LIB, 'fixtures.js')) as { fixturize(snippet: TypeScriptSnippet): TypeScriptSnippet };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const logging = require(path.join(ROSETTA_LIB, 'logging.js')) as { configure(options: { level: number }): void };

/** An example and where it is written. */
export interface Example {
  /** `README.md:120` or `lib/checks/migration-preflight.ts (MigrationPreflight)`. */
  readonly where: string;
  readonly snippet: TypeScriptSnippet;
}

/** The result of compiling and translating an example. */
export interface CompiledExample {
  readonly where: string;
  /** Errors of the strict compile and of the translations, each with the line of the complete source it concerns. */
  readonly errors: string[];
  /** The languages it was translated into. */
  readonly translated: string[];
}

const PROJECT = { [SnippetParameters.$PROJECT_DIRECTORY]: ROOT };

/** The ```ts examples of a markdown file, as rosetta extracts them. */
export function markdownExamples(file: string): Example[] {
  const markdown = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return extractTypescriptSnippetsFromMarkdown(markdown, { api: 'file', fileName: file }, true).map((snippet) => {
    const field = snippet.location.field;
    const line = field?.field === 'markdown' ? `:${field.line}` : '';
    return { where: `${file}${line}`, snippet: withProject(snippet) };
  });
}

/** The @example of every documented declaration under lib/ (the example apps in lib/example/ aside). */
export function jsdocExamples(): Example[] {
  const examples: Example[] = [];
  for (const file of libFiles(path.join(ROOT, 'lib'))) {
    const relative = path.relative(ROOT, file);
    if (relative.startsWith(`lib${path.sep}example${path.sep}`)) continue;
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node, owner?: string): void => {
      const name = (node as { name?: ts.Node }).name;
      const here = name && ts.isIdentifier(name) ? (owner ? `${owner}.${name.text}` : name.text) : owner;
      for (const tag of ts.getJSDocTags(node)) {
        if (tag.tagName.text !== 'example' || tag.parent.parent !== node) continue;
        const code = ts.getTextOfJSDocComment(tag.comment) ?? '';
        const location: SnippetLocation = { api: { api: 'type', fqn: `cdk-neon-migration.${here}` }, field: { field: 'example' } };
        examples.push({ where: `${relative} (${here})`, snippet: typeScriptSnippetFromVisibleSource(code, location, true, { ...PROJECT }) });
      }
      ts.forEachChild(node, (child) => visit(child, ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node) ? here : owner));
    };
    visit(source);
  }
  return examples;
}

/**
 * Compiles `examples` in one TypeScript program with rosetta's strict options (each with its fixture)
 * and translates each into Python, Java, C# and Go.
 */
export function compileExamples(examples: readonly Example[]): CompiledExample[] {
  logging.configure({ level: -2 }); // errors only: the translations guess names the stale or missing assembly lacks
  const directory = compilationDirectory();
  try {
    const fixturized = examples.map((e) => fixturize(e.snippet));
    const batch = new BatchSnippetTranslator(fixturized, { compilationDirectory: directory, includeCompilerDiagnostics: true });
    const results: CompiledExample[] = [];
    let i = 0;
    for (const [snippet, translator] of batch) {
      const translated: string[] = [];
      for (const [language, visitor] of [['python', new PythonVisitor()], ['java', new JavaVisitor()], ['csharp', new CSharpVisitor()], ['go', new GoVisitor()]] as const) {
        if (translator.renderUsing(visitor).trim() !== '') translated.push(language);
      }
      const complete = snippet.completeSource ?? snippet.visibleSource;
      const errors = translator.diagnostics
        .filter((d) => d.category === ts.DiagnosticCategory.Error)
        .map((d) => describe(d, complete));
      results.push({ where: examples[i++].where, errors, translated });
    }
    return results;
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
}

function withProject(snippet: TypeScriptSnippet): TypeScriptSnippet {
  return { ...snippet, parameters: { ...snippet.parameters, ...PROJECT } };
}

function describe(d: ts.Diagnostic, complete: string): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.start === undefined) return message;
  const line = complete.slice(0, d.start).split('\n').length;
  return `${message}\n    at \`${complete.split('\n')[line - 1]?.trim()}\``;
}

function libFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? libFiles(full) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  }).sort();
}

/** A directory where `cdk-neon-migration` is lib/index.ts, and aws-cdk-lib, constructs and @types/node are the repository's. */
function compilationDirectory(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doc-examples-'));
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '@types'), { recursive: true });
  for (const name of ['aws-cdk-lib', 'constructs', '@types/node']) {
    fs.symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name), 'dir');
  }
  const pkg = path.join(modules, 'cdk-neon-migration');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'cdk-neon-migration', version: '0.0.0', types: 'index.d.ts' }));
  fs.writeFileSync(path.join(pkg, 'index.d.ts'), `export * from ${JSON.stringify(path.join(ROOT, 'lib', 'index'))};\n`);
  return dir;
}
