// When the follower looks again: file-system notification on the followed directories (inotify
// through fs.watch), a poll timer as the fallback for file systems without notification, and
// explicit wake-ups (signals). `wait(ms)` returns at the first of these or after `ms`.
import { watch, type FSWatcher } from 'node:fs';

export class Waker {
  private woken = false;
  private readonly waiters = new Set<() => void>();
  private readonly watchers: FSWatcher[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    dirs: Iterable<string>,
    pollMs: number,
    notify: boolean,
    private readonly stop: AbortSignal,
  ) {
    if (notify) {
      for (const dir of dirs) {
        try {
          const w = watch(dir, { persistent: false }, () => this.wake());
          w.on('error', () => undefined);
          this.watchers.push(w);
        } catch {
          /* no notification here (a missing directory, a file system without inotify): polling only */
        }
      }
    }
    this.timer = setInterval(() => this.wake(), pollMs);
  }

  wake(): void {
    this.woken = true;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves at the next wake-up (or at once if one came since the last wait, or when stopping), or after `ms`. */
  wait(ms: number): Promise<void> {
    if (this.woken || this.stop.aborted) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const waiters = this.waiters;
      const self = this;
      function done(): void {
        clearTimeout(t);
        waiters.delete(done);
        self.woken = false;
        resolve();
      }
      waiters.add(done);
    });
  }

  close(): void {
    clearInterval(this.timer);
    for (const w of this.watchers) w.close();
    for (const w of [...this.waiters]) w();
  }
}
