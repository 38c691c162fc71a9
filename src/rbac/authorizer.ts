// The one authorizer: allows(user, request) with Kubernetes' RBAC semantics over a loaded snapshot.
// Serves rbac-gen's self-check, drift and compliance. Bindings are indexed by subject and each
// user's effective grants are cached, so judging millions of requests stays cheap.
import type { AuthzDecision, BindingObject, Grant, PolicyRule, RbacSnapshot, RequestAttributes, RoleObject, UserInfo } from '../types.js';
import { ruleAllows, selectorMatches, subjectMatches } from './match.js';

/** One rule a user holds through one binding; `namespace` '' means cluster-wide (ClusterRoleBinding). */
export interface EffectiveGrant extends Grant {
  namespace: string;
  /** The binding subject that matched: `User alice`, `ServiceAccount ci/deployer`, `Group sre`. */
  via: string;
}

/** Groups every user of a kind holds; grants through them are shared by everyone, not one subject's own. */
export function isImplicitGroup(g: string): boolean {
  return g === 'system:authenticated' || g === 'system:unauthenticated' || g === 'system:serviceaccounts' || g.startsWith('system:serviceaccounts:');
}

function describeSubject(s: { kind: string; name: string; namespace?: string }, bindingNamespace: string): string {
  return s.kind === 'ServiceAccount' ? `ServiceAccount ${s.namespace || bindingNamespace}/${s.name}` : `${s.kind} ${s.name}`;
}

const SA_PREFIX = 'system:serviceaccount:';

/** Adds the groups the API server's authenticators add implicitly. */
export function withImplicitGroups(u: UserInfo): UserInfo {
  const groups = new Set(u.groups);
  if (u.user === 'system:anonymous') groups.add('system:unauthenticated');
  else groups.add('system:authenticated');
  if (u.user.startsWith(SA_PREFIX)) {
    const ns = u.user.slice(SA_PREFIX.length).split(':')[0];
    groups.add('system:serviceaccounts');
    if (ns) groups.add(`system:serviceaccounts:${ns}`);
  }
  return { user: u.user, groups: [...groups].sort() };
}

export const MASTERS_GRANT: EffectiveGrant = {
  binding: { kind: 'Group', name: 'system:masters', namespace: '' },
  role: { kind: 'built-in', name: 'system:masters (unconditional)', namespace: '' },
  rule: { verbs: ['*'], apiGroups: ['*'], resources: ['*'], nonResourceURLs: ['*'] },
  ruleIndex: 0,
  namespace: '',
  via: 'Group system:masters',
};

function ruleKey(r: PolicyRule): string {
  return JSON.stringify([r.verbs, r.apiGroups ?? null, r.resources ?? null, r.resourceNames ?? null, r.nonResourceURLs ?? null]);
}

function dedupe(rules: PolicyRule[]): PolicyRule[] {
  const seen = new Set<string>();
  const out: PolicyRule[] = [];
  for (const r of rules) {
    const k = ruleKey(r);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(r);
    }
  }
  return out;
}

