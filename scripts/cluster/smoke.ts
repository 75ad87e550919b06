/**
 * npm run smoke [-- --insecure] [--context CTX] [--dist DIR] [--targets-timeout SECONDS] [--dry-run]
 *
 * End-to-end checks of a running cluster, through the Gateway: on kind, Traefik's hostPorts on 127.0.0.1 (the
 * hostnames of dist/hosts.json are resolved to 127.0.0.1 here, so /etc/hosts is not needed), with TLS verified
 * against the cluster's root CA (the Secret of the synthesized cert-manager CA Certificate, else a Secret named
 * courseops-ca); with the cluster profile (--context NAME required), through public DNS to the load balancer,
 * with TLS verified against the system's roots (Let's Encrypt staging needs --insecure). Then:
 *   every declared service's public route (dist/services.json) answering through the Gateway,
 *   course + teacher APIs (create a course, create a teacher, assign, list), status page,
 *   Prometheus targets all up (API server service proxy, no auth bypass), Elasticsearch green,
 *   Grafana, Kibana (and the oauth2-proxy protected UIs) answering with a login redirect or 401.
 * Prints one line per check and exits non-zero when any fails.
 */
import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import path from 'node:path';
import { KUBE_CONTEXT, renderCommand, spawnRunner } from './commands.js';
import { REPO_ROOT, Refusal, checkSwitches, fail, parseFlags, userPath } from './cli.js';
import { targetFromFlags, targetRefusal } from './target.js';
import { CA_CLUSTER_ISSUER } from '../../cdk8s/src/tls/ca.js';
import { distComplete, loadDist } from './inputs.js';
import { behindAuth, describeTarget, notGreen, targetsNotUp } from './smoke-checks.js';
import { assertTools, lookupOnPath, TOOLS } from './prerequisites.js';

const HELP = `Usage: npm run smoke [-- [--insecure] [--context CTX] [--dist DIR] [--targets-timeout SECONDS] [--dry-run]]

  --insecure                 do not verify TLS (default: verify against the cluster's root CA Secret)
  --context CTX              kubeconfig context (default: ${KUBE_CONTEXT})
  --dist DIR                 where services.json and helm/releases.json are (default: dist)
  --targets-timeout SECONDS  how long Prometheus targets may take to all be up (default: 180)
  --dry-run                  list the checks and kubectl commands, run nothing
`;

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Options {
  ca?: string;
  insecure: boolean;
  hosts: Set<string>;
}

/** Resolves the platform's hostnames to 127.0.0.1 (kind maps ports 80/443 there), anything else normally. */
function lookupFor(hosts: Set<string>): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    if (hosts.has(hostname)) {
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
      return;
    }
    dns.lookup(hostname, options, callback as never);
  }) as LookupFunction;
}

