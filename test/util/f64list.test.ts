import { describe, it, expect } from 'vitest';
import { F64List } from '../../src/util/f64list.js';

describe('F64List', () => {
  it('gives back what was pushed, in order, across growths, as a Float64Array of exactly that length; empty afterwards', () => {
    const l = new F64List(4);
    const want: number[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 3 === 0) {
        l.push2(i, -i);
        want.push(i, -i);
      } else {
        l.push4(i, 2 ** 52 - i, i / 7, NaN);
        want.push(i, 2 ** 52 - i, i / 7, NaN);
      }
    }
    expect(l.length).toBe(want.length);
    const a = l.take();
    expect(a).toBeInstanceOf(Float64Array);
    expect(Array.from(a)).toEqual(want);
    expect(l.length).toBe(0);
    expect(l.take().length).toBe(0);
    // The taken array survives the list's reuse.
    l.push2(1, 2);
    expect(a[0]).toBe(0);
    expect(Array.from(l.take())).toEqual([1, 2]);
  });
});
