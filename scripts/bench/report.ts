/** Numbers and tables as the benchmark prints them, and the verdicts against its targets. */

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
export const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
export function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}

export interface Verdict {
  target: string;
  measured: string;
  met: boolean;
}

/** The targets, each met or MISSED; printed, never turned into an exit code (the benchmark measures). */
export function printVerdicts(verdicts: Verdict[]): void {
  table([['target', 'measured', 'verdict'], ...verdicts.map((v) => [v.target, v.measured, v.met ? 'met' : 'MISSED'])]);
}

/** Wall-clock time of each phase, so a slow run shows where it went. */
export class PhaseClock {
  private readonly started = Date.now();
  private readonly phases: [string, number][] = [];

  async time<T>(name: string, run: () => Promise<T>): Promise<T> {
    const start = Date.now();
    try {
      return await run();
    } finally {
      const ms = Date.now() - start;
      this.phases.push([name, ms]);
      console.log(`  [${name}: ${fmt(ms / 1000, 1)} s]`);
    }
  }

  print(): void {
    table([['phase', 'seconds'], ...this.phases.map(([name, ms]) => [name, fmt(ms / 1000, 1)]), ['total', fmt((Date.now() - this.started) / 1000, 1)]]);
  }
}
