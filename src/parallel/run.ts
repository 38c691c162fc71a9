// Runs one command's reducer over the inputs in worker threads (--jobs): plans tasks (whole files,
// or byte ranges of large JSON-lines files), hands them to a pool of workers, then merges the
// partial states in input order and finishes stage collapsing across range borders, so the result
// is the one a single pass would give.
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { Source } from '../ingest/sources.js';
import type { ReadOptions } from '../ingest/reader.js';
import type { FilterOptions, Predicate } from '../filter/index.js';
import { emptyAccounting, type PartialResult } from '../pipeline.js';
import { idOf, identityHash, hashKey, idHashOf, familyHash, stageRank, receivedKey, sameTime, notLater, hashSeed, RecentMap, ID_FIRST_STRIDE, DEFAULT_COLLAPSE } from '../normalize/collapse.js';
import { HashWindow } from '../util/hashwindow.js';
import { parallelCommand } from './commands.js';
import { planTasks, type Task } from './plan.js';
import { SHOWN_REJECTS as SHOWN } from '../cli/report.js';
import { InputError, StrictError, InternalError, UsageError } from '../util/errors.js';

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
  read: Partial<Omit<ReadOptions, 'stdin' | 'prefilter'>>;
  /** The main thread's hash seed (collapse.ts hashSeed): the workers' hashes must be its. Set by runParallel. */
  seed?: [number, number];
}

export interface ParallelRun<S> {
  state: S;
  acc: InputAccounting;
}

interface Done {
  state: unknown;
  acc: InputAccounting;
  partial: PartialResult | null;
  rejects: { loc: Loc; reason: string }[];
}

function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from the TypeScript sources (tests): use the built worker.
  return new URL('../../dist/parallel/worker.js', import.meta.url);
}

/**
 * Adds the accounting of the tasks together, in input order. A task that `continues` the previous
 * one (a later byte range of the same file) adds into that file's entry instead of a new one.
 */
