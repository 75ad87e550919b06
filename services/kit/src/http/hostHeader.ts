import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

/**
 * RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without a Host header, and to any
 * request with more than one. Node refuses a missing one itself with a bare 400 (no body, no request id)
 * and lets a repeated one through (req.headers keeps the first), so `listen` turns Node's check off and
 * this refuses both, in the JSON error body like every other error. HTTP/1.0 needs no Host.
 */
export const requireHostHeader: RequestHandler = (req, _res, next) => {
  const hosts = req.headersDistinct.host ?? [];
  const http11 = req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
  if (hosts.length > 1) next(new HttpError('validation_failed', 'a request must have at most one Host header'));
  else if (http11 && hosts.length === 0) next(new HttpError('validation_failed', 'an HTTP/1.1 request needs a Host header'));
  else next();
};
