// `audit rbac-gen`: least-privilege RBAC from what each subject did. A pure reducer: requests are
// aggregated into sets keyed by (scope, apiGroup, resource, verb) — never compared pairwise — and
// compacted into rules at the end (src/rbac/generate.ts).
import type { AuditRecord, FinishContext, Reducer } from '../../types.js';
import { isClusterScoped } from '../../rules/scope.js';
import { isPublicURL, SELF_REVIEWS } from '../../rules/everyone.js';
import { classifySubject } from '../../normalize/subject.js';
import { isControlPlaneServiceAccount } from '../../rules/identities.js';
import { generate, type GenerateOptions, type RbacGenReport } from '../../rbac/generate.js';
import { widenSpan, mergeSpan } from '../../util/span.js';

export interface PolicySubject {
  kind: 'User' | 'ServiceAccount' | 'Group';
  name: string;
  namespace: string;
}

export interface RbacGenOptions extends GenerateOptions {
  /** One policy for this group (from --group) instead of one per user. */
  group?: string;
  includeSystem: boolean;
  includeDiscovery: boolean;
  excludeDenied: boolean;
  /** Names kept per key for --resource-names; beyond this the rule is not pinned. */
  maxNames: number;
  /** When set (--user, --serviceaccount), only these usernames get a policy. */
  select?: (username: string) => boolean;
}

/** One distinct permission observed. */
export interface KeyAgg {
  /** Namespace, or '' for cluster-wide (cluster-scoped resources, all-namespace lists, non-resource URLs). */
  scope: string;
  apiGroup: string;
  resource: string;
  subresource: string;
  nonResourceURL: string;
  verb: string;
  count: number;
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  /** Distinct names requested; null once there were more than maxNames. */
  names: Set<string> | null;
  /** True when some request had no name (a list, a create). */
  unnamed: boolean;
  /** The two earliest auditIDs, as [timeMs, id]. */
  examples: [number, string][];
}

export interface SubjectAgg {
  subject: PolicySubject;
  requests: number;
  keys: Map<string, KeyAgg>;
}

export interface RbacGenState {
  opts: RbacGenOptions;
  subjects: Map<string, SubjectAgg>;
  /** Requests seen but not turned into permissions, by reason. */
  left: Record<string, number>;
}

export function subjectKey(s: PolicySubject): string {
  return `${s.kind}\u0000${s.namespace}\u0000${s.name}`;
}

function policySubjectFor(user: string, opts: RbacGenOptions): PolicySubject | null {
  if (opts.select && !opts.select(user)) return null;
  const c = classifySubject(user);
  if (c.kind === 'ServiceAccount') {
    if (isControlPlaneServiceAccount(c.namespace, c.name) && !opts.includeSystem) return null;
    return { kind: 'ServiceAccount', name: c.name, namespace: c.namespace };
  }
  if (c.kind === 'User' || opts.includeSystem) return { kind: 'User', name: user, namespace: '' };
  return null;
}

function bumpLeft(s: RbacGenState, why: string): void {
  s.left[why] = (s.left[why] ?? 0) + 1;
}

function earliest(a: [number, string][], b: [number, string][]): [number, string][] {
  return [...a, ...b].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)).filter((e, i, all) => i === 0 || e[1] !== all[i - 1]![1]).slice(0, 2);
}

