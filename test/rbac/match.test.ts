// Kubernetes RBAC rule semantics, one table per rule (evaluation_helpers.go).
import { describe, it, expect } from 'vitest';
import { ruleAllows, selectorMatches, subjectMatches, nonResourceURLMatches, resourceMatches, covers, resourceCoversAll } from '../../src/rbac/match.js';
import type { PolicyRule, RequestAttributes, RbacSubject, LabelSelector } from '../../src/types.js';

const req = (o: Partial<RequestAttributes>): RequestAttributes => ({ verb: 'get', apiGroup: '', resource: 'pods', subresource: '', namespace: 'ns', name: '', nonResourceURL: '', ...o });
const rule = (o: Partial<PolicyRule>): PolicyRule => ({ verbs: ['get'], apiGroups: [''], resources: ['pods'], ...o });

describe('ruleAllows', () => {
  it.each<[string, Partial<PolicyRule>, Partial<RequestAttributes>, boolean]>([
    ['exact verb', {}, {}, true],
    ['other verb', {}, { verb: 'list' }, false],
    ['* verb', { verbs: ['*'] }, { verb: 'deletecollection' }, true],
    ['core group is ""', {}, { apiGroup: 'apps' }, false],
    ['* group', { apiGroups: ['*'] }, { apiGroup: 'apps' }, true],
    ['named group', { apiGroups: ['apps'], resources: ['deployments'] }, { apiGroup: 'apps', resource: 'deployments' }, true],
    ['no apiGroups matches nothing', { apiGroups: [] }, {}, false],
    ['* resource', { resources: ['*'] }, { resource: 'secrets' }, true],
    ['* resource covers subresources', { resources: ['*'] }, { resource: 'pods', subresource: 'exec' }, true],
    ['resource does not cover its subresources', {}, { subresource: 'log' }, false],
    ['resource/subresource', { resources: ['pods/log'] }, { subresource: 'log' }, true],
    ['resource/subresource does not cover the resource', { resources: ['pods/log'] }, {}, false],
    ['*/subresource', { resources: ['*/scale'], apiGroups: ['*'] }, { apiGroup: 'apps', resource: 'deployments', subresource: 'scale' }, true],
    ['*/subresource needs that subresource', { resources: ['*/scale'] }, { subresource: 'status' }, false],
    ['*/subresource does not match the resource itself', { resources: ['*/scale'] }, {}, false],
    ['empty resourceNames means all names', {}, { name: 'web-1' }, true],
    ['resourceNames: listed name', { resourceNames: ['web-1'] }, { name: 'web-1' }, true],
    ['resourceNames: other name', { resourceNames: ['web-1'] }, { name: 'web-2' }, false],
    ['resourceNames never allow nameless requests (list, create)', { resourceNames: ['web-1'], verbs: ['list'] }, { verb: 'list' }, false],
    ['a non-resource rule does not allow resource requests', { apiGroups: undefined, resources: undefined, nonResourceURLs: ['*'] }, {}, false],
    ['a resource rule does not allow non-resource requests', { resources: ['*'], apiGroups: ['*'] }, { resource: '', nonResourceURL: '/healthz' }, false],
  ])('%s', (_n, r, q, want) => {
    expect(ruleAllows(req(q), rule(r))).toBe(want);
  });
});

describe('nonResourceURLs', () => {
  it.each<[string[], string, boolean]>([
    [['*'], '/anything', true],
    [['/healthz'], '/healthz', true],
    [['/healthz'], '/healthz/etcd', false],
    [['/healthz/*'], '/healthz/etcd', true],
    [['/healthz/*'], '/healthz', false],
    [['/api*'], '/apis/apps/v1', true],
    [['/metrics'], '/metrics/slis', false],
    [['/metrics**'], '/metrics/slis', true],
  ])('%j allows %s: %s', (urls, path, want) => {
    expect(nonResourceURLMatches({ verbs: ['get'], nonResourceURLs: urls }, path)).toBe(want);
  });

  it('verbs still have to match', () => {
    expect(ruleAllows(req({ resource: '', nonResourceURL: '/metrics', verb: 'post' }), { verbs: ['get'], nonResourceURLs: ['/metrics'] })).toBe(false);
  });
});

