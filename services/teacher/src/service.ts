import { BUSINESS_COUNTERS, buildService, counter, mount, openApiRoute, packageVersion, type BuiltService, type Database, type ServiceSettings } from '@courseops/kit';
import { assignmentRoutes } from './assignments.js';
import { CourseClient, type BreakerSettings } from './courseClient.js';
import { teacherDocument } from './openapi.js';
import { teacherRoutes } from './routes.js';
import { schema } from './schema.js';

export const migrationsFolder = new URL('../drizzle', import.meta.url).pathname;

export interface TeacherSettings extends ServiceSettings {
  courseServiceUrl: string;
  /** The most a request waits for the course service (COURSE_SERVICE_TIMEOUT_MS). */
  courseServiceTimeoutMs: number;
  /** Tests make the breaker trip and recover quickly; the defaults suit production. */
  courseBreaker?: Partial<BreakerSettings>;
  courseRetryDelaysMs?: number[];
}

/** The built service, plus its database so tests can compare what is stored before and after a request. */
export type TeacherService = BuiltService & { database: Database<typeof schema> };

/** The teacher service: CRUD teachers and their course assignments (API.md "Teacher service"). */
export async function createTeacherService(settings: TeacherSettings): Promise<TeacherService> {
  const version = packageVersion(new URL('../package.json', import.meta.url));
  let database: Database<typeof schema> | undefined;
  const built = await buildService({ name: 'teacher', version, schema, migrationsFolder }, settings, (parts) => {
    database = parts.database;
    const { metrics, logger } = parts;
    const courses = new CourseClient({
      baseUrl: settings.courseServiceUrl,
      timeoutMs: settings.courseServiceTimeoutMs,
      metrics,
      logger,
      ...(settings.courseBreaker ? { breaker: settings.courseBreaker } : {}),
      ...(settings.courseRetryDelaysMs ? { retryDelaysMs: settings.courseRetryDelaysMs } : {}),
    });
    const created = counter(metrics, BUSINESS_COUNTERS.teachersCreated.name, BUSINESS_COUNTERS.teachersCreated.help);
    const assigned = counter(metrics, BUSINESS_COUNTERS.teacherCourseAssignments.name, BUSINESS_COUNTERS.teacherCourseAssignments.help);
    const document = teacherDocument(version);
    return {
      routes: (app) => {
        app.get('/openapi.json', openApiRoute(document));
        mount(app, '/api/teachers', teacherRoutes(parts.database, created));
        mount(app, '/api/teachers', assignmentRoutes({ database: parts.database, courses, assigned, logger }));
      },
      // Reported, never failing readiness: without the course service most of this service still works.
      checks: [{ name: 'course', soft: true, check: () => courses.probe() }],
      release: async () => courses.close(),
    };
  });
  return { ...built, database: database! };
}
