import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorStatus, type ErrorCode } from './errors.js';
import { keepOrMakeRequestId, requestIdHeader } from './requestId.js';

/**
 * A request Node's HTTP parser refuses (a control character in a header value, raw non-ASCII bytes in
 * the path, an unknown method, headers over 16 KiB…) never reaches express, and Node's default answer
 * is a bare 400 with no body. Answer it with the JSON error body of API.md like every other error,
 * keeping the client's request id when it can be read from the raw request.
 */
export function answerUnparsableRequest(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  // More bytes after the bad ones hit the failed parser again: answered once, the connection just drains.
  if (answered.has(socket)) return;
  // The client is gone (a reset socket is destroyed before its error is emitted, so ECONNRESET needs no
  // test of its own), or an answer to an earlier request on this connection is already on its way.
  const answering = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || answering?.headersSent) {
    socket.destroy();
    return;
  }
  // A request whose head was read (a body that stopped coming) already has its id on the pending answer.
  const pendingId = answering?.getHeader(requestIdHeader);
  const requestId = typeof pendingId === 'string' ? pendingId : keepOrMakeRequestId(requestIdInRawHead(err.rawPacket));
  if (err.code === 'HPE_HEADER_OVERFLOW') answerOnSocket(socket, 'payload_too_large', 'request headers are larger than 16 KiB', requestId);
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') answerOnSocket(socket, 'validation_failed', 'request not received in time', requestId);
  else answerOnSocket(socket, 'validation_failed', 'malformed HTTP request', requestId);
}

/** CONNECT is no method of ours; without a listener Node drops the connection without a word. */
export function answerConnect(req: IncomingMessage, socket: Duplex): void {
  answerOnSocket(socket, 'not_found', 'no such route', keepOrMakeRequestId(singleHeader(req.headers['x-request-id'])));
}

const singleHeader = (value: string | string[] | undefined) => (Array.isArray(value) ? undefined : value);

/** The X-Request-Id of a raw request head, when it holds exactly one complete such line. */
function requestIdInRawHead(raw: Buffer | undefined): string | undefined {
  if (!raw) return undefined;
  // The head up to its last line's CRLF, so an id on that line counts as complete; a head cut short (the
  // chunk a header overflow failed on) ends mid-line, and that line is left out.
  const text = raw.toString('latin1');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd === -1 ? text : text.slice(0, headEnd + 2);
  const values = [...head.matchAll(/\r\nx-request-id:[ \t]*([^\r\n]*?)[ \t]*(?=\r\n)/gi)].map((m) => m[1]);
  return values.length === 1 ? values[0] : undefined;
}

const answered = new WeakSet<Duplex>();

/** How long a connection answered here may go on sending before it is closed. */
export const drainLimitMs = 5000;

/** Writes a JSON error answer straight on a connection express never saw, then closes it. */
function answerOnSocket(socket: Duplex, code: ErrorCode, message: string, requestId: string): void {
  answered.add(socket);
  const status = errorStatus[code];
  const body = JSON.stringify({ error: { code, message, requestId } });
  // Read and drop whatever else the client sends, so closing does not reset the answer away. A client
  // may still reset the connection; a socket destroys itself on error, so ignoring it is enough (Node
  // leaves no error listener on a CONNECT socket, and an unheard error would stop the process).
  socket.on('error', ignoreError);
  socket.resume();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
  // A client that never stops sending is not drained for ever.
  setTimeout(() => socket.destroy(), drainLimitMs).unref();
}

function ignoreError(): void {}