function addKey(agg: SubjectAgg, k: Omit<KeyAgg, 'count' | 'firstMs' | 'first' | 'lastMs' | 'last' | 'names' | 'unnamed' | 'examples'>, name: string, r: AuditRecord, maxNames: number): void {
  const key = `${k.scope}\u0000${k.apiGroup}\u0000${k.resource}\u0000${k.subresource}\u0000${k.nonResourceURL}\u0000${k.verb}`;
  let a = agg.keys.get(key);
  const t = Number.isFinite(r.timeMs) ? r.timeMs : Infinity;
  if (!a) {
    a = { ...k, count: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', names: new Set(), unnamed: false, examples: [] };
    agg.keys.set(key, a);
  }
  a.count++;
  widenSpan(a, r.timeMs, r.time);
  if (name === '') a.unnamed = true;
  else if (a.names) {
    a.names.add(name);
    if (a.names.size > maxNames) a.names = null;
  }
  if (r.auditID && (a.examples.length < 2 || t <= a.examples[1]![0])) a.examples = earliest(a.examples, [[t, r.auditID]]);
}

function addRequest(a: SubjectAgg, r: AuditRecord, o: RbacGenOptions): void {
  if (r.resource === '') {
    addKey(a, { scope: '', apiGroup: '', resource: '', subresource: '', nonResourceURL: r.nonResourceURL, verb: r.verb }, '', r, o.maxNames);
  } else {
    const scope = r.namespace !== '' && !isClusterScoped(r.apiGroup, r.resource) ? r.namespace : '';
    addKey(a, { scope, apiGroup: r.apiGroup, resource: r.resource, subresource: r.subresource, nonResourceURL: '', verb: r.verb }, r.name, r, o.maxNames);
  }
}

function agg(s: RbacGenState, subject: PolicySubject): SubjectAgg {
  const k = subjectKey(subject);
  let a = s.subjects.get(k);
  if (!a) s.subjects.set(k, (a = { subject, requests: 0, keys: new Map() }));
  return a;
}

export const rbacGen: Reducer<RbacGenState, RbacGenReport, RbacGenOptions> = {
  init(opts) {
    return { opts, subjects: new Map(), left: {} };
  },

  add(s, r) {
    const o = s.opts;
    // No identity was established (failed authentication: `"user":{}`): nothing to grant to anyone.
    if (r.code === 401) return bumpLeft(s, 'unauthenticated (401)');
    if (r.subjectKind === 'Unauthenticated') return bumpLeft(s, 'unauthenticated (no user)');
    if (o.excludeDenied && r.decision === 'forbid') return bumpLeft(s, 'denied (--exclude-denied)');
    if (!o.includeDiscovery && (r.resource === '' ? isPublicURL(r.nonResourceURL) : SELF_REVIEWS.has(`${r.apiGroup}/${r.resource}`))) {
      return bumpLeft(s, 'granted to everyone (discovery, health, self reviews)');
    }
    const subject: PolicySubject | null = o.group !== undefined ? { kind: 'Group', name: o.group, namespace: '' } : policySubjectFor(r.subject, o);
    if (subject) {
      const a = agg(s, subject);
      a.requests++;
      addRequest(a, r, o);
    } else if (o.select && !o.select(r.subject)) {
      if (r.impersonator === '') bumpLeft(s, 'not a selected subject');
    } else bumpLeft(s, 'system component (--include-system)');
    // Impersonating someone needs the `impersonate` verb on them: grant it to the impersonator.
    if (r.impersonator !== '' && o.group === undefined) {
      const imp = policySubjectFor(r.impersonator, o);
      if (imp) {
        const ia = agg(s, imp);
        ia.requests++;
        if (r.subjectKind === 'ServiceAccount') {
          addKey(ia, { scope: r.subjectNamespace, apiGroup: '', resource: 'serviceaccounts', subresource: '', nonResourceURL: '', verb: 'impersonate' }, r.subjectName, r, o.maxNames);
        } else {
          addKey(ia, { scope: '', apiGroup: '', resource: 'users', subresource: '', nonResourceURL: '', verb: 'impersonate' }, r.subject, r, o.maxNames);
        }
      }
    }
  },

  merge(a, b) {
    for (const [k, sb] of b.subjects) {
      const sa = a.subjects.get(k);
      if (!sa) {
        a.subjects.set(k, sb);
        continue;
      }
      sa.requests += sb.requests;
      for (const [kk, kb] of sb.keys) {
        const ka = sa.keys.get(kk);
        if (!ka) {
          sa.keys.set(kk, kb);
          continue;
        }
        ka.count += kb.count;
        mergeSpan(ka, kb);
        ka.unnamed ||= kb.unnamed;
        if (ka.names && kb.names) {
          for (const n of kb.names) ka.names.add(n);
          if (ka.names.size > a.opts.maxNames) ka.names = null;
        } else ka.names = null;
        ka.examples = earliest(ka.examples, kb.examples);
      }
    }
    for (const [why, n] of Object.entries(b.left)) a.left[why] = (a.left[why] ?? 0) + n;
    return a;
  },

  finish(s, ctx: FinishContext) {
    return generate([...s.subjects.values()], s.left, s.opts, ctx.input);
  },
};
