// Worker threads for --jobs, and starting them early: a worker takes about 60–100 ms (more on a
// busy machine) from `new Worker` to its first byte read (a thread, an isolate, kaudit's modules),
// and the main thread takes about as long from process start to its plan of the tasks (Node,
// commander, the command's modules, the inputs listed). Started when the command line says that a
// split run is likely (`prestart`, called by the CLI before it parses its options), the workers
// load while the main thread does, and the run (runParallel) takes them ready: its first byte is
// read that much sooner. A worker started for nothing is terminated (`discardPrestarted`); it
// never keeps the process alive (unref) and does no work but loading.
//
// Kept light (node:worker_threads, node:fs, node:os only): it loads before the command does.
import { Worker } from 'node:worker_threads';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Old-space limit of a worker, in MB. */
export const WORKER_OLD_MB = 256;

/** The old-space limit in effect (KAUDIT_WORKER_OLD_MB overrides it: tests make workers run out). */
export function workerOldMb(): number {
  return Number(process.env.KAUDIT_WORKER_OLD_MB) || WORKER_OLD_MB;
}

/** Ranges smaller than this are not worth a worker's start-up (KAUDIT_MIN_RANGE_BYTES: tests make it small). */
export function minRange(): number {
  return Number(process.env.KAUDIT_MIN_RANGE_BYTES) || 64 << 20;
}

function workerUrl(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from the TypeScript sources (tests): use the built worker.
  return new URL('../../dist/parallel/worker.js', import.meta.url);
}

/**
 * Young generation (MB) of a command's workers where the default 8 MB costs time. rbac-gen at a
 * million distinct subjects (one new aggregate per request, kept until it spills): 32 MB took about
 * 10% less CPU in all (each worker's thread 5.7 instead of 6.1–6.4 s, fewer scavenges that each
 * rescan the growing map) for 15 MB more peak RSS (bench/RESULTS.md, issue 15, branch r15). On
 * ordinary logs the size made no difference (bench/RESULTS.md, issue 19). KAUDIT_WORKER_YOUNG_MB overrides it.
 */
const WORKER_YOUNG_MB: Readonly<Record<string, number>> = { 'rbac-gen': 32 };

/**
 * A worker thread for `command`'s tasks (src/parallel/worker.ts): it loads the command's reducer
 * while it waits for its first task. Without limits a worker's heap may grow to the process's (GBs)
 * before V8 collects it; these keep peak RSS flat and were faster too (see bench/RESULTS.md). A
 * worker that needs more old space than WORKER_OLD_MB makes the whole run fall back to one thread.
 */
export function newWorker(command: string): Worker {
  return new Worker(workerUrl(), {
    workerData: { command },
    resourceLimits: { maxYoungGenerationSizeMb: Number(process.env.KAUDIT_WORKER_YOUNG_MB) || (WORKER_YOUNG_MB[command] ?? 8), maxOldGenerationSizeMb: workerOldMb() },
  });
}

/** Workers started ahead of the run, for `command`; null when none are waiting. */
let started: { command: string; workers: Worker[] } | null = null;
/** Started workers that failed or exited while they waited. */
const failed = new WeakSet<Worker>();

/**
 * Whether the main thread reads a share of a split run's tasks itself, beside `poolSize - 1`
 * workers (src/parallel/run.ts), for a run of `poolSize` threads. KAUDIT_PARALLEL_MAIN=1 or 0
 * forces it on or off.
 */
export function mainShares(poolSize: number): boolean {
  if (poolSize < 2) return false;
  const v = process.env.KAUDIT_PARALLEL_MAIN;
  return v === undefined || v === '' ? MAIN_SHARES_BY_DEFAULT : v === '1';
}

/**
 * See mainShares. Off until measured on a quiet machine: on the 1 GB logs, --jobs 2 as the main
 * thread and one worker used 0.04-0.33 CPU s less than two workers, at the same or lower peak RSS;
 * at 1M distinct users (rbac-gen, after r15) the same CPU and +8 MB peak RSS, but one pair of runs
 * at load 6-8 took 143 s against 80 s wall (bench/RESULTS.md, issue 19, h19l).
 */
