import type { BenchRow, BenchSection } from './table';

/*
 * The projection of the measured per-row rates to 100 GB and 1 TB of table data like the bench's,
 * and what each step costs at AWS's published us-east-1 prices. Each price names the page it was
 * read from; where no AWS page with the price was found, the figure is a third party's and says so.
 */

/** The rates `bench/scale.ts` measured. */
export interface MeasuredScale {
  readonly rows: number;
  /** Heap bytes a row of the bench table takes. */
  readonly heapBytesPerRow: number;
  /** Rows a verification worker compares a second (one worker, the units' code). */
  readonly verifyRowsPerSecondPerWorker: number;
  /** Distributed units with one worker ÷ one `verify` process. */
  readonly fanOutOverhead: number;
  /** Seconds the post-data section takes per row, in one transaction. */
  readonly indexSecondsPerRow: number;
  /** One transaction ÷ pg_restore --jobs 2, measured on this machine. */
  readonly jobs2Speedup: number;
  /** Sum of the builds alone ÷ the critical path: what any number of jobs reaches at most. */
  readonly indexLimitSpeedup: number;
}

/** A price and where it was read. */
export interface Price {
  /** US dollars per unit; undefined when no copy of the price page was at hand. */
  readonly usd?: number;
  readonly unit: string;
  readonly source: string;
  /** Not read from an AWS page. */
  readonly thirdParty?: boolean;
}

export const PRICES = {
  /**
   * Lambda duration, Arm (the verification's workers are Arm functions): AWS's page lists x86 at
   * $0.0000166667 per GB-s and AWS's launch post says "duration charges are 20 percent lower than
   * the current pricing for x86" for Arm: 0.8 × 0.0000166667.
   */
  lambdaArmGbSecond: {
    usd: 0.0000166667 * 0.8,
    unit: 'GB-s (Arm)',
    source: 'https://aws.amazon.com/lambda/pricing/ (x86 $0.0000166667 per GB-s) and https://aws.amazon.com/blogs/aws/aws-lambda-functions-powered-by-aws-graviton2-processor-run-your-functions-on-arm-and-get-up-to-34-better-price-performance/ (Arm 20 % lower)',
  },
  lambdaRequest: { usd: 0.20 / 1e6, unit: 'request', source: 'https://aws.amazon.com/lambda/pricing/ ($0.20 per 1M requests)' },
  stateTransition: {
    usd: 0.025 / 1000,
    unit: 'state transition (standard workflow)',
    source: 'https://aws.amazon.com/step-functions/pricing/ ($0.025 per 1,000 state transitions, us-east-1); a Distributed Map is charged one transition per child execution it starts, https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html',
  },
  codeBuildSmallMinute: {
    usd: 0.005,
    unit: 'build minute (general1.small, Linux, the schema copy\'s compute type)',
    source: 'no AWS page with the price was found in the stored copies (https://aws.amazon.com/codebuild/pricing/); third-party pages quote $0.005: https://c3x.dev/resources/aws/aws_codebuild_project/',
    thirdParty: true,
  },
  dmsInstanceHour: {
    unit: 'replication instance hour (by class; dms.t3.medium is the default)',
    source: 'https://aws.amazon.com/dms/pricing/ — no copy of the page with the prices was at hand: the hours are given, multiply by the class\'s hourly price for your Region',
  },
  s3Put: {
    usd: 0.005 / 1000,
    unit: 'PUT request (S3 Standard)',
    source: 'no AWS page with the price was found in the stored copies (https://aws.amazon.com/s3/pricing/); third-party: https://c3x.dev/blog/s3-request-fees-explained ($0.005 per 1,000)',
    thirdParty: true,
  },
  s3Get: {
    usd: 0.0004 / 1000,
    unit: 'GET request (S3 Standard)',
    source: 'https://c3x.dev/blog/s3-request-fees-explained ($0.0004 per 1,000)',
    thirdParty: true,
  },
} satisfies Record<string, Price>;

/**
 * DMS's full load is not measured here (no DMS on this machine): AWS's best-practices page reports
 * "a terabyte of data in approximately 12 to 13 hours using a single AWS DMS task and under ideal
 * conditions" (source and target in the same Availability Zone, no LOBs, tables up to 250 GB), and
 * "by default, AWS DMS loads eight tables at a time".
 */
export const DMS_FULL_LOAD = {
  hoursPerTerabyte: [12, 13] as const,
  tablesAtOnce: 8,
  source: 'https://docs.aws.amazon.com/dms/latest/userguide/CHAP_BestPractices.html ("we\'ve migrated a terabyte of data in approximately 12 to 13 hours using a single AWS DMS task and under ideal conditions"; "by default, AWS DMS loads eight tables at a time")',
};

