// `audit drift`: granted minus used, per subject. The reducer only aggregates the distinct
// authorization checks each identity went through (bounded by distinct keys, mergeable); judging
// them against the RBAC export happens once, in finish (evaluate.ts).
//
// Every check is kept with the groups it was authorized with: the API server judges each request
// with the groups that request carried (RBACAuthorizer.Authorize), never with a union over a user's
// requests. Checks come from src/rbac/request.ts: the request itself, its impersonation checks (the
// impersonator's), and the bind and escalate checks of RBAC writes that completed.
import type { AuditRecord, FinishContext, Loc, PolicyRule, Reducer, RequestAttributes, UserInfo } from '../../types.js';
import type { Authorizer } from '../../rbac/authorizer.js';
import { rbacGen, type RbacGenState } from '../rbacgen/index.js';
import { DEFAULT_GENERATE } from '../../rbac/generate.js';
import { impersonationChecks, rbacWrite, requestAttributes, userInfo, type CheckKind, type RbacWrite } from '../../rbac/request.js';
import { ruleKey } from '../../rbac/authorizer.js';
import { evaluate, type DriftReport } from './evaluate.js';
import { widenSpan, mergeSpan } from '../../util/span.js';
import { tupleKey } from '../../util/key.js';
import { absorb, grow, newSpillMap, specsByOption, type SpillMap } from '../../scale/spillmap.js';
import { ENTRY_BYTES, OBJECT_BYTES, strBytes } from '../../scale/budget.js';
import { USE_CODEC } from './codec.js';

export interface DriftOptions {
  authz: Authorizer;
  includeSystem: boolean;
  /** Keep only these subject kinds (User, ServiceAccount, Group); empty: all. */
  subjectKinds: string[];
  onlyDrift: boolean;
  /** Add rbac-gen's least-privilege replacement per drifted subject. */
  suggest: boolean;
  /** Distinct object names remembered per request key. */
  maxNames: number;
  /**
   * The identities asked about (--user, --serviceaccount, --actor: user-name globs, as
   * src/filter/index.ts globMatcher reads them); empty or absent: every subject. With a selection
   * only User and ServiceAccount subjects whose user name matches are reported: the other subjects
   * bound in the export would otherwise look dormant for want of the requests the filter left out,
   * and a group's use would be its selected members' only. The CLI then also keeps the requests the
   * selected identities made while impersonating, whose impersonate checks are their use (the
   * impersonator is authorized before the request runs: WithImpersonation in
   * k8s.io/apiserver/pkg/endpoints/filters/impersonation.go).
   */
  subjects?: string[];
}

/** One distinct check: attributes, the kind of check, and the groups it was judged with. */
export interface ReqKey {
  check: CheckKind;
  /** The groups of the identity for this check, sorted. */
  groups: string[];
  verb: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  nonResourceURL: string;
  count: number;
  denied: number;
  /** name → requests; beyond maxNames distinct names, requests are counted in `other` and judged as unnamed. */
  names: Map<string, number>;
  other: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  examples: [number, string][];
  /** Where the first request with this key was read (cited by SARIF). */
  firstAt?: Loc;
  /**
   * Escalate checks only: ruleKey → rule, every rule the role writes of this key carried. When no
   * grant allows `escalate`, the write passed because the writer held these rules
   * (ConfirmNoEscalation), so the grants that cover them were relied on.
   */
  written?: Map<string, PolicyRule>;
  /** Escalate checks only: a write set (or may have changed) an aggregationRule, which needs every permission without escalate. */
  fullAuthority?: boolean;
  /** Escalate checks only: role writes whose rules were not logged. */
  rulesUnknown?: number;
}

/** RBAC writes whose bind check could not be judged (the body was not logged or names no roleRef). */
export interface Unjudged {
  requests: number;
  reasons: Record<string, number>;
  examples: string[];
}

export interface SubjectUse {
  user: string;
  /** Every group this identity was seen with (for listing what it holds). */
  groups: Set<string>;
  /** Requests made as this identity. */
  requests: number;
  /** Other checks made for this identity (impersonation, bind, escalate). */
  checks: number;
  keys: Map<string, ReqKey>;
  unjudged: Unjudged;
}

export interface DriftState {
  opts: DriftOptions;
  /**
   * What each identity did, by user name: in memory up to the budget (--memory), then spilled as
   * runs sorted by user name and merged with mergeUse at the end (src/scale/spillmap.ts; issue 15).
   */
  users: SpillMap<SubjectUse>;
  fromMs: number;
  from: string;
  toMs: number;
  to: string;
  gen: RbacGenState | null;
}

