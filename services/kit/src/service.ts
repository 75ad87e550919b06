import { readFileSync } from 'node:fs';
import type { Express } from 'express';
import { createServiceApp } from './app.js';
import { Database, type Schema } from './db.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Readiness, type ReadinessCheck } from './readiness.js';
import { exitOnSignals, listen } from './server.js';
import type { Writable } from 'node:stream';

/** What a service is built from; tests pass their own database URL, log stream and settings. */
export interface ServiceSettings {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  logLevel: string;
  rateLimitPerMinute: number;
  /** TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed; none by default (the socket peer is the client). */
  trustedProxies?: readonly string[];
  logStream?: Writable;
  instrumented?: boolean;
  /** FAULT_RATE (see `injectFaults`). */
  faultRate?: number;
  /** DB_STATEMENT_TIMEOUT_MS (default 2000; PostgreSQL only, see `Database`). */
  dbStatementTimeoutMs?: number;
  /** DB_POOL_WAIT_MS (default 1000; PostgreSQL only). */
  dbPoolWaitMs?: number;
  /** Connections in the database pool (default 10); tests make it small to saturate it. */
  dbPoolSize?: number;
}

export interface ServiceDefinition<S extends Schema> {
  name: string;
  schema: S;
  migrationsFolder: string;
}

/** Everything a running service holds; `close` releases it (the HTTP server is the caller's). */
export interface ServiceParts<S extends Schema> {
  name: string;
  version: string;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  database: Database<S>;
}

export interface BuiltService {
  app: Express;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  close: () => Promise<void>;
}

/** The service's version, from its package.json (the image build sets it from the git tag). */
export function packageVersion(packageJsonUrl: URL): string {
  return (JSON.parse(readFileSync(packageJsonUrl, 'utf8')) as { version: string }).version;
}

/**
 * Opens what every service has (logger, metrics, readiness with the database check, migrated
 * database), then lets the service add its routes, checks and resources.
 */
export async function buildService<S extends Schema>(
  definition: ServiceDefinition<S> & { version: string },
  settings: ServiceSettings,
  wire: (parts: ServiceParts<S>) => {
    routes: (app: Express) => void;
    checks?: ReadinessCheck[];
    release?: () => Promise<void>;
  },
): Promise<BuiltService> {
  const metrics = createMetrics();
  const logger = createLogger({
    service: definition.name,
    version: definition.version,
    level: settings.logLevel,
    metrics,
    ...(settings.logStream ? { stream: settings.logStream } : {}),
  });
  const database = await Database.open({
    url: settings.databaseUrl,
    dataDir: settings.dataDir,
    schema: definition.schema,
    migrationsFolder: definition.migrationsFolder,
    logger,
    metrics,
    statementTimeoutMs: settings.dbStatementTimeoutMs,
    poolWaitMs: settings.dbPoolWaitMs,
    poolSize: settings.dbPoolSize,
  });
  const readiness = new Readiness().add({ name: 'database', check: () => database.ping() });
  const parts = { name: definition.name, version: definition.version, logger, metrics, readiness, database };
  const wired = wire(parts);
  for (const check of wired.checks ?? []) readiness.add(check);
  const app = createServiceApp(
    { logger, metrics, readiness, rateLimitPerMinute: settings.rateLimitPerMinute, trustedProxies: settings.trustedProxies ?? [], instrumented: settings.instrumented ?? true, faultRate: settings.faultRate ?? 0 },
    wired.routes,
  );
  return {
    app,
    logger,
    metrics,
    readiness,
    close: async () => {
      await wired.release?.();
      await database.close();
    },
  };
}

/** A service's main: listen on PORT, print where, and shut down gracefully on SIGTERM. */
export async function serve(service: BuiltService, port: number, shutdownDelayMs: number): Promise<void> {
  const server = await listen(service.app, port);
  service.logger.info(`listening on port ${port}`, { 'event.action': 'start', 'server.port': port });
  exitOnSignals({ server, readiness: service.readiness, logger: service.logger, delayMs: shutdownDelayMs, release: service.close });
}
