import { Writable } from 'node:stream';
import { ecsFormat } from '@elastic/ecs-winston-format';
import winston from 'winston';
import { currentRequestId } from './context.js';
import type { Metrics } from './metrics.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  version: string;
  level: string;
  metrics?: Metrics;
  /** Where lines go; stdout by default. Tests pass a stream to read what was written. */
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
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Stream({ stream: process.stdout });
  return winston.createLogger({
    level: options.level,
    format: winston.format.combine(
      requestFields(options.metrics),
      ecsFormat({ serviceName: options.service, serviceVersion: options.version, apmIntegration: false }),
    ),
    transports: [transport],
  });
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
