// Retries: exponential backoff with jitter, and the server's Retry-After when it sends one.

export interface RetryPolicy {
  /** First wait, in ms. */
  initialMs: number;
  /** Longest computed wait, in ms. */
  maxMs: number;
}

/** A Retry-After longer than this (15 minutes) is capped: the sink is retried, not given up on. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * The wait before retry number `attempt` (1-based): min(max, initial·2^(attempt−1)), with "equal
 * jitter" (half fixed, half random) so that many shippers behind one collector do not retry in step.
 * `random` is in [0, 1).
 */
export function backoffMs(p: RetryPolicy, attempt: number, random: number = Math.random()): number {
  const exp = Math.min(p.maxMs, p.initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns ms from `now`, or
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(v: string | string[] | undefined, now: number): number | undefined {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Math.min(MAX_RETRY_AFTER_MS, Number(s) * 1000);
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, t - now));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