/** The construct's defaults and limits the projection assumes. */
const UNIT_ROWS = 20_000_000;
const WORKER_MEMORY_GB = 0.5;
const WORKER_BUDGET_SECONDS = 600;
const INLINE_MAX_UNITS = 40;
/** `distributed.maxConcurrency`: the default, and up to the maximum. */
const WORKER_COUNTS = [4, 16, 64];
/** What the deployment waits for a full load (`maxWait`) and a schema step's build (`schemaCopy.timeout`). */
const LOAD_WAIT_HOURS = 11.75;
const BUILD_LIMIT_HOURS = 11;
const SIZES: Array<[string, number]> = [['100 GB', 100e9], ['1 TB', 1e12]];

const usd = (v: number) => (v < 0.01 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`);
const duration = (seconds: number) => (seconds < 120 ? `${seconds.toFixed(0)} s` : seconds < 5400 ? `${(seconds / 60).toFixed(0)} min` : `${(seconds / 3600).toFixed(1)} h`);
const count = (v: number) => Math.round(v).toLocaleString('en-US');

/** Whether a schema step of `seconds` fits the build the deployment waits for, and what to do when not. */
function buildFits(seconds: number): string {
  return seconds <= BUILD_LIMIT_HOURS * 3600
    ? `within the ${BUILD_LIMIT_HOURS} h a deployed step's build may take (schemaCopy.timeout)`
    : `OVER the ${BUILD_LIMIT_HOURS} h a deployed step's build may take: deployAfterLoadSteps: false and cdk-neon-migration schema post by hand, or more jobs on a larger compute`;
}

