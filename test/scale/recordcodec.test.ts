// The flat line codec of normalized records (src/normalize/spill.ts RECORD_CODEC), used by the
// runs of `investigate --sort` (issue 15): decode(encode(r)) gives every field of r back (hostile
// strings, lone surrogates, NaN/±Infinity/-0, a "__proto__" extra key, optional location fields),
// in the key order of normalize's recordFrom, so that every record keeps one shape.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RECORD_CODEC } from '../../src/normalize/spill.js';
import { normalizeEvent } from '../../src/normalize/event.js';
import { ALL_BODIES } from '../../src/normalize/bodies.js';
import { event } from '../helpers.js';
import { HOSTILE_VALUES } from '../hostile.js';
import type { AuditRecord, Loc } from '../../src/types.js';

const str = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
  fc.constantFrom('', '\u0000', '\ud800', '\udc00x', '\n', '"', '\\', '__proto__', '$', '=', '[1]', ...HOSTILE_VALUES.filter((v): v is string => typeof v === 'string')),
);
const num = fc.oneof(fc.double(), fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1.5, 2 ** 53));
const numOrNull = fc.oneof(num, fc.constant(null));
const loc: fc.Arbitrary<Loc> = fc.record(
  { file: str, line: fc.nat(), unit: fc.constantFrom('line' as const, 'item' as const), offset: fc.nat(), item: fc.nat() },
  { requiredKeys: ['file', 'line', 'unit'] },
);
const extra = fc.array(fc.tuple(str, fc.array(str, { maxLength: 3 })), { maxLength: 3 }).map((pairs) => {
  const e: Record<string, string[]> = {};
  for (const [k, v] of pairs) Object.defineProperty(e, k, { value: v, enumerable: true, writable: true, configurable: true });
  return e;
});

/** A record with arbitrary values in recordFrom's key order (the shape every record has). */
const record: fc.Arbitrary<AuditRecord> = fc
  .tuple(fc.array(str, { minLength: 26, maxLength: 26 }), fc.array(num, { minLength: 2, maxLength: 2 }), fc.array(numOrNull, { minLength: 2, maxLength: 2 }), fc.array(str, { maxLength: 4 }), fc.array(str, { maxLength: 3 }), fc.boolean(), loc, extra)
  .map(([s, [timeMs, code], [durationMs, responseStartedMs], groups, impersonatorGroups, auditIDReused, location, impersonatedExtra]) => ({
    time: s[0]!, timeMs, auditID: s[1]!, stage: s[2]!, level: s[3]!, cluster: s[4]!,
    subject: s[5]!, subjectKind: s[6]! as AuditRecord['subjectKind'], subjectNamespace: s[7]!, subjectName: s[8]!, groups, impersonator: s[9]!, principal: s[10]!,
    verb: s[11]!, apiGroup: s[12]!, apiVersion: s[13]!, resource: s[14]!, subresource: s[15]!, namespace: s[16]!, name: s[17]!, nonResourceURL: s[18]!, requestURI: s[19]!,
    code, decision: s[20]! as AuditRecord['decision'], durationMs, sourceIP: s[21]!, userAgent: s[22]!, client: s[23]!, clientVersion: s[24]!, accessMethod: s[25]! as AuditRecord['accessMethod'], provider: s[0]!,
    auditIDReused, location, impersonatorGroups, impersonatedUID: s[1]!, impersonatedExtra, responseStartedMs,
  }));

describe('RECORD_CODEC (flat lines for the runs of investigate --sort)', () => {
  it('gives every field back, numbers and hostile strings included (property)', () => {
    fc.assert(
      fc.property(record, (r) => {
        const line = RECORD_CODEC.encode(r);
        expect(line.includes('\n')).toBe(false);
        const back = RECORD_CODEC.decode(line);
        // toEqual treats -0 and 0 alike and NaN as NaN: compare numbers with Object.is as well.
        expect(back).toEqual(r);
        for (const k of ['timeMs', 'code', 'durationMs', 'responseStartedMs'] as const) expect(Object.is(back[k], r[k])).toBe(true);
        expect(Object.keys(back.impersonatedExtra)).toEqual(Object.keys(r.impersonatedExtra));
        expect(Object.getPrototypeOf(back.impersonatedExtra)).toBe(Object.prototype);
        expect(Object.keys(back)).toEqual(Object.keys(r));
      }),
      { numRuns: 400 },
    );
  });

  it("builds records in normalize's key order, and leaves the bodies out", () => {
    const r = normalizeEvent(
      event({ auditID: 'a-1', level: 'RequestResponse', requestObject: { kind: 'Pod' }, responseObject: { kind: 'Pod' }, impersonatedUser: { username: 'bob', extra: { __proto__: ['x'], scopes: ['a'] } } }),
      'prod',
      'k8s',
      ALL_BODIES,
    ) as AuditRecord;
    expect(typeof r).toBe('object');
    expect(r.requestObject).toEqual({ kind: 'Pod' });
    expect(Object.keys(r.impersonatedExtra)).toContain('scopes');
    const back = RECORD_CODEC.decode(RECORD_CODEC.encode(r));
    const { requestObject: _q, responseObject: _s, ...flat } = r;
    expect(back).toEqual(flat);
    expect(Object.keys(back)).toEqual(Object.keys(flat));
    expect('requestObject' in back || 'responseObject' in back).toBe(false);
  });
});
