import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  STATUS_WEBHOOK_MAX_ALERTS,
  ALERTMANAGER_RECEIVERS_SECRET,
  ALERTMANAGER_SECRETS_DIR,
  ALERTMANAGER_WEBHOOK_SECRET,
  RECEIVER_FILES_DIR,
  receiverNames,
  type AlertmanagerConfig,
  type Receiver,
} from '../src/monitoring/alertmanager.js';
import { ALERTMANAGER_FILE } from '../src/monitoring/files.js';
import { ns } from '../src/namespaces.js';
import { ofKind, synthesized } from './support/platform.js';

/**
 * The Alertmanager configuration: one object in the Helm values and dist/alertmanager/alertmanager.yaml,
 * credentials only as files of mounted Secrets, checked with Debian's amtool (check-config, routes test)
 * and exercised on a real Alertmanager (Debian's 0.25): inhibition, and delivery to a stand-in for the
 * status page's webhook with the bearer token read from its file.
 *
 * Debian's amtool/Alertmanager 0.25 predate Discord's `webhook_url_file` (0.27; the chart runs 0.28+), so
 * the copy they load leaves out only the Discord receiver's `discord_configs`: the receiver keeps its
 * name, so the routing tree is the one deployed.
 */
const AMTOOL = process.env.AMTOOL ?? 'amtool';
const ALERTMANAGER = process.env.ALERTMANAGER ?? 'prometheus-alertmanager';
const run = promisify(execFile);
const { out, platform, objects } = synthesized();

const kps = platform.releases.find((r) => r.chart === 'kube-prometheus-stack')!.values as {
  alertmanager: { config: AlertmanagerConfig; alertmanagerSpec: { secrets: string[] } };
};
const config = kps.alertmanager.config;
const fileConfig = parse(out.files.get(ALERTMANAGER_FILE)!) as AlertmanagerConfig;

/** The config Alertmanager 0.25 accepts: the deployed one without Discord's configs (see above). */
const for025 = (c: AlertmanagerConfig): AlertmanagerConfig => ({
  ...c,
  receivers: c.receivers.map((r): Receiver => {
    const { discord_configs: _dropped, ...rest } = r;
    return rest;
  }),
});

