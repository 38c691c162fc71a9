// Property tests (fast-check) for rbac-gen over random request sets: impersonation (users, groups,
// extras, uids, service accounts), groups that vary per request, creates on collections and named
// subresources, list/watch with field selectors, RBAC writes with and without bodies, denied requests.
//  P1. The generated policy, with the default bootstrap bindings, allows every check rbac-gen kept
//      (and every role write passes the escalation check), in every strategy; kubectl accepts it.
//  P2. With --verbs exact --wildcards never --resource-names, the generated policy allows no
//      (verb, resource, namespace, name) and no (verb, path) that was not observed.
//  P3. Object names are unique: distinct subjects never share a name, and parseObjectName inverts it.
//  P4. Merging partial states equals one pass.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { event } from '../helpers.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { rbacGen, type RbacGenOptions } from '../../src/analyses/rbacgen/index.js';
import { DEFAULT_GENERATE, toPlainObject, policyObjectName, type GenerateOptions } from '../../src/rbac/generate.js';
import { Authorizer, mergeSnapshots } from '../../src/rbac/authorizer.js';
import { addObject, emptySnapshot } from '../../src/rbac/load.js';
import { defaultsSnapshot } from '../../src/rbac/defaults.js';
import { covers } from '../../src/rbac/match.js';
import { impersonationChecks, rbacWrite, requestAttributes, userInfo, type AuthzCheck } from '../../src/rbac/request.js';
import { objectName, parseObjectName, type NameKind } from '../../src/rbac/names.js';
import { validateRbacObject } from '../../src/rbac/validate.js';
import { objectsYaml } from '../../src/render/rbac-yaml.js';
import type { AuditRecord, InputAccounting, RequestAttributes } from '../../src/types.js';
import { expectKubectlAccepts, hasKubectl } from './kubectl.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
const RG = 'rbac.authorization.k8s.io';

// ---------- random audit events, shaped as the API server writes them ----------

const RESOURCES: { group: string; resource: string; sub: string; namespaced: boolean }[] = [
  { group: '', resource: 'pods', sub: '', namespaced: true },
  { group: '', resource: 'pods', sub: 'log', namespaced: true },
  { group: '', resource: 'pods', sub: 'exec', namespaced: true },
  { group: '', resource: 'secrets', sub: '', namespaced: true },
  { group: '', resource: 'configmaps', sub: '', namespaced: true },
  { group: '', resource: 'serviceaccounts', sub: 'token', namespaced: true },
  { group: 'apps', resource: 'deployments', sub: '', namespaced: true },
  { group: 'apps', resource: 'deployments', sub: 'scale', namespaced: true },
  { group: '', resource: 'nodes', sub: '', namespaced: false },
  { group: '', resource: 'namespaces', sub: '', namespaced: false },
  { group: RG, resource: 'clusterroles', sub: '', namespaced: false },
  { group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews', sub: '', namespaced: false },
];
const USERS = ['alice', 'bob', 'system:serviceaccount:team-a:deployer', 'system:serviceaccount:team:a-deployer'];
const NAMESPACES = ['a', 'b', 'team-a'];
// Names an attacker may choose: a separator (NUL), control characters, quotes, a line break.
const NAMES = ['x', 'y', 'a\u0000b\u0007"\nz'];
const PATHS = ['/metrics', '/healthz', '/healthz/etcd', '/version', '/apis', '/custom'];
const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

interface Spec {
  user: string;
  groups: string[];
  denied: boolean;
  what:
    | { t: 'res'; r: number; verb: string; ns: string; name: string; fieldSelector: boolean }
    | { t: 'url'; verb: string; path: string }
    | { t: 'bind'; ns: string; name: string; ref: [string, string]; body: boolean }
    | { t: 'role'; ns: string; name: string; verb: 'create' | 'update'; rules: number[] };
  imp: null | { as: string; groups: string[]; extra: boolean; uid: boolean };
}

const RULE_POOL = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['list'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
];

const specArb: fc.Arbitrary<Spec> = fc.record({
  user: fc.constantFrom(...USERS),
  groups: fc.subarray(['devs', 'ops']),
  denied: fc.boolean().map((b) => b && Math.random() < 0.5),
  what: fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('res' as const), r: fc.nat(RESOURCES.length - 1), verb: fc.constantFrom(...VERBS), ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...NAMES), fieldSelector: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('url' as const), verb: fc.constantFrom('get', 'head', 'post'), path: fc.constantFrom(...PATHS) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('bind' as const), ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...NAMES), ref: fc.constantFrom<[string, string]>(['ClusterRole', 'view'], ['Role', 'deployer']), body: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('role' as const), ns: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...NAMES), verb: fc.constantFrom('create' as const, 'update' as const), rules: fc.subarray([0, 1, 2]) }) },
  ),
  imp: fc.option(fc.record({ as: fc.constantFrom('bob', 'dave', 'system:serviceaccount:a:bot'), groups: fc.subarray(['devs', 'qa']), extra: fc.boolean(), uid: fc.boolean() }), { freq: 4 }),
});

