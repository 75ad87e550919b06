import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const courses = pgTable(
  'courses',
  {
    id: uuid('id').primaryKey(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    credits: integer('credits').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  // Lists are ordered by createdAt, then id (API.md).
  (t) => [index('courses_created_at_id_idx').on(t.createdAt, t.id)],
);

export const schema = { courses };
export type CourseRow = typeof courses.$inferSelect;
