import { assertErrorContract, fuzzCases, fuzzRuns, sendRaw, toRawRequest, type FuzzCase, type RouteTemplate } from '@courseops/kit/testing';
import { asc, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidents, probes } from '../src/schema.js';
import { firing, webhookPayload } from './alertPayloads.js';
import { bearer, drivers, json, startStatus, webhookToken, type RunningStatus } from './harness.js';
import { fakeTarget, type FakeTarget } from './targets.js';

/** Every route of the service, plus paths under them that no route claims. */
const routes: RouteTemplate[] = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/api/status' },
  { method: 'GET', path: '/api/status/:id' },
  { method: 'POST', path: '/api/alerts', body: webhookPayload([firing('fuzz-fp', { summary: 'Fuzzed' })]) },
  { method: 'POST', path: '/api/alerts/:id', body: webhookPayload([]) },
];

/** Most requests carry the right token, so the body validation behind it is what gets exercised. */
const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant<[string, string][]>([['Authorization', `Bearer ${webhookToken}`]]) },
  { weight: 1, arbitrary: fc.constant<[string, string][]>([]) },
  { weight: 1, arbitrary: fc.constantFrom<[string, string][]>([['Authorization', 'Bearer wrong']], [['Authorization', `bearer  ${webhookToken} `]], [['Authorization', `Bearer ${webhookToken}x`]]) },
);

/** A valid webhook to /api/alerts, as the generator would write it, but with no Authorization header. */
const webhookRoute = routes.find((r) => r.method === 'POST' && r.path === '/api/alerts')!;
const unauthenticatedWebhook: FuzzCase = {
  method: 'POST',
  route: webhookRoute,
  params: [],
  pathSuffix: '',
  query: '',
  requestIds: [],
  contentType: 'application/json',
  contentEncoding: undefined,
  body: { text: JSON.stringify(webhookRoute.body), encoding: 'utf8' },
  chunked: false,
  extraHeaders: [],
};

describe.each(drivers)('malformed requests on %s', (driver) => {
  let status: RunningStatus;
  let target: FakeTarget;

  beforeAll(async () => {
    target = await fakeTarget('course');
    status = await startStatus(driver, { targets: [target.target] });
    await status.service.prober.runRound();
    await status.call('/api/alerts', json(webhookPayload([firing('existing-fp', { summary: 'Already open' })]), bearer()));
  });
  afterAll(async () => {
    await status.stop();
    await target.close();
  });

  /** Everything a request could change: the incidents, whole, and how many probes there are. */
  const snapshot = () =>
    status.service.database.query('snapshot', async (db) => ({
      incidents: await db.select().from(incidents).orderBy(asc(incidents.id)),
      probes: (await db.select({ n: sql<number>`count(*)::int` }).from(probes))[0]!.n,
    }));

  it('never answers 5xx, answers /api/* errors in JSON, and changes nothing when it refuses', async () => {
    const answered = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fuzzCases(routes, { queryKeys: ['limit', 'offset', 'format'] }), authorization, async (c, auth) => {
        const request = toRawRequest(c);
        request.headers.push(...auth);
        const before = await snapshot();
        const response = await sendRaw(status.url, request);
        answered.set(response.status, (answered.get(response.status) ?? 0) + 1);
        // No 5xx; every non-2xx (for / as much as for /api/*) is the JSON error body with the request id.
        assertErrorContract(request, response);
        if (response.status >= 200 && response.status < 300) {
          // Only the two GET routes and an accepted webhook succeed.
          expect(response.headers['content-type']).toMatch(request.target.startsWith('/api/') ? /^application\/json/ : /^text\/html/);
        } else {
          expect(await snapshot()).toEqual(before);
        }
      }),
      // One well-formed webhook without a token is always among the runs, so a 401 is always seen.
      { numRuns: fuzzRuns, examples: [[unauthenticatedWebhook, []]] },
    );
    // The run reached past the token check into validation, and some requests got through.
    expect(answered.get(401)).toBeGreaterThan(0);
    expect(answered.get(400)).toBeGreaterThan(0);
    expect(answered.get(200)).toBeGreaterThan(0);
  });
});
