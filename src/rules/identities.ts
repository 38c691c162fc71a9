// Identities that managed-cluster providers use for their own components. They are system
// components, not people: rbac-gen leaves them out and summaries count them as System.

/** Exact usernames. */
export const PROVIDER_SYSTEM_USERS: ReadonlySet<string> = new Set([
  // AKS
  'aksService',
  'nodeclient',
  'masterclient',
  'aksProblemDetector',
  'aks-support',
  'frontproxy',
  // GKE
  'kubelet',
  'kube-proxy',
]);

/** Username prefixes. */
export const PROVIDER_SYSTEM_PREFIXES: readonly string[] = [
  'eks:', // EKS control-plane components (eks:certificate-controller, eks:node-manager …)
  'aks:',
];
