// A worker thread: runs one command's reducer over the tasks (files or byte ranges) it is given
// and posts back its partial state, accounting, and what stage collapsing left for the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import type { Task } from './plan.js';
import { threadCpuMs, workerOldMb, type WorkerSpec } from './run.js';
import { setBudget } from '../scale/budget.js';
import { handOff } from '../scale/ledger.js';
import { setSpillDir } from '../scale/tempdir.js';
import { setHashSeed, DEFAULT_COLLAPSE } from '../normalize/collapse.js';
import { TaskRunner, taskError, partialBuffers } from './task.js';
import { parallelCommand } from './commands.js';

const runner = new TaskRunner();
// The command's modules load while this worker waits for its first task (src/parallel/pool.ts):
// started early, it has nothing else to do. A failure here is the task's to report.
const command = (workerData as { command?: string } | null)?.command;
if (command) parallelCommand(command).catch(() => {});
/** KAUDIT_TRACE_PARALLEL: wall-clock ms (performance.timeOrigin based, comparable across threads) of this worker's milestones. */
const tracing = !!process.env.KAUDIT_TRACE_PARALLEL;
const clock = (): number => performance.timeOrigin + performance.now();
const loaded = tracing ? { at: clock(), cpu: threadCpuMs() } : null;

/** KAUDIT_TRACE_PARALLEL: this isolate's heap (MB): V8's total and used, its peak malloc'ed memory, and external (ArrayBuffer) memory. */
function heapNote(): string {
  const h = getHeapStatistics();
  const mb = (n: number): string => (n / 2 ** 20).toFixed(0);
  return `heap ${mb(h.total_heap_size)} MB (used ${mb(h.used_heap_size)}), malloc peak ${mb(h.peak_malloced_memory)}, external ${mb(h.external_memory)}`;
}

parentPort!.on('message', async (msg: { task: Task; spec: WorkerSpec }) => {
  const { task, spec } = msg;
  const t0 = performance.now();
  const got = tracing ? { at: clock(), cpu: threadCpuMs() } : null;
  let firstByte: { at: number; cpu: number } | null = null;
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
        if (tracing && firstByte === null) firstByte = { at: clock(), cpu: threadCpuMs() };
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
    const read = tracing ? { at: clock(), cpu: threadCpuMs() } : null;
    // Large state goes as spill files, and this thread's ledger forgets the state (src/scale/ledger.ts).
    handOff();
    // The hashes move to the main thread without a copy.
    parentPort!.postMessage({ type: 'done', index: task.index, state, acc, partial, rejects, ms: performance.now() - t0, ...(tracing ? { cpuMs: threadCpuMs(), heap: heapNote(), milestones: { born: { at: performance.timeOrigin, cpu: 0 }, loaded, got, firstByte, read, posted: { at: clock(), cpu: threadCpuMs() } } } : {}) }, partialBuffers(partial));
  } catch (e) {
    parentPort!.postMessage({ type: 'error', ...taskError(task.index, e) });
  }
});
