/**
 * Builds the box's programs from their wrapper modules (tools.ts) into a cache outside the repository,
 * one folder per module, version and content hash, so a second run builds nothing. Only the Go module
 * proxy is used: `go build -mod=readonly` fails when go.sum lacks a module instead of fetching silently.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, type Dirent } from 'node:fs';
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

/** Builds one tool when its cache folder is missing; returns the paths of its binaries by name. */
export async function ensureTool(name: BoxToolName, log: Log = () => {}): Promise<Record<string, string>> {
  const tool: GoTool = boxTools[name];
  const out = toolDir(tool);
  const paths = Object.fromEntries(tool.binaries.map((b) => [b.name, join(out, 'bin', b.name)]));
  if (Object.values(paths).every((p) => existsSync(p))) {
    log(`${tool.module} ${tool.version}: cached (${out})`);
    return paths;
  }
  const started = Date.now();
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  const ldflags = ['-s', '-w', ...Object.entries(tool.stamp ?? {}).map(([k, v]) => `-X=${k}=${v}`)].join(' ');
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -mod=readonly -buildvcs=false`.trim() };
  for (const b of tool.binaries) {
    const argv = ['go', 'build', '-trimpath', `-ldflags=${ldflags}`, ...(tool.tags?.length ? [`-tags=${tool.tags.join(',')}`] : []), '-o', join(tmp, 'bin', b.name), b.pkg];
    await run(argv, join(TOOLS_DIR, tool.module), env);
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  log(`${tool.module} ${tool.version}: built in ${((Date.now() - started) / 1000).toFixed(0)} s (${tool.binaries.map((b) => b.name).join(', ')})`);
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
