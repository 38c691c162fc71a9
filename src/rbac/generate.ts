// Turns aggregated permissions into compact rules and Kubernetes objects, then proves them: the
// objects are loaded back through the same loader and authorizer, together with the default
// bootstrap bindings, and every authorization check observed must be allowed (the self-check).
import type { InputAccounting, PolicyRule, RbacSubject } from '../types.js';
import type { KeyAgg, PermissionKind, PolicySubject, RbacGenState, RoleWriteAgg, SubjectAgg, UncheckedWrites } from '../analyses/rbacgen/index.js';
import { subjectLabel, subjectSpec, deniedSpec, uncheckedSpec } from '../analyses/rbacgen/index.js';
import { RESOURCE_VERBS, VERB_GROUPS, verbOrder } from '../rules/verbs.js';
import { objectName, parseObjectName, type NameKind } from './names.js';
import { addObject, emptySnapshot } from './load.js';
import { Authorizer, mergeSnapshots, ruleKey, withImplicitGroups } from './authorizer.js';
import { covers, ruleAllows } from './match.js';
import { defaultsAuthorizer, defaultsSnapshot } from './defaults.js';
import { grantedSensitive, probeMatches } from './sensitive.js';
import { SENSITIVE, SEVERITY_RANK, type Severity } from '../rules/sensitive.js';
import { cmp } from '../util/counter.js';
import { toWellFormed } from '../util/unicode.js';
import { pushAll } from '../util/array.js';
import { discard, drain, mergeEntry, readTwice } from '../scale/spillmap.js';
import { ExternalSorter } from '../scale/extsort.js';
import { LazyEntries, LazyList, rowsOf, type Rows } from '../scale/lazy.js';
import type { SpillMap } from '../scale/spillmap.js';
import { budgetBytes, ENTRY_BYTES, roughBytes, strBytes } from '../scale/budget.js';

export { subjectLabel };

export interface GenerateOptions {
  /** namespaced: a Role per namespace; cluster: one ClusterRole for the namespaced rules, bound in each. */
  scope: 'namespaced' | 'cluster';
  /** exact: the verbs observed; grouped: any read verb grants get, list and watch. */
  verbs: 'exact' | 'grouped';
  /** never: no `*`; safe: `*` verbs only when every resource verb was observed. */
  wildcards: 'never' | 'safe';
  /** Pin resourceNames where every request named an object (impersonate, bind, escalate: always). */
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
  /** The permissions observed behind the rule: `get secrets [db-password]`, `impersonate users [bob]`. */
  permissions: string[];
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

/** One authorization check the generated policy (with the defaults) fails to allow. */
export interface Uncovered {
  subject: string;
  check: PermissionKind | 'default';
  verb: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  name: string;
  nonResourceURL: string;
  requests: number;
}

export interface SelfCheck {
  /** Authorization checks judged: requests kept, requests left out as default, impersonation, bind and escalation checks. */
  checks: number;
  allowed: number;
  /** Of `checks`, the requests' own authorizations (kept and left out as default). */
  requests: number;
  /** Of `checks`, the requests left out because the default bindings allow them. */
  defaults: number;
  coverage: number;
  uncovered: Uncovered[];
}

/** A sensitive permission in the generated output (the table of src/rules/sensitive.ts), with what asked for it. */
export interface SensitiveFinding {
  id: string;
  severity: Severity;
  description: string;
  subject: string;
  object: { kind: string; namespace: string; name: string };
  rule: PolicyRule;
  permissions: string[];
  requests: number;
  examples: string[];
}

/** RBAC writes whose escalation checks could not be judged (no usable body), per subject. */
export interface EscalationUnchecked {
  subject: string;
  requests: number;
  reasons: Record<string, number>;
  examples: string[];
}

export interface RbacGenReport {
  kind: 'kaudit.rbac-gen';
  version: 2;
  input: InputAccounting;
  options: GenerateOptions & { includeDenied: boolean; includeDiscovery: boolean };
  window: { from: string | null; to: string | null };
  /** Requests not turned into permissions, by reason. */
  leftOut: Record<string, number>;
  /**
   * Denied requests left out, per subject (none with --include-denied): a plain object, or a
   * LazyEntries (read once) when the counts spilled; the same JSON either way. deniedTop() gives
   * the subjects with the most and how many there are without reading it.
   */
  deniedBySubject: Record<string, number> | LazyEntries<number>;
  /** RBAC writes whose bind or escalate check could not be judged from the log. */
  /** By subject (code-unit order): an array, or a LazyList (read once) when they spilled; uncheckedHead() gives the first few. */
  escalationUnchecked: Rows<EscalationUnchecked>;
  /** Requests the --existing RBAC already allowed. */
  alreadyGranted: number;
  /** One per subject that gets objects, sorted by subject kind, namespace, name: an array, or a LazyList (read once) when it spilled. */
  policies: Rows<GeneratedPolicy>;
  /** Every sensitive permission in the output, most severe first (an array, or a LazyList when it spilled). */
  sensitive: Rows<SensitiveFinding>;
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

function keyLabel(k: KeyAgg): string {
  if (k.nonResourceURL !== '' || k.resource === '') return `${k.verb} ${k.nonResourceURL}`;
  const res = k.subresource ? `${k.resource}/${k.subresource}` : k.resource;
  const names = k.names && k.names.size ? [...k.names].sort() : [];
  const shown = names.length ? ` [${names.slice(0, 5).join(', ')}${names.length > 5 ? `, +${names.length - 5}` : ''}]` : '';
  return `${k.verb} ${k.apiGroup ? `${res}.${k.apiGroup}` : res}${shown}${k.scope ? ` in ${k.scope}` : ''}`;
}

/** The evidence behind a rule made of these keys: requests, first and last seen, two example auditIDs, the permissions. */
export function explain(keys: KeyAgg[]): Omit<ExplainedRule, 'rule'> {
  return keys.length === 1 ? explainOne(keys[0]!) : explainReference(keys);
}

/** The evidence behind a rule, by its definition (explain without its one-key path; exported for the differential test). */
export function explainReference(keys: KeyAgg[]): Omit<ExplainedRule, 'rule'> {
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
    pushAll(ex, k.examples);
  }
  ex.sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]));
  const examples = [...new Set(ex.map((e) => e[1]))].slice(0, 2);
  return { requests, first, last, examples, permissions: [...new Set(keys.map(keyLabel))].sort(cmp) };
}

