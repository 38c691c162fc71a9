// `audit rbac-gen`: least-privilege RBAC from what each subject did. A pure reducer: every
// authorization a request went through (the request itself, its impersonation checks, the bind and
// escalate checks of RBAC writes; src/rbac/request.ts) is aggregated into sets keyed by (scope,
// apiGroup, resource, verb), never compared pairwise, and compacted into rules at the end
// (src/rbac/generate.ts).
import type { AuditRecord, FinishContext, PolicyRule, Reducer, RequestAttributes } from '../../types.js';
import { isClusterScoped } from '../../rules/scope.js';
import { classifySubject } from '../../normalize/subject.js';
import { isControlPlaneServiceAccount } from '../../rules/identities.js';
import { generate, type GenerateOptions, type RbacGenReport } from '../../rbac/generate.js';
import { impersonationChecks, isDnsLabel, rbacWrite, requestAttributes, splitServiceAccountUsername, userInfo, type AuthzCheck } from '../../rbac/request.js';
import { defaultsAuthorizer } from '../../rbac/defaults.js';
import type { Authorizer } from '../../rbac/authorizer.js';
import { ruleKey } from '../../rbac/authorizer.js';
import { widenSpan, mergeSpan } from '../../util/span.js';
import { isWellFormed } from '../../util/unicode.js';
import { tupleKey } from '../../util/key.js';
import { absorb, grow, mergeEntry, newSpillMap, specsByOption, type SpillMap, type SpillSpec } from '../../scale/spillmap.js';
import { ENTRY_BYTES, OBJECT_BYTES, strBytes } from '../../scale/budget.js';
import { SUBJECT_CODEC } from './codec.js';
import { noEntries, ownMap } from './empty.js';

export interface PolicySubject {
  kind: 'User' | 'ServiceAccount' | 'Group';
  name: string;
  namespace: string;
}

export interface RbacGenOptions extends GenerateOptions {
  /** One policy for this group (from --group) instead of one per user. */
  group?: string;
  includeSystem: boolean;
  /** Keep requests the default bootstrap bindings already allow (discovery, health, self reviews…). */
  includeDiscovery: boolean;
  /** Keep requests the authorizer denied (the audit2rbac workflow); by default they are left out. */
  includeDenied: boolean;
  /** Names kept per key for --resource-names; beyond this the rule is not pinned. */
  maxNames: number;
  /** When set (--user, --serviceaccount), only these usernames get a policy. */
  select?: (username: string) => boolean;
}

/** Which authorization a permission comes from. */
export type PermissionKind = AuthzCheck['kind'];

/** One distinct permission observed. */
export interface KeyAgg {
  /** Namespace, or '' for cluster-wide (cluster-scoped resources, all-namespace requests, non-resource URLs). */
  scope: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  nonResourceURL: string;
  verb: string;
  kind: PermissionKind;
  count: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  /** Distinct names requested; null once there were more than maxNames (never for impersonate, bind, escalate). */
  names: Set<string> | null;
  /** True when some request had no name (a list, a create on a collection). */
  unnamed: boolean;
  /** The two earliest auditIDs, as [timeMs, id]. */
  examples: [number, string][];
}

/** A role written with a body rbac-gen could read: the rules the writer must hold unless it may `escalate`. */
export interface RoleWriteAgg {
  /** Namespace of a Role ('' for a ClusterRole). */
  scope: string;
  resource: 'roles' | 'clusterroles';
  /** The name the escalate check saw ('' for a create). */
  name: string;
  /** ruleKey → rule, every rule written. */
  rules: Map<string, PolicyRule>;
  aggregation: boolean;
  /** Updates or patches carrying an aggregationRule that may have changed (RbacWrite.aggregationMaybe). */
  aggregationMaybe: boolean;
  count: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  examples: [number, string][];
}

export interface SubjectAgg {
  subject: PolicySubject;
  requests: number;
  /** Permissions to grant. */
  keys: Map<string, KeyAgg>;
  /**
   * Requests left out because the default bindings allow them (the self-check checks them too).
   * Read-only for all but addRecord and mergeSubject: while empty it may be the shared NO_ENTRIES.
   */
  defaults: Map<string, KeyAgg>;
  /** Role writes whose escalation check rbac-gen decides at the end (src/rbac/generate.ts). Empty: may be NO_ENTRIES, as `defaults`. */
  roleWrites: Map<string, RoleWriteAgg>;
}