/** The projection, one row per step and size. */
export function projectionRows(m: MeasuredScale): BenchRow[] {
  const rows: BenchRow[] = [];
  const codeBuild = (seconds: number) => usd(seconds / 60 * PRICES.codeBuildSmallMinute.usd);
  for (const [label, bytes] of SIZES) {
    const tableRows = bytes / m.heapBytesPerRow;
    // full load: AWS's documented rate, not measured here
    const [loLoad, hiLoad] = DMS_FULL_LOAD.hoursPerTerabyte.map((h) => h * bytes / 1e12);
    const loadNote = hiLoad > LOAD_WAIT_HOURS
      ? `longer than the ${LOAD_WAIT_HOURS} h the deployment waits for it (maxWait): the steps after it fail in the deployment unless left out (deployAfterLoadSteps: false, then by hand); parallel segments (plan-load) and a larger instance shorten it`
      : `within the ${LOAD_WAIT_HOURS} h the deployment waits for it (maxWait)`;
    // verification: the measured per-worker rate (the fan-out's overhead included)
    const units = Math.ceil(tableRows / UNIT_ROWS);
    const distributed = units > INLINE_MAX_UNITS;
    const workerSeconds = tableRows / m.verifyRowsPerSecondPerWorker;
    const unitSeconds = Math.min(tableRows, UNIT_ROWS) / m.verifyRowsPerSecondPerWorker;
    const invocationsPerUnit = Math.ceil(unitSeconds / WORKER_BUDGET_SECONDS);
    const invocations = units * invocationsPerUnit + 2; // the plan and the report
    const gbSeconds = WORKER_MEMORY_GB * workerSeconds;
    const lambda = gbSeconds * PRICES.lambdaArmGbSecond.usd + invocations * PRICES.lambdaRequest.usd;
    // parent: Plan, Mode, the Map, Report, Outcome, its end; each unit: Compare and UnitFinished per invocation, UnitDone; a child execution's start
    const transitions = 6 + units * (2 * invocationsPerUnit + 1) + (distributed ? units : 0);
    const stepFunctions = transitions * PRICES.stateTransition.usd;
    const puts = 1 + units + (distributed ? 2 : 0);
    const gets = units + (distributed ? 1 : 0);
    const s3 = puts * PRICES.s3Put.usd + gets * PRICES.s3Get.usd;
    const wall = (w: number) => Math.ceil(units / w) * unitSeconds;
    const walls = WORKER_COUNTS.map((w) => `${w} workers ${duration(wall(w))}`).join(', ');
    // index builds: the measured seconds per row, one transaction, 2 jobs, the critical-path limit
    const oneTx = tableRows * m.indexSecondsPerRow;
    const twoJobs = oneTx / m.jobs2Speedup;
    const limit = oneTx / m.indexLimitSpeedup;
    rows.push(
      { name: `${label}: rows`, value: count(tableRows), note: `at ${m.heapBytesPerRow.toFixed(0)} heap bytes a row, as the bench table (wider rows: fewer rows, more bytes each to hash)` },
      {
        name: `${label}: full load (DMS; not measured here)`,
        value: `${loLoad < 1.5 ? `${(loLoad * 60).toFixed(0)}–${(hiLoad * 60).toFixed(0)} min` : `${loLoad.toFixed(1)}–${hiLoad.toFixed(1)} h`}`,
        note: `AWS's documented 12–13 h per TB for one task under ideal conditions, scaled to the size; 1 replication instance, 1 task loading ${DMS_FULL_LOAD.tablesAtOnce} tables at a time; cost: ${loLoad.toFixed(1)}–${hiLoad.toFixed(1)} instance hours × the class's hourly price (not read here); ${loadNote}`,
      },
      { name: `${label}: verification, worker time`, value: duration(workerSeconds), note: `${count(tableRows)} rows at ${count(m.verifyRowsPerSecondPerWorker)} rows/s per worker, as measured through the units (the fan-out's ${m.fanOutOverhead.toFixed(2)}× included)` },
      { name: `${label}: verification, wall time`, value: `${duration(wall(WORKER_COUNTS[0]))} (${WORKER_COUNTS[0]} workers)`, note: `${walls}: ${count(units)} units of ${count(UNIT_ROWS)} rows (${duration(unitSeconds)} each), so ${Math.min(units, WORKER_COUNTS[WORKER_COUNTS.length - 1])} workers at most keep busy; each holds a session on the source and on Neon: the source's spare cores set maxConcurrency` },
      { name: `${label}: verification, Lambda`, value: usd(lambda), note: `${count(gbSeconds)} GB-s (0.5 GB Arm workers) × $${PRICES.lambdaArmGbSecond.usd.toFixed(10)} + ${count(invocations)} requests × $0.0000002; the same whatever the number of workers` },
      { name: `${label}: verification, Step Functions`, value: usd(stepFunctions), note: `${distributed ? 'Distributed Map' : 'inline Map'}: ${count(transitions)} state transitions × $0.000025` },
      { name: `${label}: verification, S3 requests`, value: usd(s3), note: `${count(puts)} PUT, ${count(gets)} GET (the unit list, one result per unit${distributed ? ', the item reader and the result writer' : ''}); third-party prices` },
      { name: `${label}: index builds, one transaction (1 job)`, value: duration(oneTx), note: `${(m.indexSecondsPerRow * 1e6).toFixed(2)} s per million rows; CodeBuild general1.small waits for it: ${codeBuild(oneTx)} (third-party price); ${buildFits(oneTx)}` },
      { name: `${label}: index builds, postDataJobs 2 (2 vCPUs)`, value: duration(twoJobs), note: `${m.jobs2Speedup.toFixed(2)}× as measured on 2 cores; CodeBuild ${codeBuild(twoJobs)}; ${buildFits(twoJobs)}` },
      { name: `${label}: index builds, the limit of any number of jobs`, value: duration(limit), note: `${m.indexLimitSpeedup.toFixed(2)}× (the critical path of one table: its key, then its longest index), on a target with a vCPU per job; CodeBuild ${codeBuild(limit)}; ${buildFits(limit)}` },
    );
  }
  return rows;
}

/** One row per price and rate the projection uses, with where it was read. */
export function projectionSources(): BenchRow[] {
  const prices: BenchRow[] = Object.values(PRICES).map((p: Price) => ({
    name: p.unit,
    value: p.usd === undefined ? 'not read' : `$${p.usd.toFixed(10).replace(/\.?0+$/, '')}`,
    note: `${p.thirdParty ? 'third-party figure: ' : ''}${p.source}`,
  }));
  return [
    { name: 'DMS full load, one task', value: `${DMS_FULL_LOAD.hoursPerTerabyte.join('–')} h per TB`, note: DMS_FULL_LOAD.source },
    ...prices,
    { name: 'limits', value: `${LOAD_WAIT_HOURS} h / ${BUILD_LIMIT_HOURS} h`, note: 'the longest wait for the full load (maxWait) and the longest build of a step after it (schemaCopy.timeout): CloudFormation waits at most 12 hours for a wait condition, https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-waitcondition.html ("The maximum time that can be specified for this property is 12 hours (43200 seconds).")' },
  ];
}

export function projectionSections(m: MeasuredScale): BenchSection[] {
  return [
    { title: `Production size: projected from the rates of ${count(m.rows)} rows to 100 GB and 1 TB (us-east-1 prices)`, rows: projectionRows(m) },
    { title: 'Production size: the projection\'s rates and prices, and where they were read', rows: projectionSources() },
  ];
}
