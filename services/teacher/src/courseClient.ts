import { onBehalfOfHeaders, type Logger, type Metrics } from '@courseops/kit';
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

/**
 * The course service refused this call because the end user it is made for is over their rate limit
 * (API.md "limits": calls on a user's behalf count against that user). An answer about that user, not about
 * the course service's health: it never counts as a breaker failure and is never retried.
 */
export interface RateLimited {
  status: 'rate_limited';
  /** The course service's Retry-After, in seconds (1 when it gave none). */
  retryAfterSeconds: number;
}

/** What a lookup learnt: the course, that it does not exist, that the user is over their limit, or nothing (no usable answer in time). */
export type CourseLookup = { status: 'found'; course: Course } | { status: 'missing' } | RateLimited | { status: 'unavailable'; reason: string };

/**
 * What a batched lookup learnt: the courses that exist among those asked, by id (one left out does not
 * exist), or nothing (no usable answer in time).
 */
export type CoursesLookup = { status: 'answered'; courses: Map<string, Course> } | RateLimited | { status: 'unavailable'; reason: string };

/** The course service's answer to `GET /api/courses?ids=`. */
const courseItems = z.object({ items: z.array(courseSchema) });

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
  /** The most any lookup (single or batched) waits, retries included. */
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
  breaker?: Partial<BreakerSettings>;
  /** Pauses before each retry of a read; their count bounds the retries. */
  retryDelaysMs?: number[];
}

/** 404 from the course service: an answer, so the errorFilter keeps it out of the breaker's failures. */
class CourseMissing extends Error {}

/** 429 from the course service: the end user is over their limit (see RateLimited). */
class CourseRateLimited extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`course service rate-limited this user (Retry-After ${retryAfterSeconds} s)`);
  }
}

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

/** One HTTP attempt, run by the breaker; a CourseMissing or CourseCallFailed when it got no course(s). */
type Attempt = () => Promise<unknown>;

/**
 * The teacher service's way to the course service: every read has a deadline, is retried a bounded number
 * of times while the deadline allows, carries the request id and the end user's address, and goes through
 * a circuit breaker so a course service that is down costs callers nothing once the breaker has opened.
 */