/** Fills aggregated ClusterRoles from their selectors, to a fixpoint (aggregated roles may aggregate each other). */
export function resolveAggregation(clusterRoles: RoleObject[]): Map<string, PolicyRule[]> {
  const resolved = new Map<string, PolicyRule[]>();
  for (const r of clusterRoles) resolved.set(r.name, r.rules);
  const aggregated = clusterRoles.filter((r) => r.aggregationRule);
  for (let round = 0; round < 16; round++) {
    let changed = false;
    for (const a of aggregated) {
      const parts: PolicyRule[] = [...a.rules];
      for (const b of clusterRoles) {
        if (b.name === a.name) continue;
        if (a.aggregationRule!.clusterRoleSelectors.some((s) => selectorMatches(s, b.labels))) parts.push(...resolved.get(b.name)!);
      }
      const next = dedupe(parts);
      if (next.length !== resolved.get(a.name)!.length) {
        resolved.set(a.name, next);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return resolved;
}

export interface MissingRole {
  binding: BindingObject;
  message: string;
}

export class Authorizer {
  private readonly roleRules = new Map<string, PolicyRule[]>();
  private readonly byUser = new Map<string, BindingObject[]>();
  private readonly byGroup = new Map<string, BindingObject[]>();
  /** ServiceAccount subjects with no namespace on ClusterRoleBindings match nobody; on RoleBindings they are indexed under the binding's namespace. */
  private readonly cache = new Map<string, EffectiveGrant[]>();
  readonly missing: MissingRole[] = [];

  constructor(readonly snapshot: RbacSnapshot) {
    const clusterRoles = snapshot.roles.filter((r) => r.kind === 'ClusterRole');
    for (const [name, rules] of resolveAggregation(clusterRoles)) this.roleRules.set(`ClusterRole//${name}`, rules);
    for (const r of snapshot.roles) if (r.kind === 'Role') this.roleRules.set(`Role/${r.namespace}/${r.name}`, r.rules);
    for (const b of snapshot.bindings) {
      if (!this.roleRules.has(this.roleKey(b))) {
        const where = b.namespace ? `${b.namespace}/${b.name}` : b.name;
        this.missing.push({ binding: b, message: `${b.kind} ${where} refers to ${b.roleRef.kind} ${b.roleRef.name}, which is not in the export` });
      }
      for (const s of b.subjects) {
        if (s.kind === 'Group') push(this.byGroup, s.name, b);
        else if (s.kind === 'User') push(this.byUser, s.name, b);
        else {
          const ns = s.namespace || b.namespace;
          if (ns) push(this.byUser, `${SA_PREFIX}${ns}:${s.name}`, b);
        }
      }
    }
  }

  private roleKey(b: BindingObject): string {
    return b.roleRef.kind === 'ClusterRole' ? `ClusterRole//${b.roleRef.name}` : `Role/${b.namespace}/${b.roleRef.name}`;
  }

  /** Resolved rules of a role (aggregation applied); undefined when the role is missing. */
  rulesOf(kind: 'Role' | 'ClusterRole', namespace: string, name: string): PolicyRule[] | undefined {
    return this.roleRules.get(kind === 'ClusterRole' ? `ClusterRole//${name}` : `Role/${namespace}/${name}`);
  }

  /** Every rule the user holds, with the binding and role it comes from. Implicit groups are added. */
  grantsOf(u: UserInfo): EffectiveGrant[] {
    const full = withImplicitGroups(u);
    const key = `${full.user}\u0000${full.groups.join('\u0000')}`;
    let grants = this.cache.get(key);
    if (grants) return grants;
    const bindings = new Set<BindingObject>(this.byUser.get(full.user) ?? []);
    for (const g of full.groups) for (const b of this.byGroup.get(g) ?? []) bindings.add(b);
    grants = [];
    // ClusterRoleBindings first, then RoleBindings, as the RBAC authorizer visits them.
    const ordered = [...bindings].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'ClusterRoleBinding' ? -1 : 1));
    for (const b of ordered) {
      // Prefer a direct subject (User, ServiceAccount) over a group to say how the user holds it.
      const matching = b.subjects.filter((s) => subjectMatches(s, full.user, full.groups, b.namespace));
      if (matching.length === 0) continue;
      const rules = this.roleRules.get(this.roleKey(b));
      if (!rules) continue;
      const direct = matching.find((s) => s.kind !== 'Group') ?? matching.find((s) => !isImplicitGroup(s.name)) ?? matching[0]!;
      const via = describeSubject(direct, b.namespace);
      const role = { kind: b.roleRef.kind, name: b.roleRef.name, namespace: b.roleRef.kind === 'Role' ? b.namespace : '' };
      const binding = { kind: b.kind, name: b.name, namespace: b.namespace };
      rules.forEach((rule, ruleIndex) => grants!.push({ binding, role, rule, ruleIndex, namespace: b.namespace, via }));
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, grants);
    return grants;
  }

  /** The first grant that allows the request, as the RBAC authorizer stops at the first allow. */
  allows(u: UserInfo, req: RequestAttributes): AuthzDecision {
    if (u.groups.includes('system:masters')) return { allowed: true, by: [MASTERS_GRANT] };
    for (const g of this.grantsOf(u)) {
      if (grantApplies(g, req)) return { allowed: true, by: [g] };
    }
    return { allowed: false, by: [] };
  }

  /** Every grant that allows the request (drift counts each as used). */
  allowsAll(u: UserInfo, req: RequestAttributes): EffectiveGrant[] {
    const out: EffectiveGrant[] = u.groups.includes('system:masters') ? [MASTERS_GRANT] : [];
    for (const g of this.grantsOf(u)) if (grantApplies(g, req)) out.push(g);
    return out;
  }
}

/** A RoleBinding's rules apply only inside its namespace; a ClusterRoleBinding's everywhere. */
export function grantApplies(g: EffectiveGrant, req: RequestAttributes): boolean {
  if (g.namespace !== '' && g.namespace !== req.namespace) return false;
  return ruleAllows(req, g.rule);
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}