describe('resourceMatches length check for */subresource', () => {
  it('"*/log" matches log but not a subresource that merely ends in "log"', () => {
    expect(resourceMatches({ verbs: [], resources: ['*/log'] }, 'pods/log', 'log')).toBe(true);
    expect(resourceMatches({ verbs: [], resources: ['*/log'] }, 'x/catalog', 'catalog')).toBe(false);
  });
});

describe('binding subjects', () => {
  it.each<[string, RbacSubject, string, string[], string, boolean]>([
    ['User by name', { kind: 'User', name: 'alice' }, 'alice', [], '', true],
    ['User by other name', { kind: 'User', name: 'alice' }, 'bob', [], '', false],
    ['Group membership', { kind: 'Group', name: 'sre' }, 'bob', ['sre'], '', true],
    ['ServiceAccount with namespace', { kind: 'ServiceAccount', name: 'd', namespace: 'ci' }, 'system:serviceaccount:ci:d', [], '', true],
    ['ServiceAccount in another namespace', { kind: 'ServiceAccount', name: 'd', namespace: 'ci' }, 'system:serviceaccount:prod:d', [], '', false],
    ["ServiceAccount without namespace takes the RoleBinding's", { kind: 'ServiceAccount', name: 'd' }, 'system:serviceaccount:ci:d', [], 'ci', true],
    ['ServiceAccount without namespace in a ClusterRoleBinding matches nobody', { kind: 'ServiceAccount', name: 'd' }, 'system:serviceaccount:ci:d', [], '', false],
  ])('%s', (_n, s, user, groups, ns, want) => {
    expect(subjectMatches(s, user, groups, ns)).toBe(want);
  });
});

describe('label selectors (aggregation)', () => {
  const labels = { 'rbac.example.com/aggregate-to-view': 'true', tier: 'gold' };
  it.each<[string, LabelSelector, boolean]>([
    ['matchLabels', { matchLabels: { 'rbac.example.com/aggregate-to-view': 'true' } }, true],
    ['matchLabels value differs', { matchLabels: { tier: 'silver' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }, true],
    ['In, absent key', { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['silver'] }] }, true],
    ['NotIn, listed', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, false],
    ['NotIn, absent key', { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    ['labels and expressions together', { matchLabels: { tier: 'gold' }, matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    ['an empty selector selects everything (LabelSelectorAsSelector)', {}, true],
  ])('%s', (_n, sel, want) => {
    expect(selectorMatches(sel, labels)).toBe(want);
  });
});

describe('covers (policy_comparator.go Covers, ruleCovers, resourceCoversAll): what ConfirmNoEscalation asks', () => {
  const owner = (resources: string[], verbs = ['update']): PolicyRule => ({ apiGroups: ['apps'], resources, verbs });
  const servant = (resources: string[], verbs = ['update']): PolicyRule => ({ apiGroups: ['apps'], resources, verbs });
  it.each([
    ['*/scale covers deployments/scale (resourceCoversAll: "*/" + the part after the first slash)', [owner(['*/scale'])], [servant(['deployments/scale'])], true],
    ['*/scale covers several X/scale at once', [owner(['*/scale'])], [servant(['deployments/scale', 'statefulsets/scale'])], true],
    ['*/scale does not cover the resource itself', [owner(['*/scale'])], [servant(['deployments'])], false],
    ['*/scale does not cover deployments/status', [owner(['*/scale'])], [servant(['deployments/status'])], false],
    ['*/status does not cover pods/status/extra (SplitN on the first slash asks for */status/extra)', [owner(['*/status'])], [servant(['pods/status/extra'])], false],
    ['exact and */sub together', [owner(['deployments', '*/scale'])], [servant(['deployments', 'replicasets/scale'])], true],
    ['* covers everything', [owner(['*'])], [servant(['deployments', 'deployments/scale'])], true],
    ['a verb the owner lacks is not covered', [owner(['*/scale'], ['get'])], [servant(['deployments/scale'])], false],
  ] as const)('%s', (_name, o, sv, want) => {
    expect(covers(o as PolicyRule[], sv as PolicyRule[]).covered).toBe(want);
  });
  it('resourceCoversAll on its own', () => {
    expect(resourceCoversAll(['*/scale'], ['deployments/scale'])).toBe(true);
    expect(resourceCoversAll(['*/a/b'], ['pods/a/b'])).toBe(true);
    expect(resourceCoversAll(['*/b'], ['pods/a/b'])).toBe(false);
  });
});
