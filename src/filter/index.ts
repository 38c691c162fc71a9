// The filters every command shares. Options are validated and compiled once into a predicate;
// the per-record path only calls prebuilt checks.
import type { AuditRecord, SubjectKind } from '../types.js';
import { UsageError } from '../util/errors.js';
import { parseTimeMs } from '../normalize/time.js';
import { BlockList, isIP } from 'node:net';
import { compileGlob, isGlob } from '../util/glob.js';
import { resolveResource, resolveVerbs, type ResourceSpec } from './resolve.js';

export type { ResourceSpec };

export interface FilterOptions {
  user?: string[];
  group?: string[];
  verb?: string[];
  resource?: string[];
  namespace?: string[];
  name?: string[];
  since?: string;
  until?: string;
  status?: string[];
  denied?: boolean;
  cluster?: string[];
  /** `--impersonator NAME`: the real user behind an impersonated request (exact or glob). */
  impersonator?: string[];
  /** `--actor NAME`: the subject or the impersonator (exact or glob). */
  actor?: string[];
  /** `--serviceaccount NS:NAME`: the subject `system:serviceaccount:NS:NAME`; alternatives to --user. */
  serviceaccount?: string[];
  /** `-A`/`--all-namespaces`: every namespace, the default said out loud; cannot be combined with --namespace. */
  allNamespaces?: boolean;
  /** --user also matches the real user behind an impersonated request (rbac-gen: the impersonator needs `impersonate`). */
  userMatchesImpersonator?: boolean;
  // investigate's extra filters
  sourceIP?: string[];
  userAgent?: string[];
  client?: string[];
  accessMethod?: string[];
  auditID?: string[];
  impersonated?: boolean;
  subresource?: string[];
  apiGroup?: string[];
  code?: string[];
  /** Subject kinds (SubjectKind): User, ServiceAccount, Node, Anonymous, System, Unauthenticated. */
  subjectKinds?: string[];
}

export type Predicate = (r: AuditRecord) => boolean;

