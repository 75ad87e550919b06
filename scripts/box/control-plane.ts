/**
 * The box: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler) and kwok nodes shaped like the kind cluster, all inside one network namespace.
 * Processes run detached with their logs in the state folder, so `npm run box` can return and
 * `npm run box -- --down` (or a test's teardown) stops them by the pids recorded in box.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLUSTER_POD_CIDR } from '../../cdk8s/src/config.js';
import { ensureTools, type Log } from './build.js';
import { boxNamespaces, createNetns, deleteNetns, inNetns, ip, spawnInNetns, writeNetnsHosts } from './netns.js';
import { makePki, type BoxPki } from './pki.js';
import { kindNode, kindVolumes, kwokStages, type VolumeProvisioner } from './kind-node.js';
import { KUBERNETES_VERSION } from './tools.js';

export const BOX_NETNS = 'courseops-box';
export const DEFAULT_STATE_DIR = join(tmpdir(), 'courseops-box');
/** The one context of the box's kubeconfig (what `up --context` names to target the box). */
export const BOX_CONTEXT = 'courseops-box';

/** Addresses inside the box namespace (they exist nowhere else). */
export const boxNetwork = {
  /** The node's InternalIP, on the box namespace's loopback (kind's first node gets 172.18.0.2 the same way). */
  nodeIP: '172.18.0.2',
  podCIDR: CLUSTER_POD_CIDR,
  serviceCIDR: '10.96.0.0/16',
  apiserverPort: 6443,
} as const;

export interface BoxState {
  readonly netns: string;
  readonly dir: string;
  /** The API server's URL inside the box namespace. */
  readonly server: string;
  readonly kubeconfig: string;
  readonly pki: BoxPki;
  readonly binaries: Record<string, string>;
  readonly processes: { readonly name: string; readonly pid: number; readonly log: string }[];
}

const stateFile = (dir: string) => join(dir, 'box.json');

export function readBoxState(dir = DEFAULT_STATE_DIR): BoxState | undefined {
  return existsSync(stateFile(dir)) ? (JSON.parse(readFileSync(stateFile(dir), 'utf8')) as BoxState) : undefined;
}

function saveState(state: BoxState): void {
  writeFileSync(stateFile(state.dir), JSON.stringify(state, null, 2));
}

/** kubectl inside the box; throws with kubectl's stderr on failure. */
export function kubectl(state: BoxState, args: readonly string[], input?: string): string {
  const argv = inNetns(state.netns, [state.binaries.kubectl!, `--kubeconfig=${state.kubeconfig}`, ...args]);
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  return r.stdout;
}

export function kubectlJson<T = { items: Record<string, unknown>[] }>(state: BoxState, args: readonly string[]): T {
  return JSON.parse(kubectl(state, [...args, '-o', 'json'])) as T;
}

/** Every key of a Secret of the box's API server, decoded (undefined when there is no such Secret). */
export function boxSecret(state: BoxState, namespace: string, name: string): Record<string, string> | undefined {
  let secret: { data?: Record<string, string> };
  try {
    secret = kubectlJson<{ data?: Record<string, string> }>(state, ['get', 'secret', name, '-n', namespace]);
  } catch (err) {
    if (/NotFound/.test((err as Error).message)) return undefined;
    throw err;
  }
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** Starts one long-running program in the box namespace, detached, logging to <dir>/logs/<name>.log. */
export function startProcess(state: BoxState, name: string, argv: readonly string[], env: NodeJS.ProcessEnv = {}, netns = state.netns, cwd = state.dir): number {
  mkdirSync(join(state.dir, 'logs'), { recursive: true });
  const log = join(state.dir, 'logs', `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawnInNetns(netns, argv, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env }, cwd });
  closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${name}`);
  state.processes.push({ name, pid: child.pid, log });
  saveState(state);
  return child.pid;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process still runs (a zombie, dead but not yet reaped by its parent, does not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls until `check` returns a value; fails with the last error and the tail of the named process's log. */
export async function waitFor<T>(state: BoxState, what: string, check: () => T | undefined | false, timeoutMs = 120_000, processName?: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    const proc = processName ? state.processes.find((p) => p.name === processName) : undefined;
    if (proc && !processAlive(proc.pid)) throw new Error(`${proc.name} exited while waiting for ${what}:\n${tail(proc.log)}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${last instanceof Error ? last.message : String(last ?? '')}${proc ? `\n${tail(proc.log)}` : ''}`);
    await sleep(500);
  }
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function writeKubeconfig(file: string, server: string, ca: string, cert: string, key: string): void {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'courseops-box', cluster: { server, 'certificate-authority': ca } }],
    users: [{ name: 'courseops-box-admin', user: { 'client-certificate': cert, 'client-key': key } }],
    contexts: [{ name: BOX_CONTEXT, context: { cluster: 'courseops-box', user: 'courseops-box-admin' } }],
    'current-context': BOX_CONTEXT,
  };
  writeFileSync(file, stringify(doc), { mode: 0o600 });
}

