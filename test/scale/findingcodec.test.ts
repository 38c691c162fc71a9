// The line codec of anomalies' findings in the external sort's runs (src/analyses/anomalies
// FINDING_CODEC, issue 15): a finding of the usual shape is one flat JSON array, any other takes
// the generic codec; either way the finding read back writes exactly the JSON it would have.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { FINDING_CODEC, type Finding } from '../../src/analyses/anomalies/index.js';
import { HOSTILE_VALUES } from '../hostile.js';

const str = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', '\u0000', '\ud800', '\n', '"', '\\', '__proto__', '$', '=', '[1]', '{', ...HOSTILE_VALUES.filter((v): v is string => typeof v === 'string')),
);
const loc = fc.oneof(
  fc.constant(null),
  fc.record({ file: str, line: fc.nat(), unit: fc.constantFrom('line', 'item') }).map((o) => ({ ...o })),
  fc.record({ file: str, line: fc.nat(), unit: fc.constantFrom('line', 'item'), offset: fc.nat() }).map((o) => ({ ...o })),
);
const sigma = fc.option(fc.record({ id: str, title: str, author: str, license: str }).map((o) => ({ ...o })), { nil: undefined });
const finding = fc
  .tuple(fc.array(str, { minLength: 13, maxLength: 13 }), fc.oneof(fc.nat(), fc.constantFrom(NaN, -0, Infinity)), fc.array(str, { maxLength: 3 }), fc.array(str, { maxLength: 2 }), loc, sigma)
  .map(([s, count, auditIDs, technique, location, sg]) => {
    const f = {
      rule: s[0]!, title: s[1]!, kind: s[2]!, severity: s[3]!, subject: s[4]!, subjectKind: s[5]!, verb: s[6]!, resource: s[7]!, namespace: s[8]!,
      time: s[9]!, last: s[10]!, count, auditIDs, reason: s[11]!, technique, source: s[12]!, location,
      ...(sg ? { sigma: sg } : {}),
    } as unknown as Finding;
    return f;
  });

describe('FINDING_CODEC (anomalies findings in sorted runs)', () => {
  it('gives back a finding that writes the same JSON, key order included (property)', () => {
    fc.assert(
      fc.property(finding, (f) => {
        const line = FINDING_CODEC.encode(f);
        expect(line.includes('\n')).toBe(false);
        const back = FINDING_CODEC.decode(line);
        expect(JSON.stringify(back, null, 2)).toBe(JSON.stringify(f, null, 2));
        expect(Object.is(back.count, f.count)).toBe(true);
        // The flat form exactly when the count is one JSON keeps.
        expect(line.startsWith('[')).toBe(Number.isFinite(f.count) && !Object.is(f.count, -0));
      }),
      { numRuns: 500 },
    );
  });

  it('takes the generic codec for any other shape (another key order, an undefined member, an extra key)', () => {
    const base = { rule: 'r', title: 't', kind: 'baseline', severity: 'high', subject: 's', subjectKind: 'User', verb: '*', resource: '', namespace: '', time: 'a', last: 'b', count: 1, auditIDs: ['x'], reason: 'why', technique: [], source: 'baseline', location: null };
    const shapes: Record<string, unknown>[] = [
      { title: 't', ...base },
      { ...base, extra: 1 },
      { ...base, reason: undefined },
      { ...base, location: { file: 'f', line: 1, unit: 'line', offset: undefined } },
      { ...base, sigma: undefined },
    ];
    for (const f of shapes) {
      const line = FINDING_CODEC.encode(f as unknown as Finding);
      expect(line.startsWith('[')).toBe(false);
      const back = FINDING_CODEC.decode(line);
      expect(JSON.stringify(back, null, 2)).toBe(JSON.stringify(f, null, 2));
    }
    expect(FINDING_CODEC.encode(base as unknown as Finding).startsWith('[')).toBe(true);
  });
});
