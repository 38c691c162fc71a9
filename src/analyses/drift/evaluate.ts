// Judges aggregated usage against the RBAC export: effective grants per subject (bindings,
// aggregation, groups, implicit groups), which rules were used and how much, what was never used,
// sensitive excess, observed requests nothing in the export allows, scores and bands.
import type { InputAccounting, Loc, ObjectOrigin, PolicyRule, RequestAttributes, UserInfo } from '../../types.js';
import type { DriftState, ReqKey } from './index.js';
import { isImplicitGroup, MASTERS_GRANT, type EffectiveGrant } from '../../rbac/authorizer.js';
import { breakdownRule, ruleAllows, ruleCovers } from '../../rbac/match.js';
import { grantedSensitive, hasWildcard, probeRequests } from '../../rbac/sensitive.js';
import { classifySubject } from '../../normalize/subject.js';
import { isControlPlaneServiceAccount } from '../../rules/identities.js';
import { SENSITIVE, SEVERITY_RANK, type Severity } from '../../rules/sensitive.js';
import { RESOURCE_VERBS } from '../../rules/verbs.js';
import { rbacGen } from '../rbacgen/index.js';
import { globMatcher } from '../../filter/index.js';
import { toPlainObject } from '../../rbac/generate.js';
import { cmp } from '../../util/counter.js';
import { pushAll } from '../../util/array.js';
import { drain, grow, newSpillMap, spillAll, type SpillSpec } from '../../scale/spillmap.js';
import { collectSpilled, settle } from '../../scale/ledger.js';
import { releaseRows } from '../../scale/lazy.js';
import { ExternalSorter } from '../../scale/extsort.js';
import { isSpilled, remap, type Rereadable } from '../../scale/spilled.js';
import { rangeOffsets } from '../../ingest/locate.js';
import { budgetBytes, ENTRY_BYTES, OBJECT_BYTES, roughBytes, strBytes } from '../../scale/budget.js';
import { decodeLine, encodeLine, type LineCodec } from '../../scale/codec.js';
import { useSpec, type SubjectUse } from './index.js';

/** Score bands: a subject uses at least this share of what it is granted. */
export const BANDS = { green: 80, yellow: 50 } as const;
/** A `*` counts as the eight resource verbs, or as this many resources or URLs, when scoring use. */
export const WILDCARD_RESOURCES = 10;

export type Band = 'green' | 'yellow' | 'red' | 'none';

/** What setting an aggregationRule needs without escalate: every permission (clusterrole/policybased fullAuthority). */
const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export interface GrantSource {
  binding: { kind: string; name: string; namespace: string };
  role: { kind: string; name: string; namespace: string };
  ruleIndex: number;
  via: string;
  /** Namespace the grant is limited to ('' = cluster-wide). */
  namespace: string;
  /** RBAC file the binding came from. */
  file: string;
  /** Where in that file the binding is (document, List item, line); null when unknown. */
  origin: ObjectOrigin | null;
}

export interface UsedRule {
  source: GrantSource;
  rule: PolicyRule;
  used: { verbs: string[]; resources: string[]; apiGroups: string[]; names: string[] };
  requests: number;
  /** Earliest auditIDs of requests this rule allowed. */
  auditIDs: string[];
  full: boolean;
  /** Share of the rule used, 0..1 (see README: drift score). */
  fraction: number;
}

export interface UnusedRule {
  source: GrantSource;
  rule: PolicyRule;
  sensitive: string[];
}

export interface SensitiveExcess {
  id: string;
  severity: Severity;
  description: string;
  /** The unused sensitive permissions, e.g. `get secrets`. */
  permissions: string[];
  source: GrantSource | null;
  rule: PolicyRule | null;
}

export interface Uncovered {
  /** The check that no grant allows: the request itself, or the impersonator's `impersonate`. */
  check: 'request' | 'impersonate';
  verb: string;
  apiGroup: string;
  resource: string;
  namespace: string;
  nonResourceURL: string;
  names: string[];
  requests: number;
  denied: number;
  examples: string[];
  /** Where the first of these requests was read; null when only some of the key's names are uncovered. */
  location: Loc | null;
}

