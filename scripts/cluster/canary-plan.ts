/**
 * `npm run canary` as data: its arguments and the commands it runs (shown by --dry-run, run by canary.ts).
 * How it reads a running canary (the Rollout and its HTTPRoute) is in canary-status.ts.
 */
import { defaultConfig, IMAGE_TAG_PATTERN, imageOf, type PlatformConfig } from '../../cdk8s/src/config.js';
import { ns } from '../../cdk8s/src/namespaces.js';
import { checkSwitches, parseFlags } from './cli.js';
import { services } from '../../cdk8s/src/services.js';
import { CLUSTER_NAME, kubectl, serviceImageBuild, type Cmd } from './commands.js';

export const APPS_NAMESPACE = ns.apps.name;
/** The declared services (cdk8s/src/services.ts): the ones a canary can roll. */
const SERVICES = services.map((s) => s.name);
const declared = (name: string) => services.find((s) => s.name === name)!;

export type CanaryRequest =
  | { action: 'deploy'; service: string; tag: string; faultRate?: number; build: boolean; traffic: boolean; timeoutMinutes: number }
  | { action: 'promote' | 'abort'; service: string };

export const CANARY_USAGE = `Usage:
  npm run canary -- <service> <image-tag> [--fault-rate R] [--no-build] [--no-traffic] [--timeout MINUTES] [--dry-run]
  npm run canary -- <service> --promote | --abort [--dry-run]

  <service>        ${SERVICES.join(', ')}
  <image-tag>      builds <images.prefix>/<service>:<image-tag> from the working tree, loads it into kind, sets it on
                   the Rollout, then follows the canary (its steps, and the weights of the service's HTTPRoute)
                   until it is promoted (exit 0) or aborted with the route back on stable (exit 1)
  --fault-rate R   also sets FAULT_RATE=R (0..1) on the new pods: that share of API requests fails with a
                   500, so the analysis aborts the canary (the rollback demo); without it FAULT_RATE is removed
  --no-build       the image is already in the cluster (skip docker build and kind load)
  --no-traffic     do not send requests through the gateway while following (the analysis needs some)
  --timeout MIN    give up following after MIN minutes (default 30; the canary itself goes on)
  --promote        promote now: skip the remaining steps and analysis (Argo Rollouts' full promotion)
  --abort          abort now: the route's weights back to the stable Service, the canary scaled down
  --dry-run        print the commands, run nothing
`;

/** Parses `<service> <tag> [flags]` or `<service> --promote|--abort`; throws a message naming what is wrong. */
export function parseCanaryArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CanaryRequest & { dryRun: boolean } {
  const flags = parseFlags(argv, ['fault-rate', 'timeout'], env, true);
  checkSwitches(flags, ['promote', 'abort', 'no-build', 'no-traffic', 'dry-run']);
  const { switches, values, positionals: positional, dryRun } = flags;
  const [service, tag, extra] = positional;
  if (!service) throw new Error(`which service?\n\n${CANARY_USAGE}`);
  if (!SERVICES.includes(service)) throw new Error(`unknown service "${service}": one of ${SERVICES.join(', ')}`);
  if (extra !== undefined) throw new Error(`unexpected argument "${extra}"`);

  const manual = ['promote', 'abort'].filter((s) => switches.has(s)) as ('promote' | 'abort')[];
  if (manual.length > 1) throw new Error('--promote and --abort exclude each other');
  if (manual.length === 1) {
    if (tag !== undefined || values.size > 0 || switches.has('no-build') || switches.has('no-traffic')) {
      throw new Error(`--${manual[0]} takes only the service name`);
    }
    return { action: manual[0]!, service, dryRun };
  }

  if (tag === undefined) throw new Error(`which image tag?\n\n${CANARY_USAGE}`);
  if (!IMAGE_TAG_PATTERN.test(tag)) throw new Error(`"${tag}" is not a valid image tag`);
  let faultRate: number | undefined;
  if (values.has('fault-rate')) {
    faultRate = Number(values.get('fault-rate'));
    if (!Number.isFinite(faultRate) || faultRate < 0 || faultRate > 1) throw new Error(`--fault-rate must be between 0 and 1, got "${values.get('fault-rate')}"`);
  }
  const timeoutMinutes = Number(values.get('timeout') ?? 30);
  if (!Number.isFinite(timeoutMinutes) || timeoutMinutes <= 0) throw new Error(`--timeout must be a positive number of minutes`);
  return {
    action: 'deploy',
    service,
    tag,
    ...(faultRate !== undefined ? { faultRate } : {}),
    build: !switches.has('no-build'),
    traffic: !switches.has('no-traffic'),
    timeoutMinutes,
    dryRun,
  };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

/**
 * The commands of a request. `currentEnv` is the service container's env in the Rollout as synthesized
 * (dist/): the patch sets the whole list, so FAULT_RATE is added or removed without touching the rest.
 */
export function canaryCommands(request: CanaryRequest, currentEnv: readonly EnvVar[] = [], config: Pick<PlatformConfig, 'imagePrefix'> = defaultConfig): Cmd[] {
  const rollout = (...args: string[]) => kubectl('-n', APPS_NAMESPACE, ...args);
  if (request.action !== 'deploy') {
    // What `kubectl argo rollouts promote --full` and `abort` patch, without needing the plugin.
    const status = request.action === 'promote' ? '{"status":{"promoteFull":true}}' : '{"status":{"abort":true}}';
    return [{ argv: rollout('patch', 'rollout', request.service, '--subresource', 'status', '--type', 'merge', '-p', status) }];
  }
  // Named as the manifests name the service's images (the configured prefix), with the new tag.
  const image = imageOf({ ...config, imageTag: request.tag }, request.service);
  const env = [
    ...currentEnv.filter((e) => e.name !== 'FAULT_RATE'),
    ...(request.faultRate !== undefined ? [{ name: 'FAULT_RATE', value: String(request.faultRate) }] : []),
  ];
  const patch = [
    { op: 'replace', path: '/spec/template/spec/containers/0/image', value: image },
    { op: 'replace', path: '/spec/template/spec/containers/0/env', value: env },
  ];
  return [
    ...(request.build
      ? [
          serviceImageBuild(declared(request.service), image),
          { argv: ['kind', 'load', 'docker-image', image, '--name', CLUSTER_NAME] },
        ]
      : []),
    { argv: rollout('patch', 'rollout', request.service, '--type', 'json', '-p', JSON.stringify(patch)) },
  ];
}

/** Kept here too for callers that read a Rollout's status next to the plan (the box test). */
export type { RolloutStatusView } from './canary-status.js';
