// The state codec: every value a reducer state holds survives JSON exactly (structured-clone
// semantics: Map, Set, typed arrays, bigint, NaN, -0, undefined, shared and cyclic references), and
// what cannot (functions, class instances) is refused with the path to it.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { encode, decode, CodecError } from '../../src/state/codec.js';

const roundTrip = (v: unknown): unknown => decode(JSON.parse(JSON.stringify(encode(v))));

describe('codec', () => {
  it.each([
    ['NaN', NaN],
    ['-0', -0],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['undefined', undefined],
    ['bigint', 12345678901234567890n],
    ['Map with non-string keys', new Map<unknown, unknown>([[1, 'a'], ['1', 'b'], [NaN, [1, 2]]])],
    ['Set', new Set(['a', 1, null])],
    ['Float64Array', Float64Array.from([1.5, NaN, -0, 2 ** 52 + 1])],
    ['Int32Array', Int32Array.from([-1, 2 ** 31 - 1])],
    ['Uint8Array', Uint8Array.from([0, 255])],
    ['BigInt64Array', BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n])],
    ['Date', new Date('2026-03-02T10:00:00.123Z')],
    ['object with a $ key', { $: 'Map', v: [1], nested: { $: 'ref', v: 0 } }],
    ['sparse array', [1, , 3]],
    ['object with undefined values', { a: undefined, b: 1 }],
  ])('round-trips %s', (_name, v) => {
    const back = roundTrip(v);
    expect(back).toStrictEqual(v instanceof Array && 1 in v === false ? [1, undefined, 3] : v);
    if (typeof v === 'number') expect(Object.is(back, v)).toBe(true);
  });

  it('keeps the sign of zero inside containers and the bytes of a typed array view', () => {
    const buf = new Float64Array([9, 8, 7, 6]);
    const back = roundTrip({ z: -0, view: buf.subarray(1, 3) }) as { z: number; view: Float64Array };
    expect(Object.is(back.z, -0)).toBe(true);
    expect([...back.view]).toEqual([8, 7]);
    expect(back.view.length).toBe(2);
  });

  it('keeps shared and cyclic references', () => {
    const shared = { n: 1 };
    const m = new Map([['a', shared], ['b', shared]]);
    const cyc: Record<string, unknown> = { name: 'root' };
    cyc.self = cyc;
    const back = roundTrip({ m, list: [shared], cyc }) as { m: Map<string, { n: number }>; list: { n: number }[]; cyc: Record<string, unknown> };
    expect(back.m.get('a')).toBe(back.m.get('b'));
    expect(back.list[0]).toBe(back.m.get('a'));
    back.list[0]!.n = 2;
    expect(back.m.get('b')!.n).toBe(2);
    expect(back.cyc.self).toBe(back.cyc);
  });

  it('refuses class instances and functions, naming where they are', () => {
    class Authorizer {
      x = 1;
    }
    expect(() => encode({ opts: { authz: new Authorizer() } })).toThrow(CodecError);
    expect(() => encode({ opts: { authz: new Authorizer() } })).toThrow(/an instance of Authorizer at opts\.authz/);
    expect(() => encode({ m: new Map([['k', () => 1]]) })).toThrow(/a function at m\.get\("k"\)/);
    expect(() => encode(Symbol('x'))).toThrow(CodecError);
  });

  it('refuses unknown tags and dangling references', () => {
    expect(() => decode({ $: 'Weird', v: 1 })).toThrow(/unknown tag "Weird"/);
    expect(() => decode({ $: 'ref', v: 7 })).toThrow(/unknown object 7/);
  });

  it('round-trips arbitrary nested state-like values (property)', () => {
    const leaf = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.bigInt());
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object'), tie('map'), tie('set'), tie('typed')),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(fc.oneof(fc.string(), fc.constant('$'), fc.constant('v'), fc.constant('__proto__')), tie('value'), { maxKeys: 4, noNullPrototype: true }),
      map: fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer()), tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
      set: fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 4 }).map((e) => new Set(e)),
      typed: fc.array(fc.double(), { maxLength: 4 }).map((a) => Float64Array.from(a)),
    }));
    fc.assert(
      fc.property(value, (v) => {
        expect(roundTrip(v)).toStrictEqual(v);
      }),
      { numRuns: 300, seed: 22 },
    );
  });
});
