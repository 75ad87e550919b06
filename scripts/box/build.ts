/**
 * Builds the box's programs from their wrapper modules (tools.ts) into a cache outside the repository,
 * one folder per module, version and content hash, so a second run builds nothing. Only the Go module
 * proxy is used: `go build -mod=readonly` fails when go.sum lacks a module instead of fetching silently.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { TOOLS_DIR, boxTools, type BoxToolName, type GoTool } from './tools.js';

export function boxCacheDir(): string {
  const base = process.env.COURSEOPS_BOX_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'courseops', 'box');
  mkdirSync(base, { recursive: true });
  return base;
}

function goVersion(): string {
  try {
    return execFileSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('the box builds its programs with Go (1.26), and `go` is not on PATH');
  }
}

/** Every file of a wrapper folder (go.mod, go.sum and any local stand-in module), relative paths sorted. */
function wrapperFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** The cache folder of one tool: changes whenever a file of its wrapper folder, its stamp, tags or the Go version do. */
export function toolDir(tool: GoTool, go = goVersion()): string {
  const dir = join(TOOLS_DIR, tool.module);
  const hash = createHash('sha256');
  for (const f of wrapperFiles(dir)) hash.update(f).update('\0').update(readFileSync(join(dir, f)));
  hash.update(JSON.stringify({ stamp: tool.stamp ?? {}, tags: tool.tags ?? [], binaries: tool.binaries, go }));
  return join(boxCacheDir(), `${tool.module}-${tool.version}-${hash.digest('hex').slice(0, 12)}`);
}

function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} (in ${cwd}) exited ${code}:\n${stderr.slice(-4000)}`))));
  });
}

export type Log = (line: string) => void;

/** A test hook that gets a program with ensureTool: long enough to build it cold, or to wait for the build that holds its lock. */
export const TOOL_BUILD_TIMEOUT_MS = 30 * 60_000;

/** Whether a process of this pid is running (EPERM: it is, but someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const lockOwner = (lock: string): number | undefined => {
  const pid = Number.parseInt(readFileSync(join(lock, 'pid'), 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
};

/**
 * Takes `<folder>.lock` for this process: a folder made with the pid inside and renamed into place, so
 * it appears whole or not at all, and only once. A lock whose pid is no longer running is taken over
 * (renamed aside first, so two takers cannot both remove it). Returns false when a live process holds it.
 */
function tryLock(lock: string): boolean {
  const mine = `${lock}-${process.pid}-${Math.random().toString(36).slice(2)}`;
  mkdirSync(mine);
  writeFileSync(join(mine, 'pid'), String(process.pid));
  try {
    renameSync(mine, lock);
    return true;
  } catch (e) {
    rmSync(mine, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
  }
  let owner: number | undefined;
  try {
    owner = lockOwner(lock);
  } catch {
    return false; // released meanwhile: the caller looks again
  }
  if (owner !== undefined && alive(owner)) return false;
  const stale = `${lock}-stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(lock, stale);
  } catch {
    return false; // someone else took it over first
  }
  // Between our read and the rename another process may have taken over and locked anew: give it back.
  let moved: number | undefined;
  try {
    moved = lockOwner(stale);
  } catch {
    moved = undefined;
  }
  if (moved !== owner && moved !== undefined && alive(moved)) {
    try {
      renameSync(stale, lock);
    } catch {
      /* a third process holds it now; the owner we displaced still builds into its own folder */
    }
    return false;
  }
  rmSync(stale, { recursive: true, force: true });
  return false; // the stale lock is gone: the caller tries again at once
}

function unlock(lock: string): void {
  try {
    if (lockOwner(lock) === process.pid) rmSync(lock, { recursive: true, force: true });
  } catch {
    /* already gone */
  }
}

/**
 * Runs `make` unless `done()` holds, under the lock folder `lock`: of several processes (or calls) that
 * want the same thing at once, one makes it and the others poll until `done()` (or until the lock is
 * released without it, when the next one tries). A lock left by a process that died is taken over.
 */
