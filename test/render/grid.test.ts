// The linear table drawer (src/render/grid.ts) against the library it replaces for big tables
// (cli-table3, whose layout is quadratic in the cells), and the row cap of tables and Markdown
// (src/render/cap.ts). Issue 15: tables render in linear time and never pass a huge array through
// a library that recurses.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import Table from 'cli-table3';
import { Chalk } from 'chalk';
import { drawGrid } from '../../src/render/grid.js';
import { renderViewTable } from '../../src/render/table.js';
import { renderViewMarkdown } from '../../src/render/markdown.js';
import { VIEW_ROWS } from '../../src/scale/lazy.js';
import type { View } from '../../src/types.js';

function reference(head: string[], rows: string[][], right: boolean[]): string {
  const t = new Table({ head, style: { head: [], border: [], compact: true }, colAligns: right.map((r) => (r ? 'right' : 'left')) });
  for (const r of rows) t.push(r);
  return t.toString();
}

// Cells as tableCell gives them: single-line text, with wide (CJK), zero-width-joined emoji,
// combining marks and plain ASCII mixed.
const piece = fc.constantFrom('a', 'Z', ' ', '-', '0', '漢', '字', '👩‍💻', 'e\u0301', '│', '…', 'ß', '\\x1b');
const text = fc.array(piece, { maxLength: 8 }).map((a) => a.join(''));

describe('drawGrid draws the bytes of cli-table3 (differential, property)', () => {
  it('on random tables of single-line cells, bold or plain headers, left and right columns', () => {
    const bold = new Chalk({ level: 1 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }).chain((n) =>
          fc.record({
            head: fc.array(text, { minLength: n, maxLength: n }),
            rows: fc.array(fc.array(text, { minLength: n, maxLength: n }), { maxLength: 6 }),
            right: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
            color: fc.boolean(),
          }),
        ),
        ({ head, rows, right, color }) => {
          const h = color ? head.map((x) => bold.bold(x)) : head;
          expect(drawGrid(h, rows, right)).toBe(reference(h, rows, right));
        },
      ),
      { numRuns: 300, seed: 15 },
    );
  });

  it('leaves to cli-table3 what it does not draw (no columns, ragged rows, line breaks)', () => {
    expect(drawGrid([], [], [])).toBeNull();
    expect(drawGrid(['a', 'b'], [['1']], [false, false])).toBeNull();
    expect(drawGrid(['a'], [['x\ny']], [false])).toBeNull();
  });
});

describe('tables and Markdown show at most VIEW_ROWS rows, with the exact count of the rest', () => {
  const n = VIEW_ROWS * 3 + 7;
  const view: View = {
    title: 't',
    sections: [
      { title: 'Subjects', kind: 'table', columns: ['user', 'requests'], rows: Array.from({ length: n }, (_, i) => [`user-${i}`, i]), note: 'Most requests first.' },
      { title: 'Hours', kind: 'bars', rows: Array.from({ length: 1500 }, (_, i) => [`h${i}`, i]) },
    ],
  };

  it('terminal table', () => {
    const out = renderViewTable(view, { color: false });
    expect(out).toContain(`│ user-${VIEW_ROWS - 1} `);
    expect(out).not.toContain(`user-${VIEW_ROWS} `);
    expect(out).toContain(`Most requests first. ${n - VIEW_ROWS} more rows not shown (the first ${VIEW_ROWS} of ${n}; -o json has every one).`);
    // Bar charts (timelines) keep every bucket: they cap their own.
    expect(out).toContain('h1499 ');
    // Numbers stay right-aligned: the grid matches cli-table3 on the shown rows.
    const shown = view.sections[0]!.rows.slice(0, VIEW_ROWS).map((r) => r.map(String));
    expect(out).toContain(reference(['user', 'requests'], shown, [false, true]));
  });

  it('Markdown', () => {
    const out = renderViewMarkdown(view);
    expect(out).toContain(`| user-${VIEW_ROWS - 1} |`);
    expect(out).not.toContain(`| user-${VIEW_ROWS} |`);
    expect(out).toContain(`${n - VIEW_ROWS} more rows not shown`);
  });

  it('a table of 200 000 rows renders (no stack overflow, no quadratic layout) and stays capped', () => {
    const big: View = { title: 'big', sections: [{ title: 'Subjects', kind: 'table', columns: ['user', 'n'], rows: Array.from({ length: 200_000 }, (_, i) => [`u${i}`, i]) }] };
    const out = renderViewTable(big, { color: false });
    expect(out.split('\n').length).toBeLessThan(VIEW_ROWS + 10);
    expect(out).toContain('199000 more rows not shown');
  });
});
