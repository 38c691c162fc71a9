// RFC 3339 timestamps with microseconds, as the API server writes them.

/** Epoch milliseconds, keeping the sub-millisecond digits that Date.parse drops; NaN when unparseable. */
export function parseTimeMs(s: string): number {
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return NaN;
  const dot = s.indexOf('.', 19);
  if (dot < 0) return ms;
  let i = dot + 4;
  let frac = 0;
  let scale = 0.1;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    frac += d * scale;
    scale /= 10;
  }
  return ms + frac;
}

/** Formats epoch ms as RFC 3339 UTC with milliseconds (deterministic, no locale). */
export function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(Math.floor(ms)).toISOString() : '';
}
