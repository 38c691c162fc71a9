// Streamed outputs are the bytes of the one-string renderers (differential tests), and a spilled
// run gives the bytes of an in-memory one.
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { LazyList, STREAM_ITEMS, stringSink, writeJson, writeYaml } from '../../src/render/stream.js';
import { yamlDumper, renderYaml } from '../../src/render/sanitize.js';
import { setBudget } from '../../src/scale/budget.js';
import { spillCount, resetLedger } from '../../src/scale/ledger.js';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';

afterEach(() => setBudget(null));

const json = fc.jsonValue();
const report = fc.record({
  kind: fc.string(),
  n: fc.integer(),
  list: fc.array(fc.oneof(json, fc.dictionary(fc.string(), json, { maxKeys: 5 })), { maxLength: 6 }),
  nested: fc.dictionary(fc.string(), fc.array(json, { maxLength: 4 }), { maxKeys: 4 }),
  empty: fc.constantFrom([], {}),
});

describe('writeJson', () => {
  it('writes the bytes of JSON.stringify(v, null, 2) + newline (property)', () => {
    fc.assert(
      fc.property(fc.oneof(json, report), (v) => {
        const sink = stringSink();
        writeJson(sink, v);
        expect(sink.text()).toBe(JSON.stringify(v, null, 2) + '\n');
      }),
      { numRuns: 500 },
    );
  });

  it('writes items deep in a report as JSON.stringify places them (property: nesting, toJSON, __proto__ keys, escapes)', () => {
    const leaf = fc.oneof(json, fc.constant(new Date(0)), fc.constant({ toJSON: () => ({ a: [1, { b: '\n' }] }) }), fc.constant(JSON.parse('{"__proto__":{"x":1},"y":[]}') as unknown));
    const deep = fc.letrec((tie) => ({ node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(fc.string(), tie('node'), { maxKeys: 3 })) })).node;
    fc.assert(
      fc.property(fc.array(fc.array(fc.array(deep, { maxLength: 3 }), { maxLength: 3 }), { maxLength: 3 }), (v) => {
        const sink = stringSink();
        writeJson(sink, { a: { b: v } });
        expect(sink.text()).toBe(JSON.stringify({ a: { b: v } }, null, 2) + '\n');
      }),
      { numRuns: 300 },
    );
  });

  it('streams a LazyList as the array it stands for, item by item', () => {
    fc.assert(
      fc.property(report, (v) => {
        const lazy = { ...v, list: new LazyList(v.list.length, () => v.list) };
        const sink = stringSink();
        writeJson(sink, lazy);
        expect(sink.text()).toBe(JSON.stringify(v, null, 2) + '\n');
      }),
      { numRuns: 300 },
    );
  });

  it('writes a long array item by item at any depth: never one string as large as the list (issue 15)', () => {
    // A check's evidence of many subject names, deeper than the levels streamed by depth.
    const names = Array.from({ length: 20 * STREAM_ITEMS }, (_, i) => `User user-${i}@example.com`);
    const short = Array.from({ length: STREAM_ITEMS }, (_, i) => i);
    const v = { checks: [{ id: 'KC-11', evidence: { subjects: names, rules: [{ a: short }], ids: ['x'] } }] };
    const pieces: string[] = [];
    writeJson({ write: (s) => void pieces.push(s) }, v);
    expect(pieces.join('')).toBe(JSON.stringify(v, null, 2) + '\n');
    // The longest piece is one short array inlined (STREAM_ITEMS numbers), never the list of names.
    const longest = Math.max(...pieces.map((p) => p.length));
    expect(longest).toBeLessThan(8 * 1024);
    expect(longest).toBeLessThan(JSON.stringify(names).length / 10);
  });

  it('writes an item of a list whole when it holds no LazyList, and member by member when it does (never materialising the LazyList)', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ name: `u-${i}`, score: i % 7 ? i : null, tags: ['a', i], sub: { kind: 'User' } }));
    const names = Array.from({ length: 40 }, (_, i) => `s-${i}`);
    const lazy = new LazyList(names.length, () => names);
    (lazy as unknown as { toJSON(): unknown }).toJSON = () => {
      throw new Error('materialised');
    };
    const v = { subjects: rows, checks: [{ id: 'KC-11', evidence: { subjects: lazy, rules: [] } }] };
    const pieces: string[] = [];
    writeJson({ write: (x) => void pieces.push(x) }, v);
    expect(pieces.join('')).toBe(JSON.stringify({ ...v, checks: [{ id: 'KC-11', evidence: { subjects: names, rules: [] } }] }, null, 2) + '\n');
    // One piece per row (plus the separators), not one per member.
    expect(pieces.filter((p) => p.includes('"name"')).length).toBe(rows.length);
    expect(pieces.some((p) => p.includes('"name"') && p.includes('"sub"'))).toBe(true);
  });

  it('writes undefined members and values JSON has no form for as JSON.stringify does', () => {
    const v = { a: undefined, b: [undefined, () => 1, NaN, Infinity], c: new Map([[1, 2]]), d: { toJSON: () => 'x' } };
    const sink = stringSink();
    writeJson(sink, v);
    expect(sink.text()).toBe(JSON.stringify(v, null, 2) + '\n');
  });
});

