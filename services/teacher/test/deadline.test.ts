import { describe, expect, it } from 'vitest';
import { Deadline, sleepWithin } from '../src/deadline.js';

/** Runs `run` and measures how long it took, in ms. */
async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

describe('deadline', () => {
  it('counts its remaining time down from the limit it was given, and never below zero', async () => {
    const deadline = Deadline.after(300);
    const atStart = deadline.remainingMs;
    expect(atStart).toBeGreaterThan(250);
    expect(atStart).toBeLessThanOrEqual(300);
    await new Promise((r) => setTimeout(r, 50));
    expect(deadline.remainingMs).toBeLessThan(atStart - 40);
    expect(deadline.remainingMs).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(deadline.remainingMs).toBe(0);
  });

  it('aborts its signal once the limit has passed, not before', async () => {
    const deadline = Deadline.after(50);
    expect(deadline.signal.aborted).toBe(false);
    const elapsed = await timed(() => new Promise((r) => deadline.signal.addEventListener('abort', r, { once: true })));
    expect(elapsed).toBeGreaterThanOrEqual(40);
    expect(elapsed).toBeLessThan(300);
    expect(deadline.signal.reason).toMatchObject({ name: 'TimeoutError' });
  });

  it('sleeps the whole pause when the deadline leaves room for it', async () => {
    const deadline = Deadline.after(1000);
    const elapsed = await timed(() => sleepWithin(30, deadline));
    expect(elapsed).toBeGreaterThanOrEqual(25);
    expect(elapsed).toBeLessThan(500);
  });

  it('cuts a pause short at the deadline', async () => {
    const deadline = Deadline.after(100);
    const elapsed = await timed(() => sleepWithin(1000, deadline));
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(500);
    // Once it has passed, a pause takes no time at all.
    expect(await timed(() => sleepWithin(1000, deadline))).toBeLessThan(200);
  });
});
