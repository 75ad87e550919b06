import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, freeLoopbackPort } from '@courseops/kit/testing';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';

/**
 * The real course service process (main.ts, as the container runs it) on real PostgreSQL, stopped with
 * SIGTERM in the middle of concurrent keep-alive load: the graceful shutdown of API.md.
 */

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const shutdownDelayMs = 500;

interface Outcome {
  kind: 'create' | 'get' | 'list';
  startedAt: number;
  endedAt: number;
  status?: number;
  error?: string;
  reusedSocket: boolean;
}

interface Answer {
  status: number;
  text: string;
  reusedSocket: boolean;
}

/** One HTTP request on a given agent; a failure carries the socket error code and whether the socket was reused. */
function request(port: number, agent: http.Agent | false, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), reusedSocket: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(payload);
  });
}

describe('course service process on SIGTERM', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('turns unready at once, serves through the delay, drops no accepted request, loses no write, exits 0', async () => {
    const databaseUrl = await createTestDatabase(inject('postgresUrl'), 'course_shutdown');
    const port = await freeLoopbackPort();
    child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', 'services/course/src/main.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        SHUTDOWN_DELAY_MS: String(shutdownDelayMs),
        LOG_LEVEL: 'info',
        RATE_LIMIT_PER_MINUTE: '1000000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    const logLines = () =>
      stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>);

    // Up and ready.
    const readyDeadline = Date.now() + 30_000;
    for (;;) {
      const status = await request(port, false, 'GET', '/readyz').then((a) => a.status, () => 0);
      if (status === 200) break;
      if (child.exitCode !== null || Date.now() > readyDeadline) throw new Error(`service did not become ready:\n${stdout}\n${stderr}`);
      await sleep(100);
    }

    // Load: 20 clients, each on its own keep-alive connection, creating and reading courses.
    const outcomes: Outcome[] = [];
    const acknowledged = new Map<string, string>();
    let refused = 0;
    const client = async (c: number) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; ; i++) {
          const kind: Outcome['kind'] = i % 3 === 0 ? 'create' : i % 3 === 1 ? 'get' : 'list';
          const title = `client ${c} #${i}`;
          const last = [...acknowledged.keys()].at(-1);
          const startedAt = Date.now();
          try {
            const answer =
              kind === 'create'
                ? await request(port, agent, 'POST', '/api/courses', { title })
                : kind === 'get' && last
                  ? await request(port, agent, 'GET', `/api/courses/${last}`)
                  : await request(port, agent, 'GET', '/api/courses?limit=5');
            outcomes.push({ kind, startedAt, endedAt: Date.now(), status: answer.status, reusedSocket: answer.reusedSocket });
            if (kind === 'create' && answer.status === 201) acknowledged.set((JSON.parse(answer.text) as { id: string }).id, title);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
            outcomes.push({ kind, startedAt, endedAt: Date.now(), error: code, reusedSocket: Boolean((err as { reusedSocket?: boolean }).reusedSocket) });
            if (code === 'ECONNREFUSED') {
              refused++;
              return; // The listener is closed: this client is done.
            }
          }
        }
      } finally {
        agent.destroy();
      }
    };
    const clients = Array.from({ length: 20 }, (_, c) => client(c));

    // And one keep-alive client that goes quiet: its connection must not hold the process up.
    const idleAgent = new http.Agent({ keepAlive: true });
    expect((await request(port, idleAgent, 'GET', '/healthz')).status).toBe(200);
    await sleep(10);
    const idleSocket = Object.values(idleAgent.freeSockets).flat()[0];
    expect(idleSocket, 'the idle client keeps its connection').toBeDefined();
    const idleClosedByServer = new Promise<number>((resolve) => idleSocket!.once('close', () => resolve(Date.now())));

    await sleep(1000);
    const before = outcomes.length;
    expect(before).toBeGreaterThan(50);
    const signalledAt = Date.now();
    child.kill('SIGTERM');

    // Readiness turns 503 at once, on a fresh connection.
    let unreadyAt = 0;
    while (!unreadyAt && Date.now() - signalledAt < 2000) {
      const status = await request(port, false, 'GET', '/readyz').then((a) => a.status, () => 0);
      if (status === 503) unreadyAt = Date.now();
    }
    expect(unreadyAt, 'readyz never answered 503').toBeGreaterThan(0);
    // At once: long before the listener closes (the signal waits for the event loop, which is busy).
    expect(unreadyAt - signalledAt).toBeLessThan(shutdownDelayMs / 2);

    const exit = await Promise.race([exited, sleep(30_000).then(() => undefined)]);
    expect(exit, `no exit within 30 s\n${stderr}`).toBeDefined();
    await Promise.all(clients);

    // Exit 0, well within the 30 s grace period, after at least the delay.
    expect(exit!.code, stderr).toBe(0);
    expect(exit!.at - signalledAt).toBeGreaterThanOrEqual(shutdownDelayMs);
    expect(exit!.at - signalledAt).toBeLessThan(30_000);
    // The idle keep-alive connection was closed by the server soon after the listener closed (no waiting
    // for the 65 s keep-alive timeout), and the process exited soon after that.
    expect((await idleClosedByServer) - signalledAt).toBeLessThan(shutdownDelayMs + 3000);
    expect(exit!.at - signalledAt).toBeLessThan(shutdownDelayMs + 5000);
    idleAgent.destroy();

    // Requests kept being answered after readiness turned 503, during the delay.
    const servedWhileDraining = outcomes.filter((o) => o.status !== undefined && o.status < 300 && o.startedAt > unreadyAt);
    expect(servedWhileDraining.length).toBeGreaterThan(10);

    // Every request was answered without a 5xx, or refused at connect once the listener closed; none was
    // accepted and then dropped (reset, hang up).
    const serverErrors = outcomes.filter((o) => o.status !== undefined && o.status >= 500);
    expect(serverErrors).toEqual([]);
    const dropped = outcomes.filter((o) => o.error !== undefined && o.error !== 'ECONNREFUSED');
    const timeline = () =>
      JSON.stringify({
        unreadyMs: unreadyAt - signalledAt,
        exitMs: exit!.at - signalledAt,
        dropped: dropped.map((o) => ({ ...o, startedAt: o.startedAt - signalledAt, endedAt: o.endedAt - signalledAt })),
        log: logLines().slice(-5).map((l) => [Date.parse(String(l['@timestamp'])) - signalledAt, l.message]),
      });
    expect(dropped, timeline()).toEqual([]);
    expect(refused).toBe(20);

    // Every acknowledged create is in the database.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ id: string; title: string }>('select id, title from courses');
      const stored = new Map(rows.map((r) => [r.id, r.title]));
      expect(acknowledged.size).toBeGreaterThan(20);
      expect([...acknowledged].filter(([id, title]) => stored.get(id) !== title)).toEqual([]);
    } finally {
      await db.end();
    }

    // The shutdown, in the log: the signal, readiness off, the listener closed and everything released.
    const messages = logLines().map((l) => l.message);
    const order = ['received SIGTERM', 'shutting down', 'stopped'].map((m) => messages.indexOf(m));
    expect(order.every((i) => i >= 0), messages.slice(-10).join('\n')).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(logLines().find((l) => l.message === 'shutting down')).toMatchObject({ 'shutdown.delay_ms': shutdownDelayMs, 'service.name': 'course' });
    // Error lines: only access lines of the 503s that /readyz answers from SIGTERM on, as it should.
    const errors = logLines().filter((l) => l['log.level'] === 'error');
    expect(errors.filter((l) => !(l['url.path'] === '/readyz' && l['http.response.status_code'] === 503))).toEqual([]);
  }, 60_000);
});
