// Golden files: one fixture through every renderer. Update deliberately with `npx vitest run -u`.
import { describe, it, expect } from 'vitest';
import { runCli } from '../helpers.js';

describe('summary renderers on the bundled sample', () => {
  it.each([
    ['table', 'txt'],
    ['json', 'json'],
    ['markdown', 'md'],
  ])('-o %s', async (format, ext) => {
    const r = await runCli(['summary', 'fixtures/sample', '-o', format]);
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot(`../golden/summary.sample.${ext}`);
  });

  it('the JSON report round-trips and carries balanced accounting', async () => {
    const r = await runCli(['summary', 'fixtures/sample', '-o', 'json']);
    const rep = JSON.parse(r.stdout);
    expect(JSON.stringify(rep, null, 2) + '\n').toBe(r.stdout);
    const i = rep.input;
    expect(i.lines).toBe(i.events + i.rejected);
    expect(i.events).toBe(i.requests + i.duplicates);
    expect(i.requests).toBe(i.used + i.skipped);
    expect(rep.window.from < rep.window.to).toBe(true);
    expect(rep.top.subjects.length).toBeLessThanOrEqual(10);
  });

  it('same input, same bytes', async () => {
    const a = await runCli(['summary', 'fixtures/sample', '-o', 'markdown']);
    const b = await runCli(['summary', 'fixtures/sample', '-o', 'markdown']);
    expect(a.stdout).toBe(b.stdout);
  });
});

describe('export renderers on the mini fixture', () => {
  it.each([
    ['csv', 'csv'],
    ['jsonl', 'jsonl'],
    ['json', 'json'],
  ])('-o %s', async (format, ext) => {
    const r = await runCli(['export', 'fixtures/mini/mini.jsonl', '-o', format]);
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot(`../golden/export.mini.${ext}`);
  });

  it('summary markdown of the mini fixture (hostile values made inert)', async () => {
    const r = await runCli(['summary', 'fixtures/mini/mini.jsonl', '-o', 'markdown']);
    expect(r.stdout).not.toContain('<script>');
    expect(r.stdout).not.toContain('\u001b');
    await expect(r.stdout).toMatchFileSnapshot('../golden/summary.mini.md');
  });
});
