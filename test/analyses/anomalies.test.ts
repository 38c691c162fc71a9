import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles } from '../helpers.js';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { networkOf } from '../../src/analyses/baseline/index.js';
import { tupleSensitivity } from '../../src/analyses/anomalies/index.js';

interface Incident {
  name: string;
  subject: string;
  expect: string[];
  auditIDs: string[];
}

async function anomalies(args: string[]): Promise<{ code: number; rep: any; stderr: string }> {
  const r = await runCli(['anomalies', ...args, '-o', 'json', '-q']);
  return { code: r.code, rep: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
}

/** An incident is found when a finding of an expected rule carries its requests, or (for per-day rules) names its subject. */
function found(findings: any[], i: Incident): boolean {
  const ids = new Set(i.auditIDs);
  return findings.some((f) => i.expect.includes(f.rule) && (f.auditIDs.some((a: string) => ids.has(a)) || (['volume-spike', 'new-subject'].includes(f.rule) && f.subject === i.subject)));
}

const MACHINES = /^system:(serviceaccount:(kube-system|monitoring|argocd|ci|apps):|node:|kube-)/;

describe('anomalies on a generated cluster with scripted incidents', async () => {
  const dir = tmpDir();
  const manifest = join(dir, 'incidents.json');
  await generate({ ...DEFAULT_GEN, out: join(dir, 'logs'), days: 3, seed: 11, scale: 0.05, incidents: true, manifest });
  const incidents = JSON.parse(readFileSync(manifest, 'utf8')).incidents as Incident[];
  const { rep } = await anomalies([join(dir, 'logs'), '--train-until', '2026-03-04']);
  const incidentIDs = new Set(incidents.flatMap((i) => i.auditIDs));

  it.each(incidents.map((i) => [i.name, i] as const))('finds %s', (_n, i) => {
    expect(i.auditIDs.length).toBeGreaterThan(0);
    expect(found(rep.findings, i)).toBe(true);
  });

  it('raises no finding on routine machine traffic: controllers, kubelets, leases, scrapes, CI doing its job', () => {
    const routine = rep.findings.filter((f: any) => !f.auditIDs.some((a: string) => incidentIDs.has(a)) && !(f.rule === 'volume-spike' || f.rule === 'new-subject'));
    const machines = routine.filter((f: any) => MACHINES.test(f.subject) && f.rule !== 'K8S-IMPERSONATION');
    expect(machines).toEqual([]);
    // People's routine work can still be new or sensitive (an exec, an impersonation, a first scale):
    // those findings are about people only, and none rises above medium.
    const people = routine.filter((f: any) => !MACHINES.test(f.subject) || f.rule === 'K8S-IMPERSONATION');
    expect(people.every((f: any) => ['low', 'medium'].includes(f.severity))).toBe(true);
    expect(people.every((f: any) => /@example\.com/.test(f.subject) || f.reason.includes('@example.com acted as'))).toBe(true);
  });

  it('says why in one line', () => {
    const f = rep.findings.find((x: any) => x.rule === 'new-namespace' && x.subject === 'system:serviceaccount:apps:reporter');
    expect(f.reason).toBe('first time in 2 days of baseline that system:serviceaccount:apps:reporter worked in namespace kube-system: get secrets in kube-system; list secrets in kube-system');
    expect(f.severity).toBe('high');
    for (const k of ['rule', 'severity', 'subject', 'verb', 'resource', 'namespace', 'time', 'count', 'auditIDs', 'reason']) expect(f).toHaveProperty(k);
  });

  it('a baseline file gives the same findings as --train-until', async () => {
    const file = join(dir, 'baseline.json');
    const b = await runCli(['baseline', join(dir, 'logs'), '--until', '2026-03-04', '--out', file, '-q']);
    expect(b.code).toBe(0);
    const viaFile = await anomalies([join(dir, 'logs'), '--since', '2026-03-04', '--baseline', file]);
    expect(viaFile.rep.findings).toEqual(rep.findings);
  });
});

describe('anomalies on the bundled sample', () => {
  const incidents = JSON.parse(readFileSync('fixtures/sample-incidents.json', 'utf8')).incidents as Incident[];

  it('finds every scripted incident', async () => {
    const { rep } = await anomalies(['fixtures/sample', '--train-until', '2026-03-03']);
    expect(incidents.filter((i) => !found(rep.findings, i)).map((i) => i.name)).toEqual([]);
  });

  it('built-in detections work without a baseline', async () => {
    const { rep } = await anomalies(['fixtures/sample']);
    expect(rep.baseline).toBeNull();
    expect(rep.findings.every((f: any) => f.kind === 'detection')).toBe(true);
    expect(rep.summary.byRule).toMatchObject({ 'K8S-CLUSTER-ADMIN-BINDING': 1, 'K8S-WILDCARD-ROLE': 1, 'K8S-PRIVILEGED-POD': 1, 'K8S-HOST-PID': 1, 'K8S-SENSITIVE-HOSTPATH': 1, 'K8S-NAMESPACE-DELETE': 1, 'K8S-DENIED-BURST': 1, 'K8S-ANON-ALLOWED': 1 });
  });

  it('--allow suppresses known-good findings and counts them', async () => {
    const dir = writeFiles(tmpDir(), { 'allow.yaml': '- subject: system:serviceaccount:apps:reporter\n  rule: K8S-IMPERSONATION\n  reason: alice checks what the reporter can see\n- subject: alice@*\n  rule: K8S-EXEC\n' });
    const all = (await anomalies(['fixtures/sample'])).rep;
    const r = await runCli(['anomalies', 'fixtures/sample', '--allow', join(dir, 'allow.yaml'), '-o', 'json']);
    const rep = JSON.parse(r.stdout);
    const removed = all.findings.filter((f: any) => (f.subject === 'system:serviceaccount:apps:reporter' && f.rule === 'K8S-IMPERSONATION') || (f.subject.startsWith('alice@') && f.rule === 'K8S-EXEC'));
    expect(removed.length).toBeGreaterThan(1);
    expect(rep.summary.suppressed).toBe(removed.length);
    expect(rep.findings).toHaveLength(all.findings.length - removed.length);
    expect(r.stderr).toMatch(new RegExp(`${removed.length} findings suppressed by --allow`));
  });

  it.each([
    ['- subject: x\n  colour: red\n', /unknown field "colour"/],
    ['subject: x\n', /must hold a list of entries/],
    ['- [\n', /is not YAML/],
  ])('a bad allowlist is a usage error: %j', async (text, msg) => {
    const dir = writeFiles(tmpDir(), { 'allow.yaml': text });
    const r = await runCli(['anomalies', 'fixtures/mini/mini.jsonl', '--allow', join(dir, 'allow.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it('--min-severity hides, --fail-on sets the exit code', async () => {
    const high = await anomalies(['fixtures/sample', '--min-severity', 'high']);
    expect(high.rep.findings.every((f: any) => ['high', 'critical'].includes(f.severity))).toBe(true);
    expect((await anomalies(['fixtures/sample', '--fail-on', 'critical'])).code).toBe(1);
    expect((await anomalies(['fixtures/mini/mini.jsonl', '--fail-on', 'high'])).code).toBe(0);
  });

  it('-o jsonl, markdown and sarif carry the same findings', async () => {
    const json = (await anomalies(['fixtures/sample'])).rep;
    const jsonl = (await runCli(['anomalies', 'fixtures/sample', '-o', 'jsonl', '-q'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(jsonl).toEqual(json.findings);
    const sarif = JSON.parse((await runCli(['anomalies', 'fixtures/sample', '-o', 'sarif', '-q'])).stdout);
    expect(sarif.runs[0].results).toHaveLength(json.findings.length);
    const ids = new Set(sarif.runs[0].tool.driver.rules.map((r: any) => r.id));
    expect(sarif.runs[0].results.every((r: any) => ids.has(r.ruleId))).toBe(true);
    const exec = sarif.runs[0].tool.driver.rules.find((r: any) => r.id === 'K8S-EXEC');
    expect(exec.shortDescription.text).toMatch(/T1609/);
    expect(exec.name).toBe('Command run in a container (exec)');
    expect(exec.help.text).toMatch(/pods\/exec/);
    expect(exec.properties.tags).toContain('external/mitre-attack/T1609');
    const md = (await runCli(['anomalies', 'fixtures/sample', '-o', 'markdown', '-q'])).stdout;
    expect(md).toMatch(/\| critical \| K8S-CLUSTER-ADMIN-BINDING \| system:serviceaccount:ci:deployer \|/);
  });

  it('usage errors', async () => {
    expect((await runCli(['anomalies', 'fixtures/sample', '--baseline', 'x.json', '--train-until', '1d'])).stderr).toMatch(/cannot be combined/);
    expect((await runCli(['anomalies', 'fixtures/sample', '--baseline', 'missing.json'])).stderr).toMatch(/--baseline: cannot read missing\.json/);
    expect((await runCli(['anomalies', 'fixtures/sample', '--denied-burst', 'lots'])).stderr).toMatch(/--denied-burst: "lots" is not N\/MINUTES/);
    const notBaseline = writeFiles(tmpDir(), { 'b.json': '{"kind":"something"}' });
    expect((await runCli(['anomalies', 'fixtures/sample', '--baseline', join(notBaseline, 'b.json')])).stderr).toMatch(/not a kaudit baseline/);
  });
});

const FALCO = join(__dirname, '..', '..', '..', 'shared', 'corpus', 'falco-k8s-audit-traces');
describe.skipIf(!existsSync(FALCO))('built-in detections on real Falco traces', () => {
  it.each([
    ['create_cluster_role_wildcard_verbs.json', 'K8S-WILDCARD-ROLE'],
    ['create_cluster_role_wildcard_resources.json', 'K8S-WILDCARD-ROLE'],
    ['attach_cluster_admin_role.json', 'K8S-CLUSTER-ADMIN-BINDING'],
    ['create_nginx_pod_privileged.json', 'K8S-PRIVILEGED-POD'],
    ['create_nginx_pod_privileged_2nd_container.json', 'K8S-PRIVILEGED-POD'],
    ['create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json', 'K8S-PRIVILEGED-POD'],
    ['create_nginx_pod_sensitive_mount.json', 'K8S-SENSITIVE-HOSTPATH'],
    ['create_nginx_pod_sensitive_mount_2nd_container.json', 'K8S-SENSITIVE-HOSTPATH'],
    ['create_nginx_pod_hostnetwork.json', 'K8S-HOST-NETWORK'],
    ['create_nginx_service_nodeport.json', 'K8S-NODEPORT-SERVICE'],
    ['create_cluster_role_pod_exec.json', 'K8S-EXEC-GRANT'],
    ['create_serviceaccount_kube_system_namespace.json', 'K8S-KUBE-SYSTEM-WRITE'],
    ['delete_namespace_foo.json', 'K8S-NAMESPACE-DELETE'],
    ['exec_pod.json', 'K8S-EXEC'],
    ['attach_pod.json', 'K8S-ATTACH'],
    ['anonymous_creates_namespace_foo.json', 'K8S-ANON-ALLOWED'],
    ['create_clusterrolebinding.json', 'K8S-RBAC-WRITE'],
    // minikube-user holds a system:masters client certificate (user.groups in every trace).
    ['create_configmap.json', 'K8S-SYSTEM-MASTERS-USE'],
  ])('%s → %s', async (file, rule) => {
    const { rep } = await anomalies([join(FALCO, file)]);
    expect(rep.findings.map((f: any) => f.rule)).toContain(rule);
  });

  it.each([
    'create_nginx_pod_unprivileged.json',
    'create_nginx_pod_nohostnetwork.json',
    'create_nginx_pod_unsensitive_mount.json',
    'create_configmap.json',
    'create_nginx_service_nonodeport.json',
    // The control plane's own work: the replicaset controller creating a pod in kube-system, the token controller a token secret.
    'create_pod_kube_system_namespace.json',
    'create_service_account_token_secret.json',
  ])('%s raises nothing (but the system:masters credential it was made with)', async (file) => {
    const { rep } = await anomalies([join(FALCO, file)]);
    expect(rep.findings.filter((f: any) => f.rule !== 'K8S-SYSTEM-MASTERS-USE')).toEqual([]);
  });
});

describe('baseline files', () => {
  it('are versioned, documented JSON with the profile fields', async () => {
    const r = await runCli(['baseline', 'fixtures/mini/mini.jsonl', '-q']);
    const b = JSON.parse(r.stdout);
    expect(b).toMatchObject({ kind: 'kaudit.baseline', version: 1, days: 1, requests: 9 });
    expect(b.subjects['carol@example.com']).toMatchObject({
      kind: 'User',
      requests: 1,
      denied: 0,
      deniedRate: 0,
      tuples: { 'list apps/deployments production': { count: 1 } },
      namespaces: { production: { count: 1 } },
      sourceIPs: { '198.51.100.7': { count: 1 } },
      networks: { '198.51.100.0/24': { count: 1 } },
      clients: { browser: { count: 1 } },
      daily: { '2026-03-02': 1 },
    });
    expect(b.subjects['carol@example.com'].hours[9]).toBe(1);
    expect(b.subjects['carol@example.com'].weekdays[1]).toBe(1); // 2026-03-02 is a Monday
    expect(b.subjects.bob.deniedRate).toBe(1);
  });

  it('merge: two periods merged equal one baseline of both', async () => {
    const dir = tmpDir();
    const [a, b, ab, merged] = ['a', 'b', 'ab', 'merged'].map((n) => join(dir, `${n}.json`));
    await runCli(['baseline', 'fixtures/sample', '--until', '2026-03-03', '--out', a!, '-q']);
    await runCli(['baseline', 'fixtures/sample', '--since', '2026-03-03', '--out', b!, '-q']);
    await runCli(['baseline', 'fixtures/sample', '--out', ab!, '-q']);
    const r = await runCli(['baseline', '--merge', a!, '--merge', b!, '--out', merged!]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(merged!, 'utf8'))).toEqual(JSON.parse(readFileSync(ab!, 'utf8')));
    // The subcommand gives the same file.
    const sub = join(dir, 'sub.json');
    expect((await runCli(['baseline', 'merge', a!, b!, '--out', sub, '-q'])).code).toBe(0);
    expect(readFileSync(sub, 'utf8')).toBe(readFileSync(merged!, 'utf8'));
  });

  it('merge: a baseline given as a log, or a log given as a baseline, is an error, never dropped', async () => {
    const dir = tmpDir();
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    await runCli(['baseline', 'fixtures/mini/mini.jsonl', '--out', a, '-q']);
    await runCli(['baseline', 'fixtures/mini/mini.jsonl', '--out', b, '-q']);
    // The help's old example: b.json is a positional input, which used to be read as a log and dropped.
    const r = await runCli(['baseline', '--merge', a, b, '--out', join(dir, 'out.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/audit: error: .*b\.json is a baseline, not an audit log/);
    expect(r.stderr).toMatch(/audit baseline merge/);
    expect(existsSync(join(dir, 'out.json'))).toBe(false);
    const m = await runCli(['baseline', 'merge', a, 'fixtures/mini/mini.jsonl']);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/mini\.jsonl is not JSON, so not a baseline/);
    // -o is a format: it never names a file.
    const o = await runCli(['baseline', 'fixtures/mini/mini.jsonl', '-o', join(dir, 'x.json')]);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/to write a file, pass --out/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
    expect(JSON.parse((await runCli(['baseline', 'fixtures/mini/mini.jsonl', '-o', 'json', '-q'])).stdout).kind).toBe('kaudit.baseline');
  });

  it.each([
    ['10.1.2.3', '10.1.2.0/24'],
    ['2001:db8:85a3::8a2e:370:7334', '2001:0db8:85a3:0000::/64'],
    ['::1', '0000:0000:0000:0000::/64'],
    ['::ffff:192.0.2.5', '192.0.2.0/24'],
    ['', '(none)'],
  ])('network of %j is %s', (ip, net) => {
    expect(networkOf(ip)).toBe(net);
  });

  it.each([
    ['get /secrets production', 'high'],
    ['create /pods/exec staging', 'high'],
    ['create rbac.authorization.k8s.io/clusterrolebindings -', 'high'],
    ['patch admissionregistration.k8s.io/mutatingwebhookconfigurations -', 'critical'],
    ['list /pods kube-system', 'high'],
    ['list /pods staging', 'low'],
    ['get /metrics', 'low'],
  ])('sensitivity of %s is %s', (t, s) => {
    expect(tupleSensitivity(t)).toBe(s);
  });
});
