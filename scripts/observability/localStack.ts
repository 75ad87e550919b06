/**
 * A local Prometheus and Alertmanager next to the services running on this machine: Prometheus scrapes
 * them with the cluster's target labels, evaluates the generated rules and sends alerts to the
 * Alertmanager, which posts them to the local status service. Both run on free loopback ports with their
 * data in a temporary folder, and are stopped by their PID. The programs are the box's module builds
 * (scripts/box/tools.ts: Prometheus at the chart's version, the newest Alertmanager that builds), built
 * on first use and cached; PROMETHEUS and ALERTMANAGER name other programs to run instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify } from 'yaml';
import { ensureTool, type Log } from '../box/build.js';
import {
  localAlertmanagerConfig,
  prometheusConfig,
  rulesFiles,
  scrapeTargets,
  type LocalAlertmanagerOptions,
  type RulesFileOptions,
  type ScrapeTarget,
} from './prometheusConfig.js';
import { STATUS_WEBHOOK } from '../../cdk8s/src/monitoring/status-webhook.js';

/** An executable on PATH (or an absolute path), else undefined. */
export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, name);
    if (dir && existsSync(path)) return path;
  }
  return undefined;
}

export interface StackBinaries {
  readonly prometheus: string;
  readonly alertmanager: string;
}

/** PROMETHEUS / ALERTMANAGER, when set: a program on PATH or a path, which must exist. */
const override = (name: 'PROMETHEUS' | 'ALERTMANAGER') => {
  const v = process.env[name];
  if (!v) return undefined;
  const found = findBinary(v);
  if (!found) throw new Error(`${name}=${v}: no such program`);
  return found;
};

/**
 * Prometheus and Alertmanager for the local stack: PROMETHEUS / ALERTMANAGER when set (a program on PATH
 * or a path), else the box's builds of Prometheus and Alertmanager from their Go modules (the tools
 * `prometheus` and `alertmanager` of scripts/box/tools.ts; the first call builds them: minutes, then cached).
 */
export async function stackBinaries(log?: Log): Promise<StackBinaries> {
  const prometheus = override('PROMETHEUS') ?? (await ensureTool('prometheus', log)).prometheus!;
  const alertmanager = override('ALERTMANAGER') ?? (await ensureTool('alertmanager', log)).alertmanager!;
  return { prometheus, alertmanager };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface LocalStackOptions {
  /** Service name -> host:port of its running instance (services not listed: 127.0.0.1:<declared port>). */
  readonly addresses?: Readonly<Record<string, string>>;
  /** The scrape targets themselves, instead of one per service at `addresses` (e.g. a stable and a canary instance). */
  readonly targets?: readonly ScrapeTarget[];
  /** Base URL of the local status service (its /api/alerts takes the notifications). */
  readonly statusUrl: string;
  /** The status service's ALERT_WEBHOOK_TOKEN. */
  readonly webhookToken: string;
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
  readonly rules?: RulesFileOptions;
  readonly alertmanagerRoute?: LocalAlertmanagerOptions['route'];
  readonly resolveTimeout?: string;
  /** The programs to run (default: stackBinaries()). */
  readonly binaries?: StackBinaries;
  /** Keep the processes' output here (default: in memory, see `logs()`). */
  readonly onLog?: (name: 'prometheus' | 'alertmanager', line: string) => void;
}

export interface LocalStack {
  readonly prometheusUrl: string;
  readonly alertmanagerUrl: string;
  /** The temporary folder with the configuration, rules, token and data. */
  readonly dir: string;
  readonly logs: () => string;
  readonly stop: () => Promise<void>;
  /** Synchronous SIGTERM to both PIDs and removal of the folder: for `process.on('exit')` handlers. */
  readonly stopNow: () => void;
}

async function waitReady(url: string, child: ChildProcess, what: string, logs: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${logs()}`);
    const res = await fetch(url).catch(() => undefined);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready at ${url} within ${timeoutMs / 1000} s:\n${logs()}`);
}

/** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the process has exited. */
async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts Alertmanager, then Prometheus; throws (after stopping what started) when a binary cannot be had or fails. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { prometheus, alertmanager } = options.binaries ?? (await stackBinaries());
  const dir = mkdtempSync(join(tmpdir(), 'courseops-observability-'));
  const output: string[] = [];
  const children: ChildProcess[] = [];
  const run = (name: 'prometheus' | 'alertmanager', bin: string, args: string[]) => {
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        for (const line of chunk.split('\n').filter(Boolean)) {
          output.push(`${name}: ${line}`);
          if (output.length > 2000) output.shift();
          options.onLog?.(name, line);
        }
      });
    }
    child.on('error', (err) => output.push(`${name}: ${err.message}`));
    children.push(child);
    return child;
  };
  const logs = () => output.join('\n');
  const stop = async () => {
    await Promise.all(children.reverse().map((c) => stopChild(c)));
    rmSync(dir, { recursive: true, force: true });
  };
  const stopNow = () => {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Alertmanager: the deployed configuration, pointed at the local status service.
    const tokenFile = join(dir, 'status-webhook-token');
    writeFileSync(tokenFile, options.webhookToken, { mode: 0o600 });
    const amConfig = localAlertmanagerConfig({
      statusWebhookUrl: `${options.statusUrl.replace(/\/+$/, '')}${STATUS_WEBHOOK.path}`,
      tokenFile,
      ...(options.alertmanagerRoute ? { route: options.alertmanagerRoute } : {}),
      ...(options.resolveTimeout ? { resolveTimeout: options.resolveTimeout } : {}),
    });
    writeFileSync(join(dir, 'alertmanager.yaml'), stringify(amConfig, { lineWidth: 0 }));
    const amPort = await freePort();
    const am = run('alertmanager', alertmanager, [
      `--config.file=${join(dir, 'alertmanager.yaml')}`,
      `--storage.path=${join(dir, 'alertmanager-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=', // no gossip (nothing to gossip with, and :9094 may be taken)
    ]);
    const alertmanagerUrl = `http://127.0.0.1:${amPort}`;

    // Prometheus: the generated rules, the services' scrape jobs, alerts to the Alertmanager above.
    const rulesDir = join(dir, 'rules');
    mkdirSync(rulesDir);
    const ruleFiles: string[] = [];
    for (const [name, content] of rulesFiles(options.rules)) {
      writeFileSync(join(rulesDir, name), content);
      ruleFiles.push(join(rulesDir, name));
    }
    const config = prometheusConfig({
      targets: options.targets ?? scrapeTargets(options.addresses),
      ruleFiles,
      alertmanager: `127.0.0.1:${amPort}`,
      ...(options.scrapeInterval ? { scrapeInterval: options.scrapeInterval } : {}),
      ...(options.evaluationInterval ? { evaluationInterval: options.evaluationInterval } : {}),
    });
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config, { lineWidth: 0 }));
    const promPort = await freePort();
    const prom = run('prometheus', prometheus, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    const prometheusUrl = `http://127.0.0.1:${promPort}`;

    await Promise.all([
      waitReady(`${alertmanagerUrl}/-/ready`, am, 'alertmanager', logs),
      waitReady(`${prometheusUrl}/-/ready`, prom, 'prometheus', logs),
    ]);
    return { prometheusUrl, alertmanagerUrl, dir, logs, stop, stopNow };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * For `npm run dev`: the local Prometheus and Alertmanager next to the services on their dev ports, built
 * from their Go modules the first time (it says so), or a one-line hint when they cannot be (no Go).
 * Uses the generated `for` durations; leaves out DatabaseDown (it fires on `absent(pg_up)`, and no
 * postgres-exporter runs next to PGlite).
 */
export async function startDevObservability(options: {
  statusUrl: string;
  webhookToken: string;
  addresses?: Record<string, string>;
}): Promise<LocalStack | undefined> {
  if (!findBinary('go') && !(process.env.PROMETHEUS && process.env.ALERTMANAGER)) {
    console.log('  (no local Prometheus/Alertmanager: they are built from their Go modules, and `go` (1.26) is not on PATH)');
    return undefined;
  }
  const binaries = await stackBinaries((line) => {
    if (/: building /.test(line)) console.log(`  ${line.replace(/ \.\.\.$/, '')}: the first time only, a few minutes (then cached) ...`);
    else if (/: built in |being built by|built by another process/.test(line)) console.log(`  ${line}`);
  });
  const stack = await startLocalStack({ ...options, binaries, scrapeInterval: '5s', rules: { omitAlerts: ['DatabaseDown'] } });
  console.log(`  prometheus     ${stack.prometheusUrl}/alerts  (rules, targets, graph)\n  alertmanager   ${stack.alertmanagerUrl}/  (posts to the status page)`);
  return stack;
}
