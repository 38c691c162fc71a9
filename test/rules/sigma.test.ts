// Sigma rules for Kubernetes audit, translated offline. Semantics from the Sigma specification
// (SigmaHQ/sigma-specification: specification/sigma-rules-specification.md, sigma-appendix-
// modifiers.md v2.1). Every rule here is written for these tests; no third-party rule is used.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { translateSigma, parseCondition, isKubernetesAudit, SigmaRefusal } from '../../src/rules/sigma.js';
import { compileRules, definitions } from '../../src/rules/lang/load.js';
import { DetectionEngine } from '../../src/rules/lang/engine.js';
import { exampleRecord } from '../../src/rules/lang/examples.js';
import type { RuleError } from '../../src/rules/lang/schema.js';
import type { Condition } from '../../src/rules/lang/types.js';
import { runCli, tmpDir, writeFiles } from '../helpers.js';

const LOG = 'logsource:\n  product: kubernetes\n  service: audit\n';

/** Compiles a Sigma rule (YAML text) and says which of the records it matches (their indexes). */
function matches(text: string, recs: Record<string, unknown>[]): number[] {
  const warnings: string[] = [];
  const doc = translateSigma(yaml.load(text), 'r.yml', warnings);
  const errors: RuleError[] = [];
  const rules = compileRules([doc], definitions([]), errors);
  expect(errors).toEqual([]);
  const e = new DetectionEngine({ rules, warnings });
  const out: number[] = [];
  recs.forEach((r, i) => e.evaluate(exampleRecord(r, i), () => out.push(i)));
  return out;
}

const rule = (detection: string, extra = ''): string => `title: T\nid: 11111111-2222-4333-8444-555555555555\n${LOG}${extra}detection:\n${detection}`;

