// rbac-gen's run codec (src/analyses/rbacgen/codec.ts): what it writes reads back as the same
// aggregate, field order included (a report writes objects in their field order), for any strings
// (NUL, `__proto__`, lone surrogates) and any times (a time never seen is ±Infinity).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { shape } from '../helpers.js';
import { SUBJECT_CODEC } from '../../src/analyses/rbacgen/codec.js';
import { encodeLine, decodeLine } from '../../src/scale/codec.js';
import type { KeyAgg, RoleWriteAgg, SubjectAgg } from '../../src/analyses/rbacgen/index.js';

const str = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', '$', '\u0000', '\ud800', 'constructor', ''));
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constantFrom(Infinity, -Infinity, NaN, -0));

const keyAgg: fc.Arbitrary<KeyAgg> = fc
  .record({
    scope: str,
    apiGroup: str,
    resource: str,
    subresource: str,
    nonResourceURL: str,
    verb: str,
    kind: fc.constantFrom('request', 'impersonate', 'bind', 'escalate'),
    count: fc.nat(),
    firstMs: time,
    first: str,
    lastMs: time,
    last: str,
    names: fc.option(fc.uniqueArray(str, { maxLength: 4 }).map((a) => new Set(a))),
    unnamed: fc.boolean(),
    examples: fc.array(fc.tuple(time, str), { maxLength: 2 }),
  })
  .map((k) => k as KeyAgg);

const keyMap = fc.uniqueArray(fc.tuple(str, keyAgg), { maxLength: 3, selector: (e) => e[0] }).map((a) => new Map(a));

const roleWrite: fc.Arbitrary<RoleWriteAgg> = fc.record({
  scope: str,
  resource: fc.constantFrom('roles', 'clusterroles'),
  name: str,
  rules: fc.uniqueArray(fc.tuple(str, fc.record({ verbs: fc.array(str, { maxLength: 2 }), apiGroups: fc.array(str, { maxLength: 2 }) })), { maxLength: 2, selector: (e) => e[0] }).map((a) => new Map(a)),
  aggregation: fc.boolean(),
  aggregationMaybe: fc.boolean(),
  count: fc.nat(),
  firstMs: time,
  first: str,
  lastMs: time,
  last: str,
  examples: fc.array(fc.tuple(time, str), { maxLength: 2 }),
}) as fc.Arbitrary<RoleWriteAgg>;

const subjectAgg: fc.Arbitrary<SubjectAgg> = fc.record({
  subject: fc.record({ kind: fc.constantFrom('User', 'ServiceAccount', 'Group'), name: str, namespace: str }),
  requests: fc.nat(),
  keys: keyMap,
  defaults: keyMap,
  roleWrites: fc.uniqueArray(fc.tuple(str, roleWrite), { maxLength: 2, selector: (e) => e[0] }).map((a) => new Map(a)),
}) as fc.Arbitrary<SubjectAgg>;

describe('rbac-gen subject codec', () => {
  it('decode(encode(x)) equals x, field order, -0, NaN and ±Infinity included', () => {
    fc.assert(
      fc.property(str, subjectAgg, (key, agg) => {
        const line = SUBJECT_CODEC.encode([key, agg]);
        expect(line).not.toContain('\n');
        const back = SUBJECT_CODEC.decode(line);
        expect(back[0]).toBe(key);
        expect(shape(back[1])).toEqual(shape(agg));
        // The same value the generic codec gives back.
        expect(shape(back)).toEqual(shape(decodeLine(encodeLine([key, agg]))));
      }),
      { numRuns: 300 },
    );
  });

  it('gives every decoded permission the field order addKey gives it', () => {
    const k: KeyAgg = { scope: 'a', apiGroup: '', resource: 'pods', subresource: '', nonResourceURL: '', verb: 'get', kind: 'request', count: 1, firstMs: 1, first: 't', lastMs: 1, last: 't', names: new Set(['p']), unnamed: false, examples: [[1, 'id']] };
    const agg: SubjectAgg = { subject: { kind: 'User', name: 'u', namespace: '' }, requests: 1, keys: new Map([['k', k]]), defaults: new Map(), roleWrites: new Map() };
    const [, back] = SUBJECT_CODEC.decode(SUBJECT_CODEC.encode(['x', agg]));
    expect(Object.keys(back)).toEqual(Object.keys(agg));
    expect(Object.keys(back.subject)).toEqual(['kind', 'name', 'namespace']);
    expect(Object.keys(back.keys.get('k')!)).toEqual(Object.keys(k));
  });
});

describe('the empty map subjects share (NO_ENTRIES)', () => {
  it('cannot be written to, and a subject that needs defaults or role writes gets maps of its own', async () => {
    const { NO_ENTRIES } = await import('../../src/analyses/rbacgen/empty.js');
    const { rbacGen, mergeSubject, subjectSortKey } = await import('../../src/analyses/rbacgen/index.js');
    const { normalizeValue } = await import('../../src/normalize/index.js');
    const { event } = await import('../helpers.js');
    expect(() => (NO_ENTRIES as Map<string, unknown>).set('x', 1 as never)).toThrow(/internal error/);
    const s = rbacGen.init({ includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 20, scope: 'namespaced', verbs: 'exact', wildcards: 'never', resourceNames: false });
    const user = (name: string) => ({ username: name, groups: ['system:authenticated'] });
    // bob asks for what the defaults allow (a self subject access review), alice for pods, carol writes a Role.
    rbacGen.add(s, normalizeValue(event({ auditID: 'a1', user: user('alice'), verb: 'get', requestURI: '/api/v1/namespaces/a/pods/p', objectRef: { resource: 'pods', namespace: 'a', name: 'p', apiVersion: 'v1' } }), '') as never);
    rbacGen.add(s, normalizeValue(event({ auditID: 'b1', user: user('bob'), verb: 'create', requestURI: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', objectRef: { resource: 'selfsubjectaccessreviews', apiGroup: 'authorization.k8s.io', apiVersion: 'v1' } }), '') as never);
    const body = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'a' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
    rbacGen.add(s, normalizeValue(event({ auditID: 'c1', level: 'Request', user: user('carol'), verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/a/roles', objectRef: { resource: 'roles', namespace: 'a', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' }, requestObject: body, responseStatus: { metadata: {}, code: 201 } }), '') as never);
    const get = (name: string) => s.subjects.map.get(subjectSortKey({ kind: 'User', name, namespace: '' }))!;
    expect(get('alice').defaults).toBe(NO_ENTRIES);
    expect(get('alice').roleWrites).toBe(NO_ENTRIES);
    expect(get('bob').defaults).not.toBe(NO_ENTRIES);
    expect(get('bob').defaults.size).toBe(1);
    expect(get('carol').roleWrites).not.toBe(NO_ENTRIES);
    expect(get('carol').roleWrites.size).toBe(1);
    expect(NO_ENTRIES.size).toBe(0);
    // Merging into a subject that still shares the empty map takes the other side's map; the shared one stays empty.
    const merged = mergeSubject(get('alice'), { ...get('bob'), roleWrites: get('carol').roleWrites }, 20);
    expect(merged.defaults.size).toBe(1);
    expect(merged.roleWrites.size).toBe(1);
    expect(NO_ENTRIES.size).toBe(0);
    // What a run gives back shares it again where empty.
    const [, back] = SUBJECT_CODEC.decode(SUBJECT_CODEC.encode(['k', { ...get('alice'), defaults: new Map(), roleWrites: new Map() }]));
    expect(back.defaults).toBe(NO_ENTRIES);
    expect(back.roleWrites).toBe(NO_ENTRIES);
  });
});