export interface SubjectDrift {
  subject: { kind: 'User' | 'ServiceAccount' | 'Group'; name: string; namespace: string };
  /** Every group the subject's requests carried (each request is judged with its own). */
  groups: string[];
  requests: number;
  /** Checks made for the subject besides its requests: impersonating others, bind and escalate checks. */
  otherChecks: number;
  /**
   * RBAC writes whose escalation checks drift could not follow: the body, which names the roleRef or
   * the rules, was not logged (a `bind` or `escalate` grant may have been used by them), or a write
   * passed without a bind/escalate grant and the rules the writer had to hold are unknown (a role not
   * in the export, rules not logged), so the grants it relied on cannot be named. null when none.
   */
  unjudgedWrites: { requests: number; reasons: Record<string, number>; examples: string[] } | null;
  dormant: boolean;
  grantedRules: number;
  usedRules: number;
  fullyUsedRules: number;
  /** Rules held through groups every user has (system:authenticated…): resolved, not scored. */
  sharedRules: number;
  used: UsedRule[];
  unusedRules: UnusedRule[];
  uncovered: Uncovered[];
  sensitiveExcess: SensitiveExcess[];
  /** 100 × Σ rule use fraction / granted rules; null when the subject holds no rules of its own. */
  score: number | null;
  severity: Band;
  suggestion?: Record<string, unknown>[];
  /** Where the subject's first request was read; null when it made none. */
  location: Loc | null;
}

export interface DriftReport {
  kind: 'kaudit.drift';
  version: 1;
  input: InputAccounting;
  window: { from: string | null; to: string | null };
  rbac: { files: string[]; roles: number; bindings: number; missingRoles: string[]; warnings: string[]; ignored: Record<string, number> };
  summary: {
    subjects: number;
    withDrift: number;
    dormant: number;
    bands: Record<Band, number>;
    grantedRules: number;
    usedRules: number;
    unusedRules: number;
    sensitiveExcess: number;
    uncoveredRequests: number;
    /** RBAC writes whose bind or escalate check could not be judged (see SubjectDrift.unjudgedWrites). */
    unjudgedWrites: number;
    averageScore: number | null;
  };
  /** Report order: score (lowest first, none last), then subject. An array, or a SpilledList read from disk when it outgrew the memory budget. */
  subjects: Rereadable<SubjectDrift>;
}

function grantId(g: EffectiveGrant): string {
  return `${g.binding.kind}|${g.binding.namespace}|${g.binding.name}|${g.role.kind}|${g.role.namespace}|${g.role.name}|${g.ruleIndex}`;
}

interface Usage {
  requests: number;
  examples: [number, string][];
  verbs: Set<string>;
  resources: Set<string>;
  apiGroups: Set<string>;
  names: Set<string>;
}

function viaGroup(via: string): string | null {
  return via.startsWith('Group ') ? via.slice(6) : null;
}

function isShared(g: EffectiveGrant): boolean {
  const grp = viaGroup(g.via);
  return grp !== null && isImplicitGroup(grp);
}

function isSystemSubject(kind: string, name: string, namespace: string): boolean {
  if (kind === 'Group') return name.startsWith('system:') && name !== 'system:masters';
  if (kind === 'ServiceAccount') return isControlPlaneServiceAccount(namespace, name);
  return classifySubject(name).kind !== 'User';
}


function share(used: number, listed: string[], wildcardWeight: number): number {
  let total = 0;
  for (const x of listed) total += x === '*' || x.startsWith('*/') || x.endsWith('*') ? wildcardWeight : 1;
  return total === 0 ? 0 : Math.min(1, used / total);
}

function useOf(rule: PolicyRule, u: Usage): { full: boolean; fraction: number } {
  if (rule.nonResourceURLs) {
    const fv = share([...u.verbs].filter((v) => rule.verbs.includes(v) || rule.verbs.includes('*')).length, rule.verbs, RESOURCE_VERBS.length);
    const fr = share([...u.resources].length, rule.nonResourceURLs, WILDCARD_RESOURCES);
    return { full: !hasWildcard(rule) && fv === 1 && fr === 1, fraction: fv * fr };
  }
  const fv = share(u.verbs.size, rule.verbs, RESOURCE_VERBS.length);
  const fr = share(u.resources.size, rule.resources ?? [], WILDCARD_RESOURCES);
  const groupsFull = (rule.apiGroups ?? []).every((g) => g !== '*' && u.apiGroups.has(g));
  const namesFull = !rule.resourceNames || rule.resourceNames.every((n) => u.names.has(n));
  return { full: !hasWildcard(rule) && fv === 1 && fr === 1 && groupsFull && namesFull, fraction: fv * fr };
}

