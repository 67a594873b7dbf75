/**
 * Synth time, resource count and template size of stacks with 1, 10 and 50 complete migrations,
 * against a raw-L1 baseline declaring the same DMS resources and against the same nine resources
 * per migration declared as raw L1s (the floor of the library's synth time), and the
 * `npx cdk synth` wall time of the example app.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as v8 from 'v8';
import * as vm from 'vm';
import { App, Stack } from 'aws-cdk-lib';
import { buildL1FullStack, buildL1MinimalStack, buildL1Stack, buildLibraryStack, SCALE_STACK_NAME } from './scale-stacks';
import type { BenchRow, BenchSection } from './table';

/** CloudFormation's resource quota per stack. */
export const MAX_RESOURCES = 500;
/** CloudFormation's template size quota (1 MB), as aws-cdk-lib checks it (10^6 bytes). */
export const MAX_TEMPLATE_BYTES = 1_000_000;
/** Budget of the library's marginal synth time per migration, as a multiple of the L1 baseline's. */
export const MARGINAL_BUDGET = 1.5;

const SIZES = [1, 10, 50];
const RUNS = 9;

/** The context `cdk synth` gives an app (path and asset metadata, version reporting), and no resource limit: sizes are measured, limits checked below. */
const CLI_CONTEXT = {
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:version-reporting': true,
  'aws:cdk:bundling-stacks': ['**'],
  '@aws-cdk/core:stackResourceLimit': 0,
};

