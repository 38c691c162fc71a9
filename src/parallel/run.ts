// Runs one command's reducer over the inputs in worker threads (--jobs): plans tasks (whole files,
// or byte ranges of large JSON-lines files), hands them to a pool of workers, then merges the
// partial states in input order and finishes stage collapsing across range borders, so the result
// is the one a single pass would give.
import type { Worker } from 'node:worker_threads';
import { newWorker, takeWorkers, discardPrestarted, mainShares } from './pool.js';
import { readFileSync } from 'node:fs';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { Source } from '../ingest/sources.js';
import type { ReadOptions } from '../ingest/reader.js';
import type { BodyNeeds } from '../normalize/bodies.js';
import type { FilterOptions, Predicate } from '../filter/index.js';
import { emptyAccounting, type PartialResult } from '../pipeline.js';
import { idOf, identityHash, hashKey, idHashOf, familyHash, sameFamily, stageRank, receivedKey, sameTime, notLater, hashSeed, isCompleted, takeFromEarlierStage, identityOf, ID_FIRST_STRIDE, COMPLETED_STRIDE, REUSED_STRIDE, DEFAULT_COLLAPSE } from '../normalize/collapse.js';
import { HashWindow } from '../util/hashwindow.js';
import { settle } from '../scale/ledger.js';
import { parallelCommand } from './commands.js';
import { planTasks, type Task } from './plan.js';
import { SHOWN_REJECTS as SHOWN } from '../cli/report.js';
import { InputError, StrictError, InternalError, UsageError } from '../util/errors.js';
import { TaskRunner, taskError, type TaskDone, type TaskError } from './task.js';
import { budgetBytes, setBudget } from '../scale/budget.js';

/** Plain data a worker needs: it cannot receive functions. */
export interface WorkerSpec {
  command: string;
  /** The command's reducer options as plain data (see commands.ts). */
  options: unknown;
  filters: FilterOptions[];
  /** Clock for relative --since/--until, fixed by the main thread. */
  now: number;
  prefilter: boolean;
  strict: boolean;
  read: Partial<Omit<ReadOptions, 'stdin' | 'prefilter' | 'extract'>>;
  /** The bodies the command reads (PipelineOptions.bodies). */
  bodies?: BodyNeeds;
  /** Keep the bodies of requests waiting for their completion (CollapseOptions.keepWaitingBodies). */
  keepWaitingBodies?: boolean;
  /** The main thread's memory budget (src/scale/budget.ts); a worker keeps within a share of it. */
  memory?: number;
  /** Where workers spill (the main thread's spill folder, removed by it). */
  spillDir?: string;
  /** The main thread's hash seed (collapse.ts hashSeed): the workers' hashes must be its. Set by runParallel. */
  seed?: [number, number];
}

export interface ParallelRun<S> {
  state: S;
  acc: InputAccounting;
}

type Done = TaskDone;


/**
 * Adds the accounting of the tasks together, in input order. A task that `continues` the previous
 * one (its first input is a later byte range of the previous task's last file) adds that file into
 * the previous entry instead of a new one.
 */
export function mergeAccounting(parts: { acc: InputAccounting; continues: boolean }[]): InputAccounting {
  const acc = emptyAccounting();
  for (const { acc: p, continues: first } of parts) {
    let continues = first;
    acc.lines += p.lines;
    acc.prefiltered += p.prefiltered;
    acc.events += p.events;
    acc.requests += p.requests;
    acc.duplicates += p.duplicates;
    acc.rejected += p.rejected;
    acc.used += p.used;
    acc.skipped += p.skipped;
    acc.ignored += p.ignored;
    acc.auditIDReuse += p.auditIDReuse;
    acc.complete &&= p.complete;
    acc.notCompleted += p.notCompleted;
    acc.window.limit = p.window.limit;
    acc.window.evicted += p.window.evicted;
    for (const f of p.files) {
      const prev = acc.files.at(-1);
      if (continues && prev !== undefined) {
        prev.bytes += f.bytes;
        prev.lines += f.lines;
        prev.events += f.events;
        prev.rejected += f.rejected;
        prev.prefiltered += f.prefiltered;
        prev.ignored += f.ignored;
        if (!f.complete && prev.complete) {
          prev.complete = false;
          prev.incomplete = f.incomplete;
        }
        prev.providers = [...new Set([...prev.providers, ...f.providers])].sort();
        // One pass names the file after the first container format it meets (a CloudWatch wrapper, say).
        if (prev.format === 'jsonl' && f.format && f.format !== 'jsonl') prev.format = f.format;
      } else acc.files.push({ ...f });
      continues = false;
    }
  }
  return acc;
}

