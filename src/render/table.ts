// View → terminal tables, laid out for the terminal they are shown on.
//
// - Width: RenderContext.width (COLUMNS, or the terminal's columns; see src/cli/io.ts), or no
//   limit (a pipe or a file gets every column in full, as kubectl does). `-o wide` never fits.
// - Fitting a table that is too wide: text columns wider than their share are narrowed (the widest
//   first, never below a minimum) and their cells wrap onto up to MAX_LINES lines, breaking at
//   spaces and punctuation; a cell still longer ends in `…`. When even the minimums do not fit,
//   the section's low-value columns (ViewSection.dropOrder) are left out, one at a time, then the
//   rightmost columns while even MIN_TEXT for each does not fit. A note
//   under the table says what was left out or shortened and that `-o wide` shows it all.
// - Rows: at most MAX_ROWS per table or key/value section, then an exact "N more rows not shown"
//   line (cappedRows, src/render/cap.ts, shared with Markdown).
// - Linear time: rows are laid out one by one into an array of lines joined once; no library and
//   no recursion sees the rows (cli-table3 took quadratic time and overflowed the stack at about
//   120,000 rows), and no array is spread into a call (Math.max(...rows) overflows too).
// Every cell, title, header and note is made visible by tableCell/visible (src/render/sanitize.ts)
// before layout; colour is added after it.
import { Chalk } from 'chalk';
import stringWidth from 'string-width';
import type { Cell, RenderContext, View, ViewSection } from '../types.js';
import { tableCell, visible } from './sanitize.js';
import { cappedRows, MAX_ROWS } from './cap.js';
import { pushAll } from '../util/array.js';

export { MAX_ROWS };

const BAR_WIDTH = 40;
/** Lines a wrapped cell may take. */
const MAX_LINES = 3;
/** Narrowest a text column is made before columns are left out. */
const MIN_TEXT = 8;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Display width in terminal columns (East Asian wide characters and emoji count 2). */
export function displayWidth(s: string): number {
  return PRINTABLE_ASCII.test(s) ? s.length : stringWidth(s);
}

function graphemes(s: string): string[] {
  if (PRINTABLE_ASCII.test(s)) return s.split('');
  const out: string[] = [];
  for (const g of segmenter.segment(s)) out.push(g.segment);
  return out;
}

const SOFT_BREAK = new Set(['/', ',', ':', '·', '-', '=', '@', '.', ')']);

/**
 * Wraps `text` into lines of at most `w` columns, at most `maxLines` of them: breaks after the last
 * space that fits (or after punctuation such as `/`, `:`, `,`), else inside a word; the last line
 * ends in `…` when text remains. `cut` tells whether anything was left out.
 */
export function wrapText(text: string, w: number, maxLines = MAX_LINES): { lines: string[]; cut: boolean } {
  if (displayWidth(text) <= w) return { lines: [text], cut: false };
  const gs = graphemes(text);
  const ws = gs.map((g) => (g.length === 1 && PRINTABLE_ASCII.test(g) ? 1 : stringWidth(g)));
  const lines: string[] = [];
  let i = 0;
  while (i < gs.length) {
    let j = i;
    let used = 0;
    let space = -1;
    let soft = -1;
    while (j < gs.length && used + ws[j]! <= w) {
      used += ws[j]!;
      if (gs[j] === ' ') space = j + 1;
      else if (SOFT_BREAK.has(gs[j]!)) soft = j + 1;
      j++;
    }
    if (j >= gs.length) {
      lines.push(gs.slice(i).join(''));
      return { lines, cut: false };
    }
    if (lines.length === maxLines - 1) {
      // The last line allowed: as much as fits before the ellipsis.
      let k = i;
      let u = 0;
      while (k < gs.length && u + ws[k]! <= w - 1) u += ws[k++]!;
      lines.push(gs.slice(i, k).join('').trimEnd() + '…');
      return { lines, cut: true };
    }
    const minBreak = i + Math.max(1, Math.floor(w / 3));
    const end = space >= minBreak ? space : soft >= minBreak ? soft : space > i ? space : soft > i ? soft : Math.max(j, i + 1);
    lines.push(gs.slice(i, end).join('').trimEnd());
    i = end;
    while (i < gs.length && gs[i] === ' ') i++;
  }
  return { lines, cut: false };
}

interface Column {
  head: string;
  cells: string[];
  numeric: boolean;
  natural: number;
  /** Prose (cells with spaces: details, commands, reasons): narrowed first, wrapping at spaces. */
  prose: boolean;
}

/** Narrowest a prose column is made before low-value columns are left out. */
const MIN_PROSE = 24;

/**
 * Column widths that fit `avail` (the width less borders), or null when the columns' minimums do
 * not fit: columns wider than a cap are narrowed to it (the widest first, water-filling), never
 * below their minimum; what the cap leaves over goes back to the columns still short, left first.
 */
