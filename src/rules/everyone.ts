// What the bootstrap policy grants every user, so rbac-gen leaves it out unless --include-discovery:
// system:discovery and system:public-info-viewer (non-resource URLs), system:basic-user (self reviews).

/** Non-resource paths: exact, or a prefix when the entry ends with `*`. */
export const PUBLIC_URLS: readonly string[] = ['/api', '/api/*', '/apis', '/apis/*', '/version', '/version/', '/openapi', '/openapi/*', '/healthz', '/healthz/*', '/livez', '/livez/*', '/readyz', '/readyz/*'];

/** group/resource granted to every authenticated user. */
export const SELF_REVIEWS: ReadonlySet<string> = new Set([
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authentication.k8s.io/selfsubjectreviews',
]);

export function isPublicURL(path: string): boolean {
  for (const u of PUBLIC_URLS) {
    if (u.endsWith('*') ? path.startsWith(u.slice(0, -1)) : path === u) return true;
  }
  return false;
}
