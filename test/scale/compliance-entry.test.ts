// compliance's drift-entry codec (src/analyses/compliance/entry.ts): what it writes from a whole
// drift entry reads back as exactly the slim entry the generic codec gave (encodeLine of
// slimEntry), field order included, for hostile strings (NUL, `__proto__`, `$`, lone surrogates,
// quotes, newlines) and numbers JSON has no literal for; and the line holds no newline (run files).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ENTRY_CODEC, SUBJECT_ROW_CODEC, slimEntry, type SubjectRow } from '../../src/analyses/compliance/entry.js';
import { ListWriter, isSpilled } from '../../src/scale/spilled.js';
import { roughBytes, setBudget } from '../../src/scale/budget.js';
import { resetLedger } from '../../src/scale/ledger.js';
import { shape } from '../helpers.js';
import type { SubjectDrift } from '../../src/analyses/drift/evaluate.js';
import { decodeLine, encodeLine } from '../../src/scale/codec.js';

const str = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '$', '\u0000', '\ud800', '\n', '"\\', 'constructor', '', '=', '\u2028'));
const num = fc.oneof(fc.nat(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 1.5));
const loc = fc.oneof(fc.constant(null), fc.record({ file: str, line: fc.nat(), unit: fc.constantFrom('line' as const, 'item' as const) }));
const source = fc.record({
  binding: fc.record({ kind: str, name: str, namespace: str }),
  role: fc.record({ kind: str, name: str, namespace: str }),
  ruleIndex: fc.nat(),
  via: str,
  namespace: str,
  file: str,
  origin: fc.oneof(fc.constant(null), fc.record({ document: fc.nat(), line: fc.nat() })),
});
const rule = fc.record({ verbs: fc.array(str, { maxLength: 2 }), apiGroups: fc.array(str, { maxLength: 2 }), resources: fc.array(str, { maxLength: 2 }) }, { requiredKeys: ['verbs'] });
const names = fc.array(str, { maxLength: 2 });

const entry = fc.record({
  subject: fc.record({ kind: fc.constantFrom('User' as const, 'ServiceAccount' as const, 'Group' as const), name: str, namespace: str }),
  groups: names,
  requests: num,
  otherChecks: num,
  unjudgedWrites: fc.oneof(fc.constant(null), fc.record({ requests: fc.nat(), reasons: fc.dictionary(str, fc.nat()), examples: names })),
  dormant: fc.boolean(),
  grantedRules: num,
  usedRules: num,
  fullyUsedRules: num,
  sharedRules: num,
  used: fc.array(fc.record({ source, rule, used: fc.record({ verbs: names, resources: names, apiGroups: names, names }), requests: num, auditIDs: names, full: fc.boolean(), fraction: num }), { maxLength: 2 }),
  unusedRules: fc.array(fc.record({ source, rule, sensitive: names }), { maxLength: 2 }),
  uncovered: fc.array(fc.record({ check: fc.constantFrom('request' as const, 'impersonate' as const), verb: str, apiGroup: str, resource: str, namespace: str, nonResourceURL: str, names, requests: num, denied: num, examples: names, location: loc }), { maxLength: 3 }),
  sensitiveExcess: fc.array(fc.record({ id: str, severity: fc.constantFrom('critical' as const, 'high' as const, 'medium' as const, 'low' as const), description: str, permissions: names, source: fc.oneof(fc.constant(null), source), rule: fc.oneof(fc.constant(null), rule) }), { maxLength: 2 }),
  score: fc.oneof(fc.constant(null), num),
  severity: fc.constantFrom('green' as const, 'yellow' as const, 'red' as const, 'none' as const),
  location: loc,
}) as fc.Arbitrary<SubjectDrift>;

describe('compliance drift-entry codec', () => {
  it('reads back the slim entry the generic codec gives, key order included, from one line (property)', () => {
    fc.assert(
      fc.property(entry, (d) => {
        const line = ENTRY_CODEC.encode(d);
        expect(line).not.toContain('\n');
        const got = ENTRY_CODEC.decode(line);
        const want = decodeLine(encodeLine(slimEntry(d)));
        expect(got).toStrictEqual(want);
        expect(Object.is((got as SubjectDrift).requests, (want as SubjectDrift).requests)).toBe(true);
        expect(JSON.stringify(got)).toBe(JSON.stringify(want));
      }),
      { numRuns: 400 },
    );
  });

  it('writes a subject without grants of its own as a short flat array', () => {
    const d: SubjectDrift = { subject: { kind: 'User', name: 'u', namespace: '' }, groups: ['g'], requests: 1, otherChecks: 0, unjudgedWrites: null, dormant: false, grantedRules: 0, usedRules: 0, fullyUsedRules: 0, sharedRules: 0, used: [], unusedRules: [], uncovered: [{ check: 'request', verb: 'get', apiGroup: '', resource: 'pods', namespace: 'a', nonResourceURL: '', names: ['p'], requests: 1, denied: 0, examples: ['id-1'], location: { file: 'f', line: 1, unit: 'line' } }], sensitiveExcess: [], score: null, severity: 'none', location: null };
    expect(ENTRY_CODEC.encode(d)).toBe('["User","u","",1,false,0,0,null,"none",0,0,0,["request","get","","pods","a","",1,0,["id-1"]]]');
  });
});

const row: fc.Arbitrary<SubjectRow> = fc.record({
  kind: str,
  name: str,
  namespace: str,
  requests: num,
  grantedRules: num,
  usedRules: num,
  unusedRules: num,
  sensitiveExcess: num,
  score: fc.oneof(fc.constant(null), num),
  severity: str,
  dormant: fc.boolean(),
});

describe('compliance subject-row codec', () => {
  it('reads back the row the generic codec gives, key order, -0, NaN and ±Infinity included (property)', () => {
    fc.assert(
      fc.property(row, (r) => {
        const line = SUBJECT_ROW_CODEC.encode(r);
        expect(line).not.toContain('\n');
        const back = SUBJECT_ROW_CODEC.decode(line);
        expect(shape(back)).toEqual(shape(r));
        expect(shape(back)).toEqual(shape(decodeLine(encodeLine(r))));
      }),
      { numRuns: 500 },
    );
  });

  it('a ListWriter with the codec spills and reads back the rows in order, twice (tiny budget)', () => {
    resetLedger();
    setBudget(8 * 1024);
    try {
      fc.assert(
        fc.property(fc.array(row, { minLength: 1, maxLength: 60 }), (rows) => {
          const w = new ListWriter<SubjectRow>(roughBytes, 'test-rows', SUBJECT_ROW_CODEC);
          for (const r of rows) w.push(r);
          const list = w.finish();
          try {
            expect(shape([...list])).toEqual(shape(rows));
            expect(shape([...list])).toEqual(shape(rows));
            if (rows.length > 40) expect(isSpilled(list)).toBe(true);
          } finally {
            if (isSpilled(list)) list.release();
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      setBudget(null);
      resetLedger();
    }
  });
});
