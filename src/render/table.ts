// View → terminal tables (cli-table3). Colour only when the context allows it. Every cell, title,
// header and note is made visible by tableCell/visible (src/render/sanitize.ts) before layout.
import Table from 'cli-table3';
import { Chalk } from 'chalk';
import type { RenderContext, View, ViewSection } from '../types.js';
import { tableCell as cell, visible } from './sanitize.js';
import { maxOf } from '../util/array.js';
import { drawGrid } from './grid.js';
import { cappedRows } from './cap.js';

const BAR_WIDTH = 40;

function renderSection(s: ViewSection, chalk: InstanceType<typeof Chalk>): string {
  const title = chalk.bold(visible(s.title));
  const { rows, note } = cappedRows(s);
  let body: string;
  if (s.kind === 'code') {
    body = visible(s.text ?? '', '\n').trimEnd();
  } else if (s.kind === 'kv') {
    const t = new Table({ style: { head: [], border: [], compact: true } });
    for (const [k, v] of rows) t.push({ [cell(k ?? '')]: cell(v ?? '') });
    body = t.toString();
  } else if (s.kind === 'bars') {
    const max = maxOf(rows, (r) => Number(r[1]) || 0, 1);
    const width = maxOf(rows, (r) => cell(r[0] ?? '').length, 1);
    body = rows
      .map((r) => {
        const n = Number(r[1]) || 0;
        const len = n === 0 ? 0 : Math.max(1, Math.round((n / max) * BAR_WIDTH));
        return `${cell(r[0] ?? '').padEnd(width)}  ${chalk.cyan('█'.repeat(len))} ${n}`;
      })
      .join('\n');
  } else {
    const head = (s.columns ?? []).map((c) => chalk.bold(visible(c)));
    const right = (s.columns ?? []).map((_, i) => rows.length > 0 && typeof rows[0]![i] === 'number');
    const cells = rows.map((r) => r.map(cell));
    // Drawn in one linear pass (grid.ts); cli-table3 only for shapes the fast path does not draw.
    const fast = drawGrid(head, cells, right);
    if (fast !== null) body = fast;
    else {
      const t = new Table({ head, style: { head: [], border: [], compact: true }, colAligns: right.map((r) => (r ? 'right' : 'left')) });
      for (const r of cells) t.push(r);
      body = t.toString();
    }
  }
  return `${title}\n${body}${note ? `\n${chalk.dim(visible(note))}` : ''}\n`;
}

export function renderViewTable(view: View, ctx: RenderContext): string {
  const chalk = new Chalk({ level: ctx.color ? 1 : 0 });
  return view.sections.map((s) => renderSection(s, chalk)).join('\n');
}
