import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RecentKeys, stringHash } from '../../src/util/recentkeys.js';

/** The reference: the last `capacity` distinct keys, each in the slot it took (a new key takes the oldest key's slot). */
class Reference {
  private readonly slots = new Map<string, number>();
  private readonly ring: (string | undefined)[];
  private next = 0;
  constructor(capacity: number) {
    this.ring = new Array<string | undefined>(capacity).fill(undefined);
  }
  slot(k: string): number {
    return this.slots.get(k) ?? -1;
  }
  add(k: string): number {
    const s = this.next;
    const old = this.ring[s];
    if (old !== undefined) this.slots.delete(old);
    this.ring[s] = k;
    this.slots.set(k, s);
    this.next = (s + 1) % this.ring.length;
    return s;
  }
  get size(): number {
    return this.slots.size;
  }
}

/** Hash functions that crowd keys into few table positions (long probe runs, wrap-around at the table's end, deletions inside runs). */
const HASHES: Record<string, (k: string) => number> = {
  seeded: stringHash,
  constant: () => 7,
  threeHomes: (k) => k.length % 3,
  // Homes at the table's last positions (a table of 64 for up to 40 keys): runs wrap to position 0.
  tableEnd: (k) => 60 + (k.length % 4),
  negative: (k) => -1 - ((k.charCodeAt(0) || 0) % 5),
};

describe('RecentKeys', () => {
  it('answers as a first-in-first-out window of distinct keys does, slot for slot, whatever the hash', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(...Object.keys(HASHES)),
        // Few distinct keys (many repeats), empty keys, and keys that differ only past a shared prefix.
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 3 }),
            fc.integer({ min: 0, max: 60 }).map((n) => `audit-${n}`),
            fc.constantFrom('', 'a', 'ab', '\u00e9', '\ud83d\ude00', 'id-\u0100', 'id-\u0101'),
            // Keys at and past the arena's 48 characters, and ones whose character past U+00FF comes late.
            fc.integer({ min: 46, max: 50 }).map((n) => 'k'.repeat(n)),
            fc.integer({ min: 0, max: 47 }).map((n) => `${'k'.repeat(n)}\u0100`),
          ),
          { maxLength: 400 },
        ),
        (capacity, hashName, keys) => {
          const hash = HASHES[hashName]!;
          const w = new RecentKeys(capacity);
          const ref = new Reference(capacity);
          for (const k of keys) {
            const h = hash(k);
            const s = w.slot(k, h);
            expect(s).toBe(ref.slot(k));
            if (s < 0) expect(w.add(k, h)).toBe(ref.add(k));
            expect(w.size).toBe(ref.size);
          }
          // Every key seen, and some never seen, after the last eviction.
          for (const k of [...keys, 'never', 'audit-61']) expect(w.slot(k, hash(k))).toBe(ref.slot(k));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('compares keys exactly: equal hashes never make two keys one', () => {
    const w = new RecentKeys(4);
    expect(w.add('a', 1)).toBe(0);
    expect(w.slot('b', 1)).toBe(-1);
    expect(w.add('b', 1)).toBe(1);
    expect([w.slot('a', 1), w.slot('b', 1)]).toEqual([0, 1]);
  });

  it('keeps a window of a hundred thousand fresh keys bounded: old keys are forgotten, new ones found', () => {
    const w = new RecentKeys(1000);
    let found = 0;
    for (let i = 0; i < 100_000; i++) {
      const k = `id-${i}`;
      if (w.slot(k) >= 0) found++;
      else w.add(k);
    }
    expect(found).toBe(0);
    expect(w.size).toBe(1000);
    expect(w.slot('id-98999')).toBe(-1);
    expect(w.slot('id-99000')).toBeGreaterThanOrEqual(0);
    expect(w.slot('id-99999')).toBeGreaterThanOrEqual(0);
  });
});