/** A kwok node of the box. */
export interface BoxNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly allocatable: Readonly<Record<string, string>>;
  /** Its InternalIP, added to the box namespace's loopback (absent: kwok's --node-ip, boxNetwork.nodeIP). */
  readonly ip?: string;
  /** Its pod range (spec.podCIDR), which kwok gives its pods' IPs from (absent: boxNetwork.podCIDR). */
  readonly podCIDR?: string;
}

/** The box's nodes and its default StorageClass with the volumes kwok provisions for it. */
export interface BoxTopology {
  readonly nodes: readonly BoxNode[];
  readonly volumes: VolumeProvisioner;
}

/** The kind cluster's shape: its one node and kind's default StorageClass. */
export const kindTopology: BoxTopology = { nodes: [kindNode], volumes: kindVolumes };

export interface StartOptions {
  readonly dir?: string;
  /** The network namespace (default courseops-box; tests use their own so a running box is left alone). */
  readonly netns?: string;
  readonly log?: Log;
  /** The nodes and default StorageClass (default: kind's, kindTopology). */
  readonly topology?: BoxTopology;
}

/** The Node object kwok takes over (the annotation); its status is what a kubelet would register. */
function nodeObject(node: BoxNode) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: node.labels, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
    spec: node.podCIDR ? { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] } : {},
    status: {
      ...(node.ip ? { addresses: [{ type: 'InternalIP', address: node.ip }, { type: 'Hostname', address: node.name }] } : {}),
      allocatable: node.allocatable,
      capacity: node.allocatable,
      nodeInfo: { kubeletVersion: KUBERNETES_VERSION, architecture: 'amd64', operatingSystem: 'linux' },
    },
  };
}

