// The RBAC conformance table: RBAC objects, one audit event (with the groups that request carried),
// the authorization check judged, whether the API server allows it, and the rule that does. Every
// case cites the upstream Kubernetes function it follows. test/rbac/conformance.test.ts runs each
// case through the authorizer, `audit drift` and `audit rbac-gen`.
import { event } from '../helpers.js';

export type CheckKind = 'request' | 'impersonate' | 'bind' | 'escalate';

export interface ConformanceCase {
  name: string;
  /** The upstream function(s) the expected answer follows. */
  cite: string;
  /** RBAC objects (Roles, ClusterRoles, bindings) as the export holds them. */
  rbac: Record<string, unknown>[];
  /** Earlier events of the same log (they must not change the judged check). */
  before?: Record<string, unknown>[];
  /** The audit event whose check is judged. */
  event: Record<string, unknown>;
  /** The check judged (default: the request itself). For impersonation, which one (resource/name). */
  check?: { kind: CheckKind; resource?: string; name?: string };
  allow: boolean;
  /** What allows it: the binding and role names, and the rule's index (system:masters for that group). */
  by?: { binding: string; role: string; rule?: number };
}

// ---------- upstream references ----------
const EH = 'pkg/apis/rbac/v1/evaluation_helpers.go';
const RBAC = 'plugin/pkg/auth/authorizer/rbac/rbac.go';
const RULE = 'pkg/registry/rbac/validation/rule.go';
const RI = 'staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go';
const AUDIT = 'staging/src/k8s.io/apiserver/pkg/audit/request.go';
const IMP = 'staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go';
const ESC = 'pkg/registry/rbac/escalation_check.go';
const AGG = 'pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go';

const VERB = `VerbMatches (${EH}), RuleAllows (${RBAC})`;
const GROUP = `APIGroupMatches (${EH}), RuleAllows (${RBAC})`;
const RES = `ResourceMatches (${EH}), RuleAllows (${RBAC})`;
const NAMES = `ResourceNameMatches (${EH}), RuleAllows (${RBAC})`;
const URLS = `NonResourceURLMatches (${EH}), RuleAllows (${RBAC})`;
const VISIT = `DefaultRuleResolver.VisitRulesFor (${RULE})`;
const APPLIES = `appliesTo, appliesToUser (${RULE})`;
const ROLEREF = `GetRoleReferenceRules (${RULE})`;
const REQINFO = `RequestInfoFactory.NewRequestInfo (${RI})`;
const FILLNAME = `LogRequestObject (${AUDIT}) fills objectRef.name after authorization; ${REQINFO}`;
const IMPERSONATE = `WithImpersonation, buildImpersonationRequests (${IMP})`;
const BIND = `BindingAuthorized (${ESC}), rolebinding/policybased Storage.Create`;
const ESCALATE = `RoleEscalationAuthorized (${ESC}), role/policybased Storage.Update`;
const AGGREGATE = `ClusterRoleAggregationController.syncClusterRole (${AGG})`;
const SELECTOR = `metav1.LabelSelectorAsSelector, ${AGGREGATE}`;
const MASTERS = 'authorizerfactory.NewPrivilegedGroups(system:masters) (staging/src/k8s.io/apiserver/pkg/authorization/authorizerfactory/builtin.go)';
const SAUSER = 'serviceaccount.MakeUsername / MatchesUsername (staging/src/k8s.io/apiserver/pkg/authentication/serviceaccount/util.go)';

// ---------- builders ----------
const RG = 'rbac.authorization.k8s.io';
type Rule = Record<string, unknown>;

function role(name: string, namespace: string, rules: Rule[]): Record<string, unknown> {
  return { apiVersion: `${RG}/v1`, kind: 'Role', metadata: { name, namespace }, rules };
}
function clusterRole(name: string, rules: Rule[] | null, extra: { labels?: Record<string, string>; aggregationRule?: unknown } = {}): Record<string, unknown> {
  return { apiVersion: `${RG}/v1`, kind: 'ClusterRole', metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) }, ...(extra.aggregationRule ? { aggregationRule: extra.aggregationRule } : {}), rules };
}
type Subj = Record<string, string>;
const user = (name: string): Subj => ({ kind: 'User', apiGroup: RG, name });
const group = (name: string): Subj => ({ kind: 'Group', apiGroup: RG, name });
const sa = (name: string, namespace?: string): Subj => ({ kind: 'ServiceAccount', name, ...(namespace ? { namespace } : {}) });
function rb(name: string, namespace: string, ref: [string, string], subjects: Subj[]): Record<string, unknown> {
  return { apiVersion: `${RG}/v1`, kind: 'RoleBinding', metadata: { name, namespace }, roleRef: { apiGroup: RG, kind: ref[0], name: ref[1] }, subjects };
}
function crb(name: string, ref: string, subjects: Subj[]): Record<string, unknown> {
  return { apiVersion: `${RG}/v1`, kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: RG, kind: 'ClusterRole', name: ref }, subjects };
}
const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): Rule => ({ apiGroups, resources, verbs, ...(resourceNames ? { resourceNames } : {}) });
const urls = (verbs: string[], nonResourceURLs: string[]): Rule => ({ nonResourceURLs, verbs });

/** One ClusterRole bound cluster-wide to alice: the common shape of rule-matching cases. */
function aliceHolds(...rules: Rule[]): Record<string, unknown>[] {
  return [clusterRole('r', rules), crb('alice-r', 'r', [user('alice')])];
}
/** One Role in `ns` bound to alice there. */
function aliceHoldsIn(ns: string, ...rules: Rule[]): Record<string, unknown>[] {
  return [role('r', ns, rules), rb('alice-r', ns, ['Role', 'r'], [user('alice')])];
}
const byCrb = (rule = 0) => ({ binding: 'alice-r', role: 'r', rule });

