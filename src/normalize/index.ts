// Chooses the adapter for one ingested value: native Event, or a cloud provider's wrapper around one.
import type { AuditRecord } from '../types.js';
import { normalizeEvent, quoted } from './event.js';
import { normalizeGke } from './gke.js';
import type { BodyNeeds } from './bodies.js';

type Obj = Record<string, unknown>;

/** AKS diagnostic record categories that carry audit events. */
const AKS_AUDIT_CATEGORIES = new Set(['kube-audit', 'kube-audit-admin']);

function parseInner(text: string, field: string): Obj | string {
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Obj;
    return `field ${field}: not a JSON object`;
  } catch (e) {
    return `field ${field}: not JSON (${(e as Error).message})`;
  }
}

/** Log Analytics `dynamic` columns arrive as objects (JSON exports) or as JSON text (CSV exports). */
function dyn(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? undefined;
  const t = v.trim();
  if (t === '') return undefined;
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

/** An AKSAudit / AKSAuditAdmin row (Azure Log Analytics) → the audit Event it was made from. */
export function fromLogAnalytics(o: Obj): Obj {
  const e: Obj = { kind: 'Event', apiVersion: 'audit.k8s.io/v1' };
  const map: [string, string, boolean][] = [
    ['Level', 'level', false],
    ['AuditId', 'auditID', false],
    ['Stage', 'stage', false],
    ['RequestUri', 'requestURI', false],
    ['Verb', 'verb', false],
    ['User', 'user', true],
    ['ImpersonatedUser', 'impersonatedUser', true],
    ['SourceIps', 'sourceIPs', true],
    ['UserAgent', 'userAgent', false],
    ['ObjectRef', 'objectRef', true],
    ['ResponseStatus', 'responseStatus', true],
    ['RequestObject', 'requestObject', true],
    ['ResponseObject', 'responseObject', true],
    ['RequestReceivedTime', 'requestReceivedTimestamp', false],
    ['StageReceivedTime', 'stageTimestamp', false],
    ['Annotations', 'annotations', true],
  ];
  for (const [from, to, dynamic] of map) {
    const v = dynamic ? dyn(o[from]) : o[from];
    if (v !== undefined && v !== null && v !== '') e[to] = v;
  }
  return e;
}

/** A value that is not an audit event by design: counted as ignored (never rejected), with the reason. */
export class Ignored {
  constructor(readonly reason: string) {}
}

/**
 * CloudWatch Logs checks a subscription's destination with control messages: a payload with
 * messageType CONTROL_MESSAGE whose log event messages start with this (AWS CloudWatch Logs
 * "Using subscription filters" documentation).
 */
const CLOUDWATCH_CONTROL = 'CWL CONTROL MESSAGE';
const CONTROL_IGNORED = new Ignored('CloudWatch Logs control message');

/**
 * Normalizes one value from any supported shape; a string result is the reason it was rejected,
 * an Ignored one why it is no audit event by design.
 */
export function normalizeValue(v: unknown, cluster: string, bodies?: BodyNeeds): AuditRecord | string | Ignored {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return `not an audit event (${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v})`;
  }
  const o = v as Obj;
  if (typeof o.verb === 'string' || o.kind === 'Event') return normalizeEvent(o, cluster, 'k8s', bodies);
  if (o.protoPayload !== undefined) return normalizeGke(o, cluster);
  if (typeof o.AuditId === 'string' || (typeof o.Verb === 'string' && 'RequestUri' in o)) return normalizeEvent(fromLogAnalytics(o), cluster, 'aks', bodies);
  const props = o.properties;
  if (props !== null && typeof props === 'object' && 'log' in (props as Obj)) {
    const category = typeof o.category === 'string' ? o.category : typeof o.Category === 'string' ? o.Category : '';
    if (category && !AKS_AUDIT_CATEGORIES.has(category)) return `not an audit record (AKS category ${quoted(category)})`;
    const log = (props as Obj).log;
    const inner = typeof log === 'string' ? parseInner(log, 'properties.log') : log;
    if (typeof inner === 'string') return inner;
    if (inner === null || typeof inner !== 'object') return 'field properties.log: expected an audit event';
    return normalizeEvent(inner as Obj, cluster, 'aks', bodies);
  }
  const msg = typeof o.message === 'string' ? o.message : typeof o['@message'] === 'string' ? (o['@message'] as string) : null;
  if (msg !== null) {
    if (msg.startsWith(CLOUDWATCH_CONTROL)) return CONTROL_IGNORED;
    const inner = parseInner(msg, typeof o.message === 'string' ? 'message' : '@message');
    if (typeof inner === 'string') return inner;
    return normalizeEvent(inner, cluster, 'eks', bodies);
  }
  return normalizeEvent(o, cluster, 'k8s', bodies);
}
