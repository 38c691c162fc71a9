// From bytes read to whole lines with their end offsets. The parsing itself is the batch reader's
// (ingest readLines: CR, blank lines, --max-line-bytes, `not JSON` reasons), run over the region of
// whole lines; a partial last line waits in the file's `partial` until its newline is written.
import { readLines, type IngestSink } from '../ingest/reader.js';
import type { Loc } from '../types.js';
import type { TrackedFile } from './tracked.js';

export interface LineHandler {
  /** A JSON value from line `line` (1-based, whole file) ending at byte `end`; `text` gives the line as written. */
  value(v: unknown, loc: Loc, end: number, text: () => string): void | Promise<void>;
  /** A line that is not JSON, or too long: counted and reported, never forwarded. */
  reject(loc: Loc, end: number, reason: string): void | Promise<void>;
}

type Entry = { v: unknown; loc: Loc; reason?: undefined } | { v?: undefined; loc: Loc; reason: string };

/** Newline positions in a buffer. */
function newlines(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) out.push(i);
  return out;
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Parses the whole lines of `region` (which ends with a newline, or is a final line without one). */
async function parseRegion(region: Buffer, file: string, maxLineBytes: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  const sink: IngestSink = {
    value: (v, loc) => void entries.push({ v, loc }),
    reject: (loc, reason) => void entries.push({ loc, reason }),
  };
  await readLines(once(region), file, sink, maxLineBytes);
  return entries;
}

async function handleRegion(f: TrackedFile, region: Buffer, start: number, maxLineBytes: number, h: LineHandler, final: boolean): Promise<void> {
  const nl = newlines(region);
  const line0 = f.line;
  const entries = await parseRegion(region, f.name, maxLineBytes);
  for (const e of entries) {
    const n = e.loc.line;
    const from = n === 1 ? 0 : nl[n - 2]! + 1;
    const to = n - 1 < nl.length ? nl[n - 1]! : region.length;
    // The checkpoint position moves line by line, so that a batch sealed here ends at a line boundary.
    f.offset = start + Math.min(region.length, to + 1);
    f.line = line0 + n;
    const loc: Loc = { file: f.name, line: line0 + n, unit: 'line' };
    if (e.reason !== undefined) await h.reject(loc, f.offset, e.reason);
    else await h.value(e.v, loc, f.offset, () => region.toString('utf8', from, to).trim());
  }
  f.offset = start + region.length;
  f.line = line0 + nl.length + (final && region.length > 0 && region[region.length - 1] !== 10 ? 1 : 0);
}

/**
 * Hands on the whole lines in `chunk` (just read from `f`, which ends at f.readPos) and keeps the
 * partial last line. A line longer than maxLineBytes is dropped as it streams in and rejected once
 * its newline arrives. `final`: the file is finished (rotated and drained, or a gzip backup at its
 * end), so a last line without a newline is a line.
 */
export async function consume(f: TrackedFile, chunk: Buffer | null, maxLineBytes: number, h: LineHandler, final = false): Promise<void> {
  f.busy = true;
  try {
    await consumeChunk(f, chunk, maxLineBytes, h, final);
  } finally {
    f.busy = false;
  }
}

async function consumeChunk(f: TrackedFile, chunk: Buffer | null, maxLineBytes: number, h: LineHandler, final: boolean): Promise<void> {
  let buf: Buffer = chunk ?? Buffer.alloc(0);
  if (f.partial) {
    if (chunk && !final && chunk.indexOf(10) < 0) {
      // Only the new bytes can end the held line: they are held too, and what is held is neither
      // copied nor searched again (a line of n bytes costs O(n), not O(n²/chunk)).
      if (f.partialLength + chunk.length > maxLineBytes) {
        f.partial = null;
        f.partialLength = 0;
        f.skipping = true;
      } else {
        f.partial.push(Buffer.from(chunk));
        f.partialLength += chunk.length;
      }
      return;
    }
    buf = Buffer.concat(chunk ? [...f.partial, chunk] : f.partial);
    f.partial = null;
    f.partialLength = 0;
  }
  let start = f.readPos - buf.length;
  if (f.skipping) {
    const i = buf.indexOf(10);
    if (i < 0) {
      if (final) {
        f.skipping = false;
        f.offset = f.readPos;
        f.line++;
        await h.reject({ file: f.name, line: f.line, unit: 'line' }, f.offset, `line longer than ${maxLineBytes} bytes (--max-line-bytes)`);
      }
      return;
    }
    f.skipping = false;
    f.offset = start + i + 1;
    f.line++;
    await h.reject({ file: f.name, line: f.line, unit: 'line' }, f.offset, `line longer than ${maxLineBytes} bytes (--max-line-bytes)`);
    buf = buf.subarray(i + 1);
    start += i + 1;
  }
  const last = buf.lastIndexOf(10);
  if (final) {
    if (buf.length > 0) await handleRegion(f, buf, start, maxLineBytes, h, true);
    f.offset = f.readPos;
    return;
  }
  if (last >= 0) await handleRegion(f, buf.subarray(0, last + 1), start, maxLineBytes, h, false);
  const rest = buf.subarray(last + 1);
  if (rest.length > maxLineBytes) {
    f.skipping = true;
    f.partial = null;
  } else if (rest.length > 0) {
    f.partial = [Buffer.from(rest)];
    f.partialLength = rest.length;
  }
}
