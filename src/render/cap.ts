// The one row cap of terminal tables and Markdown (issues 15 and 18): a table or key/value section
// shows at most MAX_ROWS rows (VIEW_ROWS, src/scale/lazy.ts: the same number a view cuts an
// unbounded list to) whatever the report holds, then one exact "N more rows not shown" line, so a
// view of a million subjects is drawn in bounded time and memory. Bar charts (timelines) are not
// cut here: a timeline bounds its own buckets (MAX_BUCKETS, src/analyses/investigate/timeline.ts).
// Code sections are text. The report itself (-o json, jsonl, csv) keeps every row.
import type { Cell, ViewSection } from '../types.js';
import { VIEW_ROWS } from '../scale/lazy.js';
import { plural } from './format.js';

/** Rows shown per table or key/value section; the rest are counted. */
export const MAX_ROWS = VIEW_ROWS;

/**
 * The rows a renderer draws for `s` and, when rows were left out, the exact line that says how
 * many (`cut`, '' when none were): `{rows: Cell[][], cut: string}`. The rows left out are those
 * past `limit` and those the view already left out of `s.rows` (ViewSection.omitted: a view of an
 * unbounded list holds only its first VIEW_ROWS), so there is one line, with one count.
 */
export function cappedRows(s: ViewSection, limit = MAX_ROWS): { rows: Cell[][]; cut: string } {
  if (s.kind === 'code' || s.kind === 'bars') return { rows: s.rows, cut: '' };
  const rows = s.rows.length > limit ? s.rows.slice(0, limit) : s.rows;
  const over = s.rows.length - rows.length + (s.omitted ?? 0);
  return { rows, cut: over > 0 ? `${plural(over, 'more row')} not shown; -o json has them all.` : '' };
}
