// Per-subject analyses with many distinct subjects (issue 15): rbac-gen (and drift, compliance)
// keep one aggregate per subject in a spilling map; with a --memory small enough to force spills,
// the output is exactly the bytes of an unbounded run, and no spill file is left behind.
import { describe, it, expect, afterEach } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { event, jsonl, runCli, tmpDir, writeFiles } from '../helpers.js';
import { resetLedger, spillCount } from '../../src/scale/ledger.js';
import { setBudget } from '../../src/scale/budget.js';
import { leftovers } from './spillkit.js';
import { subjectSortKey } from '../../src/analyses/rbacgen/index.js';
import { cmp } from '../../src/util/counter.js';

afterEach(() => setBudget(null));

const SUBJECTS = 400;

/**
 * Users and service accounts, each with a few requests over two days (named and unnamed, in
 * namespaces and cluster-wide, a denied one, a sensitive one), some impersonating another user,
 * some writing a RoleBinding (a bind check) or a Role (an escalate check); the same subject comes
 * back on the second day so that its aggregate is split across spilled runs.
 */
function log(): string {
  const events: Record<string, unknown>[] = [];
  let i = 0;
  for (const day of ['2026-03-02', '2026-03-03']) {
    for (let u = 0; u < SUBJECTS; u++) {
      const username = u % 5 === 0 ? `system:serviceaccount:ns-${u % 7}:sa-${u}` : `user-${u}@example.com`;
      const user = { username, groups: ['system:authenticated'] };
      const t = (k: number): string => `${day}T${String(10 + (u % 8)).padStart(2, '0')}:${String(u % 60).padStart(2, '0')}:0${k}.000000Z`;
      const at = (k: number) => ({ requestReceivedTimestamp: t(k), stageTimestamp: t(k) });
      const ns = `ns-${u % 7}`;
      events.push(event({ auditID: `id-${i++}`, user, verb: 'get', requestURI: `/api/v1/namespaces/${ns}/pods/p-${u}`, objectRef: { resource: 'pods', namespace: ns, name: `p-${u}`, apiVersion: 'v1' }, ...at(0) }));
      if (day === '2026-03-03' || u % 2 === 0) events.push(event({ auditID: `id-${i++}`, user, verb: 'list', requestURI: `/api/v1/namespaces/${ns}/secrets`, objectRef: { resource: 'secrets', namespace: ns, apiVersion: 'v1' }, ...at(1) }));
      if (u % 3 === 0) events.push(event({ auditID: `id-${i++}`, user, verb: 'list', requestURI: '/api/v1/nodes', objectRef: { resource: 'nodes', apiVersion: 'v1' }, ...at(2) }));
      if (u % 11 === 0) events.push(event({ auditID: `id-${i++}`, user, verb: 'delete', requestURI: `/api/v1/namespaces/${ns}/pods/q`, objectRef: { resource: 'pods', namespace: ns, name: 'q', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' }, ...at(3) }));
      if (u % 13 === 1) events.push(event({ auditID: `id-${i++}`, user: { username: `target-${u}`, groups: ['system:authenticated'] }, impersonatedUser: undefined, verb: 'get', requestURI: `/api/v1/namespaces/${ns}/configmaps/c`, objectRef: { resource: 'configmaps', namespace: ns, name: 'c', apiVersion: 'v1' }, ...at(4) }));
      if (u % 17 === 2) {
        events.push(event({ auditID: `id-${i++}`, user: { username: `target-${u}`, groups: ['system:authenticated'] }, impersonatedUser: undefined, verb: 'list', requestURI: `/api/v1/namespaces/${ns}/services`, objectRef: { resource: 'services', namespace: ns, apiVersion: 'v1' }, ...at(5) }));
      }
      if (u % 19 === 3) {
        const body = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `rb-${u}`, namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: `x-${u}`, apiGroup: 'rbac.authorization.k8s.io' }] };
        events.push(event({ auditID: `id-${i++}`, level: 'Request', user, verb: 'create', requestURI: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, objectRef: { resource: 'rolebindings', namespace: ns, apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' }, requestObject: body, responseStatus: { metadata: {}, code: 201 }, ...at(6) }));
      }
      if (u % 23 === 4) {
        const body = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: `r-${u}`, namespace: ns }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] };
        events.push(event({ auditID: `id-${i++}`, level: 'Request', user, verb: 'create', requestURI: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, objectRef: { resource: 'roles', namespace: ns, apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' }, requestObject: body, responseStatus: { metadata: {}, code: 201 }, ...at(7) }));
      }
    }
  }
  // Impersonation: the impersonator is the authenticated user, the request runs as the target.
  for (const e of events) {
    const name = (e.user as { username: string }).username;
    if (name.startsWith('target-')) {
      const u = Number(name.slice(7));
      e.impersonatedUser = { username: name, groups: ['system:authenticated'] };
      e.user = { username: `user-${u}@example.com`, groups: ['system:authenticated'] };
    }
  }
  return jsonl(events);
}

describe('rbac-gen with many distinct subjects', () => {
  const dir = writeFiles(tmpDir(), { 'audit.log': log() });
  const file = join(dir, 'audit.log');

  it.each([
    ['-o report', ['-o', 'report']],
    ['yaml --explain', ['--explain']],
    ['-o json --scope cluster --verbs grouped', ['-o', 'json', '--scope', 'cluster', '--verbs', 'grouped']],
    ['-o report --include-denied --resource-names --include-discovery', ['-o', 'report', '--include-denied', '--resource-names', '--include-discovery']],
  ])('%s: a tiny --memory spills and writes the same bytes (stdout and stderr), and leaves no spill file', async (_n, flags) => {
    resetLedger();
    const plain = await runCli(['rbac-gen', file, '--jobs', '1', ...flags]);
    expect(plain.code).toBe(0);
    expect(spillCount()).toBe(0);
    const spilled = await runCli(['rbac-gen', file, '--jobs', '1', '--memory', '8k', ...flags]);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.code).toBe(0);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(spilled.stderr).toBe(plain.stderr);
    expect(leftovers()).toEqual([]);
    if (flags.includes('report')) {
      const rep = JSON.parse(plain.stdout);
      // Every subject got a policy (the impersonators' impersonate permissions included), and the self-check judged them all.
      expect(rep.policies.length).toBeGreaterThan(SUBJECTS);
      expect(rep.selfCheck.coverage).toBe(100);
      // Impersonate, bind and escalate checks are in there too.
      expect(rep.selfCheck.checks).toBeGreaterThan(rep.selfCheck.requests);
      expect(JSON.stringify(rep.policies)).toContain('"impersonate"');
      expect(JSON.stringify(rep.policies)).toContain('"bind"');
      expect(rep.sensitive.length).toBeGreaterThan(50);
    }
  }, 120_000);

  it('--out-dir writes the same files with a tiny --memory', async () => {
    const a = join(tmpDir(), 'a');
    const b = join(tmpDir(), 'b');
    expect((await runCli(['rbac-gen', file, '-q', '--out-dir', a])).code).toBe(0);
    resetLedger();
    expect((await runCli(['rbac-gen', file, '-q', '--out-dir', b, '--memory', '8k'])).code).toBe(0);
    expect(spillCount()).toBeGreaterThan(0);
    const la = readdirSync(a).sort();
    expect(readdirSync(b).sort()).toEqual(la);
    expect(la.length).toBeGreaterThan(SUBJECTS);
  }, 60_000);

  it('a map too large to keep its policies but under the budget is read twice from memory: no spill, the same bytes', async () => {
    // The subjects' estimated bytes, as the reducer counts them: a budget of twice that holds them
    // all (no spill) but not their policies (more than a quarter of it), so generate() reads the
    // map twice from memory (readTwice) and hands the policies out as a LazyList.
    const { rbacGen } = await import('../../src/analyses/rbacgen/index.js');
    const { generate } = await import('../../src/rbac/generate.js');
    const { normalizeValue } = await import('../../src/normalize/index.js');
    const { LazyList } = await import('../../src/scale/lazy.js');
    const { emptyAccounting } = await import('../../src/pipeline.js');
    const opts = { includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 20, scope: 'namespaced' as const, verbs: 'exact' as const, wildcards: 'never' as const, resourceNames: false };
    resetLedger();
    setBudget(1 << 30);
    const st = rbacGen.init(opts);
    for (const line of log().split('\n').filter(Boolean)) rbacGen.add(st, normalizeValue(JSON.parse(line), '') as never);
    const held = st.subjects.held;
    setBudget(2 * held);
    const rep = generate(st, emptyAccounting());
    expect(rep.policies).toBeInstanceOf(LazyList);
    expect(spillCount()).toBe(0);
    expect([...rep.policies].length).toBe(rep.policies.length);
    expect(leftovers()).toEqual([]);
    for (const flags of [['-o', 'report', '--include-denied', '--resource-names'], ['--explain']]) {
      resetLedger();
      setBudget(null);
      const plain = await runCli(['rbac-gen', file, '--jobs', '1', ...flags]);
      resetLedger();
      const twice = await runCli(['rbac-gen', file, '--jobs', '1', '--memory', String(2 * held), ...flags]);
      expect(spillCount()).toBe(0);
      expect(twice.code).toBe(0);
      expect(twice.stdout).toBe(plain.stdout);
      expect(twice.stderr).toBe(plain.stderr);
    }
  }, 120_000);

  it('sensitiveTop keeps the first sensitive findings of the full, sorted list, and sensitiveCount still counts them all', async () => {
    const { rbacGen } = await import('../../src/analyses/rbacgen/index.js');
    const { generate, sensitiveCount } = await import('../../src/rbac/generate.js');
    const { normalizeValue } = await import('../../src/normalize/index.js');
    const { emptyAccounting } = await import('../../src/pipeline.js');
    const opts = { includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 20, scope: 'namespaced' as const, verbs: 'exact' as const, wildcards: 'never' as const, resourceNames: false };
    const lines = log().split('\n').filter(Boolean);
    const run = (top?: number) => {
      resetLedger();
      const st = rbacGen.init(opts);
      for (const line of lines) rbacGen.add(st, normalizeValue(JSON.parse(line), '') as never);
      return generate(st, emptyAccounting(), top === undefined ? {} : { sensitiveTop: top });
    };
    for (const budget of [null, 8192]) {
      setBudget(budget);
      const all = run();
      const full = [...all.sensitive];
      expect(full.length).toBeGreaterThan(50);
      expect(sensitiveCount(all)).toBe(full.length);
      for (const top of [0, 7, 50]) {
        const some = run(top);
        expect(some.sensitive).toEqual(full.slice(0, top));
        expect(sensitiveCount(some)).toBe(full.length);
        [...some.policies];
      }
      [...all.policies];
      expect(leftovers()).toEqual([]);
    }
  }, 120_000);

  it('subjectSortKey orders subjects by kind, namespace, name (code units), NUL and prefixes included', () => {
    const parts = ['', 'a', 'a\u0000', 'a\u0000b', 'a\u0001', 'ab', 'b', '\u0000', 'é', 'z'];
    const subjects = [];
    for (const kind of ['ServiceAccount', 'User'] as const) for (const namespace of parts) for (const name of parts) subjects.push({ kind, namespace, name });
    const byFields = [...subjects].sort((x, y) => cmp(x.kind, y.kind) || cmp(x.namespace, y.namespace) || cmp(x.name, y.name));
    const byKey = [...subjects].sort((x, y) => cmp(subjectSortKey(x), subjectSortKey(y)));
    expect(byKey).toEqual(byFields);
    expect(new Set(subjects.map(subjectSortKey)).size).toBe(subjects.length);
  });
});

/**
 * An export that binds some of the log's users and service accounts (a Role, a ClusterRole with a
 * sensitive rule, a group binding, a binding to a role that is not there), a service account nobody
 * saw (dormant), and a User subject named like a service account's user name.
 */
function rbacExport(): string {
  const docs: string[] = [
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules:\n- apiGroups: [""]\n  resources: [pods, secrets, nodes]\n  verbs: [get, list]\n',
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: team-readers\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: reader\nsubjects:\n- kind: Group\n  apiGroup: rbac.authorization.k8s.io\n  name: team:a\n',
  ];
  for (let u = 0; u < SUBJECTS; u += 9) {
    const ns = `ns-${u % 7}`;
    const subject = u % 5 === 0 ? `- kind: ServiceAccount\n  name: sa-${u}\n  namespace: ${ns}\n` : `- kind: User\n  apiGroup: rbac.authorization.k8s.io\n  name: user-${u}@example.com\n`;
    docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r-${u}\n  namespace: ${ns}\nrules:\n- apiGroups: [""]\n  resources: [pods]\n  verbs: [get, list, delete]\n`);
    docs.push(`apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb-${u}\n  namespace: ${ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ${u % 2 ? 'ClusterRole' : 'Role'}\n  name: ${u % 2 ? 'reader' : `r-${u}`}\nsubjects:\n${subject}`);
  }
  docs.push('apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: dormant\n  namespace: ns-1\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: reader\nsubjects:\n- kind: ServiceAccount\n  name: nobody\n  namespace: ns-1\n- kind: User\n  apiGroup: rbac.authorization.k8s.io\n  name: system:serviceaccount:ns-0:sa-0\n');
  return docs.join('---\n');
}

describe('rbac-gen: denied requests of many distinct subjects (the counts per subject spill; issue 15)', () => {
  // Only denied requests: nothing else spills, so a spill here is the denied counts'. Names an
  // attacker picks: integer-like ones (a JSON object lists them first, in numeric order:
  // objectKeyOrder), `__proto__`, `constructor`, a non-index integer, a leading zero.
  const special = ['__proto__', 'constructor', '0', '7', '42', '4294967294', '4294967295', '007', '-1', '1e3', 'toString'];
  const names = [...special, ...Array.from({ length: 1500 }, (_, i) => `intruder-${i}@example.com`)];
  const events: Record<string, unknown>[] = [];
  let id = 0;
  names.forEach((username, i) => {
    // Subject i is denied 1 + i % 13 times (the top ten: ties broken by name), spread over the log.
    for (let k = 0; k <= i % 13; k++) {
      events.push(event({ auditID: `d-${id++}`, user: { username, groups: ['system:authenticated'] }, verb: 'get', requestURI: '/api/v1/namespaces/prod/secrets/db', objectRef: { resource: 'secrets', namespace: 'prod', name: 'db', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' }, requestReceivedTimestamp: `2026-03-02T10:00:00.${String(k).padStart(3, '0')}000Z`, stageTimestamp: `2026-03-02T10:00:00.${String(k).padStart(3, '0')}000Z` }));
    }
  });
  // Interleaved: a subject's requests are far apart, so that its count is split across runs.
  events.sort((a, b) => cmp(String(a.stageTimestamp) + String(a.auditID), String(b.stageTimestamp) + String(b.auditID)));
  const dir = writeFiles(tmpDir(), { 'denied.log': jsonl(events) });
  const file = join(dir, 'denied.log');

  it.each([
    ['-o report', ['-o', 'report', '--jobs', '1']],
    ['-o report --jobs 2', ['-o', 'report', '--jobs', '2']],
    ['yaml', ['--jobs', '1']],
  ])('%s: --memory 8k spills the counts and writes the same bytes (stdout and stderr), exact, and leaves no spill file', async (_n, flags) => {
    resetLedger();
    const plain = await runCli(['rbac-gen', file, ...flags]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(spillCount()).toBe(0);
    const spilled = await runCli(['rbac-gen', file, '--memory', '8k', ...flags]);
    expect(spilled.code, spilled.stderr).toBe(0);
    if (flags.includes('1')) expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(spilled.stderr).toBe(plain.stderr);
    expect(leftovers()).toEqual([]);
    // The stderr line: the ten most denied (most first, then by name), and an exact count of the rest.
    const expected = names.map((n, i) => [n, 1 + (i % 13)] as [string, number]).sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
    expect(plain.stderr).toContain(`denied requests left out, per subject (--include-denied grants them): ${expected.slice(0, 10).map(([n, c]) => `${n} ${c}`).join(', ')}, and ${names.length - 10} more subjects`);
    if (flags.includes('report')) {
      const rep = JSON.parse(plain.stdout);
      // Every subject, exact, in the order JavaScript enumerates the object's keys.
      expect(Object.keys(rep.deniedBySubject)).toEqual(Object.keys(Object.fromEntries([...names].sort(cmp).map((n) => [n, 0]))));
      expect(Object.entries(rep.deniedBySubject).sort((a, b) => cmp(a[0], b[0]))).toEqual(names.map((n, i) => [n, 1 + (i % 13)]).sort((a, b) => cmp(a[0] as string, b[0] as string)));
      expect(rep.leftOut['denied by authorization (403; --include-denied keeps them)']).toBe(events.length);
    }
  }, 120_000);
});

describe('drift and compliance with many distinct subjects', () => {
  // Half of the users carry the group team:a, so that the group's grants are used by many members.
  const events = log()
    .trim()
    .split('\n')
    .map((l, i) => {
      const e = JSON.parse(l);
      if (i % 2 === 0) e.user.groups = [...e.user.groups, 'team:a'];
      return JSON.stringify(e);
    });
  const dir = writeFiles(tmpDir(), { 'audit.log': events.join('\n') + '\n', 'rbac.yaml': rbacExport() });
  const file = join(dir, 'audit.log');
  const rbac = join(dir, 'rbac.yaml');

  // Every output format of both commands, and their gates (exit 1 and the stderr lines): drift's
  // and compliance's subjects, checks and renderers read the spilled lists, several times over.
  it.each([
    ['drift -o json', ['drift', '--rbac', rbac, '-o', 'json']],
    ['drift (table) --suggest', ['drift', '--rbac', rbac, '--suggest']],
    ['drift -o json --suggest', ['drift', '--rbac', rbac, '-o', 'json', '--suggest']],
    ['drift -o wide --fail-on red', ['drift', '--rbac', rbac, '-o', 'wide', '--fail-on', 'red']],
    ['drift -o markdown --max-unused 10', ['drift', '--rbac', rbac, '-o', 'markdown', '--max-unused', '10']],
    ['drift -o json --only-drift --include-system', ['drift', '--rbac', rbac, '-o', 'json', '--only-drift', '--include-system']],
    ['drift -o sarif', ['drift', '--rbac', rbac, '-o', 'sarif']],
    ['drift -o junit --fail-on sensitive', ['drift', '--rbac', rbac, '-o', 'junit', '--fail-on', 'sensitive']],
    ['compliance -o json', ['compliance', '--rbac', rbac, '-o', 'json', '--now', '2026-03-10T00:00:00Z']],
    ['compliance (html) --fail-on warn', ['compliance', '--rbac', rbac, '--now', '2026-03-10T00:00:00Z', '--fail-on', 'warn']],
    ['compliance -o markdown --period', ['compliance', '--rbac', rbac, '-o', 'markdown', '--now', '2026-03-10T00:00:00Z', '--period', '2026-03-01..2026-03-05']],
    ['compliance -o csv --min-score 90', ['compliance', '--rbac', rbac, '-o', 'csv', '--now', '2026-03-10T00:00:00Z', '--min-score', '90']],
    ['compliance -o table', ['compliance', '--rbac', rbac, '-o', 'table', '--now', '2026-03-10T00:00:00Z']],
    ['compliance -o wide --include-system', ['compliance', '--rbac', rbac, '-o', 'wide', '--now', '2026-03-10T00:00:00Z', '--include-system']],
  ])('%s: a tiny --memory spills and writes the same bytes and exit code, and leaves no spill file', async (_n, args) => {
    resetLedger();
    // compliance reads in one thread (it hashes its inputs); drift is told to.
    const one = args[0] === 'drift' ? ['--jobs', '1'] : [];
    const plain = await runCli([args[0]!, file, ...one, ...args.slice(1)]);
    expect([0, 1]).toContain(plain.code);
    expect(spillCount()).toBe(0);
    const spilled = await runCli([args[0]!, file, ...one, '--memory', '8k', ...args.slice(1)]);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.code).toBe(plain.code);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(spilled.stderr).toBe(plain.stderr);
    expect(leftovers()).toEqual([]);
    if (args.includes('--fail-on') || args.includes('--max-unused') || args.includes('--min-score')) expect(plain.code).toBe(1);
    if (args[0] === 'drift' && args.includes('json') && !args.includes('--only-drift')) {
      const rep = JSON.parse(plain.stdout);
      const kinds = new Set(rep.subjects.map((d: { subject: { kind: string } }) => d.subject.kind));
      // Users, service accounts and the group are all judged; the unseen service account is dormant; some requests are uncovered.
      expect([...kinds].sort()).toEqual(['Group', 'ServiceAccount', 'User']);
      expect(rep.summary.dormant).toBeGreaterThan(0);
      expect(rep.subjects.find((d: { subject: { kind: string; name: string } }) => d.subject.kind === 'Group').requests).toBeGreaterThan(0);
      expect(rep.summary.uncoveredRequests).toBeGreaterThan(0);
      expect(rep.subjects.length).toBeGreaterThan(SUBJECTS);
    }
    if (args.includes('--suggest') && args.includes('json')) {
      // Suggestions (rbac-gen's policy of each drifted subject) come from a map spilled past the
      // budget and joined back by user name: drifted users and service accounts get theirs.
      const rep = JSON.parse(plain.stdout);
      const suggested = rep.subjects.filter((d: { suggestion?: unknown[] }) => d.suggestion);
      expect(new Set(suggested.map((d: { subject: { kind: string } }) => d.subject.kind))).toEqual(new Set(['User', 'ServiceAccount']));
      expect(suggested.length).toBeGreaterThan(SUBJECTS / 2);
      expect(suggested.every((d: { suggestion: { kind: string }[] }) => d.suggestion.length > 0 && d.suggestion.every((o) => /Role|RoleBinding/.test(o.kind)))).toBe(true);
    }
    if (args[0] === 'compliance' && args.includes('json')) {
      const rep = JSON.parse(plain.stdout);
      expect(rep.subjects.length).toBe(rep.summary.subjects);
      expect(rep.subjects.length).toBeGreaterThan(SUBJECTS);
      // The unexplained-requests check names every subject it counts, in code-unit order, each once.
      const unexplained = rep.checks.find((c: { evidence: { subjects: string[] } }) => c.evidence.subjects.length > SUBJECTS);
      expect(unexplained).toBeDefined();
      const names: string[] = unexplained.evidence.subjects;
      expect(names).toEqual([...new Set(names)].sort(cmp));
    }
  }, 180_000);

  it('drift -o sarif over byte ranges (--jobs 2) cites the same lines spilled as in one pass', async () => {
    const before = process.env.KAUDIT_MIN_RANGE_BYTES;
    process.env.KAUDIT_MIN_RANGE_BYTES = String(96 << 10);
    try {
      resetLedger();
      const plain = await runCli(['drift', file, '--rbac', rbac, '-o', 'sarif', '--jobs', '1']);
      const spilled = await runCli(['drift', file, '--rbac', rbac, '-o', 'sarif', '--jobs', '2', '--memory', '8k']);
      expect(spillCount()).toBeGreaterThan(0);
      expect(spilled.code).toBe(plain.code);
      expect(spilled.stdout).toBe(plain.stdout);
      expect(JSON.parse(plain.stdout).runs[0].results.some((r: { locations: { physicalLocation?: { region?: { startLine: number } } }[] }) => (r.locations[0]?.physicalLocation?.region?.startLine ?? 0) > 1000)).toBe(true);
      // The report's spilled subjects are gone. (A worker thread's spilled run of the users map
      // outlives the merge until the process exits, as before this test: not asserted here.)
      expect(leftovers().filter((f) => f.startsWith('drift-subjects'))).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.KAUDIT_MIN_RANGE_BYTES;
      else process.env.KAUDIT_MIN_RANGE_BYTES = before;
    }
  }, 180_000);
});

describe('compliance with many system:masters users and default service accounts', () => {
  // 300 users in system:masters (every third makes a second request) and 300 default service
  // accounts, each in a namespace of its own: KC-02's and KC-10's evidence and the report's
  // privileged.systemMasters name every one, from maps spilled past --memory (issue 15).
  const N = 300;
  const events: Record<string, unknown>[] = [];
  for (let u = 0; u < N; u++) {
    const t = `2026-03-02T10:${String(u % 60).padStart(2, '0')}:0${u % 10}.000000Z`;
    const at = { requestReceivedTimestamp: t, stageTimestamp: t };
    const admin = { username: `admin-${(u * 7919) % N}`, groups: ['system:masters', 'system:authenticated'] };
    events.push(event({ auditID: `m-${u}`, user: admin, verb: 'list', requestURI: '/api/v1/nodes', objectRef: { resource: 'nodes', apiVersion: 'v1' }, ...at }));
    if (u % 3 === 0) events.push(event({ auditID: `m2-${u}`, user: admin, verb: 'get', requestURI: '/api/v1/namespaces/kube-system/secrets/s', objectRef: { resource: 'secrets', namespace: 'kube-system', name: 's', apiVersion: 'v1' }, ...at }));
    const ns = `team-${(u * 31) % N}`;
    const sa = { username: `system:serviceaccount:${ns}:default`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] };
    events.push(event({ auditID: `d-${u}`, user: sa, verb: 'get', requestURI: `/api/v1/namespaces/${ns}/configmaps/c`, objectRef: { resource: 'configmaps', namespace: ns, name: 'c', apiVersion: 'v1' }, ...at }));
  }
  const dir = writeFiles(tmpDir(), { 'audit.log': jsonl(events), 'rbac.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\nrules:\n- apiGroups: [""]\n  resources: [pods]\n  verbs: [get]\n' });
  const file = join(dir, 'audit.log');
  const rbac = join(dir, 'rbac.yaml');

  it.each([
    ['-o json', ['-o', 'json']],
    ['-o table', ['-o', 'table']],
    ['html --fail-on warn', ['--fail-on', 'warn']],
    ['-o csv', ['-o', 'csv']],
  ])('%s: a tiny --memory spills both maps and writes the same bytes, stderr and exit code, and leaves no spill file', async (_n, flags) => {
    resetLedger();
    const args = ['compliance', file, '--rbac', rbac, '--now', '2026-03-10T00:00:00Z', ...flags];
    const plain = await runCli(args);
    expect([0, 1]).toContain(plain.code);
    expect(spillCount()).toBe(0);
    const spilled = await runCli([...args, '--memory', '8k']);
    expect(spillCount()).toBeGreaterThan(0);
    expect(spilled.code).toBe(plain.code);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(spilled.stderr).toBe(plain.stderr);
    expect(leftovers()).toEqual([]);
    if (flags.includes('json')) {
      const rep = JSON.parse(plain.stdout);
      const admins = Array.from({ length: N }, (_, u) => `User admin-${u}`).sort(cmp);
      expect(rep.privileged.systemMasters.map((x: { subject: string }) => x.subject)).toEqual(admins);
      expect(rep.privileged.systemMasters.reduce((n: number, x: { requests: number }) => n + x.requests, 0)).toBe(N + N / 3);
      const kc02 = rep.checks.find((c: { id: string }) => c.id === 'KC-02');
      expect(kc02.status).toBe('fail');
      expect(kc02.summary).toBe(`${N + N / 3} requests by ${N} users in system:masters`);
      expect(kc02.evidence.subjects).toEqual(admins);
      expect(kc02.evidence.auditIDs).toHaveLength(10);
      const kc10 = rep.checks.find((c: { evaluate?: unknown; summary: string }) => c.summary.includes('default service account'));
      expect(kc10.summary).toBe(`${N} default service accounts made requests`);
      // In the order of their user names (system:serviceaccount:NS:default), as before the map could spill.
      const accounts = Array.from({ length: N }, (_, u) => `system:serviceaccount:team-${u}:default`).sort(cmp);
      expect(kc10.evidence.subjects).toEqual(accounts.map((a) => `ServiceAccount ${a.split(':')[2]}/default`));
    }
  }, 180_000);
});

describe('rbac-gen: RBAC writes whose bind/escalate check cannot be judged, by many distinct subjects (spill; issue 15)', () => {
  // Each subject creates RoleBindings at audit level Metadata (no body: the check cannot be judged),
  // 1 + i % 3 times with distinct Audit-IDs, interleaved so that a subject's notes are split across runs.
  const names = ['__proto__', 'constructor', '0', ...Array.from({ length: 800 }, (_, i) => `writer-${i}@example.com`)];
  const events: Record<string, unknown>[] = [];
  let id = 0;
  names.forEach((username, i) => {
    for (let k = 0; k <= i % 3; k++) {
      events.push(event({ auditID: `w-${i}-${k}`, user: { username, groups: ['system:authenticated'] }, verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings', objectRef: { resource: 'rolebindings', namespace: 'prod', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 201 }, requestReceivedTimestamp: `2026-03-02T10:00:0${k}.000000Z`, stageTimestamp: `2026-03-02T10:00:0${k}.000000Z` }));
      id++;
    }
  });
  events.sort((a, b) => cmp(String(a.stageTimestamp) + String(a.auditID), String(b.stageTimestamp) + String(b.auditID)));
  const dir = writeFiles(tmpDir(), { 'writes.log': jsonl(events) });
  const file = join(dir, 'writes.log');

  it.each([
    ['-o report', ['-o', 'report', '--jobs', '1']],
    ['-o report --jobs 2', ['-o', 'report', '--jobs', '2']],
    ['yaml', ['--jobs', '1']],
  ])('%s: --memory 8k gives the same bytes (stdout and stderr), every subject exact, stderr names ten and counts the rest', async (_n, flags) => {
    resetLedger();
    const plain = await runCli(['rbac-gen', file, ...flags]);
    expect(plain.code, plain.stderr).toBe(0);
    const spilled = await runCli(['rbac-gen', file, '--memory', '8k', ...flags]);
    expect(spilled.code, spilled.stderr).toBe(0);
    expect(spilled.stdout).toBe(plain.stdout);
    expect(spilled.stderr).toBe(plain.stderr);
    expect(leftovers()).toEqual([]);
    const sorted = [...names].sort(cmp);
    const notes = plain.stderr.split('\n').filter((l) => l.startsWith('note: ') && l.includes('bind/escalate'));
    expect(notes.map((l) => l.slice(6, l.indexOf(': ', 6)))).toEqual(sorted.slice(0, 10));
    expect(plain.stderr).toContain(`note: … and ${names.length - 10} more subjects with such RBAC writes (-o report lists every one)`);
    if (flags.includes('report')) {
      const rep = JSON.parse(plain.stdout);
      expect(rep.escalationUnchecked.map((u: { subject: string; requests: number; examples: string[] }) => [u.subject, u.requests, u.examples])).toEqual(
        sorted.map((n) => {
          const i = names.indexOf(n);
          return [n, 1 + (i % 3), Array.from({ length: 1 + (i % 3) }, (_, k) => `w-${i}-${k}`)];
        }),
      );
    }
  }, 120_000);

  it('the notes spill: a budget of 8k writes runs of them, and the report reads them back in order', async () => {
    const { rbacGen, uncheckedSpec } = await import('../../src/analyses/rbacgen/index.js');
    const { mergeEntry } = await import('../../src/scale/spillmap.js');
    const { generate, uncheckedHead } = await import('../../src/rbac/generate.js');
    const { emptyAccounting } = await import('../../src/pipeline.js');
    const opts = { includeSystem: false, includeDiscovery: false, includeDenied: false, maxNames: 20, scope: 'namespaced' as const, verbs: 'exact' as const, wildcards: 'never' as const, resourceNames: false };
    resetLedger();
    setBudget(8 * 1024);
    const st = rbacGen.init(opts);
    // Twice per subject, the second later: merged in order (counts summed, examples first ones first).
    const { settle } = await import('../../src/scale/ledger.js');
    for (const round of [0, 1]) {
      names.forEach((n, i) => {
        mergeEntry(st.unchecked, uncheckedSpec, n, { requests: 1 + (i % 3), reasons: new Map([['why', 1 + (i % 3)]]), examples: [`x-${i}-${round}`] });
        settle(); // the pipeline's safe point after each record
      });
    }
    expect(st.unchecked.runs.length).toBeGreaterThan(0);
    const rep = generate(st, emptyAccounting(), {});
    expect(uncheckedHead(rep).subjects).toBe(names.length);
    expect(uncheckedHead(rep).head.map((u) => u.subject)).toEqual([...names].sort(cmp).slice(0, 10));
    const rows = [...rep.escalationUnchecked];
    expect(rows.map((u) => u.subject)).toEqual([...names].sort(cmp));
    expect(rows.find((u) => u.subject === '__proto__')).toEqual({ subject: '__proto__', requests: 2, reasons: { why: 2 }, examples: ['x-0-0', 'x-0-1'] });
    expect(leftovers()).toEqual([]);
  });
});
