// View → GitHub-flavoured Markdown. Every piece of data goes through mdText (inline text) or
// mdCodeBlock (code sections), which make it inert and show it exactly (src/render/sanitize.ts).
import type { Cell, View, ViewSection } from '../types.js';
import { mdCodeBlock, mdText } from './sanitize.js';
import { cappedRows } from './cap.js';

function cell(v: Cell): string {
  if (v === null) return '-';
  return typeof v === 'number' ? String(v) : mdText(v);
}

function section(s: ViewSection): string {
  const out = [`## ${mdText(s.title)}`, ''];
  const { rows, cut } = cappedRows(s);
  const note = [s.note ?? '', cut].filter(Boolean).join(' ');
  if (s.kind === 'code') {
    out.push(mdCodeBlock(s.text ?? '', s.lang ?? ''));
  } else if (s.kind === 'kv') {
    out.push('| | |', '|---|---|');
    for (const [k, v] of rows) out.push(`| ${cell(k ?? '')} | ${cell(v ?? '')} |`);
  } else {
    const cols = s.columns ?? ['', ''];
    const numeric = cols.map((_, i) => rows.length > 0 && typeof rows[0]![i] === 'number');
    out.push(`| ${cols.map(mdText).join(' | ')} |`, `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`);
    for (const r of rows) out.push(`| ${r.map(cell).join(' | ')} |`);
  }
  if (note) out.push('', `_${mdText(note)}_`);
  return out.join('\n') + '\n';
}

export function renderViewMarkdown(view: View): string {
  return [`# ${mdText(view.title)}`, '', ...view.sections.map(section)].join('\n');
}
