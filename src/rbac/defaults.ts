// The permissions every identity has by default, as data (src/rules/data/rbac-defaults.yaml: the bootstrap
// ClusterRoles and ClusterRoleBindings for system:authenticated, system:unauthenticated and
// system:serviceaccounts), loaded once and judged by the same authorizer as any RBAC export.
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { rulesAsset } from '../rules/assets.js';
import type { RbacSnapshot } from '../types.js';
import { addObject, emptySnapshot } from './load.js';
import { Authorizer } from './authorizer.js';

/** Where the defaults live: src/rules/data/rbac-defaults.yaml, shipped with the package. */
export const DEFAULTS_FILE = rulesAsset('data/rbac-defaults.yaml');

let snapshot: RbacSnapshot | null = null;
let authorizer: Authorizer | null = null;

/** The default bootstrap bindings as a snapshot (objects are shared: do not mutate). */
export function defaultsSnapshot(): RbacSnapshot {
  if (!snapshot) {
    const s = emptySnapshot();
    addObject(s, load(readFileSync(DEFAULTS_FILE, 'utf8')), 'rbac-defaults.yaml', 'rbac-defaults.yaml');
    if (s.warnings.length || s.roles.length === 0) throw new Error(`src/rules/data/rbac-defaults.yaml is broken: ${s.warnings.join('; ') || 'no roles'}`);
    snapshot = s;
  }
  return snapshot;
}

/** An authorizer over the defaults alone: what every user may do before any RBAC of one's own. */
export function defaultsAuthorizer(): Authorizer {
  authorizer ??= new Authorizer(defaultsSnapshot());
  return authorizer;
}