/** explain([k]): the same summary without the loop's temporaries (a subject of one request has one key). */
function explainOne(k: KeyAgg): Omit<ExplainedRule, 'rule'> {
  const ex = k.examples.length < 2 ? k.examples : [...k.examples].sort((a, b) => a[0] - b[0] || cmp(a[1], b[1]));
  const examples: string[] = [];
  for (const e of ex) {
    if (examples.length === 2) break;
    if (!examples.includes(e[1])) examples.push(e[1]);
  }
  return { requests: k.count, first: k.firstMs < Infinity ? k.first : '', last: k.lastMs > -Infinity ? k.last : '', examples, permissions: [keyLabel(k)] };
}

function expandVerbs(observed: Set<string>, o: GenerateOptions): string[] {
  const v = new Set(observed);
  if (o.verbs === 'grouped') for (const g of VERB_GROUPS) if (g.some((x) => v.has(x))) for (const x of g) v.add(x);
  if (o.wildcards === 'safe' && RESOURCE_VERBS.every((x) => v.has(x))) return ['*'];
  return [...v].sort(verbOrder);
}

/** Whether a key's rule is pinned to the names seen: always for who may be impersonated, bound or escalated. */
function pinned(k: KeyAgg, o: GenerateOptions): boolean {
  const always = k.kind === 'impersonate' || k.kind === 'bind' || k.kind === 'escalate';
  return !k.unnamed && k.names !== null && k.names.size > 0 && (always || o.resourceNames);
}

/**
 * Rules for the resource permissions of one scope: per resource, then merged by resources, then by
 * groups, sorted (ruleSortKey). Exported for the differential test of its one-permission fast path.
 */
export function compactResources(keys: KeyAgg[], o: GenerateOptions): ExplainedRule[] {
  if (keys.length === 0) return [];
  if (keys.length === 1) return [compactOne(keys[0]!, o)];
  return compactGeneral(keys, o);
}

function compactGeneral(keys: KeyAgg[], o: GenerateOptions): ExplainedRule[] {
  const byResource = new Map<string, { apiGroup: string; resource: string; ks: KeyAgg[] }>();
  for (const k of keys) {
    // Keys are JSON arrays: audit data may hold any character, a separator included.
    const resource = k.subresource ? `${k.resource}/${k.subresource}` : k.resource;
    const rk = JSON.stringify([k.apiGroup, resource]);
    const e = byResource.get(rk);
    if (e) e.ks.push(k);
    else byResource.set(rk, { apiGroup: k.apiGroup, resource, ks: [k] });
  }
  const partials: Partial[] = [];
  for (const { apiGroup, resource, ks } of byResource.values()) {
    const pins = new Map<string, KeyAgg[]>(); // names (JSON) → keys of verbs pinned to those names
    const free: KeyAgg[] = [];
    for (const k of ks) {
      if (pinned(k, o)) {
        const nk = JSON.stringify([...k.names!].sort(cmp));
        const l = pins.get(nk);
        if (l) l.push(k);
        else pins.set(nk, [k]);
      } else free.push(k);
    }
    const freeVerbs = free.length ? expandVerbs(new Set(free.map((k) => k.verb)), o) : [];
    const freePartial: Partial | null = free.length ? { apiGroup, resource, verbs: freeVerbs, names: [], keys: free } : null;
    if (freePartial) partials.push(freePartial);
    for (const [nk, pk] of pins) {
      // A verb the unpinned rule already grants for every name needs no pinned rule.
      const covered = freePartial ? pk.filter((k) => freeVerbs.includes(k.verb) || freeVerbs.includes('*')) : [];
      const rest = pk.filter((k) => !covered.includes(k));
      if (covered.length) pushAll(freePartial!.keys, covered);
      if (rest.length) partials.push({ apiGroup, resource, verbs: [...new Set(rest.map((k) => k.verb))].sort(verbOrder), names: JSON.parse(nk) as string[], keys: rest });
    }
  }
  // Merge rules that differ only in resources…
  const byVerbs = new Map<string, { apiGroup: string; resources: string[]; verbs: string[]; names: string[]; keys: KeyAgg[] }>();
  for (const p of partials) {
    const k = JSON.stringify([p.apiGroup, p.verbs, p.names]);
    const m = byVerbs.get(k);
    if (m) {
      m.resources.push(p.resource);
      pushAll(m.keys, p.keys);
    } else byVerbs.set(k, { apiGroup: p.apiGroup, resources: [p.resource], verbs: p.verbs, names: p.names, keys: [...p.keys] });
  }
  // …then rules that differ only in API groups.
  const byAll = new Map<string, { apiGroups: string[]; resources: string[]; verbs: string[]; names: string[]; keys: KeyAgg[] }>();
  for (const m of byVerbs.values()) {
    const resources = m.resources.sort(cmp);
    const k = JSON.stringify([resources, m.verbs, m.names]);
    const x = byAll.get(k);
    if (x) {
      x.apiGroups.push(m.apiGroup);
      pushAll(x.keys, m.keys);
    } else byAll.set(k, { apiGroups: [m.apiGroup], resources, verbs: m.verbs, names: m.names, keys: m.keys });
  }
  const rules = [...byAll.values()].map((x) => {
    const rule: PolicyRule = { apiGroups: x.apiGroups.sort(cmp), resources: x.resources, verbs: x.verbs };
    if (x.names.length) rule.resourceNames = x.names;
    return explained(rule, x.keys);
  });
  return rules.sort((a, b) => cmp(ruleSortKey(a.rule), ruleSortKey(b.rule)));
}

