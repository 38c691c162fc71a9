// Turns aggregated permissions into compact rules and Kubernetes objects, then proves them: the
// objects are loaded back through the same loader and authorizer, and every observed request must
// be allowed (the self-check).
import type { InputAccounting, PolicyRule, RbacSubject } from '../types.js';
import type { KeyAgg, PolicySubject, SubjectAgg } from '../analyses/rbacgen/index.js';
import { NAMEABLE_VERBS, RESOURCE_VERBS, VERB_GROUPS, verbOrder } from '../rules/verbs.js';
import { dnsLabel } from './names.js';
import { addObject, emptySnapshot } from './load.js';
import { Authorizer } from './authorizer.js';
import { cmp } from '../util/counter.js';

export interface GenerateOptions {
  /** namespaced: a Role per namespace; cluster: one ClusterRole for the namespaced rules, bound in each namespace. */
  scope: 'namespaced' | 'cluster';
  /** exact: the verbs observed; grouped: any read verb grants get, list and watch. */
  verbs: 'exact' | 'grouped';
  /** never: no `*`; safe: `*` verbs only when every resource verb was observed. */
  wildcards: 'never' | 'safe';
  /** Pin resourceNames where every request named an object and the verb can use a name. */
  resourceNames: boolean;
}

export const DEFAULT_GENERATE: GenerateOptions = { scope: 'namespaced', verbs: 'exact', wildcards: 'never', resourceNames: false };

/** A rule with the evidence behind it. */
export interface ExplainedRule {
  rule: PolicyRule;
  requests: number;
  first: string;
  last: string;
  examples: string[];
}

export interface GeneratedPolicy {
  subject: PolicySubject;
  requests: number;
  window: { from: string | null; to: string | null };
  /** Rules per namespace (Roles), sorted by namespace. */
  namespaces: { namespace: string; rules: ExplainedRule[] }[];
  /** Cluster-wide rules (ClusterRole): cluster-scoped resources, all-namespace requests, non-resource URLs. */
  cluster: ExplainedRule[];
  objects: K8sObject[];
}

export interface K8sObject {
  apiVersion: string;
  kind: 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';
  metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations: Record<string, string> };
  rules?: PolicyRule[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: RbacSubject[];
  /** Not serialised: explanation per rule, for --explain comments. */
  explain?: ExplainedRule[];
}

export interface SelfCheck {
  requests: number;
  allowed: number;
  coverage: number;
  uncovered: { subject: string; verb: string; apiGroup: string; resource: string; namespace: string; name: string; nonResourceURL: string; requests: number }[];
}

export interface RbacGenReport {
  kind: 'kaudit.rbac-gen';
  version: 1;
  input: InputAccounting;
  options: GenerateOptions;
  window: { from: string | null; to: string | null };
  /** Requests not turned into permissions, by reason. */
  leftOut: Record<string, number>;
  /** Requests the --existing RBAC already allowed. */
  alreadyGranted: number;
  policies: GeneratedPolicy[];
  selfCheck: SelfCheck;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

// ---------- compaction ----------

interface Partial {
  apiGroup: string;
  resource: string;
  verbs: string[];
  names: string[];
  keys: KeyAgg[];
}

function explain(keys: KeyAgg[]): Omit<ExplainedRule, 'rule'> {
  let requests = 0;
  let firstMs = Infinity;
  let first = '';
  let lastMs = -Infinity;
  let last = '';
  const ex: [number, string][] = [];
  for (const k of keys) {
    requests += k.count;
    if (k.firstMs < firstMs) [firstMs, first] = [k.firstMs, k.first];
    if (k.lastMs > lastMs) [lastMs, last] = [k.lastMs, k.last];
    ex.push(...k.examples);
  }
  ex.sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]));
  const examples = [...new Set(ex.map((e) => e[1]))].slice(0, 2);
  return { requests, first, last, examples };
}

function expandVerbs(observed: Set<string>, o: GenerateOptions): string[] {
  const v = new Set(observed);
  if (o.verbs === 'grouped') for (const g of VERB_GROUPS) if (g.some((x) => v.has(x))) for (const x of g) v.add(x);
  if (o.wildcards === 'safe' && RESOURCE_VERBS.every((x) => v.has(x))) return ['*'];
  return [...v].sort(verbOrder);
}

