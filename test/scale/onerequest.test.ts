// A subject seen once is held as its one request (src/analyses/baseline/index.ts OneRequest) and
// becomes a profile only when it is read, merged or seen again. What must hold:
//  - the profile built from a OneRequest is the profile addToProfile builds at once, member for
//    member in the same order (the reports are written from it);
//  - a run line of a partial profile (OneRequest or Profile) reads back equal, whatever the strings
//    (attacker-controlled: unicode, lone surrogates, newlines, line separators, very long names) and
//    numbers (a time that did not parse is NaN);
//  - partial states, spilled anywhere and merged, read as one pass over the same requests does.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  addToProfile,
  decodePartial,
  drainProfiles,
  encodePartial,
  fullProfile,
  isOneRequest,
  newProfile,
  oneRequest,
  partialBytes,
  profiles,
  profileBytes,
  profileJSON,
  type PartialProfile,
  type ProfileState,
} from '../../src/analyses/baseline/index.js';
import type { AuditRecord, Loc } from '../../src/types.js';
import { setBudget } from '../../src/scale/budget.js';
import { settle, spillCount } from '../../src/scale/ledger.js';
import { HOSTILE_VALUES } from '../hostile.js';
import { isolateSpills, leftovers } from './spillkit.js';

isolateSpills();

/** Every member in order, Maps as entry lists, NaN and -0 spelled out: "equal in every way a reducer or report can see". */
function shape(v: unknown): unknown {
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [k, shape(x)]) };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return Object.is(v, -0) ? '-0' : v;
}

/** Strings an attacker may put in a log: any code units (lone surrogates too), hostile fixtures, very long ones. */
const str = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
  fc.constantFrom(...HOSTILE_VALUES, '', '\n', '\r\n', '\u2028\u2029', '\ud800', '\udfff', 'x\ud83dy', '"\\', '1', '=', '[', `long-${'é'.repeat(5000)}`),
);
/** Vocabulary strings, so that subjects share tuples, namespaces and networks across requests. */
const small = (xs: string[]): fc.Arbitrary<string> => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...xs) }, { weight: 1, arbitrary: str });

const timeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 * 86_400_000 }).map((ms) => new Date(Date.UTC(2026, 2, 2) + ms).toISOString()) },
  { weight: 1, arbitrary: fc.constantFrom('', 'not a time', '1970-01-01T00:00:00Z', '0001-01-01T00:00:00Z') },
);

const locArb: fc.Arbitrary<Loc> = fc
  .record({ file: small(['a.log', '/var/log/audit.log', '__proto__']), line: fc.nat(1e6), unit: fc.constantFrom('line' as const, 'item' as const), offset: fc.option(fc.nat(1e9), { nil: undefined }), item: fc.option(fc.nat(9), { nil: undefined }) })
  .map(({ offset, item, ...l }) => ({ ...l, ...(offset !== undefined ? { offset } : {}), ...(item !== undefined ? { item } : {}) }));

