// audit rbac-gen: golden output on the sample, and each class of issue 12 on small logs. Every YAML
// generated here is also checked by the real kubectl offline (test/rbac/kubectl.ts).
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { validateRbacObject } from '../../src/rbac/validate.js';
import { rbacGen, type RbacGenOptions } from '../../src/analyses/rbacgen/index.js';
import { DEFAULT_GENERATE, SelfChecker, selfCheck } from '../../src/rbac/generate.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';
import { expectKubectlAccepts, hasKubectl } from './kubectl.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
const requireKubectl = process.env.KAUDIT_REQUIRE_KUBECTL === '1';
const kubectlOn = hasKubectl || requireKubectl;

type Doc = Record<string, any>;

/** Parses rbac-gen YAML, checks every object is valid RBAC and that kubectl reads it as written. */
async function parseValid(text: string, label = 'rbac-gen'): Promise<Doc[]> {
  const docs = yaml.loadAll(text).filter((d) => d !== null) as Doc[];
  for (const d of docs) expect(validateRbacObject(d)).toEqual([]);
  if (kubectlOn) await expectKubectlAccepts(text, label);
  return docs;
}

async function gen(events: Record<string, unknown>[], flags: string[] = []): Promise<{ code: number; stdout: string; stderr: string; docs: Doc[] }> {
  const dir = writeFiles(tmpDir(), { 'a.log': jsonl(events) });
  const r = await runCli(['rbac-gen', join(dir, 'a.log'), ...flags]);
  const docs = flags.includes('report') || flags.includes('json') ? [] : await parseValid(r.stdout);
  return { ...r, docs };
}

const rulesOf = (docs: Doc[], kind: string, ns?: string): unknown[] => docs.filter((d) => d.kind === kind && (ns === undefined || d.metadata.namespace === ns)).flatMap((d) => d.rules);

