/** Runs scripts/box/load-generator.ts inside the box and reads what it recorded. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive, startProcess, type BoxState } from './control-plane.js';

const GENERATOR = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
/** tsx is resolved from the working directory. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LoadSample {
  /** When the request was sent (ms since the epoch). */
  readonly t: number;
  readonly url: string;
  /** HTTP status; 0 when nothing answered. */
  readonly status: number;
}

export interface LoadRun {
  /** What the generator has written so far (it writes every half second). */
  read(): LoadSample[];
  /** Everything answered so far. */
  snapshot(): Promise<LoadSample[]>;
  /** Stops the generator (answers in flight land first) and returns every sample. */
  stop(): Promise<LoadSample[]>;
}

export function startLoad(state: BoxState, opts: { ip: string; ca: string; rps: number; urls: readonly string[] }): LoadRun {
  const out = join(state.dir, `load-${state.processes.length}.jsonl`);
  const pid = startProcess(state, 'load-generator', [process.execPath, '--import', 'tsx', GENERATOR, '--ip', opts.ip, '--ca', opts.ca, '--rps', String(opts.rps), '--out', out, ...opts.urls], {}, state.netns, REPO_ROOT);
  const read = (): LoadSample[] =>
    existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoadSample) : [];
  return {
    read,
    snapshot: async () => {
      // The generator writes every half second.
      await new Promise((r) => setTimeout(r, 700));
      return read();
    },
    stop: async () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const deadline = Date.now() + 5000;
      while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return read();
    },
  };
}
