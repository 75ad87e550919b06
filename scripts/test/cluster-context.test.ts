import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Refusal } from '../cluster/cli.js';
import { ClusterCheckError } from '../cluster/cluster-checks.js';
import type { Cmd, RunResult } from '../cluster/commands.js';
import { loadDist, parseHosts, type DistInputs } from '../cluster/inputs.js';
import { buildPlan, renderPlan, type Step } from '../cluster/plan.js';
import type { PathLookup } from '../cluster/prerequisites.js';
import { runPlan } from '../cluster/run.js';
import { registryMismatch, registryOf, targetFromFlags, targetRefusal } from '../cluster/target.js';
import { buildTeardownPlan } from '../cluster/teardown.js';
import {
  FIXTURE_CLUSTER_HOSTS,
  FIXTURE_CLUSTER_MANIFESTS,
  FIXTURE_CLUSTER_REGISTRY,
  FIXTURE_CLUSTER_SERVICES,
  writeClusterFixtureDist,
  writeFixtureDist,
} from '../cluster/testing/fixture-dist.js';
import { ok, recordingRunner } from '../cluster/testing/recording-runner.js';

const root = path.resolve(import.meta.dirname, '../..');
const CONTEXT = 'prod-aks';
let dir: string;
let dist: DistInputs;
let kindDist: DistInputs;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'courseops-context-'));
  dist = loadDist(writeClusterFixtureDist(path.join(dir, 'dist')));
  kindDist = loadDist(writeFixtureDist(path.join(dir, 'dist-kind')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every command a plan shows (each kind of step), in order. */
function planCommands(steps: readonly Step[]): Cmd[] {
  return steps.flatMap((s) => ('commands' in s ? [...(s.type === 'commands' && s.skipIf ? [s.skipIf.probe] : []), ...s.commands] : []));
}

/** The context a kubectl or helm argv names (undefined: none, or more than one); other commands are not asked. */
function contextOf(argv: readonly string[]): string | undefined {
  if (argv[0] === 'kubectl') return argv[1] === '--context' && !argv.includes('--context', 2) ? argv[2] : undefined;
  // The prerequisites' `helm version --short` reads no cluster at all (only the client's version).
  if (argv.join(' ') === 'helm version --short') return CONTEXT;
  if (argv[0] === 'helm') {
    const i = argv.indexOf('--kube-context');
    return i > 0 && argv.indexOf('--kube-context', i + 1) < 0 ? argv[i + 1] : undefined;
  }
  return 'not a cluster command';
}

const everyTool: PathLookup = (cmd) => `/usr/bin/${cmd}`;

const AKS_VERSION = JSON.stringify({
  clientVersion: { major: '1', minor: '34', gitVersion: 'v1.34.1', platform: 'linux/amd64' },
  kustomizeVersion: 'v5.7.1',
  serverVersion: { major: '1', minor: '31', gitVersion: 'v1.31.8', gitTreeState: 'clean', goVersion: 'go1.23.8', platform: 'linux/amd64' },
});
const STORAGE_CLASSES = JSON.stringify({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'default', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'disk.csi.azure.com' },
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'managed-csi' }, provisioner: 'disk.csi.azure.com' },
  ],
});

/** A fake of docker, helm and kubectl on a healthy existing cluster; records every call. */
function fakeCluster(overrides: (argv: string[]) => RunResult | undefined = () => undefined) {
  return recordingRunner((text) => {
    if (text === 'helm version --short') return ok('v3.19.0+g3d8990f\n');
    if (text.endsWith(' version -o json')) return ok(AKS_VERSION);
    if (text.includes(' get storageclasses.storage.k8s.io ')) return ok(STORAGE_CLASSES);
    if (text.includes(' get secret course-database-url ')) return ok('course-database-url\nurl\n');
    if (text.includes(' get clusterissuers.cert-manager.io ')) return ok('clusterissuer.cert-manager.io/company-ca\n');
    return undefined;
  }, overrides);
}

