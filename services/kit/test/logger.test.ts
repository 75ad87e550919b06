import { describe, expect, it } from 'vitest';
import { ecsFormat } from '@elastic/ecs-winston-format';
import { createLogger, createMetrics, memoryLogStream } from '@courseops/kit';

describe('logger', () => {
  const make = (level = 'info') => {
    const stream = memoryLogStream();
    const metrics = createMetrics();
    return { stream, metrics, logger: createLogger({ service: 'course', version: '1.2.3', level, metrics, stream }) };
  };
  const withoutTime = (line: Record<string, unknown>) => {
    const { '@timestamp': time, ...rest } = line;
    expect(typeof time).toBe('string');
    return rest;
  };
  const fields = { 'http.request.method': 'POST', 'url.path': '/api/courses', 'http.response.status_code': 201, 'event.category': ['web'] };

  it('writes with logLine the same ECS line that log writes', async () => {
    const { stream, logger } = make();
    logger.log('info', 'POST /api/courses 201', { ...fields });
    logger.logLine('info', 'POST /api/courses 201', { ...fields });
    await new Promise((r) => setImmediate(r));
    expect(stream.lines).toHaveLength(2);
    expect(withoutTime(stream.lines[1]!)).toEqual(withoutTime(stream.lines[0]!));
    expect(stream.lines[1]).toMatchObject({ 'log.level': 'info', 'service.name': 'course', 'service.version': '1.2.3', message: 'POST /api/courses 201', ...fields });
  });

  it('applies the level filter and counts lines by level, like log', async () => {
    const { stream, logger, metrics } = make('warn');
    logger.logLine('info', 'dropped', {});
    logger.logLine('error', 'kept', { 'http.response.status_code': 500 });
    await new Promise((r) => setImmediate(r));
    expect(stream.lines.map((l) => l.message)).toEqual(['kept']);
    const counted = await metrics.registry.getSingleMetricAsString('log_messages_total');
    expect(counted).toMatch(/log_messages_total\{level="error"\} 1/);
    expect(counted).not.toMatch(/level="info"/);
  });

  it("writes what @elastic/ecs-winston-format's own ecsFormat writes, and survives a circular field", async () => {
    const { stream, logger } = make();
    const err = new Error('boom');
    logger.error('failed', { ...fields, err });
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    logger.warn('odd', { circular });
    await new Promise((r) => setImmediate(r));

    const reference = ecsFormat({ serviceName: 'course', serviceVersion: '1.2.3', apmIntegration: false });
    const MESSAGE = Symbol.for('message');
    const expected = reference.transform({ level: 'error', message: 'failed', [Symbol.for('level')]: 'error', ...fields, err }) as Record<symbol, string>;
    expect(withoutTime(stream.lines[0]!)).toEqual(withoutTime(JSON.parse(expected[MESSAGE]!)));
    expect(stream.lines[0]).toMatchObject({ error: { type: 'Error', message: 'boom' } });
    expect(stream.lines[1]).toMatchObject({ message: 'odd', circular: { name: 'loop', self: '[Circular]' } });
  });
});
