/**
 * Where `up` and `down` go, and what they refuse before touching anything (exit code 2):
 *   no --context     the kind cluster `up` creates; dist/ must have the `kind` profile;
 *   --context NAME   an existing cluster, named explicitly (never the current context); dist/ must have the
 *                    `cluster` profile, and --registry, when given, must be where the images were synthesized to go.
 * The profile is in dist/services.json (`cluster.profile`): the two profiles' manifests differ (hostPorts and a
 * CoreDNS rewrite for kind, a LoadBalancer, real DNS and spread replicas for a cluster), so each goes only where it fits.
 */
import type { ServicesFile } from '../../cdk8s/src/services-file.js';
import { Refusal } from './cli.js';

export interface ClusterTarget {
  /** The kubeconfig context, as given to --context. */
  context: string;
  /** --registry: the registry/prefix the images were synthesized with. */
  registry?: string;
}

/** --context and --registry as given (up); refusals for what does not go together. */
export function targetFromFlags(values: ReadonlyMap<string, string>): ClusterTarget | undefined {
  const context = values.get('context');
  const registry = values.get('registry');
  if (registry !== undefined && context === undefined) {
    throw new Refusal('--registry goes with --context NAME (pushing to a registry is for an existing cluster); the kind cluster gets its images by `kind load`.');
  }
  if (context === undefined) return undefined;
  if (context.trim() === '') throw new Refusal('--context needs the name of a kube context (`kubectl config get-contexts`)');
  return { context, ...(registry !== undefined ? { registry } : {}) };
}

const RESYNTH = 'set `profile: cluster` in courseops.config.yaml (or COURSEOPS_PROFILE=cluster) and run `npm run synth`';

/** Why dist/ cannot go to this target (profile and target disagree), or undefined. */
export function targetRefusal(declared: ServicesFile, target: ClusterTarget | undefined, command: 'up' | 'down' | 'smoke', distDir = 'dist'): string | undefined {
  const { profile } = declared.cluster;
  if (target && profile === 'kind') {
    return (
      `${distDir}/ was synthesized with the kind profile (made for the local kind cluster: hostPorts on its one node, a CoreDNS rewrite), ` +
      `which is not for an existing cluster such as "${target.context}": synthesize with profile: cluster: ${RESYNTH}, ` +
      `then \`npm run ${command} -- --context ${target.context}\` again. \`npm run ${command}\` without --context is for the local kind cluster.`
    );
  }
  if (!target && profile === 'cluster') {
    return (
      `${distDir}/ was synthesized with the cluster profile: the cluster profile goes to an existing cluster: ` +
      `npm run ${command} -- --context NAME (a context of \`kubectl config get-contexts\`). For the local kind cluster, synthesize with the kind profile.`
    );
  }
  return undefined;
}

/** Every image the bring-up builds and loads or pushes: the services' and, with an in-cluster database, the backup image. */
export function declaredImages(declared: ServicesFile): string[] {
  return [...new Set([...declared.services.map((s) => s.image), ...(declared.backupImage ? [declared.backupImage] : [])])];
}

/** The registry an image name points to (Docker's rule: a first component with a dot or a port, or localhost; else Docker Hub). */
export function registryOf(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/**
 * Why --registry does not fit the images dist/services.json names (each must start with `<registry>/`), or undefined.
 * The images' names are decided at synth time (the manifests run exactly those), so a different --registry would push
 * images no pod pulls: the fix is to synthesize with that prefix.
 */
export function registryMismatch(declared: ServicesFile, registry: string, context = 'NAME'): string | undefined {
  const prefix = registry.replace(/\/+$/, '');
  if (prefix === '') return '--registry needs a registry/prefix such as registry.example.com/courseops';
  const outside = declaredImages(declared).filter((image) => !image.startsWith(`${prefix}/`));
  if (outside.length === 0) return undefined;
  return (
    `--registry ${prefix} does not match the images dist/services.json names (${outside.join(', ')}): they were synthesized with ` +
    `another image prefix. Set images.prefix: ${prefix} in courseops.config.yaml (or COURSEOPS_IMAGE_PREFIX=${prefix}), run \`npm run synth\`, ` +
    `then \`npm run up -- --context ${context} --registry ${prefix}\` again (or leave --registry out to push to where the names point).`
  );
}