function toEvent(s: Spec, i: number): Record<string, unknown> {
  const o: Record<string, unknown> = { auditID: `e${i}`, requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 2, 0, 0, i)).toISOString() };
  const w = s.what;
  let verb: string;
  let uri: string;
  let ref: Record<string, string> | undefined;
  if (w.t === 'url') {
    verb = w.verb;
    uri = w.path;
  } else if (w.t === 'res') {
    const R = RESOURCES[w.r]!;
    verb = w.verb;
    const sub = R.sub;
    if (sub && !['get', 'create', 'update', 'patch'].includes(verb)) verb = sub === 'exec' ? 'create' : 'get';
    const prefix = R.group ? `/apis/${R.group}/v1` : '/api/v1';
    const ns = R.namespaced ? w.ns : '';
    const nsPart = ns ? `/namespaces/${ns}` : '';
    const named = sub !== '' || ['get', 'update', 'patch', 'delete'].includes(verb);
    if (R.resource === 'namespaces') {
      uri = `${prefix}/namespaces${named ? `/${w.ns}` : ''}`;
      ref = { resource: 'namespaces', ...(named ? { namespace: w.ns, name: w.ns } : {}) };
      if (verb === 'create') ref = { resource: 'namespaces', name: w.ns };
    } else {
      uri = `${prefix}${nsPart}/${R.resource}${named ? `/${w.name}` : ''}${sub ? `/${sub}` : ''}`;
      ref = { resource: R.resource, ...(R.group ? { apiGroup: R.group } : {}), ...(ns ? { namespace: ns } : {}), ...(sub ? { subresource: sub } : {}) };
      if (named || verb === 'create') ref.name = w.name; // a create's objectRef.name is filled from the body
      if ((verb === 'list' || verb === 'watch') && w.fieldSelector) {
        uri += `?fieldSelector=metadata.name%3D${w.name}${verb === 'watch' ? '&watch=true' : ''}`;
        ref.name = w.name;
      }
    }
  } else if (w.t === 'bind') {
    verb = 'create';
    uri = `/apis/${RG}/v1/namespaces/${w.ns}/rolebindings`;
    ref = { resource: 'rolebindings', apiGroup: RG, namespace: w.ns, name: w.name };
    if (w.body) {
      o.level = 'Request';
      o.requestObject = { kind: 'RoleBinding', metadata: { name: w.name, namespace: w.ns }, roleRef: { apiGroup: RG, kind: w.ref[0], name: w.ref[1] }, subjects: [{ kind: 'User', name: 'x', apiGroup: RG }] };
    }
  } else {
    verb = w.verb;
    uri = `/apis/${RG}/v1/namespaces/${w.ns}/roles${w.verb === 'create' ? '' : `/${w.name}`}`;
    ref = { resource: 'roles', apiGroup: RG, namespace: w.ns, name: w.name };
    o.level = 'Request';
    o.requestObject = { kind: 'Role', metadata: { name: w.name, namespace: w.ns }, rules: w.rules.map((k) => RULE_POOL[k]) };
  }
  o.verb = verb;
  o.requestURI = uri;
  o.objectRef = ref ? { apiVersion: 'v1', ...ref } : undefined;
  const sa = /^system:serviceaccount:([^:]+):/.exec(s.user);
  const groups = [...s.groups, ...(sa ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : []), 'system:authenticated'];
  if (s.imp) {
    o.user = { username: 'carol', groups: ['impersonators', 'system:authenticated'] };
    const isa = /^system:serviceaccount:([^:]+):/.exec(s.imp.as);
    const ig = s.imp.groups.length ? [...s.imp.groups, 'system:authenticated'] : isa ? ['system:serviceaccounts', `system:serviceaccounts:${isa[1]}`, 'system:authenticated'] : ['system:authenticated'];
    o.impersonatedUser = { username: s.imp.as, groups: ig, ...(s.imp.extra ? { extra: { scopes: ['view', 'edit'] } } : {}), ...(s.imp.uid ? { uid: 'u-1' } : {}) };
  } else o.user = { username: s.user, groups };
  const code = s.denied ? 403 : verb === 'create' ? 201 : 200;
  o.responseStatus = { metadata: {}, code };
  o.annotations = { 'authorization.k8s.io/decision': s.denied ? 'forbid' : 'allow' };
  return event(o);
}

