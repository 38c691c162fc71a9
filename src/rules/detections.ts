// Built-in detections, as data: each rule has an id, a severity, a description, a match, and the
// MITRE ATT&CK for Containers technique where one fits. They run with or without a baseline.
import type { AuditRecord, SubjectKind } from '../types.js';
import type { Severity } from './sensitive.js';
import { isPublicURL } from './everyone.js';

export interface DetectionMatch {
  verbs?: string[];
  /** group/resource[/subresource], core group as "". */
  resources?: string[];
  subjectKinds?: SubjectKind[];
  /** Subject kinds that never trigger the rule (nodes and control plane request tokens all day). */
  exceptSubjectKinds?: SubjectKind[];
  users?: string[];
  decision?: 'allow' | 'forbid';
  impersonated?: boolean;
  /** A check of the request body; the rule is skipped when the body was not logged. */
  body?: 'privileged-pod' | 'wildcard-role' | 'cluster-admin-binding';
  /** Leave out non-resource paths every user may read (/version, /healthz…). */
  exceptPublicURLs?: boolean;
}

export interface DetectionRule {
  id: string;
  severity: Severity;
  description: string;
  /** One-line reason for a finding; {field} is replaced with the request's field ({target} = resource[/sub] name). */
  reason?: string;
  /** MITRE ATT&CK technique (Containers matrix) where one fits. */
  technique: string;
  match: DetectionMatch;
}

const RBAC = 'rbac.authorization.k8s.io';
const WRITES = ['create', 'update', 'patch', 'delete', 'deletecollection'];

export const DETECTION_RULES: readonly DetectionRule[] = [
  { id: 'K8S-ANON-ALLOWED', severity: 'high', technique: 'T1078.001', description: 'an anonymous request was allowed', reason: 'system:anonymous was allowed to {verb} {target} from {sourceIP}', match: { users: ['system:anonymous'], decision: 'allow', exceptPublicURLs: true } },
  { id: 'K8S-EXEC', severity: 'medium', technique: 'T1609', description: 'exec, attach or port-forward into a pod', reason: '{subject} opened {subresource} sessions into pods in {namespace}', match: { verbs: ['create', 'get'], resources: ['/pods/exec', '/pods/attach', '/pods/portforward'] } },
  { id: 'K8S-SECRET-READ-HUMAN', severity: 'medium', technique: 'T1552.007', description: 'a person read secrets', reason: '{subject} read secrets ({verb}) in {namespace}', match: { verbs: ['get', 'list', 'watch'], resources: ['/secrets'], subjectKinds: ['User'], decision: 'allow' } },
  { id: 'K8S-RBAC-WRITE', severity: 'medium', technique: 'T1098.006', description: 'roles or bindings were changed', reason: '{subject} did {verb} on {target}', match: { verbs: WRITES, resources: [`${RBAC}/roles`, `${RBAC}/rolebindings`, `${RBAC}/clusterroles`, `${RBAC}/clusterrolebindings`], decision: 'allow' } },
  { id: 'K8S-CLUSTER-ADMIN-BINDING', severity: 'critical', technique: 'T1098.006', description: 'a binding to cluster-admin was created or changed', reason: '{subject} bound cluster-admin through {target}', match: { verbs: ['create', 'update', 'patch'], resources: [`${RBAC}/clusterrolebindings`, `${RBAC}/rolebindings`], body: 'cluster-admin-binding', decision: 'allow' } },
  { id: 'K8S-WILDCARD-ROLE', severity: 'high', technique: 'T1098.006', description: 'a role with wildcard (*) rules was created or changed', reason: '{subject} wrote {target} with wildcard (*) rules', match: { verbs: ['create', 'update', 'patch'], resources: [`${RBAC}/clusterroles`, `${RBAC}/roles`], body: 'wildcard-role', decision: 'allow' } },
  { id: 'K8S-PRIVILEGED-POD', severity: 'high', technique: 'T1611', description: 'a privileged, host-namespace or hostPath pod was created', reason: '{subject} created {target} in {namespace} with privileged or host access', match: { verbs: ['create', 'update', 'patch'], resources: ['/pods', 'apps/deployments', 'apps/daemonsets', 'apps/statefulsets', 'apps/replicasets', 'batch/jobs', 'batch/cronjobs'], body: 'privileged-pod', decision: 'allow' } },
  { id: 'K8S-SA-TOKEN', severity: 'medium', technique: 'T1528', description: 'a token was requested for a service account', reason: '{subject} requested a token for service account {namespace}/{name}', match: { verbs: ['create'], resources: ['/serviceaccounts/token'], exceptSubjectKinds: ['Node', 'System'], decision: 'allow' } },
  { id: 'K8S-NAMESPACE-DELETE', severity: 'high', technique: 'T1485', description: 'a namespace was deleted', reason: '{subject} deleted namespace {name}', match: { verbs: ['delete'], resources: ['/namespaces'], decision: 'allow' } },
  { id: 'K8S-IMPERSONATION', severity: 'medium', technique: 'T1078', description: 'someone acted as another identity (impersonation)', reason: '{impersonator} acted as {subject}', match: { impersonated: true } },
];

