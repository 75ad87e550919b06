import net from 'node:net';
import { memoryLogStream, type BuiltService } from '@courseops/kit';
import { createTestDatabase, serveOnLoopback, testFetch, type RunningApp } from '@courseops/kit/testing';
import { inject } from 'vitest';
import { createCourseService } from '../../course/src/service.js';
import type { Course } from '../src/courseClient.js';

/**
 * The real course service on a loopback port that a test can take away and bring back: `stop` closes its
 * HTTP server (connections refused), `hang` puts a server that accepts and never answers on the same port,
 * `restart` serves the course service there again.
 */
export class CourseServer {
  private running?: RunningApp;
  private hanging?: HangingServer;

  private constructor(
    readonly service: BuiltService,
    readonly logs: ReturnType<typeof memoryLogStream>,
    readonly port: number,
    running: RunningApp,
  ) {
    this.running = running;
  }

  static async start(driver: 'pglite' | 'postgres'): Promise<CourseServer> {
    const databaseUrl = driver === 'postgres' ? await createTestDatabase(inject('postgresUrl'), 'teacher_course') : undefined;
    const logs = memoryLogStream();
    const service = await createCourseService({ logLevel: 'info', rateLimitPerMinute: 100_000, logStream: logs, databaseUrl });
    const running = await serveOnLoopback(service.app);
    return new CourseServer(service, logs, Number(new URL(running.url).port), running);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.running?.close();
    await this.hanging?.close();
    this.running = this.hanging = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.running = await serveOnLoopback(this.service.app, this.port);
  }

  async hang(): Promise<void> {
    await this.stop();
    this.hanging = await HangingServer.listen(this.port);
  }

  async close(): Promise<void> {
    await this.stop();
    await this.service.close();
  }

  async createCourse(title: string): Promise<Course> {
    const res = await testFetch(`${this.url}/api/courses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title }),
    });
    if (res.status !== 201) throw new Error(`course not created: ${res.status}`);
    return res.json();
  }

  /**
   * The requests the course service received on behalf of one teacher-service request (the teacher
   * service forwards its X-Request-Id), as `METHOD path`, from the course service's access log.
   */
  requestsFor(requestId: string): string[] {
    return this.logs.lines.filter((l) => l['http.request.id'] === requestId).map((l) => `${String(l['http.request.method'])} ${String(l['url.path'])}`);
  }

  async deleteCourse(id: string): Promise<void> {
    const res = await testFetch(`${this.url}/api/courses/${id}`, { method: 'DELETE' });
    if (res.status !== 204) throw new Error(`course not deleted: ${res.status}`);
  }
}

/** Accepts connections and never answers: the worst a dependency can do to a caller without a timeout. */
class HangingServer {
  private readonly sockets = new Set<net.Socket>();
  private readonly server = net.createServer((socket) => {
    this.sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => this.sockets.delete(socket));
  });

  static async listen(port: number): Promise<HangingServer> {
    const hanging = new HangingServer();
    await new Promise<void>((resolve, reject) => hanging.server.once('error', reject).listen(port, '127.0.0.1', resolve));
    return hanging;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