describe('npm run up -- --context NAME: the plan', () => {
  it('never runs kind, pushes instead of loading, has no CoreDNS step, and checks the cluster before changing it', () => {
    const steps = buildPlan({ dist, synth: false, target: { context: CONTEXT } });
    const lines = renderPlan(steps);
    expect(lines.filter((l) => l.startsWith('== '))).toEqual([
      '== 1. Check prerequisites (docker, kubectl, helm) ==',
      `== 2. Check the cluster of context ${CONTEXT} (server version, StorageClass, database Secrets) ==`,
      '== 3. Build the service images and push them (registry.example.com:5000) ==',
      '== 4. Create the generated secrets (8) ==',
      '== 5. Install the Gateway API CRDs (v1.6.1, standard channel) ==',
      '== 6. Install the Helm releases in order (cert-manager, traefik, kube-prometheus-stack, eck-operator, argo-rollouts, dex) ==',
      `== 7. Apply ${path.join(dist.distDir, 'manifests')} server-side (5 files) ==`,
      '== 8. Wait for every workload ==',
      '== 9. URLs, DNS records and credentials ==',
    ]);
    const argvs = planCommands(steps).map((c) => c.argv);
    expect(argvs.filter((a) => a[0] === 'kind')).toEqual([]);
    expect(lines.join('\n')).not.toMatch(/kind load|kind create|coredns/);
    const images = ['course', 'teacher', 'status', 'backup'].map((n) => `${FIXTURE_CLUSTER_REGISTRY}/${n}:v1`);
    expect(argvs.filter((a) => a[1] === 'push')).toEqual(images.map((image) => ['docker', 'push', image]));
    // Each image is built before it is pushed.
    for (const image of images) {
      const build = argvs.findIndex((a) => a[1] === 'build' && a.includes(image));
      expect(build).toBeGreaterThanOrEqual(0);
      expect(build).toBeLessThan(argvs.findIndex((a) => a[1] === 'push' && a[2] === image));
    }
    expect(lines).toContain(`kubectl --context ${CONTEXT} version -o json`);
    expect(lines).toContain(`kubectl --context ${CONTEXT} get storageclasses.storage.k8s.io -o json`);
  });

  it('names the context in every kubectl and helm command of the plan, and never the kind one', () => {
    for (const target of [{ context: CONTEXT }, { context: CONTEXT, registry: FIXTURE_CLUSTER_REGISTRY }]) {
      const withIssuer = loadDist(writeClusterFixtureDist(path.join(dir, 'dist-issuer'), { ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, issuer: { name: 'company-ca', existing: true } } }));
      for (const d of [dist, withIssuer]) {
        const steps = buildPlan({ dist: d, synth: false, target });
        const cluster = planCommands(steps).filter((c) => c.argv[0] === 'kubectl' || c.argv[0] === 'helm');
        expect(cluster.length).toBeGreaterThan(30);
        for (const c of cluster) expect(contextOf(c.argv), c.argv.join(' ')).toBe(CONTEXT);
        // The closing text's commands too (credentials, Traefik's address).
        const summary = steps.flatMap((s) => (s.type === 'summary' ? s.lines : [])).filter((l) => l.includes('kubectl'));
        expect(summary.length).toBeGreaterThan(3);
        for (const l of summary) expect(l).toContain(`kubectl --context ${CONTEXT} `);
        expect(renderPlan(steps).join('\n')).not.toContain('kind-courseops');
      }
    }
  });

  it("says what a Traefik release that never becomes ready most likely means: no load balancer for its Service", async () => {
    const tools = fakeCluster((argv) => (argv[0] === 'helm' && argv.includes('traefik') ? { code: 1, stdout: '', stderr: 'Error: context deadline exceeded' } : undefined));
    const err = (await runPlan(buildPlan({ dist, synth: false, target: { context: CONTEXT } }), { runner: tools.runner, lookup: everyTool, fileRoots: [dist.distDir], silent: true }).catch((e: Error) => e)) as Error;
    expect(err.message).toContain('context deadline exceeded');
    expect(err.message).toContain(`kubectl --context ${CONTEXT} -n traefik get service traefik\` shows EXTERNAL-IP <pending>`);
    expect(err.message).toContain('MetalLB');
    // The kind cluster's Traefik holds hostPorts: no such hint there.
    const kindTraefik = planCommands(buildPlan({ dist: kindDist, synth: false })).find((c) => c.argv[0] === 'helm' && c.argv.includes('traefik'))!;
    expect(kindTraefik.onFailure).toBeUndefined();
  });

  it('runs against the context only: every kubectl and helm call made, also those built while it runs (secrets, checks)', async () => {
    const steps = buildPlan({ dist, synth: false, target: { context: CONTEXT } });
    const tools = fakeCluster();
    const summary = await runPlan(steps, { runner: tools.runner, lookup: everyTool, fileRoots: [dist.distDir], silent: true });
    const cluster = tools.calls.filter((c) => c.argv[0] === 'kubectl' || c.argv[0] === 'helm');
    expect(cluster.filter((c) => c.input?.includes('"Secret"'))).toHaveLength(8);
    for (const c of cluster) expect(contextOf(c.argv), c.argv.join(' ')).toBe(CONTEXT);
    expect(tools.calls.some((c) => c.argv[0] === 'kind')).toBe(false);
    expect(tools.calls.filter((c) => c.argv[1] === 'push')).toHaveLength(4);
    // The checks ran first, before anything was built or changed.
    const firstChange = tools.calls.findIndex((c) => c.argv[1] === 'build');
    const lastCheck = tools.calls.findIndex((c) => c.argv.includes('course-database-url'));
    expect(lastCheck).toBeGreaterThan(0);
    expect(lastCheck).toBeLessThan(firstChange);
    expect(summary).toContain(`  kubectl --context ${CONTEXT} -n traefik get service traefik`);
    expect(summary).toContain('  dex.courseops.example.com');
    expect(summary.join('\n')).not.toMatch(/127\.0\.0\.1|\/etc\/hosts/);
  });

  it('stops at the checks, naming every problem, before building or changing anything', async () => {
    const tools = fakeCluster((argv) => {
      const text = argv.join(' ');
      if (text.endsWith(' version -o json')) return { code: 0, stdout: JSON.stringify({ serverVersion: { major: '1', minor: '29+', gitVersion: 'v1.29.15-eks-b707fbb' } }), stderr: '' };
      if (text.includes(' get secret course-database-url ')) return { code: 0, stdout: '', stderr: '' };
      if (text.includes(' get storageclasses.storage.k8s.io ')) {
        const onlyDefault = JSON.parse(STORAGE_CLASSES) as { items: unknown[] };
        return { code: 0, stdout: JSON.stringify({ ...onlyDefault, items: onlyDefault.items.slice(0, 1) }), stderr: '' };
      }
      return undefined;
    });
    const err = await runPlan(buildPlan({ dist, synth: false, target: { context: CONTEXT } }), { runner: tools.runner, lookup: everyTool, silent: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ClusterCheckError);
    const message = (err as Error).message;
    expect(message).toContain(`The cluster of context "${CONTEXT}" is not ready for the platform (nothing was changed)`);
    expect(message).toContain('runs Kubernetes v1.29.15-eks-b707fbb, older than 1.30');
    expect(message).toContain('the StorageClass "managed-csi" (storageClass in the config file) does not exist in context "prod-aks" (it has: default (default))');
    expect(message).toContain('Secret courseops/course-database-url');
    expect(tools.calls.some((c) => c.argv[0] === 'docker' && c.argv[1] !== 'info')).toBe(false);
    expect(tools.calls.some((c) => c.argv.includes('apply') || c.argv[0] === 'helm' && c.argv[1] !== 'version')).toBe(false);
  });

  it('checks an existing ClusterIssuer right after the cert-manager release, before every other release', async () => {
    const services = { ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, issuer: { name: 'company-ca', existing: true } } };
    const withIssuer = loadDist(writeClusterFixtureDist(path.join(dir, 'dist-issuer'), services));
    const steps = buildPlan({ dist: withIssuer, synth: false, target: { context: CONTEXT } });
    expect(steps.map((s) => s.id)).toEqual(['prerequisites', 'checks', 'images', 'secrets', 'gateway-api', 'helm', 'issuer', 'helm-rest', 'manifests', 'wait', 'summary']);
    expect(steps.find((s) => s.id === 'helm')!.title).toBe('Install the Helm releases in order, up to cert-manager (cert-manager)');

    // Before cert-manager is installed its CRDs are missing: the first check defers, the one after cert-manager fails.
    let certManagerInstalled = false;
    const tools = fakeCluster((argv) => {
      if (argv[0] === 'helm' && argv[3] === 'cert-manager') certManagerInstalled = true;
      if (argv.includes('clusterissuers.cert-manager.io')) {
        return certManagerInstalled
          ? { code: 1, stdout: '', stderr: 'Error from server (NotFound): clusterissuers.cert-manager.io "company-ca" not found' }
          : { code: 1, stdout: '', stderr: 'error: the server doesn\'t have a resource type "clusterissuers"' };
      }
      return undefined;
    });
    const err = await runPlan(steps, { runner: tools.runner, lookup: everyTool, fileRoots: [withIssuer.distDir], silent: true }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/the ClusterIssuer "company-ca" \(tls.clusterIssuer in the config file\) does not exist in context "prod-aks"\. cert-manager is installed now/);
    expect(tools.calls.filter((c) => c.argv.includes('clusterissuers.cert-manager.io'))).toHaveLength(2);
    expect(tools.calls.some((c) => c.argv[0] === 'helm' && c.argv[3] === 'traefik')).toBe(false);
    expect(tools.calls.some((c) => c.argv.includes('apply') && c.argv.some((a) => a.includes('/manifests/')))).toBe(false);
  });

  it('keeps the CoreDNS step exactly when services.json asks for the rewrite', () => {
    const rewrite = loadDist(writeClusterFixtureDist(path.join(dir, 'dist-rewrite'), { ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, dnsRewrite: true } }));
    expect(buildPlan({ dist: rewrite, synth: false, target: { context: CONTEXT } }).some((s) => s.type === 'coredns')).toBe(true);
    expect(buildPlan({ dist, synth: false, target: { context: CONTEXT } }).some((s) => s.type === 'coredns')).toBe(false);
    const coredns = buildPlan({ dist: rewrite, synth: false, target: { context: CONTEXT } }).find((s) => s.type === 'coredns')!;
    for (const c of coredns.type === 'coredns' ? coredns.commands : []) expect(contextOf(c.argv)).toBe(CONTEXT);
  });
});

describe('refusals (exit code 2)', () => {
  it('refuses a kind-profile dist/ with --context, and a cluster-profile dist/ without it', () => {
    expect(() => buildPlan({ dist: kindDist, synth: false, target: { context: CONTEXT } })).toThrow(Refusal);
    expect(() => buildPlan({ dist: kindDist, synth: false, target: { context: CONTEXT } })).toThrow(/synthesized with the kind profile.*synthesize with profile: cluster/);
    expect(() => buildPlan({ dist, synth: false })).toThrow(/the cluster profile goes to an existing cluster: npm run up -- --context NAME/);
    expect(targetRefusal(dist.declared, { context: CONTEXT }, 'up')).toBeUndefined();
    expect(targetRefusal(kindDist.declared, undefined, 'up')).toBeUndefined();
    expect(targetRefusal(kindDist.declared, { context: 'x' }, 'down')).toMatch(/npm run down -- --context x/);
  });

  it('refuses --registry without --context, and a --registry the images were not synthesized with', () => {
    expect(() => targetFromFlags(new Map([['registry', 'r.example/team']]))).toThrow(/--registry goes with --context NAME/);
    expect(() => targetFromFlags(new Map([['context', '']]))).toThrow(Refusal);
    expect(targetFromFlags(new Map([['context', 'c'], ['registry', 'r.example/team']]))).toEqual({ context: 'c', registry: 'r.example/team' });
    expect(targetFromFlags(new Map())).toBeUndefined();

    expect(registryMismatch(dist.declared, FIXTURE_CLUSTER_REGISTRY)).toBeUndefined();
    expect(registryMismatch(dist.declared, `${FIXTURE_CLUSTER_REGISTRY}/`)).toBeUndefined();
    expect(registryMismatch(dist.declared, 'registry.example.com:5000')).toBeUndefined();
    // A prefix of a path component is not the registry: team2 is not team.
    const other = registryMismatch(dist.declared, 'registry.example.com:5000/tea');
    expect(other).toContain('registry.example.com:5000/team/course:v1');
    expect(other).toContain('images.prefix: registry.example.com:5000/tea');
    expect(other).toContain('COURSEOPS_IMAGE_PREFIX=registry.example.com:5000/tea');
    expect(other).toContain('npm run synth');
    expect(() => buildPlan({ dist, synth: false, target: { context: CONTEXT, registry: 'ghcr.io/someone' } })).toThrow(/--registry ghcr.io\/someone does not match/);
    expect(registryOf('registry.example.com:5000/team/course:v1')).toBe('registry.example.com:5000');
    expect(registryOf('localhost/course:v1')).toBe('localhost');
    expect(registryOf('someone/course:v1')).toBe('docker.io');
  });
});

