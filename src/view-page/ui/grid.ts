// A virtualised grid: only the rows in sight exist in the DOM (a pool of ~30 elements re-filled on
// scroll), so 500,000 rows scroll as smoothly as 50. One tab stop; arrow keys, Page Up/Down,
// Home/End move the active row; Enter opens it; Right/Left expand and collapse (tree rows); the
// active row is announced through aria-activedescendant. Tall lists are scaled into the height a
// browser allows for one element.
import { h, clear, show } from './dom.js';

export const ROW_HEIGHT = 40;
/** Highest scroll height used (Firefox caps an element near 17.9 million px). */
const MAX_PX = 8_000_000;

export interface CellText {
  l1: string;
  l2: string;
  /** Extra class on the cell. */
  cls?: string;
  /** Full text for the tooltip ('' to use l1 and l2). */
  title?: string;
}

export interface GridSource {
  length: number;
  /** Cells of display row k, one per column. */
  cells(k: number): CellText[];
  /** Classes of the row (denied, failed, call…). */
  rowClass(k: number): string;
  /** Tree rows: true/false when the row can expand (expanded or not); null for a leaf. */
  expanded(k: number): boolean | null;
  level(k: number): number;
  /** Accessible label of the row's mark (DENIED, FAILED) is part of the cells' text. */
}

export interface Column {
  label: string;
  /** Sortable header (Date): the current direction. */
  sort?: 'ascending' | 'descending';
}

export interface GridEvents {
  open(k: number): void;
  toggle(k: number, expand: boolean): void;
  sort(): void;
  active(k: number): void;
}

interface PoolRow {
  el: HTMLElement;
  cells: { el: HTMLElement; l1: HTMLElement; l2: HTMLElement; toggle?: HTMLElement }[];
}

export class Grid {
  readonly el: HTMLElement;
  private readonly head: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly layer: HTMLElement;
  private readonly empty: HTMLElement;
  private pool: PoolRow[] = [];
  private src: GridSource = { length: 0, cells: () => [], rowClass: () => '', expanded: () => null, level: () => 1 };
  private columns: Column[] = [];
  private tree = false;
  active = -1;
  private frame = 0;

