// What the API server asked its authorizer for one audit record, check by check: the request itself
// (attributes exactly as RequestInfo gave them, with the groups that request carried), each
// impersonation check, and the bind and escalate checks of RBAC writes. rbac-gen, drift and
// compliance all read requests through here, so they judge what the API server judged.
import type { AuditRecord, PolicyRule, RequestAttributes, UserInfo } from '../types.js';
import { withImplicitGroups } from './authorizer.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const AUTHN_GROUP = 'authentication.k8s.io';

// ---------- RequestInfo (k8s.io/apiserver pkg/endpoints/request/requestinfo.go) ----------

/** The fields of RequestInfo that authorization uses. */
export interface RequestInfo {
  isResourceRequest: boolean;
  /** URL path (percent-decoded, as req.URL.Path). */
  path: string;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);

/** The HTTP method a resource verb came from (the inverse of NewRequestInfo's method switch). */
const METHOD_OF_VERB: Record<string, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETE' };

/** path.IsValidPathSegmentName (k8s.io/apimachinery pkg/api/validation/path). */
export function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; an unescaped `,` or `=` is an error. */
function unescapeFieldValue(s: string): string | null {
  let out = '';
  let slash = false;
  for (const c of s) {
    if (slash) {
      if (c !== '\\' && c !== ',' && c !== '=') return null;
      out += c;
      slash = false;
    } else if (c === '\\') slash = true;
    else if (c === ',' || c === '=') return null;
    else out += c;
  }
  return slash ? null : out;
}

/**
 * The value a field selector requires `field` to equal, or null: fields.ParseSelector (splitTerms,
 * splitTerm, UnescapeValue; terms sorted) then Selector.RequiresExactMatch. `undefined` when the
 * selector does not parse (the API server then ignores it for the name).
 */