/**
 * Stage collapsing across tasks, fed one task at a time in input order, replaying what one pass
 * would have done (the rule: src/normalize/collapse.ts). A request still waiting for its
 * completion at the end of a task is carried. A later task's events that found nothing under
 * their auditID there (PartialResult.idFirst) are the only ones one pass could have joined to
 * something earlier: when the one request carried under that ID takes the event as one pass
 * would (same family; equal times, or a later stage received not earlier) and the task kept the
 * event's stage (it is not an earlier one), the carried request is a duplicate and the task's
 * result is exactly one pass's. An event of a request an earlier task completed, which one pass
 * absorbs (same family; an earlier stage received not later than the completion, or at the same
 * time) and which the task only kept waiting (every event of that ID in the task an early stage,
 * absorbed alike), is dropped and counted as a duplicate, exactly as one pass does.
 *
 * One pass's windows, replayed exactly. One pass decides with three windows of `maxDone` entries
 * each (first in, first out; an entry set again keeps its place): the last requests completed by
 * auditID (`done`), the requests a reuse of their auditID displaced from it (`reused`), and the
 * auditIDs of the last selected requests (AuditIDReuse). The Reconciler holds the same three, of
 * the same size, as hashes, and replays into them each task's entries after the ones before it.
 * That gives one pass's windows because every auditID a task put in a window was new to one pass's
 * window of before the task (its first event in the task found nothing there, else the run fell
 * back, below): the task's window and one pass's then take the same entries in the same order, and
 * one pass's older entries only go first. So a task hands back its windows' contents at its end
 * (PartialResult.completed, reusedKeys; at most maxDone entries each) rather than every completion,
 * and its first-used Audit-IDs in order (firstIds). The task's own decisions under an ID it found
 * new then are one pass's, and so are the Audit-ID reuses it flagged (AuditIDReuse sees the same
 * window), and those the main thread flags at the end (reuseOf).
 *
 * Anything else a task border touches cannot be decided exactly from hashes, and the caller reads
 * in one thread instead (`fallback`; audit merge refuses):
 *   - `repeats`: an event of a request an earlier task completed that the task completed too (the
 *     same events in two files), or a stage of a carried request written out of order across the
 *     border;
 *   - `auditid-reuse`: an auditID that an earlier task used for another request, that one pass's
 *     window of displaced requests still holds (it absorbs repeats of them: the task would not),
 *     or that one pass's Audit-ID window still holds when the task uses it again (one pass keeps
 *     it where it was first used, the task's window where the task used it);
 *   - `window`: one pass would have had more than maxPending requests waiting and emitted some
 *     early.
 * What nothing claims is emitted at the end, as one pass would flush it. Memory: the carried
 * requests and three windows of maxDone hashes.
 */
export class Reconciler {
  duplicates = 0;
  /** Null while the tasks join exactly; else why they cannot (the caller reads in one thread). */
  fallback: Fallback | null = null;
  /** One pass's AuditIDReuse window: auditID hash → identity hash of the first selected request that used it. */
  private readonly ids: HashWindow;
  /**
   * Requests waiting for their completion, oldest first, in slots (a request a later task took
   * over keeps its slot: one pass emits it in the place it first waited); and the slots by auditID hash.
   */
  private readonly carried = new Map<number, AuditRecord>();
  private readonly carry = new Map<number, number[]>();
  private slots = 0;
  /**
   * One pass's window of completed requests (StageCollapser `done`): auditID hash → family hash
   * (column 0), stage rank (1) and receive time (2) of the last request completed with it.
   */
  private readonly done: HashWindow;
  /**
   * One pass's window of requests displaced by a reuse of their auditID (StageCollapser `reused`):
   * a hash of (auditID hash, family hash) → the auditID hash, made on the first entry; and how many
   * entries each auditID has there.
   */
  private reused: HashWindow | null = null;
  private readonly reusedById = new Map<number, number>();
  /** Carried slots whose completion completeFromCarry already saw in the part being read. */
  private readonly applied = new Set<number>();

