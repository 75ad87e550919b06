import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { DatabaseLiveness } from './dbLiveness.js';
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
  /** DB_STATEMENT_TIMEOUT_MS: PostgreSQL cancels a statement that runs longer (503 overloaded). */
  statementTimeoutMs?: number;
  /** DB_POOL_WAIT_MS: the longest a query waits for a pool connection, or for a new connection to connect. */
  poolWaitMs?: number;
  /** Connections in the main pool. */
  poolSize?: number;
}

export const databaseDefaults = { statementTimeoutMs: 2000, poolWaitMs: 1000, poolSize: 10 } as const;

/**
 * The server cancels a slow statement itself (57014, an answer); the client-side limit only ends the wait
 * for a server that no longer answers at all (black-holed), so it stays well above the statement timeout.
 */
const clientGraceMs = 2000;

/** The readiness path: one connection of its own, so a ping never queues behind a busy main pool. */
const pingPoolOptions = { max: 1, connectionTimeoutMillis: 1000, statement_timeout: 1000, query_timeout: 1500, idleTimeoutMillis: 0 };

/** SQLSTATE 57014 query_canceled: here, always our statement_timeout (nothing else cancels queries). */
const queryCanceled = '57014';

/**
 * A service's database: drizzle on node-postgres or PGlite, migrated on open, with every query timed
 * (db_query_duration_seconds). Failures become `503 overloaded` when the database answers but is saturated
 * (a statement ran past DB_STATEMENT_TIMEOUT_MS, or no pool connection came free within DB_POOL_WAIT_MS),
 * and `503 dependency_unavailable` when it cannot be reached (see DatabaseLiveness for the line between).
 *
 * PGlite (no DATABASE_URL) is one in-process connection whose queries run one at a time in its own queue:
 * there is no pool to bound and no way to cancel a statement (its single-threaded backend ignores
 * statement_timeout; a JS-side timeout would answer 503 while the statement still runs and commits, so a
 * refused POST could be stored). It is for local runs and tests, never the cluster, so it keeps the plain
 * behaviour: no `overloaded` answers, and readiness waits its turn in the same queue (bounded by
 * Readiness's own timeout).
 */
export class Database<S extends Schema> {
  private constructor(
    readonly db: Db<S>,
    readonly kind: 'postgres' | 'pglite',
    private readonly metrics: Metrics,
    private readonly closeClient: () => Promise<void>,
    private readonly pingServer: () => Promise<void>,
    private readonly liveness?: DatabaseLiveness,
  ) {}

