// The accounting numbers every command reports, in one wording.
import type { Cell, InputAccounting } from '../types.js';

export function accountingRows(a: InputAccounting): Cell[][] {
  return [
    ['files', a.files.length],
    ['lines read', a.prefiltered ? `${a.lines} (${a.prefiltered} skipped unparsed by the pre-filter)` : a.lines],
    ['events', `${a.events} (${a.requests} requests + ${a.duplicates} stage duplicate${a.duplicates === 1 ? '' : 's'} collapsed)`],
    ['rejected', a.rejected],
    ['used', a.used],
    ['skipped by filters', a.skipped],
  ];
}

/** One line for stderr: `read 10 lines from 1 file: 9 events (8 requests, 1 stage duplicate), 1 rejected; 6 used, 2 skipped by filters`. */
export function accountingLine(a: InputAccounting): string {
  return (
    `read ${a.lines} lines from ${a.files.length} file${a.files.length === 1 ? '' : 's'}${a.prefiltered ? ` (${a.prefiltered} skipped unparsed by the pre-filter)` : ''}: ` +
    `${a.events} events (${a.requests} requests, ${a.duplicates} stage duplicate${a.duplicates === 1 ? '' : 's'}), ${a.rejected} rejected; ` +
    `${a.used} used, ${a.skipped} skipped by filters`
  );
}
