import { describe, expect, it } from 'vitest';
import { formatScores, gateProblems, scoreReport, type MutationReport, type ReportMutant } from '../mutation/score.js';

const mutant = (id: string, line: number, status: ReportMutant['status'], mutatorName = 'ConditionalExpression', replacement = 'true'): ReportMutant => ({
  id,
  mutatorName,
  replacement,
  status,
  location: { start: { line, column: 3 }, end: { line, column: 9 } },
});

const report: MutationReport = {
  files: {
    'b.ts': { mutants: [mutant('1', 1, 'Killed'), mutant('2', 2, 'Timeout'), mutant('3', 3, 'Survived'), mutant('4', 4, 'NoCoverage'), mutant('5', 5, 'CompileError')] },
    'a.ts': { mutants: [mutant('6', 1, 'Killed'), mutant('7', 2, 'Survived', 'StringLiteral', '""')] },
    'empty.ts': { mutants: [mutant('8', 1, 'RuntimeError')] },
  },
};

describe('mutation scores per file', () => {
  it('counts killed and timed-out mutants over every valid one, leaving errors out', () => {
    const b = scoreReport(report, []).files.find((f) => f.file === 'b.ts')!;
    expect(b).toMatchObject({ killed: 2, survived: 1, noCoverage: 1, invalid: 1, equivalent: 0, score: 50 });
    expect(b.alive).toEqual(['3:3 ConditionalExpression → true', '4:3 ConditionalExpression → true']);
  });

  it('scores a file with no valid mutant 100', () => {
    expect(scoreReport(report, []).files.find((f) => f.file === 'empty.ts')!.score).toBe(100);
  });

  it('leaves a named equivalent out of the score, matched by file, line, mutator and replacement', () => {
    const equivalent = { file: 'a.ts', line: 2, mutator: 'StringLiteral', replacement: '""', why: 'the message is never read' };
    const scored = scoreReport(report, [equivalent]);
    expect(scored.files.find((f) => f.file === 'a.ts')).toMatchObject({ killed: 1, survived: 0, equivalent: 1, score: 100 });
    expect(scored.unused(() => true)).toEqual([]);
    // Another line, mutator or replacement is another mutant: it stays alive, and the entry is reported unused.
    for (const other of [{ line: 3 }, { mutator: 'BlockStatement' }, { replacement: '"x"' }]) {
      const miss = scoreReport(report, [{ ...equivalent, ...other }]);
      expect(miss.files.find((f) => f.file === 'a.ts')!.score).toBe(50);
      expect(miss.unused((f) => f === 'a.ts')).toHaveLength(1);
    }
  });

  it('reports an equivalent that names a killed mutant as unused (a test kills it, so it is not equivalent)', () => {
    const scored = scoreReport(report, [{ file: 'b.ts', line: 1, mutator: 'ConditionalExpression', replacement: 'true', why: 'x' }]);
    expect(scored.files.find((f) => f.file === 'b.ts')!.equivalent).toBe(0);
    expect(scored.unused(() => true)).toHaveLength(1);
  });

  it('prints the lowest score first and marks files under the threshold', () => {
    const table = formatScores(scoreReport(report, []).files, 85).split('\n');
    expect(table[0]).toMatch(/^file\s+score\s+killed\s+alive\s+equivalent$/);
    expect(table.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['a.ts', 'b.ts', 'empty.ts']);
    expect(table[1]).toMatch(/50\.0 .* < 85$/);
    expect(table[3]).not.toContain('<');
  });
});

describe('the mutation gate', () => {
  const files = scoreReport(report, []).files; // a.ts 50, b.ts 50, empty.ts 100
  it('fails a file under the threshold, unless it is listed and at or above its floor', () => {
    expect(gateProblems(files, 85, [])).toEqual(['a.ts: 50.0 % is under 85 %', 'b.ts: 50.0 % is under 85 %']);
    expect(gateProblems(files, 85, [{ file: 'a.ts', floor: 50, why: 'x' }, { file: 'b.ts', floor: 40, why: 'x' }])).toEqual([]);
    expect(gateProblems(files, 85, [{ file: 'a.ts', floor: 60, why: 'x' }, { file: 'b.ts', floor: 50, why: 'x' }])).toEqual(['a.ts: 50.0 % fell under its floor of 60 %']);
  });
  it('fails a listed file that reached the threshold, so the list cannot go stale', () => {
    expect(gateProblems(files, 85, [{ file: 'empty.ts', floor: 90, why: 'x' }, { file: 'a.ts', floor: 50, why: 'x' }, { file: 'b.ts', floor: 50, why: 'x' }])).toEqual([
      'empty.ts: 100.0 % reaches 85 %: take it off belowThreshold in stryker.config.mjs',
    ]);
  });
});
