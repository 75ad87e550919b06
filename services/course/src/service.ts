import { BUSINESS_COUNTERS, buildService, counter, mount, openApiRoute, packageVersion, type BuiltService, type ServiceSettings } from '@courseops/kit';
import { courseDocument } from './openapi.js';
import { courseRoutes } from './routes.js';
import { schema } from './schema.js';

export const migrationsFolder = new URL('../drizzle', import.meta.url).pathname;

/** The course service: CRUD courses (API.md "Course service"). */
export function createCourseService(settings: ServiceSettings): Promise<BuiltService> {
  const version = packageVersion(new URL('../package.json', import.meta.url));
  return buildService({ name: 'course', version, schema, migrationsFolder }, settings, ({ database, metrics }) => {
    const counters = {
      created: counter(metrics, BUSINESS_COUNTERS.coursesCreated.name, BUSINESS_COUNTERS.coursesCreated.help),
      deleted: counter(metrics, BUSINESS_COUNTERS.coursesDeleted.name, BUSINESS_COUNTERS.coursesDeleted.help),
    };
    const document = courseDocument(version);
    return {
      routes: (app) => {
        app.get('/openapi.json', openApiRoute(document));
        mount(app, '/api/courses', courseRoutes(database, counters));
      },
    };
  });
}
