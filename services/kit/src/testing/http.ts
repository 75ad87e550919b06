import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { listen } from '../server.js';

export interface RunningApp {
  url: string;
  server: Server;
  close: () => Promise<void>;
}

/** Serves an app on a free loopback port. */
export async function serveOnLoopback(app: Express, port = 0): Promise<RunningApp> {
  const server = await listen(app, port, '127.0.0.1');
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
