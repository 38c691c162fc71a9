// V8's old-generation growth for commands that hold a large live heap by design.
import { setFlagsFromString } from 'node:v8';
import { DEFAULT_COLLAPSE, FLOOD_WAITING, type CollapseOptions } from '../normalize/collapse.js';

/** The growth factor collectSooner sets, as 1 + this / 100. */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Makes V8 collect its old generation once it has grown by half over what the last collection left
 * live, instead of by V8's adaptive factor (up to 4× when the program allocates slowly). For
 * commands that keep a large live heap by design while the pipeline makes short-lived objects
 * (`audit view`'s rows, `investigate --sort`'s buffer up to the memory budget): measured on 1M-event
 * logs, peak memory falls by 30–60% for about 5–20% more CPU time (bench/RESULTS.md, issue 15). The
 * flag is process-wide (V8's flags are): call it from a command's action, never from a library
 * function. V8 reads it at every collection (node --heap-growing-percent). `percent`: the growth
 * over what was live, in percent (default HEAP_GROWING_PERCENT).
 */
export function collectSooner(percent = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * The growth factor (1 + this / 100) compliance and anomalies set: 1.75×. Their state is spilled by
 * the ledger, which collects at once after each large spill (src/scale/ledger.ts), so between spills
 * the old generation holds mostly live state, and each collection V8 makes while it grows marks all
 * of it again. At a million distinct users (bench/RESULTS.md, issue 15): compliance 1.5× cost about
 * 4 CPU seconds of 45 more than 1.75×, for the same peak RSS (379–381 MB; V8's own factor peaked at
 * 402 MB); anomalies took 112–115 CPU s at 1.5× and 81–98 s at 1.75×, peaking at 345–374 against
 * 353–361 MB.
 */
export const SPILLED_STATE_GROWING_PERCENT = 75;

/**
 * The growth factor (1 + this / 100) once FLOOD_WAITING requests wait at once. Every record of a
 * request that never completes is promoted to the old generation and dies there when the window
 * lets it go, so the old generation fills with them at the rate of the input; with the window
 * itself live (100,000 records), growth by half let one thread's heap reach about 250 MB.
 */
export const FLOOD_GROWING_PERCENT = 25;

/**
 * The stage collapsing of a command's run (the CLI's pipeline, a worker's task, a --save-state run):
 * DEFAULT_COLLAPSE, waiting stages keeping their bodies when `keepWaitingBodies`, and V8 collecting
 * sooner once many requests wait (CollapseOptions.onManyWaiting).
 */
export function commandCollapse(keepWaitingBodies: boolean | undefined): CollapseOptions {
  return { ...DEFAULT_COLLAPSE, ...(keepWaitingBodies ? { keepWaitingBodies: true } : {}), onManyWaiting: (n) => collectSooner(n >= FLOOD_WAITING ? FLOOD_GROWING_PERCENT : HEAP_GROWING_PERCENT) };
}
