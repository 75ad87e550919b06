import { freeLoopbackPort, serveOnLoopback, type RunningApp } from '@courseops/kit/testing';
import express from 'express';
import type { Target } from '../src/config.js';

/** How a fake service answers /readyz; tests may change it between rounds. */
export interface Behaviour {
  status: number;
  delayMs: number;
  /** Report a soft dependency (like the teacher service's course service) as down. */
  softDown: boolean;
  /** Never answer (until the server closes). */
  hang: boolean;
}

export interface FakeTarget extends RunningApp {
  target: Target;
  behaviour: Behaviour;
  /** Most /readyz requests that were being answered at the same moment. */
  maxConcurrent: number;
  requests: number;
  lastRequestId: string | undefined;
}

/** A real HTTP server answering /readyz the way a courseops service does. */
export async function fakeTarget(name: string, behaviour: Partial<Behaviour> = {}): Promise<FakeTarget> {
  const app = express();
  let inFlight = 0;
  const fake = {
    behaviour: { status: 200, delayMs: 0, softDown: false, hang: false, ...behaviour },
    maxConcurrent: 0,
    requests: 0,
    lastRequestId: undefined as string | undefined,
  };
  app.get('/readyz', async (req, res) => {
    fake.requests++;
    fake.lastRequestId = req.get('x-request-id');
    fake.maxConcurrent = Math.max(fake.maxConcurrent, ++inFlight);
    try {
      const b = fake.behaviour;
      if (b.hang) return;
      if (b.delayMs > 0) await new Promise((r) => setTimeout(r, b.delayMs));
      const checks: Record<string, unknown> = { database: { status: 'up', latencyMs: 1 } };
      if (b.softDown) checks.course = { status: 'down', latencyMs: 3, soft: true, error: 'connect ECONNREFUSED' };
      res.status(b.status).json({ status: b.status === 200 ? 'ready' : 'not_ready', checks });
    } finally {
      inFlight--;
    }
  });
  const running = await serveOnLoopback(app);
  return Object.assign(fake, running, { target: { name, url: running.url } });
}

/** A target nothing listens on: connection refused. */
export async function closedTarget(name: string): Promise<Target> {
  return { name, url: `http://127.0.0.1:${await freeLoopbackPort()}` };
}