let n = 0;
/** An event by `user` (groups as carried), verb, URI and objectRef. */
function ev(user: string, verb: string, uri: string, ref?: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return event({ auditID: `r${++n}`, user: { username: user, groups: ['system:authenticated'] }, verb, requestURI: uri, objectRef: ref ? { apiVersion: 'v1', ...ref } : undefined, responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 }, ...extra });
}
const denied = { responseStatus: { metadata: {}, code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' } };

describe('rbac-gen on the bundled sample', () => {
  it('golden YAML (defaults)', async () => {
    const r = await runCli(['rbac-gen', 'fixtures/sample']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/self-check: coverage 100%, (\d+) of \1 authorization checks allowed/);
    await parseValid(r.stdout, 'sample');
    await expect(r.stdout).toMatchFileSnapshot('../golden/rbac-gen.sample.yaml');
  });

  it('golden YAML with --explain for one service account', async () => {
    const r = await runCli(['rbac-gen', 'fixtures/sample', '--serviceaccount', 'ci:deployer', '--explain']);
    expect(r.stdout).toMatch(/# \d+ requests?, 2026-03-0\d.*; e\.g\. auditID [0-9a-f-]+(, [0-9a-f-]+)?\n- apiGroups/);
    await parseValid(r.stdout, 'sample-explain');
    await expect(r.stdout).toMatchFileSnapshot('../golden/rbac-gen.deployer.explain.yaml');
  });

  it.each([
    [[]],
    [['--verbs', 'grouped']],
    [['--wildcards', 'safe']],
    [['--resource-names']],
    [['--scope', 'cluster']],
    [['--include-system', '--include-discovery']],
    [['--include-denied', '--verbs', 'grouped', '--resource-names', '--scope', 'cluster']],
    [['--group', 'developers']],
  ])('every object is valid RBAC, kubectl reads it, and the self-check passes: %j', async (flags) => {
    const r = await runCli(['rbac-gen', 'fixtures/sample', ...flags]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage 100%/);
    const docs = await parseValid(r.stdout, `sample ${flags.join(' ')}`);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(d.metadata.labels['app.kubernetes.io/managed-by']).toBe('kaudit');
  });

  it('-o json is a v1 List of the same objects, and kubectl reads it', async () => {
    const y = await parseValid((await runCli(['rbac-gen', 'fixtures/sample'])).stdout);
    const text = (await runCli(['rbac-gen', 'fixtures/sample', '-o', 'json'])).stdout;
    const j = JSON.parse(text);
    expect(j.kind).toBe('List');
    expect(j.items).toEqual(y);
    if (kubectlOn) await expectKubectlAccepts(text, 'sample-json');
  });

  it('leaves system components out by default and keeps them with --include-system', async () => {
    const def = (await runCli(['rbac-gen', 'fixtures/sample', '-o', 'report'])).stdout;
    const sys = (await runCli(['rbac-gen', 'fixtures/sample', '-o', 'report', '--include-system'])).stdout;
    const names = (s: string): string[] => JSON.parse(s).policies.map((p: { subject: { name: string } }) => p.subject.name);
    expect(names(def)).not.toContain('system:kube-scheduler');
    expect(names(def)).not.toContain('deployment-controller');
    expect(names(def)).toContain('deployer');
    expect(names(sys)).toContain('system:kube-scheduler');
    expect(names(sys)).toContain('deployment-controller');
    expect(names(sys)).toContain('system:node:ip-10-0-1-11.ec2.internal');
  });

  it('lists every sensitive permission on stderr and in -o report, with the requests behind it', async () => {
    const r = await runCli(['rbac-gen', 'fixtures/sample']);
    const rep = JSON.parse((await runCli(['rbac-gen', 'fixtures/sample', '-o', 'report'])).stdout);
    expect(rep.sensitive.length).toBeGreaterThan(5);
    expect(r.stderr).toContain(`sensitive permissions in the output (${rep.sensitive.length}; review before applying):`);
    for (const f of rep.sensitive) {
      expect(f.requests).toBeGreaterThan(0);
      expect(f.examples.length).toBeGreaterThan(0);
      expect(r.stderr).toContain(`${f.id} ${f.severity} ${f.description}: ${f.subject}`);
    }
    const ids = new Set(rep.sensitive.map((f: { id: string }) => f.id));
    for (const id of ['KAUDIT-S003', 'KAUDIT-S005', 'KAUDIT-S006', 'KAUDIT-S008', 'KAUDIT-S013']) expect(ids).toContain(id);
    const bind = rep.sensitive.find((f: { id: string }) => f.id === 'KAUDIT-S005');
    expect(bind.rule).toEqual({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['cluster-admin'], verbs: ['bind'] });
    expect(bind.permissions).toEqual(['bind clusterroles.rbac.authorization.k8s.io [cluster-admin]']);
  });
});

describe('request attributes as the authorizer saw them (NewRequestInfo, LogRequestObject)', () => {
  it('cluster-scoped resources and all-namespace lists go to a ClusterRole; namespaces/X to a Role in X; names only where the authorizer saw one; no query strings', async () => {
    const events = [
      ev('dev', 'get', '/api/v1/nodes/n1', { resource: 'nodes', name: 'n1' }),
      ev('dev', 'get', '/api/v1/namespaces/team', { resource: 'namespaces', name: 'team', namespace: 'team' }),
      ev('dev', 'list', '/api/v1/pods?limit=500', { resource: 'pods' }),
      ev('dev', 'create', '/api/v1/namespaces/team/configmaps?fieldManager=kubectl-create', { resource: 'configmaps', namespace: 'team', name: 'cm' }),
      ev('dev', 'get', '/api/v1/namespaces/team/configmaps/cm', { resource: 'configmaps', namespace: 'team', name: 'cm' }),
      ev('dev', 'watch', '/api/v1/namespaces/team/configmaps?fieldSelector=metadata.name%3Dcm&watch=true', { resource: 'configmaps', namespace: 'team', name: 'cm' }),
      ev('dev', 'create', '/api/v1/namespaces/team/pods/web/exec?command=sh', { resource: 'pods', namespace: 'team', name: 'web', subresource: 'exec' }),
      ev('dev', 'get', '/metrics?format=prom'),
    ];
    const { docs } = await gen(events, ['--resource-names']);
    expect(rulesOf(docs, 'ClusterRole')).toEqual([
      { apiGroups: [''], resources: ['nodes'], resourceNames: ['n1'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
    expect(rulesOf(docs, 'Role', 'team')).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cm'], verbs: ['get', 'watch'] },
      { apiGroups: [''], resources: ['namespaces'], resourceNames: ['team'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods/exec'], resourceNames: ['web'], verbs: ['create'] },
    ]);
  });

  it('no Role repeats what the same subject\'s ClusterRole already grants', async () => {
    const { docs } = await gen([ev('dev', 'list', '/api/v1/pods', { resource: 'pods' }), ev('dev', 'list', '/api/v1/namespaces/a/pods', { resource: 'pods', namespace: 'a' }), ev('dev', 'get', '/api/v1/namespaces/a/pods/p', { resource: 'pods', namespace: 'a', name: 'p' })]);
    expect(rulesOf(docs, 'ClusterRole')).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
    expect(rulesOf(docs, 'Role', 'a')).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
  });

  it('requests in a namespace that is no DNS-1123 label are left out with the reason', async () => {
    const r = await gen([ev('dev', 'get', '/api/v1/namespaces/Bad_NS/pods/p', { resource: 'pods', namespace: 'Bad_NS', name: 'p' }), ev('dev', 'get', '/api/v1/namespaces/ok/pods/p', { resource: 'pods', namespace: 'ok', name: 'p' })]);
    expect(r.docs.map((d) => d.metadata.namespace ?? '')).toEqual(['ok', 'ok']);
    expect(r.stderr).toContain('1 namespace is not a DNS-1123 label, so no Role can be written there');
  });

  it("strings kubectl cannot read (a lone UTF-16 surrogate) are left out, never written; a literal '*' is never turned into a wildcard", async () => {
    const r = await gen([
      // Percent-encoding cannot carry a lone surrogate either: the URI does not parse, the record's name is used.
      ev('dev', 'get', '/api/v1/namespaces/a/configmaps/bad%ED%B0%80name', { resource: 'configmaps', namespace: 'a', name: 'bad\udc00name' }),
      ev('ev\ud800il', 'get', '/api/v1/namespaces/a/pods/p', { resource: 'pods', namespace: 'a', name: 'p' }),
      ev('dev', 'get', '/custom*'),
      ev('dev', 'get', '/api/v1/namespaces/a/pods/p', { resource: 'pods', namespace: 'a', name: 'p' }),
    ], ['--resource-names']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('2 holds a string no YAML can carry (a lone UTF-16 surrogate)');
    expect(r.stderr).toContain("1 names '*' (or a path ending in '*'), which RBAC would read as a wildcard");
    expect(rulesOf(r.docs, 'Role', 'a')).toEqual([{ apiGroups: [''], resources: ['pods'], resourceNames: ['p'], verbs: ['get'] }]);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([]);
  });
});

describe('denied requests are not grants by default', () => {
  it("an attacker's probing (every request denied) generates nothing; the count per subject is on stderr", async () => {
    const probes = ['secrets', 'pods', 'clusterroles', 'nodes'].map((res) => ev('mallory', res === 'secrets' || res === 'pods' ? 'list' : 'list', `/api/v1/${res}`, { resource: res }, denied));
    const r = await gen([...probes, ev('bob', 'get', '/api/v1/namespaces/a/pods/p', { resource: 'pods', namespace: 'a', name: 'p' }, denied)]);
    expect(r.docs).toEqual([]);
    expect(r.stdout).not.toContain('kind:');
    expect(r.stderr).toContain('5 denied by authorization (403; --include-denied keeps them)');
    expect(r.stderr).toContain('denied requests left out, per subject (--include-denied grants them): mallory 4, bob 1');
    expect(r.code).toBe(0);
  });

  it('--include-denied grants them (the audit2rbac workflow) and lists the sensitive ones', async () => {
    const r = await gen([ev('mallory', 'list', '/api/v1/secrets', { resource: 'secrets' }, denied)], ['--include-denied']);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }]);
    expect(r.stderr).toMatch(/KAUDIT-S003 high read secrets \(get, list, watch\): mallory, ClusterRole kaudit-user\.mallory: list secrets \(1 request/);
  });

  it('--exclude-denied is still accepted (now the default)', async () => {
    const r = await gen([ev('mallory', 'list', '/api/v1/secrets', { resource: 'secrets' }, denied)], ['--exclude-denied']);
    expect(r.code).toBe(0);
    expect(r.docs).toEqual([]);
  });
});

describe('the defaults every user has are data (src/rules/data/rbac-defaults.yaml), judged by the authorizer', () => {
  it('leaves out exactly what the bootstrap bindings allow: get /healthz, /version, discovery, self reviews, not /healthz/etcd, /livez/ping, /metrics or HEAD', async () => {
    const events = [
      ev('dev', 'get', '/healthz'),
      ev('dev', 'get', '/version'),
      ev('dev', 'get', '/apis/apps/v1'),
      ev('dev', 'get', '/openapi/v3/apis/apps/v1'),
      ev('dev', 'create', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { resource: 'selfsubjectaccessreviews', apiGroup: 'authorization.k8s.io' }),
      ev('dev', 'get', '/healthz/etcd'),
      ev('dev', 'get', '/livez/ping'),
      ev('dev', 'get', '/metrics'),
      ev('dev', 'head', '/healthz'),
      ev('dev', 'post', '/version'),
    ];
    const r = await gen(events);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([
      { nonResourceURLs: ['/healthz'], verbs: ['head'] },
      { nonResourceURLs: ['/healthz/etcd', '/livez/ping', '/metrics'], verbs: ['get'] },
      { nonResourceURLs: ['/version'], verbs: ['post'] },
    ]);
    expect(r.stderr).toContain('5 allowed to everyone by the default bootstrap bindings');
    // The self-check counts the requests left out as defaults too.
    expect(r.stderr).toMatch(/self-check: coverage 100%, 10 of 10 authorization checks .* \(10 requests, 5 of them allowed by the defaults/);
  });

  it('system:anonymous only gets what system:unauthenticated is bound to', async () => {
    const anon = (uri: string) => event({ auditID: `a${++n}`, user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, verb: 'get', requestURI: uri, objectRef: undefined });
    const r = await gen([anon('/version'), anon('/apis')], ['--include-system']);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([{ nonResourceURLs: ['/apis'], verbs: ['get'] }]);
  });

  it('--include-discovery keeps them', async () => {
    const r = await gen([ev('dev', 'get', '/version')], ['--include-discovery']);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([{ nonResourceURLs: ['/version'], verbs: ['get'] }]);
  });

  it('the self-check fails (exit 2) when a left-out default request is not allowed after all', () => {
    const rec = (o: Record<string, unknown>): AuditRecord => normalizeValue(event(o), '') as AuditRecord;
    const s = rbacGen.init({ ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 5 });
    rbacGen.add(s, rec({ auditID: '1', verb: 'get', requestURI: '/version', objectRef: undefined }));
    const sub = [...s.subjects.map.values()][0]!;
    expect(sub.defaults.size).toBe(1);
    // Pretend the request was /version/x: the defaults do not allow it, nothing generated does.
    const k = [...sub.defaults.values()][0]!;
    const broken = selfCheck([{ subject: sub.subject, keys: [], defaults: [{ ...k, nonResourceURL: '/version/x' }] }], []);
    expect(broken.coverage).toBe(0);
    expect(broken.uncovered).toEqual([{ subject: 'alice', check: 'default', verb: 'get', apiGroup: '', resource: '', namespace: '', name: '', nonResourceURL: '/version/x', requests: 1 }]);
  });
});

describe('impersonation: pinned to who was impersonated, every check of it', () => {
  const as = (impersonatedUser: Record<string, unknown>, uri = '/api/v1/namespaces/apps/pods', ref: Record<string, string> | null = { resource: 'pods', namespace: 'apps' }) =>
    event({ auditID: `i${++n}`, user: { username: 'carol', groups: ['system:authenticated'] }, impersonatedUser, verb: ref ? 'list' : 'get', requestURI: uri, objectRef: ref ? { apiVersion: 'v1', ...ref } : undefined });

  it('users, groups, userextras, uids and service accounts, always with resourceNames; never system:authenticated', async () => {
    const r = await gen(
      [
        as({ username: 'bob', groups: ['devs', 'system:authenticated'], uid: '42', extra: { scopes: ['view', 'edit'] } }),
        as({ username: 'system:serviceaccount:apps:reporter', groups: ['system:serviceaccounts', 'system:serviceaccounts:apps', 'system:authenticated'] }),
        as({ username: 'dave', groups: ['system:authenticated'] }),
      ],
      ['--user', 'carol'],
    );
    expect(r.docs.map((d) => `${d.kind} ${d.metadata.namespace ?? ''}`)).toEqual(['ClusterRole ', 'ClusterRoleBinding ', 'Role apps', 'RoleBinding apps']);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([
      { apiGroups: [''], resources: ['groups'], resourceNames: ['devs'], verbs: ['impersonate'] },
      { apiGroups: [''], resources: ['users'], resourceNames: ['bob', 'dave'], verbs: ['impersonate'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['uids'], resourceNames: ['42'], verbs: ['impersonate'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['userextras/scopes'], resourceNames: ['edit', 'view'], verbs: ['impersonate'] },
    ]);
    expect(rulesOf(r.docs, 'Role', 'apps')).toEqual([{ apiGroups: [''], resources: ['serviceaccounts'], resourceNames: ['reporter'], verbs: ['impersonate'] }]);
    expect(r.stderr).toMatch(/KAUDIT-S006 critical impersonate users, groups or service accounts: carol, ClusterRole kaudit-user\.carol: /);
    expect(r.stderr).toMatch(/7 of 7 authorization checks .*\(0 requests, 0 of them allowed by the defaults; 7 impersonate\/bind\/escalate checks\)/);
    // Every impersonate rule is listed as sensitive, the userextras/KEY one too (impersonation.go checks userextras/KEY).
    expect(r.stderr).toMatch(/KAUDIT-S006 critical impersonate users, groups or service accounts: carol, ClusterRole kaudit-user\.carol: impersonate userextras\/scopes\.authentication\.k8s\.io \[edit, view\]/);
  });

  it('the impersonator needs impersonate even when the impersonated calls were only discovery or were denied', async () => {
    const r = await gen([as({ username: 'bob', groups: ['system:authenticated'] }, '/apis', null), { ...as({ username: 'eve', groups: ['system:authenticated'] }), ...denied }]);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([{ apiGroups: [''], resources: ['users'], resourceNames: ['bob', 'eve'], verbs: ['impersonate'] }]);
    expect(r.docs.filter((d) => d.kind.endsWith('Binding')).map((d) => d.subjects[0].name)).toEqual(['carol']);
  });

  it('the impersonated identity gets what its requests needed', async () => {
    const r = await gen([as({ username: 'bob', groups: ['system:authenticated'] })]);
    const bob = r.docs.filter((d) => d.kind === 'Role' && d.metadata.name === 'kaudit-user.bob');
    expect(bob.flatMap((d) => d.rules)).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
  });
});

describe('bind and escalate (escalation_check.go)', () => {
  const body = (kind: string, ns: string, ref: [string, string]) => ({ level: 'Request', requestObject: { apiVersion: 'rbac.authorization.k8s.io/v1', kind, metadata: { name: 'b', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: ref[0], name: ref[1] }, subjects: [{ kind: 'User', name: 'x', apiGroup: 'rbac.authorization.k8s.io' }] } });
  it('a RoleBinding write grants bind on exactly the role it bound, in the binding namespace (a ClusterRole through a Role)', async () => {
    const r = await gen([
      ev('dave', 'create', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name: 'b' }, body('RoleBinding', 'team', ['ClusterRole', 'view'])),
      ev('dave', 'create', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', name: 'c' }, body('ClusterRoleBinding', '', ['ClusterRole', 'edit'])),
    ]);
    expect(rulesOf(r.docs, 'Role', 'team')).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['view'], verbs: ['bind'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
    ]);
    expect(rulesOf(r.docs, 'ClusterRole')).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings'], verbs: ['create'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['edit'], verbs: ['bind'] },
    ]);
  });

  it('without a logged body it says so instead of guessing', async () => {
    const r = await gen([ev('dave', 'create', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name: 'b' })]);
    expect(rulesOf(r.docs, 'Role', 'team')).toEqual([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] }]);
    expect(r.stderr).toContain('note: dave: 1 RBAC write whose bind/escalate check could not be judged (1 request body not logged (audit level Metadata)); the generated policy grants no bind or escalate for it');
    const rep = JSON.parse((await gen([ev('dave', 'create', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name: 'b' })], ['-o', 'report'])).stdout);
    expect(rep.escalationUnchecked).toEqual([{ subject: 'dave', requests: 1, reasons: { 'request body not logged (audit level Metadata)': 1 }, examples: [expect.any(String)] }]);
  });

  it('writing a Role with rules the writer would not hold needs escalate (unpinned for a create, pinned for an update); rules it holds need none', async () => {
    const role = (verb: string, name: string, rules: unknown[]) =>
      ev('dave', verb, `/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles${verb === 'create' ? '' : `/${name}`}`, { resource: 'roles', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name }, { level: 'Request', requestObject: { kind: 'Role', metadata: { name, namespace: 'team' }, rules } });
    const r = await gen([
      role('create', 'app', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }]),
      role('update', 'ops', [{ apiGroups: [''], resources: ['pods'], verbs: ['delete'] }]),
      role('update', 'mine', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['update'] }]),
    ]);
    // The create's escalate check has no name, so it cannot be pinned; it also covers the update of ops.
    expect(rulesOf(r.docs, 'Role', 'team')).toEqual([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['create', 'update', 'escalate'] }]);
    const upd = await gen([role('update', 'ops', [{ apiGroups: [''], resources: ['pods'], verbs: ['delete'] }]), role('update', 'mine', [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['update'] }])]);
    expect(rulesOf(upd.docs, 'Role', 'team')).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], resourceNames: ['ops'], verbs: ['escalate'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['update'] },
    ]);
    expect(upd.stderr).toMatch(/KAUDIT-S004 critical escalate: grant permissions one does not hold: dave, Role team\/kaudit-user\.dave: escalate roles\.rbac\.authorization\.k8s\.io \[ops\] in team/);
  });

  it('an aggregationRule needs every permission on create (hasAggregationRule); on update only if it changed (hasAggregationRuleChanged), which is reported, not guessed', async () => {
    const agg = { clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-reader': 'true' } }] };
    const write = (verb: string) =>
      ev('dave', verb, `/apis/rbac.authorization.k8s.io/v1/clusterroles${verb === 'create' ? '' : '/reader'}`, { resource: 'clusterroles', apiGroup: 'rbac.authorization.k8s.io', name: 'reader' }, { level: 'Request', requestObject: { kind: 'ClusterRole', metadata: { name: 'reader', labels: { team: 'x' } }, aggregationRule: agg, rules: [] } });
    const created = await gen([write('create')]);
    expect(rulesOf(created.docs, 'ClusterRole')).toEqual([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['create', 'escalate'] }]);
    for (const verb of ['update', 'patch']) {
      const updated = await gen([write(verb)]);
      // Relabelling an aggregated ClusterRole keeps its aggregationRule: the API server asks for no escalate.
      expect(rulesOf(updated.docs, 'ClusterRole')).toEqual([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: [verb] }]);
      expect(updated.stderr).toContain('note: dave: 1 RBAC write whose bind/escalate check could not be judged (1 update of a ClusterRole carrying an aggregationRule');
      expect(updated.stderr).not.toContain('KAUDIT-S004');
    }
  });

  it('a writer holding */scale holds deployments/scale: no escalate (resourceCoversAll in policy_comparator.go)', async () => {
    const dir = writeFiles(tmpDir(), {
      'a.log': jsonl([
        ev('dave', 'update', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/scaler', { resource: 'roles', apiGroup: 'rbac.authorization.k8s.io', namespace: 'team', name: 'scaler' }, { level: 'Request', requestObject: { kind: 'Role', metadata: { name: 'scaler', namespace: 'team' }, rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'] }] } }),
      ]),
      'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: scale-anything}
