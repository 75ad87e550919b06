import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_API } from '../../cdk8s/src/gateway/api.js';
import { parseFlags } from '../cluster/cli.js';
import { shellQuote } from '../cluster/commands.js';
import { loadDist, type DistInputs } from '../cluster/inputs.js';
import { buildPlan, helmCommand, hostsLine, renderPlan, waitCommands } from '../cluster/plan.js';
import { FIXTURE_HOSTS, FIXTURE_SERVICES, writeFixtureDist } from '../cluster/testing/fixture-dist.js';

const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
let dist: DistInputs;
let lines: string[];

/** Index of the first line matching, asserting there is one. */
function at(pattern: string | RegExp, from = 0): number {
  const i = lines.findIndex((l, n) => n >= from && (typeof pattern === 'string' ? l.startsWith(pattern) : pattern.test(l)));
  expect(i, `no line matching ${pattern} after line ${from}:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  return i;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'courseops-plan-'));
  dist = loadDist(writeFixtureDist(path.join(dir, 'dist')));
  lines = renderPlan(buildPlan({ dist, synth: false }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the dry-run plan', () => {
  it('lists the steps in order: prerequisites, cluster, CoreDNS, images, secrets, Gateway API CRDs, helm, apply, waits, hosts line', () => {
    const prereq = at('docker info');
    at('kind version', prereq);
    at('helm version', prereq);
    const cluster = at('kind create cluster --name courseops --config kind-config.yaml', prereq);
    expect(at('kind get clusters')).toBeLessThan(cluster);
    const coredns = at(/get configmap coredns/, cluster);
    const builds = [['course', 3001], ['teacher', 3002], ['status', 3003]].map(([s, port]) => at(`docker build -f services/Dockerfile --build-arg SERVICE=${s} --build-arg PORT=${port} -t courseops/${s}:dev .`, coredns));
    const loads = ['course', 'teacher', 'status'].map((s) => at(`kind load docker-image courseops/${s}:dev --name courseops`, coredns));
    expect(builds).toEqual([...builds].sort((a, b) => a - b));
    expect(loads).toEqual([...loads].sort((a, b) => a - b));
    expect(Math.max(...builds)).toBeLessThan(Math.min(...loads));
    const secrets = at(/apply .* -f - +\(stdin: Secret /, Math.max(...loads));
    const crds = at(`kubectl --context kind-courseops apply --server-side --force-conflicts -f ${GATEWAY_API.installUrl}`, secrets);
    const helm = at('helm upgrade --install', crds);
    const apply = at(/apply --server-side --force-conflicts -f .*manifests/, helm);
    const wait = at(/kubectl --context kind-courseops (wait|rollout status)/, apply);
    const hosts = at('  127.0.0.1 ', wait);
    expect(lines.filter((l) => l.startsWith('== '))).toEqual([
      '== 1. Check prerequisites (docker, kind, kubectl, helm) ==',
      '== 2. Create the kind cluster courseops ==',
      '== 3. CoreDNS: resolve *.courseops.test to the Gateway (Traefik) ==',
      '== 4. Build the service images and load them into kind ==',
      '== 5. Create the generated secrets (8) ==',
      '== 6. Install the Gateway API CRDs (v1.6.1, standard channel) ==',
      '== 7. Install the Helm releases in order (cert-manager, traefik, kube-prometheus-stack, eck-operator, argo-rollouts, dex) ==',
      `== 8. Apply ${path.join(dist.distDir, 'manifests')} server-side (5 files) ==`,
      '== 9. Wait for every workload ==',
      '== 10. Hosts, URLs and credentials ==',
    ]);
    expect(hosts).toBeGreaterThan(wait);
  });

  it('installs the releases by their order field, with the flags of OCI and https repositories', () => {
    const helm = lines.filter((l) => l.startsWith('helm upgrade'));
    const v = (f: string) => path.join(dist.distDir, 'helm', f);
    expect(helm).toEqual([
      `helm upgrade --install cert-manager oci://quay.io/jetstack/charts/cert-manager --version v1.21.0 -n cert-manager --create-namespace -f ${v('01-cert-manager.values.yaml')} --wait --timeout 10m --kube-context kind-courseops`,
      `helm upgrade --install traefik traefik --repo https://traefik.github.io/charts --version 41.3.0 -n traefik --create-namespace -f ${v('02-traefik.values.yaml')} --wait --timeout 10m --kube-context kind-courseops`,
      `helm upgrade --install kube-prometheus-stack kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 88.0.0 -n monitoring --create-namespace -f ${v('03-kube-prometheus-stack.values.yaml')} --wait --timeout 15m --kube-context kind-courseops`,
      `helm upgrade --install eck-operator eck-operator --repo https://helm.elastic.co --version 3.5.0 -n elastic-system --create-namespace -f ${v('04-eck-operator.values.yaml')} --wait --timeout 10m --kube-context kind-courseops`,
      `helm upgrade --install argo-rollouts argo-rollouts --repo https://argoproj.github.io/argo-helm --version 2.41.0 -n argo-rollouts --create-namespace -f ${v('05-argo-rollouts.values.yaml')} --wait --timeout 10m --kube-context kind-courseops`,
      `helm upgrade --install dex dex --repo https://charts.dexidp.io --version 0.24.1 -n auth --create-namespace -f ${v('06-dex.values.yaml')} --wait --timeout 10m --kube-context kind-courseops`,
    ]);
    expect(helm[0]).not.toContain('--repo');
  });

  it('omits --create-namespace when a release says so, and strips a trailing slash of the repo', () => {
    const cmd = helmCommand({ order: 1, name: 'x', namespace: 'y', repo: 'oci://r.example/charts', chart: 'x', version: '1.0.0', valuesFile: 'helm/x.yaml', createNamespace: false }, 'dist');
    expect(cmd.argv).not.toContain('--create-namespace');
    expect(cmd.argv.slice(0, 5)).toEqual(['helm', 'upgrade', '--install', 'x', 'oci://r.example/charts/x']);
  });

  it('creates each secret through stdin with <generated> shown, never a value', () => {
    const secretLines = lines.filter((l) => l.includes('(stdin: Secret '));
    expect(secretLines).toHaveLength(8);
    expect(secretLines[0]).toBe(
      'kubectl --context kind-courseops apply --server-side --force-conflicts --field-manager=courseops-up -f -   (stdin: Secret courseops/course-db password=<generated>)   # only when new or changed; existing generated values are kept',
    );
    expect(secretLines[4]).toContain(
      '(stdin: Secret auth/dex-static-users admin-password=<generated>, admin-password-hash=<bcrypt of admin-password>, viewer-password=<generated>, viewer-password-hash=<bcrypt of viewer-password>)',
    );
    expect(secretLines[5]).toContain('(stdin: Secret monitoring/grafana-admin admin-user=<fixed value>, admin-password=<generated>)');
    expect(secretLines[6]).toContain('(stdin: Secret monitoring/grafana-oauth client-secret=<copy of auth/dex-clients grafana>)');
    expect(secretLines[7]).toContain('(stdin: Secret monitoring/extra-config config=<from secrets/extra-config>)');
    // Existing secrets are looked up first, namespaces are created when missing.
    expect(at('kubectl --context kind-courseops get secret course-db -n courseops -o json --ignore-not-found')).toBeLessThan(at(/Secret courseops\/course-db/));
    expect(at('kubectl --context kind-courseops create namespace auth')).toBeLessThan(at(/Secret auth\/dex-clients/));
    // No base64 payloads or anything that looks like a generated value anywhere in the plan.
    expect(lines.join('\n')).not.toMatch(/"data"|[A-Za-z0-9_-]{32,}/);
  });

  it('waits for the Gateway to be programmed by Traefik', () => {
    const cmds = waitCommands([{ objects: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'courseops', namespace: 'traefik' }] }]);
    expect(cmds.map((c) => c.argv.join(' '))).toEqual([
      'kubectl --context kind-courseops wait --for=condition=Programmed gateways.gateway.networking.k8s.io/courseops -n traefik --timeout=10m',
    ]);
  });

  it('applies every manifest server-side in file-name order', () => {
    const applied = lines.filter((l) => l.includes('apply --server-side --force-conflicts -f ') && l.includes('/manifests/'));
    expect(applied.map((l) => path.basename(l.split(' -f ')[1]!))).toEqual([
      '00-namespaces.yaml',
      '10-certificates.yaml',
      '20-courseops.yaml',
      '30-logging.yaml',
      '40-auth.yaml',
    ]);
  });

  it('waits for deployments, statefulsets, daemonsets, Argo Rollouts (jsonpath, no plugin) and Elastic health', () => {
    const waits = lines.slice(at('== 9.'), at('== 10.')).filter((l) => l.startsWith('kubectl'));
    expect(waits).toContain('kubectl --context kind-courseops wait --for=condition=Available deployment/status -n courseops --timeout=10m');
    expect(waits).toContain('kubectl --context kind-courseops rollout status statefulset/postgres -n courseops --timeout=10m');
    expect(waits).toContain('kubectl --context kind-courseops rollout status daemonset/node-agent -n monitoring --timeout=10m');
    expect(waits).toContain(
      `kubectl --context kind-courseops wait ${shellQuote('--for=jsonpath={.status.phase}=Healthy')} rollouts.argoproj.io/course rollouts.argoproj.io/teacher -n courseops --timeout=10m`,
    );
    expect(waits).toContain(
      `kubectl --context kind-courseops wait ${shellQuote('--for=jsonpath={.status.health}=green')} elasticsearches.elasticsearch.k8s.elastic.co/logs -n logging --timeout=15m`,
    );
    expect(waits).toContain('kubectl --context kind-courseops wait --for=condition=Ready certificates.cert-manager.io/courseops-ca -n cert-manager --timeout=10m');
    expect(waits.join('\n')).not.toMatch(/argo rollouts|ClusterIssuer|Service\//);
  });

  it('ends with the /etc/hosts line, the URLs and how to read credentials (never their values)', () => {
    expect(hostsLine(FIXTURE_HOSTS)).toBe(`127.0.0.1 ${FIXTURE_HOSTS.join(' ')}`);
    expect(lines).toContain(`  ${hostsLine(FIXTURE_HOSTS)}`);
    expect(lines).toContain('  https://grafana.courseops.test/');
    expect(lines).toContain("  kubectl --context kind-courseops -n cert-manager get secret courseops-root-ca -o 'jsonpath={.data.ca\\.crt}' | base64 -d > courseops-ca.crt");
    expect(lines).toContain('  Grafana admin (monitoring/grafana-admin):');
    expect(lines).toContain("    admin-password: kubectl --context kind-courseops -n monitoring get secret grafana-admin -o 'jsonpath={.data.admin-password}' | base64 -d; echo");
    expect(lines).toContain('  Dex users admin@courseops.test, viewer@courseops.test (auth/dex-static-users):');
    expect(lines).toContain("    viewer-password: kubectl --context kind-courseops -n auth get secret dex-static-users -o 'jsonpath={.data.viewer-password}' | base64 -d; echo");
    expect(lines).toContain("    elastic: kubectl --context kind-courseops -n logging get secret logs-es-elastic-user -o 'jsonpath={.data.elastic}' | base64 -d; echo");
    expect(lines).toContain('    monitoring/grafana-oauth: client-secret');
    expect(lines.join('\n')).not.toContain('admin-password-hash:');
  });

  it('adds the BASE_IMAGE build argument when given', () => {
    const withBase = renderPlan(buildPlan({ dist, synth: false, baseImage: 'mirror.example/node:20' }));
    expect(withBase).toContain('docker build -f services/Dockerfile --build-arg SERVICE=course --build-arg PORT=3001 --build-arg BASE_IMAGE=mirror.example/node:20 -t courseops/course:dev .');
  });

  it('runs the synth first when dist/ is missing, and says the rest needs its output', () => {
    const plan = renderPlan(buildPlan({ synth: true }));
    expect(plan.indexOf('npm run synth')).toBeGreaterThan(plan.indexOf('helm version --short'));
    expect(plan.indexOf('npm run synth')).toBeLessThan(plan.findIndex((l) => l.startsWith('kind create cluster')));
    expect(plan.join('\n')).toContain('computed from dist/ after `npm run synth`');
    expect(plan.join('\n')).not.toContain('helm upgrade');
  });
});

