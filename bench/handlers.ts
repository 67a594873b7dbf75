/**
 * Size of each bundled handler and its cold `require` time in a fresh Node process.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { BenchSection } from './table';

const ASSETS = path.join(__dirname, '..', 'assets');
/** What this library promises for each handler bundle. */
export const HANDLER_BUDGET_BYTES = 100 * 1024;

/** Every bundle under `dir` (`<entry>/index.js`): Lambda handlers (`*.lambda`) and the CLI's. */
export function findBundles(dir = ASSETS): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...findBundles(full));
    } else if (entry.name === 'index.js') {
      found.push(full);
    }
  }
  return found.sort();
}

/** The Lambda handler bundles (`<name>.lambda/index.js`): the AWS SDK comes from the runtime. */
export function findHandlerBundles(dir = ASSETS): string[] {
  return findBundles(dir).filter((file) => path.basename(path.dirname(file)).endsWith('.lambda'));
}

/** Median of `runs` cold requires, each in its own process, in milliseconds. */
function coldRequireMillis(file: string, runs = 5): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});` +
    'process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))';
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

export async function benchHandlers(): Promise<BenchSection[]> {
  const bundles = findHandlerBundles();
  if (bundles.length === 0) {
    throw new Error('no handler bundles under assets/: run `npx projen bundle` first');
  }
  const cli = findBundles().filter((file) => !bundles.includes(file));
  return [{
    title: 'Handler bundles (minified, AWS SDK v3 from the Lambda runtime)',
    rows: bundles.map((file) => {
      const bytes = fs.statSync(file).size;
      return {
        name: path.relative(ASSETS, path.dirname(file)),
        value: `${(bytes / 1024).toFixed(1)} KB`,
        note: `cold require ${coldRequireMillis(file).toFixed(1)} ms; ${bytes <= HANDLER_BUDGET_BYTES ? 'within' : 'OVER'} the 100 KB budget`,
      };
    }),
  }, ...(cli.length === 0 ? [] : [{
    title: 'CLI bundles (minified, with the AWS SDK v3 clients they use: a user\'s machine has no runtime SDK)',
    rows: cli.map((file) => ({
      name: path.relative(ASSETS, path.dirname(file)),
      value: `${(fs.statSync(file).size / 1024).toFixed(1)} KB`,
      note: `cold require ${coldRequireMillis(file).toFixed(1)} ms; loaded once per command, only by cutover and verify --task-arn`,
    })),
  }])];
}
