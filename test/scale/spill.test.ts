// The spill machinery: the codec, run files, the external sort and the spilling map. No timing:
// what is asserted is order, stability, equality with the in-memory answer, and clean-up.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { decodeLine, encodeLine } from '../../src/scale/codec.js';
import { RunReader, RunWriter } from '../../src/scale/runs.js';
import { ExternalSorter } from '../../src/scale/extsort.js';
import { FAN_IN } from '../../src/scale/merge.js';
import { absorb, drain, grow, newSpillMap, type SpillSpec } from '../../src/scale/spillmap.js';
import { setBudget, parseSize, MIN_BUDGET } from '../../src/scale/budget.js';
import { keepable, resetLedger, settle, spillCount } from '../../src/scale/ledger.js';
import { currentSpillDir } from '../../src/scale/tempdir.js';
import { tmpDir } from '../helpers.js';
import { releaseLists } from '../../src/scale/spilled.js';
import { isolateSpills, leftovers } from './spillkit.js';

isolateSpills();

describe('codec', () => {
  it('round-trips Maps, Sets, non-finite numbers, -0 and objects with a "$" or __proto__ key', () => {
    const v = {
      m: new Map<string, unknown>([['a', 1], ['$', new Set(['x', 'y'])]]),
      n: [NaN, Infinity, -Infinity, -0, 0, 1.5],
      o: { $: 'M', v: [1, 2] },
      u: [undefined, null],
      s: 'line\nbreak \u2028 \u0000',
    };
    const p = JSON.parse('{"__proto__": {"a": 1}, "k": 2}');
    const back = decodeLine(encodeLine(v)) as typeof v;
    expect(back).toEqual(v);
    expect(Object.is(back.n[3], -0)).toBe(true);
    expect(encodeLine(v)).not.toContain('\n');
    const pb = decodeLine(encodeLine(p)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(pb)).toBe(Object.prototype);
    expect(Object.keys(pb)).toEqual(['__proto__', 'k']);
  });

  it('refuses class instances it cannot carry', () => {
    expect(() => encodeLine({ d: new Date(0) })).toThrow(/instance of Date/);
    expect(() => encodeLine({ f: () => 1 })).toThrow(/cannot spill a function/);
  });

  it('round-trips arbitrary JSON-like data with Maps and Sets (property)', () => {
    const leaf = fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }), fc.array(fc.tuple(fc.string(), tie('node')), { maxLength: 4 }).map((e) => new Map(e)), fc.array(fc.string(), { maxLength: 4 }).map((e) => new Set(e))),
    })).node;
    fc.assert(
      fc.property(tree, (v) => {
        expect(decodeLine(encodeLine(v))).toEqual(v);
      }),
      { numRuns: 300 },
    );
  });
});

