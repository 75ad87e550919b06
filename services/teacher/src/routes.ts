import { randomUUID } from 'node:crypto';
import {
  HttpError,
  idParams,
  isUniqueViolation,
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
import { teachers, type TeacherRow, type schema } from './schema.js';

/** POST body: unknown fields are an error (API.md). 254 is the longest address SMTP can carry. */
export const teacherInput = z.strictObject({
  name: text(1, 200),
  email: z.string().max(254, 'must be at most 254 characters').pipe(z.email({ message: 'must be an email address' })),
});

export const toTeacher = (row: TeacherRow) => ({
  id: row.id,
  name: row.name,
  email: row.email,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** Teachers CRUD (API.md "Teacher service"); there is no PUT. */
export function teacherRoutes(database: Database<typeof schema>, created: Counter): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const { limit, offset } = parseQuery(listQuery, req);
    const [rows, [total]] = await database.query('list_teachers', (db) =>
      Promise.all([
        db.select().from(teachers).orderBy(asc(teachers.createdAt), asc(teachers.id)).limit(limit).offset(offset),
        db.select({ n: count() }).from(teachers),
      ]),
    );
    res.json({ items: rows.map(toTeacher), total: total?.n ?? 0, limit, offset });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parseParams(idParams, req);
    const [row] = await database.query('get_teacher', (db) => db.select().from(teachers).where(eq(teachers.id, id)));
    if (!row) throw notFound('teacher');
    res.json(toTeacher(row));
  });

  router.post('/', ...jsonBody, async (req, res) => {
    const input = parseBody(teacherInput, req);
    const [row] = await database
      .query('insert_teacher', (db) => db.insert(teachers).values({ id: randomUUID(), name: input.name, email: input.email }).returning())
      .catch((err: unknown) => {
        // The only unique constraint a fresh UUID can hit is lower(email).
        if (isUniqueViolation(err)) throw new HttpError('conflict', 'a teacher with this email already exists');
        throw err;
      });
    created.inc();
    res.status(201).location(`${req.baseUrl}/${row!.id}`).json(toTeacher(row!));
  });

  router.delete('/:id', async (req, res) => {
    const { id } = parseParams(idParams, req);
    // Its course assignments go with it (ON DELETE CASCADE).
    const deleted = await database.query('delete_teacher', (db) => db.delete(teachers).where(eq(teachers.id, id)).returning({ id: teachers.id }));
    if (deleted.length === 0) throw notFound('teacher');
    res.status(204).end();
  });

  return router;
}
