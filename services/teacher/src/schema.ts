import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const teachers = pgTable(
  'teachers',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    // Kept as the teacher typed it; uniqueness ignores case (the index below).
    email: text('email').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // Alice@x.org and alice@x.org are one mailbox: the database, not a racy pre-check, refuses the second.
    uniqueIndex('teachers_email_lower_idx').on(sql`lower(${t.email})`),
    // Lists are ordered by createdAt, then id (API.md).
    index('teachers_created_at_id_idx').on(t.createdAt, t.id),
  ],
);

/**
 * Which teacher teaches which course. Courses live in the course service, so course_id has no foreign
 * key; the teacher side cascades, so deleting a teacher removes its assignments.
 */
export const courseAssignments = pgTable(
  'course_assignments',
  {
    teacherId: uuid('teacher_id')
      .notNull()
      .references(() => teachers.id, { onDelete: 'cascade' }),
    courseId: uuid('course_id').notNull(),
    assignedAt: timestamp('assigned_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // A course is assigned to a teacher at most once: a second assignment is a 409.
    primaryKey({ columns: [t.teacherId, t.courseId] }),
    // A teacher's courses are listed by assignedAt, then courseId.
    index('course_assignments_teacher_assigned_idx').on(t.teacherId, t.assignedAt, t.courseId),
  ],
);

export const schema = { teachers, courseAssignments };
export type TeacherRow = typeof teachers.$inferSelect;
export type CourseAssignmentRow = typeof courseAssignments.$inferSelect;
