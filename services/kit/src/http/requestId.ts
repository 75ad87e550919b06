import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { requestContext } from '../context.js';

export const requestIdHeader = 'X-Request-Id';
export const validRequestId = /^[A-Za-z0-9._-]{1,128}$/;

/** The incoming X-Request-Id when it is well-formed, else a new one. */
export const keepOrMakeRequestId = (incoming: string | undefined): string =>
  incoming && validRequestId.test(incoming) ? incoming : randomUUID();

/** Keeps a well-formed incoming X-Request-Id, else makes one; echoes it and runs the request in its context. */
export const requestId: RequestHandler = (req, res, next) => {
  const id = keepOrMakeRequestId(req.get(requestIdHeader));
  res.setHeader(requestIdHeader, id);
  requestContext.run({ requestId: id, clientAddress: req.ip }, next);
};
