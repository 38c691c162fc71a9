// A worker thread: runs one command's reducer over the tasks (files or byte ranges) it is given
// and posts back its partial state, accounting, and what stage collapsing left for the main thread.
import { parentPort } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import type { Task } from './plan.js';
import { threadCpuMs, workerOldMb, type WorkerSpec } from './run.js';
import { setBudget } from '../scale/budget.js';
import { handOff } from '../scale/ledger.js';
import { setSpillDir } from '../scale/tempdir.js';
import { setHashSeed, DEFAULT_COLLAPSE } from '../normalize/collapse.js';
import { TaskRunner, taskError } from './task.js';

const runner = new TaskRunner();

/** KAUDIT_TRACE_PARALLEL: this isolate's heap (MB): V8's total and used, its peak malloc'ed memory, and external (ArrayBuffer) memory. */
function heapNote(): string {
  const h = getHeapStatistics();
  const mb = (n: number): string => (n / 2 ** 20).toFixed(0);
  return `heap ${mb(h.total_heap_size)} MB (used ${mb(h.used_heap_size)}), malloc peak ${mb(h.peak_malloced_memory)}, external ${mb(h.external_memory)}`;
}

parentPort!.on('message', async (msg: { task: Task; spec: WorkerSpec }) => {
  const { task, spec } = msg;
  const t0 = performance.now();
  try {
    if (spec.seed) setHashSeed(spec.seed);
    let sent = 0;
    let sentWaiting = 0;
    // The main thread stops the run early when one pass's window of waiting requests would
    // overflow (src/parallel/run.ts): it hears of every change of a 16th of the window at once.
    const step = Math.max(1, Math.floor(DEFAULT_COLLAPSE.maxPending / 16));
    const { state, acc, partial, rejects } = await runner.run(
      task,
      spec,
      (bytes, events, waiting) => {
        if (bytes - sent >= 8 << 20 || Math.abs(waiting - sentWaiting) >= step) {
          parentPort!.postMessage({ type: 'progress', index: task.index, bytes, events, waiting });
          sent = bytes;
          sentWaiting = waiting;
        }
      },
      () => {
        if (spec.spillDir) setSpillDir(spec.spillDir);
        // A worker's heap is capped (WORKER_OLD_MB): its state gets at most 40% of that, and at most the budget.
        if (spec.memory) setBudget(Math.min(spec.memory, 0.4 * workerOldMb() * 2 ** 20));
      },
    );
    // Large state goes as spill files, and this thread's ledger forgets the state (src/scale/ledger.ts).
    handOff();
    // The hashes move to the main thread without a copy.
    parentPort!.postMessage({ type: 'done', index: task.index, state, acc, partial, rejects, ms: performance.now() - t0, ...(process.env.KAUDIT_TRACE_PARALLEL ? { cpuMs: threadCpuMs(), heap: heapNote() } : {}) }, partial ? [partial.idFirst.buffer as ArrayBuffer, partial.origins.buffer as ArrayBuffer, partial.completed.buffer as ArrayBuffer, partial.firstIds.buffer as ArrayBuffer, partial.reusedKeys.buffer as ArrayBuffer] : []);
  } catch (e) {
    parentPort!.postMessage({ type: 'error', ...taskError(task.index, e) });
  }
});