export function fieldSelectorExactMatch(selector: string, field: string): string | null | undefined {
  const terms: string[] = [];
  let start = 0;
  let slash = false;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (slash) slash = false;
    else if (c === '\\') slash = true;
    else if (c === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  if (selector.length) terms.push(selector.slice(start));
  terms.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let found: string | null = null;
  for (const t of terms) {
    if (t === '') continue;
    let op = '';
    let at = -1;
    for (let i = 0; i < t.length && at < 0; i++) {
      for (const o of ['!=', '==', '=']) {
        if (t.startsWith(o, i)) {
          op = o;
          at = i;
          break;
        }
      }
    }
    if (at < 0) return undefined;
    const value = unescapeFieldValue(t.slice(at + op.length));
    if (value === null) return undefined;
    if (found === null && op !== '!=' && t.slice(0, at) === field) found = value;
  }
  return found;
}

const INT64 = /^[+-]?\d+$/;

/** The query parameters of ListOptions that fail DecodeParameters when malformed (ints, selectors). */
function listOptionsDecode(q: URLSearchParams): boolean {
  for (const k of ['limit', 'timeoutSeconds']) {
    const v = q.get(k);
    if (v !== null && !INT64.test(v)) return false;
  }
  const fs = q.get('fieldSelector');
  return fs === null || fieldSelectorExactMatch(fs, '') !== undefined;
}

/**
 * NewRequestInfo for an HTTP method and request URI (path and query, as the audit event's
 * requestURI). Returns null when the URI cannot be parsed as the server parsed it. `query` false
 * skips what only the query decides (list or watch, the field-selector name) for callers that know
 * it already: parsing the query is most of the cost.
 */
export function newRequestInfo(method: string, requestURI: string, query = true): RequestInfo | null {
  const q = requestURI.indexOf('?');
  const rawPath = q < 0 ? requestURI : requestURI.slice(0, q);
  let path = rawPath;
  if (rawPath.includes('%')) {
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return null;
    }
  }
  const info: RequestInfo = { isResourceRequest: false, path, verb: method.toLowerCase(), apiGroup: '', apiVersion: '', namespace: '', resource: '', subresource: '', name: '' };
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  let parts = trimmed === '' ? [] : trimmed.split('/');
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  const prefix = parts[0]!;
  parts = parts.slice(1);
  if (!GROUPLESS_API_PREFIXES.has(prefix)) {
    if (parts.length < 3) return info;
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) return null;
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    const m = method.toUpperCase();
    info.verb = m === 'POST' ? 'create' : m === 'GET' || m === 'HEAD' ? 'get' : m === 'PUT' ? 'update' : m === 'PATCH' ? 'patch' : m === 'DELETE' ? 'delete' : '';
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(info.verb)) info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;
  if (info.name === '' && info.verb === 'get') {
    info.verb = 'list';
    if (!query || q < 0) return info;
    const params = new URLSearchParams(requestURI.slice(q + 1));
    const ok = listOptionsDecode(params);
    const watch = params.getAll('watch')[0];
    if (watch !== undefined && !['false', '0'].includes(watch.toLowerCase())) info.verb = 'watch';
    const fs = ok ? params.get('fieldSelector') : null;
    if (fs !== null) {
      const name = fieldSelectorExactMatch(fs, 'metadata.name');
      if (typeof name === 'string' && isValidPathSegmentName(name)) info.name = name;
    }
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

// ---------- the request's own attributes ----------

/** Sources whose objectRef is the authorizer's attributes (LogRequestMetadata), later filled from the body. */
const NATIVE = new Set(['k8s', 'aks', 'eks']);
const LIST_VERBS = new Set(['list', 'watch']);
/** Verbs whose `namespaces` request does not name one namespace in the path (so has none). */
const NO_NAME_VERBS = new Set(['create', 'list', 'watch', 'deletecollection']);

/**
 * The authorization attributes of a record as the authorizer saw them (GetAuthorizerAttributes over
 * NewRequestInfo), not as the audit event shows them afterwards:
 * - a create on a collection has no name: LogRequestObject fills objectRef.name from the body after
 *   authorization; a create on a named subresource (pods/NAME/exec, serviceaccounts/NAME/token)
 *   keeps the name from the path;
 * - list and watch carry the name a `metadata.name` field selector requires (native events already
 *   show it in objectRef, others get it from the request URI);
 * - requests on `namespaces/X` (get, update, status, finalize…) carry namespace X;
 * - non-resource requests carry the lowercase HTTP method as verb (`head` stays `head`) and the path.
 * A native event's objectRef is the authorizer's attributes except where a create's body filled it
 * in, so only creates (and records of other sources) are re-derived from the URI; when the URI does
 * not parse to the same resource, the record's fields are used with the same rules.
 */
export function requestAttributes(r: AuditRecord): RequestAttributes {
  if (r.resource === '') return { verb: r.verb, apiGroup: '', resource: '', subresource: '', namespace: '', name: '', nonResourceURL: r.nonResourceURL };
  const out: RequestAttributes = { verb: r.verb, apiGroup: r.apiGroup, resource: r.resource, subresource: r.subresource, namespace: r.namespace, name: r.name, nonResourceURL: '' };
  const native = NATIVE.has(r.provider);
  if (native && r.verb !== 'create') {
    // A native objectRef is the authorizer's attributes (LogRequestMetadata); only a create's body
    // fills in what the path did not have (LogRequestObject), so nothing else needs the URI.
    if (r.namespace === '' && r.apiGroup === '' && r.resource === 'namespaces' && r.name !== '' && !NO_NAME_VERBS.has(r.verb)) out.namespace = r.name;
    return out;
  }
  const method = METHOD_OF_VERB[r.verb] ?? (r.verb === 'proxy' ? 'GET' : undefined);
  const info = method && r.requestURI.startsWith('/') ? newRequestInfo(method, r.requestURI) : null;
  const consistent = info !== null && info.isResourceRequest && info.resource === r.resource && info.apiGroup === r.apiGroup && (info.verb === r.verb || (LIST_VERBS.has(info.verb) && LIST_VERBS.has(r.verb)));
  if (consistent) {
    out.namespace = info.namespace;
    out.subresource = info.subresource;
    out.name = LIST_VERBS.has(r.verb) && native ? r.name : info.name;
    return out;
  }
  if (r.verb === 'create' && r.subresource === '') out.name = '';
  if (r.apiGroup === '' && r.resource === 'namespaces' && r.name !== '' && !NO_NAME_VERBS.has(r.verb)) out.namespace = r.name;
  return out;
}

/**
 * The identity the request was authorized as: the impersonated user when impersonating, with the
 * groups this very request carried (not pooled over other requests). When the source recorded no
 * groups (GKE), the groups the authenticators add are assumed (withImplicitGroups).
 */
export function userInfo(r: AuditRecord): UserInfo {
  return withImplicitGroups({ user: r.subject, groups: r.groups });
}

/** The real user behind an impersonated request, with its own groups: the requestor WithImpersonation authorizes. */
export function impersonatorInfo(r: AuditRecord): UserInfo {
  return withImplicitGroups({ user: r.impersonator, groups: r.impersonatorGroups });
}

// ---------- every check one request went through ----------

export type CheckKind = 'request' | 'impersonate' | 'bind' | 'escalate';

/** One authorization the API server performed for a request. */
export interface AuthzCheck {
  kind: CheckKind;
  /** Who was asked about: the impersonator for impersonation checks, else the effective user. */
  user: UserInfo;
  attrs: RequestAttributes;
}

/** serviceaccount.SplitUsername: `system:serviceaccount:NS:NAME` with a valid namespace and name, else null. */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | null {
  const prefix = 'system:serviceaccount:';
  if (!username.startsWith(prefix)) return null;
  const parts = username.slice(prefix.length).split(':');
  if (parts.length !== 2) return null;
  const [namespace, name] = parts as [string, string];
  if (!DNS_LABEL.test(namespace) || !isDnsSubdomain(name)) return null;
  return { namespace, name };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** validation.IsDNS1123Subdomain. */
export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** validation.IsDNS1123Label (namespace names). */
export function isDnsLabel(s: string): boolean {
  return DNS_LABEL.test(s);
}

function resourceCheck(resource: string, apiGroup: string, namespace: string, name: string, subresource = ''): RequestAttributes {
  return { verb: 'impersonate', apiGroup, resource, subresource, namespace, name, nonResourceURL: '' };
}

/**
 * The impersonation checks of an impersonated request, in the order WithImpersonation makes them
 * (buildImpersonationRequests): `impersonate` on serviceaccounts/NAME in the account's namespace or
 * on users/NAME (core); on groups/NAME (core) for each impersonated group; on userextras/KEY
 * (authentication.k8s.io) with each value as the name; on uids/UID (authentication.k8s.io). Groups
 * the filter adds itself are not requested: system:authenticated (system:unauthenticated for
 * system:anonymous), and a service account's own groups when they are exactly what the filter
 * derives for it. [] when the request was not impersonated.
 */
export function impersonationChecks(r: AuditRecord): AuthzCheck[] {
  if (r.impersonator === '') return [];
  const requestor = impersonatorInfo(r);
  const out: AuthzCheck[] = [];
  const sa = splitServiceAccountUsername(r.subject);
  if (sa) out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('serviceaccounts', '', sa.namespace, sa.name) });
  else out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('users', '', '', r.subject) });
  for (const g of requestedGroups(r.subject, r.groups, sa?.namespace)) out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('groups', '', '', g) });
  for (const key of Object.keys(r.impersonatedExtra).sort()) {
    for (const v of r.impersonatedExtra[key]!) out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('userextras', AUTHN_GROUP, '', v, key) });
  }
  if (r.impersonatedUID !== '') out.push({ kind: 'impersonate', user: requestor, attrs: resourceCheck('uids', AUTHN_GROUP, '', r.impersonatedUID) });
  return out;
}

