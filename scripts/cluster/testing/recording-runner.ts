import type { RunOptions, RunResult, Runner } from '../commands.js';

/** A finished command: exit 0 with this stdout. */
export const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });

/**
 * A fake of the tools the bring-up runs: records every call (argv and stdin), asks `overrides` first (a test's
 * own answers), then `answers` (the fake machine's), and otherwise succeeds with no output.
 */
export function recordingRunner(answers: (text: string, argv: string[]) => RunResult | undefined, overrides: (argv: string[]) => RunResult | undefined = () => undefined) {
  const calls: { argv: string[]; input?: string }[] = [];
  const runner: Runner = async (argv: string[], options: RunOptions = {}) => {
    calls.push({ argv, input: options.input });
    return overrides(argv) ?? answers(argv.join(' '), argv) ?? ok();
  };
  return { runner, calls };
}
