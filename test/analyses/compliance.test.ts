import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { writeComplianceHtml } from '../../src/analyses/compliance/html.js';

const NOW = ['--now', '2026-03-04T00:00:00Z'];
const DRIFT = ['fixtures/drift/audit.log', '--rbac', 'fixtures/drift/rbac.yaml'];

async function report(args: string[]): Promise<any> {
  const r = await runCli(['compliance', ...args, ...NOW, '-o', 'json', '-q']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}
const status = (rep: any, id: string): string => rep.checks.find((c: any) => c.id === id)?.status;

describe('compliance on the drift fixture cluster, checked by hand', async () => {
  const rep = await report(DRIFT);

  it.each([
    ['KC-01', 'pass', 'cluster-admin is referenced only by legacy-admin, whose role is missing from the export'],
    ['KC-02', 'fail', 'root made a request as a member of system:masters'],
    ['KC-03', 'fail', 'the sre group holds * and uses only get/list on nodes and pods/log'],
    ['KC-04', 'fail', 'ci/deployer holds get secrets and never used it'],
    ['KC-06', 'pass', 'no default service account'],
    ['KC-07', 'fail', 'bob holds impersonate and never used it'],
    ['KC-09', 'fail', 'four subjects are red'],
    ['KC-10', 'fail', 'bob is dormant'],
    ['KC-11', 'pass', 'the only uncovered request (carol) was denied'],
    ['KC-12', 'not-assessed', 'no --period: coverage of a period nobody named cannot be shown'],
  ])('%s is %s: %s', (id, want) => {
    expect(status(rep, id)).toBe(want);
  });

  it('carries evidence: subjects, rules with their source, sample auditIDs', () => {
    const kc02 = rep.checks.find((c: any) => c.id === 'KC-02');
    expect(kc02.evidence.subjects).toEqual(['User root']);
    expect(kc02.evidence.auditIDs).toEqual(['dddddddd-0000-4000-8000-000000000014']);
    const kc04 = rep.checks.find((c: any) => c.id === 'KC-04');
    expect(kc04.evidence.rules).toContainEqual({ subject: 'ServiceAccount ci/deployer', rule: 'get secrets (core) — never used', source: 'RoleBinding staging/deployer → Role staging/deployer' });
    expect(rep.privileged.systemMasters).toEqual([{ subject: 'User root', requests: 1, auditIDs: ['dddddddd-0000-4000-8000-000000000014'] }]);
    expect(rep.dormant).toEqual(['User bob@example.com']);
  });

  it('uses the same model and numbers as drift', async () => {
    const d = JSON.parse((await runCli(['drift', ...DRIFT, '-o', 'json', '-q'])).stdout);
    expect(rep.subjects.map((s: any) => [s.name, s.score, s.severity])).toEqual(d.subjects.map((s: any) => [s.subject.name, s.score, s.severity]));
    expect(rep.summary.averageScore).toBe(d.summary.averageScore);
    expect(rep.summary.scoreDistribution.reduce((n: number, b: any) => n + b.subjects, 0)).toBe(d.subjects.length);
  });

  it('records the evaluation and digests of every input', () => {
    expect(rep.evaluation).toMatchObject({ generatedAt: '2026-03-04T00:00:00.000Z', kaudit: JSON.parse(readFileSync('package.json', 'utf8')).version, window: { from: '2026-03-02T10:01:00.000000Z', to: '2026-03-02T10:14:00.000000Z' }, period: null });
    const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(rep.inputs.files).toEqual([{ path: 'fixtures/drift/audit.log', sha256: sha('fixtures/drift/audit.log'), format: 'jsonl', lines: 14, events: 14, rejected: 0, complete: true, incomplete: '' }]);
    expect(rep.inputs.rbac.files).toEqual([{ path: 'fixtures/drift/rbac.yaml', sha256: sha('fixtures/drift/rbac.yaml') }]);
    expect(rep.inputs.rbac.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('compliance options and formats', () => {
  it('--framework selects the frameworks shown and the checks that map to them', async () => {
    const soc2 = await report([...DRIFT, '--framework', 'soc2']);
    expect(soc2.evaluation.frameworks).toEqual(['soc2']);
    expect(soc2.checks).toHaveLength(12);
    expect(soc2.checks.every((c: any) => Object.keys(c.controls).join() === 'soc2')).toBe(true);
    const cis = await report([...DRIFT, '--framework', 'cis']);
    expect(cis.checks.map((c: any) => c.id)).toEqual(['KC-01', 'KC-02', 'KC-03', 'KC-04', 'KC-05', 'KC-06', 'KC-07', 'KC-08']);
    expect(cis.checks.find((c: any) => c.id === 'KC-08').controls.cis).toEqual(['5.1.10', '5.1.11', '5.1.12', '5.1.13']);
  });

  it('--period reports gaps in log coverage within the period', async () => {
    const rep = await report(['fixtures/sample', '--rbac', 'fixtures/sample-rbac', '--period', '2026-03-01..2026-03-04']);
    expect(rep.evaluation.period).toEqual({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-04T00:00:00.000Z' });
    expect(rep.coverage).toMatchObject({ hours: 72, hoursWithEvents: 48, gaps: [{ from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z', hours: 24 }] });
    expect(status(rep, 'KC-12')).toBe('warn');
    const full = await report(['fixtures/sample', '--rbac', 'fixtures/sample-rbac', '--period', '2026-03-02..2026-03-04']);
    expect(status(full, 'KC-12')).toBe('pass');
    // Without a period, KC-12 is not assessed (it used to pass on the logs' own window), and says why.
    const none = await report(['fixtures/sample', '--rbac', 'fixtures/sample-rbac']);
    const kc12 = none.checks.find((c: any) => c.id === 'KC-12');
    expect(kc12.status).toBe('not-assessed');
    expect(kc12.summary).toMatch(/^not assessed: no period under review was given \(--period FROM\.\.TO\)/);
    expect(none.summary.checks['not-assessed']).toBe(1);
  });

  it('fills the sample auditIDs of cluster-admin use, in the JSON and in every rendering', async () => {
    const rep = await report(['fixtures/sample', '--rbac', 'fixtures/sample-rbac']);
    const alice = rep.privileged.clusterAdmin.find((x: any) => x.subject === 'User alice@example.com');
    expect(alice.auditIDs.length).toBeGreaterThan(0);
    expect(alice.auditIDs.length).toBeLessThanOrEqual(5);
    // Each is a request by alice in the log, allowed through the cluster-admin binding (she holds nothing else that is used).
    const ids = new Set(
      (await runCli(['export', 'fixtures/sample', '--user', 'alice@example.com', '--fields', 'auditID', '-o', 'csv', '-q'])).stdout.trim().split('\n').slice(1),
    );
    for (const id of alice.auditIDs) expect(ids.has(id)).toBe(true);
    // The dormant holder has no use to show.
    expect(rep.privileged.clusterAdmin.find((x: any) => x.subject === 'ServiceAccount legacy/old-ci').auditIDs).toEqual([]);
    const kc01 = rep.checks.find((c: any) => c.id === 'KC-01');
    expect(kc01.evidence.auditIDs).toEqual(expect.arrayContaining(alice.auditIDs));
    const html = (await runCli(['compliance', 'fixtures/sample', '--rbac', 'fixtures/sample-rbac', ...NOW, '-q'])).stdout;
    const row = html.split('\n').find((l) => l.startsWith('<tr><td data-sort="cluster-admin">') && l.includes('>User alice@example.com</td>'))!;
    expect(row).toContain(alice.auditIDs[0]);
    const md = (await runCli(['compliance', 'fixtures/sample', '--rbac', 'fixtures/sample-rbac', ...NOW, '-o', 'markdown', '-q'])).stdout;
    expect(md).toContain('## Use of cluster-admin and system:masters');
    expect(md).toContain(alice.auditIDs[0]);
  });

  it('the red band, the red list and the score distribution agree with the score definition', async () => {
    const rep = await report(['fixtures/sample', '--rbac', 'fixtures/sample-rbac']);
    const name = (x: any): string => `${x.kind} ${x.namespace ? `${x.namespace}/${x.name}` : x.name}`;
    const red = rep.subjects.filter((x: any) => x.score !== null && x.score < 50);
    expect(red.every((x: any) => x.severity === 'red')).toBe(true);
    expect(rep.subjects.filter((x: any) => x.severity === 'red').map(name).sort()).toEqual(red.map(name).sort());
    expect([...rep.summary.red].sort()).toEqual(red.map(name).sort());
    const under50 = rep.summary.scoreDistribution.filter((d: any) => d.range !== 'no own grants' && Number(d.range.split('–')[0]) < 50).reduce((n: number, d: any) => n + d.subjects, 0);
    expect(under50).toBe(red.length);
    // The HTML says what red means by the score, not by unused rules: carol uses her one rule, in part.
    const html = (await runCli(['compliance', 'fixtures/sample', '--rbac', 'fixtures/sample-rbac', ...NOW, '-q'])).stdout;
    expect(html).not.toContain('using under half of their grants');
    expect(html).toMatch(/Subjects in red \(score under 50%: .*User carol@example\.com \(16\.7%, every rule used in part\)/);
  });

  it('HTML writes a check\'s evidence piece by piece: a list of any length is never one string (issue 15)', async () => {
    // At a million distinct users KC-11 cites ~980,000 subjects; the page held them as one string.
    const rep = await report(DRIFT);
    const names = Array.from({ length: 20_000 }, (_, i) => `User user-${i}@example.com <b>`);
    rep.checks.find((c: any) => c.id === 'KC-11').evidence.subjects = names;
    const pieces: string[] = [];
    writeComplianceHtml({ write: (x: string) => void pieces.push(x) }, rep);
    const html = pieces.join('');
    expect(html).toContain(`<div>Subjects:</div><ul class="ev">${names.map((n) => `<li>${n.replace('<b>', '&lt;b&gt;')}</li>`).join('')}</ul>`);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThan(64 * 1024);
  });

  it('is deterministic: the same inputs and --now give the same bytes, in every format', async () => {
    for (const f of ['html', 'json', 'markdown', 'csv']) {
      const a = await runCli(['compliance', ...DRIFT, ...NOW, '-o', f, '-q']);
      const b = await runCli(['compliance', ...DRIFT, ...NOW, '-o', f, '-q']);
      expect(a.stdout).toBe(b.stdout);
    }
  });

  it.each([
    [['--period', 'March'], /--period: "March" is not FROM..TO/],
    [['--period', '2026-03-04..2026-03-01'], /the end is not after the start/],
    [['--framework', 'hipaa'], /--framework: unknown framework "hipaa"/],
  ])('usage error %j', async (flags, msg) => {
    const r = await runCli(['compliance', ...DRIFT, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it('--rbac is required', async () => {
    expect((await runCli(['compliance', 'fixtures/drift/audit.log'])).stderr).toMatch(/--rbac is required/);
  });

  it('CSV lists the checks with their controls, formula-safe', async () => {
    const r = await runCli(['compliance', ...DRIFT, ...NOW, '-o', 'csv', '-q']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('check,title,status,soc2,iso27001,pci,nist,cis,finding,subjects,auditIDs');
    expect(lines).toHaveLength(13);
    expect(lines[2]).toMatch(/^KC-02,system:masters is not used,fail,CC6.1,8.2,7.2.1,AC-6\(5\) AC-6\(9\),5.1.7,/);
  });

  it.each([
    ['cis', 'check,title,status,cis,finding,subjects,auditIDs', 9, /^KC-02,system:masters is not used,fail,5.1.7,/],
    ['soc2,cis', 'check,title,status,soc2,cis,finding,subjects,auditIDs', 13, /^KC-02,system:masters is not used,fail,CC6.1,5.1.7,/],
  ])('CSV with --framework %s has the columns of those frameworks only', async (fw, head, n, kc02) => {
    const r = await runCli(['compliance', ...DRIFT, ...NOW, '--framework', fw, '-o', 'csv', '-q']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(head);
    expect(lines).toHaveLength(n);
    expect(lines[2]).toMatch(kc02);
  });

  describe('CI gates: --fail-on LEVEL and --min-score N exit 1, like drift', () => {
    // The drift fixture: KC-02, 03, 04, 07, 09 and 10 fail; average score 22 (groups and users both scored).
    it.each<[string, string[], number, RegExp | null]>([
      ['no gate', [], 0, null],
      ['--fail-on fail with failing checks', ['--fail-on', 'fail'], 1, /compliance: threshold crossed: KC-02 fail, KC-03 fail, .*\(--fail-on fail\)/],
      ['--fail-on warn counts fails too', ['--fail-on', 'warn'], 1, /\(--fail-on warn\)/],
      ['--min-score above the average', ['--min-score', '60'], 1, /average score 22% is below --min-score 60/],
      ['--min-score at the average passes', ['--min-score', '22'], 0, null],
      ['--min-score 0 passes', ['--min-score', '0'], 0, null],
    ])('%s', async (_n, args, code, msg) => {
      const r = await runCli(['compliance', ...DRIFT, ...NOW, ...args, '-o', 'json']);
      expect(r.code).toBe(code);
      expect(JSON.parse(r.stdout).kind).toBe('kaudit.compliance');
      if (msg) expect(r.stderr).toMatch(msg);
      else expect(r.stderr).not.toMatch(/threshold crossed/);
    });

    it('--fail-on fail passes when only warnings remain', async () => {
      // KC-01 warns (one active holder of cluster-admin) and nothing else is checked under ISO 27001's 5.15-only… use a clean log instead:
      const dir = writeFiles(tmpDir(), {
        'a.log': jsonl([event({ user: { username: 'alice', groups: ['system:authenticated'] }, verb: 'get', objectRef: { resource: 'pods', namespace: 'dev', name: 'p', apiVersion: 'v1' } })]),
        'rbac.yaml': [
          'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: dev}\nrules:\n- apiGroups: [""]\n  resources: [pods]\n  verbs: [get]',
          'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: dev}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\nsubjects:\n- {kind: User, name: alice}',
        ].join('\n---\n'),
      });
      const args = [join(dir, 'a.log'), '--rbac', join(dir, 'rbac.yaml'), ...NOW, '-o', 'json'];
      const ok = await runCli(['compliance', ...args, '--fail-on', 'fail', '--min-score', '100']);
      expect(JSON.parse(ok.stdout).summary.checks.fail).toBe(0);
      expect(ok.code).toBe(0);
    });

    it.each([
      [['--fail-on', 'error'], /--fail-on <level>/],
      [['--min-score', '120'], /--min-score: "120" is not a score/],
    ])('rejects %j', async (args, msg) => {
      const r = await runCli(['compliance', ...DRIFT, ...NOW, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    });
  });

  it('HTML escapes every value from audit data and needs no network', async () => {
    const dir = writeFiles(tmpDir(), {
      'x.log': jsonl([event({ user: { username: '<script>window.__pwned=1</script>', groups: ['system:masters'] }, userAgent: '<img src=x onerror="window.__pwned=2">' })]),
      'rbac.yaml': 'apiVersion: v1\nkind: List\nitems: []\n',
    });
    const r = await runCli(['compliance', join(dir, 'x.log'), '--rbac', join(dir, 'rbac.yaml'), ...NOW, '-q']);
    expect(r.stdout).not.toContain('<script>window.__pwned');
    expect(r.stdout).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;');
    expect(r.stdout).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    expect(r.stdout).not.toMatch(/(src|href)="https?:/);
  });

  it('golden JSON and Markdown', async () => {
    for (const [f, ext] of [['json', 'json'], ['markdown', 'md']]) {
      const r = await runCli(['compliance', 'fixtures/sample', '--rbac', 'fixtures/sample-rbac', ...NOW, '-o', f!, '-q']);
      await expect(r.stdout).toMatchFileSnapshot(`../golden/compliance.sample.${ext}`);
    }
  });
});

describe('compliance judges RBAC through the drift authorizer, request by request', () => {
  it('KC-02 counts an impersonation authorized by the impersonator being in system:masters (audit2rbac-style log)', async () => {
    const dir = writeFiles(tmpDir(), {
      'a.log': jsonl([event({ auditID: 'm1', user: { username: 'admin', groups: ['system:masters', 'system:authenticated'] }, impersonatedUser: { username: 'bob', groups: ['system:authenticated'] } })]),
      'rbac.yaml': 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules: []\n',
    });
    const rep = await report([join(dir, 'a.log'), '--rbac', join(dir, 'rbac.yaml')]);
    const kc02 = rep.checks.find((c: any) => c.id === 'KC-02');
    expect(kc02.status).toBe('fail');
    expect(kc02.evidence.subjects).toEqual(['User admin']);
  });
});

describe('compliance of the subjects a filter selects', () => {
  it('--user reports that subject only, as the whole run scores it, and no one else as dormant', async () => {
    const base = ['compliance', 'fixtures/sample', '--rbac', 'fixtures/sample-rbac', '-o', 'json', '-q', ...NOW];
    const whole = JSON.parse((await runCli(base)).stdout);
    const r = await runCli([...base, '--user', 'alice@example.com']);
    const rep = JSON.parse(r.stdout);
    expect(rep.subjects).toEqual(whole.subjects.filter((s: any) => s.kind === 'User' && s.name === 'alice@example.com'));
    expect(rep.dormant).toEqual([]);
    expect(rep.summary.subjects).toBe(1);
  });
});
