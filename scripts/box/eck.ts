/**
 * The real ECK operator (issue 13), built from its module at the eck-operator chart's appVersion and run
 * out of cluster in the box namespace against the box's API server, with the configuration file the
 * chart renders from our values (deploy/eck-operator/templates/configmap.yaml at v3.5.0, read with the
 * chart's own values.yaml from the module cache) and the environment its StatefulSet gives the
 * `manager` container. Three things differ, all because the operator runs outside the cluster:
 *
 * - `enable-webhook: false`: the chart registers a validating webhook served by the operator's pod, which
 *   the API server here has no Service or pod network to call. The controllers still validate every
 *   object when they reconcile it (an invalid one is reported in its status, events and the log).
 * - the API server comes from KUBECONFIG (the box's admin client) instead of the pod's service account.
 * - no container: automemlimit (ECK's main) finds no cgroup memory limit and logs so; the chart's limit is
 *   checked on the values only.
 *
 * Nothing else is changed: the chart leaves the metrics port at 0 and configures no health probe, so the
 * operator opens no port at all (none can clash with Traefik's 8000/8443/8080, Argo Rollouts' 8084/8090
 * or the Prometheus Operator's 8082); the webhook's 9443 is not opened with the webhook off.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { EckOperatorValues } from '../../cdk8s/src/helm/releases/eck-operator.js';
import { releaseWithValues } from '../cluster/inputs.js';
import { ensureTool, moduleDir } from './build.js';
import { kubectl, startProcess, waitFor, type BoxState } from './control-plane.js';

const ECK_MODULE = 'github.com/elastic/cloud-on-k8s/v3';
const CHART_DIR = 'deploy/eck-operator';

/** The release as `npm run up` installs it from dist/: helm/releases.json and the values file it names. */
export interface EckRelease {
  readonly name: string;
  readonly namespace: string;
  readonly version: string;
  readonly values: EckOperatorValues;
}

export const eckReleaseFromDist = (dist: string): EckRelease => releaseWithValues<EckOperatorValues>(dist, 'eck-operator');

type Values = Record<string, unknown>;
const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's coalescing of user values over a chart's values.yaml: maps merge, anything else replaces, null removes. */
export function mergeValues(defaults: Values, overrides: Values): Values {
  const out: Values = { ...defaults };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = mergeValues(out[k] as Values, v);
    else out[k] = v;
  }
  return out;
}

/** The chart's values.yaml from the module at the chart's version (the tag the chart is cut from). */
export function eckChartDefaults(): Values {
  return parse(readFileSync(join(moduleDir('eck-operator', ECK_MODULE), CHART_DIR, 'values.yaml'), 'utf8')) as Values;
}

/** Go template truthiness, as `{{- with }}` and `{{- if }}` judge a value. */
const truthy = (v: unknown) => !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (isMap(v) && Object.keys(v).length === 0));
const int = (v: unknown) => Math.trunc(Number(v));

/**
 * `eck.yaml` as templates/configmap.yaml (v3.5.0) renders it for a release's values, key by key in the
 * template's order (`with` blocks left out when empty). `eck-operator.fullname` is fullnameOverride
 * (`elastic-operator` in the chart's values).
 */
