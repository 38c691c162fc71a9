// `npm run bench -- --cardinality N` (issue 15) smoke-run at a small size: every scenario runs to
// exit 0 on its unusual log and on the ordinary one, and the table has one row per scenario. Speed
// and memory are the benchmark's business, never a test's: nothing here is timed.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir } from '../helpers.js';
// @ts-expect-error: a plain .mjs script without types
import { writeCardinalityLog } from '../../bench/cardinality.mjs';

function lines(file: string): Record<string, any>[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('bench/cardinality.mjs logs', () => {
  it('make the one dimension unusual that each kind names', async () => {
    const dir = tmpDir();
    const n = 500;
    for (const kind of ['ordinary', 'users', 'names', 'open', 'outlier']) await writeCardinalityLog(join(dir, `${kind}.log`), n, kind);
    const users = (k: string) => new Set(lines(join(dir, `${k}.log`)).map((e) => e.user.username)).size;
    expect(users('users')).toBe(n);
    expect(users('ordinary')).toBeLessThanOrEqual(50);
    expect(new Set(lines(join(dir, 'names.log')).map((e) => e.objectRef.name)).size).toBe(n);
    expect(lines(join(dir, 'open.log')).every((e) => e.stage === 'RequestReceived')).toBe(true);
    const outlier = lines(join(dir, 'outlier.log'));
    expect(outlier.filter((e) => e.requestReceivedTimestamp.startsWith('1970')).length).toBe(1);
    expect(outlier.filter((e) => e.requestReceivedTimestamp.startsWith('2026')).length).toBe(n - 1);
  });
});

describe('npm run bench -- --cardinality', () => {
  it('runs every scenario at a small size and reports each one with its ordinary-log comparison', () => {
    const r = spawnSync(process.execPath, ['bench/run.mjs', '--cardinality', '200', '--cache', tmpDir()], { encoding: 'utf8', timeout: 400_000 });
    expect(r.stderr).not.toMatch(/exited [1-9]/);
    expect(r.status).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('| 200 |'));
    expect(rows.length).toBe(41);
    for (const scenario of ['investigate --group-by user (table)', 'summary --approx', 'investigate --group-by user --approx -o csv', 'investigate --group-by name --approx', 'anomalies --train-until', 'baseline', 'rbac-gen', 'compliance', 'drift', 'commands (never completed)', 'investigate --timeline hour (1970 outlier)', 'investigate -o yaml', 'investigate --sort time -o jsonl', 'commands', 'export -o parquet', 'sql (log) group by subject', 'view', 'merge --command summary', 'merge --command commands']) {
      expect(rows.some((l) => l.startsWith(`| 200 | ${scenario} |`))).toBe(true);
    }
  }, 400_000);
});
