import type { Server } from 'node:http';
import net from 'node:net';
import type { Express } from 'express';
import { answerConnect, answerUnparsableRequest } from './http/unparsable.js';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

/** Above the ingress's 60 s upstream keep-alive, so the proxy never reuses a socket we just closed. */
const keepAliveTimeoutMs = 65_000;
/** The process exits within this even if something hangs (Kubernetes' default grace period is 30 s). */
const hardExitMs = 28_000;
/** At shutdown, how long a connection may stay idle before it is closed (it had time to send its request). */
const idleConnectionGraceMs = 1000;

export function listen(app: Express, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? '::', (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = keepAliveTimeoutMs;
    server.headersTimeout = keepAliveTimeoutMs + 1000;
    server.on('clientError', answerUnparsableRequest);
    server.on('connect', answerConnect);
  });
}

export interface ShutdownOptions {
  server: Server;
  readiness: Readiness;
  logger: Logger;
  /** Time between readiness turning 503 and the listener closing: the platform's endpoints catch up. */
  delayMs: number;
  /** Releases what the service holds (database, timers) after the last request finished. */
  release: () => Promise<void>;
}

/** Readiness 503 at once, keep serving for `delayMs`, stop accepting, finish in-flight requests, release. */
export async function shutdown(options: ShutdownOptions): Promise<void> {
  const { server, readiness, logger } = options;
  readiness.startDraining();
  logger.info('shutting down', { 'event.action': 'shutdown', 'shutdown.delay_ms': options.delayMs });
  await new Promise((r) => setTimeout(r, options.delayMs));
  // Stop accepting, but not with server.close(): it also destroys every connection with no request in
  // progress, and that includes connections just accepted whose request is not read yet, so clients get
  // a reset for a request they sent. Close only the listener, from the check phase (the poll phase just
  // accepted what the kernel had queued); from then on answers say `Connection: close`, and each
  // connection ends after its answer.
  await new Promise((r) => setImmediate(r));
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  readiness.closeConnections();
  // A keep-alive connection still idle after a grace period sends nothing more: close those.
  const closeIdle = setInterval(() => server.closeIdleConnections(), idleConnectionGraceMs);
  await closed.finally(() => clearInterval(closeIdle));
  await options.release();
  logger.info('stopped', { 'event.action': 'shutdown' });
}

/** Wires SIGTERM and SIGINT to `shutdown`, then exits 0 (or 1 if shutdown failed or overran). */
export function exitOnSignals(options: ShutdownOptions): void {
  let started = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    options.logger.info(`received ${signal}`);
    setTimeout(() => {
      options.logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, hardExitMs).unref();
    shutdown(options).then(
      () => process.exit(0),
      (err) => {
        options.logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