/** The denied-burst rule is stateful (N denials in M minutes): kept apart from the per-request table. */
export const DENIED_BURST = { id: 'K8S-DENIED-BURST', severity: 'medium' as Severity, technique: 'T1613', description: 'a burst of denied requests from one subject (reconnaissance)' };

// ---------- body checks ----------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function podSpecs(o: Obj): Obj[] {
  if (isObj(o.spec) && Array.isArray((o.spec as Obj).containers)) return [o.spec as Obj];
  const t = isObj(o.spec) ? (o.spec as Obj).template : undefined;
  if (isObj(t)) return podSpecs(t);
  const jt = isObj(o.spec) ? (o.spec as Obj).jobTemplate : undefined;
  if (isObj(jt)) return podSpecs(jt);
  return [];
}

function privileged(body: unknown): boolean {
  if (!isObj(body)) return false;
  for (const spec of podSpecs(body)) {
    if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true) return true;
    if (Array.isArray(spec.volumes) && spec.volumes.some((v) => isObj(v) && isObj(v.hostPath))) return true;
    const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])];
    for (const c of containers) {
      const sc = isObj(c) && isObj(c.securityContext) ? c.securityContext : null;
      if (sc && (sc.privileged === true || sc.allowPrivilegeEscalation === true)) return true;
    }
  }
  return false;
}

function wildcardRole(body: unknown): boolean {
  if (!isObj(body) || !Array.isArray(body.rules)) return false;
  return body.rules.some((r) => isObj(r) && ['verbs', 'resources', 'apiGroups', 'nonResourceURLs'].some((k) => Array.isArray(r[k]) && (r[k] as unknown[]).includes('*')));
}

function clusterAdminBinding(body: unknown): boolean {
  return isObj(body) && isObj(body.roleRef) && body.roleRef.name === 'cluster-admin';
}

const BODY_CHECKS: Record<NonNullable<DetectionMatch['body']>, (b: unknown) => boolean> = {
  'privileged-pod': privileged,
  'wildcard-role': wildcardRole,
  'cluster-admin-binding': clusterAdminBinding,
};

/** Fills a reason template from a request. */
export function renderReason(template: string, r: AuditRecord): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => {
    if (k === 'target') return r.resource ? `${r.resource}${r.subresource ? `/${r.subresource}` : ''}${r.name ? ` ${r.name}` : ''}` : r.nonResourceURL;
    const v = (r as unknown as Record<string, unknown>)[k];
    return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : '-';
  });
}

/** Compiled once: the rules whose match holds for one record. */
export function matchingRules(r: AuditRecord): DetectionRule[] {
  const out: DetectionRule[] = [];
  const res = r.resource ? `${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}` : '';
  for (const rule of DETECTION_RULES) {
    const m = rule.match;
    if (m.verbs && !m.verbs.includes(r.verb)) continue;
    if (m.resources && !m.resources.includes(res)) continue;
    if (m.subjectKinds && !m.subjectKinds.includes(r.subjectKind)) continue;
    if (m.exceptSubjectKinds && m.exceptSubjectKinds.includes(r.subjectKind)) continue;
    if (m.users && !m.users.includes(r.subject)) continue;
    if (m.decision && r.decision !== m.decision) continue;
    if (m.impersonated && r.impersonator === '') continue;
    if (m.exceptPublicURLs && r.resource === '' && isPublicURL(r.nonResourceURL)) continue;
    if (m.body && (r.requestObject === undefined || !BODY_CHECKS[m.body](r.requestObject))) continue;
    out.push(rule);
  }
  return out;
}
