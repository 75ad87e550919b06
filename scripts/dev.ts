/**
 * `npm run dev`: the three services on this machine with embedded PostgreSQL (PGlite, kept under .data/),
 * their logs in one readable stream, and the URLs once every service is ready. Ctrl-C stops them gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readableLogLine } from './devConsole.js';
import { startDevObservability } from './observability/localStack.js';

interface DevService {
  name: string;
  port: number;
  env?: Record<string, string>;
}

const root = new URL('..', import.meta.url).pathname;
const webhookToken = process.env.ALERT_WEBHOOK_TOKEN ?? randomBytes(24).toString('hex');
const services: DevService[] = [
  { name: 'course', port: 3001 },
  { name: 'teacher', port: 3002, env: { COURSE_SERVICE_URL: 'http://localhost:3001' } },
  {
    name: 'status',
    port: 3003,
    env: {
      STATUS_TARGETS: 'course=http://localhost:3001,teacher=http://localhost:3002',
      PROBE_INTERVAL_MS: '5000',
      ALERT_WEBHOOK_TOKEN: webhookToken,
    },
  },
];

const colours = { course: 36, teacher: 35, status: 33 } as Record<string, number>;
const prefix = (name: string) => `\x1b[${colours[name] ?? 37}m${name.padEnd(7)}\x1b[0m`;

const children: ChildProcess[] = [];
function start(service: DevService): ChildProcess {
  const dataDir = `${root}.data/${service.name}`;
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', `services/${service.name}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, PORT: String(service.port), DATA_DIR: dataDir, DATABASE_URL: '', ...service.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`${prefix(service.name)} ${readableLogLine(line)}`));
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix(service.name)} exited (${signal ?? code}); stopping the others`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

async function waitReady(service: DevService, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://localhost:${service.port}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${service.name} did not become ready within ${timeoutMs / 1000} s`);
}

let stopping = false;
function stop(code = 0): void {
  if (stopping) return;
  stopping = true;
  let left = children.filter((c) => c.exitCode === null).length;
  if (left === 0) process.exit(code);
  for (const child of children) {
    child.once('exit', () => --left === 0 && process.exit(code));
    child.kill('SIGTERM');
  }
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

for (const service of services) start(service);
try {
  await Promise.all(services.map((s) => waitReady(s)));
} catch (err) {
  console.error(String(err));
  stop(1);
}
if (!stopping) {
  console.log(`
  courseops is running (embedded databases under .data/; delete it to start empty)

  course API     http://localhost:3001/api/courses
  teacher API    http://localhost:3002/api/teachers
  status page    http://localhost:3003/
  status JSON    http://localhost:3003/api/status
  each service   /healthz  /readyz  /metrics
  alert webhook  POST http://localhost:3003/api/alerts  (Authorization: Bearer ${process.env.ALERT_WEBHOOK_TOKEN ? '$ALERT_WEBHOOK_TOKEN' : webhookToken})

  Ctrl-C stops everything.
`);
}
if (!stopping) {
  // Prometheus and Alertmanager built from their Go modules (the first time only; cached), loaded with the
  // same scrape labels, rules and routes as the cluster; alerts open incidents on the local status page.
  const observability = await startDevObservability({ statusUrl: 'http://localhost:3003', webhookToken }).catch((err: unknown) =>
    console.error(`  local Prometheus/Alertmanager did not start: ${String(err)}`),
  );
  process.on('exit', () => observability?.stopNow());
}
