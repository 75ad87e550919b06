/**
 * up's manifest apply keeps a running canary's HTTPRoute weights (scripts/cluster/route-weights.ts). The
 * box test shows the reset it prevents against the real API server; these check the rewrite itself on
 * the synthesized course manifest.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOptions, RunResult, Runner } from '../cluster/commands.js';
import { applyCommand } from '../cluster/plan.js';
import { keepingLiveWeights, pluginRoutes, withWeights } from '../cluster/route-weights.js';
import { gatewayApiPlugin } from '../../cdk8s/src/helm/releases/argo-rollouts.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
let dist: string;
let courseFile: string;

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), 'courseops-weights-'));
  execFileSync(process.execPath, ['--import', 'tsx', 'cdk8s/src/main.ts'], { cwd: REPO, env: { ...process.env, COURSEOPS_DIST: dist }, stdio: 'ignore' });
  courseFile = join(dist, 'manifests', readdirSync(join(dist, 'manifests')).find((f) => f.endsWith('-course.yaml'))!);
}, 120_000);
afterAll(() => rmSync(dist, { recursive: true, force: true }));

const liveRoute = (canary: number) => ({
  kind: 'HTTPRoute',
  spec: { rules: [{ backendRefs: [{ name: 'course', port: 3001, weight: 100 - canary }, { name: 'course-canary', port: 3001, weight: canary }] }] },
});

/** A kubectl that knows one live HTTPRoute (or none), recording what it was asked. */
function fakeKubectl(live: object | undefined) {
  const calls: { argv: string[]; input?: string }[] = [];
  const runner: Runner = async (argv: string[], options: RunOptions = {}): Promise<RunResult> => {
    calls.push({ argv, input: options.input });
    if (argv.includes('get')) return { code: 0, stdout: live ? JSON.stringify(live) : '', stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls };
}

describe('keeping the live weights of plugin-routed HTTPRoutes', () => {
  it('finds the HTTPRoute the Rollout names for the Gateway API plugin, and only that one', () => {
    const docs = parseAllDocuments(readFileSync(courseFile, 'utf8')).map((d) => d.toJS());
    expect(docs.some((d) => d?.spec?.strategy?.canary?.trafficRouting?.plugins?.[gatewayApiPlugin.name])).toBe(true);
    expect([...pluginRoutes(docs)]).toEqual(['courseops/course']);
    expect(pluginRoutes(docs.filter((d) => d?.kind !== 'Rollout')).size).toBe(0);
  });

  it('copies each live weight by backend name and rule, leaving everything else as synthesized', () => {
    const route = { kind: 'HTTPRoute', metadata: { name: 'course' }, spec: { hostnames: ['api.x'], rules: [{ matches: [{ path: { value: '/api/courses' } }], backendRefs: [{ name: 'course', port: 3001 }, { name: 'course-canary', port: 3001 }] }] } };
    const out = withWeights(route, liveRoute(25));
    expect(out.spec?.rules?.[0]?.backendRefs).toEqual([{ name: 'course', port: 3001, weight: 75 }, { name: 'course-canary', port: 3001, weight: 25 }]);
    expect(out).toMatchObject({ metadata: { name: 'course' }, spec: { hostnames: ['api.x'], rules: [{ matches: [{ path: { value: '/api/courses' } }] }] } });
    // A backend the live route does not have keeps no weight (the Gateway API default applies).
    expect(withWeights(route, { spec: { rules: [{ backendRefs: [{ name: 'other', weight: 5 }] }] } }).spec?.rules?.[0]?.backendRefs).toEqual(route.spec.rules[0]!.backendRefs);
  });

  it("applies the course manifest from stdin with the live route's weights when the route exists", async () => {
    const { runner, calls } = fakeKubectl(liveRoute(25));
    const cmd = applyCommand(courseFile);
    const { cmd: actual, input } = await keepingLiveWeights(runner, cmd);
    expect(actual.argv).toEqual([...cmd.argv.slice(0, -1), '-']);
    expect(calls.map((c) => c.argv.slice(cmd.argv.indexOf('apply'), cmd.argv.indexOf('apply') + 2))).toEqual([['get', 'httproutes.gateway.networking.k8s.io']]);
    const docs = parseAllDocuments(input!).map((d) => d.toJS());
    const route = docs.find((d) => d.kind === 'HTTPRoute' && d.metadata.name === 'course');
    expect(route.spec.rules[0].backendRefs.map((b: { name: string; weight?: number }) => [b.name, b.weight])).toEqual([['course', 75], ['course-canary', 25]]);
    // Every other object of the file goes through untouched.
    const original = parseAllDocuments(readFileSync(courseFile, 'utf8')).map((d) => d.toJS()).filter(Boolean);
    expect(docs.length).toBe(original.length);
    expect(docs.filter((d) => d.kind !== 'HTTPRoute')).toEqual(original.filter((d) => d.kind !== 'HTTPRoute'));
  });

  it('leaves the apply as it is on a first install (no live route) and for files without a plugin-routed route', async () => {
    const first = fakeKubectl(undefined);
    const cmd = applyCommand(courseFile);
    expect(await keepingLiveWeights(first.runner, cmd)).toEqual({ cmd });
    const namespacesFile = join(dist, 'manifests', readdirSync(join(dist, 'manifests')).find((f) => f.includes('namespaces'))!);
    const none = fakeKubectl(liveRoute(25));
    expect(await keepingLiveWeights(none.runner, applyCommand(namespacesFile))).toEqual({ cmd: applyCommand(namespacesFile) });
    expect(none.calls).toEqual([]);
  });

  it('fails with the reason when the live route cannot be read (never applies blind over a canary)', async () => {
    const failing: Runner = async () => ({ code: 1, stdout: '', stderr: 'error: the server is unreachable' });
    await expect(keepingLiveWeights(failing, applyCommand(courseFile))).rejects.toThrow(/live HTTPRoute courseops\/course.*server is unreachable/);
  });
});
