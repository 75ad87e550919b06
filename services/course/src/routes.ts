import { randomUUID } from 'node:crypto';
import {
  decodeCursor,
  idParams,
  jsonBody,
  keysetAfterPlaceholders,
  keysetPage,
  keysetParams,
  listQuery,
  notFound,
  parseBody,
  parseParams,
  parseQuery,
  text,
  uuid,
  type CursorPosition,
  type Database,
  type Db,
} from '@courseops/kit';
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { Router } from 'express';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { courses, type CourseRow, type schema } from './schema.js';

/** POST and PUT body: unknown fields are an error (API.md). */
export const courseInput = z.strictObject({
  title: text(1, 200),
  description: text(0, 2000).optional(),
  credits: z.number().int().min(0).max(30).optional(),
});

/** A course as every answer shows it (API.md "A course"); `/openapi.json` documents this schema. */
export const courseSchema = z.object({
  id: z.uuid(),
  title: z.string(),
  description: z.string(),
  credits: z.number().int(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Course = z.infer<typeof courseSchema>;

export const toCourse = (row: CourseRow): Course => ({
  id: row.id,
  title: row.title,
  description: row.description,
  credits: row.credits,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** The most ids one `?ids=` lookup takes: one page of the teacher service's course list. */
export const maxIdsPerLookup = 100;

/**
 * `?ids=<uuid>,<uuid>,…`: the batched lookup (the teacher service's one call per page). Up to 100 ids,
 * each a UUID; a repeated id is answered once, at its first place. Paging does not apply (the caller
 * named every row it wants), so `limit` or `cursor` alongside is an error rather than silently ignored.
 */
export const courseIdsQuery = z.looseObject({
  ids: z
    .string({ message: 'must be given once, as comma-separated UUIDs' })
    .transform((s) => s.split(','))
    .pipe(z.array(uuid()).max(maxIdsPerLookup, `must name at most ${maxIdsPerLookup} ids`))
    .transform((ids) => [...new Set(ids.map((id) => id.toLowerCase()))]),
  limit: z.never({ message: 'cannot be combined with ids' }).optional(),
  cursor: z.never({ message: 'cannot be combined with ids' }).optional(),
});

/** Which list a course cursor belongs to. */
export const courseCursorList = { list: 'courses' };

/**
 * A page of courses by (createdAt, id), from the start or after the position in `keysetAfterPlaceholders`;
 * `limit` is a placeholder too (the page size plus one row, to tell whether a next page exists).
 */
const coursePage = (db: Db<typeof schema>, from: 'start' | 'after') =>
  db
    .select()
    .from(courses)
    .where(from === 'after' ? keysetAfterPlaceholders(courses.createdAt, courses.id) : undefined)
    .orderBy(asc(courses.createdAt), asc(courses.id))
    .limit(sql.placeholder('limit'));

/** The values of a page's statement: the first page when `after` is undefined. */
export const coursePageParams = (limit: number, after: CursorPosition | undefined) => ({ limit: limit + 1, ...(after && keysetParams(after)) });

/**
 * The statements of the hot routes, built once. Built per request, drizzle's SQL building (walking the
 * query's chunks, entity checks, the driver's query config) was the largest single cost of a list page
 * and of a create in the benchmark's CPU profile. On PostgreSQL each is also a named prepared statement,
 * parsed once per pooled connection; PGlite ignores the name. They run through `database.query` like any
 * other query, so timing and the 503 mapping are unchanged.
 */
export function courseStatements(db: Db<typeof schema>) {
  return {
    firstPage: coursePage(db, 'start').prepare('course_first_page'),
    pageAfter: coursePage(db, 'after').prepare('course_page_after'),
    byId: db
      .select()
      .from(courses)
      .where(eq(courses.id, sql.placeholder('id')))
      .prepare('course_by_id'),
    insert: db
      .insert(courses)
      .values({ id: sql.placeholder('id'), title: sql.placeholder('title'), description: sql.placeholder('description'), credits: sql.placeholder('credits') })
      .returning()
      .prepare('course_insert'),
  };
}

export interface CourseCounters {
  created: Counter;
  deleted: Counter;
}

export function courseRoutes(database: Database<typeof schema>, counters: CourseCounters): Router {
  const router = Router();
  const statements = courseStatements(database.db);

  router.get('/', async (req, res) => {
    if (req.query.ids !== undefined) {
      const { ids } = parseQuery(courseIdsQuery, req);
      const rows = await database.query('get_courses_by_ids', (db) => db.select().from(courses).where(inArray(courses.id, ids)));
      const byId = new Map(rows.map((row) => [row.id, row]));
      res.json({ items: ids.flatMap((id) => (byId.has(id) ? [toCourse(byId.get(id)!)] : [])) });
      return;
    }
    const { limit, cursor } = parseQuery(listQuery, req);
    const after = decodeCursor(courseCursorList, cursor);
    const statement = after ? statements.pageAfter : statements.firstPage;
    const rows = await database.query('list_courses', () => statement.execute(coursePageParams(limit, after)));
    const { rows: pageRows, nextCursor } = keysetPage(rows, limit, courseCursorList, (row) => ({ at: row.createdAt, id: row.id }));
    res.json({ items: pageRows.map(toCourse), nextCursor });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parseParams(idParams, req);
    const [row] = await database.query('get_course', () => statements.byId.execute({ id }));
    if (!row) throw notFound('course');
    res.json(toCourse(row));
  });

  router.post('/', ...jsonBody, async (req, res) => {
    const input = parseBody(courseInput, req);
    const [row] = await database.query('insert_course', () =>
      statements.insert.execute({ id: randomUUID(), title: input.title, description: input.description ?? '', credits: input.credits ?? 0 }),
    );
    counters.created.inc();
    res.status(201).location(`${req.baseUrl}/${row!.id}`).json(toCourse(row!));
  });

  router.put('/:id', ...jsonBody, async (req, res) => {
    const { id } = parseParams(idParams, req);
    const input = parseBody(courseInput, req);
    const [row] = await database.query('update_course', (db) =>
      db
        .update(courses)
        .set({ title: input.title, description: input.description ?? '', credits: input.credits ?? 0, updatedAt: new Date() })
        .where(eq(courses.id, id))
        .returning(),
    );
    if (!row) throw notFound('course');
    res.json(toCourse(row));
  });

  router.delete('/:id', async (req, res) => {
    const { id } = parseParams(idParams, req);
    const deleted = await database.query('delete_course', (db) => db.delete(courses).where(eq(courses.id, id)).returning({ id: courses.id }));
    if (deleted.length === 0) throw notFound('course');
    counters.deleted.inc();
    res.status(204).end();
  });

  return router;
}
