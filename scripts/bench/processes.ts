/** The benchmark's child processes (services, the peer) and what it cleans up at the end, in reverse order. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freeLoopbackPort } from '@courseops/kit/testing';

const cleanups: (() => Promise<void>)[] = [];
export const onCleanUp = (step: () => Promise<void>) => cleanups.push(step);
export async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch((err) => console.error('cleanup:', err));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RunningServer {
  name: string;
  url: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone (a --cpu-prof profile is written by then). */
  stop: () => Promise<void>;
}

export interface ServerCommand {
  name: string;
  /** Node's arguments: flags, the script, its arguments. */
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** A server child process on a free loopback port, ready once its /readyz answers 200; stopped at clean-up. */
export async function startServer(command: ServerCommand): Promise<RunningServer> {
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, command.args, {
    cwd: command.cwd,
    env: { ...process.env, ...command.env, PORT: String(port) },
    // Log lines go to /dev/null: their cost (formatting, writing) is counted, nobody reads them.
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]))) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  onCleanUp(stop);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    const status = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return { name: command.name, url, child, stop };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${command.name} did not start:\n${stderr}`);
    await sleep(200);
  }
}

/** User plus system CPU seconds a process has used so far (Linux /proc; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
