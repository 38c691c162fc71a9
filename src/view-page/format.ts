// How the page writes times, durations and counts. Pure (no DOM), deterministic for a given zone.

const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const p3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/** `2026-03-02 10:00:00.012` in UTC, or in the browser's zone with its offset (`+01:00`); '–' for no time. */
export function formatTime(ms: number, local: boolean): string {
  if (!Number.isFinite(ms)) return '–';
  const d = new Date(Math.floor(ms));
  if (!local) return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${p3(d.getUTCMilliseconds())}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${p3(d.getMilliseconds())}`;
}

/** The zone label shown next to times: `UTC`, or `UTC+01:00` for local time. */
export function zoneLabel(local: boolean, at: number = Date.now()): string {
  if (!local) return 'UTC';
  const off = -new Date(Number.isFinite(at) ? at : Date.now()).getTimezoneOffset();
  const a = Math.abs(off);
  return `UTC${off < 0 ? '-' : '+'}${p2(Math.floor(a / 60))}:${p2(a % 60)}`;
}

/** RFC 3339 UTC with milliseconds, for the URL fragment and the time inputs. */
export function isoTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

/** Milliseconds, rounded to 0.1 ms: `12.5 ms`, `2.3 s` from 10 s up; '–' when unknown. */
export function formatMs(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '–';
  return v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v * 10) / 10} ms`;
}

/** 1234567 → `1,234,567` (locale-independent). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
