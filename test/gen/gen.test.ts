import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { tmpDir, collect, expectBalanced } from '../helpers.js';

describe('the generator', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const a = tmpDir();
    const b = tmpDir();
    const c = tmpDir();
    await generate({ ...DEFAULT_GEN, out: a, days: 2, seed: 5, scale: 0.01 });
    await generate({ ...DEFAULT_GEN, out: b, days: 2, seed: 5, scale: 0.01 });
    await generate({ ...DEFAULT_GEN, out: c, days: 2, seed: 6, scale: 0.01 });
    const names = readdirSync(a).sort();
    expect(names).toEqual(['audit-2026-03-02T23-59-59.999.log.gz', 'audit.log']);
    expect(readdirSync(b).sort()).toEqual(names);
    for (const n of names) expect(readFileSync(join(b, n)).equals(readFileSync(join(a, n)))).toBe(true);
    expect(readFileSync(join(c, 'audit.log')).equals(readFileSync(join(a, 'audit.log')))).toBe(false);
  });

  it('writes a log kaudit reads with nothing rejected, with every population present', async () => {
    const d = tmpDir();
    await generate({ ...DEFAULT_GEN, out: d, days: 1, seed: 3, scale: 0.02 });
    const { records, acc } = await collect([d]);
    expectBalanced(acc);
    expect(acc.rejected).toBe(0);
    expect(acc.duplicates).toBeGreaterThan(0); // RequestReceived / ResponseStarted stages
    const kinds = new Set(records.map((r) => r.subjectKind));
    expect([...kinds].sort()).toEqual(['Anonymous', 'Node', 'ServiceAccount', 'System', 'User']);
    const methods = new Set(records.map((r) => r.accessMethod));
    for (const m of ['kubectl', 'browser', 'controller', 'automation']) expect(methods).toContain(m);
    expect(records.some((r) => r.impersonator !== '')).toBe(true);
    expect(records.some((r) => r.decision === 'forbid')).toBe(true);
    expect(records.some((r) => r.level === 'Request')).toBe(true);
    expect(records.some((r) => r.nonResourceURL === '/apis')).toBe(true);
    // Time order within the file, as an API server writes it.
    const times = readFileSync(join(d, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).stageTimestamp as string);
    expect([...times].sort()).toEqual(times);
  });
});
