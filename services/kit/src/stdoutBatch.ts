import { Writable } from 'node:stream';

/**
 * Log lines for stdout, written together once per event-loop turn (or as soon as 64 KiB wait). Each
 * write is a system call, and one per access log line was the largest single cost of request logging
 * (`npm run bench`). Lines still waiting when the process exits are written synchronously by an 'exit'
 * handler; only a SIGKILL (an OOM kill) can lose them, at most one turn's worth.
 */
export class BatchedLineWriter extends Writable {
  #chunks: string[] = [];
  #bytes = 0;
  #scheduled = false;
  readonly #flushSoon = () => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(
    private readonly target: { write(text: string): unknown },
    private readonly maxBytes = 64 * 1024,
  ) {
    super({ decodeStrings: false });
  }

  /** Queues finished text (lines with their newline); the fast path of `Logger.logLine`. */
  append(text: string): void {
    this.#chunks.push(text);
    this.#bytes += text.length;
    if (this.#bytes >= this.maxBytes) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  /** Writes what waits, in one call. */
  flush(): void {
    if (this.#chunks.length === 0) return;
    const text = this.#chunks.length === 1 ? this.#chunks[0]! : this.#chunks.join('');
    this.#chunks = [];
    this.#bytes = 0;
    this.target.write(text);
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.append(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    done();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.flush();
    done();
  }
}

let stdoutWriter: BatchedLineWriter | undefined;

/** The process's one batched stdout (every logger of the process shares it, so lines keep their order). */
export function batchedStdout(): BatchedLineWriter {
  if (!stdoutWriter) {
    const writer = new BatchedLineWriter(process.stdout);
    process.once('exit', () => writer.flush());
    stdoutWriter = writer;
  }
  return stdoutWriter;
}
