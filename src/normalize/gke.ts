// GKE Cloud Logging LogEntry (protoPayload of type AuditLog) → AuditRecord.
import type { AuditRecord } from '../types.js';
import { classifySubject } from './subject.js';
import { parseUserAgent, accessMethodFor } from './useragent.js';
import { parseTimeMs } from './time.js';
import { decisionFrom, EMPTY_EXTRA, EMPTY_STRINGS, NO_LOCATION, quoted } from './event.js';

type Obj = Record<string, unknown>;

const VERSION = /^v\d+(?:(?:alpha|beta)\d+)?$/;
/** API groups whose GKE method names are io.k8s.<group> but whose real name has no .k8s.io suffix. */
const LEGACY_GROUPS = new Set(['apps', 'batch', 'autoscaling', 'policy', 'extensions']);

/** google.rpc.Code → the HTTP status the API server returned. */
const RPC_TO_HTTP: Record<number, number> = {
  0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429,
  9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
};

export interface ParsedMethod {
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  verb: string;
}

/** `io.k8s.core.v1.pods.exec.create`, `io.k8s.authorization.rbac.v1.roles.get`, `io.cert-manager.v1.certificates.list`. */
export function parseMethodName(method: string): ParsedMethod | null {
  const parts = method.split('.');
  let vi = -1;
  for (let i = 1; i < parts.length; i++) if (VERSION.test(parts[i]!)) vi = i;
  if (vi < 0 || parts.length - vi < 3 || parts.length - vi > 4) return null;
  let group: string;
  if (parts[0] === 'io' && parts[1] === 'k8s') {
    const g = parts.slice(2, vi);
    if (g.length === 1 && g[0] === 'core') group = '';
    else if (g.length === 1 && LEGACY_GROUPS.has(g[0]!)) group = g[0]!;
    else group = [...g.reverse(), 'k8s', 'io'].join('.');
  } else group = parts.slice(0, vi).reverse().join('.');
  const rest = parts.slice(vi + 1);
  return {
    apiGroup: group,
    apiVersion: parts[vi]!,
    resource: rest[0]!,
    subresource: rest.length === 3 ? rest[1]! : '',
    verb: rest[rest.length - 1]!,
  };
}

/** `core/v1/namespaces/NS/pods/NAME/status` → namespace and name. */
export function parseResourceName(rn: string): { namespace: string; name: string } {
  let segs = rn.split('/').slice(2);
  let namespace = '';
  if (segs[0] === 'namespaces' && segs.length > 2) {
    namespace = segs[1]!;
    segs = segs.slice(2);
  }
  const name = segs[1] ?? '';
  if (segs[0] === 'namespaces') namespace = name; // the API server scopes a namespace to itself
  return { namespace, name };
}

function s(o: Obj | null, k: string): string {
  const v = o ? o[k] : undefined;
  return typeof v === 'string' ? v : '';
}
function o(x: Obj | null, k: string): Obj | null {
  const v = x ? x[k] : undefined;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null;
}

/** Who a GKE entry says acted: the same three fields a native event gives. */
export interface GkeIdentity {
  /** The identity Kubernetes authorized (the impersonated one when impersonation was used). */
  subject: string;
  /** The caller behind an impersonated request ('' when none). */
  impersonator: string;
  /** The Google identity behind the subject: an email, a workforce/workload principal, the first delegator. */
  principal: string;
}

/**
 * Maps Cloud Audit Logs `authenticationInfo` (google.cloud.audit.AuthenticationInfo) to a subject:
 *  - `principalEmail`: the authenticated caller. For third-party (workforce/workload identity
 *    federation) callers it is empty and `principalSubject` (principal://iam.googleapis.com/…)
 *    names the caller instead.
 *  - `authoritySelector`: set when the caller asked to act as another identity (Kubernetes
 *    impersonation): that identity is the one Kubernetes authorized (the decision label names it),
 *    so it is the subject and the caller is the impersonator.
 *  - `serviceAccountDelegationInfo[]`: the chain of IAM delegation behind a Google service account
 *    caller; the first delegator (`firstPartyPrincipal.principalEmail`, or a third party's
 *    `principalSubject`) is the principal behind it.
 * Returns the reason when no identity is present.
 */
