// Terminal tables fit the terminal: golden files at 80 and 200 columns, -o wide, every line within
// the width, exact counts of what is not shown, and linear layout of very large tables.
import { describe, it, expect } from 'vitest';
import { runCli } from '../helpers.js';
import { renderViewTable, displayWidth, wrapText, MAX_ROWS } from '../../src/render/table.js';
import type { View } from '../../src/types.js';

const runs: [string, string[]][] = [
  ['investigate', ['investigate', 'fixtures/kubectl/commands.jsonl', '--verb', 'delete', '--resource', 'ns', '--limit', '4']],
  ['commands', ['commands', 'fixtures/sample', '--user', 'alice@example.com', '--limit', '5']],
  ['drift', ['drift', '--rbac', 'fixtures/drift/rbac.yaml', 'fixtures/drift/audit.log']],
  ['anomalies', ['anomalies', 'fixtures/sample', '--train-until', '2026-03-03', '--min-severity', 'high']],
];

describe.each([80, 200])('tables at %i columns', (cols) => {
  it.each(runs)('%s (golden)', async (name, args) => {
    const r = await runCli([...args, '-q'], { env: { COLUMNS: String(cols) } });
    expect(r.code).toBe(0);
    for (const line of r.stdout.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(cols);
    await expect(r.stdout).toMatchFileSnapshot(`../golden/table.${name}.${cols}.txt`);
  });
});

describe('fitting', () => {
  it('the terminal width is read from the TTY when COLUMNS is not set, and a pipe gets every column', async () => {
    const args = runs[0]![1];
    const pipe = await runCli([...args, '-q']);
    const tty = await runCli([...args, '-q'], { tty: true });
    expect(tty.stdout).toBe(pipe.stdout); // the test's fake TTY has no column count: no limit
    expect(Math.max(...pipe.stdout.split('\n').map(displayWidth))).toBeGreaterThan(150);
  });

  it("a terminal's own column count is the width when COLUMNS is not set", async () => {
    const args = runs[0]![1];
    const tty = await runCli([...args, '-q'], { tty: true, columns: 80 });
    for (const line of tty.stdout.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(tty.stdout).toBe((await runCli([...args, '-q'], { env: { COLUMNS: '80' } })).stdout);
    // COLUMNS, when set, wins over the terminal's count (as in a shell that exports it).
    expect((await runCli([...args, '-q'], { tty: true, columns: 80, env: { COLUMNS: '200' } })).stdout).toBe((await runCli([...args, '-q'], { env: { COLUMNS: '200' } })).stdout);
  });

  it('-o wide shows every column in full whatever the width, like kubectl', async () => {
    const args = runs[0]![1];
    const wide = await runCli([...args, '-o', 'wide', '-q'], { env: { COLUMNS: '80' } });
    const pipe = await runCli([...args, '-q']);
    expect(wide.stdout).toBe(pipe.stdout);
    expect(wide.stdout).toContain('Access Method');
    expect(wide.stdout).not.toContain('…');
  });

  it('leaves out low-value columns before narrowing the rest, and says so', async () => {
    const r = await runCli([...runs[0]![1], '-q'], { env: { COLUMNS: '100' } });
    const head = r.stdout.split('\n')[2]!;
    expect(head).not.toContain('Access Method');
    for (const c of ['Date', 'User', 'Namespace', 'Resource', 'Verb', 'Details']) expect(head).toContain(c);
    expect(r.stdout).toMatch(/Fitted to 100 columns: left out Access Method/);
    expect(r.stdout).toMatch(/-o wide shows every column in full/);
  });

  it('the Cluster column appears only when inputs are labelled', async () => {
    const plain = await runCli(['investigate', 'fixtures/mini/mini.jsonl', '--limit', '2', '-q']);
    expect(plain.stdout.split('\n')[2]).not.toContain('Cluster');
    const labelled = await runCli(['investigate', 'prod=fixtures/mini/mini.jsonl', '--limit', '2', '-q']);
    expect(labelled.stdout.split('\n')[2]).toContain('Cluster');
    expect(labelled.stdout).toContain('│ prod ');
  });

  it('wraps at spaces and punctuation, never loses text it does not mark', () => {
    expect(wrapText('name=production · 10.5 ms · from 203.0.113.10', 20)).toEqual({ lines: ['name=production ·', '10.5 ms · from', '203.0.113.10'], cut: false });
    expect(wrapText('system:serviceaccount:kube-system:generic-garbage-collector', 24, 2)).toEqual({ lines: ['system:serviceaccount:', 'kube-system:generic-gar…'], cut: true });
    expect(wrapText('日本語のテキスト', 6).lines.every((l) => displayWidth(l) <= 6)).toBe(true);
  });

  it('lays out 150,000 rows in linear time and shows at most MAX_ROWS with an exact count of the rest', () => {
    const rows = Array.from({ length: 150_000 }, (_, i) => [`subject-${i}`, i, 'x'.repeat(i % 50)]);
    const view: View = { title: 't', sections: [{ title: 'big', kind: 'table', columns: ['subject', 'n', 'text'], rows }] };
    const out = renderViewTable(view, { color: false, width: 80 });
    const lines = out.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('│ subject-'))).toHaveLength(MAX_ROWS);
    expect(out).toContain(`${150_000 - MAX_ROWS} more rows not shown; -o json has them all.`);
    // A hundred times the rows is no slower than linear would allow: the same output for the first MAX_ROWS.
    const small = renderViewTable({ title: 't', sections: [{ ...view.sections[0]!, rows: rows.slice(0, MAX_ROWS) }] }, { color: false, width: 80 });
    expect(out.split('\n').slice(0, MAX_ROWS + 4).join('\n')).toBe(small.split('\n').slice(0, MAX_ROWS + 4).join('\n'));
  });

  it('too many columns for even 8 characters each: the rightmost are left out, never the width exceeded', () => {
    const columns = Array.from({ length: 30 }, (_, i) => `field${i}`);
    const rows = [columns.map((c) => `${c}-value-long-enough`)];
    const out = renderViewTable({ title: 't', sections: [{ title: 's', kind: 'table', columns, rows }] }, { color: false, width: 80 });
    for (const line of out.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    const head = out.split('\n')[2]!;
    expect(head).toMatch(/^│ field0 +│ field1 +│/);
    expect(head).not.toContain('field29');
    const kept = head.split('│').length - 2;
    expect(kept).toBeGreaterThan(3);
    expect(out).toContain(`left out the last ${30 - kept} columns (field${kept} to field29)`);
    // Each kept column is at least 8 wide: the cells are readable, not cut to three letters.
    for (const seg of out.split('\n')[1]!.slice(1, -1).split('┬')) expect(seg.length - 2).toBeGreaterThanOrEqual(8);
    const wide = renderViewTable({ title: 't', sections: [{ title: 's', kind: 'table', columns, rows }] }, { color: false, width: 80, wide: true });
    expect(wide).toContain('field29-value-long-enough');
  });

  it('colour is added after layout: the same widths with and without it', () => {
    const view: View = { title: 't', sections: [{ title: 's', kind: 'table', columns: ['a', 'b'], rows: [['x'.repeat(90), 1]] }] };
    const plain = renderViewTable(view, { color: false, width: 60 });
    const coloured = renderViewTable(view, { color: true, width: 60 }).replace(/\u001b\[[0-9;]*m/g, '');
    expect(coloured).toBe(plain);
  });
});