rules:
- {apiGroups: [apps], resources: ["*/scale"], verbs: [update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: dave-scale}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: scale-anything}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: dave}]
`,
    });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--existing', join(dir, 'rbac.yaml')]);
    expect(r.code).toBe(0);
    const docs = await parseValid(r.stdout, 'star-scale');
    expect(docs.flatMap((d) => d.rules ?? [])).toEqual([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['update'] }]);
    expect(r.stderr).not.toContain('KAUDIT-S004');
  });
});

describe('object names: collision-free by construction, appliable', () => {
  it('service accounts that would clean up alike get different names and files', async () => {
    const out = join(tmpDir(), 'out');
    const sa = (u: string) => event({ auditID: `s${++n}`, user: { username: u, groups: ['system:authenticated'] }, verb: 'get', requestURI: '/api/v1/namespaces/a/pods/p', objectRef: { resource: 'pods', namespace: 'a', name: 'p', apiVersion: 'v1' } });
    const dir = writeFiles(tmpDir(), { 'a.log': jsonl([sa('system:serviceaccount:team-a:deployer'), sa('system:serviceaccount:team:a-deployer'), sa('kaudit-sa.team-a.deployer'), sa('Alice'), sa('alice')]) });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--out-dir', out]);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['kaudit-sa.team-a.deployer.yaml', 'kaudit-sa.team.a-deployer.yaml', 'kaudit-user-alice.ifwgsy3f.yaml', 'kaudit-user.alice.yaml', 'kaudit-user.kaudit-sa.team-a.deployer.yaml']);
    for (const f of readdirSync(out)) await parseValid(readFileSync(join(out, f), 'utf8'), f);
  });

  it('hostile user names become safe object and file names, and stay exact in subjects', async () => {
    const evil = '../../etc/passwd\n"x": {y}';
    const dir = writeFiles(tmpDir(), { 'a.log': jsonl([event({ user: { username: evil, groups: ['system:authenticated'] } })]) });
    const out = join(tmpDir(), 'out');
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--out-dir', out]);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^kaudit-user-etc-passwd-x-y\.[a-z2-7]+\.yaml$/);
    const docs = await parseValid(readFileSync(join(out, files[0]!), 'utf8'), 'evil');
    const binding = docs.find((d) => d.kind === 'RoleBinding')!;
    expect(binding.subjects[0].name).toBe(evil);
  });
});

describe('--existing', () => {
  it('writes only what the export does not already allow, judged per check', async () => {
    const dir = writeFiles(tmpDir(), {
      'a.log': jsonl([
        ev('dev', 'get', '/api/v1/nodes/n1', { resource: 'nodes', name: 'n1' }),
        ev('dev', 'list', '/api/v1/pods', { resource: 'pods' }),
        ev('dev', 'get', '/metrics'),
        event({ auditID: 'x1', user: { username: 'dev', groups: ['system:authenticated'] }, impersonatedUser: { username: 'bob', groups: ['ops', 'system:authenticated'] }, verb: 'get', requestURI: '/api/v1/nodes/n1', objectRef: { resource: 'nodes', name: 'n1', apiVersion: 'v1' } }),
      ]),
      'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- {apiGroups: [""], resources: [nodes, pods], verbs: [get, list]}
- {apiGroups: [""], resources: [users], resourceNames: [bob], verbs: [impersonate]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: dev}, {kind: Group, apiGroup: rbac.authorization.k8s.io, name: ops}]
`,
    });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--existing', join(dir, 'rbac.yaml'), '-o', 'report']);
    const rep = JSON.parse(r.stdout);
    expect(rep.alreadyGranted).toBe(3);
    expect(rep.policies.map((p: { subject: { name: string } }) => p.subject.name)).toEqual(['dev']);
    // bob's get nodes is allowed through group ops; dev still needs impersonate groups/ops.
    expect(rep.policies[0].cluster.map((e: { rule: unknown }) => e.rule)).toEqual([
      { apiGroups: [''], resources: ['groups'], resourceNames: ['ops'], verbs: ['impersonate'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
    writeFiles(dir, { 'more.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n' });
    const r2 = await runCli(['rbac-gen', join(dir, 'a.log'), '--existing', join(dir, 'rbac.yaml'), '--existing', join(dir, 'more.yaml')]);
    expect(r2.stderr).toMatch(/note: --existing: ignored objects that are not RBAC: 1 ConfigMap/);
  });

  it('usage errors name the flag', async () => {
    expect((await runCli(['rbac-gen', 'fixtures/mini/mini.jsonl', '--serviceaccount', 'deployer'])).stderr).toMatch(/--serviceaccount: "deployer" is not NAMESPACE:NAME/);
    expect((await runCli(['rbac-gen', 'fixtures/mini/mini.jsonl', '--scope', 'galaxy'])).stderr).toMatch(/--scope <scope>.*Allowed choices are namespaced, cluster/s);
    expect((await runCli(['rbac-gen', 'fixtures/mini/mini.jsonl', '--existing', 'missing.yaml'])).code).toBe(2);
  });
});

