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

/**
 * ServiceAccounts in kube-system that the control plane itself runs as (kube-controller-manager
 * with --use-service-account-credentials, bootstrap signers). Taken from the bootstrap policy's
 * controller and namespace role bindings (k8s 1.9 to current). rbac-gen treats them as system
 * components: their permissions come from the bootstrap policy.
 */
export const CONTROL_PLANE_SERVICE_ACCOUNTS: ReadonlySet<string> = new Set([
  'attachdetach-controller', 'bootstrap-signer', 'certificate-controller', 'clusterrole-aggregation-controller', 'cronjob-controller',
  'daemon-set-controller', 'deployment-controller', 'device-taint-eviction-controller', 'disruption-controller', 'endpoint-controller',
  'endpointslice-controller', 'endpointslicemirroring-controller', 'ephemeral-volume-controller', 'expand-controller',
  'generic-garbage-collector', 'horizontal-pod-autoscaler', 'job-controller', 'legacy-service-account-token-cleaner',
  'namespace-controller', 'node-controller', 'persistent-volume-binder', 'pod-garbage-collector', 'podcheckpoint-controller',
  'pv-protection-controller', 'pvc-protection-controller', 'replicaset-controller', 'replication-controller', 'resource-claim-controller',
  'resourcequota-controller', 'root-ca-cert-publisher', 'route-controller', 'selinux-warning-controller', 'service-account-controller',
  'service-cidrs-controller', 'service-controller', 'statefulset-controller', 'token-cleaner', 'ttl-after-finished-controller',
  'ttl-controller', 'validatingadmissionpolicy-status-controller', 'volumeattributesclass-protection-controller', 'cloud-provider',
  'leader-election-controller',
]);

export function isControlPlaneServiceAccount(namespace: string, name: string): boolean {
  return namespace === 'kube-system' && CONTROL_PLANE_SERVICE_ACCOUNTS.has(name);
}