export class CourseClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly retryDelaysMs: number[];
  private readonly metrics: ClientMetrics;
  /** One breaker for every read: single and batched lookups fail (and recover) together. */
  private readonly breaker: CircuitBreaker<[Attempt], unknown>;

  constructor(private readonly options: CourseClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    const settings = { ...defaultBreakerSettings, ...options.breaker };
    this.attemptTimeoutMs = settings.timeoutMs ?? options.timeoutMs;
    this.retryDelaysMs = options.retryDelaysMs ?? [50, 150];
    this.metrics = createClientMetrics(options.metrics);
    this.breaker = new CircuitBreaker<[Attempt], unknown>((attempt) => attempt(), {
      name: target,
      timeout: this.attemptTimeoutMs,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.volumeThreshold,
      resetTimeout: settings.resetTimeoutMs,
      rollingCountTimeout: settings.rollingWindowMs,
      // Answers about the request, not failures of the course service: one user over their limit must not
      // open the breaker for everyone.
      errorFilter: (err: unknown) => err instanceof CourseMissing || err instanceof CourseRateLimited,
    });
    this.watchBreaker();
  }

  /** Looks one course up (to vouch for it before an assignment); never throws. */
  async getCourse(courseId: string): Promise<CourseLookup> {
    const read = await this.read(`/api/courses/${encodeURIComponent(courseId)}`, (body) => courseSchema.safeParse(body).data, 'a course');
    if (read.status === 'answered') return { status: 'found', course: read.value };
    return read;
  }

  /**
   * Looks up to 100 courses up in ONE call (`GET /api/courses?ids=`), retries included within one
   * timeoutMs; never throws. A page of a teacher's courses costs the course service one request, not one
   * per course.
   */
  async getCourses(courseIds: string[]): Promise<CoursesLookup> {
    if (courseIds.length === 0) return { status: 'answered', courses: new Map() };
    const asked = new Set(courseIds);
    const read = await this.read(`/api/courses?ids=${courseIds.map(encodeURIComponent).join(',')}`, (body) => courseItems.safeParse(body).data, 'a list of courses');
    // A 404 to the list route means no such route (say, an older course service), not "no such courses".
    if (read.status === 'missing') return { status: 'unavailable', reason: 'course service answered HTTP 404 to a batched lookup' };
    if (read.status === 'unavailable' || read.status === 'rate_limited') return read;
    // Only what was asked: an answer cannot slip other courses into a teacher's list.
    return { status: 'answered', courses: new Map(read.value.items.filter((c) => asked.has(c.id)).map((c) => [c.id, c])) };
  }

  /**
   * A GET with one deadline (timeoutMs) over all its attempts, a bounded number of retries while the
   * deadline leaves room, and the breaker around each attempt; never throws.
   */
  private async read<T>(
    path: string,
    parse: (body: unknown) => T | undefined,
    what: string,
  ): Promise<{ status: 'answered'; value: T } | { status: 'missing' } | RateLimited | { status: 'unavailable'; reason: string }> {
    const deadline = Deadline.after(this.timeoutMs);
    // Read now (a retry may run outside the request's context): the course service's logs must show this
    // request's id, and its rate limit must count the call against the end user, not the teacher service.
    const onBehalfOf = onBehalfOfHeaders();
    for (let attempt = 0; ; attempt++) {
      try {
        const value = (await this.breaker.fire(() => this.fetchOnce(path, parse, what, onBehalfOf, deadline))) as T;
        return { status: 'answered', value };
      } catch (err) {
        if (err instanceof CourseMissing) return { status: 'missing' };
        if (err instanceof CourseRateLimited) return { status: 'rate_limited', retryAfterSeconds: err.retryAfterSeconds };
        const delay = this.retryDelaysMs[attempt];
        if (delay === undefined || !isRetryable(err) || deadline.remainingMs <= delay) {
          return { status: 'unavailable', reason: reasonOf(err) };
        }
        await sleepWithin(delay, deadline);
      }
    }
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
      throw new Error(`course service unreachable: ${reasonOf(err)}`, { cause: err });
    }
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`course service not ready: HTTP ${res.status}`);
  }

  /** Stops the breaker's timers. */
  close(): void {
    this.breaker.shutdown();
  }

  /** One HTTP attempt, measured; run by the breaker. */
  private async fetchOnce<T>(
    path: string,
    parse: (body: unknown) => T | undefined,
    what: string,
    onBehalfOf: Record<string, string>,
    deadline: Deadline,
  ): Promise<T> {
    const signal = AbortSignal.any([deadline.signal, AbortSignal.timeout(this.attemptTimeoutMs)]);
    const stopTimer = this.metrics.requestDuration.startTimer({ target });
    let statusCode = 'error';
    try {
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, { headers: { accept: 'application/json', ...onBehalfOf }, signal });
      } catch (err) {
        throw new CourseCallFailed(`no answer from the course service: ${reasonOf(err)}`, true, { cause: err });
      }
      statusCode = String(res.status);
      if (res.status === 404) {
        await res.body?.cancel();
        throw new CourseMissing(`${path} not found`);
      }
      if (res.status === 429) {
        await res.body?.cancel();
        throw new CourseRateLimited(retryAfterSeconds(res.headers.get('retry-after')));
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        // A 5xx may be a pod's passing fault, worth another try; a 503 with Retry-After (`overloaded`) is the
        // course service shedding load, and an instant retry would only add to it.
        const retryable = res.status >= 500 && !(res.status === 503 && res.headers.has('retry-after'));
        throw new CourseCallFailed(`course service answered HTTP ${res.status}`, retryable);
      }
      const body = parse(await res.json().catch(() => undefined));
      if (body === undefined) throw new CourseCallFailed(`course service answered with something that is not ${what}`, false);
      return body;
    } finally {
      stopTimer();
      this.metrics.requestsTotal.inc({ target, status_code: statusCode });
    }
  }

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

/**
 * Retry-After as delta-seconds (what express-rate-limit sends); anything else counts as 1 s. fetch keeps
 * white space after a header value, which Number() ignores and the pattern must not see.
 */
function retryAfterSeconds(header: string | null): number {
  const seconds = header !== null && /^\d{1,9}$/.test(header.trim()) ? Number(header) : 1;
  return Math.max(1, seconds);
}

/** Another try helps only when no answer came (network, timeout) or the answer was a 5xx; not when the breaker is open. */
function isRetryable(err: unknown): boolean {
  if (err instanceof CourseCallFailed) return err.retryable;
  return (err as { code?: unknown }).code === 'ETIMEDOUT';
}

/**
 * A short reason for logs and errors: undici hides the errno (ECONNREFUSED…) in `cause`, so each level of
 * the cause chain (four at most) gives its code, else its message, each named once.
 */
export function reasonOf(err: unknown): string {
  if (err instanceof CourseCallFailed) return err.message;
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    const part = typeof code === 'string' ? code : typeof message === 'string' ? message : undefined;
    if (part && !parts.includes(part)) parts.push(part);
  }
  return parts.join(': ') || String(err);
}
