// The one authorizer: allows(user, request) with Kubernetes' RBAC semantics over a loaded snapshot.
// Serves rbac-gen (its --existing check, its defaults and its self-check), drift and compliance.
// Bindings are indexed by subject and each identity's effective grants are cached, so judging
// millions of requests stays cheap.
//
// Upstream: RBACAuthorizer.Authorize and RuleAllows (plugin/pkg/auth/authorizer/rbac/rbac.go),
// DefaultRuleResolver.VisitRulesFor, appliesTo and appliesToUser (pkg/registry/rbac/validation/rule.go),
// the privileged-group authorizer for system:masters (which runs before RBAC), and the ClusterRole
// aggregation controller (pkg/controller/clusterroleaggregation, syncClusterRole).
import type { AuthzDecision, BindingObject, Grant, PolicyRule, RbacSnapshot, RequestAttributes, RoleObject, UserInfo } from '../types.js';
import { ruleAllows, selectorError, selectorMatches, subjectMatches } from './match.js';
import { tupleKey } from '../util/key.js';

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

/**
 * The groups the API server's authenticators give an identity: system:authenticated to every
 * authenticated user (AuthenticatedGroupAdder), system:unauthenticated to system:anonymous, and
 * system:serviceaccounts plus system:serviceaccounts:NS to a service account (its token authenticator,
 * serviceaccount.MakeGroupNames). Used only when the groups were not recorded (`groups` is empty):
 * a recorded list is what the authorizer saw and is used exactly as it is.
 */
export function withImplicitGroups(u: UserInfo): UserInfo {
  if (u.groups.length > 0) return u;
  const groups = new Set<string>();
  if (u.user === 'system:anonymous') groups.add('system:unauthenticated');
  else groups.add('system:authenticated');
  if (u.user.startsWith(SA_PREFIX)) {
    const rest = u.user.slice(SA_PREFIX.length).split(':');
    if (rest.length === 2 && rest[0] && rest[1]) {
      groups.add('system:serviceaccounts');
      groups.add(`system:serviceaccounts:${rest[0]}`);
    }
  }
  return { user: u.user, groups: [...groups].sort() };
}

/** system:masters is authorized by its own authorizer before RBAC runs: everything is allowed. */
export const MASTERS_GRANT: EffectiveGrant = {
  binding: { kind: 'Group', name: 'system:masters', namespace: '' },
  role: { kind: 'built-in', name: 'system:masters (unconditional)', namespace: '' },
  rule: { verbs: ['*'], apiGroups: ['*'], resources: ['*'], nonResourceURLs: ['*'] },
  ruleIndex: 0,
  namespace: '',
  via: 'Group system:masters',
};

function list(x: string[] | undefined): string[] | null {
  return x && x.length ? x : null;
}

/** Equality of rules as equality.Semantic.DeepEqual sees it (an empty list equals an absent one). */
export function ruleKey(r: PolicyRule): string {
  return JSON.stringify([list(r.verbs), list(r.apiGroups), list(r.resources), list(r.resourceNames), list(r.nonResourceURLs)]);
}

export interface Aggregation {
  /** ClusterRole name → its rules after aggregation. */
  rules: Map<string, PolicyRule[]>;
  warnings: string[];
}

/**
 * What the ClusterRole aggregation controller makes of the ClusterRoles (syncClusterRole): a role
 * with an aggregationRule gets exactly the union of the rules of the roles its selectors match, in
 * selector order, each selector's roles sorted by name, itself skipped, duplicates dropped; its own
 * rules are replaced. Aggregated roles that select each other are resolved to a fixpoint. A
 * selector the controller cannot parse leaves the role's stored rules as they are (with a warning).
 */
export function resolveAggregation(clusterRoles: RoleObject[]): Aggregation {
  const rules = new Map<string, PolicyRule[]>();
  const warnings: string[] = [];
  for (const r of clusterRoles) rules.set(r.name, r.rules);
  const byName = [...clusterRoles].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const aggregated = byName.filter((r) => r.aggregationRule);
  const valid = aggregated.filter((a) => {
    const bad = a.aggregationRule!.clusterRoleSelectors.map(selectorError).find((e) => e !== null);
    if (bad) warnings.push(`ClusterRole ${a.name}: aggregationRule selector is invalid (${bad}); the aggregation controller leaves its rules as they are`);
    return !bad;
  });
  let settled = false;
  for (let round = 0; round <= valid.length + 1 && !settled; round++) {
    settled = true;
    for (const a of valid) {
      const next: PolicyRule[] = [];
      const seen = new Set<string>();
      for (const sel of a.aggregationRule!.clusterRoleSelectors) {
        for (const b of byName) {
          if (b.name === a.name || !selectorMatches(sel, b.labels)) continue;
          for (const rule of rules.get(b.name)!) {
            const k = ruleKey(rule);
            if (!seen.has(k)) {
              seen.add(k);
              next.push(rule);
            }
          }
        }
      }
      const cur = rules.get(a.name)!;
      if (cur.length !== next.length || cur.some((r, i) => ruleKey(r) !== ruleKey(next[i]!))) {
        rules.set(a.name, next);
        settled = false;
      }
    }
  }
  if (!settled) warnings.push('aggregated ClusterRoles select each other in a cycle that does not settle; their rules are those of the last round');
  for (const a of valid) {
    const stored = a.rules;
    const computed = rules.get(a.name)!;
    if (stored.length > 0 && (stored.length !== computed.length || stored.some((r, i) => ruleKey(r) !== ruleKey(computed[i]!)))) {
      warnings.push(`ClusterRole ${a.name} is aggregated: its rules are the union of the roles its selectors match (${computed.length} rules), not the ${stored.length} rules written in the export`);
    }
  }
  return { rules, warnings };
}

