// Runs one command's reducer over the inputs in worker threads (--jobs): plans tasks (whole files,
// or byte ranges of large JSON-lines files), hands them to a pool of workers, then merges the
// partial states in input order and finishes stage collapsing across range borders, so the result
// is the one a single pass would give.
import { Worker } from 'node:worker_threads';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { Source } from '../ingest/sources.js';
import type { ReadOptions } from '../ingest/reader.js';
import type { BodyNeeds } from '../normalize/bodies.js';
import type { FilterOptions, Predicate } from '../filter/index.js';
import { emptyAccounting, type PartialResult } from '../pipeline.js';
import { requestHashOf, idOf, identityHash, hashKey, isCompleted, takeFromEarlierStage, DEFAULT_COLLAPSE } from '../normalize/collapse.js';
import { HashWindow } from '../util/hashwindow.js';
import { settle } from '../scale/ledger.js';
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
  read: Partial<Omit<ReadOptions, 'stdin' | 'prefilter' | 'extract'>>;
  /** The bodies the command reads (PipelineOptions.bodies). */
  bodies?: BodyNeeds;
  /** Keep the bodies of requests waiting for their completion (CollapseOptions.keepWaitingBodies). */
  keepWaitingBodies?: boolean;
  /** The main thread's memory budget (src/scale/budget.ts); a worker keeps within a share of it. */
  memory?: number;
  /** Where workers spill (the main thread's spill folder, removed by it). */
  spillDir?: string;
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
 * would have done. A request still waiting for its completion at the end of a task is carried; when
 * a later task first sees the same request, that task already emitted (or kept) its later stage,
 * so the carried one is a duplicate. What nothing claims is emitted at the end, as one pass would
 * flush it. A request first seen in a task after an earlier task completed it is one that one
 * pass absorbs as a duplicate while it is in its window of completed keys: when the task only kept
 * it waiting (its events there are all early stages), it is dropped and counted as a duplicate,
 * exactly as one pass does; when the task completed it (and so counted it), it is a repeat, which
 * the caller cannot undo (fall back to one thread, or refuse a merge). Memory: the carried
 * requests and a window of recent key hashes.
 */
export class Reconciler {
  duplicates = 0;
  /** Requests first seen again, and completed, after completing in an earlier task. */
  repeats = 0;
  /** auditIDs a task saw first that an earlier task had seen with another request (a reuse across a border). */
  reusedAcross = 0;
  /** auditID hash → identity hash of the first request seen with it, over earlier tasks (bounded like `done`). */
  private readonly ids = new Map<number, number>();
  private readonly idOrder: number[] = [];
  /** Requests waiting for their completion, by key hash, oldest first. */
  private readonly carry = new Map<number, AuditRecord>();
  /**
   * Keys completed in earlier tasks, in order: one pass's window (maxDone) and half again, so that
   * every repeat one pass would absorb is seen (a few more only cost a fallback).
   */
  private readonly done = new HashWindow(Math.ceil(DEFAULT_COLLAPSE.maxDone * 1.5));

  push(p: PartialResult | null): void {
    if (p === null) return;
    let waiting: Set<number> | null = null;
    const dropped = new Set<number>();
    for (const h of p.firstSeen) {
      if (this.carry.delete(h)) {
        this.duplicates++;
        continue;
      }
      const age = this.done.age(h);
      if (age < 0) continue;
      waiting ??= new Set(p.leftovers.map(requestHashOf));
      // Surely inside one pass's window even if every completion of this task came before it.
      if (waiting.has(h) && age + p.completed.length < DEFAULT_COLLAPSE.maxDone * 0.75) {
        dropped.add(h);
        this.duplicates++;
      } else this.repeats++;
    }
    for (const h of p.completed) this.done.add(h);
    for (const r of p.leftovers) {
      const h = requestHashOf(r);
      if (!dropped.has(h)) this.carry.set(h, r);
    }
    const ids = p.firstIds;
    for (let i = 0; i + 1 < ids.length; i += 2) {
      const id = ids[i]!;
      const ih = ids[i + 1]!;
      const known = this.ids.get(id);
      if (known === undefined) {
        this.ids.set(id, ih);
        this.idOrder.push(id);
        if (this.idOrder.length > DEFAULT_COLLAPSE.maxDone * 1.5) this.ids.delete(this.idOrder.shift()!);
      } else if (known !== ih) this.reusedAcross++;
    }
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
    const c = this.carry.get(requestHashOf(r));
    if (c !== undefined) takeFromEarlierStage(r, c);
  }

  /** Emits what is left, oldest first. */
  finish(emit: (r: AuditRecord) => void): void {
    for (const r of this.carry.values()) emit(r);
    this.carry.clear();
  }
}

/** All tasks at once (tests). */
export function reconcile(partials: (PartialResult | null)[], emit: (r: AuditRecord) => void): { duplicates: number; repeats: number } {
  const r = new Reconciler();
  for (const p of partials) r.push(p);
  r.finish(emit);
  return { duplicates: r.duplicates, repeats: r.repeats };
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
export type Fallback = 'out-of-memory' | 'repeats' | 'auditid-reuse';

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
  const trace = timeline();
  const tasks = await planTasks(o.sources, o.jobs, o.spec.read.format ?? 'auto');
  trace?.(`planned ${tasks.length} tasks`);
  if (tasks.length < 2) return null;
  const cmd = await parallelCommand(o.spec.command);
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
      if (reconciler.repeats > 0) return stop('repeats');
      if (reconciler.reusedAcross > 0) return stop('auditid-reuse');
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
      trace?.(`task ${task.index} to worker ${workers.indexOf(w)}`);
      w.postMessage({ task, spec: o.spec });
    };
    for (let i = 0; i < poolSize; i++) {
      // Without limits a worker's heap may grow to the process's (GBs) before V8 collects it; these
      // keep peak RSS flat and were faster too (see bench/RESULTS.md). A worker that needs more
      // old space than WORKER_OLD_MB makes the whole run fall back to one thread.
      const w = new Worker(url, { resourceLimits: { maxYoungGenerationSizeMb: Number(process.env.KAUDIT_WORKER_YOUNG_MB) || 8, maxOldGenerationSizeMb: workerOldMb() } });
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
          trace?.(`task ${m.index} done (worker ${workers.indexOf(w)}: ${m.ms?.toFixed(0)} ms in its pipeline, its thread's CPU ${m.cpuMs?.toFixed(0)} ms since it started)`);
          waiting.set(m.index, m as unknown as Done);
          if (errors.length === 0) consume();
          trace?.(`consumed up to task ${consumed - 1}`);
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
