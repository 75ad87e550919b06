/**
 * The platform in a box (issue 11): a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler at the kind node image's version) with a kwok node shaped like
 * the kind cluster, all inside a network namespace made for this run; the real Argo Rollouts controller,
 * Prometheus Operator and ECK operator at the charts' versions; the real services on their pods' IPs scraped by the
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
import { boxSecret, kubectl, kubectlJson, processAlive, startBox, stopBox, waitFor, type BoxState } from '../box/control-plane.js';
import { applyCrds, applyPlatform, boxRunner, upSteps, type ApplyOutcome } from '../box/platform.js';
import { boxGet, kpsOperatorArgs, startArgoRollouts, startPrometheusOperator } from '../box/operators.js';
import { outOfClusterConfig, readGeneratedConfig, startPrometheus, type RunningPrometheus } from '../box/prometheus.js';
import { ServicePodKeeper, type ServicePod } from '../box/service-pods.js';
import { gatewayRequest, issueListenerCertificates, startTraefik, type GatewayObject, type RunningTraefik } from '../box/gateway.js';
import { traefikArgs, traefikPorts, traefikService } from '../box/traefik-chart.js';
import { oauth2ProxyReleaseFromDist, startOauth2Proxy, startServiceForwarder, startTcpRelay } from '../box/auth.js';
import { serviceHost, serviceUrl } from '../../cdk8s/src/cluster-dns.js';
import { startLoad, type LoadRun } from '../box/load.js';
import { writeNetnsHosts } from '../box/netns.js';
import { TRAEFIK_NAMESPACE, TRAEFIK_RELEASE, traefikEntryPoints, traefikPodLabels, traefikValues } from '../../cdk8s/src/helm/releases/traefik.js';
import { traefikBackendPattern } from '../../cdk8s/src/delivery/gateway-metrics.js';
import { ANALYSIS_WINDOW, canaryMetrics, defaultCanaryThresholds, withArgs } from '../../cdk8s/src/delivery/analysis.js';
import { hostsFor } from '../../cdk8s/src/hosts.js';
import { canaryCommands, type CanaryRequest, type EnvVar, type RolloutStatusView } from '../cluster/canary-plan.js';
import { routeSplit, routeTarget, type HttpRouteView } from '../cluster/canary-status.js';
import { applyCommand } from '../cluster/plan.js';
import { applyKeepingWeights } from '../cluster/route-weights.js';
import { ensureTool } from '../box/build.js';
import { buildPlatform } from '../../cdk8s/src/app.js';
import { loadConfig } from '../../cdk8s/src/config-file.js';
import { kpsOperatorObjectsOf, type KpsOperatorObjects } from '../../cdk8s/src/monitoring/operator-objects.js';
import { missingReferences, podReferences, refKey, type PodForRefs } from '../box/references.js';
import { KUBERNETES_VERSION } from '../box/tools.js';
import bcrypt from 'bcryptjs';
import { eckLogLines, eckReleaseFromDist, startEckOperator, type EckLogLine, type RunningEck } from '../box/eck.js';
import { SNAPSHOT_PATH, urls } from '../../cdk8s/src/logging/names.js';
import { LOGSTASH_INIT_CONTAINER } from '../../cdk8s/src/logging/logstash.js';
import { runChecked } from '../cluster/commands.js';
import { randomBytes, type JsonWebKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { search as jmespathSearch } from 'jmespath';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { boxJson, dexReleaseFromDist, dexSecretsFromDist, dexUsers, oauth2ProxyCookieSignature, OAUTH2_PROXY_DEFAULT_COOKIE_EXPIRE_HOURS, OAUTH2_PROXY_DEFAULT_COOKIE_NAME, pkce, serviceEndpoints, startDex, startEchoUpstream, verifiedClaims, type DexRelease, type DexUser, type EchoAnswer } from '../box/dex.js';
import { dexSignIn, launchBoxChromium, sessionCookie, startHostPorts } from '../box/browser.js';
import { addNetnsHosts } from '../box/netns.js';
import type { HttpAnswer } from '../box/gateway.js';
import { boxTools } from '../box/tools.js';
import { parseHosts, releaseWithValues } from '../cluster/inputs.js';
import { kpsServices } from '../../cdk8s/src/helm/releases/kube-prometheus-stack.js';
import { AUTH_RESPONSE_HEADERS } from '../../cdk8s/src/gateway/forward-auth.js';

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
const hosts = hostsFor(loadConfig().domain);
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

  /**
   * The StatefulSet controller creates a pod's claim before the pod, but the scheduler reads claims from its
   * informer cache, which can lag on a busy machine: it reports the claim "not found" and tries again. Let
   * that pass only when the claim exists now and the pod was placed.
   */
  const claimNotYetSeenByScheduler = (e: { reason: string; message: string; involvedObject: { kind: string; namespace: string; name: string } }) => {
    const claim = /persistentvolumeclaim "([^"]+)" not found/.exec(e.message)?.[1];
    if (e.reason !== 'FailedScheduling' || e.involvedObject.kind !== 'Pod' || !claim) return false;
    const { namespace, name } = e.involvedObject;
    const claims = kubectlJson<{ items: Obj[] }>(state, ['get', 'persistentvolumeclaims', '-n', namespace]).items;
    const pod = kubectlJson<{ items: (Obj & { spec?: { nodeName?: string } })[] }>(state, ['get', 'pods', '-n', namespace]).items.find((p) => p.metadata.name === name);
    return claims.some((c) => c.metadata.name === claim) && Boolean(pod?.spec?.nodeName);
  };

  it('no controller failed to create a pod: no FailedCreate or FailedScheduling event anywhere (but a claim the scheduler saw late)', () => {
    const events = kubectlJson<{ items: { reason: string; message: string; involvedObject: { kind: string; namespace: string; name: string } }[] }>(state, ['get', 'events', '-A', '--field-selector', 'type=Warning']).items;
    const failures = events.filter((e) => /^Failed(Create|Scheduling)$|^FailedCreatePodSandBox$/.test(e.reason)).filter((e) => !claimNotYetSeenByScheduler(e));
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
    objects = kpsOperatorObjectsOf(buildPlatform({ config: loadConfig() }));
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

/** Traefik serving dist/'s Gateway on a pod IP of the box; set by E, used by F and G. */
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
      [serviceHost(oauth2.service.name, oauth2.service.namespace)]: oauth2ClusterIP,
      [serviceHost('prometheus-operated', objects.prometheus.metadata.namespace!)]: '127.0.0.1',
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

/**
 * Sign-in, for real: the real Dex on a pod IP, configured from the dex release's values and the Secrets up
 * generated, behind the real Traefik; the real oauth2-proxy of E exchanging codes with it through its
 * Service; Debian's Chromium in the box namespace, trusting the platform CA, typing the generated passwords
 * into Dex's form. Prometheus' route reaches D's real Prometheus; Alertmanager's reaches an echo stand-in.
 */
describe('F. sign-in through Dex, for real: Chromium, Dex, oauth2-proxy and Traefik', () => {
  const artifacts = join(REPO, 'test-artifacts', 'box');
  let started: number;
  let browser: Browser;
  let dex: DexRelease;
  let users: Record<string, DexUser>;
  /** The kind node's address, where hostPorts 80/443 reach Traefik and every public host resolves. */
  let node: string;
  let internalDex: string;
  let admin: BrowserContext;
  const authNs = () => dex.namespace;
  const deep = () => `https://${hosts.prometheus}/api/v1/query?query=${encodeURIComponent('up{job="course"}')}&stats=all`;
  const shot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  const isSession = (name: string) => name === OAUTH2_PROXY_DEFAULT_COOKIE_NAME || (name.startsWith(`${OAUTH2_PROXY_DEFAULT_COOKIE_NAME}_`) && /^\d+$/.test(name.slice(OAUTH2_PROXY_DEFAULT_COOKIE_NAME.length + 1)));
  /** Opens `url` in a new page of `context`, signs in on Dex's form when it shows, and returns the last navigation's answer. */
  const visit = async (context: BrowserContext, url: string, user?: DexUser) => {
    const page = await context.newPage();
    let answer = await page.goto(url);
    if (user) {
      await page.locator('#login').waitFor();
      expect(new URL(page.url()).host).toBe(hosts.dex);
      const back = page.waitForResponse((r) => r.url() === url && r.request().isNavigationRequest());
      await dexSignIn(page, user);
      answer = await back;
    }
    return { page, answer: answer! };
  };

  beforeAll(async () => {
    started = Date.now();
    rmSync(artifacts, { recursive: true, force: true });
    mkdirSync(artifacts, { recursive: true });
    console.log(`F: screenshots in ${artifacts}`);
    dex = dexReleaseFromDist(dist);
    const running = await startDex(state, dex);
    // oauth2-proxy (and Grafana, in the cluster) reach Dex through its Service's cluster DNS name.
    const clusterIP = await startServiceForwarder(state, running.service, { ip: running.ip, port: running.port });
    addNetnsHosts(state.netns, { [serviceHost(running.service.name, running.service.namespace)]: clusterIP });
    internalDex = serviceUrl(running.service.name, running.service.namespace, running.service.port);
    // Prometheus' route goes to the Prometheus pod's address: it reaches D's real Prometheus; Alertmanager's gets the echo.
    const promUrl = new URL(prometheus.url);
    for (const [i, e] of serviceEndpoints(state, objects.prometheus.metadata.namespace!, kpsServices.prometheus).entries()) {
      await startTcpRelay(state, `prometheus-pod-${i}`, e, { ip: promUrl.hostname, port: Number(promUrl.port) }, { ownAddress: true, readyPath: '/-/ready' });
    }
    for (const [i, e] of serviceEndpoints(state, objects.alertmanager.metadata.namespace!, kpsServices.alertmanager).entries()) await startEchoUpstream(state, `alertmanager-echo-${i}`, e);
    node = await startHostPorts(state, traefik.ip, Object.values(traefikValues().ports), parseHosts(JSON.parse(readFileSync(join(dist, 'hosts.json'), 'utf8'))));
    users = Object.fromEntries(dexUsers(dex, dexSecretsFromDist(dist), (name) => boxSecret(state, authNs(), name)).map((u) => [u.username, u]));
    browser = await launchBoxChromium(state, gatewayCa);
    admin = await browser.newContext();
  }, 5 * MINUTE);

  afterAll(async () => {
    await browser?.close();
    console.log(`F. sign-in through Dex: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("Dex answers at its public host through Traefik, under a certificate of the platform CA, as the issuer oauth2-proxy and Grafana are configured with", async () => {
    const discovery = await waitFor(state, 'Dex through the gateway', () => {
      const a = gatewayRequest(state, { url: `https://${hosts.dex}/.well-known/openid-configuration`, ip: node, ca: gatewayCa });
      return a.status === 200 ? (JSON.parse(a.body) as { issuer: string }) : undefined;
    }, MINUTE, 'traefik');
    expect(discovery.issuer).toBe(dex.values.config.issuer);
    // The same document from its in-cluster Service, which oauth2-proxy and Grafana call.
    expect(boxJson<{ issuer: string }>(state, `${internalDex}/.well-known/openid-configuration`).body.issuer).toBe(dex.values.config.issuer);
    expect(Object.keys(users).sort()).toEqual(['admin', 'viewer']);
  });

  it('an admin signs in on Dex\'s form and lands on the deep URL first asked for, answered by the real Prometheus 3, over TLS from the platform CA', async () => {
    const page = await admin.newPage();
    await page.goto(deep());
    await page.locator('#login').waitFor();
    expect(new URL(page.url()).host).toBe(hosts.dex);
    expect((await admin.cookies()).filter((c) => isSession(c.name))).toEqual([]);
    await shot(page, 'f1-dex-login');
    const back = page.waitForResponse((r) => r.url() === deep() && r.request().isNavigationRequest());
    await dexSignIn(page, users.admin!);
    const answer = await back;
    expect(page.url()).toBe(deep());
    expect(answer.status()).toBe(200);
    const body = (await answer.json()) as { status: string; data: { result: { metric: Record<string, string> }[]; stats?: unknown } };
    expect(body.status).toBe('success');
    expect(body.data.result.length).toBeGreaterThan(0);
    for (const r of body.data.result) expect(r.metric.job).toBe('course');
    // `&stats=all`, the deep URL's second parameter, reached Prometheus too.
    expect(body.data.stats).toBeDefined();
    expect(await page.locator('body').innerText()).toContain('"job":"course"');
    const tls = await answer.securityDetails();
    expect(tls).toMatchObject({ issuer: 'courseops-platform-ca (box)', subjectName: hosts.prometheus });
    await shot(page, 'f2-admin-prometheus-deep-url');
    const build = await page.goto(`https://${hosts.prometheus}/api/v1/status/buildinfo`);
    expect(((await build!.json()) as { data: { version: string } }).data.version).toBe(boxTools.prometheus.version.replace(/^v/, ''));
    expect((await admin.cookies()).filter((c) => isSession(c.name)).length).toBeGreaterThan(0);
  }, MINUTE);

  it('a viewer is refused on the admin-only UIs (Alertmanager, Argo Rollouts) and let in on Prometheus; an admin is let in on Alertmanager', async () => {
    const viewer = await browser.newContext();
    const { page, answer } = await visit(viewer, `https://${hosts.alertmanager}/api/v2/status`, users.viewer);
    expect(answer.status()).toBe(403);
    expect(await page.locator('body').innerText()).toContain('Forbidden');
    await shot(page, 'f3-viewer-refused-alertmanager');
    // Signed in once for every host (the cookie's domain); still refused where only admins are allowed,
    // even asking for its own group in the URL (oauth2-proxy reads allowed_groups from the Middleware's address only).
    for (const url of [`https://${hosts.rollouts}/rollouts/`, `https://${hosts.alertmanager}/?allowed_groups=${users.viewer!.groups.join(',')}`]) {
      expect({ url, status: (await page.goto(url))!.status() }).toEqual({ url, status: 403 });
    }
    const prom = await page.goto(`https://${hosts.prometheus}/api/v1/status/buildinfo`);
    expect(prom!.status()).toBe(200);
    expect(((await prom!.json()) as { status: string }).status).toBe('success');
    await shot(page, 'f4-viewer-prometheus');
    await viewer.close();
    const am = await (await admin.newPage()).goto(`https://${hosts.alertmanager}/api/v2/status`);
    expect(am!.status()).toBe(200);
    expect(((await am!.json()) as EchoAnswer).echo).toBe(true);
  }, MINUTE);

  it("a wrong password gets Dex's error and no session cookie", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`https://${hosts.prometheus}/api/v1/status/buildinfo`);
    await page.locator('#login').waitFor();
    await dexSignIn(page, { email: users.admin!.email, password: `${users.admin!.password}-wrong` });
    // web/templates/password.html at v2.45.1: "Invalid {{ .UsernamePrompt }} and password." (the password DB's prompt is "Email Address").
    await page.locator('#login-error').waitFor();
    expect(await page.locator('#login-error').innerText()).toContain('Invalid Email Address and password.');
    expect(new URL(page.url()).host).toBe(hosts.dex);
    expect((await context.cookies()).filter((c) => isSession(c.name))).toEqual([]);
    await shot(page, 'f5-wrong-password');
    await context.close();
  }, MINUTE);

  it('no cookie, a tampered cookie or an expired one never reaches the UI: oauth2-proxy sends the browser to sign in', async () => {
    const value = (await sessionCookie(admin, OAUTH2_PROXY_DEFAULT_COOKIE_NAME))!;
    const ask = (cookie?: string) => gatewayRequest(state, { url: deep(), ip: node, ca: gatewayCa, headers: cookie === undefined ? {} : { Cookie: `${OAUTH2_PROXY_DEFAULT_COOKIE_NAME}=${cookie}` } });
    const toSignIn = (a: HttpAnswer) => ({ status: a.status, to: a.headers.location ? `${new URL(a.headers.location).host}${new URL(a.headers.location).pathname}` : undefined, upstream: a.body.includes('"status":"success"') });
    const refused = { status: 302, to: `${hosts.dex}/auth`, upstream: false };
    // The admin's own cookie, sent by this client too, reaches Prometheus (the control).
    expect(toSignIn(ask(value))).toEqual({ status: 200, to: undefined, upstream: true });
    expect(toSignIn(ask())).toEqual(refused);
    const [encoded, time, signature] = value.split('|') as [string, string, string];
    const at = Math.floor(encoded.length / 2);
    const flipped = `${encoded.slice(0, at)}${encoded[at] === 'A' ? 'B' : 'A'}${encoded.slice(at + 1)}`;
    expect(toSignIn(ask(`${flipped}|${time}|${signature}`))).toEqual(refused);
    // Expired: the same session signed with an older time, with oauth2-proxy's cookie secret from its Secret.
    const oauth2 = oauth2ProxyReleaseFromDist(dist);
    const secret = boxSecret(state, oauth2.namespace, oauth2.values.config.existingSecret)!['cookie-secret']!;
    const sign = (t: number) => `${encoded}|${t}|${oauth2ProxyCookieSignature(secret, OAUTH2_PROXY_DEFAULT_COOKIE_NAME, encoded, String(t))}`;
    expect(oauth2ProxyCookieSignature(secret, OAUTH2_PROXY_DEFAULT_COOKIE_NAME, encoded, time)).toBe(signature);
    expect(oauth2.values.config.configFile).not.toMatch(/^cookie_(expire|name) /m);
    const now = Math.floor(Date.now() / 1000);
    expect(toSignIn(ask(sign(now - 60)))).toEqual({ status: 200, to: undefined, upstream: true });
    expect(toSignIn(ask(sign(now - OAUTH2_PROXY_DEFAULT_COOKIE_EXPIRE_HOURS * 3600 - 60)))).toEqual(refused);
  }, MINUTE);

  it("the UI receives oauth2-proxy's identity headers, never ones the client sends", async () => {
    const page = await admin.newPage();
    await page.setExtraHTTPHeaders(Object.fromEntries(AUTH_RESPONSE_HEADERS.map((h) => [h, 'forged'])));
    const answer = await page.goto(`https://${hosts.alertmanager}/api/v2/alerts`);
    const seen = ((await answer!.json()) as EchoAnswer).headers;
    console.log(`F: the upstream received ${JSON.stringify(Object.fromEntries(AUTH_RESPONSE_HEADERS.map((h) => [h, seen[h.toLowerCase()]])))}`);
    expect(seen['x-auth-request-email']).toBe(users.admin!.email);
    expect(seen['x-auth-request-groups']).toBe(users.admin!.groups.join(','));
    // The user is Dex's subject: the static user's userID and the connector, encoded (server/internal/codec.go).
    const subject = Buffer.from(seen['x-auth-request-user'] ?? '', 'base64url').toString('latin1');
    expect(subject).toContain(dex.values.config.staticPasswords.find((u) => u.email === users.admin!.email)!.userID);
    for (const h of AUTH_RESPONSE_HEADERS) expect({ h, value: seen[h.toLowerCase()] }).not.toEqual({ h, value: 'forged' });
    await shot(page, 'f6-upstream-headers');
  }, MINUTE);

  it("Grafana's Dex client: its URLs are Dex's, Dex takes its redirect URI, and the ID tokens make admins Admin and viewers Viewer through role_attribute_path", async () => {
    type Ini = { server: { root_url: string }; 'auth.generic_oauth': Record<string, string> };
    type Kps = { grafana: { 'grafana.ini': Ini; envValueFrom: Record<string, { secretKeyRef: { name: string; key: string } }> } };
    const kpsRelease = releaseWithValues<Kps>(dist, 'kube-prometheus-stack');
    const grafana = kpsRelease.values.grafana;
    const oauth = grafana['grafana.ini']['auth.generic_oauth'];
    const redirect = `${grafana['grafana.ini'].server.root_url}/login/generic_oauth`;
    type Discovery = { issuer: string; authorization_endpoint: string; token_endpoint: string; userinfo_endpoint: string; jwks_uri: string; scopes_supported: string[] };
    const discovery = boxJson<Discovery>(state, `https://${hosts.dex}/.well-known/openid-configuration`, { ca: gatewayCa }).body;
    expect(oauth.auth_url).toBe(discovery.authorization_endpoint);
    // Grafana's back-channel calls go to the in-cluster Service, at the paths Dex publishes.
    expect(`${internalDex}${new URL(discovery.token_endpoint).pathname}`).toBe(oauth.token_url);
    expect(`${internalDex}${new URL(discovery.userinfo_endpoint).pathname}`).toBe(oauth.api_url);
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(oauth.scopes!.split(' ')));
    const client = dex.values.config.staticClients.find((c) => c.id === oauth.client_id)!;
    expect(client.redirectURIs).toContain(redirect);
    const ref = grafana.envValueFrom.GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET!.secretKeyRef;
    const clientSecret = boxSecret(state, kpsRelease.namespace, ref.name)![ref.key]!;
    // Dex refuses a redirect URI the client does not have (once /auth has sent the browser to its only connector).
    const strayUrl = `${oauth.auth_url}?client_id=${oauth.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(`https://${hosts.prometheus}/login/generic_oauth`)}`;
    const toConnector = gatewayRequest(state, { url: strayUrl, ip: node, ca: gatewayCa });
    expect(toConnector.status).toBe(302);
    const stray = gatewayRequest(state, { url: new URL(toConnector.headers.location!, strayUrl).href, ip: node, ca: gatewayCa });
    expect({ status: stray.status, text: stray.body.includes('Unregistered redirect_uri.') }).toEqual({ status: 400, text: true });
    const jwks = boxJson<{ keys: JsonWebKey[] }>(state, discovery.jwks_uri, { ca: gatewayCa }).body;
    const roles: Record<string, unknown> = {};
    for (const user of Object.values(users)) {
      const context = await browser.newContext();
      const { verifier, challenge } = pkce();
      const stateParam = randomBytes(8).toString('hex');
      const query = new URLSearchParams({ client_id: oauth.client_id!, redirect_uri: redirect, response_type: 'code', scope: oauth.scopes!, state: stateParam, code_challenge: challenge, code_challenge_method: 'S256' });
      const page = await context.newPage();
      await page.goto(`${oauth.auth_url}?${query}`);
      await page.locator('#login').waitFor();
      // Grafana is not in the box (AGPL): the browser's request to its callback, sent by Dex with the code, is read here.
      const arrival = page.waitForRequest((r) => r.url().startsWith(`${redirect}?`));
      await dexSignIn(page, user);
      const callback = new URL((await arrival).url());
      expect(callback.searchParams.get('state')).toBe(stateParam);
      const token = boxJson<{ id_token: string; access_token: string }>(state, oauth.token_url!, {
        user: `${oauth.client_id}:${clientSecret}`,
        form: { grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: redirect, code_verifier: verifier },
      });
      expect(token.status).toBe(200);
      const claims = verifiedClaims(token.body.id_token, jwks);
      expect(claims).toMatchObject({ iss: discovery.issuer, aud: oauth.client_id, email: user.email, groups: user.groups });
      const userinfo = boxJson<Record<string, unknown>>(state, oauth.api_url!, { bearer: token.body.access_token });
      expect(userinfo.status).toBe(200);
      expect(jmespathSearch(userinfo.body, oauth.groups_attribute_path!)).toEqual(user.groups);
      roles[user.username] = { idToken: jmespathSearch(claims, oauth.role_attribute_path!), userinfo: jmespathSearch(userinfo.body, oauth.role_attribute_path!) };
      await context.close();
    }
    expect(roles).toEqual({ admin: { idToken: 'Admin', userinfo: 'Admin' }, viewer: { idToken: 'Viewer', userinfo: 'Viewer' } });
  }, MINUTE);
});

