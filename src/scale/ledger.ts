// One ledger per thread: every live structure that holds data in memory and can write it out (a
// spilling map, an external sort) reports the bytes it holds, and when they pass the memory budget
// (src/scale/budget.ts, --memory) the largest structures spill until they are back under half of
// it, so that spills are few and large rather than many and small. Each worker thread has its own
// ledger and budget (src/parallel/worker.ts).
//
// The budget is real memory: the structures' own figures are estimates (src/scale/budget.ts
// strBytes, roughBytes: cheap, but V8's hidden classes, hash tables and growth slack make the real
// heap a multiple of them, different for every kind of state), so the ledger calibrates them with
// V8's heap. As the estimates grow by a 32nd of the budget (and every SAMPLE_SETTLES safe points
// whatever they do), it reads the thread's used heap (v8.getHeapStatistics: under a microsecond)
// and takes `scale` = (heap used − heap used when the ledger began to hold something) ÷ the
// estimates; the structures hold `used × scale` real bytes, and that is what is held to the
// budget. Everything the run adds to the heap counts against the structures that can give way:
// the reader's buffers, state that cannot spill, garbage not collected yet. Two guards keep the
// figure honest:
//   - it is calibrated only once the state is a sizeable part of the budget (CALIBRATE_SHARE) or
//     the heap has passed the budget, so that a small state next to some garbage does not look huge;
//   - after a spill, what was spilled stays in the heap as garbage until V8's next full collection:
//     a large spill is collected at once (collect()); after a small one, samples wait until the heap
//     has dropped by half of it (or the state has grown back), else the next spill would come at
//     once and be small.
// `scale` is kept within [MIN_SCALE, MAX_SCALE]; under CALIBRATE_MIN_BUDGET it stays 1. Spill points depend on the garbage collector, so
// they differ from run to run; outputs do not (every spilling structure gives the same bytes
// whether or not, and wherever, it spilled: tests compare them with a budget of a few KB).
//
// Spilling happens only at safe points (settle): between two records, after a merge. A reducer's
// add() may hold a reference to a value inside a spilling map while it updates it; a spill in the
// middle would write the value out and leave the rest of the update on an object no longer in the
// map. The pipeline settles after every record; code that feeds structures outside the pipeline
// (finish loops, merges) settles itself.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { budgetBytes } from './budget.js';

/** A structure that holds data in memory and can write it out to disk. */
export interface Spiller {
  /** Bytes it holds now (its estimate). */
  readonly held: number;
  /** Writes what it holds to disk and forgets it (held becomes 0). */
  spill(): void;
}

/** Reads this thread's used heap in bytes (V8's used_heap_size); a NaN or negative reading is ignored. */
export type HeapReader = () => number;

/** Bounds of the real-to-estimated ratio (an estimate may be generous, or many times too low). */
export const MIN_SCALE = 0.5;
export const MAX_SCALE = 16;
/**
 * Below this budget the estimates alone count: V8's young generation alone holds up to 16 MB of
 * short-lived garbage, more than such a budget, so a reading of the heap says nothing about the state
 * (tests force spilling with budgets of a few KB).
 */
export const CALIBRATE_MIN_BUDGET = 16 * 2 ** 20;
/** The heap is also read every this many safe points, whatever the estimates do. */
export const SAMPLE_SETTLES = 8192;
/** The estimates calibrate once the state is believed to hold this share of the budget. */
export const CALIBRATE_SHARE = 1 / 4;
/** A worker's structures that hold this share of its budget spill before its state is posted (handOff). */
export const HANDOFF_SHARE = 1 / 8;
/** The heap is read each time the estimated real bytes grew by this share of the budget. */
export const SAMPLE_SHARE = 1 / 32;

/** KAUDIT_TRACE_LEDGER=1: a line on stderr at every spill (what, and the calibration). */
const TRACE = !!process.env.KAUDIT_TRACE_LEDGER;

const v8Heap: HeapReader = () => getHeapStatistics().used_heap_size;

const live = new Set<Spiller>();
let used = 0;
let spilling = false;
/** Spills done since the process started (for tests and the stderr note). */
let spills = 0;

let readHeap: HeapReader = v8Heap;
/** Real heap bytes per estimated byte (calibrated by sample()). */
let scale = 1;
/** Heap used when the ledger began to hold something (lowered by any lower reading): not state. */
let base = NaN;
/** `used` when the heap was last read, and safe points since. */
let sampledUsed = 0;
let settles = 0;
/** After a spill: the heap then, and the real bytes it let go (samples wait for a collection). */
let spilledAtHeap = NaN;
let spilledReal = 0;
let spilledUsed = 0;

