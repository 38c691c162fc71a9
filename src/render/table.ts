// View → terminal tables (cli-table3). Colour only when the context allows it. Every cell, title,
// header and note is made visible by tableCell/visible (src/render/sanitize.ts) before layout.
import Table from 'cli-table3';
import { Chalk } from 'chalk';
import type { RenderContext, View, ViewSection } from '../types.js';
import { tableCell as cell, visible } from './sanitize.js';

const BAR_WIDTH = 40;

function renderSection(s: ViewSection, chalk: InstanceType<typeof Chalk>): string {
  const title = chalk.bold(visible(s.title));
  let body: string;
  if (s.kind === 'code') {
    body = visible(s.text ?? '', '\n').trimEnd();
  } else if (s.kind === 'kv') {
    const t = new Table({ style: { head: [], border: [], compact: true } });
    for (const [k, v] of s.rows) t.push({ [cell(k ?? '')]: cell(v ?? '') });
    body = t.toString();
  } else if (s.kind === 'bars') {
    const max = Math.max(1, ...s.rows.map((r) => Number(r[1]) || 0));
    const width = Math.max(...s.rows.map((r) => cell(r[0] ?? '').length), 1);
    body = s.rows
      .map((r) => {
        const n = Number(r[1]) || 0;
        const len = n === 0 ? 0 : Math.max(1, Math.round((n / max) * BAR_WIDTH));
        return `${cell(r[0] ?? '').padEnd(width)}  ${chalk.cyan('█'.repeat(len))} ${n}`;
      })
      .join('\n');
  } else {
    const t = new Table({
      head: (s.columns ?? []).map((c) => chalk.bold(visible(c))),
      style: { head: [], border: [], compact: true },
      colAligns: (s.columns ?? []).map((_, i) => (s.rows.length && typeof s.rows[0]![i] === 'number' ? 'right' : 'left')),
    });
    for (const r of s.rows) t.push(r.map(cell));
    body = t.toString();
  }
  return `${title}\n${body}${s.note ? `\n${chalk.dim(visible(s.note))}` : ''}\n`;
}

export function renderViewTable(view: View, ctx: RenderContext): string {
  const chalk = new Chalk({ level: ctx.color ? 1 : 0 });
  return view.sections.map((s) => renderSection(s, chalk)).join('\n');
}
