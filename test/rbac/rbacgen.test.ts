import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { validateRbacObject } from '../../src/rbac/validate.js';
import { rbacGen, type RbacGenOptions } from '../../src/analyses/rbacgen/index.js';
import { DEFAULT_GENERATE, toPlainObject } from '../../src/rbac/generate.js';
import { Authorizer } from '../../src/rbac/authorizer.js';
import { addObject, emptySnapshot } from '../../src/rbac/load.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { Rng } from '../../src/gen/rng.js';
import { RESOURCE_VERBS } from '../../src/rules/verbs.js';
import { isClusterScoped } from '../../src/rules/scope.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };

/** Parses rbac-gen YAML output and checks every object is valid RBAC. Returns the objects. */
function parseValid(text: string): Record<string, unknown>[] {
  const docs = yaml.loadAll(text).filter((d) => d !== null) as Record<string, unknown>[];
  for (const d of docs) expect(validateRbacObject(d)).toEqual([]);
  return docs;
}

describe('rbac-gen on the bundled sample', () => {
  it('golden YAML (defaults)', async () => {
    const r = await runCli(['rbac-gen', 'fixtures/sample']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/self-check: coverage 100%, (\d+) of \1 requests allowed/);
    parseValid(r.stdout);
    await expect(r.stdout).toMatchFileSnapshot('../golden/rbac-gen.sample.yaml');
  });

  it('golden YAML with --explain for one service account', async () => {
    const r = await runCli(['rbac-gen', 'fixtures/sample', '--serviceaccount', 'ci:deployer', '--explain']);
    expect(r.stdout).toMatch(/# \d+ requests, 2026-03-0\d.* … .*; e\.g\. auditID [0-9a-f-]+, [0-9a-f-]+\n- apiGroups/);
    parseValid(r.stdout);
    await expect(r.stdout).toMatchFileSnapshot('../golden/rbac-gen.deployer.explain.yaml');
  });

  it.each([
    [[]],
    [['--verbs', 'grouped']],
    [['--wildcards', 'safe']],
    [['--resource-names']],
    [['--scope', 'cluster']],
    [['--include-system', '--include-discovery']],
    [['--exclude-denied', '--verbs', 'grouped', '--resource-names', '--scope', 'cluster']],
    [['--group', 'developers']],
  ])('every object is valid RBAC and the self-check passes: %j', async (flags) => {
    const r = await runCli(['rbac-gen', 'fixtures/sample', ...flags]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage 100%/);
    const docs = parseValid(r.stdout);
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect((d.metadata as { labels: Record<string, string> }).labels['app.kubernetes.io/managed-by']).toBe('kaudit');
  });

  it('-o json is a v1 List of the same objects', async () => {
    const y = parseValid((await runCli(['rbac-gen', 'fixtures/sample'])).stdout);
    const j = JSON.parse((await runCli(['rbac-gen', 'fixtures/sample', '-o', 'json'])).stdout);
    expect(j.kind).toBe('List');
    expect(j.items).toEqual(y);
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
});

describe('rbac-gen gets right what other tools get wrong', () => {
  const ev = (o: Record<string, unknown>, i: number): Record<string, unknown> => event({ auditID: `e${i}`, user: { username: 'dev', groups: ['system:authenticated'] }, ...o });
  const cases = [
    { verb: 'get', objectRef: { resource: 'nodes', name: 'n1', apiVersion: 'v1' }, requestURI: '/api/v1/nodes/n1' },
    { verb: 'get', objectRef: { resource: 'namespaces', name: 'team', namespace: 'team', apiVersion: 'v1' }, requestURI: '/api/v1/namespaces/team' },
    { verb: 'list', objectRef: { resource: 'pods', apiVersion: 'v1' }, requestURI: '/api/v1/pods?limit=500' },
    { verb: 'create', objectRef: { resource: 'configmaps', namespace: 'team', name: 'cm', apiVersion: 'v1' }, requestURI: '/api/v1/namespaces/team/configmaps?fieldManager=kubectl-create' },
    { verb: 'get', objectRef: { resource: 'configmaps', namespace: 'team', name: 'cm', apiVersion: 'v1' }, requestURI: '/api/v1/namespaces/team/configmaps/cm' },
    { verb: 'get', objectRef: undefined, requestURI: '/metrics?format=prom' },
    { verb: 'get', objectRef: undefined, requestURI: '/apis?timeout=32s' },
    { verb: 'get', objectRef: { resource: 'secrets', namespace: 'team', name: 's', apiVersion: 'v1' }, requestURI: '/api/v1/namespaces/team/secrets/s', responseStatus: { code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid' } },
  ];

  it('cluster-scoped resources and all-namespace lists go to a ClusterRole; names only where usable; no query strings; 403s count', async () => {
    const dir = writeFiles(tmpDir(), { 'a.log': jsonl(cases.map(ev)) });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--resource-names']);
    const docs = parseValid(r.stdout);
    const cr = docs.find((d) => d.kind === 'ClusterRole') as { rules: Record<string, string[]>[] };
    const role = docs.find((d) => d.kind === 'Role') as { rules: Record<string, string[]>[]; metadata: { namespace: string } };
    expect(cr.rules).toEqual([
      { apiGroups: [''], resources: ['namespaces'], resourceNames: ['team'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], resourceNames: ['n1'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ]);
    expect(role.metadata.namespace).toBe('team');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cm'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['s'], verbs: ['get'] },
    ]);
    expect(r.stdout).not.toMatch(/\/apis/);
    expect(r.stdout).not.toContain('?');
  });

  it('--exclude-denied leaves the 403 out', async () => {
    const dir = writeFiles(tmpDir(), { 'a.log': jsonl(cases.map(ev)) });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--exclude-denied']);
    expect(r.stdout).not.toContain('secrets');
    expect(r.stderr).toMatch(/1 denied \(--exclude-denied\)/);
  });

  it('an impersonator is granted impersonate on whom it impersonated', async () => {
    const dir = writeFiles(tmpDir(), {
      'a.log': jsonl([
        event({ auditID: 'i1', user: { username: 'alice', groups: [] }, impersonatedUser: { username: 'system:serviceaccount:apps:reporter', groups: [] }, objectRef: { resource: 'pods', namespace: 'apps', apiVersion: 'v1' } }),
        event({ auditID: 'i2', user: { username: 'alice', groups: [] }, impersonatedUser: { username: 'bob', groups: [] }, objectRef: { resource: 'pods', namespace: 'apps', apiVersion: 'v1' } }),
      ]),
    });
    const all = JSON.parse((await runCli(['rbac-gen', join(dir, 'a.log'), '-o', 'report'])).stdout);
    expect(all.policies.map((p: { subject: { name: string } }) => p.subject.name).sort()).toEqual(['alice', 'bob', 'reporter']);
    // --user alice selects her impersonated requests too, and writes a policy for her alone.
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--user', 'alice', '-o', 'report']);
    const rep = JSON.parse(r.stdout);
    expect(rep.policies).toHaveLength(1);
    const alice = rep.policies[0];
    expect(alice.namespaces).toEqual([{ namespace: 'apps', rules: [expect.objectContaining({ rule: { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] } })] }]);
    expect(alice.cluster.map((e: { rule: unknown }) => e.rule)).toEqual([{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }]);
    expect(rep.selfCheck.coverage).toBe(100);
  });

  it('hostile user names become safe object and file names, and stay exact in subjects', async () => {
    const evil = '../../etc/passwd\n"x": {y}';
    const dir = writeFiles(tmpDir(), { 'a.log': jsonl([event({ user: { username: evil, groups: [] } })]) });
    const out = join(tmpDir(), 'out');
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--out-dir', out]);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[a-z0-9-]+\.yaml$/);
    const docs = parseValid(readFileSync(join(out, files[0]!), 'utf8'));
    const binding = docs.find((d) => d.kind === 'RoleBinding') as { subjects: { name: string }[] };
    expect(binding.subjects[0]!.name).toBe(evil);
  });

  it('--existing writes only what the export does not already allow', async () => {
    const dir = writeFiles(tmpDir(), {
      'a.log': jsonl(cases.map(ev)),
      'rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [nodes, namespaces, pods], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: dev}]
`,
    });
    const r = await runCli(['rbac-gen', join(dir, 'a.log'), '--existing', join(dir, 'rbac.yaml'), '-o', 'report']);
    const rep = JSON.parse(r.stdout);
    expect(rep.alreadyGranted).toBe(3);
    expect(r.stderr).not.toMatch(/ignored/);
    writeFiles(dir, { 'more.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n' });
    const r2 = await runCli(['rbac-gen', join(dir, 'a.log'), '--existing', join(dir, 'rbac.yaml'), '--existing', join(dir, 'more.yaml')]);
    expect(r2.stderr).toMatch(/note: --existing: ignored objects that are not RBAC: 1 ConfigMap/);
    expect(rep.policies[0].cluster.map((e: { rule: unknown }) => e.rule)).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
  });

  it('usage errors name the flag', async () => {
    expect((await runCli(['rbac-gen', 'fixtures/mini/mini.jsonl', '--serviceaccount', 'deployer'])).stderr).toMatch(/--serviceaccount: "deployer" is not NAMESPACE:NAME/);
    expect((await runCli(['rbac-gen', 'fixtures/mini/mini.jsonl', '--scope', 'galaxy'])).stderr).toMatch(/--scope <scope>.*Allowed choices are namespaced, cluster/s);
    expect((await runCli(['rbac-gen', 'fixtures/mini/mini.jsonl', '--existing', 'missing.yaml'])).code).toBe(2);
  });
});

// ---------- properties on seeded random request sets ----------

const RESOURCES: [string, string, string][] = [
  ['', 'pods', ''], ['', 'pods', 'log'], ['', 'pods', 'exec'], ['', 'secrets', ''], ['', 'configmaps', ''],
  ['apps', 'deployments', ''], ['apps', 'deployments', 'scale'], ['', 'nodes', ''], ['', 'namespaces', ''],
  ['rbac.authorization.k8s.io', 'clusterroles', ''], ['batch', 'jobs', ''],
];
const NAMESPACES = ['a', 'b', 'c', ''];
const NAMES = ['x', 'y', 'z'];
const SUBJECTS = ['u1', 'u2', 'system:serviceaccount:a:bot'];

function randomRecords(seed: number, n: number): AuditRecord[] {
  const rng = new Rng(seed);
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const [group, resource, sub] = rng.pick(RESOURCES);
    const verb = rng.pick(RESOURCE_VERBS);
    const clusterScoped = isClusterScoped(group, resource);
    let ns = clusterScoped ? '' : rng.pick(NAMESPACES);
    if (resource === 'namespaces') ns = '';
    const named = ['get', 'update', 'patch', 'delete'].includes(verb) && !(sub === '' && verb === 'list');
    const name = named ? rng.pick(NAMES) : '';
    const r = normalizeValue(
      event({
        auditID: `p${seed}-${i}`,
        verb,
        user: { username: rng.pick(SUBJECTS), groups: [] },
        objectRef: { resource, apiGroup: group || undefined, subresource: sub || undefined, namespace: ns || undefined, name: name || undefined, apiVersion: 'v1' },
        requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 2, 0, 0, i)).toISOString(),
      }),
      '',
    );
    if (typeof r === 'string') throw new Error(r);
    out.push(r);
    if (rng.chance(0.1)) {
      const u = normalizeValue(event({ auditID: `p${seed}-${i}-u`, verb: rng.pick(['get', 'post']), user: { username: rng.pick(SUBJECTS), groups: [] }, objectRef: undefined, requestURI: rng.pick(['/metrics', '/logs/x', '/custom?q=1']) }), '');
      if (typeof u === 'string') throw new Error(u);
      out.push(u);
    }
  }
  return out;
}

function authorizerFor(recs: AuditRecord[], opts: Partial<RbacGenOptions> = {}) {
  const o: RbacGenOptions = { ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, excludeDenied: false, maxNames: 20, ...opts };
  const s = rbacGen.init(o);
  for (const r of recs) rbacGen.add(s, r);
  const rep = rbacGen.finish(s, { input: NO_INPUT });
  const snap = emptySnapshot();
  for (const p of rep.policies) for (const obj of p.objects) {
    expect(validateRbacObject(toPlainObject(obj))).toEqual([]);
    addObject(snap, toPlainObject(obj), 'gen');
  }
  return { rep, authz: new Authorizer(snap) };
}

describe('properties of generated policy (seeded)', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: the generated policy allows every observed request, in every strategy', (seed) => {
    const recs = randomRecords(seed, 120);
    for (const opts of [{}, { verbs: 'grouped' as const }, { wildcards: 'safe' as const }, { resourceNames: true }, { scope: 'cluster' as const }, { resourceNames: true, verbs: 'grouped' as const, scope: 'cluster' as const }]) {
      const { rep, authz } = authorizerFor(recs, opts);
      expect(rep.selfCheck.coverage).toBe(100);
      for (const r of recs) {
        const allowed = authz.allows({ user: r.subject, groups: [] }, { verb: r.verb, apiGroup: r.apiGroup, resource: r.resource, subresource: r.subresource, namespace: r.namespace, name: r.name, nonResourceURL: r.nonResourceURL }).allowed;
        expect(allowed, `${JSON.stringify(opts)}: ${r.subject} ${r.verb} ${r.resource}/${r.subresource} ${r.namespace}/${r.name} ${r.nonResourceURL}`).toBe(true);
      }
    }
  });

  it.each([11, 12, 13, 14, 15, 16])('seed %i: with --verbs exact --wildcards never it allows no (verb, resource, namespace) that was not observed', (seed) => {
    const recs = randomRecords(seed, 60);
    const { authz } = authorizerFor(recs);
    for (const user of SUBJECTS) {
      const mine = recs.filter((r) => r.subject === user && r.resource !== '');
      const seen = new Set(mine.map((r) => `${r.verb} ${r.apiGroup}/${r.resource}/${r.subresource} ${isClusterScoped(r.apiGroup, r.resource) ? '' : r.namespace}`));
      for (const verb of RESOURCE_VERBS) {
        for (const [group, resource, sub] of RESOURCES) {
          for (const ns of NAMESPACES) {
            const nsKey = isClusterScoped(group, resource) ? '' : ns;
            const observed = seen.has(`${verb} ${group}/${resource}/${sub} ${nsKey}`) || seen.has(`${verb} ${group}/${resource}/${sub} `);
            for (const name of ['', 'x']) {
              const allowed = authz.allows({ user, groups: [] }, { verb, apiGroup: group, resource, subresource: sub, namespace: ns, name, nonResourceURL: '' }).allowed;
              if (allowed) expect(observed, `${user} may ${verb} ${group}/${resource}/${sub} in "${ns}" but never did`).toBe(true);
            }
          }
        }
      }
    }
  });

  it('merge of partial folds equals one pass', () => {
    const recs = randomRecords(21, 200);
    const o: RbacGenOptions = { ...DEFAULT_GENERATE, includeSystem: false, includeDiscovery: false, excludeDenied: false, maxNames: 3, resourceNames: true };
    const whole = rbacGen.init(o);
    for (const r of recs) rbacGen.add(whole, r);
    for (const cut of [1, 50, 137, 199]) {
      const a = rbacGen.init(o);
      const b = rbacGen.init(o);
      recs.forEach((r, i) => rbacGen.add(i < cut ? a : b, r));
      expect(rbacGen.finish(rbacGen.merge(a, b), { input: NO_INPUT })).toEqual(rbacGen.finish(whole, { input: NO_INPUT }));
    }
  });
});

const DEMO = join(__dirname, '..', '..', '..', 'shared', 'corpus', 'audit2rbac', 'demo.log');
describe.skipIf(!existsSync(DEMO))('the audit2rbac demo log', () => {
  it('covers every request, including impersonated ones, with valid RBAC', async () => {
    const r = await runCli(['rbac-gen', DEMO, '--include-system']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/coverage 100%/);
    const docs = parseValid(r.stdout);
    const subjects = new Set(docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding').map((d) => (d.subjects as { name: string }[])[0]!.name));
    expect([...subjects].sort()).toEqual(['alice', 'bob', 'sa1', 'system:admin']);
  });
});
