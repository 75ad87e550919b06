import { describe, expect, it } from 'vitest';
import { canaryCommands, parseCanaryArgs, readRollout, type RolloutStatusView } from '../cluster/canary-plan.js';

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

describe('npm run canary: reading the Rollout', () => {
  const steps = new Array(9).fill({});
  const rollout = (status: NonNullable<RolloutStatusView['status']>, generation = 4): RolloutStatusView => ({
    metadata: { generation },
    spec: { strategy: { canary: { steps } } },
    status: { observedGeneration: String(generation), ...status },
  });

  it('follows a canary paused at 10 % with its analysis running', () => {
    const r = readRollout(
      rollout({
        phase: 'Paused',
        currentStepIndex: 1,
        currentPodHash: 'new',
        stableRS: 'old',
        pauseConditions: [{ reason: 'CanaryPauseStep' }],
        canary: { weights: { canary: { weight: 10 } }, currentBackgroundAnalysisRunStatus: { name: 'course-new-2', status: 'Running' } },
      }),
    );
    expect(r.verdict).toBe('progressing');
    expect(r.line).toBe('Paused · step 1/9 · canary weight 10 % · paused (CanaryPauseStep) · background Running');
  });

  it('is promoted when the new pods are the stable ones and the controller has seen the latest spec', () => {
    expect(readRollout(rollout({ phase: 'Healthy', currentStepIndex: 9, currentPodHash: 'new', stableRS: 'new' })).verdict).toBe('promoted');
    // Healthy, but the controller has not yet seen the patched template: not done.
    expect(readRollout(rollout({ phase: 'Healthy', currentPodHash: 'old', stableRS: 'old', observedGeneration: '3' })).verdict).toBe('progressing');
  });

  it('is aborted when the analysis (or a person) aborted it, with the message shown', () => {
    const r = readRollout(
      rollout({ phase: 'Degraded', abort: true, currentPodHash: 'new', stableRS: 'old', message: 'RolloutAborted: Metric "success-ratio" assessed Failed' }),
    );
    expect(r.verdict).toBe('aborted');
    expect(r.line).toContain('success-ratio');
  });
});