/** RBAC writes whose escalation checks rbac-gen could not judge, per subject. */
export interface UncheckedWrites {
  requests: number;
  /** reason → requests */
  reasons: Map<string, number>;
  examples: string[];
}

export interface RbacGenState {
  opts: RbacGenOptions;
  /**
   * Permissions per subject, keyed by subjectSortKey: in memory up to the budget (--memory), then
   * spilled as runs sorted by subject and merged with mergeSubject at the end (src/scale/spillmap.ts;
   * issue 15: a million subjects cost disk, not heap).
   */
  subjects: SpillMap<SubjectAgg>;
  /** Requests seen but not turned into permissions, by reason. (Maps: the keys are audit data, `__proto__` included.) */
  left: Map<string, number>;
  /**
   * Denied requests left out, per subject label: a count per subject, in memory up to the budget
   * and then spilled and summed at the end like `subjects` (an attacker's requests denied under a
   * million names cost disk, not heap; the counts stay exact). Read with deniedSpec.
   */
  denied: SpillMap<number>;
  /**
   * RBAC writes whose bind or escalate check could not be judged, per subject label: spills with
   * the budget like the subjects (one entry per subject that wrote RBAC objects at Metadata level
   * can be a million). Read with uncheckedSpec.
   */
  unchecked: SpillMap<UncheckedWrites>;
}

export const LEFT_DENIED = 'denied by authorization (403; --include-denied keeps them)';
export const LEFT_DEFAULT = 'allowed to everyone by the default bootstrap bindings (--include-discovery keeps them)';
export const LEFT_UNAUTHENTICATED = 'unauthenticated (401)';
export const LEFT_NO_USER = 'unauthenticated (no user)';
export const LEFT_SYSTEM = 'system component (--include-system)';
export const LEFT_UNSELECTED = 'not a selected subject';
export const LEFT_BAD_NAMESPACE = 'namespace is not a DNS-1123 label, so no Role can be written there';
export const LEFT_UNREPRESENTABLE = 'holds a string no YAML can carry (a lone UTF-16 surrogate)';
export const LEFT_WILDCARD = "names '*' (or a path ending in '*'), which RBAC would read as a wildcard";
export const LEFT_EXISTING = 'already allowed by --existing';

export function subjectKey(s: PolicySubject): string {
  return JSON.stringify([s.kind, s.namespace, s.name]);
}

/** One part of a sort key: NUL doubled as NUL SOH, then NUL NUL ends the part (sorts before any character). */
function sortPart(x: string): string {
  return `${x.includes('\u0000') ? x.replace(/\u0000/g, '\u0000\u0001') : x}\u0000\u0000`;
}

/**
 * A subject's key in the spilling map: distinct subjects give distinct keys, and the keys' code-unit
 * order is the order of policies in the report (kind, then namespace, then name, each by code
 * units), so the merge of spilled runs hands subjects to generate() already sorted.
 */
export function subjectSortKey(s: PolicySubject): string {
  return sortPart(s.kind) + sortPart(s.namespace) + sortPart(s.name);
}

/** Estimated heap bytes of a new subject (three maps and the subject), beyond its key. */
const SUBJECT_BYTES = 700;
/** Estimated heap bytes of a new permission (KeyAgg with its name set and examples), beyond strings. */
const KEY_BYTES = 600;

function keyAggBytes(key: string, k: KeyAgg): number {
  let n = KEY_BYTES + ENTRY_BYTES + strBytes(key) + 2 * strBytes(k.first);
  if (k.names) for (const x of k.names) n += strBytes(x) + ENTRY_BYTES;
  for (const e of k.examples) n += OBJECT_BYTES + strBytes(e[1]);
  return n;
}

