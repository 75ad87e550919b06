import http, { type Server } from 'node:http';
import net from 'node:net';
import type { Express } from 'express';
import { answerConnect, answerUnparsableRequest } from './http/unparsable.js';
import type { Logger } from './logger.js';
import type { Readiness } from './readiness.js';

/*
 * Connection timeouts, set against Traefik v3.7.11 (the traefik chart 41.3.0 pinned in charts/Chart.yaml;
 * cdk8s/src/helm/releases/traefik.ts sets none of these, so Traefik's defaults from
 * pkg/config/static/static_config.go apply):
 * - entry point respondingTimeouts.readTimeout 60 s: Traefik stops reading a client's request after 60 s.
 *   Ours end well before, so a slow client is answered by us, with our JSON error and request id, and a
 *   direct (in-cluster) client cannot hold a socket and a parser for Node's default 300 s.
 * - serversTransport forwardingTimeouts.idleConnTimeout 90 s: how long Traefik keeps an idle connection to
 *   a pod for reuse. Ours must be longer (see keepAliveTimeoutMs).
 */

/**
 * Above Traefik's 90 s upstream idle timeout, so the proxy never reuses a socket we just closed (a POST
 * sent on it would come back as a 502: Go retries only replayable requests on a reused connection).
 */
const keepAliveTimeoutMs = 95_000;
/** The process exits within this even if something hangs (Kubernetes' default grace period is 30 s). */
const hardExitMs = 28_000;
/** At shutdown, how long a connection may stay idle before it is closed (it had time to send its request). */
const idleConnectionGraceMs = 1000;

/**
 * How long a client may take to send a request. Node counts both from the request's first byte (for a
 * new connection, from the connection), and only while a request is being received: an idle keep-alive
 * connection is in no timed list (Node >= 18, node_http_parser.cc: a parser leaves the active list at
 * message complete), so unlike Node <= 16 the headers timeout no longer has to exceed keepAliveTimeout.
 * Node requires headersTimeout <= requestTimeout. A late request is answered `400 validation_failed`
 * (http/unparsable.ts); the longest a request can take before that answer is requestTimeoutMs plus one
 * checkIntervalMs, well under Traefik's 60 s readTimeout. Bodies are at most 16 KiB, so a real client
 * needs a fraction of this.
 */
export interface RequestTimeouts {
  /** Node's headersTimeout: the whole request head. */
  headersMs: number;
  /** Node's requestTimeout: the whole request, head and body. */
  requestMs: number;
  /** Node's connectionsCheckingInterval: how often expiry is checked, so a timeout fires up to this late. */
  checkIntervalMs: number;
}

export const requestTimeouts: RequestTimeouts = { headersMs: 10_000, requestMs: 20_000, checkIntervalMs: 1000 };

/**
 * Serves the app with the settings every service runs with (tests included; they may shorten the
 * timeouts). Node's own check for a missing Host header is off: it answers a bare 400 with no body and
 * no request id, so the app refuses such a request itself (http/hostHeader.ts), in the JSON error body.
 */
export function listen(app: Express, port: number, host?: string, timeouts: RequestTimeouts = requestTimeouts): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(
      {
        requireHostHeader: false,
        keepAliveTimeout: keepAliveTimeoutMs,
        headersTimeout: timeouts.headersMs,
        requestTimeout: timeouts.requestMs,
        connectionsCheckingInterval: timeouts.checkIntervalMs,
      },
      app,
    );
    server.on('clientError', answerUnparsableRequest);
    server.on('connect', answerConnect);
    // An Expect other than 100-continue: Node would answer a bare 417 itself. RFC 9110 §10.1.1 lets a
    // server ignore an expectation it does not know, so the request is served like any other.
    server.on('checkExpectation', app);
    server.once('error', reject);
    server.listen(port, host ?? '::', () => {
      server.off('error', reject);
      resolve(server);
    });
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