export async function makeOnce(
  lock: string,
  done: () => boolean,
  make: () => Promise<void>,
  options: { onWait?: (owner: number | undefined) => void; pollMs?: number } = {},
): Promise<'done' | 'made' | 'waited'> {
  let waited = false;
  for (;;) {
    if (done()) return waited ? 'waited' : 'done';
    if (tryLock(lock)) break;
    if (!existsSync(lock)) continue; // a stale lock was just removed, or its owner finished
    if (!waited) {
      waited = true;
      let owner: number | undefined;
      try {
        owner = lockOwner(lock);
      } catch {
        owner = undefined;
      }
      options.onWait?.(owner);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 2000));
  }
  try {
    if (done()) return waited ? 'waited' : 'done';
    await make();
    return 'made';
  } finally {
    unlock(lock);
  }
}

/**
 * Builds one tool when its cache folder is missing; returns the paths of its binaries by name. Safe when
 * several processes ask for the same tool at once (the test run's background build and test files that
 * need a program early): one builds under `<folder>.lock`, the others wait until the folder is there.
 */
export async function ensureTool(name: BoxToolName, log: Log = () => {}): Promise<Record<string, string>> {
  const tool: GoTool = boxTools[name];
  const out = toolDir(tool);
  const paths = Object.fromEntries(tool.binaries.map((b) => [b.name, join(out, 'bin', b.name)]));
  const cached = () => Object.values(paths).every((p) => existsSync(p));
  const names = tool.binaries.map((b) => b.name).join(', ');
  const started = Date.now();
  const outcome = await makeOnce(
    `${out}.lock`,
    cached,
    async () => {
      log(`${tool.module} ${tool.version}: building (${names}) ...`);
      const tmp = `${out}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(join(tmp, 'bin'), { recursive: true });
      const ldflags = ['-s', '-w', ...Object.entries(tool.stamp ?? {}).map(([k, v]) => `-X=${k}=${v}`)].join(' ');
      const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly -buildvcs=false`.trim() };
      try {
        for (const b of tool.binaries) {
          const argv = ['go', 'build', '-trimpath', `-ldflags=${ldflags}`, ...(tool.tags?.length ? [`-tags=${tool.tags.join(',')}`] : []), '-o', join(tmp, 'bin', b.name), b.pkg];
          await run(argv, join(TOOLS_DIR, tool.module), env);
        }
        if (!cached()) {
          rmSync(out, { recursive: true, force: true });
          renameSync(tmp, out);
        } // else built meanwhile by a process that takes no lock (an older build.ts): keep that one
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
    { onWait: (owner) => log(`${tool.module} ${tool.version}: being built by process ${owner ?? '?'}; waiting for it`) },
  );
  const took = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  log(
    outcome === 'made'
      ? `${tool.module} ${tool.version}: built in ${took} (${names})`
      : `${tool.module} ${tool.version}: ${outcome === 'waited' ? `built by another process (waited ${took})` : 'cached'} (${out})`,
  );
  return paths;
}

/** Every tool but the optional ones, one after another (each go build already uses every core). */
export async function ensureTools(
  names: readonly BoxToolName[] = (Object.keys(boxTools) as BoxToolName[]).filter((n) => !(boxTools[n] as GoTool).optional),
  log: Log = () => {},
): Promise<Record<string, string>> {
  const all: Record<string, string> = {};
  for (const name of names) Object.assign(all, await ensureTool(name, log));
  return all;
}

/** The module cache folder of a module at the version a wrapper pins (CRDs and kwok's stages ship there); downloads it when missing. */
export function moduleDir(toolModule: string, modulePath: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', modulePath], { cwd: join(TOOLS_DIR, toolModule), encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=readonly' } });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (info.Error || !info.Dir || !existsSync(info.Dir)) throw new Error(`${modulePath} (tools/${toolModule}/go.mod): ${info.Error ?? 'not in the module cache'}`);
  return info.Dir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  await ensureTools(undefined, (l) => console.log(l));
  console.log(`box tools ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
