// What the user typed → what the audit log holds: resource names as kubectl accepts them (plural,
// singular, Kind, short name, `name.group`, `name.version.group`) and verbs in any case.
import { RESOURCE_NAMES, BUILTIN_RESOURCES } from '../rules/resources.js';
import { REQUEST_VERBS } from '../rules/verbs.js';
import { UsageError } from '../util/errors.js';
import { closest, didYouMean } from '../util/suggest.js';

export interface ResourceSpec {
  resource: string;
  /** undefined: any group. */
  group: string | undefined;
  /** undefined: the resource and all its subresources. */
  subresource: string | undefined;
}

/** A `--resource` value resolved against the built-in resources. */
export interface ResolvedResource extends ResourceSpec {
  /** The value as given. */
  input: string;
  /** The name is a built-in resource (or `*`); false for names kaudit does not know, such as a custom resource's. */
  known: boolean;
}

const VERSION = /^v\d+(?:(?:alpha|beta)\d+)?$/;

/** Splits `name.group`, `name.version.group` (as kubectl's ParseResourceArg does) into name and group. */
function splitGroup(head: string): { name: string; group: string | undefined } {
  const dot = head.indexOf('.');
  if (dot < 0) return { name: head, group: undefined };
  const name = head.slice(0, dot);
  let group = head.slice(dot + 1);
  const next = group.indexOf('.');
  if (next > 0 && VERSION.test(group.slice(0, next))) group = group.slice(next + 1);
  if (group === 'core') group = '';
  return { name, group };
}

/**
 * Resolves one `--resource` value: `pods`, `po`, `Pod`, `pod/log`, `deploy.apps`,
 * `deployments.v1.apps/scale`, `*` or `*`/`scale`. A built-in name, in any case, becomes its plural
 * (the audit log's `objectRef.resource`); without a group it matches that resource in any group
 * (`events` in the core group and in events.k8s.io). Other names (custom resources) are kept,
 * lowercased, since a resource name is always lower case (a CRD's plural must be).
 */
export function resolveResource(value: string): ResolvedResource {
  const slash = value.indexOf('/');
  const head = slash < 0 ? value : value.slice(0, slash);
  const sub = slash < 0 ? undefined : value.slice(slash + 1).toLowerCase();
  if (head === '*') return { input: value, resource: '*', group: undefined, subresource: sub, known: true };
  const whole = RESOURCE_NAMES.get(head.toLowerCase());
  if (whole) return { input: value, resource: whole.resource, group: undefined, subresource: sub, known: true };
  const { name, group } = splitGroup(head);
  const hit = RESOURCE_NAMES.get(name.toLowerCase());
  if (hit) return { input: value, resource: hit.resource, group: group?.toLowerCase(), subresource: sub, known: true };
  return { input: value, resource: name.toLowerCase(), group: group?.toLowerCase(), subresource: sub, known: false };
}

/** Every name `--resource` accepts for a built-in resource, for suggestions. */
export function builtinResourceNames(): string[] {
  return BUILTIN_RESOURCES.map((r) => r.resource);
}

/** Capital letters of a Kind, lower-cased, as people abbreviate it: ClusterRoleBinding → crb. */
function initials(kind: string): string {
  return kind.replace(/[^A-Z]/g, '').toLowerCase();
}

/**
 * Built-in resources a name that is not one might have meant: close in spelling to a name of
 * theirs, or the initials of their Kind (`crb` → clusterrolebindings, which kubectl has no short
 * name for).
 */
export function suggestBuiltin(name: string): string[] {
  const n = name.toLowerCase();
  const out: string[] = [];
  for (const r of BUILTIN_RESOURCES) if (n.length >= 2 && initials(r.kind) === n && !out.includes(r.resource)) out.push(r.resource);
  // A typo of a built-in resource's name (`deploymnets`): known whatever the log holds, so the
  // suggestion does not depend on which lines the pre-filter skipped.
  for (const c of closest(n, BUILTIN_RESOURCES.map((r) => r.resource))) if (!out.includes(c)) out.push(c);
  return out;
}

/**
 * Verbs as the audit log writes them (lower case). Any case is accepted; a word that is no verb an
 * audit event can carry (see REQUEST_VERBS) is a usage error with the closest verbs.
 */
export function resolveVerbs(values: string[]): string[] {
  return values.map((v) => {
    const l = v.toLowerCase();
    if (REQUEST_VERBS.includes(l)) return l;
    throw new UsageError(`--verb: ${JSON.stringify(v)} is not a verb an audit event can carry${didYouMean(l, REQUEST_VERBS)}`, `use ${REQUEST_VERBS.join(', ')} (any case, comma-separated)`);
  });
}