/** Estimated heap bytes of a subject's aggregate and its key (the spilling map's size function). */
export function subjectAggBytes(key: string, a: SubjectAgg): number {
  let n = SUBJECT_BYTES + ENTRY_BYTES + strBytes(key) + 2 * strBytes(a.subject.name) + strBytes(a.subject.namespace);
  for (const [k, v] of a.keys) n += keyAggBytes(k, v);
  for (const [k, v] of a.defaults) n += keyAggBytes(k, v);
  for (const [k, w] of a.roleWrites) n += KEY_BYTES + strBytes(k) + w.rules.size * (OBJECT_BYTES * 4);
  return n;
}

/**
 * The order of a JSON object's members as JavaScript enumerates them (ECMA-262
 * OrdinaryOwnPropertyKeys): array-index keys (canonical integers below 2^32 − 1) first, ascending,
 * then the others (here: by code units, as they were added). A report's object of counts per
 * subject has these bytes whether it was built in memory (Object.fromEntries) or merged from runs.
 */
export function objectKeyOrder(a: string, b: string): number {
  const ia = arrayIndex(a);
  const ib = arrayIndex(b);
  if (ia >= 0 || ib >= 0) return ia < 0 ? 1 : ib < 0 ? -1 : ia - ib;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The array index a key stands for (CanonicalNumericIndexString below 2^32 − 1), or -1. */
function arrayIndex(k: string): number {
  if (k.length === 0 || k.length > 10 || !/^(0|[1-9][0-9]*)$/.test(k)) return -1;
  const n = Number(k);
  return n < 2 ** 32 - 1 ? n : -1;
}

/** Estimated heap bytes of a subject's denied count beyond its key (a map entry and the number). */
const DENIED_BYTES = ENTRY_BYTES + 16;

/** The spill spec of the denied counts (RbacGenState.denied): summed; ordered as the report's object enumerates. */
export const deniedSpec: SpillSpec<number> = { tag: 'rbacgen-denied', merge: (a, b) => a + b, size: (k) => DENIED_BYTES + strBytes(k), compare: objectKeyOrder };

/** Estimated heap bytes of a subject's unchecked writes beyond its key (entry, object, reasons map, examples). */
const UNCHECKED_BYTES = ENTRY_BYTES + 64 + 2 * ENTRY_BYTES + 64 + 3 * 64;

/**
 * Folds `b` (later requests) into `a`: counts summed per reason, the first three distinct example
 * Audit-IDs in request order (a's first, then b's: the same three as one pass).
 */
export function mergeUnchecked(a: UncheckedWrites, b: UncheckedWrites): UncheckedWrites {
  a.requests += b.requests;
  for (const [why, n] of b.reasons) bump(a.reasons, why, n);
  for (const id of b.examples) if (a.examples.length < 3 && !a.examples.includes(id)) a.examples.push(id);
  return a;
}

/** The spill spec of the unchecked RBAC writes (RbacGenState.unchecked): merged; subjects in code-unit order. */
export const uncheckedSpec: SpillSpec<UncheckedWrites> = { tag: 'rbacgen-unchecked', merge: mergeUnchecked, size: (k) => UNCHECKED_BYTES + strBytes(k) };

/** Counts one denied request of a subject (label) in the spilling map. */
function countDenied(s: RbacGenState, label: string): void {
  const n = s.denied.map.get(label);
  if (n !== undefined) s.denied.map.set(label, n + 1);
  else {
    s.denied.map.set(label, 1);
    grow(s.denied, deniedSpec, DENIED_BYTES + strBytes(label));
  }
}

/** The spill spec of the subjects map, by maxNames (its merge caps names at maxNames). */
export const subjectSpec = specsByOption<SubjectAgg>('rbacgen', mergeSubject, subjectAggBytes, SUBJECT_CODEC);

export function subjectLabel(s: PolicySubject): string {
  return s.kind === 'ServiceAccount' ? `system:serviceaccount:${s.namespace}:${s.name}` : s.kind === 'Group' ? `group:${s.name}` : s.name;
}

/**
 * The policy subject for a username, or null when it gets none (not selected, or a system component
 * without --include-system). A service account is one only as serviceaccount.SplitUsername accepts
 * it (valid namespace and name); any other name is bound as a User, which RBAC matches by name.
 */
export function policySubjectFor(user: string, opts: Pick<RbacGenOptions, 'select' | 'includeSystem'>): PolicySubject | null {
  if (opts.select && !opts.select(user)) return null;
  const sa = splitServiceAccountUsername(user);
  if (sa) {
    if (isControlPlaneServiceAccount(sa.namespace, sa.name) && !opts.includeSystem) return null;
    return { kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace };
  }
  if (classifySubject(user).kind === 'User' || opts.includeSystem) return { kind: 'User', name: user, namespace: '' };
  return null;
}

function bump(m: Map<string, number>, k: string, n = 1): void {
  m.set(k, (m.get(k) ?? 0) + n);
}

function earliest(a: [number, string][], b: [number, string][]): [number, string][] {
  return [...a, ...b].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)).filter((e, i, all) => i === 0 || e[1] !== all[i - 1]![1]).slice(0, 2);
}

