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

/**
 * The probes of a sensitive entry as requests, in `namespace`, named as the rule pins names. A probe
 * with subresource `*` (any subresource) becomes one request per subresource the rule names (each
 * `RESOURCE/SUB` or `*\/SUB` it lists) and one without (which a `*` resource allows).
 */
export function probeRequests(probes: readonly Partial<RequestAttributes>[], rule: PolicyRule, namespace: string): RequestAttributes[] {
  const out: RequestAttributes[] = [];
  for (const p of probes) {
    if (p.subresource !== '*') {
      out.push(probeRequest(p, rule, namespace));
      continue;
    }
    const subs = new Set<string>(['']);
    for (const r of rule.resources ?? []) if (r.startsWith(`${p.resource}/`) || r.startsWith('*/')) subs.add(r.slice(r.indexOf('/') + 1));
    for (const sub of subs) out.push(probeRequest({ ...p, subresource: sub }, rule, namespace));
  }
  return out;
}

/** Whether a probe of the table names this permission (a `*` subresource names any). */
export function probeMatches(p: Partial<RequestAttributes>, verb: string, apiGroup: string, resource: string, subresource: string): boolean {
  return p.verb === verb && (p.apiGroup ?? '') === apiGroup && p.resource === resource && (p.subresource === '*' || (p.subresource ?? '') === subresource);
}

/** Ids of the sensitive entries a rule grants at all (used or not); `namespace` '' for cluster-wide. */
export function grantedSensitive(rule: PolicyRule, namespace: string): string[] {
  const out: string[] = [];
  for (const e of SENSITIVE) {
    if (e.group) continue;
    if (e.wildcard ? hasWildcard(rule) : probeRequests(e.probes ?? [], rule, namespace).some((req) => ruleAllows(req, rule))) out.push(e.id);
  }
  return out;
}