describe('the self-check', () => {
  it('reports what a policy fails to allow', () => {
    const rec = (o: Record<string, unknown>): AuditRecord => normalizeValue(event(o), '') as AuditRecord;
    const o: RbacGenOptions = { ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 5 };
    const s = rbacGen.init(o);
    rbacGen.add(s, rec({ auditID: '1', verb: 'get', requestURI: '/api/v1/namespaces/a/pods/p', objectRef: { resource: 'pods', namespace: 'a', name: 'p', apiVersion: 'v1' } }));
    rbacGen.add(s, rec({ auditID: '2', verb: 'list', requestURI: '/api/v1/namespaces/a/secrets', objectRef: { resource: 'secrets', namespace: 'a', apiVersion: 'v1' } }));
    // finish() drains the subjects: keep the aggregate to judge again.
    const sub = [...s.subjects.map.values()][0]!;
    const rep = rbacGen.finish(s, { input: NO_INPUT });
    expect(rep.selfCheck).toMatchObject({ checks: 2, requests: 2, allowed: 2, coverage: 100, uncovered: [] });
    const policies = [...rep.policies];
    const role = policies[0]!.objects.find((x) => x.kind === 'Role')!;
    role.rules = role.rules!.filter((x) => !x.resources!.includes('secrets'));
    const checked = { subject: sub.subject, keys: [...sub.keys.values()], defaults: [] };
    const broken = selfCheck([checked], policies);
    expect(broken.coverage).toBe(50);
    expect(broken.uncovered).toEqual([{ subject: 'alice', check: 'request', verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'a', name: '', nonResourceURL: '', requests: 1 }]);
    // One subject at a time (what generate() runs) judges the same.
    const one = new SelfChecker();
    one.subject(checked, policies);
    expect(one.result()).toEqual(broken);
  });
});