/** A spill of at least this many real bytes (and an 8th of the budget) is collected at once. */
export const COLLECT_MIN = 16 * 2 ** 20;

let gc: (() => void) | null | undefined;

/**
 * A full collection, right after a large spill: what was spilled is garbage, and V8 would leave it
 * in the heap until the heap grows by half again over what its last collection found live (with
 * the state at its largest then: up to 1.5 × the budget). Collected now, while little is live, it
 * costs a mark of the small live heap and a sweep. V8's `gc` is exposed once, for a new context
 * only (node --expose-gc; the program's own global object does not get it); where it cannot be,
 * nothing happens.
 */
function collect(): boolean {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const f: unknown = runInNewContext('gc');
      gc = typeof f === 'function' ? (f as () => void) : null;
    } catch {
      gc = null;
    }
  }
  gc?.();
  return !!gc;
}

/** The process's memory for the trace: RSS, V8's heap (total and used), and memory outside it. */
function memoryNote(): string {
  const m = process.memoryUsage();
  const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
  return `rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)} MiB`;
}

let collector: () => boolean = collect;

/**
 * A full collection now if `estimated` bytes (the structures' estimate) were just written out
 * outside settle() (spillmap.ts spillAll: a finish() that writes out a map before it reads it back)
 * and they are as large as settle() collects at once after (COLLECT_MIN, an 8th of the budget): what
 * was let go is garbage that V8 would otherwise keep until its old generation grows by its factor
 * over what its last collection found live, the map included (issue 15: up to ~400 MB RSS at the
 * start of drift's finish at a million users). Returns whether it collected.
 */
export function collectSpilled(estimated: number): boolean {
  if (estimated * scale < Math.max(COLLECT_MIN, budgetBytes() / 8)) return false;
  return collector();
}

/** Replaces the full collection after a large spill (tests inject one; it returns whether it collected); null goes back to V8's. */
export function setCollector(c: (() => boolean) | null): void {
  collector = c ?? collect;
}

/** The heap when the pipeline's run began (runStarts), until a structure enrolls; else NaN. */
let runBase = NaN;

/**
 * The pipeline begins a run (src/pipeline.ts): when nothing is held yet, the heap now is where its
 * structures' real bytes start from, rather than where it stands when the first of them enrolls.
 * What the run adds before that counts against them too: the window of requests waiting for their
 * completion fills first (a log of requests that never complete holds 100,000 records before the
 * reducer sees its first), and it cannot spill (issue 15: 1M such requests took rbac-gen to
 * 468 MB peak RSS with the window outside the budget).
 */
export function runStarts(): void {
  if (live.size > 0 || used > 0) return;
  const h = readHeap();
  runBase = h >= 0 ? h : NaN;
}

/** Registers a structure; its `held` bytes count from now on. */
export function enroll(s: Spiller): void {
  if (live.size === 0 && used <= 0) {
    // The ledger begins to hold something: what the heap holds now (or when the run began) is not its state.
    const h = readHeap();
    base = h >= 0 ? (runBase <= h ? runBase : h) : NaN;
    runBase = NaN;
    sampledUsed = 0;
    settles = 0;
  }
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

/** Whether the live structures hold more than the budget, in real bytes (the next settle() spills). */
export function overBudget(): boolean {
  return used * scale > budgetBytes();
}

/** Reads the heap and recalibrates `scale` when the reading can be trusted (see the file's comment). */
function sample(budget: number): void {
  settles = 0;
  if (budget < CALIBRATE_MIN_BUDGET) return;
  sampledUsed = used;
  const h = readHeap();
  if (!(h >= 0)) return;
  if (!(h >= base)) base = h;
  if (spilledAtHeap === spilledAtHeap) {
    // What the last spill let go is garbage until a full collection: wait for the heap to drop.
    if (h > spilledAtHeap - spilledReal / 2 && used < spilledUsed) return;
    spilledAtHeap = NaN;
  }
  const real = h - base;
  if (used <= 0 || (used * scale < budget * CALIBRATE_SHARE && real < budget)) return;
  scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, real / used));
}

