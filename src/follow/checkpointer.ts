// When the checkpoint is written: after a batch is acknowledged by every sink, with the newest such
// snapshot, one write at a time. Writes are spaced so that they take at most about 5% of the time
// (20 times the last write's duration), and never further apart than the configured maximum: a
// small state is written after nearly every batch, a large stage-collapse window less often.

export class Checkpointer<S> {
  private latest: S | null = null;
  private lastSnap: S | null = null;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastEnd = 0;
  private gapMs = 0;
  private failing = false;
  /** When the last write succeeded (ISO 8601), null before the first. */
  written: string | null = null;

  constructor(
    private readonly write: (snapshot: S) => Promise<void>,
    private readonly maxIntervalMs: number,
    private readonly now: () => number,
    private readonly warn: (msg: string) => void,
  ) {}

  /** A newer snapshot whose batches every sink has: written soon. */
  offer(snapshot: S): void {
    this.latest = snapshot;
    this.schedule();
  }

  private schedule(): void {
    if (this.writing || this.timer || !this.latest) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writing = this.writeLatest().finally(() => {
        this.writing = null;
        this.schedule();
      });
    }, Math.max(0, this.lastEnd + this.gapMs - this.now()));
  }

  private async writeLatest(): Promise<void> {
    const snap = this.latest;
    this.latest = null;
    if (!snap) return;
    const start = this.now();
    try {
      await this.write(snap);
      this.lastSnap = snap;
      this.written = new Date(this.now()).toISOString();
      if (this.failing) this.warn('the checkpoint is written again');
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.warn(`cannot write the checkpoint: ${(e as Error).message}; retrying (until it works, a restart would send more again)`);
      this.failing = true;
      this.latest ??= snap;
    }
    this.lastEnd = this.now();
    this.gapMs = Math.min(this.maxIntervalMs, 20 * (this.lastEnd - start));
  }

  /** Writes what is waiting now (shutdown); with `again`, the last written snapshot once more when nothing newer waits. */
  async flush(again = false): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.writing;
    if (again) this.latest ??= this.lastSnap;
    if (this.latest) await this.writeLatest();
  }
}