describe('writeYaml', () => {
  it('writes the bytes of one dump of the materialised report (property)', async () => {
    const dump = await yamlDumper();
    fc.assert(
      fc.property(report, (v) => {
        const sink = stringSink();
        writeYaml(sink, { ...v, list: new LazyList(v.list.length, () => v.list) }, dump);
        expect(sink.text()).toBe(dump(v));
        expect(yaml.load(sink.text())).toEqual(yaml.load(dump(v)));
      }),
      { numRuns: 300 },
    );
  });

  it('investigate -o yaml streams records with the bytes of the whole-array dump', async () => {
    const r = await runCli(['investigate', 'fixtures/mini/mini.jsonl', '-o', 'yaml', '-q']);
    const j = JSON.parse((await runCli(['investigate', 'fixtures/mini/mini.jsonl', '-o', 'json', '-q'])).stdout);
    expect(r.stdout).toBe(await renderYaml(j));
    const none = await runCli(['investigate', 'fixtures/mini/mini.jsonl', '--user', 'nobody', '-o', 'yaml', '-q']);
    expect(none.stdout).toBe('[]\n');
  });
});

/** Runs investigate on `log` with `flags` unbounded (no spill) and at --memory 1k (spills): the same stdout. Returns the unbounded run. */
async function sameSpilled(log: string, flags: string[]): Promise<Awaited<ReturnType<typeof runCli>>> {
  resetLedger();
  const plain = await runCli(['investigate', log, '-q', ...flags]);
  expect(plain.code).toBe(0);
  expect(spillCount()).toBe(0);
  const spilled = await runCli(['investigate', log, '-q', '--memory', '1k', ...flags]);
  expect(spillCount()).toBeGreaterThan(0);
  expect(spilled.stdout).toBe(plain.stdout);
  return plain;
}

describe('--sort time on a log that is mostly in time order already (the in-order run, issue 15)', () => {
  // Ascending times with ties (two requests per second) and every 17th request late by a minute:
  // most records join the in-order run as they come, the late ones are sorted into runs of their own.
  const events = [];
  for (let i = 0; i < 800; i++) {
    const s = Math.floor(i / 2) - (i % 17 === 0 ? 60 : 0);
    const t = new Date(Date.parse('2026-03-02T10:00:00Z') + Math.max(0, s) * 1000).toISOString();
    events.push(event({ auditID: `b-${(i * 7) % 800}`, user: { username: `user-${i % 31}` }, verb: 'get', objectRef: { resource: 'pods', namespace: 'ns', name: `pod-${i}`, apiVersion: 'v1' }, requestReceivedTimestamp: t, stageTimestamp: t }));
  }
  const dir = writeFiles(tmpDir(), { 'audit.log': jsonl(events) });
  const log = join(dir, 'audit.log');

  it.each([
    ['--sort time -o jsonl', ['--sort', 'time', '-o', 'jsonl']],
    ['--sort time -o csv', ['--sort', 'time', '-o', 'csv']],
    ['--sort time -o yaml', ['--sort', 'time', '-o', 'yaml']],
    ['--sort=-time -o json', ['--sort=-time', '-o', 'json']],
  ])('investigate %s gives the same bytes spilled and not', async (_n, flags) => {
    const plain = await sameSpilled(log, flags);
    if (flags[1] === 'time') {
      const times = plain.stdout.split('\n').filter((l) => l.includes('2026-')).map((l) => /2026-[0-9T:.\-]+Z/.exec(l)![0]);
      expect(times.length).toBe(800);
      expect([...times].sort()).toEqual(times);
    }
  });
});