function band(score: number | null): Band {
  if (score === null) return 'none';
  return score >= BANDS.green ? 'green' : score >= BANDS.yellow ? 'yellow' : 'red';
}

function permissionLabel(p: Partial<RequestAttributes>): string {
  const res = p.subresource ? `${p.resource}/${p.subresource}` : p.resource!;
  return `${p.verb} ${p.apiGroup ? `${res}.${p.apiGroup}` : res}`;
}

export { grantedSensitive };

/** Sensitive entries an unused (or partly unused) grant matches, with the permissions left unused. */
function sensitiveOf(g: EffectiveGrant, u: Usage | undefined): SensitiveExcess[] {
  const out: SensitiveExcess[] = [];
  for (const e of SENSITIVE) {
    if (e.group) continue;
    if (e.wildcard) {
      if (hasWildcard(g.rule)) out.push({ id: e.id, severity: e.severity, description: e.description, permissions: [describeRule(g.rule)], source: null, rule: g.rule });
      continue;
    }
    const unused: string[] = [];
    for (const req of probeRequests(e.probes ?? [], g.rule, g.namespace)) {
      if (!ruleAllows(req, g.rule)) continue;
      const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
      if (u && u.verbs.has(req.verb) && u.resources.has(combined)) continue;
      unused.push(permissionLabel(req));
    }
    if (unused.length) out.push({ id: e.id, severity: e.severity, description: e.description, permissions: [...new Set(unused)], source: null, rule: g.rule });
  }
  return out;
}

export function describeRule(r: PolicyRule): string {
  const verbs = r.verbs.join(',');
  if (r.nonResourceURLs) return `${verbs} ${r.nonResourceURLs.join(',')}`;
  const groups = (r.apiGroups ?? []).map((g) => (g === '' ? 'core' : g)).join(',');
  const names = r.resourceNames?.length ? ` [${r.resourceNames.join(',')}]` : '';
  return `${verbs} ${(r.resources ?? []).join(',')} (${groups})${names}`;
}

function sourceOf(g: EffectiveGrant, files: Map<string, { file: string; origin: ObjectOrigin | null }>): GrantSource {
  const at = files.get(`${g.binding.kind}|${g.binding.namespace}|${g.binding.name}`);
  return { binding: g.binding, role: g.role, ruleIndex: g.ruleIndex, via: g.via, namespace: g.namespace, file: at?.file ?? '', origin: at?.origin ?? null };
}

/** Where a subject's earliest request was read (over its request keys). */
function firstLocation(u: { keys: Map<string, ReqKey> } | undefined): Loc | null {
  let best: ReqKey | null = null;
  for (const k of u?.keys.values() ?? []) if (k.firstAt && (best === null || k.firstMs < best.firstMs)) best = k;
  return best?.firstAt ?? null;
}

function probes(k: ReqKey): string[] {
  const names = [...k.names.keys()];
  if (k.other > 0 || names.length === 0) names.push('');
  return names;
}

/**
 * Drift's report from its state. `entry` (optional) is how each subject's entry is held as it is
 * sorted into the report's list (and spilled with it), in place of encodeLine/decodeLine: a caller
 * that reads only part of each entry (compliance, src/analyses/compliance/entry.ts) writes only
 * that part, so that a million entries are encoded, written and read back smaller; the report's
 * list holds what `entry.decode` gives. The summary is counted from the whole entries either way.
 * Such an entry must cite no location (Loc): its list is not relocated under --jobs
 * (src/ingest/locate.ts).
 */
