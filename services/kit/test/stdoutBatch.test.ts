import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BatchedLineWriter } from '../src/stdoutBatch.js';

describe('BatchedLineWriter', () => {
  const target = () => {
    const writes: string[] = [];
    return { writes, write: (text: string) => writes.push(text) };
  };
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it('writes the lines of one event-loop turn in one call, in order, from both write paths', async () => {
    const out = target();
    const writer = new BatchedLineWriter(out);
    writer.append('a\n');
    writer.write('b\n');
    writer.append('c\n');
    expect(out.writes).toEqual([]);
    await nextTurn();
    expect(out.writes).toEqual(['a\nb\nc\n']);
    writer.append('d\n');
    await nextTurn();
    expect(out.writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes at once when the batch reaches its size limit', () => {
    const out = target();
    const writer = new BatchedLineWriter(out, 10);
    writer.append('12345\n');
    expect(out.writes).toEqual([]);
    writer.append('67890\n');
    expect(out.writes).toEqual(['12345\n67890\n']);
  });

  it("loses no line when the process exits in the same turn (the kit's stdout logger)", () => {
    const script = `
      import { createLogger } from '@courseops/kit';
      const logger = createLogger({ service: 'course', version: '1', level: 'info' });
      for (let i = 0; i < 3; i++) logger.logLine('info', 'line ' + i, {});
      logger.error('last words');
      process.exit(3);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname });
    expect(child.status, child.stderr).toBe(3);
    const lines = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as { message: string });
    expect(lines.map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2', 'last words']);
  });
});
