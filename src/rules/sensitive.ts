// Sensitive permissions, as data. Each entry names the requests that make it sensitive (probes);
// a rule "grants" the entry when it allows any probe. Shared by drift (unused sensitive grants),
// compliance (checks) and anomalies (severity of what was touched).
import type { RequestAttributes } from '../types.js';

export type Severity = 'critical' | 'high' | 'medium' | 'low';

export interface SensitiveEntry {
  id: string;
  severity: Severity;
  description: string;
  /**
   * Requests whose permission is sensitive. A probe whose subresource is `*` stands for any
   * subresource (impersonating user extras checks `userextras/KEY`, one KEY per extra).
   */
  probes?: Partial<RequestAttributes>[];
  /** Any `*` in verbs, apiGroups, resources or nonResourceURLs. */
  wildcard?: boolean;
  /** Membership of this group (it bypasses RBAC). */
  group?: string;
}

const r = (verb: string, resource: string, apiGroup = '', subresource = ''): Partial<RequestAttributes> => ({ verb, resource, apiGroup, subresource });
const each = (verbs: string[], resources: [string, string, string?][]): Partial<RequestAttributes>[] => verbs.flatMap((v) => resources.map(([res, g, sub]) => r(v, res, g, sub ?? '')));

const RBAC = 'rbac.authorization.k8s.io';
const WORKLOADS: [string, string][] = [['pods', ''], ['deployments', 'apps'], ['daemonsets', 'apps'], ['statefulsets', 'apps'], ['replicasets', 'apps'], ['jobs', 'batch'], ['cronjobs', 'batch'], ['replicationcontrollers', '']];

// Sources: the privilege escalation risks of the Kubernetes RBAC good practices
// (kubernetes.io/docs/concepts/security/rbac-good-practices/), and the checks of escalation_check.go
// and impersonation.go.
export const SENSITIVE: readonly SensitiveEntry[] = [
  { id: 'KAUDIT-S001', severity: 'critical', description: 'member of system:masters, which bypasses RBAC entirely', group: 'system:masters' },
  { id: 'KAUDIT-S002', severity: 'high', description: 'wildcard (*) in verbs, API groups, resources or non-resource URLs', wildcard: true },
  { id: 'KAUDIT-S003', severity: 'high', description: 'read secrets (get, list, watch)', probes: each(['get', 'list', 'watch'], [['secrets', '']]) },
  { id: 'KAUDIT-S004', severity: 'critical', description: 'escalate: grant permissions one does not hold', probes: each(['escalate'], [['roles', RBAC], ['clusterroles', RBAC]]) },
  { id: 'KAUDIT-S005', severity: 'critical', description: 'bind: bind roles one does not hold', probes: each(['bind'], [['roles', RBAC], ['clusterroles', RBAC]]) },
  { id: 'KAUDIT-S006', severity: 'critical', description: 'impersonate users, groups or service accounts', probes: each(['impersonate'], [['users', ''], ['groups', ''], ['serviceaccounts', ''], ['userextras', 'authentication.k8s.io', '*'], ['uids', 'authentication.k8s.io']]) },
  { id: 'KAUDIT-S007', severity: 'critical', description: 'nodes/proxy: run commands through the kubelet API', probes: each(['get', 'create'], [['nodes', '', 'proxy']]) },
  { id: 'KAUDIT-S008', severity: 'high', description: 'exec, attach or port-forward into pods, or add ephemeral (debug) containers to them', probes: [...each(['create', 'get'], [['pods', '', 'exec'], ['pods', '', 'attach'], ['pods', '', 'portforward']]), ...each(['update', 'patch'], [['pods', '', 'ephemeralcontainers']])] },
  { id: 'KAUDIT-S009', severity: 'high', description: 'create service account tokens', probes: each(['create'], [['serviceaccounts', '', 'token']]) },
  { id: 'KAUDIT-S010', severity: 'medium', description: 'create or change pods or workloads (can run as any service account of the namespace)', probes: each(['create', 'update', 'patch'], WORKLOADS) },
  { id: 'KAUDIT-S011', severity: 'high', description: 'approve or sign certificate signing requests', probes: [...each(['update', 'patch'], [['certificatesigningrequests', 'certificates.k8s.io', 'approval'], ['certificatesigningrequests', 'certificates.k8s.io', 'status']]), ...each(['approve', 'sign'], [['signers', 'certificates.k8s.io']])] },
  { id: 'KAUDIT-S012', severity: 'critical', description: 'change admission webhook configurations or admission policies', probes: each(['create', 'update', 'patch', 'delete'], [['validatingwebhookconfigurations', 'admissionregistration.k8s.io'], ['mutatingwebhookconfigurations', 'admissionregistration.k8s.io'], ['validatingadmissionpolicies', 'admissionregistration.k8s.io'], ['validatingadmissionpolicybindings', 'admissionregistration.k8s.io'], ['mutatingadmissionpolicies', 'admissionregistration.k8s.io'], ['mutatingadmissionpolicybindings', 'admissionregistration.k8s.io']]) },
  { id: 'KAUDIT-S013', severity: 'high', description: 'write RBAC objects (roles, bindings)', probes: each(['create', 'update', 'patch', 'delete'], [['roles', RBAC], ['rolebindings', RBAC], ['clusterroles', RBAC], ['clusterrolebindings', RBAC]]) },
  { id: 'KAUDIT-S014', severity: 'high', description: 'change nodes (labels and taints steer workloads onto a node)', probes: each(['update', 'patch'], [['nodes', ''], ['nodes', '', 'status']]) },
  { id: 'KAUDIT-S015', severity: 'high', description: 'create persistent volumes (a hostPath volume reaches the node file system)', probes: each(['create'], [['persistentvolumes', '']]) },
  { id: 'KAUDIT-S016', severity: 'medium', description: 'change namespaces (their labels set the Pod Security admission level)', probes: each(['update', 'patch'], [['namespaces', '']]) },
];

export const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };
