// The accounting numbers every command reports, in one wording.
import type { Cell, InputAccounting } from '../types.js';
import type { JunitCase } from './junit.js';
import { plural } from './format.js';

/** `yes`, or `no: FILE (why), …`: whether every input was read to its end. */
export function completeness(a: InputAccounting): string {
  if (a.complete) return 'yes';
  const bad = a.files.filter((f) => !f.complete);
  return `no: ${bad.map((f) => `${f.path} (${f.incomplete})`).join(', ')}`;
}

export function accountingRows(a: InputAccounting): Cell[][] {
  const rows: Cell[][] = [
    ['files', a.files.length],
    ['lines read', a.prefiltered ? `${a.lines} (${a.prefiltered} skipped unparsed by the pre-filter)` : a.lines],
    ['events', `${a.events} (${a.requests} requests + ${a.duplicates} stage duplicate${a.duplicates === 1 ? '' : 's'} collapsed)`],
    ['rejected', a.rejected],
  ];
  if (a.ignored) rows.push(['ignored (not audit events)', a.ignored]);
  if (a.auditIDReuse) rows.push(['Audit-ID reused', `${a.auditIDReuse} request${a.auditIDReuse === 1 ? '' : 's'} reuse an earlier request's auditID`]);
  if (a.notCompleted) rows.push(['not completed', notCompletedText(a)]);
  rows.push(['used', a.used], ['skipped by filters', a.skipped], ['read to the end', completeness(a)]);
  return rows;
}

/** `12 (no completing stage in the log: latency unknown, left out of latency figures; 3 let go by the full collapse window of 100000)`. */
export function notCompletedText(a: InputAccounting): string {
  const evicted = a.window.evicted ? `; ${a.window.evicted} let go by the full collapse window of ${a.window.limit}` : '';
  return `${a.notCompleted} (no completing stage in the log: latency unknown, left out of latency figures${evicted})`;
}

/** One line for stderr: `read 10 lines from 1 file: 9 events (8 requests, 1 stage duplicate), 1 rejected; 6 used, 2 skipped by filters`. */
export function accountingLine(a: InputAccounting): string {
  return (
    `read ${plural(a.lines, 'line')} from ${plural(a.files.length, 'file')}${a.prefiltered ? ` (${a.prefiltered} skipped unparsed by the pre-filter)` : ''}: ` +
    `${plural(a.events, 'event')} (${plural(a.requests, 'request')}, ${plural(a.duplicates, 'stage duplicate')}), ${a.rejected} rejected` +
    `${a.ignored ? `, ${a.ignored} ignored` : ''}${a.auditIDReuse ? `, ${a.auditIDReuse} reused Audit-ID${a.auditIDReuse === 1 ? '' : 's'}` : ''}${a.notCompleted ? `, ${a.notCompleted} not completed` : ''}; ` +
    `${a.used} used, ${a.skipped} skipped by filters; read to the end: ${a.complete ? 'yes' : 'no'}`
  );
}

/** A JUnit test case that fails when not every input was read to its end (CI must not pass a partial run). */
export function inputJunitCase(a: InputAccounting): JunitCase {
  const c: JunitCase = { classname: 'kaudit.input', name: 'every input read to its end' };
  if (!a.complete) c.failure = { message: 'not every input was read to its end; the results are partial', text: completeness(a) };
  return c;
}