const AUTH = ['system:authenticated'];
let seq = 0;
/** An audit event: `who` and groups as this very request carried them, verb, URI and objectRef. */
function ev(who: string, groups: string[] | null, verb: string, uri: string, ref?: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const o: Record<string, unknown> = {
    auditID: `c-${++seq}`,
    verb,
    requestURI: uri,
    user: groups === null ? { username: who } : { username: who, groups },
    objectRef: ref ? { apiVersion: 'v1', ...ref } : undefined,
    responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
    ...extra,
  };
  return event(o);
}
const pods = (ns: string, name?: string, sub?: string): Record<string, string> => ({ resource: 'pods', namespace: ns, ...(name ? { name } : {}), ...(sub ? { subresource: sub } : {}) });
const get = (ref: Record<string, string>, uri: string, who = 'alice', groups: string[] | null = AUTH) => ev(who, groups, 'get', uri, ref);

function imp(impersonator: string, impGroups: string[], asUser: Record<string, unknown>, uri = '/api/v1/namespaces/default/pods', ref: Record<string, string> | undefined = pods('default')): Record<string, unknown> {
  return ev(impersonator, impGroups, ref ? 'list' : 'get', uri, ref, { impersonatedUser: asUser });
}
function bindingWrite(who: string, kind: 'RoleBinding' | 'ClusterRoleBinding', ns: string, name: string, ref: [string, string], verb = 'create', refGroup: string | undefined = RG): Record<string, unknown> {
  const resource = kind === 'RoleBinding' ? 'rolebindings' : 'clusterrolebindings';
  const base = `/apis/${RG}/v1${ns ? `/namespaces/${ns}` : ''}/${resource}`;
  const uri = verb === 'create' ? base : `${base}/${name}`;
  return ev(who, AUTH, verb, uri, { resource, apiGroup: RG, ...(ns ? { namespace: ns } : {}), name }, {
    level: 'Request',
    requestObject: { apiVersion: `${RG}/v1`, kind, metadata: { name, ...(ns ? { namespace: ns } : {}) }, roleRef: { ...(refGroup === undefined ? {} : { apiGroup: refGroup }), kind: ref[0], name: ref[1] }, subjects: [user('someone')] },
  });
}
function roleWrite(who: string, ns: string, name: string, verb: 'create' | 'update', rules: Rule[]): Record<string, unknown> {
  const resource = ns ? 'roles' : 'clusterroles';
  const base = `/apis/${RG}/v1${ns ? `/namespaces/${ns}` : ''}/${resource}`;
  return ev(who, AUTH, verb, verb === 'create' ? base : `${base}/${name}`, { resource, apiGroup: RG, ...(ns ? { namespace: ns } : {}), name }, {
    level: 'Request',
    requestObject: { apiVersion: `${RG}/v1`, kind: ns ? 'Role' : 'ClusterRole', metadata: { name, ...(ns ? { namespace: ns } : {}) }, rules },
  });
}

const AGG_LABEL = { 'rbac.example.com/aggregate-to-reader': 'true' };
const reader = (sel: unknown, own: Rule[] | null = null) => clusterRole('reader', own, { aggregationRule: { clusterRoleSelectors: [sel] } });
const readerBound = crb('alice-reader', 'reader', [user('alice')]);
const byReader = (rule = 0) => ({ binding: 'alice-reader', role: 'reader', rule });