describe('codec: plain JSON data is written as it is', () => {
  /** Keys in order, recursively, with -0 and NaN told apart. */
  const shape = (v: unknown): unknown => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v) : Array.isArray(v) ? v.map(shape) : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => [k, shape(x)]) : v);

  const dropUndefined = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(dropUndefined);
    if (!v || typeof v !== 'object') return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) Object.defineProperty(o, k, { value: dropUndefined(x), enumerable: true, writable: true, configurable: true });
    return o;
  };
  const isPlain = (v: unknown): boolean =>
    typeof v === 'string' || typeof v === 'boolean' || v === null || (typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0)) ||
    (Array.isArray(v) && v.every((x) => x !== undefined && isPlain(x))) ||
    (!!v && typeof v === 'object' && !Array.isArray(v) && Object.entries(v).every(([k, x]) => k !== '$' && k !== '__proto__' && (x === undefined || isPlain(x))));

  it('takes the untagged path (a leading "=") exactly for values JSON.stringify writes faithfully, and both read back equal, key order included (property)', () => {
    const leaf = fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constantFrom(-0, NaN, Infinity));
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('$', '__proto__', '=', 'toJSON'));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }).map((e) => {
        const o: Record<string, unknown> = {};
        for (const [k, x] of e) Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
        return o;
      })),
    })).node;
    fc.assert(
      fc.property(tree, (v) => {
        const line = encodeLine(v);
        expect(line).not.toContain('\n');
        // The value back, but for object members that were undefined (left out, as JSON does).
        expect(shape(decodeLine(line))).toEqual(shape(dropUndefined(v)));
        // The untagged path is taken for plain JSON data, and only for it.
        expect(line.startsWith('=')).toBe(isPlain(v));
      }),
      { numRuns: 500 },
    );
  });

  it('tags what plain JSON would change: -0, NaN, ±Infinity, undefined in an array, a hole, "$" and __proto__ keys, a null-prototype object', () => {
    const hole = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const bare = Object.create(null) as Record<string, unknown>;
    bare.a = 1;
    for (const v of [[-0], [NaN], { x: Infinity }, [undefined], hole, { $: 1 }, JSON.parse('{"__proto__": 1}'), bare]) {
      const line = encodeLine(v);
      expect(line.startsWith('=')).toBe(false);
      expect(shape(decodeLine(line))).toEqual(shape(v));
    }
    expect(decodeLine(encodeLine(hole))).toEqual([1, undefined, 3]);
    expect(encodeLine({ a: [1, 'x', null, true], b: { c: 'd' }, u: undefined })).toBe('={"a":[1,"x",null,true],"b":{"c":"d"}}');
    expect(decodeLine(encodeLine('=x'))).toBe('=x');
  });
});

