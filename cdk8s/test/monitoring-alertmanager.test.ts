import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  STATUS_WEBHOOK_MAX_ALERTS,
  ALERTMANAGER_CONFIG_MATCHER_STRATEGY,
  ALERTMANAGER_CONFIG_SELECTOR_LABEL,
  ALERTMANAGER_RECEIVERS_SECRET,
  ALERTMANAGER_SECRETS_DIR,
  ALERTMANAGER_WEBHOOK_SECRET,
  DISCORD_ALERTMANAGER_CONFIG,
  GROUP_BY,
  RECEIVER_FILES_DIR,
  receiverNames,
  receiverPlaceholders,
  receiverSecretKeys,
  type AlertmanagerConfig,
  type Receiver,
} from '../src/monitoring/alertmanager.js';
import { ALERTMANAGER_FILE } from '../src/monitoring/files.js';
import { NAMESPACE_NAME_LABEL } from '../src/labels.js';
import { ns } from '../src/namespaces.js';
import { mergeAlertmanagerConfigs, operatorFieldProblems, type AmcObject } from './support/prometheus-operator.js';
import { ofKind, synthesized } from './support/platform.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../../scripts/box/build.js';
import { boxTools } from '../../scripts/box/tools.js';

/**
 * The Alertmanager configuration: alertmanager.yaml (one object in the Helm values and
 * dist/alertmanager/alertmanager.yaml) plus the Discord AlertmanagerConfig of dist/manifests. Checked:
 * - every field of alertmanager.yaml is one the Prometheus Operator v0.93.0 parses (it rejects the whole
 *   file otherwise and creates no Alertmanager: issue 11, prometheus-operator#7159);
 * - credentials only as files of mounted Secrets, or (Discord) a Secret key the operator reads;
 * - the configuration the operator generates from both (modelled in support/prometheus-operator.ts; the
 *   box test runs the real operator) with amtool (check-config, routes test) and on a real Alertmanager:
 *   inhibition, and delivery to stand-ins for the status page (bearer token read from its file), Slack
 *   (URL read from its file) and Discord. Email keeps its name and routes only. Both programs are the
 *   box's build of the newest Alertmanager that builds from its module (scripts/box/tools.ts; the chart
 *   runs a newer one, whose module lacks its web UI files).
 */
let AMTOOL = '';
let ALERTMANAGER = '';
beforeAll(async () => {
  ({ amtool: AMTOOL, alertmanager: ALERTMANAGER } = (await ensureTool('alertmanager')) as { amtool: string; alertmanager: string });
}, TOOL_BUILD_TIMEOUT_MS);
const run = promisify(execFile);
const { out, platform, objects } = synthesized();

const kpsRelease = platform.releases.find((r) => r.chart === 'kube-prometheus-stack')!;
type Selector = { matchLabels: Record<string, string> };
const kps = kpsRelease.values as {
  alertmanager: {
    config: AlertmanagerConfig;
    alertmanagerSpec: {
      secrets: string[];
      alertmanagerConfigSelector: Selector;
      alertmanagerConfigNamespaceSelector: Selector;
      alertmanagerConfigMatcherStrategy: { type: 'OnNamespace' | 'OnNamespaceExceptForAlertmanagerNamespace' | 'None' };
    };
  };
};
const spec = kps.alertmanager.alertmanagerSpec;
const config = kps.alertmanager.config;
const fileConfig = parse(out.files.get(ALERTMANAGER_FILE)!) as AlertmanagerConfig;

/** The AlertmanagerConfig resources the Alertmanager selects (the API server labels every namespace with its name). */
const matches = (selector: Selector, labels: Record<string, string> = {}) => Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);
const allAmcs = ofKind(objects, 'AlertmanagerConfig') as unknown as (AmcObject & { metadata: { name: string; namespace: string } })[];
const selectedAmcs = allAmcs.filter(
  (a) => matches(spec.alertmanagerConfigSelector, a.metadata.labels) && matches(spec.alertmanagerConfigNamespaceSelector, { [NAMESPACE_NAME_LABEL]: a.metadata.namespace }),
);

