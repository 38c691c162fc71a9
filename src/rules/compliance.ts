// Compliance checks as data: what each checks, how it is evaluated, and the controls it evidences.
// Frameworks: SOC 2 (TSC 2017), ISO/IEC 27001:2022 Annex A, PCI DSS v4.0, NIST SP 800-53 r5,
// and the CIS Kubernetes Benchmark section 5.1 (RBAC and service accounts).

export const FRAMEWORKS = ['soc2', 'iso27001', 'pci', 'nist', 'cis'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const FRAMEWORK_NAMES: Record<Framework, string> = {
  soc2: 'SOC 2',
  iso27001: 'ISO/IEC 27001:2022',
  pci: 'PCI DSS v4.0',
  nist: 'NIST SP 800-53 r5',
  cis: 'CIS Kubernetes Benchmark',
};

export type Evaluator =
  /** Who holds these sensitive permissions (src/rules/sensitive.ts): fail when held and unused, warn when held and used. */
  | { kind: 'sensitive'; ids: string[] }
  /** Subjects bound to cluster-admin. */
  | { kind: 'cluster-admin' }
  /** Requests made as members of system:masters. */
  | { kind: 'masters' }
  /** Requests by, and bindings to, `default` service accounts. */
  | { kind: 'default-sa' }
  /** Least-privilege scores (drift): red fails, yellow warns. */
  | { kind: 'scores' }
  /** Subjects with grants and no activity in the window. */
  | { kind: 'dormant' }
  /** Log coverage of the period under review: gaps warn, a window covering under half of it fails. */
  | { kind: 'coverage' }
  /** Allowed requests that no grant in the export explains. */
  | { kind: 'unexplained' };

export interface ComplianceCheck {
  id: string;
  title: string;
  /** What a pass means, in one sentence. */
  expectation: string;
  controls: Record<Framework, string[]>;
  evaluate: Evaluator;
}

export const CHECKS: readonly ComplianceCheck[] = [
  {
    id: 'KC-01',
    title: 'cluster-admin is bound only where required',
    expectation: 'No person or workload outside the control plane is bound to cluster-admin.',
    controls: { soc2: ['CC6.3'], iso27001: ['8.2'], pci: ['7.2.2'], nist: ['AC-6(5)'], cis: ['5.1.1'] },
    evaluate: { kind: 'cluster-admin' },
  },
  {
    id: 'KC-02',
    title: 'system:masters is not used',
    expectation: 'No request was made as a member of system:masters, which bypasses RBAC.',
    controls: { soc2: ['CC6.1'], iso27001: ['8.2'], pci: ['7.2.1'], nist: ['AC-6(5)', 'AC-6(9)'], cis: ['5.1.7'] },
    evaluate: { kind: 'masters' },
  },
  {
    id: 'KC-03',
    title: 'no wildcard grants',
    expectation: 'No role grants * verbs, resources, API groups or URLs to a person or workload.',
    controls: { soc2: ['CC6.3'], iso27001: ['8.2'], pci: ['7.2.2'], nist: ['AC-6'], cis: ['5.1.3'] },
    evaluate: { kind: 'sensitive', ids: ['KAUDIT-S002'] },
  },
  {
    id: 'KC-04',
    title: 'access to secrets is minimal',
    expectation: 'Only subjects that read secrets hold get, list or watch on them.',
    controls: { soc2: ['CC6.1'], iso27001: ['5.15', '8.2'], pci: ['7.2.1'], nist: ['AC-6'], cis: ['5.1.2'] },
    evaluate: { kind: 'sensitive', ids: ['KAUDIT-S003'] },
  },
  {
    id: 'KC-05',
    title: 'the right to create pods is minimal',
    expectation: 'Only subjects that create pods or workloads hold that right.',
    controls: { soc2: ['CC6.3'], iso27001: ['8.2'], pci: ['7.2.2'], nist: ['AC-6'], cis: ['5.1.4'] },
    evaluate: { kind: 'sensitive', ids: ['KAUDIT-S010'] },
  },
  {
    id: 'KC-06',
    title: 'default service accounts are not used',
    expectation: 'No request is made as, and no binding names, a namespace’s default service account.',
    controls: { soc2: ['CC6.1'], iso27001: ['5.18'], pci: ['7.2.1'], nist: ['AC-2'], cis: ['5.1.5', '5.1.6'] },
    evaluate: { kind: 'default-sa' },
  },
  {
    id: 'KC-07',
    title: 'bind, escalate and impersonate are limited',
    expectation: 'Only subjects that use them hold the bind, escalate and impersonate verbs.',
    controls: { soc2: ['CC6.3'], iso27001: ['8.2'], pci: ['7.2.2'], nist: ['AC-6', 'AC-6(5)'], cis: ['5.1.8'] },
    evaluate: { kind: 'sensitive', ids: ['KAUDIT-S004', 'KAUDIT-S005', 'KAUDIT-S006'] },
  },
  {
    id: 'KC-08',
    title: 'node proxy, CSR approval, webhook configuration and token creation are limited',
    expectation: 'Only subjects that use them hold nodes/proxy, CSR approval, admission webhook configuration or service account token creation.',
    controls: { soc2: ['CC6.3'], iso27001: ['8.2'], pci: ['7.2.2'], nist: ['AC-6'], cis: ['5.1.10', '5.1.11', '5.1.12', '5.1.13'] },
    evaluate: { kind: 'sensitive', ids: ['KAUDIT-S007', 'KAUDIT-S011', 'KAUDIT-S012', 'KAUDIT-S009'] },
  },
  {
    id: 'KC-09',
    title: 'subjects use what they are granted (least privilege)',
    expectation: 'Every subject uses at least 80% of its grants (drift score; 50–80% warns).',
    controls: { soc2: ['CC6.3'], iso27001: ['5.15', '5.18'], pci: ['7.2.2', '7.2.5'], nist: ['AC-6', 'AC-6(7)'], cis: [] },
    evaluate: { kind: 'scores' },
  },
  {
    id: 'KC-10',
    title: 'no dormant accounts hold grants',
    expectation: 'Every subject that holds grants was active in the window.',
    controls: { soc2: ['CC6.2'], iso27001: ['5.18'], pci: ['7.2.4', '7.2.5'], nist: ['AC-2'], cis: [] },
    evaluate: { kind: 'dormant' },
  },
  {
    id: 'KC-11',
    title: 'all allowed access is explained by the RBAC snapshot',
    expectation: 'Every allowed request is allowed by a grant in the export (nothing granted outside it).',
    controls: { soc2: ['CC6.1'], iso27001: ['5.15'], pci: ['7.2.1'], nist: ['AC-2'], cis: [] },
    evaluate: { kind: 'unexplained' },
  },
  {
    id: 'KC-12',
    title: 'audit logging covers the period under review',
    expectation: 'The logs cover the whole period, with no hour missing.',
    controls: { soc2: ['CC7.2'], iso27001: ['8.15', '8.16'], pci: ['10.2.1'], nist: ['AU-6'], cis: [] },
    evaluate: { kind: 'coverage' },
  },
];
