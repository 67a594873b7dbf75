import * as fs from 'fs';
import * as os from 'os';
import { Client } from 'pg';
import type { BenchSection } from './table';
import { verify } from '../lib/fidelity/verify';
import { startPgCluster, PgCluster } from '../test/fidelity/pg-cluster';
import { DelayProxy, startDelayProxy } from '../test/helpers/delay-proxy';

/** One line of the benchmark table. */
export interface Row {
  name: string;
  value: string;
  note?: string;
}

const ROWS = 1_000_000;

const SETUP = `
  create table bench (id bigint primary key, name text, doc jsonb, at timestamptz, amount numeric(12,2));
  insert into bench
  select g, 'customer ' || md5(g::text), jsonb_build_object('id', g, 'tags', jsonb_build_array('a', md5(g::text)), 'active', g % 2 = 0),
         '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 second', g / 100.0
  from generate_series(1, ${ROWS}) g;
`;

/** Three rows differ on the target: one changed, one missing, one extra. */
const PLANT = `
  update bench set name = name || '!' where id = 123456;
  delete from bench where id = 654321;
  insert into bench values (${ROWS + 1}, 'extra', '{}', now(), 0);
`;

/**
 * CPU time, in milliseconds, a cluster has used so far: its postmaster plus every backend and
 * parallel worker that has exited (Linux `/proc`; undefined elsewhere). Connections are closed at
 * the end of each method, so the difference around a method is all the database work it caused.
 */
function clusterCpuMs(pid: number): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime (fields 14-17 of proc(5)), in clock ticks of 10 ms
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

interface Timed<T> {
  readonly ms: number;
  readonly value: T;
  /** CPU milliseconds of both clusters, when measurable. */
  readonly dbCpuMs?: number;
  /** CPU milliseconds of this Node process. */
  readonly nodeCpuMs: number;
}

let measuredClusters: PgCluster[] = [];
let proxies: DelayProxy[] = [];

const BENCH_TABLE = { rules: [{ 'rule-type': 'selection', 'rule-action': 'include', 'object-locator': { 'schema-name': 'public', 'table-name': 'bench' } }] };

