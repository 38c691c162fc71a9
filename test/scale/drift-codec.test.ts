// drift's run codec (src/analyses/drift/codec.ts): what it writes reads back as the same
// per-identity usage, field order included (optional fields in the order they were added), for
// any strings (NUL, `__proto__`, `$`, lone surrogates) and any times (a time never seen is
// ±Infinity); and it is what the users map spills with, so a spilled drift run equals one in memory.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { shape } from '../helpers.js';
import { USE_CODEC } from '../../src/analyses/drift/codec.js';
import { useSpec, type ReqKey, type SubjectUse } from '../../src/analyses/drift/index.js';
import { encodeLine, decodeLine } from '../../src/scale/codec.js';

const str = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '$', '\u0000', '\ud800', 'constructor', '', '='));
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constantFrom(Infinity, -Infinity, NaN, -0));
const loc = fc.record({ file: str, line: fc.nat(), unit: fc.constantFrom('line', 'item') }, { requiredKeys: ['file', 'line', 'unit'] }).chain((l) => fc.record({ offset: fc.nat(), item: fc.nat() }, { requiredKeys: [] }).map((x) => ({ ...l, ...x })));

const reqKey: fc.Arbitrary<ReqKey> = fc
  .tuple(
    fc.record({
      check: fc.constantFrom('request', 'impersonate', 'bind', 'escalate'),
      groups: fc.array(str, { maxLength: 3 }),
      verb: str,
      apiGroup: str,
      resource: str,
      subresource: str,
      namespace: str,
      nonResourceURL: str,
      count: fc.nat(),
      denied: fc.nat(),
      names: fc.uniqueArray(fc.tuple(str, fc.nat()), { maxLength: 3, selector: (e) => e[0] }).map((a) => new Map(a)),
      other: fc.nat(),
      firstMs: time,
      first: str,
      lastMs: time,
      last: str,
      examples: fc.array(fc.tuple(time, str), { maxLength: 3 }),
    }),
    // The fields added later, in any order and any subset.
    fc.shuffledSubarray(['firstAt', 'written', 'fullAuthority', 'rulesUnknown'] as const),
    loc,
    fc.uniqueArray(fc.tuple(str, fc.record({ verbs: fc.array(str, { maxLength: 2 }), apiGroups: fc.array(str, { maxLength: 2 }), resources: fc.array(str, { maxLength: 2 }) })), { maxLength: 2, selector: (e) => e[0] }).map((a) => new Map(a)),
    fc.nat(),
  )
  .map(([base, extras, at, written, unknown]) => {
    const k = { ...base } as ReqKey;
    for (const f of extras) {
      if (f === 'firstAt') k.firstAt = at as ReqKey['firstAt'];
      if (f === 'written') k.written = written as ReqKey['written'];
      if (f === 'fullAuthority') k.fullAuthority = true;
      if (f === 'rulesUnknown') k.rulesUnknown = unknown;
    }
    return k;
  });

const subjectUse: fc.Arbitrary<SubjectUse> = fc
  .record({
    user: str,
    groups: fc.uniqueArray(str, { maxLength: 3 }).map((a) => new Set(a)),
    requests: fc.nat(),
    checks: fc.nat(),
    keys: fc.uniqueArray(fc.tuple(str, reqKey), { maxLength: 3, selector: (e) => e[0] }).map((a) => new Map(a)),
    unjudged: fc.record({ requests: fc.nat(), reasons: fc.dictionary(str, fc.nat(), { maxKeys: 2 }), examples: fc.array(str, { maxLength: 3 }) }),
  })
  .map((u) => u as SubjectUse);

