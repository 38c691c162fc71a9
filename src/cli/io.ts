// The process boundary, injectable for tests: streams, environment and the clock live here only.
import { jsonForTerminal } from '../render/sanitize.js';
import type { RenderContext } from '../types.js';
export interface IO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Clock for relative --since/--until; tests pin it. */
  now(): number;
}

export function processIO(): IO {
  blockingPipe(process.stdout);
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, now: () => Date.now() };
}

/**
 * Makes writes to a pipe wait for the reader (`audit … | jq`). Node writes to a pipe asynchronously,
 * and kaudit's writers are synchronous loops (src/render/stream.ts), so without this the whole
 * output queues in memory before the event loop sends its first byte (issue 15: 400 MB more peak
 * RSS for a 75 MB baseline file). Files are written synchronously already, and terminals too on
 * POSIX. A reader that goes away still ends the run with EPIPE, as before.
 */
function blockingPipe(s: NodeJS.WriteStream): void {
  const h = (s as unknown as { _handle?: { setBlocking?: (on: boolean) => number } })._handle;
  if (!s.isTTY && h && typeof h.setBlocking === 'function') h.setBlocking(true);
}

/** Colour on stdout: a TTY, NO_COLOR unset or empty, TERM not dumb; FORCE_COLOR (non-empty, not 0/false) overrides. */
export function useColor(io: IO): boolean {
  const env = io.env;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return io.stdout.isTTY === true;
}

/**
 * The width terminal tables fit: COLUMNS when it is set to a positive whole number, else the
 * terminal's width when stdout is one; undefined (no limit) for a pipe or a file, which get every
 * column in full, as kubectl prints them.
 */
export function terminalWidth(io: IO): number | undefined {
  const c = io.env.COLUMNS;
  if (c !== undefined && /^\d+$/.test(c.trim()) && Number(c) > 0) return Number(c);
  if (io.stdout.isTTY === true && typeof io.stdout.columns === 'number' && io.stdout.columns > 0) return io.stdout.columns;
  return undefined;
}

/** How reports are rendered for this process: colour and the terminal's width. */
export function renderContext(io: IO): RenderContext {
  const width = terminalWidth(io);
  return { color: useColor(io), ...(width !== undefined ? { width } : {}) };
}

/**
 * When stdout is a terminal, every byte written to it passes jsonForTerminal: JSON, JSON lines and
 * SARIF keep their values but carry DEL, C1, bidi and other format characters as `\uXXXX`, so no
 * report runs escape sequences or reorders text on screen (the other formats never hold them raw).
 * A file or pipe gets the exact bytes. Returns `io` itself when stdout is not a terminal.
 */
export function terminalSafe(io: IO): IO {
  const raw = io.stdout;
  if (raw.isTTY !== true) return io;
  const write = (chunk: unknown, ...rest: unknown[]): boolean =>
    (raw.write as (...a: unknown[]) => boolean).call(raw, typeof chunk === 'string' ? jsonForTerminal(chunk) : chunk, ...rest);
  const stdout = new Proxy(raw, {
    get(target, prop) {
      if (prop === 'write') return write;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { ...io, stdout };
}
