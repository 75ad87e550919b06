/**
 * The `cluster` profile proven in a box shaped like a small cloud cluster (issue 16): the real control plane of
 * box.test.ts, but with three kwok nodes in three zones (zone-a/b/c) and a default StorageClass whose volumes are
 * zonal, as a cloud's block storage is (scripts/box/zones.ts). dist/ is synthesized from a cluster-profile config
 * file and applied with up's own `--context` steps; the real Argo Rollouts controller runs the services, whose
 * pods run the real service processes (their readiness is real). Every assertion reads what a real component did:
 * the scheduler's placements, the eviction API's answers, the disruption controller's PDB status, the admission
 * plugins' verdicts, the CRDs' validation.
 *
 * What the box cannot show: NetworkPolicies are stored and select pods here, but nothing enforces them (no CNI);
 * kwok deletes an evicted pod at once instead of after its grace period; cert-manager and Traefik do not run, so no
 * certificate is issued.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boxNamespaces, inNetns } from '../box/netns.js';
import { BOX_CONTEXT, kubectl, kubectlJson, processAlive, startBox, startProcess, stopBox, waitFor, type BoxState } from '../box/control-plane.js';
import { applyCrds, applyPlatform, upSteps, type ApplyOutcome } from '../box/platform.js';
import { startArgoRollouts } from '../box/operators.js';
import { ServicePodKeeper } from '../box/service-pods.js';
import { REGION_LABEL, ZONE_LABEL, zonalStorageClass, zonesTopology } from '../box/zones.js';
import { spawnRunner, type Runner } from '../cluster/commands.js';
import { ClusterCheckError, DEFAULT_CLASS_ANNOTATION, runChecks } from '../cluster/cluster-checks.js';
import { loadDist } from '../cluster/inputs.js';
import { buildPlan } from '../cluster/plan.js';
import { KUBERNETES_VERSION } from '../box/tools.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(REPO, 'scripts/test/fixtures/cluster-profile.config.yaml');
const MINUTE = 60_000;
const SERVICES = ['course', 'teacher', 'status'] as const;

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}
interface PodObj extends Obj {
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

const topology = zonesTopology(3);
const zoneOf = new Map(topology.nodes.map((n) => [n.name, n.zone]));
const netns = `courseops-zones-test-${process.pid}`;
/** What `up --context` is pointed at: the box's kubeconfig has this one context. */
const target = { context: BOX_CONTEXT };

