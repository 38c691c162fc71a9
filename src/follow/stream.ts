// One followed path, as `tail -F` follows it: appends; rotation by rename (the old file is finished
// through its open descriptor, then the new one is read from its start); truncation (read again from
// 0, and said so); a path that appears later. After a restart, the checkpoint's files are found by
// identity (renamed, or renamed and gzipped), rotated files that appeared meanwhile are read in order,
// and a file deleted before it was read to the end is reported as a gap with its size.
import { stat } from 'node:fs/promises';
import type { FileIdentity, StreamState, FileState } from './types.js';
import { TrackedFile } from './tracked.js';
import { headMatches, identityOf, sameContent, sameFile } from './identity.js';
import { candidate, rotatedSiblings, type Candidate } from './rotated.js';
import type { StreamProcessor } from './records.js';

/** Rotated files remembered as read, at most (pruned to those still on disk at each rotation). */
const MAX_FINISHED = 1000;

export interface StreamEvents {
  /** Something an operator should read (rotation, truncation). */
  note(msg: string): void;
  /** Data that will never be forwarded: loud, counted. */
  gap(msg: string, bytes: number): void;
}

export interface StreamOptions {
  /** A rotated file is closed once drained and quiet for this long (writers that finish late). */
  rotateWaitMs: number;
  /** No checkpoint for this path: start at the end of the current file instead of its start. */
  startAtEnd: boolean;
}

const known = (ids: FileIdentity[], c: Candidate): boolean => ids.some((k) => sameFile(k, c, c.head) || sameContent(k, c.head));

/** Where the last whole line of a file ends (so that --start-at end never starts inside a line). */
async function lastLineEnd(f: TrackedFile): Promise<number> {
  let pos = f.size;
  while (pos > 0) {
    const from = Math.max(0, pos - 65536);
    f.readPos = from;
    const buf = await f.read();
    if (!buf) break;
    const i = buf.subarray(0, pos - from).lastIndexOf(10);
    if (i >= 0) return from + i + 1;
    pos = from;
  }
  return 0;
}

export class PathStream {
  files: TrackedFile[] = [];
  finished: FileIdentity[] = [];
  truncations = 0;

  constructor(
    readonly path: string,
    readonly processor: StreamProcessor,
    private readonly ev: StreamEvents,
    private readonly o: StreamOptions,
  ) {}

  private async openCandidate(c: Candidate, at?: Pick<FileState, 'offset' | 'line'>, id?: FileIdentity): Promise<TrackedFile> {
    if (c.gzip) return TrackedFile.gzipped(c.path, { ...identityOf(c, c.head), ...(id ? { fpLen: id.fpLen, fp: id.fp } : {}) }, c.size, c.mtimeMs, at);
    const f = await TrackedFile.plain(c.path, at);
    if (at && f.size < at.offset) {
      this.truncations++;
      this.ev.note(`${c.path}: shorter (${f.size} bytes) than the checkpoint (${at.offset}): it was truncated while kaudit was stopped; reading it again from the start`);
      await f.restart();
    }
    return f;
  }

  /** Opens the files to read, from the checkpoint's entry for this path when there is one. */
  async start(saved: StreamState | undefined): Promise<void> {
    const siblings = await rotatedSiblings(this.path);
    const cur = await candidate(this.path);
    if (!saved) {
      // Backups present now were there before us: never read them (audit export reads old files).
      this.finished = siblings.map((c) => identityOf(c, c.head));
      if (cur && !cur.gzip) {
        const f = await TrackedFile.plain(cur.path);
        if (this.o.startAtEnd) {
          f.offset = f.readPos = await lastLineEnd(f);
          f.atEof = false;
        }
        this.files.push(f);
      } else if (!cur) this.ev.note(`${this.path} does not exist yet; waiting for it`);
      return;
    }
    const all = cur ? [...siblings, cur] : siblings;
    const used = new Set<Candidate>();
    for (const s of saved.files) {
      const m = all.find((c) => !used.has(c) && sameFile(s, c, c.head)) ?? all.find((c) => !used.has(c) && sameContent(s, c.head));
      if (!m) {
        const lost = s.size - s.offset;
        if (!s.rotated || lost > 0) {
          const what = `${s.name} (device ${s.dev}, inode ${s.ino}) was deleted before kaudit read it to the end`;
          this.ev.gap(
            lost > 0
              ? `${what}: at least ${lost} bytes (from byte ${s.offset} to its last known size ${s.size}) were never forwarded, and whatever was written after`
              : `${what}: whatever was written to it after byte ${s.offset} (its last known size) was never forwarded`,
            Math.max(0, lost),
          );
        }
        continue;
      }
      used.add(m);
      const f = await this.openCandidate(m, s, s);
      f.rotated = m !== cur;
      if (f.rotated && m.path !== s.name) this.ev.note(`${s.name} was rotated to ${m.path} while kaudit was stopped; finishing it from byte ${s.offset}`);
      this.files.push(f);
    }
    const knownIds: FileIdentity[] = [...saved.finished, ...saved.files];
    for (const c of siblings) {
      if (used.has(c) || known(knownIds, c)) continue;
      this.ev.note(`${c.path}: rotated while kaudit was stopped; reading it whole`);
      const f = await this.openCandidate(c);
      f.rotated = true;
      this.files.push(f);
    }
    if (cur && !used.has(cur)) {
      if (cur.gzip) this.ev.note(`${this.path} is gzip-compressed; waiting for a plain file at this path`);
      else this.files.push(await TrackedFile.plain(cur.path));
    }
    this.finished = saved.finished.filter((k) => siblings.some((c) => sameFile(k, c, c.head) || sameContent(k, c.head)));
    if (!cur && this.files.every((f) => f.rotated)) this.ev.note(`${this.path} does not exist yet; waiting for it`);
  }

