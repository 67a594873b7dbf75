import { CloudWatchClient, MetricDatum, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { compareUnit, planUnits, tableResults, UnitProgress, VerificationUnit } from './units';
import { signalWaitCondition } from '../../provider/load-wait-poll';
import { openSession, Session } from '../connection';
import { FIDELITY_METRICS_NAMESPACE, FidelityProperties, connectionConfigs, mismatchedRows } from '../fidelity.lambda';
import { formatKey, formatTypeChange } from '../format';
import { readLatencyMetrics } from '../latency-metrics';
import { displayName, TableMappings } from '../selection';
import { TableVerification, VerifyOptions } from '../verify';

/*
 * The workers of `MigrationVerification`'s distributed mode, one function called by the
 * verification's state machine with an `Action`:
 *   plan     — lists the units (tables, key ranges of large tables) and writes them to S3;
 *   compare  — compares a unit from its cursor until it is done or the time budget is spent;
 *   report   — adds the units' results up per table, publishes the metrics, signals the wait condition;
 *   fail     — signals the wait condition that the verification failed (the state machine's catch).
 * Credentials come from Secrets Manager; nothing secret is logged, stored or returned.
 */

/** What the state machine's input holds (strings, as the custom resource's properties). */
export interface RunConfig extends FidelityProperties {
  /** The bucket for the unit list and the units' results. */
  readonly Bucket: string;
  /** Key prefix of this run's objects, ending in `/`. */
  readonly Prefix: string;
  /** Seconds a compare invocation keeps starting chunks. */
  readonly BudgetSeconds: string;
  readonly UnitRows?: string;
  readonly ChunkRows?: string;
  /** Units that run in an inline Map at most; more go through a Distributed Map reading the list from S3. */
  readonly InlineMaxUnits?: string;
  /** The wait condition handle's presigned URL; none: the deployment does not wait. */
  readonly WaitHandle?: string;
}

/** What `plan` answers. */
export interface PlanAnswer {
  /** `inline` or `distributed`. */
  readonly Mode: string;
  readonly UnitCount: number;
  /** The units (inline mode only; the distributed Map reads them from `ItemsKey`). */
  readonly Units?: readonly VerificationUnit[];
  readonly ItemsKey: string;
  readonly Tables: number;
  readonly EstimatedRows: number;
}

/** What `compare` answers: the unit's progress (its result only while it is not done; then it is in S3). */
export type CompareAnswer = UnitProgress;

/** What `report` answers. */
export interface ReportAnswer {
  readonly Ok: boolean;
  readonly Summary: string;
  readonly Tables: number;
  readonly MismatchedTables: number;
  readonly Rows: number;
  readonly MismatchedRows: number;
}

export type WorkerEvent =
  | { readonly Action: 'plan'; readonly Run: RunConfig }
  | { readonly Action: 'compare'; readonly Run: RunConfig; readonly Unit: VerificationUnit; readonly Progress?: UnitProgress }
  | { readonly Action: 'report'; readonly Run: RunConfig; readonly Plan: Pick<PlanAnswer, 'UnitCount' | 'ItemsKey'> }
  | { readonly Action: 'fail'; readonly Run: RunConfig; readonly Failure?: { readonly Error?: string; readonly Cause?: string } };

/** The part of the Lambda context a worker reads. */
export interface WorkerContext {
  getRemainingTimeInMillis?(): number;
}

/** The longest plan kept in an inline Map's state (Step Functions passes at most 256 KiB between states). */
export const INLINE_PLAN_MAX_BYTES = 128 * 1024;
/** Units an inline Map runs at most by default (its iterations run at most 40 at a time). */
export const INLINE_MAX_UNITS = 40;
/** The verification's own metrics, besides `verify`'s `MismatchedRows` and `RowsCompared` per table. */
export const DISTRIBUTED_METRICS = { rowsVerified: 'RowsVerified', unitsCompleted: 'UnitsCompleted', mismatchedTables: 'MismatchedTables', failed: 'VerificationFailed' } as const;

let s3: S3Client | undefined;
let cloudwatch: CloudWatchClient | undefined;

function store(): S3Client {
  s3 ??= new S3Client({});
  return s3;
}

async function putJson(run: RunConfig, key: string, value: unknown): Promise<void> {
  await store().send(new PutObjectCommand({ Bucket: run.Bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }));
}

async function getJson<T>(run: RunConfig, key: string): Promise<T> {
  const object = await store().send(new GetObjectCommand({ Bucket: run.Bucket, Key: key }));
  return JSON.parse(await object.Body!.transformToString()) as T;
}

function resultKey(run: RunConfig, index: number): string {
  return `${run.Prefix}results/${index}.json`;
}

async function putMetrics(data: MetricDatum[]): Promise<void> {
  cloudwatch ??= new CloudWatchClient({});
  for (let i = 0; i < data.length; i += 20) {
    await cloudwatch.send(new PutMetricDataCommand({ Namespace: FIDELITY_METRICS_NAMESPACE, MetricData: data.slice(i, i + 20) }));
  }
}

function taskDimension(run: RunConfig) {
  return [{ Name: 'TaskIdentifier', Value: run.TaskIdentifier ?? 'verification' }];
}

/**
 * Time kept between the last statement's end and the invocation's: a statement that runs longer is
 * cancelled by the database before Lambda ends the invocation.
 */
export const STATEMENT_MARGIN_MS = 15_000;

async function withSessions<T>(run: RunConfig, work: (src: Session, tgt: Session) => Promise<T>, context?: WorkerContext): Promise<T> {
  const { source, target } = await connectionConfigs(run);
  if (!target) throw new Error('Verification needs the target secret (TargetSecretArn).');
  const [src, tgt] = await Promise.all([
    openSession(source, 'cdk-neon-migration verify', 'source'),
    openSession(target, 'cdk-neon-migration verify', 'target'),
  ]);
  // a connection that breaks mid-unit fails the query in flight (and the invocation, which is retried): not the process
  for (const session of [src, tgt]) session.client.on('error', (e: Error) => console.log(`database connection lost: ${e.message}`));
  // no statement outlives its invocation: a retried invocation never finds the last one's scan still running
  // on the source, so the workers' sessions stay within maxConcurrency per database
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining !== undefined) {
    const timeout = Math.max(1, Math.floor(remaining - STATEMENT_MARGIN_MS));
    await Promise.all([src, tgt].map((session) => session.client.query(`set statement_timeout = ${timeout}`)));
  }
  try {
    return await work(src, tgt);
  } finally {
    await Promise.all([src.close(), tgt.close()]);
  }
}

