// `investigate --group-by` with more groups than the budget holds (issue 15): the exact groups are
// counted in a spilling map and ordered by an external sort (JSON, JSON lines, CSV, YAML) or a
// top-N selection (tables and Markdown show VIEW_ROWS of them and count the rest). With a --memory
// small enough to force spills, every format writes exactly the bytes of an unbounded run, and no
// spill file is left behind.
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import fc from 'fast-check';
import { event, jsonl, runCli, tmpDir, writeFiles } from '../helpers.js';
import { resetLedger, spillCount } from '../../src/scale/ledger.js';
import { setBudget } from '../../src/scale/budget.js';
import { leftovers } from './spillkit.js';
import { VIEW_ROWS } from '../../src/scale/lazy.js';
import { GROUP_CODEC, GROUP_ITEM_CODEC, groupBy, topGroups, type GroupAgg, type GroupItem, type GroupRow } from '../../src/analyses/investigate/index.js';
import { tupleKey, untupleKey } from '../../src/util/key.js';
import type { AuditRecord } from '../../src/types.js';

afterEach(() => setBudget(null));

/** Distinct users: more than a table shows (VIEW_ROWS), with counts from 1 to 5 so that many tie. */
const USERS = 1300;

/**
 * Each user makes 1 + (u mod 5) requests, some denied, spread over two days so that a user's
 * counts are split across spilled runs; a few user names hold a NUL or a tab (a group key that is a
 * JSON array, and CSV quoting), one is empty.
 */