function addExample(ex: [number, string][], r: AuditRecord): [number, string][] {
  const t = Number.isFinite(r.timeMs) ? r.timeMs : Infinity;
  if (r.auditID && (ex.length < 2 || t <= ex[1]![0])) return earliest(ex, [[t, r.auditID]]);
  return ex;
}

/** Where a permission is granted: the request's namespace (a Role there), or '' (a ClusterRole). */
export function scopeOf(a: RequestAttributes): string {
  if (a.resource === '' || a.namespace === '') return '';
  // namespaces/X is authorized in namespace X; `bind` on a ClusterRole is checked in the binding's
  // namespace (BindingAuthorized). Other cluster-scoped resources asked with a namespace are granted
  // cluster-wide, where a Role's rules would never apply to them.
  if (a.resource === 'namespaces' || a.verb === 'bind' || !isClusterScoped(a.apiGroup, a.resource)) return a.namespace;
  return '';
}

/** Why a permission cannot be written as a rule ('' when it can). */
export function unwritable(a: RequestAttributes, subject: PolicySubject): string {
  const strings = [a.verb, a.apiGroup, a.resource, a.subresource, a.namespace, a.name, a.nonResourceURL, subject.name, subject.namespace];
  if (!strings.every(isWellFormed)) return LEFT_UNREPRESENTABLE;
  if (a.verb === '*' || a.apiGroup === '*' || a.resource === '*' || a.subresource === '*' || a.nonResourceURL.endsWith('*')) return LEFT_WILDCARD;
  const scope = scopeOf(a);
  if (scope !== '' && !isDnsLabel(scope)) return LEFT_BAD_NAMESPACE;
  return '';
}

function keyOf(a: RequestAttributes, scope: string): string {
  return tupleKey([scope, a.apiGroup, a.resource, a.subresource, a.nonResourceURL, a.verb]);
}

/** Permissions always pinned to the names seen: least privilege for who may be impersonated or bound. */
function alwaysPinned(kind: PermissionKind): boolean {
  return kind === 'impersonate' || kind === 'bind' || kind === 'escalate';
}