export interface MissingRole {
  binding: BindingObject;
  message: string;
}

export class Authorizer {
  private readonly roleRules = new Map<string, PolicyRule[]>();
  private readonly byUser = new Map<string, BindingObject[]>();
  private readonly byGroup = new Map<string, BindingObject[]>();
  private readonly cache = new Map<string, EffectiveGrant[]>();
  readonly missing: MissingRole[] = [];
  /** What resolving the export found worth saying (aggregation). */
  readonly warnings: string[];

  constructor(readonly snapshot: RbacSnapshot) {
    const clusterRoles = snapshot.roles.filter((r) => r.kind === 'ClusterRole');
    const agg = resolveAggregation(clusterRoles);
    this.warnings = agg.warnings;
    for (const [name, rules] of agg.rules) this.roleRules.set(`ClusterRole//${name}`, rules);
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
          // appliesToUser: a ServiceAccount subject without a namespace takes the binding's; on a
          // ClusterRoleBinding it has none and matches nobody.
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

  /**
   * Every rule the identity holds, with the binding and role it comes from (ClusterRoleBindings
   * first, as VisitRulesFor visits them). `groups` are used as given; when empty, the groups the
   * authenticators add are assumed (withImplicitGroups).
   */
  grantsOf(u: UserInfo): EffectiveGrant[] {
    const full = withImplicitGroups(u);
    const direct = this.byUser.get(full.user);
    // A user no binding names holds exactly what its groups hold (every binding found through a
    // group matches it only by group, and `via` names a group): such users share one cache entry
    // per list of groups, so a million distinct users with a few group lists cost a few entries.
    const key = direct ? `U${tupleKey([full.user, ...full.groups])}` : `G${tupleKey(full.groups)}`;
    let grants = this.cache.get(key);
    if (grants) return grants;
    const bindings = new Set<BindingObject>(direct ?? []);
    for (const g of full.groups) for (const b of this.byGroup.get(g) ?? []) bindings.add(b);
    grants = [];
    const ordered = [...bindings].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'ClusterRoleBinding' ? -1 : 1));
    for (const b of ordered) {
      const matching = b.subjects.filter((s) => subjectMatches(s, full.user, full.groups, b.namespace));
      if (matching.length === 0) continue;
      const rules = this.roleRules.get(this.roleKey(b));
      if (!rules) continue;
      // Prefer a direct subject (User, ServiceAccount) over a group to say how the user holds it.
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

  /**
   * The RBAC decision for one request (RBACAuthorizer.Authorize): allowed by the first grant that
   * allows it; system:masters first, as the privileged-group authorizer answers before RBAC.
   */
  allows(u: UserInfo, req: RequestAttributes): AuthzDecision {
    const full = withImplicitGroups(u);
    if (full.groups.includes('system:masters')) return { allowed: true, by: [MASTERS_GRANT] };
    return this.rbacAllows(full, req);
  }

  /** The RBAC authorizer alone, without the system:masters shortcut: what these bindings grant. */
  rbacAllows(u: UserInfo, req: RequestAttributes): AuthzDecision {
    for (const g of this.grantsOf(u)) {
      if (grantApplies(g, req)) return { allowed: true, by: [g] };
    }
    return { allowed: false, by: [] };
  }

  /** Every grant that allows the request (drift counts each as used). */
  allowsAll(u: UserInfo, req: RequestAttributes): EffectiveGrant[] {
    const full = withImplicitGroups(u);
    const out: EffectiveGrant[] = full.groups.includes('system:masters') ? [MASTERS_GRANT] : [];
    for (const g of this.grantsOf(full)) if (grantApplies(g, req)) out.push(g);
    return out;
  }

  /**
   * The rules the identity holds in a namespace ('' = cluster-wide only): RulesFor as
   * ConfirmNoEscalation asks it (ClusterRoleBindings, then RoleBindings of that namespace).
   */
  rulesFor(u: UserInfo, namespace: string): PolicyRule[] {
    return this.grantsOf(u)
      .filter((g) => g.namespace === '' || g.namespace === namespace)
      .map((g) => g.rule);
  }
}

/** A RoleBinding's rules apply only inside its namespace; a ClusterRoleBinding's everywhere. */
export function grantApplies(g: EffectiveGrant, req: RequestAttributes): boolean {
  if (g.namespace !== '' && g.namespace !== req.namespace) return false;
  return ruleAllows(req, g.rule);
}

/** A snapshot holding the objects of several (generated policy, defaults, an export). */
export function mergeSnapshots(...snaps: RbacSnapshot[]): RbacSnapshot {
  return {
    roles: snaps.flatMap((s) => s.roles),
    bindings: snaps.flatMap((s) => s.bindings),
    ignored: {},
    warnings: snaps.flatMap((s) => s.warnings),
    files: snaps.flatMap((s) => s.files),
  };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}