describe('Sigma detection semantics', () => {
  const recs = [
    { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'prod', subject: 'alice@example.com', userAgent: 'kubectl/v1.31.0', sourceIP: '203.0.113.1' },
    { verb: 'get', resource: 'secrets', namespace: 'kube-system', subject: 'system:serviceaccount:apps:r', userAgent: 'curl/8.4.0', code: 200, sourceIP: '198.51.100.1' },
    { verb: 'list', resource: 'secrets', subject: 'bob@example.com', userAgent: 'Python-Requests/2.31', code: 403, sourceIP: 'fd00::1' },
    { verb: 'get', resource: 'pods', subject: 'system:node:n1', impersonator: 'mallory@example.com', sourceIP: '10.1.2.3', userAgent: 'kubelet/v1.31.0' },
    { verb: 'get', resource: '', nonResourceURL: '/version', requestURI: '/version?timeout=32s', subject: 'system:anonymous', sourceIP: '192.0.2.9', userAgent: 'Go-http-client/1.1' },
  ];
  it.each([
    ['a map is AND', '  sel:\n    verb: get\n    objectRef.resource: secrets\n  condition: sel', [1]],
    ['a value list is OR', '  sel:\n    verb: [create, list]\n  condition: sel', [0, 2]],
    ['a list of maps is OR', '  sel:\n    - verb: create\n    - objectRef.namespace: kube-system\n  condition: sel', [0, 1]],
    ['values are case-insensitive', '  sel:\n    verb: CREATE\n  condition: sel', [0]],
    ['cased makes them case-sensitive', '  sel:\n    verb|cased: CREATE\n  condition: sel', []],
    ['wildcards * and ?', "  sel:\n    user.username: 'system:*:apps:?'\n  condition: sel", [1]],
    ['escaped wildcard is plain', "  sel:\n    userAgent: 'curl\\*'\n  condition: sel", []],
    ['contains', "  sel:\n    userAgent|contains: 'requests'\n  condition: sel", [2]],
    ['startswith with a list', "  sel:\n    userAgent|startswith: ['curl/', 'kubectl/']\n  condition: sel", [0, 1]],
    ['endswith', "  sel:\n    user.username|endswith: '@example.com'\n  condition: sel", [0, 2, 3]],
    ['contains|all', "  sel:\n    userAgent|contains|all: ['python', 'requests']\n  condition: sel", [2]],
    ['re is case-sensitive', "  sel:\n    userAgent|re: '^python'\n  condition: sel", []],
    ['re|i', "  sel:\n    userAgent|re|i: '^python'\n  condition: sel", [2]],
    ['cidr', "  sel:\n    sourceIPs|cidr: '10.0.0.0/8'\n  condition: sel", [3]],
    ['exists true', '  sel:\n    impersonatedUser.username|exists: true\n  condition: sel', [3]],
    ['impersonatedUser.username', "  sel:\n    impersonatedUser.username: 'system:node:*'\n  condition: sel", [3]],
    ['user.username is the authenticated (impersonating) user', "  sel:\n    user.username: 'mallory@example.com'\n  condition: sel", [3]],
    ['null: the field is absent or empty', '  sel:\n    objectRef.namespace: null\n    verb: list\n  condition: sel', [2]],
    ['numbers compare with response codes', '  sel:\n    responseStatus.code: 403\n  condition: sel', [2]],
    ['gte', '  sel:\n    responseStatus.code|gte: 400\n  condition: sel', [2]],
    ['neq', '  sel:\n    verb|neq: get\n  condition: sel', [0, 2]],
    ['and not', '  sel:\n    objectRef.resource: secrets\n  filter:\n    responseStatus.code: 403\n  condition: sel and not filter', [1]],
    ['precedence: or < and < not', '  a:\n    verb: create\n  b:\n    verb: get\n  c:\n    objectRef.resource: secrets\n  condition: a or b and not c', [0, 3, 4]],
    ['parentheses', '  a:\n    verb: create\n  b:\n    verb: get\n  c:\n    objectRef.resource: secrets\n  condition: (a or b) and not c', [0, 3, 4]],
    ['1 of pattern', "  sel_a:\n    verb: create\n  sel_b:\n    verb: list\n  condition: 1 of sel_*", [0, 2]],
    ['all of them skips _identifiers', "  sel:\n    objectRef.resource: secrets\n  _never:\n    verb: delete\n  condition: all of them", [1, 2]],
    ['a condition list is OR', "  a:\n    verb: create\n  b:\n    verb: list\n  condition:\n    - a\n    - b", [0, 2]],
    ['fieldref', "  sel:\n    user.username|fieldref: impersonatedUser.username\n  condition: sel", []],
    ['fieldref|neq', "  sel:\n    objectRef.namespace|fieldref|neq: objectRef.name\n    verb: create\n  condition: sel", [0]],
  ])('%s', (_n, det, want) => {
    expect(matches(rule(det), recs)).toEqual(want);
  });

  // Escaping (rules specification, "Escaping"; pySigma SigmaString: a value that ends in an escaping
  // backslash keeps it as a plain backslash, and contains/startswith add their wildcard after parsing).
  it.each([
    ['contains a value ending in a backslash', "  sel:\n    userAgent|contains: 'C:\\'\n  condition: sel", [{ userAgent: 'run C:\\x' }, { userAgent: 'run C:*x' }], [0]],
    ['startswith a value ending in a backslash', "  sel:\n    userAgent|startswith: 'tool\\'\n  condition: sel", [{ userAgent: 'tool\\v1' }, { userAgent: 'tool*' }], [0]],
    ['contains a value ending in an escaped backslash (\\\\)', "  sel:\n    userAgent|contains: 'C:\\\\'\n  condition: sel", [{ userAgent: 'run C:\\x' }, { userAgent: 'run C:\\\\x' }], [0, 1]],
    ['three backslashes and a star: a backslash and a plain star', "  sel:\n    userAgent: 'a\\\\\\*'\n  condition: sel", [{ userAgent: 'a\\*' }, { userAgent: 'a\\x' }], [0]],
  ])('%s', (_n, det, recs2, want) => {
    expect(matches(rule(det), recs2)).toEqual(want);
  });

  it('user.groups is unknown for an impersonated request (kaudit keeps the impersonated groups only)', () => {
    const doc = translateSigma(yaml.load(rule("  sel:\n    user.groups: 'system:masters'\n  condition: sel")), 'r.yml', []);
    const errors: RuleError[] = [];
    const e = new DetectionEngine({ rules: compileRules([doc], definitions([]), errors), warnings: [] });
    e.evaluate(exampleRecord({ subject: 'x', impersonator: 'y', groups: ['system:masters'] }, 0), () => {
      throw new Error('must not match');
    });
    expect(e.stats()[0]!.notEvaluated).toEqual({ "the impersonator's groups are not kept": 1 });
  });

  it('condition precedence builds the expected tree', () => {
    const sel = new Map<string, Condition>([['a', { macro: 'a' }], ['b', { macro: 'b' }], ['c', { macro: 'c' }]]);
    expect(parseCondition('a or b and not c', sel)).toEqual({ any: [{ macro: 'a' }, { all: [{ macro: 'b' }, { not: { macro: 'c' } }] }] });
  });
});

