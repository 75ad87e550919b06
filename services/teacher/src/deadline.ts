/**
 * One point in time by which a whole operation (several parallel calls and their retries) must be
 * done: each call aborts through `signal`, and a retry starts only if `remainingMs` leaves room.
 */
export class Deadline {
  readonly signal: AbortSignal;
  private readonly endsAt: number;

  private constructor(ms: number) {
    this.endsAt = performance.now() + ms;
    this.signal = AbortSignal.timeout(ms);
  }

  static after(ms: number): Deadline {
    return new Deadline(ms);
  }

  get remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }
}

/**
 * Waits `ms`, or less if the deadline passes first. The timer alone ends the wait by the deadline: its
 * signal cannot abort any earlier (it is set after `endsAt`), so there is no need to listen to it.
 */
export const sleepWithin = (ms: number, deadline: Deadline): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.min(ms, deadline.remainingMs)));