export const CASES: ConformanceCase[] = [
  // ---------- verbs, API groups, resources, subresources ----------
  { name: 'get pods allowed by get pods', cite: VERB, rbac: aliceHolds(rule(['get'], [''], ['pods'])), event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: true, by: byCrb() },
  { name: 'a verb not listed is denied', cite: VERB, rbac: aliceHolds(rule(['get'], [''], ['pods'])), event: ev('alice', AUTH, 'delete', '/api/v1/namespaces/a/pods/p', pods('a', 'p')), allow: false },
  { name: "verbs ['*'] allow any verb", cite: VERB, rbac: aliceHolds(rule(['*'], [''], ['pods'])), event: ev('alice', AUTH, 'deletecollection', '/api/v1/namespaces/a/pods', pods('a')), allow: true, by: byCrb() },
  { name: 'verbs are case-sensitive: GET is not get', cite: VERB, rbac: aliceHolds(rule(['GET'], [''], ['pods'])), event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },
  { name: 'the core group is "", so apps resources are not in it', cite: GROUP, rbac: aliceHolds(rule(['get'], [''], ['deployments'])), event: get({ resource: 'deployments', apiGroup: 'apps', namespace: 'a', name: 'd' }, '/apis/apps/v1/namespaces/a/deployments/d'), allow: false },
  { name: 'apiGroups ["*"] allow any group', cite: GROUP, rbac: aliceHolds(rule(['get'], ['*'], ['deployments'])), event: get({ resource: 'deployments', apiGroup: 'apps', namespace: 'a', name: 'd' }, '/apis/apps/v1/namespaces/a/deployments/d'), allow: true, by: byCrb() },
  { name: 'the literal group "core" is not the core group', cite: GROUP, rbac: aliceHolds(rule(['get'], ['core'], ['pods'])), event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },
  { name: 'resources ["*"] include subresources', cite: RES, rbac: aliceHolds(rule(['get'], [''], ['*'])), event: get(pods('a', 'p', 'log'), '/api/v1/namespaces/a/pods/p/log'), allow: true, by: byCrb() },
  { name: 'pods does not grant pods/log', cite: RES, rbac: aliceHolds(rule(['get'], [''], ['pods'])), event: get(pods('a', 'p', 'log'), '/api/v1/namespaces/a/pods/p/log'), allow: false },
  { name: 'pods/log grants pods/log', cite: RES, rbac: aliceHolds(rule(['get'], [''], ['pods/log'])), event: get(pods('a', 'p', 'log'), '/api/v1/namespaces/a/pods/p/log'), allow: true, by: byCrb() },
  { name: '*/scale grants deployments/scale', cite: RES, rbac: aliceHolds(rule(['update'], ['apps'], ['*/scale'])), event: ev('alice', AUTH, 'update', '/apis/apps/v1/namespaces/a/deployments/d/scale', { resource: 'deployments', apiGroup: 'apps', namespace: 'a', name: 'd', subresource: 'scale' }), allow: true, by: byCrb() },
  { name: '*/scale does not grant the deployment itself', cite: RES, rbac: aliceHolds(rule(['update'], ['apps'], ['*/scale'])), event: ev('alice', AUTH, 'update', '/apis/apps/v1/namespaces/a/deployments/d', { resource: 'deployments', apiGroup: 'apps', namespace: 'a', name: 'd' }), allow: false },
  { name: '*/scale does not grant deployments/status', cite: RES, rbac: aliceHolds(rule(['update'], ['apps'], ['*/scale'])), event: ev('alice', AUTH, 'update', '/apis/apps/v1/namespaces/a/deployments/d/status', { resource: 'deployments', apiGroup: 'apps', namespace: 'a', name: 'd', subresource: 'status' }), allow: false },
  { name: 'resources are case-sensitive: Pods is not pods', cite: RES, rbac: aliceHolds(rule(['get'], [''], ['Pods'])), event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },

  // ---------- resourceNames and the name the authorizer sees ----------
  { name: 'get of a listed name', cite: NAMES, rbac: aliceHolds(rule(['get'], [''], ['configmaps'], ['cfg'])), event: get({ resource: 'configmaps', namespace: 'a', name: 'cfg' }, '/api/v1/namespaces/a/configmaps/cfg'), allow: true, by: byCrb() },
  { name: 'get of a name not listed', cite: NAMES, rbac: aliceHolds(rule(['get'], [''], ['configmaps'], ['cfg'])), event: get({ resource: 'configmaps', namespace: 'a', name: 'other' }, '/api/v1/namespaces/a/configmaps/other'), allow: false },
  { name: 'resourceNames are case-sensitive', cite: NAMES, rbac: aliceHolds(rule(['get'], [''], ['configmaps'], ['Cfg'])), event: get({ resource: 'configmaps', namespace: 'a', name: 'cfg' }, '/api/v1/namespaces/a/configmaps/cfg'), allow: false },
  { name: 'a list without a field selector has no name: resourceNames never allow it', cite: `${NAMES}; ${REQINFO}`, rbac: aliceHolds(rule(['list'], [''], ['configmaps'], ['cfg'])), event: ev('alice', AUTH, 'list', '/api/v1/namespaces/a/configmaps', { resource: 'configmaps', namespace: 'a' }), allow: false },
  { name: 'a list with fieldSelector metadata.name=cfg carries the name cfg', cite: `${REQINFO} (RequiresExactMatch("metadata.name")); ${NAMES}`, rbac: aliceHolds(rule(['list'], [''], ['configmaps'], ['cfg'])), event: ev('alice', AUTH, 'list', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg', { resource: 'configmaps', namespace: 'a', name: 'cfg' }), allow: true, by: byCrb() },
  { name: 'a watch with fieldSelector metadata.name=cfg carries the name cfg', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['watch'], [''], ['configmaps'], ['cfg'])), event: ev('alice', AUTH, 'watch', '/api/v1/namespaces/a/configmaps?fieldSelector=metadata.name%3Dcfg&watch=true', { resource: 'configmaps', namespace: 'a', name: 'cfg' }), allow: true, by: byCrb() },
  { name: 'a create on a collection has no name at authorization time (objectRef.name is filled later)', cite: `${FILLNAME}; ${NAMES}`, rbac: aliceHolds(rule(['create'], [''], ['configmaps'], ['cfg'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces/a/configmaps?fieldManager=kubectl-create', { resource: 'configmaps', namespace: 'a', name: 'cfg' }), allow: false },
  { name: 'a create on a collection is allowed by an unrestricted create', cite: `${FILLNAME}; ${NAMES}`, rbac: aliceHolds(rule(['create'], [''], ['configmaps'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces/a/configmaps', { resource: 'configmaps', namespace: 'a', name: 'cfg' }), allow: true, by: byCrb() },
  { name: 'a create of pods/NAME/exec keeps the name', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['create'], [''], ['pods/exec'], ['web'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces/a/pods/web/exec?command=sh&stdin=true', pods('a', 'web', 'exec')), allow: true, by: byCrb() },
  { name: 'a create of pods/NAME/exec for another pod is denied', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['create'], [''], ['pods/exec'], ['web'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces/a/pods/db/exec?command=sh', pods('a', 'db', 'exec')), allow: false },
  { name: 'a create of serviceaccounts/NAME/token keeps the name', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['create'], [''], ['serviceaccounts/token'], ['deployer'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces/a/serviceaccounts/deployer/token', { resource: 'serviceaccounts', namespace: 'a', name: 'deployer', subresource: 'token' }), allow: true, by: byCrb() },
  { name: 'a create of pods/NAME/eviction keeps the name', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['create'], [''], ['pods/eviction'], ['p'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces/a/pods/p/eviction', pods('a', 'p', 'eviction')), allow: true, by: byCrb() },
  { name: 'delete of a listed name', cite: NAMES, rbac: aliceHolds(rule(['delete'], [''], ['pods'], ['p'])), event: ev('alice', AUTH, 'delete', '/api/v1/namespaces/a/pods/p', pods('a', 'p')), allow: true, by: byCrb() },
  { name: 'deletecollection has no name: resourceNames never allow it', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['deletecollection'], [''], ['pods'], ['p'])), event: ev('alice', AUTH, 'deletecollection', '/api/v1/namespaces/a/pods', pods('a')), allow: false },
  { name: 'patch names its object in the path', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['patch'], ['apps'], ['deployments'], ['api'])), event: ev('alice', AUTH, 'patch', '/apis/apps/v1/namespaces/a/deployments/api?fieldManager=kubectl-client-side-apply', { resource: 'deployments', apiGroup: 'apps', namespace: 'a', name: 'api' }), allow: true, by: byCrb() },
  { name: 'get pods/NAME/log with resourceNames', cite: `${REQINFO}; ${NAMES}`, rbac: aliceHolds(rule(['get'], [''], ['pods/log'], ['web'])), event: get(pods('a', 'web', 'log'), '/api/v1/namespaces/a/pods/web/log?container=app'), allow: true, by: byCrb() },

  // ---------- non-resource URLs ----------
  { name: 'an exact non-resource URL', cite: URLS, rbac: aliceHolds(urls(['get'], ['/metrics'])), event: ev('alice', AUTH, 'get', '/metrics'), allow: true, by: byCrb() },
  { name: 'a query string is not part of the path', cite: `${URLS}; ${REQINFO} (Path is req.URL.Path)`, rbac: aliceHolds(urls(['get'], ['/metrics'])), event: ev('alice', AUTH, 'get', '/metrics?format=prometheus'), allow: true, by: byCrb() },
  { name: 'a path not listed', cite: URLS, rbac: aliceHolds(urls(['get'], ['/metrics'])), event: ev('alice', AUTH, 'get', '/metrics/slis'), allow: false },
  { name: 'a trailing * is a prefix: /healthz/* allows /healthz/etcd', cite: URLS, rbac: aliceHolds(urls(['get'], ['/healthz/*'])), event: ev('alice', AUTH, 'get', '/healthz/etcd'), allow: true, by: byCrb() },
  { name: '/healthz/* does not allow /healthz itself', cite: URLS, rbac: aliceHolds(urls(['get'], ['/healthz/*'])), event: ev('alice', AUTH, 'get', '/healthz'), allow: false },
  { name: 'nonResourceURLs ["*"] allow every path', cite: URLS, rbac: aliceHolds(urls(['get'], ['*'])), event: ev('alice', AUTH, 'get', '/logs/kube-apiserver.log'), allow: true, by: byCrb() },
  { name: 'a HEAD of a non-resource path is the verb head, not get', cite: `${REQINFO} (Verb: strings.ToLower(req.Method) for non-resource requests); ${VERB}`, rbac: aliceHolds(urls(['get'], ['/healthz'])), event: ev('alice', AUTH, 'head', '/healthz'), allow: false },
  { name: 'a POST to a non-resource path is the verb post', cite: `${REQINFO}; ${VERB}`, rbac: aliceHolds(urls(['post'], ['/debug/flags/v'])), event: ev('alice', AUTH, 'post', '/debug/flags/v'), allow: true, by: byCrb() },
  { name: 'a RoleBinding never grants non-resource URLs', cite: `${VISIT} (RoleBindings only for a namespace); ${URLS}`, rbac: [clusterRole('r', [urls(['get'], ['/metrics'])]), rb('alice-r', 'a', ['ClusterRole', 'r'], [user('alice')])], event: ev('alice', AUTH, 'get', '/metrics'), allow: false },
  { name: '/api/v1 is a discovery path, not a resource request', cite: `${REQINFO} (fewer than three parts); ${URLS}`, rbac: aliceHolds(urls(['get'], ['/api/*'])), event: ev('alice', AUTH, 'get', '/api/v1'), allow: true, by: byCrb() },

  // ---------- bindings and subjects ----------
  { name: 'RoleBinding to a Role, in its namespace', cite: VISIT, rbac: aliceHoldsIn('a', rule(['get'], [''], ['pods'])), event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: true, by: byCrb() },
  { name: 'RoleBinding to a Role, another namespace', cite: VISIT, rbac: aliceHoldsIn('a', rule(['get'], [''], ['pods'])), event: get(pods('b', 'p'), '/api/v1/namespaces/b/pods/p'), allow: false },
  { name: 'RoleBinding to a ClusterRole grants it in the binding namespace', cite: `${VISIT}; ${ROLEREF}`, rbac: [clusterRole('r', [rule(['get'], [''], ['secrets'])]), rb('alice-r', 'a', ['ClusterRole', 'r'], [user('alice')])], event: get({ resource: 'secrets', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/secrets/s'), allow: true, by: byCrb() },
  { name: 'RoleBinding to a ClusterRole grants nothing in another namespace', cite: `${VISIT}; ${ROLEREF}`, rbac: [clusterRole('r', [rule(['get'], [''], ['secrets'])]), rb('alice-r', 'a', ['ClusterRole', 'r'], [user('alice')])], event: get({ resource: 'secrets', namespace: 'b', name: 's' }, '/api/v1/namespaces/b/secrets/s'), allow: false },
  { name: 'RoleBinding to a ClusterRole does not allow an all-namespace list', cite: VISIT, rbac: [clusterRole('r', [rule(['list'], [''], ['pods'])]), rb('alice-r', 'a', ['ClusterRole', 'r'], [user('alice')])], event: ev('alice', AUTH, 'list', '/api/v1/pods', { resource: 'pods' }), allow: false },
  { name: 'ClusterRoleBinding: any namespace', cite: VISIT, rbac: aliceHolds(rule(['list'], [''], ['pods'])), event: ev('alice', AUTH, 'list', '/api/v1/namespaces/zzz/pods', pods('zzz')), allow: true, by: byCrb() },
  { name: 'ClusterRoleBinding: an all-namespace list', cite: VISIT, rbac: aliceHolds(rule(['list'], [''], ['pods'])), event: ev('alice', AUTH, 'list', '/api/v1/pods?limit=500', { resource: 'pods' }), allow: true, by: byCrb() },
  { name: 'a Role holding nodes grants nothing: nodes requests have no namespace', cite: VISIT, rbac: aliceHoldsIn('a', rule(['get'], [''], ['nodes'])), event: get({ resource: 'nodes', name: 'n1' }, '/api/v1/nodes/n1'), allow: false },
  { name: 'a binding to a missing Role grants nothing', cite: `${ROLEREF} (error: not found)`, rbac: [rb('alice-r', 'a', ['Role', 'nope'], [user('alice')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },
  { name: 'a binding to a missing ClusterRole grants nothing', cite: ROLEREF, rbac: [crb('alice-r', 'nope', [user('alice')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },
  { name: "a RoleBinding's Role is looked up in the binding's namespace", cite: `${ROLEREF} (GetRole(bindingNamespace, name))`, rbac: [role('r', 'b', [rule(['get'], [''], ['pods'])]), rb('alice-r', 'a', ['Role', 'r'], [user('alice')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },
  { name: 'a ServiceAccount subject without a namespace takes the RoleBinding namespace', cite: `${APPLIES}; ${SAUSER}`, rbac: [role('r', 'ci', [rule(['get'], [''], ['pods'])]), rb('alice-r', 'ci', ['Role', 'r'], [sa('deployer')])], event: get(pods('ci', 'p'), '/api/v1/namespaces/ci/pods/p', 'system:serviceaccount:ci:deployer', ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']), allow: true, by: byCrb() },
  { name: '… and does not match the same name in another namespace', cite: APPLIES, rbac: [role('r', 'ci', [rule(['get'], [''], ['pods'])]), rb('alice-r', 'ci', ['Role', 'r'], [sa('deployer')])], event: get(pods('ci', 'p'), '/api/v1/namespaces/ci/pods/p', 'system:serviceaccount:prod:deployer', ['system:serviceaccounts', 'system:serviceaccounts:prod', 'system:authenticated']), allow: false },
  { name: 'a ServiceAccount subject without a namespace on a ClusterRoleBinding matches nobody', cite: `${APPLIES} (len(saNamespace) == 0)`, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [sa('deployer')])], event: get(pods('ci', 'p'), '/api/v1/namespaces/ci/pods/p', 'system:serviceaccount:ci:deployer', ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']), allow: false },
  { name: 'a RoleBinding may name a ServiceAccount of another namespace', cite: APPLIES, rbac: [role('r', 'prod', [rule(['get'], [''], ['pods'])]), rb('alice-r', 'prod', ['Role', 'r'], [sa('deployer', 'ci')])], event: get(pods('prod', 'p'), '/api/v1/namespaces/prod/pods/p', 'system:serviceaccount:ci:deployer', ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']), allow: true, by: byCrb() },
  { name: 'subject apiGroup is not part of matching (ServiceAccount without apiGroup, User with it)', cite: APPLIES, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [{ kind: 'User', name: 'alice' }])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: true, by: byCrb() },
  { name: 'user names are case-sensitive', cite: APPLIES, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [user('Alice')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: false },
  { name: 'group names are case-sensitive', cite: APPLIES, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [group('Devs')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p', 'alice', ['devs', 'system:authenticated']), allow: false },
  { name: 'a Group subject matches a request that carries the group', cite: APPLIES, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [group('devs')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p', 'alice', ['devs', 'system:authenticated']), allow: true, by: byCrb() },
  { name: 'a User subject named like a service account matches that service account (by name)', cite: `${APPLIES} (UserKind: user.GetName() == subject.Name)`, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [user('system:serviceaccount:ci:deployer')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p', 'system:serviceaccount:ci:deployer', ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated']), allow: true, by: byCrb() },
  { name: 'system:authenticated, as the request carried it', cite: `${APPLIES}; AuthenticatedGroupAdder (staging/src/k8s.io/apiserver/pkg/authentication/group/authenticated_group_adder.go)`, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [group('system:authenticated')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p'), allow: true, by: byCrb() },
  { name: 'system:serviceaccounts:NS, as the service account token carried it', cite: `${APPLIES}; serviceaccount.MakeGroupNames`, rbac: [clusterRole('r', [rule(['list'], [''], ['nodes'])]), crb('alice-r', 'r', [group('system:serviceaccounts:ci')])], event: ev('system:serviceaccount:ci:deployer', ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'], 'list', '/api/v1/nodes', { resource: 'nodes' }), allow: true, by: byCrb() },
  { name: 'system:serviceaccounts:NS of another namespace', cite: APPLIES, rbac: [clusterRole('r', [rule(['list'], [''], ['nodes'])]), crb('alice-r', 'r', [group('system:serviceaccounts:ci')])], event: ev('system:serviceaccount:prod:deployer', ['system:serviceaccounts', 'system:serviceaccounts:prod', 'system:authenticated'], 'list', '/api/v1/nodes', { resource: 'nodes' }), allow: false },
  { name: 'system:unauthenticated for system:anonymous', cite: APPLIES, rbac: [clusterRole('r', [urls(['get'], ['/version'])]), crb('alice-r', 'r', [group('system:unauthenticated')])], event: ev('system:anonymous', ['system:unauthenticated'], 'get', '/version'), allow: true, by: byCrb() },
  { name: 'system:anonymous is not system:authenticated', cite: APPLIES, rbac: [clusterRole('r', [urls(['get'], ['/version'])]), crb('alice-r', 'r', [group('system:authenticated')])], event: ev('system:anonymous', ['system:unauthenticated'], 'get', '/version'), allow: false },
  { name: 'no groups recorded (a source without them): the authenticators\' groups are assumed', cite: `AuthenticatedGroupAdder; ${APPLIES}`, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [group('system:authenticated')])], event: get(pods('a', 'p'), '/api/v1/namespaces/a/pods/p', 'alice', null), allow: true, by: byCrb() },
  { name: 'system:masters may do anything, whatever RBAC holds', cite: MASTERS, rbac: [], event: ev('root', ['system:masters', 'system:authenticated'], 'delete', '/api/v1/namespaces/kube-system', { resource: 'namespaces', namespace: 'kube-system', name: 'kube-system' }), allow: true, by: { binding: 'system:masters', role: 'system:masters (unconditional)' } },

  // ---------- groups per request, not pooled per user ----------
  { name: 'the request that carries group devs is allowed', cite: `RBACAuthorizer.Authorize (${RBAC}: the user.Info of this request); ${APPLIES}`, rbac: [clusterRole('r', [rule(['get'], [''], ['secrets'])]), crb('alice-r', 'r', [group('devs')])], event: get({ resource: 'secrets', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/secrets/s', 'bob', ['devs', 'system:authenticated']), allow: true, by: byCrb() },
  { name: 'a later request without devs is denied, though an earlier one carried it', cite: `RBACAuthorizer.Authorize (${RBAC}: the user.Info of this request); ${APPLIES}`, rbac: [clusterRole('r', [rule(['get'], [''], ['secrets'])]), crb('alice-r', 'r', [group('devs')])], before: [get({ resource: 'configmaps', namespace: 'a', name: 'c' }, '/api/v1/namespaces/a/configmaps/c', 'bob', ['devs', 'system:authenticated'])], event: get({ resource: 'secrets', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/secrets/s', 'bob', ['system:authenticated']), allow: false },
  { name: 'a recorded group list is used as it is (no system:authenticated added to it)', cite: `${APPLIES}; ${IMPERSONATE} (explicit system:unauthenticated)`, rbac: [clusterRole('r', [rule(['get'], [''], ['pods'])]), crb('alice-r', 'r', [group('system:authenticated')])], event: ev('carol', ['impersonators', 'system:authenticated'], 'get', '/api/v1/namespaces/a/pods/p', pods('a', 'p'), { impersonatedUser: { username: 'bob', groups: ['system:unauthenticated'] } }), allow: false },

  // ---------- namespaces/X ----------
  { name: 'get namespaces/X is authorized in namespace X (a RoleBinding there allows it)', cite: `${REQINFO} (/namespaces/{namespace} sets Namespace); ${VISIT}`, rbac: aliceHoldsIn('team', rule(['get'], [''], ['namespaces'])), event: get({ resource: 'namespaces', namespace: 'team', name: 'team' }, '/api/v1/namespaces/team'), allow: true, by: byCrb() },
  { name: 'get namespaces/X is not allowed by a RoleBinding in another namespace', cite: `${REQINFO}; ${VISIT}`, rbac: aliceHoldsIn('other', rule(['get'], [''], ['namespaces'])), event: get({ resource: 'namespaces', namespace: 'team', name: 'team' }, '/api/v1/namespaces/team'), allow: false },
  { name: 'namespaces/X/status is a namespace subresource, authorized in X', cite: `${REQINFO} (namespaceSubresources: status, finalize)`, rbac: aliceHoldsIn('team', rule(['get'], [''], ['namespaces/status'])), event: get({ resource: 'namespaces', namespace: 'team', name: 'team', subresource: 'status' }, '/api/v1/namespaces/team/status'), allow: true, by: byCrb() },
  { name: 'a list of namespaces is cluster-wide: no RoleBinding allows it', cite: `${REQINFO}; ${VISIT}`, rbac: aliceHoldsIn('team', rule(['list'], [''], ['namespaces'])), event: ev('alice', AUTH, 'list', '/api/v1/namespaces', { resource: 'namespaces' }), allow: false },
  { name: 'creating namespace X is not authorized in X', cite: `${REQINFO} (POST /api/v1/namespaces has no namespace); ${FILLNAME}`, rbac: aliceHoldsIn('team', rule(['create'], [''], ['namespaces'])), event: ev('alice', AUTH, 'create', '/api/v1/namespaces', { resource: 'namespaces', name: 'team' }), allow: false },

  // ---------- impersonation: checks of their own, with the impersonator's groups ----------
  { name: 'impersonate users/bob allowed by resourceNames [bob]', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'], ['bob'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['system:authenticated'] }), check: { kind: 'impersonate', resource: 'users', name: 'bob' }, allow: true, by: byCrb() },
  { name: 'impersonate users/bob not allowed by resourceNames [alice]', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'], ['alice'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['system:authenticated'] }), check: { kind: 'impersonate', resource: 'users', name: 'bob' }, allow: false },
  { name: 'each impersonated group is its own check: groups/devs', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['devs', 'system:authenticated'] }), check: { kind: 'impersonate', resource: 'groups', name: 'devs' }, allow: false },
  { name: 'impersonate groups/devs allowed', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users', 'groups'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['devs', 'system:authenticated'] }), check: { kind: 'impersonate', resource: 'groups', name: 'devs' }, allow: true, by: byCrb() },
  { name: 'system:authenticated is added by the filter, never requested: impersonating users/bob is all it takes', cite: `${IMPERSONATE} (addAuthenticated)`, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'], ['bob'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['system:authenticated'] }), check: { kind: 'impersonate' }, allow: true, by: byCrb() },
  { name: 'system:authenticated asked for explicitly (not last: the filter appends its own last) is checked', cite: `${IMPERSONATE} (groups in header order, then addAuthenticated)`, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users']), rule(['impersonate'], [''], ['groups'], ['devs'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['system:authenticated', 'devs'] }), check: { kind: 'impersonate', resource: 'groups', name: 'system:authenticated' }, allow: false },
  { name: 'userextras/KEY with the value as name (authentication.k8s.io)', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users']), rule(['impersonate'], ['authentication.k8s.io'], ['userextras/scopes'], ['view'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['system:authenticated'], extra: { scopes: ['view'] } }), check: { kind: 'impersonate', resource: 'userextras', name: 'view' }, allow: true, by: byCrb(1) },
  { name: 'userextras are in authentication.k8s.io, not the core group', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users', 'userextras/scopes'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', groups: ['system:authenticated'], extra: { scopes: ['view'] } }), check: { kind: 'impersonate', resource: 'userextras', name: 'view' }, allow: false },
  { name: 'uids/UID (authentication.k8s.io)', cite: IMPERSONATE, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users']), rule(['impersonate'], ['authentication.k8s.io'], ['uids'], ['1234'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'bob', uid: '1234', groups: ['system:authenticated'] }), check: { kind: 'impersonate', resource: 'uids', name: '1234' }, allow: true, by: byCrb(1) },
  { name: "impersonating a service account is impersonate serviceaccounts/NAME in the account's namespace", cite: IMPERSONATE, rbac: [role('r', 'ns1', [rule(['impersonate'], [''], ['serviceaccounts'], ['sa1'])]), rb('alice-r', 'ns1', ['Role', 'r'], [user('carol')])], event: imp('carol', AUTH, { username: 'system:serviceaccount:ns1:sa1', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'] }), check: { kind: 'impersonate' }, allow: true, by: byCrb() },
  { name: 'impersonate serviceaccounts granted in another namespace does not apply', cite: IMPERSONATE, rbac: [role('r', 'ns2', [rule(['impersonate'], [''], ['serviceaccounts'], ['sa1'])]), rb('alice-r', 'ns2', ['Role', 'r'], [user('carol')])], event: imp('carol', AUTH, { username: 'system:serviceaccount:ns1:sa1', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'] }), check: { kind: 'impersonate', resource: 'serviceaccounts', name: 'sa1' }, allow: false },
  { name: 'a service account is impersonated as serviceaccounts, not as users', cite: `${IMPERSONATE}; serviceaccount.SplitUsername`, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'], ['system:serviceaccount:ns1:sa1'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'system:serviceaccount:ns1:sa1', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'] }), check: { kind: 'impersonate', resource: 'serviceaccounts', name: 'sa1' }, allow: false },
  { name: 'a name SplitUsername rejects (too many colons) is impersonated as a user', cite: `${IMPERSONATE}; serviceaccount.SplitUsername`, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'], ['system:serviceaccount:ns1:a:b'])]), crb('alice-r', 'r', [user('carol')])], event: imp('carol', AUTH, { username: 'system:serviceaccount:ns1:a:b', groups: ['system:authenticated'] }), check: { kind: 'impersonate' }, allow: true, by: byCrb() },
  { name: "the impersonator's own groups count for its checks", cite: `${IMPERSONATE} (requestor); ${APPLIES}`, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users'], ['bob'])]), crb('alice-r', 'r', [group('impersonators')])], event: imp('carol', ['impersonators', 'system:authenticated'], { username: 'bob', groups: ['system:authenticated'] }), check: { kind: 'impersonate' }, allow: true, by: byCrb() },
  { name: "the impersonated user's groups do not count for the impersonator", cite: `${IMPERSONATE} (requestor)`, rbac: [clusterRole('r', [rule(['impersonate'], [''], ['users', 'groups'])]), crb('alice-r', 'r', [group('devs')])], event: imp('carol', AUTH, { username: 'bob', groups: ['devs', 'system:authenticated'] }), check: { kind: 'impersonate', resource: 'users', name: 'bob' }, allow: false },
  { name: 'the impersonated request runs as the impersonated user with its groups', cite: `${IMPERSONATE} (newUser); ${APPLIES}`, rbac: [clusterRole('r', [rule(['list'], [''], ['pods'])]), crb('alice-r', 'r', [group('devs')])], event: imp('carol', AUTH, { username: 'bob', groups: ['devs', 'system:authenticated'] }), allow: true, by: byCrb() },
  { name: 'the impersonated request does not run with the impersonator\'s groups', cite: `${IMPERSONATE} (newUser)`, rbac: [clusterRole('r', [rule(['list'], [''], ['pods'])]), crb('alice-r', 'r', [group('admins')])], event: imp('carol', ['admins', 'system:authenticated'], { username: 'bob', groups: ['system:authenticated'] }), allow: false },

  // ---------- bind and escalate ----------
  { name: 'creating a RoleBinding to ClusterRole view: bind on clusterroles/view in the binding namespace', cite: BIND, rbac: [role('r', 'team', [rule(['bind'], [RG], ['clusterroles'], ['view'])]), rb('alice-r', 'team', ['Role', 'r'], [user('dave')])], event: bindingWrite('dave', 'RoleBinding', 'team', 'dev-view', ['ClusterRole', 'view']), check: { kind: 'bind' }, allow: true, by: byCrb() },
  { name: 'bind granted in another namespace does not apply', cite: BIND, rbac: [role('r', 'other', [rule(['bind'], [RG], ['clusterroles'], ['view'])]), rb('alice-r', 'other', ['Role', 'r'], [user('dave')])], event: bindingWrite('dave', 'RoleBinding', 'team', 'dev-view', ['ClusterRole', 'view']), check: { kind: 'bind' }, allow: false },
  { name: 'a ClusterRoleBinding needs bind cluster-wide', cite: `${BIND} (bindingNamespace "" for ClusterRoleBindings)`, rbac: [role('r', 'team', [rule(['bind'], [RG], ['clusterroles'], ['view'])]), rb('alice-r', 'team', ['Role', 'r'], [user('dave')])], event: bindingWrite('dave', 'ClusterRoleBinding', '', 'dev-view', ['ClusterRole', 'view']), check: { kind: 'bind' }, allow: false },
  { name: 'bind on roles/NAME for a RoleBinding to a Role', cite: BIND, rbac: [clusterRole('r', [rule(['bind'], [RG], ['roles'], ['deployer'])]), crb('alice-r', 'r', [user('dave')])], event: bindingWrite('dave', 'RoleBinding', 'team', 'ci', ['Role', 'deployer']), check: { kind: 'bind' }, allow: true, by: byCrb() },
  { name: 'bind pinned to another role name does not apply', cite: BIND, rbac: [clusterRole('r', [rule(['bind'], [RG], ['clusterroles'], ['view'])]), crb('alice-r', 'r', [user('dave')])], event: bindingWrite('dave', 'ClusterRoleBinding', '', 'root', ['ClusterRole', 'cluster-admin']), check: { kind: 'bind' }, allow: false },
  { name: 'an update of a binding is checked again (roleRef from the body)', cite: `${BIND}; rolebinding/policybased Storage.Update`, rbac: [clusterRole('r', [rule(['bind'], [RG], ['clusterroles'], ['edit'])]), crb('alice-r', 'r', [user('dave')])], event: bindingWrite('dave', 'RoleBinding', 'team', 'dev-edit', ['ClusterRole', 'edit'], 'update'), check: { kind: 'bind' }, allow: true, by: byCrb() },
  { name: 'an empty roleRef.apiGroup is defaulted before the bind check', cite: `${BIND}; SetDefaults_RoleBinding (pkg/apis/rbac/v1/defaults.go)`, rbac: [clusterRole('r', [rule(['bind'], [RG], ['clusterroles'], ['view'])]), crb('alice-r', 'r', [user('dave')])], event: bindingWrite('dave', 'RoleBinding', 'team', 'dev-view', ['ClusterRole', 'view'], 'create', ''), check: { kind: 'bind' }, allow: true, by: byCrb() },
  { name: 'a roleRef without apiGroup is defaulted before the bind check', cite: `${BIND}; SetDefaults_ClusterRoleBinding (pkg/apis/rbac/v1/defaults.go)`, rbac: [clusterRole('r', [rule(['bind'], [RG], ['clusterroles'], ['view'])]), crb('alice-r', 'r', [user('dave')])], event: bindingWrite('dave', 'ClusterRoleBinding', '', 'dev-view', ['ClusterRole', 'view'], 'create', undefined), check: { kind: 'bind' }, allow: true, by: byCrb() },
  { name: 'updating Role r: escalate on roles/r', cite: ESCALATE, rbac: [clusterRole('r', [rule(['escalate'], [RG], ['roles'], ['app'])]), crb('alice-r', 'r', [user('dave')])], event: roleWrite('dave', 'team', 'app', 'update', [rule(['get'], [''], ['secrets'])]), check: { kind: 'escalate' }, allow: true, by: byCrb() },
  { name: 'creating a Role: the escalate check has no name, so escalate pinned by name does not apply', cite: `${ESCALATE} (Name: requestInfo.Name); ${REQINFO}`, rbac: [clusterRole('r', [rule(['escalate'], [RG], ['roles'], ['app'])]), crb('alice-r', 'r', [user('dave')])], event: roleWrite('dave', 'team', 'app', 'create', [rule(['get'], [''], ['secrets'])]), check: { kind: 'escalate' }, allow: false },
  { name: 'creating a Role: an unpinned escalate in its namespace applies', cite: ESCALATE, rbac: [role('r', 'team', [rule(['escalate'], [RG], ['roles'])]), rb('alice-r', 'team', ['Role', 'r'], [user('dave')])], event: roleWrite('dave', 'team', 'app', 'create', [rule(['get'], [''], ['secrets'])]), check: { kind: 'escalate' }, allow: true, by: byCrb() },
  { name: 'escalate on clusterroles for a ClusterRole', cite: ESCALATE, rbac: [clusterRole('r', [rule(['escalate'], [RG], ['clusterroles'], ['ops'])]), crb('alice-r', 'r', [user('dave')])], event: roleWrite('dave', '', 'ops', 'update', [rule(['get'], [''], ['nodes'])]), check: { kind: 'escalate' }, allow: true, by: byCrb() },

  // ---------- aggregated ClusterRoles ----------
  { name: 'aggregation by matchLabels', cite: SELECTOR, rbac: [reader({ matchLabels: AGG_LABEL }), clusterRole('endpoints', [rule(['list'], [''], ['endpoints'])], { labels: AGG_LABEL }), readerBound], event: ev('alice', AUTH, 'list', '/api/v1/namespaces/a/endpoints', { resource: 'endpoints', namespace: 'a' }), allow: true, by: byReader() },
  { name: "an aggregated role's own rules are replaced by the union", cite: `${AGGREGATE} (newPolicyRules replaces Rules)`, rbac: [reader({ matchLabels: AGG_LABEL }, [rule(['get'], [''], ['secrets'])]), clusterRole('endpoints', [rule(['list'], [''], ['endpoints'])], { labels: AGG_LABEL }), readerBound], event: get({ resource: 'secrets', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/secrets/s'), allow: false },
  { name: 'aggregation by matchExpressions In', cite: SELECTOR, rbac: [reader({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }), clusterRole('silver', [rule(['get'], [''], ['services'])], { labels: { tier: 'silver' } }), readerBound], event: get({ resource: 'services', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/services/s'), allow: true, by: byReader() },
  { name: 'aggregation by matchExpressions NotIn leaves the excluded role out', cite: SELECTOR, rbac: [reader({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['secret'] }] }), clusterRole('hush', [rule(['get'], [''], ['secrets'])], { labels: { tier: 'secret' } }), readerBound], event: get({ resource: 'secrets', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/secrets/s'), allow: false },
  { name: 'aggregation by matchExpressions NotIn takes roles without the label', cite: SELECTOR, rbac: [reader({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['secret'] }] }), clusterRole('plain', [rule(['get'], [''], ['services'])]), readerBound], event: get({ resource: 'services', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/services/s'), allow: true, by: byReader() },
  { name: 'aggregation by matchExpressions Exists', cite: SELECTOR, rbac: [reader({ matchExpressions: [{ key: 'team', operator: 'Exists' }] }), clusterRole('t', [rule(['get'], [''], ['services'])], { labels: { team: 'x' } }), readerBound], event: get({ resource: 'services', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/services/s'), allow: true, by: byReader() },
  { name: 'aggregation by matchExpressions DoesNotExist', cite: SELECTOR, rbac: [reader({ matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }), clusterRole('t', [rule(['get'], [''], ['services'])], { labels: { team: 'x' } }), readerBound], event: get({ resource: 'services', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/services/s'), allow: false },
  { name: 'nested aggregation resolves to a fixpoint', cite: AGGREGATE, rbac: [reader({ matchLabels: { level: 'mid' } }), clusterRole('mid', null, { labels: { level: 'mid' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { level: 'leaf' } }] } }), clusterRole('leaf', [rule(['watch'], [''], ['pods'])], { labels: { level: 'leaf' } }), readerBound], event: ev('alice', AUTH, 'watch', '/api/v1/namespaces/a/pods?watch=true', pods('a')), allow: true, by: byReader() },
  { name: 'an empty selector selects every ClusterRole', cite: `${SELECTOR} (empty selector: labels.Everything())`, rbac: [reader({}), clusterRole('any', [rule(['get'], [''], ['services'])]), readerBound], event: get({ resource: 'services', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/services/s'), allow: true, by: byReader() },
  { name: 'an invalid selector (In without values) leaves the stored rules alone', cite: `${SELECTOR} (error: the controller returns without updating)`, rbac: [reader({ matchExpressions: [{ key: 'tier', operator: 'In', values: [] }] }, [rule(['get'], [''], ['services'])]), readerBound], event: get({ resource: 'services', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/services/s'), allow: true, by: byReader() },
  { name: 'an aggregated role does not aggregate itself', cite: `${AGGREGATE} (clusterRoles[i].Name == sharedClusterRole.Name: continue)`, rbac: [clusterRole('reader', [rule(['get'], [''], ['secrets'])], { labels: AGG_LABEL, aggregationRule: { clusterRoleSelectors: [{ matchLabels: AGG_LABEL }] } }), readerBound], event: get({ resource: 'secrets', namespace: 'a', name: 's' }, '/api/v1/namespaces/a/secrets/s'), allow: false },
];
