/**
 * `npm run bench`: what request instrumentation (metrics + access logs) costs the course service, and
 * proof that ids in paths never become metric series.
 *
 * A temporary PostgreSQL, the course service compiled as in its image and run twice in child processes
 * (fully instrumented, and built with `instrumented: false`), autocannon against GET and POST /api/courses.
 * Each round runs every variant once, in the opposite order of the round before (A,B then B,A), because
 * whichever runs first in a round is measurably slower on POST even when both are the same build; the cost
 * is the median over rounds of each round's paired ratio.
 * Then 10,000 requests to distinct random ids (and junk) against the instrumented one, counting the
 * /metrics series before and after. A benchmark, not a test: it exits non-zero only when the series
 * grew with the ids (or something failed).
 *
 * BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50), BENCH_ROUNDS (4), BENCH_ROWS (200);
 * BENCH_BREAKDOWN=1 adds a service instrumented with LOG_LEVEL=warn (metrics without access logs), to tell
 * the cost of the metrics from that of the access log lines; BENCH_TWIN=1 adds a second uninstrumented
 * service, whose "cost" is the benchmark's own noise.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createTestDatabase, freeLoopbackPort, startTemporaryPostgres } from '@courseops/kit/testing';
import autocannon from 'autocannon';
import pg from 'pg';

const root = new URL('..', import.meta.url).pathname;
const setting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const seconds = setting('BENCH_SECONDS', 10);
const warmupSeconds = setting('BENCH_WARMUP_SECONDS', 2);
const connections = setting('BENCH_CONNECTIONS', 50);
const rounds = setting('BENCH_ROUNDS', 4);
const seedRows = setting('BENCH_ROWS', 200);
const distinctIds = 10_000;

const cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch((err) => console.error('cleanup:', err));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunningService {
  name: string;
  url: string;
  child: ChildProcess;
}

/** A course service child process, ready; stopped (SIGTERM, then SIGKILL) at clean-up. */
async function startService(name: string, instrumented: boolean, databaseUrl: string, logLevel = 'info'): Promise<RunningService> {
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/course-service.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      INSTRUMENTED: String(instrumented),
      LOG_LEVEL: logLevel,
      RATE_LIMIT_PER_MINUTE: '1000000000',
      SHUTDOWN_DELAY_MS: '0',
    },
    // Log lines go to /dev/null: their cost (formatting, writing) is counted, nobody reads them.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    const status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return { name, url, child };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${stderr}`);
    await sleep(200);
  }
}

/** User plus system CPU seconds a process has used so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Empties the table and puts `seedRows` courses back, so every run sees the same data. */
async function resetCourses(db: pg.Client): Promise<void> {
  await db.query('truncate courses');
  await db.query(
    `insert into courses (id, title, description, credits)
     select gen_random_uuid(), 'seeded course ' || i, 'seeded for the benchmark', i % 31 from generate_series(1, $1::int) i`,
    [seedRows],
  );
  await db.query('analyze courses');
}

type Endpoint = 'GET /api/courses' | 'POST /api/courses';

function load(service: RunningService, endpoint: Endpoint, duration: number): Promise<autocannon.Result> {
  const post = endpoint.startsWith('POST');
  return autocannon({
    url: `${service.url}/api/courses`,
    connections,
    duration,
    method: post ? 'POST' : 'GET',
    ...(post
      ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Benchmarks 101', description: 'load', credits: 5 }) }
      : {}),
  });
}

interface Measurement {
  rps: number;
  /** CPU time the service process spent per answered request, µs. */
  cpuPerRequest: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const table = (rows: string[][]) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
};

/** Metric samples of a /metrics text, by metric family name. */
function seriesByFamily(text: string): Map<string, number> {
  const families = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0].replace(/_(bucket|sum|count)$/, '');
    families.set(name, (families.get(name) ?? 0) + 1);
  }
  return families;
}
const total = (families: Map<string, number>) => [...families.values()].reduce((a, b) => a + b, 0);
/** The families the service defines (prom-client's default nodejs_/process_ ones change on their own). */
const isAppFamily = (name: string) => /^(http_|db_|log_|courses_)/.test(name);

