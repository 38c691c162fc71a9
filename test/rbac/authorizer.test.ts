import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Authorizer, withImplicitGroups } from '../../src/rbac/authorizer.js';
import { addText, emptySnapshot, loadRbac } from '../../src/rbac/load.js';
import type { RequestAttributes, RbacSnapshot } from '../../src/types.js';
import { tmpDir, writeFiles } from '../helpers.js';

async function snap(yaml: string): Promise<RbacSnapshot> {
  const s = emptySnapshot();
  await addText(s, yaml, 'test.yaml');
  return s;
}
const req = (o: Partial<RequestAttributes>): RequestAttributes => ({ verb: 'get', apiGroup: '', resource: 'pods', subresource: '', namespace: 'a', name: '', nonResourceURL: '', ...o });

const POLICY = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: a}
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads-pods, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
- {apiGroups: [""], resources: [secrets], verbs: [get]}
- {nonResourceURLs: [/metrics], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bob-secrets-in-b, namespace: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: bob}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: carol-secrets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: auditors}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: node-viewers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-viewer}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: system:serviceaccounts:ci}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: node-viewer}
rules: [{apiGroups: [""], resources: [nodes], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dangling, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: does-not-exist}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-rbac, namespace: a}
`;

describe('authorizer: namespace scoping and bindings', () => {
  it.each<[string, string, string[], Partial<RequestAttributes>, boolean]>([
    ['Role via RoleBinding, in its namespace', 'alice', [], {}, true],
    ['Role via RoleBinding, another namespace', 'alice', [], { namespace: 'b' }, false],
    ['Role via RoleBinding, cluster-wide list (-A)', 'alice', [], { verb: 'list', namespace: '' }, false],
    ['ClusterRole via RoleBinding is limited to the binding namespace', 'bob', [], { resource: 'secrets', namespace: 'b' }, true],
    ['… and grants nothing elsewhere', 'bob', [], { resource: 'secrets', namespace: 'a' }, false],
    ['… nor its non-resource URLs (RoleBindings never grant them)', 'bob', [], { resource: '', nonResourceURL: '/metrics', namespace: '' }, false],
    ['ClusterRoleBinding to a group: any namespace', 'carol', ['auditors'], { resource: 'secrets', namespace: 'zzz' }, true],
    ['ClusterRoleBinding to a group: non-resource URL', 'carol', ['auditors'], { resource: '', nonResourceURL: '/metrics', namespace: '' }, true],
    ['implicit group system:serviceaccounts:NS', 'system:serviceaccount:ci:deployer', [], { resource: 'nodes', verb: 'list', namespace: '' }, true],
    ['implicit group of another namespace', 'system:serviceaccount:prod:deployer', [], { resource: 'nodes', verb: 'list', namespace: '' }, false],
    ['system:masters may do everything', 'root', ['system:masters'], { verb: 'delete', resource: 'namespaces', namespace: '' }, true],
    ['nobody else may', 'mallory', [], { verb: 'delete', resource: 'namespaces', namespace: '' }, false],
  ])('%s', async (_n, user, groups, q, want) => {
    const a = new Authorizer(await snap(POLICY));
    expect(a.allows({ user, groups }, req(q)).allowed).toBe(want);
  });

  it('says what allowed a request: binding, role and rule', async () => {
    const a = new Authorizer(await snap(POLICY));
    const d = a.allows({ user: 'bob', groups: [] }, req({ resource: 'secrets', namespace: 'b' }));
    expect(d.by[0]).toMatchObject({ binding: { kind: 'RoleBinding', name: 'bob-secrets-in-b', namespace: 'b' }, role: { kind: 'ClusterRole', name: 'secret-reader' }, ruleIndex: 0 });
  });

  it('reports bindings whose role is missing, and the kinds it ignored', async () => {
    const s = await snap(POLICY);
    const a = new Authorizer(s);
    expect(a.missing.map((m) => m.message)).toEqual(['RoleBinding a/dangling refers to Role does-not-exist, which is not in the export']);
    expect(s.ignored).toEqual({ ConfigMap: 1 });
  });

  it('counts ignored kinds named like Object properties (an export from a pull request is data)', async () => {
    const s = await snap('apiVersion: v1\nkind: constructor\nmetadata: {name: a}\n---\napiVersion: v1\nkind: __proto__\nmetadata: {name: b}\n---\napiVersion: v1\nkind: toString\nmetadata: {name: c}\n');
    expect(Object.entries(s.ignored).sort()).toEqual([['__proto__', 1], ['constructor', 1], ['toString', 1]]);
  });

  it('assumes the authenticators\' groups only when none were recorded; a recorded list is used as it is', () => {
    expect(withImplicitGroups({ user: 'system:serviceaccount:ci:d', groups: [] }).groups).toEqual(['system:authenticated', 'system:serviceaccounts', 'system:serviceaccounts:ci']);
    expect(withImplicitGroups({ user: 'system:anonymous', groups: [] }).groups).toEqual(['system:unauthenticated']);
    expect(withImplicitGroups({ user: 'system:serviceaccount:a:b:c', groups: [] }).groups).toEqual(['system:authenticated']);
    expect(withImplicitGroups({ user: 'alice', groups: ['sre'] }).groups).toEqual(['sre']);
  });
});

describe('grants cached per identity', () => {
  // grantsOf caches users no binding names by their groups alone: a million distinct users of a few
  // groups cost a few entries. Users a binding names directly keep entries of their own.
  const SHARED = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: deleter}
rules: [{apiGroups: [""], resources: [pods], verbs: [delete]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: team-reads}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: team}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sa-deletes, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deleter}
subjects: [{kind: ServiceAccount, name: ci}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-deletes, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: deleter}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}]
`;

  it('a user named by a binding never gets the grants of a same-group user, nor the other way round, whatever the order of questions', async () => {
    const s = await snap(SHARED);
    const del = req({ verb: 'delete' });
    for (const order of [['bob', 'alice', 'system:serviceaccount:a:ci', 'carol'], ['alice', 'system:serviceaccount:a:ci', 'carol', 'bob']]) {
      const a = new Authorizer(s);
      const seen = new Map<string, boolean[]>();
      for (const user of [...order, ...order]) {
        const groups = user.startsWith('system:') ? ['system:authenticated', 'system:serviceaccounts', 'system:serviceaccounts:a', 'team'] : ['system:authenticated', 'team'];
        seen.set(user, [a.allows({ user, groups }, req({})).allowed, a.allows({ user, groups }, del).allowed]);
      }
      expect(Object.fromEntries(seen)).toEqual({ bob: [true, false], carol: [true, false], alice: [true, true], 'system:serviceaccount:a:ci': [true, true] });
      // How the grant is held: through the group for bob, by name for alice (ClusterRoleBindings first).
      expect(a.grantsOf({ user: 'bob', groups: ['system:authenticated', 'team'] }).map((g) => g.via)).toEqual(['Group team']);
      expect(a.grantsOf({ user: 'alice', groups: ['system:authenticated', 'team'] }).map((g) => `${g.binding.name} ${g.via}`)).toEqual(['team-reads User alice', 'alice-deletes User alice']);
    }
  });

  it('users of the same groups share one cached list; users of other groups do not', async () => {
    const a = new Authorizer(await snap(SHARED));
    const g1 = a.grantsOf({ user: 'u1', groups: ['team'] });
    expect(a.grantsOf({ user: 'u2', groups: ['team'] })).toBe(g1);
    expect(a.grantsOf({ user: 'u3', groups: ['other'] })).toEqual([]);
    expect(a.grantsOf({ user: 'alice', groups: ['team'] })).not.toBe(g1);
  });
});