function earliest(a: [number, string][], b: [number, string][]): [number, string][] {
  return [...a, ...b].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)).slice(0, 3);
}

/** Estimated heap bytes of a new identity (its maps and counters) beyond its name, and of a new check key beyond its strings. */
const USE_BYTES = 600;
const KEY_BYTES = 700;

/** Estimated heap bytes of an identity's usage and its name (the spilling map's size function). */
export function useBytes(user: string, u: SubjectUse): number {
  let n = USE_BYTES + ENTRY_BYTES + 2 * strBytes(user);
  for (const g of u.groups) n += ENTRY_BYTES + strBytes(g);
  for (const [key, k] of u.keys) {
    n += KEY_BYTES + ENTRY_BYTES + strBytes(key) + 2 * strBytes(k.first);
    for (const g of k.groups) n += 8 + strBytes(g);
    for (const name of k.names.keys()) n += ENTRY_BYTES + strBytes(name);
    for (const e of k.examples) n += OBJECT_BYTES + strBytes(e[1]);
    if (k.written) n += k.written.size * 4 * OBJECT_BYTES;
  }
  for (const why of Object.keys(u.unjudged.reasons)) n += 32 + strBytes(why);
  return n;
}

/** The spill spec of the users map, by maxNames (its merge caps names at maxNames). */
export const useSpec = specsByOption<SubjectUse>('drift', mergeUse, useBytes, USE_CODEC);

function use(s: DriftState, user: string): SubjectUse {
  let u = s.users.map.get(user);
  if (!u) {
    s.users.map.set(user, (u = { user, groups: new Set(), requests: 0, checks: 0, keys: new Map(), unjudged: { requests: 0, reasons: {}, examples: [] } }));
    grow(s.users, useSpec(s.opts.maxNames), USE_BYTES + ENTRY_BYTES + 2 * strBytes(user));
  }
  return u;
}

/**
 * Folds `ub` (later records) into `ua`, the same identity's earlier usage; returns `ua`. Names past
 * maxNames go to `other` as add() sends them there.
 */
export function mergeUse(ua: SubjectUse, ub: SubjectUse, maxNames: number): SubjectUse {
  ua.requests += ub.requests;
  ua.checks += ub.checks;
  for (const g of ub.groups) ua.groups.add(g);
  ua.unjudged.requests += ub.unjudged.requests;
  for (const [why, n] of Object.entries(ub.unjudged.reasons)) ua.unjudged.reasons[why] = (ua.unjudged.reasons[why] ?? 0) + n;
  ua.unjudged.examples = [...new Set([...ua.unjudged.examples, ...ub.unjudged.examples])].slice(0, 3);
  for (const [kk, kb] of ub.keys) {
    const ka = ua.keys.get(kk);
    if (!ka) {
      ua.keys.set(kk, kb);
      continue;
    }
    ka.count += kb.count;
    ka.denied += kb.denied;
    for (const [n, c] of kb.names) {
      if (ka.names.has(n) || ka.names.size < maxNames) ka.names.set(n, (ka.names.get(n) ?? 0) + c);
      else ka.other += c;
    }
    ka.other += kb.other;
    if (kb.written) {
      ka.written ??= new Map();
      for (const [rk, rule] of kb.written) ka.written.set(rk, rule);
    }
    if (kb.fullAuthority) ka.fullAuthority = true;
    if (kb.rulesUnknown) ka.rulesUnknown = (ka.rulesUnknown ?? 0) + kb.rulesUnknown;
    mergeSpan(ka, kb);
    ka.examples = earliest(ka.examples, kb.examples);
  }
  return ua;
}

