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
export const queryInt = (min: number, max: number, defaultValue: number) =>
  z
    .string({ message: 'must be given once, as an integer' })
    .regex(/^\d{1,15}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .optional()
    .transform((v) => v ?? defaultValue);

/** No NUL anywhere. A pattern rather than a refinement, so /openapi.json documents it too. */
const withoutNul = /^[^\u0000]*$/;
/**
 * Some character that `trim()` keeps: JavaScript's white space and line terminators spelled out, so the
 * pattern means the same to every regex engine that reads /openapi.json (`\s` differs between them).
 */
const notBlank = /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

/**
 * A leading U+FEFF is stored, but embedded PostgreSQL (PGlite 0.5, its pg-protocol BufferReader) decodes
 * each text value with its own `new TextDecoder('utf-8')`, which takes it for a byte order mark and drops
 * it: the value would come back altered, with no way to ask for it as written. So it is refused, on both
 * drivers alike; U+FEFF anywhere else in a text round-trips.
 */
const noLeadingBom = /^(?!\uFEFF)/;

/**
 * Text a person typed: length bounds, and nothing PostgreSQL would refuse (NUL) or silently change
 * (unpaired surrogates), so a bad string is a 400, never a 500 or altered data.
 */
export const text = (min: number, max: number, options: { allowLeadingBom?: boolean } = {}) => {
  const checked = z
    .string()
    .min(min, `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .regex(withoutNul, 'must not contain NUL characters');
  const bounded = options.allowLeadingBom ? checked : checked.regex(noLeadingBom, 'must not start with U+FEFF (byte order mark)');
  return (min === 0 ? bounded : bounded.regex(notBlank, 'must not be blank')).refine((s) => s.isWellFormed(), 'must be well-formed Unicode');
};

/** 415 unless a request that has a body declares it as application/json. */
export const requireJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    next(new HttpError('unsupported_media_type', 'request body must be application/json'));
    return;
  }
  next();
};
