import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptions, RunResult, Runner } from '../cluster/commands.js';
import { loadDist, type DistInputs } from '../cluster/inputs.js';
import { renderPlan, type Step } from '../cluster/plan.js';
import { runPlan } from '../cluster/run.js';
import { buildTeardownPlan, decideNamespace, objectDeleteCommands, parseClaims, resourceOf } from '../cluster/teardown.js';
import { writeClusterFixtureDist } from '../cluster/testing/fixture-dist.js';

const CONTEXT = 'prod-aks';
let dir: string;
let dist: DistInputs;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'courseops-down-'));
  dist = loadDist(writeClusterFixtureDist(path.join(dir, 'dist')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const commandsOf = (steps: readonly Step[]) => steps.flatMap((s) => ('commands' in s ? s.commands : [])).map((c) => c.argv.join(' '));

/** `kubectl get persistentvolumeclaims -n NS -o json` of a namespace with these claims. */
const claimsJson = (claims: { name: string; storage: string; instance?: string }[]) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: claims.map((c) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: c.name, labels: c.instance ? { 'app.kubernetes.io/instance': c.instance } : {}, finalizers: ['kubernetes.io/pvc-protection'] },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: c.storage } }, storageClassName: 'managed-csi', volumeName: `pvc-${c.name}` },
      status: { phase: 'Bound', capacity: { storage: c.storage } },
    })),
  });

