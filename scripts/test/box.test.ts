/**
 * The platform in a box (issue 11): a real Kubernetes control plane (etcd, kube-apiserver,
 * kube-controller-manager, kube-scheduler at the kind node image's version) with a kwok node shaped like
 * the kind cluster, all inside a network namespace made for this run; the real Argo Rollouts controller
 * and Prometheus Operator at the charts' versions; the real services on their pods' IPs scraped by the
 * real Prometheus 3 with the configuration the operator generated. Every assertion is about what those
 * components did: objects they created, statuses, conditions, scrape results.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNetns, boxNamespaces } from '../box/netns.js';
import { kubectl, kubectlJson, startBox, stopBox, waitFor, type BoxState } from '../box/control-plane.js';
import { applyCrds, applyPlatform, boxRunner, upSteps, type ApplyOutcome } from '../box/platform.js';
import { startArgoRollouts } from '../box/operators.js';
import { missingReferences, refKey, type PodForRefs } from '../box/references.js';
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
  distObjects = (await import('node:fs')).readdirSync(join(dist, 'manifests')).flatMap((f) =>
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
  for (const p of state?.processes ?? []) expect(() => process.kill(p.pid, 0)).toThrow();
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
    expect(() => execFileSync('curl', ['-ks', '--max-time', '2', 'https://127.0.0.1:6443/readyz'], { stdio: 'pipe' })).toThrow();
    expect(execFileSync(inNetns(netns, ['curl', '-ks', '--max-time', '2', 'https://127.0.0.1:6443/livez'])[0]!, inNetns(netns, ['curl', '-ks', '--max-time', '2', 'https://127.0.0.1:6443/livez']).slice(1), { encoding: 'utf8' })).toBe('ok');
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
    for (const file of (await import('node:fs')).readdirSync(join(dist, 'manifests'))) {
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
  });

  it('rejects an unhardened pod in the courseops namespace (negative control for Pod Security)', () => {
    const ns = objectsOf('Rollout')[0]!.metadata.namespace!;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unhardened', namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    expect(() => kubectl(state, ['apply', '--server-side', '-f', '-'], JSON.stringify(pod))).toThrow(/violates PodSecurity "restricted:latest"/);
    expect(() => kubectl(state, ['get', 'pod', 'unhardened', '-n', ns])).toThrow(/NotFound/);
  });

  it('does not stop at a failing command: a broken manifest fails the apply loudly', async () => {
    const bad = { cmd: { argv: ['kubectl', '--context', 'kind-courseops', 'apply', '--server-side', '-f', '-'] } };
    await expect(runChecked(boxRunner(state), bad.cmd, { input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'no-such-namespace' } }) })).rejects.toThrow(/not found/);
    expect(existsSync(state.kubeconfig)).toBe(true);
  });
});