/** A full garbage collection before each sample, so that one sample does not pay for the garbage of the previous. */
v8.setFlagsFromString('--expose_gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

type Builder = (app: App, n: number) => Stack;

interface SynthSample {
  /** Construction plus `app.synth()`, in milliseconds. */
  readonly totalMs: number;
  /** `app.synth()` alone, in milliseconds. */
  readonly synthMs: number;
  readonly resources: number;
  /** Size of the template file `app.synth()` wrote (what `cdk synth` writes and deploys). */
  readonly bytes: number;
  readonly types: Record<string, number>;
}

/** Builds `n` migrations in a fresh App and synthesizes the whole app into a temporary directory. */
export function synthOnce(build: Builder, n: number): SynthSample {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  try {
    collectGarbage();
    const start = performance.now();
    const app = new App({ outdir, context: CLI_CONTEXT });
    build(app, n);
    const built = performance.now();
    const assembly = app.synth();
    const end = performance.now();
    const artifact = assembly.getStackByName(SCALE_STACK_NAME);
    const resources = Object.values(artifact.template.Resources ?? {}) as Array<{ Type: string }>;
    const types: Record<string, number> = {};
    for (const r of resources) {
      types[r.Type] = (types[r.Type] ?? 0) + 1;
    }
    return {
      totalMs: end - start,
      synthMs: end - built,
      resources: resources.length,
      bytes: fs.statSync(artifact.templateFullPath).size,
      types,
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Spread of the samples around their median, in percent (half the interquartile-ish range: (max − min) / 2 / median). */
function spread(values: number[]): string {
  const m = median(values);
  return `±${((Math.max(...values) - Math.min(...values)) / 2 / m * 100).toFixed(0)} %`;
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;
const kb = (v: number): string => `${(v / 1024).toFixed(1)} KB`;

interface Measured {
  readonly total: Record<number, number[]>;
  readonly synth: Record<number, number[]>;
  readonly sample: Record<number, SynthSample>;
}

function measure(variants: Record<string, Builder>): Record<string, Measured> {
  const result: Record<string, Measured> = {};
  for (const [name, build] of Object.entries(variants)) {
    // warm-up: loads every module and lets the JIT settle
    synthOnce(build, 50);
    synthOnce(build, 1);
    result[name] = { total: {}, synth: {}, sample: {} };
  }
  // interleaved, so that load from other processes hits both variants alike
  for (let run = 0; run < RUNS; run++) {
    for (const n of SIZES) {
      for (const [name, build] of Object.entries(variants)) {
        const sample = synthOnce(build, n);
        const m = result[name];
        (m.total[n] ??= []).push(sample.totalMs);
        (m.synth[n] ??= []).push(sample.synthMs);
        m.sample[n] = sample;
      }
    }
  }
  return result;
}

/** Per-migration increase of each resource type between N=1 and N=50. */
function perMigrationTypes(one: SynthSample, fifty: SynthSample): string {
  return Object.keys(fifty.types).sort()
    .map((t) => [t, (fifty.types[t] - (one.types[t] ?? 0)) / 49] as const)
    .filter(([, d]) => d !== 0)
    .map(([t, d]) => `${t.replace(/^AWS::/, '')} ×${Number.isInteger(d) ? d : d.toFixed(2)}`)
    .join(', ');
}

function cdkSynthWallMillis(runs = 3): number[] {
  const root = path.join(__dirname, '..');
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cdk-synth-'));
    try {
      const start = performance.now();
      execFileSync('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
        cwd: root,
        env: { ...process.env, AWS_REGION: 'us-east-1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      samples.push(performance.now() - start);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }
  return samples;
}

export async function benchSynth(): Promise<BenchSection[]> {
  const m = measure({ library: buildLibraryStack, l1: buildL1Stack, floor: buildL1FullStack, minimal: buildL1MinimalStack });
  const lib = m.library;
  const l1 = m.l1;
  const floor = m.floor;
  const minimal = m.minimal;

  const timeRows: BenchRow[] = [];
  for (const n of SIZES) {
    const t = median(lib.total[n]);
    const b = median(l1.total[n]);
    timeRows.push({
      name: `N = ${n}: library / L1 baseline`,
      value: `${ms(t)} / ${ms(b)} (×${(t / b).toFixed(2)})`,
      note: `app.synth() alone ${ms(median(lib.synth[n]))} / ${ms(median(l1.synth[n]))}; spread ${spread(lib.total[n])} / ${spread(l1.total[n])}`,
    });
  }
  const marginal = (x: Measured, of: (v: number[]) => number = median): number => (of(x.total[50]) - of(x.total[1])) / 49;
  const libMarginal = marginal(lib);
  const l1Marginal = marginal(l1);
  const floorMarginal = marginal(floor);
  const ratio = libMarginal / l1Marginal;
  const fastest = (v: number[]): number => Math.min(...v);
  const marginalSynth = (x: Measured): number => (median(x.synth[50]) - median(x.synth[1])) / 49;
  timeRows.push({
    name: 'marginal synth time per migration ((t50 − t1) / 49): library / L1',
    value: `${ms(libMarginal)} / ${ms(l1Marginal)} (×${ratio.toFixed(2)})`,
    note: `${ratio <= MARGINAL_BUDGET ? 'within' : 'OVER'} the ${MARGINAL_BUDGET}× budget (${ms(MARGINAL_BUDGET * l1Marginal)}); `
      + `from the fastest runs ${ms(marginal(lib, fastest))} / ${ms(marginal(l1, fastest))}; `
      + `app.synth() alone ${ms(marginalSynth(lib))} / ${ms(marginalSynth(l1))}`,
  });
  const floorSample = floor.sample[50];
  const perMigration = (x: Measured): number => (x.sample[50].resources - x.sample[1].resources) / 49;
  timeRows.push({
    name: `marginal synth time per migration of the library's ${perMigration(floor)} resources as raw L1s (floor) / L1`,
    value: `${ms(floorMarginal)} (×${(floorMarginal / l1Marginal).toFixed(2)})`,
    note: `the library's resources without its construct code (${floorSample.resources} resources at N = 50, like the library's ${lib.sample[50].resources}); `
      + `the library adds ${ms(libMarginal - floorMarginal)} per migration to it; from the fastest runs ${ms(marginal(floor, fastest))}; `
      + `app.synth() alone ${ms(marginalSynth(floor))}`,
  });
  const minimalMarginal = marginal(minimal);
  timeRows.push({
    name: `marginal synth time per migration of the fewest resources a complete migration can have (${perMigration(minimal)}) as raw L1s / L1`,
    value: `${ms(minimalMarginal)} (×${(minimalMarginal / l1Marginal).toFixed(2)})`,
    note: 'source endpoint, Neon credentials secret, Neon endpoint, task, lifecycle (which tests the connections); one access role and one stopper per stack; '
      + `no construct code: leaves ${ms(Math.max(0, MARGINAL_BUDGET * l1Marginal - minimalMarginal))} per migration for all construct code within the ${MARGINAL_BUDGET}× budget; `
      + `from the fastest runs ${ms(marginal(minimal, fastest))}`,
  });

  // resources and template size
  const one = lib.sample[1];
  const fifty = lib.sample[50];
  const perResources = (fifty.resources - one.resources) / 49;
  const perBytes = (fifty.bytes - one.bytes) / 49;
  const fixedResources = one.resources - perResources;
  const fixedBytes = one.bytes - perBytes;
  const byResources = Math.floor((MAX_RESOURCES - fixedResources) / perResources);
  const byBytes = Math.floor((MAX_TEMPLATE_BYTES - fixedBytes) / perBytes);
  const fits = (s: SynthSample): boolean => s.resources <= MAX_RESOURCES && s.bytes <= MAX_TEMPLATE_BYTES;
  // the linear estimate, then down to the largest N that fits as synthesized: a stack grows by more
  // than its migrations near the limits (aws-cdk-lib moves a role's policies that outgrow the inline
  // size into managed policies)
  let largest = Math.min(byResources, byBytes);
  let verified = synthOnce(buildLibraryStack, largest);
  let beyond = synthOnce(buildLibraryStack, largest + 1);
  while (!fits(verified) && largest > 1) {
    beyond = verified;
    largest -= 1;
    verified = synthOnce(buildLibraryStack, largest);
  }
  const l1One = l1.sample[1];
  const l1Fifty = l1.sample[50];
  const lambdas = (s: SynthSample): number => s.types['AWS::Lambda::Function'] ?? 0;

  const scaleRows: BenchRow[] = [
    ...SIZES.map((n) => ({
      name: `N = ${n}: resources, template bytes`,
      value: `${lib.sample[n].resources}, ${kb(lib.sample[n].bytes)}`,
      note: `L1 baseline ${l1.sample[n].resources}, ${kb(l1.sample[n].bytes)}`,
    })),
    {
      name: 'resources per added migration',
      value: perResources.toFixed(2),
      note: `${perMigrationTypes(one, fifty)} (L1 baseline ${((l1Fifty.resources - l1One.resources) / 49).toFixed(2)})`,
    },
    {
      name: 'template bytes per added migration',
      value: kb(perBytes),
      note: `fixed part ${fixedResources.toFixed(0)} resources, ${kb(fixedBytes)} (L1 baseline ${kb((l1Fifty.bytes - l1One.bytes) / 49)} per migration)`,
    },
    {
      name: `largest N under ${MAX_RESOURCES} resources and 1 MB`,
      value: String(largest),
      note: `limited by ${byResources <= byBytes ? 'resources' : 'bytes'} (a linear estimate allows ${byResources} by resources, ${byBytes} by bytes); `
        + `verified: N = ${largest} has ${verified.resources} resources, ${kb(verified.bytes)} (${fits(verified) ? 'fits' : 'DOES NOT FIT'}); `
        + `N = ${largest + 1} has ${beyond.resources}, ${kb(beyond.bytes)} (${fits(beyond) ? 'fits too' : 'does not fit'})`,
    },
    {
      name: '50 migrations in one stack',
      value: fits(fifty) ? 'fits' : 'DOES NOT FIT',
      note: `${fifty.resources} resources, ${kb(fifty.bytes)}`,
    },
    {
      name: 'Lambda functions at N = 1 / N = 50',
      value: `${lambdas(one)} / ${lambdas(fifty)}`,
      note: lambdas(one) === lambdas(fifty) ? 'one shared provider per stack' : 'GROWS with migrations',
    },
  ];

  const wall = cdkSynthWallMillis();
  const cliRows: BenchRow[] = [{
    name: 'npx cdk synth --quiet (example app)',
    value: `${(median(wall) / 1000).toFixed(2)} s`,
    note: `median of ${wall.length}: ${wall.map((w) => (w / 1000).toFixed(2)).join(', ')} s (includes npx, ts-node start-up and transpiling)`,
  }];

  return [
    {
      title: `Synth time, N complete migrations in one stack sharing one imported replication instance (median of ${RUNS} after a warm-up, fresh App each with the context cdk synth gives; construction + app.synth())`,
      rows: timeRows,
    },
    { title: 'Stack size per migration (one imported replication instance shared by all)', rows: scaleRows },
    { title: 'CLI synth of the example app', rows: cliRows },
  ];
}
