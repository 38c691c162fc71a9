// Which entries of the sensitive-permission table (src/rules/sensitive.ts) a rule grants: shared by
// drift (unused sensitive grants), compliance and rbac-gen (sensitive permissions in its output).
import type { PolicyRule, RequestAttributes } from '../types.js';
import { SENSITIVE } from '../rules/sensitive.js';
import { ruleAllows } from './match.js';

/** A `*` in verbs, API groups, resources (`*` or `*\/sub`) or non-resource URLs. */
export function hasWildcard(r: PolicyRule): boolean {
  return [r.verbs, r.apiGroups ?? [], r.resources ?? [], r.nonResourceURLs ?? []].some((l) => l.some((x) => x === '*' || x.startsWith('*/')));
}

/** The probe of a sensitive entry as a request in `namespace`, named as the rule pins names. */
export function probeRequest(p: Partial<RequestAttributes>, rule: PolicyRule, namespace: string): RequestAttributes {
  return { verb: p.verb!, apiGroup: p.apiGroup ?? '', resource: p.resource!, subresource: p.subresource ?? '', namespace: namespace || 'default', name: rule.resourceNames?.[0] ?? '', nonResourceURL: '' };
}

/** Ids of the sensitive entries a rule grants at all (used or not); `namespace` '' for cluster-wide. */
export function grantedSensitive(rule: PolicyRule, namespace: string): string[] {
  const out: string[] = [];
  for (const e of SENSITIVE) {
    if (e.group) continue;
    if (e.wildcard ? hasWildcard(rule) : (e.probes ?? []).some((p) => ruleAllows(probeRequest(p, rule, namespace), rule))) out.push(e.id);
  }
  return out;
}
