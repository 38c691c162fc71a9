// What the page prints: a plain table of the rows in the current order and filters (the
// virtualised grid only holds the rows in sight), up to PRINT_ROWS, with a note when there are more.
import { h } from './dom.js';
import { formatCount } from '../format.js';
import type { CellText } from './grid.js';

export const PRINT_ROWS = 2000;

export function printTable(columns: string[], n: number, cells: (k: number) => CellText[], caption: string): HTMLElement {
  const shown = Math.min(n, PRINT_ROWS);
  const body = h('tbody');
  for (let k = 0; k < shown; k++) {
    const tr = h('tr');
    for (const c of cells(k)) tr.appendChild(h('td', {}, c.l1, c.l2 ? h('br') : null, c.l2 ? h('span', { class: 'l2', text: c.l2 }) : null));
    body.appendChild(tr);
  }
  const note = n > shown ? ` The first ${formatCount(shown)} of ${formatCount(n)} rows are printed; export CSV for all of them.` : '';
  return h('div', {}, h('p', { class: 'p-cap', text: `${caption}.${note}` }), h('table', { class: 'p-table' }, h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { text: c })))), body));
}