/** Rules for the resource permissions of one scope: per resource, then merged by resources, then by groups. */
function compactResources(keys: KeyAgg[], o: GenerateOptions): ExplainedRule[] {
  const byResource = new Map<string, KeyAgg[]>();
  for (const k of keys) {
    const rk = `${k.apiGroup}\u0000${k.subresource ? `${k.resource}/${k.subresource}` : k.resource}`;
    const list = byResource.get(rk);
    if (list) list.push(k);
    else byResource.set(rk, [k]);
  }
  const partials: Partial[] = [];
  for (const [rk, ks] of byResource) {
    const [apiGroup, resource] = rk.split('\u0000') as [string, string];
    const pinned = new Map<string, KeyAgg[]>(); // names key → keys of verbs pinned to those names
    const free: KeyAgg[] = [];
    for (const k of ks) {
      if (o.resourceNames && NAMEABLE_VERBS.has(k.verb) && !k.unnamed && k.names && k.names.size > 0) {
        const nk = [...k.names].sort().join('\u0000');
        const l = pinned.get(nk);
        if (l) l.push(k);
        else pinned.set(nk, [k]);
      } else free.push(k);
    }
    const freeVerbs = free.length ? expandVerbs(new Set(free.map((k) => k.verb)), o) : [];
    if (free.length) partials.push({ apiGroup, resource, verbs: freeVerbs, names: [], keys: free });
    for (const [nk, pk] of pinned) {
      // A verb the unpinned rule already grants for every name needs no pinned rule.
      const covered = pk.filter((k) => freeVerbs.includes(k.verb) || freeVerbs.includes('*'));
      const rest = pk.filter((k) => !covered.includes(k));
      if (covered.length) partials.find((p) => p.keys === free)!.keys.push(...covered);
      if (rest.length) partials.push({ apiGroup, resource, verbs: [...new Set(rest.map((k) => k.verb))].sort(verbOrder), names: nk.split('\u0000'), keys: rest });
    }
  }
  // Merge rules that differ only in resources…
  const byVerbs = new Map<string, { apiGroup: string; resources: string[]; verbs: string[]; names: string[]; keys: KeyAgg[] }>();
  for (const p of partials) {
    const k = `${p.apiGroup}\u0000${p.verbs.join(',')}\u0000${p.names.join('\u0000')}`;
    const m = byVerbs.get(k);
    if (m) {
      m.resources.push(p.resource);
      m.keys.push(...p.keys);
    } else byVerbs.set(k, { apiGroup: p.apiGroup, resources: [p.resource], verbs: p.verbs, names: p.names, keys: [...p.keys] });
  }
  // …then rules that differ only in API groups.
  const byAll = new Map<string, { apiGroups: string[]; resources: string[]; verbs: string[]; names: string[]; keys: KeyAgg[] }>();
  for (const m of byVerbs.values()) {
    const resources = m.resources.sort(cmp);
    const k = `${resources.join(',')}\u0000${m.verbs.join(',')}\u0000${m.names.join('\u0000')}`;
    const x = byAll.get(k);
    if (x) {
      x.apiGroups.push(m.apiGroup);
      x.keys.push(...m.keys);
    } else byAll.set(k, { apiGroups: [m.apiGroup], resources, verbs: m.verbs, names: m.names, keys: m.keys });
  }
  const rules = [...byAll.values()].map((x) => {
    const rule: PolicyRule = { apiGroups: x.apiGroups.sort(cmp), resources: x.resources, verbs: x.verbs };
    if (x.names.length) rule.resourceNames = x.names;
    return { rule, ...explain(x.keys) };
  });
  return rules.sort((a, b) => cmp(ruleSortKey(a.rule), ruleSortKey(b.rule)));
}

function compactURLs(keys: KeyAgg[]): ExplainedRule[] {
  const byURL = new Map<string, KeyAgg[]>();
  for (const k of keys) {
    const l = byURL.get(k.nonResourceURL);
    if (l) l.push(k);
    else byURL.set(k.nonResourceURL, [k]);
  }
  const byVerbs = new Map<string, { urls: string[]; verbs: string[]; keys: KeyAgg[] }>();
  for (const [url, ks] of byURL) {
    const verbs = [...new Set(ks.map((k) => k.verb))].sort(verbOrder);
    const vk = verbs.join(',');
    const m = byVerbs.get(vk);
    if (m) {
      m.urls.push(url);
      m.keys.push(...ks);
    } else byVerbs.set(vk, { urls: [url], verbs, keys: [...ks] });
  }
  return [...byVerbs.values()]
    .map((m) => ({ rule: { nonResourceURLs: m.urls.sort(cmp), verbs: m.verbs }, ...explain(m.keys) }))
    .sort((a, b) => cmp(ruleSortKey(a.rule), ruleSortKey(b.rule)));
}