describe('drift usage codec', () => {
  it('decode(encode(x)) equals x, field order, -0, NaN and ±Infinity included', () => {
    fc.assert(
      fc.property(str, subjectUse, (key, u) => {
        const line = USE_CODEC.encode([key, u]);
        expect(line).not.toContain('\n');
        const back = USE_CODEC.decode(line);
        expect(back[0]).toBe(key);
        expect(shape(back[1])).toEqual(shape(u));
        // The same value the generic codec gives back.
        expect(shape(back)).toEqual(shape(decodeLine(encodeLine([key, u]))));
      }),
      { numRuns: 300 },
    );
  });

  // What the codec writes once that a one-request identity would repeat (the key is the user, the
  // key's groups are the identity's, a span of one instant, one example at its start, firstAt a
  // plain Loc): each shortcut, alone or together, and near misses (-0 against 0, NaN, a Loc with
  // one more member or in another order), read back as the same value.
  it('reads back the shortcuts of one-request identities and their near misses', () => {
    const typical = fc
      .tuple(subjectUse, fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom('plain', 'offset', 'reordered', 'none'), fc.constantFrom(0, -0, NaN, Infinity, 1772412981900), str, fc.boolean())
      .map(([u, keyIsUser, sameGroups, oneInstant, oneExample, at, ms, file, nearMiss]) => {
        for (const k of u.keys.values()) {
          if (sameGroups) k.groups = [...u.groups];
          k.firstMs = ms;
          if (oneInstant) {
            k.lastMs = nearMiss && Object.is(ms, 0) ? -0 : ms;
            k.last = k.first;
          }
          if (oneExample) k.examples = [[nearMiss && Object.is(ms, 0) ? -0 : ms, file]];
          delete k.firstAt;
          delete k.written;
          delete k.fullAuthority;
          delete k.rulesUnknown;
          if (at === 'plain') k.firstAt = { file, line: nearMiss ? -0 : 3, unit: 'line' };
          if (at === 'offset') k.firstAt = { file, line: 3, unit: 'line', offset: 7 };
          if (at === 'reordered') k.firstAt = { line: 3, file, unit: 'item' } as ReqKey['firstAt'];
          if (nearMiss && at === 'plain') k.rulesUnknown = 2;
        }
        return [keyIsUser ? u.user : `${u.user}x`, u] as [string, SubjectUse];
      });
    fc.assert(
      fc.property(typical, ([key, u]) => {
        const line = USE_CODEC.encode([key, u]);
        expect(line).not.toContain('\n');
        const back = USE_CODEC.decode(line);
        expect(back[0]).toBe(key);
        expect(shape(back[1])).toEqual(shape(u));
        expect(shape(back)).toEqual(shape(decodeLine(encodeLine([key, u]))));
        // Keys that share the identity's groups get arrays of their own.
        const arrays = [...back[1].keys.values()].map((k) => k.groups);
        expect(new Set(arrays).size).toBe(arrays.length);
      }),
      { numRuns: 500 },
    );
  });

  it('writes a one-request identity without repeating it', () => {
    const k: ReqKey = { check: 'request', groups: ['system:authenticated', 'team:a'], verb: 'get', apiGroup: '', resource: 'pods', subresource: '', namespace: 'a', nonResourceURL: '', count: 1, denied: 0, names: new Map([['p', 1]]), other: 0, firstMs: 5, first: 'T', lastMs: 5, last: 'T', examples: [[5, 'id-1']] };
    k.firstAt = { file: '/logs/audit.log', line: 9, unit: 'line' };
    const u: SubjectUse = { user: 'alice', groups: new Set(['system:authenticated', 'team:a']), requests: 1, checks: 0, keys: new Map([['K', k]]), unjudged: { requests: 0, reasons: {}, examples: [] } };
    const line = USE_CODEC.encode(['alice', u]);
    expect(line).toBe('[0,"alice",["system:authenticated","team:a"],1,0,0,0,[],["K","request",0,"get","","pods","","a","",1,0,["p",1],0,5,"T",null,0,"id-1",["/logs/audit.log",9,"line"]]]');
    expect(shape(USE_CODEC.decode(line))).toEqual(shape(['alice', u]));
  });

  it('is the codec the users map spills with', () => {
    expect(useSpec(20).codec).toBe(USE_CODEC);
  });
});
