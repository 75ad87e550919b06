/** One dependency check of /readyz. Soft checks are reported but never make the service unready. */
export interface ReadinessCheck {
  name: string;
  soft?: boolean;
  check: () => Promise<void>;
}

export interface CheckResult {
  status: 'up' | 'down';
  latencyMs: number;
  soft?: true;
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  body: { status: 'ready' | 'not_ready'; checks: Record<string, CheckResult> };
}

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });

/** The /readyz state: dependency checks, and the shutdown flag that turns readiness off at SIGTERM. */
export class Readiness {
  private readonly checks: ReadinessCheck[] = [];
  private draining = false;
  private closingConnections = false;

  constructor(private readonly timeoutMs = 2000) {}

  add(check: ReadinessCheck): this {
    this.checks.push(check);
    return this;
  }

  /** From now on the service reports not ready, so the platform stops sending it traffic. */
  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * The listener is closed: from now on every answer closes its connection, so a keep-alive client
   * reconnects, and is refused here (or sent to another pod by the platform).
   */
  closeConnections(): void {
    this.closingConnections = true;
  }

  get isClosingConnections(): boolean {
    return this.closingConnections;
  }

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async (c): Promise<[string, CheckResult]> => {
        const start = performance.now();
        const soft = c.soft ? { soft: true as const } : {};
        try {
          await withTimeout(c.check(), this.timeoutMs);
          return [c.name, { status: 'up', latencyMs: Math.round(performance.now() - start), ...soft }];
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          return [c.name, { status: 'down', latencyMs: Math.round(performance.now() - start), ...soft, error }];
        }
      }),
    );
    const hardDown = results.some(([name, r]) => r.status === 'down' && !this.checks.find((c) => c.name === name)?.soft);
    const ready = !this.draining && !hardDown;
    return { ready, body: { status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) } };
  }
}