  constructor(label: string, private readonly ev: GridEvents) {
    this.head = h('div', { class: 'g-head', attrs: { role: 'row' } });
    this.spacer = h('div', { class: 'g-spacer' });
    this.layer = h('div', { class: 'g-layer', attrs: { role: 'rowgroup' } });
    this.empty = h('div', { class: 'g-empty', text: '' });
    this.spacer.appendChild(this.layer);
    this.scroller = h('div', { class: 'g-scroll' }, this.spacer, this.empty);
    this.el = h('div', { class: 'grid', attrs: { role: 'grid', tabindex: '0', 'aria-label': label, 'aria-rowcount': '1' } }, h('div', { attrs: { role: 'rowgroup' }, class: 'g-headgroup' }, this.head), this.scroller);
    this.scroller.addEventListener('scroll', () => this.schedule());
    this.el.addEventListener('keydown', (e) => this.key(e));
    // Focus lands on the first row when none is active yet.
    this.el.addEventListener('focus', () => this.active < 0 && this.src.length > 0 && this.setActive(0));
    this.layer.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest('[data-k]') as HTMLElement | null;
      if (!row) return;
      const k = Number(row.dataset.k);
      if ((e.target as HTMLElement).closest('.toggle')) {
        const x = this.src.expanded(k);
        if (x !== null) this.ev.toggle(k, !x);
        this.setActive(k, false);
        return;
      }
      this.setActive(k, false);
      this.ev.open(k);
    });
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
  }

  /** Replaces the rows (and the columns when given). Keeps the active row when `keep` says which one it became. */
  set(src: GridSource, columns: Column[], tree: boolean, label: string, emptyText: string, keep = -1): void {
    const rebuild = columns.length !== this.columns.length || tree !== this.tree || columns.some((c, i) => c.label !== this.columns[i]?.label || c.sort !== this.columns[i]?.sort);
    this.src = src;
    this.tree = tree;
    this.el.setAttribute('role', tree ? 'treegrid' : 'grid');
    this.el.setAttribute('aria-label', label);
    this.el.setAttribute('aria-rowcount', String(src.length + 1));
    if (rebuild) {
      this.columns = columns;
      clear(this.head);
      columns.forEach((c, i) => {
        const cell = h('div', { class: `g-h c${i}`, attrs: { role: 'columnheader' } });
        if (c.sort) {
          cell.setAttribute('aria-sort', c.sort);
          cell.appendChild(h('button', { class: 'sortbtn', text: `${c.label} ${c.sort === 'ascending' ? '▲' : '▼'}`, title: 'Sort by date: newest or oldest first', attrs: { type: 'button' }, on: { click: () => this.ev.sort() } }));
        } else cell.textContent = c.label;
        this.head.appendChild(cell);
      });
      clear(this.layer);
      this.pool = [];
    }
    this.empty.textContent = src.length === 0 ? emptyText : '';
    this.active = keep >= 0 && keep < src.length ? keep : src.length && this.active >= 0 ? Math.min(this.active, src.length - 1) : -1;
    const total = src.length * ROW_HEIGHT;
    this.spacer.style.height = `${Math.min(total, MAX_PX)}px`;
    if (keep >= 0) this.scrollTo(this.active);
    this.render();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private geometry(): { vh: number; virtualTop: number; ratio: number } {
    const vh = this.scroller.clientHeight;
    const total = this.src.length * ROW_HEIGHT;
    const spacerH = Math.min(total, MAX_PX);
    const maxScroll = Math.max(0, spacerH - vh);
    const maxVirtual = Math.max(0, total - vh);
    const ratio = maxScroll > 0 ? maxVirtual / maxScroll : 1;
    return { vh, virtualTop: Math.min(this.scroller.scrollTop * ratio, maxVirtual), ratio };
  }

  /** Re-fills the pool for the rows in sight. */
  render(): void {
    const { vh, virtualTop } = this.geometry();
    const first = Math.floor(virtualTop / ROW_HEIGHT);
    const offset = first * ROW_HEIGHT - virtualTop;
    const count = Math.min(this.src.length - first, Math.ceil(Math.max(vh, ROW_HEIGHT * 10) / ROW_HEIGHT) + 1);
    while (this.pool.length < count) this.pool.push(this.makeRow());
    this.layer.style.transform = `translateY(${this.scroller.scrollTop + offset}px)`;
    let activeId = '';
    for (let j = 0; j < this.pool.length; j++) {
      const p = this.pool[j]!;
      if (j >= count) {
        p.el.hidden = true;
        p.el.removeAttribute('id');
        continue;
      }
      const k = first + j;
      this.fill(p, k);
      if (k === this.active) activeId = p.el.id;
    }
    if (activeId) this.el.setAttribute('aria-activedescendant', activeId);
    else this.el.removeAttribute('aria-activedescendant');
  }

  private makeRow(): PoolRow {
    const el = h('div', { class: 'g-row', attrs: { role: 'row' } });
    const cells = this.columns.map((_c, i) => {
      const l1 = h('span', { class: 'l1' });
      const l2 = h('span', { class: 'l2' });
      const cell = h('div', { class: `g-c c${i}`, attrs: { role: 'gridcell' } });
      let toggle: HTMLElement | undefined;
      if (i === 0 && this.tree) {
        toggle = h('span', { class: 'toggle', attrs: { 'aria-hidden': 'true' } });
        cell.appendChild(toggle);
      }
      cell.appendChild(h('span', { class: 'lines' }, l1, l2));
      el.appendChild(cell);
      return { el: cell, l1, l2, ...(toggle ? { toggle } : {}) };
    });
    this.layer.appendChild(el);
    return { el, cells };
  }

  private fill(p: PoolRow, k: number): void {
    p.el.hidden = false;
    p.el.id = `g-row-${k}`;
    p.el.dataset.k = String(k);
    p.el.setAttribute('aria-rowindex', String(k + 2));
    p.el.className = `g-row ${this.src.rowClass(k)}${k === this.active ? ' active' : ''}`;
    p.el.setAttribute('aria-selected', k === this.active ? 'true' : 'false');
    if (this.tree) {
      const x = this.src.expanded(k);
      p.el.setAttribute('aria-level', String(this.src.level(k)));
      if (x === null) p.el.removeAttribute('aria-expanded');
      else p.el.setAttribute('aria-expanded', x ? 'true' : 'false');
      const t = p.cells[0]?.toggle;
      if (t) t.textContent = x === null ? '' : x ? '▾' : '▸';
    }
    const cells = this.src.cells(k);
    for (let i = 0; i < p.cells.length; i++) {
      const c = cells[i] ?? { l1: '', l2: '' };
      const pc = p.cells[i]!;
      const l1 = show(c.l1);
      const l2 = show(c.l2);
      if (pc.l1.textContent !== l1) pc.l1.textContent = l1;
      if (pc.l2.textContent !== l2) pc.l2.textContent = l2;
      pc.el.className = `g-c c${i}${c.cls ? ` ${c.cls}` : ''}`;
      pc.el.title = show(c.title ?? (c.l2 ? `${c.l1}\n${c.l2}` : c.l1));
    }
  }

  scrollTo(k: number): void {
    if (k < 0) return;
    const { vh, virtualTop, ratio } = this.geometry();
    const top = k * ROW_HEIGHT;
    let target = virtualTop;
    if (top < virtualTop) target = top;
    else if (top + ROW_HEIGHT > virtualTop + vh) target = top + ROW_HEIGHT - vh;
    if (target !== virtualTop) this.scroller.scrollTop = target / ratio;
  }

  setActive(k: number, scroll = true): void {
    if (this.src.length === 0) return;
    this.active = Math.max(0, Math.min(this.src.length - 1, k));
    if (scroll) this.scrollTo(this.active);
    this.render();
    this.ev.active(this.active);
  }

  focus(): void {
    this.el.focus();
  }

  private key(e: KeyboardEvent): void {
    if (e.target !== this.el) return;
    const page = Math.max(1, Math.floor(this.scroller.clientHeight / ROW_HEIGHT) - 1);
    const k = this.active < 0 ? 0 : this.active;
    let handled = true;
    switch (e.key) {
      case 'ArrowDown':
        this.setActive(this.active < 0 ? 0 : k + 1);
        break;
      case 'ArrowUp':
        this.setActive(k - 1);
        break;
      case 'PageDown':
        this.setActive(k + page);
        break;
      case 'PageUp':
        this.setActive(k - page);
        break;
      case 'Home':
        this.setActive(0);
        break;
      case 'End':
        this.setActive(this.src.length - 1);
        break;
      case 'Enter':
        if (this.active >= 0) this.ev.open(this.active);
        break;
      case 'ArrowRight':
      case 'ArrowLeft': {
        const x = this.active >= 0 ? this.src.expanded(this.active) : null;
        if (x !== null && x !== (e.key === 'ArrowRight')) this.ev.toggle(this.active, e.key === 'ArrowRight');
        else handled = false;
        break;
      }
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  }
}
