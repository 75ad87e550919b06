import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { freeLoopbackPort } from './http.js';
import { startTemporaryPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

/**
 * One real PostgreSQL server for the whole run (TEST_DATABASE_URL to use one of your own);
 * each test file creates its own database on it.
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('postgresUrl', process.env.TEST_DATABASE_URL);
    return;
  }
  const server = await startTemporaryPostgres(await freeLoopbackPort());
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
