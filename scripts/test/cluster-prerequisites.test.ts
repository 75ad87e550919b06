import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCommand, type RunResult } from '../cluster/commands.js';
import { loadDist, type DistInputs } from '../cluster/inputs.js';
import { buildPlan } from '../cluster/plan.js';
import {
  PrerequisiteError,
  assertTools,
  checkTools,
  helmVersionProblem,
  kindVersionWarning,
  missingToolsMessage,
  TOOLS,
  type PathLookup,
} from '../cluster/prerequisites.js';
import { runPlan } from '../cluster/run.js';
import { writeFixtureDist } from '../cluster/testing/fixture-dist.js';
import { ok, recordingRunner } from '../cluster/testing/recording-runner.js';

const only =
  (...present: string[]): PathLookup =>
  (cmd) =>
    present.includes(cmd) ? `/usr/bin/${cmd}` : undefined;

describe('prerequisites', () => {
  it('names every missing tool with what it is for and an install hint', () => {
    const err = (() => {
      try {
        assertTools(only('docker', 'kubectl'));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PrerequisiteError);
    const message = err!.message;
    expect(message).toMatch(/^Missing prerequisites: kind, helm/);
    expect(message).toContain('kind (creates the local Kubernetes cluster) was not found on PATH.');
    expect(message).toContain('go install sigs.k8s.io/kind@v0.31.0');
    expect(message).toContain('helm (installs the platform charts');
    expect(message).toContain('https://helm.sh/docs/intro/install/');
    expect(message).not.toContain('docker (');
  });

  it('passes when everything is found, and gives a hint for each tool', () => {
    expect([...assertTools(only('docker', 'kind', 'kubectl', 'helm')).keys()]).toEqual(['docker', 'kind', 'kubectl', 'helm']);
    expect(checkTools(only()).missing.map((t) => t.name)).toEqual(['docker', 'kind', 'kubectl', 'helm']);
    const all = missingToolsMessage(TOOLS);
    expect(all).toContain('https://docs.docker.com/get-docker/');
    expect(all).toContain('https://kubernetes.io/docs/tasks/tools/');
  });

  it('checks tool versions', () => {
    expect(kindVersionWarning('kind v0.31.0 go1.25.5 linux/amd64')).toBeUndefined();
    expect(kindVersionWarning('kind v0.29.0 go1.24.2 linux/amd64')).toMatch(/older than v0.31.0/);
    expect(helmVersionProblem('v3.19.0+g3d8990f')).toBeUndefined();
    expect(helmVersionProblem('v4.0.1+gabc')).toBeUndefined();
    expect(helmVersionProblem('v3.7.2+g663a896')).toMatch(/Helm 3.8 or later/);
  });
});

const COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

/** A fake of every tool: records calls, answers probes like a fresh machine with no cluster. */
function fakeTools(overrides: (argv: string[]) => RunResult | undefined = () => undefined) {
  return recordingRunner((text) => {
    if (text === 'kind version') return ok('kind v0.31.0 go1.25.5 linux/amd64\n');
    if (text === 'helm version --short') return ok('v3.19.0+g3d8990f\n');
    if (text.includes('get configmap coredns')) return ok(COREFILE);
    return undefined;
  }, overrides);
}

describe('running the plan', () => {
  let dir: string;
  let dist: DistInputs;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'courseops-run-'));
    dist = loadDist(writeFixtureDist(path.join(dir, 'dist')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs exactly the commands the dry run shows, in order', async () => {
    const steps = buildPlan({ dist, synth: false });
    const tools = fakeTools();
    const summary = await runPlan(steps, { runner: tools.runner, lookup: only('docker', 'kind', 'kubectl', 'helm'), fileRoots: [dist.distDir], silent: true });
    const expected = steps.flatMap((s) => {
      switch (s.type) {
        case 'prerequisites':
          return s.commands;
        case 'commands':
          return [...(s.skipIf ? [s.skipIf.probe] : []), ...s.commands];
        case 'coredns':
        case 'secrets':
          return s.commands;
        default:
          return [];
      }
    });
    expect(tools.calls.map((c) => c.argv)).toEqual(expected.map((c) => c.argv));
    expect(summary.join('\n')).toContain('127.0.0.1 course.courseops.test');

    // The CoreDNS ConfigMap goes in on stdin with the rewrite inside the .:53 block.
    const coredns = tools.calls.find((c) => c.input?.includes('"ConfigMap"'));
    expect(JSON.parse(coredns!.input!).data.Corefile).toContain(
      'rewrite name regex ^(.+\\.)?courseops\\.test\\.?$ traefik.traefik.svc.cluster.local answer auto',
    );
    // Nothing secret reached an argv.
    const secretInputs = tools.calls.filter((c) => c.input?.includes('"Secret"'));
    expect(secretInputs).toHaveLength(8);
    for (const c of secretInputs) {
      const data = (JSON.parse(c.input!) as { data: Record<string, string> }).data;
      for (const v of Object.values(data)) {
        const plain = Buffer.from(v, 'base64').toString('utf8');
        expect(tools.calls.some((k) => k.argv.some((a) => a.includes(plain) && plain.length > 8))).toBe(false);
      }
    }
  });

  it('skips creating the cluster when kind lists it, and the CoreDNS patch when it is in place', async () => {
    const steps = buildPlan({ dist, synth: false });
    const patched = `.:53 {\n    # courseops: *.courseops.test -> ingress controller\n    rewrite name regex ^(.+\\.)?courseops\\.test\\.?$ traefik.traefik.svc.cluster.local answer auto\n    errors\n}\n`;
    const tools = fakeTools((argv) => {
      const text = argv.join(' ');
      if (text === 'kind get clusters') return { code: 0, stdout: 'other\ncourseops\n', stderr: '' };
      if (text.includes('get configmap coredns')) return { code: 0, stdout: patched, stderr: '' };
      return undefined;
    });
    await runPlan(steps, { runner: tools.runner, lookup: only('docker', 'kind', 'kubectl', 'helm'), fileRoots: [dist.distDir], silent: true });
    const texts = tools.calls.map((c) => c.argv.join(' '));
    expect(texts.some((t) => t.startsWith('kind create cluster'))).toBe(false);
    expect(texts.some((t) => t.includes('rollout restart deployment/coredns'))).toBe(false);
    expect(texts.some((t) => t.startsWith('docker build'))).toBe(true);
  });

  it('stops at a missing tool before running anything', async () => {
    const tools = fakeTools();
    const err = await runPlan(buildPlan({ dist, synth: false }), { runner: tools.runner, lookup: only('docker', 'kubectl'), silent: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PrerequisiteError);
    expect((err as Error).message).toContain('Install hint');
    expect(tools.calls).toEqual([]);
  });

  it('explains a Docker daemon that does not answer', async () => {
    const tools = fakeTools((argv) => (argv[0] === 'docker' ? { code: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' } : undefined));
    const err = await runPlan(buildPlan({ dist, synth: false }), { runner: tools.runner, lookup: only('docker', 'kind', 'kubectl', 'helm'), silent: true }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/Docker daemon is not answering[\s\S]*Cannot connect to the Docker daemon/);
    expect(tools.calls).toHaveLength(1);
  });

  it('fails fast with the failing command and its stderr', async () => {
    const steps = buildPlan({ dist, synth: false });
    const tools = fakeTools((argv) =>
      argv[0] === 'helm' && argv[3] === 'traefik' ? { code: 1, stdout: '', stderr: 'Error: INSTALLATION FAILED: context deadline exceeded' } : undefined,
    );
    const err = await runPlan(steps, { runner: tools.runner, lookup: only('docker', 'kind', 'kubectl', 'helm'), fileRoots: [dist.distDir], silent: true }).catch((e: Error) => e);
    expect((err as Error).message).toContain('command failed (exit 1): helm upgrade --install traefik traefik --repo');
    expect((err as Error).message).toContain('Error: INSTALLATION FAILED: context deadline exceeded');
    const last = tools.calls.at(-1)!;
    expect(renderCommand({ argv: last.argv })).toContain('helm upgrade --install traefik');
  });

  it('retries a server-side apply that races a starting webhook', async () => {
    const steps = buildPlan({ dist, synth: false });
    let failures = 0;
    const tools = fakeTools((argv) => {
      if (argv.includes('apply') && argv.at(-1)!.endsWith('10-certificates.yaml') && failures < 2) {
        failures++;
        return { code: 1, stdout: '', stderr: 'failed calling webhook "webhook.cert-manager.io": connection refused' };
      }
      return undefined;
    });
    await runPlan(steps, { runner: tools.runner, lookup: only('docker', 'kind', 'kubectl', 'helm'), fileRoots: [dist.distDir], silent: true, retryDelayMs: 1 });
    expect(tools.calls.filter((c) => c.argv.at(-1)!.endsWith('10-certificates.yaml'))).toHaveLength(3);
  });
});