async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const cpu = () => measuredClusters.reduce<number | undefined>((sum, c) => {
    const v = clusterCpuMs(c.pid);
    return sum === undefined || v === undefined ? undefined : sum + v;
  }, 0);
  const db0 = cpu();
  const node0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const node = process.cpuUsage(node0);
  // exited backends are accounted to the postmaster once it has reaped them
  await new Promise((resolve) => setTimeout(resolve, 200));
  const db1 = cpu();
  return { ms, value, dbCpuMs: db0 === undefined || db1 === undefined ? undefined : db1 - db0, nodeCpuMs: (node.user + node.system) / 1000 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The floor: one aggregate scan per side, both sides at once. */
async function floor(urls: string[]): Promise<void> {
  await Promise.all(urls.map(async (url) => {
    const c = new Client(url);
    await c.connect();
    try {
      await c.query('select count(*), sum(hashtext(t::text)) from bench t');
    } finally {
      await c.end();
    }
  }));
}

/** The naive way: stream both tables ordered by key through cursors and compare rows in Node. */
async function naive(sourceUrl: string, targetUrl: string): Promise<number> {
  const open = async (url: string) => {
    const c = new Client(url);
    await c.connect();
    await c.query("begin; set local timezone = 'UTC'; declare cur no scroll cursor for select id, name, doc::text as doc, at::text as at, amount::text as amount from bench order by id");
    return c;
  };
  const [s, t] = await Promise.all([open(sourceUrl), open(targetUrl)]);
  type R = { id: string; name: string; doc: string; at: string; amount: string };
  const fetch = async (c: Client) => (await c.query<R>('fetch 10000 from cur')).rows;
  let differences = 0;
  let sb: R[] = [];
  let tb: R[] = [];
  let si = 0;
  let ti = 0;
  let sDone = false;
  let tDone = false;
  try {
    for (;;) {
      if (si >= sb.length && !sDone) { sb = await fetch(s); si = 0; sDone = sb.length === 0; }
      if (ti >= tb.length && !tDone) { tb = await fetch(t); ti = 0; tDone = tb.length === 0; }
      const a = si < sb.length ? sb[si] : undefined;
      const b = ti < tb.length ? tb[ti] : undefined;
      if (!a && !b) break;
      const order = !a ? 1 : !b ? -1 : Math.sign(Number(a.id) - Number(b.id));
      if (order < 0) { differences++; si++; } else if (order > 0) { differences++; ti++; } else {
        if (a!.name !== b!.name || a!.doc !== b!.doc || a!.at !== b!.at || a!.amount !== b!.amount) differences++;
        si++;
        ti++;
      }
    }
  } finally {
    await Promise.all([s.end(), t.end()]);
  }
  return differences;
}

const rate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const runRatios = (a: readonly number[], b: readonly number[]) => a.map((v, i) => `${(v / b[i]).toFixed(1)}x`).join(', ');
const list = (values: readonly number[]) => values.map((v) => (v / 1000).toFixed(2)).join(', ');

/**
 * Speed-up verify must reach over the naive comparison, the most it may take over the floor, and
 * the most it may take through a network path of `networkRoundTripMs` over its local time.
 */
export const TARGETS = { speedUpOverNaive: 5, timeOverFloor: 3, networkOverLocal: 1.5 };

/** What a Lambda function in a VPC sees to Neon over the internet: a 30 ms round trip. */
const NETWORK_ROUND_TRIP_MS = 30;

/** Runs measured per method (the median is reported). */
const RUNS = Number(process.env.FIDELITY_BENCH_RUNS ?? 5);

/**
 * verify() on a 1,000,000-row table against a naive client-side comparison and the single-scan floor.
 * The three are measured in turn, `RUNS` times, so a change of machine load affects them alike.
 */
export async function benchFidelity(): Promise<Row[]> {
  const settings = { shared_buffers: '256MB', max_wal_size: '2GB', checkpoint_timeout: '30min' };
  let clusters: PgCluster[] = [];
  try {
    clusters = await Promise.all([startPgCluster({ walLevel: 'replica', settings }), startPgCluster({ walLevel: 'replica', settings })]);
    const [source, target] = clusters;
    await Promise.all(clusters.map((c) => c.sql(SETUP)));
    await target.sql(PLANT);
    await Promise.all(clusters.map((c) => c.sql('vacuum analyze bench')));
    const urls = [source.url(), target.url()];
    measuredClusters = clusters;

    await floor(urls); // warm the caches
    const floorMs: number[] = [];
    const verifyMs: number[] = [];
    const naiveMs: number[] = [];
    const cpu: Record<'verify' | 'naive' | 'floor', Array<{ db?: number; node: number }>> = { verify: [], naive: [], floor: [] };
    // both databases behind a proxy delaying each direction by half the round trip
    proxies = await Promise.all(clusters.map((c) => startDelayProxy(c.port, NETWORK_ROUND_TRIP_MS / 2)));
    const proxied = proxies.map((p) => `postgresql://postgres@127.0.0.1:${p.port}/postgres`);
    const networkMs: number[] = [];
    let ranges = 0;
    for (let run = 0; run < RUNS; run++) {
      const floorRun = await timed(() => floor(urls));
      floorMs.push(floorRun.ms);
      cpu.floor.push({ db: floorRun.dbCpuMs, node: floorRun.nodeCpuMs });
      const verifyRun = await timed(() => verify({
        source: source.url(),
        target: target.url(),
        concurrency: 1,
        mappings: BENCH_TABLE,
      }));
      const table = verifyRun.value.tables[0];
      if (table.differences.length !== 3) {
        throw new Error(`verify found ${table.differences.length} differences, expected 3: ${JSON.stringify(table.differences)}`);
      }
      ranges = table.ranges;
      verifyMs.push(verifyRun.ms);
      cpu.verify.push({ db: verifyRun.dbCpuMs, node: verifyRun.nodeCpuMs });
      const networkRun = await timed(() => verify({ source: proxied[0], target: proxied[1], concurrency: 1, mappings: BENCH_TABLE }));
      if (networkRun.value.tables[0].differences.length !== 3) throw new Error('verify through the proxy did not find the 3 planted differences');
      networkMs.push(networkRun.ms);
      const naiveRun = await timed(() => naive(source.url(), target.url()));
      if (naiveRun.value !== 3) throw new Error(`the naive comparison found ${naiveRun.value} differences, expected 3`);
      naiveMs.push(naiveRun.ms);
      cpu.naive.push({ db: naiveRun.dbCpuMs, node: naiveRun.nodeCpuMs });
    }
    const cores = os.cpus().length;
    const cpuOf = (method: keyof typeof cpu) => {
      const db = cpu[method].map((c) => c.db);
      return {
        db: db.every((d): d is number => d !== undefined) ? median(db) : undefined,
        node: median(cpu[method].map((c) => c.node)),
      };
    };
    const cpuNote = (method: keyof typeof cpu) => {
      const c = cpuOf(method);
      return `CPU: ${c.db === undefined ? 'databases not measurable here' : `${seconds(c.db)} in the databases`} + ${seconds(c.node)} in Node`;
    };
    const verifyCpu = cpuOf('verify');
    const v = median(verifyMs);
    const n = median(naiveMs);
    const f = median(floorMs);
    const network = median(networkMs);
    const networkRatio = network / v;
    const speedUp = n / v;
    const overFloor = v / f;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
    return [
      { name: 'fidelity: verify, 1M rows (text, jsonb)', value: seconds(v), note: `median of ${RUNS} (${list(verifyMs)} s); ${rate(ROWS, v)}; ${ranges} ranges, 3 planted differences found by key; ${cpuNote('verify')}` },
      { name: 'fidelity: naive client-side comparison', value: seconds(n), note: `median of ${RUNS} (${list(naiveMs)} s); ${rate(ROWS, n)}; both tables streamed through cursors, compared in Node; ${cpuNote('naive')}` },
      { name: 'fidelity: floor, one aggregate scan per side', value: seconds(f), note: `median of ${RUNS} (${list(floorMs)} s); ${rate(ROWS, f)}; count(*) + sum(hashtext(row::text)), no ranges; ${cpuNote('floor')}` },
      {
        name: 'fidelity: verify speed-up over naive',
        value: `${speedUp.toFixed(1)}x`,
        note: `${verdict(speedUp >= TARGETS.speedUpOverNaive)} (target: at least ${TARGETS.speedUpOverNaive}x); per run: ${runRatios(naiveMs, verifyMs)}`,
      },
      { name: 'fidelity: verify time / floor', value: `${overFloor.toFixed(2)}x`, note: `${verdict(overFloor <= TARGETS.timeOverFloor)} (target: at most ${TARGETS.timeOverFloor}x)` },
      {
        name: `fidelity: verify through a ${NETWORK_ROUND_TRIP_MS} ms round-trip proxy`,
        value: seconds(network),
        note: `median of ${RUNS} (${list(networkMs)} s); both databases behind a TCP proxy holding every byte ${NETWORK_ROUND_TRIP_MS / 2} ms each way `
          + `(a Lambda function in a VPC to Neon); ${((network - v) / NETWORK_ROUND_TRIP_MS).toFixed(0)} round trips' worth over the local time`,
      },
      {
        name: 'fidelity: verify through the proxy / local',
        value: `${networkRatio.toFixed(2)}x`,
        note: `${verdict(networkRatio <= TARGETS.networkOverLocal)} (target: at most ${TARGETS.networkOverLocal}x); per run: ${runRatios(networkMs, verifyMs)}`,
      },
      { name: 'fidelity: naive time / floor', value: `${(n / f).toFixed(1)}x`, note: `per run: ${runRatios(naiveMs, floorMs)}; the speed-up a checksum as costly as the floor would reach` },
      ...(verifyCpu.db === undefined ? [] : [{
        name: `fidelity: speed-up bound on ${cores} cores`,
        value: `${(n / ((verifyCpu.db + verifyCpu.node) / cores)).toFixed(1)}x`,
        note: `naive time / (verify's CPU time spread over all ${cores} cores): both clusters and the client share this machine, `
          + 'so verify cannot finish sooner; on more cores (or with the databases on their own hosts) its parallel scans finish sooner, while the naive comparison is bound by one Node thread',
      }]),
    ];
  } finally {
    measuredClusters = [];
    await Promise.all(proxies.map((p) => p.close()));
    proxies = [];
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

/** The benchmark as a section of `npm run bench`. */
export async function benchFidelitySections(): Promise<BenchSection[]> {
  return [{ title: 'Data fidelity: verify on 1,000,000 rows', rows: await benchFidelity() }];
}

if (require.main === module) {
  benchFidelity().then((rows) => {
    const w = [Math.max(...rows.map((r) => r.name.length)), Math.max(...rows.map((r) => r.value.length))];
    for (const r of rows) console.log(`${r.name.padEnd(w[0])}  ${r.value.padStart(w[1])}  ${r.note ?? ''}`);
  }, (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