function log(): string {
  const events: Record<string, unknown>[] = [];
  let i = 0;
  const name = (u: number): string => (u % 97 === 5 ? `nul\u0000user-${u}` : u % 89 === 3 ? `tab\tuser-${u}` : u === 7 ? '' : `user-${String(u).padStart(5, '0')}@example.com`);
  for (const day of ['2026-03-02', '2026-03-03']) {
    for (let u = 0; u < USERS; u++) {
      const n = 1 + (u % 5);
      const k0 = day === '2026-03-02' ? 0 : Math.ceil(n / 2);
      const k1 = day === '2026-03-02' ? Math.ceil(n / 2) : n;
      for (let k = k0; k < k1; k++) {
        const t = `${day}T${String(10 + (u % 8)).padStart(2, '0')}:${String(u % 60).padStart(2, '0')}:${String(k).padStart(2, '0')}.000000Z`;
        const denied = (u + k) % 7 === 0;
        events.push(
          event({
            auditID: `id-${i++}`,
            user: { username: name(u), groups: ['system:authenticated'] },
            verb: k % 2 ? 'get' : 'list',
            requestReceivedTimestamp: t,
            stageTimestamp: t,
            ...(denied ? { responseStatus: { metadata: {}, code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' } } : {}),
          }),
        );
      }
    }
  }
  return jsonl(events);
}

describe('investigate --group-by with more groups than the budget holds', () => {
  const dir = writeFiles(tmpDir(), { 'audit.log': log() });
  const file = join(dir, 'audit.log');

  it.each([
    ['table', 'user'],
    ['wide', 'user'],
    ['markdown', 'user'],
    ['json', 'user'],
    ['jsonl', 'user'],
    ['csv', 'user'],
    ['yaml', 'user'],
    ['table', 'user,verb'],
    ['json', 'user,verb'],
    ['csv', 'user,verb'],
  ])('-o %s --group-by %s: --memory 8k spills and writes the same bytes (stdout and stderr), and leaves no spill file', async (format, fields) => {
    resetLedger();
    const plain = await runCli(['investigate', file, '--group-by', fields, '-o', format]);
    expect(plain.code).toBe(0);
    expect(spillCount()).toBe(0);
    const spilled = await runCli(['investigate', file, '--group-by', fields, '-o', format, '--memory', '8k']);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.code).toBe(0);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(spilled.stderr).toBe(plain.stderr);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it('tables show the VIEW_ROWS groups with the most requests, in the JSON order, and count exactly the rest', async () => {
    const json = JSON.parse((await runCli(['investigate', file, '--group-by', 'user', '-o', 'json', '-q'])).stdout) as { groups: GroupRow[] };
    expect(json.groups.length).toBe(USERS);
    const md = (await runCli(['investigate', file, '--group-by', 'user', '-o', 'markdown', '-q', '--memory', '8k'])).stdout;
    // One Markdown row per shown group, in the JSON's order (the most requests first, ties by value).
    const rows = md.split('\n').filter((l) => /^\| .* \| \d+ \| \d+ \|/.test(l));
    expect(rows.length).toBe(VIEW_ROWS);
    const counts = rows.map((l) => Number(l.split(' | ').at(-4)));
    expect(counts).toEqual(json.groups.slice(0, VIEW_ROWS).map((g) => g.count));
    expect(md).toContain(`${USERS} groups`);
    expect(md).toContain(`${USERS - VIEW_ROWS} more`);
  }, 60_000);
});

describe('topGroups', () => {
  const rec = (subject: string, verb: string, time: string, decision = 'allow'): AuditRecord =>
    ({ subject, verb, time, timeMs: Date.parse(time), decision }) as unknown as AuditRecord;

  it('is exactly the first n groups of finish(), ties and all, with the exact number of groups (differential, property)', () => {
    const value = fc.constantFrom('a', 'b', 'c', '', 'a\u0000b', 'd\te', 'é', 'Z');
    fc.assert(
      fc.property(
        fc.array(fc.record({ s: value, v: value, sec: fc.integer({ min: 0, max: 59 }), d: fc.boolean() }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        (items, n, spill) => {
          setBudget(spill ? 1024 : null);
          resetLedger();
          const records = items.map((x) => rec(x.s, x.v, `2026-03-02T10:00:${String(x.sec).padStart(2, '0')}.000Z`, x.d ? 'forbid' : 'allow'));
          const a = groupBy.init({ fields: ['subject', 'verb'] });
          const b = groupBy.init({ fields: ['subject', 'verb'] });
          for (const r of records) {
            groupBy.add(a, r);
            groupBy.add(b, r);
          }
          const all = [...groupBy.finish(a, { input: {} as never }).groups] as GroupRow[];
          const top = topGroups(b, { input: {} as never }, n);
          expect(top.total).toBe(all.length);
          expect(top.groups).toEqual(all.slice(0, n));
          setBudget(null);
        },
      ),
      { numRuns: 60, seed: 15 },
    );
    expect(leftovers()).toEqual([]);
  });
});

describe('untupleKey', () => {
  it('gives back the parts of any tupleKey (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (parts) => {
        expect(untupleKey(tupleKey(parts))).toEqual(parts);
      }),
      { numRuns: 200, seed: 7 },
    );
    expect(untupleKey(tupleKey(['']))).toEqual(['']);
    expect(untupleKey(tupleKey([]))).toEqual([]);
    expect(untupleKey(tupleKey(['a\u0000', 'b']))).toEqual(['a\u0000', 'b']);
  });
});

describe('the flat codecs of spilled groups (GROUP_CODEC, GROUP_ITEM_CODEC)', () => {
  const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('', '\u0000', '\ud800', '\n', '"', '\\', '__proto__', '$', '=', '[1]'));
  const ms = fc.oneof(fc.double(), fc.constantFrom(Infinity, -Infinity, -0, NaN, 0));

  it('decode(encode(entry)) is the entry, fields in GroupAgg order, on one line (property)', () => {
    fc.assert(
      fc.property(str, fc.nat(), fc.nat(), ms, str, ms, str, (key, count, denied, firstMs, first, lastMs, last) => {
        const entry: [string, GroupAgg] = [key, { count, denied, firstMs, first, lastMs, last }];
        const line = GROUP_CODEC.encode(entry);
        expect(line).not.toMatch(/[\n\r]/);
        const back = GROUP_CODEC.decode(line);
        expect(back).toStrictEqual(entry);
        expect(Object.keys(back[1])).toEqual(['count', 'denied', 'firstMs', 'first', 'lastMs', 'last']);
      }),
      { numRuns: 500, seed: 19 },
    );
  });

  it('decode(encode(item)) is the item, with or without its values (property)', () => {
    fc.assert(
      fc.property(str, fc.option(fc.array(str, { maxLength: 4 }), { nil: undefined }), fc.nat(), fc.nat(), str, str, (j, v, count, denied, first, last) => {
        const item: GroupItem = v === undefined ? { j, count, denied, first, last } : { j, v, count, denied, first, last };
        const line = GROUP_ITEM_CODEC.encode(item);
        expect(line).not.toMatch(/[\n\r]/);
        expect(GROUP_ITEM_CODEC.decode(line)).toStrictEqual(item);
      }),
      { numRuns: 500, seed: 20 },
    );
  });
});
