// --jobs N with the main thread as one of the readers (src/parallel/pool.ts mainShares): N - 1
// worker threads and the main thread each read byte ranges, and the main thread reconciles all the
// parts in input order (src/parallel/run.ts Reconciler) as it does for workers' parts. Every run
// here is compared with --jobs 1, and with the same split read by workers only
// (KAUDIT_PARALLEL_MAIN=0): stdout and stderr are one pass's, or the run says it reads again in
// one thread and then prints one pass's bytes. The trace (KAUDIT_TRACE_PARALLEL) shows that the
// run really split, and who read what.
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { runCli, tmpDir } from '../helpers.js';
import { line, openLog, sameAsOnePass } from './split-helpers.js';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { setBudget } from '../../src/scale/budget.js';
import { mainShares, workersFor } from '../../src/parallel/pool.js';

afterEach(() => {
  delete process.env.KAUDIT_MIN_RANGE_BYTES;
  delete process.env.KAUDIT_TASK_BYTES;
  delete process.env.KAUDIT_PARALLEL_MAIN;
  delete process.env.KAUDIT_TRACE_PARALLEL;
  delete process.env.KAUDIT_COLLAPSE_WINDOWS;
  setBudget(null);
});

describe('mainShares: the main thread as one of the readers', () => {
  it('KAUDIT_PARALLEL_MAIN=1/0 turns it on/off for two threads or more (off by default); the workers started are then one fewer', () => {
    expect(mainShares(1)).toBe(false);
    expect(mainShares(2)).toBe(false);
    process.env.KAUDIT_PARALLEL_MAIN = '1';
    expect(mainShares(2)).toBe(true);
    expect(workersFor(2)).toBe(1);
    expect(workersFor(4)).toBe(3);
    process.env.KAUDIT_PARALLEL_MAIN = '0';
    expect(mainShares(2)).toBe(false);
    expect(workersFor(2)).toBe(2);
    process.env.KAUDIT_PARALLEL_MAIN = '1';
    expect(mainShares(2)).toBe(true);
    expect(mainShares(1)).toBe(false);
  });
});

describe('a worker range and a main-thread range give the bytes of one pass', () => {
  it('stage pairs split across the border: every request received in the first range completes in the second', async () => {
    process.env.KAUDIT_MIN_RANGE_BYTES = '8192';
    const dir = tmpDir();
    const path = join(dir, 'pairs.log');
    const n = 30;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(line(`pair-${i}`, 'RequestReceived', i % 3 ? 'get' : 'delete', i * 10, 400, i % 2 ? 'alice' : 'bob'));
    // ResponseStarted of a watch on one side, its completion on the other.
    lines.push(line('watch-1', 'ResponseStarted', 'watch', 400));
    for (let i = 0; i < n; i++) lines.push(line(`pair-${i}`, 'ResponseComplete', i % 3 ? 'get' : 'delete', i * 10, 400, i % 2 ? 'alice' : 'bob'));
    lines.push(line('watch-1', 'ResponseComplete', 'watch', 400));
    writeFileSync(path, lines.join('\n') + '\n');
    const one = await runCli(['summary', path, '-o', 'json', '--jobs', '1']);
    expect(JSON.parse(one.stdout).input).toMatchObject({ events: 2 * n + 2, requests: n + 1 });
    const { fellBack } = await sameAsOnePass(path, ['2', '3']);
    // Requests carried over the border join exactly; nothing here makes one pass's windows overflow.
    expect(fellBack).toBe(0);
  }, 120_000);

  it('an Audit-ID reused across the border, and a repeated completion: flagged and counted as one pass does', async () => {
    process.env.KAUDIT_MIN_RANGE_BYTES = '8192';
    const dir = tmpDir();
    const path = join(dir, 'reuse.log');
    const fill = (from: number, k: number): string[] => Array.from({ length: k }, (_, i) => line(`fill-${from + i}`, 'ResponseComplete', 'list', 1000 + from + i));
    // x completes (get) in the first range, is used again (delete, two stages) in the second; y
    // completes twice, once on each side (a repeated line: one pass counts it once, as a duplicate).
    const lines = [line('x', 'ResponseComplete', 'get', 0), line('y', 'ResponseComplete', 'list', 5), ...fill(0, 22), line('x', 'RequestReceived', 'delete', 50), line('x', 'ResponseComplete', 'delete', 50), line('y', 'ResponseComplete', 'list', 5), ...fill(100, 22)];
    writeFileSync(path, lines.join('\n') + '\n');
    const one = await runCli(['summary', path, '-o', 'json', '--jobs', '1']);
    expect(JSON.parse(one.stdout).input).toMatchObject({ events: 49, requests: 47, auditIDReuse: 1, duplicates: 2 });
    await sameAsOnePass(path);
  }, 120_000);

  it('requests that never complete, in both ranges, within one pass\'s window: the parts join exactly', async () => {
    process.env.KAUDIT_MIN_RANGE_BYTES = '8192';
    const dir = tmpDir();
    const path = join(dir, 'open.log');
    writeFileSync(path, openLog(50).join('\n') + '\n');
    const one = await runCli(['summary', path, '-o', 'json', '--jobs', '1']);
    expect(JSON.parse(one.stdout).input).toMatchObject({ requests: 50, notCompleted: 42 });
    expect((await sameAsOnePass(path)).fellBack).toBe(0);
  }, 120_000);

  it('--memory 64k: the states spill in the worker and on the main thread alike', async () => {
    process.env.KAUDIT_MIN_RANGE_BYTES = String(96 << 10);
    process.env.KAUDIT_TASK_BYTES = String(3 * (96 << 10));
    const dir = tmpDir();
    const path = join(dir, 'audit.log');
    await generate({ ...DEFAULT_GEN, out: path, days: 1, seed: 23, scale: 0.05, rotate: 'none' });
    const { runs } = await sameAsOnePass(path, ['2'], ['--memory', '64k']);
    expect(runs).toBe(4);
  }, 180_000);
});
