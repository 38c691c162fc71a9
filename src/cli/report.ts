// Warnings on stderr: the first few rejected lines as `file:line: reason`, then a count.
import type { InputAccounting, Loc } from '../types.js';
import type { IO } from './io.js';
import { formatLoc, lastWaitingPeak } from '../pipeline.js';
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

  /**
   * What the accounting says beyond counts: values ignored by design, Audit-IDs reused by
   * different requests, and inputs that were not read to their end.
   */
  notes(a: InputAccounting): void {
    const w = (s: string): void => void this.io.stderr.write(s);
    if (a.ignored > 0) w(`note: ${a.ignored} value${a.ignored === 1 ? '' : 's'} ignored: not audit events by design (CloudWatch Logs control messages)\n`);
    if (a.auditIDReuse > 0) {
      w(`warning: ${a.auditIDReuse} request${a.auditIDReuse === 1 ? ' reuses' : 's reuse'} an Audit-ID that an earlier, different request used (clients choose their Audit-ID; each request is kept and counted, and marked auditIDReused)\n`);
    }
    if (a.window.evicted > 0) {
      w(`note: ${a.window.evicted} request${a.window.evicted === 1 ? ' was' : 's were'} let go before their completing stage arrived: more than ${a.window.limit} requests waited at once (most at once: ${lastWaitingPeak()}); ${a.window.evicted === 1 ? 'it counts' : 'they count'} as not completed\n`);
    }
    if (!a.complete) {
      const bad = a.files.filter((f) => !f.complete);
      const list = bad.slice(0, SHOWN_REJECTS).map((f) => `${stripControl(f.path)} (${stripControl(f.incomplete)})`).join(', ');
      w(`warning: not every input was read to its end: ${list}${bad.length > SHOWN_REJECTS ? `, and ${bad.length - SHOWN_REJECTS} more` : ''}; the results are partial\n`);
    }
  }

  /** Closing line when anything was rejected. */
  finish(): void {
    if (this.count === 0) return;
    const more = this.count > this.shown ? ` (first ${this.shown} shown)` : '';
    this.io.stderr.write(`warning: ${this.count} input line${this.count === 1 ? '' : 's'} rejected${more}; --strict makes this an error\n`);
  }
}