function fitWidths(cols: Column[], avail: number, minOf: (c: Column) => number): number[] | null {
  const mins = cols.map((c) => Math.min(c.natural, minOf(c)));
  let sumMin = 0;
  for (const m of mins) sumMin += m;
  if (sumMin > avail) return null;
  // Prose gets twice the cap of other text: a reason or a command line needs room more than an ID.
  const capOf = (c: Column, cap: number): number => (c.prose ? 2 * cap : cap);
  const widthAt = (cap: number): number => {
    let s = 0;
    for (let i = 0; i < cols.length; i++) s += Math.max(mins[i]!, Math.min(cols[i]!.natural, capOf(cols[i]!, cap)));
    return s;
  };
  let lo = 0;
  let hi = 0;
  for (const c of cols) if (c.natural > hi) hi = c.natural;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (widthAt(mid) <= avail) lo = mid;
    else hi = mid - 1;
  }
  const widths = cols.map((c, i) => Math.max(mins[i]!, Math.min(c.natural, capOf(c, lo))));
  let left = avail - widths.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0 && i < cols.length; i++) {
    const give = Math.min(left, cols[i]!.natural - widths[i]!);
    if (give > 0) {
      widths[i]! += give;
      left -= give;
    }
  }
  return widths;
}

/**
 * Fits columns into `limit` terminal columns, in this order: narrow the prose columns (down to
 * MIN_PROSE); leave out the section's low-value columns one by one, narrowing prose again after
 * each; then narrow every text column (down to MIN_TEXT, then 3). Returns the columns kept, their
 * widths and the names left out.
 */
function fit(all: (Column & { name: string })[], limit: number, dropOrder: readonly string[]): { cols: (Column & { name: string })[]; widths: number[]; dropped: string[] } {
  const overhead = (k: number): number => 3 * k + 1;
  let cols = all;
  const dropped: string[] = [];
  const proseOnly = (c: Column): number => (c.prose ? MIN_PROSE : c.natural);
  for (let k = 0; ; k++) {
    const widths = fitWidths(cols, limit - overhead(cols.length), proseOnly);
    if (widths) return { cols, widths, dropped };
    const name = dropOrder.slice(k).find((n) => cols.some((c) => c.name === n));
    if (name === undefined || cols.length <= 1) break;
    k = dropOrder.indexOf(name);
    dropped.push(name);
    cols = cols.filter((c) => c.name !== name);
  }
  // Too many columns even at MIN_TEXT (an SQL result of every field): leave out the rightmost
  // ones, as kubectl keeps the leading columns, rather than cut every cell to a few letters.
  const minText = (c: Column): number => (c.numeric ? c.natural : MIN_TEXT);
  const right: string[] = [];
  while (cols.length > 1 && !fitWidths(cols, limit - overhead(cols.length), minText)) {
    right.unshift(cols[cols.length - 1]!.name);
    cols = cols.slice(0, -1);
  }
  if (right.length > 3) dropped.push(`the last ${right.length} columns (${right[0]} to ${right[right.length - 1]})`);
  else pushAll(dropped, right);
  const avail = limit - overhead(cols.length);
  const widths =
    fitWidths(cols, avail, (c) => (c.numeric ? c.natural : c.prose ? MIN_PROSE : MIN_TEXT)) ??
    fitWidths(cols, avail, minText) ??
    fitWidths(cols, avail, (c) => (c.numeric ? c.natural : 3)) ??
    cols.map((c) => (c.numeric ? c.natural : Math.min(c.natural, 3)));
  return { cols, widths, dropped };
}

