// RFC 3339 timestamps with microseconds, as the API server writes them (metav1.MicroTime marshals
// with RFC3339Micro; the legacy v1beta1 `timestamp` with RFC 3339). Calendar-impossible values
// (2026-02-30, 24:00:00) are not timestamps: Date.parse would roll them over into another day.

function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Days in a month of the proleptic Gregorian calendar (month 1-12). */
function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to a day of the proleptic Gregorian calendar (month 1-12), as ECMA-262's
 * MakeDay computes them (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil).
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The day strictUtc last computed (year × 10000 + month × 100 + day) and its daysFromCivil: a log's timestamps are mostly of one day. */
let lastDay = -1;
let lastDays = 0;

/** The fraction digits after the first three of the last strictUtc call, as parseTimeMs adds them. */
let subMs = 0;

/**
 * `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)` (`t`, `z` and a space for `T` accepted, as RFC 3339
 * §5.6 allows) → epoch ms with the first three fraction digits; NaN when the string is not in
 * that shape or names a day or time that does not exist. Leap seconds (:60) are not accepted:
 * the API server never writes them (Go's time package has none). Sets subMs.
 */
function strictUtc(s: string): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116 && t !== 32) return NaN;
  const c = d2(s, 0);
  const y = d2(s, 2);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const h = d2(s, 11);
  const mi = d2(s, 14);
  const se = d2(s, 17);
  if (c < 0 || y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return NaN;
  const year = c * 100 + y;
  const day = year * 10000 + mo * 100 + d;
  if (day !== lastDay) {
    if (d > 28 && d > daysIn(year, mo)) return NaN;
    lastDays = daysFromCivil(year, mo, d);
    lastDay = day;
  }
  let i = 19;
  let ms = 0;
  // The digits after the first three, as parseTimeMs has always added them: each times 10^-k, in order.
  let frac = 0;
  if (s.charCodeAt(i) === 46) {
    i++;
    let digits = 0;
    let scale = 0.1;
    for (; i < n; i++) {
      const x = s.charCodeAt(i) - 48;
      if (x < 0 || x > 9) break;
      if (digits < 3) ms = ms * 10 + x;
      else {
        frac += x * scale;
        scale /= 10;
      }
      digits++;
    }
    if (digits === 0) return NaN;
    if (digits < 3) ms *= digits === 1 ? 100 : 10;
  }
  let offset = 0;
  const z = s.charCodeAt(i);
  if (z === 90 || z === 122) {
    if (i !== n - 1) return NaN;
  } else if ((z === 43 || z === 45) && i + 6 === n && s.charCodeAt(i + 3) === 58) {
    const oh = d2(s, i + 1);
    const om = d2(s, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offset = (z === 43 ? 1 : -1) * (oh * 60 + om) * 60_000;
  } else return NaN;
  subMs = frac;
  // What Date.UTC(year, mo - 1, d, h, mi, se) gives (for the years 0-99 too, which Date.UTC would
  // read as 1900-1999), without the call: whole numbers of ms, exact in a double.
  const utc = lastDays * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000;
  return utc + ms - offset;
}

/** Epoch milliseconds, keeping the sub-millisecond digits that Date.parse drops; NaN when not an RFC 3339 time. */
export function parseTimeMs(s: string): number {
  const ms = strictUtc(s);
  if (ms !== ms) return NaN;
  return subMs === 0 ? ms : ms + subMs;
}

/** Formats epoch ms as RFC 3339 UTC with milliseconds (deterministic, no locale). */
export function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(Math.floor(ms)).toISOString() : '';
}
