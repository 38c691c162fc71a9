// Non-resource paths the detections treat as public health and discovery probes (exceptPublicURLs).
// Not what the bootstrap policy grants everyone: that is src/rules/data/rbac-defaults.yaml, judged by the
// authorizer (src/rbac/defaults.ts), which rbac-gen uses; it does not count /healthz/* or /livez/*
// (system:monitoring's) and it looks at the verb.

/** Non-resource paths: exact, or a prefix when the entry ends with `*`. */
export const PUBLIC_URLS: readonly string[] = ['/api', '/api/*', '/apis', '/apis/*', '/version', '/version/', '/openapi', '/openapi/*', '/healthz', '/healthz/*', '/livez', '/livez/*', '/readyz', '/readyz/*'];

export function isPublicURL(path: string): boolean {
  for (const u of PUBLIC_URLS) {
    if (u.endsWith('*') ? path.startsWith(u.slice(0, -1)) : path === u) return true;
  }
  return false;
}