let state: BoxState;
let dist: string;
let distObjects: Obj[];
let checkNotes: string[];
let applied: ApplyOutcome;
let keeper: ServicePodKeeper;
const started = Date.now();
/** Where the time goes (the test runs inside `npm test`, so it must stay quick). */
const lap = (what: string) => console.log(`[box-zones] ${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
const objectsOf = (kind: string) => distObjects.filter((o) => o.kind === kind);
const appsNamespace = () => objectsOf('Rollout')[0]!.metadata.namespace!;

/**
 * up's runner for `--context` commands, with kubectl at the box's kubeconfig: the context name is kept, so kubectl
 * resolves it there as it would in the user's kubeconfig (platform.ts's boxRunner drops it instead).
 */
const contextRunner: Runner = (argv, options) => {
  if (argv[0] !== 'kubectl') return Promise.reject(new Error(`only kubectl runs against the box, not: ${argv.join(' ')}`));
  return spawnRunner(inNetns(state.netns, [state.binaries.kubectl!, `--kubeconfig=${state.kubeconfig}`, ...argv.slice(1)]), options);
};
const kubectlAtContext = (...args: string[]) => contextRunner(['kubectl', '--context', BOX_CONTEXT, ...args]);

/** up's own `checks` step of the `--context` plan, run for real against the box. */
function upChecksStep() {
  const step = buildPlan({ dist: loadDist(dist), synth: false, target }).find((s) => s.type === 'checks');
  if (!step || step.type !== 'checks') throw new Error("up --context's plan has no checks step");
  return step;
}

const pods = (namespace: string, selector?: string) => kubectlJson<{ items: PodObj[] }>(state, ['get', 'pods', '-n', namespace, ...(selector ? ['-l', selector] : [])]).items;
const isReady = (p: PodObj) => !p.metadata.deletionTimestamp && p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
/** A POST to the eviction API, as drain makes: kubectl's output, or a throw with the API server's refusal. */
const evict = (p: PodObj) =>
  kubectl(state, ['create', '--raw', `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}/eviction`, '-f', '-'],
    JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: p.metadata.name, namespace: p.metadata.namespace } }));
const serviceSelector = (service: string) => `app.kubernetes.io/instance=${service},app.kubernetes.io/component=api`;

/** A label selector as kubectl's -l takes it, so the API server itself says which pods a policy selects. */
function selectorString(sel: Selector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In' || e.operator === 'NotIn') parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else throw new Error(`unknown selector operator ${e.operator}`);
  }
  return parts.join(',');
}

/**
 * Every service's pods: `replicas` Ready, none terminating, none on `avoid`, in as many zones as pods.
 * Returns the service's pods' zones, or undefined while that does not hold yet.
 */
function spreadAndReady(avoid?: string): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {};
  for (const ro of objectsOf('Rollout')) {
    const live = pods(ro.metadata.namespace!, serviceSelector(ro.metadata.name)).filter((p) => !p.metadata.deletionTimestamp);
    const replicas = ro.spec?.replicas as number;
    if (live.length !== replicas || !live.every(isReady) || live.some((p) => p.spec.nodeName === avoid)) return undefined;
    const zones = live.map((p) => zoneOf.get(p.spec.nodeName!)!);
    if (new Set(zones).size !== replicas) throw new Error(`${ro.metadata.name}: ${replicas} Ready pods in zones ${zones.join(', ')}`);
    out[ro.metadata.name] = zones.sort();
  }
  return out;
}

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), 'courseops-zones-dist-'));
  execFileSync(process.execPath, ['--import', 'tsx', 'cdk8s/src/main.ts'], { cwd: REPO, env: { ...process.env, COURSEOPS_CONFIG: CONFIG, COURSEOPS_DIST: dist }, stdio: ['ignore', 'ignore', 'pipe'] });
  distObjects = readdirSync(join(dist, 'manifests')).flatMap((f) =>
    parseAllDocuments(readFileSync(join(dist, 'manifests', f), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean),
  );
  state = await startBox({ dir: mkdtempSync(join(tmpdir(), 'courseops-zones-state-')), netns, topology });
  applyCrds(state);
  lap('dist/ synthesized, box started, CRDs applied');
  // Long enough for a cold build of the box's programs (build.ts; cached, the box starts in about 10 s).
}, 30 * MINUTE);

afterAll(async () => {
  keeper?.stop();
  if (state) await stopBox(state.dir);
  if (dist) rmSync(dist, { recursive: true, force: true });
  // Nothing is left running: no namespace of this box, no process of it.
  expect(boxNamespaces(netns)).toEqual([]);
  for (const p of state?.processes ?? []) expect({ process: p.name, alive: processAlive(p.pid) }).toEqual({ process: p.name, alive: false });
}, 2 * MINUTE);

describe('1. the cluster profile applies with zero errors to 3 nodes in 3 zones, and Pod Security holds', () => {
  beforeAll(async () => {
    // As `up --context` does: its checks before any change, then its secrets and manifests steps.
    const step = upChecksStep();
    checkNotes = await runChecks(step.checks, { runner: contextRunner, context: step.context, beforeChanges: step.beforeChanges });
    applied = await applyPlatform(state, dist, [REPO, dist], undefined, target);
    lap("up --context's checks, secrets and manifests done");
  }, 5 * MINUTE);

  it('dist/ is the cluster profile: 2 replicas per service, zone spread required, a PDB each, an ACME issuer', () => {
    const services = JSON.parse(readFileSync(join(dist, 'services.json'), 'utf8')) as { cluster: { profile: string; issuer: { name: string; existing: boolean } } };
    expect(services.cluster).toMatchObject({ profile: 'cluster', issuer: { name: 'letsencrypt-staging', existing: false } });
    expect(objectsOf('Rollout').map((r) => r.metadata.name).sort()).toEqual([...SERVICES].sort());
    for (const ro of objectsOf('Rollout')) {
      const spread = (ro.spec?.template as { spec: { topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[] } }).spec.topologySpreadConstraints ?? [];
      const zone = spread.find((c) => c.topologyKey === ZONE_LABEL)?.whenUnsatisfiable;
      const pdb = objectsOf('PodDisruptionBudget').find((p) => p.metadata.name === ro.metadata.name);
      expect({ rollout: ro.metadata.name, replicas: ro.spec?.replicas, zone, maxUnavailable: pdb?.spec?.maxUnavailable }).toEqual({ rollout: ro.metadata.name, replicas: 2, zone: 'DoNotSchedule', maxUnavailable: 1 });
    }
    expect(objectsOf('ClusterIssuer').map((i) => Object.keys(i.spec ?? {}))).toEqual([['acme']]);
  });

  it('has 3 Ready nodes, one per zone, each with its own hostname, InternalIP and pod range', () => {
    const nodes = kubectlJson<{ items: (Obj & { spec: { podCIDR?: string }; status: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] } })[] }>(state, ['get', 'nodes']).items;
    expect(nodes.map((n) => n.metadata.name).sort()).toEqual(topology.nodes.map((n) => n.name).sort());
    expect(new Set(nodes.map((n) => n.metadata.labels?.[ZONE_LABEL])).size).toBe(3);
    expect(new Set(nodes.map((n) => n.metadata.labels?.[REGION_LABEL])).size).toBe(1);
    expect(new Set(nodes.map((n) => n.spec.podCIDR)).size).toBe(3);
    expect(new Set(nodes.map((n) => n.status.addresses?.find((a) => a.type === 'InternalIP')?.address)).size).toBe(3);
    for (const n of nodes) expect({ node: n.metadata.name, ready: n.status.conditions?.find((c) => c.type === 'Ready')?.status }).toEqual({ node: n.metadata.name, ready: 'True' });
  });

  it("up --context's version and StorageClass checks pass against the box's kubeconfig, for real", () => {
    expect(upChecksStep().checks.map((c) => c.kind)).toEqual(['server-version', 'storage-class']);
    expect(checkNotes).toEqual([expect.stringContaining(KUBERNETES_VERSION), expect.stringContaining(`StorageClass ${zonalStorageClass.metadata.name}`)]);
  });

  it("applies the Secrets and every manifest with up's --context steps: no error, no warning", () => {
    expect(upSteps(dist, target).map((s) => s.id)).toEqual(['secrets', 'manifests']);
    expect(applied.secrets.length).toBeGreaterThan(0);
    expect(applied.secrets.filter((s) => s.action !== 'created')).toEqual([]);
    // PodSecurity "warn" and deprecation warnings come back here; an error would have thrown.
    expect(applied.warnings).toEqual([]);
  });

  it('every StatefulSet pod is scheduled with its claim bound to a volume in its node’s zone', async () => {
    for (const sts of objectsOf('StatefulSet')) {
      const ns = sts.metadata.namespace!;
      await waitFor(state, `StatefulSet ${ns}/${sts.metadata.name} ready`, () => (kubectlJson<Obj>(state, ['get', 'statefulset', sts.metadata.name, '-n', ns]).status?.readyReplicas as number | undefined) === 1, 2 * MINUTE);
    }
    const volumes = kubectlJson<{ items: { spec: { claimRef?: { name: string; namespace: string }; nodeAffinity?: { required: { nodeSelectorTerms: { matchExpressions: { key: string; values: string[] }[] }[] } } } }[] }>(state, ['get', 'pv']).items;
    for (const sts of objectsOf('StatefulSet')) {
      const pod = kubectlJson<PodObj>(state, ['get', 'pod', `${sts.metadata.name}-0`, '-n', sts.metadata.namespace!]);
      const pv = volumes.find((v) => v.spec.claimRef?.name === `data-${sts.metadata.name}-0`);
      const pvZone = pv?.spec.nodeAffinity?.required.nodeSelectorTerms[0]?.matchExpressions.find((e) => e.key === ZONE_LABEL)?.values;
      expect({ sts: sts.metadata.name, pvZone }).toEqual({ sts: sts.metadata.name, pvZone: [zoneOf.get(pod.spec.nodeName!)] });
    }
  }, 3 * MINUTE);

  it('every CronJob makes a Job whose pod is admitted under Pod Security, scheduled and completes', async () => {
    const cronJobs = objectsOf('CronJob');
    expect(cronJobs.length).toBeGreaterThan(0);
    for (const cj of cronJobs) kubectl(state, ['create', 'job', `${cj.metadata.name}-box`, `--from=cronjob/${cj.metadata.name}`, '-n', cj.metadata.namespace!]);
    for (const cj of cronJobs) {
      const ns = cj.metadata.namespace!;
      await waitFor(state, `Job ${ns}/${cj.metadata.name}-box complete`, () => (kubectlJson<Obj>(state, ['get', 'job', `${cj.metadata.name}-box`, '-n', ns]).status?.succeeded as number | undefined) === 1, 2 * MINUTE);
    }
  }, 3 * MINUTE);

  it('every namespace that runs pods enforces a Pod Security level that admitted them, and refuses an unhardened pod', () => {
    const all = kubectlJson<{ items: PodObj[] }>(state, ['get', 'pods', '-A']).items;
    const namespaces = [...new Set(all.map((p) => p.metadata.namespace!))];
    expect(namespaces).toContain(appsNamespace());
    for (const ns of namespaces) {
      const labels = kubectlJson<Obj>(state, ['get', 'namespace', ns]).metadata.labels ?? {};
      expect({ ns, enforce: labels['pod-security.kubernetes.io/enforce'] }).toEqual({ ns, enforce: ns === appsNamespace() ? 'restricted' : expect.stringMatching(/^(restricted|baseline)$/) });
    }
    const events = kubectlJson<{ items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[] }>(state, ['get', 'events', '-A', '--field-selector', 'type=Warning']).items;
    expect(events.filter((e) => e.reason === 'FailedCreate').map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message}`)).toEqual([]);
    const unhardened = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unhardened', namespace: appsNamespace() }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect(() => kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify(unhardened))).toThrow(/violates PodSecurity "restricted:latest"/);
  });
});

