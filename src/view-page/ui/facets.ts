// The facet panel: one collapsible list of checkboxes per column, each value with its count on the
// current selection (computed with every other filter applied), the most frequent first; a search
// box finds values past the first few.
import { h, clear } from './dom.js';
import { formatCount } from '../format.js';
import type { Dataset, Facet } from '../model.js';

const SHOWN = 8;
const SHOWN_ALL = 200;
const OPEN_BY_DEFAULT = new Set(['user', 'ns', 'resource', 'access', 'verb', 'type', 'status']);

interface FacetUi {
  facet: Facet;
  details: HTMLDetailsElement;
  list: HTMLElement;
  find: HTMLInputElement;
  more: HTMLButtonElement;
  summaryCount: HTMLElement;
  all: boolean;
}

export class FacetPanel {
  readonly el: HTMLElement;
  private uis: FacetUi[] = [];
  private ds: Dataset | null = null;
  private last: { counts: Int32Array[]; selected: Record<string, string[]> } | null = null;
  /** Open/closed per facet id, kept across the views. */
  private open = new Map<string, boolean>();
  private values = new WeakMap<HTMLInputElement, string>();

  constructor(private readonly onChange: (id: string, values: string[]) => void) {
    this.el = h('aside', { class: 'facets', attrs: { 'aria-label': 'Filters by column' } });
  }

  private build(ds: Dataset): void {
    clear(this.el);
    this.el.appendChild(h('h2', { class: 'vh', text: 'Filters by column' }));
    this.uis = ds.facets.map((facet) => {
      const summaryCount = h('span', { class: 'fc-n' });
      const list = h('ul', { class: 'fc-list', attrs: { 'aria-label': `${facet.label} values` } });
      const find = h('input', { class: 'fc-find', attrs: { type: 'search', placeholder: `Find ${facet.label.toLowerCase()}…`, 'aria-label': `Find a ${facet.label.toLowerCase()}` } });
      const more = h('button', { class: 'fc-more link', attrs: { type: 'button' } });
      const details = h('details', { class: 'facet', attrs: { 'data-facet': facet.id } }, h('summary', {}, facet.label, ' ', summaryCount), find, list, more);
      const multi = facet.values.length > 1;
      details.open = this.open.get(facet.id) ?? (OPEN_BY_DEFAULT.has(facet.id) && multi);
      details.addEventListener('toggle', () => this.open.set(facet.id, details.open));
      const ui: FacetUi = { facet, details, list, find, more, summaryCount, all: false };
      find.addEventListener('input', () => this.renderOne(ui));
      more.addEventListener('click', () => {
        ui.all = !ui.all;
        this.renderOne(ui);
      });
      this.el.appendChild(details);
      return ui;
    });
  }

  render(ds: Dataset, counts: Int32Array[], selected: Record<string, string[]>): void {
    if (ds !== this.ds) {
      this.ds = ds;
      this.build(ds);
    }
    this.last = { counts, selected };
    for (const ui of this.uis) this.renderOne(ui);
  }

  private renderOne(ui: FacetUi): void {
    if (!this.last) return;
    const k = this.uis.indexOf(ui);
    const counts = this.last.counts[k]!;
    const chosen = new Set(this.last.selected[ui.facet.id] ?? []);
    const q = ui.find.value.trim().toLowerCase();
    const codes: number[] = [];
    let nonzero = 0;
    for (let j = 0; j < counts.length; j++) {
      const v = ui.facet.values[j]!;
      if (counts[j]! > 0) nonzero++;
      if (counts[j]! === 0 && !chosen.has(v)) continue;
      if (q && !label(v).toLowerCase().includes(q)) continue;
      codes.push(j);
    }
    codes.sort((a, b) => {
      const sa = chosen.has(ui.facet.values[a]!) ? 1 : 0;
      const sb = chosen.has(ui.facet.values[b]!) ? 1 : 0;
      const va = ui.facet.values[a]!;
      const vb = ui.facet.values[b]!;
      return sb - sa || counts[b]! - counts[a]! || (va < vb ? -1 : va > vb ? 1 : 0);
    });
    const limit = ui.all ? SHOWN_ALL : SHOWN;
    ui.find.hidden = ui.facet.values.length <= SHOWN;
    ui.summaryCount.textContent = chosen.size ? `(${chosen.size} chosen)` : `(${formatCount(nonzero)})`;
    // Keep the keyboard focus on the value it was on: the list is rebuilt.
    const focused = ui.list.contains(document.activeElement) ? this.values.get(document.activeElement as HTMLInputElement) : undefined;
    clear(ui.list);
    let refocus: HTMLInputElement | null = null;
    for (const j of codes.slice(0, limit)) {
      const v = ui.facet.values[j]!;
      const box = h('input', { attrs: { type: 'checkbox' } });
      this.values.set(box, v);
      if (v === focused) refocus = box;
      box.checked = chosen.has(v);
      box.addEventListener('change', () => {
        const now = new Set(this.last?.selected[ui.facet.id] ?? []);
        if (box.checked) now.add(v);
        else now.delete(v);
        this.onChange(ui.facet.id, [...now]);
      });
      ui.list.appendChild(h('li', {}, h('label', { title: label(v) }, box, h('span', { class: 'fc-v', text: label(v) }), h('span', { class: 'fc-c', text: formatCount(counts[j]!) }))));
    }
    refocus?.focus();
    if (codes.length === 0) ui.list.appendChild(h('li', { class: 'fc-none', text: q ? 'no value matches' : 'no rows' }));
    ui.more.hidden = codes.length <= SHOWN;
    ui.more.textContent = ui.more.hidden ? '' : ui.all ? 'Show fewer' : `Show ${formatCount(Math.min(codes.length, SHOWN_ALL) - SHOWN)} more`;
  }
}

/** How a facet value is shown: '' is "(none)". */
export function label(v: string): string {
  return v === '' ? '(none)' : v;
}
