import { createHash } from 'node:crypto';
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { HttpError } from './errors.js';
import { queryInt } from './validation.js';

/**
 * Keyset pages (API.md "lists"): a page is "the next `limit` rows after this position" in a fixed order,
 * so its cost does not depend on how deep it is or how large the table is, and rows inserted while a
 * client pages neither repeat nor shift the rows it has not seen yet. The position travels as an opaque
 * cursor taken from the previous page.
 */

/** The longest cursor accepted; the ones made here are about 90 characters. */
export const maxCursorLength = 256;

/** `?cursor=`: given once, short, in the base64url alphabet (the codec checks the rest). */
export const cursorParam = z
  .string({ message: 'must be given once, as the nextCursor of a previous page' })
  .max(maxCursorLength, `must be at most ${maxCursorLength} characters`)
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be the nextCursor of a previous page');

/** The query of every list: `?limit=` (1–100, default 20) and `?cursor=`. Other keys are ignored. */
export const listQuery = z.looseObject({
  limit: queryInt(1, 100, 20),
  cursor: cursorParam.optional(),
  // Refused rather than ignored: a client still paging by offset would get the first page back forever.
  offset: z.never({ message: 'offset pages were replaced by keyset pages: pass the nextCursor of the previous page as ?cursor=' }).optional(),
});
export type ListQuery = z.infer<typeof listQuery>;

/** A list answer: one page of items and the cursor of the next page (null on the last one). */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** The answer of a batched lookup by ids (no paging: the caller named every row it wants). */
export const itemsSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/** Where a page starts: after the row with this sort key (a millisecond timestamp, then a uuid). */
export interface CursorPosition {
  at: Date;
  id: string;
}

/**
 * Which list a cursor belongs to: its name and, for a list within something (a teacher's courses), that
 * something's id. A cursor is only good for the list that made it.
 */
export interface CursorOwner {
  list: string;
  scope?: string;
}

// timestamp(3) columns hold years 1–9999 here; outside that range PostgreSQL (or toISOString) would fail
// on a forged position, so it is a 400 rather than a 500.
const minAt = Date.parse('0001-01-01T00:00:00.000Z');
const maxAt = Date.parse('9999-12-31T23:59:59.999Z');
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const position = z.tuple([z.number().int().min(minAt).max(maxAt), z.string().regex(uuidPattern)]);

/**
 * The integrity tag: truncated SHA-256 over the owner and the payload. It needs no secret, because it is
 * not there to stop forgery: a forged cursor can only name a position in a list the client may read
 * anyway (by paging to it), and the position is validated and bound as typed query parameters. What the
 * tag catches is a cursor that was cut, altered or taken from another list or another teacher's list,
 * which would otherwise silently answer the wrong rows. Without a key there is nothing to share between
 * replicas or to rotate, and cursors survive a restart.
 */
const tagOf = (owner: CursorOwner, payload: string) =>
  createHash('sha256')
    .update(JSON.stringify([owner.list, owner.scope ?? '', payload]))
    .digest('base64url')
    .slice(0, 16);

/** The cursor of the page after `position` in `owner`'s list. */
export function encodeCursor(owner: CursorOwner, { at, id }: CursorPosition): string {
  const payload = Buffer.from(JSON.stringify([at.getTime(), id.toLowerCase()])).toString('base64url');
  return `${payload}.${tagOf(owner, payload)}`;
}

const invalidCursor = (reason: string) =>
  new HttpError('validation_failed', 'invalid query', [{ path: 'query.cursor', message: reason }]);

/**
 * The position a cursor names, or undefined for the first page. A malformed, altered or foreign cursor
 * is `400 validation_failed` with a `query.cursor` detail.
 */
export function decodeCursor(owner: CursorOwner, cursor: string | undefined): CursorPosition | undefined {
  if (cursor === undefined) return undefined;
  if (cursor.length > maxCursorLength) throw invalidCursor(`must be at most ${maxCursorLength} characters`);
  const [payload, tag, ...rest] = cursor.split('.');
  if (!payload || !tag || rest.length > 0) throw invalidCursor('must be the nextCursor of a previous page');
  if (tag !== tagOf(owner, payload)) throw invalidCursor('is not a cursor of this list (altered, or from another list)');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor('must be the nextCursor of a previous page');
  }
  const parsed = position.safeParse(decoded);
  if (!parsed.success) throw invalidCursor('names no valid position');
  const [at, id] = parsed.data;
  return { at: new Date(at), id };
}

/**
 * Cuts the `limit + 1` rows a page query fetched down to the page: the extra row only tells that a next
 * page exists (no count needed), and the cursor points after the page's last row.
 */
export function keysetPage<T>(
  rows: T[],
  limit: number,
  owner: CursorOwner,
  positionOf: (row: T) => CursorPosition,
): { rows: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { rows, nextCursor: null };
  const page = rows.slice(0, limit);
  return { rows: page, nextCursor: encodeCursor(owner, positionOf(page[page.length - 1]!)) };
}

/**
 * "After this position" as one row-value comparison, `(at, id) > ($1, $2)`: a btree index on (at, id)
 * (or on (scope, at, id) with the scope fixed by equality) serves it as a range scan that starts at the
 * position, whatever its depth. Two separate conditions (`at > $1 or (at = $1 and id > $2)`) would not.
 */
export const keysetAfter = (atColumn: AnyColumn, idColumn: AnyColumn, { at, id }: CursorPosition): SQL =>
  sql`(${atColumn}, ${idColumn}) > (${at.toISOString()}::timestamptz, ${id}::uuid)`;

/**
 * `keysetAfter` for a prepared statement (built once, run with values): the position is the placeholders
 * `afterAt` and `afterId`, which `keysetParams` fills from a decoded cursor.
 */
export const keysetAfterPlaceholders = (atColumn: AnyColumn, idColumn: AnyColumn): SQL =>
  sql`(${atColumn}, ${idColumn}) > (${sql.placeholder('afterAt')}::timestamptz, ${sql.placeholder('afterId')}::uuid)`;

/** The values of `keysetAfterPlaceholders` for a position. */
export const keysetParams = ({ at, id }: CursorPosition): { afterAt: string; afterId: string } => ({ afterAt: at.toISOString(), afterId: id });