describe('2. the real scheduler places each service’s replicas in different zones', () => {
  let placement: Record<string, string[]>;

  beforeAll(async () => {
    const rolloutsNs = (JSON.parse(readFileSync(join(dist, 'helm/releases.json'), 'utf8')) as { chart: string; namespace: string }[]).find((r) => r.chart === 'argo-rollouts')!.namespace;
    // The kubelet's part: each service pod gets its real process, and is Ready once its readiness probe answers.
    keeper = new ServicePodKeeper(state, appsNamespace(), SERVICES);
    keeper.start();
    await startArgoRollouts(state, rolloutsNs);
    for (const ro of objectsOf('Rollout')) {
      await waitFor(state, `Rollout ${ro.metadata.name} Healthy`, () => kubectlJson<Obj>(state, ['get', 'rollouts.argoproj.io', ro.metadata.name, '-n', ro.metadata.namespace!]).status?.phase === 'Healthy', 3 * MINUTE, 'argo-rollouts');
    }
    placement = await waitFor(state, 'every service Ready in distinct zones', () => spreadAndReady(), MINUTE);
    lap('every Rollout Healthy');
  }, 5 * MINUTE);

  it('every Rollout is Healthy with its 2 replicas Ready on nodes of 2 different zones', () => {
    console.log(`[box-zones] placement: ${JSON.stringify(placement)}`);
    for (const service of SERVICES) expect({ service, zones: new Set(placement[service]).size }).toEqual({ service, zones: 2 });
    // The pods' spread constraint is the profile's, as the scheduler read it from the live pods.
    const pod = pods(appsNamespace(), serviceSelector('course'))[0]!;
    expect((pod.spec as { topologySpreadConstraints?: unknown[] }).topologySpreadConstraints).toContainEqual(expect.objectContaining({ topologyKey: ZONE_LABEL, whenUnsatisfiable: 'DoNotSchedule', maxSkew: 1 }));
  });
});