function verifyOptions(run: RunConfig): Omit<VerifyOptions, 'source' | 'target' | 'mappings' | 'concurrency'> {
  const recheck: VerifyOptions['recheck'] = run.RecheckInstanceIdentifier && run.RecheckTaskResourceId ? {
    latencyMs: async () => {
      cloudwatch ??= new CloudWatchClient({});
      const dimensions = { instanceIdentifier: run.RecheckInstanceIdentifier!, taskResourceId: run.RecheckTaskResourceId! };
      const reading = await readLatencyMetrics(cloudwatch, dimensions, Date.now());
      if (reading.latencyMs === undefined) throw new Error(`the task's replication latency cannot be read: ${reading.problem}`);
      return reading.latencyMs;
    },
    marginMs: run.RecheckMarginSeconds ? Number(run.RecheckMarginSeconds) * 1000 : undefined,
    maxRounds: run.RecheckRounds ? Number(run.RecheckRounds) : undefined,
  } : undefined;
  return {
    maxDifferences: run.MaxDifferences ? Number(run.MaxDifferences) : undefined,
    normalizeNumericScale: run.NormalizeNumericScale !== 'false',
    ...(recheck ? { recheck } : {}),
  };
}

async function plan(run: RunConfig): Promise<PlanAnswer> {
  const mappings = JSON.parse(run.TableMappings) as TableMappings;
  const result = await withSessions(run, (src) => planUnits(src, mappings, {
    unitRows: run.UnitRows ? Number(run.UnitRows) : undefined,
    chunkRows: run.ChunkRows ? Number(run.ChunkRows) : undefined,
  }));
  if (result.findings.length > 0) {
    // nothing would be compared: a failure, whatever FailOnDifference says
    throw new Error(`Verification failed: ${result.findings.map((f) => `${f.code}: ${f.message}`).join(' | ')}`);
  }
  const itemsKey = `${run.Prefix}units.json`;
  await putJson(run, itemsKey, result.units);
  const inlineMax = run.InlineMaxUnits ? Number(run.InlineMaxUnits) : INLINE_MAX_UNITS;
  const inline = result.units.length <= inlineMax && JSON.stringify(result.units).length <= INLINE_PLAN_MAX_BYTES;
  console.log(JSON.stringify({ plan: { units: result.units.length, tables: result.tables, estimatedRows: result.estimatedRows, mode: inline ? 'inline' : 'distributed' }, warnings: result.warnings }));
  return {
    Mode: inline ? 'inline' : 'distributed',
    UnitCount: result.units.length,
    ...(inline ? { Units: result.units } : {}),
    ItemsKey: itemsKey,
    Tables: result.tables,
    EstimatedRows: result.estimatedRows,
  };
}

