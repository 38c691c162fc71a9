// Native audit.k8s.io Event (v1 and v1beta1) → one flat AuditRecord. Returns a reason string for
// anything that is not a well-formed audit event; never throws.
import type { AuditRecord, Decision, Loc } from '../types.js';
import { classifySubject } from './subject.js';
import { parseUserAgent, accessMethodFor } from './useragent.js';
import { parseTimeMs } from './time.js';
import { wantsBody, type BodyNeeds } from './bodies.js';
import { LazyJson } from '../ingest/extract.js';

type Obj = Record<string, unknown>;

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * `v` as JSON, for a reason text (at most QUOTE_MAX characters of it, then its length). JSON.parse reads any nesting but JSON.stringify recurses: a value
 * nested deeper than the stack allows (attacker-controlled) is named by its type instead of
 * throwing RangeError out of normalize (an internal error that stopped the whole run).
 */
export function quoted(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v);
  } catch {
    return `${typeName(v)}, nested too deep to quote`;
  }
  // The value is attacker-controlled and may be as long as a line (64 MiB): a reason names it, it
  // does not copy it (reasons are kept, posted between threads and printed).
  return text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX)}… (${text.length} characters)` : text;
}

/** Longest quoted value in a reason text, in UTF-16 code units. */
const QUOTE_MAX = 120;

/** Field reader that remembers the first type error (one per thread, reset per event: no allocation per event). */
class Fields {
  error: string;
  constructor() {
    this.error = '';
  }
  str(o: Obj, key: string, path: string): string {
    const v = o[key];
    if (typeof v === 'string') return v;
    if (v !== undefined && v !== null && !this.error) this.error = `field ${path}: expected string, got ${typeName(v)}`;
    return '';
  }
  obj(o: Obj, key: string, path: string): Obj | null {
    const v = o[key];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
    if (v !== undefined && v !== null && !this.error) this.error = `field ${path}: expected object, got ${typeName(v)}`;
    return null;
  }
  strings(o: Obj, key: string, path: string): string[] {
    const v = o[key];
    if (Array.isArray(v)) {
      for (const x of v) {
        if (typeof x !== 'string') {
          if (!this.error) this.error = `field ${path}: expected array of strings`;
          return [];
        }
      }
      return v as string[];
    }
    if (v !== undefined && v !== null && !this.error) this.error = `field ${path}: expected array, got ${typeName(v)}`;
    return [];
  }
}

export const EMPTY_STRINGS: string[] = [];
/** The shared empty `impersonatedExtra` (never mutated). */
export const EMPTY_EXTRA: Record<string, string[]> = Object.freeze({}) as Record<string, string[]>;

/** `user.extra`-shaped map (key → string values), keys sorted; a malformed value is a field error. */
function extraFrom(f: Fields, o: Obj | null): Record<string, string[]> {
  if (!o) return EMPTY_EXTRA;
  const keys = Object.keys(o).sort();
  if (keys.length === 0) return EMPTY_EXTRA;
  // Object.fromEntries makes every key an own property: an Impersonate-Extra-__proto__ header is a
  // key like any other (an assignment would set the object's prototype and lose it).
  return Object.fromEntries(keys.map((k) => [k, f.strings(o, k, `impersonatedUser.extra.${k}`)]));
}

/** The location of a record before the pipeline sets it (records built outside the pipeline keep it). */
export const NO_LOCATION: Loc = Object.freeze({ file: '', line: 0, unit: 'line' as const });

/** Path without the query string. */
export function stripQuery(uri: string): string {
  const q = uri.indexOf('?');
  return q < 0 ? uri : uri.slice(0, q);
}

export function decisionFrom(annotation: string, code: number): Decision {
  if (annotation === 'allow' || annotation === 'forbid') return annotation;
  if (code === 403) return 'forbid';
  if (code === 401 || code === 0) return '';
  return 'allow';
}

/** The first string of a user.extra value (`map[string][]string` in authentication/v1 UserInfo). */
function extraValue(extra: Obj, key: string): string {
  const v = extra[key];
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return typeof v === 'string' ? v : '';
}

/**
 * The provider identity behind the Kubernetes user, from user.extra (see the README's cloud
 * identity table):
 *  - EKS (aws-iam-authenticator pkg/server/server.go, EKS access entries): `arn` is the session
 *    ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), which names who acted; `canonicalArn`
 *    only the role. Some exports put these keys on `user` itself rather than under `extra`.
 *  - AKS with Microsoft Entra ID (guard): `oid` is the Entra object id of the user, group member
 *    or service principal; the username may be a UPN or that object id.
 */
export function principalFrom(user: Obj, extra: Obj | null): string {
  for (const o of extra ? [extra, user] : [user]) {
    const v = extraValue(o, 'arn') || extraValue(o, 'canonicalArn');
    if (v) return v;
  }
  return extra ? extraValue(extra, 'oid') : '';
}

/** HTTP status codes are three digits, 100-599 (RFC 9110 §15); 0 means the stage had none. */
export function isHttpStatus(c: number): boolean {
  return Number.isInteger(c) && c >= 100 && c <= 599;
}

/** A body as JSON.parse gives it (a LazyJson from the field extractor is parsed here, once it is wanted). */
function bodyValue(v: unknown): unknown {
  return v instanceof LazyJson ? v.value() : v;
}

/**
 * What normalizeEvent read of one event's members and checked, before the record is made of it
 * (recordFrom). One per thread, filled anew for each event (no allocation per event); the field
 * extractor (src/ingest/wasmextract.ts) fills it straight from a line's bytes.
 */
export class EventFields {
  received = '';
  stageTs = '';
  /**
   * True when the field extractor parsed the timestamps (timeMs, endMs: parseTimeMs of `received`
   * and of stageTs) and checked them; `stageTs` is then not read.
   */
  times = false;
  /** parseTimeMs(received), NaN without one (when `times`). */
  timeMs = NaN;
  /** parseTimeMs(stageTs) when both timestamps are there, else NaN: no duration (when `times`). */
  endMs = NaN;
  auditID = '';
  stage = '';
  level = '';
  verb = '';
  requestURI = '';
  subject = '';
  groups: string[] = EMPTY_STRINGS;
  impersonator = '';
  impersonatorGroups: string[] = EMPTY_STRINGS;
  impersonatedUID = '';
  impersonatedExtra: Record<string, string[]> = EMPTY_EXTRA;
  /** No impersonation (the fields of one are reset: an instance is reused from event to event). */
  notImpersonated(): void {
    this.impersonator = '';
    this.impersonatorGroups = EMPTY_STRINGS;
    this.impersonatedUID = '';
    this.impersonatedExtra = EMPTY_EXTRA;
  }
  principal = '';
  /** Whether the event had an objectRef object (else the request is a non-resource one). */
  hasRef = false;
  resource = '';
  subresource = '';
  namespace = '';
  name = '';
  apiGroup = '';
  apiVersion = '';
  code = 0;
  /** The `authorization.k8s.io/decision` annotation. */
  decisionNote = '';
  sourceIP = '';
  userAgent = '';
}

/** The EventFields of normalizeEvent. */
const fields = new Fields();
const read = new EventFields();

/**
 * `bodies`: which request and response bodies the record keeps (default: both); a body the record
 * does not keep is never parsed when the field extractor read the event.
 */
export function normalizeEvent(e: Obj, cluster: string, provider: string, bodies?: BodyNeeds): AuditRecord | string {
  const f = fields;
  const x = read;
  f.error = '';
  const kind = e.kind;
  if (kind !== undefined && kind !== 'Event') return `not an audit event (kind ${quoted(kind)})`;
  if (e.verb === undefined && e.user === undefined && e.requestURI === undefined) return 'not an audit event (no verb, user or requestURI)';
  const verb = f.str(e, 'verb', 'verb');
  const requestURI = f.str(e, 'requestURI', 'requestURI');
  const user = f.obj(e, 'user', 'user');
  if (f.error) return f.error;
  if (!verb) return 'not an audit event (missing verb)';
  if (!user) return 'not an audit event (missing user)';
  // `"user":{}`: the API server audited the request before any identity was established: failed
  // authentication (filters/authn_audit.go WithFailedAuthenticationAudit, 401) and other rejections
  // ahead of authentication (filters/request_deadline.go withFailedRequestAudit, 400). The record
  // keeps subject '' with the kind Unauthenticated; it is never system:anonymous.
  const username = f.str(user, 'username', 'user.username');
  let groups = f.strings(user, 'groups', 'user.groups');
  const imp = f.obj(e, 'impersonatedUser', 'impersonatedUser');
  x.verb = verb;
  x.requestURI = requestURI;
  x.subject = username;
  x.notImpersonated();
  if (imp) {
    const iu = f.str(imp, 'username', 'impersonatedUser.username');
    if (iu) {
      x.subject = iu;
      x.impersonator = username;
      x.impersonatorGroups = groups.length ? groups : EMPTY_STRINGS;
      groups = f.strings(imp, 'groups', 'impersonatedUser.groups');
      x.impersonatedUID = f.str(imp, 'uid', 'impersonatedUser.uid');
      x.impersonatedExtra = extraFrom(f, f.obj(imp, 'extra', 'impersonatedUser.extra'));
    }
  }
  x.groups = groups.length ? groups : EMPTY_STRINGS;
  const sourceIPs = f.strings(e, 'sourceIPs', 'sourceIPs');
  x.sourceIP = sourceIPs.length ? sourceIPs[0]! : '';
  x.userAgent = f.str(e, 'userAgent', 'userAgent');
  const ref = f.obj(e, 'objectRef', 'objectRef');
  const status = f.obj(e, 'responseStatus', 'responseStatus');
  const annotations = f.obj(e, 'annotations', 'annotations');
  x.times = false;
  x.received = f.str(e, 'requestReceivedTimestamp', 'requestReceivedTimestamp') || f.str(e, 'timestamp', 'timestamp');
  x.stageTs = f.str(e, 'stageTimestamp', 'stageTimestamp');
  x.auditID = f.str(e, 'auditID', 'auditID');
  x.stage = f.str(e, 'stage', 'stage');
  x.level = f.str(e, 'level', 'level');
  x.code = 0;
  if (status) {
    const c = status.code;
    if (typeof c === 'number') {
      if (c !== 0 && !isHttpStatus(c)) return `field responseStatus.code: ${c} is not an HTTP status code`;
      x.code = c;
    } else if (c !== undefined && c !== null) return `field responseStatus.code: expected number, got ${typeName(c)}`;
  }
  x.hasRef = ref !== null;
  if (ref) {
    x.resource = f.str(ref, 'resource', 'objectRef.resource');
    x.subresource = f.str(ref, 'subresource', 'objectRef.subresource');
    x.namespace = f.str(ref, 'namespace', 'objectRef.namespace');
    x.name = f.str(ref, 'name', 'objectRef.name');
    x.apiGroup = f.str(ref, 'apiGroup', 'objectRef.apiGroup');
    x.apiVersion = f.str(ref, 'apiVersion', 'objectRef.apiVersion');
  }
  x.decisionNote = annotations ? f.str(annotations, 'authorization.k8s.io/decision', 'annotations') : '';
  const extra = f.obj(user, 'extra', 'user.extra');
  if (f.error) return f.error;
  x.principal = principalFrom(user, extra);
  const rec = recordFrom(x, cluster, provider);
  if (typeof rec === 'string') return rec;
  if (bodies === undefined || wantsBody(bodies.requestObject, rec)) keepRequestBody(rec, e.requestObject);
  if (bodies === undefined || wantsBody(bodies.responseObject, rec)) keepResponseBody(rec, e.responseObject);
  return rec;
}

/** Keeps `v` (a body as JSON.parse gives it, or a LazyJson of it) as the record's requestObject when it is an object or array. */
export function keepRequestBody(rec: AuditRecord, v: unknown): void {
  const body = bodyValue(v);
  if (body !== null && typeof body === 'object') rec.requestObject = body;
}

/** Keeps `v` as the record's responseObject (see keepRequestBody). */
export function keepResponseBody(rec: AuditRecord, v: unknown): void {
  const body = bodyValue(v);
  if (body !== null && typeof body === 'object') rec.responseObject = body;
}

/**
 * The record of an event's checked members (normalizeEvent's second half: the timestamps, the
 * subject's kind, the client, the decision), or the reason the event is rejected (a timestamp
 * that is none). Bodies are not set (keepRequestBody, keepResponseBody).
 */
export function recordFrom(x: EventFields, cluster: string, provider: string): AuditRecord | string {
  const received = x.received;
  let timeMs: number;
  let durationMs: number | null = null;
  if (x.times) {
    timeMs = x.timeMs;
    if (x.endMs === x.endMs) durationMs = Math.round((x.endMs - timeMs) * 1000) / 1000;
  } else {
    const stageTs = x.stageTs;
    timeMs = received ? parseTimeMs(received) : NaN;
    if (received && Number.isNaN(timeMs)) return `field requestReceivedTimestamp: not a timestamp (${JSON.stringify(received.slice(0, 40))})`;
    if (stageTs && received) {
      const end = parseTimeMs(stageTs);
      if (Number.isNaN(end)) return `field stageTimestamp: not a timestamp (${JSON.stringify(stageTs.slice(0, 40))})`;
      durationMs = Math.round((end - timeMs) * 1000) / 1000;
    }
  }
  const hasRef = x.hasRef;
  const subject = x.subject;
  const stage = x.stage;
  const code = x.code;
  const who = classifySubject(subject);
  const ua = parseUserAgent(x.userAgent);
  return {
    time: received,
    timeMs,
    auditID: x.auditID,
    stage,
    level: x.level,
    cluster,
    subject,
    subjectKind: who.kind,
    subjectNamespace: who.namespace,
    subjectName: who.kind === 'ServiceAccount' ? who.name : '',
    groups: x.groups,
    impersonator: x.impersonator,
    principal: x.principal,
    verb: x.verb,
    apiGroup: hasRef ? x.apiGroup : '',
    apiVersion: hasRef ? x.apiVersion : '',
    resource: hasRef ? x.resource : '',
    subresource: hasRef ? x.subresource : '',
    namespace: hasRef ? x.namespace : '',
    name: hasRef ? x.name : '',
    nonResourceURL: hasRef ? '' : stripQuery(x.requestURI) || '/',
    requestURI: x.requestURI,
    code,
    decision: decisionFrom(x.decisionNote, code),
    durationMs,
    sourceIP: x.sourceIP,
    userAgent: x.userAgent,
    client: ua.client,
    clientVersion: ua.clientVersion,
    accessMethod: accessMethodFor(ua, who.kind),
    provider,
    auditIDReused: false,
    location: NO_LOCATION,
    impersonatorGroups: x.impersonatorGroups,
    impersonatedUID: x.impersonatedUID,
    impersonatedExtra: x.impersonatedExtra,
    responseStartedMs: stage === 'ResponseStarted' ? durationMs : null,
  };
}
