import { readEnv } from '@courseops/kit';
import { describe, expect, it } from 'vitest';
import { parseTargets, readinessUrl, statusEnvSchema } from '../src/config.js';

describe('STATUS_TARGETS', () => {
  it('reads a comma-separated name=url list, tolerating spaces and trailing slashes', () => {
    expect(parseTargets(' course=http://course:3001 , teacher=http://teacher.courseops.svc:3002/,api=https://x.test/base/ ')).toEqual([
      { name: 'course', url: 'http://course:3001' },
      { name: 'teacher', url: 'http://teacher.courseops.svc:3002' },
      { name: 'api', url: 'https://x.test/base' },
    ]);
    expect(parseTargets('')).toEqual([]);
    expect(readinessUrl({ name: 'api', url: 'https://x.test/base' })).toBe('https://x.test/base/readyz');
  });

  it.each([
    ['no =', 'course', /"course" is not name=url/],
    ['an empty name', '=http://x', /not a valid name/],
    ['a name with spaces', 'my course=http://x', /not a valid name/],
    ['a name too long', `${'a'.repeat(64)}=http://x`, /not a valid name/],
    ['a duplicate name', 'a=http://x,a=http://y', /"a" is listed twice/],
    ['not a URL', 'a=course:3001x', /must be http or https|not a URL/],
    ['a relative URL', 'a=/readyz', /not a URL/],
    ['another scheme', 'a=ftp://x', /must be http or https/],
    ['a query', 'a=http://x/?q=1', /plain base URL/],
    ['credentials', 'a=http://u:p@x', /plain base URL/],
  ])('rejects %s with a clear message', (_name, value, message) => {
    expect(() => parseTargets(value)).toThrow(message);
  });

  it('stops the service at start naming the variable', () => {
    expect(() => readEnv(statusEnvSchema, { STATUS_TARGETS: 'course' })).toThrow(/STATUS_TARGETS: must be a comma-separated name=url list: "course" is not name=url/);
  });
});

describe('status environment', () => {
  it('has the defaults of API.md', () => {
    const env = readEnv(statusEnvSchema, {});
    expect(env).toMatchObject({ PORT: 3003, STATUS_TARGETS: [], PROBE_INTERVAL_MS: 15_000, DEGRADED_LATENCY_MS: 1000, MAX_OPEN_INCIDENTS: 500 });
    expect(env.ALERT_WEBHOOK_TOKEN).toBeUndefined();
    expect(readEnv(statusEnvSchema, { ALERT_WEBHOOK_TOKEN: '' }).ALERT_WEBHOOK_TOKEN).toBeUndefined();
  });

  it('reads the status variables', () => {
    const env = readEnv(statusEnvSchema, {
      PORT: '8080',
      STATUS_TARGETS: 'course=http://course:3001',
      PROBE_INTERVAL_MS: '5000',
      DEGRADED_LATENCY_MS: '250',
      ALERT_WEBHOOK_TOKEN: 's3cret',
      MAX_OPEN_INCIDENTS: '50',
    });
    expect(env).toMatchObject({ PORT: 8080, PROBE_INTERVAL_MS: 5000, DEGRADED_LATENCY_MS: 250, ALERT_WEBHOOK_TOKEN: 's3cret', MAX_OPEN_INCIDENTS: 50 });
    expect(env.STATUS_TARGETS).toEqual([{ name: 'course', url: 'http://course:3001' }]);
  });

  it.each([
    ['PROBE_INTERVAL_MS', 'soon'],
    ['PROBE_INTERVAL_MS', '0'],
    ['DEGRADED_LATENCY_MS', '-1'],
    ['PORT', '70000'],
    ['MAX_OPEN_INCIDENTS', '0'],
    ['MAX_OPEN_INCIDENTS', 'many'],
  ])('rejects %s=%s', (name, value) => {
    expect(() => readEnv(statusEnvSchema, { [name]: value })).toThrow(new RegExp(name));
  });
});
