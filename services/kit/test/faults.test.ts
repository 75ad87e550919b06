import { HttpError, injectFaults } from '@courseops/kit';
import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';

/** FAULT_RATE on a random source the test sets (the service-level share is in course's faults.test.ts). */
describe('injectFaults', () => {
  /** What the middleware passes on for one request when the random source draws `draw`. */
  const passedOn = (rate: number, draw: number): unknown => {
    let passed: unknown = 'next not called';
    injectFaults(rate, () => draw)({} as Request, {} as Response, (err?: unknown) => void (passed = err));
    return passed;
  };

  it('fails a request whose draw falls under the rate with a 500 internal, and lets the others through', () => {
    const fault = passedOn(0.1, 0.05);
    expect(fault).toBeInstanceOf(HttpError);
    expect(fault).toMatchObject({ status: 500, code: 'internal', message: 'injected fault (FAULT_RATE)' });
    expect(passedOn(0.1, 0.5)).toBeUndefined();
    expect(passedOn(0.9, 0.5)).toBeInstanceOf(HttpError);
    expect(passedOn(0.9, 0.95)).toBeUndefined();
  });

  it('never fails at rate 0 and always at rate 1, whatever the draw in [0, 1)', () => {
    expect(passedOn(0, 0)).toBeUndefined();
    expect(passedOn(0.25, 0.25)).toBeUndefined();
    expect(passedOn(1, 0)).toBeInstanceOf(HttpError);
    expect(passedOn(1, 0.999999)).toBeInstanceOf(HttpError);
  });

  it('refuses a rate outside 0..1', () => {
    for (const rate of [-0.01, 1.01, Number.NaN]) {
      expect(() => injectFaults(rate), String(rate)).toThrow(new RangeError(`fault rate must be between 0 and 1, got ${rate}`));
    }
    expect(() => injectFaults(0)).not.toThrow();
    expect(() => injectFaults(1)).not.toThrow();
  });
});
