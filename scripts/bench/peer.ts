/**
 * The minimal peer `npm run bench` holds the course service against: plain `node:http` and a `pg` Pool of
 * the same size as the kit's, running the course service's SQL (keyset list, insert … returning) and
 * answering the same JSON shapes, with only the checks a careful hand-written server would make (JSON
 * body of at most 16 KiB, the course fields) and no framework, metrics, access logs or rate limit. Its
 * throughput is what the course service's conventions are measured against.
 *
 * scripts/bench.ts compiles this file to plain JavaScript first (tsx's transform wraps closures in a
 * naming helper, which would slow the peer down); it imports the compiled kit for the cursor codec, so
 * both servers read and write the same cursors.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { decodeCursor, encodeCursor } from '@courseops/kit';
import pg from 'pg';

const port = Number(process.env.PORT);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on('error', () => undefined);

const columns = `"id", "title", "description", "credits", "created_at", "updated_at"`;
const firstPage = `select ${columns} from "courses" order by "created_at", "id" limit $1`;
const nextPage = `select ${columns} from "courses" where ("created_at", "id") > ($1::timestamptz, $2::uuid) order by "created_at", "id" limit $3`;
/** The course service's list name in its cursors (routes.ts), so a cursor of one is good for the other. */
const courseList = { list: 'courses' };
const insert = `insert into "courses" ("id", "title", "description", "credits") values ($1, $2, $3, $4) returning ${columns}`;

interface Row {
  id: string;
  title: string;
  description: string;
  credits: number;
  created_at: Date;
  updated_at: Date;
}
const toCourse = (row: Row) => ({
  id: row.id,
  title: row.title,
  description: row.description,
  credits: row.credits,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
const fail = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });

async function list(url: URL, res: ServerResponse): Promise<void> {
  const limitText = url.searchParams.get('limit') ?? '20';
  const limit = Number(limitText);
  if (!/^\d{1,3}$/.test(limitText) || limit < 1 || limit > 100) return fail(res, 400, 'validation_failed', 'limit must be 1–100');
  const cursorText = url.searchParams.get('cursor');
  let rows: Row[];
  if (cursorText === null) {
    rows = (await pool.query<Row>(firstPage, [limit + 1])).rows;
  } else {
    let after: ReturnType<typeof decodeCursor>;
    try {
      after = decodeCursor(courseList, cursorText)!;
    } catch {
      return fail(res, 400, 'validation_failed', 'invalid cursor');
    }
    rows = (await pool.query<Row>(nextPage, [after.at.toISOString(), after.id, limit + 1])).rows;
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  send(res, 200, {
    items: page.map(toCourse),
    nextCursor: rows.length > limit && last ? encodeCursor(courseList, { at: last.created_at, id: last.id }) : null,
  });
}

const isText = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;

async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return fail(res, 415, 'unsupported_media_type', 'body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) return fail(res, 413, 'payload_too_large', 'body over 16 KiB');
    chunks.push(chunk);
  }
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return fail(res, 400, 'invalid_json', 'body is not JSON');
  }
  const { title, description = '', credits = 0, ...unknown } = body ?? {};
  if (
    typeof body !== 'object' ||
    !isText(title, 1, 200) ||
    !isText(description, 0, 2000) ||
    !Number.isInteger(credits) ||
    (credits as number) < 0 ||
    (credits as number) > 30 ||
    Object.keys(unknown).length > 0
  ) {
    return fail(res, 400, 'validation_failed', 'invalid body');
  }
  const [row] = (await pool.query<Row>(insert, [randomUUID(), title, description, credits])).rows;
  send(res, 201, toCourse(row!), { location: `/api/courses/${row!.id}` });
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://peer');
  if (url.pathname === '/api/courses' && req.method === 'GET') return list(url, res);
  if (url.pathname === '/api/courses' && req.method === 'POST') return create(req, res);
  if (url.pathname === '/readyz') {
    await pool.query('select 1');
    return send(res, 200, { status: 'ready' });
  }
  fail(res, 404, 'not_found', 'no such route');
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) fail(res, 500, 'internal', 'internal error');
    else res.destroy();
  });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.end().then(() => process.exit(0));
});
