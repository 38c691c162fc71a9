// Errors that carry an exit code and a fix. Only bin/ turns them into process.exitCode.

/** A bad flag or flag value: exit 2, with the flag named and how to fix it. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly fix: string,
    readonly code = 'usage',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An input that does not exist or cannot be read: exit 2, naming the path. */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly fix: string,
    readonly code = 'input',
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/** Raised under --strict at the first bad line: exit 2. */
export class StrictError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'StrictError';
  }
}

/**
 * A failure of kaudit itself: an exception in a reducer, a detection rule, a renderer, a worker
 * thread or any other part of kaudit's own code. It is never taken for the end or a defect of the
 * input: the run stops, nothing is printed as if complete, no report file is written, and the CLI
 * exits 2 naming the command, the component and the input position. Always a bug.
 */
export class InternalError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    /** The part of kaudit that failed: reader, normalize, collapse, filter, reducer, rule, renderer, worker, … */
    readonly component: string,
    /** Where in the input it happened (`file:line`, `file: item N`), or '' when not while reading. */
    readonly where: string,
    /** The stack of the original exception. */
    readonly origin: string,
  ) {
    super(message);
    this.name = 'InternalError';
  }
}

/** True for errors that are about the input or the command line (exit 2 with their own message). */
export function isKauditError(e: unknown): e is UsageError | InputError | StrictError {
  return e instanceof UsageError || e instanceof InputError || e instanceof StrictError;
}

/**
 * The one place that tells input errors from kaudit's own: an error thrown while kaudit's code was
 * handling a value becomes an InternalError naming the component and the input position. Usage,
 * input and --strict errors, and errors already classified, pass through unchanged.
 */
export function asInternal(e: unknown, component: string, where: string): unknown {
  if (isKauditError(e)) return e;
  // Classified deeper down (a rule, a renderer) without knowing the input position: add it.
  if (e instanceof InternalError) return e.where || !where ? e : new InternalError(e.message, e.component, where, e.origin);
  const err = e instanceof Error ? e : new Error(String(e));
  return new InternalError(err.message, component, where, err.stack ?? err.message);
}