describe('services.json of the cluster profile', () => {
  it('is refused, naming the field, when its cluster facts or databases are not what the synth writes', () => {
    const bad = (name: string, services: object) => () => loadDist(writeClusterFixtureDist(path.join(dir, name), services));
    expect(bad('no-cluster', { ...FIXTURE_CLUSTER_SERVICES, cluster: undefined })).toThrow(/services\.json: cluster /);
    expect(bad('bad-profile', { ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, profile: 'aks' } })).toThrow(/cluster\.profile must be "kind" or "cluster"/);
    expect(bad('bad-exposure', { ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, exposure: 'nodePort' } })).toThrow(/cluster\.exposure must be "hostPort" or "loadBalancer"/);
    expect(bad('bad-issuer', { ...FIXTURE_CLUSTER_SERVICES, cluster: { ...FIXTURE_CLUSTER_SERVICES.cluster, issuer: { name: 'x' } } })).toThrow(/cluster\.issuer\.existing must be true or false/);
    const services = FIXTURE_CLUSTER_SERVICES.services;
    expect(bad('old-database', { ...FIXTURE_CLUSTER_SERVICES, services: services.map((s) => ({ ...s, database: true })) })).toThrow(/services\[0\]\.database must be "in-cluster", "external" or "none"/);
    const secretless = services.map((s) => (s.name === 'course' ? { ...s, databaseSecret: undefined } : s));
    expect(bad('secretless', { ...FIXTURE_CLUSTER_SERVICES, services: secretless })).toThrow(/services\[0\]\.databaseSecret must be given exactly when database is "external"/);
    expect(bad('no-backup', { ...FIXTURE_CLUSTER_SERVICES, backupImage: undefined })).toThrow(/backupImage must be given when a service has an in-cluster database/);
    // Every database external or none: no backup image needed.
    const noneInCluster = services.map((s) => (s.name === 'course' ? s : { ...s, database: 'none' }));
    expect(loadDist(writeClusterFixtureDist(path.join(dir, 'none-in-cluster'), { ...FIXTURE_CLUSTER_SERVICES, services: noneInCluster, backupImage: undefined, postgresImage: undefined })).declared.backupImage).toBeUndefined();
  });

  it('has its hosts under the real domain (the kind profile\'s stay under .test)', () => {
    expect(dist.hosts).toEqual(FIXTURE_CLUSTER_HOSTS);
    expect(parseHosts(['api.courseops.example.com'], 'hosts.json', 'courseops.example.com')).toEqual(['api.courseops.example.com']);
    expect(() => parseHosts(['api.elsewhere.com'], 'hosts.json', 'courseops.example.com')).toThrow(/not under \.courseops\.example\.com/);
    expect(() => writeFixtureDist(path.join(dir, 'kind-real-hosts'), undefined, { hosts: FIXTURE_CLUSTER_HOSTS, manifests: FIXTURE_CLUSTER_MANIFESTS })).not.toThrow();
    expect(() => loadDist(path.join(dir, 'kind-real-hosts'))).toThrow(/not under \.test/);
  });
});

