// Runs one command's reducer over the inputs in worker threads (--jobs): plans tasks (whole files,
// or byte ranges of large JSON-lines files), hands them to a pool of workers, then merges the
// partial states in input order and finishes stage collapsing across range borders, so the result
// is the one a single pass would give.
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AuditRecord, FileStats, InputAccounting, Loc } from '../types.js';
import type { Source } from '../ingest/sources.js';
import type { ReadOptions } from '../ingest/reader.js';
import type { FilterOptions, Predicate } from '../filter/index.js';
import type { PartialResult } from '../pipeline.js';
import { keyOf, STAGE_RANK, FINAL_STAGES } from '../normalize/collapse.js';
import { parallelCommand } from './commands.js';
import { planTasks, type Task } from './plan.js';
import { InputError, StrictError } from '../util/errors.js';

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

/** Adds file statistics of the ranges of one file together, in input order. */
export function mergeAccounting(parts: InputAccounting[]): InputAccounting {
  const acc: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
  let prev: FileStats | null = null;
  for (const p of parts) {
    acc.lines += p.lines;
    acc.prefiltered += p.prefiltered;
    acc.events += p.events;
    acc.requests += p.requests;
    acc.duplicates += p.duplicates;
    acc.rejected += p.rejected;
    acc.used += p.used;
    acc.skipped += p.skipped;
    for (const f of p.files) {
      if (prev && prev.path === f.path && (f as FileStats & { range?: boolean }).range) {
        prev.bytes += f.bytes;
        prev.lines += f.lines;
        prev.events += f.events;
        prev.rejected += f.rejected;
        prev.prefiltered += f.prefiltered;
        prev.providers = [...new Set([...prev.providers, ...f.providers])].sort();
        if (f.format && f.format !== prev.format && prev.format === 'jsonl') prev.format = f.format;
      } else {
        prev = { ...f };
        delete (prev as FileStats & { range?: boolean }).range;
        acc.files.push(prev);
      }
    }
  }
  return acc;
}

/**
 * Stage collapsing across range borders. A request still waiting for its completion at the end of
 * a range is handed back; a later range that saw the same request first among its head events has
 * already emitted (or kept) it, so the leftover is a duplicate. What no later range claims is
 * emitted at the end, as a single pass would flush it.
 */
export function reconcile(partials: (PartialResult | null)[], emit: (r: AuditRecord) => void): number {
  let duplicates = 0;
  const carry = new Map<string, AuditRecord>();
  const done = new Set<string>();
  const take = (r: AuditRecord): void => {
    const k = keyOf(r);
    if (done.has(k)) {
      duplicates++;
      return;
    }
    const prev = carry.get(k);
    if (prev === undefined) carry.set(k, r);
    else {
      duplicates++;
      if ((STAGE_RANK[r.stage] ?? 0) >= (STAGE_RANK[prev.stage] ?? 0)) carry.set(k, r);
    }
  };
  for (const p of partials) {
    if (p === null) continue;
    for (const k of p.headKeys) {
      if (carry.delete(k)) duplicates++;
    }
    for (const r of p.leftovers) take(r);
    for (const k of p.doneKeys) done.add(k);
  }
  for (const r of carry.values()) {
    if (FINAL_STAGES.has(r.stage)) continue; // cannot happen: completed requests are never left over
    emit(r);
  }
  return duplicates;
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

/** Null when the inputs make fewer than two tasks: one thread is then as fast. */
export async function runParallel<S>(o: ParallelOptions<S>): Promise<ParallelRun<S> | null> {
  const tasks = await planTasks(o.sources, o.jobs);
  if (tasks.length < 2) return null;
  const results: (Done | undefined)[] = new Array(tasks.length);
  const errors: { index: number; kind: string; message: string; fix: string; stack?: string }[] = [];
  const progress = new Array<number>(tasks.length).fill(0);
  let next = 0;
  const url = workerUrl();
  const poolSize = Math.max(1, Math.min(o.jobs, tasks.length));

  await new Promise<void>((resolve, reject) => {
    let live = poolSize;
    const start = (w: Worker): void => {
      if (errors.some((e) => e.kind === 'strict') || next >= tasks.length) {
        void w.terminate();
        if (--live === 0) resolve();
        return;
      }
      const task: Task = tasks[next++]!;
      w.postMessage({ task, spec: o.spec });
    };
    for (let i = 0; i < poolSize; i++) {
      const young = Number(process.env.KAUDIT_YOUNG_MB) || 8;
      const w = new Worker(url, young ? { resourceLimits: { maxYoungGenerationSizeMb: young } } : {});
      w.on('message', (m: { type: string; index: number } & Record<string, any>) => {
        if (m.type === 'progress') {
          progress[m.index] = m.bytes;
          o.onProgress(progress.reduce((a, b) => a + b, 0), 0);
          return;
        }
        if (m.type === 'done') results[m.index] = m as unknown as Done;
        else errors.push({ index: m.index, kind: m.kind, message: m.message, fix: m.fix, stack: m.stack });
        start(w);
      });
      w.on('error', (e) => reject(e));
      start(w);
    }
  });

  if (errors.length) {
    errors.sort((a, b) => a.index - b.index);
    const first = errors[0]!;
    if (first.kind === 'strict') throw new StrictError(first.message);
    if (first.kind === 'input') throw new InputError(first.message, first.fix);
    throw Object.assign(new Error(first.message), { stack: first.stack });
  }

  const cmd = await parallelCommand(o.spec.command);
  let state = o.state;
  const done = results as Done[];
  for (const d of done) state = cmd.reducer.merge(state, cmd.restore(d.state, o.state));
  const acc = mergeAccounting(
    done.map((d, i) => {
      if ((tasks[i]!.source.start ?? 0) > 0) for (const f of d.acc.files) (f as FileStats & { range?: boolean }).range = true;
      return d.acc;
    }),
  );
  let shown = 0;
  for (const d of done) {
    for (const r of d.rejects) {
      if (shown++ < 5) o.onReject(r.loc, r.reason);
    }
  }
  acc.duplicates += reconcile(
    done.map((d) => d.partial),
    (r) => {
      acc.requests++;
      if (o.filter(r)) {
        acc.used++;
        cmd.reducer.add(state, r);
      } else acc.skipped++;
    },
  );
  return { state, acc };
}