describe('G. canaries through the gateway, for real: the Argo Rollouts controller, the traffic-router plugin, Traefik and the analysis', () => {
  let ns: string;
  let load: LoadRun;
  /**
   * The box shortens each pause (the product's is 3 min); the analysis templates, weights and thresholds
   * are the product's. 45 s still gives the analysis after a pause at least two scrapes (15 s apart) of a
   * canary that began taking traffic at the pause's start: with 30 s the rates were empty and the healthy
   * canary failed its gates for want of data, as it should.
   */
  const BOX_PAUSE = '45s';
  /**
   * The faulty canary's first pause: ANALYSIS_WINDOW (2 min), a scrape interval (15 s) and a little more.
   * Traefik's 5xx series for the canary backend begins with the first failed request, and rate() cannot
   * count what a series held before its first sample; so over a window that starts before that sample the
   * gateway's ratio reads far too good (0.95 measured with 45 s, against the pods' own 0.59). The product's
   * 3-minute pause has the margin.
   */
  const FAULTY_FIRST_PAUSE = '150s';
  /** The two canaries run at once, on different services, so the box waits through their pauses once. */
  const healthy = canaryDriver('course', '/api/courses');
  const faulty = canaryDriver('teacher', '/api/teachers');

  /** Everything the test reads and does to one service's canary. */
  function canaryDriver(service: (typeof SERVICES)[number], path: string) {
    /** The route's split as `npm run canary` reads it (a backendRef without a weight weighs 1). */
    const split = () => routeSplit(kubectlJson<HttpRouteView>(state, ['get', 'httproutes.gateway.networking.k8s.io', service, '-n', ns]), routeTarget(service)!)!;
    const canaryWeight = () => split().canaryWeight;
    const rollout = () => kubectlJson<Obj & RolloutStatusView>(state, ['get', 'rollouts.argoproj.io', service, '-n', ns]);
    /** The live Rollout's canary steps. */
    const canarySteps = () => (rollout().spec?.strategy as { canary: { steps: { setWeight?: number; pause?: unknown }[] } }).canary.steps;
    /** Sets the duration of every pause: `first` for the first one, `rest` for the others. */
    const shortenPauses = (first: string, rest: string) => {
      const pauses = canarySteps().flatMap((s, i) => ('pause' in s ? [i] : []));
      const patch = pauses.map((i, n) => ({ op: 'replace', path: `/spec/strategy/canary/steps/${i}/pause/duration`, value: n === 0 ? first : rest }));
      kubectl(state, ['patch', 'rollouts.argoproj.io', service, '-n', ns, '--type', 'json', '-p', JSON.stringify(patch)]);
    };
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
    /** Every canary weight the route had, in order, since the test began (follow adds to it). */
    const weights: number[] = [];
    /** Polls, keeping an eye on the service processes, until `done`; returns the weights seen so far, in order. */
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
      const read = () => {
        const { canaryWeight: canary, stableWeight: stable } = split();
        return { canary, stable };
      };
      await applyKeepingWeights(boxRunner(state), applyCommand(file));
      const byUp = read();
      await runChecked(boxRunner(state), applyCommand(file));
      return { byUp, plain: read() };
    };
    const url = () => `https://${hosts.api}:${traefikEntryPoints.websecure.port}${path}`;
    return { service, url, split, canaryWeight, rollout, canarySteps, shortenPauses, backendCounts, deploy, weights, follow, reapplyDuringCanary };
  }

  beforeAll(async () => {
    // The ECK operator reconciles the logging stack meanwhile; H asserts on it (and reports a failed start).
    startEck().catch(() => {});
    ns = objectsOf('Rollout')[0]!.metadata.namespace!;
    healthy.shortenPauses(BOX_PAUSE, BOX_PAUSE);
    faulty.shortenPauses(FAULTY_FIRST_PAUSE, BOX_PAUSE);
    // 20 requests a second to each service, all through Traefik.
    load = startLoad(state, { ip: traefik.ip, ca: gatewayCa, rps: 20, urls: [healthy.url(), faulty.url()] });
    await waitFor(state, "the load generator's first answers through the gateway", () => {
      const ok = load.read().filter((s) => s.status === 200);
      return ok.some((s) => s.url === healthy.url()) && ok.some((s) => s.url === faulty.url());
    }, 30_000, 'load-generator');
  }, 2 * MINUTE);

  afterAll(async () => {
    await load?.stop();
  });

  it.concurrent('a healthy canary: the plugin sets the weights of every step, traffic follows them, every analysis passes, and the Rollout ends Healthy', async ({ expect }) => {
    const c = healthy;
    const stableBefore = c.rollout().status?.stableRS;
    const shares: { weight: number; share: number }[] = [];
    let reapplied: Awaited<ReturnType<typeof c.reapplyDuringCanary>> | undefined;
    await c.deploy('box-healthy');
    // At each partial weight, the share of Traefik's requests that reached the canary Service during the pause.
    const steps = c.canarySteps().flatMap((s) => (s.setWeight !== undefined && s.setWeight < 100 ? [s.setWeight] : []));
    for (const weight of steps) {
      await c.follow(() => c.canaryWeight() === weight, 4 * MINUTE);
      const before = c.backendCounts();
      await new Promise((res) => setTimeout(res, 20_000));
      const after = c.backendCounts();
      const canary = after.canary - before.canary;
      const total = canary + after.stable - before.stable;
      shares.push({ weight, share: total > 0 ? (100 * canary) / total : NaN });
      if (weight === steps.at(-1)) reapplied = await c.reapplyDuringCanary();
    }
    const end = await c.follow((r) => r.status?.phase === 'Healthy' && r.status?.stableRS !== stableBefore, 6 * MINUTE);
    // up's apply during the canary kept the plugin's weights; the same file applied as synthesized reset them.
    expect(reapplied).toEqual({ byUp: { canary: steps.at(-1), stable: 100 - steps.at(-1)! }, plain: { canary: 1, stable: 1 } });
    console.log(`healthy canary (${c.service}): weights seen ${c.weights.join(' → ')}; measured canary shares ${shares.map((s) => `${s.weight}% → ${s.share.toFixed(1)}%`).join(', ')}`);
    // Tolerance: 5 points (Traefik's weighted round robin is exact; the window edges and scrape timing blur it).
    for (const s of shares) expect(Math.abs(s.share - s.weight)).toBeLessThanOrEqual(5);
    // Each step's weight in order (the 1 is the plain re-apply's reset, checked above).
    expect([...new Set(c.weights.filter((w) => steps.includes(w)))]).toEqual(steps);
    expect(c.canaryWeight()).toBe(0);
    const runs = kubectlJson<{ items: (Obj & { status?: { phase?: string } })[] }>(state, ['get', 'analysisruns.argoproj.io', '-n', ns, '-l', `rollouts-pod-template-hash=${end.rollout.status?.currentPodHash}`]).items;
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const run of runs) expect({ run: run.metadata.name, phase: run.status?.phase }).toEqual({ run: run.metadata.name, phase: 'Successful' });
  }, 15 * MINUTE);

  it.concurrent("a faulty canary (npm run canary's FAULT_RATE) fails the success-ratio gates: the Rollout aborts and every weight returns to stable", async ({ expect }) => {
    const c = faulty;
    const stableBefore = c.rollout().status?.stableRS;
    const since = Date.now();
    await c.deploy('box-faulty', 0.5);
    let firstCanary: number | undefined;
    const end = await c.follow((r) => {
      if (firstCanary === undefined && c.canaryWeight() > 0) firstCanary = Date.now();
      return r.status?.abort === true && c.canaryWeight() === 0;
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
    console.log(`faulty canary's (${c.service}) measurements: ${JSON.stringify(runs.map((r) => ({ run: r.metadata.name, metrics: (r.status?.metricResults ?? []).map((m) => ({ name: m.name, phase: m.phase, measurements: (m.measurements ?? []).map((x) => `${x.phase} ${x.value}`) })) })))}`);
    for (const gate of ['success-ratio', 'gateway-success-ratio']) {
      const failedWithValue = measured(gate).filter((x) => x.phase === 'Failed' && x.value !== undefined);
      expect({ gate, failedWithValue: failedWithValue.length > 0 }).toEqual({ gate, failedWithValue: true });
      for (const x of failedWithValue) expect(x.value).toBeLessThan(defaultCanaryThresholds.minSuccessRatio);
    }
    // The blast radius: the failed user requests to this service from the faulty canary's first request to
    // the abort, against what the same traffic would have met on a plain rolling update (every request on the faulty version).
    const samples = (await load.snapshot()).filter((s) => s.url === c.url() && s.t >= (firstCanary ?? since) && s.t <= abortedAt);
    const failedRequests = samples.filter((s) => s.status >= 500 || s.status === 0).length;
    const rollingUpdate = Math.round(samples.length * 0.5);
    console.log(`blast radius: ${failedRequests} failed of ${samples.length} user requests from the faulty canary's first weight to the abort (${((abortedAt - (firstCanary ?? since)) / 1000).toFixed(0)} s), against about ${rollingUpdate} on a plain rolling update (FAULT_RATE 0.5 on every request): ${(failedRequests / Math.max(1, rollingUpdate) * 100).toFixed(0)} %`);
    expect(failedRequests).toBeGreaterThan(0);
    expect(failedRequests).toBeLessThan(rollingUpdate / 2);
  }, 12 * MINUTE);

  it("the ingress-nginx-style gate (the app's namespace label on the gateway's metric) finds nothing in the real metrics: it would have aborted that healthy canary", () => {
    const oldStyle = prometheus.query(`sum(rate(traefik_service_requests_total{namespace="${ns}"}[${ANALYSIS_WINDOW}]))`);
    expect(oldStyle).toEqual([]);
    // len(result) > 0 is false for it, while the gate as shipped reads the same traffic.
    const shipped = canaryMetrics().find((m) => m.clusterOnly)!;
    const result = prometheus.query(withArgs(shipped.query, { service: healthy.service, namespace: ns, 'canary-hash': 'unused', 'canary-service': healthy.service }));
    expect(result.length).toBe(1);
  });
});