/**
 * At a safe point: reads the heap now and then (see the file's comment), and while the live
 * structures hold more real bytes than the budget, spills the largest until they hold at most half.
 */
export function settle(): void {
  if (spilling) return;
  const budget = budgetBytes();
  if (used < sampledUsed) sampledUsed = used;
  if (++settles >= SAMPLE_SETTLES || (used - sampledUsed) * scale >= budget * SAMPLE_SHARE) sample(budget);
  if (used * scale <= budget) return;
  spilling = true;
  try {
    const heapBefore = readHeap();
    const usedBefore = used;
    const target = budget / 2 / scale;
    const order = [...live].sort((a, b) => b.held - a.held);
    for (const s of order) {
      if (used <= target) break;
      if (s.held <= 0) continue;
      const before = s.held;
      s.spill();
      spills++;
      used -= before - s.held;
    }
    if (TRACE) process.stderr.write(`ledger: spilled ${((usedBefore - used) / 2 ** 20).toFixed(1)} of ${(usedBefore / 2 ** 20).toFixed(1)} MiB estimated (scale ${scale.toFixed(2)}, heap ${(heapBefore / 2 ** 20).toFixed(1)} MiB, base ${(base / 2 ** 20).toFixed(1)} MiB, budget ${(budget / 2 ** 20).toFixed(1)} MiB; ${memoryNote()})\n`);
    if (heapBefore >= 0 && used < usedBefore) {
      spilledAtHeap = heapBefore;
      spilledReal = (usedBefore - used) * scale;
      spilledUsed = usedBefore;
      // Collected at once: nothing left to wait for, the next reading calibrates again.
      if (spilledReal >= Math.max(COLLECT_MIN, budget / 8) && collector()) spilledAtHeap = NaN;
    }
    sampledUsed = used;
  } finally {
    spilling = false;
  }
}

/**
 * Before a worker thread posts its task's partial state: every live structure that holds at least
 * HANDOFF_SHARE of the budget (in real bytes) spills, so that the main thread receives file names
 * rather than a large Map to clone, hold and spill again; then the ledger forgets every structure,
 * since the thread no longer holds them (the next task starts a new state, and a structure left
 * enrolled would be counted, and spilled to a run nobody reads, for the rest of the run). Only for
 * a thread whose whole ledger is the state being handed off (a worker runs one task at a time).
 * The calibration is kept.
 */
export function handOff(): void {
  const min = (budgetBytes() * HANDOFF_SHARE) / scale;
  for (const s of live) {
    if (s.held > 0 && s.held >= min) {
      s.spill();
      spills++;
    }
  }
  live.clear();
  used = 0;
  sampledUsed = 0;
  settles = 0;
  spilledAtHeap = NaN;
}

/**
 * The share of the budget (in real bytes, as calibrated) that one finished list may hold when it is
 * handed out as an array (ListWriter.finish, ExternalSorter.keepSorted): a list handed out leaves
 * the ledger, so whatever it holds is live and counted nowhere until the report is written. Past
 * this share the list is written out and read back from disk instead. A report has a fixed number
 * of lists, so what its arrays hold stays a fixed fraction of the budget whatever the cardinality
 * (issue 15: at a million distinct users compliance handed out a list of 980,000 names that the
 * ledger no longer counted, then wrote it as one JSON string).
 */
export const KEEP_SHARE = 1 / 32;

/** Whether a finished list of `held` estimated bytes may be handed out as an array (see KEEP_SHARE). */
export function keepable(held: number): boolean {
  return held * scale <= budgetBytes() * KEEP_SHARE;
}

/** Bytes the live structures hold now (the structures' estimates). */
export function ledgerUsed(): number {
  return used;
}

/** Real heap bytes per estimated byte, as calibrated so far (1 until the first calibration). */
export function ledgerScale(): number {
  return scale;
}

/** How many spills happened in this thread. */
export function spillCount(): number {
  return spills;
}

/** Replaces the heap reader (tests inject one); null goes back to V8's used heap. */
export function setHeapReader(r: HeapReader | null): void {
  readHeap = r ?? v8Heap;
}

/** Forgets every structure and the calibration (tests). */
export function resetLedger(): void {
  live.clear();
  used = 0;
  spills = 0;
  scale = 1;
  base = NaN;
  runBase = NaN;
  sampledUsed = 0;
  settles = 0;
  spilledAtHeap = NaN;
  spilledReal = 0;
  spilledUsed = 0;
}