describe('Sigma metadata', () => {
  it('carries id, title, author, license, level, references, false positives and ATT&CK tags into the rule', () => {
    const w: string[] = [];
    const d = translateSigma(
      yaml.load(`title: My Rule\nid: 0b6f3c1e-5a2d-4e8b-9f31-7c2a9d4e6b10\nstatus: test\nauthor: Jane Doe\nlicense: MIT\ndate: 2026-01-02\nlevel: informational\nreferences: [https://example.com/x]\nfalsepositives: [admins]\ntags: [attack.execution, attack.t1609, attack.t9999]\n${LOG}detection:\n  sel:\n    verb: create\n  condition: sel\n`),
      'r.yml',
      w,
    );
    expect(d).toMatchObject({ id: '0b6f3c1e-5a2d-4e8b-9f31-7c2a9d4e6b10', title: 'My Rule', severity: 'low', technique: ['T1609'], tags: ['attack.execution'], references: ['https://example.com/x'], falsePositives: ['admins'] });
    expect(d.sigma).toEqual({ id: '0b6f3c1e-5a2d-4e8b-9f31-7c2a9d4e6b10', title: 'My Rule', author: 'Jane Doe', license: 'MIT', status: 'test', date: '2026-01-02', modified: '' });
    expect(w).toEqual(['sigma: r.yml: tag attack.t9999 is not a technique of MITRE ATT&CK Enterprise v18.0; left out']);
  });

  it.each([
    [{ product: 'kubernetes', service: 'audit' }, true],
    [{ product: 'Kubernetes', service: 'Audit', category: 'application' }, true],
    [{ product: 'k8s', service: 'kube-audit' }, true],
    [{ product: 'windows', category: 'process_creation' }, false],
    [{ product: 'kubernetes', service: 'kubelet' }, false],
    [{ product: 'gcp', service: 'gcp.audit' }, false],
  ])('logsource %j is Kubernetes audit: %s', (ls, want) => {
    expect(isKubernetesAudit(ls)).toBe(want);
  });
});

describe('Sigma constructs kaudit refuses, by name, never half-applied', () => {
  it.each([
    ['  keywords:\n    - evil\n  condition: keywords', /keyword search/],
    ["  sel:\n    requestURI|base64offset|contains: 'x'\n  condition: sel", /modifier base64offset/],
    ["  sel:\n    userAgent|windash: 'x'\n  condition: sel", /modifier windash/],
    ["  sel:\n    userAgent|expand: '%admins%'\n  condition: sel", /modifier expand/],
    ["  sel:\n    userAgent|hour: 3\n  condition: sel", /modifier hour/],
    ["  sel:\n    userAgent|frobnicate: 'x'\n  condition: sel", /unknown modifier "frobnicate"/],
    ['  sel:\n    verb: create\n  condition: sel | count() by user.username > 5', /aggregation/],
    ['  sel:\n    verb: create\n  timeframe: 5m\n  condition: sel', /timeframe/],
    ['  sel:\n    verb: create\n  condition: 2 of sel', /"2 of"/],
    ['  sel:\n    verb: create\n  condition: sel and other', /names "other"/],
    ["  sel:\n    capabilities: '*'\n  condition: sel", /field "capabilities" is not a field of Kubernetes audit events/],
    ["  sel:\n    responseStatus.reason: 'x'\n  condition: sel", /field "responseStatus.reason"/],
    ["  sel:\n    userAgent|re: '(a)\\1'\n  condition: sel", /not supported by the linear-time engine/],
    ["  sel:\n    userAgent|all: 'x'\n  condition: sel", /all with a single value/],
    // neq is defined on text and numbers and with fieldref: applied beside another type modifier it was dropped, inverting the rule.
    ["  sel:\n    sourceIPs|cidr|neq: '10.0.0.0/8'\n  condition: sel", /modifier neq with cidr \(field sourceIPs\)/],
    ["  sel:\n    userAgent|re|neq: '^kubectl/'\n  condition: sel", /modifier neq with re/],
    ['  sel:\n    responseStatus.code|gte|neq: 400\n  condition: sel', /modifier neq with gte/],
    ['  sel:\n    impersonatedUser.username|exists|neq: true\n  condition: sel', /modifier neq with exists/],
  ])('%s', (det, msg) => {
    const text = rule(det);
    const run = (): void => {
      const doc = translateSigma(yaml.load(text), 'r.yml', []);
      const errors: RuleError[] = [];
      compileRules([doc], definitions([]), errors);
      if (errors.length) throw new SigmaRefusal(errors[0]!.message);
    };
    expect(run).toThrow(msg);
  });

  it('a correlation rule is refused', () => {
    expect(() => translateSigma({ title: 'c', correlation: { type: 'event_count' } }, 'c.yml', [])).toThrow(/correlation rule/);
  });
});

