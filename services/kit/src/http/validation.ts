import type { Request, RequestHandler } from 'express';
import { z } from 'zod';
import { HttpError, type ErrorDetail } from './errors.js';

const toDetails = (error: z.ZodError, prefix: string): ErrorDetail[] =>
  error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError('validation_failed', `invalid ${where}`, toDetails(result.error, where));
  return result.data;
}

export const parseBody = <S extends z.ZodType>(schema: S, req: Request): z.infer<S> => parse(schema, req.body, 'body');
export const parseQuery = <S extends z.ZodType>(schema: S, req: Request): z.infer<S> => parse(schema, req.query, 'query');
export const parseParams = <S extends z.ZodType>(schema: S, req: Request): z.infer<S> => parse(schema, req.params, 'params');

/** Ids are UUIDs in their textual form; anything else is a 400 before it reaches the database. */
export const uuid = () => z.guid({ message: 'must be a UUID' });
export const idParams = z.object({ id: uuid() });

/** A non-negative integer written in plain digits, given once (`?limit=1&limit=2` is an error, not an array). */
const queryInt = (min: number, max: number, defaultValue: number) =>
  z
    .string({ message: 'must be given once, as an integer' })
    .regex(/^\d{1,15}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .optional()
    .transform((v) => v ?? defaultValue);

/**
 * Text a person typed: length bounds, and nothing PostgreSQL would refuse (NUL) or silently change
 * (unpaired surrogates), so a bad string is a 400, never a 500 or altered data.
 */
export const text = (min: number, max: number) =>
  z
    .string()
    .min(min, `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine((s) => s.isWellFormed(), 'must be well-formed Unicode')
    .refine((s) => min === 0 || s.trim().length > 0, 'must not be blank');

export const listQuery = z.looseObject({
  limit: queryInt(1, 100, 20),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER, 0),
});
export type ListQuery = { limit: number; offset: number };

/** 415 unless a request that has a body declares it as application/json. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(new HttpError('unsupported_media_type', 'request body must be application/json'));
    return;
  }
  next();
};
