import { currentRequestId, requestIdHeader, type Logger, type Metrics } from '@courseops/kit';
import CircuitBreaker from 'opossum';
import { z } from 'zod';
import { breakerStateValue, createClientMetrics, type ClientMetrics } from './clientMetrics.js';
import { Deadline, sleepWithin } from './deadline.js';

/** The `target` label of the outbound-call metrics. */
const target = 'course';

/** A course as the course service answers it (API.md "Course service"). */
export const courseSchema = z.object({
  id: z.string(),
  title: z.string(),
  description: z.string(),
  credits: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Course = z.infer<typeof courseSchema>;

/** What a lookup learnt: the course, that it does not exist, or nothing (no usable answer in time). */
export type CourseLookup = { status: 'found'; course: Course } | { status: 'missing' } | { status: 'unavailable'; reason: string };

export interface BreakerSettings {
  /** One attempt's limit (the caller's deadline may cut it shorter). Default: the client's timeoutMs. */
  timeoutMs?: number;
  /** Failure share (in %) of the rolling window above which the breaker opens. */
  errorThresholdPercentage: number;
  /** Calls in the rolling window before the breaker may open at all. */
  volumeThreshold: number;
  /** How long the breaker stays open before it lets one trial call through (half-open). */
  resetTimeoutMs: number;
  rollingWindowMs: number;
}

export const defaultBreakerSettings: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 10_000,
  rollingWindowMs: 10_000,
};

export interface CourseClientOptions {
  baseUrl: string;
  /** The most any lookup (or group of parallel lookups) waits, retries included. */
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
  breaker?: Partial<BreakerSettings>;
  /** Pauses before each retry of a read; their count bounds the retries. */
  retryDelaysMs?: number[];
}

/** 404 from the course service: an answer, so the errorFilter keeps it out of the breaker's failures. */
class CourseMissing extends Error {}

/** A call that got no usable answer; `retryable` when another try could get one (no answer, 5xx). */
class CourseCallFailed extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type FetchCourse = (courseId: string, requestId: string | undefined, deadline: Deadline) => Promise<Course>;

/**
 * The teacher service's way to the course service: every read has a deadline, is retried a bounded number
 * of times while the deadline allows, carries the request id, and goes through a circuit breaker so a
 * course service that is down costs callers nothing once the breaker has opened.
 */
export class CourseClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly retryDelaysMs: number[];
  private readonly metrics: ClientMetrics;
  private readonly breaker: CircuitBreaker<Parameters<FetchCourse>, Course>;

  constructor(private readonly options: CourseClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    const settings = { ...defaultBreakerSettings, ...options.breaker };
    this.attemptTimeoutMs = settings.timeoutMs ?? options.timeoutMs;
    this.retryDelaysMs = options.retryDelaysMs ?? [50, 150];
    this.metrics = createClientMetrics(options.metrics);
    this.breaker = new CircuitBreaker<Parameters<FetchCourse>, Course>(this.fetchCourse, {
      name: target,
      timeout: this.attemptTimeoutMs,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.volumeThreshold,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: settings.rollingWindowMs,
      errorFilter: (err: unknown) => err instanceof CourseMissing,
    });
    this.watchBreaker();
  }

  /** Looks one course up; never throws. A group of lookups shares one `deadline`. */
  async getCourse(courseId: string, deadline = Deadline.after(this.timeoutMs)): Promise<CourseLookup> {
    // Read now: the request's context is what the course service's logs must show.
    const requestId = currentRequestId();
    for (let attempt = 0; ; attempt++) {
      try {
        return { status: 'found', course: await this.breaker.fire(courseId, requestId, deadline) };
      } catch (err) {
        if (err instanceof CourseMissing) return { status: 'missing' };
        const delay = this.retryDelaysMs[attempt];
        if (delay === undefined || !isRetryable(err) || deadline.remainingMs <= delay) {
          return { status: 'unavailable', reason: describe(err) };
        }
        await sleepWithin(delay, deadline);
      }
    }
  }

  /** Looks courses up in parallel, all under one deadline: the answer never waits longer than timeoutMs. */
  lookupAll(courseIds: string[]): Promise<CourseLookup[]> {
    const deadline = Deadline.after(this.timeoutMs);
    return Promise.all(courseIds.map((id) => this.getCourse(id, deadline)));
  }

  /**
   * The readiness probe: is the course service ready? Outside the breaker (it must see the real state,
   * not the breaker's memory) and outside the client metrics (probes are not traffic).
   */
  async probe(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(Math.min(this.timeoutMs, 1000)) });
    } catch (err) {
      throw new Error(`course service unreachable: ${describe(err)}`, { cause: err });
    }
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`course service not ready: HTTP ${res.status}`);
  }

  /** Stops the breaker's timers. */
  close(): void {
    this.breaker.shutdown();
  }

  /** One HTTP attempt, measured; run by the breaker. */
  private readonly fetchCourse: FetchCourse = async (courseId, requestId, deadline) => {
    const signal = AbortSignal.any([deadline.signal, AbortSignal.timeout(this.attemptTimeoutMs)]);
    const stopTimer = this.metrics.requestDuration.startTimer({ target });
    let statusCode = 'error';
    try {
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}/api/courses/${encodeURIComponent(courseId)}`, {
          headers: { accept: 'application/json', ...(requestId ? { [requestIdHeader]: requestId } : {}) },
          signal,
        });
      } catch (err) {
        throw new CourseCallFailed(`no answer from the course service: ${describe(err)}`, true, { cause: err });
      }
      statusCode = String(res.status);
      if (res.status === 404) {
        await res.body?.cancel();
        throw new CourseMissing(`course ${courseId} not found`);
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new CourseCallFailed(`course service answered HTTP ${res.status}`, res.status >= 500);
      }
      const course = courseSchema.safeParse(await res.json().catch(() => undefined));
      if (!course.success) throw new CourseCallFailed('course service answered with something that is not a course', false);
      return course.data;
    } finally {
      stopTimer();
      this.metrics.requestsTotal.inc({ target, status_code: statusCode });
    }
  };

  private watchBreaker(): void {
    const { breakerState } = this.metrics;
    const { logger } = this.options;
    breakerState.set({ target }, breakerStateValue.closed);
    this.breaker.on('open', () => {
      breakerState.set({ target }, breakerStateValue.open);
      logger.warn('circuit breaker to the course service opened', { 'event.action': 'circuit_open', 'service.target.name': target });
    });
    this.breaker.on('halfOpen', () => {
      breakerState.set({ target }, breakerStateValue.halfOpen);
      logger.info('circuit breaker to the course service half-open, trying again', { 'event.action': 'circuit_half_open' });
    });
    this.breaker.on('close', () => {
      breakerState.set({ target }, breakerStateValue.closed);
      logger.info('circuit breaker to the course service closed', { 'event.action': 'circuit_close' });
    });
  }
}

/** Another try helps only when no answer came (network, timeout) or the answer was a 5xx; not when the breaker is open. */
function isRetryable(err: unknown): boolean {
  if (err instanceof CourseCallFailed) return err.retryable;
  return (err as { code?: unknown }).code === 'ETIMEDOUT';
}

/** A short reason for logs and errors: undici hides the errno (ECONNREFUSED…) in `cause`. */
function describe(err: unknown): string {
  if (err instanceof CourseCallFailed) return err.message;
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    const part = typeof code === 'string' ? code : typeof message === 'string' ? message : undefined;
    if (part && !parts.includes(part)) parts.push(part);
  }
  return parts.join(': ') || String(err);
}