export function eckOperatorConfig(release: Pick<EckRelease, 'namespace' | 'values'>, defaults: Values = eckChartDefaults()): Values {
  const v = mergeValues(defaults, release.values as unknown as Values);
  const config = v.config as Values;
  const metrics = config.metrics as Values & { secureMode: Values };
  const telemetry = v.telemetry as Values;
  const webhook = v.webhook as Values;
  const fullname = String(v.fullnameOverride ?? 'elastic-operator');
  const metricsPort = int(truthy(metrics.port) ? metrics.port : truthy(config.metricsPort) ? config.metricsPort : 0);
  const out: Values = {};
  const put = (key: string, value: unknown, when = true) => {
    if (when) out[key] = value;
  };
  put('log-verbosity', int(config.logVerbosity));
  put('metrics-port', metricsPort);
  put('metrics-secure', metrics.secureMode.enabled);
  put('container-registry', config.containerRegistry);
  put('container-suffix', config.containerSuffix, truthy(config.containerSuffix));
  put('container-repository', config.containerRepository, truthy(config.containerRepository));
  put('max-concurrent-reconciles', int(config.maxConcurrentReconciles));
  put('password-hash-cache-size', int(config.passwordHashCacheSize), truthy(config.passwordHashCacheSize));
  put('ca-cert-validity', config.caValidity);
  put('ca-cert-rotate-before', config.caRotateBefore);
  put('ca-dir', config.caDir, truthy(config.caDir));
  put('cert-validity', config.certificatesValidity);
  put('cert-rotate-before', config.certificatesRotateBefore);
  put('disable-config-watch', config.disableConfigWatch);
  put('exposed-node-labels', config.exposedNodeLabels, truthy(config.exposedNodeLabels));
  put('ip-family', config.ipFamily, truthy(config.ipFamily));
  put('set-default-security-context', config.setDefaultSecurityContext);
  put('kube-client-timeout', config.kubeClientTimeout);
  put('kube-client-qps', int(config.kubeClientQPS), truthy(config.kubeClientQPS));
  put('elasticsearch-client-timeout', config.elasticsearchClientTimeout);
  put('disable-telemetry', telemetry.disabled);
  put('distribution-channel', telemetry.distributionChannel);
  put('telemetry-interval', telemetry.interval, truthy(telemetry.interval));
  put('validate-storage-class', config.validateStorageClass);
  put('enable-tracing', true, truthy((v.tracing as Values | undefined)?.enabled));
  put('enforce-rbac-on-refs', true, truthy((v.refs as Values | undefined)?.enforceRBAC));
  put('enable-webhook', webhook.enabled);
  if (truthy(webhook.enabled)) {
    put('webhook-name', `${fullname}.${release.namespace}.k8s.elastic.co`);
    if (!truthy(webhook.manageCerts)) {
      put('manage-webhook-certs', false);
      put('webhook-cert-dir', webhook.certsDir);
    }
    put('webhook-port', webhook.port);
  }
  put('namespaces', v.managedNamespaces, truthy(v.managedNamespaces));
  put('namespace-selector', v.managedNamespaceSelector, truthy(v.managedNamespaceSelector));
  put('operator-namespace', release.namespace);
  put('enable-leader-election', config.enableLeaderElection);
  put('elasticsearch-observation-interval', config.elasticsearchObservationInterval);
  put('ubi-only', config.ubiOnly, !truthy(config.containerSuffix));
  put('restrict-watched-resources', config.restrictWatchedResources);
  put('webhook-secret', webhook.certsSecret, truthy(webhook.certsSecret));
  const passwordLength = int(((config.policies as Values | undefined)?.passwords as Values | undefined)?.length ?? 0);
  put('password-length', passwordLength, passwordLength !== 0);
  return out;
}

/** What the box changes in our values, as `--set webhook.enabled=false` would (see the file's comment). */
export const boxValueChanges = { webhook: { enabled: false } } as const;

/** One JSON line of the operator's log (zap, ECS field names: pkg/utils/log). */
export interface EckLogLine {
  readonly '@timestamp': string;
  readonly 'log.level': string;
  readonly 'log.logger'?: string;
  readonly message: string;
  readonly error?: string;
  readonly [key: string]: unknown;
}

/** Every JSON line of a log file (other lines, a Go panic say, come back as messages of level `raw`). */
export function eckLogLines(file: string): EckLogLine[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((line) => {
    try {
      return JSON.parse(line) as EckLogLine;
    } catch {
      return { '@timestamp': '', 'log.level': 'raw', message: line };
    }
  });
}

export interface RunningEck {
  readonly pid: number;
  readonly log: string;
  /** The configuration file it runs with (eck.yaml for our values and boxValueChanges). */
  readonly config: Values;
  /** When it was started (Date.now()). */
  readonly startedAt: number;
  /** Milliseconds from the start to every controller's workers running. */
  readonly startMs: number;
}

/** The controllers whose workers must run before the operator counts as started. */
export const ECK_CONTROLLERS = ['elasticsearch-controller', 'kibana-controller', 'logstash-controller', 'beat-controller'] as const;

/**
 * Starts the operator (`elastic-operator manager --config=…`, the chart's arguments) in the box namespace
 * and waits until the controllers of the kinds the platform uses have started their workers. The
 * release namespace must exist (dist/ creates it; up's helm step would with --create-namespace).
 */
export async function startEckOperator(state: BoxState, release: EckRelease): Promise<RunningEck> {
  const bin = (await ensureTool('eckOperator'))['eck-operator']!;
  kubectl(state, ['get', 'namespace', release.namespace]);
  const config = eckOperatorConfig({ ...release, values: mergeValues(release.values as unknown as Values, boxValueChanges) as unknown as EckOperatorValues });
  const file = join(state.dir, 'eck.yaml');
  writeFileSync(file, stringify(config));
  const started = Date.now();
  const pid = startProcess(state, 'eck-operator', [bin, 'manager', `--config=${file}`], {
    // The chart's downward-API variables: the release namespace, and the pod's IP (only its family is read).
    OPERATOR_NAMESPACE: release.namespace,
    POD_IP: '127.0.0.1',
    KUBECONFIG: state.kubeconfig,
  });
  const log = state.processes.find((p) => p.pid === pid)!.log;
  await waitFor(state, "the ECK operator's controllers to start", () => {
    // A configuration or start-up error ends the process, which waitFor reports with the log's tail.
    const workers = new Set(eckLogLines(log).filter((l) => l.message === 'Starting workers').map((l) => String(l.controller)));
    return ECK_CONTROLLERS.every((c) => workers.has(c));
  }, 90_000, 'eck-operator');
  return { pid, log, config, startedAt: started, startMs: Date.now() - started };
}
