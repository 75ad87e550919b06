/**
 * Gives the box's service pods a real process: for each pod kwok runs (it has an IP but no container),
 * the real service starts in a network namespace of its own holding that pod IP, with the container's
 * plain env values, listening on the container port. The one difference from the cluster: no
 * PostgreSQL pod runs in the box, so DATABASE_URL is left out and the service uses embedded PGlite.
 */
import { fileURLToPath } from 'node:url';
import { addPodNetns } from './netns.js';
import { boxNetwork, kubectlJson, startProcess, type BoxState } from './control-plane.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface PodJson {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { containers: { name: string; env?: { name: string; value?: string }[]; ports?: { containerPort: number; name?: string }[] }[] };
  status: { podIP?: string; phase?: string };
}

export interface ServicePod {
  readonly name: string;
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  readonly netns: string;
}

/** Env values the box cannot honour: where they point has no process here. */
const LEFT_OUT = new Set(['DATABASE_URL', 'DATABASE_PASSWORD']);

export function startServicePods(state: BoxState, namespace: string, services: readonly string[]): ServicePod[] {
  const pods = kubectlJson<{ items: PodJson[] }>(state, ['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/component=api']).items;
  const started: ServicePod[] = [];
  for (const pod of pods) {
    const service = pod.metadata.labels?.['app.kubernetes.io/name'] ?? '';
    if (!services.includes(service)) continue;
    const container = pod.spec.containers.find((c) => c.name === service) ?? pod.spec.containers[0]!;
    const port = container.ports?.find((p) => p.name === 'http')?.containerPort;
    if (!pod.status.podIP || !port) throw new Error(`pod ${pod.metadata.name} has no IP or http port yet`);
    const env: Record<string, string> = { POD_NAME: pod.metadata.name, PORT: String(port), NODE_ENV: 'production', SHUTDOWN_DELAY_MS: '0' };
    for (const e of container.env ?? []) if (e.value !== undefined && !LEFT_OUT.has(e.name)) env[e.name] = e.value;
    const netns = addPodNetns(state.netns, state.processes.length, pod.status.podIP, boxNetwork.nodeIP);
    startProcess(state, `pod-${pod.metadata.name}`, [process.execPath, '--import', 'tsx', '--conditions=source', `${REPO_ROOT}services/${service}/src/main.ts`], { ...env, DATABASE_URL: undefined }, netns, REPO_ROOT);
    started.push({ name: pod.metadata.name, service, ip: pod.status.podIP, port, netns });
  }
  return started;
}
