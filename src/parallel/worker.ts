// A worker thread: runs one command's reducer over the tasks (files or byte ranges) it is given
// and posts back its partial state, accounting, and what stage collapsing left for the main thread.
import { parentPort } from 'node:worker_threads';
import type { Loc } from '../types.js';
import type { Task } from './plan.js';
import { threadCpuMs, workerOldMb, type WorkerSpec } from './run.js';
import { DEFAULT_COLLAPSE } from '../normalize/collapse.js';
import { setBudget } from '../scale/budget.js';
import { setSpillDir } from '../scale/tempdir.js';
import { parallelCommand } from './commands.js';
import { runPipelineFull } from '../pipeline.js';
import { setHashSeed } from '../normalize/collapse.js';
import { compileFilterSets } from '../filter/sets.js';
import { SHOWN_REJECTS } from '../cli/report.js';
import { InputError, StrictError, InternalError, UsageError } from '../util/errors.js';

let cached: { key: string; opts: unknown; cmd: Awaited<ReturnType<typeof parallelCommand>> } | null = null;

parentPort!.on('message', async (msg: { task: Task; spec: WorkerSpec }) => {
  const { task, spec } = msg;
  const t0 = performance.now();
  try {
    if (spec.seed) setHashSeed(spec.seed);
    const key = JSON.stringify([spec.command, spec.options]);
    if (!cached || cached.key !== key) {
      const cmd = await parallelCommand(spec.command);
      cached = { key, cmd, opts: await cmd.options(spec.options) };
    }
    const { cmd, opts } = cached;
    if (spec.spillDir) setSpillDir(spec.spillDir);
    // A worker's heap is capped (WORKER_OLD_MB): its state gets at most 40% of that, and at most the budget.
    if (spec.memory) setBudget(Math.min(spec.memory, 0.4 * workerOldMb() * 2 ** 20));
    const state = cmd.reducer.init(opts);
    const { filter, prefilter } = compileFilterSets(spec.filters, spec.now, spec.prefilter);
    const rejects: { loc: Loc; reason: string }[] = [];
    let sent = 0;
    const { acc, partial } = await runPipelineFull({
      sources: [task.source],
      filter,
      strict: spec.strict,
      partial: true,
      ...(spec.bodies ? { bodies: spec.bodies } : {}),
      ...(spec.keepWaitingBodies ? { collapse: { ...DEFAULT_COLLAPSE, keepWaitingBodies: true } } : {}),
      onRecord: (r) => cmd.reducer.add(state, r),
      onReject: (loc, reason) => {
        if (rejects.length < SHOWN_REJECTS) rejects.push({ loc, reason });
      },
      onProgress: (bytes, events) => {
        if (bytes - sent >= 8 << 20) {
          parentPort!.postMessage({ type: 'progress', index: task.index, bytes, events });
          sent = bytes;
        }
      },
      read: { ...spec.read, ...(task.format ? { format: task.format } : {}), ...(prefilter ? { prefilter } : {}) },
    });
    // The hashes move to the main thread without a copy.
    parentPort!.postMessage({ type: 'done', index: task.index, state: cmd.strip(state), acc, partial, rejects, ms: performance.now() - t0, ...(process.env.KAUDIT_TRACE_PARALLEL ? { cpuMs: threadCpuMs() } : {}) }, partial ? [partial.idFirst.buffer as ArrayBuffer, partial.origins.buffer as ArrayBuffer, partial.completed.buffer as ArrayBuffer, partial.firstIds.buffer as ArrayBuffer] : []);
  } catch (e) {
    const err = e as Error & { fix?: string };
    const kind = e instanceof StrictError ? 'strict' : e instanceof InputError ? 'input' : e instanceof UsageError ? 'usage' : 'bug';
    const internal = e instanceof InternalError ? e : null;
    parentPort!.postMessage({
      type: 'error',
      index: task.index,
      kind,
      message: err.message,
      fix: err.fix ?? '',
      stack: internal ? internal.origin : err.stack,
      component: internal ? internal.component : 'worker',
      where: internal ? internal.where : '',
    });
  }
});