describe('flags', () => {
  it('accepts --dry-run and npm_config_dry_run (npm run up --dry-run)', () => {
    expect(parseFlags(['--dry-run'], [], {}).dryRun).toBe(true);
    expect(parseFlags([], [], { npm_config_dry_run: 'true' }).dryRun).toBe(true);
    expect(parseFlags([], [], { npm_config_dry_run: '' }).dryRun).toBe(false);
    expect(parseFlags([], [], {}).dryRun).toBe(false);
    expect(parseFlags(['--dist', 'x', '--base-image=y'], ['dist', 'base-image'], {}).values).toEqual(new Map([['dist', 'x'], ['base-image', 'y']]));
    expect(() => parseFlags(['oops'], [], {})).toThrow(/unexpected argument/);
  });
});

describe('npx tsx scripts/cluster/up.ts --dry-run', () => {
  const run = promisify(execFile);
  const tsx = path.join(root, 'node_modules/.bin/tsx');

  it('prints the plan from a dist directory and runs nothing', async () => {
    const { stdout } = await run(tsx, ['scripts/cluster/up.ts', '--dry-run', '--dist', path.join(dir, 'dist')], { cwd: root });
    expect(stdout).toContain('kind create cluster --name courseops --config kind-config.yaml');
    expect(stdout).toContain('password=<generated>');
    expect(stdout).toContain(`127.0.0.1 ${FIXTURE_HOSTS.join(' ')}`);
  });

  it('takes the dry run from npm_config_dry_run too', async () => {
    // An empty PATH: none of the tools is found, which the dry run notes (and does not fail on).
    const cli = path.join(root, 'node_modules/tsx/dist/cli.mjs');
    const { stdout } = await run(process.execPath, [cli, 'scripts/cluster/up.ts', '--dist', path.join(dir, 'dist')], {
      cwd: root,
      env: { ...process.env, npm_config_dry_run: 'true', PATH: path.join(dir, 'empty-path') },
    });
    expect(stdout).toContain('# courseops bring-up plan');
    expect(stdout).toContain('not found on this machine: docker, kind, kubectl, helm');
  });

  it('smoke --dry-run lists the checks against the hosts of dist/', async () => {
    const { stdout } = await run(tsx, ['scripts/cluster/smoke.ts', '--dry-run', '--dist', path.join(dir, 'dist')], { cwd: root });
    expect(stdout).toContain('kubectl --context kind-courseops -n cert-manager get secret courseops-root-ca -o json');
    // Each declared route and UI host, as dist/services.json names them (no guessing from host names).
    expect(stdout).toContain('# course: https://api.courseops.test/api/courses');
    expect(stdout).toContain('# teacher: https://api.courseops.test/api/teachers');
    expect(stdout).toContain('# status: https://status.courseops.test');
    expect(stdout).toContain('# rollouts: https://rollouts.courseops.test/');
    expect(stdout).toContain("get --raw '/api/v1/namespaces/monitoring/services/prometheus-operated:web/proxy/api/v1/targets?state=active'");
  });

  it('down --dry-run prints the delete command', async () => {
    const { stdout } = await run(tsx, ['scripts/cluster/down.ts', '--dry-run'], { cwd: root });
    expect(stdout).toContain('kind delete cluster --name courseops');
  });
});

