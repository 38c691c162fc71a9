// Reading a gzip backup without ever crashing and without losing what decompresses.
//
// A rotated backup may be damaged: cut short by a compressor that died half way (lumberjack's
// compressLogFile writes audit-<time>.log.gz progressively, gzip(1) too), or corrupted. Node's
// zlib streams report that as an 'error' event (Z_BUF_ERROR "unexpected end of file", Z_DATA_ERROR
// …): without a listener it is an uncaught exception, and a stream destroyed by the error drops the
// output it still buffers. This reader therefore feeds the compressed bytes itself, one chunk at a
// time, takes every decompressed chunk as zlib pushes it (flowing mode, so nothing waits in the
// stream's buffer when an error comes), and turns the error into a value: `damage`.
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip, type Gunzip } from 'node:zlib';

/** Compressed bytes fed to zlib at a time: what one feed decompresses to stays bounded (deflate's ratio is at most 1032:1). */
const FEED_BYTES = 16 << 10;

/** Why decompression stopped early: zlib's message and code, and how far it got. */
export interface GzipDamage {
  /** zlib's message, e.g. "unexpected end of file" (cut short) or "invalid block type" (corrupted). */
  reason: string;
  code: string;
  /** Decompressed bytes delivered before the damage. */
  decompressed: number;
  /** Compressed bytes read from the file (its size when it was cut short). */
  compressed: number;
}

/**
 * Pull reader of a gzip file (every member, as gunzip reads them): `next()` gives decompressed
 * chunks in order and null at the end; after a null, `damage` says whether the end was the real end
 * of the data or where it was cut short or corrupted. Never throws for bad data; throws only when
 * the file cannot be opened or read. Memory: one feed's output at most.
 */
export class GzipReader {
  damage: GzipDamage | null = null;
  private z: Gunzip | null = null;
  private fh: FileHandle | null = null;
  private queue: Buffer[] = [];
  private error: (Error & { code?: string }) | null = null;
  private ended = false;
  private inputDone = false;
  private endCalled = false;
  private inflight = false;
  private compressed = 0;
  private decompressed = 0;
  private wakeUp: (() => void) | null = null;

  private constructor(private readonly path: string) {}

  /** Opens `path` (a gzip file). Throws when it cannot be opened. */
  static async open(path: string): Promise<GzipReader> {
    const r = new GzipReader(path);
    r.fh = await open(path, 'r');
    const z = createGunzip();
    r.z = z;
    // Flowing mode: each chunk arrives here as zlib pushes it, so none is lost to a later error.
    z.on('data', (c: Buffer) => {
      r.queue.push(c);
      r.wake();
    });
    z.on('error', (e: Error) => {
      r.error ??= e;
      r.wake();
    });
    z.on('end', () => {
      r.ended = true;
      r.wake();
    });
    return r;
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** The next decompressed chunk, or null at the end of the data (see `damage`). Throws on I/O errors reading the file. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const c = this.queue.shift();
      if (c) {
        this.decompressed += c.length;
        return c;
      }
      if (this.error) {
        this.damage ??= { reason: this.error.message, code: this.error.code ?? 'ERR', decompressed: this.decompressed, compressed: this.compressed };
        await this.close();
        return null;
      }
      if (this.ended || !this.z) {
        await this.close();
        return null;
      }
      if (!this.inflight) {
        if (this.inputDone) {
          if (!this.endCalled) {
            this.endCalled = true;
            this.z.end();
          }
        } else {
          const buf = Buffer.allocUnsafe(FEED_BYTES);
          const { bytesRead } = await this.fh!.read(buf, 0, FEED_BYTES, this.compressed);
          if (bytesRead === 0) {
            this.inputDone = true;
            continue;
          }
          this.compressed += bytesRead;
          this.inflight = true;
          this.z.write(buf.subarray(0, bytesRead), () => {
            this.inflight = false;
            this.wake();
          });
          // The data, error or write callback comes later (zlib works off the main thread).
        }
      }
      // Nothing to take yet: wait for zlib (a chunk, the end, an error, or the feed processed).
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
    }
  }

  /** Releases the file and the zlib stream (idempotent). */
  async close(): Promise<void> {
    const z = this.z;
    this.z = null;
    this.queue = [];
    z?.destroy();
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }

  get name(): string {
    return this.path;
  }
}

/** The first `n` decompressed bytes of a gzip file (fewer when it is shorter, cut short or damaged). Throws when it cannot be opened. */
export async function gunzipHead(path: string, n: number): Promise<Buffer> {
  const r = await GzipReader.open(path);
  const chunks: Buffer[] = [];
  let got = 0;
  try {
    while (got < n) {
      const c = await r.next();
      if (!c) break;
      chunks.push(c);
      got += c.length;
    }
  } finally {
    await r.close();
  }
  return Buffer.concat(chunks).subarray(0, n);
}