  /** `maxPending`, `maxDone`: one pass's CollapseOptions (tests make them small). */
  constructor(
    private readonly maxPending: number = DEFAULT_COLLAPSE.maxPending,
    private readonly maxDone: number = DEFAULT_COLLAPSE.maxDone,
  ) {
    // In flat typed arrays (a Map of 300,000 52-bit keys was half of the main thread's time in --jobs).
    this.ids = new HashWindow(maxDone, 1);
    this.done = new HashWindow(maxDone, 3);
  }

  /**
   * True when one pass absorbs into the request completed under `id` (the Reconciler's `done`)
   * every event of the leftover `j` of part `p` that the event (rank, t) opened in the task: the
   * leftover is still waiting (only early stages joined it), each of them is an earlier stage
   * received not later than the completion (or at the same time; the leftover's time is the
   * latest of them), the task opened nothing else under that ID, and one pass's window still
   * holds the completion whatever the task's completions put in it before (StageCollapser.absorbs).
   * Another request the task opened under the ID while the leftover waited is still waiting (a
   * leftover), or in the task's window of completed requests, or was pushed out of it by at least
   * maxDone others (then the age test fails): each case is refused.
   */
  private absorbsLate(id: number, p: PartialResult, j: number, rank: number, t: number, late: LateIndex): boolean {
    const l = p.leftovers[j]!;
    const dRank = this.done.get(id, 1)!;
    const dt = this.done.get(id, 2)!;
    const lt = receivedKey(l);
    const lRank = stageRank(l.stage);
    const absorbed = (r: number, x: number): boolean => sameTime(dt, x) || (r < dRank && notLater(x, dt));
    if (dRank !== FINAL_RANK || lRank >= FINAL_RANK || !absorbed(rank, t) || !absorbed(lRank, lt)) return false;
    if ((late.ids.get(id) ?? 0) > 1) return false;
    // The window's age is one pass's (exact replay); every key the task added may come before the last event.
    return this.done.age(id) + p.doneAdded < this.maxDone;
  }

