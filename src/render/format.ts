// One way to print times, durations and counts in everything a person reads (tables, Markdown,
// HTML, stderr). Machine formats (JSON, JSON lines, CSV of records, SARIF, YAML) keep values exact.

const RFC3339 = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * A timestamp for people: RFC 3339 in UTC with exactly three fraction digits and `Z`
 * (`2026-03-02T00:00:34.294Z`), from epoch milliseconds or from an RFC 3339 string (the API
 * server writes microseconds; the digits past the millisecond are dropped, not rounded, so a time
 * never moves into the next millisecond). Anything else is returned unchanged; NaN and null give ''.
 */
export function displayTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return '';
  if (typeof t === 'number') return Number.isFinite(t) ? new Date(Math.floor(t)).toISOString() : '';
  const m = RFC3339.exec(t);
  if (!m) return t;
  const frac = (m[3] ?? '').slice(0, 3).padEnd(3, '0');
  if (m[4]!.toUpperCase() === 'Z') return `${m[1]}T${m[2]}.${frac}Z`;
  const ms = Date.parse(`${m[1]}T${m[2]}.${frac}${m[4]}`);
  return Number.isNaN(ms) ? t : new Date(ms).toISOString();
}

/** `A → B` with both ends as {@link displayTime}; `-` for an end that is missing. */
export function displayWindow(from: string | number | null | undefined, to: string | number | null | undefined): string {
  return `${displayTime(from) || '-'} → ${displayTime(to) || '-'}`;
}

/** Up to three significant digits, without trailing zeros: 2.99, 19, 116, 0.5. */
function sig3(v: number): string {
  if (v === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(v))));
  return String(Number(v.toFixed(digits)));
}

/**
 * A duration for people, from milliseconds: below a second in ms with up to three significant
 * digits (`2.99 ms`, `19 ms`, `116 ms`); below an hour in seconds with one decimal (`1.2 s`,
 * `125.6 s`); beyond that in hours with two (`2.51 h`). null → `-`.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 999.5) return `${sig3(ms)} ms`;
  if (ms < 3_600_000 - 50) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 3_600_000).toFixed(2)} h`;
}

/** `1 rule`, `2 rules`; `plural` when the word does not just take an s (`1 policy`, `2 policies`). */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
