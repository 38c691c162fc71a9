import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { drift } from '../../src/analyses/drift/index.js';
import { Authorizer } from '../../src/rbac/authorizer.js';
import { loadRbac } from '../../src/rbac/load.js';
import { collect } from '../helpers.js';
import type { InputAccounting } from '../../src/types.js';
import { expectKubectlAccepts, hasKubectl } from '../rbac/kubectl.js';

const RBAC = 'fixtures/drift/rbac.yaml';
const LOG = 'fixtures/drift/audit.log';
const NO: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };

async function report(args: string[] = [], log = LOG, rbac = RBAC) {
  const r = await runCli(['drift', '--rbac', rbac, log, '-o', 'json', ...args]);
  return { ...r, rep: r.stdout ? JSON.parse(r.stdout) : null };
}
const find = (rep: { subjects: { subject: { kind: string; name: string } }[] }, kind: string, name: string) => rep.subjects.find((s) => s.subject.kind === kind && s.subject.name === name) as any;

describe('drift on the fixture cluster, worked out by hand', () => {
  it('aggregated ClusterRole through a RoleBinding (apps/reporter): 1 of 3 verbs of one rule, all of the other → (1/3 + 1)/2 = 66.7%, yellow', async () => {
    const { rep } = await report();
    const d = find(rep, 'ServiceAccount', 'reporter');
    expect(d).toMatchObject({ subject: { namespace: 'apps' }, requests: 6, grantedRules: 2, usedRules: 2, fullyUsedRules: 1, sharedRules: 1, score: 66.7, severity: 'yellow', dormant: false, unusedRules: [], sensitiveExcess: [], uncovered: [] });
    const pods = d.used.find((u: any) => u.rule.resources[0] === 'pods');
    expect(pods).toMatchObject({ full: false, fraction: 0.333, requests: 3, used: { verbs: ['list'], resources: ['pods'] }, source: { binding: { kind: 'RoleBinding', name: 'reporter-reads', namespace: 'apps' }, role: { kind: 'ClusterRole', name: 'app-reader' }, namespace: 'apps', file: RBAC } });
  });

  it('a Role with unused sensitive rules (ci/deployer): 1 of 3 rules → 33.3%, red; get secrets and create pods are sensitive excess', async () => {
    const { rep } = await report();
    const d = find(rep, 'ServiceAccount', 'deployer');
    expect(d).toMatchObject({ grantedRules: 3, usedRules: 1, score: 33.3, severity: 'red' });
    expect(d.unusedRules.map((u: any) => [u.rule.resources, u.rule.verbs, u.sensitive])).toEqual([
      [['pods'], ['create', 'delete'], ['KAUDIT-S010']],
      [['secrets'], ['get'], ['KAUDIT-S003']],
    ]);
    expect(d.sensitiveExcess.map((e: any) => [e.id, e.permissions])).toEqual([
      ['KAUDIT-S003', ['get secrets']],
      ['KAUDIT-S010', ['create pods']],
    ]);
  });

  it('a wildcard held through a group: the group and its member each show it, scored 2/8 verbs × 2/10 resources = 5%', async () => {
    const { rep } = await report();
    for (const [kind, name] of [['Group', 'sre'], ['User', 'alice@example.com']]) {
      const d = find(rep, kind!, name!);
      expect(d).toMatchObject({ grantedRules: 1, usedRules: 1, score: 5, severity: 'red' });
      expect(d.used[0].used).toMatchObject({ verbs: ['get', 'list'], resources: ['nodes', 'pods/log'] });
      const ids = d.sensitiveExcess.map((e: any) => e.id);
      expect(ids).toContain('KAUDIT-S002');
      expect(ids).toContain('KAUDIT-S003');
      expect(ids).not.toContain('KAUDIT-S001');
    }
  });

  it('dormant subject, binding to a missing role, uncovered requests, system:masters', async () => {
    const { rep, stderr } = await report();
    expect(find(rep, 'User', 'bob@example.com')).toMatchObject({ dormant: true, requests: 0, score: 0, severity: 'red', grantedRules: 1 });
    expect(find(rep, 'User', 'mallory@example.com')).toMatchObject({ grantedRules: 0, score: null, severity: 'none', dormant: false });
    expect(rep.rbac.missingRoles).toEqual(['ClusterRoleBinding legacy-admin refers to ClusterRole cluster-admin, which is not in the export']);
    expect(stderr).toMatch(/warning: ClusterRoleBinding legacy-admin refers to ClusterRole cluster-admin/);
    expect(find(rep, 'User', 'carol@example.com').uncovered).toEqual([{ check: 'request', verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'production', nonResourceURL: '', names: ['db'], requests: 1, denied: 1, examples: ['dddddddd-0000-4000-8000-000000000013'], location: { file: 'fixtures/drift/audit.log', line: 13, unit: 'line' } }]);
    expect(find(rep, 'User', 'root').sensitiveExcess.map((e: any) => e.id)).toEqual(['KAUDIT-S001']);
    expect(rep.summary).toMatchObject({ subjects: 8, dormant: 1, bands: { red: 4, yellow: 1, green: 0, none: 3 }, grantedRules: 8, usedRules: 5, unusedRules: 3, uncoveredRequests: 1 });
  });

  it('subjects are sorted worst first, and the JSON has the documented fields', async () => {
    const { rep } = await report();
    expect(rep.subjects.map((s: any) => s.score)).toEqual([0, 5, 5, 33.3, 66.7, null, null, null]);
    for (const k of ['subject', 'grantedRules', 'usedRules', 'unusedRules', 'uncovered', 'sensitiveExcess', 'score', 'severity']) expect(rep.subjects[0]).toHaveProperty(k);
    expect(rep.window).toEqual({ from: '2026-03-02T10:01:00.000000Z', to: '2026-03-02T10:14:00.000000Z' });
  });
});