/** The groups an impersonating client must have asked for to end up with `groups`. */
export function requestedGroups(username: string, groups: readonly string[], saNamespace: string | undefined): string[] {
  const added = username === 'system:anonymous' ? 'system:unauthenticated' : 'system:authenticated';
  const rest = groups.filter((g) => g !== added);
  if (saNamespace !== undefined) {
    // Without Impersonate-Group headers the filter sets serviceaccount.MakeGroupNames(NS).
    const own = ['system:serviceaccounts', `system:serviceaccounts:${saNamespace}`];
    if (rest.length === own.length && own.every((g) => rest.includes(g))) return [];
  }
  return [...new Set(rest)];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether the storage layer ran its escalation checks and they passed (2xx), failed (403), or neither is known. */
export type StorageOutcome = 'passed' | 'failed' | 'unknown';

/** The outcome of the RBAC storage's escalation checks, from the response code. */
export function storageOutcome(r: AuditRecord): StorageOutcome {
  if (r.decision === 'forbid') return 'unknown'; // the request itself was denied: storage never ran
  if (r.code >= 200 && r.code < 300) return 'passed';
  if (r.code === 403) return 'failed';
  return 'unknown';
}

const BINDINGS = new Set(['rolebindings', 'clusterrolebindings']);
const ROLES = new Set(['roles', 'clusterroles']);
const WRITES = new Set(['create', 'update', 'patch']);

/** What an RBAC write asks of the escalation checks. */
export interface RbacWrite {
  /** A binding (bind check) or a role (escalate check). */
  object: 'binding' | 'role';
  /** The escalate check (RoleEscalationAuthorized), always known for role writes; null for bindings. */
  escalate: AuthzCheck | null;
  /** The bind check (BindingAuthorized); null for roles, or when the body does not name the roleRef. */
  bind: AuthzCheck | null;
  /** For roles: the rules being written, when the body holds them; null otherwise. */
  rules: PolicyRule[] | null;
  /** For roles: the body sets an aggregationRule (needs every permission unless escalate). */
  aggregation: boolean;
  /** Why the body could not be used ('' when it was): not logged, a JSON patch, no roleRef… */
  bodyMissing: string;
  outcome: StorageOutcome;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

/**
 * The escalation checks of an RBAC write (create, update or patch of roles, clusterroles,
 * rolebindings, clusterrolebindings in rbac.authorization.k8s.io), as the policybased storages run
 * them (pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go):
 * - a binding passes when BindingAuthorized allows `bind` on its roleRef (resource roles or
 *   clusterroles, name = roleRef.name, namespace = the binding's), else when ConfirmNoEscalation finds
 *   the user already holds every rule of the role;
 * - a role passes when RoleEscalationAuthorized allows `escalate` on it (name as RequestInfo has it,
 *   so '' for a create), else when the user holds every rule written (and every permission, for an
 *   aggregationRule).
 * Members of system:masters skip both (EscalationAllowed). null when the record is not such a write.
 */
export function rbacWrite(r: AuditRecord): RbacWrite | null {
  if (r.apiGroup !== RBAC_GROUP || r.subresource !== '' || !WRITES.has(r.verb)) return null;
  if (!BINDINGS.has(r.resource) && !ROLES.has(r.resource)) return null;
  const user = userInfo(r);
  if (user.groups.includes('system:masters')) return null;
  const attrs = requestAttributes(r);
  const outcome = storageOutcome(r);
  const body = r.requestObject;
  let bodyMissing = '';
  if (body === undefined) bodyMissing = `request body not logged (audit level ${r.level || 'unknown'})`;
  else if (!isObj(body)) bodyMissing = 'request body is not an object (a JSON patch)';
  if (ROLES.has(r.resource)) {
    const escalate: AuthzCheck = { kind: 'escalate', user, attrs: { ...attrs, verb: 'escalate' } };
    let rules: PolicyRule[] | null = null;
    let aggregation = false;
    if (!bodyMissing && isObj(body)) {
      if (Array.isArray(body.rules)) {
        rules = body.rules.filter(isObj).map((x) => {
          const rule: PolicyRule = { verbs: strings(x.verbs) ?? [] };
          for (const k of ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
            const v = strings(x[k]);
            if (v) rule[k] = v;
          }
          return rule;
        });
      } else if (r.verb === 'patch') bodyMissing = 'the patch does not carry the rules';
      else rules = [];
      const ar = body.aggregationRule;
      aggregation = isObj(ar) && Array.isArray(ar.clusterRoleSelectors) && ar.clusterRoleSelectors.length > 0;
    }
    return { object: 'role', escalate, bind: null, rules, aggregation, bodyMissing, outcome };
  }
  let bind: AuthzCheck | null = null;
  if (!bodyMissing && isObj(body)) {
    const ref = body.roleRef;
    if (isObj(ref) && (ref.kind === 'Role' || ref.kind === 'ClusterRole') && typeof ref.name === 'string' && ref.name !== '') {
      const apiGroup = typeof ref.apiGroup === 'string' ? ref.apiGroup : RBAC_GROUP;
      const namespace = r.resource === 'rolebindings' ? attrs.namespace : '';
      bind = { kind: 'bind', user, attrs: { verb: 'bind', apiGroup, resource: ref.kind === 'Role' ? 'roles' : 'clusterroles', subresource: '', namespace, name: ref.name, nonResourceURL: '' } };
    } else bodyMissing = 'the request body does not name the roleRef';
  }
  return { object: 'binding', escalate: null, bind, rules: null, aggregation: false, bodyMissing, outcome };
}
