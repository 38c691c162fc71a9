// Every recipe of docs/sql.md runs, unchanged, on DuckDB against Parquet written from the sample,
// and answers what audit investigate (audit summary for latency) answers for the same question.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir } from '../helpers.js';


/** DuckDB is an optional dependency: without it (npm ci --omit=optional) these tests are skipped. */
const hasDuckDB = await import('@duckdb/node-api' as string).then(
  () => true,
  () => false,
);

const root = join(__dirname, '..', '..');
const sample = join(root, 'fixtures', 'sample');
const doc = readFileSync(join(root, 'docs', 'sql.md'), 'utf8');
const recipes = new Map([...doc.matchAll(/<!-- recipe: ([a-z-]+) -->\n```sql\n([\s\S]*?)\n```/g)].map((m) => [m[1]!, m[2]!]));

type Row = Record<string, unknown>;
let dataset = '';

/** Epoch microseconds of an RFC 3339 time (exact, from the digits). */
function us(s: unknown): bigint {
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(String(s));
  if (!m) throw new Error(`not a time: ${String(s)}`);
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return BigInt(Date.parse(m[1]! + m[3]!)) * 1000n + BigInt(frac);
}

async function sql(id: string, input = dataset): Promise<Row[]> {
  const q = recipes.get(id);
  if (!q) throw new Error(`no recipe ${id} in docs/sql.md`);
  const r = await runCli(['sql', q, input, '-o', 'jsonl', '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
}

async function investigate(...args: string[]): Promise<Row[]> {
  const r = await runCli(['investigate', sample, ...args, '-o', 'jsonl', '-q']);
  expect(r.code).toBe(0);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
}

beforeAll(async () => {
  if (!hasDuckDB) return;
  dataset = join(tmpDir(), 'dataset');
  const r = await runCli(['export', sample, '-o', 'parquet', '--out', dataset, '-q']);
  expect(r.code).toBe(0);
});

const CHECKS: Record<string, () => Promise<void>> = {
  async 'who-deleted'() {
    const rows = await sql('who-deleted');
    const inv = await investigate('--verb', 'delete', '--resource', 'namespaces', '--name', 'production');
    expect(rows.length).toBeGreaterThan(0);
    const fields = ['subject', 'impersonator', 'sourceIP', 'userAgent', 'code', 'auditID'];
    const pick = (r: Row) => [us(r.time), ...fields.map((f) => r[f])];
    const expected = inv.map(pick).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : String(a[6]) < String(b[6]) ? -1 : 1));
    expect(rows.map(pick)).toEqual(expected);
  },
  async 'sa-activity'() {
    const rows = await sql('sa-activity');
    const inv = await investigate('--user', 'system:serviceaccount:ci:deployer', '--group-by', 'verb,resource,subresource,namespace');
    const key = (r: Row) => [r.verb, r.resource, r.subresource, r.namespace].join(' ');
    expect(rows.length).toBe(inv.length);
    const byKey = new Map(inv.map((r) => [key(r), r]));
    for (const r of rows) {
      const i = byKey.get(key(r));
      expect(i, key(r)).toBeDefined();
      expect([r.n, us(r.first_seen), us(r.last_seen)]).toEqual([i!.requests, us(i!.first), us(i!.last)]);
    }
  },
  async 'top-denied'() {
    const rows = await sql('top-denied');
    const inv = await investigate('--denied', '--group-by', 'user');
    const expected = inv
      .map((r) => ({ subject: r.subject, denied: r.requests, first: us(r.first), last: us(r.last) }))
      .sort((a, b) => (b.denied as number) - (a.denied as number) || (String(a.subject) < String(b.subject) ? -1 : 1))
      .slice(0, 10);
    expect(expected.length).toBeGreaterThan(1);
    expect(rows.map((r) => ({ subject: r.subject, denied: r.denied, first: us(r.first_seen), last: us(r.last_seen) }))).toEqual(expected);
  },
  async 'exec-sessions'() {
    const rows = await sql('exec-sessions');
    const inv = await investigate('--preset', 'exec', '--group-by', 'user,namespace,name,subresource');
    expect(rows.length).toBeGreaterThan(0);
    const norm = (subject: unknown, ns: unknown, pod: unknown, sub: unknown, n: unknown, first: unknown, last: unknown) => [subject, ns, pod, sub, n, us(first), us(last)].map(String).join(' ');
    expect(rows.map((r) => norm(r.subject, r.namespace, r.pod, r.subresource, r.sessions, r.first_seen, r.last_seen)).sort()).toEqual(inv.map((r) => norm(r.subject, r.namespace, r.name, r.subresource, r.requests, r.first, r.last)).sort());
  },
  async 'first-seen'() {
    const rows = await sql('first-seen');
    const inv = await investigate('--group-by', 'user,resource');
    const day = us('2026-03-03T00:00:00Z');
    const expected = inv.filter((r) => r.resource !== '' && us(r.first) >= day && us(r.first) < day + 86_400_000_000n).map((r) => `${String(r.subject)} ${String(r.resource)} ${us(r.first)} ${String(r.requests)}`);
    expect(expected.length).toBeGreaterThan(3);
    expect(rows.map((r) => `${String(r.subject)} ${String(r.resource)} ${us(r.first_seen)} ${String(r.n)}`).sort()).toEqual(expected.sort());
  },
  async 'access-methods'() {
    const rows = await sql('access-methods');
    const inv = await investigate('--group-by', 'method');
    const pairs = await investigate('--group-by', 'method,user');
    expect(rows.map((r) => [r.accessMethod, r.n])).toEqual(inv.map((r) => [r.accessMethod, r.requests]));
    for (const r of rows) expect(r.subjects, String(r.accessMethod)).toBe(pairs.filter((p) => p.accessMethod === r.accessMethod).length);
  },
  async 'latency-by-verb'() {
    const rows = await sql('latency-by-verb');
    const sum = await runCli(['summary', sample, '-o', 'json', '-q']);
    const byVerb = (JSON.parse(sum.stdout) as { latency: { byVerb: { verb: string; count: number; p50: number; p95: number; p99: number }[] } }).latency.byVerb;
    expect(rows.map((r) => [r.verb, r.n])).toEqual(byVerb.map((v) => [v.verb, v.count]));
    // The summary reads a histogram with 1% buckets, rounds values of 10 ms and more to whole ms,
    // and takes the nearest rank; DuckDB's quantile_disc may pick the neighbouring rank. Both must
    // name (almost) the same duration.
    const durations = new Map<string, number[]>();
    const recs = await runCli(['export', sample, '-o', 'jsonl', '-q']);
    for (const l of recs.stdout.trim().split('\n')) {
      const r = JSON.parse(l) as { verb: string; durationMs: number | null; subresource: string; requestURI: string };
      if (r.durationMs === null || r.verb === 'watch' || ['exec', 'attach', 'portforward', 'proxy'].includes(r.subresource) || (r.subresource === 'log' && r.requestURI.includes('follow=true'))) continue;
      durations.set(r.verb, [...(durations.get(r.verb) ?? []), r.durationMs]);
    }
    for (const r of rows) {
      const v = byVerb.find((x) => x.verb === r.verb)!;
      const sorted = durations.get(String(r.verb))!.sort((a, b) => a - b);
      for (const [p, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
        const rank = Math.max(1, Math.ceil(q * sorted.length)) - 1;
        const near = [sorted[rank - 1], sorted[rank], sorted[rank + 1]].filter((x): x is number => x !== undefined);
        expect(near, `${String(r.verb)} ${p}`).toContain(r[p]);
        const tol = (x: number) => x * 0.011 + (x >= 10 ? 0.5 : 0.005);
        expect(Math.abs(sorted[rank]! - v[p]), `${String(r.verb)} ${p}: summary ${v[p]} vs exact ${sorted[rank]}`).toBeLessThanOrEqual(tol(sorted[rank]!));
      }
    }
  },
};

describe.skipIf(!hasDuckDB)('docs/sql.md recipes', () => {
  it('every recipe has a check here, and every check a recipe', () => {
    expect([...recipes.keys()].sort()).toEqual(Object.keys(CHECKS).sort());
    expect(recipes.size).toBeGreaterThanOrEqual(7);
  });

  for (const id of Object.keys(CHECKS)) it(`${id}: DuckDB on Parquet agrees with kaudit`, CHECKS[id]!);

  it('each recipe gives the same answer over the logs as over the Parquet dataset', async () => {
    for (const id of recipes.keys()) expect(await sql(id, sample), id).toEqual(await sql(id));
  });
});