describe('npx tsx scripts/cluster/up.ts / down.ts --context', () => {
  const run = promisify(execFile);
  const tsx = path.join(root, 'node_modules/.bin/tsx');

  it('up --dry-run prints the plan for the context', async () => {
    const { stdout } = await run(tsx, ['scripts/cluster/up.ts', '--dry-run', '--dist', path.join(dir, 'dist'), '--context', CONTEXT, '--registry', FIXTURE_CLUSTER_REGISTRY], { cwd: root });
    expect(stdout).toContain(`# courseops bring-up plan for context "${CONTEXT}"`);
    expect(stdout).toContain(`docker push ${FIXTURE_CLUSTER_REGISTRY}/course:v1`);
    expect(stdout).not.toContain('kind ');
  });

  it('exits 2 with the refusal on stderr', async () => {
    const refused = async (args: string[]) => run(tsx, args, { cwd: root }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    const kind = await refused(['scripts/cluster/up.ts', '--dry-run', '--dist', path.join(dir, 'dist-kind'), '--context', CONTEXT]);
    expect(kind?.code).toBe(2);
    expect(kind?.stderr).toContain('synthesize with profile: cluster');
    const cluster = await refused(['scripts/cluster/up.ts', '--dry-run', '--dist', path.join(dir, 'dist')]);
    expect(cluster?.code).toBe(2);
    expect(cluster?.stderr).toContain('the cluster profile goes to an existing cluster: npm run up -- --context NAME');
    const registry = await refused(['scripts/cluster/up.ts', '--dry-run', '--dist', path.join(dir, 'dist'), '--registry', FIXTURE_CLUSTER_REGISTRY]);
    expect(registry?.code).toBe(2);
    const purge = await refused(['scripts/cluster/down.ts', '--dry-run', '--purge']);
    expect(purge?.code).toBe(2);
    expect(purge?.stderr).toContain('--purge goes with --context NAME');
  });

  it('smoke --dry-run --context checks the declared routes through public DNS, against the system roots', async () => {
    const { stdout } = await run(tsx, ['scripts/cluster/smoke.ts', '--dry-run', '--dist', path.join(dir, 'dist'), '--context', CONTEXT], { cwd: root });
    const course = FIXTURE_CLUSTER_SERVICES.services.find((s) => s.name === 'course')!;
    expect(stdout).toContain(`# course: https://${course.ingress!.host}${course.ingress!.path}`);
    expect(stdout).toContain(`kubectl --context ${CONTEXT} get --raw`);
    expect(stdout).toContain('# TLS checked against the system roots');
    expect(stdout).not.toContain('courseops-root-ca');
    const refused = await run(tsx, ['scripts/cluster/smoke.ts', '--dry-run', '--dist', path.join(dir, 'dist')], { cwd: root }).then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('npm run smoke -- --context NAME');
  });

  it('down --dry-run --context prints the removal plan', async () => {
    const { stdout } = await run(tsx, ['scripts/cluster/down.ts', '--dry-run', '--dist', path.join(dir, 'dist'), '--context', CONTEXT], { cwd: root });
    expect(stdout).toContain(`helm uninstall cert-manager -n cert-manager --wait --timeout 10m --kube-context ${CONTEXT}`);
    expect(stdout).not.toContain('kind delete');
    expect(buildTeardownPlan({ dist, context: CONTEXT, purge: false }).length).toBeGreaterThan(0);
  });
});
