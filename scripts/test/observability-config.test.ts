/**
 * The local Prometheus and Alertmanager configurations (scripts/observability/prometheusConfig.ts): derived
 * from the cdk8s platform, accepted by the promtool and amtool the local stack's Prometheus and Alertmanager
 * come with (the box's module builds, scripts/box/tools.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { STATUS_WEBHOOK_MAX_ALERTS } from '../../cdk8s/src/monitoring/alertmanager.js';
import { ALERTMANAGER_FILE } from '../../cdk8s/src/monitoring/files.js';
import { ns } from '../../cdk8s/src/namespaces.js';
import { services } from '../../cdk8s/src/services.js';
import { localAlertmanagerConfig, prometheusConfig, rulesFiles, scrapeTargets, synthesized } from '../observability/prometheusConfig.js';
import { ensureTool, TOOL_BUILD_TIMEOUT_MS } from '../box/build.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'courseops-observability-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tool = async (bin: string, args: string[]) => {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: dir });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
};

describe('scrape targets from the ServiceMonitors', () => {
  it('one per declared service, on its declared port, with the cluster target labels', () => {
    const targets = scrapeTargets();
    expect(targets.map((t) => t.service)).toEqual(services.map((s) => s.name));
    for (const s of services) {
      expect(targets.find((t) => t.service === s.name)).toEqual({
        service: s.name,
        address: `127.0.0.1:${s.port}`,
        metricsPath: '/metrics',
        labels: {
          job: s.name,
          service: s.name,
          namespace: ns.apps.name,
          container: s.name,
          pod: `${s.name}-local`,
          endpoint: 'http',
          // the ServiceMonitor's podTargetLabels: the Rollout's pod-template hash, which tells canary from stable
          rollouts_pod_template_hash: 'local',
        },
      });
    }
    expect(scrapeTargets({ course: '127.0.0.1:4001' })[0]!.address).toBe('127.0.0.1:4001');
  });
});

describe('rules files', () => {
  const generated = [...synthesized().files.keys()].filter((f) => f.startsWith('prometheus/rules/'));

  it('are the generated ones, unchanged unless asked', () => {
    const files = rulesFiles();
    expect([...files.keys()].sort()).toEqual(generated.map((f) => f.replace('prometheus/rules/', '')).sort());
    for (const [name, content] of files) expect(content).toBe(synthesized().files.get(`prometheus/rules/${name}`));
  });

  it('alertFor changes only the named alert`s for; omitAlerts drops only the named alert', () => {
    const strip = (content: string, alert: string) => {
      const doc = parse(content) as { groups: { rules: Record<string, unknown>[] }[] };
      for (const g of doc.groups) g.rules = g.rules.filter((r) => r.alert !== alert);
      return doc;
    };
    const original = rulesFiles();
    const changed = rulesFiles({ alertFor: { ServiceDown: '2s' } });
    const dropped = rulesFiles({ omitAlerts: ['DatabaseDown'] });
    for (const [name, content] of original) {
      expect(strip(changed.get(name)!, 'ServiceDown'), name).toEqual(strip(content, 'ServiceDown'));
      expect(dropped.get(name)!, name).not.toMatch(/alert: DatabaseDown/);
      expect(strip(dropped.get(name)!, 'DatabaseDown'), name).toEqual(strip(content, 'DatabaseDown'));
    }
    const downs = [...changed.values()].flatMap((c) => (parse(c) as { groups: { rules: { alert?: string; for?: string }[] }[] }).groups.flatMap((g) => g.rules));
    const serviceDown = downs.filter((r) => r.alert === 'ServiceDown');
    expect(serviceDown).toHaveLength(services.length);
    for (const r of serviceDown) expect(r.for).toBe('2s');
  });
});

describe('promtool and amtool accept the local configurations', () => {
  let promtool = '';
  let amtool = '';
  beforeAll(async () => {
    promtool = (await ensureTool('prometheus')).promtool!;
    amtool = (await ensureTool('alertmanager')).amtool!;
  }, TOOL_BUILD_TIMEOUT_MS);

  it('promtool check config (rules files included)', async () => {
    const ruleFiles: string[] = [];
    for (const [name, content] of rulesFiles()) {
      writeFileSync(join(dir, name), content);
      ruleFiles.push(join(dir, name));
    }
    const file = join(dir, 'prometheus.yml');
    writeFileSync(file, stringify(prometheusConfig({ targets: scrapeTargets(), ruleFiles, alertmanager: '127.0.0.1:9999', scrapeInterval: '1s' })));
    const r = await tool(promtool, ['check', 'config', file]);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toMatch(/SUCCESS/);
  });

  it('amtool check-config: the deployed routing and inhibition, the status page local, no other integration', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'token');
    const local = localAlertmanagerConfig({ statusWebhookUrl: 'http://127.0.0.1:3003/api/alerts', tokenFile, route: { group_wait: '1s' } });
    const deployed = parse(synthesized().files.get(ALERTMANAGER_FILE)!) as typeof local;
    expect(local.inhibit_rules).toEqual(deployed.inhibit_rules);
    expect({ ...local.route, group_wait: deployed.route.group_wait }).toEqual(deployed.route);
    expect(local.receivers.map((r) => r.name)).toEqual(deployed.receivers.map((r) => r.name));
    const withIntegrations = local.receivers.filter((r) => Object.keys(r).length > 1);
    expect(withIntegrations).toEqual([
      {
        name: 'status-page',
        webhook_configs: [
          {
            url: 'http://127.0.0.1:3003/api/alerts',
            send_resolved: true,
            max_alerts: STATUS_WEBHOOK_MAX_ALERTS,
            http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile } },
          },
        ],
      },
    ]);
    const file = join(dir, 'alertmanager.yaml');
    writeFileSync(file, stringify(local));
    const r = await tool(amtool, ['check-config', file]);
    expect(r.ok, r.output).toBe(true);
  });
});
