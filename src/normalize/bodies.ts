// Which request and response bodies a command reads. Records keep a body (AuditRecord.requestObject,
// .responseObject) only where the command's needs say so: every other body is never parsed by the
// field extractor (src/ingest/extract.ts), and is dropped by the reference path, so both paths give
// the same records. Plain data: it crosses to worker threads as it is.

import type { AuditRecord } from '../types.js';

/** Requests whose body a need selects: one API group, some resources, some verbs (no subresource). */
export interface BodySelector {
  apiGroup: string;
  resources: readonly string[];
  verbs: readonly string[];
}

/** `all`: every record keeps the body; `none`: none does; a list: the records one selector matches. */
export type BodyNeed = 'all' | 'none' | readonly BodySelector[];

/**
 * What a run keeps of the bodies. The default (absent) keeps both everywhere, as a library caller
 * of the pipeline expects; each command says what it reads (see the README's "Reading speed").
 */
export interface BodyNeeds {
  requestObject: BodyNeed;
  responseObject: BodyNeed;
}

/** Keeps every body (the default). */
export const ALL_BODIES: BodyNeeds = Object.freeze({ requestObject: 'all', responseObject: 'all' });
/** Keeps no body: summaries, exports and listings read none. */
export const NO_BODIES: BodyNeeds = Object.freeze({ requestObject: 'none', responseObject: 'none' });

/**
 * The request bodies the RBAC escalation checks read (src/rbac/request.ts rbacWrite): creates,
 * updates and patches of roles, clusterroles, rolebindings and clusterrolebindings.
 */
export const RBAC_WRITE_BODIES: BodyNeeds = Object.freeze({
  requestObject: Object.freeze([{ apiGroup: 'rbac.authorization.k8s.io', resources: ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'], verbs: ['create', 'update', 'patch'] }]),
  responseObject: 'none',
});

/** True when a record with these request attributes keeps the body `need` describes. */
export function wantsBody(need: BodyNeed, r: Pick<AuditRecord, 'apiGroup' | 'resource' | 'subresource' | 'verb'>): boolean {
  if (need === 'all') return true;
  if (need === 'none') return false;
  for (const s of need) {
    if (r.apiGroup === s.apiGroup && r.subresource === '' && s.resources.includes(r.resource) && s.verbs.includes(r.verb)) return true;
  }
  return false;
}

/** Both needs together: a record keeps a body when either keeps it. */
export function unionNeeds(a: BodyNeeds, b: BodyNeeds): BodyNeeds {
  const one = (x: BodyNeed, y: BodyNeed): BodyNeed => (x === 'all' || y === 'all' ? 'all' : x === 'none' ? y : y === 'none' ? x : [...x, ...y]);
  return { requestObject: one(a.requestObject, b.requestObject), responseObject: one(a.responseObject, b.responseObject) };
}
