import { describe, expect, it } from 'vitest';
import { canaryCommands, parseCanaryArgs } from '../cluster/canary-plan.js';
import { canaryStatusCommands, observeCanary, readCanary, routeSplit, routeTarget, type HttpRouteView, type RolloutStatusView } from '../cluster/canary-status.js';
import type { RunResult, Runner } from '../cluster/commands.js';

describe('npm run canary: arguments', () => {
  it('reads a deploy with its defaults, and the demo switches', () => {
    expect(parseCanaryArgs(['course', 'v2'])).toEqual({ action: 'deploy', service: 'course', tag: 'v2', build: true, traffic: true, timeoutMinutes: 30, dryRun: false });
    expect(parseCanaryArgs(['teacher', 'v3', '--fault-rate', '0.2', '--no-build', '--no-traffic', '--timeout=5', '--dry-run'])).toEqual({
      action: 'deploy',
      service: 'teacher',
      tag: 'v3',
      faultRate: 0.2,
      build: false,
      traffic: false,
      timeoutMinutes: 5,
      dryRun: true,
    });
    expect(parseCanaryArgs(['status', '--promote'])).toEqual({ action: 'promote', service: 'status', dryRun: false });
    expect(parseCanaryArgs(['course', '--abort', '--dry-run'])).toEqual({ action: 'abort', service: 'course', dryRun: true });
  });

  it.each([
    [[], /which service/],
    [['billing', 'v1'], /unknown service "billing": one of course, teacher, status/],
    [['course'], /which image tag/],
    [['course', 'bad tag!'], /not a valid image tag/],
    [['course', 'v2', 'v3'], /unexpected argument "v3"/],
    [['course', 'v2', '--fault-rate', '1.5'], /--fault-rate must be between 0 and 1/],
    [['course', 'v2', '--fault-rate'], /--fault-rate needs a value/],
    [['course', 'v2', '--timeout', '0'], /--timeout must be a positive number/],
    [['course', '--promote', '--abort'], /exclude each other/],
    [['course', 'v2', '--promote'], /--promote takes only the service name/],
    [['course', 'v2', '--fast'], /unknown flag --fast/],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseCanaryArgs(argv)).toThrow(message);
  });
});

describe('npm run canary: commands', () => {
  const env = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'FAULT_RATE', value: '0.5' },
    { name: 'DATABASE_URL', value: 'postgres://x' },
  ];
  const patchOf = (argv: string[]) => JSON.parse(argv[argv.indexOf('-p') + 1]!) as { op: string; path: string; value: unknown }[];

  it('builds and loads the image, then sets image and env on the Rollout in one JSON patch', () => {
    const cmds = canaryCommands({ action: 'deploy', service: 'course', tag: 'v2', faultRate: 0.2, build: true, traffic: true, timeoutMinutes: 30 }, env);
    expect(cmds.map((c) => c.argv.slice(0, 2).join(' '))).toEqual(['docker build', 'kind load', 'kubectl --context']);
    expect(cmds[0]!.argv).toContain('courseops/course:v2');
    const patch = cmds[2]!.argv;
    expect(patch.slice(0, 9)).toEqual(['kubectl', '--context', 'kind-courseops', '-n', 'courseops', 'patch', 'rollout', 'course', '--type']);
    expect(patchOf(patch)).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'courseops/course:v2' },
      { op: 'replace', path: '/spec/template/spec/containers/0/env', value: [env[0], env[2], { name: 'FAULT_RATE', value: '0.2' }] },
    ]);
  });

  it('names the new image with the configured prefix, as the manifests name the service images', () => {
    const cmds = canaryCommands({ action: 'deploy', service: 'course', tag: 'v2', build: true, traffic: true, timeoutMinutes: 30 }, env, { imagePrefix: 'registry.example:5000/team' });
    expect(cmds[0]!.argv).toContain('registry.example:5000/team/course:v2');
    expect(cmds[1]!.argv).toContain('registry.example:5000/team/course:v2');
    expect(patchOf(cmds[2]!.argv)[0]!.value).toBe('registry.example:5000/team/course:v2');
  });

  it('removes a previous FAULT_RATE when none is asked for, keeps the rest, and skips the build with --no-build', () => {
    const cmds = canaryCommands({ action: 'deploy', service: 'course', tag: 'v3', build: false, traffic: true, timeoutMinutes: 30 }, env);
    expect(cmds).toHaveLength(1);
    expect(patchOf(cmds[0]!.argv)[1]!.value).toEqual([env[0], env[2]]);
  });

  it('promotes fully and aborts through the status subresource, as the Argo Rollouts plugin does', () => {
    const [promote] = canaryCommands({ action: 'promote', service: 'teacher' });
    expect(promote!.argv.slice(-7)).toEqual(['teacher', '--subresource', 'status', '--type', 'merge', '-p', '{"status":{"promoteFull":true}}']);
    const [abort] = canaryCommands({ action: 'abort', service: 'teacher' });
    expect(abort!.argv.at(-1)).toBe('{"status":{"abort":true}}');
  });
});