  /**
   * `last`: no part follows, so this part's windows of completed and displaced requests are not
   * replayed (only a later part reads them) and its Audit-IDs are added only if finish() emits a
   * request (reuseOf): the main thread's work after the workers end is then look-ups only.
   */
  push(p: PartialResult | null, last = false): void {
    this.applied.clear();
    if (p === null || this.fallback !== null) return;
    // One pass would hold the carried requests beside this task's: beyond the window it would have
    // emitted the oldest early, which this task's own run did not see.
    if (this.carried.size > 0 && this.carried.size + p.peakPending > this.maxPending) return this.stop('window');
    const f = p.idFirst;
    /** idFirst index → the slot of the carried request that event took over (it is still waiting). */
    const takenOver = new Map<number, number>();
    /** Leftovers (by index) that one pass absorbs into a request an earlier task completed. */
    const dropped = new Set<number>();
    let late: LateIndex | null = null;
    // From the part's doneCut on, one pass's window of completed requests holds nothing of the
    // parts before (PartialResult.doneCut), and an empty one nothing at all: no look-up there. Past
    // it, only requests carried and displaced may take an event (on two 512 MB parts of the Metadata
    // log, 200,000 of 516,000 entries are looked up, and none once nothing is carried).
    const cut = this.done.size === 0 ? 0 : Math.min(f.length, (p.doneCut ?? Infinity) * ID_FIRST_STRIDE);
    for (let i = 0; i + ID_FIRST_STRIDE <= f.length; i += ID_FIRST_STRIDE) {
      if (i >= cut && this.carry.size === 0 && this.reusedById.size === 0) break;
      const id = f[i]!;
      // (Most parts carry nothing over, and displace nothing: no look-up of a boxed key then.)
      const c = this.carry.size === 0 ? undefined : this.carry.get(id);
      const rank = f[i + 2]!;
      const t = f[i + 3]!;
      const dFamily = i < cut ? this.done.get(id, 0) : undefined;
      if (dFamily !== undefined) {
        // The same family under the same ID: the same request (or its twin) again; else a reuse.
        if (dFamily !== f[i + 1]!) return this.stop('auditid-reuse');
        late ??= lateIndex(p);
        const j = late.byOrigin.get(i / ID_FIRST_STRIDE);
        if (c !== undefined || j === undefined || !this.absorbsLate(id, p, j, rank, t, late)) return this.stop('repeats');
        dropped.add(j);
        this.duplicates++;
        continue;
      }
      // One pass remembers an earlier request displaced from this ID by a reuse: it absorbs a
      // repeat of it that the task may see after this event, where the task cannot know it.
      if (this.reusedById.size > 0 && this.reusedById.has(id)) return this.stop('auditid-reuse');
      if (c === undefined) continue;
      const slot = c[0]!;
      const l = this.carried.get(slot)!;
      const lRank = stageRank(l.stage);
      const lt = receivedKey(l);
      if (c.length > 1 || familyHash(l) !== f[i + 1]! || !(sameTime(lt, t) || (rank > lRank && notLater(lt, t)))) return this.stop('auditid-reuse');
      // An earlier stage of the carried request: one pass keeps the carried stage, the task kept this one.
      if (rank < lRank) return this.stop('repeats');
      this.carry.delete(id);
      this.duplicates++;
      if (rank === FINAL_RANK) this.carried.delete(slot);
      else takenOver.set(i / ID_FIRST_STRIDE, slot);
    }
    // The part kept waiting an event one pass absorbs: its window was fuller than one pass's, and
    // if it emitted requests early (its peak passed maxPending), one pass may not have.
    if (dropped.size > 0 && p.peakPending > this.maxPending) return this.stop('window');
    // An Audit-ID this part's selected requests used that one pass's window still holds then (the
    // k-th ID the part added comes after k others): one pass flags it or keeps it where it was, the task did neither.
    // (Only the first maxDone of them can meet one pass's window as it was before the part.)
    const ids = p.firstIds;
    if (this.ids.size > 0) for (let i = 0, k = 0; i + 1 < ids.length && k < this.maxDone; i += 2, k++) {
      const id = ids[i]!;
      const age = this.ids.age(id);
      if (age >= 0 && age < this.maxDone - k) return this.stop('auditid-reuse');
    }
    if (!last) {
      // The part's windows replayed after one pass's: one pass's windows after the part.
      // Never there (see the class comment): a hash collision or a hole in the model; one thread decides.
      if (!this.done.addAll(p.completed, COMPLETED_STRIDE, true)) return this.stop('repeats');
      const rk = p.reusedKeys;
      for (let i = 0; i + REUSED_STRIDE <= rk.length; i += REUSED_STRIDE) if (!this.addReused(rk[i]!, rk[i + 1]!)) return this.stop('auditid-reuse');
    }
    for (let j = 0; j < p.leftovers.length; j++) {
      if (dropped.has(j)) continue;
      const r = p.leftovers[j]!;
      const taken = takenOver.get(p.origins[j]!);
      let slot: number;
      if (taken === undefined) slot = this.slots++;
      else {
        slot = taken;
        takenOver.delete(p.origins[j]!);
      }
      this.carried.set(slot, r);
      const id = idHashOf(r);
      const c = this.carry.get(id);
      if (c === undefined) this.carry.set(id, [slot]);
      else c.push(slot);
    }
    // Requests taken over and completed within the task: the task emitted them.
    for (const slot of takenOver.values()) this.carried.delete(slot);
    if (last) this.lastIds = ids;
    else this.addIds(ids);
  }

  /** Adds one pass's entry for a request displaced by a reuse (`reused`); false when it is there already (never, see push). */
  private addReused(idHash: number, family: number): boolean {
    const key = identityOf(family, idHash);
    const reused = (this.reused ??= new HashWindow(this.maxDone, 1));
    if (reused.has(key)) return false;
    const old = reused.evictee();
    if (old !== undefined) {
      const oid = reused.get(old)!;
      const n = this.reusedById.get(oid)!;
      if (n === 1) this.reusedById.delete(oid);
      else this.reusedById.set(oid, n - 1);
    }
    reused.set(key, idHash);
    this.reusedById.set(idHash, (this.reusedById.get(idHash) ?? 0) + 1);
    return true;
  }

  /**
   * Adds a part's first-used Audit-IDs (PartialResult.firstIds) to the window, in order, as one
   * pass's AuditIDReuse adds them (push checked that each is new to it when the part used it).
   */
  private addIds(ids: Float64Array): void {
    this.ids.addAll(ids, 2, false);
  }

  /** The last part's firstIds, checked but not yet added (push with `last`): reuseOf adds them first. */
  private lastIds: Float64Array | null = null;

  private stop(why: Fallback): void {
    this.fallback = why;
  }

