import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

/**
 * Writes bytes as they are on a fresh connection and reads the answer until the server closes: for what
 * `sendRaw` cannot send (no Host header, a stalled body, an HTTP/1.0 request). Ask for the close
 * (`Connection: close`) unless the server closes anyway (an error answer to a broken request does).
 */
export function sendRawBytes(baseUrl: string, request: string | Buffer, timeoutMs = 5000, label?: string): Promise<RawResponse> {
  const bytes = typeof request === 'string' ? Buffer.from(request, 'latin1') : request;
  const url = new URL(baseUrl);
  const isHead = bytes.subarray(0, 5).toString('latin1') === 'HEAD ';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(url.port || 80), url.hostname);
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(chunks);
      const answer = isHead ? withoutBodyLength(received) : received;
      const parsed = answer.length > 0 ? parseResponse(answer) : undefined;
      if (parsed) resolve(parsed);
      else {
        const what = label ? ` to ${label}` : '';
        const seen = label ? `${received.length} bytes received` : JSON.stringify(received.toString('latin1'));
        reject(new Error(`no complete answer${what}: ${err?.message ?? 'connection closed'} (${seen})`));
      }
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    // An early answer (413 before the body was read) can be followed by a reset of our write side.
    socket.on('error', (err) => finish(err));
    socket.write(bytes);
  });
}

/** An answer to HEAD has no body whatever its Content-Length says: drop the header so the answer parses. */
function withoutBodyLength(raw: Buffer): Buffer {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return raw;
  const head = raw.subarray(0, headEnd).toString('latin1').replace(/\r\ncontent-length:[^\r]*/i, '');
  return Buffer.concat([Buffer.from(head, 'latin1'), raw.subarray(headEnd)]);
}

/** Parses a whole HTTP/1.1 response (status line, headers, Content-Length or chunked body). */
export function parseResponse(raw: Buffer): RawResponse | undefined {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...headerLines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = raw.subarray(headEnd + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!Number.isFinite(size)) return undefined;
      if (size === 0) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (body.length < length) return undefined;
    body = body.subarray(0, length);
  }
  return { status: Number(match[1]), headers, body, text: body.toString('utf8') };
}
