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

export function isKauditError(e: unknown): e is UsageError | InputError | StrictError {
  return e instanceof UsageError || e instanceof InputError || e instanceof StrictError;
}