function ruleSortKey(r: PolicyRule): string {
  return [r.nonResourceURLs ? '1' : '0', (r.apiGroups ?? []).join(','), (r.resources ?? r.nonResourceURLs ?? []).join(','), r.verbs.join(','), (r.resourceNames ?? []).join(',')].join('\u0000');
}

// ---------- objects ----------

function bindingSubject(s: PolicySubject): RbacSubject {
  if (s.kind === 'ServiceAccount') return { kind: 'ServiceAccount', name: s.name, namespace: s.namespace };
  return { kind: s.kind, apiGroup: RBAC_GROUP, name: s.name };
}

export function subjectLabel(s: PolicySubject): string {
  return s.kind === 'ServiceAccount' ? `system:serviceaccount:${s.namespace}:${s.name}` : s.kind === 'Group' ? `group:${s.name}` : s.name;
}

function baseName(s: PolicySubject): string {
  return s.kind === 'ServiceAccount' ? dnsLabel(`${s.namespace}-${s.name}`, 'kaudit-sa-') : s.kind === 'Group' ? dnsLabel(s.name, 'kaudit-group-') : dnsLabel(s.name, 'kaudit-user-');
}

function meta(name: string, namespace: string | undefined, p: GeneratedPolicy, rules: ExplainedRule[]): K8sObject['metadata'] {
  const requests = rules.reduce((n, r) => n + r.requests, 0);
  const from = rules.map((r) => r.first).filter(Boolean).sort()[0] ?? '';
  const to = rules.map((r) => r.last).filter(Boolean).sort().at(-1) ?? '';
  const m: K8sObject['metadata'] = {
    name,
    labels: { 'app.kubernetes.io/managed-by': 'kaudit' },
    annotations: {
      'kaudit.io/subject': subjectLabel(p.subject),
      'kaudit.io/observed-from': from,
      'kaudit.io/observed-to': to,
      'kaudit.io/requests': String(requests),
    },
  };
  if (namespace !== undefined) m.namespace = namespace;
  return m;
}

function objectsFor(p: GeneratedPolicy, o: GenerateOptions, namespacedKeys: KeyAgg[]): K8sObject[] {
  const base = baseName(p.subject);
  const subject = bindingSubject(p.subject);
  const out: K8sObject[] = [];
  const role = (kind: 'Role' | 'ClusterRole', name: string, ns: string | undefined, rules: ExplainedRule[]): K8sObject => ({
    apiVersion: `${RBAC_GROUP}/v1`,
    kind,
    metadata: meta(name, ns, p, rules),
    rules: rules.map((r) => r.rule),
    explain: rules,
  });
  const binding = (kind: 'RoleBinding' | 'ClusterRoleBinding', name: string, ns: string | undefined, roleKind: string, roleName: string, rules: ExplainedRule[]): K8sObject => ({
    apiVersion: `${RBAC_GROUP}/v1`,
    kind,
    metadata: meta(name, ns, p, rules),
    roleRef: { apiGroup: RBAC_GROUP, kind: roleKind, name: roleName },
    subjects: [subject],
  });
  if (p.cluster.length) {
    out.push(role('ClusterRole', base, undefined, p.cluster), binding('ClusterRoleBinding', base, undefined, 'ClusterRole', base, p.cluster));
  }
  if (o.scope === 'cluster' && p.namespaces.length) {
    // One ClusterRole holding the namespaced rules of every namespace, compacted once, bound in each.
    const name = dnsLabel(`${base}-namespaced`);
    out.push(role('ClusterRole', name, undefined, compactResources(namespacedKeys, o)));
    for (const n of p.namespaces) out.push(binding('RoleBinding', name, n.namespace, 'ClusterRole', name, n.rules));
  } else {
    for (const n of p.namespaces) out.push(role('Role', base, n.namespace, n.rules), binding('RoleBinding', base, n.namespace, 'Role', base, n.rules));
  }
  return out;
}

// ---------- the whole report ----------

