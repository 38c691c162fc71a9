// Sorted runs on disk: files of one JSON line per item (src/scale/codec.ts), written and read
// synchronously with buffers of their own, so that a reducer's add() (which is synchronous) can
// spill, and a finish() can merge, without the event loop. A run is removed once merged; the
// whole spill folder goes when the process ends (src/scale/tempdir.ts).
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { removeSpillFile, spillFailure, spillFile } from './tempdir.js';

const WRITE_CHUNK = 1 << 20;
const READ_CHUNK = 1 << 18;

/** Writes lines into a new run file. */
export class RunWriter {
  readonly path: string;
  private fd: number;
  /**
   * The lines not written yet, as UTF-8 (each followed by its newline): every line is encoded
   * once, straight into this buffer (Buffer.write), which is written when the next line might not
   * fit. Joining the lines into a string of a megabyte and letting writeSync encode that took
   * three times as long (issue 15: at a million distinct users a run's lines are written in
   * hundreds of megabytes). The bytes are the same: Buffer.write and writeSync encode strings
   * with the same UTF-8 encoder (a lone surrogate becomes U+FFFD either way).
   */
  private buf: Buffer | null = null;
  private used = 0;
  /** Lines written. */
  count = 0;

  constructor(tag: string) {
    this.path = spillFile(tag);
    try {
      this.fd = openSync(this.path, 'wx', 0o600);
    } catch (e) {
      throw spillFailure(e, dirname(this.path));
    }
  }

  /** Appends one line (without its newline; it must hold none). */
  line(text: string): void {
    this.count++;
    // At most 3 bytes of UTF-8 per UTF-16 code unit (a surrogate pair: 4 for 2), and the newline.
    const most = 3 * text.length + 1;
    const buf = (this.buf ??= Buffer.allocUnsafe(WRITE_CHUNK));
    if (this.used + most > buf.length) {
      this.flush();
      if (most > buf.length) {
        // A line longer than the buffer goes on its own.
        this.writeAll(Buffer.from(`${text}\n`, 'utf8'));
        return;
      }
    }
    this.used += buf.write(text, this.used, 'utf8');
    buf[this.used++] = 10;
  }

  private flush(): void {
    if (this.used === 0 || this.buf === null) return;
    const n = this.used;
    this.used = 0;
    this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(bytes: Buffer): void {
    try {
      // A short write (not expected of a regular file) goes on from where it stopped.
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (e) {
      throw spillFailure(e, dirname(this.path));
    }
  }

  /** Flushes and closes; returns the path. */
  close(): string {
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
      this.buf = null;
    }
    return this.path;
  }

  /** Closes and removes the file (after an error). */
  discard(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* closed */
      }
      this.fd = -1;
    }
    this.buf = null;
    removeSpillFile(this.path);
  }
}

/** Reads a run's lines in order. `next()` returns null at the end (and closes the file). */
export class RunReader {
  private fd: number;
  private buf = Buffer.alloc(READ_CHUNK);
  private start = 0;
  private end = 0;
  private eof = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
  }

  next(): string | null {
    for (;;) {
      const nl = this.buf.indexOf(10, this.start);
      if (nl >= 0 && nl < this.end) {
        const line = this.buf.toString('utf8', this.start, nl);
        this.start = nl + 1;
        return line;
      }
      if (this.eof) {
        this.close();
        if (this.start < this.end) throw new Error(`spill run ${this.path} ends without a newline`);
        return null;
      }
      this.fill();
    }
  }

  private fill(): void {
    // Keep the partial line, and grow the buffer when one line does not fit in it.
    const rest = this.end - this.start;
    if (rest > 0 && this.start > 0) this.buf.copy(this.buf, 0, this.start, this.end);
    else if (rest === this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, rest);
      this.buf = bigger;
    }
    this.start = 0;
    this.end = rest;
    const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
    if (n === 0) this.eof = true;
    this.end += n;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** Removes run files. */
export function removeRuns(paths: Iterable<string>): void {
  for (const p of paths) removeSpillFile(p);
}
