import { describe, expect, it } from 'vitest';
import { formatDuration, formatLatency, formatTime, formatUptime } from '../src/format.js';

describe('formatting for the page', () => {
  it.each([
    [1, '100.00%'],
    [0, '0.00%'],
    [0.99996, '99.99%'],
    [0.29, '29.00%'],
    [0.5, '50.00%'],
    [2 / 3, '66.66%'],
    [null, 'No data'],
  ])('uptime %s reads %s', (ratio, text) => {
    expect(formatUptime(ratio)).toBe(text);
  });

  it.each([
    [0, 'under a minute'],
    [59_999, 'under a minute'],
    [60_000, '1 min'],
    [3600_000, '1 h'],
    [3900_000, '1 h 5 min'],
    [86_400_000, '1 d'],
    [90_000_000, '1 d 1 h'],
    [-5, 'under a minute'],
  ])('duration %s ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('shows latency and times', () => {
    expect(formatLatency(null)).toBe('No answer');
    expect(formatLatency(42)).toBe('42 ms');
    expect(formatTime('2025-12-31T23:59:59.999Z')).toBe('2025-12-31 23:59 UTC');
  });
});
