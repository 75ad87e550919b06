import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { HttpError } from './http/errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type Schema = Record<string, unknown>;
// Both drivers' databases share drizzle's PgDatabase; the result type parameter differs by driver.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db<S extends Schema> = PgDatabase<PgQueryResultHKT, S> & { $client: any };

export interface DatabaseOptions<S extends Schema> {
  /** postgres://… selects a PostgreSQL server; unset means embedded PGlite. */
  url?: string | undefined;
  /** PGlite keeps its files here; unset means in memory. */
  dataDir?: string | undefined;
  schema: S;
  /** drizzle-kit's output folder, applied on open. */
  migrationsFolder: string;
  logger: Logger;
  metrics: Metrics;
  /** How long to keep retrying the first connection (the database may start after the service). */
  connectRetryMs?: number;
}

/**
 * A service's database: drizzle on node-postgres or PGlite, migrated on open, with every query timed
 * (db_query_duration_seconds) and connection failures turned into 503 dependency_unavailable.
 */
export class Database<S extends Schema> {
  private constructor(
    readonly db: Db<S>,
    readonly kind: 'postgres' | 'pglite',
    private readonly metrics: Metrics,
    private readonly closeClient: () => Promise<void>,
  ) {}

  static async open<S extends Schema>(options: DatabaseOptions<S>): Promise<Database<S>> {
    const { logger } = options;
    if (!options.url) {
      const client = new PGlite(options.dataDir);
      const db = drizzlePglite({ client, schema: options.schema });
      await migratePglite(db, { migrationsFolder: options.migrationsFolder });
      logger.info('embedded database ready', { 'db.kind': 'pglite', 'db.data_dir': options.dataDir ?? 'memory' });
      return new Database(db as unknown as Db<S>, 'pglite', options.metrics, () => client.close());
    }

    const pool = new pg.Pool({
      connectionString: options.url,
      max: 10,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 10_000,
      query_timeout: 10_000,
    });
    // An idle client losing its connection emits here; without a listener the process would crash.
    pool.on('error', (err) => logger.warn('database connection lost', { err }));
    const db = drizzleNodePg({ client: pool, schema: options.schema });
    await retry(() => migrateWithLock(pool, () => migrateNodePg(db, { migrationsFolder: options.migrationsFolder })), {
      forMs: options.connectRetryMs ?? 60_000,
      onRetry: (err) => logger.warn('database not reachable yet, retrying', { err }),
    });
    logger.info('database ready', { 'db.kind': 'postgres' });
    return new Database(db as unknown as Db<S>, 'postgres', options.metrics, () => pool.end());
  }

  /** Runs one named query, timed; a lost database becomes a 503 dependency_unavailable. */
  async query<T>(operation: string, run: (db: Db<S>) => Promise<T>): Promise<T> {
    const end = this.metrics.dbQueryDuration.startTimer({ operation });
    try {
      return await run(this.db);
    } catch (err) {
      if (isConnectionError(err)) throw new HttpError('dependency_unavailable', 'database unavailable', undefined, { cause: err });
      throw err;
    } finally {
      end();
    }
  }

  /** The readiness check: a round trip to the server. */
  async ping(): Promise<void> {
    await this.query('ping', (db) => db.execute('select 1'));
  }

  close(): Promise<void> {
    return this.closeClient();
  }
}

/** Two replicas starting together must not run the same migration twice. */
async function migrateWithLock(pool: pg.Pool, migrate: () => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock(7244501)');
    await migrate();
  } finally {
    await client.query('select pg_advisory_unlock(7244501)').catch(() => undefined);
    client.release();
  }
}

async function retry(run: () => Promise<void>, options: { forMs: number; onRetry: (err: unknown) => void }): Promise<void> {
  const deadline = Date.now() + options.forMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await run();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > deadline) throw err;
      options.onRetry(err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

const connectionErrnos = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
// SQLSTATE class 08 (connection exception), server shutting down or starting, too many connections.
const connectionSqlStates = /^(08...|57P01|57P02|57P03|53300)$/;
const connectionMessages = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client was closed|Cannot use a pool after calling end/i;

/** True when the error means "the database can't be reached", as opposed to a bad query or constraint. */
export function isConnectionError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (connectionErrnos.has(code) || connectionSqlStates.test(code))) return true;
    if (typeof message === 'string' && connectionMessages.test(message)) return true;
  }
  return false;
}

/** The SQLSTATE of a database error, looked up through drizzle's wrapper (`err.cause.code`). */
export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export const isUniqueViolation = (err: unknown) => sqlState(err) === '23505';