const dir = mkdtempSync(join(tmpdir(), 'courseops-amtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const variantFile = join(dir, 'alertmanager-0.25.yaml');
writeFileSync(variantFile, stringify(for025(fileConfig)));

const tool = async (bin: string, args: string[]) => {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: dir });
    return { ok: true, stdout, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: string | number; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error(`${bin} not found: install Debian's prometheus-alertmanager (scripts/test.sh does)`);
    return { ok: false, stdout: e.stdout ?? '', output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
};

describe('one configuration, credentials from mounted Secrets', () => {
  it('dist/alertmanager/alertmanager.yaml is the Helm values alertmanager.config', () => {
    expect(fileConfig).toEqual(JSON.parse(JSON.stringify(config)));
  });

  it('keeps the receiver named null, as the root receiver', () => {
    expect(config.receivers.map((r) => r.name)).toContain('null');
    expect(config.route.receiver).toBe('null');
    for (const r of config.route.routes ?? []) expect(config.receivers.map((x) => x.name), r.receiver).toContain(r.receiver);
  });

  it('never holds a URL of a receiver, a token or a password: only *_file paths of mounted, declared Secrets', () => {
    const text = JSON.stringify(config);
    expect(text).not.toMatch(/"(api_url|webhook_url|auth_password|auth_secret|credentials|password|bearer_token)":/);
    const files = [...text.matchAll(/"(\w+_file)":"([^"]+)"/g)].map((m) => ({ field: m[1]!, path: m[2]! }));
    expect(files.map((f) => f.field).sort()).toEqual(['api_url_file', 'auth_password_file', 'credentials_file', 'webhook_url_file']);
    for (const { field, path } of files) {
      const m = new RegExp(`^${ALERTMANAGER_SECRETS_DIR}/([^/]+)/([^/]+)$`).exec(path);
      expect(m, `${field} ${path}`).not.toBeNull();
      const [, secret, key] = m!;
      expect(kps.alertmanager.alertmanagerSpec.secrets, `${field}: Secret ${secret} is mounted`).toContain(secret);
      const spec = platform.secrets.find((s) => s.namespace === ns.monitoring.name && s.name === secret);
      expect(spec?.keys.map((k) => k.key), `${field}: ${secret} declares ${key}`).toContain(key);
    }
  });

  it('the receiver credentials come from files outside git, the status token from the status service', () => {
    const receivers = platform.secrets.find((s) => s.name === ALERTMANAGER_RECEIVERS_SECRET)!;
    for (const k of receivers.keys) {
      expect(k, k.key).toEqual({ key: k.key, fromFile: `${RECEIVER_FILES_DIR}/${k.key}` });
      // synth writes a placeholder for each (resolved after <repo>/<path>, see alertmanager.ts)
      expect(out.files.get(`${RECEIVER_FILES_DIR}/${k.key}`), k.key).toMatch(/not-configured/);
    }
    const webhook = platform.secrets.find((s) => s.name === ALERTMANAGER_WEBHOOK_SECRET)!;
    expect(webhook.keys).toEqual([{ key: 'token', copyFrom: { namespace: ns.apps.name, name: 'status-alert-webhook', key: 'token' } }]);
  });

  it('sends the status page at most as many alerts as fit its 16 KiB body limit', () => {
    const hook = config.receivers.find((r) => r.name === receiverNames.statusPage)!.webhook_configs![0]!;
    expect(hook.max_alerts).toBe(STATUS_WEBHOOK_MAX_ALERTS);
    // The largest alert the rules can produce: its own labels and annotations (templates unexpanded, so
    // doubled for what expansion may add), the target labels, and Alertmanager's per-alert fields.
    type Rule = { alert?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    const rules = ofKind(objects, 'PrometheusRule').flatMap(
      (r) => (r.spec as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
    );
    const alerts = rules.filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(10);
    const largest = Math.max(
      ...alerts.map((r) => {
        const annotations = Object.fromEntries(Object.entries(r.annotations ?? {}).map(([k, v]) => [k, v + v]));
        const labels = { ...r.labels, alertname: r.alert, namespace: 'courseops', service: 'teacher', job: 'teacher', pod: 'teacher-7d9f8b6c5d-x2k4q', instance: '10.244.0.123:3002', endpoint: 'http', container: 'teacher' };
        return JSON.stringify({
          status: 'firing', labels, annotations, startsAt: new Date().toISOString(), endsAt: new Date().toISOString(),
          generatorURL: `https://prometheus.courseops.test/graph?g0.expr=${encodeURIComponent('x'.repeat(300))}`, fingerprint: '0123456789abcdef',
        }).length;
      }),
    );
    const envelope = 1500; // version, groupKey, status, receiver, group/common labels and annotations, externalURL
    expect(envelope + STATUS_WEBHOOK_MAX_ALERTS * largest).toBeLessThanOrEqual(16 * 1024);
  });

  it('posts to the status Service of the manifests, resolved alerts included, with a bearer token', () => {
    const hook = config.receivers.find((r) => r.name === receiverNames.statusPage)!.webhook_configs![0]!;
    const svc = ofKind(objects, 'Service').find((s) => s.metadata.name === 'status' && s.metadata.namespace === ns.apps.name)!;
    const port = (svc.spec as { ports: { port: number }[] }).ports[0]!.port;
    expect(hook.url).toBe(`http://status.${ns.apps.name}.svc.cluster.local:${port}/api/alerts`);
    expect(hook.send_resolved).toBe(true);
    expect(hook.http_config.authorization).toEqual({ type: 'Bearer', credentials_file: `${ALERTMANAGER_SECRETS_DIR}/${ALERTMANAGER_WEBHOOK_SECRET}/token` });
    for (const r of config.receivers) {
      for (const c of [...(r.slack_configs ?? []), ...(r.discord_configs ?? []), ...(r.email_configs ?? []), ...(r.webhook_configs ?? [])]) {
        expect(c.send_resolved, r.name).toBe(true);
      }
    }
  });

  it('groups by alert, namespace and service; critical mutes warnings of the same service', () => {
    expect(config.route.group_by).toEqual(['alertname', 'namespace', 'service']);
    expect(config.inhibit_rules[0]).toEqual({
      source_matchers: ['severity="critical"', 'service=~".+"'],
      target_matchers: ['severity="warning"', 'service=~".+"'],
      equal: ['namespace', 'service'],
    });
  });
});

describe('amtool', () => {
  it('check-config accepts the configuration (0.25 copy)', async () => {
    const r = await tool(AMTOOL, ['check-config', variantFile]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.output).toMatch(/5 receivers/);
    expect(r.output).toMatch(/2 inhibit rules/);
  });

  it('the deployed file differs from that copy only by what 0.25 cannot parse', async () => {
    const full = join(dir, 'alertmanager.yaml');
    writeFileSync(full, out.files.get(ALERTMANAGER_FILE)!);
    const r = await tool(AMTOOL, ['check-config', full]);
    // A newer amtool accepts the file as is; 0.25 rejects exactly Discord's webhook_url_file.
    if (!r.ok) expect(r.output).toMatch(/field webhook_url_file not found/);
  });

  const routes: [string, string, string[]][] = [
    ['critical', 'status-page,slack,discord,email', ['alertname=ServiceDown', 'severity=critical', 'service=course', 'namespace=courseops']],
    ['warning', 'status-page,slack', ['alertname=HighErrorRatio', 'severity=warning', 'service=teacher', 'namespace=courseops']],
    ['info', 'null', ['alertname=HighRequestRate', 'severity=info', 'service=course']],
    ['unknown severity', 'null', ['alertname=Something', 'severity=page']],
    ['no severity', 'null', ['alertname=Something']],
    ["kube-prometheus-stack's Watchdog", 'null', ['alertname=Watchdog', 'severity=none']],
    ['a critical InfoInhibitor', 'null', ['alertname=InfoInhibitor', 'severity=critical']],
  ];
  it.concurrent.each(routes)('config routes test: %s -> %s', async (_what, receivers, labels) => {
    const r = await tool(AMTOOL, ['config', 'routes', 'test', `--config.file=${variantFile}`, `--verify.receivers=${receivers}`, ...labels]);
    expect(r.stdout.trim()).toBe(receivers);
    expect(r.ok, r.output).toBe(true);
  });

  it('config routes test --verify.receivers fails on a wrong expectation', async () => {
    const r = await tool(AMTOOL, ['config', 'routes', 'test', `--config.file=${variantFile}`, '--verify.receivers=email', 'severity=warning']);
    expect(r.ok).toBe(false);
  });

  it('config routes shows the tree', async () => {
    const r = await tool(AMTOOL, ['config', 'routes', 'show', `--config.file=${variantFile}`]);
    expect(r.ok, r.output).toBe(true);
    for (const name of Object.values(receiverNames)) expect(r.stdout).toContain(`receiver: ${name}`);
  });
});

// --- a real Alertmanager ----------------------------------------------------------------------------

interface Delivered {
  auth: string | undefined;
  body: { status: string; alerts: { status: string; labels: Record<string, string> }[] };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });

const waitFor = async <T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('a real Alertmanager with this configuration', () => {
  const token = 'test-token-not-a-secret';
  const delivered: Delivered[] = [];
  let hook: Server | undefined;
  let am: ChildProcess | undefined;
  let amUrl = '';
  let logs = '';

  afterAll(async () => {
    // Wait for it to exit: it writes its data folder until then, and the folder is removed next.
    if (am && am.exitCode === null) {
      const exited = new Promise((r) => am!.once('exit', r));
      am.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
  });

  const api = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${amUrl}/api/v2${path}`, { ...init, headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as unknown;
  };
  const alert = (labels: Record<string, string>, endsAt?: Date) => ({
    labels,
    annotations: { summary: `${labels.alertname} test` },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    ...(endsAt ? { endsAt: endsAt.toISOString() } : {}),
  });
  const firing = {
    down: { alertname: 'ServiceDown', severity: 'critical', namespace: 'courseops', service: 'course', job: 'course' },
    courseErrors: { alertname: 'HighErrorRatio', severity: 'warning', namespace: 'courseops', service: 'course', job: 'course' },
    teacherErrors: { alertname: 'HighErrorRatio', severity: 'warning', namespace: 'courseops', service: 'teacher', job: 'teacher' },
    chartCritical: { alertname: 'KubeQuotaExceeded', severity: 'critical', namespace: 'monitoring' },
    chartWarning: { alertname: 'KubeQuotaExceeded', severity: 'warning', namespace: 'monitoring' },
    busy: { alertname: 'HighRequestRate', severity: 'info', namespace: 'courseops', service: 'course', pod: 'course-1' },
  };

  it('inhibits warnings of a service with a critical alert, and sends the rest to the status page with the token', async () => {
    const hookPort = await freePort();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        delivered.push({ auth: req.headers.authorization, body: JSON.parse(body) as Delivered['body'] });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook!.listen(hookPort, '127.0.0.1', () => r()));

    // The deployed configuration, with the status page at the stand-in, its token file in the temporary
    // folder, and timings shortened; the chat and email receivers keep their names and routes without integrations.
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, token);
    const c = for025(fileConfig);
    const local: AlertmanagerConfig = {
      ...c,
      route: { ...c.route, group_wait: '1s', group_interval: '1s' },
      receivers: c.receivers.map((r) =>
        r.name === receiverNames.statusPage
          ? {
              name: r.name,
              webhook_configs: r.webhook_configs!.map((w) => ({
                ...w,
                url: `http://127.0.0.1:${hookPort}/api/alerts`,
                http_config: { authorization: { type: 'Bearer' as const, credentials_file: tokenFile } },
              })),
            }
          : { name: r.name },
      ),
    };
    expect(local.inhibit_rules).toEqual(config.inhibit_rules);
    const localFile = join(dir, 'alertmanager-local.yaml');
    writeFileSync(localFile, stringify(local));

    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    am = spawn(
      ALERTMANAGER,
      [`--config.file=${localFile}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    am.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    am.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    await new Promise<void>((resolve, reject) => {
      am!.once('spawn', () => resolve());
      am!.once('error', (e) => reject(new Error(`${ALERTMANAGER}: ${e.message} (install Debian's prometheus-alertmanager)`)));
    });
    await waitFor('Alertmanager to start', async () => ((await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined));

    // Criticals first, and only once Alertmanager lists them: its inhibitor learns of alerts
    // asynchronously, and a warning group flushed before it saw the critical would be sent.
    const [criticals, others] = [Object.values(firing).filter((l) => l.severity === 'critical'), Object.values(firing).filter((l) => l.severity !== 'critical')];
    await api('/alerts', { method: 'POST', body: JSON.stringify(criticals.map((l) => alert(l))) });
    await waitFor('criticals to be listed', async () => (((await api('/alerts')) as unknown[]).length >= criticals.length ? true : undefined));
    await api('/alerts', { method: 'POST', body: JSON.stringify(others.map((l) => alert(l))) });

    type ApiAlert = { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } };
    const state = async () => {
      const alerts = (await api('/alerts')) as ApiAlert[];
      const of = (l: Record<string, string>) => alerts.find((a) => a.labels.alertname === l.alertname && a.labels.service === l.service && a.labels.severity === l.severity);
      return Object.fromEntries(Object.entries(firing).map(([k, l]) => [k, of(l)?.status]));
    };
    const s = await waitFor('inhibition to apply', async () => {
      const st = await state();
      return st.courseErrors?.state === 'suppressed' && st.chartWarning?.state === 'suppressed' ? st : undefined;
    });
    expect(s.courseErrors?.inhibitedBy.length, logs).toBe(1);
    expect(s.chartWarning?.inhibitedBy.length).toBe(1);
    for (const k of ['down', 'teacherErrors', 'chartCritical', 'busy'] as const) expect(s[k]?.state, k).toBe('active');

    // Delivered: ServiceDown, teacher's HighErrorRatio, the chart's critical; never the inhibited ones or info.
    const firedNames = () =>
      delivered.flatMap((d) => d.body.alerts.filter((a) => a.status === 'firing').map((a) => `${a.labels.alertname}/${a.labels.service ?? '-'}/${a.labels.severity}`));
    await waitFor('three notifications', () => (firedNames().length >= 3 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500)); // one more group_interval: anything else would have arrived
    expect(firedNames().sort(), logs).toEqual(['HighErrorRatio/teacher/warning', 'KubeQuotaExceeded/-/critical', 'ServiceDown/course/critical']);
    for (const d of delivered) expect(d.auth).toBe(`Bearer ${token}`);
    // grouped by alertname, namespace and service: one alert per notification here
    for (const d of delivered) expect(d.body.alerts).toHaveLength(1);
  });

  it('sends the resolution to the status page (send_resolved)', async () => {
    await api('/alerts', { method: 'POST', body: JSON.stringify([alert(firing.down, new Date(Date.now() - 1000))]) });
    const resolved = await waitFor('the resolved notification', () =>
      delivered.find((d) => d.body.status === 'resolved' && d.body.alerts.some((a) => a.labels.alertname === 'ServiceDown')),
    );
    expect(resolved.auth).toBe(`Bearer ${token}`);
  });
});
