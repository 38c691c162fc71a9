// Per-sink dead-letter files: items a sink refused for good (400-class for that item), one JSON
// line each with when, why and the item as it was sent. Written and fsynced before the batch that
// held them counts as done, so an item is always either delivered, dead-lettered, or still to send.
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Item } from './types.js';

/** A file name from a sink name: audit data never reaches it, but a URL's odd characters might. */
export function deadLetterName(sinkName: string): string {
  return `dead-letter.${sinkName.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 120)}.jsonl`;
}

export class DeadLetter {
  private fh: FileHandle | null = null;
  readonly path: string;

  constructor(
    dir: string,
    private readonly sink: string,
  ) {
    this.path = join(dir, deadLetterName(sink));
  }

  async write(entries: { item: Item; reason: string }[], now: number): Promise<void> {
    if (entries.length === 0) return;
    if (!this.fh) {
      await mkdir(join(this.path, '..'), { recursive: true });
      this.fh = await open(this.path, 'a', 0o600);
    }
    const time = new Date(now).toISOString();
    const text = entries.map((e) => `{"time":${JSON.stringify(time)},"sink":${JSON.stringify(this.sink)},"reason":${JSON.stringify(e.reason)},"kind":${JSON.stringify(e.item.kind)},"item":${e.item.json}}\n`).join('');
    await this.fh.write(text);
    await this.fh.datasync();
  }

  async reopen(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close();
  }
}