function request(url: string, opts: Options, method = 'GET', json?: unknown): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const req = https.request(
      url,
      {
        method,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        lookup: lookupFor(opts.hosts),
        timeout: 15_000,
        headers: { accept: 'application/json, text/html;q=0.9', ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (text.length < 1_000_000) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function expectStatus(answer: HttpAnswer, expected: number, what: string): void {
  if (answer.status !== expected) {
    throw new Error(`${what}: expected ${expected}, got ${answer.status} ${answer.body.slice(0, 300)}`);
  }
}

async function kubectlJson(args: string[], context: string): Promise<unknown> {
  const argv = ['kubectl', '--context', context, ...args];
  const result = await spawnRunner(argv, { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`${renderCommand({ argv })} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout);
}

interface Check {
  name: string;
  run: () => Promise<string>;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2), ['context', 'dist', 'targets-timeout']);
  checkSwitches(flags, ['dry-run', 'help', 'h', 'insecure']);
  if (flags.help) {
    process.stdout.write(HELP);
    return;
  }
  const distDir = flags.values.get('dist') ? userPath(flags.values.get('dist')!) : 'dist';
  process.chdir(REPO_ROOT);
  const insecure = flags.switches.has('insecure');
  const targetsTimeoutMs = Number(flags.values.get('targets-timeout') ?? 180) * 1000;

  if (!distComplete(distDir)) throw new Error(`${distDir} is missing or incomplete: run \`npm run synth\` (or \`npm run up\`) first`);
  const dist = loadDist(distDir);
  const { hosts, releases, declared } = dist;
  // As up: the kind cluster by default; a cluster-profile dist/ only on the context named explicitly.
  const refusal = targetRefusal(declared, targetFromFlags(flags.values), 'smoke', distDir);
  if (refusal) throw new Refusal(refusal);
  const context = flags.values.get('context') ?? KUBE_CONTEXT;
  // kind: the hosts are 127.0.0.1 (its hostPorts); behind a load balancer, public DNS answers for them.
  const pinnedHosts = declared.cluster.exposure === 'hostPort' ? new Set(hosts) : new Set<string>();
  // The platform CA signs the certificates on kind; an ACME or existing issuer's chain is checked against the system's roots.
  const ownCa = !declared.cluster.issuer.existing && declared.cluster.issuer.name === CA_CLUSTER_ISSUER;
  const caArgs = dist.caSecret
    ? ['-n', dist.caSecret.namespace, 'get', 'secret', dist.caSecret.name, '-o', 'json']
    : ['get', 'secret', '-A', '--field-selector', 'metadata.name=courseops-ca', '-o', 'json'];
  const promNamespace = releases.find((r) => r.chart === 'kube-prometheus-stack')?.namespace ?? 'monitoring';
  const targetsPath = `/api/v1/namespaces/${promNamespace}/services/prometheus-operated:web/proxy/api/v1/targets?state=active`;
  // Hosts and routes as declared (dist/services.json): a service's API is its ingress host and path.
  const routed = declared.services.filter((s) => s.ingress);
  const routeOf = (service: string): string => {
    const ingress = declared.services.find((s) => s.name === service)?.ingress;
    if (!ingress) throw new Error(`${service} has no public route in ${path.join(distDir, 'services.json')}`);
    return `https://${ingress.host}${ingress.path.replace(/\/$/, '')}`;
  };
  const uis = ['grafana', 'kibana', 'prometheus', 'alertmanager', 'rollouts'] as const;

  if (flags.dryRun) {
    const lines = [
      '# smoke checks (dry run: nothing is run)',
      ...(ownCa ? [renderCommand({ argv: ['kubectl', '--context', context, ...caArgs] })] : ['# TLS checked against the system roots (the certificates are not the platform CA\'s)']),
      ...routed.map((s) => `# ${s.name}: ${routeOf(s.name)}`),
      ...uis.map((ui) => `# ${ui}: https://${declared.hosts[ui]}/`),
      renderCommand({ argv: ['kubectl', '--context', context, 'get', '--raw', targetsPath] }),
      renderCommand({ argv: ['kubectl', '--context', context, 'get', 'elasticsearches.elasticsearch.k8s.elastic.co', '-A', '-o', 'json'] }),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }

  assertTools(lookupOnPath(), TOOLS.filter((t) => t.name === 'kubectl'));

  let ca: string | undefined;
  if (!insecure && ownCa) {
    try {
      const answer = (await kubectlJson(caArgs, context)) as { items?: { data?: Record<string, string> }[]; data?: Record<string, string> };
      const data = answer.items ? answer.items[0]?.data : answer.data;
      const pem = data?.['ca.crt'] || data?.['tls.crt'];
      if (!pem) throw new Error('the CA Secret has no ca.crt or tls.crt');
      ca = Buffer.from(pem, 'base64').toString('utf8');
    } catch (err) {
      throw new Error(`cannot read the cluster CA (${(err as Error).message}); is the cluster up? Use --insecure to skip TLS verification.`);
    }
  }
  const opts: Options = { ca, insecure, hosts: pinnedHosts };
  const state: { courseId?: string; teacherId?: string } = {};
  const suffix = randomUUID().slice(0, 8);

  const checks: Check[] = [
    ...routed.map(
      (s): Check => ({
        name: `${s.name}: its public route answers through the Gateway`,
        run: async () => {
          const answer = await request(routeOf(s.name), opts);
          if (answer.status >= 400) throw new Error(`GET ${routeOf(s.name)}: ${answer.status} ${answer.body.slice(0, 200)}`);
          return `${answer.status}`;
        },
      }),
    ),
    {
      name: 'course API: create and read a course through the Gateway',
      run: async () => {
        const courses = routeOf('course');
        const created = await request(courses, opts, 'POST', { title: `Smoke test ${suffix}`, credits: 3 });
        expectStatus(created, 201, 'POST /api/courses');
        state.courseId = (JSON.parse(created.body) as { id: string }).id;
        expectStatus(await request(`${courses}/${state.courseId}`, opts), 200, 'GET /api/courses/:id');
        return `course ${state.courseId}`;
      },
    },
    {
      name: 'teacher API: create a teacher, assign the course, list it',
      run: async () => {
        if (!state.courseId) throw new Error('skipped: needs the course from the previous check');
        const teachers = routeOf('teacher');
        const created = await request(teachers, opts, 'POST', { name: `Smoke ${suffix}`, email: `smoke-${suffix}@example.test` });
        expectStatus(created, 201, 'POST /api/teachers');
        state.teacherId = (JSON.parse(created.body) as { id: string }).id;
        expectStatus(await request(`${teachers}/${state.teacherId}/courses`, opts, 'POST', { courseId: state.courseId }), 201, 'POST /api/teachers/:id/courses');
        const list = await request(`${teachers}/${state.teacherId}/courses`, opts);
        expectStatus(list, 200, 'GET /api/teachers/:id/courses');
        const parsed = JSON.parse(list.body) as { items: { courseId: string; course: unknown }[]; degraded: boolean };
        const item = parsed.items.find((i) => i.courseId === state.courseId);
        if (!item || item.course === null || parsed.degraded) throw new Error(`assignment not listed with its course (degraded: ${parsed.degraded})`);
        return `teacher ${state.teacherId} teaches course ${state.courseId}`;
      },
    },
    {
      name: 'status page: GET / and /api/status',
      run: async () => {
        const base = routeOf('status');
        const page = await request(`${base}/`, opts);
        expectStatus(page, 200, 'GET /');
        const api = await request(`${base}/api/status`, opts);
        expectStatus(api, 200, 'GET /api/status');
        return `overall ${(JSON.parse(api.body) as { status: string }).status}`;
      },
    },
    {
      name: 'Prometheus: every active target is up',
      run: async () => {
        // Targets start as "unknown" until their first scrape: poll until all are up or the time is over.
        const deadline = Date.now() + targetsTimeoutMs;
        for (;;) {
          let problem: string;
          try {
            const { total, notUp } = targetsNotUp(await kubectlJson(['get', '--raw', targetsPath], context));
            if (total > 0 && notUp.length === 0) return `${total} targets up`;
            problem = total === 0 ? 'no active targets' : `${notUp.length}/${total} not up:\n    ${notUp.map(describeTarget).join('\n    ')}`;
          } catch (err) {
            problem = (err as Error).message;
          }
          if (Date.now() >= deadline) throw new Error(problem);
          await new Promise((r) => setTimeout(r, 15_000));
        }
      },
    },
    {
      name: 'Elasticsearch: health green',
      run: async () => {
        const { total, bad } = notGreen(await kubectlJson(['get', 'elasticsearches.elasticsearch.k8s.elastic.co', '-A', '-o', 'json'], context));
        if (total === 0) throw new Error('no Elasticsearch resource found');
        if (bad.length > 0) throw new Error(bad.join(', '));
        return `${total} cluster(s) green`;
      },
    },
    ...uis.map(
        (role): Check => ({
          name: `${role}: reachable, asks for login without credentials`,
          run: async () => {
            const answer = await request(`https://${declared.hosts[role]}/`, opts);
            const location = typeof answer.headers.location === 'string' ? answer.headers.location : undefined;
            if (!behindAuth(answer.status, location)) throw new Error(`expected a login redirect or 401, got ${answer.status}${location ? ` -> ${location}` : ''}`);
            return `${answer.status}${location ? ` -> ${location}` : ''}`;
          },
        }),
      ),
  ];

  let failed = 0;
  for (const check of checks) {
    const started = Date.now();
    try {
      const detail = await check.run();
      process.stdout.write(`✔ ${check.name}: ${detail} (${Date.now() - started} ms)\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`✖ ${check.name}: ${(err as Error).message}\n`);
    }
  }

  // Leave nothing behind (best effort; deleting the teacher removes its assignment).
  try {
    if (state.teacherId) await request(`${routeOf('teacher')}/${state.teacherId}`, opts, 'DELETE');
    if (state.courseId) await request(`${routeOf('course')}/${state.courseId}`, opts, 'DELETE');
  } catch {
    // ignore
  }

  process.stdout.write(`\n${checks.length - failed}/${checks.length} checks passed\n`);
  if (failed > 0) process.exit(1);
}

main().catch(fail);
