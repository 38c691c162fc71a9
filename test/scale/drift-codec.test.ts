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

  it('is the codec the users map spills with', () => {
    expect(useSpec(20).codec).toBe(USE_CODEC);
  });
});