describe('aggregated ClusterRoles', () => {
  const AGG = `
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: monitoring}
  aggregationRule:
    clusterRoleSelectors:
    - matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}
  rules: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: monitoring-endpoints, labels: {rbac.example.com/aggregate-to-monitoring: "true"}}
  rules: [{apiGroups: [""], resources: [endpoints], verbs: [list]}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: super, labels: {}}
  aggregationRule:
    clusterRoleSelectors:
    - matchExpressions: [{key: tier, operator: In, values: [gold]}]
  rules: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: gold-nested, labels: {tier: gold}}
  aggregationRule:
    clusterRoleSelectors:
    - matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}
  rules: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: m}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
  subjects: [{kind: User, name: m, apiGroup: rbac.authorization.k8s.io}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: s}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: super}
  subjects: [{kind: User, name: s, apiGroup: rbac.authorization.k8s.io}]
`;
  it('fills rules from matchLabels', async () => {
    const a = new Authorizer(await snap(AGG));
    expect(a.allows({ user: 'm', groups: [] }, req({ verb: 'list', resource: 'endpoints' })).allowed).toBe(true);
  });
  it('replaces the aggregated role\'s own rules with the union, and says so when the export differs', async () => {
    const own = AGG.replace("metadata: {name: monitoring}\n  aggregationRule:", "metadata: {name: monitoring}\n  aggregationRule:").replace("  rules: null\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: monitoring-endpoints", "  rules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: monitoring-endpoints");
    expect(own).toContain('resources: [secrets]');
    const a = new Authorizer(await snap(own));
    expect(a.allows({ user: 'm', groups: [] }, req({ verb: 'list', resource: 'endpoints' })).allowed).toBe(true);
    expect(a.allows({ user: 'm', groups: [] }, req({ resource: 'secrets' })).allowed).toBe(false);
    expect(a.warnings).toEqual(['ClusterRole monitoring is aggregated: its rules are the union of the roles its selectors match (1 rules), not the 1 rules written in the export']);
  });
  it('fills rules from matchExpressions, through nested aggregation', async () => {
    const a = new Authorizer(await snap(AGG));
    expect(a.rulesOf('ClusterRole', '', 'gold-nested')).toHaveLength(1);
    expect(a.allows({ user: 's', groups: [] }, req({ verb: 'list', resource: 'endpoints' })).allowed).toBe(true);
    expect(a.allows({ user: 's', groups: [] }, req({ verb: 'get', resource: 'endpoints' })).allowed).toBe(false);
  });
});