export function evaluate(s: DriftState, input: InputAccounting, entry?: LineCodec<SubjectDrift>): DriftReport {
  const o = s.opts;
  const authz = o.authz;
  const snap = authz.snapshot;
  const files = new Map(snap.bindings.map((b) => [`${b.kind}|${b.namespace}|${b.name}`, { file: b.source ?? '', origin: b.origin ?? null }]));

  // Subjects: everyone bound in the export (here), and everyone seen in the logs (one identity at a
  // time, below: the identities come out of their spilling map one by one, so that what each did is
  // judged and let go; issue 15).
  type Subj = SubjectDrift['subject'];
  const subjects = new Map<string, Subj>();
  const keyOf = (x: Subj): string => JSON.stringify([x.kind, x.namespace, x.name]);
  /** Whether a subject is reported (system components only with --include-system); bound ones are remembered. */
  const reported = (x: Subj): boolean => (o.includeSystem || !isSystemSubject(x.kind, x.name, x.namespace)) && !(x.kind === 'Group' && isImplicitGroup(x.name));
  const addSubject = (x: Subj): boolean => {
    if (!reported(x)) return false;
    subjects.set(keyOf(x), x);
    return true;
  };
  for (const b of snap.bindings) {
    for (const sub of b.subjects) {
      if (sub.kind === 'ServiceAccount') {
        const ns = sub.namespace || b.namespace;
        if (ns) addSubject({ kind: 'ServiceAccount', name: sub.name, namespace: ns });
      } else addSubject({ kind: sub.kind, name: sub.name, namespace: '' });
    }
  }
  const userOf = (x: Subj): string => (x.kind === 'ServiceAccount' ? `system:serviceaccount:${x.namespace}:${x.name}` : x.name);
  // Subjects bound in the export that are identities (not groups), by the user name they stand for:
  // each is judged with what that identity did, when the identity comes by.
  const boundByUser = new Map<string, [string, Subj][]>();
  for (const [key, x] of subjects) {
    if (x.kind === 'Group') continue;
    const l = boundByUser.get(userOf(x));
    if (l) l.push([key, x]);
    else boundByUser.set(userOf(x), [[key, x]]);
  }

  // Usage per grant, per subject (a group's grants are used by any member's requests). An identity's
  // own usage is only ever added while that identity is judged: `usage` holds the groups' and the
  // current identity's.
  const usage = new Map<string, Map<string, Usage>>();
  const uncovered = new Map<string, Uncovered[]>();
  /** What a grant was used for: the check itself, or a rule the writer had to hold. */
  type Use = { verb: string; apiGroup: string; resource: string; nonResourceURL: string; name: string };
  const useFor = (subjectKey: string, g: EffectiveGrant, what: Use, examples: [number, string][], count: number): void => {
    let m = usage.get(subjectKey);
    if (!m) usage.set(subjectKey, (m = new Map()));
    const id = grantId(g);
    let u = m.get(id);
    if (!u) m.set(id, (u = { requests: 0, examples: [], verbs: new Set(), resources: new Set(), apiGroups: new Set(), names: new Set() }));
    u.requests += count;
    u.examples = [...u.examples, ...examples].sort((x, y) => x[0] - y[0] || cmp(x[1], y[1])).filter((e, i, a) => i === 0 || e[1] !== a[i - 1]![1]).slice(0, 3);
    u.verbs.add(what.verb);
    u.resources.add(what.resource || what.nonResourceURL);
    if (what.resource) u.apiGroups.add(what.apiGroup);
    if (what.name) u.names.add(what.name);
  };
  const useWithGroup = (myKey: string, g: EffectiveGrant, what: Use, examples: [number, string][], count: number): void => {
    useFor(myKey, g, what, examples, count);
    const grp = viaGroup(g.via);
    if (grp !== null && !isImplicitGroup(grp)) useFor(keyOf({ kind: 'Group', name: grp, namespace: '' }), g, what, examples, count);
  };
  // Writes whose escalation checks drift cannot follow to the grants they relied on, per user.
  const unjudgedMore = new Map<string, { reasons: Record<string, number>; examples: string[] }>();
  const noteUnjudged = (user: string, why: string, n: number, examples: [number, string][]): void => {
    const m = unjudgedMore.get(user) ?? { reasons: {}, examples: [] };
    unjudgedMore.set(user, m);
    m.reasons[why] = (m.reasons[why] ?? 0) + n;
    for (const [, id] of examples) if (m.examples.length < 3 && !m.examples.includes(id)) m.examples.push(id);
  };
  /**
   * A bind or escalate check that no grant allows passed because the writer already held every rule
   * being granted (ConfirmNoEscalation, pkg/registry/rbac/validation/rule.go, over Covers): each grant
   * whose rule covers one of those rules (policy_comparator.go ruleCovers), in the write's namespace
   * or cluster-wide (RulesFor), was relied on, so it is used. Writes whose rules drift cannot know are
   * reported as unjudged instead.
   */
  const reliedOn = (user: string, myKey: string, k: ReqKey, info: UserInfo, name: string, count: number): void => {
    let servant: PolicyRule[] | undefined;
    if (k.check === 'bind') {
      // GetRoleReferenceRules: a Role in the binding's namespace, or a ClusterRole.
      servant = name === '' ? undefined : authz.rulesOf(k.resource === 'roles' ? 'Role' : 'ClusterRole', k.namespace, name);
      if (!servant) {
        noteUnjudged(user, `binding write that passed without a bind grant, to a role not in the RBAC export${name ? ` (${k.resource === 'roles' ? 'Role' : 'ClusterRole'} ${name})` : ''}: the permissions it relied on are unknown`, count, k.examples);
        return;
      }
    } else {
      servant = [...(k.written?.values() ?? []), ...(k.fullAuthority ? FULL_AUTHORITY : [])];
    }
    const owner = authz.grantsOf(info).filter((g) => g.namespace === '' || g.namespace === k.namespace);
    const counted = new Set<EffectiveGrant>();
    for (const sub of servant.flatMap(breakdownRule)) {
      const what: Use = { verb: sub.verbs[0]!, apiGroup: sub.apiGroups?.[0] ?? '', resource: sub.resources?.[0] ?? '', nonResourceURL: sub.nonResourceURLs?.[0] ?? '', name: sub.resourceNames?.[0] ?? '' };
      for (const g of owner) {
        if (!ruleCovers(g.rule, sub)) continue;
        // The writes count once per grant, whatever number of its permissions they relied on.
        useWithGroup(myKey, g, what, k.examples, counted.has(g) ? 0 : count);
        counted.add(g);
      }
    }
  };
  /** Judges every check an identity went through (its usage goes to `usage`, what no grant allows to `uncovered`) as the subject of key `myKey`. */
  const judgeIdentity = (u: SubjectUse, myKey: string): void => {
    for (const k of u.keys.values()) {
      // Each check is judged with the groups it carried, as the API server judged it.
      const info = { user: u.user, groups: k.groups };
      const missing: string[] = [];
      let missingCount = 0;
      const all = probes(k);
      let reliedCount = 0;
      for (const name of all) {
        const count = name === '' ? k.other || k.count : k.names.get(name)!;
        const req: RequestAttributes = { verb: k.verb, apiGroup: k.apiGroup, resource: k.resource, subresource: k.subresource, namespace: k.namespace, name, nonResourceURL: k.nonResourceURL };
        const grants = authz.allowsAll(info, req);
        if (grants.length === 0) {
          // A bind or escalate check that no grant allows passed another way (the writer held every
          // rule: ConfirmNoEscalation), so it is not a missing permission, and what it held was used.
          if (k.check === 'request' || k.check === 'impersonate') {
            missing.push(name);
            missingCount += count;
          } else {
            reliedOn(u.user, myKey, k, info, name, count);
            reliedCount += count;
          }
          continue;
        }
        const what: Use = { verb: k.verb, apiGroup: k.apiGroup, resource: k.resource ? (k.subresource ? `${k.resource}/${k.subresource}` : k.resource) : '', nonResourceURL: k.nonResourceURL, name };
        for (const g of grants) useWithGroup(myKey, g, what, k.examples, count);
      }
      if (k.check === 'escalate' && k.rulesUnknown && reliedCount > 0) noteUnjudged(u.user, 'role write that passed without an escalate grant, its rules not logged: the permissions it relied on are unknown', Math.min(k.rulesUnknown, reliedCount), k.examples);
      if (missing.length) {
        const list = uncovered.get(myKey) ?? [];
        list.push({ check: k.check === 'impersonate' ? 'impersonate' : 'request', verb: k.verb, apiGroup: k.apiGroup, resource: k.subresource ? `${k.resource}/${k.subresource}` : k.resource, namespace: k.namespace, nonResourceURL: k.nonResourceURL, names: missing.filter(Boolean).sort(), requests: missingCount, denied: Math.min(k.denied, missingCount), examples: k.examples.map((e) => e[1]), location: missing.length === all.length ? (k.firstAt ?? null) : null });
        uncovered.set(myKey, list);
      }
    }
  };

  // Suggestions: rbac-gen's policy per subject, from the same requests. One per subject that made
  // a request: they go into a spilling map by the user name each subject stands for (issue 15), read
  // back in the order the identities are judged below (a merge join on user names), each with the
  // subjects' keys, so that each subject finds its own policy as an unbounded map would give it.
  const suggested = newSpillMap<Suggestions>();
  if (s.gen) {
    const rep = rbacGen.finish(s.gen, { input });
    releaseRows(rep.sensitive);
    releaseRows(rep.deniedBySubject);
    releaseRows(rep.escalationUnchecked);
    for (const p of rep.policies) {
      const key = keyOf({ kind: p.subject.kind, name: p.subject.name, namespace: p.subject.namespace });
      const user = userOf(p.subject);
      const v: Suggestions = [[key, p.objects.map(toPlainObject)]];
      const had = suggested.map.get(user);
      if (had) had.push(v[0]!);
      else suggested.map.set(user, v);
      grow(suggested, SUGGESTIONS, suggestionBytes(user, v));
      settle();
    }
  }
  /**
   * The suggestions of the identity being judged, by subject key; and those that went by unclaimed,
   * kept only for the export's subjects not judged yet (the only ones judged later, below): the
   * rest (a system identity not reported, say) is never looked up again, so it is not kept.
   */
  let current = new Map<string, Record<string, unknown>[]>();
  const unclaimed = new Map<string, Record<string, unknown>[]>();
  const keepUnclaimed = (k: string, v: Record<string, unknown>[]): void => {
    if (subjects.has(k) && !judged.has(k)) unclaimed.set(k, v);
  };
  const pending = s.gen ? drain(suggested, SUGGESTIONS) : null;
  let next = pending?.next();
  /** Takes the suggestions for user name `user` (null: all that are left) from the stream. */
  const claim = (user: string | null): void => {
    for (const [k, v] of current) keepUnclaimed(k, v);
    current = new Map();
    while (pending && next && !next.done && (user === null || cmp(next.value[0], user) <= 0)) {
      if (user !== null && next.value[0] === user) for (const [k, v] of next.value[1]) current.set(k, v);
      else for (const [k, v] of next.value[1]) keepUnclaimed(k, v);
      next = pending.next();
    }
  };
  const suggestionFor = (key: string): Record<string, unknown>[] | undefined => current.get(key) ?? unclaimed.get(key);

  // The subjects' entries in report order (score, then subject), sorted within the memory budget:
  // beyond it they are spilled and the report's list is read back from disk (issue 15).
  const totals = new Totals();
  /** Range-relative locations the entries cite (--jobs): file → range starts (src/ingest/locate.ts). */
  const cites = new Map<string, Set<number>>();
  // Each entry is held as its encoded line (issue 15): one string instead of a tree of small objects
  // per subject, so a million entries cost the garbage collector little and fill fewer runs; it is
  // decoded once, when the report's list is read.
  // The identities come in user-name order, which for most subjects is their key's order: with
  // equal scores (a million users without grants of their own) they are written out as they come.
  const out = new ExternalSorter<Ranked>({ compare: byRank, size: rankedBytes, tag: 'drift-subjects', codec: RANKED, inOrder: true });
  const selected = o.subjects?.length ? globMatcher(o.subjects) : null;
  /** The report's entry for a subject (none when --only-drift leaves it out or the selection does not name it). */
  const judgeSubject = (key: string, subj: Subj, observed: SubjectUse | undefined): void => {
    if (o.subjectKinds.length && !o.subjectKinds.includes(subj.kind)) return;
    if (selected && (subj.kind === 'Group' || !selected(userOf(subj)))) return;
    const groups = observed ? [...observed.groups].sort() : [];
    const grants = subj.kind === 'Group' ? authz.grantsOf({ user: '', groups: [subj.name] }).filter((g) => g.via === `Group ${subj.name}`) : authz.grantsOf({ user: userOf(subj), groups });
    const own = grants.filter((g) => !isShared(g));
    const used: UsedRule[] = [];
    const unusedRules: UnusedRule[] = [];
    const sensitiveExcess: SensitiveExcess[] = [];
    const myUsage = usage.get(key);
    let sum = 0;
    for (const g of own) {
      const u = myUsage?.get(grantId(g));
      const src = sourceOf(g, files);
      const sens = sensitiveOf(g, u).map((e) => ({ ...e, source: src }));
      pushAll(sensitiveExcess, sens);
      if (!u) {
        unusedRules.push({ source: src, rule: g.rule, sensitive: sens.map((e) => e.id) });
        continue;
      }
      const { full, fraction } = useOf(g.rule, u);
      sum += fraction;
      used.push({ source: src, rule: g.rule, used: { verbs: [...u.verbs].sort(), resources: [...u.resources].sort(), apiGroups: [...u.apiGroups].sort(), names: [...u.names].sort() }, requests: u.requests, auditIDs: u.examples.map((e) => e[1]), full, fraction: Math.round(fraction * 1000) / 1000 });
    }
    const masters = subj.kind === 'Group' ? subj.name === 'system:masters' : groups.includes('system:masters');
    if (masters) {
      const e = SENSITIVE.find((x) => x.group === 'system:masters')!;
      sensitiveExcess.unshift({ id: e.id, severity: e.severity, description: e.description, permissions: ['*'], source: { ...sourceOf(MASTERS_GRANT, files), file: '', origin: null }, rule: MASTERS_GRANT.rule });
    }
    sensitiveExcess.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || cmp(a.id, b.id));
    const requests = subj.kind === 'Group' ? [...(myUsage?.values() ?? [])].reduce((n, u) => n + u.requests, 0) : (observed?.requests ?? 0);
    const score = own.length === 0 ? null : Math.round((1000 * sum) / own.length) / 10;
    const otherChecks = observed?.checks ?? 0;
    const more = observed ? unjudgedMore.get(observed.user) : undefined;
    const reasons: Record<string, number> = { ...(observed?.unjudged.reasons ?? {}) };
    for (const [why, n] of Object.entries(more?.reasons ?? {})) reasons[why] = (reasons[why] ?? 0) + n;
    const unjudgedRequests = (observed?.unjudged.requests ?? 0) + Object.values(more?.reasons ?? {}).reduce((a, b) => a + b, 0);
    const unjudgedExamples = [...new Set([...(observed?.unjudged.examples ?? []), ...(more?.examples ?? [])])].slice(0, 3);
    const unjudged = observed && unjudgedRequests > 0 ? { requests: unjudgedRequests, reasons: Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => cmp(a, b))), examples: unjudgedExamples } : null;
    const d: SubjectDrift = {
      subject: subj,
      groups,
      requests,
      otherChecks,
      unjudgedWrites: unjudged,
      dormant: own.length > 0 && requests === 0 && otherChecks === 0,
      grantedRules: own.length,
      usedRules: used.length,
      fullyUsedRules: used.filter((x) => x.full).length,
      sharedRules: grants.length - own.length,
      used,
      unusedRules,
      uncovered: (uncovered.get(key) ?? []).sort((a, b) => b.requests - a.requests || cmp(`${a.verb} ${a.resource} ${a.namespace}`, `${b.verb} ${b.resource} ${b.namespace}`)),
      sensitiveExcess,
      score,
      severity: band(score),
      location: firstLocation(observed),
    };
    const drifted = unusedRules.length > 0 || sensitiveExcess.length > 0 || used.some((x) => !x.full);
    if (o.onlyDrift && !drifted) return;
    const suggestion = s.gen && drifted ? suggestionFor(key) : undefined;
    if (suggestion) d.suggestion = suggestion;
    totals.add(d);
    // An entry of the caller's codec cites no location (see `entry`): nothing in it to relocate under --jobs.
    if (!entry) rangeOffsets(d, cites);
    out.add({ s: d.score ?? 101, k: key, line: entry ? entry.encode(d) : encodeLine(d) });
  };
  // Every identity seen in the logs, one at a time: its checks, then its subject, and the subjects
  // of the export that stand for the same user name. `judged` holds the export's subjects done here.
  const judged = new Set<string>();
  // Many identities: those still in memory are written out first, so that they come back from disk
  // one at a time while the report's entries take their place, and the two never share the budget.
  if (s.users.runs.length > 0 || s.users.held > budgetBytes() / 4) {
    const held = s.users.held;
    spillAll(s.users, useSpec(o.maxNames));
    collectSpilled(held);
  }
  for (const [, u] of drain(s.users, useSpec(o.maxNames))) {
    claim(u.user);
    const c = classifySubject(u.user);
    const me: Subj = c.kind === 'ServiceAccount' ? { kind: 'ServiceAccount', name: c.name, namespace: c.namespace } : { kind: 'User', name: u.user, namespace: '' };
    const myKey = keyOf(me);
    judgeIdentity(u, myKey);
    const mine: [string, Subj][] = reported(me) ? [[myKey, me]] : [];
    for (const [key, x] of boundByUser.get(u.user) ?? []) if (!mine.some(([k]) => k === key)) mine.push([key, x]);
    for (const [key, x] of mine) {
      if (subjects.has(key)) judged.add(key);
      judgeSubject(key, x, u);
    }
    // What was kept for this identity alone is no longer needed.
    usage.delete(myKey);
    uncovered.delete(myKey);
    unjudgedMore.delete(u.user);
  }
  claim(null);
  // The export's subjects nobody was seen as: groups (used through their members), and dormant identities.
  for (const [key, subj] of subjects) if (!judged.has(key)) judgeSubject(key, subj, undefined);
  const judgedList = remap(out.keepSorted(budgetBytes() / 4), entry ? (x) => entry.decode(x.line) : (x) => decodeLine(x.line) as SubjectDrift);
  if (isSpilled(judgedList)) judgedList.cites = cites;
  return {
    kind: 'kaudit.drift',
    version: 1,
    input,
    window: { from: s.from || null, to: s.to || null },
    rbac: { files: snap.files, roles: snap.roles.length, bindings: snap.bindings.length, missingRoles: authz.missing.map((m) => m.message), warnings: snap.warnings, ignored: snap.ignored },
    summary: totals.summary(),
    subjects: judgedList,
  };
}

