/**
 * A Prometheus configuration for the services running on this machine (`npm run dev`, the observability
 * test), derived from the cdk8s platform (one source of truth):
 * - one scrape job per synthesized ServiceMonitor, with the target labels the ServiceMonitor produces in
 *   the cluster (`job` and `service` from its relabelings, `namespace` its namespace, `endpoint` its port
 *   name, `container` and `pod`), set by relabelling on a static loopback target;
 * - the port of each target from the service declaration (cdk8s/src/services.ts);
 * - the rules files synth writes (dist/prometheus/rules/*.rules.yaml), rendered in-process;
 * - the Alertmanager configuration synth writes (dist/alertmanager/alertmanager.yaml), rendered in-process.
 */
import { parse, stringify } from 'yaml';
import { buildPlatform } from '../../cdk8s/src/app.js';
import { ALERTMANAGER_FILE, RULES_DIR } from '../../cdk8s/src/monitoring/files.js';
import { services as declaredServices, type ServiceDecl } from '../../cdk8s/src/services.js';
import { render, type SynthOutput } from '../../cdk8s/src/synth.js';
import { STATUS_WEBHOOK } from '../../cdk8s/src/monitoring/status-webhook.js';

let rendered: SynthOutput | undefined;
/** The platform rendered in memory once per process (what `npm run synth` writes to dist/). */
export function synthesized(): SynthOutput {
  rendered ??= render(buildPlatform());
  return rendered;
}

/** What a ServiceMonitor's scrape of one local instance looks like. */
export interface ScrapeTarget {
  /** The declaration's name. */
  readonly service: string;
  /** host:port of the running instance. */
  readonly address: string;
  /**
   * Target labels, as the ServiceMonitor gives them in the cluster; plus one label per `podTargetLabels`
   * entry (dashes become underscores), `local` unless a test sets another (e.g. a canary's pod-template hash).
   */
  readonly labels: Readonly<Record<'job' | 'namespace' | 'service' | 'pod' | 'container' | 'endpoint', string>> & Readonly<Record<string, string>>;
  readonly metricsPath: string;
}

interface ServiceMonitorObject {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: {
    podTargetLabels?: string[];
    endpoints: { port: string; path?: string; relabelings?: { targetLabel?: string; replacement?: string; action?: string }[] }[];
  };
}

/**
 * One target per declared service that has a ServiceMonitor. `addresses` maps a service name to the
 * host:port it runs on locally (default: 127.0.0.1:<declared port>). The local instance is pod `<name>-local`.
 */
export function scrapeTargets(
  addresses: Readonly<Record<string, string>> = {},
  options: { objects?: readonly Record<string, unknown>[]; services?: readonly ServiceDecl[] } = {},
): ScrapeTarget[] {
  const objects = options.objects ?? synthesized().objects;
  const decls = options.services ?? declaredServices;
  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor') as unknown as ServiceMonitorObject[];
  const targets: ScrapeTarget[] = [];
  for (const decl of decls) {
    const monitor = monitors.find((m) => m.metadata.name === decl.name);
    if (!monitor) continue; // not scraped in the cluster either
    const endpoint = monitor.spec.endpoints[0]!;
    const replaced = (label: string) => endpoint.relabelings?.find((r) => r.targetLabel === label && (r.action ?? 'replace') === 'replace')?.replacement;
    targets.push({
      service: decl.name,
      address: addresses[decl.name] ?? `127.0.0.1:${decl.port}`,
      metricsPath: endpoint.path ?? '/metrics',
      labels: {
        // Without a relabeling, the operator's defaults: job and service = the Kubernetes Service's name.
        job: replaced('job') ?? monitor.metadata.name,
        service: replaced('service') ?? monitor.metadata.name,
        namespace: monitor.metadata.namespace,
        // The pod's container serving the port: the microservice's one container is named after the service.
        container: decl.name,
        pod: `${decl.name}-local`,
        endpoint: endpoint.port,
        ...Object.fromEntries((monitor.spec.podTargetLabels ?? []).map((label) => [label.replace(/[^a-zA-Z0-9_]/g, '_'), 'local'])),
      },
    });
  }
  return targets;
}

export interface PrometheusConfigOptions {
  readonly targets: readonly ScrapeTarget[];
  /** Absolute paths of the rules files. */
  readonly ruleFiles: readonly string[];
  /** host:port of the Alertmanager; none = no alerting section. */
  readonly alertmanager?: string;
  /** Default 5s (the cluster scrapes every 15s); the test uses 1s. */
  readonly scrapeInterval?: string;
  readonly evaluationInterval?: string;
}