const recordArb = fc
  .record({
    subject: small(['alice', 'bob', 'system:serviceaccount:ns:sa', '__proto__']),
    subjectKind: fc.constantFrom('User', 'ServiceAccount', 'Anonymous'),
    decision: fc.constantFrom('allow', 'forbid', ''),
    time: timeArb,
    auditID: small(['', 'id-1', 'id-2']),
    verb: small(['get', 'list', 'create']),
    apiGroup: small(['', 'apps', 'rbac.authorization.k8s.io']),
    resource: small(['', 'pods', 'secrets']),
    subresource: small(['', 'exec', 'status']),
    namespace: small(['', 'default', 'kube-system']),
    nonResourceURL: small(['', '/healthz', '/metrics']),
    sourceIP: small(['', '10.0.0.1', '10.0.1.7', '2001:db8::1', '::ffff:192.168.0.1']),
    client: small(['', 'kubectl', 'curl']),
    userAgent: small(['', 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', 'curl/8']),
    location: locArb,
  })
  .map((x) => ({ ...x, timeMs: x.time === '' ? NaN : Date.parse(x.time) }) as unknown as AuditRecord);

/** The profile addToProfile builds from the request at once. */
function atOnce(r: AuditRecord, examples: number): ReturnType<typeof newProfile> {
  const p = newProfile(r.subjectKind);
  addToProfile(p, r, examples);
  return p;
}

describe('a subject seen once (OneRequest)', () => {
  it('its profile is the profile built at once, member for member (with and without examples)', () => {
    fc.assert(
      fc.property(recordArb, fc.constantFrom(0, 1, 5), (r, examples) => {
        const o = oneRequest(r, examples);
        expect(isOneRequest(o)).toBe(true);
        expect(shape(fullProfile(o, examples))).toEqual(shape(atOnce(r, examples)));
      }),
      { numRuns: 300 },
    );
  });

  it('run lines read back equal, OneRequest or Profile, whatever the strings', () => {
    fc.assert(
      fc.property(str, fc.array(recordArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 5), (key, rs, examples) => {
        const values: PartialProfile[] = [oneRequest(rs[0]!, examples)];
        const p = newProfile(rs[0]!.subjectKind);
        for (const r of rs) addToProfile(p, r, examples);
        values.push(p);
        for (const v of values) {
          const line = encodePartial([key, v]);
          expect(line).not.toMatch(/[\n\r]/);
          const [k, back] = decodePartial(line);
          expect(k).toBe(key);
          expect(isOneRequest(back)).toBe(isOneRequest(v));
          expect(shape(back)).toEqual(shape(v));
          expect(shape(fullProfile(back, examples))).toEqual(shape(fullProfile(v, examples)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a OneRequest line is a fraction of the profile line it stands for', () => {
    const r = { subject: 'user-1@example.com', subjectKind: 'User', decision: 'allow', time: '2026-03-02T00:00:01.000000Z', timeMs: Date.parse('2026-03-02T00:00:01Z'), auditID: '10000000-0000-4000-8000-000000000000', verb: 'get', apiGroup: '', resource: 'pods', subresource: '', namespace: 'team-1', nonResourceURL: '', sourceIP: '10.0.0.1', client: 'kubectl', userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', location: { file: '/var/log/audit.log', line: 1, unit: 'line' } } as unknown as AuditRecord;
    const one = encodePartial(['user-1@example.com', oneRequest(r, 5)]).length;
    const full = encodePartial(['user-1@example.com', atOnce(r, 5)]).length;
    expect(one).toBeLessThan(full / 2);
    // and in memory: that is the point of it
    expect(partialBytes('user-1@example.com', oneRequest(r, 5))).toBeLessThan(profileBytes('user-1@example.com', atOnce(r, 5)) / 4);
  });
});

/** Every profile of a state, drained, as shapes. */
function drained(s: ProfileState): unknown[] {
  return [...drainProfiles(s)].map(([k, p]) => [k, shape(p)]);
}

describe('partial states of profiles', () => {
  it('merged (spilled anywhere or not) read as one pass over the same requests', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 3 }), fc.constantFrom(0, 5), fc.boolean(), (rs, cuts, examples, spill) => {
        setBudget(null);
        const one = profiles.init({ examples });
        for (const r of rs) profiles.add(one, r);
        const want = drained(one);

        // A tiny budget spills at every safe point: partials of one subject land in many runs,
        // OneRequests next to Profiles.
        if (spill) setBudget(1024);
        const bounds = [...new Set([0, ...cuts.map((c) => Math.min(c, rs.length)), rs.length])].sort((a, b) => a - b);
        const parts: ProfileState[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          const s = profiles.init({ examples });
          for (const r of rs.slice(bounds[i], bounds[i + 1])) {
            profiles.add(s, r);
            settle();
          }
          parts.push(s);
        }
        const merged = parts.reduce((a, b) => profiles.merge(a, b));
        settle();
        expect(drained(merged)).toEqual(want);
        setBudget(null);
      }),
      { numRuns: 150 },
    );
    expect(spillCount()).toBeGreaterThan(0);
    expect(leftovers()).toEqual([]);
  });
});

describe('profileJSON', () => {
  it('writes each map by key in code-unit order, a key named __proto__ or constructor as an own member', () => {
    const p = newProfile('User');
    for (const [i, ns] of ['zeta', '__proto__', 'constructor', 'Alpha', 'éclair', '10', '9'].entries()) {
      addToProfile(p, { decision: 'allow', timeMs: 1000 * i, time: `t${i}`, auditID: '', verb: 'get', apiGroup: '', resource: 'pods', subresource: '', namespace: ns, nonResourceURL: '', sourceIP: '', client: '', userAgent: '' }, 0);
    }
    const j = profileJSON(p);
    expect(Object.getPrototypeOf(j.namespaces)).toBe(Object.prototype);
    expect(Object.hasOwn(j.namespaces, '__proto__')).toBe(true);
    expect(j.namespaces['__proto__']).toEqual({ count: 1, first: 't1', last: 't1' });
    // integer-like keys come first in any JS object (JSON.stringify order); the rest in code-unit order
    expect(Object.keys(j.namespaces)).toEqual(['9', '10', 'Alpha', '__proto__', 'constructor', 'zeta', 'éclair']);
    expect(JSON.parse(JSON.stringify(j.namespaces))).toEqual(JSON.parse(JSON.stringify(Object.fromEntries([...p.namespaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, { count: v.count, first: v.first, last: v.last }])))));
  });
});
