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

/** Ranges smaller than this are not worth a worker's start-up (KAUDIT_MIN_RANGE_BYTES: tests make it small). */
export function minRange(): number {
  return Number(process.env.KAUDIT_MIN_RANGE_BYTES) || 64 << 20;
}

async function lineStartAfter(fh: FileHandle, pos: number, size: number): Promise<number> {
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
async function splittable(fh: FileHandle, format: string): Promise<boolean> {
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
      // Two ranges per worker at least, so that a fast worker takes more.
      const parts = Math.max(2 * jobs, Math.ceil(src.size / (256 << 20)));
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
