import net from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { drainLimitMs } from '../src/http/unparsable.js';
import { serveOnLoopback, type RunningApp } from '../src/testing/http.js';

/**
 * The life of a connection after Node's parser refused what came on it (http/unparsable.ts), byte by
 * byte on a raw socket: what the client sends after the answer, a reset, an answer already under way, a
 * head that never ends. Each case is one a client on a bad network, or a scanner, really makes.
 */

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const badRequest = 'GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n';
/** Waits on the real clock with setInterval, which the drain-limit test leaves real while it fakes setTimeout. */
const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      clearInterval(timer);
      resolve();
    }, ms);
  });

/** A raw client that keeps its side open after the server ends its own (as a pipelining client would). */
class RawClient {
  readonly socket: net.Socket;
  received = '';
  error: (Error & { code?: string }) | undefined;
  /** The server ended its side. */
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;

  constructor(url: string) {
    const { port, hostname } = new URL(url);
    this.socket = net.connect({ port: Number(port), host: hostname, allowHalfOpen: true });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (text: string) => (this.received += text));
    this.socket.on('error', (err) => (this.error = err));
    this.ended = new Promise((resolve) => this.socket.once('end', () => resolve()));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  send(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  /** Waits until what was received matches, or fails naming what came. */
  async receive(pattern: RegExp, withinMs = 3000): Promise<void> {
    for (const started = Date.now(); !pattern.test(this.received); await pause(10)) {
      if (Date.now() - started > withinMs) throw new Error(`no ${pattern} within ${withinMs} ms: ${JSON.stringify(this.received)}`);
    }
  }

  /** Whether the connection closed within the time, on the real clock. */
  closesWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), pause(ms).then(() => false)]);
  }

  /** Whether the server ended its side within the time, on the real clock. */
  endsWithin(ms: number): Promise<boolean> {
    return Promise.race([this.ended.then(() => true), pause(ms).then(() => false)]);
  }
}

/** One complete JSON error answer: its head and as many body bytes as its Content-Length says. */
const completeAnswer = /^HTTP\/1\.1 \d{3} [^\r]*\r\n(?:[^\r]+\r\n)*?Content-Length: (\d+)\r\n(?:[^\r]+\r\n)*\r\n/;
function answerIsComplete(received: string): boolean {
  const head = completeAnswer.exec(received);
  return head !== null && received.length - head[0].length >= Number(head[1]);
}
async function receiveAnswer(client: RawClient): Promise<void> {
  for (const started = Date.now(); !answerIsComplete(client.received); await pause(10)) {
    if (Date.now() - started > 3000) throw new Error(`no complete answer: ${JSON.stringify(client.received)}`);
  }
}

describe('a connection whose request Node could not parse', () => {
  let running: RunningApp;
  const clients: RawClient[] = [];
  const connect = () => {
    const client = new RawClient(running.url);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const app = express();
    app.get('/ok', (_req, res) => void res.json({ ok: true }));
    // An answer under way: its head and a first chunk now, the rest later.
    app.get('/stream', (_req, res) => {
      res.status(200).type('text/plain').write('first-part;');
      const rest = setTimeout(() => res.end('last-part'), 1000);
      res.on('close', () => clearTimeout(rest));
    });
    running = await serveOnLoopback(app, 0, { headersMs: 300, requestMs: 600, checkIntervalMs: 50 });
  });
  afterEach(() => {
    vi.useRealTimers();
    for (const client of clients.splice(0)) client.socket.destroy();
  });
  afterAll(() => running.close());

  it('answers once, then reads and drops what the client still sends, closing when the client does', async () => {
    const client = connect();
    client.send(badRequest);
    await receiveAnswer(client);
    const answer = client.received;
    // Each write reaches the failed parser on its own and fails it again.
    for (let i = 0; i < 4; i++) {
      await pause(40);
      client.send(`more bad bytes \x01 ${i}\r\n\r\n`);
    }
    await pause(40);
    client.socket.end();
    expect(await client.closesWithin(2000)).toBe(true);
    // A connection closed while bytes still come in is reset, and the client gets an error instead.
    expect(client.error).toBeUndefined();
    expect(client.received).toBe(answer);
  });

  it(`closes a connection that goes on sending after the answer once ${drainLimitMs} ms have passed`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const client = connect();
    client.send(badRequest);
    await client.receive(/X-Request-Id/);
    const keepSending = setInterval(() => client.socket.writable && client.send('x'), 20);
    try {
      vi.advanceTimersByTime(drainLimitMs - 1);
      expect(await client.closesWithin(300), 'closed early').toBe(false);
      vi.advanceTimersByTime(1);
      expect(await client.closesWithin(300), 'still open').toBe(true);
    } finally {
      clearInterval(keepSending);
    }
  });

  it('lives through a client resetting a CONNECT connection it was answered on', async () => {
    const client = connect();
    client.send('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    await receiveAnswer(client);
    expect(client.received).toMatch(/^HTTP\/1\.1 404 /);
    // No listener would hear the reset on a socket handed to 'connect': the process would stop.
    client.socket.resetAndDestroy();
    await client.closed;
    await pause(100);
    const res = await fetch(`${running.url}/ok`);
    expect(res.status).toBe(200);
  });

  it('drops the connection, writing nothing more, when bad bytes follow an answer already under way', async () => {
    const client = connect();
    client.send('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.receive(/first-part;/);
    client.send(badRequest);
    expect(await client.endsWithin(800), client.received).toBe(true);
    // An error answer written now would land inside the streaming body, where it means nothing.
    expect(client.received).not.toMatch(/HTTP\/1\.1 400/);
    expect(client.received).not.toMatch(/last-part/);
  });

  it('answers a head that stops coming with the JSON 400 and a new request id (no raw bytes to read one from)', async () => {
    const client = connect();
    client.send('GET /ok HTTP/1.1\r\nHost: x\r\nX-Request-Id: slow-head\r\n');
    await receiveAnswer(client);
    expect(client.received).toMatch(/^HTTP\/1\.1 400 /);
    expect(client.received).toMatch(/"message":"request not received in time"/);
    const [, id] = /\r\nX-Request-Id: ([^\r]*)\r\n/.exec(client.received) ?? [];
    expect(id).toMatch(uuidPattern);
  });

  it('keeps the request id of a complete line in a head refused before its end', async () => {
    const client = connect();
    // No blank line: the parser fails on the bad header before the head is over.
    client.send('GET /ok HTTP/1.1\r\nHost: x\r\nX-Request-Id: open-head\r\nX-Bad: a\x01b\r\n');
    await receiveAnswer(client);
    expect(client.received).toMatch(/^HTTP\/1\.1 400 /);
    expect(client.received).toMatch(/\r\nX-Request-Id: open-head\r\n/);
  });
});
