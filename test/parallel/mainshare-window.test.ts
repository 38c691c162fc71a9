// A split run whose parts leave more requests waiting than one pass's window holds (windows of 20
// waiting and 5 completed requests, KAUDIT_COLLAPSE_WINDOWS, read when the modules load): with the
// main thread reading a range beside a worker, as with workers only, the run stops and reads again
// in one thread, and prints one pass's bytes (one pass emits the oldest waiting requests early).
import { describe, it, expect, vi } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { runCli, tmpDir } from '../helpers.js';
import { openLog, sameAsOnePass } from './split-helpers.js';

vi.hoisted(() => {
  process.env.KAUDIT_COLLAPSE_WINDOWS = '20,5';
  process.env.KAUDIT_MIN_RANGE_BYTES = '8192';
});

describe('requests that never complete, beyond one pass\'s window, a worker range and a main-thread range', () => {
  it('the run falls back to one thread and prints one pass\'s bytes', async () => {
    const path = join(tmpDir(), 'open.log');
    writeFileSync(path, openLog(50).join('\n') + '\n');
    const one = await runCli(['summary', path, '-o', 'json', '--jobs', '1']);
    expect(JSON.parse(one.stdout).input.window).toEqual({ limit: 20, evicted: 22 });
    const { fellBack, runs } = await sameAsOnePass(path, ['2', '3']);
    expect(fellBack).toBe(runs);
  }, 120_000);
});
