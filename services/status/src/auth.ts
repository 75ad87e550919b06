import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from '@courseops/kit';
import type { RequestHandler } from 'express';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Requires `Authorization: Bearer <token>`. Both sides are hashed first, so the comparison takes the
 * same time whatever the length or content of the guess. Without a configured token nothing gets in:
 * an unset secret must not leave the endpoint open.
 */
export function requireBearerToken(expected: string | undefined): RequestHandler {
  const expectedHash = expected ? sha256(expected) : undefined;
  return (req, res, next) => {
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(req.get('authorization') ?? '');
    const given = match?.[1];
    if (expectedHash && given !== undefined && timingSafeEqual(sha256(given), expectedHash)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="alerts"');
    next(new HttpError('unauthorized', 'a valid bearer token is required'));
  };
}