/** Random ids, mostly UUIDs, some junk: what a crawler or a buggy client would send. */
function randomIdPath(): { id: string; path: string } {
  const r = Math.random();
  const id =
    r < 0.8
      ? randomUUID()
      : r < 0.9
        ? randomBytes(6).toString('hex')
        : r < 0.95
          ? `%zz${randomBytes(3).toString('hex')}`
          : encodeURIComponent(`é${randomBytes(4).toString('base64')}`);
  return { id, path: `/api/courses/${id}` };
}

async function metricSeriesCheck(service: RunningService): Promise<boolean> {
  const scrape = async () => (await fetch(`${service.url}/metrics`)).text();
  const sentIds = new Set<string>();
  const run = (amount: number) =>
    autocannon({
      url: service.url,
      connections: 10,
      amount,
      requests: [
        {
          method: 'GET',
          setupRequest: (request) => {
            const { id, path } = randomIdPath();
            sentIds.add(id);
            return { ...request, path };
          },
        },
      ],
    });
  // Every kind of answer once first (404 and 400 for ids, 200 for /metrics itself), so the label sets
  // they create exist before counting.
  await scrape();
  await run(500);
  const beforeText = await scrape();
  const before = seriesByFamily(beforeText);
  sentIds.clear();
  const result = await run(distinctIds);
  const afterText = await scrape();
  const after = seriesByFamily(afterText);

  const labelValues = new Set([...afterText.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!));
  const leaked = [...sentIds].filter((id) => labelValues.has(id) || labelValues.has(decodeURIComponentSafe(id)));
  const uuidLabels = [...labelValues].filter((v) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(v));
  const grownApp = [...after].filter(([name, n]) => isAppFamily(name) && n > (before.get(name) ?? 0));
  const grownOther = [...after].filter(([name, n]) => !isAppFamily(name) && n !== (before.get(name) ?? 0));

  console.log(`\nMetric series (/metrics sample lines) around ${fmt(result.requests.total)} requests to ${fmt(sentIds.size)} distinct ids`);
  console.log(`(answers: ${Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => `${code} × ${fmt(s.count ?? 0)}`).join(', ')})\n`);
  table([
    ['series', 'before', 'after', 'growth'],
    ['all', fmt(total(before)), fmt(total(after)), fmt(total(after) - total(before))],
    ...['http_requests_total', 'http_request_duration_seconds', 'db_query_duration_seconds', 'log_messages_total'].map((name) => [
      name,
      fmt(before.get(name) ?? 0),
      fmt(after.get(name) ?? 0),
      fmt((after.get(name) ?? 0) - (before.get(name) ?? 0)),
    ]),
  ]);
  const beforeLines = new Set(beforeText.split('\n').map((l) => l.replace(/ [^ ]+$/, '')));
  const newSeries = afterText.split('\n').filter((l) => l && !l.startsWith('#') && !beforeLines.has(l.replace(/ [^ ]+$/, '')));
  if (newSeries.length > 0) console.log(`\nnew series:\n  ${newSeries.slice(0, 20).join('\n  ')}`);
  if (grownOther.length > 0) console.log(`\nprom-client default families that changed on their own: ${grownOther.map(([n, c]) => `${n} ${before.get(n) ?? 0}→${c}`).join(', ')}`);
  const ok = grownApp.length === 0 && leaked.length === 0 && uuidLabels.length === 0;
  console.log(
    ok
      ? '\nOK: the series did not grow with the ids, and no id appears in any label.'
      : `\nFAIL: series grew with the ids: ${JSON.stringify({ grownApp, leaked: leaked.slice(0, 5), uuidLabels: uuidLabels.slice(0, 5) })}`,
  );
  return ok;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function main(): Promise<number> {
  console.log(`course service benchmark: ${seconds} s per run after ${warmupSeconds} s warm-up, ${connections} connections, ${rounds} rounds in alternating order, ${seedRows} rows`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; load generator, services and PostgreSQL share it\n`);

  // The services run compiled, as in their images: tsx's on-the-fly transform wraps every closure the
  // middleware makes per request in a naming helper, which would be measured as instrumentation.
  console.log('building the course service (tsc -b services/course)…');
  execFileSync(process.execPath, [new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname, '-b', 'services/course'], { cwd: root, stdio: 'inherit' });

  const postgres = await startTemporaryPostgres(await freeLoopbackPort());
  cleanups.push(() => postgres.stop());
  const databaseUrl = await createTestDatabase(postgres.url, 'bench');
  const db = new pg.Client({ connectionString: databaseUrl });

  const full = await startService('instrumented', true, databaseUrl);
  const bare = await startService('uninstrumented', false, databaseUrl);
  const variants = [full, bare];
  if (process.env.BENCH_BREAKDOWN === '1') variants.push(await startService('metrics only', true, databaseUrl, 'warn'));
  if (process.env.BENCH_TWIN === '1') variants.push(await startService('uninstr. twin', false, databaseUrl));
  await db.connect();
  cleanups.push(() => db.end());

  const endpoints: Endpoint[] = ['GET /api/courses', 'POST /api/courses'];
  const results = new Map<string, Measurement[]>();
  for (const endpoint of endpoints) {
    for (let round = 0; round < rounds; round++) {
      for (const service of round % 2 === 0 ? variants : [...variants].reverse()) {
        await resetCourses(db);
        await load(service, endpoint, warmupSeconds);
        await resetCourses(db);
        const cpuBefore = cpuSeconds(service.child.pid!);
        const r = await load(service, endpoint, seconds);
        const cpuPerRequest = ((cpuSeconds(service.child.pid!) - cpuBefore) / r.requests.total) * 1e6;
        const m = { rps: r.requests.average, cpuPerRequest, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
        const key = `${endpoint}|${service.name}`;
        results.set(key, [...(results.get(key) ?? []), m]);
        console.log(`  ${endpoint} ${service.name.padEnd(14)} run ${round + 1}: ${fmt(m.rps)} req/s, ${fmt(m.cpuPerRequest)} µs CPU/request, p99 ${fmt(m.p99)} ms${m.non2xx || m.errors ? `, ${m.non2xx} non-2xx, ${m.errors} errors` : ''}`);
      }
    }
  }

  console.log('\nInstrumentation cost (target ≤ 10 %), per round against the uninstrumented run of the same round, median over');
  console.log('the rounds: by throughput, 1 − req/s ÷ uninstrumented req/s; by CPU, 1 − uninstrumented CPU/request ÷ CPU/request');
  console.log('(the throughput a CPU-bound service loses; less disturbed by whatever else runs on the machine). Means for the rest.\n');
  const rows = [['endpoint', 'variant', 'req/s', 'uninstr. req/s', 'cost by req/s', 'per round', 'µs CPU/req', 'uninstr.', 'cost by CPU', 'p99 ms', 'uninstr. p99']];
  let failedRequests = 0;
  const pct = (x: number) => `${fmt(x, 1)} %${x > 10 ? ' (over)' : ''}`;
  for (const endpoint of endpoints) {
    const b = results.get(`${endpoint}|uninstrumented`)!;
    for (const service of variants.filter((v) => v !== bare)) {
      const a = results.get(`${endpoint}|${service.name}`)!;
      failedRequests += [...a, ...b].reduce((n, m) => n + m.non2xx + m.errors, 0);
      const byRps = a.map((m, i) => (1 - m.rps / b[i]!.rps) * 100);
      const byCpu = a.map((m, i) => (1 - b[i]!.cpuPerRequest / m.cpuPerRequest) * 100);
      rows.push([
        endpoint,
        service.name,
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
    }
  }
  table(rows);
  if (failedRequests > 0) console.log(`\nWARNING: ${failedRequests} requests failed or answered non-2xx during the load runs`);

  const seriesOk = await metricSeriesCheck(full);
  return seriesOk ? 0 : 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}
try {
  process.exitCode = await main();
} catch (err) {
  if (!interrupted) console.error(err);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
