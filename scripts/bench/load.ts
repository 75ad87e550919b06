/** autocannon runs against one server, and rounds that alternate the order of the servers compared. */
import autocannon from 'autocannon';
import { cpuSeconds, type RunningServer } from './processes.js';
import { fmt } from './report.js';

export interface Load {
  method: 'GET' | 'POST';
  /** Path and query. */
  path: string;
  /** A JSON body, sent with every request. */
  body?: unknown;
}

export interface LoadSettings {
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

export interface Measurement {
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  /** CPU time the server process spent per answered request, µs. */
  cpuPerRequest: number;
  non2xx: number;
  errors: number;
}

function run(server: RunningServer, load: Load, seconds: number, connections: number): Promise<autocannon.Result> {
  return autocannon({
    url: `${server.url}${load.path}`,
    connections,
    duration: seconds,
    method: load.method,
    ...(load.body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(load.body) } : {}),
  });
}

/**
 * A warm-up run, then the measured one. `prepare` runs before each (say, to put the table back as it was,
 * so every run sees the same data).
 */
export async function measure(server: RunningServer, load: Load, settings: LoadSettings, prepare?: () => Promise<void>): Promise<Measurement> {
  await prepare?.();
  await run(server, load, settings.warmupSeconds, settings.connections);
  await prepare?.();
  const cpuBefore = cpuSeconds(server.child.pid!);
  const r = await run(server, load, settings.seconds, settings.connections);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuPerRequest: ((cpuSeconds(server.child.pid!) - cpuBefore) / r.requests.total) * 1e6,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

export const describe = (m: Measurement) =>
  `${fmt(m.rps)} req/s, p50 ${fmt(m.p50, 1)} ms, p99 ${fmt(m.p99, 1)} ms, ${fmt(m.cpuPerRequest)} µs CPU/request` +
  (m.non2xx || m.errors ? `, ${m.non2xx} non-2xx, ${m.errors} errors` : '');

/**
 * Each round measures every variant once, in the opposite order of the round before (A,B,C then C,B,A):
 * whichever runs first in a round is measurably slower on POST even when both are the same build, and
 * comparisons are made per round (paired), then the median taken over rounds.
 */
export async function alternatingRounds<V extends { name: string }>(
  variants: V[],
  rounds: number,
  measureOne: (variant: V) => Promise<Measurement>,
  label = '',
): Promise<Map<V, Measurement[]>> {
  const results = new Map<V, Measurement[]>(variants.map((v) => [v, []]));
  const width = Math.max(...variants.map((v) => v.name.length));
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
      const m = await measureOne(variant);
      results.get(variant)!.push(m);
      console.log(`  ${label}${variant.name.padEnd(width)} round ${round + 1}: ${describe(m)}`);
    }
  }
  return results;
}

/** Requests that failed or answered non-2xx across measurements; a benchmark of errors measures nothing. */
export const failures = (ms: Measurement[]) => ms.reduce((n, m) => n + m.non2xx + m.errors, 0);
