// RFC 3339 timestamps with microseconds, as the API server writes them.

function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common shape `YYYY-MM-DDTHH:MM:SS[.fff…]Z` without Date.parse (a sixth of the pipeline's
 * time was spent there); -1 when the string is not in that shape, NaN never.
 */
function fastUtc(s: string): number {
  if (s.length < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return -1;
  const c = d2(s, 0);
  const y = d2(s, 2);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const h = d2(s, 11);
  const mi = d2(s, 14);
  const se = d2(s, 17);
  // Days past 28 go to Date.parse, which knows month lengths.
  if (c < 0 || y < 0 || mo < 1 || mo > 12 || d < 1 || d > 28 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return -1;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    let digits = 0;
    for (; i < s.length; i++) {
      const x = s.charCodeAt(i) - 48;
      if (x < 0 || x > 9) break;
      if (digits < 3) ms = ms * 10 + x;
      digits++;
    }
    if (digits === 0) return -1;
    if (digits < 3) ms *= digits === 1 ? 100 : 10;
  }
  if (i !== s.length - 1 || s.charCodeAt(i) !== 90) return -1;
  return Date.UTC(c * 100 + y, mo - 1, d, h, mi, se) + ms;
}

/** Epoch milliseconds, keeping the sub-millisecond digits that Date.parse drops; NaN when unparseable. */
export function parseTimeMs(s: string): number {
  const fast = fastUtc(s);
  const ms = fast >= 0 ? fast : Date.parse(s);
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
