import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

/** Above the ingress's 60 s upstream keep-alive, so the proxy never reuses a socket we just closed. */
const keepAliveTimeoutMs = 65_000;
/** The process exits within this even if something hangs (Kubernetes' default grace period is 30 s). */
const hardExitMs = 28_000;

export function listen(app: Express, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? '::', (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = keepAliveTimeoutMs;
    server.headersTimeout = keepAliveTimeoutMs + 1000;
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
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
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