  /**
   * Stops early (fallback `window`) when the parts not pushed yet would, by what they hold now,
   * make one pass's window overflow: `waiting[k]` is what the k-th of them holds waiting (a running
   * part: now; a finished one: its leftovers). Were those all still waiting at their part's end, the
   * part k after them would meet push's test (requests carried, and more than maxPending with its
   * own). It is a prediction: an earlier part's requests may still complete before its end and
   * the parts join exactly after all; then the run reads in one thread for nothing (the same
   * bytes, slower). But nothing short of one pass's window holds so many requests waiting at once
   * (a log of requests that never complete), and each worker holds up to maxPending records
   * meanwhile: a million such requests peaked at 0.83 GB with two workers when only push decided
   * (bench/RESULTS.md, issue 15).
   */
  predictOverflow(waiting: readonly number[]): boolean {
    if (this.fallback !== null) return true;
    let carried = this.carried.size;
    for (const w of waiting) {
      if (carried > 0 && carried + w > this.maxPending) {
        this.stop('window');
        return true;
      }
      carried += w;
    }
    return false;
  }

  /**
   * Checks a request the main thread selects (one left over by the tasks) for Audit-ID reuse
   * against the IDs the tasks' selected requests used, as one pass would at its end.
   */
  reuseOf(r: AuditRecord): void {
    if (r.auditID === '') return;
    if (this.lastIds !== null) {
      this.addIds(this.lastIds);
      this.lastIds = null;
    }
    const id = hashKey(idOf(r));
    const ih = identityHash(r);
    const known = this.ids.get(id);
    if (known === undefined) this.ids.set(id, ih);
    else if (known !== ih) {
      r.auditIDReused = true;
      this.reusedAtEnd++;
    }
  }

  /** Requests left over by the tasks that reuse an auditID (counted by reuseOf). */
  reusedAtEnd = 0;

  /**
   * A record a later part completed, before that part is pushed: when an earlier part left the
   * same request waiting, the record takes from it what one pass's collapser would have
   * (takeFromEarlierStage). Records mode (audit merge of commands) applies it to every record.
   */
  completeFromCarry(r: AuditRecord): void {
    if (r.auditID === '' || this.carry.size === 0) return;
    const c = this.carry.get(idHashOf(r));
    // Two requests carried under one ID make push fall back (auditid-reuse): nothing to join.
    if (c === undefined || c.length !== 1 || this.applied.has(c[0]!)) return;
    const l = this.carried.get(c[0]!)!;
    const rank = stageRank(r.stage);
    const lt = receivedKey(l);
    const t = receivedKey(r);
    // The join rule of push (and of the collapser), applied to the record the join completed; the
    // part's first request under the ID is the one that takes the carried request over.
    if (!sameFamily(l, r) || !(sameTime(lt, t) || (rank > stageRank(l.stage) && notLater(lt, t)))) return;
    this.applied.add(c[0]!);
    takeFromEarlierStage(r, l);
  }

  /** Emits what is left, oldest first. */
  finish(emit: (r: AuditRecord) => void): void {
    for (const r of this.carried.values()) emit(r);
    this.carried.clear();
    this.carry.clear();
  }
}

/** The stage rank of a completing stage (ResponseComplete, Panic). */
const FINAL_RANK = stageRank('ResponseComplete');

/** Per part, for the late early stages of requests completed in earlier parts (Reconciler.absorbsLate). */
interface LateIndex {
  /** idFirst entry index → the leftover that entry's event opened. */
  byOrigin: Map<number, number>;
  /** auditID hash → how many leftovers of this part, and entries of its window of completed requests, carry it. */
  ids: Map<number, number>;
}

function lateIndex(p: PartialResult): LateIndex {
  const byOrigin = new Map<number, number>();
  const ids = new Map<number, number>();
  for (let j = 0; j < p.leftovers.length; j++) {
    if (p.origins[j]! >= 0) byOrigin.set(p.origins[j]!, j);
    const h = idHashOf(p.leftovers[j]!);
    ids.set(h, (ids.get(h) ?? 0) + 1);
  }
  for (let i = 0; i + COMPLETED_STRIDE <= p.completed.length; i += COMPLETED_STRIDE) ids.set(p.completed[i]!, (ids.get(p.completed[i]!) ?? 0) + 1);
  return { byOrigin, ids };
}

