// One task of a split run (--jobs): a file or byte range read through the command's reducer as a
// partial run. The same function runs in a worker thread (worker.ts) and on the main thread, which
// takes tasks of its own beside the workers (run.ts): one thread fewer to start, warm up and collect.
import { commandCollapse } from '../util/v8heap.js';
import type { Loc } from '../types.js';
import type { Task } from './plan.js';
import type { WorkerSpec } from './run.js';
import type { InputAccounting } from '../types.js';
import type { PartialResult } from '../pipeline.js';
import { parallelCommand, type ParallelCommand } from './commands.js';
import { runPipelineFull } from '../pipeline.js';
import { compileFilterSets } from '../filter/sets.js';
import { ACCEPT_ALL } from '../filter/index.js';
import { SHOWN_REJECTS } from '../cli/report.js';
import { InputError, StrictError, InternalError, UsageError } from '../util/errors.js';

/** What a task gives back (as a worker posts it): the stripped partial state, its accounting, what collapsing left, the first rejects. */
export interface TaskDone {
  state: unknown;
  /**
   * The state is this thread's own, live (not stripped, not handed over: TaskRunner.run with
   * `keep`): the main thread merges it as it is, and its spilling structures stay in the ledger.
   */
  own?: boolean;
  acc: InputAccounting;
  partial: PartialResult | null;
  rejects: { loc: Loc; reason: string }[];
}

/** A task's failure as plain data (it crosses threads): kaudit's error kinds, or `bug`. */
export interface TaskError {
  index: number;
  kind: 'strict' | 'input' | 'usage' | 'bug';
  message: string;
  fix: string;
  stack?: string;
  component?: string;
  where?: string;
  /** The task ran on the main thread (beside the workers), not in a worker thread. */
  main?: boolean;
}

/** The command and its reducer options, made once per thread for a spec (options may load files). */
export class TaskRunner {
  private cached: { key: string; opts: unknown; cmd: ParallelCommand } | null = null;

  private async command(spec: WorkerSpec): Promise<{ opts: unknown; cmd: ParallelCommand }> {
    const key = JSON.stringify([spec.command, spec.options]);
    if (!this.cached || this.cached.key !== key) {
      const cmd = await parallelCommand(spec.command);
      this.cached = { key, cmd, opts: await cmd.options(spec.options) };
    }
    return this.cached;
  }

  /**
   * Runs `task` as a partial run of `spec`'s command. `onProgress` gets the bytes and events read
   * so far, and the requests waiting for their completion now. The state returned is the command's `strip` of it (what crosses a thread); the caller
   * posts it, or clones it as posting would. `prepare` runs once the command's options are made,
   * before the state is (a worker sets its memory budget and spill folder there). `keep` (the main
   * thread's own tasks): the state is returned live, as `own`, neither handed over nor stripped; the
   * thread that merges it holds it anyway, and its structures keep spilling under that thread's budget.
   */
  async run(task: Task, spec: WorkerSpec, onProgress: (bytes: number, events: number, waiting: number) => void, prepare?: () => void, keep = false): Promise<TaskDone> {
    const { cmd, opts } = await this.command(spec);
    prepare?.();
    const state = cmd.reducer.init(opts);
    const { filter, prefilter } = compileFilterSets(spec.filters, spec.now, spec.prefilter);
    const rejects: { loc: Loc; reason: string }[] = [];
    const { acc, partial } = await runPipelineFull({
      sources: [task.source],
      // Filters that select every request are no filter, as on one thread (src/cli/common.ts run):
      // the partial run's Audit-ID reuse check then shares the collapser's window of completed
      // requests (AuditIDReuse.checkSlot) instead of keeping a second window of maxDone IDs (in a
      // worker, 0.3-0.5 s of CPU per 512 MB range on the Metadata log; bench/RESULTS.md, issue 19, h19j).
      filter: filter === ACCEPT_ALL ? undefined : filter,
      strict: spec.strict,
      partial: true,
      ...(spec.bodies ? { bodies: spec.bodies } : {}),
      collapse: commandCollapse(spec.keepWaitingBodies),
      onRecord: (r) => cmd.reducer.add(state, r),
      onReject: (loc, reason) => {
        if (rejects.length < SHOWN_REJECTS) rejects.push({ loc, reason });
      },
      onProgress,
      read: { ...spec.read, ...(task.format ? { format: task.format } : {}), ...(prefilter ? { prefilter } : {}) },
    });
    if (keep) return { state, own: true, acc, partial, rejects };
    cmd.handOver?.(state);
    return { state: cmd.strip(state), acc, partial, rejects };
  }
}

/** The buffers of a task's partial result that cross threads by transfer, not copy (postMessage's transfer list). */
export function partialBuffers(partial: PartialResult | null): ArrayBuffer[] {
  if (!partial) return [];
  return [partial.idFirst.buffer, partial.origins.buffer, partial.completed.buffer, partial.firstIds.buffer, partial.reusedKeys.buffer] as ArrayBuffer[];
}

/** A task's exception as plain data (see TaskError). */
export function taskError(index: number, e: unknown): TaskError {
  const err = e as Error & { fix?: string };
  const kind = e instanceof StrictError ? 'strict' : e instanceof InputError ? 'input' : e instanceof UsageError ? 'usage' : 'bug';
  const internal = e instanceof InternalError ? e : null;
  return {
    index,
    kind,
    message: err.message,
    fix: err.fix ?? '',
    stack: internal ? internal.origin : err.stack,
    component: internal ? internal.component : 'worker',
    where: internal ? internal.where : '',
  };
}
