// One file being followed: a plain file read by descriptor at positions (so a rename or a delete
// does not stop it being finished), or a gzip backup (found after a restart) decompressed as a stream.
import { open, type FileHandle } from 'node:fs/promises';
import { GzipReader, type GzipDamage } from './gzip.js';
import type { FileIdentity, FileState } from './types.js';
import { FINGERPRINT_BYTES, fingerprint, headMatches, readHead } from './identity.js';

/** Bytes per read (64 KiB: a followed file grows by little at a time; the batch reader reads 1 MiB, READ_CHUNK). */
export const CHUNK = 1 << 16;

export class TrackedFile {
  /** Consumed: the end of the last whole line handed on. */
  offset = 0;
  line = 0;
  /** Bytes read so far: `offset` plus the partial line held in `partial`. */
  readPos = 0;
  /** The start of a line whose newline has not been written yet, in the pieces read. */
  partial: Buffer[] | null = null;
  /** The bytes in `partial`. */
  partialLength = 0;
  /** Discarding the rest of a line longer than --max-line-bytes. */
  skipping = false;
  size = 0;
  mtimeMs = 0;
  /** No longer at the followed path. */
  rotated = false;
  rotatedAt = 0;
  lastGrowthAt = 0;
  /** Lines of it are being handed on (a truncation found meanwhile is dealt with afterwards). */
  busy = false;
  /** Completion time (ms) of the last event read from this file (for lag in seconds). */
  lastEventMs = NaN;
  /** The last read returned nothing; cleared when a refresh sees the file grow. */
  atEof = false;
  /**
   * A gzip backup whose data ended early (cut short or corrupted): where, and the bytes of the cut
   * line that were dropped (never handed on as a line). Set once decompression stopped; the stream
   * reports it as a gap when it retires the file.
   */
  damage: (GzipDamage & { droppedBytes: number; linesEnd: number }) | null = null;
  /** Uncompressed size recorded by the checkpoint for this content (0 when unknown). */
  knownSize = 0;
  private gz: GzipReader | null = null;

  private constructor(
    public name: string,
    public id: FileIdentity,
    readonly gzip: boolean,
    private fh: FileHandle | null,
  ) {}

  /** Opens a plain file; `at` continues from a checkpoint. Throws when it cannot be opened. */
  static async plain(path: string, at?: Pick<FileState, 'offset' | 'line'>, fh?: FileHandle): Promise<TrackedFile> {
    const h = fh ?? (await open(path, 'r'));
    const st = await h.stat({ bigint: true });
    const head = await readHead(h);
    const f = new TrackedFile(path, { dev: String(st.dev), ino: String(st.ino), fpLen: head.length, fp: fingerprint(head) }, false, h);
    f.size = Number(st.size);
    f.mtimeMs = Number(st.mtimeMs);
    f.offset = f.readPos = at?.offset ?? 0;
    f.line = at?.line ?? 0;
    return f;
  }

  /** A gzip backup, decompressed from its start; bytes before `at.offset` are skipped (they were delivered). */
  static async gzipped(path: string, id: FileIdentity, size: number, mtimeMs: number, at?: Pick<FileState, 'offset' | 'line'> & { size?: number; gzip?: boolean }): Promise<TrackedFile> {
    const f = new TrackedFile(path, id, true, null);
    f.size = size;
    f.mtimeMs = mtimeMs;
    f.rotated = true;
    f.offset = at?.offset ?? 0;
    f.line = at?.line ?? 0;
    // Only a plain file's recorded size is an uncompressed length (a gzip entry's size may be its compressed one).
    f.knownSize = at && at.gzip === false ? (at.size ?? 0) : 0;
    f.gz = await GzipReader.open(path);
    return f;
  }

  get open(): boolean {
    return this.fh !== null || this.gz !== null;
  }

  /** The next bytes after readPos (at most CHUNK), or null at the end for now. Throws on I/O errors. */
  async read(): Promise<Buffer | null> {
    if (this.gzip) return this.readGzip();
    if (!this.fh) return null;
    const buf = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await this.fh.read(buf, 0, CHUNK, this.readPos);
    if (bytesRead === 0) {
      this.atEof = true;
      return null;
    }
    this.readPos += bytesRead;
    return bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
  }

  private async readGzip(): Promise<Buffer | null> {
    while (this.gz) {
      const gz = this.gz;
      const chunk = await gz.next();
      if (!chunk) {
        if (gz.damage) this.damaged(gz.damage);
        this.atEof = true;
        await this.close();
        return null;
      }
      const start = this.readPos;
      this.readPos += chunk.length;
      // The decompressed position is counted from the start; bytes up to `offset` were delivered before.
      if (this.readPos <= this.offset) continue;
      if (this.size < this.readPos) this.size = this.readPos;
      return start >= this.offset ? chunk : chunk.subarray(this.offset - start);
    }
    this.atEof = true;
    return null;
  }

  /**
   * Decompression stopped early: the line it cut is not a line (it is dropped, as part of the gap),
   * and nothing after it can be read. `readPos` stays the decompressed length.
   */
  private damaged(d: GzipDamage): void {
    const dropped = this.skipping ? Math.max(0, this.readPos - this.offset) : (this.partial ? this.partialLength : 0);
    this.partial = null;
    this.partialLength = 0;
    this.skipping = false;
    // Lines before the cut that were already delivered (a resumed backup) end at `offset` at the latest.
    const linesEnd = Math.max(this.offset, this.readPos - dropped);
    this.damage = { ...d, droppedBytes: Math.max(0, this.readPos - linesEnd), linesEnd };
  }

  /**
   * Re-reads size and time (plain files). Returns `truncated` when the file is now shorter than what
   * was read, or its first bytes changed (rewritten in place); `grew` when there is more to read.
   */
  async refresh(now: number): Promise<'same' | 'grew' | 'truncated'> {
    if (!this.fh) return 'same';
    const st = await this.fh.stat({ bigint: true });
    const size = Number(st.size);
    this.mtimeMs = Number(st.mtimeMs);
    if (size < this.readPos) return 'truncated';
    if (this.id.fpLen < FINGERPRINT_BYTES && size > this.id.fpLen) {
      const head = await readHead(this.fh);
      if (!headMatches(this.id, head)) return 'truncated';
      this.id = { ...this.id, fpLen: head.length, fp: fingerprint(head) };
    } else if (!this.rotated && this.id.fpLen > 0) {
      const head = await readHead(this.fh, this.id.fpLen);
      if (!headMatches(this.id, head)) return 'truncated';
    }
    const grew = size > this.size;
    this.size = size;
    if (grew) this.lastGrowthAt = now;
    if (size > this.readPos) {
      this.atEof = false;
      return 'grew';
    }
    return 'same';
  }

  /** Starts again from byte 0 with a new fingerprint (after truncation). */
  async restart(): Promise<void> {
    this.offset = this.readPos = this.line = this.size = 0;
    this.partial = null;
    this.partialLength = 0;
    this.skipping = false;
    this.atEof = false;
    if (this.fh) {
      const head = await readHead(this.fh);
      this.id = { ...this.id, fpLen: head.length, fp: fingerprint(head) };
    }
  }

  /** Bytes not yet delivered, as far as the last refresh knows. */
  get lagBytes(): number {
    return Math.max(0, this.size - this.offset);
  }

  state(): FileState {
    return { ...this.id, name: this.name, gzip: this.gzip, offset: this.offset, line: this.line, size: Math.max(this.size, this.offset), mtimeMs: this.mtimeMs, rotated: this.rotated };
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    const gz = this.gz;
    this.gz = null;
    await gz?.close();
    await fh?.close();
  }
}