/** Adds a check to a subject's permissions; returns the estimated bytes the map grew by. */
function addKey(map: Map<string, KeyAgg>, a: RequestAttributes, kind: PermissionKind, r: AuditRecord, maxNames: number): number {
  const scope = scopeOf(a);
  const key = keyOf(a, scope);
  let k = map.get(key);
  let grew = 0;
  if (!k) {
    grew = KEY_BYTES + ENTRY_BYTES + strBytes(key) + 2 * strBytes(r.time);
    k = { scope, apiGroup: a.apiGroup, resource: a.resource, subresource: a.subresource, nonResourceURL: a.nonResourceURL, verb: a.verb, kind, count: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', names: new Set(), unnamed: false, examples: [] };
    map.set(key, k);
  }
  k.count++;
  widenSpan(k, r.timeMs, r.time);
  const pin = alwaysPinned(kind);
  if (a.resource === '' || (a.name === '' && !pin)) k.unnamed = true;
  else if (k.names && !k.names.has(a.name)) {
    k.names.add(a.name);
    grew += strBytes(a.name) + ENTRY_BYTES;
    if (!pin && k.names.size > maxNames) k.names = null;
  }
  k.examples = addExample(k.examples, r);
  return grew;
}

function agg(s: RbacGenState, subject: PolicySubject): SubjectAgg {
  const k = subjectSortKey(subject);
  let a = s.subjects.map.get(k);
  if (!a) {
    s.subjects.map.set(k, (a = { subject, requests: 0, keys: new Map(), defaults: noEntries(), roleWrites: noEntries() }));
    grow(s.subjects, subjectSpec(s.opts.maxNames), SUBJECT_BYTES + ENTRY_BYTES + strBytes(k) + 2 * strBytes(subject.name) + strBytes(subject.namespace));
  }
  return a;
}

/** Records that a subject's aggregate grew by `bytes` (spilling waits for the next safe point). */
function grew(s: RbacGenState, bytes: number): void {
  if (bytes > 0) grow(s.subjects, subjectSpec(s.opts.maxNames), bytes);
}

function noteUnchecked(s: RbacGenState, subject: PolicySubject, why: string, r: AuditRecord): void {
  mergeEntry(s.unchecked, uncheckedSpec, subjectLabel(subject), { requests: 1, reasons: new Map([[why, 1]]), examples: r.auditID ? [r.auditID] : [] });
}

/**
 * Adds one record. `existing` (rbac-gen --existing) leaves out every check it already allows.
 * Returns whether the request itself was already allowed by `existing`.
 */
export function addRecord(s: RbacGenState, r: AuditRecord, existing: Authorizer | null): boolean {
  const o = s.opts;
  if (r.code === 401) {
    bump(s.left, LEFT_UNAUTHENTICATED);
    return false;
  }
  // No identity was established (a 400 written before authentication): nothing to grant to anyone.
  if (r.subjectKind === 'Unauthenticated') {
    bump(s.left, LEFT_NO_USER);
    return false;
  }
  const attrs = requestAttributes(r);
  const user = userInfo(r);
  const subject: PolicySubject | null = o.group !== undefined ? { kind: 'Group', name: o.group, namespace: '' } : policySubjectFor(r.subject, o);
  let already = false;
  if (!subject) bump(s.left, o.select && !o.select(r.subject) ? LEFT_UNSELECTED : LEFT_SYSTEM);
  else {
    const why = unwritable(attrs, subject);
    if (why) bump(s.left, why);
    else if (r.decision === 'forbid' && !o.includeDenied) {
      bump(s.left, LEFT_DENIED);
      countDenied(s, subjectLabel(subject));
    } else if (existing && existing.allows(user, attrs).allowed) {
      already = true;
    } else {
      const a = agg(s, subject);
      a.requests++;
      if (!o.includeDiscovery && defaultsAuthorizer().rbacAllows(user, attrs).allowed) {
        bump(s.left, LEFT_DEFAULT);
        a.defaults = ownMap(a.defaults);
        grew(s, addKey(a.defaults, attrs, 'request', r, o.maxNames));
      } else grew(s, addKey(a.keys, attrs, 'request', r, o.maxNames));
    }
    // The bind and escalate checks of an RBAC write run after authorization, in the storage layer.
    const w = r.decision === 'forbid' ? null : rbacWrite(r);
    if (w && (w.outcome === 'passed' || (w.outcome === 'failed' && o.includeDenied))) {
      if (w.object === 'binding' && w.bind) addPermission(s, subject, w.bind, r, existing);
      else if (w.object === 'role' && w.rules !== null) addRoleWrite(s, subject, w.escalate!.attrs, w.rules, w.aggregation, w.aggregationMaybe, r);
      else noteUnchecked(s, subject, w.bodyMissing, r);
    }
  }
  // Impersonating needs `impersonate` on every identity asked for: the impersonator's own permissions,
  // granted whether or not the impersonated request was then allowed (the filter ran first).
  if (r.impersonator !== '' && o.group === undefined) {
    const imp = policySubjectFor(r.impersonator, o);
    if (imp) for (const c of impersonationChecks(r)) addPermission(s, imp, c, r, existing);
  }
  return already;
}

function addPermission(s: RbacGenState, subject: PolicySubject, c: AuthzCheck, r: AuditRecord, existing: Authorizer | null): void {
  const why = unwritable(c.attrs, subject);
  if (why) {
    bump(s.left, `${c.kind} check: ${why}`);
    return;
  }
  if (existing && existing.allows(c.user, c.attrs).allowed) return;
  const a = agg(s, subject);
  grew(s, addKey(a.keys, c.attrs, c.kind, r, s.opts.maxNames));
}

function addRoleWrite(s: RbacGenState, subject: PolicySubject, attrs: RequestAttributes, rules: PolicyRule[], aggregation: boolean, aggregationMaybe: boolean, r: AuditRecord): void {
  if (unwritable(attrs, subject)) return;
  const a = agg(s, subject);
  const scope = attrs.namespace;
  const key = JSON.stringify([scope, attrs.resource, attrs.name]);
  a.roleWrites = ownMap(a.roleWrites);
  let w = a.roleWrites.get(key);
  if (!w) grew(s, KEY_BYTES + strBytes(key));
  if (!w) a.roleWrites.set(key, (w = { scope, resource: attrs.resource as 'roles' | 'clusterroles', name: attrs.name, rules: new Map(), aggregation: false, aggregationMaybe: false, count: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', examples: [] }));
  w.count++;
  w.aggregation ||= aggregation;
  w.aggregationMaybe ||= aggregationMaybe;
  for (const rule of rules) {
    const rk = ruleKey(rule);
    if (!w.rules.has(rk)) grew(s, OBJECT_BYTES * 4 + strBytes(rk));
    w.rules.set(rk, rule);
  }
  widenSpan(w, r.timeMs, r.time);
  w.examples = addExample(w.examples, r);
}

function mergeKeys(into: Map<string, KeyAgg>, from: Map<string, KeyAgg>, maxNames: number): void {
  for (const [kk, kb] of from) {
    const ka = into.get(kk);
    if (!ka) {
      into.set(kk, kb);
      continue;
    }
    ka.count += kb.count;
    mergeSpan(ka, kb);
    ka.unnamed ||= kb.unnamed;
    if (ka.names && kb.names) {
      for (const n of kb.names) ka.names.add(n);
      if (!alwaysPinned(ka.kind) && ka.names.size > maxNames) ka.names = null;
    } else ka.names = null;
    ka.examples = earliest(ka.examples, kb.examples);
  }
}

/** Folds `sb` (later records) into `sa`, the same subject's earlier aggregate; returns `sa`. */
export function mergeSubject(sa: SubjectAgg, sb: SubjectAgg, maxNames: number): SubjectAgg {
  sa.requests += sb.requests;
  mergeKeys(sa.keys, sb.keys, maxNames);
  // An empty side takes the other's map as it is (what mergeKeys would copy into it entry by entry).
  if (sa.defaults.size === 0) sa.defaults = sb.defaults;
  else mergeKeys(sa.defaults, sb.defaults, maxNames);
  if (sa.roleWrites.size === 0) {
    sa.roleWrites = sb.roleWrites;
    return sa;
  }
  for (const [wk, wb] of sb.roleWrites) {
    const wa = sa.roleWrites.get(wk);
    if (!wa) {
      sa.roleWrites.set(wk, wb);
      continue;
    }
    wa.count += wb.count;
    wa.aggregation ||= wb.aggregation;
    wa.aggregationMaybe ||= wb.aggregationMaybe;
    for (const [rk, rule] of wb.rules) wa.rules.set(rk, rule);
    mergeSpan(wa, wb);
    wa.examples = earliest(wa.examples, wb.examples);
  }
  return sa;
}

export const rbacGen: Reducer<RbacGenState, RbacGenReport, RbacGenOptions> = {
  init(opts) {
    return { opts, subjects: newSpillMap(), left: new Map(), denied: newSpillMap(), unchecked: newSpillMap() };
  },

  add(s, r) {
    addRecord(s, r, null);
  },

  merge(a, b) {
    absorb(a.subjects, b.subjects, subjectSpec(a.opts.maxNames));
    for (const [why, n] of b.left) bump(a.left, why, n);
    absorb(a.denied, b.denied, deniedSpec);
    absorb(a.unchecked, b.unchecked, uncheckedSpec);
    return a;
  },

  finish(s, ctx: FinishContext) {
    return generate(s, ctx.input);
  },
};
