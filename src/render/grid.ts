// A compact terminal table (a header row, then rows with no separators between them) drawn in one
// linear pass: the bytes cli-table3 0.6 draws for `{ head, style: { head: [], border: [], compact:
// true }, colAligns }` with single-line cells (a differential test compares them), without its
// layout step, which is quadratic in the number of cells (1000 rows × 7 columns took 1.3 s, 4000
// rows 8 s) and recursed deeply enough on very large tables to overflow the stack (issue 15).
// Widths are measured as cli-table3 measures them: string-width 4 (east-asian wide characters
// count two columns) on the text without its SGR colour codes.
import stringWidth from 'string-width';

const SGR = /\u001b\[(?:\d*;){0,5}\d*m/g;

/** Display width of a single-line cell, as cli-table3's strlen computes it. */
export function cellWidth(s: string): number {
  return stringWidth(s.includes('\u001b') ? s.replace(SGR, '') : s);
}

/**
 * Draws a compact table. `head`: the header cells (may carry SGR codes, e.g. bold); `rows`: single-
 * line cells, each row as long as `head`; `right[i]`: column i is right-aligned (header included).
 * Returns the lines joined by '\n' (no trailing newline), or null when the table is not one this
 * function draws (no columns, a row of another length, a cell with a line break): the caller then
 * uses cli-table3.
 */
export function drawGrid(head: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string | null {
  const n = head.length;
  if (n === 0) return null;
  const widths = head.map(cellWidth);
  if (head.some((h) => h.includes('\n'))) return null;
  const rowWidths: number[][] = [];
  for (const r of rows) {
    if (r.length !== n) return null;
    const w: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const c = r[i]!;
      if (c.includes('\n')) return null;
      const cw = cellWidth(c);
      w[i] = cw;
      if (cw > widths[i]!) widths[i] = cw;
    }
    rowWidths.push(w);
  }
  const rule = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const line = (cells: readonly string[], cw: readonly number[]): string => {
    let s = '│';
    for (let i = 0; i < n; i++) {
      const gap = ' '.repeat(widths[i]! - cw[i]!);
      s += ` ${right[i] ? gap + cells[i] : cells[i] + gap} │`;
    }
    return s;
  };
  const out: string[] = [rule('┌', '┬', '┐'), line(head, head.map(cellWidth))];
  if (rows.length) out.push(rule('├', '┼', '┤'));
  for (let j = 0; j < rows.length; j++) out.push(line(rows[j]!, rowWidths[j]!));
  out.push(rule('└', '┴', '┘'));
  return out.join('\n');
}
