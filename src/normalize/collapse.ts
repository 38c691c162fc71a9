// Collapses the stages of one request (RequestReceived, ResponseStarted, ResponseComplete, Panic)
// into a single record, in bounded memory. The completing stage is kept. Requests whose completion
// never arrives (open watches at the end of a log) are emitted with their latest stage.
import type { AuditRecord } from '../types.js';

const FINAL_STAGES = new Set(['ResponseComplete', 'Panic']);
const STAGE_RANK: Record<string, number> = { RequestReceived: 1, ResponseStarted: 2, ResponseComplete: 3, Panic: 3 };

export interface CollapseOptions {
  /** At most this many requests wait for their completing stage; the oldest is emitted beyond it. */
  maxPending: number;
  /** auditIDs of completed requests remembered to absorb late stages (out-of-order files). */
  maxDone: number;
}

export const DEFAULT_COLLAPSE: CollapseOptions = { maxPending: 100_000, maxDone: 200_000 };

export class StageCollapser {
  private pending = new Map<string, AuditRecord>();
  private done = new Set<string>();
  /** Events absorbed into another event of the same request. */
  duplicates = 0;

  constructor(
    private readonly emit: (r: AuditRecord) => void,
    private readonly opts: CollapseOptions = DEFAULT_COLLAPSE,
  ) {}

  private remember(key: string): void {
    this.done.add(key);
    if (this.done.size > this.opts.maxDone) this.done.delete(this.done.values().next().value!);
  }

  add(r: AuditRecord): void {
    if (r.auditID === '') {
      this.emit(r);
      return;
    }
    const key = r.cluster === '' ? r.auditID : `${r.cluster}\u0000${r.auditID}`;
    if (this.done.has(key)) {
      this.duplicates++;
      return;
    }
    const prev = this.pending.get(key);
    if (FINAL_STAGES.has(r.stage) || r.stage === '') {
      if (prev !== undefined) {
        this.pending.delete(key);
        this.duplicates++;
      }
      this.remember(key);
      this.emit(r);
      return;
    }
    if (prev !== undefined) {
      this.duplicates++;
      if ((STAGE_RANK[r.stage] ?? 0) >= (STAGE_RANK[prev.stage] ?? 0)) this.pending.set(key, r);
      return;
    }
    this.pending.set(key, r);
    if (this.pending.size > this.opts.maxPending) {
      const [oldKey, oldRec] = this.pending.entries().next().value!;
      this.pending.delete(oldKey);
      this.remember(oldKey);
      this.emit(oldRec);
    }
  }

  /** Emits every request still waiting for its completion, oldest first. */
  flush(): void {
    for (const [key, rec] of this.pending) {
      this.remember(key);
      this.emit(rec);
    }
    this.pending.clear();
  }
}