  static async open<S extends Schema>(options: DatabaseOptions<S>): Promise<Database<S>> {
    const { logger } = options;
    if (!options.url) {
      const client = new PGlite(options.dataDir);
      const db = drizzlePglite({ client, schema: options.schema });
      await migratePglite(db, { migrationsFolder: options.migrationsFolder });
      logger.info('embedded database ready', { 'db.kind': 'pglite', 'db.data_dir': options.dataDir ?? 'memory' });
      const ping = async () => void (await database.query('ping', (d) => d.execute('select 1')));
      const database: Database<S> = new Database(db as unknown as Db<S>, 'pglite', options.metrics, () => client.close(), ping);
      return database;
    }

    const { url, schema, migrationsFolder } = options;
    await retry(() => migrateOnOwnConnection(url, logger, (client) => migrateNodePg(drizzleNodePg({ client, schema }), { migrationsFolder })), {
      forMs: options.connectRetryMs ?? 60_000,
      onRetry: (err) => logger.warn('database not reachable yet, retrying', { err }),
    });

    const statementTimeoutMs = options.statementTimeoutMs ?? databaseDefaults.statementTimeoutMs;
    const poolWaitMs = options.poolWaitMs ?? databaseDefaults.poolWaitMs;
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? databaseDefaults.poolSize,
      // pg-pool uses this both for waiting in its queue and for a new connection's connect.
      connectionTimeoutMillis: poolWaitMs,
      idleTimeoutMillis: 10_000,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + clientGraceMs,
      // Times come back as text that drizzle reads with `new Date()`; in a zone with historic offsets in
      // seconds (Europe/Berlin before 1893: +00:53:28) that text is no valid date. UTC always is.
      options: '-c TimeZone=UTC',
    });
    const pingPool = new pg.Pool({ connectionString: url, ...pingPoolOptions });
    // An idle client losing its connection emits here; without a listener the process would crash.
    pool.on('error', (err) => logger.warn('database connection lost', { err }));
    pingPool.on('error', (err) => logger.warn('database readiness connection lost', { err }));
    const db = drizzleNodePg({ client: pool, schema });
    const roundTrip = async () => {
      const end = options.metrics.dbQueryDuration.startTimer({ operation: 'ping' });
      try {
        await pingPool.query('select 1');
      } catch (err) {
        throw new HttpError('dependency_unavailable', 'database unavailable', undefined, { cause: err });
      } finally {
        end();
      }
    };
    const liveness = new DatabaseLiveness(statementTimeoutMs + poolWaitMs, roundTrip);
    const ping = async () => {
      await roundTrip();
      liveness.answered();
    };
    const close = async () => void (await Promise.all([pool.end(), pingPool.end()]));
    const database = new Database(db as unknown as Db<S>, 'postgres', options.metrics, close, ping, liveness);
    logger.info('database ready', { 'db.kind': 'postgres' });
    return database;
  }

  /** Runs one named query, timed; a saturated database becomes 503 overloaded, a lost one 503 dependency_unavailable. */
  async query<T>(operation: string, run: (db: Db<S>) => Promise<T>): Promise<T> {
    const end = this.metrics.dbQueryDuration.startTimer({ operation });
    let result: T;
    try {
      result = await run(this.db);
    } catch (err) {
      end();
      throw await this.classify(err);
    }
    end();
    this.liveness?.answered();
    return result;
  }

  /** The readiness check: a round trip to the server, on PostgreSQL over the readiness connection. */
  ping(): Promise<void> {
    return this.pingServer();
  }

  close(): Promise<void> {
    return this.closeClient();
  }

  private async classify(err: unknown): Promise<unknown> {
    if (sqlState(err) === queryCanceled) {
      this.liveness?.answered();
      return new HttpError('overloaded', 'database busy: statement timed out', undefined, { cause: err });
    }
    if (isPoolTimeout(err)) {
      if (await this.liveness?.isAnswering()) {
        return new HttpError('overloaded', 'database busy: no connection free in time', undefined, { cause: err });
      }
      return new HttpError('dependency_unavailable', 'database unavailable', undefined, { cause: err });
    }
    if (isConnectionError(err)) return new HttpError('dependency_unavailable', 'database unavailable', undefined, { cause: err });
    // Any other SQL error (a constraint, say) came from a server that answers.
    if (sqlState(err)) this.liveness?.answered();
    return err;
  }
}

/**
 * Migrations run on a connection of their own, without the statement timeout: building an index may take
 * longer than a request may, and a replica waits for another's migration on the advisory lock (two replicas
 * starting together must not run the same migration twice). Ending the session releases the lock.
 */
async function migrateOnOwnConnection(url: string, logger: Logger, migrate: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', (err) => logger.warn('database connection lost while migrating', { err }));
  try {
    await client.connect();
    await client.query('select pg_advisory_lock(7244501)');
    await migrate(client);
  } finally {
    await client.end().catch(() => undefined);
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
const connectionMessages = /Connection terminated|connection timeout|timeout expired|timeout exceeded when trying to connect|Query read timeout|Client was closed|Cannot use a pool after calling end/i;
/**
 * pg-pool's two ways of running out of DB_POOL_WAIT_MS: waiting in the queue of a full pool, and a new
 * connection not connecting (authentication included) in time.
 */
const poolTimeoutMessages = new Set(['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout']);

/**
 * True when the pool got no connection in time. Ambiguous on its own (see DatabaseLiveness): a saturated
 * database, or one that no longer answers. Under load pg-pool replaces every connection whose query failed
 * (a cancelled statement included), so a new connection's connect timing out on a busy server is common
 * and means overload just as much as the full queue does.
 */
export function isPoolTimeout(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && poolTimeoutMessages.has(message)) return true;
  }
  return false;
}

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