export function mergeAccounting(parts: { acc: InputAccounting; continues: boolean }[]): InputAccounting {
  const acc = emptyAccounting();
  for (const { acc: p, continues } of parts) {
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
 * result is exactly one pass's. Anything else a task border touches cannot be decided exactly
 * from hashes, and the caller reads in one thread instead (`fallback`):
 *   - `repeats`: an event of a request an earlier task completed (the same events in two files, a
 *     stage written long after its request completed), or a stage of a carried request written
 *     out of order across the border;
 *   - `auditid-reuse`: an auditID that an earlier task used for another request;
 *   - `window`: one pass would have had more than maxPending requests waiting and emitted some
 *     early.
 * What nothing claims is emitted at the end, as one pass would flush it. Memory: the carried
 * requests and a window of the completed auditIDs (one pass's and half again, so that every ID
 * one pass still remembers is seen; a few more only cost a fallback).
 */
export class Reconciler {
  duplicates = 0;
  /** Null while the tasks join exactly; else why they cannot (the caller reads in one thread). */
  fallback: Fallback | null = null;
  /** auditID hash → identity hash of the first selected request seen with it, over earlier tasks (bounded like `done`). */
  private readonly ids: RecentMap<number, number>;
  /**
   * Requests waiting for their completion, oldest first, in slots (a request a later task took
   * over keeps its slot: one pass emits it in the place it first waited); and the slots by auditID hash.
   */
  private readonly carried = new Map<number, AuditRecord>();
  private readonly carry = new Map<number, number[]>();
  private slots = 0;
  /** auditID hash → family hash of the last request earlier tasks completed with it (one pass's `done`). */
  private readonly done: HashWindow;

  /** `window`: at least one pass's maxDone (tests with small windows make it small). */
  constructor(
    private readonly maxPending: number = DEFAULT_COLLAPSE.maxPending,
    window: number = WINDOW,
  ) {
    this.ids = new RecentMap(window);
    this.done = new HashWindow(window);
  }

  push(p: PartialResult | null): void {
    if (p === null || this.fallback !== null) return;
    // One pass would hold the carried requests beside this task's: beyond the window it would have
    // emitted the oldest early, which this task's own run did not see.
    if (this.carried.size > 0 && this.carried.size + p.peakPending > this.maxPending) return this.stop('window');
    const f = p.idFirst;
    /** idFirst index → the slot of the carried request that event took over (it is still waiting). */
    const takenOver = new Map<number, number>();
    for (let i = 0; i + ID_FIRST_STRIDE <= f.length; i += ID_FIRST_STRIDE) {
      const id = f[i]!;
      const c = this.carry.get(id);
      const d = this.done.get(id);
      // The same family under the same ID: the same request (or its twin) again; else a reuse.
      if (d !== undefined) return this.stop(d === f[i + 1]! ? 'repeats' : 'auditid-reuse');
      if (c === undefined) continue;
      const slot = c[0]!;
      const l = this.carried.get(slot)!;
      const lRank = stageRank(l.stage);
      const lt = receivedKey(l);
      const rank = f[i + 2]!;
      const t = f[i + 3]!;
      if (c.length > 1 || familyHash(l) !== f[i + 1]! || !(sameTime(lt, t) || (rank > lRank && notLater(lt, t)))) return this.stop('auditid-reuse');
      // An earlier stage of the carried request: one pass keeps the carried stage, the task kept this one.
      if (rank < lRank) return this.stop('repeats');
      this.carry.delete(id);
      this.duplicates++;
      if (rank === stageRank('ResponseComplete')) this.carried.delete(slot);
      else takenOver.set(i / ID_FIRST_STRIDE, slot);
    }
    const done = p.completed;
    for (let i = 0; i + 1 < done.length; i += 2) this.done.set(done[i]!, done[i + 1]!);
    for (let j = 0; j < p.leftovers.length; j++) {
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
    const ids = p.firstIds;
    for (let i = 0; i + 1 < ids.length; i += 2) {
      const id = ids[i]!;
      const ih = ids[i + 1]!;
      const known = this.ids.get(id);
      if (known === undefined) this.ids.addNew(id, ih);
      else if (known !== ih) return this.stop('auditid-reuse');
    }
  }

  private stop(why: Fallback): void {
    this.fallback = why;
  }

  /**
   * Checks a request the main thread selects (one left over by the tasks) for Audit-ID reuse
   * against the IDs the tasks' selected requests used, as one pass would at its end.
   */
  reuseOf(r: AuditRecord): void {
    if (r.auditID === '') return;
    const id = hashKey(idOf(r));
    const ih = identityHash(r);
    const known = this.ids.get(id);
    if (known === undefined) this.ids.addNew(id, ih);
    else if (known !== ih) {
      r.auditIDReused = true;
      this.reusedAtEnd++;
    }
  }

  /** Requests left over by the tasks that reuse an auditID (counted by reuseOf). */
  reusedAtEnd = 0;

  /** Emits what is left, oldest first. */
  finish(emit: (r: AuditRecord) => void): void {
    for (const r of this.carried.values()) emit(r);
    this.carried.clear();
    this.carry.clear();
  }
}

/** The windows of the Reconciler: one pass's (maxDone) and half again. */
const WINDOW = Math.ceil(DEFAULT_COLLAPSE.maxDone * 1.5);

/** All tasks at once (tests). */
export function reconcile(partials: (PartialResult | null)[], emit: (r: AuditRecord) => void, maxPending?: number): { duplicates: number; fallback: Fallback | null } {
  const r = new Reconciler(maxPending);
  for (const p of partials) r.push(p);
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

/** Why a parallel run gave up; the caller reads in one thread instead. */
export type Fallback = 'out-of-memory' | 'repeats' | 'auditid-reuse' | 'window';

/** Old-space limit of a worker, in MB. */
export const WORKER_OLD_MB = 256;

/** The old-space limit in effect (KAUDIT_WORKER_OLD_MB overrides it: tests make workers run out). */
export function workerOldMb(): number {
  return Number(process.env.KAUDIT_WORKER_OLD_MB) || WORKER_OLD_MB;
}

/**
 * Null when the inputs make fewer than two tasks (one thread is then as fast). A Fallback when a
 * worker's state outgrew WORKER_OLD_MB, or when tasks repeat requests that one pass would count
 * once: the caller then reads in one thread, so the output never depends on --jobs.
 */
export async function runParallel<S>(o: ParallelOptions<S>): Promise<ParallelRun<S> | null | Fallback> {
  const tasks = await planTasks(o.sources, o.jobs, o.spec.read.format ?? 'auto');
  if (tasks.length < 2) return null;
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
      const part = cmd.restore(d.state, o.state) as S;
      merged = merged === undefined ? part : cmd.reducer.merge(merged, part);
      accs.push({ acc: d.acc, continues: (tasks[consumed]!.source.start ?? 0) > 0 });
      for (const r of d.rejects) if (rejects.length < SHOWN) rejects.push(r);
      reconciler.push(d.partial);
      consumed++;
      if (reconciler.fallback !== null) return stop(reconciler.fallback);
    }
  };

  const errors: { index: number; kind: string; message: string; fix: string; stack?: string; component?: string; where?: string }[] = [];
  const progress = new Array<number>(tasks.length).fill(0);
  const progressEvents = new Array<number>(tasks.length).fill(0);
  let next = 0;
  const url = workerUrl();
  const poolSize = Math.max(1, Math.min(o.jobs, tasks.length));

  const workers: Worker[] = [];
  let fallback: Fallback | null = null;
  let finished: () => void = () => {};
  function stop(why: Fallback): void {
    fallback ??= why;
    for (const x of workers) void x.terminate();
    finished();
  }
  await new Promise<void>((resolve, reject) => {
    finished = resolve;
    let live = poolSize;
    const start = (w: Worker): void => {
      if (fallback !== null) return;
      if (errors.length > 0 || next >= tasks.length) {
        void w.terminate();
        if (--live === 0) resolve();
        return;
      }
      const task: Task = tasks[next++]!;
      w.postMessage({ task, spec });
    };
    for (let i = 0; i < poolSize; i++) {
      // Without limits a worker's heap may grow to the process's (GBs) before V8 collects it; these
      // keep peak RSS flat and were faster too (see bench/RESULTS.md). A worker that needs more
      // old space than WORKER_OLD_MB makes the whole run fall back to one thread.
      const w = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: workerOldMb() } });
      workers.push(w);
      w.on('message', (m: { type: string; index: number } & Record<string, any>) => {
        if (m.type === 'progress') {
          progress[m.index] = m.bytes;
          progressEvents[m.index] = m.events;
          o.onProgress(
            progress.reduce((a, b) => a + b, 0),
            progressEvents.reduce((a, b) => a + b, 0),
          );
          return;
        }
        if (m.type === 'done') {
          waiting.set(m.index, m as unknown as Done);
          if (errors.length === 0) consume();
        } else errors.push({ index: m.index, kind: m.kind, message: m.message, fix: m.fix, stack: m.stack, component: m.component, where: m.where });
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
  });

  if (fallback !== null) return fallback;
  if (errors.length) {
    errors.sort((a, b) => a.index - b.index);
    const first = errors[0]!;
    if (first.kind === 'strict') throw new StrictError(first.message);
    if (first.kind === 'input') throw new InputError(first.message, first.fix);
    if (first.kind === 'usage') throw new UsageError(first.message, first.fix);
    throw new InternalError(first.message, `${first.component || 'worker'} (in a worker thread)`, first.where ?? '', first.stack ?? first.message);
  }
  for (const r of rejects) o.onReject(r.loc, r.reason);
  const state = cmd.reducer.merge(o.state, merged!);
  const acc = mergeAccounting(accs);
  reconciler.finish((r) => {
    acc.requests++;
    if (o.filter(r)) {
      acc.used++;
      reconciler.reuseOf(r);
      cmd.reducer.add(state, r);
    } else acc.skipped++;
  });
  acc.duplicates += reconciler.duplicates;
  acc.auditIDReuse += reconciler.reusedAtEnd;
  return { state, acc };
}
