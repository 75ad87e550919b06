import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../src/http/errors.js';
import { PgDialect, pgTable, timestamp, uuid as uuidColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import {
  decodeCursor,
  encodeCursor,
  itemsSchema,
  keysetAfter,
  keysetAfterPlaceholders,
  keysetPage,
  keysetParams,
  listQuery,
  maxCursorLength,
  pageSchema,
} from '../src/http/pagination.js';

const courses = { list: 'courses' };
const ofTeacher = (id: string) => ({ list: 'teacher_courses', scope: id });
const teacherA = '0b6d7d8e-1f0a-4c3b-9d2e-000000000001';
const teacherB = '0b6d7d8e-1f0a-4c3b-9d2e-000000000002';
const position = { at: new Date('2024-05-06T07:08:09.123Z'), id: '6f1c2a9e-1111-4222-8333-944455556666' };

/** The 400 a bad cursor must be: validation_failed with a query.cursor detail. */
function expectRejected(run: () => unknown): void {
  let thrown: unknown;
  try {
    run();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(HttpError);
  const error = thrown as HttpError;
  expect(error.code).toBe('validation_failed');
  expect(error.status).toBe(400);
  expect(error.details?.map((d) => d.path)).toEqual(['query.cursor']);
}

/** Why a cursor of the courses list is refused (the detail's message), or undefined when it is taken. */
function reason(cursor: string): string | undefined {
  try {
    decodeCursor(courses, cursor);
  } catch (err) {
    return (err as HttpError).details?.[0]?.message;
  }
  return undefined;
}

/** A cursor with a correct tag over an arbitrary payload: what anyone can forge, since there is no secret. */
const forge = (owner: { list: string; scope?: string }, payload: unknown) => {
  const text = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const tag = createHash('sha256')
    .update(JSON.stringify([owner.list, owner.scope ?? '', text]))
    .digest('base64url')
    .slice(0, 16);
  return `${text}.${tag}`;
};

describe('keyset cursor codec', () => {
  it('round-trips a position to the millisecond, in a short URL-safe string', () => {
    const cursor = encodeCursor(courses, position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(cursor.length).toBeLessThan(maxCursorLength);
    expect(decodeCursor(courses, cursor)).toEqual(position);
    expect(decodeCursor(ofTeacher(teacherA), encodeCursor(ofTeacher(teacherA), position))).toEqual(position);
    expect(decodeCursor(courses, undefined)).toBeUndefined();
  });

  it('rejects a tampered cursor: payload or tag changed, cut short, or extended', () => {
    const cursor = encodeCursor(courses, position);
    const [payload, tag] = cursor.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const bad of [
      `${flip(payload, 5)}.${tag}`,
      `${payload}.${flip(tag, 3)}`,
      `${payload.slice(0, -2)}.${tag}`,
      `${payload}.${tag.slice(0, -1)}`,
      `${payload}.${tag}.x`,
      `${payload}`,
      `.${tag}`,
      // The same position, re-encoded by hand without its tag being recomputed.
      `${Buffer.from(JSON.stringify([position.at.getTime() + 1, position.id])).toString('base64url')}.${tag}`,
    ]) {
      expectRejected(() => decodeCursor(courses, bad));
    }
  });

  it("rejects another list's cursor and another teacher's cursor", () => {
    expectRejected(() => decodeCursor({ list: 'teachers' }, encodeCursor(courses, position)));
    expectRejected(() => decodeCursor(courses, encodeCursor(ofTeacher(teacherA), position)));
    expectRejected(() => decodeCursor(ofTeacher(teacherB), encodeCursor(ofTeacher(teacherA), position)));
    // A scope is not a suffix of the list name: ('a', 'bc') and ('ab', 'c') are different owners.
    expectRejected(() => decodeCursor({ list: 'ab', scope: 'c' }, encodeCursor({ list: 'a', scope: 'bc' }, position)));
  });

  it('rejects garbage and overlong cursors', () => {
    for (const bad of ['', 'x', '.', '..', 'not a cursor', '%00', 'eyJ9.eyJ9', '\u{1F680}.\u{1F680}', 'a'.repeat(maxCursorLength + 1)]) {
      expectRejected(() => decodeCursor(courses, bad));
    }
    const long = encodeCursor(courses, position);
    expectRejected(() => decodeCursor(courses, `${'A'.repeat(maxCursorLength)}${long}`));
  });

  it('rejects a correctly tagged cursor that names no valid position (a forgery reaches no database error)', () => {
    for (const payload of [
      [position.at.getTime(), 'not-a-uuid'],
      [position.at.getTime(), position.id.toUpperCase()],
      [1.5, position.id],
      [-8.64e15, position.id],
      [Date.parse('9999-12-31T23:59:59.999Z') + 1, position.id],
      [position.at.getTime()],
      { at: position.at.getTime(), id: position.id },
      null,
      'x',
    ]) {
      expectRejected(() => decodeCursor(courses, forge(courses, payload)));
    }
    // And one that does name a position is taken, forged or not: it is only a place in a readable list.
    expect(decodeCursor(courses, forge(courses, [0, position.id]))).toEqual({ at: new Date(0), id: position.id });
  });
});

describe('list query', () => {
  const parse = (query: Record<string, unknown>) => listQuery.safeParse(query);

  it('defaults limit to 20, takes 1–100 and a cursor', () => {
    expect(parse({}).data).toEqual({ limit: 20 });
    expect(parse({ limit: '1' }).data).toEqual({ limit: 1 });
    expect(parse({ limit: '100', cursor: 'abc.def' }).data).toEqual({ limit: 100, cursor: 'abc.def' });
  });

  it.each([
    ['limit 0', { limit: '0' }, 'limit'],
    ['limit 101', { limit: '101' }, 'limit'],
    ['limit given twice', { limit: ['1', '2'] }, 'limit'],
    ['cursor given twice', { cursor: ['a.b', 'a.b'] }, 'cursor'],
    ['a cursor outside the base64url alphabet', { cursor: 'a b.c' }, 'cursor'],
    ['an overlong cursor', { cursor: `${'a'.repeat(maxCursorLength)}.b` }, 'cursor'],
    ['a cursor as an object', { cursor: { a: '1' } }, 'cursor'],
    ['an offset (offset pages are gone: ignoring it would repeat the first page)', { offset: '20' }, 'offset'],
  ])('rejects %s at its path', (_name, query, path) => {
    const result = parse(query);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('keysetPage', () => {
  const rows = Array.from({ length: 4 }, (_, i) => ({ at: new Date(1000 + i), id: `00000000-0000-4000-8000-00000000000${i}` }));

  it('answers the last page without a cursor and a full one with the cursor after its last row', () => {
    expect(keysetPage(rows.slice(0, 3), 3, courses, (r) => r)).toEqual({ rows: rows.slice(0, 3), nextCursor: null });
    const page = keysetPage(rows, 3, courses, (r) => r);
    expect(page.rows).toEqual(rows.slice(0, 3));
    expect(decodeCursor(courses, page.nextCursor!)).toEqual(rows[2]);
  });
});

describe('cursor edges', () => {
  it('encodes the id in lower case, so an upper-case id pages like its lower-case spelling', () => {
    const upper = { at: position.at, id: position.id.toUpperCase() };
    expect(encodeCursor(courses, upper)).toBe(encodeCursor(courses, position));
    expect(decodeCursor(courses, encodeCursor(courses, upper))).toEqual(position);
  });

  it('takes the first and last millisecond of years 1-9999 and nothing outside them', () => {
    const first = Date.parse('0001-01-01T00:00:00.000Z');
    const last = Date.parse('9999-12-31T23:59:59.999Z');
    expect(decodeCursor(courses, forge(courses, [first, position.id]))?.at.getTime()).toBe(first);
    expect(decodeCursor(courses, forge(courses, [last, position.id]))?.at.getTime()).toBe(last);
    expectRejected(() => decodeCursor(courses, forge(courses, [first - 1, position.id])));
    expectRejected(() => decodeCursor(courses, forge(courses, [last + 1, position.id])));
  });

  it('says why a cursor is refused', () => {
    const cursor = encodeCursor(courses, position);
    expect(reason('a'.repeat(maxCursorLength + 1))).toBe(`must be at most ${maxCursorLength} characters`);
    expect(reason('no-dot')).toBe('must be the nextCursor of a previous page');
    expect(reason(encodeCursor({ list: 'teachers' }, position))).toBe('is not a cursor of this list (altered, or from another list)');
    // Correctly tagged, but its payload is no JSON.
    const notJson = Buffer.from('not json').toString('base64url');
    const tag = createHash('sha256').update(JSON.stringify(['courses', '', notJson])).digest('base64url').slice(0, 16);
    expect(reason(`${notJson}.${tag}`)).toBe('must be the nextCursor of a previous page');
    expect(reason(forge(courses, [1.5, position.id]))).toBe('names no valid position');
    expect(reason(cursor)).toBeUndefined();
  });

  it('gives the placeholders of a prepared page query the position', () => {
    expect(keysetParams(position)).toEqual({ afterAt: position.at.toISOString(), afterId: position.id });
  });
});

describe('what a client is told, and what the SQL says', () => {
  const issues = (query: Record<string, unknown>) => listQuery.safeParse(query).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it("names the cursor's and the offset's problems in words a client can act on", () => {
    expect(issues({ cursor: ['a.b', 'a.b'] })).toEqual(['cursor: must be given once, as the nextCursor of a previous page']);
    expect(issues({ cursor: `${'a'.repeat(maxCursorLength)}.b` })).toEqual([`cursor: must be at most ${maxCursorLength} characters`]);
    expect(issues({ cursor: 'a b.c' })).toEqual(['cursor: must be the nextCursor of a previous page']);
    expect(issues({ offset: '20' })).toEqual(['offset: offset pages were replaced by keyset pages: pass the nextCursor of the previous page as ?cursor=']);
  });

  it('takes a cursor only whole: nothing before or after its two base64url parts', () => {
    expect(listQuery.safeParse({ cursor: 'abc.def' }).success).toBe(true);
    for (const cursor of ['!abc.def', 'abc.def!', 'abc.def.', '.abc.def']) expect(listQuery.safeParse({ cursor }).success, cursor).toBe(false);
  });

  it('keeps query keys it does not know (other filters of the route)', () => {
    expect(listQuery.parse({ teacher: 'x' })).toEqual({ limit: 20, teacher: 'x' });
  });

  it('refuses a cursor of more than the longest length, and reads one of exactly that length', () => {
    const cut = `${'A'.repeat(maxCursorLength - 3)}.B`;
    expect(cut.length).toBe(maxCursorLength - 1);
    expect(reason(`${cut}C`)).toBe('is not a cursor of this list (altered, or from another list)');
    expect(reason(`${cut}CD`)).toBe(`must be at most ${maxCursorLength} characters`);
  });

  it('refuses a position whose id only contains a uuid', () => {
    for (const id of [`x${position.id}`, `${position.id}x`]) expectRejected(() => decodeCursor(courses, forge(courses, [0, id])));
  });

  it('describes a page and a batch of items', () => {
    const page = pageSchema(z.number());
    expect(page.parse({ items: [1, 2], nextCursor: null })).toEqual({ items: [1, 2], nextCursor: null });
    expect(page.safeParse({ items: [1] }).success).toBe(false);
    expect(page.safeParse({ items: ['1'], nextCursor: 'a.b' }).success).toBe(false);
    const batch = itemsSchema(z.number());
    expect(batch.parse({ items: [3] })).toEqual({ items: [3] });
    expect(batch.safeParse({ items: ['3'] }).success).toBe(false);
  });

  it('compares (at, id) as one row value against the position, typed, as SQL and as a prepared statement', () => {
    const table = pgTable('t', { at: timestamp('at', { precision: 3 }), id: uuidColumn('id') });
    const dialect = new PgDialect();
    expect(dialect.sqlToQuery(keysetAfter(table.at, table.id, position))).toMatchObject({
      sql: '("t"."at", "t"."id") > ($1::timestamptz, $2::uuid)',
      params: [position.at.toISOString(), position.id],
    });
    expect(dialect.sqlToQuery(keysetAfterPlaceholders(table.at, table.id)).sql).toBe('("t"."at", "t"."id") > ($1::timestamptz, $2::uuid)');
  });
});
