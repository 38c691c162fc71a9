import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { makeProgress } from '../../src/cli/progress.js';
import type { IO } from '../../src/cli/io.js';
import { runCli, tmpDir } from '../helpers.js';

function fakeIO(tty: boolean): { io: IO; text: () => string } {
  const err = Object.assign(new PassThrough(), { isTTY: tty });
  let text = '';
  err.on('data', (d: Buffer) => (text += d.toString()));
  const io: IO = { stdout: new PassThrough(), stderr: err, stdin: Readable.from([]), env: {}, now: () => 0 };
  return { io, text: () => text };
}

describe('progress bar', () => {
  it('draws bytes, percentage, rate, events/s and ETA on a terminal, then clears itself', () => {
    const { io, text } = fakeIO(true);
    let t = 0;
    const p = makeProgress(io, true, 100e6, () => t);
    t = 1000;
    p.update(25e6, 50_000);
    p.done();
    expect(text()).toMatch(/\[######------------------\]  25% 25\.0 MB\/100\.0 MB 25\.0 MB\/s 50000 ev\/s ETA 0:03/);
    expect(text().endsWith('\r\u001b[K')).toBe(true);
  });

  it('shows rate without ETA when the size is unknown (stdin)', () => {
    const { io, text } = fakeIO(true);
    let t = 0;
    const p = makeProgress(io, true, 0, () => t);
    t = 2000;
    p.update(10e6, 1000);
    expect(text()).toMatch(/10\.0 MB read, 5\.0 MB\/s, 500 ev\/s/);
  });

  it('is silent when stderr is not a terminal, or when disabled', () => {
    for (const [tty, enabled] of [[false, true], [true, false]] as const) {
      const { io, text } = fakeIO(tty);
      let t = 0;
      const p = makeProgress(io, enabled, 100, () => t);
      t = 5000;
      p.update(50, 5);
      p.done();
      expect(text()).toBe('');
    }
  });
});

describe('--cluster', () => {
  it('labels every record of unlabelled inputs', async () => {
    const r = await runCli(['export', '--cluster', 'prod', '-o', 'jsonl', '--fields', 'cluster', 'fixtures/mini/mini.jsonl']);
    const clusters = new Set(r.stdout.trim().split('\n').map((l) => JSON.parse(l).cluster));
    expect([...clusters]).toEqual(['prod']);
  });

  it('the label and the filter read a name the same way (comma lists, spaces, line separators trimmed): no "0 used"', async () => {
    for (const name of ['prod,staging', ' prod ', 'prod\u2028']) {
      const r = await runCli(['export', '--cluster', name, '-o', 'jsonl', '--fields', 'cluster', 'fixtures/mini/mini.jsonl']);
      expect(r.stderr).toMatch(/; 9 used, 0 skipped by filters/);
      expect(new Set(r.stdout.trim().split('\n').map((l) => JSON.parse(l).cluster))).toEqual(new Set(['prod']));
    }
  });

  it('a cluster the data names (GKE resource.labels.cluster_name) is kept: --cluster labels only what names none, and filters', async () => {
    // 3 entries of sample-cluster and 4 of other-cluster (fixtures/cloud/gke.jsonl with 4 renamed).
    const f = join(tmpDir(), 'gke.jsonl');
    const lines = readFileSync('fixtures/cloud/gke.jsonl', 'utf8').trim().split('\n');
    writeFileSync(f, lines.map((l, i) => (i % 2 ? l.replace(/"cluster_name":"[^"]*"/, '"cluster_name":"other-cluster"') : l)).join('\n') + '\n');
    const all = await runCli(['export', f, '-o', 'jsonl', '--fields', 'cluster', '-q']);
    const names = all.stdout.trim().split('\n').map((l) => JSON.parse(l).cluster as string);
    expect(new Set(names)).toEqual(new Set(['sample-cluster', 'other-cluster']));
    const only = await runCli(['export', '--cluster', 'other-cluster', f, '-o', 'jsonl', '--fields', 'cluster', '-q']);
    expect(only.stdout.trim().split('\n').map((l) => JSON.parse(l).cluster)).toEqual(names.filter((n) => n === 'other-cluster'));
    const typo = await runCli(['summary', '--cluster', 'prdo', f, '-o', 'json', '-q']);
    expect(JSON.parse(typo.stdout).input.used).toBe(0);
  });

  it('NAME=PATH pairs label inputs one by one, and a plain name then filters', async () => {
    const both = await runCli(['summary', '-o', 'json', 'a=fixtures/mini/mini.jsonl', 'b=fixtures/sample/audit.log']);
    const only = await runCli(['summary', '-o', 'json', '--cluster', 'a', '--cluster', 'b=fixtures/sample/audit.log', 'a=fixtures/mini/mini.jsonl']);
    const rb = JSON.parse(both.stdout);
    const ro = JSON.parse(only.stdout);
    expect(rb.input.used).toBeGreaterThan(ro.input.used);
    expect(ro.input.used).toBe(9);
    expect(ro.input.skipped).toBe(rb.input.used - 9);
  });
});