async function compare(run: RunConfig, unit: VerificationUnit, progress: UnitProgress | undefined, context?: WorkerContext): Promise<CompareAnswer> {
  const startedAt = Date.now();
  let budgetMs = Number(run.BudgetSeconds) * 1000;
  // never plan past the invocation's own end: a chunk is started only with the budget left
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining !== undefined) budgetMs = Math.min(budgetMs, Math.max(0, remaining - 120_000));
  let rows = 0;
  const next = await withSessions(run, (src, tgt) => compareUnit(src, tgt, unit, progress, {
    ...verifyOptions(run),
    mappings: JSON.parse(run.TableMappings) as TableMappings,
    budgetMs,
    startedAt,
    onChunk: (n) => { rows += n; },
  }), context);
  console.log(JSON.stringify({ unit: unit.index, table: displayName(unit.table.source), part: `${unit.part}/${unit.parts}`, cursor: next.cursor, done: next.done, rows, ms: Date.now() - startedAt }));
  if (next.done) await putJson(run, resultKey(run, unit.index), next.result);
  // progress after the work is safe: a failed invocation published nothing, and is repeated whole
  await putMetrics([
    { MetricName: DISTRIBUTED_METRICS.rowsVerified, Dimensions: taskDimension(run), Value: rows, Unit: 'Count' },
    { MetricName: DISTRIBUTED_METRICS.unitsCompleted, Dimensions: taskDimension(run), Value: next.done ? 1 : 0, Unit: 'Count' },
  ]);
  return next.done ? { cursor: next.cursor, done: true, invocations: next.invocations } : next;
}

/** The failure message of a verification that found differences (as the single-function verification words it). */
function differenceDetails(differing: readonly TableVerification[]): string {
  return differing.map((t) => `${displayName(t.source)}: ${t.status} ${t.sourceRows}/${t.targetRows} rows${t.error ? ` (${t.error})` : ''}`
    + (t.missingColumns.length > 0 ? `, columns missing: ${t.missingColumns}` : '')
    + (t.typeChanges.length > 0 ? `, column types changed (rows not compared): ${t.typeChanges.map(formatTypeChange).join(', ')}` : '')
    + t.differences.slice(0, 3).map((d) => `; ${d.kind} ${formatKey(d.key)}`).join('')).join(' | ');
}