describe('3. the NetworkPolicy and TLS policies hold on the cluster profile’s objects as applied', () => {
  const distNamespaces = () => objectsOf('Namespace').map((n) => n.metadata.name);

  it('every namespace of dist/ has its default-deny of both directions for all its pods', () => {
    expect(distNamespaces().length).toBeGreaterThan(5);
    for (const ns of distNamespaces()) {
      const policies = kubectlJson<{ items: (Obj & { spec: { podSelector: Selector; policyTypes?: string[]; ingress?: unknown[]; egress?: unknown[] } })[] }>(state, ['get', 'networkpolicies', '-n', ns]).items;
      const denyAll = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress && p.spec.policyTypes?.includes('Ingress') && p.spec.policyTypes.includes('Egress'));
      expect({ ns, defaultDeny: denyAll?.metadata.name }).toEqual({ ns, defaultDeny: 'default-deny' });
    }
  });

  it('every pod running from dist/ is selected, by the API server, by a policy written for it as well as by the default deny', () => {
    let checked = 0;
    for (const ns of distNamespaces()) {
      const live = pods(ns);
      if (live.length === 0) continue;
      const policies = kubectlJson<{ items: (Obj & { spec: { podSelector: Selector } })[] }>(state, ['get', 'networkpolicies', '-n', ns]).items;
      const selected = new Map<string, string[]>();
      for (const policy of policies) {
        const sel = selectorString(policy.spec.podSelector);
        if (sel === '') continue; // the namespace-wide ones (default deny, DNS) select every pod
        for (const p of pods(ns, sel)) selected.set(p.metadata.name, [...(selected.get(p.metadata.name) ?? []), policy.metadata.name]);
      }
      for (const p of live) {
        expect({ pod: `${ns}/${p.metadata.name}`, selected: (selected.get(p.metadata.name) ?? []).length > 0 }).toEqual({ pod: `${ns}/${p.metadata.name}`, selected: true });
        checked++;
      }
    }
    // The services' pods, the databases, the backup and bootstrap Jobs' pods.
    expect(checked).toBeGreaterThanOrEqual(2 * SERVICES.length + objectsOf('StatefulSet').length + objectsOf('CronJob').length);
  });

  it("the Gateway's HTTPS listeners name certificate Secrets, and its issuer annotation names the live ACME ClusterIssuer, whose HTTP-01 solver attaches to the Gateway's HTTP listener", () => {
    const [gw] = objectsOf('Gateway');
    const live = kubectlJson<Obj & { spec: { listeners: { name: string; protocol: string; hostname?: string; port: number; allowedRoutes?: { namespaces?: { from?: string } }; tls?: { mode?: string; certificateRefs?: { kind?: string; name: string }[] } }[] } }>(state, ['get', 'gateways.gateway.networking.k8s.io', gw!.metadata.name, '-n', gw!.metadata.namespace!]);
    const https = live.spec.listeners.filter((l) => l.protocol === 'HTTPS');
    expect(https.length).toBeGreaterThan(0);
    for (const l of https) {
      expect({ listener: l.name, hostname: l.hostname, mode: l.tls?.mode, refs: l.tls?.certificateRefs?.map((r) => r.kind) }).toEqual({ listener: l.name, hostname: expect.stringMatching(/\.courseops\.example\.com$/), mode: 'Terminate', refs: ['Secret'] });
    }
    expect(new Set(https.flatMap((l) => l.tls!.certificateRefs!.map((r) => r.name))).size).toBe(https.length);
    const issuerName = live.metadata.annotations?.['cert-manager.io/cluster-issuer'];
    expect(issuerName).toBe('letsencrypt-staging');
    const issuer = kubectlJson<Obj & { spec: { acme: { server: string; email: string; solvers: { http01: { gatewayHTTPRoute: { parentRefs: { name: string; namespace: string; sectionName: string }[] } } }[] } } }>(state, ['get', 'clusterissuers.cert-manager.io', issuerName!]);
    expect(issuer.spec.acme).toMatchObject({ server: 'https://acme-staging-v02.api.letsencrypt.org/directory', email: 'ops@example.com' });
    const [parent] = issuer.spec.acme.solvers[0]!.http01.gatewayHTTPRoute.parentRefs;
    expect({ name: parent!.name, namespace: parent!.namespace }).toEqual({ name: live.metadata.name, namespace: live.metadata.namespace });
    // cert-manager makes the challenge's HTTPRoute in the Certificate's namespace, the Gateway's: the listener must take it.
    const http = live.spec.listeners.find((l) => l.name === parent!.sectionName);
    expect(http).toMatchObject({ protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } });
  });

  it("cert-manager's CRD refuses an ACME issuer without its account key Secret (negative control: the issuer above was validated)", () => {
    const bad = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'acme-without-key' }, spec: { acme: { server: 'https://acme-staging-v02.api.letsencrypt.org/directory', solvers: [] } } };
    expect(() => kubectl(state, ['apply', '--server-side', '--dry-run=server', '-f', '-'], JSON.stringify(bad))).toThrow(/privateKeySecretRef: Required value/);
  });
});

