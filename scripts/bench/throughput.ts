/**
 * GET list and POST against the course service (fully instrumented, as deployed), the same service built
 * without request metrics and access logs, and the minimal peer, all on one database that is put back to
 * the same rows before every run. Two comparisons come out of the same rounds: the course service's
 * throughput against the peer's (target ≥ 0.75×) and what the instrumentation costs (target ≤ 10 %).
 */
import { alternatingRounds, failures, measure, type Load, type LoadSettings, type Measurement } from './load.js';
import type { RunningServer } from './processes.js';
import { fmt, mean, median, table, type Verdict } from './report.js';

export const peerThroughputTarget = 0.75;
export const instrumentationCostTarget = 10;

export interface Variant {
  name: string;
  server: RunningServer;
}

export interface Comparison {
  course: Variant;
  uninstrumented: Variant;
  peer: Variant;
  /** BENCH_BREAKDOWN's and BENCH_TWIN's services, reported against the uninstrumented one. */
  others: Variant[];
}

export const endpoints: { name: string; load: Load }[] = [
  { name: 'GET /api/courses', load: { method: 'GET', path: '/api/courses' } },
  { name: 'POST /api/courses', load: { method: 'POST', path: '/api/courses', body: { title: 'Benchmarks 101', description: 'load', credits: 5 } } },
];

/**
 * The comparison means something only if both servers answer alike: on the same rows, the same pages
 * (items and nextCursor, byte for byte, following the cursor once) and the same created course shape.
 */
export async function checkPeerAnswersAlike(comparison: Comparison): Promise<void> {
  const get = async (server: RunningServer, path: string) => {
    const response = await fetch(`${server.url}${path}`);
    if (response.status !== 200) throw new Error(`${server.name} GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { items: unknown[]; nextCursor: string | null };
  };
  const course = comparison.course.server;
  const peer = comparison.peer.server;
  const first = await get(course, '/api/courses?limit=3');
  const pages = [
    [first, await get(peer, '/api/courses?limit=3')],
    [await get(course, `/api/courses?limit=3&cursor=${first.nextCursor}`), await get(peer, `/api/courses?limit=3&cursor=${first.nextCursor}`)],
  ];
  for (const [a, b] of pages) {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`the peer's page differs from the course service's:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  }
  const { load } = endpoints.find((e) => e.load.method === 'POST')!;
  const created = await Promise.all(
    [course, peer].map(async (server) => {
      const response = await fetch(`${server.url}${load.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(load.body) });
      const body = (await response.json()) as Record<string, unknown>;
      return `${response.status} ${response.headers.get('location')?.replace(String(body.id), ':id')} ${Object.keys(body).join(',')}`;
    }),
  );
  if (created[0] !== created[1]) throw new Error(`the peer creates differently: course ${created[0]}, peer ${created[1]}`);
}

export type ThroughputResults = Map<string, Map<Variant, Measurement[]>>;

export async function measureThroughput(
  comparison: Comparison,
  settings: LoadSettings,
  rounds: number,
  resetTable: () => Promise<void>,
): Promise<ThroughputResults> {
  await resetTable();
  await checkPeerAnswersAlike(comparison);
  const variants = [comparison.course, comparison.uninstrumented, comparison.peer, ...comparison.others];
  const results: ThroughputResults = new Map();
  for (const endpoint of endpoints) {
    results.set(endpoint.name, await alternatingRounds(variants, rounds, (v) => measure(v.server, endpoint.load, settings, resetTable), `${endpoint.name} `));
  }
  return results;
}

/** Per round (paired), 1 − a ÷ b, in per cent; the median over rounds is the cost. */
const costs = (a: number[], b: number[]) => a.map((x, i) => (1 - x / b[i]!) * 100);
const pct = (x: number) => `${fmt(x, 1)} %`;

export function reportPeerComparison(comparison: Comparison, results: ThroughputResults): Verdict[] {
  const rows = [['endpoint', 'course req/s', 'peer req/s', 'course ÷ peer', 'per round', 'course µs CPU/req', 'peer µs CPU/req', 'course p50/p99 ms', 'peer p50/p99 ms']];
  const verdicts: Verdict[] = [];
  for (const [endpoint, byVariant] of results) {
    const course = byVariant.get(comparison.course)!;
    const peer = byVariant.get(comparison.peer)!;
    const ratios = course.map((m, i) => m.rps / peer[i]!.rps);
    const ratio = median(ratios);
    const latency = (ms: Measurement[]) => `${fmt(median(ms.map((m) => m.p50)), 1)} / ${fmt(median(ms.map((m) => m.p99)), 1)}`;
    rows.push([
      endpoint,
      fmt(median(course.map((m) => m.rps))),
      fmt(median(peer.map((m) => m.rps))),
      `${fmt(ratio, 2)}×`,
      ratios.map((r) => fmt(r, 2)).join(' '),
      fmt(median(course.map((m) => m.cpuPerRequest))),
      fmt(median(peer.map((m) => m.cpuPerRequest))),
      latency(course),
      latency(peer),
    ]);
    const failed = failures([...course, ...peer]);
    verdicts.push({
      target: `course ≥ ${peerThroughputTarget}× the peer's req/s, ${endpoint}`,
      measured: `${fmt(ratio, 2)}×${failed ? `, ${fmt(failed)} requests failed` : ''}`,
      met: ratio >= peerThroughputTarget && failed === 0,
    });
  }
  table(rows);
  return verdicts;
}

export function reportInstrumentationCost(comparison: Comparison, results: ThroughputResults): Verdict[] {
  console.log('Cost per round against the uninstrumented run of the same round, median over the rounds: by throughput,');
  console.log('1 − req/s ÷ uninstrumented req/s; by CPU, 1 − uninstrumented CPU/request ÷ CPU/request (the throughput a');
  console.log('CPU-bound service loses; less disturbed by whatever else runs on the machine). Means for the rest.\n');
  const rows = [['endpoint', 'variant', 'req/s', 'uninstr. req/s', 'cost by req/s', 'per round', 'µs CPU/req', 'uninstr.', 'cost by CPU', 'p99 ms', 'uninstr. p99']];
  const verdicts: Verdict[] = [];
  for (const [endpoint, byVariant] of results) {
    const b = byVariant.get(comparison.uninstrumented)!;
    for (const variant of [comparison.course, ...comparison.others]) {
      const a = byVariant.get(variant)!;
      const byRps = costs(a.map((m) => m.rps), b.map((m) => m.rps));
      const byCpu = costs(b.map((m) => m.cpuPerRequest), a.map((m) => m.cpuPerRequest));
      rows.push([
        endpoint,
        variant.name,
        fmt(mean(a.map((m) => m.rps))),
        fmt(mean(b.map((m) => m.rps))),
        pct(median(byRps)),
        byRps.map((c) => fmt(c, 1)).join(' '),
        fmt(mean(a.map((m) => m.cpuPerRequest))),
        fmt(mean(b.map((m) => m.cpuPerRequest))),
        pct(median(byCpu)),
        fmt(mean(a.map((m) => m.p99)), 1),
        fmt(mean(b.map((m) => m.p99)), 1),
      ]);
      if (variant !== comparison.course) continue;
      const failed = failures([...a, ...b]);
      verdicts.push({
        target: `instrumentation ≤ ${instrumentationCostTarget} % (by req/s), ${endpoint}`,
        measured: `${pct(median(byRps))} (by CPU ${pct(median(byCpu))})${failed ? `, ${fmt(failed)} requests failed` : ''}`,
        met: median(byRps) <= instrumentationCostTarget && failed === 0,
      });
    }
  }
  table(rows);
  return verdicts;
}
