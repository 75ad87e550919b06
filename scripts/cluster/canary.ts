/**
 * npm run canary -- <service> <image-tag> [--fault-rate R] [--no-build] [--no-traffic] [--timeout MIN] [--dry-run]
 * npm run canary -- <service> --promote | --abort [--dry-run]
 *
 * Starts a canary of a service's new image and follows the Argo Rollout and the weights the Gateway API
 * plugin sets on the service's HTTPRoute until it is promoted (exit 0) or aborted by its analysis or by
 * hand with the route back on the stable Service (exit 1); 2 when following timed out or the arguments
 * are wrong. While following it sends a few requests per second through the gateway (127.0.0.1:443, the
 * service's public host), so the analysis has canary traffic to judge. See the README's canary walkthrough.
 */
import https from 'node:https';
import { buildPlatform } from '../../cdk8s/src/app.js';
import { loadConfig } from '../../cdk8s/src/config-file.js';
import { hostsFor } from '../../cdk8s/src/hosts.js';
import { services } from '../../cdk8s/src/services.js';
import { render } from '../../cdk8s/src/synth.js';
import { APPS_NAMESPACE, CANARY_USAGE, canaryCommands, parseCanaryArgs, type EnvVar } from './canary-plan.js';
import { canaryStatusCommands, observeCanary, routeTarget } from './canary-status.js';
import { REPO_ROOT } from './cli.js';
import { renderCommand, runChecked, spawnRunner } from './commands.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The service container's env in the Rollout as synthesized: what the patch keeps. */
function synthesizedEnv(service: string): EnvVar[] {
  const { objects } = render(buildPlatform({ config: loadConfig() }));
  const rollout = objects.find((o) => o.kind === 'Rollout' && (o.metadata as { name: string }).name === service) as
    | { spec: { template: { spec: { containers: { name: string; env?: EnvVar[] }[] } } } }
    | undefined;
  if (!rollout) throw new Error(`no Rollout ${service} in the synthesized platform`);
  return rollout.spec.template.spec.containers.find((c) => c.name === service)?.env ?? [];
}

/** A request every 200 ms through the gateway to the service's public route, until stopped; counts answers. */
function startTraffic(service: string): { stop: () => void; counts: Map<string, number> } {
  const decl = services.find((s) => s.name === service);
  const counts = new Map<string, number>();
  if (!decl?.ingress) return { stop: () => undefined, counts };
  const host = hostsFor(loadConfig().domain)[decl.ingress.host];
  const path = decl.ingress.path;
  let stopped = false;
  const once = () =>
    new Promise<void>((resolve) => {
      // Demo load on our own gateway on 127.0.0.1, no credentials sent: the self-signed platform CA is not checked here.
      const req = https.request({ host: '127.0.0.1', port: 443, path, servername: host, headers: { host }, rejectUnauthorized: false, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const key = `${res.statusCode}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        counts.set('error', (counts.get('error') ?? 0) + 1);
        resolve();
      });
      req.end();
    });
  void (async () => {
    while (!stopped) await Promise.all([once(), sleep(200)]);
  })();
  return { stop: () => void (stopped = true), counts };
}

async function follow(service: string, timeoutMinutes: number, traffic: boolean): Promise<number> {
  const load = traffic ? startTraffic(service) : undefined;
  const deadline = Date.now() + timeoutMinutes * 60_000;
  let last = '';
  try {
    // Give the controller a moment to see the new template before the first read.
    await sleep(2000);
    while (Date.now() < deadline) {
      const { verdict, line } = await observeCanary(spawnRunner, service);
      const answers = load ? `  [traffic: ${[...load.counts].map(([k, v]) => `${k}×${v}`).join(' ') || 'none yet'}]` : '';
      if (line !== last) console.log(`${new Date().toISOString().slice(11, 19)}  ${line}${answers}`);
      last = line;
      if (verdict === 'promoted') {
        console.log(`\n${service}: promoted, every pod runs the new template.`);
        return 0;
      }
      if (verdict === 'aborted') {
        const back = routeTarget(service) ? 'the route sends everything to the stable pods again' : 'traffic is back on the stable pods';
        console.log(`\n${service}: aborted, ${back}. See: kubectl -n ${APPS_NAMESPACE} get analysisrun -l rollouts-pod-template-hash`);
        return 1;
      }
      await sleep(5000);
    }
    console.log(`\n${service}: still in progress after ${timeoutMinutes} min; stopped following (the canary goes on).`);
    return 2;
  } finally {
    load?.stop();
  }
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(CANARY_USAGE);
    return 0;
  }
  let request;
  try {
    request = parseCanaryArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  process.chdir(REPO_ROOT);
  const config = loadConfig();
  if (config.profile !== 'kind') {
    // It builds into kind and drives the kind context; on a cluster, push the image and set it on the Rollout yourself.
    process.stderr.write('npm run canary drives the local kind cluster; the configured profile is "cluster" (README "Production cluster").\n');
    return 2;
  }
  const commands = canaryCommands(request, request.action === 'deploy' ? synthesizedEnv(request.service) : [], config);
  if (request.dryRun) {
    for (const cmd of commands) console.log(renderCommand(cmd));
    if (request.action === 'deploy') {
      const status = canaryStatusCommands(request.service);
      const reads = [status.rollout, ...(status.route ? [status.route] : [])].map(renderCommand).join(' and ');
      console.log(`# then, every 5 s until promoted or aborted: ${reads}`);
    }
    return 0;
  }
  for (const cmd of commands) {
    console.log(`$ ${renderCommand(cmd)}`);
    await runChecked(spawnRunner, cmd, { onLine: (line) => console.log(`  ${line}`) });
  }
  if (request.action !== 'deploy') return 0;
  return follow(request.service, request.timeoutMinutes, request.traffic);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`\n${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
