// sameDeep (test/helpers.ts), the non-recursive strict equality the extractor tests use for deeply
// nested bodies: it must agree with vitest's toStrictEqual wherever that can walk, and not overflow
// where it cannot.
import { describe, it, expect } from 'vitest';
import { sameDeep } from './helpers.js';

class Box {
  constructor(public v: unknown) {}
}
const hole: unknown[] = [1, , 3]; // eslint-disable-line no-sparse-arrays

function strict(a: unknown, b: unknown): boolean {
  try {
    expect(a).toStrictEqual(b);
    return true;
  } catch {
    return false;
  }
}

describe('sameDeep agrees with toStrictEqual', () => {
  it.each<[string, unknown, unknown]>([
    ['equal nested objects, keys in another order', { a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }],
    ['an undefined member against a missing one', { a: 1, b: undefined }, { a: 1 }],
    ['0 and -0', { n: 0 }, { n: -0 }],
    ['NaN and NaN', [NaN], [NaN]],
    ['a class instance against a plain object', new Box(1), { v: 1 }],
    ['two instances of one class', new Box([1]), new Box([1])],
    ['an array hole against undefined', hole, [1, undefined, 3]],
    ['arrays of other lengths', [1, 2], [1, 2, 3]],
    ['an array against an object', [1], { 0: 1 }],
    ['null against an object', { a: null }, { a: {} }],
    ['Maps by content', new Map([['a', 1]]), new Map([['a', 1]])],
    ['Maps that differ', new Map([['a', 1]]), new Map([['a', 2]])],
    ['string against number', { a: '1' }, { a: 1 }],
  ])('%s', (_what, a, b) => {
    expect(sameDeep(a, b)).toBe(strict(a, b));
  });

  it('walks 100,000 levels without overflowing, and finds a difference at the bottom', () => {
    const deep = (leaf: unknown): unknown => {
      let v: unknown = leaf;
      for (let i = 0; i < 100_000; i++) v = i % 2 ? [v] : { a: v };
      return v;
    };
    expect(sameDeep(deep(1), deep(1))).toBe(true);
    expect(sameDeep(deep(1), deep(2))).toBe(false);
  });
});
