// Structural validation of RBAC objects, as the API server would accept them and as kaudit promises
// them (DNS-1123 names, no query strings, resourceNames only where the authorizer can see a name, no
// cluster-scoped resources in namespaced Roles except where a namespace applies to them). Used by
// tests and available to any command that writes RBAC.
import { DNS_LABEL } from './names.js';
import { isDnsSubdomain } from './request.js';
import { isClusterScoped } from '../rules/scope.js';

type Obj = Record<string, unknown>;
const RBAC_V1 = 'rbac.authorization.k8s.io/v1';

/**
 * Whether a rule with resourceNames can ever allow `verb` on `resource` (NewRequestInfo): a
 * deletecollection has no name, nor does a create on a collection (a create on a named subresource,
 * pods/NAME/exec, has one); get, list and watch (with a metadata.name field selector) and the rest do.
 */
function nameable(verb: string, resource: string): boolean {
  if (verb === 'deletecollection' || verb === '*') return false;
  if (verb === 'create') return resource.includes('/');
  return true;
}

/** Cluster-scoped resources a Role may still grant: `namespaces/X` is authorized in namespace X, and `bind` on a ClusterRole in the binding's namespace. */
function roleMayGrant(group: string, resource: string, verbs: string[]): boolean {
  const base = resource.split('/')[0]!;
  if (!isClusterScoped(group, base)) return true;
  if (group === '' && base === 'namespaces') return true;
  return group === 'rbac.authorization.k8s.io' && base === 'clusterroles' && verbs.every((v) => v === 'bind');
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

export function validateRbacObject(o: unknown): string[] {
  const errs: string[] = [];
  if (!isObj(o)) return ['not an object'];
  const kind = o.kind;
  const meta = isObj(o.metadata) ? o.metadata : null;
  const name = meta && typeof meta.name === 'string' ? meta.name : '';
  const where = `${String(kind)} ${name}`;
  if (o.apiVersion !== RBAC_V1) errs.push(`${where}: apiVersion must be ${RBAC_V1}`);
  if (!['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(String(kind))) errs.push(`${where}: unknown kind`);
  if (!isDnsSubdomain(name)) errs.push(`${where}: metadata.name is not a DNS-1123 subdomain`);
  const namespaced = kind === 'Role' || kind === 'RoleBinding';
  const ns = meta && typeof meta.namespace === 'string' ? meta.namespace : undefined;
  if (namespaced && (!ns || !DNS_LABEL.test(ns))) errs.push(`${where}: needs a valid metadata.namespace`);
  if (!namespaced && ns !== undefined) errs.push(`${where}: cluster-scoped object must not have a namespace`);
  if (kind === 'Role' || kind === 'ClusterRole') {
    if (!Array.isArray(o.rules)) errs.push(`${where}: rules must be a list`);
    for (const [i, r] of (Array.isArray(o.rules) ? o.rules : []).entries()) {
      const at = `${where} rule ${i + 1}`;
      if (!isObj(r)) {
        errs.push(`${at}: not an object`);
        continue;
      }
      if (!isStrings(r.verbs) || r.verbs.length === 0) errs.push(`${at}: verbs required`);
      const hasRes = r.resources !== undefined || r.apiGroups !== undefined;
      const hasURL = r.nonResourceURLs !== undefined;
      if (hasRes === hasURL) errs.push(`${at}: needs either apiGroups+resources or nonResourceURLs`);
      if (hasRes && (!isStrings(r.apiGroups) || !isStrings(r.resources) || r.resources.length === 0)) errs.push(`${at}: apiGroups and resources must be non-empty string lists`);
      if (hasURL) {
        if (kind === 'Role') errs.push(`${at}: nonResourceURLs are only valid in a ClusterRole`);
        if (!isStrings(r.nonResourceURLs) || r.nonResourceURLs.some((u) => !u.startsWith('/') && u !== '*')) errs.push(`${at}: nonResourceURLs must be paths`);
        else if (r.nonResourceURLs.some((u) => u.includes('?'))) errs.push(`${at}: nonResourceURLs must not carry a query string`);
      }
      if (r.resourceNames !== undefined) {
        if (!isStrings(r.resourceNames)) errs.push(`${at}: resourceNames must be strings`);
        const resources = r.resources;
        if (isStrings(r.verbs) && isStrings(resources)) {
          const bad = r.verbs.filter((v) => resources.some((res) => !nameable(v, res)));
          if (bad.length) errs.push(`${at}: resourceNames cannot restrict ${bad.join(', ')} on ${resources.join(', ')}`);
        }
      }
      if (kind === 'Role' && isStrings(r.resources) && isStrings(r.apiGroups) && isStrings(r.verbs)) {
        for (const g of r.apiGroups) for (const res of r.resources) if (!roleMayGrant(g, res, r.verbs)) errs.push(`${at}: ${res} is cluster-scoped; a Role cannot grant it`);
      }
    }
  } else {
    const ref = isObj(o.roleRef) ? o.roleRef : null;
    if (!ref || ref.apiGroup !== 'rbac.authorization.k8s.io' || (ref.kind !== 'Role' && ref.kind !== 'ClusterRole') || typeof ref.name !== 'string' || !ref.name) errs.push(`${where}: invalid roleRef`);
    if (kind === 'ClusterRoleBinding' && ref?.kind === 'Role') errs.push(`${where}: a ClusterRoleBinding cannot refer to a Role`);
    if (!Array.isArray(o.subjects) || o.subjects.length === 0) errs.push(`${where}: subjects required`);
    for (const s of Array.isArray(o.subjects) ? o.subjects : []) {
      if (!isObj(s) || typeof s.name !== 'string' || !s.name) {
        errs.push(`${where}: subject without a name`);
        continue;
      }
      if (s.kind === 'ServiceAccount') {
        if (typeof s.namespace !== 'string' || !DNS_LABEL.test(s.namespace)) errs.push(`${where}: ServiceAccount subject needs a namespace`);
        if (s.apiGroup !== undefined && s.apiGroup !== '') errs.push(`${where}: ServiceAccount subject has apiGroup ""`);
      } else if (s.kind === 'User' || s.kind === 'Group') {
        if (s.apiGroup !== 'rbac.authorization.k8s.io') errs.push(`${where}: ${s.kind} subject needs apiGroup rbac.authorization.k8s.io`);
      } else errs.push(`${where}: unknown subject kind ${String(s.kind)}`);
    }
  }
  return errs;
}
