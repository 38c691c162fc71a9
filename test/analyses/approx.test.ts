// --approx (issue 15): summary and investigate --group-by in fixed memory with sketches. Asserted:
// small data gives exactly the exact answer (the sketches only approximate past their exact
// range); past it, every listed count's range holds the true count, no unlisted key has more than
// the stated maximum, distinct counts are within the stated error; merged partial states (worker
// threads, --save-state shards) keep the guarantees; every approximate number in JSON and CSV
// carries its bound; no temporary file is written.
import { describe, it, expect, afterEach } from 'vitest';
import { cleanupSpillDir, currentSpillDir } from '../../src/scale/tempdir.js';
import { resetLedger, spillCount } from '../../src/scale/ledger.js';
import { setBudget } from '../../src/scale/budget.js';
import { join } from 'node:path';
import { collect, event, jsonl, runCli, tmpDir, writeFiles } from '../helpers.js';
import { summary, type SummaryReport, resourceKey } from '../../src/analyses/summary/index.js';
import { groupBy, type ApproxGroupRow } from '../../src/analyses/investigate/index.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';
import type { ApproxCount } from '../../src/scale/sketch/index.js';

/** A skewed log: user-0 makes the most requests, then user-1…; plus many one-off users. */
function skewed(users: number, oneOff: number): string {
  const events = [];
  let i = 0;
  for (let u = 0; u < users; u++) {
    const n = Math.max(1, Math.floor(200 / (u + 1)));
    for (let k = 0; k < n; k++) {
      const sec = i % 3600;
      const t = `2026-03-02T${String(10 + Math.floor(sec / 3600)).padStart(2, '0')}:${String(Math.floor(sec / 60) % 60).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}.000000Z`;
      events.push(event({ auditID: `id-${i++}`, user: { username: `user-${u}`, groups: ['system:authenticated'] }, objectRef: { resource: 'pods', namespace: `ns-${u % 13}`, apiVersion: 'v1' }, requestReceivedTimestamp: t, stageTimestamp: t, ...(k % 5 === 0 ? { responseStatus: { metadata: {}, code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' } } : {}) }));
    }
  }
  for (let o = 0; o < oneOff; o++) events.push(event({ auditID: `id-${i++}`, user: { username: `one-off-${o}`, groups: [] }, requestReceivedTimestamp: '2026-03-02T11:00:00.000000Z', stageTimestamp: '2026-03-02T11:00:00.000000Z' }));
  return jsonl(events);
}

const dir = writeFiles(tmpDir(), { 'audit.log': skewed(120, 900) });
const file = join(dir, 'audit.log');
const big = join(writeFiles(tmpDir(), { 'big.log': skewed(120, 10_000) }), 'big.log');
const acc = { files: [] } as unknown as InputAccounting;

function exactCounts(records: AuditRecord[], key: (r: AuditRecord) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
  return m;
}

/** Runs the summary reducer over records in `parts` shares merged in order (1: one pass). */
function summarize(records: AuditRecord[], parts: number, counters: number): SummaryReport {
  const opts = { top: 20, approx: true, counters };
  const size = Math.ceil(records.length / parts);
  const states = Array.from({ length: parts }, (_, p) => {
    const s = summary.init(opts);
    for (const r of records.slice(p * size, (p + 1) * size)) summary.add(s, r);
    return s;
  });
  const merged = states.slice(1).reduce((a, b) => summary.merge(a, b), states[0]!);
  return summary.finish(merged, { input: acc });
}

describe('summary --approx', () => {
  it('on data within the sketches\' exact range, prints exactly what the exact summary prints', async () => {
    for (const format of ['table', 'markdown']) {
      const exact = await runCli(['summary', 'fixtures/sample', '-o', format, '-q']);
      const approx = await runCli(['summary', 'fixtures/sample', '-o', format, '-q', '--approx']);
      expect(approx.code).toBe(0);
      expect(approx.stdout).toBe(exact.stdout);
    }
    const e = JSON.parse((await runCli(['summary', 'fixtures/sample', '-o', 'json', '-q'])).stdout) as SummaryReport;
    const a = JSON.parse((await runCli(['summary', 'fixtures/sample', '-o', 'json', '-q', '--approx'])).stdout) as SummaryReport;
    expect(e.approximate).toBeUndefined();
    expect(a.approximate!.top.unlistedMax).toEqual({ subjects: 0, resources: 0, nonResourceURLs: 0, namespaces: 0, clients: 0 });
    expect((a.top.subjects as ApproxCount[]).map((c) => [c.key, c.count.lower, c.count.upper])).toEqual((e.top.subjects as { key: string; count: number }[]).map((c) => [c.key, c.count, c.count]));
    for (const k of ['subjects', 'resources', 'nonResourceURLs', 'namespaces', 'clients'] as const) expect(a.distinct[k]).toEqual({ estimate: e.distinct[k], relativeStandardError: 0 });
  });

  it('past the exact range: every listed range holds the true count, no unlisted key exceeds the stated maximum, in one pass and merged', async () => {
    const { records } = await collect([file]);
    const truth = exactCounts(records, (r) => r.subject);
    const resources = exactCounts(records.filter((r) => r.resource), resourceKey);
    for (const parts of [1, 2, 5]) {
      const rep = summarize(records, parts, 16);
      const max = rep.approximate!.top.unlistedMax.subjects;
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThanOrEqual(records.length / 17);
      const listed = new Set<string>();
      for (const { key, count } of rep.top.subjects as ApproxCount[]) {
        listed.add(key);
        expect(count.lower).toBeLessThanOrEqual(truth.get(key)!);
        expect(count.upper).toBeGreaterThanOrEqual(truth.get(key)!);
      }
      // The heaviest subjects are listed, in order (their ranges do not overlap the rest here).
      expect((rep.top.subjects as ApproxCount[])[0]!.key).toBe('user-0');
      for (const [key, n] of truth) if (!listed.has(key) && n > max) expect.fail(`${key} (${n} requests) not listed though above ${max}`);
      // One resource: still exact.
      expect((rep.top.resources as ApproxCount[])[0]!.count).toEqual({ lower: resources.get('pods'), upper: resources.get('pods') });
      const d = rep.distinct.subjects as { estimate: number; relativeStandardError: number };
      expect(d.estimate).toBe(truth.size); // 1,020 subjects: HyperLogLog is still exact (EXACT_VALUES)
      expect(d.relativeStandardError).toBe(0);
    }
  });

  it('states every approximate number\'s bound in the table and in JSON', async () => {
    const small = await runCli(['summary', file, '--approx', '-q', '--top', '3']);
    expect(small.code).toBe(0);
    // 1,020 subjects, 4,096 counters: exact; the table says how many there are, as without --approx.
    expect(small.stdout).toContain('1020 subjects. The 3 with the most requests are shown (--top).');
    // 10,120 subjects: past both sketches' exact ranges.
    const table = await runCli(['summary', big, '--approx', '-q', '--top', '3']);
    const subjects = table.stdout.slice(table.stdout.indexOf('Subjects'), table.stdout.indexOf('Subject kinds'));
    expect(subjects).toMatch(/≈\d+ \(±0\.81%\) subjects \(HyperLogLog estimate, ± one standard error\)\. The 3 with the most requests are shown \(--top\)\./);
    expect(subjects).toMatch(/Approximate \(--approx\): each count is a range that holds the true count; a subject not listed has at most \d+ requests?\./);
    // user-0 entered the summary before any prune: its count is exact.
    expect(subjects).toMatch(/│ user-0 +│ +200 │/);
    const json = JSON.parse((await runCli(['summary', big, '--approx', '-q', '-o', 'json'])).stdout) as SummaryReport;
    const d = json.distinct.subjects as { estimate: number; relativeStandardError: number };
    expect(d.relativeStandardError).toBeCloseTo(0.008125, 6);
    expect(Math.abs(d.estimate - 10_120) / 10_120).toBeLessThanOrEqual(3 * d.relativeStandardError);
    const top = json.top.subjects as ApproxCount[];
    expect(top[0]!.key).toBe('user-0');
    expect(top[0]!.count.lower).toBeLessThanOrEqual(200);
    expect(top[0]!.count.upper).toBeGreaterThanOrEqual(200);
    expect(json.approximate!.top.unlistedMax.subjects).toBeGreaterThan(0);
    expect(json.approximate!.top.unlistedMax.subjects).toBeLessThanOrEqual(11_018 / 4097);
    // Markdown says the same.
    const md = await runCli(['summary', big, '--approx', '-q', '-o', 'markdown']);
    expect(md.stdout).toContain('(HyperLogLog estimate, ± one standard error)');
  });
});

describe('investigate --group-by --approx', () => {
  it('on small data prints what the exact group-by prints, in every format but CSV/JSON lines (whose columns are ranges)', async () => {
    for (const format of ['table', 'markdown']) {
      const exact = await runCli(['investigate', file, '--group-by', 'user,namespace', '-o', format, '-q']);
      const approx = await runCli(['investigate', file, '--group-by', 'user,namespace', '-o', format, '-q', '--approx']);
      expect(approx.stdout).toBe(exact.stdout);
    }
    const csv = await runCli(['investigate', file, '--group-by', 'user', '-o', 'csv', '-q', '--approx']);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('subject,requests_min,requests_max,denied_min,denied_max,first,last');
    expect(lines[1]).toMatch(/^user-0,200,200,40,40,2026-03-02T10:00:00\.000000Z,/);
    expect(lines.length).toBe(1 + 1020);
  });

  it('past the exact range: requests and denied ranges hold the true counts, merged states too', async () => {
    const { records } = await collect([file]);
    const truth = exactCounts(records, (r) => r.subject);
    const denied = exactCounts(records.filter((r) => r.decision === 'forbid'), (r) => r.subject);
    for (const parts of [1, 3]) {
      const size = Math.ceil(records.length / parts);
      const states = Array.from({ length: parts }, (_, p) => {
        const s = groupBy.init({ fields: ['subject'], approx: true, counters: 32 });
        for (const r of records.slice(p * size, (p + 1) * size)) groupBy.add(s, r);
        return s;
      });
      const rep = groupBy.finish(states.slice(1).reduce((a, b) => groupBy.merge(a, b), states[0]!), { input: acc });
      const rows = rep.groups as readonly ApproxGroupRow[];
      expect(rows.length).toBeLessThanOrEqual(64);
      expect(rep.approximate!.top.unlistedMax).toBeGreaterThan(0);
      for (const g of rows) {
        const f = truth.get(g.key.subject!)!;
        const d = denied.get(g.key.subject!) ?? 0;
        expect([g.count.lower <= f, f <= g.count.upper, g.denied.lower <= d, d <= g.denied.upper]).toEqual([true, true, true, true]);
      }
      expect(rows[0]!.key.subject).toBe('user-0');
      expect(rep.distinct).toEqual({ estimate: truth.size, relativeStandardError: 0 });
    }
  });

  it('past the exact range the table states the bounds: ranges, the estimated number of groups, the unlisted maximum', async () => {
    const r = await runCli(['investigate', big, '--group-by', 'user', '-q', '--approx']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/≈\d+ \(±0\.81%\) groups \(HyperLogLog estimate, ± one standard error\), 11018 requests\. The 1000 with the most requests are shown\./);
    expect(r.stdout).toMatch(/a group not listed has at most \d+ requests?\./);
    expect(r.stdout).toMatch(/more rows not shown; -o json has them all\./);
    const json = JSON.parse((await runCli(['investigate', big, '--group-by', 'user', '-q', '--approx', '-o', 'json'])).stdout) as { groups: ApproxGroupRow[]; distinct: { estimate: number; relativeStandardError: number } };
    expect(json.groups[0]!.key.subject).toBe('user-0');
    expect(json.groups[0]!.count.lower).toBeLessThanOrEqual(200);
    expect(json.groups[0]!.count.upper).toBeGreaterThanOrEqual(200);
    expect(json.groups.length).toBeLessThanOrEqual(8192);
    // One-off users that entered after a prune carry a range.
    expect(json.groups.some((g) => g.count.lower < g.count.upper)).toBe(true);
    expect(Math.abs(json.distinct.estimate - 10_120) / 10_120).toBeLessThanOrEqual(3 * json.distinct.relativeStandardError);
  });

  it('--approx without --group-by is a usage error that names the fix', async () => {
    const r = await runCli(['investigate', file, '--approx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--approx needs --group-by');
  });
});

describe('--approx states', () => {
  it('--save-state shards merge to the one-pass answer, and the option travels with the state', async () => {
    const states = tmpDir();
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['summary', file, '--approx', '--shard', `${i}/3`, '--save-state', join(states, `s${i}.json`), '-q']);
      expect(r.code).toBe(0);
    }
    const merged = await runCli(['merge', '--command', 'summary', states, '-o', 'json', '-q']);
    expect(merged.code).toBe(0);
    const one = await runCli(['summary', file, '--approx', '-o', 'json', '-q']);
    const a = JSON.parse(merged.stdout) as SummaryReport;
    const b = JSON.parse(one.stdout) as SummaryReport;
    expect(a.approximate).toBeDefined();
    expect({ ...a, input: null }).toEqual({ ...b, input: null });
  });
});

describe('temporary files', () => {
  const saved = process.env.KAUDIT_TMPDIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.KAUDIT_TMPDIR;
    else process.env.KAUDIT_TMPDIR = saved;
    setBudget(null);
    cleanupSpillDir();
  });

  it('--approx writes none, whatever the budget; the exact count spills past it', async () => {
    for (const args of [['summary', big, '--jobs', '1'], ['investigate', big, '--group-by', 'user']]) {
      cleanupSpillDir();
      resetLedger();
      const r = await runCli([...args, '--approx', '--memory', '1k', '-q', '-o', 'json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(currentSpillDir()).toBeNull();
      expect(spillCount()).toBe(0);
      const exact = await runCli([...args, '--memory', '1k', '-q', '-o', 'json']);
      expect(exact.code).toBe(0);
      expect(spillCount()).toBeGreaterThan(0);
    }
  });

  it('a temporary folder that cannot take spill files is an exit 2 that names it and the fixes, not an internal error', async () => {
    const missing = join(tmpDir(), 'missing', 'folder');
    process.env.KAUDIT_TMPDIR = missing;
    cleanupSpillDir();
    const r = await runCli(['summary', big, '--memory', '1k', '--jobs', '1', '-q', '-o', 'json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`must spill to temporary files, but ${missing} cannot take them: it does not exist (ENOENT)`);
    expect(r.stderr).toContain('set KAUDIT_TMPDIR');
    expect(r.stderr).not.toContain('internal error');
    // --approx needs no folder (the failed run's structures are forgotten, as at a new process).
    cleanupSpillDir();
    resetLedger();
    const approx = await runCli(['summary', big, '--approx', '--memory', '1k', '--jobs', '1', '-q', '-o', 'json']);
    expect(approx.stderr).toBe('');
    expect(approx.code).toBe(0);
    // In worker threads too (which otherwise get the main thread's spill folder).
    process.env.KAUDIT_MIN_RANGE_BYTES = '65536';
    try {
      cleanupSpillDir();
      resetLedger();
      const workers = await runCli(['summary', big, '--approx', '--jobs', '2', '-q', '-o', 'json']);
      expect(workers.stderr).toBe('');
      expect(workers.code).toBe(0);
      expect(currentSpillDir()).toBeNull();
      // And the exact run in worker threads says what is wrong before reading.
      const exact = await runCli(['summary', big, '--jobs', '2', '-q', '-o', 'json']);
      expect(exact.code).toBe(2);
      expect(exact.stderr).toContain('cannot take them: it does not exist (ENOENT)');
    } finally {
      delete process.env.KAUDIT_MIN_RANGE_BYTES;
    }
  });
});
