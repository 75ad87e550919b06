import net from 'node:net';
import { freeLoopbackPort } from './http.js';

/**
 * A TCP proxy on loopback that a test can cut and restore: the real network failure a service sees when
 * its database goes away (connections reset, new ones refused), without touching the database itself.
 */
export class TcpProxy {
  private server?: net.Server;
  private hole?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, await freeLoopbackPort());
    await proxy.restore();
    return proxy;
  }

  /** Resets every open connection and refuses new ones. */
  async cut(): Promise<void> {
    if (this.hole) await this.restore();
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /**
   * A network that silently drops everything (a partition, a dead node): open connections stay open but no
   * byte goes through either way, and new ones are accepted and then hear nothing. Nobody gets a reset, so
   * only the service's own timeouts can tell. `restore` ends it (resetting what was held).
   */
  async blackHole(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
    // Stop listening at once; close's callback would wait for the held connections, which never end.
    server?.close();
    const hole = net.createServer((client) => {
      this.sockets.add(client);
      client.pause();
      client.on('error', () => this.sockets.delete(client)).on('close', () => this.sockets.delete(client));
    });
    await new Promise<void>((r) => hole.listen(this.port, '127.0.0.1', r));
    this.hole = hole;
  }

  /** Accepts connections again, on the same port. */
  async restore(): Promise<void> {
    if (this.hole) {
      const hole = this.hole;
      this.hole = undefined;
      for (const s of this.sockets) s.resetAndDestroy();
      this.sockets.clear();
      await new Promise<void>((r) => hole.close(() => r()));
    }
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.server = server;
  }

  /** `url` with its host and port replaced by the proxy's. */
  wrap(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }
}
