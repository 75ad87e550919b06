/**
 * The platform in a box (issue 11): a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler at the kind node image's version) with a kwok node shaped like
 * the kind cluster, all inside a network namespace made for this run; the real Argo Rollouts controller
 * and Prometheus Operator at the charts' versions; the real services on their pods' IPs scraped by the
 * real Prometheus 3 with the configuration the operator generated. Every assertion is about what those
 * components did: objects they created, statuses, conditions, scrape results.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNetns, boxNamespaces } from '../box/netns.js';
import { kubectl, kubectlJson, processAlive, startBox, stopBox, waitFor, type BoxState } from '../box/control-plane.js';
import { applyCrds, applyPlatform, boxRunner, upSteps, type ApplyOutcome } from '../box/platform.js';
import { boxGet, kpsOperatorArgs, startArgoRollouts, startPrometheusOperator } from '../box/operators.js';
import { outOfClusterConfig, readGeneratedConfig, startPrometheus, type RunningPrometheus } from '../box/prometheus.js';
import { ServicePodKeeper, type ServicePod } from '../box/service-pods.js';
import { gatewayRequest, issueListenerCertificates, startTraefik, type GatewayObject, type RunningTraefik } from '../box/gateway.js';
import { traefikArgs, traefikPorts, traefikService } from '../box/traefik-chart.js';
import { oauth2ProxyReleaseFromDist, serviceDnsName, startOauth2Proxy, startServiceForwarder } from '../box/auth.js';
import { startLoad, type LoadRun } from '../box/load.js';
import { writeNetnsHosts } from '../box/netns.js';
import { TRAEFIK_NAMESPACE, TRAEFIK_RELEASE, traefikEntryPoints, traefikPodLabels, traefikValues } from '../../cdk8s/src/helm/values/traefik.js';
import { traefikBackendPattern } from '../../cdk8s/src/delivery/gateway-metrics.js';
import { ANALYSIS_WINDOW, canaryMetrics, defaultCanaryThresholds, withArgs } from '../../cdk8s/src/delivery/analysis.js';
import { hostsFor } from '../../cdk8s/src/hosts.js';
import { canaryCommands, type CanaryRequest, type EnvVar, type RolloutStatusView } from '../cluster/canary-plan.js';
import { routeSplit, routeTarget, type HttpRouteView } from '../cluster/canary-status.js';
import { applyCommand } from '../cluster/plan.js';
import { applyKeepingWeights } from '../cluster/route-weights.js';
import { ensureTool } from '../box/build.js';
import { buildPlatform } from '../../cdk8s/src/app.js';
import { configFromEnv } from '../../cdk8s/src/config.js';
import { kpsOperatorObjectsOf, type KpsOperatorObjects } from '../../cdk8s/src/monitoring/operator-objects.js';
import { missingReferences, podReferences, refKey, type PodForRefs } from '../box/references.js';
import { KUBERNETES_VERSION } from '../box/tools.js';
import { runChecked } from '../cluster/commands.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MINUTE = 60_000;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

let state: BoxState;
let dist: string;
let distObjects: Obj[];
let firstApply: ApplyOutcome;
/** The real service processes on their pods' IPs, kept in step with the pods from B on. */
let keeper: ServicePodKeeper;
let pods: ServicePod[];
const SERVICES = ['course', 'teacher', 'status'] as const;
/** The real Prometheus with the operator's configuration (D starts it). */
let prometheus: RunningPrometheus;
const hosts = hostsFor(configFromEnv().domain);
const netns = `courseops-box-test-${process.pid}`;
const objectsOf = (kind: string) => distObjects.filter((o) => o.kind === kind);

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), 'courseops-box-dist-'));
  execFileSync(process.execPath, ['--import', 'tsx', 'cdk8s/src/main.ts'], { cwd: REPO, env: { ...process.env, COURSEOPS_DIST: dist }, stdio: 'ignore' });
  distObjects = readdirSync(join(dist, 'manifests')).flatMap((f) =>
    parseAllDocuments(readFileSync(join(dist, 'manifests', f), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean),
  );
  state = await startBox({ dir: mkdtempSync(join(tmpdir(), 'courseops-box-state-')), netns });
  applyCrds(state);
}, 30 * MINUTE);

afterAll(async () => {
  keeper?.stop();
  if (state) await stopBox(state.dir);
  rmSync(dist, { recursive: true, force: true });
  // Nothing is left running: no namespace of this box, no process of it.
  expect(boxNamespaces(netns)).toEqual([]);
  for (const p of state?.processes ?? []) expect({ process: p.name, alive: processAlive(p.pid) }).toEqual({ process: p.name, alive: false });
}, 2 * MINUTE);

describe('A. the control plane', () => {
  it('runs the Kubernetes version of the kind node image, with PodSecurity admission on', () => {
    const kind = readFileSync(join(REPO, 'kind-config.yaml'), 'utf8');
    const nodeImage = /kindest\/node:(v\d+\.\d+\.\d+)/.exec(kind)?.[1];
    expect(nodeImage).toBe(KUBERNETES_VERSION);
    const version = JSON.parse(kubectl(state, ['get', '--raw', '/version'])) as { gitVersion: string };
    expect(version.gitVersion).toBe(KUBERNETES_VERSION);
    const client = JSON.parse(kubectl(state, ['version', '--client', '-o', 'json'])) as { clientVersion: { gitVersion: string } };
    expect(client.clientVersion.gitVersion).toBe(KUBERNETES_VERSION);
  });

  it('has one Ready node shaped like the kind node, and only the box namespace can reach it', () => {
    const nodes = kubectlJson<{ items: Obj[] }>(state, ['get', 'nodes']).items;
    expect(nodes.map((n) => n.metadata.name)).toEqual(['courseops-control-plane']);
    expect(nodes[0]!.metadata.labels).toMatchObject({ 'ingress-ready': 'true', 'kubernetes.io/os': 'linux' });
    // The API server's port is not open on this machine's own loopback.
    const livez = ['curl', '-ks', '--max-time', '2', `${state.server}/livez`];
    expect(() => execFileSync(livez[0]!, livez.slice(1), { stdio: 'pipe' })).toThrow();
    const inside = inNetns(netns, livez);
    expect(execFileSync(inside[0]!, inside.slice(1), { encoding: 'utf8' })).toBe('ok');
  });
});