describe('run files', () => {
  it('reads back every line, also lines longer than the read buffer', () => {
    const long = 'x'.repeat(600_000);
    const w = new RunWriter('t');
    const lines = ['a', '', long, 'é€😀', long + 'y'];
    for (const l of lines) w.line(l);
    const path = w.close();
    const r = new RunReader(path);
    const got: string[] = [];
    for (let l = r.next(); l !== null; l = r.next()) got.push(l);
    expect(got).toEqual(lines);
  });

  // RunWriter encodes each line straight into its buffer (Buffer.write): the file holds exactly the
  // UTF-8 of the lines joined by newlines, as when they were joined into one string, whatever falls
  // on the buffer's edge (a line of 3-byte characters, a surrogate pair, a lone surrogate, a line
  // longer than the buffer, which goes on its own).
  it('writes the UTF-8 bytes of the lines joined by newlines, across buffer edges (property)', () => {
    const piece = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom('\ud800', '\udfff', '😀', '€'.repeat(1000), 'x'.repeat(1 << 19), '€'.repeat(400_000), '\u0000', ''));
    fc.assert(
      fc.property(fc.array(fc.array(piece, { maxLength: 4 }).map((a) => a.join('')), { maxLength: 12 }), fc.nat({ max: 400 }), (lines, fill) => {
        const w = new RunWriter('t');
        // Lines that bring the buffer near its edge before the generated ones.
        const all = [...Array.from({ length: fill }, (_, i) => 'é'.repeat(1000 + i)), ...lines];
        for (const l of all) w.line(l);
        expect(w.count).toBe(all.length);
        const path = w.close();
        expect(readFileSync(path).equals(Buffer.from(all.length ? `${all.join('\n')}\n` : '', 'utf8'))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

interface Item {
  k: number;
  seq: number;
}
const byK = (a: Item, b: Item): number => a.k - b.k;

describe('external sort', () => {
  it('spills runs past the budget and merges them into the same order as an in-memory stable sort', () => {
    setBudget(MIN_BUDGET);
    const items: Item[] = [];
    let x = 7;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      items.push({ k: x % 50, seq: i });
    }
    const s = new ExternalSorter<Item>({ compare: byK, size: () => 100 });
    for (const it of items) s.add(it);
    expect(s.runCount).toBeGreaterThan(FAN_IN); // so the multi-pass merge runs too
    const got = [...s.sorted()];
    const want = [...items].sort(byK);
    expect(got).toEqual(want);
    // Stable: equal keys in arrival order.
    for (let i = 1; i < got.length; i++) if (got[i]!.k === got[i - 1]!.k) expect(got[i]!.seq).toBeGreaterThan(got[i - 1]!.seq);
    expect(leftovers()).toEqual([]);
  });

  it('keeps only the first N with keep, in bounded runs', () => {
    setBudget(MIN_BUDGET);
    const s = new ExternalSorter<Item>({ compare: (a, b) => b.k - a.k, size: () => 100, keep: 10 });
    for (let i = 0; i < 1000; i++) s.add({ k: (i * 7919) % 1000, seq: i });
    const got = [...s.sorted()];
    expect(got.map((i) => i.k)).toEqual([999, 998, 997, 996, 995, 994, 993, 992, 991, 990]);
    expect(leftovers()).toEqual([]);
  });

  it('gives the in-memory answer without spilling under the default budget', () => {
    const s = new ExternalSorter<Item>({ compare: byK, size: () => 100 });
    for (let i = 0; i < 100; i++) s.add({ k: 100 - i, seq: i });
    expect(s.runCount).toBe(0);
    expect([...s.sorted()].map((i) => i.k)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(currentSpillDir()).toBeNull();
  });

  it('removes its runs when reading the result fails or is abandoned', () => {
    setBudget(MIN_BUDGET);
    let fail = false;
    const s = new ExternalSorter<Item>({
      compare: (a, b) => {
        if (fail) throw new Error('boom');
        return a.k - b.k;
      },
      size: () => 100,
    });
    for (let i = 0; i < 500; i++) s.add({ k: i % 13, seq: i });
    expect(leftovers().length).toBeGreaterThan(0);
    fail = true;
    expect(() => [...s.sorted()]).toThrow('boom');
    expect(leftovers()).toEqual([]);

    const t = new ExternalSorter<Item>({ compare: byK, size: () => 100 });
    for (let i = 0; i < 500; i++) t.add({ k: i % 13, seq: i });
    for (const _ of t.sorted()) break;
    expect(leftovers()).toEqual([]);
  });

  /**
   * Runs, in a process of its own, an external sort that has spilled, then `ending` (script text);
   * returns the process's result and the spill folder it reported.
   */
  function spilledThen(ending: string): { r: SpawnSyncReturns<string>; spill: string; dir: string } {
    const dir = tmpDir();
    const script = join(dir, 'spilled.mjs');
    const src = new URL('../../dist/scale/extsort.js', import.meta.url).href;
    const budget = new URL('../../dist/scale/budget.js', import.meta.url).href;
    const tmp = new URL('../../dist/scale/tempdir.js', import.meta.url).href;
    writeFileSync(
      script,
      `import { ExternalSorter } from ${JSON.stringify(src)};
import { setBudget } from ${JSON.stringify(budget)};
import { currentSpillDir } from ${JSON.stringify(tmp)};
setBudget(1024);
const s = new ExternalSorter({ compare: (a, b) => a - b, size: () => 100 });
for (let i = 0; i < 1000; i++) s.add(i % 17);
process.stdout.write(currentSpillDir() + '\\n');
${ending}
`,
    );
    const r = spawnSync(process.execPath, [script], { env: { ...process.env, KAUDIT_TMPDIR: dir }, encoding: 'utf8' });
    return { r, spill: r.stdout.split('\n')[0]!, dir };
  }

  it('removes the spill folder when the process is interrupted (SIGINT) and still dies of the signal', () => {
    const { r, spill, dir } = spilledThen(`process.kill(process.pid, 'SIGINT');
setTimeout(() => { process.stdout.write('still alive\\n'); }, 2000);`);
    expect(spill.startsWith(join(dir, 'kaudit-'))).toBe(true);
    expect(r.signal).toBe('SIGINT');
    expect(r.stdout).not.toContain('still alive');
    expect(existsSync(spill)).toBe(false);
  });

  it('removes the spill folder when the process ends with an uncaught error', () => {
    const { r, spill, dir } = spilledThen(`throw new Error('failure in the middle');`);
    expect(spill.startsWith(join(dir, 'kaudit-'))).toBe(true);
    expect(r.status).not.toBe(0);
    expect(existsSync(spill)).toBe(false);
  });
});

describe('external sort of items that mostly come in order (inOrder)', () => {
  /** Items with few distinct keys, mostly ascending: runs up, random drops, repeated keys (ties). */
  const mostlySorted = fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: -3, max: 6 })), { maxLength: 400 }).map((steps) => {
    const items: Item[] = [];
    let k = 0;
    steps.forEach(([drop, step], seq) => {
      k = drop === 0 ? k - 20 : k + step;
      items.push({ k, seq });
    });
    return items;
  });
  const budgets = [null, 2048, MIN_BUDGET];

  it('gives the stable in-memory order with sorted() and keepSorted(), spilled or not, and leaves no file (property)', () => {
    fc.assert(
      fc.property(mostlySorted, fc.constantFrom(...budgets), fc.boolean(), fc.boolean(), (items, budget, keepList, holdInOrder) => {
        setBudget(budget);
        resetLedger();
        const s = new ExternalSorter<Item>({ compare: byK, size: () => 100, inOrder: true, holdInOrder });
        for (const it of items) s.add(it);
        const want = [...items].sort(byK);
        if (keepList) {
          const list = s.keepSorted();
          expect([...list]).toEqual(want);
          expect([...list]).toEqual(want);
          releaseLists(list);
        } else expect([...s.sorted()]).toEqual(want);
        expect(leftovers()).toEqual([]);
      }),
      { numRuns: 120 },
    );
  });

  it('writes an ascending sequence to one run as it comes, holding nothing, while out-of-order items are held and spilled as usual', () => {
    setBudget(MIN_BUDGET);
    const s = new ExternalSorter<Item>({ compare: byK, size: () => 1000, inOrder: true });
    for (let i = 0; i < 5000; i++) s.add({ k: i, seq: i });
    expect(s.held).toBe(0);
    expect(s.runCount).toBe(0); // the in-order run is not closed yet
    for (let i = 0; i < 3000; i++) s.add({ k: 4999 - i, seq: 5000 + i }); // ties and drops
    expect(s.runCount).toBeGreaterThan(0);
    const got = [...s.sorted()];
    const want = [...Array.from({ length: 5000 }, (_, i) => ({ k: i, seq: i })), ...Array.from({ length: 3000 }, (_, i) => ({ k: 4999 - i, seq: 5000 + i }))].sort(byK);
    expect(got).toEqual(want);
    expect(leftovers()).toEqual([]);
  });

  it('with holdInOrder, holds in-order items until the ledger spills, then writes them to the in-order run as they come', () => {
    // The default budget: 10,000 ascending items of 1 KB (more than a finished list may keep, less
    // than the budget) stay in memory.
    setBudget(null);
    resetLedger();
    expect(keepable(10_000_000)).toBe(false);
    const held = new ExternalSorter<Item>({ compare: byK, size: () => 1000, inOrder: true, holdInOrder: true });
    for (let i = 0; i < 10000; i++) held.add({ k: i, seq: i });
    expect(held.held).toBe(10_000_000);
    expect(leftovers()).toEqual([]);
    expect([...held.sorted()].map((x) => x.seq)).toEqual(Array.from({ length: 10000 }, (_, i) => i));
    // Without holdInOrder the same items go to a run once past the keepable share.
    const early = new ExternalSorter<Item>({ compare: byK, size: () => 1000, inOrder: true });
    for (let i = 0; i < 10000; i++) early.add({ k: i, seq: i });
    expect(leftovers().length).toBe(1);
    early.dispose();
    // A small budget: the ledger's spill opens the in-order run; later items go straight to it.
    setBudget(MIN_BUDGET);
    resetLedger();
    const tight = new ExternalSorter<Item>({ compare: byK, size: () => 1000, inOrder: true, holdInOrder: true });
    for (let i = 0; i < 20000; i++) tight.add({ k: i, seq: i });
    expect(leftovers().length).toBe(1);
    expect(tight.runCount).toBe(0); // the in-order run is open, not yet closed: no sorted run was written
    expect(tight.held).toBeLessThan(20_000_000);
    expect([...tight.sorted()].map((x) => x.seq)).toEqual(Array.from({ length: 20000 }, (_, i) => i));
    expect(leftovers()).toEqual([]);
  });

  it('stays in memory without a spill folder when small, and removes the in-order run when abandoned', () => {
    const small = new ExternalSorter<Item>({ compare: byK, size: () => 100, inOrder: true });
    for (let i = 0; i < 100; i++) small.add({ k: i % 60, seq: i });
    expect(Array.isArray(small.keepSorted())).toBe(true);
    expect(currentSpillDir()).toBeNull();
    setBudget(MIN_BUDGET);
    const big = new ExternalSorter<Item>({ compare: byK, size: () => 1000, inOrder: true });
    for (let i = 0; i < 3000; i++) big.add({ k: i, seq: i });
    expect(leftovers().length).toBe(1);
    for (const _ of big.sorted()) break;
    expect(leftovers()).toEqual([]);
    const dropped = new ExternalSorter<Item>({ compare: byK, size: () => 1000, inOrder: true });
    for (let i = 0; i < 3000; i++) dropped.add({ k: i, seq: i });
    dropped.dispose();
    expect(leftovers()).toEqual([]);
  });
});

describe('spilling map', () => {
  const spec: SpillSpec<{ n: number; first: number }> = {
    tag: 'test',
    merge: (a, b) => ({ n: a.n + b.n, first: a.first }),
    size: (k) => 100 + 2 * k.length,
  };
  function run(keys: string[]): [string, { n: number; first: number }][] {
    const s = newSpillMap<{ n: number; first: number }>();
    keys.forEach((k, i) => {
      const v = s.map.get(k);
      if (v) v.n++;
      else {
        s.map.set(k, { n: 1, first: i });
        grow(s, spec, spec.size(k, { n: 1, first: i }));
      }
      settle();
    });
    return [...drain(s, spec)];
  }

  it('gives exactly the unbounded answer when it spills (differential, property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'é', '\u0000', '$', '__proto__'), { maxLength: 400 }), (keys) => {
        setBudget(null);
        resetLedger();
        const want = run(keys);
        setBudget(MIN_BUDGET);
        resetLedger();
        const got = run(keys);
        expect(got).toEqual(want);
        expect(leftovers()).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('spills under a tiny budget, and the first-seen value of each key comes from the earliest partial', () => {
    setBudget(MIN_BUDGET);
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i % 40}`);
    const got = run(keys);
    expect(spillCount()).toBeGreaterThan(FAN_IN);
    expect(got.length).toBe(40);
    for (const [k, v] of got) {
      expect(v.n).toBe(75);
      expect(v.first).toBe(Number(k.slice(1)));
    }
    expect(got.map(([k]) => k)).toEqual([...new Set(keys)].sort());
  });

  it('absorbs another map (a later share) keeping arrival order across runs and memory', () => {
    setBudget(MIN_BUDGET);
    const a = newSpillMap<{ n: number; first: number }>();
    const b = newSpillMap<{ n: number; first: number }>();
    const put = (s: typeof a, k: string, i: number): void => {
      const v = s.map.get(k);
      if (v) v.n++;
      else {
        s.map.set(k, { n: 1, first: i });
        grow(s, spec, 100);
      }
      settle();
    };
    for (let i = 0; i < 200; i++) put(a, `k${i % 7}`, i);
    for (let i = 200; i < 400; i++) put(b, `k${i % 11}`, i);
    const got = new Map(drain(absorb(a, b, spec), spec));
    expect(got.get('k3')).toEqual({ n: 29 + 19, first: 3 });
    expect(got.get('k10')).toEqual({ n: 18, first: 208 });
    expect(leftovers()).toEqual([]);
  });
});

describe('budget', () => {
  it('parses sizes', () => {
    expect(parseSize('256M')).toBe(256 * 2 ** 20);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('2048')).toBe(2048);
    expect(parseSize('1MiB')).toBe(2 ** 20);
    expect(parseSize('lots')).toBeNaN();
  });
});