type DiscordConfig = { webhook_url: string; send_resolved: boolean; title: string; message: string };
type Generated = Omit<AlertmanagerConfig, 'receivers'> & { receivers: (Receiver & { discord_configs?: DiscordConfig[] })[] };
/** What the operator generates, with the placeholder receiver credentials synth writes. */
const generated = (strategy = spec.alertmanagerConfigMatcherStrategy.type) =>
  mergeAlertmanagerConfigs(fileConfig as unknown as Record<string, unknown>, selectedAmcs, {
    alertmanagerNamespace: kpsRelease.namespace,
    strategy,
    secret: (namespace, name, key) => {
      const declared = platform.secrets.find((s) => s.namespace === namespace && s.name === name)?.keys.some((k) => k.key === key);
      if (!declared || !(key in receiverPlaceholders)) throw new Error(`Secret ${namespace}/${name} key ${key} is not a declared receiver credential`);
      return receiverPlaceholders[key]!;
    },
  }) as unknown as Generated;
const effective = generated();
const discordReceiver = `${ns.monitoring.name}/${DISCORD_ALERTMANAGER_CONFIG}/${receiverNames.discord}`;

const dir = mkdtempSync(join(tmpdir(), 'courseops-amtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const effectiveFile = join(dir, 'alertmanager-generated.yaml');
writeFileSync(effectiveFile, stringify(effective));

describe('one configuration, credentials from Secrets', () => {
  it('dist/alertmanager/alertmanager.yaml is the Helm values alertmanager.config', () => {
    expect(fileConfig).toEqual(JSON.parse(JSON.stringify(config)));
  });

  it('keeps the receiver named null, as the root receiver', () => {
    expect(config.receivers.map((r) => r.name)).toContain('null');
    expect(config.route.receiver).toBe('null');
    for (const r of config.route.routes ?? []) expect(config.receivers.map((x) => x.name), r.receiver).toContain(r.receiver);
  });

  it("uses only fields of the Prometheus Operator's own types (v0.93.0 parses the file strictly)", () => {
    expect(operatorFieldProblems(fileConfig)).toEqual([]);
    // What stopped the operator before (issue 11): Discord's webhook_url_file is not in its discordConfig.
    const withFile = { ...fileConfig, receivers: [...fileConfig.receivers, { name: 'discord', discord_configs: [{ webhook_url_file: '/x', send_resolved: true }] }] };
    expect(operatorFieldProblems(withFile)).toEqual([`.receivers[${fileConfig.receivers.length}].discord_configs[0].webhook_url_file (operator type discordConfig has no such field)`]);
    expect(operatorFieldProblems({ ...fileConfig, route: { ...fileConfig.route, matchres: {} } })).toEqual(['.route.matchres (operator type route has no such field)']);
  });

  it('never holds a URL of a receiver, a token or a password: only *_file paths of mounted, declared Secrets', () => {
    const text = JSON.stringify(config);
    expect(text).not.toMatch(/"(api_url|webhook_url|auth_password|auth_secret|credentials|password|bearer_token)":/);
    const files = [...text.matchAll(/"(\w+_file)":"([^"]+)"/g)].map((m) => ({ field: m[1]!, path: m[2]! }));
    expect(files.map((f) => f.field).sort()).toEqual(['api_url_file', 'auth_password_file', 'credentials_file']);
    for (const { field, path } of files) {
      const m = new RegExp(`^${ALERTMANAGER_SECRETS_DIR}/([^/]+)/([^/]+)$`).exec(path);
      expect(m, `${field} ${path}`).not.toBeNull();
      const [, secret, key] = m!;
      expect(spec.secrets, `${field}: Secret ${secret} is mounted`).toContain(secret);
      const s = platform.secrets.find((x) => x.namespace === ns.monitoring.name && x.name === secret);
      expect(s?.keys.map((k) => k.key), `${field}: ${secret} declares ${key}`).toContain(key);
    }
  });

  it('the receiver credentials come from files outside git, the status token from the status service', () => {
    const receivers = platform.secrets.find((s) => s.name === ALERTMANAGER_RECEIVERS_SECRET)!;
    for (const k of receivers.keys) {
      expect(k, k.key).toEqual({ key: k.key, fromFile: `${RECEIVER_FILES_DIR}/${k.key}` });
      // synth writes a placeholder for each (resolved after <repo>/<path>, see alertmanager.ts)
      expect(out.files.get(`${RECEIVER_FILES_DIR}/${k.key}`), k.key).toMatch(/not-configured/);
    }
    expect(receivers.keys.map((k) => k.key)).toContain(receiverSecretKeys.discordWebhookUrl);
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
    for (const r of effective.receivers) {
      for (const [key, configs] of Object.entries(r).filter(([k]) => k.endsWith('_configs'))) {
        for (const c of configs as { send_resolved?: boolean }[]) expect(c.send_resolved, `${r.name} ${key}`).toBe(true);
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

describe('Discord: an AlertmanagerConfig with the URL from a Secret', () => {
  it('the Alertmanager selects exactly that resource, in its own namespace, without the namespace matcher', () => {
    expect(allAmcs.map((a) => `${a.metadata.namespace}/${a.metadata.name}`)).toEqual([`${ns.monitoring.name}/${DISCORD_ALERTMANAGER_CONFIG}`]);
    expect(selectedAmcs).toEqual(allAmcs);
    expect(spec.alertmanagerConfigSelector).toEqual({ matchLabels: { [ALERTMANAGER_CONFIG_SELECTOR_LABEL.key]: ALERTMANAGER_CONFIG_SELECTOR_LABEL.value } });
    expect(spec.alertmanagerConfigNamespaceSelector).toEqual({ matchLabels: { [NAMESPACE_NAME_LABEL]: kpsRelease.namespace } });
    expect(spec.alertmanagerConfigMatcherStrategy).toEqual({ type: ALERTMANAGER_CONFIG_MATCHER_STRATEGY });
    expect(allAmcs[0]!.metadata.namespace).toBe(kpsRelease.namespace);
  });

  it('its URL is a key of a declared receiver Secret in its namespace, never a value', () => {
    const amc = allAmcs[0]!;
    const discord = amc.spec.receivers!.flatMap((r) => r.discordConfigs ?? []);
    expect(discord).toHaveLength(1);
    expect(discord[0]!.apiURL).toEqual({ name: ALERTMANAGER_RECEIVERS_SECRET, key: receiverSecretKeys.discordWebhookUrl });
    const s = platform.secrets.find((x) => x.namespace === amc.metadata.namespace && x.name === ALERTMANAGER_RECEIVERS_SECRET);
    expect(s?.keys.map((k) => k.key)).toContain(receiverSecretKeys.discordWebhookUrl);
    expect(JSON.stringify(amc)).not.toMatch(/https?:/);
  });

  it('the generated configuration routes critical alerts to Discord first, grouped like the rest, and still reaches the other receivers', () => {
    const [first, ...rest] = effective.route.routes!;
    expect(first).toEqual({
      receiver: discordReceiver,
      group_by: [...GROUP_BY],
      matchers: ['severity="critical"', 'alertname!~"Watchdog|InfoInhibitor"'],
      continue: true,
      repeat_interval: '4h',
    });
    expect(rest).toEqual(config.route.routes);
    expect(effective.route.group_by).toEqual(first!.group_by);
    expect(effective.inhibit_rules).toEqual(config.inhibit_rules);
    expect(effective.receivers.find((r) => r.name === discordReceiver)!.discord_configs).toEqual([
      expect.objectContaining({ webhook_url: receiverPlaceholders[receiverSecretKeys.discordWebhookUrl], send_resolved: true }),
    ]);
    expect(operatorFieldProblems(effective)).toEqual([]);
  });

  it("with the operator's default matcher strategy Discord would get only the monitoring namespace's alerts", () => {
    expect(generated('OnNamespace').route.routes![0]!.matchers).toContain(`namespace="${ns.monitoring.name}"`);
  });
});

const tool = async (bin: string, args: string[]) => {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: dir });
    return { ok: true, stdout, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: string | number; stdout?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error(`${bin} not found`);
    return { ok: false, stdout: e.stdout ?? '', output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
};

describe('amtool', () => {
  it(`is the box's build of Alertmanager ${boxTools.alertmanager.version}`, async () => {
    const r = await tool(AMTOOL, ['--version']);
    expect(r.output).toContain(`amtool, version ${boxTools.alertmanager.version.replace(/^v/, '')} `);
  });

  it('check-config accepts the configuration the operator generates', async () => {
    const r = await tool(AMTOOL, ['check-config', effectiveFile]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.output).toMatch(/5 receivers/);
    expect(r.output).toMatch(/2 inhibit rules/);
  });

  it('check-config accepts dist/alertmanager/alertmanager.yaml as it is', async () => {
    const file = join(dir, 'alertmanager.yaml');
    writeFileSync(file, out.files.get(ALERTMANAGER_FILE)!);
    const r = await tool(AMTOOL, ['check-config', file]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/4 receivers/);
  });

  const critical = [discordReceiver, receiverNames.statusPage, receiverNames.slack, receiverNames.email].join(',');
  const routes: [string, string, string[]][] = [
    ['critical', critical, ['alertname=ServiceDown', 'severity=critical', 'service=course', 'namespace=courseops']],
    ["a chart's critical (no service)", critical, ['alertname=KubeQuotaExceeded', 'severity=critical', 'namespace=monitoring']],
    ['warning', 'status-page,slack', ['alertname=HighErrorRatio', 'severity=warning', 'service=teacher', 'namespace=courseops']],
    ['info', 'null', ['alertname=HighRequestRate', 'severity=info', 'service=course']],
    ['unknown severity', 'null', ['alertname=Something', 'severity=page']],
    ['no severity', 'null', ['alertname=Something']],
    ["kube-prometheus-stack's Watchdog", 'null', ['alertname=Watchdog', 'severity=none']],
    ['a critical InfoInhibitor', 'null', ['alertname=InfoInhibitor', 'severity=critical']],
  ];
  it.concurrent.each(routes)('config routes test: %s -> %s', async (_what, receivers, labels) => {
    const r = await tool(AMTOOL, ['config', 'routes', 'test', `--config.file=${effectiveFile}`, `--verify.receivers=${receivers}`, ...labels]);
    expect(r.stdout.trim()).toBe(receivers);
    expect(r.ok, r.output).toBe(true);
  });

  it('config routes test --verify.receivers fails on a wrong expectation', async () => {
    const r = await tool(AMTOOL, ['config', 'routes', 'test', `--config.file=${effectiveFile}`, '--verify.receivers=email', 'severity=warning']);
    expect(r.ok).toBe(false);
  });

  it('config routes shows the tree', async () => {
    const r = await tool(AMTOOL, ['config', 'routes', 'show', `--config.file=${effectiveFile}`]);
    expect(r.ok, r.output).toBe(true);
    for (const name of effective.receivers.map((x) => x.name)) expect(r.stdout).toContain(`receiver: ${name}`);
  });
});

// --- a real Alertmanager ----------------------------------------------------------------------------

/** A notification a stand-in received: the status page's webhook body, Slack's attachments, Discord's embeds. */
interface Delivered {
  path: string;
  auth: string | undefined;
  body: {
    status?: string;
    alerts?: { status: string; labels: Record<string, string> }[];
    attachments?: { title: string }[];
    embeds?: { title: string }[];
  };
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

describe('a real Alertmanager with the configuration the operator generates', () => {
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
  const at = (path: string) => delivered.filter((d) => d.path === path);
  /** Firing alerts the status page got, as alertname/service/severity. */
  const statusFired = () =>
    at('/status').flatMap((d) => (d.body.alerts ?? []).filter((a) => a.status === 'firing').map((a) => `${a.labels.alertname}/${a.labels.service ?? '-'}/${a.labels.severity}`));
  /** Titles Slack or Discord got ("[FIRING:1] ServiceDown (course)"). */
  const titles = (path: string) => at(path).map((d) => (d.body.attachments ?? d.body.embeds ?? [])[0]?.title ?? '?');

  it('inhibits warnings of a service with a critical alert; criticals reach the status page, Slack and Discord, warnings the status page and Slack', async () => {
    const hookPort = await freePort();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        delivered.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(body) as Delivered['body'] });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => hook!.listen(hookPort, '127.0.0.1', () => r()));

    // The generated configuration with every integration but email pointed at the stand-in: the status
    // page's token and Slack's URL in files of the temporary folder (as the mounted Secrets are), Discord's
    // URL in place of the Secret's value (as the operator writes it); email keeps its name and routes only.
    // Timings shortened.
    const stand = (path: string) => `http://127.0.0.1:${hookPort}${path}`;
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, token);
    const slackUrlFile = join(dir, 'slack-webhook-url');
    writeFileSync(slackUrlFile, stand('/slack'));
    const local = {
      ...effective,
      route: { ...effective.route, group_wait: '1s', group_interval: '1s' },
      receivers: effective.receivers.map((r) => {
        if (r.name === receiverNames.statusPage) {
          return {
            name: r.name,
            webhook_configs: r.webhook_configs!.map((w) => ({
              ...w,
              url: stand('/status'),
              http_config: { authorization: { type: 'Bearer' as const, credentials_file: tokenFile } },
            })),
          };
        }
        if (r.name === receiverNames.slack) return { name: r.name, slack_configs: r.slack_configs!.map((c) => ({ ...c, api_url_file: slackUrlFile })) };
        if (r.name === discordReceiver) return { name: r.name, discord_configs: r.discord_configs!.map((c) => ({ ...c, webhook_url: stand('/discord') })) };
        return { name: r.name };
      }),
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
      am!.once('error', (e) => reject(new Error(`${ALERTMANAGER}: ${e.message}`)));
    });
    await waitFor('Alertmanager to start', async () => ((await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined));
    expect(((await api('/status')) as { versionInfo: { version: string } }).versionInfo.version).toBe(boxTools.alertmanager.version.replace(/^v/, ''));

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
    await waitFor('the notifications', () => (statusFired().length >= 3 && at('/slack').length >= 3 && at('/discord').length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500)); // one more group_interval: anything else would have arrived
    expect(statusFired().sort(), logs).toEqual(['HighErrorRatio/teacher/warning', 'KubeQuotaExceeded/-/critical', 'ServiceDown/course/critical']);
    for (const d of at('/status')) expect(d.auth).toBe(`Bearer ${token}`);
    // grouped by alertname, namespace and service: one alert per notification here
    for (const d of at('/status')) expect(d.body.alerts).toHaveLength(1);
    expect(titles('/slack').sort(), logs).toEqual(['[FIRING:1] HighErrorRatio (teacher)', '[FIRING:1] KubeQuotaExceeded', '[FIRING:1] ServiceDown (course)']);
    // Discord: the criticals of every namespace (no namespace matcher), not the warning.
    expect(titles('/discord').sort(), logs).toEqual(['[FIRING:1] KubeQuotaExceeded', '[FIRING:1] ServiceDown (course)']);
    expect(delivered.map((d) => d.path).filter((p) => !['/status', '/slack', '/discord'].includes(p))).toEqual([]);
  });

  it('sends the resolution to the status page and Discord (send_resolved)', async () => {
    await api('/alerts', { method: 'POST', body: JSON.stringify([alert(firing.down, new Date(Date.now() - 1000))]) });
    const resolved = await waitFor('the resolved notification', () =>
      at('/status').find((d) => d.body.status === 'resolved' && d.body.alerts!.some((a) => a.labels.alertname === 'ServiceDown')),
    );
    expect(resolved.auth).toBe(`Bearer ${token}`);
    await waitFor("Discord's resolved notification", () => (titles('/discord').includes('[RESOLVED] ServiceDown (course)') ? true : undefined));
  });
});