function records(specs: Spec[]): AuditRecord[] {
  return specs.map((s, i) => {
    const r = normalizeValue(JSON.parse(JSON.stringify(toEvent(s, i))), '');
    if (typeof r === 'string') throw new Error(r);
    return r;
  });
}

function generateFor(recs: AuditRecord[], o: Partial<RbacGenOptions>) {
  const opts: RbacGenOptions = { ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 20, ...o };
  const s = rbacGen.init(opts);
  for (const r of recs) rbacGen.add(s, r);
  const report = rbacGen.finish(s, { input: NO_INPUT });
  const objects = [...report.policies].flatMap((p) => p.objects);
  const snap = emptySnapshot();
  for (const obj of objects) {
    expect(validateRbacObject(toPlainObject(obj))).toEqual([]);
    addObject(snap, toPlainObject(obj), 'generated');
  }
  return { report, objects, alone: new Authorizer(snap), withDefaults: new Authorizer(mergeSnapshots(snap, defaultsSnapshot())) };
}

/** Every authorization check of a record that rbac-gen is to grant (or leave to the defaults). */
function keptChecks(r: AuditRecord, o: { includeDenied: boolean }): AuthzCheck[] {
  const out: AuthzCheck[] = [];
  if (r.decision !== 'forbid' || o.includeDenied) out.push({ kind: 'request', user: userInfo(r), attrs: requestAttributes(r) });
  out.push(...impersonationChecks(r));
  const w = r.decision === 'forbid' ? null : rbacWrite(r);
  if (w?.bind && w.outcome === 'passed') out.push(w.bind);
  return out;
}

const STRATEGIES: Partial<GenerateOptions & { includeDenied: boolean }>[] = [
  {},
  { includeDenied: true },
  { verbs: 'grouped' },
  { wildcards: 'safe' },
  { resourceNames: true },
  { scope: 'cluster' },
  { resourceNames: true, verbs: 'grouped', scope: 'cluster', includeDenied: true },
];

const requireKubectl = process.env.KAUDIT_REQUIRE_KUBECTL === '1';

describe('P1: the generated policy with the defaults allows every check it was generated from', () => {
  it('in every strategy, and kubectl accepts every policy', async () => {
    const runs: Promise<unknown>[] = [];
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 40 }), fc.constantFrom(...STRATEGIES), (specs, strategy) => {
        const recs = records(specs);
        const { report, objects, withDefaults } = generateFor(recs, strategy);
        expect(report.selfCheck.uncovered).toEqual([]);
        for (const r of recs) {
          for (const c of keptChecks(r, { includeDenied: !!strategy.includeDenied })) {
            expect(withDefaults.allows(c.user, c.attrs).allowed, `${c.kind} ${c.user.user}: ${JSON.stringify(c.attrs)}`).toBe(true);
          }
          // A role write passes the escalation check: escalate on it, or every rule it writes is held.
          const w = r.decision === 'forbid' ? null : rbacWrite(r);
          if (w?.object === 'role' && w.rules && w.outcome === 'passed') {
            const held = withDefaults.rulesFor(w.escalate!.user, w.escalate!.attrs.namespace);
            expect(withDefaults.allows(w.escalate!.user, w.escalate!.attrs).allowed || covers(held, w.rules).covered, `role write by ${r.subject}`).toBe(true);
          }
        }
        if (hasKubectl || requireKubectl) runs.push(expectKubectlAccepts(objectsYaml(objects, true), 'property-p1'));
      }),
      { numRuns: 60, seed: 1212 },
    );
    await Promise.all(runs);
  });
});