const DEMO = join(__dirname, '..', '..', '..', 'shared', 'corpus', 'audit2rbac', 'demo.log');
describe.skipIf(!existsSync(DEMO))('the audit2rbac demo log', () => {
  it('by default grants what was allowed and the impersonation it took; --include-denied adds the 403s', async () => {
    const r = await runCli(['rbac-gen', DEMO, '--include-system']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage 100%/);
    expect(r.stderr).toMatch(/11 denied by authorization/);
    const docs = await parseValid(r.stdout, 'audit2rbac');
    const imp = docs.filter((d) => d.metadata.name === 'kaudit-user.system-admin' || d.metadata.name.startsWith('kaudit-user-system-admin')).flatMap((d) => d.rules ?? []);
    expect(imp).toContainEqual({ apiGroups: [''], resources: ['users'], resourceNames: ['alice', 'bob'], verbs: ['impersonate'] });
    expect(imp).toContainEqual({ apiGroups: [''], resources: ['serviceaccounts'], resourceNames: ['sa1'], verbs: ['impersonate'] });
    const all = await runCli(['rbac-gen', DEMO, '--include-system', '--include-denied']);
    const subjects = new Set((await parseValid(all.stdout, 'audit2rbac-denied')).filter((d) => d.kind.endsWith('Binding')).map((d) => d.subjects[0].name));
    expect([...subjects].sort()).toEqual(['alice', 'bob', 'sa1', 'system:admin']);
  });
});

describe('the subjects rbac-gen writes for', () => {
  it('--actor NAME writes exactly what --user NAME does: a policy for NAME only, its impersonations as impersonate rules', async () => {
    const user = await runCli(['rbac-gen', 'fixtures/sample', '--user', 'alice@example.com', '-q']);
    const actor = await runCli(['rbac-gen', 'fixtures/sample', '--actor', 'alice@example.com', '-q']);
    expect(actor.code).toBe(0);
    expect(actor.stdout).toBe(user.stdout);
    const subjects = new Set(
      yaml
        .loadAll(actor.stdout)
        .flatMap((d: any) => (d?.subjects ?? []).map((s: any) => `${s.kind} ${s.name}`)),
    );
    // alice impersonated apps/reporter twice: that is alice's impersonate rule, not a policy for the reporter.
    expect([...subjects]).toEqual(['User alice@example.com']);
    expect(actor.stdout).toContain('  resources: ["serviceaccounts"]\n  resourceNames: ["reporter"]\n  verbs: ["impersonate"]\n');
  });
});