describe('npm run down -- --context NAME: the plan', () => {
  it('removes the objects last first, then the releases last installed first, the generated Secrets, the namespaces', () => {
    const steps = buildTeardownPlan({ dist, context: CONTEXT, purge: false });
    expect(steps.map((s) => s.id)).toEqual(['prerequisites', 'context', 'objects', 'helm', 'secrets', 'namespaces', 'summary']);
    const cmds = commandsOf(steps);
    const objects = cmds.filter((c) => c.includes(' delete ') && !c.includes('secret ') && !c.includes('namespace') && !c.includes('persistentvolumeclaims'));
    expect(objects[0]).toBe(`kubectl --context ${CONTEXT} delete daemonset.v1.apps node-agent -n monitoring --ignore-not-found`);
    expect(objects.at(-1)).toBe(`kubectl --context ${CONTEXT} delete clusterissuer.v1.cert-manager.io letsencrypt-production --ignore-not-found`);
    // Consecutive objects of one kind and namespace share a command, last first.
    expect(objects).toContain(`kubectl --context ${CONTEXT} delete rollout.v1alpha1.argoproj.io teacher course -n courseops --ignore-not-found`);
    expect(cmds.filter((c) => c.startsWith('helm uninstall')).map((c) => c.split(' ')[2])).toEqual(['dex', 'argo-rollouts', 'eck-operator', 'kube-prometheus-stack', 'traefik', 'cert-manager']);
    expect(cmds).toContain(`kubectl --context ${CONTEXT} delete secret course-db teacher-db alert-webhook -n courseops --ignore-not-found`);
    // Objects first (their operators still run to finalize them), namespaces last.
    const index = (prefix: string) => cmds.findIndex((c) => c.startsWith(prefix));
    expect(index(`kubectl --context ${CONTEXT} delete clusterissuer`)).toBeLessThan(index('helm uninstall'));
    expect(cmds.findLastIndex((c) => c.startsWith('helm uninstall'))).toBeLessThan(index(`kubectl --context ${CONTEXT} delete secret`));
    expect(index(`kubectl --context ${CONTEXT} delete secret`)).toBeLessThan(index(`kubectl --context ${CONTEXT} delete namespace`));
  });

  it('keeps the PersistentVolumeClaims unless --purge, and says what it keeps', () => {
    const keep = buildTeardownPlan({ dist, context: CONTEXT, purge: false });
    const keepCmds = commandsOf(keep);
    expect(keepCmds.join('\n')).not.toMatch(/delete persistentvolumeclaim/);
    expect(keepCmds.some((c) => c.includes('teacher-backups'))).toBe(false);
    // The namespace holding the user's database Secret is never deleted; the other is, if it holds no claim then.
    expect(keepCmds).toContain(`kubectl --context ${CONTEXT} delete namespace logging --ignore-not-found --timeout=10m`);
    expect(keepCmds.some((c) => c.includes('delete namespace courseops'))).toBe(false);
    const kept = renderPlan(keep).join('\n');
    expect(kept).toContain("the PersistentVolumeClaims (the databases', backups', Elasticsearch's, Prometheus's) and the namespaces that hold them");
    expect(kept).toContain(`npm run down -- --context ${CONTEXT} --purge`);
    expect(kept).toContain('the Gateway API CRDs (v1.6.1)');
    expect(kept).toContain('the database Secrets you created (courseops/course-database-url)');

    const purge = commandsOf(buildTeardownPlan({ dist, context: CONTEXT, purge: true }));
    expect(purge).toContain(`kubectl --context ${CONTEXT} delete persistentvolumeclaim teacher-backups -n courseops --ignore-not-found`);
    expect(purge).toContain(`kubectl --context ${CONTEXT} delete persistentvolumeclaims --all -n logging --ignore-not-found --timeout=10m`);
    expect(purge).toContain(`kubectl --context ${CONTEXT} delete persistentvolumeclaims --all -n courseops --ignore-not-found --timeout=10m`);
    expect(renderPlan(buildTeardownPlan({ dist, context: CONTEXT, purge: true })).join('\n')).not.toContain('--purge` deletes them');
  });

  it('names the context in every kubectl and helm command', () => {
    for (const purge of [false, true]) {
      const cmds = buildTeardownPlan({ dist, context: CONTEXT, purge }).flatMap((s) => ('commands' in s ? s.commands : []));
      for (const { argv } of cmds) {
        if (argv[0] === 'kubectl') expect(argv.slice(1, 3)).toEqual(['--context', CONTEXT]);
        else if (argv.join(' ') !== 'helm version --short') expect(argv.slice(-2)).toEqual(['--kube-context', CONTEXT]);
      }
    }
  });

  it('names kinds unambiguously for kubectl', () => {
    expect(resourceOf({ apiVersion: 'v1', kind: 'ConfigMap' })).toBe('configmap');
    expect(resourceOf({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' })).toBe('networkpolicy.v1.networking.k8s.io');
    expect(resourceOf({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate' })).toBe('certificate.v1.cert-manager.io');
    expect(objectDeleteCommands([{ path: 'x', objects: [{ apiVersion: 'v1', kind: 'Namespace', name: 'a' }] }], CONTEXT, true)).toEqual([]);
  });
});

describe('deciding about a namespace', () => {
  const claims = parseClaims(claimsJson([{ name: 'data-course-postgresql-0', storage: '1Gi', instance: 'course-postgresql' }, { name: 'course-backups', storage: '2Gi' }]));

  it('reads the claims kubectl lists', () => {
    expect(claims).toEqual([
      { name: 'data-course-postgresql-0', storage: '1Gi', owner: 'course-postgresql' },
      { name: 'course-backups', storage: '2Gi' },
    ]);
  });

  it('keeps a namespace with claims unless --purge, and one with a Secret the user created always', () => {
    expect(decideNamespace('logging', [], false, [])).toEqual({ deleteClaims: false, deleteNamespace: true, kept: [] });
    const kept = decideNamespace('courseops', claims, false, []);
    expect(kept).toMatchObject({ deleteClaims: false, deleteNamespace: false });
    expect(kept.kept).toEqual(['namespace courseops and its PersistentVolumeClaims data-course-postgresql-0 (1Gi, course-postgresql), course-backups (2Gi) (`--purge` deletes them)']);
    expect(decideNamespace('courseops', claims, true, [])).toEqual({ deleteClaims: true, deleteNamespace: true, kept: [] });
    const user = decideNamespace('courseops', claims, true, ['course-database-url']);
    expect(user).toMatchObject({ deleteClaims: true, deleteNamespace: false });
    expect(user.kept[0]).toContain('it holds the database Secret you created (courseops/course-database-url)');
  });
});

describe('running down', () => {
  /** A fake cluster: PVCs per namespace; releases already gone when told. */
  function fakeCluster(pvcs: Record<string, string>, gone: { releases?: string[] } = {}) {
    const calls: string[][] = [];
    const runner: Runner = async (argv: string[], _options: RunOptions = {}): Promise<RunResult> => {
      calls.push(argv);
      const text = argv.join(' ');
      if (text === 'helm version --short') return { code: 0, stdout: 'v3.19.0+g3d8990f\n', stderr: '' };
      if (argv[0] === 'helm' && gone.releases?.includes(argv[2]!)) return { code: 1, stdout: '', stderr: `Error: uninstall: Release not loaded: ${argv[2]}: release: not found` };
      if (text.includes(' get persistentvolumeclaims ')) return { code: 0, stdout: pvcs[argv[argv.indexOf('-n') + 1]!] ?? claimsJson([]), stderr: '' };
      return { code: 0, stdout: '', stderr: '' };
    };
    return { runner, calls };
  }

  it('keeps and names the claims it finds, deletes the namespaces without any, and finishes what an earlier run left', async () => {
    const tools = fakeCluster({ courseops: claimsJson([{ name: 'data-teacher-postgresql-0', storage: '1Gi' }]), logging: claimsJson([{ name: 'elasticsearch-data-logs-es-default-0', storage: '50Gi' }]) }, { releases: ['dex', 'cert-manager'] });
    const notes: string[] = [];
    await runPlan(buildTeardownPlan({ dist, context: CONTEXT, purge: false }), { runner: tools.runner, lookup: (c) => `/usr/bin/${c}`, notes, silent: true });
    const texts = tools.calls.map((c) => c.join(' '));
    expect(texts.some((t) => t.includes('delete namespace') || t.includes('delete persistentvolumeclaims'))).toBe(false);
    expect(notes).toEqual([
      'kept: namespace logging and its PersistentVolumeClaims elasticsearch-data-logs-es-default-0 (50Gi) (`--purge` deletes them)',
      'kept: namespace courseops and its PersistentVolumeClaims data-teacher-postgresql-0 (1Gi) (`--purge` deletes them)',
      'kept: namespace courseops: it holds the database Secret you created (courseops/course-database-url); delete it yourself when you no longer need it',
    ]);
    // Every release was asked to go, the ones already gone included.
    expect(texts.filter((t) => t.startsWith('helm uninstall'))).toHaveLength(6);

    const empty = fakeCluster({});
    await runPlan(buildTeardownPlan({ dist, context: CONTEXT, purge: false }), { runner: empty.runner, lookup: (c) => `/usr/bin/${c}`, silent: true });
    expect(empty.calls.map((c) => c.join(' '))).toContain(`kubectl --context ${CONTEXT} delete namespace logging --ignore-not-found --timeout=10m`);
  });

  it('with --purge deletes the claims, and the namespaces but the one holding the user\'s Secret', async () => {
    const tools = fakeCluster({ courseops: claimsJson([{ name: 'data-teacher-postgresql-0', storage: '1Gi' }]), logging: claimsJson([{ name: 'elasticsearch-data-logs-es-default-0', storage: '50Gi' }]) });
    const notes: string[] = [];
    await runPlan(buildTeardownPlan({ dist, context: CONTEXT, purge: true }), { runner: tools.runner, lookup: (c) => `/usr/bin/${c}`, notes, silent: true });
    const texts = tools.calls.map((c) => c.join(' '));
    expect(texts).toContain(`kubectl --context ${CONTEXT} delete persistentvolumeclaims --all -n logging --ignore-not-found --timeout=10m`);
    expect(texts).toContain(`kubectl --context ${CONTEXT} delete persistentvolumeclaims --all -n courseops --ignore-not-found --timeout=10m`);
    expect(texts).toContain(`kubectl --context ${CONTEXT} delete namespace logging --ignore-not-found --timeout=10m`);
    expect(texts.some((t) => t.includes('delete namespace courseops'))).toBe(false);
    expect(notes).toHaveLength(1);
  });

  it('stops at a failure that is not "already gone"', async () => {
    const tools = fakeCluster({});
    const failing: Runner = async (argv, options) =>
      argv[0] === 'helm' && argv[2] === 'traefik' ? { code: 1, stdout: '', stderr: 'Error: Kubernetes cluster unreachable' } : tools.runner(argv, options);
    const err = await runPlan(buildTeardownPlan({ dist, context: CONTEXT, purge: false }), { runner: failing, lookup: (c) => `/usr/bin/${c}`, silent: true }).catch((e: Error) => e);
    expect((err as Error).message).toContain(`command failed (exit 1): helm uninstall traefik -n traefik`);
    expect(tools.calls.some((c) => c.join(' ').includes('delete secret'))).toBe(false);
  });
});