export function gkeIdentity(auth: Obj | null): GkeIdentity | string {
  const caller = s(auth, 'principalEmail') || s(auth, 'principalSubject');
  if (!caller) return 'not a Kubernetes audit entry (authenticationInfo.principalEmail missing)';
  const selector = s(auth, 'authoritySelector');
  const impersonated = selector !== '' && selector !== caller;
  let principal = '';
  const chain = auth ? auth.serviceAccountDelegationInfo : undefined;
  if (Array.isArray(chain)) {
    for (const d of chain) {
      const dd = d !== null && typeof d === 'object' ? (d as Obj) : null;
      const who = s(o(dd, 'firstPartyPrincipal'), 'principalEmail') || s(dd, 'principalSubject');
      if (who) {
        principal = who;
        break;
      }
    }
  }
  if (!principal && (caller.includes('@') || caller.startsWith('principal://'))) principal = caller;
  return { subject: impersonated ? selector : caller, impersonator: impersonated ? caller : '', principal };
}

export function normalizeGke(entry: Obj, cluster: string): AuditRecord | string {
  const p = o(entry, 'protoPayload');
  if (!p) return 'not an audit event (no protoPayload)';
  const service = s(p, 'serviceName');
  if (service && service !== 'k8s.io') return `not a Kubernetes audit entry (serviceName ${quoted(service)})`;
  const method = s(p, 'methodName');
  if (!method) return 'not a Kubernetes audit entry (protoPayload.methodName missing)';
  const id = gkeIdentity(o(p, 'authenticationInfo'));
  if (typeof id === 'string') return id;
  const user = id.subject;
  const resourceName = s(p, 'resourceName');
  const m = parseMethodName(method);
  let rec: Pick<AuditRecord, 'apiGroup' | 'apiVersion' | 'resource' | 'subresource' | 'verb' | 'namespace' | 'name' | 'nonResourceURL' | 'requestURI'>;
  if (m) {
    const { namespace, name } = parseResourceName(resourceName);
    rec = { ...m, namespace, name, nonResourceURL: '', requestURI: resourceName ? `/${resourceName}` : '' };
  } else {
    const verb = method.slice(method.lastIndexOf('.') + 1);
    const path = '/' + resourceName.replace(/^\/+/, '');
    rec = { apiGroup: '', apiVersion: '', resource: '', subresource: '', verb, namespace: '', name: '', nonResourceURL: path, requestURI: path };
  }
  const meta = o(p, 'requestMetadata');
  const status = o(p, 'status');
  const rpc = status && typeof status.code === 'number' ? status.code : 0;
  const code = RPC_TO_HTTP[rpc] ?? 500;
  const labels = o(entry, 'labels');
  const op = o(entry, 'operation');
  const time = s(entry, 'timestamp');
  const timeMs = time ? parseTimeMs(time) : NaN;
  const who = classifySubject(user);
  const userAgent = s(meta, 'callerSuppliedUserAgent');
  const ua = parseUserAgent(userAgent);
  const stage = op && op.last === false ? 'ResponseStarted' : 'ResponseComplete';
  const out: AuditRecord = {
    time,
    timeMs,
    auditID: s(op, 'id') || s(entry, 'insertId'),
    stage,
    level: p.request ? 'Request' : 'Metadata',
    // The cluster the data names wins: --cluster and NAME=PATH label only what names none (a label
    // over it made --cluster X keep another cluster's requests, relabelled as X).
    cluster: s(o(o(entry, 'resource'), 'labels'), 'cluster_name') || cluster,
    subject: user,
    subjectKind: who.kind,
    subjectNamespace: who.namespace,
    subjectName: who.kind === 'ServiceAccount' ? who.name : '',
    groups: EMPTY_STRINGS,
    impersonator: id.impersonator,
    principal: id.principal,
    ...rec,
    code,
    decision: decisionFrom(s(labels, 'authorization.k8s.io/decision'), code),
    durationMs: null,
    sourceIP: s(meta, 'callerIp'),
    userAgent,
    client: ua.client,
    clientVersion: ua.clientVersion,
    accessMethod: accessMethodFor(ua, who.kind),
    provider: 'gke',
    auditIDReused: false,
    location: NO_LOCATION,
    // Cloud Audit Logs carry neither the user's groups nor impersonation headers.
    impersonatorGroups: EMPTY_STRINGS,
    impersonatedUID: '',
    impersonatedExtra: EMPTY_EXTRA,
    responseStartedMs: null,
  };
  // The logged bodies (level Request and RequestResponse): rules over bodies read them as they read an Event's.
  const request = o(p, 'request');
  if (request) out.requestObject = request;
  const response = o(p, 'response');
  if (response) out.responseObject = response;
  return out;
}
