// Splits the inputs into tasks for worker threads: large plain JSON-lines files into byte ranges
// aligned to line starts; gzip, stdin, documents, YAML and CSV go whole (they cannot be split).
import { open, type FileHandle } from 'node:fs/promises';
import type { Source } from '../ingest/sources.js';
import { detectHead } from '../ingest/detect.js';
import { headIsEnough, READ_CHUNK, unreadableEncoding } from '../ingest/reader.js';

export interface Task {
  index: number;
  source: Source;
  /** Ranges are read as JSON lines: the whole file was detected as such (a range's first line may not tell). */
  format?: 'jsonl';
}

import { minRange } from './pool.js';

export { minRange };

/**
 * Bytes of a task at most, when a file is cut into more tasks than workers (KAUDIT_TASK_BYTES:
 * tests make it small). A file up to jobs × this is cut into one range per worker: each task costs
 * its worker a partial run's windows (tens of MB of typed arrays allocated, filled and collected),
 * its posted results, and the main thread a merge, and two tasks per worker balance nothing a
 * single one does not (a worker slower throughout is as late either way). On the 1 GB Metadata
 * log, two tasks instead of four: 0.25 s less CPU in all, peak RSS 240 MB instead of 285-300
 * (bench/RESULTS.md, issue 19, fourth session). Many larger files still make many tasks.
 */
export function taskBytes(): number {
  return Number(process.env.KAUDIT_TASK_BYTES) || 512 << 20;
}

/** The first line start after `pos` (the byte after the next newline), or `size`. */
export async function lineStartAfter(fh: FileHandle, pos: number, size: number): Promise<number> {
  const buf = Buffer.alloc(READ_CHUNK);
  for (let p = pos; p < size; p += buf.length) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, p);
    if (bytesRead === 0) break;
    const nl = buf.subarray(0, bytesRead).indexOf(10);
    if (nl >= 0) return p + nl + 1;
  }
  return size;
}

/** `format`: the user's --format; only JSON lines (forced, or detected from the file's head) can be split. */
export async function splittable(fh: FileHandle, format: string): Promise<boolean> {
  if (format !== 'auto' && format !== 'jsonl') return false;
  // The reader's own detection, on the same chunks of the file's head.
  const chunks: Buffer[] = [];
  let len = 0;
  let complete = false;
  for (;;) {
    const chunk = Buffer.alloc(READ_CHUNK);
    const { bytesRead } = await fh.read(chunk, 0, READ_CHUNK, len);
    if (bytesRead === 0) {
      complete = true;
      break;
    }
    chunks.push(chunk.subarray(0, bytesRead));
    len += bytesRead;
    if (headIsEnough(len, chunks.at(-1)!)) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return false;
  if (unreadableEncoding(head)) return false;
  return format === 'jsonl' || detectHead(head, complete) === 'jsonl';
}

export async function planTasks(sources: Source[], jobs: number, format = 'auto'): Promise<Task[]> {
  const tasks: Task[] = [];
  for (const src of sources) {
    if (src.path === '-' || src.duplicateOf !== undefined || src.size < 2 * minRange()) {
      tasks.push({ index: tasks.length, source: src });
      continue;
    }
    const fh = await open(src.path, 'r');
    try {
      if (!(await splittable(fh, format))) {
        tasks.push({ index: tasks.length, source: src });
        continue;
      }
      // One range per worker at least, and none larger than taskBytes().
      const parts = Math.max(jobs, Math.ceil(src.size / taskBytes()));
      const n = Math.min(parts, Math.floor(src.size / minRange()));
      let start = 0;
      for (let i = 1; i <= n; i++) {
        const end = i === n ? src.size : await lineStartAfter(fh, Math.floor((i * src.size) / n), src.size);
        if (end > start) tasks.push({ index: tasks.length, source: { ...src, start, end, size: end - start }, format: 'jsonl' });
        start = end;
      }
    } finally {
      await fh.close();
    }
  }
  return tasks;
}

/**
 * `--shard I/N`: the I-th (0-based) of N stable, contiguous shares of the inputs, so that N workers
 * that list the same inputs each take theirs without coordination and the shares, in order, are
 * the inputs in order. The inputs are laid end to end and cut at N-1 byte offsets (k·total/N); a
 * cut inside a JSON-lines file moves to the next line start (as planTasks does), a file that cannot
 * be split (gzip, documents, YAML, CSV, or `split` false) goes whole to the share that holds its
 * middle byte. A share may be empty. Returns its sources (byte ranges carry start/end).
 */
export async function planShard(sources: Source[], index: number, count: number, opts: { format?: string; split?: boolean } = {}): Promise<Source[]> {
  const total = sources.reduce((n, s) => n + s.size, 0);
  const cut = (k: number): number => Math.floor((k * total) / count);
  const shardOf = (pos: number): number => {
    // The number of cuts at or before pos: cuts are k·total/N for k = 1…N-1.
    let k = Math.min(count - 1, Math.floor((pos * count) / Math.max(total, 1)));
    while (k + 1 < count && cut(k + 1) <= pos) k++;
    while (k > 0 && cut(k) > pos) k--;
    return k;
  };
  const out: Source[] = [];
  let offset = 0;
  for (const src of sources) {
    const at = offset;
    offset += src.size;
    if (src.path === '-') throw new Error('stdin cannot be sharded');
    const first = shardOf(at);
    const last = shardOf(Math.max(at, at + src.size - 1));
    let whole = first === last || src.size === 0 || opts.split === false;
    if (!whole) {
      const fh = await open(src.path, 'r');
      try {
        if (!(await splittable(fh, opts.format ?? 'auto'))) whole = true;
        else {
          // Cuts inside this file, moved to line starts; piece k runs from cut k to cut k+1.
          let start = 0;
          for (let k = first; k <= last; k++) {
            const end = k === last ? src.size : await lineStartAfter(fh, cut(k + 1) - at, src.size);
            if (k === index && end > start) out.push({ ...src, start, end, size: end - start });
            start = Math.max(start, end);
          }
        }
      } finally {
        await fh.close();
      }
    }
    if (whole && shardOf(at + Math.floor(src.size / 2)) === index && src.size > 0) out.push(src);
    else if (whole && src.size === 0 && shardOf(at) === index) out.push(src);
  }
  return out;
}