describe('npm run canary: reading the Rollout and its HTTPRoute', () => {
  const steps = new Array(9).fill({});
  const rollout = (status: NonNullable<RolloutStatusView['status']>, generation = 4): RolloutStatusView => ({
    metadata: { generation },
    spec: { strategy: { canary: { steps } } },
    status: { observedGeneration: String(generation), ...status },
  });
  const target = routeTarget('course')!;
  /** The route as the plugin leaves it: our rule with the two Services, weights set by the plugin (or not yet). */
  const route = (stable?: number, canary?: number): HttpRouteView => ({
    spec: {
      rules: [
        {
          backendRefs: [
            { name: 'course', ...(stable !== undefined ? { weight: stable } : {}) },
            { name: 'course-canary', ...(canary !== undefined ? { weight: canary } : {}) },
          ],
        },
      ],
    },
  });
  const aborted = rollout({ phase: 'Degraded', abort: true, currentPodHash: 'new', stableRS: 'old', message: 'RolloutAborted: Metric "success-ratio" assessed Failed' });

  it("knows each service's route and the two Services the plugin weighs in it", () => {
    expect(target).toEqual({ name: 'course', stableService: 'course', canaryService: 'course-canary' });
    expect(routeTarget('status')).toEqual({ name: 'status', stableService: 'status', canaryService: 'status-canary' });
  });

  it("reads the route's split as Gateway API does: weight over the sum, a missing weight weighing 1", () => {
    expect(routeSplit(route(90, 10), target)).toEqual({ stableWeight: 90, canaryWeight: 10, canaryPercent: 10 });
    expect(routeSplit(route(75, 25), target)?.canaryPercent).toBe(25);
    // As applied by our manifests, before the plugin's first SetWeight: 1 and 1, half each.
    expect(routeSplit(route(), target)).toEqual({ stableWeight: 1, canaryWeight: 1, canaryPercent: 50 });
    expect(routeSplit(route(100, 0), target)?.canaryPercent).toBe(0);
    // A header-routing rule the plugin adds names only the canary: skipped, our rule is read.
    const withHeaderRule: HttpRouteView = { spec: { rules: [{ backendRefs: [{ name: 'course-canary', weight: 100 }] }, ...route(50, 50).spec!.rules!] } };
    expect(routeSplit(withHeaderRule, target)?.canaryPercent).toBe(50);
    expect(routeSplit({ spec: { rules: [{ backendRefs: [{ name: 'course' }] }] } }, target)).toBeUndefined();
  });

  it('follows a canary paused at 10 %, with the weight the controller asked for and the one on the route', () => {
    const r = readCanary(
      rollout({
        phase: 'Paused',
        currentStepIndex: 1,
        currentPodHash: 'new',
        stableRS: 'old',
        pauseConditions: [{ reason: 'CanaryPauseStep' }],
        canary: { weights: { canary: { weight: 10 } }, currentBackgroundAnalysisRunStatus: { name: 'course-new-2', status: 'Running' } },
      }),
      { target, route: route(90, 10) },
    );
    expect(r.verdict).toBe('progressing');
    expect(r.line).toBe('Paused · step 1/9 · canary weight 10 % · route course: canary 10 % (weights 90/10) · paused (CanaryPauseStep) · background Running');
  });

  it('is promoted when the new pods are the stable ones and the controller has seen the latest spec', () => {
    expect(readCanary(rollout({ phase: 'Healthy', currentStepIndex: 9, currentPodHash: 'new', stableRS: 'new' }), { target, route: route(100, 0) }).verdict).toBe('promoted');
    // Healthy, but the controller has not yet seen the patched template: not done.
    expect(readCanary(rollout({ phase: 'Healthy', currentPodHash: 'old', stableRS: 'old', observedGeneration: '3' })).verdict).toBe('progressing');
  });

  it('is aborted only once the route sends nothing to the canary Service, with the message shown', () => {
    const back = readCanary(aborted, { target, route: route(100, 0) });
    expect(back.verdict).toBe('aborted');
    expect(back.line).toContain('success-ratio');
    // The controller has aborted but the plugin has not reset the route yet: still going.
    const stillSplit = readCanary(aborted, { target, route: route(90, 10) });
    expect(stillSplit).toEqual({ verdict: 'progressing', line: expect.stringMatching(/^aborting · .*route course: canary 10 %/) });
    // A route that cannot be read proves nothing either way.
    expect(readCanary(aborted, { target, error: 'httproutes.gateway.networking.k8s.io "course" not found' }).verdict).toBe('progressing');
    // Without a public route, there is no route to wait for.
    expect(readCanary(aborted).verdict).toBe('aborted');
  });
});