const MAIN_SHARES_BY_DEFAULT = false;

/** Worker threads a run of `poolSize` threads starts (the main thread may be one of the readers: mainShares). */
export function workersFor(poolSize: number): number {
  return mainShares(poolSize) ? poolSize - 1 : poolSize;
}

/** Starts `count` workers for `command` now, for the run to take (takeWorkers); any waiting ones are discarded first. */
export function prestartWorkers(command: string, count: number): void {
  discardPrestarted();
  if (count < 1) return;
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    const w = newWorker(command);
    // Waiting, a worker must not keep the process alive, nor end it with an error nobody hears.
    w.unref();
    // A worker that failed to start (its error is the run's to see: a new worker would fail alike) is not taken.
    w.on('error', () => failed.add(w));
    w.on('exit', () => failed.add(w));
    workers.push(w);
  }
  started = { command, workers };
}

/**
 * Up to `max` of the workers started for `command` (prestartWorkers), ready for tasks and referenced
 * again; the rest are discarded. Empty when none were started for it.
 */
export function takeWorkers(command: string, max: number): Worker[] {
  if (started === null || started.command !== command) {
    discardPrestarted();
    return [];
  }
  const taken = started.workers.filter((w) => !failed.has(w)).slice(0, max);
  started.workers = started.workers.filter((w) => !taken.includes(w));
  discardPrestarted();
  for (const w of taken) {
    w.removeAllListeners('error');
    w.removeAllListeners('exit');
    w.ref();
  }
  return taken;
}

/** Terminates the workers started ahead that no run took. */
export function discardPrestarted(): void {
  if (started === null) return;
  for (const w of started.workers) void w.terminate();
  started = null;
}

/** Commands with --jobs (addJobsOption): compliance hashes its inputs and reads in one thread, anomalies has no --jobs. */
const SPLIT_COMMANDS = new Set(['summary', 'baseline', 'rbac-gen', 'drift']);

/** Options after which a run never splits into worker threads. */
const ONE_THREAD = new Set(['--save-state', '--merge-states', '--shard', '--help', '-h']);

/**
 * How many workers a command line will most likely run with, from the words alone (before the
 * command parses them), or 0: `argv` is the command's name and its arguments. A guess that only
 * decides whether workers start early: the run decides as always (runReducer), and takes them or
 * not. Non-zero only for a command that splits, without --jobs 1, stdin or state options, whose
 * arguments name regular files of at least `minBytes` in all (directories and globs are not walked).
 */
export function likelyWorkers(argv: readonly string[], minBytes: number, cores: number): number {
  const [command, ...args] = argv;
  if (command === undefined || !SPLIT_COMMANDS.has(command)) return 0;
  let jobs = Math.max(1, Math.min(8, cores));
  let bytes = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '-') return 0;
    const flag = a.startsWith('--') ? a.split('=')[0]! : a;
    if (ONE_THREAD.has(flag)) return 0;
    let value: string | undefined;
    if (a === '--jobs' || a === '-j') value = args[++i];
    else if (a.startsWith('--jobs=')) value = a.slice('--jobs='.length);
    else if (/^-j\d/.test(a)) value = a.slice(2);
    if (value !== undefined) {
      if (value === 'auto') jobs = Math.max(1, Math.min(8, cores));
      else if (/^\d+$/.test(value)) jobs = Number(value);
      else return 0;
      continue;
    }
    if (a.startsWith('-')) continue;
    try {
      const st = statSync(a);
      if (st.isFile()) bytes += st.size;
    } catch {
      /* not a file (an option's value, a glob, NAME=PATH): the run decides */
    }
  }
  return jobs > 1 && bytes >= minBytes ? jobs : 0;
}

/** Workers started ahead and not yet taken nor discarded (tests). */
export function prestartedCount(): number {
  return started?.workers.length ?? 0;
}
