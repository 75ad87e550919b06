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
  pageSchema,
  parseBody,
  parseParams,
  parseQuery,
  sqlState,
  uuid,
  type Database,
  type Logger,
} from '@courseops/kit';
import { and, asc, eq } from 'drizzle-orm';
import { Router } from 'express';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { courseSchema, type Course, type CourseClient } from './courseClient.js';
import { courseAssignments, teachers, type schema } from './schema.js';

export const assignmentInput = z.strictObject({ courseId: uuid() });
export const assignmentParams = z.object({ id: uuid(), courseId: uuid() });

/** The answer to an assignment (API.md "Teacher service"); `/openapi.json` documents this schema. */
export const assignmentSchema = z.object({ teacherId: uuid(), courseId: uuid(), assignedAt: z.iso.datetime() });
export type Assignment = z.infer<typeof assignmentSchema>;

/** One page of a teacher's courses; `course` is null, and `degraded` true, when the course service could not answer. */
export const teacherCoursesPageSchema = pageSchema(z.object({ courseId: uuid(), course: courseSchema.nullable() })).extend({ degraded: z.boolean() });

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
    const { limit, cursor } = parseQuery(listQuery, req);
    // A cursor is good for this teacher's list only: another teacher's is a 400, not a page of this one.
    const list = { list: 'teacher_courses', scope: id.toLowerCase() };
    const after = decodeCursor(list, cursor);
    await requireTeacher(id);
    // Served by course_assignments_teacher_assigned_idx; limit + 1 rows tell whether a next page exists.
    const rows = await database.query('list_course_assignments', (db) =>
      db
        .select({ courseId: courseAssignments.courseId, assignedAt: courseAssignments.assignedAt })
        .from(courseAssignments)
        .where(and(eq(courseAssignments.teacherId, id), after ? keysetAfter(courseAssignments.assignedAt, courseAssignments.courseId, after) : undefined))
        .orderBy(asc(courseAssignments.assignedAt), asc(courseAssignments.courseId))
        .limit(limit + 1),
    );
    // The cursor comes from the assignment rows, whatever the course service answers: paging stays stable.
    const page = keysetPage(rows, limit, list, (row) => ({ at: row.assignedAt, id: row.courseId }));

    const lookup = await courses.getCourses(page.rows.map((r) => r.courseId));
    if (lookup.status === 'unavailable' || lookup.status === 'rate_limited') {
      // Over their limit at the course service, this user gets the teacher's own data without details, as in an outage.
      const reason = lookup.status === 'unavailable' ? lookup.reason : 'the course service rate-limited this user';
      logger.warn('course service unavailable, answering without course details', { 'event.action': 'degraded', 'error.message': reason });
      res.json({ items: page.rows.map(({ courseId }) => ({ courseId, course: null })), nextCursor: page.nextCursor, degraded: true });
      return;
    }
    // A course deleted in the course service is left out; the assignment row stays (no write on a read).
    const items: { courseId: string; course: Course }[] = page.rows.flatMap(({ courseId }) => {
      const course = lookup.courses.get(courseId);
      return course ? [{ courseId, course }] : [];
    });
    res.json({ items, nextCursor: page.nextCursor, degraded: false });
  });

  router.post('/:id/courses', ...jsonBody, async (req, res) => {
    const { id } = parseParams(idParams, req);
    const { courseId } = parseBody(assignmentInput, req);
    await requireTeacher(id);

    // Only a course the course service vouches for is assigned; without its answer nothing is written.
    const lookup = await courses.getCourse(courseId);
    if (lookup.status === 'missing') throw new HttpError('course_not_found', 'course not found');
    if (lookup.status === 'rate_limited') {
      // The course service counts this call against the user: they are over their limit, nothing is written.
      res.set('Retry-After', String(lookup.retryAfterSeconds));
      throw new HttpError('rate_limited', 'too many requests from this client reached the course service');
    }
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
    const assignment: Assignment = { teacherId: row!.teacherId, courseId: row!.courseId, assignedAt: row!.assignedAt.toISOString() };
    res.status(201).json(assignment);
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