function addCheck(s: DriftState, u: SubjectUse, check: CheckKind, who: UserInfo, a: RequestAttributes, r: AuditRecord, denied: boolean, write: RbacWrite | null = null): void {
  let grew = 0;
  for (const g of who.groups) {
    if (!u.groups.has(g)) grew += ENTRY_BYTES + strBytes(g);
    u.groups.add(g);
  }
  const groups = who.groups.length > 1 ? [...who.groups].sort() : (who.groups as string[]);
  const key = tupleKey([check, a.verb, a.apiGroup, a.resource, a.subresource, a.namespace, a.nonResourceURL, ...groups]);
  let k = u.keys.get(key);
  if (!k) {
    grew += KEY_BYTES + ENTRY_BYTES + strBytes(key) + 2 * strBytes(r.time);
    for (const g of groups) grew += 8 + strBytes(g);
    k = { check, groups, verb: a.verb, apiGroup: a.apiGroup, resource: a.resource, subresource: a.subresource, namespace: a.namespace, nonResourceURL: a.nonResourceURL, count: 0, denied: 0, names: new Map(), other: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', examples: [] };
    u.keys.set(key, k);
  }
  k.count++;
  if (denied) k.denied++;
  if (a.name !== '' && (k.names.has(a.name) || k.names.size < s.opts.maxNames)) {
    if (!k.names.has(a.name)) grew += ENTRY_BYTES + strBytes(a.name);
    k.names.set(a.name, (k.names.get(a.name) ?? 0) + 1);
  } else k.other++;
  widenSpan(k, r.timeMs, r.time, r.location);
  const t = r.timeMs;
  // The first example of a key needs no sort (earliest of [] and one pair is that pair).
  if (r.auditID && k.examples.length === 0) k.examples = [[t, r.auditID]];
  else if (r.auditID && (k.examples.length < 3 || t <= k.examples[2]![0])) k.examples = earliest(k.examples, [[t, r.auditID]]);
  if (write && write.object === 'role') {
    if (write.rules === null) k.rulesUnknown = (k.rulesUnknown ?? 0) + 1;
    else {
      k.written ??= new Map();
      for (const rule of write.rules) {
        const rk = ruleKey(rule);
        if (!k.written.has(rk)) grew += 4 * OBJECT_BYTES + strBytes(rk);
        k.written.set(rk, rule);
      }
    }
    if (write.aggregation || write.aggregationMaybe) k.fullAuthority = true;
  }
  if (grew) grow(s.users, useSpec(s.opts.maxNames), grew);
}

export const drift: Reducer<DriftState, DriftReport, DriftOptions> = {
  init(opts) {
    const gen = opts.suggest ? rbacGen.init({ ...DEFAULT_GENERATE, includeSystem: true, includeDiscovery: false, includeDenied: false, maxNames: 20 }) : null;
    return { opts, users: newSpillMap(), fromMs: Infinity, from: '', toMs: -Infinity, to: '', gen };
  },

  add(s, r: AuditRecord) {
    if (r.code === 401) return; // never authenticated: nothing RBAC could have allowed
    const t = r.timeMs;
    if (t < s.fromMs) [s.fromMs, s.from] = [t, r.time];
    if (t > s.toMs) [s.toMs, s.to] = [t, r.time];
    const who = userInfo(r);
    const u = use(s, r.subject);
    u.requests++;
    addCheck(s, u, 'request', who, requestAttributes(r), r, r.decision === 'forbid');
    // The impersonator was authorized for each identity it asked for before the request ran.
    const imp = impersonationChecks(r);
    if (imp.length) {
      const iu = use(s, r.impersonator);
      for (const c of imp) {
        iu.checks++;
        addCheck(s, iu, c.kind, c.user, c.attrs, r, false);
      }
    }
    // The storage layer's bind / escalate check, for RBAC writes that completed.
    const w = rbacWrite(r);
    if (w && w.outcome === 'passed') {
      const c = w.object === 'role' ? w.escalate : w.bind;
      if (c) {
        u.checks++;
        addCheck(s, u, c.kind, c.user, c.attrs, r, false, w);
      } else {
        u.unjudged.requests++;
        if (u.unjudged.reasons[w.bodyMissing] === undefined) grow(s.users, useSpec(s.opts.maxNames), 32 + strBytes(w.bodyMissing));
        u.unjudged.reasons[w.bodyMissing] = (u.unjudged.reasons[w.bodyMissing] ?? 0) + 1;
        if (r.auditID && u.unjudged.examples.length < 3 && !u.unjudged.examples.includes(r.auditID)) u.unjudged.examples.push(r.auditID);
      }
    }
    if (s.gen) rbacGen.add(s.gen, r);
  },

  merge(a, b) {
    if (b.fromMs < a.fromMs) [a.fromMs, a.from] = [b.fromMs, b.from];
    if (b.toMs > a.toMs) [a.toMs, a.to] = [b.toMs, b.to];
    absorb(a.users, b.users, useSpec(a.opts.maxNames));
    if (a.gen && b.gen) rbacGen.merge(a.gen, b.gen);
    return a;
  },

  finish(s, ctx: FinishContext) {
    return evaluate(s, ctx.input);
  },
};