/** All tasks at once (tests). */
export function reconcile(partials: (PartialResult | null)[], emit: (r: AuditRecord) => void, maxPending?: number): { duplicates: number; fallback: Fallback | null } {
  const r = new Reconciler(maxPending);
  partials.forEach((p, i) => r.push(p, i === partials.length - 1));
  if (r.fallback === null) r.finish(emit);
  return { duplicates: r.duplicates, fallback: r.fallback };
}

export interface ParallelOptions<S> {
  /** The main thread's state: the partial states merge into it, in input order. */
  state: S;
  sources: Source[];
  jobs: number;
  spec: WorkerSpec;
  /** The main thread's filter, for requests completed across range borders. */
  filter: Predicate;
  onReject(loc: Loc, reason: string): void;
  onProgress(bytes: number, events: number): void;
}

/**
 * With KAUDIT_TRACE_PARALLEL set: a function that writes what the main thread does, with the ms since
 * the process started, to stderr (where the time of a split run goes; see bench/RESULTS.md).
 */
function timeline(): ((what: string) => void) | null {
  if (!process.env.KAUDIT_TRACE_PARALLEL) return null;
  return (what) => process.stderr.write(`parallel ${performance.now().toFixed(0).padStart(6)} ms (main thread CPU ${threadCpuMs().toFixed(0)} ms): ${what}\n`);
}

/** CPU ms (user + system) of the calling thread so far (Linux /proc/thread-self; 0 elsewhere). */
export function threadCpuMs(): number {
  try {
    const st = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(st[11]) + Number(st[12])) * 10;
  } catch {
    return 0;
  }
}

/** Why a parallel run gave up; the caller reads in one thread instead. */
export type Fallback = 'out-of-memory' | 'repeats' | 'auditid-reuse' | 'window';

export { WORKER_OLD_MB, workerOldMb } from './pool.js';

/**
 * Null when the inputs make fewer than two tasks (one thread is then as fast). A Fallback when a
 * worker's state outgrew WORKER_OLD_MB, or when tasks repeat requests that one pass would count
 * once: the caller then reads in one thread, so the output never depends on --jobs.
 */