type Tuple = { verb: string; apiGroup: string; resource: string; subresource: string; scope: string; name: string | null; url: string };

describe('P2: with --verbs exact --wildcards never --resource-names nothing unobserved is allowed', () => {
  it('no (verb, resource, namespace, name) and no (verb, path) beyond what was asked', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 1, maxLength: 40 }), (specs) => {
        const recs = records(specs);
        const { alone } = generateFor(recs, { verbs: 'exact', wildcards: 'never', resourceNames: true });
        // What each identity was observed doing (a null name: some request had none).
        const seen = new Map<string, Tuple[]>();
        for (const r of recs) {
          for (const c of keptChecks(r, { includeDenied: false })) {
            const a = c.attrs;
            const list = seen.get(c.user.user) ?? [];
            list.push({ verb: a.verb, apiGroup: a.apiGroup, resource: a.resource, subresource: a.subresource, scope: a.namespace, name: a.name === '' ? null : a.name, url: a.nonResourceURL });
            seen.set(c.user.user, list);
          }
          const w = r.decision === 'forbid' ? null : rbacWrite(r);
          if (w?.escalate) {
            const a = w.escalate.attrs;
            const list = seen.get(w.escalate.user.user) ?? [];
            list.push({ verb: 'escalate', apiGroup: a.apiGroup, resource: a.resource, subresource: '', scope: a.namespace, name: a.name === '' ? null : a.name, url: '' });
            seen.set(w.escalate.user.user, list);
          }
        }
        const observed = (user: string, q: RequestAttributes): boolean =>
          (seen.get(user) ?? []).some((t) =>
            q.resource === ''
              ? t.resource === '' && t.verb === q.verb && t.url === q.nonResourceURL
              : t.verb === q.verb && t.apiGroup === q.apiGroup && t.resource === q.resource && t.subresource === q.subresource && (t.scope === q.namespace || t.scope === '') && (t.name === null || t.name === q.name),
          );
        const probes: RequestAttributes[] = [];
        const verbs = [...VERBS, 'bind', 'escalate', 'impersonate'];
        for (const R of [...RESOURCES, { group: RG, resource: 'roles', sub: '' }, { group: RG, resource: 'rolebindings', sub: '' }, { group: RG, resource: 'clusterroles', sub: '' }, { group: '', resource: 'users', sub: '' }, { group: '', resource: 'groups', sub: '' }])
          for (const verb of verbs) for (const ns of ['', ...NAMESPACES]) for (const name of ['', ...NAMES, 'view', 'deployer', 'bob', 'devs', 'other']) probes.push({ verb, apiGroup: R.group, resource: R.resource, subresource: R.sub, namespace: ns, name, nonResourceURL: '' });
        for (const verb of ['get', 'head', 'post', 'put']) for (const p of [...PATHS, '/other']) probes.push({ verb, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', nonResourceURL: p });
        for (const user of [...USERS, 'carol']) {
          const groups = ['system:authenticated'];
          for (const q of probes) {
            if (alone.allows({ user, groups }, q).allowed) expect(observed(user, q), `${user} may ${q.verb} ${q.nonResourceURL || `${q.apiGroup}/${q.resource}/${q.subresource} ${q.namespace}/${q.name}`} but never did`).toBe(true);
          }
        }
      }),
      { numRuns: 40, seed: 4242 },
    );
  });
});

