// `audit drift`: granted minus used, per subject. The reducer only aggregates the distinct requests
// each subject made (bounded by distinct keys, mergeable); judging them against the RBAC export
// happens once, in finish (evaluate.ts).
import type { AuditRecord, FinishContext, Loc, Reducer } from '../../types.js';
import type { Authorizer } from '../../rbac/authorizer.js';
import { rbacGen, type RbacGenState } from '../rbacgen/index.js';
import { DEFAULT_GENERATE } from '../../rbac/generate.js';
import { evaluate, type DriftReport } from './evaluate.js';
import { widenSpan, mergeSpan } from '../../util/span.js';

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
}

export interface ReqKey {
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
}

export interface SubjectUse {
  user: string;
  groups: Set<string>;
  requests: number;
  keys: Map<string, ReqKey>;
}

export interface DriftState {
  opts: DriftOptions;
  users: Map<string, SubjectUse>;
  fromMs: number;
  from: string;
  toMs: number;
  to: string;
  gen: RbacGenState | null;
}

function earliest(a: [number, string][], b: [number, string][]): [number, string][] {
  return [...a, ...b].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0)).slice(0, 3);
}

export const drift: Reducer<DriftState, DriftReport, DriftOptions> = {
  init(opts) {
    const gen = opts.suggest
      ? rbacGen.init({ ...DEFAULT_GENERATE, includeSystem: true, includeDiscovery: false, excludeDenied: true, maxNames: 20 })
      : null;
    return { opts, users: new Map(), fromMs: Infinity, from: '', toMs: -Infinity, to: '', gen };
  },

  add(s, r: AuditRecord) {
    if (r.code === 401) return; // never authenticated: nothing RBAC could have allowed
    const t = r.timeMs;
    if (t < s.fromMs) [s.fromMs, s.from] = [t, r.time];
    if (t > s.toMs) [s.toMs, s.to] = [t, r.time];
    let u = s.users.get(r.subject);
    if (!u) s.users.set(r.subject, (u = { user: r.subject, groups: new Set(), requests: 0, keys: new Map() }));
    u.requests++;
    for (const g of r.groups) u.groups.add(g);
    const key = `${r.verb}\u0000${r.apiGroup}\u0000${r.resource}\u0000${r.subresource}\u0000${r.namespace}\u0000${r.nonResourceURL}`;
    let k = u.keys.get(key);
    if (!k) {
      k = { verb: r.verb, apiGroup: r.apiGroup, resource: r.resource, subresource: r.subresource, namespace: r.namespace, nonResourceURL: r.resource ? '' : r.nonResourceURL, count: 0, denied: 0, names: new Map(), other: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', examples: [] };
      u.keys.set(key, k);
    }
    k.count++;
    if (r.decision === 'forbid') k.denied++;
    if (r.name !== '' && (k.names.has(r.name) || k.names.size < s.opts.maxNames)) k.names.set(r.name, (k.names.get(r.name) ?? 0) + 1);
    else k.other++;
    widenSpan(k, t, r.time, r.location);
    if (r.auditID && (k.examples.length < 3 || t <= k.examples[2]![0])) k.examples = earliest(k.examples, [[t, r.auditID]]);
    if (s.gen) rbacGen.add(s.gen, r);
  },

  merge(a, b) {
    if (b.fromMs < a.fromMs) [a.fromMs, a.from] = [b.fromMs, b.from];
    if (b.toMs > a.toMs) [a.toMs, a.to] = [b.toMs, b.to];
    for (const [name, ub] of b.users) {
      const ua = a.users.get(name);
      if (!ua) {
        a.users.set(name, ub);
        continue;
      }
      ua.requests += ub.requests;
      for (const g of ub.groups) ua.groups.add(g);
      for (const [kk, kb] of ub.keys) {
        const ka = ua.keys.get(kk);
        if (!ka) {
          ua.keys.set(kk, kb);
          continue;
        }
        ka.count += kb.count;
        ka.denied += kb.denied;
        for (const [n, c] of kb.names) {
          if (ka.names.has(n) || ka.names.size < a.opts.maxNames) ka.names.set(n, (ka.names.get(n) ?? 0) + c);
          else ka.other += c;
        }
        ka.other += kb.other;
        mergeSpan(ka, kb);
        ka.examples = earliest(ka.examples, kb.examples);
      }
    }
    if (a.gen && b.gen) rbacGen.merge(a.gen, b.gen);
    return a;
  },

  finish(s, ctx: FinishContext) {
    return evaluate(s, ctx.input);
  },
};