/**
 * The real ECK operator (issue 13). G's setup starts it, so that it reconciles while the canaries wait
 * and H finds its work done; when G does not run (a name filter), H's own setup starts it.
 */
let eckStarted: Promise<RunningEck> | undefined;
const startEck = () => (eckStarted ??= startEckOperator(state, eckReleaseFromDist(dist)));

describe('H. logs: the real ECK operator reconciles our Elasticsearch, Kibana, Logstash and Filebeat', () => {
  // What the box can prove is what the operator makes of our objects. Elasticsearch itself never runs
  // here, so it never turns green and nothing the operator asks of its API is answered: kwok's pods run no
  // containers, and the cluster DNS names the operator dials resolve nowhere in the box. Those failures,
  // and only those, are allowed in its log (the last test).
  interface Ctr { name: string; image?: string; env?: { name: string; value?: string; valueFrom?: unknown }[]; resources?: unknown; volumeMounts?: { name: string; mountPath: string }[] }
  interface PodSpecView { containers: Ctr[]; initContainers?: Ctr[]; volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[] }
  interface Claim { metadata: { name: string }; spec: { accessModes?: string[]; resources?: { requests?: Record<string, string> }; storageClassName?: string } }
  interface Workload extends Obj { spec: { replicas?: number; template: { spec: PodSpecView }; volumeClaimTemplates?: Claim[] } }
  interface NodeSet { name: string; count: number; config: Record<string, unknown>; podTemplate: { spec: PodSpecView }; volumeClaimTemplates: Claim[] }

  let eck: RunningEck;
  let began: number;
  const one = (kind: string) => {
    const all = objectsOf(kind);
    expect(all.map((o) => o.metadata.name)).toHaveLength(1);
    return all[0]!;
  };
  const es = () => one('Elasticsearch');
  const nodeSet = () => (es().spec!.nodeSets as NodeSet[])[0]!;
  /** The object once the operator made it. */
  const made = <T = Obj>(kind: string, name: string, ns: string) =>
    waitFor(state, `${kind} ${ns}/${name} made by the ECK operator`, () => kubectlJson<T>(state, ['get', kind, name, '-n', ns]), 2 * MINUTE, 'eck-operator');
  const secretData = (ns: string, name: string) =>
    waitFor(state, `Secret ${ns}/${name} made by the ECK operator`, () => boxSecret(state, ns, name), 2 * MINUTE, 'eck-operator');
  const container = (spec: PodSpecView, name: string) => {
    const c = spec.containers.find((x) => x.name === name);
    expect(c, `container ${name}`).toBeDefined();
    return c!;
  };
  type Tree = Record<string, unknown>;
  const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);
  /**
   * A settings file's tree with every dotted key expanded (`a.b: x` becomes `a: {b: x}`), as Elastic's
   * settings files read them: the operator writes ours back nested, so both sides are compared expanded.
   */
  const expand = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(expand);
    if (!isTree(v)) return v;
    const out: Tree = {};
    const put = (at: Tree, key: string, value: unknown) => {
      at[key] = isTree(at[key]) && isTree(value) ? Object.entries(value).reduce((t, [k, x]) => (put(t, k, x), t), at[key] as Tree) : value;
    };
    for (const [k, x] of Object.entries(v)) {
      const path = k.split('.');
      let at = out;
      for (const p of path.slice(0, -1)) at = (isTree(at[p]) ? at[p] : (at[p] = {})) as Tree;
      put(at, path.at(-1)!, expand(x));
    }
    return out;
  };
  /** A setting by its dotted name in a settings file's tree (read with parse, however it was written). */
  const setting = (config: Tree, key: string): unknown => key.split('.').reduce<unknown>((at, p) => (isTree(at) ? at[p] : undefined), expand(config));
  const claimShape = (c: Claim) => ({ name: c.metadata.name, accessModes: c.spec.accessModes, storage: c.spec.resources?.requests?.storage });
  /** The workload's pods: made, admitted under their namespace's Pod Security level, scheduled on the node, every claim bound. */
  const podsRunning = async (ns: string, selector: string, count: number) => {
    const pods = await waitFor(state, `${count} pod(s) ${selector} in ${ns} Running`, () => {
      const items = kubectlJson<{ items: (Obj & PodForRefs)[] }>(state, ['get', 'pods', '-n', ns, '-l', selector]).items;
      return items.length === count && items.every((p) => p.status?.phase === 'Running') ? items : undefined;
    }, 2 * MINUTE, 'eck-operator');
    for (const p of pods) expect((p.spec as { nodeName?: string }).nodeName).toBe('courseops-control-plane');
    const claims = podsClaims(pods);
    for (const c of claims) {
      const phase = await waitFor(state, `claim ${ns}/${c} Bound`, () => kubectlJson<Obj>(state, ['get', 'pvc', c, '-n', ns]).status?.phase === 'Bound', MINUTE);
      expect({ claim: c, bound: phase }).toEqual({ claim: c, bound: true });
    }
    return { pods, claims };
  };
  const podsClaims = (pods: PodForRefs[]) => pods.flatMap(podReferences).filter((r) => r.kind === 'PersistentVolumeClaim').map((r) => r.name);

  beforeAll(async () => {
    began = Date.now();
    eck = await startEck();
  }, 5 * MINUTE);

  afterAll(() => {
    console.log(`H: ${((Date.now() - (began ?? Date.now())) / 1000).toFixed(1)} s (operator start to its controllers' workers: ${eck ? (eck.startMs / 1000).toFixed(1) : '?'} s)`);
  });

  it('runs the build of 3.5.0 with the configuration the eck-operator chart renders for our values, the webhook off', () => {
    const release = eckReleaseFromDist(dist);
    expect(release.version).toBe(boxTools.eckOperator.version);
    expect(eck.config).toMatchObject({ 'operator-namespace': release.namespace, 'disable-telemetry': true, 'distribution-channel': 'helm', 'enable-webhook': false, 'metrics-port': 0, 'enable-leader-election': true });
    expect(eck.config).not.toHaveProperty('webhook-port');
    const lines = eckLogLines(eck.log);
    expect(lines.find((l) => l.message === 'Starting the manager')).toMatchObject({ namespace: release.namespace, version: boxTools.eckOperator.version, build_snapshot: 'false' });
    expect(lines.find((l) => l.message === 'Operator license key validated')).toMatchObject({ license_type: 'basic' });
  });

  it('Elasticsearch: a StatefulSet of our node set with our data claim, resources and the snapshot repository volume; its pod admitted, scheduled, its claims bound', async () => {
    const { metadata } = es();
    const ns = metadata.namespace!;
    const ours = nodeSet();
    const sts = await made<Workload>('statefulset', `${metadata.name}-es-${ours.name}`, ns);
    expect(sts.spec.replicas).toBe(ours.count);
    expect(sts.spec.volumeClaimTemplates!.map(claimShape)).toEqual(ours.volumeClaimTemplates.map(claimShape));
    const spec = sts.spec.template.spec;
    const live = container(spec, 'elasticsearch');
    const mine = container(ours.podTemplate.spec, 'elasticsearch');
    expect(live.image).toBe(es().spec!.image);
    expect(live.resources).toEqual(mine.resources);
    expect(live.env).toEqual(expect.arrayContaining(mine.env!));
    for (const v of ours.podTemplate.spec.volumes!) expect(spec.volumes).toContainEqual(expect.objectContaining(v));
    for (const m of mine.volumeMounts!) expect(live.volumeMounts).toContainEqual(expect.objectContaining(m));
    const { claims } = await podsRunning(ns, `elasticsearch.k8s.elastic.co/statefulset-name=${sts.metadata.name}`, ours.count);
    // The data claim of the template and the standalone snapshot claim, both bound (kwok plays kind's provisioner).
    expect(claims.sort()).toEqual([...ours.volumeClaimTemplates.map((t) => `${t.metadata.name}-${sts.metadata.name}-0`), ...ours.podTemplate.spec.volumes!.flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []))].sort());
  });

  it("Elasticsearch: the elasticsearch.yml the operator renders carries our settings and a single node's discovery", async () => {
    const { metadata } = es();
    const ours = nodeSet();
    const sts = `${metadata.name}-es-${ours.name}`;
    const yml = parse((await secretData(metadata.namespace!, `${sts}-es-config`))['elasticsearch.yml']!) as Record<string, unknown>;
    for (const [key, value] of Object.entries(ours.config)) expect({ key, value: setting(yml, key) }).toEqual({ key, value: expand(value) });
    expect(setting(yml, 'node.store.allow_mmap')).toBe(false);
    expect(setting(yml, 'path.repo')).toEqual([SNAPSHOT_PATH]);
    // One node: it bootstraps the cluster with itself as the only master, and finds no other (file-based seed hosts, empty).
    expect(setting(yml, 'cluster.initial_master_nodes')).toEqual([`${sts}-0`]);
    expect(setting(yml, 'discovery.seed_providers')).toBe('file');
    expect(setting(yml, 'discovery.seed_hosts')).toEqual([]);
    expect(setting(yml, 'cluster.name')).toBe(metadata.name);
    // TLS on the HTTP layer, as our `http: {}` leaves it.
    expect(String(setting(yml, 'xpack.security.http.ssl.enabled'))).toBe('true');
  });

  it('Elasticsearch: accepted as valid, running the desired version, and reported unreachable, as it is here (never green)', async () => {
    const { metadata } = es();
    type Condition = { type: string; status: string; message?: string };
    const status = await waitFor(state, 'the Elasticsearch status', () => {
      const s = kubectlJson<Obj>(state, ['get', 'elasticsearches.elasticsearch.k8s.elastic.co', metadata.name, '-n', metadata.namespace!]).status;
      const conditions = (s?.conditions as Condition[] | undefined) ?? [];
      return conditions.some((c) => c.type === 'ElasticsearchIsReachable') ? { phase: s?.phase, health: s?.health, conditions } : undefined;
    }, MINUTE, 'eck-operator');
    const condition = (type: string) => status.conditions.find((c) => c.type === type);
    expect(status.phase).not.toBe('Invalid');
    expect(condition('RunningDesiredVersion')).toMatchObject({ status: 'True', message: `All nodes are running version ${es().spec!.version}` });
    // kwok's pod is Ready and behind the Service, but no Elasticsearch answers: health stays unknown.
    expect(condition('ElasticsearchIsReachable')).toMatchObject({ status: 'False' });
    expect(status.health).not.toBe('green');
  });

  it("Elasticsearch: the file realm holds our users with the passwords of our Secrets and the roles they name, none shadowed by a file role", async () => {
    const { metadata, spec } = es();
    const ns = metadata.namespace!;
    const realm = await secretData(ns, `${metadata.name}-es-xpack-file-realm`);
    const users = new Map(realm.users!.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)] as const));
    const usersRoles = new Map(realm.users_roles!.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).split(',')] as const));
    const refs = (spec!.auth as { fileRealm: { secretName: string }[] }).fileRealm;
    expect(refs.length).toBeGreaterThan(0);
    const ourRoles = new Set<string>();
    for (const { secretName } of refs) {
      const s = await secretData(ns, secretName);
      // The operator hashed the password our bring-up generated (bcrypt), not another.
      expect({ user: s.username, matches: bcrypt.compareSync(s.password!, users.get(s.username!) ?? '') }).toEqual({ user: s.username, matches: true });
      for (const role of s.roles!.split(',')) {
        ourRoles.add(role);
        expect({ role, users: usersRoles.get(role) ?? [] }).toEqual({ role, users: expect.arrayContaining([s.username]) });
      }
    }
    // Our roles (all but the built-in superuser) are defined by the bootstrap Job through the role API; a
    // file role of the same name would take precedence over it. roles.yml holds the operator's own only.
    const fileRoles = Object.keys((parse(realm['roles.yml'] ?? '') as Record<string, unknown> | null) ?? {});
    expect(fileRoles.length).toBeGreaterThan(0);
    expect([...ourRoles].filter((r) => fileRoles.includes(r))).toEqual([]);
  });

  it('Kibana: a Deployment with our resources, associated with our Elasticsearch; its pod admitted and scheduled', async () => {
    const kb = one('Kibana');
    const ns = kb.metadata.namespace!;
    const dep = await made<Workload>('deployment', `${kb.metadata.name}-kb`, ns);
    expect(dep.spec.replicas).toBe(kb.spec!.count);
    const mine = container((kb.spec!.podTemplate as { spec: PodSpecView }).spec, 'kibana');
    const live = container(dep.spec.template.spec, 'kibana');
    expect(live.resources).toEqual(mine.resources);
    expect(live.env).toEqual(expect.arrayContaining(mine.env!));
    const status = await waitFor(state, 'Kibana associated', () => {
      const s = kubectlJson<Obj>(state, ['get', 'kibanas.kibana.k8s.elastic.co', kb.metadata.name, '-n', ns]).status;
      return s?.associationStatus === 'Established' ? s : undefined;
    }, MINUTE, 'eck-operator');
    expect(status.associationStatus).toBe('Established');
    const yml = parse((await secretData(ns, `${kb.metadata.name}-kb-config`))['kibana.yml']!) as Record<string, unknown>;
    expect(setting(yml, 'elasticsearch.hosts')).toEqual([urls.elasticsearch]);
    for (const [key, value] of Object.entries(kb.spec!.config as Record<string, unknown>)) expect({ key, value: setting(yml, key) }).toEqual({ key, value: expand(value) });
    await podsRunning(ns, `kibana.k8s.elastic.co/name=${kb.metadata.name}`, kb.spec!.count as number);
  });

  it('Logstash: our pipelines, and the Elasticsearch output settings the operator injects as the env vars our pipeline reads', async () => {
    const ls = one('Logstash');
    const ns = ls.metadata.namespace!;
    const sts = await made<Workload>('statefulset', `${ls.metadata.name}-ls`, ns);
    const pipelines = parse((await secretData(ns, `${ls.metadata.name}-ls-pipeline`))['pipelines.yml']!) as Record<string, unknown>[];
    expect(pipelines).toEqual(ls.spec!.pipelines);
    const live = container(sts.spec.template.spec, 'logstash');
    const env = new Map((live.env ?? []).map((e) => [e.name, e]));
    const ref = (ls.spec!.elasticsearchRefs as { clusterName: string }[])[0]!;
    const prefix = ref.clusterName.toUpperCase();
    expect(env.get(`${prefix}_ES_HOSTS`)?.value).toBe(urls.elasticsearch);
    // The CA file lies in a volume the operator mounts into the container.
    const ca = env.get(`${prefix}_ES_SSL_CERTIFICATE_AUTHORITY`)?.value;
    expect(ca).toMatch(/\/ca\.crt$/);
    expect(live.volumeMounts!.some((m) => ca!.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))).toBe(true);
    // Every ${VAR} the pipelines read is set in the container: ours (the writer's credentials) and the operator's.
    const read = [...new Set(pipelines.flatMap((p) => [...String(p['config.string']).matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!)))];
    expect(read).toEqual(expect.arrayContaining([`${prefix}_ES_HOSTS`, `${prefix}_ES_SSL_CERTIFICATE_AUTHORITY`]));
    for (const name of read) expect({ name, set: env.has(name) }).toEqual({ name, set: true });
    expect(sts.spec.volumeClaimTemplates!.map(claimShape)).toEqual(expect.arrayContaining((ls.spec!.volumeClaimTemplates as Claim[]).map(claimShape)));
    expect(sts.spec.template.spec.initContainers?.map((c) => c.name)).toContain(LOGSTASH_INIT_CONTAINER);
    await podsRunning(ns, `logstash.k8s.elastic.co/name=${ls.metadata.name}`, ls.spec!.count as number);
  });

  it("Filebeat: a DaemonSet with our inputs and output.logstash on the Logstash beats Service the operator made", async () => {
    const beat = one('Beat');
    const ns = beat.metadata.namespace!;
    const type = beat.spec!.type as string;
    await made<Workload>('daemonset', `${beat.metadata.name}-beat-${type}`, ns);
    const yml = parse((await secretData(ns, `${beat.metadata.name}-beat-${type}-config`))['beat.yml']!) as Record<string, unknown>;
    const ours = beat.spec!.config as Record<string, unknown>;
    expect(setting(yml, 'filebeat.inputs')).toEqual(setting(ours, 'filebeat.inputs'));
    const hosts = setting(yml, 'output.logstash.hosts') as string[];
    expect(hosts).toEqual(setting(ours, 'output.logstash.hosts'));
    // The host is the Service the operator made for our Logstash's `beats` service, on its port.
    const ls = one('Logstash');
    const svcName = `${ls.metadata.name}-ls-${(ls.spec!.services as { name: string }[])[0]!.name}`;
    const svc = await made<Obj & { spec: { ports: { port: number }[] } }>('service', svcName, ls.metadata.namespace!);
    expect(hosts).toEqual([`${svcName}.${ls.metadata.namespace}.svc:${svc.spec.ports[0]!.port}`]);
    await podsRunning(ns, `beat.k8s.elastic.co/name=${beat.metadata.name}`, 1);
  });

  it("every object the operator's pods reference exists, the Secrets B took on trust among them", () => {
    const namespaces = [...new Set(['Elasticsearch', 'Kibana', 'Logstash', 'Beat'].flatMap((k) => objectsOf(k).map((o) => o.metadata.namespace!)))];
    const existing = new Set<string>();
    const podsThere: PodForRefs[] = [];
    for (const ns of namespaces) {
      for (const kind of ['secrets', 'configmaps', 'serviceaccounts', 'persistentvolumeclaims']) {
        for (const o of kubectlJson<{ items: Obj[] }>(state, ['get', kind, '-n', ns]).items) existing.add(refKey(o.kind, ns, o.metadata.name));
      }
      podsThere.push(...kubectlJson<{ items: (PodForRefs & Obj)[] }>(state, ['get', 'pods', '-n', ns, '-l', 'common.k8s.elastic.co/type']).items);
    }
    expect(podsThere.length).toBeGreaterThanOrEqual(4);
    expect(missingReferences(podsThere, existing)).toEqual([]);
    for (const e of objectsOf('Elasticsearch')) for (const s of ['es-http-certs-public', 'es-elastic-user']) expect(existing).toContain(refKey('Secret', e.metadata.namespace!, `${e.metadata.name}-${s}`));
    for (const k of objectsOf('Kibana')) expect(existing).toContain(refKey('Secret', k.metadata.namespace!, `${k.metadata.name}-kb-http-certs-public`));
  });

  /** The host names the operator dials for our Elasticsearch: its Services' and its pods' (`<pod>.<headless Service>.<namespace>`). */
  const esHosts = () => objectsOf('Elasticsearch').map((e) => `${e.metadata.name}-es-[a-z0-9-]+(\\.${e.metadata.name}-es-[a-z0-9-]+)?\\.${e.metadata.namespace}(\\.svc)?(\\.cluster\\.local)?`).join('|');
  const cannotReachElasticsearch = () => new RegExp(`https://(${esHosts()}):\\d+/.*: dial tcp: lookup (${esHosts()}) on [^ ]+: .*(network is unreachable|connection refused|no such host|i/o timeout|server misbehaving)`);
  /**
   * controller-runtime reads from an informer cache, so a reconcile that runs before the cache holds the
   * object the previous one created tries to create it again and logs `already exists` (a busy machine
   * widens that window). Allowed only for an object that is there now and is named for one of our ECK objects.
   */
  const createdTwiceByCacheLag = (t: string) => {
    const m = /Reconciler error:? .*?(statefulsets|services|secrets|configmaps|daemonsets|deployments)\.?(apps)? "([^"]+)" already exists/.exec(t);
    return m !== null && ourEckObjectExists(m[1]!, m[3]!, (owner) => m[3]!.startsWith(`${owner}-`));
  };
  /** Whether `resource` `name` exists now in the namespace of the ECK object it is named for (`namedFor` an owner's name). */
  const ourEckObjectExists = (resource: string, name: string, namedFor: (owner: string) => boolean) => {
    const owner = ['Elasticsearch', 'Kibana', 'Logstash', 'Beat'].flatMap(objectsOf).find((o) => namedFor(o.metadata.name));
    if (!owner) return false;
    return kubectlJson<{ items: Obj[] }>(state, ['get', resource, '-n', owner.metadata.namespace!]).items.some((o) => o.metadata.name === name);
  };
  /**
   * An update that lost a race with another writer of the same object (optimistic concurrency, as the API
   * server means it to work): the operator reads the object again and retries. Allowed only for an object
   * that is there now and is named for one of our ECK objects.
   */
  const updateConflictRetried = (t: string) => {
    const m = /Operation cannot be fulfilled on (persistentvolumeclaims|statefulsets\.apps|services|secrets|configmaps|daemonsets\.apps|deployments\.apps|pods) "([^"]+)": the object has been modified/.exec(t);
    // A claim is named after its volume claim template, then the owner (elasticsearch-data-<name>-es-…).
    return m !== null && ourEckObjectExists(m[1]!, m[2]!, (owner) => m[2]!.startsWith(`${owner}-`) || m[2]!.includes(`-${owner}-`));
  };
  /** Every error the box lets pass, and why. */
  const eckAllowList: { why: string; test: (text: string) => boolean }[] = [
    { why: "the operator's calls to our Elasticsearch's API: no cluster DNS and no Elasticsearch in the box", test: (t) => cannotReachElasticsearch().test(t) },
    // automemlimit (ECK's main) sets GOMEMLIMIT from the container's memory limit; out of a container there is none.
    { why: 'no cgroup memory limit out of a container', test: (t) => /failed to set GOMEMLIMIT: process is not in cgroup/.test(t) },
    { why: "a create repeated before the operator's cache saw the first (the retry finds it; the object exists and is one of ours)", test: (t) => createdTwiceByCacheLag(t) },
    { why: 'an update that lost a race with another writer of the same object (the operator reads it again and retries; it is one of ours)', test: (t) => updateConflictRetried(t) },
  ];
  /** JSON lines at level error and above; other lines (klog's, Go's) by their own level marks; anything unrecognised counts. */
  const isEckError = (l: EckLogLine) =>
    l['log.level'] !== 'raw' ? /^(error|dpanic|panic|fatal)$/.test(l['log.level']) : !/^[IW]\d{4} |^\d{4}\/\d\d\/\d\d \S+ (INFO|WARN|DEBUG) /.test(l.message);
  const eckLineText = (l: EckLogLine) => `${l.message} ${l.error ?? ''}`;
  const unexpectedEckErrors = (lines: EckLogLine[]) => lines.filter(isEckError).filter((l) => !eckAllowList.some((a) => a.test(eckLineText(l))));

  it("the operator's log has no error but failing to reach Elasticsearch: none about our objects' validity or their reconciliation", () => {
    const errors = eckLogLines(eck.log).filter(isEckError);
    const unexpected = unexpectedEckErrors(eckLogLines(eck.log));
    if (unexpected.length) console.log(`unexpected lines in the ECK operator's log:\n${unexpected.map((l) => JSON.stringify(l)).join('\n')}`);
    const counts = eckAllowList.map((a) => `${errors.filter((l) => a.test(eckLineText(l))).length} × ${a.why}`);
    console.log(`ECK operator log: ${errors.length} error line(s) in ${((Date.now() - eck.startedAt) / 1000).toFixed(0)} s of running: ${counts.join('; ')}`);
    expect(unexpected.map((l) => `${l.message}: ${l.error ?? ''}`)).toEqual([]);
    // Warning events on our ECK objects (where the operator reports validation and reconciliation errors):
    // none but the same unreachable API, and the note of an association not yet written that a controller
    // makes when it runs before the association's own (each ends Established).
    const kinds = ['Elasticsearch', 'Kibana', 'Logstash', 'Beat'];
    const namespaces = [...new Set(kinds.flatMap((k) => objectsOf(k).map((o) => o.metadata.namespace!)))];
    const warnings = namespaces
      .flatMap((ns) => kubectlJson<{ items: { reason: string; message?: string; involvedObject: { kind: string; name: string; namespace: string } }[] }>(state, ['get', 'events', '-n', ns, '--field-selector', 'type=Warning']).items)
      .filter((e) => kinds.includes(e.involvedObject.kind));
    const established = (o: { kind: string; name: string; namespace: string }) => {
      const s = kubectlJson<Obj>(state, ['get', `${o.kind.toLowerCase()}.${o.kind.toLowerCase()}.k8s.elastic.co`, o.name, '-n', o.namespace]).status;
      const all = [s?.associationStatus, ...Object.values((s?.elasticsearchAssociationsStatus as Record<string, string> | undefined) ?? {})].filter(Boolean);
      return all.length > 0 && all.every((x) => x === 'Established');
    };
    const allowedEvent = (e: (typeof warnings)[number]) =>
      cannotReachElasticsearch().test(e.message ?? '') ||
      (e.reason === 'AssociationError' && e.message === 'Association backend for elasticsearch is not configured' && established(e.involvedObject));
    expect(warnings.filter((e) => !allowedEvent(e)).map((e) => `${e.involvedObject.kind} ${e.involvedObject.name}: ${e.reason}: ${e.message}`)).toEqual([]);
  });

  it('marks an Elasticsearch it cannot run Invalid, and the log check catches it (negative control: with the webhook off, the controller validates)', async () => {
    const ns = es().metadata.namespace!;
    const name = 'invalid-check';
    const from = eckLogLines(eck.log).length;
    // A version below every version ECK 3.5 supports: the webhook would refuse it; here the API server takes it.
    kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'elasticsearch.k8s.elastic.co/v1', kind: 'Elasticsearch', metadata: { name, namespace: ns },
      spec: { version: '6.8.0', nodeSets: [{ name: 'default', count: 1 }] },
    }));
    try {
      await waitFor(state, `Elasticsearch ${name} judged Invalid`, () => kubectlJson<Obj>(state, ['get', 'elasticsearches.elasticsearch.k8s.elastic.co', name, '-n', ns]).status?.phase === 'Invalid', MINUTE, 'eck-operator');
      const caught = await waitFor(state, `the operator's log to report ${name}`, () => {
        const lines = unexpectedEckErrors(eckLogLines(eck.log).slice(from));
        return lines.length > 0 ? lines : undefined;
      }, 30_000, 'eck-operator');
      console.log(`negative control, caught: ${caught.map((l) => `${l.message}: ${l.error ?? ''}`).join(' | ')}`);
      expect(caught.some((l) => JSON.stringify(l).includes(name))).toBe(true);
      expect(kubectl(state, ['get', 'statefulsets', '-n', ns, '-o', 'name'])).not.toContain(`${name}-es-`);
    } finally {
      kubectl(state, ['delete', 'elasticsearches.elasticsearch.k8s.elastic.co', name, '-n', ns, '--wait=false']);
    }
  });
});
