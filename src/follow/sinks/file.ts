// `stdout` and `file:PATH`: JSON lines. A file is appended to and fsynced before a batch counts as
// delivered; with max-size it rotates like logrotate (PATH → PATH.1 → PATH.2 …, keep N).
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { Item, SendOutcome, Sink } from '../types.js';
import { SinkError } from '../types.js';

const lines = (items: Item[]): string => items.map((it) => `${it.json}\n`).join('');

export class StdoutSink implements Sink {
  readonly name = 'stdout';
  constructor(private readonly out: NodeJS.WritableStream) {}

  send(items: Item[]): Promise<SendOutcome> {
    const data = lines(items);
    return new Promise((resolve, reject) => {
      this.out.write(data, (e) => (e ? reject(new SinkError(`stdout: ${e.message}`)) : resolve({ results: items.map(() => 'ok') })));
    });
  }

  async close(): Promise<void> {}
}

export interface FileSinkOptions {
  path: string;
  /** Rotate before a write would take the file past this many bytes (0: never). */
  maxBytes: number;
  /** Rotated files kept (PATH.1 … PATH.keep). */
  keep: number;
}

export class FileSink implements Sink {
  readonly name: string;
  private fh: FileHandle | null = null;
  private size = 0;

  constructor(private readonly o: FileSinkOptions) {
    this.name = `file:${o.path}`;
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    try {
      this.fh = await open(this.o.path, 'a', 0o600);
      this.size = Number((await this.fh.stat()).size);
    } catch (e) {
      throw new SinkError(`${this.o.path}: ${(e as Error).message}`);
    }
    return this.fh;
  }

  async send(items: Item[]): Promise<SendOutcome> {
    const data = Buffer.from(lines(items), 'utf8');
    let fh = await this.handle();
    if (this.o.maxBytes > 0 && this.size > 0 && this.size + data.length > this.o.maxBytes) {
      await this.rotate();
      fh = await this.handle();
    }
    try {
      await fh.write(data);
      await fh.datasync();
    } catch (e) {
      await this.reopen();
      throw new SinkError(`${this.o.path}: ${(e as Error).message}`);
    }
    this.size += data.length;
    return { results: items.map(() => 'ok') };
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
    const p = this.o.path;
    await unlink(`${p}.${this.o.keep}`).catch(() => undefined);
    for (let i = this.o.keep - 1; i >= 1; i--) await rename(`${p}.${i}`, `${p}.${i + 1}`).catch(() => undefined);
    if (this.o.keep >= 1) await rename(p, `${p}.1`).catch(() => undefined);
    else await unlink(p).catch(() => undefined);
  }

  /** SIGHUP: the file may have been moved by an outside rotation; start a new one at the path. */
  async reopen(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = null;
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = null;
  }
}