/** Reads the plan and every unit's result from S3 and adds them up per table. */
export async function readReport(run: RunConfig, itemsKey: string): Promise<TableVerification[]> {
  const units = await getJson<VerificationUnit[]>(run, itemsKey);
  const results = new Map<number, TableVerification>();
  for (let i = 0; i < units.length; i += 16) {
    const batch = units.slice(i, i + 16);
    const read = await Promise.all(batch.map((u) => getJson<TableVerification>(run, resultKey(run, u.index))));
    batch.forEach((u, j) => results.set(u.index, read[j]));
  }
  return tableResults(units, results, run.MaxDifferences ? Number(run.MaxDifferences) : 20);
}

async function report(run: RunConfig, itemsKey: string): Promise<ReportAnswer> {
  const tables = await readReport(run, itemsKey);
  const differing = tables.filter((t) => t.status !== 'match');
  const rows = tables.reduce((n, t) => n + t.sourceRows, 0);
  const mismatched = tables.reduce((n, t) => n + mismatchedRows(t), 0);
  const summary = `${tables.length - differing.length} of ${tables.length} table(s) match; ${rows} row(s) compared, at least ${mismatched} differ.`;
  console.log(JSON.stringify({ tables: tables.map((t) => [displayName(t.source), t.status, t.sourceRows, t.targetRows, t.error]) }));
  const timestamp = new Date();
  const data: MetricDatum[] = [];
  for (const t of tables) {
    const dimensions = [...taskDimension(run), { Name: 'Table', Value: displayName(t.source) }];
    data.push({ MetricName: 'MismatchedRows', Dimensions: dimensions, Value: mismatchedRows(t), Unit: 'Count', Timestamp: timestamp });
    data.push({ MetricName: 'RowsCompared', Dimensions: dimensions, Value: t.sourceRows, Unit: 'Count', Timestamp: timestamp });
  }
  data.push({ MetricName: DISTRIBUTED_METRICS.mismatchedTables, Dimensions: taskDimension(run), Value: differing.length, Unit: 'Count', Timestamp: timestamp });
  await putMetrics(data);
  const ok = differing.length === 0 || run.FailOnDifference === 'false';
  if (run.WaitHandle) {
    const reason = ok ? summary : `Verification failed: ${summary} ${differenceDetails(differing)}`;
    await signalWaitCondition(run.WaitHandle, { Status: ok ? 'SUCCESS' : 'FAILURE', Reason: reason, UniqueId: 'verification', Data: summary });
  }
  return { Ok: ok, Summary: summary, Tables: tables.length, MismatchedTables: differing.length, Rows: rows, MismatchedRows: mismatched };
}

type Failure = { readonly Error?: string; readonly Cause?: string } | undefined;

async function fail(run: RunConfig, failure: Failure): Promise<{ readonly Signalled: boolean }> {
  let cause = failure?.Cause ?? failure?.Error ?? 'unknown error';
  try {
    // a Lambda failure's cause is the function's error as JSON
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed.errorMessage) cause = parsed.errorMessage;
  } catch { /* plain text */ }
  await putMetrics([{ MetricName: DISTRIBUTED_METRICS.failed, Dimensions: taskDimension(run), Value: 1, Unit: 'Count' }]);
  if (!run.WaitHandle) return { Signalled: false };
  await signalWaitCondition(run.WaitHandle, { Status: 'FAILURE', Reason: `Verification failed: ${cause}`, UniqueId: 'verification', Data: cause });
  return { Signalled: true };
}

export async function handler(event: WorkerEvent, context?: WorkerContext): Promise<unknown> {
  switch (event.Action) {
    case 'plan': return plan(event.Run);
    case 'compare': return compare(event.Run, event.Unit, event.Progress, context);
    case 'report': return report(event.Run, event.Plan.ItemsKey);
    case 'fail': return fail(event.Run, event.Failure);
    default: throw new Error(`Unknown Action '${(event as { Action?: string }).Action}': expected plan, compare, report or fail.`);
  }
}