const border = (widths: number[], l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;

function pad(s: string, w: number, right: boolean): string {
  const fill = w - displayWidth(s);
  if (fill <= 0) return s;
  return right ? ' '.repeat(fill) + s : s + ' '.repeat(fill);
}

interface Laid {
  text: string;
  dropped: string[];
  cut: boolean;
}

/** One grid: header (when given) and rows, fitted to `width`. */
function grid(columns: string[] | null, rows: Cell[][], dropOrder: readonly string[], ctx: RenderContext, chalk: InstanceType<typeof Chalk>): Laid {
  // Key/value sections show a missing value as nothing, tables as `-`.
  const blank = columns ? undefined : null;
  const n = columns ? columns.length : rows.reduce((m, r) => Math.max(m, r.length), 0);
  const heads = columns ? columns.map((c) => visible(c)) : null;
  const first = rows[0];
  let cols: (Column & { name: string })[] = [];
  for (let i = 0; i < n; i++) {
    const cells: string[] = new Array<string>(rows.length);
    let natural = heads ? displayWidth(heads[i]!) : 0;
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![i];
      const t = tableCell(v === undefined || v === blank ? '' : v);
      cells[r] = t;
      const w = displayWidth(t);
      if (w > natural) natural = w;
    }
    let prose = false;
    for (let r = 0; r < cells.length && r < 200 && !prose; r++) prose = cells[r]!.includes(' ');
    cols.push({ name: columns ? columns[i]! : String(i), head: heads ? heads[i]! : '', cells, numeric: first !== undefined && typeof first[i] === 'number', natural, prose });
  }
  let dropped: string[] = [];
  let widths = cols.map((c) => c.natural);
  const limit = ctx.wide ? undefined : ctx.width;
  if (limit !== undefined && 3 * cols.length + 1 + widths.reduce((a, b) => a + b, 0) > limit) {
    const f = fit(cols, limit, dropOrder);
    cols = f.cols;
    widths = f.widths;
    dropped = f.dropped;
  }
  let cut = false;
  const lines: string[] = [border(widths, '┌', '┬', '┐')];
  const emit = (cells: string[], head: boolean): void => {
    const wrapped = cells.map((c, i) => {
      const w = wrapText(c, widths[i]!, head ? 2 : MAX_LINES);
      if (w.cut) cut = true;
      return w.lines;
    });
    let height = 1;
    for (const w of wrapped) if (w.length > height) height = w.length;
    for (let k = 0; k < height; k++) {
      let line = '│';
      for (let i = 0; i < cols.length; i++) {
        const text = pad(wrapped[i]![k] ?? '', widths[i]!, !head && cols[i]!.numeric);
        line += ` ${head ? chalk.bold(text) : text} │`;
      }
      lines.push(line);
    }
  };
  if (heads) {
    emit(cols.map((c) => c.head), true);
    if (rows.length) lines.push(border(widths, '├', '┼', '┤'));
  }
  for (let r = 0; r < rows.length; r++) emit(cols.map((c) => c.cells[r]!), false);
  lines.push(border(widths, '└', '┴', '┘'));
  return { text: lines.join('\n'), dropped, cut };
}

function bars(s: ViewSection, ctx: RenderContext, chalk: InstanceType<typeof Chalk>): Laid {
  let max = 1;
  let labelW = 1;
  let countW = 1;
  const labels = s.rows.map((r) => tableCell(r[0] ?? ''));
  for (let i = 0; i < s.rows.length; i++) {
    const v = Number(s.rows[i]![1]) || 0;
    if (v > max) max = v;
    labelW = Math.max(labelW, displayWidth(labels[i]!));
    countW = Math.max(countW, String(v).length);
  }
  let barW = BAR_WIDTH;
  let cut = false;
  const limit = ctx.wide ? undefined : ctx.width;
  if (limit !== undefined && labelW + 2 + barW + 1 + countW > limit) {
    barW = Math.max(10, limit - labelW - 3 - countW);
    if (labelW + 2 + barW + 1 + countW > limit) labelW = Math.max(8, limit - 13 - countW);
  }
  const lines = s.rows.map((r, i) => {
    const n = Number(r[1]) || 0;
    const len = n === 0 ? 0 : Math.max(1, Math.round((n / max) * barW));
    const w = wrapText(labels[i]!, labelW, 1);
    if (w.cut) cut = true;
    return `${pad(w.lines[0]!, labelW, false)}  ${chalk.cyan('█'.repeat(len))} ${n}`;
  });
  return { text: lines.join('\n'), dropped: [], cut };
}

function renderSection(s: ViewSection, ctx: RenderContext, chalk: InstanceType<typeof Chalk>): string {
  const title = chalk.bold(visible(s.title));
  const { rows: shown, cut } = cappedRows(s);
  let laid: Laid;
  if (s.kind === 'code') laid = { text: visible(s.text ?? '', '\n').trimEnd(), dropped: [], cut: false };
  else if (s.kind === 'bars') laid = bars({ ...s, rows: shown }, ctx, chalk);
  else laid = grid(s.kind === 'kv' ? null : (s.columns ?? []), shown, s.kind === 'kv' ? [] : (s.dropOrder ?? []), ctx, chalk);
  const notes: string[] = [];
  if (cut) notes.push(cut);
  if (laid.dropped.length || laid.cut) {
    const what = [laid.dropped.length ? `left out ${laid.dropped.join(', ')}` : '', laid.cut ? 'shortened cells end in …' : ''].filter(Boolean).join('; ');
    notes.push(`Fitted to ${ctx.width} columns: ${what}; -o wide shows every column in full.`);
  }
  if (s.note) notes.push(visible(s.note));
  const limit = ctx.wide ? undefined : ctx.width;
  const noteLines = notes.flatMap((t) => (limit === undefined ? [t] : wrapText(t, limit, Infinity).lines)).map((l) => chalk.dim(l));
  return `${title}\n${laid.text}${noteLines.length ? `\n${noteLines.join('\n')}` : ''}\n`;
}

export function renderViewTable(view: View, ctx: RenderContext): string {
  const chalk = new Chalk({ level: ctx.color ? 1 : 0 });
  return view.sections.map((s) => renderSection(s, ctx, chalk)).join('\n');
}
