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
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNetns, boxNamespaces } from '../box/netns.js';
import { kubectl, kubectlJson, processAlive, startBox, stopBox, waitFor, type BoxState } from '../box/control-plane.js';
import { applyCrds, applyPlatform, boxRunner, upSteps, type ApplyOutcome } from '../box/platform.js';
import { boxGet, kpsOperatorArgs, startArgoRollouts, startPrometheusOperator } from '../box/operators.js';
import { outOfClusterConfig, readGeneratedConfig, startPrometheus, type RunningPrometheus } from '../box/prometheus.js';
import { startServicePods, type ServicePod } from '../box/service-pods.js';
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
  let prometheus: RunningPrometheus;
  let pods: ServicePod[];
  const services = ['course', 'teacher', 'status'] as const;
  const apiPath: Record<string, string> = { course: '/api/courses', teacher: '/api/teachers', status: '/api/status' };

  let appsNamespace: string;

  beforeAll(async () => {
    appsNamespace = objectsOf('Rollout')[0]!.metadata.namespace!;
    pods = startServicePods(state, appsNamespace, services);
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
