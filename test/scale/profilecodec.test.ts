// The compact form of baseline profiles in spill runs (src/analyses/baseline/index.ts
// encodeProfile): decoding gives back an equal profile, members in the same order, through the
// JSON line the run file holds; and it is much smaller than the generic tagged form.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { addToProfile, decodeProfile, encodeProfile, mergeProfile, newProfile, type Profile } from '../../src/analyses/baseline/index.js';
import { decodeLine, encodeLine } from '../../src/scale/codec.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { event } from '../helpers.js';
import type { AuditRecord } from '../../src/types.js';

const rec = (o: Record<string, unknown>): AuditRecord => normalizeValue(event(o), '') as AuditRecord;

/** Every member in order, Maps as entry lists: what "equal in every way a reducer can see" compares. */
function shape(v: unknown): unknown {
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [k, shape(x)]) };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  return Object.is(v, -0) ? '-0' : v;
}

const recordArb = fc.record({
  user: fc.constantFrom('alice', 'bob', 'system:serviceaccount:ns:sa'),
  verb: fc.constantFrom('get', 'list', 'delete', 'create'),
  ns: fc.constantFrom('', 'a', 'kube-system'),
  res: fc.constantFrom('pods', 'secrets', ''),
  ip: fc.constantFrom('10.0.0.1', '10.0.1.7', '2001:db8::1', ''),
  agent: fc.constantFrom('kubectl/v1.29.2', 'curl/8', ''),
  time: fc.integer({ min: 0, max: 3 * 86_400_000 }).map((ms) => new Date(Date.UTC(2026, 2, 2) + ms).toISOString()),
  code: fc.constantFrom(200, 403),
  file: fc.constantFrom('a.log', 'logs/b.log', '__proto__'),
  line: fc.nat(1e6),
  offset: fc.option(fc.nat(1e9), { nil: undefined }),
});

type Gen = typeof recordArb extends fc.Arbitrary<infer T> ? T : never;

function toRecord(x: Gen, i: number): AuditRecord {
  const r = rec({
    auditID: `id-${i}`,
    user: { username: x.user, groups: ['system:authenticated'] },
    verb: x.verb,
    requestURI: x.res ? `/api/v1/${x.ns ? `namespaces/${x.ns}/` : ''}${x.res}` : '/healthz',
    ...(x.res ? { objectRef: { resource: x.res, ...(x.ns ? { namespace: x.ns } : {}), apiVersion: 'v1' } } : {}),
    sourceIPs: x.ip ? [x.ip] : [],
    userAgent: x.agent,
    responseStatus: { metadata: {}, code: x.code },
    requestReceivedTimestamp: x.time,
    stageTimestamp: x.time,
  });
  r.location = { file: x.file, line: x.line, unit: 'line', ...(x.offset !== undefined ? { offset: x.offset } : {}) };
  return r;
}

describe('compact spill form of baseline profiles', () => {
  it('decode(encode(p)) through a JSON line equals p, with and without examples and locations, merged or not', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 30 }), fc.constantFrom(0, 5), fc.nat(30), (xs, examples, cut) => {
        const a = newProfile('User');
        const b = newProfile('User');
        xs.forEach((x, i) => addToProfile(i < cut ? a : b, toRecord(x, i), examples));
        for (const p of [a, b, mergeProfile(a, b, examples)] as Profile[]) {
          const back = decodeProfile(decodeLine(encodeLine(encodeProfile(p))));
          expect(shape(back)).toEqual(shape(p));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an unseen profile (no time yet: ±Infinity) round-trips too', () => {
    const p = newProfile('ServiceAccount');
    expect(shape(decodeProfile(decodeLine(encodeLine(encodeProfile(p)))))).toEqual(shape(p));
  });

  it('a one-request subject with examples and a location takes under half the generic form', () => {
    const p = newProfile('User');
    addToProfile(p, toRecord({ user: 'user-1@example.com', verb: 'get', ns: 'team-1', res: 'pods', ip: '10.0.0.1', agent: 'kubectl/v1.29.2', time: '2026-03-02T00:00:01.000000Z', code: 200, file: '/var/log/kubernetes/audit/audit-2026-03-02T00-00-00.log', line: 1, offset: undefined }, 1), 5);
    const compact = encodeLine(encodeProfile(p)).length;
    const generic = encodeLine(p).length;
    expect(compact).toBeLessThan(generic / 2);
  });
});