describe('the plan follows the synthesized config (dist/services.json)', () => {
  it('builds and loads exactly the images the manifests run, and rewrites the configured domain', async () => {
    const { buildPlatform } = await import('../../cdk8s/src/app.js');
    const { render, writeDist } = await import('../../cdk8s/src/synth.js');
    const { defaultConfig } = await import('../../cdk8s/src/config.js');
    const config = { ...defaultConfig, imagePrefix: 'registry.example:5000/team', imageTag: 'v2', domain: 'staging.test' };
    const out = render(buildPlatform({ config }));
    const distDir = path.join(dir, 'dist-v2');
    writeDist(out, distDir);
    const plan = renderPlan(buildPlan({ dist: loadDist(distDir), synth: false })).join('\n');

    const manifestImages = new Set(
      JSON.stringify(out.objects)
        .match(/"image":"registry\.example:5000\/team\/[^"]+"/g)!
        .map((m) => m.slice('"image":"'.length, -1)),
    );
    expect([...manifestImages].sort()).toEqual(['backup', 'course', 'status', 'teacher'].map((n) => `registry.example:5000/team/${n}:v2`));
    for (const image of manifestImages) {
      expect(plan).toMatch(new RegExp(`docker build -f \\S+ (--build-arg \\S+ )*-t ${image.replaceAll('.', '\\.')} \\.`));
      expect(plan).toContain(`kind load docker-image ${image} --name`);
    }
    expect(plan).not.toContain(':dev');
    expect(plan).toContain('rewrite name regex ^(.+\\.)?staging\\.test\\.?$ traefik.traefik.svc.cluster.local answer auto');
    expect(plan).not.toContain('courseops\\.test');
  });

  it('refuses a services.json that is not what the synth writes, naming the field', () => {
    const untagged = { ...FIXTURE_SERVICES, services: [{ ...FIXTURE_SERVICES.services[0]!, image: 'courseops/course' }] };
    expect(() => loadDist(writeFixtureDist(path.join(dir, 'dist-bad'), untagged))).toThrow(/services\[0\]\.image must be an image reference with a tag/);
    const { hosts: _hosts, ...hostless } = FIXTURE_SERVICES;
    expect(() => loadDist(writeFixtureDist(path.join(dir, 'dist-hostless'), hostless))).toThrow(/services\.json: hosts /);
    const dangling = { ...FIXTURE_SERVICES, services: FIXTURE_SERVICES.services.filter((s) => s.name !== 'course') };
    expect(() => loadDist(writeFixtureDist(path.join(dir, 'dist-dangling'), dangling))).toThrow(/services name a service that calls or probes one not declared/);
  });
});
