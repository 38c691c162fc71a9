// The page's controller: the state (filters, view, order, time zone, open row), kept in the URL
// fragment; one filter run per change; the header, filter bar, histogram, facets, grid and detail
// pane drawn from the result; exports and printing.
import type { ViewData } from '../analyses/view/payload.js';
import { accountingLine } from '../render/accounting.js';
import { callsDataset, commandsDataset, type Dataset, type ViewKind } from './model.js';
import { lowerCase, run, textSearch, type Result } from './engine.js';
import { fromFragment, toFragment, ONLY, type PageState } from './state.js';
import { exportRows, type ExportFormat } from './exporter.js';
import { formatCount, plural, zoneLabel } from './format.js';
import { capNotice } from '../analyses/view/notice.js';
import { h, clear } from './ui/dom.js';
import { Grid, type GridSource } from './ui/grid.js';
import { FacetPanel } from './ui/facets.js';
import { Histogram } from './ui/histogram.js';
import { DetailPane } from './ui/detail.js';
import { COLUMNS, callCells, commandCells, rowClass } from './ui/cells.js';
import { CommandTree } from './ui/tree.js';
import { printTable } from './ui/print.js';

const VIEW_NAMES: Record<ViewKind, { one: string; many: string }> = { calls: { one: 'API call', many: 'API calls' }, commands: { one: 'command', many: 'commands' } };

export class App {
  private state: PageState;
  private readonly ds: Record<ViewKind, Dataset>;
  private readonly textCache: Record<ViewKind, { q: string; m: Uint8Array | null }> = { calls: { q: '', m: null }, commands: { q: '', m: null } };
  private result!: Result;
  /** The view `result` is of (none before the first drawing). */
  private resultView: ViewKind | null = null;
  private readonly tree: CommandTree;
  private readonly grid: Grid;
  private readonly facets: FacetPanel;
  private readonly hist: Histogram;
  private readonly detail: DetailPane;
  private readonly count: HTMLOutputElement;
  /** Says which chosen facet values the current view has no column for (a verb in the Commands view). */
  private readonly unused: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly only: HTMLInputElement[];
  private readonly viewBtns: Record<ViewKind, HTMLButtonElement>;
  private readonly tzBtn: HTMLButtonElement;
  private readonly printArea: HTMLElement;
  private searchTimer = 0;
  private lastHash = '';

