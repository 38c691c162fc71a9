// Inputs whose content repeats an earlier input's (the same file under two names, a copied or
// rotated copy next to the original): read once, the copies skipped with a note. Reading them again
// would count every request twice once the copies are further apart than the collapse window.
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Source } from './sources.js';

/** Bytes hashed at each end of a file to decide whether two files of one size need a full look. */
const EDGE = 1 << 16;

async function edges(path: string, size: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    const n = Math.min(EDGE, size);
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, 0);
    h.update(buf);
    if (size > EDGE) {
      const m = Math.min(EDGE, size - EDGE);
      const tail = Buffer.alloc(m);
      await fh.read(tail, 0, m, size - m);
      h.update(tail);
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

async function fullHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * Marks each input whose bytes equal an earlier input's with `duplicateOf` (that input's path).
 * Files of equal size are compared by a hash of their first and last 64 KiB, and only when those
 * match by a hash of the whole file (or by device and inode: the same file under two names).
 * Stdin, byte ranges and empty files are never duplicates. Returns the sources in the same order.
 */
export async function markDuplicateInputs(sources: Source[]): Promise<Source[]> {
  const bySize = new Map<number, number[]>();
  sources.forEach((s, i) => {
    if (s.path === '-' || s.start !== undefined || s.size === 0) return;
    const list = bySize.get(s.size);
    if (list) list.push(i);
    else bySize.set(s.size, [i]);
  });
  const out = sources.slice();
  for (const [size, idx] of bySize) {
    if (idx.length < 2) continue;
    /** Earlier inputs of this size: by `dev:ino`, and by the hash of their edges. */
    const byInode = new Map<string, number>();
    const byEdges = new Map<string, number[]>();
    const full = new Map<number, string>();
    const fullOf = async (i: number): Promise<string> => {
      let h = full.get(i);
      if (h === undefined) full.set(i, (h = await fullHash(sources[i]!.path)));
      return h;
    };
    for (const i of idx) {
      const path = sources[i]!.path;
      let st;
      try {
        st = await stat(path);
      } catch {
        continue; // the reader reports it
      }
      const inode = `${st.dev}:${st.ino}`;
      let orig = byInode.get(inode);
      if (orig === undefined) {
        const e = await edges(path, size);
        const cands = byEdges.get(e) ?? [];
        for (const c of cands) {
          if ((await fullOf(c)) === (await fullOf(i))) {
            orig = c;
            break;
          }
        }
        if (orig === undefined) byEdges.set(e, [...cands, i]);
        byInode.set(inode, orig ?? i);
      }
      if (orig !== undefined) out[i] = { ...sources[i]!, duplicateOf: sources[orig]!.path };
    }
  }
  return out;
}
