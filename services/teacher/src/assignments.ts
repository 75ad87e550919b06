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
  sqlState,
  uuid,
  type Database,
  type Logger,
} from '@courseops/kit';
import { and, asc, count, eq } from 'drizzle-orm';
import { Router } from 'express';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import type { Course, CourseClient } from './courseClient.js';
import { courseAssignments, teachers, type schema } from './schema.js';

const assignmentInput = z.strictObject({ courseId: uuid() });
const assignmentParams = z.object({ id: uuid(), courseId: uuid() });

const foreignKeyViolation = '23503';

export interface AssignmentDeps {
  database: Database<typeof schema>;
  courses: CourseClient;
  assigned: Counter;
  logger: Logger;
}

/** A teacher's courses (API.md "Teacher service", the /api/teachers/:id/courses rows). */
export function assignmentRoutes({ database, courses, assigned, logger }: AssignmentDeps): Router {
  const router = Router();

  const requireTeacher = async (id: string) => {
    const [row] = await database.query('get_teacher', (db) => db.select({ id: teachers.id }).from(teachers).where(eq(teachers.id, id)));
    if (!row) throw notFound('teacher');
  };

  router.get('/:id/courses', async (req, res) => {
    const { id } = parseParams(idParams, req);
    const { limit, offset } = parseQuery(listQuery, req);
    await requireTeacher(id);
    const ofTeacher = eq(courseAssignments.teacherId, id);
    const [rows, [total]] = await database.query('list_course_assignments', (db) =>
      Promise.all([
        db
          .select({ courseId: courseAssignments.courseId })
          .from(courseAssignments)
          .where(ofTeacher)
          .orderBy(asc(courseAssignments.assignedAt), asc(courseAssignments.courseId))
          .limit(limit)
          .offset(offset),
        db.select({ n: count() }).from(courseAssignments).where(ofTeacher),
      ]),
    );

    const lookups = await courses.lookupAll(rows.map((r) => r.courseId));
    const items: { courseId: string; course: Course | null }[] = [];
    let degraded = false;
    rows.forEach(({ courseId }, i) => {
      const lookup = lookups[i]!;
      // A course deleted in the course service is left out; the assignment row stays (no write on a read).
      if (lookup.status === 'missing') return;
      if (lookup.status === 'unavailable') degraded = true;
      items.push({ courseId, course: lookup.status === 'found' ? lookup.course : null });
    });
    if (degraded) {
      const reason = lookups.find((l) => l.status === 'unavailable');
      logger.warn('course service unavailable, answering without course details', {
        'event.action': 'degraded',
        'error.message': reason?.status === 'unavailable' ? reason.reason : undefined,
      });
    }
    // total counts the teacher's assignments, so offsets stay stable whatever the course service answers.
    res.json({ items, total: total?.n ?? 0, limit, offset, degraded });
  });

  router.post('/:id/courses', ...jsonBody, async (req, res) => {
    const { id } = parseParams(idParams, req);
    const { courseId } = parseBody(assignmentInput, req);
    await requireTeacher(id);

    // Only a course the course service vouches for is assigned; without its answer nothing is written.
    const lookup = await courses.getCourse(courseId);
    if (lookup.status === 'missing') throw new HttpError('course_not_found', 'course not found');
    if (lookup.status === 'unavailable') {
      throw new HttpError('dependency_unavailable', 'course service unavailable', undefined, { cause: new Error(lookup.reason) });
    }

    const [row] = await database
      .query('insert_course_assignment', (db) => db.insert(courseAssignments).values({ teacherId: id, courseId }).returning())
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw new HttpError('conflict', 'course already assigned to this teacher');
        // The teacher was deleted while the course service was asked.
        if (sqlState(err) === foreignKeyViolation) throw notFound('teacher');
        throw err;
      });
    assigned.inc();
    res.status(201).json({ teacherId: row!.teacherId, courseId: row!.courseId, assignedAt: row!.assignedAt.toISOString() });
  });

  router.delete('/:id/courses/:courseId', async (req, res) => {
    const { id, courseId } = parseParams(assignmentParams, req);
    const deleted = await database.query('delete_course_assignment', (db) =>
      db
        .delete(courseAssignments)
        .where(and(eq(courseAssignments.teacherId, id), eq(courseAssignments.courseId, courseId)))
        .returning({ courseId: courseAssignments.courseId }),
    );
    if (deleted.length === 0) throw notFound('course assignment');
    res.status(204).end();
  });

  return router;
}
