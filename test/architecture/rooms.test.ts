import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { RESOURCE_KINDS } from '../../lib/resource-kinds';

/*
 * The shape of lib/: each folder is a room, an import is an arrow. Rooms form floors (an arrow only
 * points to a room below: no circle), the files of a room import each other without a circle, the
 * provider framework (lib/provider) imports no capability, and the composition roots at the top
 * (lib/*.ts) are the only files that know every room. Each kind of custom resource lives in its room
 * and is registered once, in lib/resource-kinds.ts.
 */

const ROOT = path.join(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');

function libFiles(dir = LIB): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? libFiles(full) : e.name.endsWith('.ts') ? [path.relative(ROOT, full)] : [];
  }).sort();
}

const FILES = libFiles();

/** The lib/ files `file` imports (relative imports, dynamic ones too). */
function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return ts.preProcessFile(text, true, true).importedFiles
    .map(i => i.fileName)
    .filter(name => name.startsWith('.'))
    .map(name => {
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), name)).replace(/\.js$/, '');
      return [`${base}.ts`, `${base}/index.ts`].find(c => FILES.includes(c));
    })
    .filter((f): f is string => f !== undefined);
}

/** The room of a file: its folder under lib/, or `(top)` for the composition roots. */
function room(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1] : '(top)';
}

/** A circle in `edges`, as the nodes along it; undefined when there is none. */
function findCircle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of edges.keys()) {
    if (!state.has(node)) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
}

const fileEdges = new Map(FILES.map(f => [f, new Set(imports(f))]));
const roomEdges = new Map<string, Set<string>>();
for (const [file, targets] of fileEdges) {
  for (const target of targets) {
    if (room(file) !== room(target)) {
      if (!roomEdges.has(room(file))) roomEdges.set(room(file), new Set());
      roomEdges.get(room(file))!.add(room(target));
    }
  }
}

test('the rooms form floors: no import leads back up, no circle', () => {
  expect(roomEdges.size).toBeGreaterThan(10);
  expect(findCircle(roomEdges)).toBeUndefined();
});

test('no circle between the files of a room', () => {
  expect(findCircle(fileEdges)).toBeUndefined();
});

test('the provider framework knows no capability: it imports only the core', () => {
  expect([...(roomEdges.get('provider') ?? [])].sort()).toEqual(['core']);
});

test('no room imports a composition root', () => {
  const upward = [...fileEdges].flatMap(([file, targets]) => [...targets].filter(t => room(t) === '(top)' && room(file) !== '(top)').map(t => `${file} → ${t}`));
  expect(upward).toEqual([]);
});

test('every handler module is registered as a kind, and every registration names a handler module', () => {
  const handlers = FILES.filter(f => f.endsWith('.handler.ts')).sort();
  const registry = fs.readFileSync(path.join(LIB, 'resource-kinds.ts'), 'utf8');
  const registered = [...registry.matchAll(/import\('\.\/([^']+)\.js'\)/g)].map(m => `lib/${m[1]}.ts`).sort();
  expect(registered).toEqual(handlers);
  expect(Object.keys(RESOURCE_KINDS)).toHaveLength(handlers.length);
});

/** Files of more than 500 lines, each one concept (see the reason). */
const LONG_FILES: Record<string, string> = {
  'lib/fidelity/verify.ts': 'the verify algorithm: first pass, bisection, re-checks, one concept',
  'lib/task/table-mappings.ts': 'the DMS table-mapping document: its rules, their types and checks',
  'lib/task/task-settings.ts': 'the DMS task-settings document: its groups, their types and checks',
  'lib/lifecycle/serverless-lifecycle.handler.ts': 'the lifecycle of a DMS Serverless replication: one state machine of statuses',
  'lib/schema/schema-copy.sh': 'not TypeScript',
  'lib/schema/neon-extensions.json': 'data',
};

test('no file of lib/ is longer than about 500 lines, unless it is one concept', () => {
  const long = FILES.filter(f => !(f in LONG_FILES))
    .map(f => [f, fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length] as const)
    // about 500: a tenth more is still one screenful too many, not a second concept
    .filter(([, lines]) => lines > 550)
    .map(([f, lines]) => `${f}: ${lines} lines`);
  expect(long).toEqual([]);
});
