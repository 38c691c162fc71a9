// Warnings on stderr: the first few rejected lines as `file:line: reason`, then a count.
import type { Loc } from '../types.js';
import type { IO } from './io.js';
import { formatLoc } from '../pipeline.js';
import { stripControl } from '../render/sanitize.js';

export const SHOWN_REJECTS = 5;

export class RejectReporter {
  count = 0;
  constructor(
    private readonly io: IO,
    private readonly shown = SHOWN_REJECTS,
  ) {}

  reject = (loc: Loc, reason: string): void => {
    this.count++;
    if (this.count <= this.shown) this.io.stderr.write(`${stripControl(formatLoc(loc))}: ${stripControl(reason.slice(0, 300))}\n`);
  };

  /** Closing line when anything was rejected. */
  finish(): void {
    if (this.count === 0) return;
    const more = this.count > this.shown ? ` (first ${this.shown} shown)` : '';
    this.io.stderr.write(`warning: ${this.count} input line${this.count === 1 ? '' : 's'} rejected${more}; --strict makes this an error\n`);
  }
}