/** Suggested objects by subject key, of the subjects that stand for one user name. */
type Suggestions = [string, Record<string, unknown>[]][];

function suggestionBytes(user: string, v: Suggestions): number {
  let n = ENTRY_BYTES + 2 * strBytes(user);
  for (const [k, objects] of v) n += ENTRY_BYTES + strBytes(k) + roughBytes(objects);
  return n;
}

/** The spill spec of drift's suggestions: entries of one user name, in arrival (report) order. */
const SUGGESTIONS: SpillSpec<Suggestions> = {
  tag: 'drift-suggestions',
  merge: (a, b) => {
    for (const x of b) a.push(x);
    return a;
  },
  size: suggestionBytes,
};

/** A subject's entry (encodeLine's line) with its place in the report: score (101 without one), then subject key. */
interface Ranked {
  s: number;
  k: string;
  line: string;
}

function rankedBytes(x: Ranked): number {
  return OBJECT_BYTES + strBytes(x.k) + strBytes(x.line);
}

/**
 * Ranked entries in runs as `SCORE \x01 KEY \x01 LINE`: the key and the line are JSON text, which
 * never holds a raw control character, so the first two \x01 split the parts.
 */
const RANKED: LineCodec<Ranked> = {
  encode: (x) => `${x.s}\u0001${x.k}\u0001${x.line}`,
  decode: (line) => {
    const a = line.indexOf('\u0001');
    const b = line.indexOf('\u0001', a + 1);
    return { s: Number(line.slice(0, a)), k: line.slice(a + 1, b), line: line.slice(b + 1) };
  },
};