/** Builds what is missing, then starts the control plane and the nodes (kind's one by default); returns when every node is Ready. */
export async function startBox(options: StartOptions = {}): Promise<BoxState> {
  const log = options.log ?? (() => {});
  const dir = options.dir ?? DEFAULT_STATE_DIR;
  const netns = options.netns ?? BOX_NETNS;
  const topology = options.topology ?? kindTopology;
  if (readBoxState(dir)) await stopBox(dir);
  const t0 = Date.now();
  const binaries = await ensureTools(['kubernetes', 'etcd', 'kwok'], log);
  log(`programs ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const t1 = Date.now();
  createNetns(netns);
  ip(['-n', netns, 'addr', 'add', `${boxNetwork.nodeIP}/32`, 'dev', 'lo']);
  for (const node of topology.nodes) if (node.ip && node.ip !== boxNetwork.nodeIP) ip(['-n', netns, 'addr', 'add', `${node.ip}/32`, 'dev', 'lo']);
  // Every box process gets this hosts file (cluster DNS names are added later, in place, as their targets start).
  writeNetnsHosts(netns, {});
  const n = boxNetwork;
  const pki = makePki(join(dir, 'pki'), ['IP:127.0.0.1', 'IP:10.96.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local']);
  const kubeconfig = join(dir, 'kubeconfig');
  const server = `https://127.0.0.1:${n.apiserverPort}`;
  writeKubeconfig(kubeconfig, server, pki.caCert, pki.adminCert, pki.adminKey);
  const state: BoxState = { netns, dir, server, kubeconfig, pki, binaries, processes: [] };
  saveState(state);
  try {
    await startComponents(state, topology, log);
  } catch (err) {
    // Nothing of a box that failed to start is left running.
    await stopBox(dir, { keepLogs: true });
    throw err;
  }
  log(`control plane and node ready in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  return state;
}

async function startComponents(state: BoxState, topology: BoxTopology, log: Log): Promise<void> {
  const { dir, kubeconfig, binaries, pki } = state;
  const n = boxNetwork;

  startProcess(state, 'etcd', [
    binaries.etcd!, '--name=box', `--data-dir=${join(dir, 'etcd')}`,
    '--listen-client-urls=http://127.0.0.1:2379', '--advertise-client-urls=http://127.0.0.1:2379',
    '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380', '--initial-cluster=box=http://127.0.0.1:2380',
    '--listen-metrics-urls=http://127.0.0.1:2381',
    // A throwaway test store: durability is not what the box proves.
    '--unsafe-no-fsync',
  ]);
  startProcess(state, 'kube-apiserver', [
    binaries['kube-apiserver']!, '--etcd-servers=http://127.0.0.1:2379',
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${n.apiserverPort}`,
    `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`, `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local', `--service-account-key-file=${pki.saPublic}`, `--service-account-signing-key-file=${pki.saPrivate}`,
    `--service-cluster-ip-range=${n.serviceCIDR}`, '--authorization-mode=Node,RBAC',
    // Filebeat runs privileged in its own namespace, as on kind; PodSecurity admission (on by default) judges the rest.
    '--allow-privileged=true', '--enable-admission-plugins=NodeRestriction',
  ]);
  await waitFor(state, 'the API server to be ready', () => kubectl(state, ['get', '--raw', '/readyz']).trim() === 'ok', 120_000, 'kube-apiserver');
  startProcess(state, 'kube-controller-manager', [
    binaries['kube-controller-manager']!, `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false', '--bind-address=127.0.0.1', `--service-account-private-key-file=${pki.saPrivate}`, `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`, `--cluster-signing-key-file=${pki.caKey}`, '--use-service-account-credentials=true',
    `--service-cluster-ip-range=${n.serviceCIDR}`, '--controllers=*',
  ]);
  startProcess(state, 'kube-scheduler', [
    binaries['kube-scheduler']!, `--kubeconfig=${kubeconfig}`, `--authentication-kubeconfig=${kubeconfig}`, `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false', '--bind-address=127.0.0.1',
  ]);
  startProcess(state, 'kwok', [
    binaries.kwok!, `--kubeconfig=${kubeconfig}`, '--manage-all-nodes=true', `--cidr=${n.podCIDR}`, `--node-ip=${n.nodeIP}`,
    '--server-address=127.0.0.1:10247', `--config=${kwokStages(dir, topology.volumes)}`,
    // The heartbeat stage refreshes node status only every 10 minutes and counts on a Lease for
    // liveness: without one the node lifecycle controller marks the node and every pod NotReady.
    '--node-lease-duration-seconds=40',
  ]);
  for (const node of topology.nodes) kubectl(state, ['apply', '-f', '-'], stringify(nodeObject(node)));
  kubectl(state, ['apply', '-f', '-'], stringify(topology.volumes.storageClass));
  for (const node of topology.nodes) {
    await waitFor(state, `node ${node.name} to be Ready`, () => {
      const live = kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>(state, ['get', 'node', node.name]);
      return live.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 60_000, 'kwok');
  }
  // The default ServiceAccount of a namespace is made by the controller manager: wait for it before anything creates pods.
  await waitFor(state, 'the default ServiceAccount', () => kubectl(state, ['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name']).trim() !== '', 60_000, 'kube-controller-manager');
  log('components started');
}

/** Stops every process of the box (SIGTERM, then SIGKILL) and removes its namespaces and state folder. */
export async function stopBox(dir = DEFAULT_STATE_DIR, options: { keepLogs?: boolean } = {}): Promise<void> {
  const state = readBoxState(dir);
  const procs = state?.processes ?? [];
  for (const p of [...procs].reverse()) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + 10_000;
  while (procs.some((p) => processAlive(p.pid)) && Date.now() < deadline) await sleep(100);
  for (const p of procs) {
    if (processAlive(p.pid)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  const killed = Date.now() + 10_000;
  while (procs.some((p) => processAlive(p.pid)) && Date.now() < killed) await sleep(50);
  const netns = state?.netns ?? BOX_NETNS;
  // Anything still holding a namespace (a process started outside this state) is killed with it.
  for (const ns of boxNamespaces(netns)) {
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
    } catch {
      /* none */
    }
    deleteNetns(ns);
  }
  if (options.keepLogs) rmSync(stateFile(dir), { force: true });
  else rmSync(dir, { recursive: true, force: true });
}
