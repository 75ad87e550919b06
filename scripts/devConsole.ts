/**
 * How `npm run dev` shows the services' ECS log lines on the console. Log values carry text from outside
 * (a course title, an alert's labels, a database error quoting them), so every character that could move
 * the cursor, end the line or start a terminal escape sequence is printed escaped: a crafted value can
 * neither forge a console line nor recolour, retitle or clear the terminal.
 */

/** C0 controls, DEL, C1 controls (0x9b is a one-byte CSI), Unicode line breaks and bidirectional controls. */
const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/** Text as it may reach a terminal: each unsafe character as a visible escape (`\n`, `\e`, `\u009b`…). */
export function escapeControls(text: string): string {
  return text.replace(unsafe, (c) => named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const dim = (text: string) => `\x1b[2m${text}\x1b[0m`;

/** One ECS line as `level message`, with the request id when there is one; anything else as it came, escaped. */
export function readableLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return escapeControls(line);
    entry = parsed as Record<string, unknown>;
  } catch {
    return escapeControls(line);
  }
  const show = (value: unknown) => escapeControls(String(value));
  const level = show(entry['log.level'] ?? '').padEnd(5);
  const id = entry['http.request.id'] ? ` ${dim(show(entry['http.request.id']))}` : '';
  const duration = typeof entry['event.duration'] === 'number' ? ` ${(entry['event.duration'] / 1e6).toFixed(1)} ms` : '';
  const error = entry['error.message'] ?? (entry.error as { message?: unknown } | undefined)?.message;
  return `${level} ${show(entry.message)}${duration}${id}${error ? ` (${show(error)})` : ''}`;
}
