import { ProgressEvent } from '../fidelity/progress';
import { formatTableDetails } from '../fidelity/report';
import { defaultMappings, TableMappings } from '../fidelity/selection';
import { isMySqlSource, setSequencesFromMySql } from '../fidelity/source-engine';
import { verify, VerifyResult } from '../fidelity/verify';
import { libpqVariablesFromUrl, runSchemaCopy, SchemaCopyError, schemaCopyEnvironment } from '../schema/steps';

/** One reading of the replication latency (see {@link CutoverOptions.latency}). */
export interface LatencyReading {
  /**
   * How long a change committed on the source takes to be applied on the target now, in
   * milliseconds. Absent when it cannot be known (then `problem` says why).
   */
  readonly latencyMs?: number;
  /** Why the migration cannot be cut over whatever the latency: the task stopped, failed, is still loading, ... */
  readonly problem?: string;
  /** Where the reading comes from, for the evidence: `CDCLatencySource 0 s + CDCLatencyTarget 1 s at 2026-…`. */
  readonly detail: string;
}

/** Options of {@link cutover}. */
export interface CutoverOptions {
  /** The source's connection string (`postgresql://…`, or `mysql://…` for a MySQL-compatible source). */
  readonly source: string;
  /** The target's connection string. */
  readonly target: string;
  /**
   * The task's table mapping: which tables are verified and whose sequences are set.
   * @default - every table of every non-system schema
   */
  readonly mappings?: TableMappings;
  /** Reads the replication latency now: a DMS task's CloudWatch latency ({@link dmsTaskLatency}), or any other measure. */
  readonly latency: () => Promise<LatencyReading>;
  /** The latency at or below which the migration is in sync enough to cut over. @default 5000 */
  readonly maxLatencyMs?: number;
  /** How long to wait for the latency to fall to `maxLatencyMs`. @default 900000 (15 minutes) */
  readonly waitMs?: number;
  /** Time between latency readings while waiting. @default 30000 */
  readonly pollMs?: number;
  /** Added to the latency before each re-check of the verification (see `ChangeRecheckOptions.marginMs`). @default 10000 */
  readonly recheckMarginMs?: number;
  /** Re-check rounds of the verification at most. @default 5 */
  readonly recheckRounds?: number;
  /** Tables verified at the same time. @default 4 */
  readonly concurrency?: number;
  /** Differing keys listed per table. @default 20 */
  readonly maxDifferences?: number;
  /**
   * Run the schema copy's `constraints` step (foreign keys, triggers, identity columns `GENERATED
   * ALWAYS` again) before the sequences: for a target whose schema the schema copy created.
   * @default false
   */
  readonly constraints?: boolean;
  /**
   * Set every sequence of the selected tables from the source (the schema copy's `sequences` step;
   * for a MySQL source, the target's sequences of the converted AUTO_INCREMENT columns).
   * @default true
   */
  readonly sequences?: boolean;
  /** Called with what is happening (latency readings, steps). */
  readonly onEvent?: (message: string) => void;
  /** Called after each verified table. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Waits `ms` milliseconds. @default - a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** How one check of the cutover ended. */
export type CutoverCheckStatus = 'pass' | 'fail' | 'skipped';

/** One check of the cutover and its evidence. */
export interface CutoverCheck {
  readonly check: 'latency' | 'verify' | 'constraints' | 'sequences';
  readonly status: CutoverCheckStatus;
  /** The evidence, or why it failed or was skipped. */
  readonly detail: string;
}

/** A latency reading taken while waiting. */
export interface LatencySample {
  /** When it was read (ISO 8601). */
  readonly at: string;
  readonly latencyMs?: number;
  readonly problem?: string;
  readonly detail: string;
}

/** What a schema step did. */
export interface CutoverSchemaStep {
  readonly step: 'constraints' | 'sequences';
  readonly ok: boolean;
  /** What the step printed (for sequences: one line per sequence set or kept). */
  readonly output: readonly string[];
}

/** The go / no-go of {@link cutover}, with its evidence. */
export interface CutoverResult {
  /** True when the application can switch to the target now. */
  readonly go: boolean;
  readonly checks: readonly CutoverCheck[];
  readonly latency: {
    readonly maxLatencyMs: number;
    /** The last reading. */
    readonly lastMs?: number;
    readonly waitedMs: number;
    readonly samples: readonly LatencySample[];
  };
  /** The verification, when the latency allowed it. */
  readonly verify?: VerifyResult;
  /** The schema steps run. */
  readonly schemaSteps: readonly CutoverSchemaStep[];
  /** Sequences set and kept (from the sequences step). */
  readonly sequencesSet?: number;
  readonly sequencesKept?: number;
  readonly durationMs: number;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0, got ${value}`);
  return value;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A summary of a verification for the evidence: tables, rows, differences, rows followed. */
export function verifyEvidence(result: VerifyResult): string {
  const rows = result.tables.reduce((n, t) => n + t.sourceRows, 0);
  const differing = result.tables.reduce((n, t) => n + t.differences.length, 0);
  const bad = result.tables.filter((t) => t.status !== 'match').length;
  const settled = result.tables.reduce((n, t) => n + (t.recheck?.settledRows ?? 0), 0);
  const unsettled = result.tables.reduce((n, t) => n + (t.recheck?.unsettledRows ?? 0), 0);
  const parts = [`${result.tables.length} table(s), ${rows} source row(s) compared`];
  parts.push(bad === 0 ? 'all match' : `${bad} table(s) differ or could not be compared (${differing}${result.tables.some((t) => t.differencesTruncated) ? '+' : ''} differing row(s) listed)`);
  parts.push(`${settled} row(s) in flight re-checked and arrived`);
  if (unsettled > 0) parts.push(`${unsettled} row(s) still changing on the source`);
  for (const f of result.findings) parts.push(`${f.code}: ${f.message}`);
  return parts.join('; ');
}

/**
 * Decides whether a live migration can be cut over now, and prepares the target for it:
 *
 * 1. waits until the replication latency is at most `maxLatencyMs` (no-go when it stays above it
 *    for `waitMs`, or when the reading reports a problem such as a stopped task);
 * 2. verifies every selected table, re-checking differences after the latency (rows in flight are
 *    not reported; rows lost are); no-go on any difference, on rows still changing on the source
 *    after the last re-check, or when no table was compared;
 * 3. only then runs the schema copy's `constraints` step (when asked) and `sequences` step, so the
 *    target's sequences and identity columns continue where the source's are.
 *
 * Nothing on the target changes unless the latency and the data are right.
 */
export async function cutover(options: CutoverOptions): Promise<CutoverResult> {
  const started = Date.now();
  const maxLatencyMs = nonNegative('maxLatencyMs', options.maxLatencyMs, 5000);
  const waitMs = nonNegative('waitMs', options.waitMs, 900_000);
  const pollMs = Math.max(1, nonNegative('pollMs', options.pollMs, 30_000));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const say = (message: string) => options.onEvent?.(message);
  const mysqlSource = isMySqlSource(options.source);
  if (mysqlSource && options.constraints) {
    throw new Error('constraints: the schema copy\'s constraints step copies a PostgreSQL source\'s schema; a MySQL source\'s schema was converted (DMS Schema Conversion applies its constraints)');
  }
  const checks: CutoverCheck[] = [];
  const samples: LatencySample[] = [];
  const schemaSteps: CutoverSchemaStep[] = [];
  /** The checks after `after`, in order, skipped for `reason`. */
  const order: Array<CutoverCheck['check']> = ['latency', 'verify', ...(options.constraints ? ['constraints' as const] : []), ...(options.sequences !== false ? ['sequences' as const] : [])];
  const skipAfter = (after: CutoverCheck['check'], reason: string) => {
    for (const check of order.slice(order.indexOf(after) + 1)) checks.push({ check, status: 'skipped', detail: reason });
  };
  const result = (go: boolean, extra: Partial<CutoverResult> = {}): CutoverResult => ({
    go,
    checks,
    latency: { maxLatencyMs, lastMs: samples[samples.length - 1]?.latencyMs, waitedMs: waitedMs, samples },
    schemaSteps,
    ...extra,
    durationMs: Date.now() - started,
  });

  // 1. the latency
  const waitStarted = Date.now();
  let waitedMs = 0;
  for (;;) {
    const reading = await options.latency();
    const sample: LatencySample = { at: new Date().toISOString(), ...reading };
    samples.push(sample);
    waitedMs = Date.now() - waitStarted;
    if (reading.problem) {
      say(`latency: ${reading.problem}`);
      checks.push({ check: 'latency', status: 'fail', detail: `${reading.problem} (${reading.detail})` });
      skipAfter('latency', 'the replication is not in a state to cut over');
      return result(false);
    }
    const latency = reading.latencyMs;
    if (latency === undefined || !Number.isFinite(latency) || latency < 0) throw new Error(`the latency reading has no latency and no problem: ${reading.detail}`);
    say(`latency: ${seconds(latency)} (${reading.detail})`);
    if (latency <= maxLatencyMs) {
      checks.push({ check: 'latency', status: 'pass', detail: `${seconds(latency)} <= ${seconds(maxLatencyMs)} (${reading.detail}; ${samples.length} reading(s) in ${seconds(waitedMs)})` });
      break;
    }
    if (Date.now() - waitStarted + pollMs > waitMs) {
      checks.push({
        check: 'latency',
        status: 'fail',
        detail: `${seconds(latency)} > ${seconds(maxLatencyMs)} after waiting ${seconds(Date.now() - waitStarted)} (${samples.length} reading(s); last: ${reading.detail}). `
          + 'Stop the writes to the source, or let the task catch up, then run cutover again.',
      });
      skipAfter('latency', 'the latency is above the threshold');
      return result(false);
    }
    await sleep(pollMs);
  }

  // 2. the data, re-checked after the latency
  say('verify: comparing the selected tables, re-checking differences after the latency');
  const verified = await verify({
    source: options.source,
    target: options.target,
    mappings: options.mappings,
    concurrency: options.concurrency,
    maxDifferences: options.maxDifferences,
    onProgress: options.onProgress,
    recheck: {
      latencyMs: async () => {
        const reading = await options.latency();
        if (reading.problem) throw new Error(`the replication latency cannot be read: ${reading.problem}`);
        return reading.latencyMs ?? Number.NaN;
      },
      marginMs: Math.round(nonNegative('recheckMarginMs', options.recheckMarginMs, 10_000)),
      maxRounds: options.recheckRounds,
      sleep,
    },
  });
  const unsettled = verified.tables.reduce((n, t) => n + (t.recheck?.unsettledRows ?? 0), 0);
  const verifyOk = verified.ok && unsettled === 0;
  checks.push({
    check: 'verify',
    status: verifyOk ? 'pass' : 'fail',
    detail: verifyEvidence(verified) + (verified.ok && unsettled > 0 ? '. Stop the writes to the source, then run cutover again.' : ''),
  });
  if (!verifyOk) {
    skipAfter('verify', 'the verification did not pass: nothing was changed on the target');
    return result(false, { verify: verified });
  }

  // 3. the schema steps; a MySQL source has no schema copy: its AUTO_INCREMENT counters are carried over directly
  if (mysqlSource) {
    if (options.sequences === false) return result(true, { verify: verified });
    say('sequences: from the source\'s AUTO_INCREMENT counters');
    try {
      const set = await setSequencesFromMySql({ source: options.source, target: options.target, mappings: options.mappings });
      const lines = set.sequences.map((s) => `${s.column} -> ${s.sequence}: ${s.action === 'set' ? `continues at ${s.sourceNext}` : `kept at ${s.targetNextBefore} (the source's next is ${s.sourceNext})`}`);
      lines.push(...set.withoutSequence.map((c) => `${c}: AUTO_INCREMENT on the source, no sequence on the target (nothing set)`));
      lines.forEach(say);
      const sequencesSet = set.sequences.filter((s) => s.action === 'set').length;
      const sequencesKept = set.sequences.length - sequencesSet;
      schemaSteps.push({ step: 'sequences', ok: true, output: lines });
      checks.push({ check: 'sequences', status: 'pass', detail: `${sequencesSet} set, ${sequencesKept} kept${lines.length > 0 ? `: ${lines.join('; ')}` : ''}` });
      return result(true, { verify: verified, sequencesSet, sequencesKept });
    } catch (e) {
      checks.push({ check: 'sequences', status: 'fail', detail: `${(e as Error).message} (nothing of this step was kept)` });
      schemaSteps.push({ step: 'sequences', ok: false, output: [] });
      return result(false, { verify: verified });
    }
  }
  const env = schemaCopyEnvironment({
    source: libpqVariablesFromUrl(options.source, 'source'),
    target: libpqVariablesFromUrl(options.target, 'target'),
    mappings: options.mappings ?? defaultMappings(),
  });
  const steps = order.filter((c): c is 'constraints' | 'sequences' => c === 'constraints' || c === 'sequences');
  let sequencesSet: number | undefined;
  let sequencesKept: number | undefined;
  for (const step of steps) {
    say(`schema ${step}`);
    try {
      const run = await runSchemaCopy(step, env, { onLine: (line) => say(line) });
      schemaSteps.push({ step, ok: true, output: run.lines });
      let detail = run.lines[run.lines.length - 1] ?? 'done';
      if (step === 'sequences') {
        const counts = /sequences: (\d+) set, (\d+) kept/.exec(run.lines.join('\n'));
        sequencesSet = counts ? Number(counts[1]) : 0;
        sequencesKept = counts ? Number(counts[2]) : 0;
        const set = run.lines.filter((l) => / continues at /.test(l)).map((l) => l.replace(/^sequences: /, '').replace(/ \(the source.*$/, ''));
        detail = `${sequencesSet} set, ${sequencesKept} kept${set.length > 0 ? `: ${set.join('; ')}` : ''}`;
      }
      checks.push({ check: step, status: 'pass', detail });
    } catch (e) {
      if (!(e instanceof SchemaCopyError)) throw e;
      schemaSteps.push({ step, ok: false, output: e.output.split('\n').filter((l) => l.length > 0) });
      checks.push({ check: step, status: 'fail', detail: `${e.detail} (nothing of this step was kept)` });
      skipAfter(step, `the ${step} step failed`);
      return result(false, { verify: verified, sequencesSet, sequencesKept });
    }
  }
  return result(true, { verify: verified, sequencesSet, sequencesKept });
}

/**
 * The go / no-go as text: one line per check with its evidence; on a failed verification the rows
 * behind it, table by table (each lost or differing row by its key, the rows not proven, the tables
 * that could not be compared); then the verdict.
 */
export function formatCutover(result: CutoverResult): string {
  const width = Math.max(...result.checks.map((c) => c.check.length));
  const out = result.checks.map((c) => `${c.check.padEnd(width)}  ${c.status.toUpperCase().padEnd(7)}  ${c.detail}`);
  if (result.checks.some((c) => c.check === 'verify' && c.status === 'fail') && result.verify) {
    out.push(...formatTableDetails(result.verify));
  }
  out.push('');
  out.push(result.go
    ? 'Cutover: GO. Switch the application to the target now; then stop the task.'
    : 'Cutover: NO-GO. Keep the application on the source.');
  return out.join('\n') + '\n';
}
