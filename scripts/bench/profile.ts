/**
 * Where a server's CPU time goes, from the V8 CPU profile `node --cpu-prof` writes when the process exits:
 * self time by area (a package, the kit, the service, Node's own modules, GC) and by function.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, table } from './report.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  /** µs on the monotonic clock `process.hrtime` reads in every process of the machine. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** What a script URL belongs to: the npm package, the courseops workspace, Node's internals or V8. */
function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const workspace = /\/services\/([^/]+)\//.exec(url);
  if (workspace) return workspace[1] === 'kit' ? '@courseops/kit' : `${workspace[1]} service`;
  if (url.startsWith('node:')) return `node:${url.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
  return url.replace(/^.*\//, '');
}

const shortUrl = (url: string) => url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(services|scripts)\//, '$1/');

/** A span of the monotonic clock, µs (`process.hrtime.bigint() / 1000n`). */
export interface ProfileWindow {
  fromUs: number;
  toUs: number;
}
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function selfTimes(profile: CpuProfile, window: ProfileWindow): Map<ProfileNode, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<ProfileNode, number>();
  // timeDeltas[i] is the time between sample i−1 and sample i; it is charged to sample i's frame.
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.fromUs || at > window.toUs) return;
    const node = byId.get(id)!;
    self.set(node, (self.get(node) ?? 0) + delta);
  });
  return self;
}

/**
 * Prints the top areas and functions by self time of the one profile in `dir`, counting only the samples
 * taken within `window` (the load, not the start-up). Shares are of the time in JavaScript and GC: native
 * bindings (writev, say) are shown apart, because a sample lands in one whenever the process sits in its
 * system call, including while the kernel has it waiting for a CPU on a busy machine, so their share says
 * more about the machine than about the code (the peer's profile shows writev at over half).
 */
export function printProfile(dir: string, window: ProfileWindow, top = 15): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    console.log(`  (no profile was written in ${dir})`);
    return;
  }
  const self = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, window);
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let js = 0;
  let native = 0;
  for (const [node, us] of self) {
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    const a = area(url, functionName);
    if (a === '(native)' || a === '(program)') {
      native += us;
      continue;
    }
    js += us;
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    const fn = url ? `${functionName || '(anonymous)'}  ${shortUrl(url)}:${lineNumber + 1}` : functionName;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => [name, fmt(us / 1000), `${fmt((us / js) * 100, 1)} %`]);
  console.log(`  during the measured run: ${fmt(js / 1000)} ms in JavaScript and GC (the shares below), ${fmt(native / 1000)} ms in native code and (program)\n`);
  table([['self time by area', 'ms', 'share'], ...rows(byArea)]);
  console.log('');
  table([['self time by function', 'ms', 'share'], ...rows(byFunction)]);
}