describe('B. everything applies, for real', () => {
  beforeAll(async () => {
    firstApply = await applyPlatform(state, dist, [REPO, dist]);
  }, 10 * MINUTE);

  it("applies the Secrets and every manifest in up's order with no error and no warning", () => {
    const steps = upSteps(dist).map((s) => s.id);
    expect(steps).toEqual(['secrets', 'manifests']);
    expect(firstApply.secrets.length).toBeGreaterThan(0);
    expect(firstApply.secrets.every((s) => s.action === 'created')).toBe(true);
    // PodSecurity "warn" and deprecation warnings come back here.
    expect(firstApply.warnings).toEqual([]);
  });

  it('a second apply changes nothing: every Secret is kept and the server finds no difference', async () => {
    const again = await applyPlatform(state, dist, [REPO, dist]);
    expect(again.secrets.filter((s) => s.action !== 'kept')).toEqual([]);
    for (const file of readdirSync(join(dist, 'manifests'))) {
      const result = await boxRunner(state)(['kubectl', 'diff', '--server-side', '--force-conflicts', '--field-manager=kubectl', '-f', join(dist, 'manifests', file)]);
      expect({ file, code: result.code, diff: result.stdout.slice(0, 2000) }).toEqual({ file, code: 0, diff: '' });
    }
  }, 5 * MINUTE);

  it('every StatefulSet gets its pods, scheduled and admitted, with their volumes bound', async () => {
    for (const sts of objectsOf('StatefulSet')) {
      const ns = sts.metadata.namespace!;
      const replicas = (sts.spec?.replicas as number | undefined) ?? 1;
      await waitFor(state, `StatefulSet ${ns}/${sts.metadata.name} ready`, () => {
        const live = kubectlJson<Obj>(state, ['get', 'statefulset', sts.metadata.name, '-n', ns]);
        return (live.status?.readyReplicas as number | undefined) === replicas;
      }, 2 * MINUTE);
    }
    const claims = kubectlJson<{ items: Obj[] }>(state, ['get', 'pvc', '-A']).items;
    const stsClaims = claims.filter((c) => /^data-.*-\d+$/.test(c.metadata.name));
    expect(stsClaims.length).toBe(objectsOf('StatefulSet').length);
    for (const c of stsClaims) expect({ claim: c.metadata.name, phase: c.status?.phase }).toEqual({ claim: c.metadata.name, phase: 'Bound' });
  }, 3 * MINUTE);

  it('every Rollout reaches Healthy at its first revision through the real Argo Rollouts controller', async () => {
    const rolloutsNs = JSON.parse(readFileSync(join(dist, 'helm/releases.json'), 'utf8')).find((r: { chart: string }) => r.chart === 'argo-rollouts').namespace as string;
    // The kubelet's part: the services' pods get their real processes, and are Ready once those answer.
    keeper = new ServicePodKeeper(state, objectsOf('Rollout')[0]!.metadata.namespace!, SERVICES);
    keeper.start();
    await startArgoRollouts(state, rolloutsNs);
    for (const ro of objectsOf('Rollout')) {
      const ns = ro.metadata.namespace!;
      const live = await waitFor(state, `Rollout ${ns}/${ro.metadata.name} Healthy`, () => {
        const r = kubectlJson<Obj>(state, ['get', 'rollouts.argoproj.io', ro.metadata.name, '-n', ns]);
        return r.status?.phase === 'Healthy' ? r : undefined;
      }, 3 * MINUTE, 'argo-rollouts');
      expect(live.status).toMatchObject({ currentStepIndex: (ro.spec?.strategy as { canary: { steps: unknown[] } }).canary.steps.length, readyReplicas: ro.spec?.replicas });
      const pods = kubectlJson<{ items: Obj[] }>(state, ['get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${ro.metadata.name},app.kubernetes.io/component=api`]).items;
      expect(pods.length).toBe(ro.spec?.replicas);
      for (const p of pods) {
        expect(p.spec?.nodeName).toBe('courseops-control-plane');
        expect(p.metadata.labels?.['rollouts-pod-template-hash']).toBe(live.status?.currentPodHash);
      }
    }
  }, 10 * MINUTE);

  it('every CronJob makes a Job whose pod is admitted, scheduled and completes', async () => {
    const cronJobs = objectsOf('CronJob');
    expect(cronJobs.length).toBeGreaterThan(0);
    for (const cj of cronJobs) {
      const ns = cj.metadata.namespace!;
      const job = `${cj.metadata.name}-box`;
      kubectl(state, ['create', 'job', job, `--from=cronjob/${cj.metadata.name}`, '-n', ns]);
      await waitFor(state, `Job ${ns}/${job} complete`, () => {
        const j = kubectlJson<Obj>(state, ['get', 'job', job, '-n', ns]);
        return (j.status?.succeeded as number | undefined) === 1;
      }, 2 * MINUTE);
    }
    for (const j of objectsOf('Job')) {
      const ns = j.metadata.namespace!;
      await waitFor(state, `Job ${ns}/${j.metadata.name} complete`, () => (kubectlJson<Obj>(state, ['get', 'job', j.metadata.name, '-n', ns]).status?.succeeded as number | undefined) === 1, 2 * MINUTE);
    }
  }, 5 * MINUTE);

  it('every namespace that runs pods enforces a Pod Security level, and every pod there was admitted under it', () => {
    const pods = kubectlJson<{ items: Obj[] }>(state, ['get', 'pods', '-A']).items;
    const namespaces = [...new Set(pods.map((p) => p.metadata.namespace!))];
    expect(namespaces.length).toBeGreaterThan(1);
    for (const ns of namespaces) {
      const labels = kubectlJson<Obj>(state, ['get', 'namespace', ns]).metadata.labels ?? {};
      expect({ ns, enforce: labels['pod-security.kubernetes.io/enforce'] }).toEqual({ ns, enforce: expect.stringMatching(/^(restricted|baseline)$/) });
    }
  });

  it('no controller failed to create a pod: no FailedCreate or FailedScheduling event anywhere', () => {
    const events = kubectlJson<{ items: { reason: string; message: string; involvedObject: { kind: string; namespace: string; name: string } }[] }>(state, ['get', 'events', '-A', '--field-selector', 'type=Warning']).items;
    const failures = events.filter((e) => /^Failed(Create|Scheduling)$|^FailedCreatePodSandBox$/.test(e.reason));
    expect(failures.map((e) => `${e.involvedObject.kind} ${e.involvedObject.namespace}/${e.involvedObject.name}: ${e.message}`)).toEqual([]);
  });

  it('every object a pod references exists (kwok runs pods whose Secrets are missing; a kubelet would not)', () => {
    const pods = kubectlJson<{ items: (PodForRefs & Obj)[] }>(state, ['get', 'pods', '-A']).items;
    expect(pods.length).toBeGreaterThan(objectsOf('Rollout').length);
    const existing = new Set<string>();
    for (const kind of ['secrets', 'configmaps', 'serviceaccounts', 'persistentvolumeclaims']) {
      for (const o of kubectlJson<{ items: Obj[] }>(state, ['get', kind, '-A']).items) existing.add(refKey(o.kind, o.metadata.namespace!, o.metadata.name));
    }
    // Made by the ECK operator for the Elasticsearch and Kibana in dist/ (ECK itself is not in this box).
    for (const es of objectsOf('Elasticsearch')) for (const s of ['es-http-certs-public', 'es-elastic-user']) existing.add(refKey('Secret', es.metadata.namespace!, `${es.metadata.name}-${s}`));
    for (const kb of objectsOf('Kibana')) existing.add(refKey('Secret', kb.metadata.namespace!, `${kb.metadata.name}-kb-http-certs-public`));
    expect(missingReferences(pods, existing)).toEqual([]);
    // And every claim a pod mounts is bound to a volume (the backup claims bind when their Job's pod is scheduled).
    const claims = new Map(kubectlJson<{ items: Obj[] }>(state, ['get', 'pvc', '-A']).items.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c.status?.phase]));
    const mounted = pods.flatMap(podReferences).filter((r) => r.kind === 'PersistentVolumeClaim');
    expect(mounted.length).toBeGreaterThan(0);
    for (const r of mounted) expect({ claim: `${r.namespace}/${r.name}`, phase: claims.get(`${r.namespace}/${r.name}`) }).toEqual({ claim: `${r.namespace}/${r.name}`, phase: 'Bound' });
  });

  it('rejects an unhardened pod in the courseops namespace (negative control for Pod Security)', () => {
    const ns = objectsOf('Rollout')[0]!.metadata.namespace!;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unhardened', namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect(() => kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify(pod))).toThrow(/violates PodSecurity "restricted:latest"/);
    expect(() => kubectl(state, ['get', 'pod', 'unhardened', '-n', ns])).toThrow(/NotFound/);
  });

  it("an object the API server refuses fails up's apply step with the server's message (negative control)", async () => {
    const cmd = { argv: ['kubectl', '--context', 'kind-courseops', 'apply', '--server-side', '-f', '-'] };
    const orphan = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'orphan', namespace: 'no-such-namespace' } };
    await expect(runChecked(boxRunner(state), cmd, { input: JSON.stringify(orphan) })).rejects.toThrow(/namespaces "no-such-namespace" not found/);
  });
});

