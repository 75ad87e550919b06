/**
 * Whether the database has answered lately: what tells a saturated database (shed the request, `503
 * overloaded`) from one that is gone (`503 dependency_unavailable`) when all a request saw was that the pool
 * gave it no connection in time (none came free, or a new one did not connect). Both look the same from the
 * queue: every connection busy, connects slow. (Refused and reset connections, and a server that does not
 * even answer its own statement timeout, are an outage without asking.)
 *
 * The rule: a pool timeout is overload while the database has answered within `freshForMs`
 * (any answer counts: a result, a SQL error, a statement the server cancelled, the readiness ping). A
 * database that answers but is slow cancels each statement after DB_STATEMENT_TIMEOUT_MS, so a busy pool
 * keeps producing answers at least that often; `freshForMs` is that plus the pool wait. With no recent
 * answer (a quiet service that just got a burst), one probe on the readiness connection decides, shared by
 * every request that asks meanwhile. A black-holed database answers nothing and fails the probe, so after at
 * most `freshForMs` its queue is reported as what it is, an outage, and never as overload forever; a failed
 * probe is remembered for `freshForMs` so an outage costs one probe per window, not one per request.
 */
export class DatabaseLiveness {
  private lastAnswerAt: number;
  private lastFailedProbeAt = Number.NEGATIVE_INFINITY;
  private probing: Promise<boolean> | undefined;

  constructor(
    private readonly freshForMs: number,
    private readonly probe: () => Promise<void>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastAnswerAt = now();
  }

  /** The database answered something (a row, an error, a cancellation). */
  answered(): void {
    this.lastAnswerAt = this.now();
  }

  /** True while the database answers, however slowly; probes it once when it has been quiet. */
  isAnswering(): Promise<boolean> {
    const now = this.now();
    if (now - this.lastAnswerAt <= this.freshForMs) return Promise.resolve(true);
    if (now - this.lastFailedProbeAt <= this.freshForMs) return Promise.resolve(false);
    this.probing ??= this.probe()
      .then(
        () => (this.answered(), true),
        () => ((this.lastFailedProbeAt = this.now()), false),
      )
      .finally(() => (this.probing = undefined));
    return this.probing;
  }
}