/**
 * compactResources of a single permission (the common case with many subjects that made one request
 * each): the rule the general path builds for it, without its maps. Pinned: the names seen, sorted,
 * and the one verb; else the verb as expandVerbs gives it. A differential test compares the two.
 */
function compactOne(k: KeyAgg, o: GenerateOptions): ExplainedRule {
  const resource = k.subresource ? `${k.resource}/${k.subresource}` : k.resource;
  const pin = pinned(k, o);
  const rule: PolicyRule = { apiGroups: [k.apiGroup], resources: [resource], verbs: pin ? [k.verb] : expandVerbs(new Set([k.verb]), o) };
  if (pin) rule.resourceNames = [...k.names!].sort(cmp);
  return explained(rule, [k]);
}

/** compactResources without its fast paths (exported for the differential test). */
export function compactResourcesReference(keys: KeyAgg[], o: GenerateOptions): ExplainedRule[] {
  return compactGeneral(keys, o);
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
      pushAll(m.keys, ks);
    } else byVerbs.set(vk, { urls: [url], verbs, keys: [...ks] });
  }
  return [...byVerbs.values()]
    .map((m) => explained({ nonResourceURLs: m.urls.sort(cmp), verbs: m.verbs }, m.keys))
    .sort((a, b) => cmp(ruleSortKey(a.rule), ruleSortKey(b.rule)));
}

function ruleSortKey(r: PolicyRule): string {
  return JSON.stringify([r.nonResourceURLs ? 1 : 0, r.apiGroups ?? [], r.resources ?? r.nonResourceURLs ?? [], r.verbs, r.resourceNames ?? []]);
}

/** Whether a cluster-wide rule allows a key's request for `name` (RuleAllows; namespaces do not limit it). */
function ruleAllowsKey(rule: PolicyRule, k: KeyAgg, name: string): boolean {
  return ruleAllows({ verb: k.verb, apiGroup: k.apiGroup, resource: k.resource, subresource: k.subresource, namespace: k.scope, name, nonResourceURL: k.nonResourceURL }, rule);
}

/**
 * Splits namespaced keys into those the subject's cluster-wide rules already allow in that namespace
 * (no Role repeats what its ClusterRole grants everywhere) and the rest.
 */
function withoutClusterCovered(nsKeys: KeyAgg[], cluster: ExplainedRule[]): { kept: KeyAgg[]; covered: [KeyAgg, ExplainedRule][] } {
  const kept: KeyAgg[] = [];
  const covered: [KeyAgg, ExplainedRule][] = [];
  for (const k of nsKeys) {
    const names = probeNames(k);
    const by = cluster.find((c) => names.every((name) => ruleAllowsKey(c.rule, k, name)));
    if (by) covered.push([k, by]);
    else kept.push(k);
  }
  return { kept, covered };
}

// ---------- objects ----------

function bindingSubject(s: PolicySubject): RbacSubject {
  if (s.kind === 'ServiceAccount') return { kind: 'ServiceAccount', name: s.name, namespace: s.namespace };
  return { kind: s.kind, apiGroup: RBAC_GROUP, name: s.name };
}

const NAME_KIND: Record<PolicySubject['kind'], NameKind> = { User: 'user', ServiceAccount: 'sa', Group: 'group' };

/** The name of a subject's generated objects (src/rbac/names.ts: distinct subjects, distinct names). */
export function policyObjectName(s: PolicySubject, variant: '' | 'ns' = ''): string {
  return objectName(NAME_KIND[s.kind], s.kind === 'ServiceAccount' ? `${s.namespace}:${s.name}` : s.name, variant);
}

/** Whether a generated object name reads back (parseObjectName) as this subject's own: then no other subject has it. */
function namesOwnSubject(name: string, s: PolicySubject): boolean {
  const parsed = parseObjectName(name);
  return parsed !== null && parsed.identity !== null && parsed.kind === NAME_KIND[s.kind] && parsed.identity === (s.kind === 'ServiceAccount' ? `${s.namespace}:${s.name}` : s.name);
}

function meta(name: string, namespace: string | undefined, p: GeneratedPolicy, rules: ExplainedRule[]): K8sObject['metadata'] {
  // One rule (most subjects): its own counts and times, as the general expressions give them.
  const one = rules.length === 1 ? rules[0]! : null;
  const requests = one ? one.requests : rules.reduce((n, r) => n + r.requests, 0);
  const from = one ? one.first : (rules.map((r) => r.first).filter(Boolean).sort()[0] ?? '');
  const to = one ? one.last : (rules.map((r) => r.last).filter(Boolean).sort().at(-1) ?? '');
  const m: K8sObject['metadata'] = {
    name,
    labels: { 'app.kubernetes.io/managed-by': 'kaudit' },
    annotations: {
      'kaudit.io/subject': subjectLabel(p.subject),
      'kaudit.io/observed-from': toWellFormed(from),
      'kaudit.io/observed-to': toWellFormed(to),
      'kaudit.io/requests': String(requests),
    },
  };
  if (namespace !== undefined) m.namespace = namespace;
  return m;
}