describe('loading RBAC exports', () => {
  it('reads a kubectl -o json List, a directory, and objects with managedFields, null rules and no subjects', async () => {
    const dir = writeFiles(tmpDir(), {
      'export.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r', managedFields: [{ manager: 'kubectl' }] }, rules: null },
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'r' } },
        ],
      }),
      'nested/sa.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: x, namespace: ns}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}\nsubjects: [{kind: ServiceAccount, name: d}]\n',
    });
    const s = await loadRbac([dir]);
    expect(s.roles.map((r) => r.name)).toEqual(['r']);
    expect(s.bindings.map((b) => [b.kind, b.name, b.subjects.length])).toEqual([
      ['ClusterRoleBinding', 'b', 0],
      ['RoleBinding', 'x', 1],
    ]);
    expect(s.bindings[1]!.subjects[0]).toEqual({ kind: 'ServiceAccount', name: 'd' });
  });

  it('a file that is neither YAML nor JSON is an input error naming it', async () => {
    const dir = writeFiles(tmpDir(), { 'bad.yaml': 'a: [unclosed\n' });
    await expect(loadRbac([join(dir, 'bad.yaml')])).rejects.toThrow(/bad\.yaml: not YAML or JSON/);
  });
});

const BOOTSTRAP = join(__dirname, '..', '..', '..', 'shared', 'corpus', 'k8s-bootstrap-rbac');
describe.skipIf(!existsSync(BOOTSTRAP))('the real bootstrap policy (../shared/corpus/k8s-bootstrap-rbac)', () => {
  it.each(['latest', 'v1.9.0'])('%s loads completely', async (v) => {
    const s = await loadRbac([join(BOOTSTRAP, v)]);
    expect(s.roles.length).toBeGreaterThan(50);
    expect(s.bindings.length).toBeGreaterThan(30);
    expect(s.warnings).toEqual([]);
  });

  it('spot checks on the latest policy', async () => {
    const a = new Authorizer(await loadRbac([join(BOOTSTRAP, 'latest'), join(BOOTSTRAP, 'openshift-kubernetes')]));
    const sched = { user: 'system:kube-scheduler', groups: [] };
    expect(a.allows(sched, req({ verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'default' })).allowed).toBe(true);
    expect(a.allows(sched, req({ verb: 'delete', resource: 'secrets', namespace: 'default' })).allowed).toBe(false);
    // view, edit and admin are aggregated (rules: null in the export).
    const view = a.rulesOf('ClusterRole', '', 'view')!;
    expect(view.length).toBeGreaterThan(5);
    const viewer = new Authorizer({ ...a.snapshot, bindings: [{ kind: 'RoleBinding', name: 'v', namespace: 'team', roleRef: { kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'val' }] }] });
    const val = { user: 'val', groups: [] };
    expect(viewer.allows(val, req({ verb: 'list', namespace: 'team' })).allowed).toBe(true);
    expect(viewer.allows(val, req({ resource: 'secrets', namespace: 'team' })).allowed).toBe(false);
    expect(viewer.allows(val, req({ verb: 'list', namespace: 'other' })).allowed).toBe(false);
    // admin aggregates edit, which aggregates the impersonate rule for service accounts.
    const admin = a.rulesOf('ClusterRole', '', 'admin')!;
    expect(admin.some((r) => r.verbs.includes('impersonate') && r.resources?.includes('serviceaccounts'))).toBe(true);
    // Everyone authenticated may discover the API (system:discovery via system:authenticated).
    expect(a.allows({ user: 'anyone', groups: [] }, req({ resource: '', nonResourceURL: '/apis/apps/v1', namespace: '' })).allowed).toBe(true);
  });

  it('reports the controller bindings whose roles are not in the export (files from different commits)', async () => {
    const a = new Authorizer(await loadRbac([join(BOOTSTRAP, 'latest', 'controller-roles.yaml'), join(BOOTSTRAP, 'latest', 'controller-role-bindings.yaml')]));
    expect(a.missing.map((m) => m.binding.roleRef.name)).toContain('system:controller:podcheckpoint-controller');
  });
});
