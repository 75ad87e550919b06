import { describe, expect, it } from 'vitest';
import { escapeControls, readableLogLine } from '../devConsole.js';

/** What the formatter itself adds around a request id (dim, then reset): the only escapes allowed out. */
const withoutOwnStyling = (text: string) => text.replaceAll('\x1b[2m', '').replaceAll('\x1b[0m', '');
const terminalControls = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const ecs = (fields: Record<string, unknown>) => JSON.stringify({ '@timestamp': '2026-01-01T00:00:00.000Z', 'log.level': 'error', ...fields });

describe('npm run dev console lines', () => {
  // Named, not printed: the test reporter would send these to the terminal itself.
  const hostile: [string, string][] = [
    ['a newline and a forged line', 'title\ninfo  forged line from course'],
    ['a carriage return and erase-line', 'title\r\u001b[2Kinfo  overwritten'],
    ['a window-title OSC', '\u001b]0;new terminal title\u0007'],
    ['clear-screen CSI', '\u001b[2J\u001b[H cleared'],
    ['a one-byte C1 CSI', '\u009b31m C1 CSI in red'],
    ['Unicode line and paragraph separators', 'next\u2028line\u2029para'],
    ['bidirectional overrides and isolates', 'right-to-left \u202egnirts\u202c and \u2066isolate\u2069'],
    ['tab, NUL, DEL and NEL', 'tab\tand\u0000nul\u007fdel\u0085nel'],
  ];

  it.each(hostile)('prints %s in a message, an error and a request id as one line, escaped', (_name, text) => {
    const out = readableLogLine(ecs({ message: text, 'error.message': `duplicate key value (title)=(${text})`, 'http.request.id': text }));
    expect(withoutOwnStyling(out)).not.toMatch(terminalControls);
    expect(out).toContain(escapeControls(text));
    expect(out.split('\n')).toHaveLength(1);
  });

  it('escapes a nested error message and a line that is not JSON', () => {
    expect(readableLogLine(ecs({ message: 'failed', error: { message: 'a\u001b[31mb' } }))).toBe('error failed (a\\e[31mb)');
    expect(readableLogLine('plain \u001b[31mred\u001b[0m text')).toBe('plain \\e[31mred\\e[0m text');
    expect(readableLogLine('"json but \\u001b not an object"')).toBe('"json but \\u001b not an object"');
  });

  it('writes escapes visibly and leaves other text alone', () => {
    expect(escapeControls('a\nb\rc\td\u001be\u0000f\u009bg\u2028h')).toBe('a\\nb\\rc\\td\\ee\\u0000f\\u009bg\\u2028h');
    expect(escapeControls('Ålgebra 代数 🧮 "quoted" \\ back\uFEFF')).toBe('Ålgebra 代数 🧮 "quoted" \\ back\uFEFF');
  });

  it('keeps the readable shape: level, message, duration, request id, error', () => {
    const out = readableLogLine(ecs({ 'log.level': 'info', message: 'GET /api/courses', 'event.duration': 1_500_000, 'http.request.id': 'req-1' }));
    expect(out).toBe('info  GET /api/courses 1.5 ms \x1b[2mreq-1\x1b[0m');
  });
});
