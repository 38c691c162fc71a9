// A progress line on stderr (bytes read, events/s, ETA), only when stderr is a terminal.
import type { IO } from './io.js';

function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : `${(n / 1e6).toFixed(1)} MB`;
}

function clock(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export interface Progress {
  update(bytes: number, events: number): void;
  done(): void;
}

const NONE: Progress = { update() {}, done() {} };

/** `total` is the summed input size in bytes (0 when unknown, as for stdin). */
export function makeProgress(io: IO, enabled: boolean, total: number, clockMs: () => number = Date.now): Progress {
  if (!enabled || io.stderr.isTTY !== true) return NONE;
  const start = clockMs();
  let last = 0;
  let shown = false;
  return {
    update(bytes, events) {
      const now = clockMs();
      if (now - last < 200) return;
      last = now;
      const secs = (now - start) / 1000;
      if (secs < 0.5) return;
      const rate = bytes / secs;
      const evs = Math.round(events / secs);
      let line: string;
      if (total > 0) {
        const frac = Math.min(1, bytes / total);
        const width = 24;
        const fill = Math.round(frac * width);
        line = `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(bytes)}/${mb(total)} ${mb(rate)}/s ${evs} ev/s ETA ${clock((total - bytes) / rate)}`;
      } else line = `${mb(bytes)} read, ${mb(rate)}/s, ${evs} ev/s`;
      io.stderr.write(`\r${line}\x1b[K`);
      shown = true;
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[K');
    },
  };
}
