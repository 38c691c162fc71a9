import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HashWindow } from '../../src/util/hashwindow.js';

/** The reference: the last `capacity` distinct values added, by a plain array. */
class Reference {
  private readonly order: number[] = [];
  constructor(private readonly capacity: number) {}
  has(v: number): boolean {
    return this.order.includes(v);
  }
  add(v: number): void {
    if (this.has(v)) return;
    if (this.order.length === this.capacity) this.order.shift();
    this.order.push(v);
  }
}

describe('HashWindow', () => {
  it('answers as a first-in-first-out window of distinct values does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        // Few distinct values (many repeats and collisions of slots), and full 52-bit ones.
        fc.array(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2 ** 52 - 1 }), fc.constantFrom(0, 16, 32, 48, 2 ** 32, 2 ** 32 + 16)), { maxLength: 400 }),
        (capacity, values) => {
          const w = new HashWindow(capacity);
          const ref = new Reference(capacity);
          for (const v of values) {
            expect(w.has(v)).toBe(ref.has(v));
            w.add(v);
            ref.add(v);
            expect(w.has(v)).toBe(true);
          }
          for (let v = 0; v <= 60; v++) expect(w.has(v)).toBe(ref.has(v));
          for (const v of values) expect(w.has(v)).toBe(ref.has(v));
        },
      ),
      { numRuns: 500 },
    );
  });
  it('as a map: each value carries the number it was last set with, and keeps its place when set again', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 16, 32, 2 ** 32, 2 ** 52 - 1)), fc.double({ noNaN: true })), { maxLength: 300 }),
        (capacity, pairs) => {
          const w = new HashWindow(capacity);
          const order: number[] = [];
          const val = new Map<number, number>();
          for (const [k, x] of pairs) {
            if (!order.includes(k)) {
              if (order.length === capacity) val.delete(order.shift()!);
              order.push(k);
            }
            val.set(k, x);
            w.set(k, x);
            for (const q of [...order, 41, 2 ** 32 + 1]) expect(w.get(q)).toBe(val.get(q));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
  it('with several columns: each column kept apart, through evictions and backward shifts; age counts new values only', () => {
    const w = new HashWindow(3, 3);
    for (const k of [16, 32, 48]) for (let c = 0; c < 3; c++) w.set(k, k + c, c);
    w.set(16, 99, 1); // set again: keeps its place and age
    expect([w.get(16, 0), w.get(16, 1), w.get(16, 2), w.age(16)]).toEqual([16, 99, 18, 2]);
    w.set(64, 7, 2); // evicts 16; the new value's other columns are 0
    expect([w.get(16), w.get(64, 0), w.get(64, 1), w.get(64, 2)]).toEqual([undefined, 0, 0, 7]);
    expect([w.get(32, 2), w.get(48, 1), w.age(32), w.age(64)]).toEqual([34, 49, 2, 0]);
  });
  it('keeps its size at the capacity', () => {
    const w = new HashWindow(1000);
    for (let i = 0; i < 50_000; i++) w.add(i * 7919);
    expect(w.size).toBe(1000);
    expect(w.has(49_999 * 7919)).toBe(true);
    expect(w.has(48_999 * 7919)).toBe(false);
  });
});

describe('HashWindow.age', () => {
  it('counts the values added after a value, and forgets evicted ones', () => {
    const w = new HashWindow(3);
    for (const v of [10, 20, 30]) w.add(v);
    expect([w.age(30), w.age(20), w.age(10), w.age(99)]).toEqual([0, 1, 2, -1]);
    w.add(20); // already there: keeps its place
    w.add(40); // evicts 10
    expect([w.age(40), w.age(30), w.age(20), w.age(10)]).toEqual([0, 1, 2, -1]);
    // Many collisions in a small table keep the ages right through backward shifts.
    const big = new HashWindow(50);
    for (let i = 0; i < 500; i++) big.add(i * 4096);
    for (let i = 450; i < 500; i++) expect(big.age(i * 4096)).toBe(499 - i);
    expect(big.age(449 * 4096)).toBe(-1);
  });
});
