// Inputs in time order: each file's first events are read (a peek, stopped early) and the files
// are sorted by the earliest requestReceivedTimestamp among them. Rotated logs given in any order
// (`audit-day2.log audit-day1.log`, or a directory whose names do not sort by time) are then read
// oldest first, and the bounded reorder stage (reorder.ts) only has to mend the small disorder
// inside and between neighbouring files.
import type { Source } from '../ingest/sources.js';
import { readSource, type ReadOptions, DEFAULT_READ_OPTIONS } from '../ingest/reader.js';
import { containerOf } from '../ingest/containers.js';
import { normalizeValue, Ignored } from '../normalize/index.js';
import { StrictError } from '../util/errors.js';

/** How many events of a file the peek looks at. */
export const PEEK_EVENTS = 64;

/** Thrown by the peek's sink to stop reading: readers pass StrictError through, as under --strict. */
class PeekDone extends StrictError {
  constructor() {
    super('peek done');
  }
}

/**
 * The earliest requestReceivedTimestamp (epoch ms) among the first `PEEK_EVENTS` events of a
 * source; NaN when it has none (empty, unreadable, no times) or is stdin (which cannot be read twice).
 * Never throws on bad content; I/O errors (a missing file) are left to the real read to report.
 */
export async function firstTimeMs(src: Source, read: ReadOptions = DEFAULT_READ_OPTIONS): Promise<number> {
  if (src.path === '-') return NaN;
  let min = NaN;
  let seen = 0;
  const one = (v: unknown): void => {
    const r = normalizeValue(v, src.cluster);
    if (typeof r !== 'string' && !(r instanceof Ignored) && Number.isFinite(r.timeMs) && !(r.timeMs >= min)) min = r.timeMs;
    if (++seen >= PEEK_EVENTS) throw new PeekDone();
  };
  try {
    await readSource(
      src,
      {
        value(v) {
          const c = containerOf(v);
          if (c === null) one(v);
          else for (const item of c.items) one(item);
        },
        reject() {},
      },
      { ...read, hash: false, prefilter: undefined },
    );
  } catch (e) {
    if (!(e instanceof PeekDone)) return NaN;
  }
  return min;
}

/**
 * The sources sorted by `firstTimeMs`, oldest first; sources without a time first (stdin is read
 * where nothing is known of it: at the start); ties by path, so that the order given never matters.
 */
export async function sortSourcesByTime(sources: Source[], read: ReadOptions = DEFAULT_READ_OPTIONS): Promise<Source[]> {
  if (sources.length < 2) return sources;
  const keyed: { src: Source; t: number; i: number }[] = [];
  for (let i = 0; i < sources.length; i++) keyed.push({ src: sources[i]!, t: await firstTimeMs(sources[i]!, read), i });
  const k = (x: { t: number }): number => (Number.isFinite(x.t) ? x.t : -Infinity);
  return keyed.sort((a, b) => k(a) - k(b) || (a.src.path < b.src.path ? -1 : a.src.path > b.src.path ? 1 : a.i - b.i)).map((x) => x.src);
}