describe('4. `kubectl drain` of each node in turn evicts through the eviction API without violating a PDB', () => {
  /** Per drain: what kubectl said, the pods on the node before, and what became of them. */
  const drains: { node: string; zone: string; code: number; out: string; before: PodObj[]; stuck: { pod: string; message: string }[] }[] = [];
  let pdbLog: string;
  let podLog: string;

  beforeAll(async () => {
    // Every status change of every PDB and pod, as the API server sends them.
    startProcess(state, 'pdb-watch', [state.binaries.kubectl!, `--kubeconfig=${state.kubeconfig}`, 'get', 'pdb', '-A', '--watch', '-o',
      'jsonpath={.metadata.namespace}/{.metadata.name} {.status.currentHealthy} {.status.desiredHealthy} {.status.disruptionsAllowed}{"\\n"}']);
    startProcess(state, 'pod-watch', [state.binaries.kubectl!, `--kubeconfig=${state.kubeconfig}`, 'get', 'pods', '-A', '--watch', '--output-watch-events', '-o',
      'jsonpath={.type} {.object.metadata.namespace}/{.object.metadata.name} {.object.spec.nodeName} {.object.status.conditions[?(@.type=="DisruptionTarget")].reason}{"\\n"}']);
    pdbLog = state.processes.find((p) => p.name === 'pdb-watch')!.log;
    podLog = state.processes.find((p) => p.name === 'pod-watch')!.log;
    await waitFor(state, 'the watches to list every PDB', () => objectsOf('PodDisruptionBudget').every((pdb) => readFileSync(pdbLog, 'utf8').includes(`${pdb.metadata.namespace}/${pdb.metadata.name} 2 1 1`)), 30_000, 'pdb-watch');

    for (const node of topology.nodes) {
      const before = kubectlJson<{ items: PodObj[] }>(state, ['get', 'pods', '-A', '--field-selector', `spec.nodeName=${node.name}`]).items;
      const result = await kubectlAtContext('drain', node.name, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s');
      const stuck: { pod: string; message: string }[] = [];
      if (result.code === 0) {
        // The services: back to 2 Ready pods each, on the other zones, while the node is still cordoned.
        await waitFor(state, `every service Ready again off ${node.name}`, () => spreadAndReady(node.name), 2 * MINUTE);
        // A StatefulSet pod that was there: recreated, and what the scheduler says of it while the node is cordoned.
        for (const p of before.filter((b) => b.metadata.ownerReferences?.some((o) => o.kind === 'StatefulSet'))) {
          const message = await waitFor(state, `the scheduler's verdict on ${p.metadata.name}`, () => {
            const live = kubectlJson<PodObj>(state, ['get', 'pod', p.metadata.name, '-n', p.metadata.namespace!]);
            if (live.metadata.uid === p.metadata.uid) return undefined; // the evicted pod itself, not yet gone
            if (live.spec.nodeName) return `scheduled on ${live.spec.nodeName}`;
            return live.status.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')?.message;
          }, MINUTE);
          stuck.push({ pod: `${p.metadata.namespace}/${p.metadata.name}`, message });
        }
      }
      drains.push({ node: node.name, zone: node.zone, code: result.code, out: `${result.stdout}\n${result.stderr}`, before, stuck });
      await kubectlAtContext('uncordon', node.name);
      if (result.code !== 0) break;
      // Back in service: the StatefulSet pods return to their node, and every PDB allows a disruption again.
      for (const sts of objectsOf('StatefulSet')) {
        await waitFor(state, `StatefulSet ${sts.metadata.name} ready after uncordon`, () => (kubectlJson<Obj>(state, ['get', 'statefulset', sts.metadata.name, '-n', sts.metadata.namespace!]).status?.readyReplicas as number | undefined) === 1, MINUTE);
      }
      await waitFor(state, 'every PDB to allow a disruption', () => kubectlJson<{ items: Obj[] }>(state, ['get', 'pdb', '-A']).items.every((p) => (p.status?.disruptionsAllowed as number) >= 1), MINUTE);
      lap(`${node.name} drained, its services back elsewhere, uncordoned and recovered`);
    }
  }, 8 * MINUTE);

  it('every drain finishes, and every pod that was on the node was evicted through the eviction API', () => {
    expect(drains.map((d) => ({ node: d.node, code: d.code }))).toEqual(topology.nodes.map((n) => ({ node: n.name, code: 0 })));
    const watched = readFileSync(podLog, 'utf8').split('\n');
    let evictions = 0;
    for (const d of drains) {
      expect(d.out).toContain(`node/${d.node} drained`);
      expect(d.before.length).toBeGreaterThan(0);
      for (const p of d.before) {
        const id = `${p.metadata.namespace}/${p.metadata.name}`;
        expect(d.out).toContain(`evicting pod ${id}`);
        // The API server marks a pod it evicts with this condition (PodDisruptionConditions); a plain delete does not.
        const lines = watched.filter((l) => l.split(' ')[1] === id && l.split(' ')[2] === d.node);
        expect({ pod: id, evictedByApi: lines.some((l) => l.endsWith(' EvictionByEvictionAPI')) }).toEqual({ pod: id, evictedByApi: true });
        evictions++;
      }
    }
    const refused = drains.reduce((n, d) => n + (d.out.match(/Cannot evict pod as it would violate the pod's disruption budget/g)?.length ?? 0), 0);
    console.log(`[box-zones] drains: ${drains.map((d) => `${d.node} (${d.zone}): ${d.before.length} pods evicted`).join('; ')}; ${evictions} evictions, ${refused} refused with 429 and retried`);
  });

  it('no PDB ever had fewer healthy pods than it requires, through every drain and recovery', () => {
    const seen = new Map<string, { min: number; desired: number; updates: number }>();
    for (const line of readFileSync(pdbLog, 'utf8').split('\n')) {
      const m = /^(\S+\/\S+) (\d+) (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      const [, pdb, current, desired] = m;
      const s = seen.get(pdb!) ?? { min: Infinity, desired: Number(desired), updates: 0 };
      // The first lines are the PDBs before the services came up (0 healthy): the watch began once all were at 2.
      seen.set(pdb!, { min: Math.min(s.min, Number(current)), desired: Math.max(s.desired, Number(desired)), updates: s.updates + 1 });
      expect({ pdb, currentHealthy: Number(current) >= Number(desired) }).toEqual({ pdb, currentHealthy: true });
    }
    expect([...seen.keys()].sort()).toEqual(objectsOf('PodDisruptionBudget').map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort());
    console.log(`[box-zones] PDBs (min currentHealthy / desiredHealthy, status updates): ${[...seen].map(([k, v]) => `${k} ${v.min}/${v.desired} (${v.updates})`).join(', ')}`);
    // Each drain took one of the two pods of every service it held: the PDBs went down to their minimum, not below.
    for (const v of seen.values()) expect(v.min).toBe(v.desired);
  });

  it('every service was Ready on the other zones after each drain, and is spread over 2 zones again', () => {
    expect(drains.length).toBe(topology.nodes.length);
    const now = spreadAndReady();
    expect(now).toBeDefined();
    for (const service of SERVICES) expect(new Set(now![service]).size).toBe(2);
  });

  it('a PostgreSQL pod cannot leave its zone: while its node is drained it waits, unschedulable, for its zonal volume', () => {
    // One node per zone and zonal volumes (as EBS, Azure Disk and Persistent Disk are): the database is down until
    // its node is back. With more nodes per zone it would move within the zone.
    const stuck = drains.flatMap((d) => d.stuck.map((s) => ({ ...s, node: d.node })));
    console.log(`[box-zones] stateful pods during drains: ${stuck.map((s) => `${s.pod} off ${s.node}: ${s.message}`).join(' | ')}`);
    expect(stuck.length).toBe(objectsOf('StatefulSet').length);
    for (const s of stuck) {
      expect(s.message).toMatch(/1 node\(s\) were unschedulable/);
      expect(s.message).toMatch(/2 node\(s\) didn't match PersistentVolume's node affinity/);
    }
    // And once uncordoned, each is back on the node of its volume's zone (the loop above waited for it to be Ready).
    for (const sts of objectsOf('StatefulSet')) {
      const pod = kubectlJson<PodObj>(state, ['get', 'pod', `${sts.metadata.name}-0`, '-n', sts.metadata.namespace!]);
      const was = drains.find((d) => d.before.some((p) => p.metadata.name === pod.metadata.name))!;
      expect({ pod: pod.metadata.name, node: pod.spec.nodeName }).toEqual({ pod: pod.metadata.name, node: was.node });
    }
  });

  it('the eviction API refuses a second eviction that would break a PDB (429): what makes a drain wait (negative control)', async () => {
    const [first, second] = pods(appsNamespace(), serviceSelector('status'));
    expect(evict(first!)).toContain('"code":201');
    expect(() => evict(second!)).toThrow(/TooManyRequests.*Cannot evict pod as it would violate the pod's disruption budget/);
    expect(kubectlJson<PodObj>(state, ['get', 'pod', second!.metadata.name, '-n', appsNamespace()]).metadata.deletionTimestamp).toBeUndefined();
  });

  it('the workloads of dist/manifests are the Rollouts and StatefulSets checked above (a Deployment added later needs its check here)', () => {
    // ECK's Elasticsearch, Kibana, Logstash and Beat are in dist/ too; their operator does not run in this box.
    expect(objectsOf('Deployment').map((d) => d.metadata.name)).toEqual([]);
    expect(objectsOf('DaemonSet').map((d) => d.metadata.name)).toEqual([]);
  });

  /**
   * The HPAs go up to 3-4 replicas, one per zone. Counting the zone of a cordoned node with 0 pods left (what
   * nodeTaintsPolicy: Ignore, the default, does), the evicted replica would fit nowhere until the node is back, and
   * the service would run a replica short for the whole drain. The profile's zone constraint honours the node's
   * unschedulable taint, so the scheduler places the replica in another zone; the control (Ignore) shows the wait.
   */
  it("at the HPA's 3 replicas, a drained zone's replica is placed in another zone under the profile's constraint (with Ignore it would wait)", async () => {
    expect(objectsOf('HorizontalPodAutoscaler').map((h) => (h.spec as { maxReplicas: number }).maxReplicas).some((m) => m >= 3)).toBe(true);
    const podSpec = (objectsOf('Rollout')[0]!.spec!.template as { spec: { topologySpreadConstraints: Record<string, unknown>[] } }).spec;
    const zoneConstraint = podSpec.topologySpreadConstraints.find((c) => c.topologyKey === ZONE_LABEL)!;
    const replicaSet = (name: string, extra: Record<string, unknown>) => ({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }],
            // The profile's constraint, counting these pods (its revision key is a Rollout's, absent here).
            topologySpreadConstraints: [{ ...zoneConstraint, labelSelector: { matchLabels: { app: name } }, matchLabelKeys: undefined, ...extra }],
          },
        },
      },
    });
    expect(zoneConstraint.nodeTaintsPolicy).toBe('Honor');
    const asIs = 'spread-profile';
    const ignore = 'spread-ignore';
    for (const rs of [replicaSet(asIs, {}), replicaSet(ignore, { nodeTaintsPolicy: 'Ignore' })]) kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify(rs));
    const rsPods = (name: string) => pods('default', `app=${name}`).filter((p) => !p.metadata.deletionTimestamp);
    for (const name of [asIs, ignore]) {
      await waitFor(state, `${name}: 3 Ready pods in 3 zones`, () => new Set(rsPods(name).filter(isReady).map((p) => zoneOf.get(p.spec.nodeName!))).size === 3, MINUTE);
    }
    const node = topology.nodes[0]!.name;
    kubectl(state, ['cordon', node]);
    try {
      for (const name of [asIs, ignore]) evict(rsPods(name).find((p) => p.spec.nodeName === node)!);
      const verdict = (name: string) =>
        waitFor(state, `${name}: the scheduler's verdict on the replacement`, () => {
          const live = rsPods(name);
          const pending = live.find((p) => !p.spec.nodeName);
          if (pending) return pending.status.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')?.message;
          return live.length === 3 && live.every((p) => p.spec.nodeName !== node) ? 'scheduled' : undefined;
        }, MINUTE);
      const profile = await verdict(asIs);
      const ignored = await verdict(ignore);
      console.log(`[box-zones] 3 replicas, ${node} cordoned: profile's constraint: ${profile} | with nodeTaintsPolicy Ignore: ${ignored}`);
      expect(profile).toBe('scheduled');
      expect(ignored).toMatch(/1 node\(s\) were unschedulable, 2 node\(s\) didn't match pod topology spread constraints/);
    } finally {
      kubectl(state, ['uncordon', node]);
      kubectl(state, ['delete', 'replicaset', asIs, ignore, '-n', 'default', '--wait=false']);
    }
  }, 3 * MINUTE);
});

describe("5. up --context's StorageClass check against the box", () => {
  it('fails, naming the fix, once the box has no default StorageClass (negative control)', async () => {
    const name = zonalStorageClass.metadata.name;
    kubectl(state, ['annotate', 'storageclass', name, `${DEFAULT_CLASS_ANNOTATION}=false`, '--overwrite']);
    try {
      const step = upChecksStep();
      const failed = await runChecks(step.checks, { runner: contextRunner, context: step.context, beforeChanges: true }).then(() => undefined, (err: unknown) => err);
      expect(failed).toBeInstanceOf(ClusterCheckError);
      expect((failed as Error).message).toMatch(new RegExp(`"${BOX_CONTEXT}" has no default StorageClass`));
      expect((failed as Error).message).toContain(`annotate storageclass ${name} ${DEFAULT_CLASS_ANNOTATION}=true`);
      // The only problem: the version check still passes.
      expect((failed as Error).message).not.toMatch(/older than/);
    } finally {
      kubectl(state, ['annotate', 'storageclass', name, `${DEFAULT_CLASS_ANNOTATION}=true`, '--overwrite']);
    }
  });
});
