import { randomUUID } from 'node:crypto';
import {
  idParams,
  jsonBody,
  listQuery,
  notFound,
  parseBody,
  parseParams,
  parseQuery,
  text,
  type Database,
} from '@courseops/kit';
import { asc, count, eq } from 'drizzle-orm';
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

export const toCourse = (row: CourseRow) => ({
  id: row.id,
  title: row.title,
  description: row.description,
  credits: row.credits,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

export interface CourseCounters {
  created: Counter;
  deleted: Counter;
}

export function courseRoutes(database: Database<typeof schema>, counters: CourseCounters): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const { limit, offset } = parseQuery(listQuery, req);
    const [rows, [total]] = await database.query('list_courses', (db) =>
      Promise.all([
        db.select().from(courses).orderBy(asc(courses.createdAt), asc(courses.id)).limit(limit).offset(offset),
        db.select({ n: count() }).from(courses),
      ]),
    );
    res.json({ items: rows.map(toCourse), total: total?.n ?? 0, limit, offset });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parseParams(idParams, req);
    const [row] = await database.query('get_course', (db) => db.select().from(courses).where(eq(courses.id, id)));
    if (!row) throw notFound('course');
    res.json(toCourse(row));
  });

  router.post('/', ...jsonBody, async (req, res) => {
    const input = parseBody(courseInput, req);
    const [row] = await database.query('insert_course', (db) =>
      db
        .insert(courses)
        .values({ id: randomUUID(), title: input.title, description: input.description ?? '', credits: input.credits ?? 0 })
        .returning(),
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
