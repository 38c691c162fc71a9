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

describe('HashWindow.addAll', () => {
  /** Every value's presence, columns and age in `w`, for the values in `probe`, and what the next insertion evicts. */
  const view = (w: HashWindow, probe: number[], width: number): unknown[] => [
    ...probe.map((v) => [w.age(v), ...Array.from({ length: width }, (_, c) => w.get(v, c))]),
    w.evictee(),
    w.size,
  ];
  it('gives the window that addRow one row after the other gives, however many rows (a rebuild once they fill the window), or refuses where addRow would', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 3 }),
        // The window before: values some of which the rows repeat (in or out of the window at their turn).
        fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constantFrom(2 ** 32, 2 ** 52 - 1)), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 40 }),
        fc.boolean(),
        (capacity, width, before, rowValues, check) => {
          const stride = 1 + width;
          // Rows are distinct values, as the parts' windows and first-used IDs are.
          const distinct = [...new Set(rowValues.map((v) => v + 100 * (v % 3)))];
          const rows = new Float64Array(distinct.length * stride);
          distinct.forEach((v, j) => {
            rows[j * stride] = v;
            for (let c = 0; c < width; c++) rows[j * stride + 1 + c] = v * 10 + c + 1;
          });
          const a = new HashWindow(capacity, width);
          const b = new HashWindow(capacity, width);
          for (const v of before) {
            const row = Array.from({ length: width }, (_, c) => -v - c);
            a.setRow(v, row);
            b.setRow(v, row);
          }
          let expected = true;
          for (let j = 0; j < distinct.length; j++) {
            if (!b.addRow(rows[j * stride]!, rows, j * stride + 1) && check) {
              expected = false;
              break;
            }
          }
          const got = a.addAll(rows, stride, check);
          expect(got).toBe(expected);
          if (!expected) return;
          const probe = [...new Set([...before, ...distinct, 2 ** 32, 2 ** 52 - 1, 99, 999])];
          // Without check, a rebuild (at least capacity rows) assumes every value absent at its turn (the caller checked it).
          const absentAtTurn = (w: HashWindow): boolean => distinct.every((v, j) => w.age(v) < 0 || w.age(v) + j >= capacity);
          const fresh = new HashWindow(capacity, width);
          for (const v of before) fresh.setRow(v, Array.from({ length: width }, (_, c) => -v - c));
          if (check || distinct.length < capacity || absentAtTurn(fresh)) expect(view(a, probe, width)).toEqual(view(b, probe, width));
        },
      ),
      { numRuns: 1000 },
    );
  });
  it('without check and at least capacity rows all new at their turn: the last capacity rows, with their ages', () => {
    const a = new HashWindow(3, 1);
    const b = new HashWindow(3, 1);
    for (const v of [1, 2, 3]) {
      a.set(v, v);
      b.set(v, v);
    }
    // 1 is in the window but evicted (by 10, 11, 12) before its turn at row 3.
    const rows = Float64Array.from([10, 100, 11, 110, 12, 120, 1, 7, 13, 130]);
    expect(a.addAll(rows, 2, false)).toBe(true);
    for (let j = 0; j < 5; j++) b.addRow(rows[j * 2]!, rows, j * 2 + 1);
    expect(view(a, [1, 2, 3, 10, 11, 12, 13], 1)).toEqual(view(b, [1, 2, 3, 10, 11, 12, 13], 1));
    expect([a.get(1), a.age(1), a.age(13), a.get(12), a.get(11)]).toEqual([7, 1, 0, 120, undefined]);
  });
});
