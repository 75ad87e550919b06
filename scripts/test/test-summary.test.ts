import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { sumReports, summaryLine } from '../testing/summary.js';

const run = promisify(execFile);
const repo = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'courseops-summary-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** CI's plain closing line: "N passed, N failed" alone on a line, ", N skipped" after, one "word:" before. */
const ciPlainLine = /^(\w+: )?\d+ passed, \d+ failed(, \d+ skipped)?$/;

async function summarize(...reports: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'scripts/testing/summary.ts', ...reports], { cwd: repo });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** A real vitest run over a file of its own, with the JSON reporter the test command uses. */
async function vitestReport(name: string, body: string): Promise<string> {
  const dir = join(work, name);
  const file = join(dir, 'sample.test.ts');
  const report = join(work, `${name}.json`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `import { it } from 'vitest';\n${body}\n`);
  writeFileSync(join(dir, 'vitest.config.mjs'), 'export default { test: { include: ["*.test.ts"] } };\n');
  await run('npx', ['vitest', 'run', '--root', dir, '--reporter=json', `--outputFile.json=${report}`], { cwd: repo }).catch(() => undefined);
  return report;
}

describe("the test command's closing line", () => {
  it('sums passed, failed and skipped (todo included) over every report', () => {
    const counts = sumReports([
      { numTotalTests: 5, numPassedTests: 3, numFailedTests: 1, numPendingTests: 1, numTodoTests: 0 },
      { numTotalTests: 4, numPassedTests: 2, numFailedTests: 0, numPendingTests: 1, numTodoTests: 1 },
    ]);
    expect(counts).toEqual({ passed: 5, failed: 1, skipped: 3 });
    expect(summaryLine(counts)).toBe('tests: 5 passed, 1 failed, 3 skipped');
    expect(summaryLine(counts)).toMatch(ciPlainLine);
  });

  it('refuses a file that is not a vitest JSON report, naming the missing count', () => {
    expect(() => sumReports([{ numFailedTests: 0 } as never])).toThrow(/numPassedTests is undefined/);
  });

  it("reads vitest's own JSON reports, and exits non-zero when a test failed or none ran", async () => {
    const passing = await vitestReport('passing', "it('a', () => {});\nit('b', () => {});\nit.skip('c', () => {});\nit.todo('d');");
    const failing = await vitestReport('failing', "it('a', () => {});\nit('b', () => { throw new Error('no'); });");

    const both = await summarize(passing, failing);
    expect(both.stdout.trim()).toBe('tests: 3 passed, 1 failed, 2 skipped');
    expect(both.code).toBe(1);

    const good = await summarize(passing);
    expect(good.stdout.trim()).toBe('tests: 2 passed, 0 failed, 2 skipped');
    expect(good.stdout.trim()).toMatch(ciPlainLine);
    expect(good.code).toBe(0);

    const empty = join(work, 'empty.json');
    writeFileSync(empty, JSON.stringify({ numTotalTests: 0, numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 }));
    expect((await summarize(empty)).code).toBe(1);
    expect((await summarize()).code).toBe(2);
  }, 60_000);
});
