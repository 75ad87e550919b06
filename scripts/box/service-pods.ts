/**
 * Gives the box's service pods a real process: for each pod kwok runs (it has an IP but no container),
 * the real service starts in a network namespace of its own holding that pod IP, with the container's
 * plain env values, listening on the container port. The one difference from the cluster: no
 * PostgreSQL pod runs in the box, so DATABASE_URL is left out and the service uses embedded PGlite.
 */
import { fileURLToPath } from 'node:url';
import { addPodNetns, deleteNetns } from './netns.js';
import { boxNetwork, kubectl, kubectlJson, startProcess, type BoxState } from './control-plane.js';
import { PROBE_PASSED_ANNOTATION } from './kind-node.js';
import { boxGet } from './operators.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface PodJson {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: {
    containers: {
      name: string;
      env?: { name: string; value?: string }[];
      ports?: { containerPort: number; name?: string }[];
      readinessProbe?: { httpGet?: { path?: string } };
    }[];
  };
  status: { podIP?: string; phase?: string };
}

export interface ServicePod {
  readonly name: string;
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  readonly netns: string;
  /** The container's readiness probe path (httpGet). */
  readonly readinessPath: string;
}

/** Env values the box cannot honour: where they point has no process here. */
const LEFT_OUT = new Set(['DATABASE_URL', 'DATABASE_PASSWORD']);

/** Starts the pods of these services that have no process yet (`running`: the names of those that have one). */
function startServicePods(state: BoxState, namespace: string, services: readonly string[], running: ReadonlySet<string> = new Set()): ServicePod[] {
  const pods = kubectlJson<{ items: PodJson[] }>(state, ['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/component=api']).items;
  const started: ServicePod[] = [];
  for (const pod of pods) {
    const service = pod.metadata.labels?.['app.kubernetes.io/name'] ?? '';
    if (!services.includes(service) || running.has(pod.metadata.name) || pod.metadata.deletionTimestamp) continue;
    const container = pod.spec.containers.find((c) => c.name === service) ?? pod.spec.containers[0]!;
    const port = container.ports?.find((p) => p.name === 'http')?.containerPort;
    if (!port) throw new Error(`pod ${pod.metadata.name} has no http port`);
    // kwok gives the IP when it starts the pod; a later round starts this one.
    if (!pod.status.podIP) continue;
    const env: Record<string, string> = { POD_NAME: pod.metadata.name, PORT: String(port), NODE_ENV: 'production', SHUTDOWN_DELAY_MS: '0' };
    for (const e of container.env ?? []) if (e.value !== undefined && !LEFT_OUT.has(e.name)) env[e.name] = e.value;
    const netns = addPodNetns(state.netns, state.processes.length, pod.status.podIP, boxNetwork.nodeIP);
    startProcess(state, `pod-${pod.metadata.name}`, [process.execPath, '--import', 'tsx', '--conditions=source', `${REPO_ROOT}services/${service}/src/main.ts`], { ...env, DATABASE_URL: undefined }, netns, REPO_ROOT);
    started.push({ name: pod.metadata.name, service, ip: pod.status.podIP, port, netns, readinessPath: container.readinessProbe?.httpGet?.path ?? '/' });
  }
  return started;
}

/**
 * Keeps the service processes in step with the pods, as kubelets would: a process for each new pod, and
 * none for a pod that is being deleted or gone (its namespace goes too, so a new pod may reuse its IP).
 * Returns the running pods.
 */
function syncServicePods(state: BoxState, namespace: string, services: readonly string[], running: ServicePod[]): ServicePod[] {
  const live = kubectlJson<{ items: PodJson[] }>(state, ['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/component=api']).items;
  const alive = new Set(live.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name));
  const kept = running.filter((pod) => {
    if (alive.has(pod.name)) return true;
    const proc = state.processes.find((p) => p.name === `pod-${pod.name}`);
    if (proc) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    deleteNetns(pod.netns);
    return false;
  });
  const fresh = startServicePods(state, namespace, services, new Set(kept.map((p) => p.name)));
  return [...kept, ...fresh];
}

/**
 * The kubelet's part for the service pods, every second: a process for each new pod, none for a pod that
 * is going, and the readiness probe: once a pod's process answers it, the pod is annotated and kwok marks
 * it Ready (kind-node.ts), so no Service sends it traffic before it can answer.
 */
export class ServicePodKeeper {
  pods: ServicePod[] = [];
  /** The last round's error, if it failed (a test reports it rather than hanging). */
  lastError: unknown;
  private readonly probed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: BoxState,
    private readonly namespace: string,
    private readonly services: readonly string[],
  ) {}

  sync(): void {
    this.pods = syncServicePods(this.state, this.namespace, this.services, this.pods);
    for (const pod of this.pods) {
      if (this.probed.has(pod.name)) continue;
      if (boxGet(this.state, `http://${pod.ip}:${pod.port}${pod.readinessPath}`) === undefined) continue;
      kubectl(this.state, ['annotate', 'pod', pod.name, '-n', this.namespace, `${PROBE_PASSED_ANNOTATION}=true`, '--overwrite']);
      this.probed.add(pod.name);
    }
  }

  start(intervalMs = 1000): void {
    const round = () => {
      try {
        this.sync();
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err;
      }
      this.timer = setTimeout(round, intervalMs);
    };
    round();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
