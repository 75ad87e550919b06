// The test command's closing line. CI reads a run's last lines to tell a run that tested something from
// one that tested nothing; vitest's own summary ("Tests  2091 passed | 1 skipped (2092)") is not a format
// it knows, so the command ends on the plain "tests: N passed, N failed, N skipped" line, summed over the
// JSON reports of every vitest run it made (the box's tests may run apart from the rest).
import { readFileSync } from 'node:fs';

/** The counts vitest's JSON reporter writes (the Jest-compatible shape). */
export interface VitestJsonReport {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export function sumReports(reports: readonly VitestJsonReport[]): TestCounts {
  const counts: TestCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const report of reports) {
    for (const key of ['numPassedTests', 'numFailedTests', 'numPendingTests', 'numTodoTests'] as const) {
      if (!Number.isInteger(report[key]) || report[key] < 0) throw new Error(`not a vitest JSON report: ${key} is ${String(report[key])}`);
    }
    counts.passed += report.numPassedTests;
    counts.failed += report.numFailedTests;
    counts.skipped += report.numPendingTests + report.numTodoTests;
  }
  return counts;
}

export function summaryLine({ passed, failed, skipped }: TestCounts): string {
  return `tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: tsx scripts/testing/summary.ts REPORT.json...');
    process.exit(2);
  }
  const counts = sumReports(files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as VitestJsonReport));
  console.log(summaryLine(counts));
  // A run that executed nothing, or failed, must not read as a pass.
  if (counts.failed > 0 || counts.passed === 0) process.exit(1);
}