function byRank(a: Ranked, b: Ranked): number {
  return a.s - b.s || cmp(a.k, b.k);
}

/**
 * The report's totals, gathered as the entries are made (in any order). The average score adds
 * the scores in report order, as the float sum of the sorted list would: lowest score first, which
 * a count per distinct score replays exactly (entries with equal scores add the same number).
 */
class Totals {
  private bands: Record<Band, number> = { green: 0, yellow: 0, red: 0, none: 0 };
  private t = { subjects: 0, withDrift: 0, dormant: 0, grantedRules: 0, usedRules: 0, unusedRules: 0, sensitiveExcess: 0, uncoveredRequests: 0, unjudgedWrites: 0 };
  private scores = new Map<number, number>();

  add(d: SubjectDrift): void {
    const t = this.t;
    t.subjects++;
    this.bands[d.severity]++;
    if (d.unusedRules.length > 0 || d.sensitiveExcess.length > 0) t.withDrift++;
    if (d.dormant) t.dormant++;
    t.grantedRules += d.grantedRules;
    t.usedRules += d.usedRules;
    t.unusedRules += d.unusedRules.length;
    t.sensitiveExcess += d.sensitiveExcess.length;
    t.uncoveredRequests += d.uncovered.reduce((m, u) => m + u.requests, 0);
    t.unjudgedWrites += d.unjudgedWrites?.requests ?? 0;
    if (d.score !== null) this.scores.set(d.score, (this.scores.get(d.score) ?? 0) + 1);
  }

  summary(): DriftReport['summary'] {
    const t = this.t;
    let scored = 0;
    let sum = 0;
    for (const v of [...this.scores.keys()].sort((a, b) => a - b)) {
      for (let n = this.scores.get(v)!; n > 0; n--) {
        sum += v;
        scored++;
      }
    }
    return { subjects: t.subjects, withDrift: t.withDrift, dormant: t.dormant, bands: this.bands, grantedRules: t.grantedRules, usedRules: t.usedRules, unusedRules: t.unusedRules, sensitiveExcess: t.sensitiveExcess, uncoveredRequests: t.uncoveredRequests, unjudgedWrites: t.unjudgedWrites, averageScore: scored ? Math.round((10 * sum) / scored) / 10 : null };
  }
}