/** prometheus.yml as an object. */
export function prometheusConfig(options: PrometheusConfigOptions): Record<string, unknown> {
  const scrape = options.scrapeInterval ?? '5s';
  return {
    global: {
      scrape_interval: scrape,
      scrape_timeout: scrape, // may not exceed the interval (default 10s)
      evaluation_interval: options.evaluationInterval ?? scrape,
    },
    rule_files: [...options.ruleFiles],
    ...(options.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } } : {}),
    scrape_configs: options.targets.map((t) => ({
      // Unique per target (several instances of one service may run: a stable and a canary); the `job` label is set below.
      job_name: t.labels.pod,
      metrics_path: t.metricsPath,
      static_configs: [{ targets: [t.address] }],
      // `replace` with no source label: always sets the label (instance stays host:port, as podIP:port does in the cluster).
      relabel_configs: Object.entries(t.labels).map(([label, value]) => ({ action: 'replace', target_label: label, replacement: value })),
    })),
  };
}

export interface RulesFileOptions {
  /**
   * `for` per alert name, replacing the generated one: ONLY for tests, which cannot wait the real
   * durations (e.g. `{ ServiceDown: '2s' }`).
   */
  readonly alertFor?: Readonly<Record<string, string>>;
  /** Alerts left out (with a reason in the caller), e.g. ones whose exporter does not run locally. */
  readonly omitAlerts?: readonly string[];
}

/** The generated rules files (file name -> content), optionally altered as above. */
export function rulesFiles(options: RulesFileOptions = {}, files: ReadonlyMap<string, string> = synthesized().files): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, content] of files) {
    if (!path.startsWith(`${RULES_DIR}/`)) continue;
    const name = path.slice(RULES_DIR.length + 1);
    if (!options.alertFor && !options.omitAlerts) {
      out.set(name, content);
      continue;
    }
    const doc = parse(content) as { groups: { name: string; rules: Record<string, unknown>[] }[] };
    for (const group of doc.groups) {
      group.rules = group.rules
        .filter((r) => !(typeof r.alert === 'string' && options.omitAlerts?.includes(r.alert)))
        .map((r) => (typeof r.alert === 'string' && options.alertFor?.[r.alert] ? { ...r, for: options.alertFor[r.alert] } : r));
    }
    out.set(name, `# altered copy for a local run (see scripts/observability)\n${stringify(doc, { lineWidth: 0 })}`);
  }
  return out;
}

interface AmReceiver {
  name: string;
  webhook_configs?: { url: string; send_resolved: boolean; http_config?: unknown }[];
  [integration: string]: unknown;
}
interface AmConfig {
  global?: Record<string, unknown>;
  route: Record<string, unknown>;
  receivers: AmReceiver[];
  inhibit_rules?: unknown[];
}

export interface LocalAlertmanagerOptions {
  /** The local status service's POST /api/alerts. */
  readonly statusWebhookUrl: string;
  /** File holding the bearer token (ALERT_WEBHOOK_TOKEN of the status service). */
  readonly tokenFile: string;
  /** Root route timings (the test shortens them). */
  readonly route?: { readonly group_wait?: string; readonly group_interval?: string; readonly repeat_interval?: string };
  readonly resolveTimeout?: string;
}

/**
 * The deployed Alertmanager configuration for a local Alertmanager: the status-page receiver posts to the
 * local status service with the token from `tokenFile`; every other receiver keeps its name (so routing
 * and inhibition are the deployed ones) without integrations: no Slack or email from a laptop. Discord is
 * not in this file at all: in the cluster it is an AlertmanagerConfig the operator merges in
 * (cdk8s/src/monitoring/alertmanager.ts).
 */
export function localAlertmanagerConfig(options: LocalAlertmanagerOptions, files: ReadonlyMap<string, string> = synthesized().files): AmConfig {
  const text = files.get(ALERTMANAGER_FILE);
  if (!text) throw new Error(`synth wrote no ${ALERTMANAGER_FILE}`);
  const config = parse(text) as AmConfig;
  const statusPage = config.receivers.find((r) => r.webhook_configs?.some((w) => w.url.endsWith(STATUS_WEBHOOK.path)));
  if (!statusPage) throw new Error(`no receiver posts to the status service (${STATUS_WEBHOOK.path})`);
  return {
    ...config,
    ...(options.resolveTimeout ? { global: { ...config.global, resolve_timeout: options.resolveTimeout } } : {}),
    route: { ...config.route, ...options.route },
    receivers: config.receivers.map((r) =>
      r === statusPage
        ? {
            name: r.name,
            webhook_configs: r.webhook_configs!.map((w) => ({
              ...w,
              url: options.statusWebhookUrl,
              http_config: { authorization: { type: 'Bearer', credentials_file: options.tokenFile } },
            })),
          }
        : { name: r.name },
    ),
  };
}
