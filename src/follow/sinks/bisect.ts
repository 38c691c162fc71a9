// HTTP receivers that refuse a whole request for its content (400, 413, 422) do not always say which
// item was bad. The request is split in halves until the items the receiver refuses stand alone;
// only those go to the dead-letter file, everything else is delivered.
import type { Item, SendOutcome } from '../types.js';
import { SinkError } from '../types.js';

/** What one request got back: per-item results, or "split me" with the receiver's reason. */
export type Attempt = SendOutcome | { bisect: string };

export async function sendBisecting(items: Item[], attempt: (items: Item[]) => Promise<Attempt>, top = true): Promise<SendOutcome> {
  let r: Attempt;
  try {
    r = await attempt(items);
  } catch (e) {
    // The first request failing is the engine's business (retry all); a half failing keeps what the other half achieved.
    if (top || !(e instanceof SinkError)) throw e;
    return { results: items.map(() => 'retry'), error: e.message, ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) };
  }
  if (!('bisect' in r)) return r;
  if (items.length === 1) return { results: [{ rejected: r.bisect }] };
  const mid = Math.ceil(items.length / 2);
  const a = await sendBisecting(items.slice(0, mid), attempt, false);
  const b = await sendBisecting(items.slice(mid), attempt, false);
  const out: SendOutcome = { results: [...a.results, ...b.results], duplicates: (a.duplicates ?? 0) + (b.duplicates ?? 0) };
  const after = Math.max(a.retryAfterMs ?? -1, b.retryAfterMs ?? -1);
  if (after >= 0) out.retryAfterMs = after;
  const error = a.error ?? b.error;
  if (error) out.error = error;
  return out;
}

/** The status classes every HTTP sink shares. */
export function httpClass(status: number): 'ok' | 'content' | 'retry' | 'config' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 400 || status === 413 || status === 422) return 'content';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'config';
}

/** A short, printable excerpt of a response body for messages and dead-letter reasons. */
export function excerpt(body: string, max = 300): string {
  const s = body.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
