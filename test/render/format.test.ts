// One way to print times, durations and counts for people (src/render/format.ts), and every
// command's human output using it: milliseconds and Z, one duration format, plurals right.
import { describe, it, expect } from 'vitest';
import { displayTime, displayWindow, formatDuration, plural } from '../../src/render/format.js';
import { runCli } from '../helpers.js';

describe('displayTime', () => {
  it.each<[string | number | null | undefined, string]>([
    ['2026-03-02T00:00:34.294992Z', '2026-03-02T00:00:34.294Z'], // the API server's microseconds: cut, never rounded up
    ['2026-03-02T00:00:34.999999Z', '2026-03-02T00:00:34.999Z'],
    ['2026-03-02T00:00:34Z', '2026-03-02T00:00:34.000Z'],
    ['2026-03-02T00:00:34.5Z', '2026-03-02T00:00:34.500Z'],
    ['2026-03-02T01:00:34.123+01:00', '2026-03-02T00:00:34.123Z'],
    ['2026-03-02t00:00:34.1z', '2026-03-02T00:00:34.100Z'],
    [1772409634294.992, '2026-03-02T00:00:34.294Z'],
    [Number.NaN, ''],
    [null, ''],
    [undefined, ''],
    ['yesterday', 'yesterday'],
  ])('%j → %j', (t, want) => expect(displayTime(t)).toBe(want));

  it('a window has both ends, - for a missing one', () => {
    expect(displayWindow('2026-03-02T00:00:34Z', null)).toBe('2026-03-02T00:00:34.000Z → -');
  });
});

describe('formatDuration', () => {
  it.each<[number | null, string]>([
    [0, '0 ms'],
    [0.4061, '0.406 ms'],
    [2.994, '2.99 ms'],
    [19, '19 ms'],
    [116.4, '116 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'],
    [1234, '1.2 s'],
    [125_600, '125.6 s'],
    [3_599_000, '3599.0 s'],
    [3_600_000, '1.00 h'],
    [9_036_000, '2.51 h'],
    [null, '-'],
    [Number.POSITIVE_INFINITY, '-'],
  ])('%j ms → %j', (ms, want) => expect(formatDuration(ms)).toBe(want));
});

describe('plural', () => {
  it.each<[number, string, string | undefined, string]>([
    [0, 'rule', undefined, '0 rules'],
    [1, 'rule', undefined, '1 rule'],
    [2, 'day', undefined, '2 days'],
    [1, 'policy', 'policies', '1 policy'],
    [3, 'policy', 'policies', '3 policies'],
  ])('%i %s', (n, w, p, want) => expect(plural(n, w, p)).toBe(want));
});

describe('what every command prints for people', () => {
  const M = 'fixtures/mini/mini.jsonl';
  const runs = [
    ['summary', M],
    ['investigate', M],
    ['investigate', M, '--group-by', 'user'],
    ['investigate', M, '--timeline', 'hour'],
    ['commands', M],
    ['drift', M, '--rbac', 'fixtures/drift/rbac.yaml'],
    ['drift', 'fixtures/drift/audit.log', '--rbac', 'fixtures/drift/rbac.yaml'],
    ['anomalies', M],
    ['compliance', M, '--rbac', 'fixtures/drift/rbac.yaml', '-o', 'markdown'],
    ['rbac-gen', M, '-o', 'report'],
  ];

  it('has no "1 things" and one duration format (ms below a second, s with one decimal, h with two)', async () => {
    let text = '';
    for (const args of runs) {
      const r = await runCli(args);
      text += r.stdout + r.stderr;
    }
    expect(text.match(/\b1 (?!ms\b)[a-z]+s\b/g) ?? []).toEqual([]);
    const durations = text.match(/\b\d+(?:\.\d+)? ?(?:ms|s|sec|secs|seconds|µs|us|min|mins|minutes|h|hours)\b/g) ?? [];
    expect(durations.length).toBeGreaterThan(5);
    for (const d of durations) expect(d).toMatch(/^(?:\d+(?:\.\d{1,3})? ms|\d+\.\d s|\d+\.\d\d h)$/);
  });
});