function objectsFor(p: GeneratedPolicy, o: GenerateOptions, namespacedKeys: KeyAgg[]): K8sObject[] {
  const base = policyObjectName(p.subject);
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
    const name = policyObjectName(p.subject, 'ns');
    out.push(role('ClusterRole', name, undefined, compactResources(namespacedKeys, o)));
    for (const n of p.namespaces) out.push(binding('RoleBinding', name, n.namespace, 'ClusterRole', name, n.rules));
  } else {
    for (const n of p.namespaces) out.push(role('Role', base, n.namespace, n.rules), binding('RoleBinding', base, n.namespace, 'Role', base, n.rules));
  }
  return out;
}

/** The user the self-check asks about for a subject (a Group: any member). */
function identityOf(s: PolicySubject): { user: string; groups: string[] } {
  if (s.kind === 'Group') return { user: 'kaudit:any-member-of-the-group', groups: [s.name, 'system:authenticated'] };
  const user = s.kind === 'ServiceAccount' ? `system:serviceaccount:${s.namespace}:${s.name}` : s.name;
  return { user, groups: [...withImplicitGroups({ user, groups: [] }).groups] };
}

interface Built {
  namespaces: { namespace: string; rules: ExplainedRule[] }[];
  cluster: ExplainedRule[];
  namespacedAll: KeyAgg[];
}

function build(keys: KeyAgg[], o: GenerateOptions): Built {
  const byScope = new Map<string, KeyAgg[]>();
  const urls: KeyAgg[] = [];
  const clusterRes: KeyAgg[] = [];
  for (const k of keys) {
    if (k.resource === '') urls.push(k);
    else if (k.scope === '') clusterRes.push(k);
    else {
      const l = byScope.get(k.scope);
      if (l) l.push(k);
      else byScope.set(k.scope, [k]);
    }
  }
  const cluster = [...compactResources(clusterRes, o), ...compactURLs(urls)];
  const namespaces: Built['namespaces'] = [];
  const namespacedAll: KeyAgg[] = [];
  for (const ns of [...byScope.keys()].sort(cmp)) {
    const { kept, covered } = withoutClusterCovered(byScope.get(ns)!, cluster);
    // What the ClusterRole already grants here still counts as evidence for that rule.
    for (const [k, r] of covered) {
      const ks = [...keysOf(r), k];
      RULE_KEYS.set(r, ks);
      Object.assign(r, explain(ks));
    }
    pushAll(namespacedAll, kept);
    if (kept.length) namespaces.push({ namespace: ns, rules: compactResources(kept, o) });
  }
  return { namespaces, cluster, namespacedAll };
}

// Evidence keys behind a rule, remembered while compacting (explain() keeps only the summary).
const RULE_KEYS = new WeakMap<ExplainedRule, KeyAgg[]>();
function keysOf(r: ExplainedRule): KeyAgg[] {
  return RULE_KEYS.get(r) ?? [];
}

function explained(rule: PolicyRule, keys: KeyAgg[]): ExplainedRule {
  const e = { rule, ...explain(keys) };
  RULE_KEYS.set(e, keys);
  return e;
}

/** Why an aggregated ClusterRole update's escalation check cannot be judged (escalationUnchecked). */
export const UNSURE_AGGREGATION = 'update of a ClusterRole carrying an aggregationRule: changing that rule needs every permission or escalate (hasAggregationRuleChanged), and the log does not show whether it changed';

/**
 * The escalate permissions a subject's role writes need: rules it would not hold, or an
 * aggregationRule it sets. `unsure` holds the writes that would need escalate only if their
 * aggregationRule changed: granting escalate for them could hand out a critical permission the API
 * server never asked for, so they are reported instead.
 */