/** What kube-prometheus-stack renders from our values for the operator (C reconciles it, D scrapes with it). */
let objects: KpsOperatorObjects;

describe('C. the Prometheus Operator, for real', () => {
  beforeAll(async () => {
    objects = kpsOperatorObjectsOf(buildPlatform({ config: configFromEnv(), nodes: 1 }));
    for (const o of objects.objects) kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify(o));
    await startPrometheusOperator(state, kpsOperatorArgs(objects));
  }, 5 * MINUTE);

  const condition = (o: Obj, type: string) => (o.status?.conditions as { type: string; status: string; message?: string }[] | undefined)?.find((c) => c.type === type);

  it('creates the Alertmanager StatefulSet from our values and reports it reconciled and available', async () => {
    const am = objects.alertmanager.metadata;
    const sts = await waitFor(state, `StatefulSet alertmanager-${am.name}`, () => {
      const list = kubectlJson<{ items: Obj[] }>(state, ['get', 'statefulsets', '-n', am.namespace!]).items;
      return list.find((s) => s.metadata.name === `alertmanager-${am.name}`);
    }, 2 * MINUTE, 'prometheus-operator');
    expect(sts.spec?.replicas).toBe((objects.alertmanager.spec as { replicas: number }).replicas);
    const live = await waitFor(state, 'Alertmanager Available', () => {
      const a = kubectlJson<Obj>(state, ['get', 'alertmanagers.monitoring.coreos.com', am.name, '-n', am.namespace!]);
      return condition(a, 'Available')?.status === 'True' ? a : undefined;
    }, 2 * MINUTE, 'prometheus-operator');
    expect(condition(live, 'Reconciled')).toMatchObject({ status: 'True' });
    // The configuration the operator generated carries our routes, the Discord route among them.
    const generated = kubectlJson<{ data: Record<string, string> }>(state, ['get', 'secret', `alertmanager-${am.name}-generated`, '-n', am.namespace!]);
    const text = gunzipSync(Buffer.from(generated.data['alertmanager.yaml.gz']!, 'base64')).toString('utf8');
    expect(text).toContain('receiver: monitoring/courseops-discord/discord');
    expect(text).toMatch(/receiver: status-page/);
  }, 5 * MINUTE);

  it('refuses an Alertmanager configuration it cannot parse (negative control: Discord with webhook_url_file)', async () => {
    const ns = objects.alertmanager.metadata.namespace!;
    const config = 'route:\n  receiver: discord\nreceivers:\n  - name: discord\n    discord_configs:\n      - webhook_url_file: /etc/alertmanager/secrets/x/url\n';
    kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'alertmanager-discord-check', namespace: ns }, stringData: { 'alertmanager.yaml': config } }));
    kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'monitoring.coreos.com/v1', kind: 'Alertmanager', metadata: { name: 'discord-check', namespace: ns },
      spec: { replicas: 1, alertmanagerConfigSelector: {}, alertmanagerConfigNamespaceSelector: {} },
    }));
    const refused = await waitFor(state, 'the operator to judge discord-check', () => {
      const a = kubectlJson<Obj>(state, ['get', 'alertmanagers.monitoring.coreos.com', 'discord-check', '-n', ns]);
      const c = condition(a, 'Reconciled');
      return c && c.status !== 'True' ? c : undefined;
    }, 2 * MINUTE, 'prometheus-operator');
    expect(refused.message).toMatch(/webhook_url_file/);
    expect(kubectl(state, ['get', 'statefulsets', '-n', ns, '-o', 'name'])).not.toMatch(/alertmanager-discord-check/);
    kubectl(state, ['delete', 'alertmanagers.monitoring.coreos.com', 'discord-check', '-n', ns]);
  }, 3 * MINUTE);

  it('creates the Prometheus StatefulSet, with every ServiceMonitor, Probe and PrometheusRule of dist/ in its configuration', async () => {
    const p = objects.prometheus.metadata;
    await waitFor(state, 'Prometheus Available', () => {
      const live = kubectlJson<Obj>(state, ['get', 'prometheuses.monitoring.coreos.com', p.name, '-n', p.namespace!]);
      return condition(live, 'Available')?.status === 'True';
    }, 3 * MINUTE, 'prometheus-operator');
    expect(kubectl(state, ['get', 'statefulset', `prometheus-${p.name}`, '-n', p.namespace!, '-o', 'name']).trim()).toBe(`statefulset.apps/prometheus-${p.name}`);
    const generated = readGeneratedConfig(state, p.namespace!, p.name);
    const jobs = (parse(generated.text) as { scrape_configs: { job_name: string }[] }).scrape_configs.map((s) => s.job_name);
    for (const sm of objectsOf('ServiceMonitor')) {
      const endpoints = (sm.spec?.endpoints as unknown[]).length;
      for (let i = 0; i < endpoints; i++) expect(jobs).toContain(`serviceMonitor/${sm.metadata.namespace}/${sm.metadata.name}/${i}`);
    }
    for (const probe of objectsOf('Probe')) expect(jobs).toContain(`probe/${probe.metadata.namespace}/${probe.metadata.name}`);
    const ruleFiles = Object.values(generated.ruleConfigMaps).flatMap((files) => Object.keys(files));
    for (const rule of objectsOf('PrometheusRule')) expect(ruleFiles.some((f) => f.startsWith(`${rule.metadata.namespace}-${rule.metadata.name}-`))).toBe(true);
  }, 5 * MINUTE);

  it("passes the real Prometheus 3 promtool's check config, rule files included", async () => {
    const p = objects.prometheus.metadata;
    const generated = readGeneratedConfig(state, p.namespace!, p.name);
    const dir = mkdtempSync(join(tmpdir(), 'courseops-box-promtool-'));
    const file = join(dir, 'prometheus.yaml');
    writeFileSync(file, outOfClusterConfig(generated, dir, state.kubeconfig));
    const promtool = (await ensureTool('prometheus')).promtool!;
    const out = execFileSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
    expect(out).toMatch(/SUCCESS/);
    expect(out).not.toMatch(/FAILED/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('D. scraping, for real', () => {
  const services = SERVICES;
  const apiPath: Record<string, string> = { course: '/api/courses', teacher: '/api/teachers', status: '/api/status' };

  let appsNamespace: string;

  beforeAll(async () => {
    appsNamespace = objectsOf('Rollout')[0]!.metadata.namespace!;
    pods = keeper.pods;
    expect(pods.length).toBe(objectsOf('Rollout').reduce((n, r) => n + (r.spec?.replicas as number), 0));
    for (const pod of pods) await waitFor(state, `${pod.name} ready on ${pod.ip}:${pod.port}`, () => boxGet(state, `http://${pod.ip}:${pod.port}/readyz`) !== undefined, 2 * MINUTE, `pod-${pod.name}`);
    const p = objects.prometheus.metadata;
    prometheus = await startPrometheus(state, readGeneratedConfig(state, p.namespace!, p.name));
  }, 5 * MINUTE);

  it('every service pod is a target, up, with the labels the rules, dashboards and canary queries use', async () => {
    const up = await waitFor(state, 'every service target scraped', () => {
      const r = prometheus.query(`up{namespace="${appsNamespace}", job=~"${services.join('|')}"}`);
      if (r.length === pods.length && r.every((s) => s.value[1] === '1')) return r;
      throw new Error(`up: ${JSON.stringify(r.map((s) => [s.metric.pod, s.value[1]]))}`);
    }, 2 * MINUTE, 'prometheus');
    for (const pod of pods) {
      const series = up.find((s) => s.metric.pod === pod.name);
      const hash = kubectlJson<Obj>(state, ['get', 'pod', pod.name, '-n', appsNamespace]).metadata.labels?.['rollouts-pod-template-hash'];
      expect(series?.metric).toMatchObject({ namespace: appsNamespace, service: pod.service, job: pod.service, pod: pod.name, rollouts_pod_template_hash: hash, instance: `${pod.ip}:${pod.port}` });
    }
  }, 3 * MINUTE);

  it('the recording rules return data for every service', async () => {
    // Requests on the API routes (the SLIs leave probes and scrapes out).
    for (const pod of pods) for (let i = 0; i < 5; i++) boxGet(state, `http://${pod.ip}:${pod.port}${apiPath[pod.service]}`);
    const records = ['slo:sli_error:ratio_rate5m', 'instance:http_requests:rate1m', 'service:http_request_duration_seconds:p95_rate5m'];
    for (const record of records) {
      const result = await waitFor(state, `${record} for every service`, () => {
        const r = prometheus.query(record);
        if (services.every((s) => r.some((x) => x.metric.service === s))) return r;
        throw new Error(`${record}: ${JSON.stringify(r.map((x) => x.metric))}`);
      }, 3 * MINUTE, 'prometheus');
      expect(result.length).toBeGreaterThanOrEqual(services.length);
    }
  }, 10 * MINUTE);
});

/** Traefik serving dist/'s Gateway on a pod IP of the box; set by E, used by F. */
let traefik: RunningTraefik;
/** The CA the box signed the listeners' certificates with (the platform CA's stand-in). */
let gatewayCa: string;

describe('E. the gateway, for real: Traefik, the Gateway API and oauth2-proxy', () => {
  let gateway: GatewayObject;
  const websecure = traefikEntryPoints.websecure.port;
  const https = (host: string, path: string, headers?: Record<string, string>) =>
    gatewayRequest(state, { url: `https://${host}:${websecure}${path}`, ip: traefik.ip, ca: gatewayCa, headers });
  const routes = () => objectsOf('HTTPRoute') as unknown as { metadata: { name: string; namespace: string }; spec: { hostnames?: string[]; parentRefs: { sectionName?: string }[] } }[];

  beforeAll(async () => {
    const gateways = objectsOf('Gateway') as unknown as GatewayObject[];
    expect(gateways.length).toBe(1);
    gateway = gateways[0]!;
    gatewayCa = issueListenerCertificates(state, gateway);
    // oauth2-proxy first: the ForwardAuth address is its Service's cluster DNS name, which the box's hosts file maps to a relay to its pod.
    const oauth2 = await startOauth2Proxy(state, oauth2ProxyReleaseFromDist(dist));
    // No kube-proxy in the box: the Service's cluster IP and port get a relay to the pod's port.
    const oauth2ClusterIP = await startServiceForwarder(state, oauth2.service, { ip: oauth2.ip, port: oauth2.port });
    // Cluster DNS names the box's processes resolve through its namespace's hosts file (no DNS server in the box).
    writeNetnsHosts(state.netns, {
      [serviceDnsName(oauth2.service.name, oauth2.service.namespace)]: oauth2ClusterIP,
      [serviceDnsName('prometheus-operated', objects.prometheus.metadata.namespace!)]: '127.0.0.1',
    });
    const values = traefikValues();
    traefik = await startTraefik(state, {
      namespace: TRAEFIK_NAMESPACE,
      labels: traefikPodLabels,
      gatewayClass: { name: gateway.spec.gatewayClassName, controllerName: 'traefik.io/gateway-controller' },
      service: traefikService(values, TRAEFIK_RELEASE, TRAEFIK_NAMESPACE, traefikPodLabels),
      ports: traefikPorts(values),
      args: (ip) => traefikArgs(values, TRAEFIK_RELEASE, TRAEFIK_NAMESPACE, ip),
    });
  }, 5 * MINUTE);

  it('Traefik programs the Gateway, every listener, and accepts every HTTPRoute of dist/ on the listener of its host', async () => {
    const live = await waitFor(state, 'the Gateway Programmed', () => {
      const g = kubectlJson<Obj>(state, ['get', 'gateways.gateway.networking.k8s.io', gateway.metadata.name, '-n', gateway.metadata.namespace]);
      const programmed = (g.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Programmed');
      return programmed?.status === 'True' ? g : undefined;
    }, 2 * MINUTE, 'traefik');
    const listeners = live.status?.listeners as { name: string; conditions: { type: string; status: string }[]; attachedRoutes: number }[];
    expect(listeners.map((l) => l.name).sort()).toEqual(gateway.spec.listeners.map((l) => l.name).sort());
    for (const l of listeners) expect({ listener: l.name, programmed: l.conditions.find((c) => c.type === 'Programmed')?.status }).toEqual({ listener: l.name, programmed: 'True' });
    expect(routes().length).toBeGreaterThan(0);
    for (const r of routes()) {
      const status = await waitFor(state, `HTTPRoute ${r.metadata.namespace}/${r.metadata.name} accepted`, () => {
        const s = kubectlJson<Obj>(state, ['get', 'httproutes.gateway.networking.k8s.io', r.metadata.name, '-n', r.metadata.namespace]).status;
        const parents = (s?.parents as { conditions: { type: string; status: string; reason: string }[] }[] | undefined) ?? [];
        return parents.length === r.spec.parentRefs.length ? parents : undefined;
      }, MINUTE, 'traefik');
      for (const p of status) expect({ route: `${r.metadata.namespace}/${r.metadata.name}`, accepted: p.conditions.find((c) => c.type === 'Accepted') }).toMatchObject({ accepted: { status: 'True' } });
    }
  }, 5 * MINUTE);

  it("HTTPS requests with a service's host name reach the real service processes, under a certificate of the platform CA", () => {
    const appRoutes = routes().filter((r) => r.metadata.namespace === objectsOf('Rollout')[0]!.metadata.namespace);
    expect(appRoutes.length).toBe(objectsOf('Rollout').filter((r) => routes().some((x) => x.metadata.name === r.metadata.name)).length);
    const course = https(hosts.api, '/api/courses');
    expect(course.status).toBe(200);
    expect(JSON.parse(course.body)).toHaveProperty('items');
    // The service answered (its request id header), not Traefik.
    expect(course.headers['x-request-id']).toMatch(/.+/);
    expect(https(hosts.api, '/api/teachers').status).toBe(200);
    expect(https(hosts.status, '/api/status').status).toBe(200);
    // An unknown host gets Traefik's 404, never a service's answer.
    expect(gatewayRequest(state, { url: `https://${hosts.api}:${websecure}/api/courses`, ip: traefik.ip, headers: { Host: 'nowhere.test' }, ca: gatewayCa }).status).toBe(404);
  });

  it('refuses plain HTTP with a redirect to HTTPS', () => {
    const answer = gatewayRequest(state, { url: `http://${hosts.api}:${traefikEntryPoints.web.port}/api/courses?x=1`, ip: traefik.ip });
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(`https://${hosts.api}/api/courses?x=1`);
  });

  it('an admin UI without a session is sent to sign-in by the real oauth2-proxy, and forged identity headers do not pass', () => {
    for (const host of [hosts.prometheus, hosts.alertmanager, hosts.rollouts]) {
      const answer = https(host, '/graph', { 'X-Auth-Request-User': 'forged-admin', 'X-Auth-Request-Groups': 'courseops-admins' });
      expect({ host, status: answer.status }).toEqual({ host, status: 302 });
      const location = new URL(answer.headers.location!);
      expect(`${location.origin}${location.pathname}`).toBe(`https://${hosts.dex}/auth`);
      expect(location.searchParams.get('redirect_uri')).toBe(`https://${host}/oauth2/callback`);
    }
    // The sign-in callback path is routed to oauth2-proxy itself (its own answer, not the UI's).
    const callback = https(hosts.prometheus, '/oauth2/sign_in');
    expect([200, 302, 403]).toContain(callback.status);
  });

  it("Prometheus scrapes Traefik with Traefik's own backend labels, so the gateway gate reads the services' traffic", async () => {
    const ns = objectsOf('Rollout')[0]!.metadata.namespace!;
    for (let i = 0; i < 20; i++) https(hosts.api, '/api/courses');
    const pattern = traefikBackendPattern(ns, 'course');
    const series = await waitFor(state, 'Traefik backend series in Prometheus', () => {
      const r = prometheus.query(`traefik_service_requests_total{service=~"${pattern}"}`);
      return r.length > 0 ? r : undefined;
    }, 2 * MINUTE, 'prometheus');
    // The target's labels are Traefik's pod in Traefik's namespace; Traefik's own `service` label survived (honorLabels).
    expect(series[0]!.metric).toMatchObject({ namespace: TRAEFIK_NAMESPACE, pod: traefik.pod });
    expect(series[0]!.metric.exported_service).toBeUndefined();
    expect(prometheus.query(`up{namespace="${TRAEFIK_NAMESPACE}",pod="${traefik.pod}"}`).map((s) => s.value[1])).toEqual(['1']);
  }, 3 * MINUTE);
});

describe('F. canaries through the gateway, for real: the Argo Rollouts controller, the traffic-router plugin, Traefik and the analysis', () => {
  const service = 'course';
  let ns: string;
  let load: LoadRun;
  /**
   * The box shortens each pause (the product's is 3 min); the analysis templates, weights and thresholds
   * are the product's. 45 s still gives the analysis after a pause at least two scrapes (15 s apart) of a
   * canary that began taking traffic at the pause's start: with 30 s the rates were empty and the healthy
   * canary failed its gates for want of data, as it should.
   */
  const BOX_PAUSE = '45s';
  /** ANALYSIS_WINDOW (2 min) and a scrape interval (15 s), and a little more. */
  const FAULTY_FIRST_PAUSE = '150s';
  /** The route's split as `npm run canary` reads it (a backendRef without a weight weighs 1). */
  const split = () => routeSplit(kubectlJson<HttpRouteView>(state, ['get', 'httproutes.gateway.networking.k8s.io', service, '-n', ns]), routeTarget(service)!)!;
  const canaryWeight = () => split().canaryWeight;
  const rollout = () => kubectlJson<Obj & RolloutStatusView>(state, ['get', 'rollouts.argoproj.io', service, '-n', ns]);
  /** The live Rollout's canary steps. */
  const canarySteps = () => (rollout().spec?.strategy as { canary: { steps: { setWeight?: number; pause?: unknown }[] } }).canary.steps;
  /** Requests Traefik has sent to the canary and stable Services so far, read from its own /metrics now (Prometheus lags a scrape behind). */
  const backendCounts = () => {
    const text = boxGet(state, `http://${traefik.ip}:${traefikEntryPoints.metrics.port}/metrics`) ?? '';
    const sum = (svc: string) => {
      const backend = new RegExp(`^${traefikBackendPattern(ns, svc)}$`);
      return text.split('\n').reduce((n, line) => {
        const m = /^traefik_service_requests_total\{.*service="([^"]+)".*\} (\S+)$/.exec(line);
        return m && backend.test(m[1]!) ? n + Number(m[2]) : n;
      }, 0);
    };
    return { canary: sum(`${service}-canary`), stable: sum(service) };
  };
  const deploy = async (tag: string, faultRate?: number) => {
    const envNow = ((rollout().spec?.template as { spec: { containers: { env?: EnvVar[] }[] } }).spec.containers[0]!.env ?? []);
    for (const cmd of canaryCommands({ action: 'deploy', service, tag, build: false, ...(faultRate !== undefined ? { faultRate } : {}) } as CanaryRequest, envNow)) {
      await runChecked(boxRunner(state), cmd);
    }
  };
  /** Follows a rollout, keeping service processes in step with the pods, until `done`; returns the weights seen, in order. */
  /** Every canary weight the route had, in order, since the test began (follow adds to it). */
  let weights: number[] = [];
  const follow = async (done: (r: Obj & RolloutStatusView) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (keeper.lastError) throw keeper.lastError;
      const w = canaryWeight();
      if (weights.at(-1) !== w) weights.push(w);
      const r = rollout();
      if (done(r)) return { weights, rollout: r };
      if (Date.now() > deadline) throw new Error(`rollout ${service} not done: ${JSON.stringify(r.status)} weights ${weights}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  };

  /**
   * The service's HTTPRoute applied during the canary: as up applies it, then as plainly synthesized
   * (weights as the route reads after each). Its file holds the Rollout as it is now, not as synthesized:
   * a re-apply of dist/ puts the synthesized image back, which ends this canary (dist/ is the truth).
   */
  const reapplyDuringCanary = async () => {
    const synthesized = readFileSync(join(dist, 'manifests', readdirSync(join(dist, 'manifests')).find((f) => f.endsWith(`-${service}.yaml`))!), 'utf8');
    const httpRoute = parseAllDocuments(synthesized).map((d) => d.toJS() as Obj).find((o) => o?.kind === 'HTTPRoute' && o.metadata.name === service)!;
    const live = rollout();
    const current = { apiVersion: live.apiVersion, kind: live.kind, metadata: { name: live.metadata.name, namespace: live.metadata.namespace }, spec: live.spec };
    const file = join(dist, `reapply-${service}.yaml`);
    writeFileSync(file, [current, httpRoute].map((d) => stringify(d)).join('---\n'));
    const weights = () => {
      const { canaryWeight: canary, stableWeight: stable } = split();
      return { canary, stable };
    };
    await applyKeepingWeights(boxRunner(state), applyCommand(file));
    const byUp = weights();
    await runChecked(boxRunner(state), applyCommand(file));
    return { byUp, plain: weights() };
  };

  beforeAll(async () => {
    ns = objectsOf('Rollout')[0]!.metadata.namespace!;
    const patch = canarySteps().flatMap((s, i) => ('pause' in s ? [{ op: 'replace', path: `/spec/strategy/canary/steps/${i}/pause/duration`, value: BOX_PAUSE }] : []));
    kubectl(state, ['patch', 'rollouts.argoproj.io', service, '-n', ns, '--type', 'json', '-p', JSON.stringify(patch)]);
    load = startLoad(state, { ip: traefik.ip, ca: gatewayCa, rps: 20, urls: [`https://${hosts.api}:${traefikEntryPoints.websecure.port}/api/courses`] });
    await waitFor(state, "the load generator's first answers through the gateway", () => load.read().some((s) => s.status === 200), 30_000, 'load-generator');
  }, 2 * MINUTE);

  afterAll(async () => {
    await load?.stop();
  });

  it('a healthy canary: the plugin sets the weights of every step, traffic follows them, every analysis passes, and the Rollout ends Healthy', async () => {
    const stableBefore = rollout().status?.stableRS;
    weights = [];
    const shares: { weight: number; share: number }[] = [];
    let reapplied: Awaited<ReturnType<typeof reapplyDuringCanary>> | undefined;
    await deploy('box-healthy');
    // At each partial weight, the share of Traefik's requests that reached the canary Service during the pause.
    const steps = canarySteps().flatMap((s) => (s.setWeight !== undefined && s.setWeight < 100 ? [s.setWeight] : []));
    for (const weight of steps) {
      await follow(() => canaryWeight() === weight, 4 * MINUTE);
      const before = backendCounts();
      await new Promise((res) => setTimeout(res, 20_000));
      const after = backendCounts();
      const canary = after.canary - before.canary;
      const total = canary + after.stable - before.stable;
      shares.push({ weight, share: total > 0 ? (100 * canary) / total : NaN });
      if (weight === steps.at(-1)) reapplied = await reapplyDuringCanary();
    }
    const end = await follow((r) => r.status?.phase === 'Healthy' && r.status?.stableRS !== stableBefore, 6 * MINUTE);
    // up's apply during the canary kept the plugin's weights; the same file applied as synthesized reset them.
    expect(reapplied).toEqual({ byUp: { canary: steps.at(-1), stable: 100 - steps.at(-1)! }, plain: { canary: 1, stable: 1 } });
    console.log(`healthy canary: weights seen ${weights.join(' → ')}; measured canary shares ${shares.map((s) => `${s.weight}% → ${s.share.toFixed(1)}%`).join(', ')}`);
    // Tolerance: 5 points (Traefik's weighted round robin is exact; the window edges and scrape timing blur it).
    for (const s of shares) expect(Math.abs(s.share - s.weight)).toBeLessThanOrEqual(5);
    // Each step's weight in order (the 1 is the plain re-apply's reset, checked above).
    expect([...new Set(weights.filter((w) => steps.includes(w)))]).toEqual(steps);
    expect(canaryWeight()).toBe(0);
    const runs = kubectlJson<{ items: (Obj & { status?: { phase?: string } })[] }>(state, ['get', 'analysisruns.argoproj.io', '-n', ns, '-l', `rollouts-pod-template-hash=${end.rollout.status?.currentPodHash}`]).items;
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const run of runs) expect({ run: run.metadata.name, phase: run.status?.phase }).toEqual({ run: run.metadata.name, phase: 'Successful' });
  }, 15 * MINUTE);

  it("the ingress-nginx-style gate (the app's namespace label on the gateway's metric) finds nothing in the real metrics: it would have aborted that healthy canary", () => {
    const oldStyle = prometheus.query(`sum(rate(traefik_service_requests_total{namespace="${ns}"}[${ANALYSIS_WINDOW}]))`);
    expect(oldStyle).toEqual([]);
    // len(result) > 0 is false for it, while the gate as shipped reads the same traffic.
    const shipped = canaryMetrics().find((m) => m.clusterOnly)!;
    const result = prometheus.query(withArgs(shipped.query, { service, namespace: ns, 'canary-hash': 'unused', 'canary-service': service }));
    expect(result.length).toBe(1);
  });

  it("a faulty canary (npm run canary's FAULT_RATE) fails the success-ratio gates: the Rollout aborts and every weight returns to stable", async () => {
    const stableBefore = rollout().status?.stableRS;
    // The first pause as long as the analysis window and a scrape: Traefik's 5xx series for the canary
    // backend begins with the first failed request, and rate() cannot count what a series held before its
    // first sample; so over a window that starts before that sample the gateway's ratio reads far too good
    // (0.95 measured with 45 s, against the pods' own 0.59). The product's 3-minute pause has the margin.
    const firstPause = canarySteps().findIndex((st) => 'pause' in st);
    kubectl(state, ['patch', 'rollouts.argoproj.io', service, '-n', ns, '--type', 'json', '-p', JSON.stringify([{ op: 'replace', path: `/spec/strategy/canary/steps/${firstPause}/pause/duration`, value: FAULTY_FIRST_PAUSE }])]);
    const since = Date.now();
    await deploy('box-faulty', 0.5);
    let firstCanary: number | undefined;
    const end = await follow((r) => {
      if (firstCanary === undefined && canaryWeight() > 0) firstCanary = Date.now();
      return r.status?.abort === true && canaryWeight() === 0;
    }, 6 * MINUTE);
    const abortedAt = Date.now();
    expect(end.rollout.status?.stableRS).toBe(stableBefore);
    expect(end.rollout.status?.phase).toBe('Degraded');
    type MetricResult = { name: string; phase: string; measurements?: { phase: string; value?: string }[] };
    const runs = kubectlJson<{ items: (Obj & { status?: { phase?: string; metricResults?: MetricResult[] } })[] }>(state, ['get', 'analysisruns.argoproj.io', '-n', ns, '-l', `rollouts-pod-template-hash=${end.rollout.status?.currentPodHash}`]).items;
    const results = runs.flatMap((r) => r.status?.metricResults ?? []);
    // It failed on what it measured, not for want of data: in the gated run or the background one (which
    // may abort first, on its second failed minute), both success ratios were read and found below the
    // threshold.
    const measured = (name: string) => results.filter((m) => m.name === name).flatMap((m) => m.measurements ?? []).map((x) => ({ phase: x.phase, value: (JSON.parse(x.value ?? '[]') as number[])[0] }));
    console.log(`faulty canary's measurements: ${JSON.stringify(runs.map((r) => ({ run: r.metadata.name, metrics: (r.status?.metricResults ?? []).map((m) => ({ name: m.name, phase: m.phase, measurements: (m.measurements ?? []).map((x) => `${x.phase} ${x.value}`) })) })))}`);
    for (const gate of ['success-ratio', 'gateway-success-ratio']) {
      const failedWithValue = measured(gate).filter((x) => x.phase === 'Failed' && x.value !== undefined);
      expect({ gate, failedWithValue: failedWithValue.length > 0 }).toEqual({ gate, failedWithValue: true });
      for (const x of failedWithValue) expect(x.value).toBeLessThan(defaultCanaryThresholds.minSuccessRatio);
    }
    // The blast radius: the failed user requests from the faulty canary's first request to the abort,
    // against what the same traffic would have met on a plain rolling update (every request on the faulty version).
    const samples = (await load.snapshot()).filter((s) => s.t >= (firstCanary ?? since) && s.t <= abortedAt);
    const failedRequests = samples.filter((s) => s.status >= 500 || s.status === 0).length;
    const rollingUpdate = Math.round(samples.length * 0.5);
    console.log(`blast radius: ${failedRequests} failed of ${samples.length} user requests from the faulty canary's first weight to the abort (${((abortedAt - (firstCanary ?? since)) / 1000).toFixed(0)} s), against about ${rollingUpdate} on a plain rolling update (FAULT_RATE 0.5 on every request): ${(failedRequests / Math.max(1, rollingUpdate) * 100).toFixed(0)} %`);
    expect(failedRequests).toBeGreaterThan(0);
    expect(failedRequests).toBeLessThan(rollingUpdate / 2);
  }, 12 * MINUTE);
});