describe('drift edge cases', () => {
  it('impersonation counts for the impersonated identity', async () => {
    const dir = writeFiles(tmpDir(), {
      'imp.log': jsonl([event({ user: { username: 'root', groups: ['system:masters'] }, impersonatedUser: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts'] }, verb: 'get', objectRef: { resource: 'secrets', namespace: 'staging', name: 's', apiVersion: 'v1' } })]),
    });
    const { rep } = await report([], join(dir, 'imp.log'));
    const d = find(rep, 'ServiceAccount', 'deployer');
    expect(d.usedRules).toBe(1);
    expect(d.unusedRules.map((u: any) => u.rule.resources)).toEqual([['deployments'], ['pods']]);
    // The impersonator made impersonation checks of its own (allowed: root is in system:masters).
    expect(find(rep, 'User', 'root')).toMatchObject({ requests: 0, otherChecks: 2, uncovered: [], dormant: false });
  });

  it("per request: a group one request carried does not allow another request (RBACAuthorizer.Authorize judges each request's user.Info)", async () => {
    const rbac = writeFiles(tmpDir(), {
      'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: devs-read-secrets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: devs}]
`,
      'a.log': jsonl([
        event({ auditID: 'g1', user: { username: 'bob', groups: ['devs', 'system:authenticated'] }, verb: 'get', requestURI: '/api/v1/namespaces/a/secrets/s', objectRef: { resource: 'secrets', namespace: 'a', name: 's', apiVersion: 'v1' } }),
        event({ auditID: 'g2', user: { username: 'bob', groups: ['system:authenticated'] }, verb: 'get', requestURI: '/api/v1/namespaces/a/secrets/t', objectRef: { resource: 'secrets', namespace: 'a', name: 't', apiVersion: 'v1' } }),
      ]),
    });
    const { rep } = await report([], join(rbac, 'a.log'), join(rbac, 'rbac.yaml'));
    const bob = find(rep, 'User', 'bob');
    expect(bob.used.map((u: any) => [u.source.binding.name, u.requests, u.used.names])).toEqual([['devs-read-secrets', 1, ['s']]]);
    expect(bob.uncovered).toEqual([expect.objectContaining({ check: 'request', verb: 'get', resource: 'secrets', namespace: 'a', names: ['t'], requests: 1 })]);
  });

  it("impersonation checks are the impersonator's: a used impersonate grant is used, a missing one is uncovered", async () => {
    const rbac = writeFiles(tmpDir(), {
      'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: impersonate-bob}
rules: [{apiGroups: [""], resources: [users], resourceNames: [bob], verbs: [impersonate]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: carol-impersonates-bob}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: impersonate-bob}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: carol}]
`,
      'a.log': jsonl([event({ auditID: 'i1', user: { username: 'carol', groups: ['system:authenticated'] }, impersonatedUser: { username: 'bob', groups: ['devs', 'system:authenticated'] }, verb: 'list', requestURI: '/api/v1/namespaces/a/pods', objectRef: { resource: 'pods', namespace: 'a', apiVersion: 'v1' } })]),
    });
    const { rep } = await report([], join(rbac, 'a.log'), join(rbac, 'rbac.yaml'));
    const carol = find(rep, 'User', 'carol');
    expect(carol.unusedRules).toEqual([]);
    expect(carol.used).toHaveLength(1);
    expect(carol.sensitiveExcess).toEqual([]);
    expect(carol.uncovered).toEqual([expect.objectContaining({ check: 'impersonate', verb: 'impersonate', resource: 'groups', names: ['devs'], requests: 1 })]);
    expect(carol.score).toBe(100);
  });

  it('bind checks: used when the body names the role; reported as not judged when it does not', async () => {
    const rbac = writeFiles(tmpDir(), {
      'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: binder, namespace: team}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], resourceNames: [view], verbs: [bind]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: dave-binds, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: binder}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: dave}]
`,
      'body.log': jsonl([event({ auditID: 'b1', level: 'Request', user: { username: 'dave', groups: ['system:authenticated'] }, verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name: 'v', apiVersion: 'v1' }, responseStatus: { code: 201 }, requestObject: { kind: 'RoleBinding', metadata: { name: 'v' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [] } })]),
      'nobody.log': jsonl([event({ auditID: 'b2', user: { username: 'dave', groups: ['system:authenticated'] }, verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name: 'v', apiVersion: 'v1' }, responseStatus: { code: 201 } })]),
    });
    const withBody = find((await report([], join(rbac, 'body.log'), join(rbac, 'rbac.yaml'))).rep, 'User', 'dave');
    expect(withBody.unusedRules).toEqual([]);
    expect(withBody.unjudgedWrites).toBeNull();
    const { stdout } = await runCli(['drift', '--rbac', join(rbac, 'rbac.yaml'), join(rbac, 'nobody.log')]);
    const dave = find((await report([], join(rbac, 'nobody.log'), join(rbac, 'rbac.yaml'))).rep, 'User', 'dave');
    expect(dave.unusedRules.map((u: any) => u.rule.verbs)).toEqual([['bind']]);
    expect(dave.unjudgedWrites).toEqual({ requests: 1, reasons: { 'request body not logged (audit level Metadata)': 1 }, examples: ['b2'] });
    expect(stdout).toContain('RBAC writes whose bind or escalate check could not be judged');
  });

  it('grants a write relied on without bind or escalate are used (ConfirmNoEscalation over Covers: rule.go, policy_comparator.go)', async () => {
    const RG = 'rbac.authorization.k8s.io';
    const dir = writeFiles(tmpDir(), {
      'rbac.yaml': `apiVersion: ${RG}/v1
kind: Role
metadata: {name: lead, namespace: team}
rules:
- {apiGroups: [${RG}], resources: [rolebindings, roles], verbs: [create]}
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
- {apiGroups: [apps], resources: ["*/scale"], verbs: [update]}
- {apiGroups: [""], resources: [configmaps], verbs: [delete]}
---
apiVersion: ${RG}/v1
kind: RoleBinding
metadata: {name: dave-lead, namespace: team}
roleRef: {apiGroup: ${RG}, kind: Role, name: lead}
subjects: [{kind: User, apiGroup: ${RG}, name: dave}]
---
apiVersion: ${RG}/v1
kind: ClusterRole
metadata: {name: pod-reader}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
`,
      'a.log': jsonl([
        // Binds pod-reader (get, list pods) in team: dave holds no bind, but holds get and list pods there.
        event({ auditID: 'w1', level: 'Request', user: { username: 'dave', groups: ['system:authenticated'] }, verb: 'create', requestURI: `/apis/${RG}/v1/namespaces/team/rolebindings`, objectRef: { resource: 'rolebindings', apiGroup: RG, namespace: 'team', name: 'readers', apiVersion: 'v1' }, responseStatus: { code: 201 }, requestObject: { kind: 'RoleBinding', metadata: { name: 'readers' }, roleRef: { apiGroup: RG, kind: 'ClusterRole', name: 'pod-reader' }, subjects: [] } }),
        // Writes a Role granting deployments/scale: no escalate, but */scale covers it.
        event({ auditID: 'w2', level: 'Request', user: { username: 'dave', groups: ['system:authenticated'] }, verb: 'create', requestURI: `/apis/${RG}/v1/namespaces/team/roles`, objectRef: { resource: 'roles', apiGroup: RG, namespace: 'team', name: 'scaler', apiVersion: 'v1' }, responseStatus: { code: 201 }, requestObject: { kind: 'Role', metadata: { name: 'scaler' }, rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'] }] } }),
        // Binds a ClusterRole the export does not hold: what it relied on cannot be named.
        event({ auditID: 'w3', level: 'Request', user: { username: 'dave', groups: ['system:authenticated'] }, verb: 'create', requestURI: `/apis/${RG}/v1/namespaces/team/rolebindings`, objectRef: { resource: 'rolebindings', apiGroup: RG, namespace: 'team', name: 'other', apiVersion: 'v1' }, responseStatus: { code: 201 }, requestObject: { kind: 'RoleBinding', metadata: { name: 'other' }, roleRef: { apiGroup: RG, kind: 'ClusterRole', name: 'gone' }, subjects: [] } }),
      ]),
    });
    const { rep } = await report([], join(dir, 'a.log'), join(dir, 'rbac.yaml'));
    const dave = find(rep, 'User', 'dave');
    // Only delete configmaps was relied on by nothing.
    expect(dave.unusedRules.map((u: any) => u.rule.resources)).toEqual([['configmaps']]);
    const used = (res: string) => dave.used.find((u: any) => u.rule.resources.includes(res));
    expect(used('pods')).toMatchObject({ requests: 1, used: { verbs: ['get', 'list'], resources: ['pods'] } });
    expect(used('pods').auditIDs).toContain('w1');
    expect(used('*/scale')).toMatchObject({ requests: 1, used: { verbs: ['update'], resources: ['deployments/scale'] }, auditIDs: ['w2'] });
    expect(dave.uncovered).toEqual([]);
    expect(dave.unjudgedWrites).toMatchObject({ requests: 1, reasons: { 'binding write that passed without a bind grant, to a role not in the RBAC export (ClusterRole gone): the permissions it relied on are unknown': 1 } });
    expect(dave.unjudgedWrites.examples).toContain('w3');
  });

  it('an empty log: every subject with grants is dormant', async () => {
    const dir = writeFiles(tmpDir(), { 'empty.log': '' });
    const { rep, code } = await report([], join(dir, 'empty.log'));
    expect(code).toBe(0);
    expect(rep.window).toEqual({ from: null, to: null });
    expect(rep.subjects.filter((s: any) => s.grantedRules > 0).every((s: any) => s.dormant && s.score === 0)).toBe(true);
    expect(rep.summary.dormant).toBe(4); // reporter, deployer, sre, bob; alice appears only through the log
  });

  it('an empty export: every request is uncovered and nobody has grants', async () => {
    const dir = writeFiles(tmpDir(), { 'empty.yaml': '' });
    const { rep, code } = await report([], LOG, join(dir, 'empty.yaml'));
    expect(code).toBe(0);
    expect(rep.summary.grantedRules).toBe(0);
    // root is in system:masters, which needs no export; everything else is uncovered.
    expect(rep.summary.uncoveredRequests).toBe(13);
  });

  it('--subject-kind and --only-drift narrow the report', async () => {
    const { rep } = await report(['--subject-kind', 'ServiceAccount']);
    expect(rep.subjects.map((s: any) => s.subject.name)).toEqual(['deployer', 'reporter']);
    const only = (await report(['--only-drift'])).rep;
    expect(only.subjects.map((s: any) => s.subject.name)).not.toContain('carol@example.com');
    expect(only.subjects.map((s: any) => s.subject.name)).toContain('reporter');
  });

  it('--suggest adds the least-privilege replacement for drifted subjects', async () => {
    const { rep } = await report(['--suggest']);
    const d = find(rep, 'ServiceAccount', 'deployer');
    expect(d.suggestion.map((o: any) => [o.kind, o.metadata.namespace])).toEqual([
      ['Role', 'staging'],
      ['RoleBinding', 'staging'],
    ]);
    expect(d.suggestion[0].rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }]);
    // Every suggestion is RBAC the real kubectl reads as written.
    if (hasKubectl || process.env.KAUDIT_REQUIRE_KUBECTL === '1') {
      for (const s of rep.subjects.filter((x: any) => x.suggestion)) await expectKubectlAccepts(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: s.suggestion }), `suggestion-${s.subject.name}`);
    }
  });

  it('merge of partial folds equals one pass', async () => {
    const authz = new Authorizer(await loadRbac([RBAC]));
    const { records } = await collect([LOG, 'fixtures/sample']);
    const o = { authz, includeSystem: true, subjectKinds: [], onlyDrift: false, suggest: true, maxNames: 50 };
    const whole = drift.init(o);
    for (const r of records) drift.add(whole, r);
    const expected = drift.finish(whole, { input: NO });
    for (const cut of [3, 700, records.length - 5]) {
      const a = drift.init(o);
      const b = drift.init(o);
      records.forEach((r, i) => drift.add(i < cut ? a : b, r));
      expect(drift.finish(drift.merge(a, b), { input: NO })).toEqual(expected);
    }
  });
});

describe('drift for CI', () => {
  it.each<[string[], number]>([
    [[], 0],
    [['--fail-on', 'sensitive'], 1],
    [['--fail-on', 'red'], 1],
    [['--fail-on', 'yellow'], 1],
    [['--fail-on', 'any'], 1],
    [['--max-unused', '99'], 1],
    [['--max-unused', '100'], 0],
    // The reporter is yellow: the other service accounts, whose requests the filter left out, are
    // not judged (they used to be, as dormant and red, and failed the gate).
    [['--fail-on', 'red', '--subject-kind', 'ServiceAccount', '--user', 'system:serviceaccount:apps:reporter'], 0],
  ])('%j exits %i', async (flags, code) => {
    const r = await runCli(['drift', '--rbac', RBAC, LOG, '-o', 'json', ...flags]);
    expect(r.code).toBe(code);
    if (code === 1) expect(r.stderr).toMatch(/drift: thresholds crossed by \d+ subjects?:/);
  });

  it('only the reporter, only yellow: passes --fail-on red, fails --fail-on yellow', async () => {
    const base = ['drift', '--rbac', RBAC, LOG, '--subject-kind', 'ServiceAccount', '--user', 'system:serviceaccount:apps:reporter', '-o', 'json'];
    expect((await runCli(base)).code).toBe(0);
    expect((await runCli([...base, '--fail-on', 'red'])).code).toBe(0);
    const r = await runCli([...base, '--fail-on', 'yellow']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ServiceAccount apps\/reporter: score 66.7% is yellow/);
  });

  it.each([
    [['--fail-on', 'purple'], /--fail-on: "purple" is not a threshold/],
    [['--max-unused', '120'], /--max-unused: "120" is not a percentage/],
    [['--subject-kind', 'Robot'], /--subject-kind: "Robot" is not a subject kind/],
  ])('usage error %j', async (flags, msg) => {
    const r = await runCli(['drift', '--rbac', RBAC, LOG, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it('--rbac is required', async () => {
    const r = await runCli(['drift', LOG]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--rbac is required/);
  });

  it('SARIF: one result per finding, every rule id declared', async () => {
    const r = await runCli(['drift', '--rbac', RBAC, LOG, '-o', 'sarif']);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.version).toBe('2.1.0');
    const run = sarif.runs[0];
    const ids = new Set(run.tool.driver.rules.map((x: any) => x.id));
    const rep = (await report()).rep;
    const expected = rep.subjects.reduce((n: number, d: any) => n + d.sensitiveExcess.length + d.unusedRules.filter((u: any) => u.sensitive.length === 0).length + (d.dormant ? 1 : 0) + d.uncovered.length, 0);
    expect(run.results).toHaveLength(expected);
    for (const res of run.results) {
      expect(ids.has(res.ruleId)).toBe(true);
      expect(run.tool.driver.rules[res.ruleIndex].id).toBe(res.ruleId);
      expect(['error', 'warning', 'note']).toContain(res.level);
    }
    expect(run.results.find((x: any) => x.ruleId === 'KAUDIT-S003').locations[0].physicalLocation.artifactLocation.uri).toBe(RBAC);
  });

  it('JUnit: a test case for the input, one per subject, failed ones carry the reasons', async () => {
    const r = await runCli(['drift', '--rbac', RBAC, LOG, '-o', 'junit']);
    expect(r.stdout.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="kaudit drift" tests="9" failures="5">')).toBe(true);
    expect((r.stdout.match(/<testcase /g) ?? []).length).toBe(9);
    expect(r.stdout).toMatch(/<testcase classname="kaudit.input" name="every input read to its end"\/>/);
    expect(r.stdout).toMatch(/<testcase classname="kaudit.drift.ServiceAccount" name="ci\/deployer">\n      <failure message="2 sensitive excess \(KAUDIT-S003, KAUDIT-S010\); score 33.3% is red \(&lt; 50%\)">/);
    expect(r.stdout).toMatch(/<testcase classname="kaudit.drift.ServiceAccount" name="apps\/reporter"\/>/);
  });
});

describe('drift golden files', () => {
  it.each([
    ['json', 'json'],
    ['markdown', 'md'],
    ['table', 'txt'],
    ['sarif', 'sarif'],
    ['junit', 'xml'],
  ])('-o %s', async (format, ext) => {
    const r = await runCli(['drift', '--rbac', RBAC, LOG, '-o', format, '--suggest']);
    await expect(r.stdout).toMatchFileSnapshot(`../golden/drift.fixture.${ext}`);
  });
});

describe('drift on the sample cluster and its export', () => {
  it('finds the legacy admin dormant, the Argo CD wildcard, and a CI account that reads no secrets', async () => {
    const r = await runCli(['drift', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample', '-o', 'json', '-q']);
    const rep = JSON.parse(r.stdout);
    expect(find(rep, 'ServiceAccount', 'old-ci')).toMatchObject({ subject: { namespace: 'legacy' }, dormant: true, score: 0 });
    expect(find(rep, 'ServiceAccount', 'argocd-application-controller').sensitiveExcess.map((e: any) => e.id)).toContain('KAUDIT-S002');
    const deployer = find(rep, 'ServiceAccount', 'deployer');
    expect(deployer.sensitiveExcess.filter((e: any) => e.id === 'KAUDIT-S003').map((e: any) => e.source.namespace).sort()).toEqual(['production', 'staging']);
    // bob is denied production secrets twice; the scripted incidents (fixtures/sample-incidents.json)
    // succeed although the export does not allow them: granted outside it, which drift surfaces.
    expect(find(rep, 'User', 'bob@example.com').uncovered).toContainEqual(expect.objectContaining({ verb: 'get', resource: 'secrets', namespace: 'production', requests: 2, denied: 2 }));
    expect(deployer.uncovered.map((u: any) => `${u.verb} ${u.resource}`)).toEqual(expect.arrayContaining(['create clusterrolebindings', 'create clusterroles']));
    const mallory = find(rep, 'User', 'mallory@example.com');
    expect(mallory.grantedRules).toBe(0);
    expect(mallory.uncovered.every((u: any) => u.denied === u.requests)).toBe(true);
    // bob impersonated kube-system's replicaset-controller (an incident): nothing in the export lets him.
    expect(find(rep, 'User', 'bob@example.com').uncovered).toContainEqual(expect.objectContaining({ check: 'impersonate', verb: 'impersonate', resource: 'serviceaccounts', namespace: 'kube-system', names: ['replicaset-controller'], requests: 1 }));
    expect(rep.summary.uncoveredRequests).toBe(36);
  });
});

describe('drift of the subjects a filter selects', () => {
  // A subject's drift is a fact about the subject: asking about one (--user, --serviceaccount,
  // --actor) must give that subject's row of the whole report, not rows of every other subject
  // made dormant by the filter, and must count what it did while impersonating someone (the
  // impersonator's own authorization: WithImpersonation, k8s.io/apiserver/pkg/endpoints/filters/impersonation.go).
  const base = ['drift', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample', '-o', 'json', '-q'];
  const all = async () => JSON.parse((await runCli(base)).stdout);

  it.each([
    [['--user', 'alice@example.com'], 'User', 'alice@example.com'],
    [['--user', 'bob@example.com'], 'User', 'bob@example.com'],
    [['--actor', 'bob@example.com'], 'User', 'bob@example.com'],
    [['--serviceaccount', 'ci:deployer'], 'ServiceAccount', 'deployer'],
    [['--serviceaccount', 'apps:reporter'], 'ServiceAccount', 'reporter'],
  ])('%j reports that subject only, exactly as the unfiltered run does', async (flags, kind, name) => {
    const whole = find(await all(), kind, name);
    const r = await runCli([...base, ...flags]);
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.subjects.map((s: any) => `${s.subject.kind} ${s.subject.name}`)).toEqual([`${kind} ${name}`]);
    expect(rep.subjects[0]).toEqual(whole);
    expect(rep.summary.dormant).toBe(0);
  });

  it('says when other filters narrowed the requests use is counted from, and not for a subject selection', async () => {
    const narrowed = await runCli(['drift', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample', '--verb', 'get', '-n', 'production', '-o', 'json']);
    expect(narrowed.stderr).toMatch(/^note: use is counted only from the requests that --verb, --namespace kept: a grant used only by other requests shows as unused here$/m);
    const comp = await runCli(['compliance', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample', '--resource', 'secrets', '-o', 'json']);
    expect(comp.stderr).toMatch(/^note: use is counted only from the requests that --resource kept/m);
    const selected = await runCli(['drift', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample', '--user', 'bob@example.com', '--since', '2026-03-02', '-o', 'json']);
    expect(selected.stderr).not.toMatch(/use is counted/);
  });

  it("counts alice's impersonate grant as used when only alice is asked about", async () => {
    const dir = tmpDir();
    const rbac = join(dir, 'imp.yaml');
    writeFiles(dir, {
      'imp.yaml': `apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: imp}
  rules:
  - {apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate]}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: alice-imp}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: imp}
  subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice@example.com}
`,
    });
    const r = await runCli(['drift', '--rbac', rbac, 'fixtures/sample', '--user', 'alice@example.com', '-o', 'json', '-q']);
    const alice = find(JSON.parse(r.stdout), 'User', 'alice@example.com');
    expect(alice).toMatchObject({ usedRules: 1, unusedRules: [], score: 100, otherChecks: 2 });
    const help = (await runCli(['drift', '--help'])).stdout;
    expect(help.replace(/\s+/g, ' ')).toContain('--user <name> the subjects to judge: their own requests, and the impersonate checks of requests they made as someone else, count as their use');
  });
});
