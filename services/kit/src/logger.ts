import { Writable } from 'node:stream';
import { ecsFormat } from '@elastic/ecs-winston-format';
import winston from 'winston';
import { currentRequestId } from './context.js';
import type { Metrics } from './metrics.js';
import { BatchedLineWriter, batchedStdout } from './stdoutBatch.js';

export interface Logger extends winston.Logger {
  /**
   * Writes the line `log` would write (same formats, level filter and destination) without going through
   * winston's object-mode streams, which cost about 10 µs a line (`npm run bench`). For the access log
   * line every request writes; everything else uses the winston API. `fields` is taken over (it becomes
   * the line), so pass a fresh object.
   */
  logLine(level: string, message: string, fields: Record<string, unknown>): void;
}

// The keys winston (through triple-beam) reads a line's level and finished text from.
const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');

export interface LoggerOptions {
  service: string;
  version: string;
  level: string;
  metrics?: Metrics;
  /** Where lines go; stdout (batched, see stdoutBatch.ts) by default. Tests pass a stream to read what was written. */
  stream?: Writable;
}

/** Adds the request id of the request being served (if any) to every line, and counts lines by level. */
const requestFields = (metrics?: Metrics) =>
  winston.format((info) => {
    metrics?.logMessagesTotal.inc({ level: info.level });
    const requestId = currentRequestId();
    if (requestId && info['http.request.id'] === undefined) info['http.request.id'] = requestId;
    return info;
  })();

/** One ECS JSON object per line (API.md "logs"). */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.stream ?? batchedStdout();
  const logger = winston.createLogger({
    level: options.level,
    format: winston.format.combine(
      requestFields(options.metrics),
      ecsFormat({ serviceName: options.service, serviceVersion: options.version, apmIntegration: false }),
    ),
    transports: [new winston.transports.Stream({ stream: destination })],
  });
  const logLine: Logger['logLine'] = (level, message, fields) => {
    if (logger.silent || !logger.isLevelEnabled(level)) return;
    // The caller's object becomes the line (no copy): logLine takes it over.
    const info = logger.format.transform(Object.assign(fields, { level, message, [LEVEL]: level }));
    if (!info) return;
    // Like winston's Stream transport: the formatted text and a newline.
    const text = `${(info as Record<symbol, string>)[MESSAGE]}\n`;
    if (destination instanceof BatchedLineWriter) destination.append(text);
    else destination.write(text);
  };
  return Object.assign(logger, { logLine });
}

/** A stream that keeps every written line, parsed; for tests and benchmarks. */
export function memoryLogStream(): Writable & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return Object.assign(stream, { lines });
}
