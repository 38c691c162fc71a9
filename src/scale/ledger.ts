// One ledger for the process: the estimated bytes of every live spillable structure (a spilling
// map, an external sort). When the sum passes the budget (src/scale/budget.ts), the largest
// structures spill until it is back under half of it, so that spills are few and large rather than
// many and small. Single-threaded: each worker thread has its own ledger and budget.
//
// Spilling happens only at safe points (settle): between two records, after a merge. A reducer's
// add() may hold a reference to a value inside a spilling map while it updates it; a spill in the
// middle would write the value out and leave the rest of the update on an object no longer in the
// map. The pipeline settles after every record; code that feeds structures outside the pipeline
// (finish loops, merges) settles itself.
import { budgetBytes } from './budget.js';

/** A structure that holds data in memory and can write it out to disk. */
export interface Spiller {
  /** Bytes it holds now (its estimate). */
  readonly held: number;
  /** Writes what it holds to disk and forgets it (held becomes 0). */
  spill(): void;
}

const live = new Set<Spiller>();
let used = 0;
let spilling = false;
/** Spills done since the process started (for tests and the stderr note). */
let spills = 0;

/** Registers a structure; its `held` bytes count from now on. */
export function enroll(s: Spiller): void {
  live.add(s);
}

/** Unregisters a structure (drained or dropped); what it held no longer counts. */
export function retire(s: Spiller, held: number): void {
  if (live.delete(s)) used -= held;
}

/**
 * Adds `bytes` (may be negative) to the ledger for a structure that already added them to its own
 * `held`. Nothing spills here: the next settle() does it.
 */
export function charge(bytes: number): void {
  used += bytes;
}

/** Whether the live structures hold more than the budget (the next settle() spills). */
export function overBudget(): boolean {
  return used > budgetBytes();
}

/** At a safe point: spills the largest structures while the sum is over the budget. */
export function settle(): void {
  if (used <= budgetBytes() || spilling) return;
  spilling = true;
  try {
    const target = budgetBytes() / 2;
    const order = [...live].sort((a, b) => b.held - a.held);
    for (const s of order) {
      if (used <= target) break;
      if (s.held <= 0) continue;
      const before = s.held;
      s.spill();
      spills++;
      used -= before - s.held;
    }
  } finally {
    spilling = false;
  }
}

/** Bytes the live structures hold now (estimate). */
export function ledgerUsed(): number {
  return used;
}

/** How many spills happened in this thread. */
export function spillCount(): number {
  return spills;
}

/** Forgets every structure (tests). */
export function resetLedger(): void {
  live.clear();
  used = 0;
  spills = 0;
}
