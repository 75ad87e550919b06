import type { ErrorRequestHandler, RequestHandler } from 'express';
import { currentRequestId } from '../context.js';
import type { Logger } from '../logger.js';

/** The error codes of API.md and their status codes. */
export const errorStatus = {
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  course_not_found: 422,
  rate_limited: 429,
  internal: 500,
  dependency_unavailable: 503,
  overloaded: 503,
} as const;
export type ErrorCode = keyof typeof errorStatus;

export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error that becomes the JSON error body of API.md. */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'HttpError';
    this.status = errorStatus[code];
  }
}

export const notFound = (what: string) => new HttpError('not_found', `${what} not found`);

export function errorBody(code: ErrorCode, message: string, details?: ErrorDetail[]) {
  return {
    error: { code, message, requestId: currentRequestId() ?? '', ...(details && details.length > 0 ? { details } : {}) },
  };
}

/**
 * Errors thrown by body-parser and the router carry a `type` or a 4xx `status`; they are the client's
 * fault and must never become a 500.
 */
function fromFrameworkError(err: { type?: unknown; status?: unknown; message?: unknown }): HttpError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new HttpError('invalid_json', 'request body is not valid JSON');
    case 'entity.too.large':
      return new HttpError('payload_too_large', 'request body is larger than 16 KiB');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new HttpError('unsupported_media_type', 'request body charset or encoding is not supported');
  }
  const status = typeof err.status === 'number' ? err.status : undefined;
  if (status === 413) return new HttpError('payload_too_large', 'request body is too large');
  if (status === 415) return new HttpError('unsupported_media_type', 'request body must be application/json');
  if (status !== undefined && status >= 400 && status < 500) {
    return new HttpError('validation_failed', 'malformed request');
  }
  return undefined;
}

/**
 * `Retry-After` of a `503 overloaded`, in seconds. Overload here is short by construction: a request waits
 * at most DB_POOL_WAIT_MS (1 s) for a connection and a statement runs at most DB_STATEMENT_TIMEOUT_MS (2 s),
 * so the backlog that shed a request has turned over within a second or two. 1 s (the header's smallest
 * useful value; 0 invites an immediate retry storm) brings a well-behaved client back as soon as capacity is
 * likely free, without leaving the pool idle after a short spike; a longer overload just sheds it again,
 * cheaply, after at most the pool wait.
 */
export const overloadedRetryAfterSeconds = 1;

/** The last middleware: turns anything thrown into the JSON error body; never an HTML page or a stack. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const known = err instanceof HttpError ? err : fromFrameworkError(err ?? {});
    const httpError = known ?? new HttpError('internal', 'internal error');
    if (!known) logger.error('unhandled error', { err });
    else if (httpError.code === 'dependency_unavailable' || httpError.code === 'overloaded') {
      logger.warn(httpError.message, { err: httpError.cause ?? httpError });
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (httpError.code === 'overloaded') res.set('Retry-After', String(overloadedRetryAfterSeconds));
    res.status(httpError.status).json(errorBody(httpError.code, httpError.message, httpError.details));
  };
}

/** 404 for every path no route claims. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => next(new HttpError('not_found', 'no such route'));
