// Request attributes as the authorizer saw them: a port of NewRequestInfo
// (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) and fields.ParseSelector +
// RequiresExactMatch (staging/src/k8s.io/apimachinery/pkg/fields/selector.go), checked case by
// case; the default bootstrap bindings checked against the upstream copies in ../shared/corpus.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodePath, fieldSelectorExactMatch, GO_MAX_QUERY_PARAMS, impersonationChecks, labelSelectorParses, newRequestInfo, parseQuery, rbacWrite, requestAttributes, requestedGroups, splitServiceAccountUsername, type RequestInfo } from '../../src/rbac/request.js';
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
    // req.URL.Query() is url.ParseQuery: a pair holding ';' or a malformed escape is dropped (Go 1.17+).
    ['GET', '/api/v1/namespaces/a/pods?watch=1;x=y', { verb: 'list', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/a/pods?watch=%zz', { verb: 'list', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/a/pods?watch=%zz&watch=1', { verb: 'watch', namespace: 'a', resource: 'pods' }],
    ['GET', '/api/v1/namespaces/a/pods?wat%63h=yes', { verb: 'watch', namespace: 'a', resource: 'pods' }],
    // strconv.ParseInt fails outside int64: DecodeParameters fails, the field selector is not used.
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg&limit=99999999999999999999', { verb: 'list', namespace: 'a', resource: 'configmaps' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg&timeoutSeconds=', { verb: 'list', namespace: 'a', resource: 'configmaps' }],
    ['GET', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg&limit=%2B5', { verb: 'list', namespace: 'a', resource: 'configmaps', name: 'cfg' }],
    ['GET', '/api/v1/watch', null],
  ])('%s %s', (method, uri, want) => {
    const got = newRequestInfo(method, uri);
    if (want === null) expect(got).toBeNull();
    else expect({ ...got, path: '' }).toEqual(info(want));
  });

  // The list/watch verb and the field-selector name depend on DecodeParameters(req.URL.Query()) as a
  // whole (requestinfo.go NewRequestInfo): any parameter it cannot decode drops the name.
  it.each<[string, Partial<RequestInfo>]>([
    // Convert_url_Values_To_v1_ListOptions → Convert_v1_ListOptions_To_internalversion_ListOptions → labels.Parse
    ['labelSelector=app%3Dweb', { name: 'cfg' }],
    ['labelSelector=app%20in%20(a,b),!tier', { name: 'cfg' }],
    ['labelSelector=app%20notin%20()', { name: 'cfg' }],
    ['labelSelector=x%20in%20(in,notin)', { name: 'cfg' }], // in and notin are values in a value list
    ['labelSelector=in', { name: 'cfg' }], // and a key where a key is expected
    ['labelSelector=example.com/app!%3Dweb', { name: 'cfg' }],
    ['labelSelector=', { name: 'cfg' }],
    ['labelSelector=replicas%3E5', { name: 'cfg' }],
    ['labelSelector=%00!!', { name: 'cfg' }], // Lexer.read: a NUL byte where a token starts ends the input
    ['labelSelector=a%20b', {}],
    ['labelSelector=a,', {}],
    ['labelSelector=!app%3Dweb', {}],
    ['labelSelector=a%3D%3D%3Db', {}],
    ['labelSelector=a%00!!', {}], // inside a token a NUL byte only ends that token
    ['labelSelector=replicas%3Ex', {}], // Gt/Lt: strconv.ParseInt
    ['labelSelector=replicas%3E-5', {}], // and a valid label value
    ['labelSelector=-app', {}], // content.IsLabelKey
    ['labelSelector=Example.com/app', {}], // the prefix is a lowercase DNS-1123 subdomain
    ['labelSelector=a/b/c', {}],
    [`labelSelector=${'k'.repeat(64)}`, {}],
    [`labelSelector=a%3D${'v'.repeat(64)}`, {}], // IsValidLabelValue: at most 63
    [`labelSelector=a%3D${'v'.repeat(63)}`, { name: 'cfg' }],
    ['labelSelector=a%3D%C3%A9', {}],
    // the first value of a repeated parameter is the one decoded
    ['labelSelector=app&labelSelector=a%20b', { name: 'cfg' }],
    ['limit=5&limit=x', { name: 'cfg' }],
    ['limit=x&limit=5', {}],
    // parameters that cannot fail to decode
    ['resourceVersionMatch=Bogus&sendInitialEvents=x&allowWatchBookmarks=%%&shardSelector=%28', { name: 'cfg' }],
    // Convert_Slice_string_To_bool: "0" or strings.EqualFold(v, "false") is false (U+017F folds to s)
    ['watch=fal%C5%BFe', { verb: 'list', name: 'cfg' }],
    ['watch=FALSE', { verb: 'list', name: 'cfg' }],
    ['watch=no', { verb: 'watch', name: 'cfg' }],
    // when decoding failed, NewRequestInfo reads watch itself with strings.ToLower
    ['watch=fal%C5%BFe&limit=x', { verb: 'watch' }],
    ['watch=FALSE&limit=x', { verb: 'list' }],
    ['watch=1&limit=x', { verb: 'watch' }],
    // a name that is not UTF-8 is a name (content.IsPathSegmentName), kept byte for byte
    ['fieldSelector=metadata.name%3D%FF', { name: '\uDCFF' }],
  ])('GET /api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%%3Dcfg&%s', (query, want) => {
    const uri = `/api/v1/namespaces/a/configmaps?${query.startsWith('fieldSelector=') ? query : `fieldSelector=metadata.name%3Dcfg&${query}`}`;
    expect({ ...newRequestInfo('GET', uri), path: '' }).toEqual(info({ verb: 'list', namespace: 'a', resource: 'configmaps', ...want }));
  });

  it('above 10000 query parameters (Go urlmaxqueryparams) req.URL.Query() is empty: no watch, no name', () => {
    const base = '/api/v1/namespaces/a/configmaps?watch=1&fieldSelector=metadata.name%3Dcfg';
    expect(newRequestInfo('GET', base + '&'.repeat(GO_MAX_QUERY_PARAMS - 2))).toMatchObject({ verb: 'watch', name: 'cfg' });
    expect(newRequestInfo('GET', base + '&'.repeat(GO_MAX_QUERY_PARAMS - 1))).toMatchObject({ verb: 'list', name: '' });
  });

  it('a name that is not UTF-8 is taken from the URI: the event\'s objectRef holds U+FFFD in its place (encoding/json)', () => {
    const ev = (uri: string) => rec({ verb: 'get', requestURI: uri, objectRef: { resource: 'pods', namespace: 'a', name: '\uFFFD', apiVersion: 'v1' } });
    expect(requestAttributes(ev('/api/v1/namespaces/a/pods/%FF')).name).toBe('\uDCFF');
    expect(requestAttributes(ev('/api/v1/namespaces/a/pods/%EF%BF%BD')).name).toBe('\uFFFD'); // a real U+FFFD is itself
    const list = rec({ verb: 'list', requestURI: '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3D%FF', objectRef: { resource: 'pods', namespace: 'a', name: '\uFFFD', apiVersion: 'v1' } });
    expect(requestAttributes(list).name).toBe('\uDCFF');
  });

  it('a non-resource path is authorized as req.URL.Path: percent-decoded, not the escaped requestURI', () => {
    const r = rec({ verb: 'get', requestURI: '/%68ealthz?verbose', objectRef: undefined });
    expect(requestAttributes(r)).toMatchObject({ resource: '', nonResourceURL: '/healthz' });
    expect(newRequestInfo('GET', '/%61pis/apps/v1')).toMatchObject({ isResourceRequest: false, path: '/apis/apps/v1' });
  });

  it('terms are sorted as Go strings (UTF-8 bytes) before the first metadata.name term wins', () => {
    // U+FFFF sorts before U+1F600 in UTF-8, after it in UTF-16.
    expect(fieldSelectorExactMatch('metadata.name=\u{1F600},metadata.name=\uFFFF', 'metadata.name')).toBe('\uFFFF');
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
    // The filter appends system:authenticated last; anywhere else it was asked for (and checked).
    ['bob', ['system:authenticated', 'devs'], ['system:authenticated', 'devs']],
    ['bob', ['devs', 'system:authenticated', 'ops'], ['devs', 'system:authenticated', 'ops']],
    // With system:unauthenticated asked for, the filter adds nothing: a trailing system:authenticated was asked for too.
    ['bob', ['system:unauthenticated', 'system:authenticated'], ['system:unauthenticated', 'system:authenticated']],
    ['system:anonymous', ['system:unauthenticated', 'devs'], ['system:unauthenticated', 'devs']],
    // MakeGroupNames order: the service account's own groups in another order were asked for.
    ['system:serviceaccount:ns1:sa1', ['system:serviceaccounts:ns1', 'system:serviceaccounts', 'system:authenticated'], ['system:serviceaccounts:ns1', 'system:serviceaccounts']],
  ])('impersonating %s and ending with %j means asking for %j (WithImpersonation, impersonation.go)', (user, groups, want) => {
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
    // ClusterRoles() (bootstrappolicy/policy.go) since kubernetes/kubernetes#117511 (v1.28): the
    // trailing-slash paths the OpenAPI document names are granted too.
    ['get', '/openid/v1/jwks/', ['system:serviceaccounts', 'system:authenticated'], true],
    ['get', '/.well-known/openid-configuration/', ['system:serviceaccounts', 'system:authenticated'], true],
    ['get', '/.well-known/openid-configuration//', ['system:serviceaccounts', 'system:authenticated'], false],
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
      // The corpus copy predates kubernetes/kubernetes#117511 (v1.28), which added the trailing-slash
      // paths to system:service-account-issuer-discovery.
      const want = r.name === 'system:service-account-issuer-discovery' ? [{ nonResourceURLs: ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'], verbs: ['get'] }] : u!.rules;
      if (r.name === 'system:service-account-issuer-discovery') expect(u!.rules).toEqual([{ nonResourceURLs: ['/.well-known/openid-configuration', '/openid/v1/jwks'], verbs: ['get'] }]);
      expect(r.rules.map(ruleKey)).toEqual(want.map(ruleKey));
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

describe('url.ParseQuery as req.URL.Query() applies it (net/url parseQuery, QueryUnescape)', () => {
  const q = (m: Map<string, string[]>) => Object.fromEntries(m);
  it.each<[string, Record<string, string[]>]>([
    ['a=1&b=2&a=3', { a: ['1', '3'], b: ['2'] }],
    ['a', { a: [''] }],
    ['a=b=c', { a: ['b=c'] }],
    ['a%3Db=c', { 'a=b': ['c'] }],
    ['+a+=+b+', { ' a ': [' b '] }],
    ['a=%2B', { a: ['+'] }],
    ['&&a=1&', { a: ['1'] }],
    ['=x', { '': ['x'] }],
    ['a=1;b=2&c=3', { c: ['3'] }], // a pair holding ';' is dropped (Go 1.17+)
    ['a=%3B&c=3', { a: [';'], c: ['3'] }],
    ['a=%zz&b=1', { b: ['1'] }], // a malformed escape drops its pair only
    ['a=%&b=%4&c=%41', { c: ['A'] }],
    ['%C3%A9=%E2%82%AC', { é: ['€'] }],
    ['k=%FF%41', { k: ['\uDCFFA'] }], // bytes that are not UTF-8 stay bytes
    ['k=é', { k: ['é'] }],
  ])('%s', (query, want) => {
    expect(q(parseQuery(query))).toEqual(want);
  });

  it('urlmaxqueryparams: 10000 parameters (`&`s + 1) are read, 10001 are an error and nothing is read', () => {
    expect(q(parseQuery('&'.repeat(GO_MAX_QUERY_PARAMS - 1) + 'a=1'))).toEqual({ a: ['1'] });
    expect(q(parseQuery('&'.repeat(GO_MAX_QUERY_PARAMS) + 'a=1'))).toEqual({});
  });

  it('the pair is a map entry like any other when its key is __proto__', () => {
    expect(parseQuery('__proto__=x').get('__proto__')).toEqual(['x']);
  });
});

describe('req.URL.Path from the escaped path (net/url unescape, encodePath)', () => {
  it.each<[string, string | null]>([
    ['/api/v1/namespaces/a/pods/a%2Fb', '/api/v1/namespaces/a/pods/a/b'],
    ['/%61pis', '/apis'],
    ['/a+b', '/a+b'], // '+' is a space only in a query
    ['/a%20b', '/a b'],
    ['/%C3%A9', '/é'],
    ['/%FF', '/\uDCFF'],
    ['/%C0%AF', '/\uDCC0\uDCAF'], // overlong: not UTF-8 (utf8.DecodeRune), one byte at a time
    ['/%ED%A0%80', '/\uDCED\uDCA0\uDC80'], // a UTF-16 surrogate encoded in UTF-8
    ['/%F4%90%80%80', '/\uDCF4\uDC90\uDC80\uDC80'], // above U+10FFFF
    ['/%F0%9F%98%80', '/\u{1F600}'],
    ['/x%ZZ', null],
    ['/x%4', null],
    ['/x%', null],
  ])('%s', (raw, want) => {
    expect(decodePath(raw)).toBe(want);
  });
});

describe('labels.Parse accepts exactly what upstream accepts (k8s.io/apimachinery pkg/labels/selector.go)', () => {
  it.each<[string, boolean]>([
    ['', true],
    ['x', true],
    ['!x', true],
    ['x=a,y!=b', true],
    ['x==a', true],
    ['x in (a,b,c)', true],
    ['x notin (a)', true],
    ['x in (,a)', true],
    ['x in (a,)', true],
    ['x in (a,,b)', true],
    ['x in ()', true],
    ['x in (', false],
    ['x in a', false],
    ['  x  =  a  ,  y  ', true],
    ['x=', true], // the empty value
    ['x=,y', true],
    ['x>1', true],
    ['x<-1', false], // -1 is an integer but not a label value
    ['x>1.5', false],
    ['x>', false], // "" is not an integer
    ['x!', false],
    ['!', false],
    ['!x in (a)', false],
    ['x=a b', false],
    ['x=(a)', false],
    [',x', false],
    ['x,,y', false],
    ['a.b/c', true],
    ['a_b/c', false],
    ['/c', false],
    ['a/', false],
    ['x=a_b-c.d', true],
    ['x=_a', false],
    ['x=a\tb', false],
    ['x=a\nb', false],
  ])('%j: %s', (sel, ok) => {
    expect(labelSelectorParses(sel)).toBe(ok);
  });
});

describe('labels.Parse: the upstream test tables (k8s.io/apimachinery pkg/labels/selector_test.go TestSetSelectorParser, TestSelectorParse, at eed236c)', () => {
  it.each<[string, boolean]>([
    ["", true],
    ["\rx", true],
    ["this-is-a-dns.domain.com/key-with-dash", true],
    ["this-is-another-dns.domain.com/key-with-dash in (so,what)", true],
    ["0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", true],
    ["foo  in\t (abc)", true],
    ["x notin\n (abc)", true],
    ["x  notin\t\t\t(abc,def)", true],
    ["x in (abc,def)", true],
    ["x in (abc,)", true],
    ["x in (abc,abc)", true],
    ["x in ()", true],
    ["x in (a,,)", true],
    ["x in (a,,,)", true],
    ["x in (a,,,,,,)", true],
    ["x in (a,,a,,a,,a,,)", true],
    ["x notin (abc,,def),bar,z in (),w", true],
    ["x,y in (a)", true],
    ["x=a", true],
    ["x>1", true],
    ["x<7", true],
    ["x=a,y!=b", true],
    ["x=a,y!=b,z in (h,i,j)", true],
    ["x=a||y=b", false],
    ["x,,y", false],
    [",x,y", false],
    ["x nott in (y)", false],
    ["x notin ( )", true],
    ["x notin (, a)", true],
    ["a in (xyz),", false],
    ["a in (xyz)b notin ()", false],
    ["a ", true],
    ["a in (x,y,notin, z,in)", true],
    ["a in (xyz abc)", false],
    ["a notin(", false],
    ["a (", false],
    ["(", false],
    ["x=a,y=b,z=c", true],
    ["", true],
    ["x!=a,y=b", true],
    ["x=", true],
    ["x= ", true],
    ["x=,z= ", true],
    ["x= ,z= ", true],
    ["!x", true],
    ["x>1", true],
    ["x>1,z<5", true],
    ["x=a||y=b", false],
    ["x==a==b", false],
    ["!x=a", false],
    ["x<a", false],
  ])('%j valid: %s', (sel, ok) => {
    expect(labelSelectorParses(sel)).toBe(ok);
  });
});

describe('fields.ParseSelector: the upstream test table (k8s.io/apimachinery pkg/fields/selector_test.go TestSelectorParse, at eed236c)', () => {
  it.each<[string, boolean]>([
    ['x=a,y=b,z=c', true],
    ['', true],
    ['x!=a,y=b', true],
    ['x=a||y\\=b', true],
    ['x=a\\=\\=b', true],
    ['x=a||y=b', false],
    ['x==a==b', false],
    ['x=a,b', false],
    ['x in (a)', false],
    ['x in (a,b,c)', false],
    ['x', false],
  ])('%j valid: %s', (sel, ok) => {
    expect(fieldSelectorExactMatch(sel, 'metadata.name') !== undefined).toBe(ok);
  });
});
