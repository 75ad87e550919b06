/**
 * `npm run bench`: how the course service scales and what its conventions cost, on a real PostgreSQL the
 * benchmark starts itself, all in one run:
 *
 * 1. keyset list pages at 1,000 and 1,000,000 rows (seeded with SQL), the first page and a page at 90 %
 *    depth (its cursor made with the service's own encoder), each p50/p99 and req/s;
 * 2. the course service against a minimal `node:http` + `pg` peer (scripts/bench/peer.ts: same SQL, same
 *    JSON), GET list and POST;
 * 3. what request instrumentation (metrics + access logs) costs: the same rounds also run the course service
 *    built with `instrumented: false`;
 * 4. proof that ids in paths never become metric series;
 * 5. when the course service misses its throughput target against the peer (or BENCH_PROFILE=1), a CPU
 *    profile of it under the same load, by area and function.
 *
 * Services run compiled, as in their images, in child processes; autocannon drives them from this process.
 * Rounds alternate the order of what they compare (A,B,C then C,B,A) and comparisons are paired per round,
 * medians over rounds. Targets: large-table pages within 1.5× of the 1,000-row first page's p50; course
 * ≥ 0.75× the peer's req/s on both endpoints; instrumentation ≤ 10 %. A missed target is printed MISSED;
 * the benchmark measures, it does not gate: it exits non-zero only when it could not run or when the
 * metric series grew with the ids.
 *
 * BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (50), BENCH_ROUNDS (4), BENCH_ROWS (200,
 * the table for GET/POST); BENCH_LIST_SECONDS (5), BENCH_LIST_ROUNDS (4), BENCH_LIST_ROWS (1000000);
 * BENCH_PROFILE (auto; 1 always, 0 never); BENCH_BREAKDOWN=1 adds a service instrumented with
 * LOG_LEVEL=warn (metrics without access logs), to tell the cost of the metrics from that of the access
 * log lines; BENCH_TWIN=1 adds a second uninstrumented service, whose "cost" is the benchmark's own noise.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, freeLoopbackPort, startTemporaryPostgres } from '@courseops/kit/testing';
import pg from 'pg';
import ts from 'typescript';
import { measureListPages, reportListPages, type ListPage } from './bench/lists.js';
import { measure, type LoadSettings } from './bench/load.js';
import { cleanUp, onCleanUp, startServer, type RunningServer } from './bench/processes.js';
import { monotonicUs, printProfile } from './bench/profile.js';
import { PhaseClock, fmt, printVerdicts, type Verdict } from './bench/report.js';
import { cursorAtDepth, seedCourses } from './bench/seed.js';
import { metricSeriesCheck } from './bench/seriesCheck.js';
import { endpoints, measureThroughput, reportInstrumentationCost, reportPeerComparison, type Comparison } from './bench/throughput.js';

const root = new URL('..', import.meta.url).pathname;
const setting = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const load: LoadSettings = {
  seconds: setting('BENCH_SECONDS', 8),
  warmupSeconds: setting('BENCH_WARMUP_SECONDS', 2),
  connections: setting('BENCH_CONNECTIONS', 50),
};
const rounds = setting('BENCH_ROUNDS', 4);
const seedRows = setting('BENCH_ROWS', 200);
const listLoad: LoadSettings = { ...load, seconds: setting('BENCH_LIST_SECONDS', 5), warmupSeconds: 1 };
const listRounds = setting('BENCH_LIST_ROUNDS', 4);
const smallListRows = 1000;
const largeListRows = setting('BENCH_LIST_ROWS', 1_000_000);
const profileSetting = process.env.BENCH_PROFILE ?? 'auto';

const courseServiceScript = ['--import', 'tsx', 'scripts/bench/course-service.ts'];
const peerScript = join(root, 'scripts/bench/dist/peer.js');

function startCourseService(name: string, databaseUrl: string, options: { instrumented?: boolean; logLevel?: string; nodeFlags?: string[] } = {}) {
  return startServer({
    name,
    cwd: root,
    args: [...(options.nodeFlags ?? []), ...courseServiceScript],
    env: {
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      INSTRUMENTED: String(options.instrumented ?? true),
      LOG_LEVEL: options.logLevel ?? 'info',
      RATE_LIMIT_PER_MINUTE: '1000000000',
      SHUTDOWN_DELAY_MS: '0',
    },
  });
}

const loadAverage = () => loadavg().map((l) => fmt(l, 2)).join(', ');

/** The course service as its image runs it, and the peer as plain JavaScript (see peer.ts for why). */
function build(): void {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/course'], { cwd: root, stdio: 'inherit' });
  const source = readFileSync(join(root, 'scripts/bench/peer.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'peer.ts',
  });
  mkdirSync(join(root, 'scripts/bench/dist'), { recursive: true });
  writeFileSync(peerScript, outputText);
}

