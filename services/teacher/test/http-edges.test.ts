import { sendRawBytes } from '@courseops/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, startTeacher, type RunningTeacher } from './harness.js';

describe.each(drivers)('HTTP edges of the teacher service on %s', (driver) => {
  let teacher: RunningTeacher;
  const id = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    // OPTIONS never reaches the course service: nothing needs to listen there.
    teacher = await startTeacher(driver, 'http://127.0.0.1:9');
  });
  afterAll(() => teacher.stop());

  it.each(['/api/teachers', `/api/teachers/${id}`, `/api/teachers/${id}/courses`, `/api/teachers/${id}/courses/${id}`])(
    'answers OPTIONS %s with the JSON 404',
    async (path) => {
      const res = await sendRawBytes(teacher.url, `OPTIONS ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: opt-teacher\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['x-request-id']).toBe('opt-teacher');
      expect(JSON.parse(res.text).error).toMatchObject({ code: 'not_found', requestId: 'opt-teacher' });
    },
  );

  it('refuses a teacher name that starts with U+FEFF, and stores nothing', async () => {
    const res = await teacher.call('/api/teachers', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '\uFEFFAda', email: `bom-${driver}@example.com` }),
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'validation_failed', details: [{ path: 'body.name' }] });
    const list = await (await teacher.call('/api/teachers?limit=100')).json();
    expect(list.items.map((t: { email: string }) => t.email)).not.toContain(`bom-${driver}@example.com`);
  });
});
