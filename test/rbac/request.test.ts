// Request attributes as the authorizer saw them: a port of NewRequestInfo
// (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) and fields.ParseSelector +
// RequiresExactMatch (staging/src/k8s.io/apimachinery/pkg/fields/selector.go), checked case by
// case; the default bootstrap bindings checked against the upstream copies in ../shared/corpus.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fieldSelectorExactMatch, impersonationChecks, newRequestInfo, rbacWrite, requestAttributes, requestedGroups, splitServiceAccountUsername, type RequestInfo } from '../../src/rbac/request.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { defaultsAuthorizer, defaultsSnapshot } from '../../src/rbac/defaults.js';
import { loadRbac } from '../../src/rbac/load.js';
import { ruleKey } from '../../src/rbac/authorizer.js';
import type { AuditRecord } from '../../src/types.js';
import { event } from '../helpers.js';

const info = (o: Partial<RequestInfo>): RequestInfo => ({ isResourceRequest: true, path: '', verb: '', apiGroup: '', apiVersion: 'v1', namespace: '', resource: '', subresource: '', name: '', ...o });

describe('NewRequestInfo (requestinfo.go)', () => {
  it.each<[string, string, Partial<RequestInfo> | null]>([
    ['GET', '/api/v1/namespaces/a/pods/p', { verb: 'get', namespace: 'a', resource: 'pods', name: 'p' }],
    ['HEAD', '/api/v1/namespaces/a/pods/p', { verb: 'get', namespace: 'a', resource: 'pods', name: 'p' }],
    ['GET', '/api/v1/namespaces/a/pods', { verb: 'list', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/a/pods?watch=true', { verb: 'watch', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/a/pods?watch=0', { verb: 'list', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/a/pods?watch=', { verb: 'watch', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/watch/namespaces/a/pods/p', { verb: 'watch', namespace: 'a', resource: 'pods', name: 'p' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg', { verb: 'list', namespace: 'a', resource: 'configmaps', name: 'cfg' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3D%3Dcfg&watch=1', { verb: 'watch', namespace: 'a', resource: 'configmaps', name: 'cfg' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name!%3Dcfg', { verb: 'list', namespace: 'a', resource: 'configmaps' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Da%2Fb', { verb: 'list', namespace: 'a', resource: 'configmaps' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg&limit=x', { verb: 'list', namespace: 'a', resource: 'configmaps' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=status.phase%3DRunning,metadata.name%3Dcfg', { verb: 'list', namespace: 'a', resource: 'configmaps', name: 'cfg' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dc%5C%2Cd', { verb: 'list', namespace: 'a', resource: 'configmaps', name: 'c,d' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dc%2Cd', { verb: 'list', namespace: 'a', resource: 'configmaps' }],
    ['POST', '/api/v1/namespaces/a/configmaps', { verb: 'create', namespace: 'a', resource: 'configmaps' }],
    ['POST', '/api/v1/namespaces/a/pods/web/exec', { verb: 'create', namespace: 'a', resource: 'pods', name: 'web', subresource: 'exec' }],
    ['POST', '/api/v1/namespaces', { verb: 'create', resource: 'namespaces' }],
    ['GET', '/api/v1/namespaces/team', { verb: 'get', namespace: 'team', resource: 'namespaces', name: 'team' }],
    ['PUT', '/api/v1/namespaces/team/finalize', { verb: 'update', namespace: 'team', resource: 'namespaces', name: 'team', subresource: 'finalize' }],
    ['GET', '/api/v1/namespaces/team/status', { verb: 'get', namespace: 'team', resource: 'namespaces', name: 'team', subresource: 'status' }],
    ['DELETE', '/api/v1/namespaces/a/pods', { verb: 'deletecollection', namespace: 'a', resource: 'pods' }],
    ['DELETE', '/api/v1/namespaces/a/pods/p', { verb: 'delete', namespace: 'a', resource: 'pods', name: 'p' }],
    ['GET', '/api/v1/proxy/namespaces/a/pods/p/x/y', { verb: 'proxy', namespace: 'a', resource: 'pods', name: 'p' }],
    ['GET', '/apis/apps/v1/namespaces/a/deployments/d/scale', { verb: 'get', apiGroup: 'apps', namespace: 'a', resource: 'deployments', name: 'd', subresource: 'scale' }],
    ['GET', '/api/v1/namespaces/a/pods/a%2Fb', { verb: 'get', namespace: 'a', resource: 'pods', name: 'a', subresource: 'b' }],
    ['GET', '/api/v1/namespaces/a/pods/%ZZ', null],
    ['GET', '/api/v1/watch', null],
  ])('%s %s', (method, uri, want) => {
    const got = newRequestInfo(method, uri);
    if (want === null) expect(got).toBeNull();
    else expect({ ...got, path: '' }).toEqual(info(want));
  });

  it.each([
    ['HEAD', '/healthz', 'head'],
    ['GET', '/apis/apps', 'get'],
    ['GET', '/api/v1', 'get'],
    ['POST', '/debug/flags/v', 'post'],
  ])('non-resource %s %s: the lowercase method is the verb', (method, uri, verb) => {
    expect(newRequestInfo(method, uri)).toMatchObject({ isResourceRequest: false, verb, path: uri });
  });

  it.each<[string, string | null | undefined]>([
    ['metadata.name=x', 'x'],
    ['metadata.name==x', 'x'],
    ['metadata.name!=x', null],
    ['a=b,metadata.name=x', 'x'],
    ['metadata.name=x,metadata.name=y', 'x'],
    ['metadata.name=x\\,y', 'x,y'],
    ['metadata.name=x,y', undefined],
    ['metadata.name', undefined],
    ['metadata.name=a\\b', undefined],
    ['', null],
  ])('fields.ParseSelector(%j).RequiresExactMatch("metadata.name")', (sel, want) => {
    expect(fieldSelectorExactMatch(sel, 'metadata.name')).toBe(want);
  });
});

const rec = (o: Record<string, unknown>): AuditRecord => normalizeValue(event(o), '') as AuditRecord;

describe('requestAttributes: what the authorizer saw, not what the event shows later', () => {
  it('a create on a collection has no name (LogRequestObject filled objectRef.name afterwards)', () => {
    expect(requestAttributes(rec({ verb: 'create', requestURI: '/api/v1/namespaces/a/configmaps?fieldManager=kubectl-create', objectRef: { resource: 'configmaps', namespace: 'a', name: 'cfg', apiVersion: 'v1' } })).name).toBe('');
  });
  it('… also when the URI is missing (the record alone)', () => {
    expect(requestAttributes(rec({ verb: 'create', requestURI: '', objectRef: { resource: 'configmaps', namespace: 'a', name: 'cfg', apiVersion: 'v1' } })).name).toBe('');
  });
  it('namespaces/X carries namespace X, from the URI or from the record', () => {
    expect(requestAttributes(rec({ verb: 'get', requestURI: '/api/v1/namespaces/team', objectRef: { resource: 'namespaces', name: 'team', apiVersion: 'v1' } })).namespace).toBe('team');
    expect(requestAttributes(rec({ verb: 'delete', requestURI: '', objectRef: { resource: 'namespaces', name: 'team', apiVersion: 'v1' } })).namespace).toBe('team');
    expect(requestAttributes(rec({ verb: 'list', requestURI: '/api/v1/namespaces?fieldSelector=metadata.name%3Dteam', objectRef: { resource: 'namespaces', name: 'team', apiVersion: 'v1' } }))).toMatchObject({ namespace: '', name: 'team' });
  });
  it('a native list/watch keeps the objectRef name (the authorizer attributes), whatever the URI says', () => {
    expect(requestAttributes(rec({ verb: 'list', requestURI: '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dp', objectRef: { resource: 'pods', namespace: 'a', apiVersion: 'v1' } })).name).toBe('');
  });
  it('a GKE list takes the name from the field selector of the request URI', () => {
    const r = { ...rec({ verb: 'list', requestURI: '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dp', objectRef: { resource: 'pods', namespace: 'a', apiVersion: 'v1' } }), provider: 'gke' };
    expect(requestAttributes(r).name).toBe('p');
  });
});

describe('impersonation checks (impersonation.go)', () => {
  it('in the order buildImpersonationRequests makes them, judged with the impersonator\'s groups', () => {
    const r = rec({ user: { username: 'carol', groups: ['ops', 'system:authenticated'] }, impersonatedUser: { username: 'bob', uid: '7', groups: ['devs', 'system:authenticated'], extra: { scopes: ['a', 'b'], reason: ['x'] } } });
    expect(impersonationChecks(r).map((c) => [c.user.user, c.user.groups.join(','), c.attrs.apiGroup, c.attrs.resource, c.attrs.subresource, c.attrs.namespace, c.attrs.name])).toEqual([
      ['carol', 'ops,system:authenticated', '', 'users', '', '', 'bob'],
      ['carol', 'ops,system:authenticated', '', 'groups', '', '', 'devs'],
      ['carol', 'ops,system:authenticated', 'authentication.k8s.io', 'userextras', 'reason', '', 'x'],
      ['carol', 'ops,system:authenticated', 'authentication.k8s.io', 'userextras', 'scopes', '', 'a'],
      ['carol', 'ops,system:authenticated', 'authentication.k8s.io', 'userextras', 'scopes', '', 'b'],
      ['carol', 'ops,system:authenticated', 'authentication.k8s.io', 'uids', '', '', '7'],
    ]);
  });
  it('an extra key named __proto__ or constructor is checked like any other (userextras/__proto__)', () => {
    // JSON.parse gives the key as an own property; copying it by assignment set the record's
    // prototype instead, and the impersonate check on userextras/__proto__ was never made.
    const r = rec(JSON.parse('{"user":{"username":"carol","groups":["system:authenticated"]},"impersonatedUser":{"username":"bob","groups":["system:authenticated"],"extra":{"__proto__":["p"],"constructor":["c"]}}}'));
    expect(Object.keys(r.impersonatedExtra)).toEqual(['__proto__', 'constructor']);
    expect(impersonationChecks(r).filter((c) => c.attrs.resource === 'userextras').map((c) => [c.attrs.subresource, c.attrs.name])).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
    ]);
  });
  it.each<[string, string[], string[]]>([
    ['bob', ['system:authenticated'], []],
    ['bob', ['devs', 'system:authenticated'], ['devs']],
    ['bob', ['system:unauthenticated'], ['system:unauthenticated']],
    ['system:anonymous', ['system:unauthenticated'], []],
    ['system:anonymous', ['system:authenticated', 'system:unauthenticated'], ['system:authenticated']],
    ['system:serviceaccount:ns1:sa1', ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'], []],
    ['system:serviceaccount:ns1:sa1', ['system:serviceaccounts', 'system:authenticated'], ['system:serviceaccounts']],
  ])('impersonating %s and ending with %j means asking for %j', (user, groups, want) => {
    expect(requestedGroups(user, groups, splitServiceAccountUsername(user)?.namespace)).toEqual(want);
  });
  it.each([
    ['system:serviceaccount:ns1:sa1', { namespace: 'ns1', name: 'sa1' }],
    ['system:serviceaccount:ns1:a:b', null],
    ['system:serviceaccount:NS:sa', null],
    ['system:serviceaccount::sa', null],
    ['alice', null],
  ])('serviceaccount.SplitUsername(%j)', (u, want) => {
    expect(splitServiceAccountUsername(u)).toEqual(want);
  });
});

describe('RBAC writes (escalation_check.go, */policybased/storage.go)', () => {
  const write = (o: Record<string, unknown>) => rbacWrite(rec({ verb: 'create', apiVersion: 'v1', responseStatus: { code: 201 }, ...o }));
  it('a RoleBinding write: bind on its roleRef in the binding namespace; known only with the body', () => {
    const w = write({ level: 'Request', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/t/rolebindings', objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 't', name: 'b', apiVersion: 'v1' }, requestObject: { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' } } })!;
    expect(w.bind!.attrs).toEqual({ verb: 'bind', apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterroles', subresource: '', namespace: 't', name: 'view', nonResourceURL: '' });
    expect(w.outcome).toBe('passed');
    const none = write({ requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/t/rolebindings', objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 't', name: 'b', apiVersion: 'v1' } })!;
    expect(none.bind).toBeNull();
    expect(none.bodyMissing).toBe('request body not logged (audit level Metadata)');
  });
  it('a Role write: escalate with the name RequestInfo had (none for a create); the rules from the body', () => {
    const w = write({ level: 'Request', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/t/roles', objectRef: { resource: 'roles', apiGroup: 'rbac.authorization.k8s.io', namespace: 't', name: 'r', apiVersion: 'v1' }, requestObject: { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] } })!;
    expect(w.escalate!.attrs).toMatchObject({ verb: 'escalate', resource: 'roles', namespace: 't', name: '' });
    expect(w.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
  });
  it('system:masters skips the checks (EscalationAllowed); a 403 is a failed check; other codes leave it unknown', () => {
    const o = { requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterroles', objectRef: { resource: 'clusterroles', apiGroup: 'rbac.authorization.k8s.io', name: 'r', apiVersion: 'v1' } };
    expect(write({ ...o, user: { username: 'root', groups: ['system:masters'] } })).toBeNull();
    expect(write({ ...o, responseStatus: { code: 403 } })!.outcome).toBe('failed');
    expect(write({ ...o, responseStatus: { code: 409 } })!.outcome).toBe('unknown');
  });
});

describe('the default bootstrap bindings (src/rules/data/rbac-defaults.yaml)', () => {
  const a = defaultsAuthorizer();
  const url = (verb: string, nonResourceURL: string) => ({ verb, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', nonResourceURL });
  it.each<[string, string, string[], boolean]>([
    ['get', '/healthz', ['system:authenticated'], true],
    ['get', '/healthz', ['system:unauthenticated'], true],
    ['get', '/healthz/etcd', ['system:authenticated'], false],
    ['get', '/livez/ping', ['system:authenticated'], false],
    ['head', '/healthz', ['system:authenticated'], false],
    ['get', '/version/', ['system:unauthenticated'], true],
    ['get', '/apis', ['system:unauthenticated'], false],
    ['get', '/apis/apps/v1', ['system:authenticated'], true],
    ['get', '/openapi/v3', ['system:authenticated'], true],
    ['get', '/metrics', ['system:authenticated'], false],
    ['get', '/openid/v1/jwks', ['system:serviceaccounts', 'system:authenticated'], true],
    ['get', '/openid/v1/jwks', ['system:authenticated'], false],
  ])('%s %s for %j: %s', (verb, path, groups, want) => {
    expect(a.rbacAllows({ user: 'u', groups }, url(verb, path)).allowed).toBe(want);
  });
  it('self reviews, and nothing else of the resource API', () => {
    const req = (resource: string, apiGroup: string, verb = 'create') => ({ verb, apiGroup, resource, subresource: '', namespace: '', name: '', nonResourceURL: '' });
    expect(a.rbacAllows({ user: 'u', groups: ['system:authenticated'] }, req('selfsubjectaccessreviews', 'authorization.k8s.io')).allowed).toBe(true);
    expect(a.rbacAllows({ user: 'u', groups: ['system:authenticated'] }, req('selfsubjectreviews', 'authentication.k8s.io')).allowed).toBe(true);
    expect(a.rbacAllows({ user: 'u', groups: ['system:authenticated'] }, req('subjectaccessreviews', 'authorization.k8s.io')).allowed).toBe(false);
    expect(a.rbacAllows({ user: 'u', groups: ['system:unauthenticated'] }, req('selfsubjectaccessreviews', 'authorization.k8s.io')).allowed).toBe(false);
  });

  const CORPUS = join(__dirname, '..', '..', '..', 'shared', 'corpus', 'k8s-bootstrap-rbac');
  it.skipIf(!existsSync(CORPUS))('match the upstream bootstrap policy copies in ../shared/corpus (roles rule for rule, bindings subject for subject)', async () => {
    const up = await loadRbac([join(CORPUS, 'latest', 'cluster-roles.yaml'), join(CORPUS, 'openshift-kubernetes', 'cluster-role-bindings.yaml')]);
    const mine = defaultsSnapshot();
    for (const r of mine.roles) {
      const u = up.roles.find((x) => x.kind === 'ClusterRole' && x.name === r.name);
      expect(u, r.name).toBeDefined();
      expect(r.rules.map(ruleKey)).toEqual(u!.rules.map(ruleKey));
    }
    for (const b of mine.bindings) {
      const u = up.bindings.find((x) => x.kind === 'ClusterRoleBinding' && x.name === b.name);
      expect(u, b.name).toBeDefined();
      expect(b.roleRef).toEqual(u!.roleRef);
      expect(b.subjects).toEqual(u!.subjects);
    }
    // Every upstream binding to an everyone-group is in the defaults (the OpenShift-only role aside).
    const everyone = up.bindings.filter((b) => b.subjects.some((s) => s.kind === 'Group' && ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts'].includes(s.name)) && !b.name.startsWith('system:openshift:'));
    expect(everyone.map((b) => b.name).sort()).toEqual(mine.bindings.map((b) => b.name).sort());
  });
});
