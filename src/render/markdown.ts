// View → GitHub-flavoured Markdown. Data is made inert (pipes, HTML, control characters).
import type { Cell, View, ViewSection } from '../types.js';
import { mdCell } from './sanitize.js';

function cell(v: Cell): string {
  if (v === null) return '-';
  return typeof v === 'number' ? String(v) : mdCell(v);
}

function section(s: ViewSection): string {
  const out = [`## ${mdCell(s.title)}`, ''];
  if (s.kind === 'code') {
    const fence = '```';
    out.push(`${fence}${s.lang ?? ''}`, (s.text ?? '').replace(/```/g, "'''").trimEnd(), fence);
  } else if (s.kind === 'kv') {
    out.push('| | |', '|---|---|');
    for (const [k, v] of s.rows) out.push(`| ${cell(k ?? '')} | ${cell(v ?? '')} |`);
  } else {
    const cols = s.columns ?? ['', ''];
    const numeric = cols.map((_, i) => s.rows.length > 0 && typeof s.rows[0]![i] === 'number');
    out.push(`| ${cols.map(mdCell).join(' | ')} |`, `|${numeric.map((n) => (n ? '---:' : '---')).join('|')}|`);
    for (const r of s.rows) out.push(`| ${r.map(cell).join(' | ')} |`);
  }
  if (s.note) out.push('', `_${mdCell(s.note)}_`);
  return out.join('\n') + '\n';
}

export function renderViewMarkdown(view: View): string {
  return [`# ${mdCell(view.title)}`, '', ...view.sections.map(section)].join('\n');
}
