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

/** Colour on stdout: a TTY, NO_COLOR unset or empty, TERM not dumb; FORCE_COLOR overrides. */
export function useColor(io: IO): boolean {
  const env = io.env;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return io.stdout.isTTY === true;
}