describe('npm run canary: following through kubectl', () => {
  /** A fake kubectl serving one Rollout and one HTTPRoute as JSON; records what it was asked. */
  const fakeKubectl = (objects: { rollout: RolloutStatusView; httproute?: HttpRouteView }) => {
    const calls: string[][] = [];
    const runner: Runner = async (argv): Promise<RunResult> => {
      calls.push(argv);
      const kind = argv[argv.indexOf('get') + 1] as 'rollout' | 'httproute';
      const found = objects[kind];
      if (!found) return { code: 1, stdout: '', stderr: `Error from server (NotFound): ${kind}s "${argv[argv.indexOf('get') + 2]}" not found\n` };
      return { code: 0, stdout: JSON.stringify(found), stderr: '' };
    };
    return { runner, calls };
  };
  const paused: RolloutStatusView = {
    metadata: { generation: 2 },
    spec: { strategy: { canary: { steps: new Array(9).fill({}) } } },
    status: { observedGeneration: '2', phase: 'Paused', currentStepIndex: 4, canary: { weights: { canary: { weight: 25 } } } },
  };

  it('reads the Rollout and the HTTPRoute of the service, in its namespace', async () => {
    const { runner, calls } = fakeKubectl({ rollout: paused, httproute: { spec: { rules: [{ backendRefs: [{ name: 'teacher', weight: 75 }, { name: 'teacher-canary', weight: 25 }] }] } } });
    const r = await observeCanary(runner, 'teacher');
    expect(calls).toEqual([
      ['kubectl', '--context', 'kind-courseops', '-n', 'courseops', 'get', 'rollout', 'teacher', '-o', 'json'],
      ['kubectl', '--context', 'kind-courseops', '-n', 'courseops', 'get', 'httproute', 'teacher', '-o', 'json'],
    ]);
    expect(r).toEqual({ verdict: 'progressing', line: 'Paused · step 4/9 · canary weight 25 % · route teacher: canary 25 % (weights 75/25)' });
  });

  it('shows a missing route in the line instead of failing, and fails when the Rollout cannot be read', async () => {
    const { runner } = fakeKubectl({ rollout: paused });
    expect((await observeCanary(runner, 'course')).line).toContain('route course unreadable: Error from server (NotFound): httproutes "course" not found');
    const { runner: none } = fakeKubectl({ rollout: undefined as unknown as RolloutStatusView });
    await expect(observeCanary(none, 'course')).rejects.toThrow(/not found/);
  });

  it('names the same two reads for --dry-run', () => {
    const { rollout, route } = canaryStatusCommands('course');
    expect(rollout.argv.slice(-5)).toEqual(['get', 'rollout', 'course', '-o', 'json']);
    expect(route?.argv.slice(-5)).toEqual(['get', 'httproute', 'course', '-o', 'json']);
  });
});