/** The course service under `node --cpu-prof`, one endpoint's load, its profile summarised. */
async function profileCourseService(databaseUrl: string, resetTable: () => Promise<void>): Promise<void> {
  for (const endpoint of endpoints) {
    const dir = mkdtempSync(join(tmpdir(), 'courseops-bench-profile-'));
    try {
      const service = await startCourseService('profiled', databaseUrl, { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
      // measure() prepares twice, before the warm-up and before the measured run: the last one starts the window.
      let fromUs = 0;
      const m = await measure(service, endpoint.load, load, async () => {
        await resetTable();
        fromUs = monotonicUs();
      });
      const toUs = monotonicUs();
      await service.stop();
      console.log(`\n${endpoint.name} under the profiler (${fmt(m.rps)} req/s, ${fmt(m.cpuPerRequest)} µs CPU/request):`);
      printProfile(dir, { fromUs, toUs });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function main(): Promise<number> {
  const clock = new PhaseClock();
  console.log(
    `course service benchmark: GET/POST ${load.seconds} s per run after ${load.warmupSeconds} s warm-up, ${rounds} rounds, ${seedRows} rows; ` +
      `lists ${listLoad.seconds} s per run, ${listRounds} rounds; ${load.connections} connections; rounds in alternating order`,
  );
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; load generator, services and PostgreSQL share it`);
  // Anything else running skews every figure (req/s most, CPU/request less): the load average tells.
  console.log(`load average before the run: ${loadAverage()}\n`);

  // The services run compiled, as in their images: tsx's on-the-fly transform wraps every closure the
  // middleware makes per request in a naming helper, which would be measured as instrumentation.
  console.log('building the course service (tsc -b services/course) and the peer…');
  await clock.time('build', async () => build());

  const { databaseUrl, listUrls } = await clock.time('PostgreSQL and databases', async () => {
    const postgres = await startTemporaryPostgres(await freeLoopbackPort());
    onCleanUp(() => postgres.stop());
    return {
      databaseUrl: await createTestDatabase(postgres.url, 'bench'),
      listUrls: { small: await createTestDatabase(postgres.url, 'bench_list_small'), large: await createTestDatabase(postgres.url, 'bench_list_large') },
    };
  });
  const client = async (url: string) => {
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    onCleanUp(() => db.end());
    return db;
  };

  // Services first: they create the tables (migrations run on start), the seeding fills them.
  const servers = await clock.time('start services', async () => {
    const started = {
      course: await startCourseService('course', databaseUrl),
      uninstrumented: await startCourseService('uninstrumented', databaseUrl, { instrumented: false }),
      peer: await startServer({ name: 'peer', cwd: root, args: [peerScript], env: { DATABASE_URL: databaseUrl } }),
      smallList: await startCourseService('course (1,000 rows)', listUrls.small),
      largeList: await startCourseService(`course (${fmt(largeListRows)} rows)`, listUrls.large),
      others: [] as RunningServer[],
    };
    if (process.env.BENCH_BREAKDOWN === '1') started.others.push(await startCourseService('metrics only', databaseUrl, { logLevel: 'warn' }));
    if (process.env.BENCH_TWIN === '1') started.others.push(await startCourseService('uninstr. twin', databaseUrl, { instrumented: false }));
    return started;
  });

  const db = await client(databaseUrl);
  const resetTable = () => seedCourses(db, seedRows);
  const pages = await clock.time(`seed ${fmt(smallListRows)} and ${fmt(largeListRows)} rows`, async () => {
    const listPages: ListPage[] = [];
    for (const [server, url, rows] of [
      [servers.smallList, listUrls.small, smallListRows],
      [servers.largeList, listUrls.large, largeListRows],
    ] as const) {
      const listDb = await client(url);
      await seedCourses(listDb, rows);
      const cursor = await cursorAtDepth(listDb, Math.floor(rows * 0.9));
      listPages.push(
        { name: `${fmt(rows)} rows, first page`, rows, depth: 'first page', server, path: '/api/courses?limit=20' },
        { name: `${fmt(rows)} rows, 90 % depth`, rows, depth: '90 % depth', server, path: `/api/courses?limit=20&cursor=${encodeURIComponent(cursor)}` },
      );
    }
    return listPages;
  });

  console.log('\nList pages');
  const listResults = await clock.time('list pages', () => measureListPages(pages, listLoad, listRounds));

  console.log('\nCourse service, the same without instrumentation, and the peer');
  const comparison: Comparison = {
    course: { name: 'course', server: servers.course },
    uninstrumented: { name: 'uninstrumented', server: servers.uninstrumented },
    peer: { name: 'peer', server: servers.peer },
    others: servers.others.map((server) => ({ name: server.name, server })),
  };
  const throughput = await clock.time('course, uninstrumented, peer', () => measureThroughput(comparison, load, rounds, resetTable));

  const seriesOk = await clock.time('metric series check', () => metricSeriesCheck(servers.course));

  console.log(`\n== List pages (p50/p99 and req/s: medians over ${listRounds} rounds; ratios paired per round) ==\n`);
  const verdicts: Verdict[] = reportListPages(listResults);
  console.log(`\n== Course service against the minimal peer (medians over ${rounds} rounds; ratios paired per round) ==\n`);
  verdicts.push(...reportPeerComparison(comparison, throughput));
  console.log('\n== Instrumentation cost ==\n');
  verdicts.push(...reportInstrumentationCost(comparison, throughput));

  const peerMissed = verdicts.some((v) => !v.met && v.target.includes('peer'));
  if (profileSetting === '1' || (profileSetting === 'auto' && peerMissed)) {
    console.log(`\n== Where the course service's CPU goes (node --cpu-prof; ${peerMissed ? 'the peer target was missed' : 'BENCH_PROFILE=1'}) ==`);
    await clock.time('profile', () => profileCourseService(databaseUrl, resetTable));
  }

  console.log('\n== Targets ==\n');
  printVerdicts(verdicts);
  console.log('\n== Phases ==\n');
  clock.print();
  console.log(`\nload average after the run: ${loadAverage()} (1, 5, 15 min; ${cpus().length} CPUs)`);
  return seriesOk ? 0 : 1;
}

let interrupted = false;
// `npm run bench | head` closes the pipe early: stop what was started rather than die on EPIPE and leave
// PostgreSQL and the services running.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE' || interrupted) return;
  interrupted = true;
  void cleanUp().then(() => process.exit(1));
});
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
