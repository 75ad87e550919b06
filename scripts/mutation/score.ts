/**
 * Per-file mutation scores from a Stryker report (the mutation-testing-report-schema JSON that Stryker
 * also keeps as its incremental baseline), with the equivalent mutants named in stryker.config.mjs left out.
 */

export type MutantStatus = 'Killed' | 'Survived' | 'NoCoverage' | 'CompileError' | 'RuntimeError' | 'Timeout' | 'Ignored' | 'Pending';

export interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: MutantStatus;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

export interface MutationReport {
  files: Record<string, { mutants: ReportMutant[] }>;
}

export interface EquivalentMutant {
  file: string;
  line: number;
  mutator: string;
  replacement: string;
  why: string;
}

export interface FileScore {
  file: string;
  killed: number;
  survived: number;
  noCoverage: number;
  equivalent: number;
  /** Mutants that did not compile or run: Stryker leaves them out of the score, and so do we. */
  invalid: number;
  /** Killed over killed, survived and uncovered; 100 when a file has no valid mutant. */
  score: number;
  /** The mutants still alive, for the report: `line:column mutator → replacement`. */
  alive: string[];
}

const matches = (e: EquivalentMutant, file: string, m: ReportMutant) =>
  e.file === file && e.line === m.location.start.line && e.mutator === m.mutatorName && e.replacement === (m.replacement ?? '');

export function scoreReport(report: MutationReport, equivalents: readonly EquivalentMutant[]) {
  const used = new Set<EquivalentMutant>();
  const files: FileScore[] = Object.entries(report.files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([file, { mutants }]) => {
      const row: FileScore = { file, killed: 0, survived: 0, noCoverage: 0, equivalent: 0, invalid: 0, score: 100, alive: [] };
      for (const m of mutants) {
        const alive = m.status === 'Survived' || m.status === 'NoCoverage';
        const equivalent = alive ? equivalents.find((e) => matches(e, file, m)) : undefined;
        if (equivalent) {
          used.add(equivalent);
          row.equivalent++;
        } else if (m.status === 'Killed' || m.status === 'Timeout') row.killed++;
        else if (m.status === 'Survived') row.survived++;
        else if (m.status === 'NoCoverage') row.noCoverage++;
        else row.invalid++;
        if (alive && !equivalent) {
          row.alive.push(`${m.location.start.line}:${m.location.start.column} ${m.mutatorName} → ${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80)}`);
        }
      }
      const valid = row.killed + row.survived + row.noCoverage;
      row.score = valid === 0 ? 100 : (100 * row.killed) / valid;
      return row;
    });
  return { files, unused: (file: (f: string) => boolean) => equivalents.filter((e) => file(e.file) && !used.has(e)) };
}

/** The table `npm run test:mutation` prints, one line per file, lowest score first. */
export function formatScores(rows: readonly FileScore[], threshold: number): string {
  const width = Math.max(...rows.map((r) => r.file.length), 4);
  const head = `${'file'.padEnd(width)}  score  killed  alive  equivalent`;
  const lines = [...rows]
    .sort((a, b) => a.score - b.score)
    .map((r) => `${r.file.padEnd(width)}  ${r.score.toFixed(1).padStart(5)}  ${String(r.killed).padStart(6)}  ${String(r.survived + r.noCoverage).padStart(5)}  ${String(r.equivalent).padStart(10)}${r.score < threshold ? `  < ${threshold}` : ''}`);
  return [head, ...lines].join('\n');
}

/** A file not yet at the threshold, held at the score it has (so it can only rise), with why. */
export interface BelowThreshold {
  file: string;
  floor: number;
  why: string;
}

/** What fails the gate: a file under the threshold that is not listed, under its floor, or listed but already there. */
export function gateProblems(files: readonly FileScore[], threshold: number, below: readonly BelowThreshold[]): string[] {
  return files.flatMap((f) => {
    const listed = below.find((b) => b.file === f.file);
    if (!listed) return f.score < threshold ? [`${f.file}: ${f.score.toFixed(1)} % is under ${threshold} %`] : [];
    if (f.score >= threshold) return [`${f.file}: ${f.score.toFixed(1)} % reaches ${threshold} %: take it off belowThreshold in stryker.config.mjs`];
    if (f.score < listed.floor) return [`${f.file}: ${f.score.toFixed(1)} % fell under its floor of ${listed.floor} %`];
    return [];
  });
}
