// Audit data is attacker-controlled. These helpers make it inert in each output medium.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Terminal and Markdown: control characters (ANSI escapes included) become visible `\xNN`. */
export function stripControl(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV cell: formula injection neutralised (leading = + - @ tab CR get a `'`), then RFC 4180 quoting. */
export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  let s = v;
  if (FORMULA_START.test(s)) s = `'${s}`;
  if (/[",\n\r]/.test(s)) s = `"${s.replace(/"/g, '""')}"`;
  return s;
}

export function csvRow(cells: (string | number | boolean | null | undefined)[]): string {
  return cells.map(csvCell).join(',') + '\n';
}

/** HTML text and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** Markdown table cell: control characters visible, pipes and HTML inert, one line. */
export function mdCell(s: string): string {
  return stripControl(s).replace(/\\(?!x[0-9a-f]{2})/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, '\\`');
}
