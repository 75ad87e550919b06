import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

/**
 * OPTIONS gets the JSON 404 that every method no route claims gets (API.md: every answer is JSON, every
 * error the error body; 405 is no code of ours). Without this, an express Router answers OPTIONS on its
 * own paths itself, 200 in plain text with an `Allow` list. No courseops API serves browsers from
 * another origin, so there is no CORS preflight to answer either.
 */
export const refuseOptions: RequestHandler = (req, _res, next) => {
  if (req.method === 'OPTIONS') {
    next(new HttpError('not_found', 'no such route'));
    return;
  }
  next();
};
