/**
 * `npm run dev`: the declared services (cdk8s/src/services.ts, through devServices.ts) on this machine with embedded PostgreSQL (PGlite, kept under .data/),
 * their logs in one readable stream, and the URLs once every service is ready. Ctrl-C stops them gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readableLogLine } from './devConsole.js';
import { services as declaredServices } from '../cdk8s/src/services.js';
import { devArgs, devServices, type DevService } from './devServices.js';
import { STATUS_WEBHOOK } from '../cdk8s/src/monitoring/status-webhook.js';
import { startDevObservability } from './observability/localStack.js';

const root = new URL('..', import.meta.url).pathname;
const webhookToken = process.env[STATUS_WEBHOOK.tokenEnv] ?? randomBytes(24).toString('hex');
// The webhook token is shown below (Alertmanager and curl need it); any other secret is made up for the session.
const allServices = devServices(declaredServices, (env) => (env === STATUS_WEBHOOK.tokenEnv ? webhookToken : randomBytes(24).toString('hex')));
const { only, monitoring } = (() => {
  try {
    return devArgs(process.argv.slice(2), allServices.map((s) => s.name));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();
// Named services only when asked (`npm run dev -- course`): their calls still point at the others' ports.
const services = only.length > 0 ? allServices.filter((s) => only.includes(s.name)) : allServices;
const byName = (name: string) => services.find((s) => s.name === name);

// One colour per service, in declaration order (cyan, magenta, yellow, green, blue, red).
const colours = [36, 35, 33, 32, 34, 31];
const width = Math.max(...services.map((s) => s.name.length));
const prefix = (name: string) => `\x1b[${colours[services.findIndex((s) => s.name === name) % colours.length] ?? 37}m${name.padEnd(width)}\x1b[0m`;

const children: ChildProcess[] = [];
function start(service: DevService): ChildProcess {
  const dataDir = `${root}.data/${service.name}`;
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', `services/${service.name}/src/main.ts`], {
    cwd: root,
    env: { ...process.env, ...service.env, PORT: String(service.port), DATA_DIR: dataDir, DATABASE_URL: '' },
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

${services
  .filter((s) => s.apiUrl)
  .map((s) => `  ${`${s.name} ${s.apiUrl!.endsWith('/') ? 'page' : 'API'}`.padEnd(15)}${s.apiUrl}`)
  .join('\n')}
${
  byName('status')
    ? `  status JSON    http://localhost:${byName('status')?.port}/api/status
  alert webhook  POST http://localhost:${byName('status')?.port}${STATUS_WEBHOOK.path}  (Authorization: Bearer ${process.env[STATUS_WEBHOOK.tokenEnv] ? `$${STATUS_WEBHOOK.tokenEnv}` : webhookToken})
`
    : ''
}  each service   /healthz  /readyz  /metrics

  Ctrl-C stops everything.
`);
}
if (!stopping && monitoring) {
  // Prometheus and Alertmanager built from their Go modules (the first time only; cached), loaded with the
  // same scrape labels, rules and routes as the cluster; alerts open incidents on the local status page.
  const observability = await startDevObservability({ statusUrl: `http://localhost:${byName('status')?.port}`, webhookToken }).catch((err: unknown) =>
    console.error(`  local Prometheus/Alertmanager did not start: ${String(err)}`),
  );
  process.on('exit', () => observability?.stopNow());
}