  /** The file at the path (the newest, not rotated), if any. */
  get active(): TrackedFile | undefined {
    const f = this.files[this.files.length - 1];
    return f && !f.rotated ? f : undefined;
  }

  /**
   * Looks again at the path and every open file: a new file at the path (rotation), a vanished path,
   * growth, truncation. Cheap: a stat of the path, an fstat and a 1 KiB head read per open file.
   */
  async refresh(now: number): Promise<void> {
    let st: Awaited<ReturnType<typeof stat>> | null = null;
    try {
      st = await stat(this.path, { bigint: true });
      if (!st.isFile()) st = null;
    } catch {
      st = null;
    }
    const active = this.active;
    if (st && (!active || active.id.dev !== String(st.dev) || active.id.ino !== String(st.ino))) {
      const c = await candidate(this.path);
      if (c && !c.gzip && !this.files.some((f) => sameFile(f.id, c, c.head))) {
        if (active) {
          active.rotated = true;
          active.rotatedAt = now;
        }
        const next = await TrackedFile.plain(c.path);
        const old = this.files.filter((f) => f.rotated && f.open);
        if (this.files.length) await this.discover(now);
        this.files.push(next);
        this.ev.note(`${this.path}: a new file at the path${old.length ? ` (rotation: finishing the old one first, ${old.reduce((n, f) => n + f.lagBytes, 0)} bytes to go)` : ''}; reading it from its start`);
      }
    } else if (!st && active) {
      active.rotated = true;
      active.rotatedAt = now;
      this.ev.note(`${this.path}: renamed or deleted; finishing the file it named, then waiting for a new one`);
    }
    for (const f of this.files) {
      if (f.gzip || !f.open) continue;
      const prevSize = f.size;
      const r = await f.refresh(now);
      if (r === 'truncated' && !f.busy) await this.truncated(f, prevSize);
    }
  }

  /** Rotated files the path went through between two looks (two rotations in quick succession). */
  private async discover(now: number): Promise<void> {
    const siblings = await rotatedSiblings(this.path);
    const ids: FileIdentity[] = [...this.finished, ...this.files.map((f) => f.id)];
    for (const c of siblings) {
      if (known(ids, c)) continue;
      this.ev.note(`${c.path}: a rotated file kaudit had not seen; reading it whole`);
      const f = await this.openCandidate(c);
      f.rotated = true;
      f.rotatedAt = now;
      this.files.push(f);
    }
    this.finished = this.finished.filter((k) => siblings.some((c) => sameFile(k, c, c.head) || sameContent(k, c.head))).slice(-MAX_FINISHED);
  }

  private async truncated(f: TrackedFile, prevSize: number): Promise<void> {
    this.truncations++;
    // copytruncate: the content was copied to a rotated name, then the file emptied. Finish the copy.
    const copy = f.id.fpLen > 0 ? (await rotatedSiblings(this.path)).find((c) => headMatches(f.id, c.head) && c.size > f.offset && !this.files.some((g) => sameFile(g.id, c, c.head))) : undefined;
    if (copy) {
      const g = await this.openCandidate(copy, f, f.id);
      g.rotated = true;
      this.files.splice(this.files.indexOf(f), 0, g);
      this.ev.note(`${f.name}: truncated after being copied to ${copy.path}; finishing the copy from byte ${f.offset}, then reading ${f.name} again from the start`);
    } else {
      const unread = Math.max(0, prevSize - f.offset);
      if (unread > 0) this.ev.gap(`${f.name}: truncated with ${unread} bytes not yet read (from byte ${f.offset} to ${prevSize}); reading it again from the start`, unread);
      else this.ev.note(`${f.name}: truncated; reading it again from the start`);
    }
    await f.restart();
  }

  /** The first file (oldest first) that may have bytes to read. */
  next(): TrackedFile | undefined {
    return this.files.find((f) => f.open && !f.atEof);
  }

  /** Rotated files that are drained and quiet: their last line (even without a newline) can be handed on, then they close. */
  finishable(now: number): TrackedFile[] {
    return this.files.filter((f) => f.rotated && f.atEof && (!f.open || now - Math.max(f.rotatedAt, f.lastGrowthAt) >= this.o.rotateWaitMs));
  }

  async retire(f: TrackedFile): Promise<void> {
    await f.close();
    if (f.damage) {
      const d = f.damage;
      // The checkpoint may have seen this content longer (plain, before it was compressed): that much is known lost.
      const known = Math.max(0, f.knownSize - Math.max(d.decompressed, d.linesEnd));
      const lost = d.droppedBytes + known;
      this.ev.gap(
        `${f.name}: the compressed data is damaged or cut short after ${d.decompressed} bytes (uncompressed) ` +
          `(${d.compressed} compressed bytes read; zlib: ${d.reason}). Lines up to byte ${d.linesEnd} were forwarded; ` +
          `${lost > 0 ? `at least ${lost} bytes${d.droppedBytes > 0 ? ` (the cut line, ${d.droppedBytes} bytes${known > 0 ? `, and ${known} bytes the checkpoint saw before it was compressed` : ''})` : ''} and ` : ''}` +
          `whatever followed in the original file ${lost > 0 ? 'were' : 'was'} never forwarded (if the uncompressed file still exists elsewhere, read it with audit export)`,
        lost,
      );
    }
    this.files.splice(this.files.indexOf(f), 1);
    this.finished.push(f.id);
    if (this.finished.length > MAX_FINISHED) this.finished.shift();
  }

  state(): Omit<StreamState, 'pending' | 'cluster'> {
    return { path: this.path, files: this.files.map((f) => f.state()), finished: [...this.finished] };
  }

  async close(): Promise<void> {
    for (const f of this.files) await f.close();
  }
}