export function generate(subjects: SubjectAgg[], leftOut: Record<string, number>, o: GenerateOptions & { alreadyGranted?: number }, input: InputAccounting): RbacGenReport {
  const policies: GeneratedPolicy[] = [];
  const sorted = [...subjects].sort((a, b) => cmp(`${a.subject.kind}\u0000${a.subject.namespace}\u0000${a.subject.name}`, `${b.subject.kind}\u0000${b.subject.namespace}\u0000${b.subject.name}`));
  for (const s of sorted) {
    const byScope = new Map<string, KeyAgg[]>();
    const urls: KeyAgg[] = [];
    const clusterRes: KeyAgg[] = [];
    const namespacedAll: KeyAgg[] = [];
    for (const k of s.keys.values()) {
      if (k.nonResourceURL !== '') urls.push(k);
      else if (k.scope === '') clusterRes.push(k);
      else {
        namespacedAll.push(k);
        const l = byScope.get(k.scope);
        if (l) l.push(k);
        else byScope.set(k.scope, [k]);
      }
    }
    const namespaces = [...byScope.keys()].sort(cmp).map((ns) => ({ namespace: ns, rules: compactResources(byScope.get(ns)!, o) }));
    const cluster = [...compactResources(clusterRes, o), ...compactURLs(urls)];
    const all = [...s.keys.values()];
    const firsts = all.filter((k) => k.first).sort((a, b) => a.firstMs - b.firstMs);
    const lasts = all.filter((k) => k.last).sort((a, b) => b.lastMs - a.lastMs);
    const p: GeneratedPolicy = { subject: s.subject, requests: s.requests, window: { from: firsts[0]?.first ?? null, to: lasts[0]?.last ?? null }, namespaces, cluster, objects: [] };
    p.objects = objectsFor(p, o, namespacedAll);
    policies.push(p);
  }
  const froms = policies.map((p) => p.window.from).filter((x): x is string => x !== null).sort();
  const tos = policies.map((p) => p.window.to).filter((x): x is string => x !== null).sort();
  return {
    kind: 'kaudit.rbac-gen',
    version: 1,
    input,
    options: { scope: o.scope, verbs: o.verbs, wildcards: o.wildcards, resourceNames: o.resourceNames },
    window: { from: froms[0] ?? null, to: tos.at(-1) ?? null },
    leftOut: Object.fromEntries(Object.entries(leftOut).sort(([a], [b]) => cmp(a, b))),
    alreadyGranted: o.alreadyGranted ?? 0,
    policies,
    selfCheck: selfCheck(subjects, policies),
  };
}

/** Loads the generated objects back and checks that they allow every aggregated request. */
export function selfCheck(subjects: SubjectAgg[], policies: GeneratedPolicy[]): SelfCheck {
  const snap = emptySnapshot();
  for (const p of policies) for (const obj of p.objects) addObject(snap, toPlainObject(obj), 'generated');
  const authz = new Authorizer(snap);
  let requests = 0;
  let allowed = 0;
  const uncovered: SelfCheck['uncovered'] = [];
  for (const s of subjects) {
    const user = s.subject.kind === 'ServiceAccount' ? `system:serviceaccount:${s.subject.namespace}:${s.subject.name}` : s.subject.kind === 'Group' ? 'kaudit:any-member' : s.subject.name;
    const groups = s.subject.kind === 'Group' ? [s.subject.name] : [];
    for (const k of s.keys.values()) {
      requests += k.count;
      // Every distinct name is checked; when names overflowed the rule carries none, so one probe suffices.
      const names = k.unnamed || !k.names ? [''] : [];
      if (k.names) names.push(...k.names);
      if (names.length === 0) names.push('');
      const ok = names.every(
        (name) => authz.allows({ user, groups }, { verb: k.verb, apiGroup: k.apiGroup, resource: k.resource, subresource: k.subresource, namespace: k.scope, name, nonResourceURL: k.nonResourceURL }).allowed,
      );
      if (ok) allowed += k.count;
      else uncovered.push({ subject: subjectLabel(s.subject), verb: k.verb, apiGroup: k.apiGroup, resource: k.subresource ? `${k.resource}/${k.subresource}` : k.resource, namespace: k.scope, name: names.join(','), nonResourceURL: k.nonResourceURL, requests: k.count });
    }
  }
  return { requests, allowed, coverage: requests === 0 ? 100 : Math.floor((10000 * allowed) / requests) / 100, uncovered };
}

/** The object as Kubernetes sees it (no explanation). */
export function toPlainObject(o: K8sObject): Record<string, unknown> {
  const { explain: _e, ...rest } = o;
  void _e;
  return rest;
}