function escalations(s: SubjectAgg, built: Built, o: GenerateOptions, existing: Authorizer | null): { keys: KeyAgg[]; unsure: RoleWriteAgg[] } {
  // No role writes, nothing to judge (the common case: skips the identity and the maps below).
  if (s.roleWrites.size === 0) return { keys: [], unsure: [] };
  const out = new Map<string, KeyAgg>();
  const unsure: RoleWriteAgg[] = [];
  const id = identityOf(s.subject);
  // What the subject will hold in a namespace: its own Role there, or with --scope cluster the one
  // ClusterRole of every namespace's rules, bound in each.
  const everyNamespace = o.scope === 'cluster' && built.namespacedAll.length ? compactResources(built.namespacedAll, o).map((r) => r.rule) : null;
  for (const w of s.roleWrites.values()) {
    const local = w.scope === '' || !built.namespaces.some((n) => n.namespace === w.scope) ? [] : (everyNamespace ?? built.namespaces.find((n) => n.namespace === w.scope)!.rules.map((r) => r.rule));
    const held = [...built.cluster.map((r) => r.rule), ...local, ...defaultsAuthorizer().rulesFor(id, w.scope), ...(existing?.rulesFor(id, w.scope) ?? [])];
    const allRules = [...w.rules.values()];
    const fullAuthority = [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }];
    const rulesNeed = !covers(held, allRules).covered;
    const fullNeeded = !rulesNeed && (w.aggregation || w.aggregationMaybe) && !covers(held, fullAuthority).covered;
    if (!rulesNeed && !fullNeeded) continue;
    const attrs = { verb: 'escalate', apiGroup: RBAC_GROUP, resource: w.resource, subresource: '', namespace: w.scope, name: w.name, nonResourceURL: '' };
    if (existing?.allows(id, attrs).allowed) continue;
    if (!rulesNeed && !w.aggregation) {
      unsure.push(w);
      continue;
    }
    const key = JSON.stringify([w.scope, w.resource]);
    let k = out.get(key);
    if (!k) out.set(key, (k = { scope: w.scope, apiGroup: RBAC_GROUP, resource: w.resource, subresource: '', nonResourceURL: '', verb: 'escalate', kind: 'escalate', count: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', names: new Set(), unnamed: false, examples: [] }));
    k.count += w.count;
    if (w.firstMs < k.firstMs) [k.firstMs, k.first] = [w.firstMs, w.first];
    if (w.lastMs > k.lastMs) [k.lastMs, k.last] = [w.lastMs, w.last];
    if (w.name === '') k.unnamed = true;
    else k.names!.add(w.name);
    k.examples = [...k.examples, ...w.examples].sort((a, b) => a[0] - b[0] || cmp(a[1], b[1])).slice(0, 2);
  }
  return { keys: [...out.values()], unsure };
}

// ---------- the whole report ----------

export interface GenerateExtra {
  alreadyGranted?: number;
  /** The --existing RBAC: rules the subject holds there count for the escalation check. */
  existing?: Authorizer | null;
  /**
   * Keep only the first N sensitive findings in `sensitive` (a caller that lists the first few and
   * writes no report: rbac-gen's YAML and JSON outputs): a top-N in memory for N findings instead of
   * a sort of every one. sensitiveCount(report) still counts them all.
   */
  sensitiveTop?: number;
}

/** The order of sensitive findings: most severe first, then id, subject, object. */
function sensitiveOrder(a: SensitiveFinding, b: SensitiveFinding): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || cmp(a.id, b.id) || cmp(a.subject, b.subject) || cmp(`${a.object.namespace}/${a.object.kind}`, `${b.object.namespace}/${b.object.kind}`);
}

/** Objects written per report (the CLI's count of what it writes; a LazyList of policies is read once). */
const OBJECT_COUNTS = new WeakMap<RbacGenReport, number>();
/** Sensitive findings per report, when `sensitive` holds only the first ones (GenerateExtra.sensitiveTop). */
const SENSITIVE_COUNTS = new WeakMap<RbacGenReport, number>();

/** The number of sensitive permissions in a report's output (all of them, also when `sensitive` holds only the first). */
export function sensitiveCount(report: RbacGenReport): number {
  return SENSITIVE_COUNTS.get(report) ?? report.sensitive.length;
}

/** The number of Kubernetes objects in a report's policies. */
export function objectCount(report: RbacGenReport): number {
  return OBJECT_COUNTS.get(report) ?? [...report.policies].reduce((n, p) => n + p.objects.length, 0);
}

/** One subject's policy (null when it gets none: only defaults), with the checks the self-check judges. */
interface Built1 {
  policy: GeneratedPolicy | null;
  keys: KeyAgg[];
  defaults: KeyAgg[];
  unsure: RoleWriteAgg[];
}

function policyOf(s: SubjectAgg, o: RbacGenState['opts'], existing: Authorizer | null): Built1 {
  let keys = [...s.keys.values()];
  let built = build(keys, o);
  const esc = escalations(s, built, o, existing);
  if (esc.keys.length) {
    keys = [...keys, ...esc.keys];
    built = build(keys, o);
  }
  const defaults = [...s.defaults.values()];
  if (keys.length === 0) return { policy: null, keys, defaults, unsure: esc.unsure }; // only defaults: nothing to write
  const all = [...keys, ...defaults];
  const firsts = all.filter((k) => k.first).sort((a, b) => a.firstMs - b.firstMs);
  const lasts = all.filter((k) => k.last).sort((a, b) => b.lastMs - a.lastMs);
  const p: GeneratedPolicy = { subject: s.subject, requests: s.requests, window: { from: firsts[0]?.first ?? null, to: lasts[0]?.last ?? null }, namespaces: built.namespaces, cluster: built.cluster, objects: [] };
  p.objects = objectsFor(p, o, built.namespacedAll);
  return { policy: p, keys, defaults, unsure: esc.unsure };
}

/**
 * The report, subject by subject (issue 15: bounded memory whatever the number of subjects). The
 * subjects come out of their spilling map sorted (subjectSortKey); each one's policy is built,
 * self-checked and searched for sensitive permissions, and let go. Under the budget the policies
 * are kept as an array; when the subjects spilled, `policies` is a LazyList that reads the subjects
 * again from their runs and builds each policy a second time as it is written (deterministic, so the
 * same bytes), instead of writing every policy to disk; so does a map that holds more than a quarter
 * of the budget (a policy takes about twice its subject's aggregate), read a second time from
 * memory when it never spilled (readTwice). Sensitive findings go through an external sort (a top-N
 * with GenerateExtra.sensitiveTop). Consumes the state's subjects (once the LazyList was read or released).
 */
export function generate(state: RbacGenState, input: InputAccounting, extra: GenerateExtra = {}): RbacGenReport {
  const o = state.opts;
  const spec = subjectSpec(o.maxNames);
  const existing = extra.existing ?? null;
  // A policy takes about twice its subject's aggregate: past a quarter of the budget the subjects
  // go to disk (if they are not there already) and the policies are built again as they are written.
  const twice = state.subjects.runs.length > 0 || state.subjects.held > budgetBytes() / 4;
  const passes = twice ? readTwice(state.subjects, spec) : null;
  const kept: GeneratedPolicy[] = [];
  const top = extra.sensitiveTop;
  const sensitive = new ExternalSorter<SensitiveFinding>({ compare: sensitiveOrder, size: roughBytes, tag: 'rbacgen-sensitive', ...(top !== undefined ? { keep: Math.max(0, top) } : {}) });
  // Object names: two subjects never share one. A name that parseObjectName reads back as its own
  // subject cannot be another subject's (objectName is injective); the rest (the SHA-256 family of
  // very long identities) is checked over a sorted list.
  const names = new ExternalSorter<[string, string]>({ compare: (a, b) => cmp(a[0], b[0]), size: (x) => 2 * ENTRY_BYTES + strBytes(x[0]) + strBytes(x[1]), tag: 'rbacgen-names' });
  const check = new SelfChecker();
  let count = 0;
  let objects = 0;
  let from: string | null = null;
  let to: string | null = null;
  // Maps (i13b): subjects and reasons are data (a subject may be named __proto__).
  const denied = deniedOf(state.denied);
  try {
    for (const [, s] of passes ? passes.first() : drain(state.subjects, spec)) {
      const { policy: p, keys, defaults, unsure } = policyOf(s, o, existing);
      for (const w of unsure) {
        const examples: string[] = [];
        for (const [, id] of w.examples) if (examples.length < 3 && !examples.includes(id)) examples.push(id);
        // Later than every request's note: merged after them, as one pass appended them.
        mergeEntry(state.unchecked, uncheckedSpec, subjectLabel(s.subject), { requests: w.count, reasons: new Map([[UNSURE_AGGREGATION, w.count]]), examples });
      }
      check.subject({ subject: s.subject, keys, defaults }, p ? [p] : []);
      if (!p) continue;
      count++;
      if (!twice) kept.push(p);
      if (p.window.from !== null && (from === null || p.window.from < from)) from = p.window.from;
      if (p.window.to !== null && (to === null || p.window.to > to)) to = p.window.to;
      objects += p.objects.length;
      const who = subjectLabel(p.subject);
      let mine: Set<string> | null = null;
      let own = '';
      for (const obj of p.objects) {
        // A subject's objects share one or two names: each is read back once.
        if (obj.metadata.name === own) continue;
        if (namesOwnSubject(obj.metadata.name, p.subject)) {
          own = obj.metadata.name;
          continue;
        }
        const k = `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
        mine ??= new Set();
        if (!mine.has(k)) names.add([k, who]);
        mine.add(k);
      }
      for (const f of sensitiveFindings([p])) sensitive.add(f);
    }
    let prev: [string, string] | null = null;
    for (const n of names.sorted()) {
      if (prev !== null && prev[0] === n[0] && prev[1] !== n[1]) throw new Error(`internal error: ${n[0]} was generated for both ${prev[1]} and ${n[1]}`);
      prev = n;
    }
  } catch (e) {
    sensitive.dispose();
    names.dispose();
    discard(state.unchecked);
    if (passes) passes.release();
    else discard(state.subjects);
    throw e;
  }
  const policies: Rows<GeneratedPolicy> = !twice
    ? kept
    : new LazyList(
        count,
        function* () {
          for (const [, s] of passes!.second()) {
            const { policy } = policyOf(s, o, existing);
            if (policy) yield policy;
          }
        },
        () => passes!.release(),
      );
  const unchecked = uncheckedOf(state.unchecked);
  const report: RbacGenReport = {
    kind: 'kaudit.rbac-gen',
    version: 2,
    input,
    options: { scope: o.scope, verbs: o.verbs, wildcards: o.wildcards, resourceNames: o.resourceNames, includeDenied: o.includeDenied, includeDiscovery: o.includeDiscovery },
    window: { from, to },
    leftOut: sortedRecord(state.left),
    deniedBySubject: denied.entries,
    escalationUnchecked: unchecked.rows,
    alreadyGranted: extra.alreadyGranted ?? 0,
    policies,
    // A top-N holds at most N items: read now (rowsOf would give a LazyList of every item's count).
    sensitive: top !== undefined ? [...sensitive.sorted()] : rowsOf(sensitive),
    selfCheck: check.result(),
  };
  OBJECT_COUNTS.set(report, objects);
  if (top !== undefined) SENSITIVE_COUNTS.set(report, sensitive.count);
  DENIED_TOP.set(report, denied.top);
  UNCHECKED_HEAD.set(report, unchecked.head);
  return report;
}

/** The subjects with the most denied requests (at most DENIED_TOP_N) and how many subjects there are, per report. */
const DENIED_TOP = new WeakMap<RbacGenReport, { top: [string, number][]; subjects: number }>();

/** Subjects deniedTop() lists at most. */
export const DENIED_TOP_N = 10;

/** Most denied requests first, then by subject in code-unit order. */
function deniedOrder(a: readonly [string, number], b: readonly [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

/**
 * The DENIED_TOP_N subjects with the most denied requests left out (most first, then by subject)
 * and how many subjects had any: for the stderr line, without reading deniedBySubject (which may
 * be read once, by the report's writer).
 */
export function deniedTop(report: RbacGenReport): { top: [string, number][]; subjects: number } {
  const known = DENIED_TOP.get(report);
  if (known) return known;
  const all = Object.entries(report.deniedBySubject as Record<string, number>).sort(deniedOrder);
  return { top: all.slice(0, DENIED_TOP_N), subjects: all.length };
}

/**
 * The report's denied counts per subject, and their top (deniedTop): a plain object when they fit
 * in memory; else read twice from their runs, once for the top and once as the report is written.
 */
function deniedOf(m: SpillMap<number>): { entries: Record<string, number> | LazyEntries<number>; top: { top: [string, number][]; subjects: number } } {
  const top: [string, number][] = [];
  let subjects = 0;
  const see = (e: [string, number]): void => {
    subjects++;
    if (top.length === DENIED_TOP_N && deniedOrder(e, top[top.length - 1]!) >= 0) return;
    let i = top.length;
    while (i > 0 && deniedOrder(e, top[i - 1]!) < 0) i--;
    top.splice(i, 0, [e[0], e[1]]);
    if (top.length > DENIED_TOP_N) top.pop();
  };
  if (m.runs.length === 0) {
    for (const e of m.map) see(e);
    const entries = sortedRecord(m.map);
    discard(m);
    return { entries, top: { top, subjects } };
  }
  const passes = readTwice(m, deniedSpec);
  for (const e of passes.first()) see(e);
  return { entries: new LazyEntries(() => passes.second(), () => passes.release()), top: { top, subjects } };
}

/** The first subjects of escalationUnchecked (at most UNCHECKED_SHOWN, by subject) and how many there are, per report. */
const UNCHECKED_HEAD = new WeakMap<RbacGenReport, { head: EscalationUnchecked[]; subjects: number }>();

/** Subjects whose unchecked RBAC writes stderr names one by one (-o report lists every one). */
export const UNCHECKED_SHOWN = 10;

/**
 * The first UNCHECKED_SHOWN subjects of escalationUnchecked and how many there are: for stderr,
 * without reading the list (which may be read once, by the report's writer).
 */
export function uncheckedHead(report: RbacGenReport): { head: EscalationUnchecked[]; subjects: number } {
  const known = UNCHECKED_HEAD.get(report);
  if (known) return known;
  const all = report.escalationUnchecked as readonly EscalationUnchecked[];
  return { head: all.slice(0, UNCHECKED_SHOWN), subjects: all.length };
}

/** A subject's unchecked writes as the report lists them. */
function uncheckedRow(subject: string, u: UncheckedWrites): EscalationUnchecked {
  return { subject, requests: u.requests, reasons: sortedRecord(u.reasons), examples: u.examples };
}

/**
 * The report's unchecked RBAC writes by subject (code-unit order) and their head (uncheckedHead):
 * an array when they fit in memory; else read twice from their runs, once for the head and the
 * count, once as the report is written.
 */
function uncheckedOf(m: SpillMap<UncheckedWrites>): { rows: Rows<EscalationUnchecked>; head: { head: EscalationUnchecked[]; subjects: number } } {
  if (m.runs.length === 0) {
    const rows = [...m.map].sort(([a], [b]) => cmp(a, b)).map(([who, u]) => uncheckedRow(who, u));
    discard(m);
    return { rows, head: { head: rows.slice(0, UNCHECKED_SHOWN), subjects: rows.length } };
  }
  const passes = readTwice(m, uncheckedSpec);
  const head: EscalationUnchecked[] = [];
  let subjects = 0;
  for (const [who, u] of passes.first()) {
    if (head.length < UNCHECKED_SHOWN) head.push(uncheckedRow(who, u));
    subjects++;
  }
  return { rows: new LazyList(subjects, function* () {
    for (const [who, u] of passes.second()) yield uncheckedRow(who, u);
  }, () => passes.release()), head: { head, subjects } };
}

/** A map as a JSON object, keys sorted (Object.fromEntries makes `__proto__` an own key like any other). */
function sortedRecord(m: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...m].sort(([a], [b]) => cmp(a, b)));
}

/** grantedSensitive results by rule and namespace: generated rules repeat across subjects (bounded: cleared when full). */
const SENSITIVE_BY_RULE = new Map<string, readonly string[]>();

/** grantedSensitive(rule, namespace), remembered. */
function sensitiveOfRule(rule: PolicyRule, namespace: string): readonly string[] {
  const k = `${namespace}\u0000${ruleKey(rule)}`;
  let ids = SENSITIVE_BY_RULE.get(k);
  if (ids === undefined) {
    if (SENSITIVE_BY_RULE.size >= 10_000) SENSITIVE_BY_RULE.clear();
    ids = grantedSensitive(rule, namespace);
    SENSITIVE_BY_RULE.set(k, ids);
  }
  return ids;
}

/** Every sensitive permission (src/rules/sensitive.ts) in the generated roles, with the requests behind it. */
export function sensitiveFindings(policies: Iterable<GeneratedPolicy>): SensitiveFinding[] {
  const out: SensitiveFinding[] = [];
  for (const p of policies) {
    for (const obj of p.objects) {
      if (!obj.rules) continue;
      obj.rules.forEach((rule, i) => {
        const ex = obj.explain?.[i];
        const keys = ex ? keysOf(ex) : [];
        for (const id of sensitiveOfRule(rule, obj.metadata.namespace ?? '')) {
          const e = SENSITIVE.find((x) => x.id === id)!;
          // The requests behind this very permission (get secrets, not the get pods/log merged with it).
          const exact = e.wildcard ? keys : keys.filter((k) => (e.probes ?? []).some((q) => probeMatches(q, k.verb, k.apiGroup, k.resource, k.subresource)));
          const behind = explain(exact.length ? exact : keys);
          out.push({
            id,
            severity: e.severity,
            description: e.description,
            subject: subjectLabel(p.subject),
            object: { kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name },
            rule,
            permissions: behind.permissions,
            requests: behind.requests,
            examples: behind.examples,
          });
        }
      });
    }
  }
  return out.sort(sensitiveOrder);
}

/** Names to probe for a key: each name seen, and '' when some request had none (or names overflowed). */
function probeNames(k: KeyAgg): string[] {
  const names = k.unnamed || !k.names ? [''] : [];
  if (k.names) pushAll(names, k.names);
  if (names.length === 0) names.push('');
  return names;
}

export interface SelfCheckSubject {
  subject: PolicySubject;
  /** Permissions that must be granted by the generated policy (or the defaults). */
  keys: KeyAgg[];
  /** Requests left out because the defaults allow them: they must still be allowed. */
  defaults: KeyAgg[];
}

/**
 * The self-check, one subject at a time: the subject's generated objects are loaded back through the
 * same loader and authorizer, and every check observed must be allowed by them or by the default
 * bootstrap bindings. One subject at a time is the same as all policies at once: RBAC allows a
 * request when some binding whose subject matches it (appliesToUser: a User by name, a
 * ServiceAccount by its `system:serviceaccount:NS:NAME` username, a Group by membership) holds a
 * rule that allows it (RBACAuthorizer.Authorize, VisitRulesFor), and a generated binding names only
 * its own subject: a User subject is never named like a service account's username (such a name is
 * made a ServiceAccount subject by policySubjectFor), and a Group subject is the only subject of its
 * run (--group). The generated roles aggregate nothing and no default binding refers to them, so
 * the union of the two authorizers is the union of their decisions.
 */
export class SelfChecker {
  private checks = 0;
  private allowed = 0;
  private requests = 0;
  private defaults = 0;
  private readonly uncovered: Uncovered[] = [];

  /** Judges one subject's checks against its own policies (none when it got none) and the defaults. */
  subject(s: SelfCheckSubject, policies: readonly GeneratedPolicy[]): void {
    const snap = emptySnapshot();
    for (const p of policies) for (const obj of p.objects) addObject(snap, toPlainObject(obj), 'generated');
    const own = snap.roles.length || snap.bindings.length ? new Authorizer(snap) : null;
    const defaults = defaultsAuthorizer();
    const id = identityOf(s.subject);
    const judge = (k: KeyAgg, check: Uncovered['check']): void => {
      this.checks += k.count;
      if (check === 'request' || check === 'default') this.requests += k.count;
      if (check === 'default') this.defaults += k.count;
      const names = probeNames(k);
      const ok = names.every((name) => {
        const attrs = { verb: k.verb, apiGroup: k.apiGroup, resource: k.resource, subresource: k.subresource, namespace: k.scope, name, nonResourceURL: k.nonResourceURL };
        return defaults.allows(id, attrs).allowed || (own !== null && own.rbacAllows(id, attrs).allowed);
      });
      if (ok) this.allowed += k.count;
      else this.uncovered.push({ subject: subjectLabel(s.subject), check, verb: k.verb, apiGroup: k.apiGroup, resource: k.subresource ? `${k.resource}/${k.subresource}` : k.resource, namespace: k.scope, name: names.join(','), nonResourceURL: k.nonResourceURL, requests: k.count });
    };
    for (const k of s.keys) judge(k, k.kind);
    for (const k of s.defaults) judge(k, 'default');
  }

  result(): SelfCheck {
    const { checks, allowed, requests, defaults } = this;
    return { checks, allowed, requests, defaults, coverage: checks === 0 ? 100 : Math.floor((10000 * allowed) / checks) / 100, uncovered: this.uncovered };
  }
}

/**
 * Loads the generated objects back, with the default bootstrap bindings, and checks that together
 * they allow every authorization check observed: the kept requests, the requests left out as
 * defaults, and the impersonation, bind and escalate checks. All policies in one authorizer: the
 * reference SelfChecker (one subject at a time) is tested against.
 */
export function selfCheck(subjects: SelfCheckSubject[], policies: Iterable<GeneratedPolicy>): SelfCheck {
  const snap = emptySnapshot();
  for (const p of policies) for (const obj of p.objects) addObject(snap, toPlainObject(obj), 'generated');
  const authz = new Authorizer(mergeSnapshots(snap, defaultsSnapshot()));
  let checks = 0;
  let allowed = 0;
  let requests = 0;
  let defaults = 0;
  const uncovered: Uncovered[] = [];
  for (const s of subjects) {
    const id = identityOf(s.subject);
    const judge = (k: KeyAgg, check: Uncovered['check']): void => {
      checks += k.count;
      if (check === 'request' || check === 'default') requests += k.count;
      if (check === 'default') defaults += k.count;
      const names = probeNames(k);
      const ok = names.every((name) => authz.allows(id, { verb: k.verb, apiGroup: k.apiGroup, resource: k.resource, subresource: k.subresource, namespace: k.scope, name, nonResourceURL: k.nonResourceURL }).allowed);
      if (ok) allowed += k.count;
      else uncovered.push({ subject: subjectLabel(s.subject), check, verb: k.verb, apiGroup: k.apiGroup, resource: k.subresource ? `${k.resource}/${k.subresource}` : k.resource, namespace: k.scope, name: names.join(','), nonResourceURL: k.nonResourceURL, requests: k.count });
    };
    for (const k of s.keys) judge(k, k.kind);
    for (const k of s.defaults) judge(k, 'default');
  }
  return { checks, allowed, requests, defaults, coverage: checks === 0 ? 100 : Math.floor((10000 * allowed) / checks) / 100, uncovered };
}

/** The object as Kubernetes sees it (no explanation). */
export function toPlainObject(o: K8sObject): Record<string, unknown> {
  const { explain: _e, ...rest } = o;
  void _e;
  return rest;
}
