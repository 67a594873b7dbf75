/**
 * The shared provider's bundle, kind by kind: what a request of one kind loads (the entry, the
 * kind's chunk and the chunks they import) and how long a fresh Node process takes to import it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { BenchSection } from './table';
import { RESOURCE_KINDS } from '../lib/resource-kinds';

const DIR = path.join(__dirname, '..', 'assets', 'lib', 'resource-handlers');
const ENTRY = 'resource-handlers.mjs';
/** What this library promises for the code one request loads. */
export const KIND_BUDGET_BYTES = 100 * 1024;
export const KIND_BUDGET_MILLIS = 50;

export interface KindLoad {
  readonly type: string;
  /** The kind's own chunk. */
  readonly chunk: string;
  /** The entry, the kind's chunk and every chunk they import, transitively. */
  readonly files: string[];
  readonly bytes: number;
}

/** The chunks a module of the bundle imports statically. */
function importsOf(file: string): string[] {
  const code = fs.readFileSync(path.join(DIR, file), 'utf8');
  return [...code.matchAll(/(?:from|import)\s*"\.\/([\w.-]+\.mjs)"/g)].map((m) => m[1]);
}

function closure(start: string[]): string[] {
  const seen = new Set<string>();
  const queue = [...start];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...importsOf(file));
  }
  return [...seen].sort();
}

/** Each registered kind and the files a request of that kind loads. */
export function kindLoads(dir = DIR): KindLoad[] {
  if (!fs.existsSync(path.join(dir, ENTRY))) {
    throw new Error(`no ${ENTRY} under ${path.relative(process.cwd(), dir)}: run \`npx projen bundle\` first`);
  }
  const files = fs.readdirSync(dir);
  return Object.entries(RESOURCE_KINDS).map(([type, load]) => {
    // the registry's lazy import names the handler's module, e.g. import('./schema/schema-copy.handler.js')
    const module = /import\(['"]([^'"]+)['"]\)/.exec(load.toString())?.[1];
    if (!module) throw new Error(`${type}: its registration imports no module`);
    const base = path.basename(module).replace(/\.js$/, '');
    const chunks = files.filter((f) => f.startsWith(`${base}-`) && f.endsWith('.mjs'));
    if (chunks.length !== 1) throw new Error(`${type}: expected one chunk named ${base}-*.mjs, found ${chunks.length}`);
    const loaded = closure([ENTRY, chunks[0]]);
    return {
      type,
      chunk: chunks[0],
      files: loaded,
      bytes: loaded.reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0),
    };
  });
}

/** The packages a module of the bundle imports (the AWS SDK clients, which Lambda's runtime provides). */
function packagesOf(files: string[]): string[] {
  const found = new Set<string>();
  for (const file of files) {
    const code = fs.readFileSync(path.join(DIR, file), 'utf8');
    for (const m of code.matchAll(/(?:from|import)\s*"(@aws-sdk\/[^"]+)"/g)) found.add(m[1]);
  }
  return [...found].sort();
}

interface ColdImport {
  /** The library's code: the entry and the kind's chunks, the SDK clients already loaded. */
  readonly own: number;
  /** The SDK clients the kind imports, loaded first. */
  readonly sdk: number;
}

/**
 * Median of `runs` cold imports in fresh processes: first the AWS SDK clients the kind imports
 * (on Lambda they come from the runtime's copy, loaded just the same), then the entry and the
 * kind's chunk, timed apart.
 */
function coldImport(load: KindLoad, runs = 5): ColdImport {
  const script = [
    'let t = process.hrtime.bigint();',
    ...packagesOf(load.files).map((pkg) => `await import(${JSON.stringify(pkg)});`),
    'const sdk = Number(process.hrtime.bigint() - t) / 1e6;',
    't = process.hrtime.bigint();',
    `await import(${JSON.stringify(path.join(DIR, ENTRY))});`,
    `await import(${JSON.stringify(path.join(DIR, load.chunk))});`,
    'process.stdout.write(JSON.stringify({ sdk, own: Number(process.hrtime.bigint() - t) / 1e6 }));',
  ].join('\n');
  const samples: ColdImport[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: DIR })));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { own: median(samples.map((s) => s.own)), sdk: median(samples.map((s) => s.sdk)) };
}

export async function benchKinds(): Promise<BenchSection[]> {
  const loads = kindLoads();
  return [{
    title: 'The shared provider, per kind: the entry, the kind\'s chunk and the chunks they import (minified; cold import in a fresh Node process, median of 5)',
    rows: loads.map((load) => {
      const cold = coldImport(load);
      const within = load.bytes <= KIND_BUDGET_BYTES && cold.own <= KIND_BUDGET_MILLIS;
      return {
        name: load.type,
        value: `${(load.bytes / 1024).toFixed(1)} KB, ${cold.own.toFixed(1)} ms`,
        note: `${load.files.length} files; ${within ? 'within' : 'OVER'} the budget of 100 KB and 50 ms; `
          + `the AWS SDK clients it imports (${packagesOf(load.files).map((p) => p.replace('@aws-sdk/client-', '')).join(', ') || 'none'}) `
          + `load in ${cold.sdk.toFixed(0)} ms before it`,
      };
    }),
  }];
}
