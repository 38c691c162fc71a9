// Verb knowledge as data: expansions and which verbs can be limited by resourceNames.

/** The verbs of the resource API, in Kubernetes' documentation order. */
export const RESOURCE_VERBS: readonly string[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

/** `--verbs grouped`: observing any of these grants all of them. */
export const VERB_GROUPS: readonly (readonly string[])[] = [['get', 'list', 'watch']];

/**
 * Verbs whose request carries the object's name, so resourceNames can restrict them. create, list,
 * watch and deletecollection requests have no name (a named watch is a list with a fieldSelector),
 * so a rule with resourceNames never allows them.
 */
export const NAMEABLE_VERBS: ReadonlySet<string> = new Set(['get', 'update', 'patch', 'delete', 'impersonate', 'bind', 'escalate', 'approve', 'sign', 'use', 'proxy']);

/** Canonical order for verbs in generated rules: resource verbs first, then the rest alphabetically. */
export function verbOrder(a: string, b: string): number {
  const ia = RESOURCE_VERBS.indexOf(a);
  const ib = RESOURCE_VERBS.indexOf(b);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Verbs that change objects: a request with one of these is a write ("only writes" in `audit view`).
 * The mutating verbs of the resource API (Kubernetes' API concepts, "API verbs"); exec, attach and
 * port-forward are `create` on a subresource, so they count as writes too.
 */
export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * Every verb an audit event can carry, as RequestInfoFactory.NewRequestInfo
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) derives it: resource requests get one of
 * the resource verbs (from the HTTP method, `list`/`watch` for a GET without a name,
 * `deletecollection` for a DELETE without one) or a special verb from the path (`proxy`, `watch`);
 * non-resource requests get the HTTP method in lower case.
 */
export const REQUEST_VERBS: readonly string[] = [...RESOURCE_VERBS, 'proxy', 'post', 'put', 'head', 'options', 'connect', 'trace'];
