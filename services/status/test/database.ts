import { createLogger, createMetrics, Database, memoryLogStream, METRIC } from '@courseops/kit';
import { createTestDatabase, type Driver } from '@courseops/kit/testing';
import { inject } from 'vitest';
import { schema } from '../src/schema.js';
import { migrationsFolder } from '../src/service.js';

export interface TestDatabase {
  database: Database<typeof schema>;
  /** db_query_duration_seconds: how many queries were timed, by operation label. */
  timedQueries: () => Promise<Map<string, number>>;
}

/**
 * The status schema on embedded PGlite or a fresh database of the test PostgreSQL server, without a
 * service around it: for the tests of one module (recording alerts, computing the report).
 */
export async function openTestDatabase(driver: Driver): Promise<TestDatabase> {
  const url = driver === 'postgres' ? await createTestDatabase(inject('postgresUrl'), 'status_unit') : undefined;
  const metrics = createMetrics();
  const logger = createLogger({ service: 'status', version: 'test', level: 'warn', stream: memoryLogStream(), metrics });
  const database = await Database.open({ url, schema, migrationsFolder, logger, metrics });
  const timedQueries = async () => {
    const histogram = await metrics.registry.getSingleMetric(METRIC.dbQueryDuration)!.get();
    return new Map(histogram.values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count')).map((v) => [String(v.labels.operation), v.value]));
  };
  return { database, timedQueries };
}

/** All queries timed so far, whatever their operation. */
export const totalOf = (timed: Map<string, number>) => [...timed.values()].reduce((a, b) => a + b, 0);
