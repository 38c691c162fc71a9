// Which sensitive entries (src/rules/sensitive.ts) a rule grants: the table drift, compliance and
// rbac-gen share. Cases follow the privilege escalation risks of the Kubernetes RBAC good practices
// (kubernetes.io/docs/concepts/security/rbac-good-practices/) and the checks the API server makes
// (impersonation.go: userextras/KEY; escalation_check.go).
import { describe, it, expect } from 'vitest';
import { grantedSensitive, probeRequests } from '../../src/rbac/sensitive.js';
import type { PolicyRule } from '../../src/types.js';

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) });
const AUTHN = 'authentication.k8s.io';

describe('grantedSensitive', () => {
  it.each<[string, PolicyRule, string, string[]]>([
    // impersonation.go checks `impersonate` on userextras/KEY (Subresource = the extra key): any key is S006.
    ['impersonate userextras/scopes (what rbac-gen writes for impersonated extras)', rule(['impersonate'], [AUTHN], ['userextras/scopes'], ['view']), '', ['KAUDIT-S006']],
    ['impersonate */scopes', rule(['impersonate'], [AUTHN], ['*/scopes']), '', ['KAUDIT-S002', 'KAUDIT-S006']],
    ['impersonate uids', rule(['impersonate'], [AUTHN], ['uids'], ['42']), '', ['KAUDIT-S006']],
    ['userextras/scopes without impersonate is nothing', rule(['get'], [AUTHN], ['userextras/scopes']), '', []],
    // Workload creation and change: a changed pod template runs as any service account of the namespace.
    ['patch deployments', rule(['patch'], ['apps'], ['deployments']), 'ns', ['KAUDIT-S010']],
    ['update pods (a new image in a running pod)', rule(['update'], [''], ['pods']), 'ns', ['KAUDIT-S010']],
    ['update deployments/scale is not a pod template change', rule(['update'], ['apps'], ['deployments/scale']), 'ns', []],
    ['patch pods/ephemeralcontainers (kubectl debug)', rule(['patch'], [''], ['pods/ephemeralcontainers']), 'ns', ['KAUDIT-S008']],
    ['patch nodes', rule(['patch'], [''], ['nodes']), '', ['KAUDIT-S014']],
    ['update nodes/status', rule(['update'], [''], ['nodes/status']), '', ['KAUDIT-S014']],
    ['get nodes is not a change', rule(['get', 'list'], [''], ['nodes']), '', []],
    ['create persistentvolumes', rule(['create'], [''], ['persistentvolumes']), '', ['KAUDIT-S015']],
    ['patch namespaces (in a Role: its own namespace)', rule(['patch'], [''], ['namespaces']), 'team', ['KAUDIT-S016']],
    ['update certificatesigningrequests/status (issuing)', rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/status']), '', ['KAUDIT-S011']],
    ['sign signers', rule(['sign'], ['certificates.k8s.io'], ['signers'], ['example.com/x']), '', ['KAUDIT-S011']],
    ['create validatingadmissionpolicybindings', rule(['create'], ['admissionregistration.k8s.io'], ['validatingadmissionpolicybindings']), '', ['KAUDIT-S012']],
    ['update on RBAC through a * verb', rule(['*'], ['rbac.authorization.k8s.io'], ['roles']), 'ns', ['KAUDIT-S002', 'KAUDIT-S004', 'KAUDIT-S005', 'KAUDIT-S013']],
    ['* verbs on pods', rule(['*'], [''], ['pods']), 'ns', ['KAUDIT-S002', 'KAUDIT-S010']],
    ['create serviceaccounts/token pinned to one account', rule(['create'], [''], ['serviceaccounts/token'], ['deployer']), 'ns', ['KAUDIT-S009']],
  ])('%s', (_n, r, ns, want) => {
    expect(grantedSensitive(r, ns).sort()).toEqual(want);
  });

  it('a probe with subresource * stands for each subresource the rule names, and for none', () => {
    const reqs = probeRequests([{ verb: 'impersonate', apiGroup: AUTHN, resource: 'userextras', subresource: '*' }], rule(['impersonate'], [AUTHN], ['userextras/a', '*/b', 'uids']), '');
    expect(reqs.map((r) => r.subresource).sort()).toEqual(['', 'a', 'b']);
  });
});