export async function runParallel<S>(o: ParallelOptions<S>): Promise<ParallelRun<S> | null | Fallback> {
  const trace = timeline();
  const tasks = await planTasks(o.sources, o.jobs, o.spec.read.format ?? 'auto');
  trace?.(`planned ${tasks.length} tasks`);
  if (tasks.length < 2) {
    discardPrestarted();
    return null;
  }
  const cmd = await parallelCommand(o.spec.command);
  const spec: WorkerSpec = { ...o.spec, seed: hashSeed() };
  // Results are consumed in input order as soon as they can be, so the main thread holds only
  // those that finished ahead of an earlier one.
  const waiting = new Map<number, Done>();
  let consumed = 0;
  // Partial states merge into the first; the caller's state is touched only once all succeeded.
  let merged: S | undefined;
  const accs: { acc: InputAccounting; continues: boolean }[] = [];
  const reconciler = new Reconciler();
  const rejects: { loc: Loc; reason: string }[] = [];
  const consume = (): void => {
    for (let d = waiting.get(consumed); d !== undefined; d = waiting.get(consumed)) {
      waiting.delete(consumed);
      const part = (d.own ? d.state : cmd.restore(d.state, o.state)) as S;
      merged = merged === undefined ? part : cmd.reducer.merge(merged, part);
      accs.push({ acc: d.acc, continues: (tasks[consumed]!.source.start ?? 0) > 0 });
      for (const r of d.rejects) if (rejects.length < SHOWN) rejects.push(r);
      reconciler.push(d.partial, consumed === tasks.length - 1);
      consumed++;
      if (reconciler.fallback !== null) return stop(reconciler.fallback);
    }
    overflowing();
  };
  /** Requests waiting in each task: now while it runs (its progress), its leftovers once done. */
  const waitingNow = new Array<number>(tasks.length).fill(0);
  /** Stops the run as soon as the tasks not merged yet predict that one pass's window overflows (Reconciler.predictOverflow). */
  const overflowing = (): void => {
    if (fallback !== null || consumed >= tasks.length) return;
    const ahead: number[] = [];
    for (let k = consumed; k < tasks.length; k++) {
      const d = waiting.get(k);
      ahead.push(d !== undefined ? (d.partial?.leftovers.length ?? 0) : waitingNow[k]!);
    }
    if (reconciler.predictOverflow(ahead)) stop(reconciler.fallback!);
  };

  const errors: TaskError[] = [];
  const progress = new Array<number>(tasks.length).fill(0);
  const progressEvents = new Array<number>(tasks.length).fill(0);
  let next = 0;
  const poolSize = Math.max(1, Math.min(o.jobs, tasks.length));
  // With mainShares (src/parallel/pool.ts; KAUDIT_PARALLEL_MAIN=1), the main thread takes tasks
  // too, beside poolSize - 1 workers: one isolate fewer to start, compile for and collect, and
  // the main thread, idle otherwise, reads. Its task's state is merged live (TaskRunner.run `keep`):
  // with a clone of it, as posting would make, peak RSS was 40-90 MB above two workers'
  // (bench/RESULTS.md, issue 19, h19l).
  const mainShare = mainShares(poolSize);
  const workerCount = mainShare ? poolSize - 1 : poolSize;

  const workers: Worker[] = [];
  let fallback: Fallback | null = null;
  let finished: () => void = () => {};
  function stop(why: Fallback): void {
    fallback ??= why;
    for (const x of workers) void x.terminate();
    finished();
  }
  /** The main thread's share: ended before runParallel returns, stopped early once the run is given up. */
  let mainDone: Promise<void> = Promise.resolve();
  let abandoned = false;
  try {
    await new Promise<void>((resolve, reject) => {
      finished = resolve;
      let live = workerCount + (mainShare ? 1 : 0);
      const ended = (): void => {
        if (--live === 0) resolve();
      };
      const start = (w: Worker): void => {
        if (fallback !== null) return;
        if (errors.length > 0 || next >= tasks.length) {
          void w.terminate();
          ended();
          return;
        }
        const task: Task = tasks[next++]!;
        trace?.(`task ${task.index} to worker ${workers.indexOf(w)}`);
        w.postMessage({ task, spec });
      };
      const onProgress = (index: number, bytes: number, events: number, inWindow: number): void => {
        progress[index] = bytes;
        progressEvents[index] = events;
        if (inWindow !== waitingNow[index]) {
          waitingNow[index] = inWindow;
          overflowing();
        }
        o.onProgress(
          progress.reduce((a, b) => a + b, 0),
          progressEvents.reduce((a, b) => a + b, 0),
        );
      };
      // The main thread reads the first task: its part needs no earlier one, so it is merged as soon
      // as the main thread is done with it, while the workers read on (and not after the last
      // worker's part, when it would lengthen the serial tail of the run).
      let mainFirst = mainShare ? next++ : -1;
      // The workers started while the command parsed its options (prestartWorkers), then new ones.
      const ready = takeWorkers(spec.command, workerCount);
      for (let i = 0; i < workerCount; i++) {
        const w = ready[i] ?? newWorker(spec.command);
        workers.push(w);
        w.on('message', (m: { type: string; index: number } & Record<string, any>) => {
          if (m.type === 'progress') return onProgress(m.index, m.bytes, m.events, m.waiting ?? 0);
          if (m.type === 'done') {
            trace?.(`task ${m.index} done (worker ${workers.indexOf(w)}: ${m.ms?.toFixed(0)} ms in its pipeline, its thread's CPU ${m.cpuMs?.toFixed(0)} ms since it started; ${m.heap}; process RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB)`);
            if (trace && m.milestones) {
              const at = (x: { at: number; cpu: number } | null): string => (x ? `${(x.at - performance.timeOrigin).toFixed(0)} ms (CPU ${x.cpu.toFixed(0)})` : '-');
              trace(`worker ${workers.indexOf(w)} milestones: ${Object.entries(m.milestones as Record<string, { at: number; cpu: number } | null>).map(([k, v]) => `${k} ${at(v)}`).join(', ')}`);
            }
            waiting.set(m.index, m as unknown as Done);
            // The worker gets its next task before the main thread merges this result (hundreds of
            // ms for a large state), so that it does not wait idle meanwhile. The merge is
            // synchronous: it ends before the run's promise can settle, whatever start() did.
            start(w);
            if (errors.length === 0) consume();
            trace?.(`consumed up to task ${consumed - 1}`);
            return;
          }
          errors.push({ index: m.index, kind: m.kind, message: m.message, fix: m.fix, stack: m.stack, component: m.component, where: m.where } as TaskError);
          start(w);
        });
        w.on('error', (e: Error & { code?: string }) => {
          // Only a worker that is genuinely out of memory falls back (and the caller says so); any
          // other failure of a worker thread is an internal error.
          if (e.code !== 'ERR_WORKER_OUT_OF_MEMORY') return reject(new InternalError(e.message, 'worker thread', '', e.stack ?? e.message));
          stop('out-of-memory');
        });
        start(w);
      }
      if (!mainShare) return;
      // The main thread's own tasks, between the workers' messages (its reads yield to them).
      const runner = new TaskRunner();
      const progressOrStop = (index: number, bytes: number, events: number, inWindow: number): void => {
        if (abandoned || fallback !== null) throw new Error('the split run was given up');
        onProgress(index, bytes, events, inWindow);
      };
      mainDone = (async () => {
        while (fallback === null && errors.length === 0 && (mainFirst >= 0 || next < tasks.length)) {
          const task = tasks[mainFirst >= 0 ? mainFirst : next++]!;
          mainFirst = -1;
          trace?.(`task ${task.index} to the main thread`);
          const t0 = performance.now();
          try {
            // The state stays live (`own`): merged as it is, neither handed over, stripped nor cloned
            // (a clone of its partial result's typed arrays alone is tens of MB, and a handed-over
            // state's spilling structures would leave this thread's ledger).
            // While it reads, the main thread holds a worker's budget (spec.memory), as a worker
            // would; the main thread's share comes back for the merges (at 1M distinct users,
            // rbac-gen's peak RSS went from 309 to 421 MB with the main share for its task).
            const share = budgetBytes();
            let d: TaskDone;
            try {
              d = await runner.run(task, spec, (bytes, events, inWindow) => progressOrStop(task.index, bytes, events, inWindow), () => {
                if (spec.memory) setBudget(Math.min(share, spec.memory));
              }, true);
            } finally {
              setBudget(share);
            }
            if (fallback !== null) break;
            trace?.(`task ${task.index} done (main thread: ${(performance.now() - t0).toFixed(0)} ms in its pipeline)`);
            waiting.set(task.index, d);
            if (errors.length === 0) consume();
            trace?.(`consumed up to task ${consumed - 1}`);
          } catch (e) {
            if (abandoned || fallback !== null) break;
            errors.push({ ...taskError(task.index, e), main: true });
          }
        }
        ended();
      })().catch(reject);
    });
  } finally {
    abandoned = true;
    await mainDone.catch(() => {});
    // Wait until every worker has exited: a Worker whose 'exit' event is still queued keeps its
    // listeners, and through them this run's closures (the reconciler's windows, the tasks' partial
    // results: about 60 MB), alive through the caller's finish(), which is synchronous and long.
    await Promise.all(workers.map((w) => w.terminate()));
  }

  if (fallback !== null) return fallback;
  if (errors.length) {
    errors.sort((a, b) => a.index - b.index);
    const first = errors[0]!;
    if (first.kind === 'strict') throw new StrictError(first.message);
    if (first.kind === 'input') throw new InputError(first.message, first.fix);
    if (first.kind === 'usage') throw new UsageError(first.message, first.fix);
    throw new InternalError(first.message, `${first.component || 'worker'} (${first.main ? 'in a task of --jobs on the main thread' : 'in a worker thread'})`, first.where ?? '', first.stack ?? first.message);
  }
  for (const r of rejects) o.onReject(r.loc, r.reason);
  trace?.('all tasks done');
  const state = cmd.reducer.merge(o.state, merged!);
  const acc = mergeAccounting(accs);
  reconciler.finish((r) => {
    acc.requests++;
    if (o.filter(r)) {
      acc.used++;
      if (!isCompleted(r)) acc.notCompleted++;
      reconciler.reuseOf(r);
      cmd.reducer.add(state, r);
      settle();
    } else acc.skipped++;
  });
  acc.duplicates += reconciler.duplicates;
  acc.auditIDReuse += reconciler.reusedAtEnd;
  trace?.('merged and reconciled');
  if (trace) {
    // CPU by thread name (V8's compiler and GC helpers, libuv's pool, the workers) while workers live.
    const { readdirSync } = await import('node:fs');
    const by = new Map<string, number>();
    for (const t of readdirSync('/proc/self/task')) {
      try {
        const raw = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
        const name = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')'));
        const st = raw.slice(raw.lastIndexOf(') ') + 2).split(' ');
        by.set(`${name}#${t}`, (Number(st[11]) + Number(st[12])) * 10);
      } catch {
        /* ended */
      }
    }
    trace(`CPU ms by thread: ${[...by].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  return { state, acc };
}
