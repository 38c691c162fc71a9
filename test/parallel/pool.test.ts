// Workers started early (src/parallel/pool.ts): which command lines start them, that a run takes
// only workers started for its command, and that a run which does not split leaves none behind.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { likelyWorkers, prestartWorkers, takeWorkers, discardPrestarted, prestartedCount } from '../../src/parallel/pool.js';
import { runCli, tmpDir, event } from '../helpers.js';

vi.hoisted(() => {
  process.env.KAUDIT_MIN_RANGE_BYTES = '2048';
});

describe('likelyWorkers: a guess from the command line alone', () => {
  const dir = tmpDir();
  const big = join(dir, 'big.log');
  writeFileSync(big, 'x'.repeat(5000));
  const small = join(dir, 'small.log');
  writeFileSync(small, 'x'.repeat(100));
  const folder = join(dir, 'logs');
  mkdirSync(folder);
  const cases: [string[], number, number][] = [
    // argv, cores, expected
    [['summary', big], 2, 2],
    [['summary', big], 16, 8],
    [['summary', big], 1, 0],
    [['rbac-gen', big, '-o', 'report'], 2, 2],
    [['drift', '--rbac', small, big], 2, 2],
    [['baseline', big], 4, 4],
    [['summary', big, '--jobs', '1'], 2, 0],
    [['summary', big, '-j', '1'], 2, 0],
    [['summary', big, '--jobs=1'], 2, 0],
    [['summary', big, '-j1'], 2, 0],
    [['summary', big, '--jobs', '3'], 2, 3],
    [['summary', '--jobs=4', big], 2, 4],
    [['summary', big, '--jobs', 'auto'], 4, 4],
    [['summary', big, '--jobs', 'many'], 2, 0],
    [['summary', small, small], 2, 0],
    [['summary', big, small], 2, 2],
    [['summary', folder], 2, 0],
    [['summary', big, '-'], 2, 0],
    [['summary', big, '--save-state', join(dir, 'state')], 2, 0],
    [['summary', '--merge-states', big], 2, 0],
    [['summary', big, '--shard', '0/2'], 2, 0],
    [['summary', big, '--help'], 2, 0],
    // compliance hashes its inputs and reads in one thread; anomalies has no --jobs.
    [['compliance', big], 2, 0],
    [['anomalies', big], 2, 0],
    [['investigate', big], 2, 0],
    [[], 2, 0],
  ];
  it.each(cases)('%j on %i cores: %i', (argv, cores, expected) => {
    expect(likelyWorkers(argv, 4096, cores)).toBe(expected);
  });
});

describe('workers started ahead of a run', () => {
  afterEach(() => discardPrestarted());

  it('a run takes those started for its command, at most as many as it needs; the rest are terminated', async () => {
    prestartWorkers('summary', 3);
    expect(prestartedCount()).toBe(3);
    const taken = takeWorkers('summary', 2);
    expect(taken).toHaveLength(2);
    expect(prestartedCount()).toBe(0);
    // A taken worker answers as a worker of the run does (here: an error for an unknown command, as plain data).
    const answer = await new Promise<{ type: string; kind: string }>((resolve) => {
      taken[0]!.once('message', resolve);
      taken[0]!.postMessage({ task: { index: 0, source: { path: '/nonexistent', size: 0 } }, spec: { command: 'no-such-command', options: {}, filters: [{}], now: 0, prefilter: false, strict: false, read: {} } });
    });
    expect(answer).toMatchObject({ type: 'error', kind: 'bug' });
    await Promise.all(taken.map((w) => w.terminate()));
  });

  it('workers started for another command are not taken', () => {
    prestartWorkers('summary', 2);
    expect(takeWorkers('rbac-gen', 2)).toEqual([]);
    expect(prestartedCount()).toBe(0);
  });

  it('end to end: a split run gives the bytes of one thread, and a run that does not split leaves no worker waiting', async () => {
    const dir = tmpDir();
    const path = join(dir, 'audit.log');
    const lines: string[] = [];
    for (let i = 0; i < 60; i++) lines.push(JSON.stringify(event({ auditID: `a-${i}`, verb: i % 3 ? 'get' : 'list', user: { username: `user-${i % 7}` } })));
    writeFileSync(path, lines.join('\n') + '\n');
    const one = await runCli(['summary', path, '-o', 'json', '--jobs', '1']);
    const many = await runCli(['summary', path, '-o', 'json', '--jobs', '2']);
    expect(one.code, one.stderr).toBe(0);
    expect(many.stdout).toBe(one.stdout);
    expect(prestartedCount()).toBe(0);
    // Too small to split once the run lists its inputs: the workers started ahead are discarded.
    process.env.KAUDIT_MIN_RANGE_BYTES = String(2 ** 30);
    try {
      expect(likelyWorkers(['summary', path], 1, 2)).toBe(2);
      prestartWorkers('summary', 2);
      const small = await runCli(['summary', path, '-o', 'json', '--jobs', '2']);
      expect(small.stdout).toBe(one.stdout);
      expect(prestartedCount()).toBe(0);
    } finally {
      process.env.KAUDIT_MIN_RANGE_BYTES = '2048';
    }
  }, 60_000);
});
