// Builds audit.k8s.io/v1 Events shaped like the real ones in ../shared/corpus (field order, stage
// pairs, annotations, microsecond timestamps).
import type { Rng } from './rng.js';

export interface Ref {
  resource: string;
  apiGroup?: string;
  apiVersion: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type StagePlan = 'complete' | 'received' | 'started';

/** One API request as the generator plans it. */
export interface Req {
  t: number;
  user: string;
  groups: string[];
  impersonate?: { username: string; groups: string[] };
  ip: string;
  ua: string;
  verb: string;
  /** Query string without `?`. */
  query?: string;
  ref?: Ref;
  /** Non-resource path, when there is no ref. */
  path?: string;
  code: number;
  latencyMs: number;
  level?: 'Metadata' | 'Request' | 'RequestResponse';
  body?: unknown;
  /** The response body a RequestResponse level logs (on the completing stage only). */
  response?: unknown;
  /** complete: ResponseComplete only; received: RequestReceived + ResponseComplete; started: ResponseStarted + ResponseComplete. */
  stages: StagePlan;
  /** For `started`: how long the watch/exec stays open. */
  openMs?: number;
  /** Scripted incident this request belongs to (recorded in the manifest). */
  tag?: string;
}

export interface StagedEvent {
  at: number;
  json: string;
  auditID: string;
  tag?: string;
}

/** RFC 3339 with microseconds, as the API server writes. */
export function ts(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.floor((ms - whole) * 1000);
  return new Date(whole).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

/**
 * The URL path of a request. A create on a collection is POSTed to the collection (the name is in the
 * body, and the audit event's objectRef.name is filled from it afterwards); a create of a named
 * subresource (pods/NAME/exec) names the object in the path.
 */
export function resourcePath(ref: Ref, verb = ''): string {
  let p = ref.apiGroup ? `/apis/${ref.apiGroup}/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  if (ref.namespace && ref.resource !== 'namespaces') p += `/namespaces/${ref.namespace}`;
  p += `/${ref.resource}`;
  if (ref.name && !(verb === 'create' && !ref.subresource)) p += `/${ref.name}`;
  if (ref.subresource) p += `/${ref.subresource}`;
  return p;
}

const REASONS: Record<number, string> = { 403: 'Forbidden', 404: 'NotFound', 409: 'AlreadyExists', 401: 'Unauthorized', 422: 'Invalid' };

function authzReason(req: Req, allowed: boolean): string {
  if (!allowed) return '';
  if (req.groups.includes('system:masters')) return '';
  return 'RBAC: allowed by ClusterRoleBinding "kaudit-sample" of ClusterRole "kaudit-sample" to User "' + (req.impersonate?.username ?? req.user) + '"';
}

/** Expands a planned request into its stage events (one or two), each with its write time. */
export function toEvents(req: Req, rng: Rng): StagedEvent[] {
  const auditID = rng.uuid();
  const requestURI = (req.ref ? resourcePath(req.ref, req.verb) : req.path!) + (req.query ? `?${req.query}` : '');
  const allowed = req.code !== 403 && req.code !== 401;
  const level = req.level ?? 'Metadata';
  const base = (stage: string, stageAt: number, withResponse: boolean, code: number): string => {
    const e: Record<string, unknown> = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level,
      auditID,
      stage,
      requestURI,
      verb: req.verb,
      user: { username: req.user, groups: req.groups },
    };
    if (req.impersonate) e.impersonatedUser = req.impersonate;
    e.sourceIPs = [req.ip];
    if (req.ua) e.userAgent = req.ua;
    if (req.ref) {
      const r: Record<string, string> = { resource: req.ref.resource };
      if (req.ref.namespace) r.namespace = req.ref.namespace;
      if (req.ref.name) r.name = req.ref.name;
      if (req.ref.apiGroup) r.apiGroup = req.ref.apiGroup;
      r.apiVersion = req.ref.apiVersion;
      if (req.ref.subresource) r.subresource = req.ref.subresource;
      e.objectRef = r;
    }
    if (withResponse) {
      e.responseStatus =
        code >= 400
          ? { metadata: {}, status: 'Failure', message: `${req.ref?.resource ?? 'request'} failed with ${code}`, reason: REASONS[code] ?? 'InternalError', code }
          : { metadata: {}, code };
    }
    if (level !== 'Metadata' && req.body !== undefined) e.requestObject = req.body;
    if (level === 'RequestResponse' && req.response !== undefined && stage === 'ResponseComplete') e.responseObject = req.response;
    e.requestReceivedTimestamp = ts(req.t);
    e.stageTimestamp = ts(stageAt);
    if (stage !== 'RequestReceived' && req.code !== 401) {
      e.annotations = { 'authorization.k8s.io/decision': allowed ? 'allow' : 'forbid', 'authorization.k8s.io/reason': authzReason(req, allowed) };
    }
    return JSON.stringify(e);
  };
  const end = req.t + (req.stages === 'started' ? (req.openMs ?? 60_000) : req.latencyMs);
  const out: StagedEvent[] = [];
  const tag = req.tag;
  if (req.stages === 'received') out.push({ at: req.t, json: base('RequestReceived', req.t, false, 0), auditID, tag });
  if (req.stages === 'started') out.push({ at: req.t + req.latencyMs, json: base('ResponseStarted', req.t + req.latencyMs, true, req.code), auditID, tag });
  out.push({ at: end, json: base('ResponseComplete', end, true, req.code), auditID, tag });
  return out;
}
