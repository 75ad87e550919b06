import { randomUUID } from 'node:crypto';
import {
  decodeCursor,
  HttpError,
  idParams,
  isUniqueViolation,
  jsonBody,
  keysetAfter,
  keysetPage,
  listQuery,
  notFound,
  parseBody,
  parseParams,
  parseQuery,
  text,
  type Database,
} from '@courseops/kit';
import { asc, eq } from 'drizzle-orm';
import { Router } from 'express';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { teachers, type TeacherRow, type schema } from './schema.js';

/** POST body: unknown fields are an error (API.md). 254 is the longest address SMTP can carry. */
export const teacherInput = z.strictObject({
  name: text(1, 200),
  // One string schema (not a pipe), so /openapi.json shows both the format and the bound.
  email: z.email({ message: 'must be an email address' }).max(254, 'must be at most 254 characters'),
});

/** A teacher as every answer shows it (API.md "A teacher"); `/openapi.json` documents this schema. */
export const teacherSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  email: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Teacher = z.infer<typeof teacherSchema>;

export const toTeacher = (row: TeacherRow): Teacher => ({
  id: row.id,
  name: row.name,
  email: row.email,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

/** Which list a teacher cursor belongs to. */
const teacherList = { list: 'teachers' };

/** Teachers CRUD (API.md "Teacher service"); there is no PUT. */
export function teacherRoutes(database: Database<typeof schema>, created: Counter): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const { limit, cursor } = parseQuery(listQuery, req);
    const after = decodeCursor(teacherList, cursor);
    // Served by teachers_created_at_id_idx; limit + 1 rows tell whether a next page exists.
    const rows = await database.query('list_teachers', (db) =>
      db
        .select()
        .from(teachers)
        .where(after ? keysetAfter(teachers.createdAt, teachers.id, after) : undefined)
        .orderBy(asc(teachers.createdAt), asc(teachers.id))
        .limit(limit + 1),
    );
    const page = keysetPage(rows, limit, teacherList, (row) => ({ at: row.createdAt, id: row.id }));
    res.json({ items: page.rows.map(toTeacher), nextCursor: page.nextCursor });
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
