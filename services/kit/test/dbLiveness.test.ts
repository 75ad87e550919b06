import { describe, expect, it } from 'vitest';
import { DatabaseLiveness } from '../src/dbLiveness.js';

/** The overload-or-outage rule on its own, on a clock the test moves (the real database cases are in course's overload.test.ts). */
describe('DatabaseLiveness', () => {
  const setup = (probeResult: () => Promise<void>) => {
    let now = 0;
    let probes = 0;
    const liveness = new DatabaseLiveness(
      1000,
      () => (probes++, probeResult()),
      () => now,
    );
    return { liveness, advance: (ms: number) => (now += ms), probes: () => probes };
  };

  it('counts a database that answered within the window as answering, without probing', async () => {
    const t = setup(() => Promise.reject(new Error('down')));
    t.advance(900);
    expect(await t.liveness.isAnswering()).toBe(true);
    t.advance(900);
    t.liveness.answered();
    t.advance(900);
    expect(await t.liveness.isAnswering()).toBe(true);
    expect(t.probes()).toBe(0);
  });

  it('probes a quiet database once for all who ask meanwhile, and believes a successful probe', async () => {
    const t = setup(() => new Promise((r) => setTimeout(r, 20)));
    t.advance(5000);
    expect(await Promise.all([t.liveness.isAnswering(), t.liveness.isAnswering(), t.liveness.isAnswering()])).toEqual([true, true, true]);
    expect(t.probes()).toBe(1);
    expect(await t.liveness.isAnswering()).toBe(true);
    expect(t.probes()).toBe(1);
  });

  it('reports a database that answers nothing as not answering, probing it at most once per window', async () => {
    const t = setup(() => Promise.reject(new Error('no answer')));
    t.advance(5000);
    expect(await t.liveness.isAnswering()).toBe(false);
    t.advance(500);
    expect(await t.liveness.isAnswering()).toBe(false);
    expect(t.probes()).toBe(1);
    t.advance(600);
    expect(await t.liveness.isAnswering()).toBe(false);
    expect(t.probes()).toBe(2);
    // Any answer ends it at once (the database is back).
    t.liveness.answered();
    expect(await t.liveness.isAnswering()).toBe(true);
  });
});
