// The process boundary, injectable for tests: streams, environment and the clock live here only.
export interface IO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Clock for relative --since/--until; tests pin it. */
  now(): number;
}

export function processIO(): IO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, now: () => Date.now() };
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
