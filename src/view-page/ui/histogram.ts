// Activity over time: one bar per bin (denied requests stacked in a darker, hatched part), counted on
// the rows every filter but the time range selects. Drag across the bars (or click one) to choose a
// time range; the From/To fields do the same from the keyboard.
import { h, svg, clear } from './dom.js';
import { formatCount, formatTime, isoTime } from '../format.js';
import type { Bins } from '../model.js';

const HEIGHT = 56;
const AXIS = 14;

function stepText(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${s / 60} min`;
  if (s < 86400) return `${s / 3600} h`;
  return `${s / 86400} d`;
}

export class Histogram {
  readonly el: HTMLElement;
  private readonly plot: SVGSVGElement;
  private readonly fromInput: HTMLInputElement;
  private readonly toInput: HTMLInputElement;
  private readonly caption: HTMLElement;
  private readonly clearBtn: HTMLButtonElement;
  private bins: Bins | null = null;
  private last: { hist: Int32Array; denied: Int32Array; from: number | null; to: number | null; local: boolean } | null = null;
  private drag: { x0: number; x1: number } | null = null;
  private w = 0;

  constructor(private readonly onRange: (from: number | null, to: number | null) => void) {
    this.plot = svg('svg', { class: 'hist-svg', role: 'img', height: HEIGHT + AXIS });
    this.fromInput = h('input', { class: 'time-in', attrs: { type: 'text', 'aria-label': 'From (UTC, RFC 3339)', placeholder: 'from, e.g. 2026-03-02T10:00:00Z', spellcheck: 'false' } });
    this.toInput = h('input', { class: 'time-in', attrs: { type: 'text', 'aria-label': 'To (UTC, RFC 3339)', placeholder: 'to (not included)', spellcheck: 'false' } });
    this.caption = h('span', { class: 'hist-cap' });
    this.clearBtn = h('button', { class: 'link', text: 'All times', attrs: { type: 'button' }, on: { click: () => this.onRange(null, null) } });
    const apply = (): void => {
      const parse = (inp: HTMLInputElement): number | null | undefined => {
        const v = inp.value.trim();
        if (v === '') return null;
        const t = Date.parse(v);
        inp.setAttribute('aria-invalid', Number.isFinite(t) ? 'false' : 'true');
        return Number.isFinite(t) ? t : undefined;
      };
      const f = parse(this.fromInput);
      const t = parse(this.toInput);
      if (f !== undefined && t !== undefined) this.onRange(f, t);
    };
    for (const inp of [this.fromInput, this.toInput]) {
      inp.addEventListener('change', apply);
      inp.addEventListener('keydown', (e) => e.key === 'Enter' && apply());
    }
    this.el = h('section', { class: 'hist', attrs: { 'aria-label': 'Activity over time' } }, h('div', { class: 'hist-plot' }), h('div', { class: 'hist-tools' }, h('label', {}, 'From ', this.fromInput), h('label', {}, 'To ', this.toInput), this.clearBtn, this.caption));
    this.el.firstChild!.appendChild(this.plot);
    this.plot.addEventListener('pointerdown', (e) => this.down(e));
    this.plot.addEventListener('pointermove', (e) => this.move(e));
    this.plot.addEventListener('pointerup', (e) => this.up(e));
    // The width comes from the observer, never from reading layout while drawing (that would force
    // the browser to lay out the page in the middle of a filter update).
    new ResizeObserver((entries) => {
      const w = Math.round(entries[0]?.contentRect.width ?? 0);
      if (w && w !== this.w) {
        this.w = w;
        this.draw();
      }
    }).observe(this.el.firstChild as HTMLElement);
  }

  render(bins: Bins, hist: Int32Array, denied: Int32Array, from: number | null, to: number | null, local: boolean): void {
    this.bins = bins;
    this.last = { hist, denied, from, to, local };
    if (document.activeElement !== this.fromInput) this.fromInput.value = from === null ? '' : isoTime(from);
    if (document.activeElement !== this.toInput) this.toInput.value = to === null ? '' : isoTime(to);
    this.clearBtn.hidden = from === null && to === null;
    this.draw();
  }

  private width(): number {
    return Math.max(200, this.w || 1000);
  }

  private draw(): void {
    const b = this.bins;
    const l = this.last;
    if (!b || !l) return;
    clear(this.plot);
    const w = this.width();
    this.plot.setAttribute('width', String(w));
    this.plot.setAttribute('viewBox', `0 0 ${w} ${HEIGHT + AXIS}`);
    let max = 0;
    let total = 0;
    for (let i = 0; i < b.count; i++) {
      if (l.hist[i]! > max) max = l.hist[i]!;
      total += l.hist[i]!;
    }
    const bw = b.count ? w / b.count : w;
    const y = (v: number): number => (max ? Math.round((v / max) * (HEIGHT - 4)) : 0);
    // The chosen range, behind the bars.
    const range = this.drag ? this.dragRange() : { from: l.from, to: l.to };
    if (range.from !== null || range.to !== null) {
      const x0 = range.from === null ? 0 : Math.max(0, ((range.from - b.start) / b.step) * bw);
      const x1 = range.to === null ? w : Math.min(w, ((range.to - b.start) / b.step) * bw);
      if (x1 > x0) this.plot.appendChild(svg('rect', { class: 'hist-range', x: x0, y: 0, width: x1 - x0, height: HEIGHT }));
    }
    for (let i = 0; i < b.count; i++) {
      const v = l.hist[i]!;
      if (!v) continue;
      const x = i * bw + (bw > 3 ? 0.5 : 0);
      const bwid = Math.max(1, bw - (bw > 3 ? 1 : 0));
      const hh = Math.max(1, y(v));
      const bar = svg('rect', { class: 'hist-bar', x, y: HEIGHT - hh, width: bwid, height: hh });
      const t = svg('title');
      t.textContent = `${formatTime(b.start + i * b.step, l.local)}: ${formatCount(v)} (${formatCount(l.denied[i]!)} denied)`;
      bar.appendChild(t);
      this.plot.appendChild(bar);
      const d = l.denied[i]!;
      if (d) {
        const dh = Math.max(1, y(d));
        this.plot.appendChild(svg('rect', { class: 'hist-denied', x, y: HEIGHT - dh, width: bwid, height: dh }));
      }
    }
    if (b.count === 0) {
      this.plot.setAttribute('aria-label', 'Activity over time: no rows');
      this.caption.textContent = '';
      return;
    }
    const end = b.start + b.count * b.step;
    const left = svg('text', { class: 'hist-axis', x: 2, y: HEIGHT + AXIS - 2 });
    left.textContent = formatTime(b.start, l.local).slice(0, 16);
    const right = svg('text', { class: 'hist-axis', x: w - 2, y: HEIGHT + AXIS - 2, 'text-anchor': 'end' });
    right.textContent = formatTime(end, l.local).slice(0, 16);
    this.plot.append(left, right);
    this.plot.setAttribute('aria-label', `Activity over time: ${formatCount(total)} rows in ${b.count} bars of ${stepText(b.step)}, at most ${formatCount(max)} in one; drag to choose a time range`);
    this.caption.textContent = b.count ? `each bar ${stepText(b.step)}; drag to choose a range` : '';
  }

  private binAt(e: PointerEvent): number {
    const r = this.plot.getBoundingClientRect();
    const b = this.bins!;
    return Math.max(0, Math.min(b.count - 1, Math.floor(((e.clientX - r.left) / r.width) * b.count)));
  }

  private dragRange(): { from: number; to: number } {
    const b = this.bins!;
    const lo = Math.min(this.drag!.x0, this.drag!.x1);
    const hi = Math.max(this.drag!.x0, this.drag!.x1);
    return { from: b.start + lo * b.step, to: b.start + (hi + 1) * b.step };
  }

  private down(e: PointerEvent): void {
    if (!this.bins || this.bins.count === 0 || e.button !== 0) return;
    this.plot.setPointerCapture(e.pointerId);
    const x = this.binAt(e);
    this.drag = { x0: x, x1: x };
    this.draw();
  }

  private move(e: PointerEvent): void {
    if (!this.drag) return;
    const x = this.binAt(e);
    if (x !== this.drag.x1) {
      this.drag.x1 = x;
      this.draw();
    }
  }

  private up(e: PointerEvent): void {
    if (!this.drag) return;
    this.drag.x1 = this.binAt(e);
    const r = this.dragRange();
    this.drag = null;
    this.onRange(r.from, r.to);
  }
}
