import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Express } from 'express';
import { listen, type RequestTimeouts } from '../server.js';

export interface RunningApp {
  url: string;
  server: Server;
  close: () => Promise<void>;
}

/** Serves an app on a free loopback port, with the server settings of production (`listen`). */
export async function serveOnLoopback(app: Express, port = 0, timeouts?: RequestTimeouts): Promise<RunningApp> {
  const server = await listen(app, port, '127.0.0.1', timeouts);
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on right now, for a server that needs its port before it starts. */
export async function freeLoopbackPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

/** A Response whose JSON body tests may read without casting. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> };

/** `fetch`, typed for tests: the body of an answer under test is whatever the service sent. */
export const testFetch = fetch as unknown as (input: string | URL, init?: RequestInit) => Promise<TestResponse>;