describe('a tiny --memory spills and gives the same bytes (differential)', () => {
  const events = [];
  for (let i = 0; i < 600; i++) {
    const t = new Date(Date.parse('2026-03-02T10:00:00Z') + ((i * 7919) % 600) * 1000).toISOString();
    events.push(event({ auditID: `a-${i}`, user: { username: `user-${i % 97}`, groups: ['system:authenticated'] }, verb: ['get', 'list', 'delete'][i % 3], objectRef: { resource: 'pods', namespace: `ns-${i % 13}`, name: `pod-${i}`, apiVersion: 'v1' }, requestReceivedTimestamp: t, stageTimestamp: t }));
  }
  const dir = writeFiles(tmpDir(), { 'audit.log': jsonl(events) });
  const log = join(dir, 'audit.log');

  it.each([
    ['--sort time -o jsonl', ['--sort', 'time', '-o', 'jsonl']],
    ['--sort=-name -o csv', ['--sort=-name', '-o', 'csv']],
    ['--sort user -o yaml', ['--sort', 'user', '-o', 'yaml']],
    ['--sort namespace --limit 7 -o json', ['--sort', 'namespace', '--limit', '7', '-o', 'json']],
    ['--sort time (table)', ['--sort', 'time']],
    ['--group-by user -o json', ['--group-by', 'user', '-o', 'json']],
    ['--group-by user,namespace -o csv', ['--group-by', 'user,namespace', '-o', 'csv']],
    ['--group-by verb,name -o jsonl', ['--group-by', 'verb,name', '-o', 'jsonl']],
    ['--group-by user -o yaml', ['--group-by', 'user', '-o', 'yaml']],
    ['--group-by user,namespace (table)', ['--group-by', 'user,namespace']],
  ])('investigate %s', async (_n, flags) => {
    await sameSpilled(log, flags);
  });

  it('sorts stably and exactly (ties by time, then auditID, then arrival)', async () => {
    const r = await runCli(['investigate', log, '-q', '--memory', '1k', '--sort', 'namespace', '-o', 'jsonl', '--fields', 'namespace,time,auditID']);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBe(600);
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1];
      const b = rows[i];
      expect(a.namespace < b.namespace || (a.namespace === b.namespace && a.time <= b.time)).toBe(true);
    }
  });

  it('shows the first groups in a table with the exact number of the rest', async () => {
    const many = [];
    for (let i = 0; i < 1500; i++) many.push(event({ auditID: `u-${i}`, user: { username: `user-${String(i).padStart(4, '0')}`, groups: [] } }));
    const d = writeFiles(tmpDir(), { 'u.log': jsonl(many) });
    const r = await runCli(['investigate', join(d, 'u.log'), '--group-by', 'user', '-q', '-o', 'markdown']);
    // The view holds the first 1000 groups; the renderer's one cap line counts the rest exactly.
    expect(r.stdout).toContain('1500 groups, 1500 requests. The 1000 with the most requests are shown. 500 more rows not shown; -o json has them all.');
    expect(r.stdout.split('more rows not shown')).toHaveLength(2);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('| user-')).length).toBe(1000);
  });
});