describe('--sigma on the command line', () => {
  it('runs the example Sigma rules beside the built-in ones; findings carry the Sigma metadata; other log sources are skipped', async () => {
    const r = await runCli(['anomalies', 'fixtures/sample', '--sigma', 'fixtures/sigma', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/sigma: 1 rule skipped: logsource is not Kubernetes audit/);
    const rep = JSON.parse(r.stdout);
    expect(rep.rules.bySource).toMatchObject({ sigma: 3 });
    const f = rep.findings.find((x: any) => x.rule === '7d9e2f40-1c3b-4a6d-8e5f-2b7c9a1d3e42' && x.subject === 'alice@example.com');
    expect(f).toMatchObject({ source: 'sigma', technique: ['T1552.007'], sigma: { id: '7d9e2f40-1c3b-4a6d-8e5f-2b7c9a1d3e42', title: 'Secret Read By A Scripted Client', author: 'kaudit maintainers', license: 'Apache-2.0' } });
    expect(rep.ruleInfo['7d9e2f40-1c3b-4a6d-8e5f-2b7c9a1d3e42'].source.kind).toBe('sigma');
    const sarif = JSON.parse((await runCli(['anomalies', 'fixtures/sample', '--sigma', 'fixtures/sigma', '-o', 'sarif', '-q'])).stdout);
    const sr = sarif.runs[0].tool.driver.rules.find((x: any) => x.id === '7d9e2f40-1c3b-4a6d-8e5f-2b7c9a1d3e42');
    expect(sr.properties.sigma).toMatchObject({ author: 'kaudit maintainers', license: 'Apache-2.0' });
  });

  it('a refused rule is left out with a warning naming the construct; the others run', async () => {
    const dir = writeFiles(tmpDir(), {
      'ok.yml': rule('  sel:\n    verb: delete\n    objectRef.resource: namespaces\n  condition: sel'),
      'bad.yml': rule("  sel:\n    requestURI|base64: 'x'\n  condition: sel").replace('11111111-2222-4333-8444-555555555555', '22222222-2222-4333-8444-555555555555'),
    });
    const r = await runCli(['anomalies', 'fixtures/sample', '--sigma', dir, '--only-rules', '11111111-*', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sigma: ${join(dir, 'bad.yml')}: rule 22222222-2222-4333-8444-555555555555: refused: uses modifier base64 (field requestURI)`);
    expect(JSON.parse(r.stdout).summary.byRule).toEqual({ '11111111-2222-4333-8444-555555555555': 1 });
  });

  it('when no Sigma rule can run, the command stops (exit 2)', async () => {
    const dir = writeFiles(tmpDir(), { 'bad.yml': rule("  sel:\n    requestURI|base64: 'x'\n  condition: sel") });
    const r = await runCli(['anomalies', 'fixtures/sample', '--sigma', join(dir, 'bad.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no Sigma rule can run: refused: uses modifier base64/);
  });

  it('a Sigma rule and its kaudit equivalent find the same requests', async () => {
    const sigma = await runCli(['anomalies', 'fixtures/sample', '--sigma', 'fixtures/sigma/kaudit_exec_production.yml', '--only-rules', '0b6f3c1e-*', '-o', 'json', '-q']);
    const dir = writeFiles(tmpDir(), {
      'same.yaml': `rules:\n  - id: SAME\n    title: t\n    description: d\n    severity: high\n    technique: [T1609]\n    match:\n      all:\n        - {field: verb, equals: create}\n        - {field: resource, equals: pods}\n        - {field: subresource, in: [exec, attach]}\n        - {field: namespace, equals: production}\n        - not: {field: username, startswith: 'system:serviceaccount:', ignoreCase: true}\n`,
    });
    const native = await runCli(['anomalies', 'fixtures/sample', '--rules', join(dir, 'same.yaml'), '--only-rules', 'SAME', '-o', 'json', '-q']);
    const ids = (out: string): string[] => JSON.parse(out).findings.flatMap((f: any) => f.auditIDs).sort();
    expect(ids(sigma.stdout)).toEqual(ids(native.stdout));
  });
});
