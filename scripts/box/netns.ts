/**
 * The box's network namespaces. Every address a controller, Prometheus or a pod process dials exists
 * only inside them, so no box traffic can leave this machine: the box namespace has loopback and one
 * veth per pod process, and each such pod has a namespace of its own holding its pod IP.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function netnsExists(name: string): boolean {
  try {
    return ip(['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name);
  } catch {
    return false;
  }
}

/** A fresh namespace with loopback up (an existing one of the same name is removed first). */
export function createNetns(name: string): void {
  deleteNetns(name);
  try {
    ip(['netns', 'add', name]);
  } catch (err) {
    throw new Error(`cannot create network namespace ${name} (the box needs root and iproute2): ${(err as Error).message}`);
  }
  ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Files `ip netns exec` bind-mounts over /etc (a hosts file); `ip netns delete` leaves the folder behind. */
export const netnsEtcDir = (name: string) => `/etc/netns/${name}`;

export function deleteNetns(name: string): void {
  if (netnsExists(name)) ip(['netns', 'delete', name]);
  rmSync(netnsEtcDir(name), { recursive: true, force: true });
}

/**
 * Gives a namespace's processes a hosts file: `ip netns exec <netns>` bind-mounts /etc/netns/<netns>/hosts
 * over /etc/hosts, so a program started that way after this call (and after the namespace is made:
 * createNetns clears a stale folder) resolves these names, e.g. cluster DNS names, with no DNS server in
 * the box. Processes started before keep the machine's /etc/hosts. deleteNetns removes the folder.
 */
export function writeNetnsHosts(netns: string, entries: Readonly<Record<string, string>>): string {
  const dir = netnsEtcDir(netns);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'hosts');
  const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback', ...Object.entries(entries).map(([name, ip]) => `${ip} ${name}`)];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/**
 * Adds names to a namespace's hosts file (writeNetnsHosts), keeping those already there; a name given again
 * takes its new address. The file is rewritten in place, so processes that already see it (through
 * `ip netns exec` or shareNetnsHosts) see the new names.
 */
export function addNetnsHosts(netns: string, entries: Readonly<Record<string, string>>): string {
  const file = join(netnsEtcDir(netns), 'hosts');
  const kept: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [address, ...names] = line.trim().split(/\s+/);
      if (!address || names.includes('localhost')) continue;
      for (const name of names) kept[name] = address;
    }
  }
  return writeNetnsHosts(netns, { ...kept, ...entries });
}

/**
 * Gives a pod's namespace the box namespace's hosts file (a symlink, which `ip netns exec` follows when it
 * bind-mounts it): every pod resolves the same cluster names, as with one cluster DNS. Call it before the
 * pod's process starts; names added to the box's file later (addNetnsHosts) reach the process too.
 */
export function shareNetnsHosts(box: string, pod: string): void {
  const boxHosts = join(netnsEtcDir(box), 'hosts');
  if (!existsSync(boxHosts)) writeNetnsHosts(box, {});
  mkdirSync(netnsEtcDir(pod), { recursive: true });
  rmSync(join(netnsEtcDir(pod), 'hosts'), { force: true });
  symlinkSync(boxHosts, join(netnsEtcDir(pod), 'hosts'));
}

/** argv run inside a namespace. */
export const inNetns = (name: string, argv: readonly string[]): string[] => ['ip', 'netns', 'exec', name, ...argv];

export function spawnInNetns(name: string, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const full = inNetns(name, argv);
  return spawn(full[0]!, full.slice(1), options);
}

/**
 * A pod's own namespace `<box>-p<index>` joined to the box namespace by a veth pair, with the pod IP on
 * the pod side and a host route to it on the box side: a process in it listens on any address and is
 * reached at exactly its pod IP, as in a cluster. `nodeIP` must be an address of the box namespace.
 */
export function addPodNetns(box: string, index: number, podIP: string, nodeIP: string): string {
  const pod = `${box}-p${index}`;
  createNetns(pod);
  const hostEnd = `vb${index}`;
  const podEnd = `vp${index}`;
  ip(['-n', box, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', podEnd, 'netns', pod]);
  ip(['-n', box, 'link', 'set', hostEnd, 'up']);
  ip(['-n', pod, 'addr', 'add', `${podIP}/32`, 'dev', podEnd]);
  ip(['-n', pod, 'link', 'set', podEnd, 'up']);
  ip(['-n', pod, 'route', 'add', 'default', 'dev', podEnd]);
  // From the box side, traffic to the pod leaves from the node's address (on the box's loopback).
  ip(['-n', box, 'route', 'add', `${podIP}/32`, 'dev', hostEnd, 'src', nodeIP]);
  return pod;
}

/** Every namespace this box made (its own and its pods'), for teardown. */
export function boxNamespaces(box: string): string[] {
  try {
    return ip(['netns', 'list'])
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n === box || n.startsWith(`${box}-p`));
  } catch {
    return [];
  }
}
