import { describe, expect, it } from 'vitest';
import { services, type ServiceDecl } from '../../cdk8s/src/services.js';
import { devArgs, devServices } from '../devServices.js';

const secret = (env: string) => `secret-of-${env}`;

describe('npm run dev runs what is declared (scripts/devServices.ts)', () => {
  it('runs the declared services on their ports, with their calls and probes pointed at local ports', () => {
    const dev = devServices(services, secret);
    expect(dev.map((s) => [s.name, s.port])).toEqual(services.map((s) => [s.name, s.port]));
    const byName = Object.fromEntries(dev.map((s) => [s.name, s]));
    expect(byName.teacher!.env).toMatchObject({ COURSE_SERVICE_URL: 'http://localhost:3001', COURSE_SERVICE_TIMEOUT_MS: '1000' });
    expect(byName.status!.env).toMatchObject({
      STATUS_TARGETS: 'course=http://localhost:3001,teacher=http://localhost:3002',
      PROBE_INTERVAL_MS: '5000',
      ALERT_WEBHOOK_TOKEN: 'secret-of-ALERT_WEBHOOK_TOKEN',
    });
    expect(byName.course!.apiUrl).toBe('http://localhost:3001/api/courses');
  });

  it('runs a fourth declared service with no other change, wired to what it calls', () => {
    const grades: ServiceDecl = {
      ...services[0]!,
      name: 'grades',
      description: 'Grades',
      port: 3004,
      ingress: { host: 'api', path: '/api/grades' },
      calls: [{ service: 'teacher', soft: false, urlEnv: 'TEACHER_SERVICE_URL' }],
      env: { GRADE_SCALE: 'A-F' },
    };
    const dev = devServices([...services, grades], secret);
    expect(dev.find((s) => s.name === 'grades')).toEqual({
      name: 'grades',
      port: 3004,
      env: { GRADE_SCALE: 'A-F', TEACHER_SERVICE_URL: 'http://localhost:3002' },
      apiUrl: 'http://localhost:3004/api/grades',
    });
  });

  it('names a call to a service nobody declared', () => {
    const broken: ServiceDecl = { ...services[0]!, name: 'broken', calls: [{ service: 'nobody', soft: true, urlEnv: 'X_URL' }] };
    expect(() => devServices([broken], secret)).toThrow(/"nobody", which is not declared/);
  });

  it('runs the named services only, and the local monitoring unless told not to', () => {
    const declared = services.map((s) => s.name);
    expect(devArgs([], declared)).toEqual({ only: [], monitoring: true });
    expect(devArgs(['teacher', '--no-monitoring'], declared)).toEqual({ only: ['teacher'], monitoring: false });
    expect(() => devArgs(['grades'], declared)).toThrow(/no service "grades" is declared \(declared: course, teacher, status\)/);
    expect(() => devArgs(['--fast'], declared)).toThrow(/unknown option --fast/);
  });
});
