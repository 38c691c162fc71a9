// Kubernetes' RBAC rule semantics, rule by rule (k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go
// and plugin/pkg/auth/authorizer/rbac/rbac.go). Each function is pinned by table-driven tests.
import type { LabelSelector, PolicyRule, RbacSubject, RequestAttributes } from '../types.js';

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  for (const v of rule.verbs) if (v === '*' || v === verb) return true;
  return false;
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  for (const g of rule.apiGroups ?? []) if (g === '*' || g === group) return true;
  return false;
}

/** `*`, exact `resource` or `resource/subresource`, and `*\/subresource`. */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*' || r === combined) return true;
    if (subresource === '') continue;
    if (r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

/** An empty resourceNames list means every name; otherwise the request's name must be listed. */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames;
  if (!names || names.length === 0) return true;
  return names.includes(name);
}

/** `*`, exact path, or a trailing `*` as a prefix match. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

export function isResourceRequest(req: RequestAttributes): boolean {
  return req.resource !== '';
}

export function ruleAllows(req: RequestAttributes, rule: PolicyRule): boolean {
  if (isResourceRequest(req)) {
    const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
    return verbMatches(rule, req.verb) && apiGroupMatches(rule, req.apiGroup) && resourceMatches(rule, combined, req.subresource) && resourceNameMatches(rule, req.name);
  }
  return verbMatches(rule, req.verb) && nonResourceURLMatches(rule, req.nonResourceURL);
}

/**
 * Whether a binding subject names this user. A ServiceAccount subject without a namespace takes
 * the binding's namespace (so RoleBindings can name local service accounts unqualified).
 */
export function subjectMatches(s: RbacSubject, user: string, groups: readonly string[], bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user;
    case 'Group':
      return groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      return ns !== '' && user === `system:serviceaccount:${ns}:${s.name}`;
    }
  }
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function keyError(k: string): string | null {
  const slash = k.lastIndexOf('/');
  const name = slash < 0 ? k : k.slice(slash + 1);
  if (!QUALIFIED_NAME.test(k) || name.length > 63 || (slash >= 0 && slash > 253)) return `label key ${JSON.stringify(k)} is not a qualified name`;
  return null;
}

function valueError(v: string): string | null {
  return LABEL_VALUE.test(v) && v.length <= 63 ? null : `label value ${JSON.stringify(v)} is not valid`;
}

/**
 * Why metav1.LabelSelectorAsSelector would reject a selector (null when it parses): an unknown
 * operator, In/NotIn without values, Exists/DoesNotExist with values, or an invalid label key or value
 * (labels.NewRequirement). The aggregation controller leaves a role alone when its selector fails.
 */
export function selectorError(sel: LabelSelector): string | null {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    const e = keyError(k) ?? valueError(v);
    if (e) return e;
  }
  for (const e of sel.matchExpressions ?? []) {
    const ke = keyError(e.key);
    if (ke) return ke;
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (vals.length === 0) return `operator ${e.operator} needs values`;
        for (const v of vals) {
          const ve = valueError(v);
          if (ve) return ve;
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (vals.length > 0) return `operator ${e.operator} takes no values`;
        break;
      default:
        return `unknown operator ${JSON.stringify(e.operator)}`;
    }
  }
  return null;
}

/** Kubernetes label selector semantics: every matchLabels pair and every expression must hold. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  const ml = sel.matchLabels ?? {};
  const me = sel.matchExpressions ?? [];
  // An empty selector selects everything (metav1.LabelSelectorAsSelector), as the aggregation controller applies it.
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const e of me) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// ---------- covering (escalation checks) ----------

function hasAll(set: readonly string[] | undefined, want: readonly string[]): boolean {
  const s = new Set(set ?? []);
  return want.every((x) => s.has(x));
}

function nonResourceURLCovers(owner: string, sub: string): boolean {
  return owner === sub || (owner.endsWith('*') && sub.startsWith(owner.replace(/\*+$/, '')));
}

/** One verb, one group, one resource, at most one name (or one URL): breakdownRule. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (rule.resourceNames && rule.resourceNames.length) {
          for (const name of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
        } else out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

/**
 * Whether the owner's resources cover every resource listed: resourceCoversAll. `*`, or each resource
 * listed exactly, or a `resource/subresource` covered by the owner's `*\/subresource`.
 */
export function resourceCoversAll(owner: readonly string[], resources: readonly string[]): boolean {
  if (owner.includes('*') || hasAll(owner, resources)) return true;
  for (const path of resources) {
    if (owner.includes(path)) continue;
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    if (!owner.includes(`*/${path.slice(slash + 1)}`)) return false;
  }
  return true;
}

/** Whether an owner rule covers a broken-down rule: ruleCovers. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = owner.verbs.includes('*') || hasAll(owner.verbs, sub.verbs);
  const groups = (owner.apiGroups ?? []).includes('*') || hasAll(owner.apiGroups, sub.apiGroups ?? []);
  const resources = resourceCoversAll(owner.resources ?? [], sub.resources ?? []);
  const urls = (sub.nonResourceURLs ?? []).every((p) => (owner.nonResourceURLs ?? []).some((o) => nonResourceURLCovers(o, p)));
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  const names = subNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, subNames);
  return verbs && groups && resources && names && urls;
}

/**
 * Whether ownerRules cover servantRules, and the broken-down rules they do not cover: Covers
 * (k8s.io/component-helpers auth/rbac/validation/policy_comparator.go), which ConfirmNoEscalation
 * (pkg/registry/rbac/validation/rule.go) applies to a role or binding being written.
 */
export function covers(ownerRules: readonly PolicyRule[], servantRules: readonly PolicyRule[]): { covered: boolean; missing: PolicyRule[] } {
  const missing: PolicyRule[] = [];
  for (const sub of servantRules.flatMap(breakdownRule)) if (!ownerRules.some((o) => ruleCovers(o, sub))) missing.push(sub);
  return { covered: missing.length === 0, missing };
}
