// The row cap of terminal tables and Markdown (issue 15): a table or key/value section shows at most VIEW_ROWS rows
// whatever the report holds, with the exact count of the rest, so a view of a million subjects is
// drawn in bounded time and memory. Bar charts (timelines) cap their own buckets. The report itself
// (-o json, jsonl, csv) keeps every row.
import type { Cell, ViewSection } from '../types.js';
import { VIEW_ROWS } from '../scale/lazy.js';

/** The rows a renderer draws for a section, and the note under them (the section's note, then what the cap cut). */
export function cappedRows(s: ViewSection, limit = VIEW_ROWS): { rows: Cell[][]; note: string } {
  const cut = s.kind === 'table' || s.kind === 'kv' ? Math.max(0, s.rows.length - limit) : 0;
  const rows = cut ? s.rows.slice(0, limit) : s.rows;
  const notes = s.note ? [s.note] : [];
  if (cut) notes.push(`${cut} more row${cut === 1 ? '' : 's'} not shown (the first ${limit} of ${s.rows.length}; -o json has every one).`);
  return { rows, note: notes.join(' ') };
}