/** Splits repeated and comma-separated flag values: `--verb get,list --verb watch`. */
export function listOf(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

/** Shell-style glob (`*`, `?`), matched in linear time (src/util/glob.ts); plain strings stay exact matches. */
export function globMatcher(patterns: string[]): (s: string) => boolean {
  const exact = new Set<string>();
  const globs: ((s: string) => boolean)[] = [];
  for (const p of patterns) {
    if (!isGlob(p)) exact.add(p);
    else globs.push(compileGlob(p));
  }
  if (globs.length === 0) return (s) => exact.has(s);
  return (s) => {
    if (exact.has(s)) return true;
    for (const g of globs) if (g(s)) return true;
    return false;
  };
}

/**
 * The literal split of `pods`, `pods/log`, `deployments.apps`, `deployments.apps/scale`, `*`/`scale`,
 * without resolving names; the filters use resolveResource (src/filter/resolve.ts), which also
 * knows singular names, Kinds and short names.
 */
export function parseResourceSpec(spec: string): ResourceSpec {
  const slash = spec.indexOf('/');
  const head = slash < 0 ? spec : spec.slice(0, slash);
  const sub = slash < 0 ? undefined : spec.slice(slash + 1);
  const dot = head.indexOf('.');
  return {
    resource: dot < 0 ? head : head.slice(0, dot),
    group: dot < 0 ? undefined : head.slice(dot + 1),
    subresource: sub,
  };
}

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** RFC 3339, a date, or a duration before `now` (`24h`, `7d`). */
export function parseTimeArg(flag: string, value: string, now: number): number {
  const d = DURATION.exec(value.trim());
  if (d) return now - Number(d[1]) * UNIT_MS[d[2]!]!;
  const t = parseTimeMs(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(t)) {
    throw new UsageError(`${flag}: ${JSON.stringify(value)} is not a time`, `use RFC 3339 (2024-05-01T10:00:00Z), a date (2024-05-01) or a duration before now (30m, 24h, 7d)`);
  }
  return t;
}

/** `403`, `4xx`, `2xx,5xx`. */
function statusMatcher(values: string[]): (code: number) => boolean {
  const codes = new Set<number>();
  const classes = new Set<number>();
  for (const v of values) {
    if (/^[1-5]xx$/i.test(v)) classes.add(Number(v[0]));
    else if (/^\d{3}$/.test(v)) codes.add(Number(v));
    else throw new UsageError(`--status: ${JSON.stringify(v)} is not a status`, 'use a code (403) or a class (4xx), comma-separated');
  }
  return (c) => codes.has(c) || classes.has(Math.floor(c / 100));
}

const ACCESS_METHODS = ['kubectl', 'browser', 'controller', 'automation', 'other'];
const SUBJECT_KINDS: readonly SubjectKind[] = ['User', 'ServiceAccount', 'Node', 'Anonymous', 'System', 'Unauthenticated'];

/** Addresses and CIDR blocks (IPv4 and IPv6), matched with Node's BlockList. */
export function ipMatcher(specs: string[]): (ip: string) => boolean {
  const list = new BlockList();
  const exact = new Set<string>();
  for (const spec of specs) {
    const [addr, bits] = spec.split('/');
    const family = isIP(addr ?? '');
    if (family === 0 || (bits !== undefined && !/^\d+$/.test(bits))) throw new UsageError(`--source-ip: ${JSON.stringify(spec)} is not an address or CIDR block`, 'use 10.0.0.7, 10.0.0.0/8 or 2001:db8::/32');
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(addr!, type);
      exact.add(addr!);
    } else {
      const n = Number(bits);
      if (n > (family === 4 ? 32 : 128)) throw new UsageError(`--source-ip: prefix /${bits} is too long`, family === 4 ? 'IPv4 prefixes go up to /32' : 'IPv6 prefixes go up to /128');
      list.addSubnet(addr!, n, type);
    }
  }
  return (ip) => {
    if (exact.has(ip)) return true;
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** `ci:deployer` → `system:serviceaccount:ci:deployer`; a usage error for anything that is not NAMESPACE:NAME. */
export function serviceAccountUser(spec: string): string {
  const m = /^([^:\s]+):([^:\s]+)$/.exec(spec);
  if (!m) throw new UsageError(`--serviceaccount: "${spec}" is not NAMESPACE:NAME`, `give the namespace too: --serviceaccount NAMESPACE:${spec.includes(':') ? 'NAME' : spec || 'NAME'} (for example ci:deployer)`);
  return `system:serviceaccount:${m[1]}:${m[2]}`;
}

/** The subject patterns of --user and --serviceaccount together: alternatives, any of which may match. */
export function subjectPatterns(o: Pick<FilterOptions, 'user' | 'serviceaccount'>): string[] {
  return [...listOf(o.user), ...listOf(o.serviceaccount).map(serviceAccountUser)];
}

/**
 * The identities a grant analysis (drift, compliance) reports: --user, --serviceaccount as
 * system:serviceaccount:NS:NAME, and --actor, as user-name globs.
 */
export function identityPatterns(o: Pick<FilterOptions, 'user' | 'serviceaccount' | 'actor'>): string[] {
  return [...subjectPatterns(o), ...listOf(o.actor)];
}

/** The resource specs of --resource, resolved (src/filter/resolve.ts). */
export function resourceSpecs(o: Pick<FilterOptions, 'resource'>): import('./resolve.js').ResolvedResource[] {
  return listOf(o.resource).map(resolveResource);
}

/** Whether a request is on the resource a spec names (any group when the spec has none). */
export function resourceMatches(s: ResourceSpec, r: AuditRecord): boolean {
  if (r.resource === '') return false;
  if (s.resource !== '*' && s.resource !== r.resource) return false;
  if (s.group !== undefined && s.group !== r.apiGroup) return false;
  if (s.subresource !== undefined && s.subresource !== r.subresource) return false;
  return true;
}

/**
 * The predicate of filter options that select every record (compileFilter returns this very
 * function then): a run that sees it may skip the filter altogether (runPipeline without `filter`).
 */
export const ACCEPT_ALL: Predicate = () => true;

/** Compiles filter options into one predicate (ACCEPT_ALL when they filter nothing). Throws UsageError for bad values. */
export function compileFilter(o: FilterOptions, now: number = Date.now()): Predicate {
  const checks: Predicate[] = [];
  const users = subjectPatterns(o);
  if (users.length) {
    const m = globMatcher(users);
    if (o.userMatchesImpersonator) checks.push((r) => m(r.subject) || (r.impersonator !== '' && m(r.impersonator)));
    else checks.push((r) => m(r.subject));
  }
  const groups = listOf(o.group);
  if (groups.length) {
    const m = globMatcher(groups);
    checks.push((r) => r.groups.some(m));
  }
  const impersonators = listOf(o.impersonator);
  if (impersonators.length) {
    const m = globMatcher(impersonators);
    checks.push((r) => r.impersonator !== '' && m(r.impersonator));
  }
  const actors = listOf(o.actor);
  if (actors.length) {
    const m = globMatcher(actors);
    checks.push((r) => m(r.subject) || (r.impersonator !== '' && m(r.impersonator)));
  }
  const verbs = new Set(resolveVerbs(listOf(o.verb)));
  if (verbs.size) checks.push((r) => verbs.has(r.verb));
  const resources = resourceSpecs(o);
  if (resources.length) {
    checks.push((r) => {
      for (const s of resources) if (resourceMatches(s, r)) return true;
      return false;
    });
  }
  const namespaces = new Set(listOf(o.namespace));
  if (o.allNamespaces && namespaces.size) throw new UsageError('-A/--all-namespaces and --namespace cannot be combined', 'leave out -A to keep only the named namespaces, or leave out --namespace for all of them');
  if (namespaces.size) checks.push((r) => namespaces.has(r.namespace));
  const names = listOf(o.name);
  if (names.length) {
    const m = globMatcher(names);
    checks.push((r) => m(r.name));
  }
  if (o.since && o.until && parseTimeArg('--since', o.since, now) >= parseTimeArg('--until', o.until, now)) {
    throw new UsageError(`--since ${o.since} is not before --until ${o.until}: no request can fall in that window`, 'give --since before --until (--until is excluded)');
  }
  if (o.since) {
    const t = parseTimeArg('--since', o.since, now);
    checks.push((r) => r.timeMs >= t);
  }
  if (o.until) {
    const t = parseTimeArg('--until', o.until, now);
    checks.push((r) => r.timeMs < t);
  }
  const statuses = listOf(o.status);
  if (statuses.length) {
    const m = statusMatcher(statuses);
    checks.push((r) => m(r.code));
  }
  if (o.denied) checks.push((r) => r.decision === 'forbid');
  const ips = listOf(o.sourceIP);
  if (ips.length) {
    const m = ipMatcher(ips);
    checks.push((r) => m(r.sourceIP));
  }
  const agents = listOf(o.userAgent).map((a) => a.toLowerCase());
  if (agents.length) checks.push((r) => agents.some((a) => r.userAgent.toLowerCase().includes(a)));
  const clients = globMatcher(listOf(o.client));
  if (listOf(o.client).length) checks.push((r) => clients(r.client));
  const methods = new Set(listOf(o.accessMethod));
  if (methods.size) {
    for (const m of methods) if (!ACCESS_METHODS.includes(m)) throw new UsageError(`--access-method: ${JSON.stringify(m)} is not an access method`, `use ${ACCESS_METHODS.join(', ')}`);
    checks.push((r) => methods.has(r.accessMethod));
  }
  const ids = new Set(listOf(o.auditID));
  if (ids.size) checks.push((r) => ids.has(r.auditID));
  if (o.impersonated) checks.push((r) => r.impersonator !== '');
  const subs = new Set(listOf(o.subresource));
  if (subs.size) checks.push((r) => subs.has(r.subresource));
  const groupsOfApi = new Set(listOf(o.apiGroup).map((g) => (g === 'core' ? '' : g)));
  if (groupsOfApi.size) checks.push((r) => r.resource !== '' && groupsOfApi.has(r.apiGroup));
  const codes = listOf(o.code);
  if (codes.length) {
    const m = statusMatcher(codes);
    checks.push((r) => m(r.code));
  }
  const kinds = listOf(o.subjectKinds);
  if (kinds.length) {
    const want = new Set<string>();
    for (const k of kinds) {
      const kind = SUBJECT_KINDS.find((x) => x.toLowerCase() === k.toLowerCase());
      if (!kind) throw new UsageError(`--subject-kind: ${JSON.stringify(k)} is not a subject kind`, `use ${SUBJECT_KINDS.join(', ')}`);
      want.add(kind);
    }
    checks.push((r) => want.has(r.subjectKind));
  }
  const clusters = new Set(listOf(o.cluster));
  if (clusters.size) checks.push((r) => clusters.has(r.cluster));

  if (checks.length === 0) return ACCEPT_ALL;
  if (checks.length === 1) return checks[0]!;
  return (r) => {
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(r)) return false;
    return true;
  };
}