describe('P3: object names are unique by construction', () => {
  const kinds: NameKind[] = ['user', 'sa', 'group'];
  const identity = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom('alice', 'team-a:deployer', 'team:a-deployer', 'ns.name', 'a.b', 'Alice', 'alice@example.com', 'kaudit-user.alice', 'system:serviceaccount:a:b'),
    fc.string({ unit: fc.constantFrom('a', '-', '.', ':', 'Z', '@'), maxLength: 300 }),
  );
  it('distinct (kind, identity, variant) never share a name; parseObjectName inverts it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...kinds), identity, fc.constantFrom('' as const, 'ns' as const), fc.constantFrom(...kinds), identity, fc.constantFrom('' as const, 'ns' as const), (k1, i1, v1, k2, i2, v2) => {
        const n1 = objectName(k1, i1, v1);
        const n2 = objectName(k2, i2, v2);
        expect(n1).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
        expect(n1.length).toBeLessThanOrEqual(240);
        const p = parseObjectName(n1)!;
        expect(p.kind).toBe(k1);
        expect(p.variant).toBe(v1);
        if (p.identity !== null) expect(p.identity).toBe(i1);
        if (k1 !== k2 || i1 !== i2 || v1 !== v2) expect(n1).not.toBe(n2);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('in a generated policy, every object (kind, namespace, name) and every --out-dir file belongs to one subject', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.oneof(fc.constantFrom(...USERS, 'system:serviceaccount:team-a:deployer', 'kaudit-user.alice', 'Alice', 'alice'), fc.string({ minLength: 1, maxLength: 12 })), { minLength: 1, maxLength: 12 }), (users) => {
        const recs = users.map((u, i) => {
          const r = normalizeValue(event({ auditID: `n${i}`, user: { username: u, groups: ['system:authenticated'] }, verb: 'get', requestURI: '/api/v1/namespaces/a/pods/p', objectRef: { resource: 'pods', namespace: 'a', name: 'p', apiVersion: 'v1' } }), '');
          if (typeof r === 'string') throw new Error(r);
          return r;
        });
        const s = rbacGen.init({ ...DEFAULT_GENERATE, includeSystem: true, includeDiscovery: false, includeDenied: false, maxNames: 20 });
        for (const r of recs) rbacGen.add(s, r);
        const rep = rbacGen.finish(s, { input: NO_INPUT });
        const owner = new Map<string, string>();
        const files = new Map<string, string>();
        for (const p of rep.policies) {
          const who = JSON.stringify(p.subject);
          const f = policyObjectName(p.subject).toLowerCase();
          expect(files.get(f) ?? who).toBe(who);
          files.set(f, who);
          for (const o of p.objects) {
            const k = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
            expect(owner.get(k) ?? who).toBe(who);
            owner.set(k, who);
          }
        }
      }),
      { numRuns: 200, seed: 99 },
    );
  });
});

describe('P4: merging partial states equals one pass', () => {
  it('for any split of any request set', () => {
    fc.assert(
      fc.property(fc.array(specArb, { minLength: 2, maxLength: 40 }), fc.nat(), (specs, cutSeed) => {
        const recs = records(specs);
        const o: RbacGenOptions = { ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, includeDenied: true, maxNames: 2, resourceNames: true };
        const whole = rbacGen.init(o);
        for (const r of recs) rbacGen.add(whole, r);
        const cut = cutSeed % recs.length;
        const a = rbacGen.init(o);
        const b = rbacGen.init(o);
        recs.forEach((r, i) => rbacGen.add(i < cut ? a : b, r));
        expect(rbacGen.finish(rbacGen.merge(a, b), { input: NO_INPUT })).toEqual(rbacGen.finish(whole, { input: NO_INPUT }));
      }),
      { numRuns: 80, seed: 3 },
    );
  });
});

describe('P5: grouping keys never merge distinct tuples (audit data may hold the separator)', () => {
  it('tupleKey is injective', async () => {
    const { tupleKey } = await import('../../src/util/key.js');
    const part = fc.oneof(fc.constantFrom('', '\u0000', 'a', 'a\u0000', '\u0000b', '[', '["a"]', '"'), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(part, { maxLength: 5 }), fc.array(part, { maxLength: 5 }), (a, b) => {
        if (JSON.stringify(a) !== JSON.stringify(b)) expect(tupleKey(a)).not.toBe(tupleKey(b));
        else expect(tupleKey(a)).toBe(tupleKey(b));
      }),
      { numRuns: 5000, seed: 5 },
    );
  });
});