  constructor(private readonly root: HTMLElement, private readonly data: ViewData) {
    this.ds = { calls: callsDataset(data), commands: commandsDataset(data) };
    this.tree = new CommandTree(data);
    this.state = fromFragment(location.hash);
    this.grid = new Grid('API calls', {
      open: (k) => this.openEntry(k),
      toggle: (k, x) => this.toggle(k, x),
      sort: () => this.set((s) => (s.asc = !s.asc), false),
      active: () => undefined,
    });
    this.facets = new FacetPanel((id, values) => this.set((s) => (s.filters.facets = { ...s.filters.facets, [id]: values })));
    this.hist = new Histogram((from, to) => this.set((s) => ((s.filters.from = from), (s.filters.to = to))));
    this.detail = new DetailPane({
      close: () => {
        this.set((s) => (s.sel = ''), false);
        this.grid.focus();
      },
      openCall: (row) => this.set((s) => (s.sel = `r${row}`), false),
      openCommand: (c) => this.set((s) => (s.sel = `c${c}`), false),
    });
    this.count = h('output', { class: 'count', attrs: { 'aria-live': 'polite', id: 'count' } });
    this.unused = h('span', { class: 'unused', attrs: { role: 'status' } });
    this.search = h('input', { class: 'search', attrs: { type: 'search', placeholder: 'Search all columns (words must all appear)…', 'aria-label': 'Search', spellcheck: 'false' } });
    this.search.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.flushSearch(), 150);
    });
    this.only = ONLY.map((o) => {
      const box = h('input', { attrs: { type: 'checkbox', 'data-only': o.word } });
      box.addEventListener('change', () => this.set((s) => (s.filters.require = box.checked ? s.filters.require | o.bit : s.filters.require & ~o.bit)));
      return box;
    });
    const viewBtn = (v: ViewKind, n: number): HTMLButtonElement =>
      h('button', { class: 'seg', text: `${VIEW_NAMES[v].many[0]!.toUpperCase()}${VIEW_NAMES[v].many.slice(1)} (${formatCount(n)})`, attrs: { type: 'button', role: 'radio', 'data-view': v }, on: { click: () => (this.flushSearch(), this.set((s) => (s.view = v))) } });
    this.viewBtns = { commands: viewBtn('commands', data.commands.n), calls: viewBtn('calls', data.records.n) };
    this.tzBtn = h('button', { class: 'btn', attrs: { type: 'button', 'aria-pressed': 'false' }, on: { click: () => this.set((s) => (s.local = !s.local), false) } });
    this.printArea = h('div', { class: 'print-only', attrs: { id: 'print' } });
    this.layout();
    window.addEventListener('hashchange', () => {
      if (location.hash.slice(1) === this.lastHash) return;
      this.state = fromFragment(location.hash);
      this.refresh(true);
    });
    window.addEventListener('beforeprint', () => this.buildPrint());
    matchMedia('print').addEventListener('change', (e) => e.matches && this.buildPrint());
    this.refresh(true);
    // Lower-case the searchable texts in the background, one column per task, so that the first
    // search does not pay for it.
    const cols = [...this.ds.calls.text, ...this.ds.commands.text];
    const warm = (): void => {
      const c = cols.shift();
      if (!c) return;
      lowerCase(c);
      setTimeout(warm, 0);
    };
    setTimeout(warm, 0);
  }

  private layout(): void {
    const d = this.data;
    const s = d.summary;
    const exportBtn = (f: ExportFormat, text: string): HTMLButtonElement => h('button', { class: 'btn', text, attrs: { type: 'button', 'data-export': f }, on: { click: () => this.export(f) } });
    const header = h(
      'header',
      { class: 'top' },
      h('h1', { text: 'kaudit view' }),
      h(
        'div',
        {
          class: 'seg-group',
          attrs: { role: 'radiogroup', 'aria-label': 'View' },
          // A radio group: one tab stop, the arrow keys choose.
          on: {
            keydown: (e: KeyboardEvent) => {
              if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'].includes(e.key)) return;
              e.preventDefault();
              const next: ViewKind = this.state.view === 'calls' ? 'commands' : 'calls';
              this.flushSearch();
              this.set((st) => (st.view = next));
              this.viewBtns[next].focus();
            },
          },
        },
        this.viewBtns.commands,
        this.viewBtns.calls,
      ),
      this.count,
      h('div', { class: 'spacer' }),
      this.tzBtn,
      exportBtn('csv', 'Export CSV'),
      exportBtn('jsonl', 'Export JSON lines'),
      h('button', { class: 'btn', text: 'Print', attrs: { type: 'button' }, on: { click: () => window.print() } }),
    );
    const notes = h('div', { class: 'notes' });
    if (d.command.length) notes.appendChild(h('p', { class: 'made' }, 'Made by ', h('code', { text: d.command.join(' ') }), ` · ${plural(s.calls, 'API call')}, ${plural(s.commands, 'command')}${s.first ? ` · ${s.first} … ${s.last}` : ''}`));
    if (s.leftOut > 0) {
      notes.appendChild(
        h('p', { class: 'cap', attrs: { role: 'alert' } }, h('strong', { text: 'Not every request is here. ' }), capNotice(s)),
      );
    }
    const bar = h(
      'div',
      { class: 'bar' },
      this.search,
      ...ONLY.map((o, i) => h('label', { class: 'only' }, this.only[i]!, ` ${o.label}`)),
      h('button', { class: 'btn', text: 'Clear all filters', attrs: { type: 'button' }, on: { click: () => this.set((st) => ((st.filters = { facets: {}, q: '', from: null, to: null, require: 0 }), (this.search.value = ''))) } }),
      this.unused,
    );
    const footer = h('footer', { class: 'foot', text: accountingLine(d.input) });
    const main = h('main', { class: 'main' }, this.facets.el, h('section', { class: 'table', attrs: { 'aria-label': 'Rows' } }, this.grid.el), this.detail.el);
    clear(this.root);
    // Keyboard users reach the table without tabbing through every facet value.
    const skip = h('button', { class: 'skip', text: 'Skip to the table', attrs: { type: 'button' }, on: { click: () => this.grid.focus() } });
    this.root.append(skip, header, notes, bar, this.hist.el, main, footer, this.printArea);
    document.addEventListener('keydown', (e) => {
      if (e.key === '/' && document.activeElement?.tagName !== 'INPUT') {
        e.preventDefault();
        this.search.focus();
      }
    });
  }

  /** The search under way: its view, query and steps. */
  private searching: { view: ViewKind; q: string; it: Generator<void, Uint8Array | null>; start: number } | null = null;

  /** Starts (or restarts) the free-text search of `q` in a view's dataset, in slices. */
  private search$(view: ViewKind, q: string): void {
    if (this.searching && this.searching.view === view && this.searching.q === q) return;
    const job = { view, q, it: textSearch(this.ds[view], q), start: performance.now() };
    this.searching = job;
    this.count.textContent = 'searching…';
    const step = (): void => {
      if (this.searching !== job) return;
      const t0 = performance.now();
      for (;;) {
        const r = job.it.next();
        if (r.done) {
          this.finishSearch(job, r.value);
          return;
        }
        if (performance.now() - t0 > 30) break;
      }
      setTimeout(step, 0);
    };
    step();
  }

  private finishSearch(job: { view: ViewKind; q: string; start: number }, m: Uint8Array | null): void {
    this.searching = null;
    this.textCache[job.view] = { q: job.q, m };
    performance.clearMeasures('kaudit:search');
    performance.measure('kaudit:search', { start: job.start });
    this.refresh(true);
  }

  /** Finishes a search under way at once (an export must see the rows the search selects). */
  private completeSearch(): void {
    const job = this.searching;
    if (!job) return;
    for (;;) {
      const r = job.it.next();
      if (r.done) return this.finishSearch(job, r.value);
    }
  }

  /** Applies the search box now if it changed (typing waits 150 ms; an export or a view switch does not). */
  private flushSearch(): void {
    clearTimeout(this.searchTimer);
    this.searchTimer = 0;
    if (this.search.value !== this.state.filters.q) this.set((s) => (s.filters.q = this.search.value));
  }

  /** Changes the state; `filter` false for changes that keep the selection (time zone, sort, details). */
  private set(mut: (s: PageState) => void, filter = true): void {
    const view = this.state.view;
    mut(this.state);
    if (view !== this.state.view) this.tree.open.clear();
    this.refresh(filter || view !== this.state.view);
  }

  private refresh(filter: boolean): void {
    const s = this.state;
    const ds = this.ds[s.view];
    if (filter || this.resultView !== s.view) {
      const cache = this.textCache[s.view];
      if (cache.q !== s.filters.q) {
        this.search$(s.view, s.filters.q);
        // A new query on the rows shown runs in slices of at most ~30 ms and draws the page when it
        // is done; the first drawing of a view cannot wait, so it finishes the search at once.
        if (this.resultView === s.view) return;
        this.completeSearch();
        return;
      }
      performance.mark('kaudit:filter:start');
      this.result = run(ds, s.filters, cache.m);
      this.resultView = s.view;
      // The last filter run's time, for whoever measures the page (test/view/scale.browser.test.ts).
      performance.clearMeasures('kaudit:filter');
      performance.measure('kaudit:filter', 'kaudit:filter:start');
    }
    this.render(ds);
    this.writeHash();
  }

  private render(ds: Dataset): void {
    const s = this.state;
    const r = this.result;
    const names = VIEW_NAMES[s.view];
    this.count.textContent = `${formatCount(r.rows.length)} of ${plural(ds.n, names.one, names.many)}`;
    this.count.dataset.count = String(r.rows.length);
    for (const v of ['calls', 'commands'] as ViewKind[]) {
      this.viewBtns[v].setAttribute('aria-checked', v === s.view ? 'true' : 'false');
      this.viewBtns[v].tabIndex = v === s.view ? 0 : -1;
    }
    this.tzBtn.textContent = `Times: ${zoneLabel(s.local, ds.time[0])}`;
    this.tzBtn.setAttribute('aria-pressed', s.local ? 'true' : 'false');
    this.tzBtn.title = s.local ? 'Showing local times: switch to UTC' : 'Showing UTC: switch to local time';
    if (document.activeElement !== this.search) this.search.value = s.filters.q;
    ONLY.forEach((o, i) => (this.only[i]!.checked = (s.filters.require & o.bit) !== 0));
    this.facets.render(ds, r.counts, s.filters.facets);
    const ids = new Set(ds.facets.map((f) => f.id));
    const other = this.ds[s.view === 'calls' ? 'commands' : 'calls'];
    const unused = Object.keys(s.filters.facets).filter((k) => !ids.has(k) && (s.filters.facets[k]?.length ?? 0) > 0);
    this.unused.textContent = unused.length
      ? `Not applied in this view: ${unused.map((k) => other.facets.find((f) => f.id === k)?.label ?? k).join(', ')} (${s.view === 'calls' ? 'Commands' : 'API calls'} view only)`
      : '';
    this.hist.render(ds.bins, r.hist, r.histDenied, s.filters.from, s.filters.to, s.local);
    this.renderGrid();
    this.renderDetail();
  }

  private renderGrid(): void {
    const s = this.state;
    const rows = this.result.rows;
    const at = (k: number): number => rows[s.asc ? k : rows.length - 1 - k]!;
    const cols = COLUMNS.map((label, i) => (i === 0 ? { label, sort: (s.asc ? 'ascending' : 'descending') as 'ascending' | 'descending' } : { label }));
    const names = VIEW_NAMES[s.view];
    const empty = this.ds[s.view].n === 0 ? `This page holds no ${names.many}: the command line's filters matched no request.` : `No ${names.many} match these filters.`;
    let src: GridSource;
    if (s.view === 'calls') {
      src = { length: rows.length, cells: (k) => callCells(this.data, at(k), s.local), rowClass: (k) => rowClass(this.data.flags[at(k)]!), expanded: () => null, level: () => 1 };
    } else {
      this.tree.build(at, rows.length);
      src = this.tree.source(s.local);
    }
    this.grid.set(src, cols, s.view === 'commands', `${names.many[0]!.toUpperCase()}${names.many.slice(1)}`, empty, this.keepIndex(s.view));
  }

  /** The display index of the open row, so that the grid keeps it in sight. */
  private keepIndex(view: ViewKind): number {
    const sel = this.state.sel;
    if (!sel) return -1;
    const idx = Number(sel.slice(1));
    if (view === 'commands') return sel[0] === 'c' ? this.tree.indexOfCommand(idx) : this.tree.indexOfRow(idx);
    if (sel[0] !== 'r') return -1;
    const rows = this.result.rows;
    const p = rows.indexOf(idx);
    return p < 0 ? -1 : this.state.asc ? p : rows.length - 1 - p;
  }

  private toggle(k: number, expand: boolean): void {
    const c = this.tree.commandAt(k);
    if (expand) this.tree.open.add(c);
    else this.tree.open.delete(c);
    this.refresh(false);
    this.grid.setActive(this.tree.indexOfCommand(c));
  }

  private openEntry(k: number): void {
    if (this.state.view === 'calls') {
      const rows = this.result.rows;
      const i = rows[this.state.asc ? k : rows.length - 1 - k]!;
      this.set((s) => (s.sel = `r${i}`), false);
    } else {
      const row = this.tree.rowAt(k);
      this.set((s) => (s.sel = row < 0 ? `c${this.tree.commandAt(k)}` : `r${row}`), false);
    }
  }

  private renderDetail(): void {
    const sel = this.state.sel;
    const i = Number(sel.slice(1));
    if (sel[0] === 'r' && i < this.data.records.n) this.detail.showCall(this.data, i, this.state.local);
    else if (sel[0] === 'c' && i < this.data.commands.n) this.detail.showCommand(this.data, i, this.state.local);
    else this.detail.hide();
  }

  private writeHash(): void {
    const frag = toFragment(this.state, this.ds[this.state.view].facets.map((f) => f.id));
    if (frag === this.lastHash) return;
    this.lastHash = frag;
    try {
      history.replaceState(null, '', `#${frag}`);
    } catch {
      location.replace(`#${frag}`);
    }
  }

  private export(format: ExportFormat): void {
    this.flushSearch();
    this.completeSearch();
    const view = this.state.view;
    const parts = exportRows(this.data, view, format, this.result.mask);
    const blob = new Blob(parts, { type: format === 'csv' ? 'text/csv;charset=utf-8' : 'application/x-ndjson' });
    const a = h('a', { attrs: { download: `kaudit-${view === 'calls' ? 'api-calls' : 'commands'}.${format}` } });
    a.href = URL.createObjectURL(blob);
    document.body.appendChild(a);
    a.click();
    setTimeout(() => {
      URL.revokeObjectURL(a.href);
      a.remove();
    }, 1000);
  }

  private buildPrint(): void {
    const s = this.state;
    const rows = this.result.rows;
    const at = (k: number): number => rows[s.asc ? k : rows.length - 1 - k]!;
    const cells = (k: number) => (s.view === 'calls' ? callCells(this.data, at(k), s.local) : commandCells(this.data, at(k), s.local));
    clear(this.printArea);
    this.printArea.append(printTable(COLUMNS, rows.length, cells, `${this.count.textContent ?? ''}${location.hash ? ` · filters: ${decodeURIComponent(location.hash.slice(1))}` : ''}`));
  }
}

