// The memory budget for analysis state (README, "Memory and cardinality"). Every structure whose
// size depends on the data (counters keyed by subject, per-subject profiles, records held for
// --sort) reports what it holds and, past the budget, spills to temporary files
// (src/scale/spillmap.ts, extsort.ts) instead of growing.
//
// The budget is real memory: bytes of this thread's V8 heap above what it held when the analysis
// began to hold state (garbage not yet collected included). Structures report estimates (the
// helpers below: cheap and deterministic), and the thread's ledger (src/scale/ledger.ts) calibrates
// them against V8's used heap as they grow, so the sum held to the budget is the heap they really
// take; when it passes the budget the largest structures spill until it is back under half of it.
// Spill points therefore depend on the garbage collector; outputs never do (the spill/no-spill
// outputs are the same bytes by construction: tests compare them with a budget of a few KB).
// Each worker thread has its own ledger, with its share of the budget (src/cli/common.ts).

/**
 * 192 MiB: the default budget for analysis state, in heap bytes above what the run held before it
 * (its code, the rule set, the options). The process's RSS adds V8's young generation, the code,
 * free heap pages, the collapse windows and read buffers outside the heap (about 140–170 MB for
 * one thread), and each worker thread's own isolate, windows and buffers (about 90 MB each): with
 * this default, a log of a million distinct users stays near 400 MB at its peak (bench/RESULTS.md).
 * It was 256 MiB until 2026-11-30, which peaked at 420–560 MB on the same logs (issue 15).
 */
export const DEFAULT_BUDGET = 192 * 2 ** 20;

/** The smallest budget accepted (tests use it to force spilling). */
export const MIN_BUDGET = 1024;

let budget: number | null = null;

/**
 * Parses a size: bytes, or a number with k, M or G (powers of 1024): `256M`, `64k`, `1G`.
 * Returns NaN when it is not one.
 */
export function parseSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(v);
  if (!m) return NaN;
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * unit);
}

/** The budget in bytes: set by --memory (setBudget), else KAUDIT_MEMORY, else DEFAULT_BUDGET. */
export function budgetBytes(): number {
  if (budget !== null) return budget;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.KAUDIT_MEMORY;
  const n = env ? parseSize(env) : NaN;
  budget = Number.isFinite(n) ? Math.max(MIN_BUDGET, n) : DEFAULT_BUDGET;
  return budget;
}

/** Sets the budget (bytes, at least MIN_BUDGET); null goes back to the environment or the default. */
export function setBudget(bytes: number | null): void {
  budget = bytes === null ? null : Math.max(MIN_BUDGET, Math.floor(bytes));
}

/**
 * Rough heap cost of a string (an estimate: the ledger scales estimates to the measured heap) in a Map key or an object field, in bytes: V8 stores one-byte
 * strings at a byte a character and others at two, plus a header; two per character keeps the
 * estimate on the safe side.
 */
export function strBytes(s: string): number {
  return 24 + 2 * s.length;
}

/** Heap cost of a Map or Set entry beyond its key and value (hash table slot, growth slack). */
export const ENTRY_BYTES = 48;

/** Heap cost of a small plain object beyond its fields' values (header, hidden class share). */
export const OBJECT_BYTES = 64;

/**
 * Rough heap cost of a plain-data value (objects, arrays, Maps, Sets, strings, numbers), walking it
 * once: for items that are built once and then only held (a finished report's rows), where keeping
 * a running estimate would cost more than the walk.
 */
export function roughBytes(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return strBytes(v);
    case 'object': {
      if (v === null) return 8;
      let n = OBJECT_BYTES;
      if (Array.isArray(v)) {
        for (const x of v) n += 8 + roughBytes(x);
      } else if (v instanceof Map) {
        for (const [k, x] of v) n += ENTRY_BYTES + roughBytes(k) + roughBytes(x);
      } else if (v instanceof Set) {
        for (const x of v) n += ENTRY_BYTES + roughBytes(x);
      } else {
        for (const k in v) n += 16 + roughBytes((v as Record<string, unknown>)[k]);
      }
      return n;
    }
    default:
      return 16;
  }
}
