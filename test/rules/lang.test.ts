// The rule language: paths, operators, three-valued logic, quantifiers, schema errors, stateful
// rules with bounded state, and the rule index against evaluating every rule (differential).
import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { event, jsonl, runCli, tmpDir } from '../helpers.js';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parsePath, walk, bodyView, MAX_VALUES } from '../../src/rules/lang/path.js';
import { compileCondition, type Definitions } from '../../src/rules/lang/compile.js';
import { globPred, parseGlob, regexPred, cidrPred, compileRegex } from '../../src/rules/lang/ops.js';
import { checkRuleFile, formatRuleError, type RuleError } from '../../src/rules/lang/schema.js';
import { compileRules, definitions, loadRuleSet } from '../../src/rules/lang/load.js';
import { DetectionEngine, type EngineLimits } from '../../src/rules/lang/engine.js';
import { exampleRecord } from '../../src/rules/lang/examples.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { F, T, U, type Condition, type EvalContext, type RuleDoc } from '../../src/rules/lang/types.js';
import type { AuditRecord } from '../../src/types.js';

const defs: Definitions = { lists: new Map([['l', ['a', 'b']]]), macros: new Map<string, Condition>([['isGet', { field: 'verb', equals: 'get' }]]) };
const ctx = (rec: AuditRecord): EvalContext => ({ rec, scope: undefined, inScope: false, why: '', bodies: new Map() });
const judge = (c: Condition, rec: Record<string, unknown>): number => compileCondition(c, 'match', defs)(ctx(exampleRecord(rec, 0)));

describe('paths', () => {
  const body = { spec: { containers: [{ name: 'a', image: 'x', ports: [{ hostPort: 1 }] }, { name: 'b', image: 'y' }], template: { spec: { containers: [{ image: 'z' }] } } }, metadata: { labels: { 'app.kubernetes.io/name': 'web' } } };
  const values = (p: string, v: unknown = body): unknown[] => {
    const out: unknown[] = [];
    walk(v, parsePath(p).segs, 0, out);
    return out;
  };
  it.each([
    ['spec.containers[*].image', ['x', 'y']],
    ['spec.containers.*.image', ['x', 'y']],
    ['spec.containers.image', ['x', 'y']], // a key on an array applies to each element
    ['spec.containers[1].name', ['b']],
    ['spec.containers[5].name', []],
    ['**.image', ['x', 'y', 'z']],
    ['**.containers.ports.hostPort', [1]],
    ['metadata.labels["app.kubernetes.io/name"]', ['web']],
    ['spec.nothing.here', []],
  ])('%s', (p, want) => {
    expect(values(p)).toEqual(want);
  });

  it('never reads inherited properties (constructor, __proto__)', () => {
    expect(values('constructor', {})).toEqual([]);
    expect(values('a.__proto__', JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toEqual([{ x: 1 }]);
    expect(values('toString', { a: 1 })).toEqual([]);
  });

  it('bounds what one request can cost: at most MAX_VALUES values', () => {
    const wide = { xs: Array.from({ length: MAX_VALUES * 3 }, (_, i) => ({ v: i })) };
    expect(values('xs.v', wide)).toHaveLength(MAX_VALUES);
  });

  it.each(['', 'a..b', 'a.', 'a[', 'a[x]', '.a', 'a b'])('rejects %j', (p) => {
    expect(() => parsePath(p)).toThrow();
  });

  it('reads a JSON Patch as the fragment it sets (RFC 6902 add/replace; RFC 6901 ~0 ~1)', () => {
    const v = bodyView([
      { op: 'add', path: '/spec/template/spec/containers/0/securityContext/privileged', value: true },
      { op: 'replace', path: '/metadata/labels/a~1b', value: 'x' },
      { op: 'remove', path: '/spec/replicas' },
      { op: 'add', path: '/spec/ephemeralContainers/-', value: { name: 'dbg' } },
      { op: 'add', path: '/__proto__/polluted', value: 1 },
    ]);
    expect(values('spec.template.spec.containers.securityContext.privileged', v)).toEqual([true]);
    expect(values('metadata.labels["a/b"]', v)).toEqual(['x']);
    expect(values('spec.ephemeralContainers.name', v)).toEqual(['dbg']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Anything else is read as it is.
    expect(bodyView({ spec: 1 })).toEqual({ spec: 1 });
    expect(bodyView([1, 2])).toEqual([1, 2]);
  });
});

describe('JSON Patch bodies written by an attacker', () => {
  const values = (p: string, v: unknown): unknown[] => {
    const out: unknown[] = [];
    walk(v, parsePath(p).segs, 0, out);
    return out;
  };

  it('an operation that descends into a text, number or boolean is left out (the API server refuses it), never thrown', () => {
    const v = bodyView([
      { op: 'add', path: '/a/0', value: 's' },
      { op: 'add', path: '/a/0/b', value: 1 },
      { op: 'add', path: '/n', value: 5 },
      { op: 'replace', path: '/n/x/y', value: 1 },
      { op: 'add', path: '/spec/hostPID', value: true },
    ]);
    expect(v).toEqual({ a: ['s'], n: 5, spec: { hostPID: true } });
  });

  it('copy and move place a value the same patch set where it lands (RFC 6902 §4.4, §4.5)', () => {
    const v = bodyView([
      { op: 'add', path: '/metadata/annotations/tmp', value: { privileged: true } },
      { op: 'move', from: '/metadata/annotations/tmp', path: '/spec/template/spec/containers/0/securityContext' },
      { op: 'copy', from: '/spec/template/spec/containers/0/securityContext', path: '/spec/template/spec/initContainers/0/securityContext' },
      { op: 'copy', from: '/spec/not/in/the/patch', path: '/spec/x' },
    ]);
    expect(values('spec.template.spec.containers.securityContext.privileged', v)).toEqual([true]);
    expect(values('spec.template.spec.initContainers.securityContext.privileged', v)).toEqual([true]);
    expect(values('spec.x', v)).toEqual([]);
  });

  it('anomalies: such a patch neither stops the read nor hides the requests after it', async () => {
    const dir = tmpDir();
    const ev = (o: Record<string, unknown>): Record<string, unknown> => event({ user: { username: 'mallory', groups: ['system:authenticated'] }, ...o });
    const log = join(dir, 'audit.log');
    writeFileSync(log, jsonl([
      ev({ auditID: 'p', level: 'Request', verb: 'patch', requestURI: '/apis/apps/v1/namespaces/default/deployments/web', objectRef: { resource: 'deployments', namespace: 'default', name: 'web', apiGroup: 'apps', apiVersion: 'v1' }, requestObject: [{ op: 'add', path: '/a/0', value: 's' }, { op: 'add', path: '/a/0/b', value: 1 }] }),
      ev({ auditID: 'm', level: 'Request', verb: 'patch', requestURI: '/apis/apps/v1/namespaces/default/deployments/web', objectRef: { resource: 'deployments', namespace: 'default', name: 'web', apiGroup: 'apps', apiVersion: 'v1' }, requestObject: [{ op: 'add', path: '/metadata/labels/x', value: { privileged: true } }, { op: 'move', from: '/metadata/labels/x', path: '/spec/template/spec/containers/0/securityContext' }] }),
      ev({ auditID: 'e', verb: 'create', requestURI: '/api/v1/namespaces/default/pods/p/exec?command=sh', objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: 'p', apiVersion: 'v1' }, responseStatus: { code: 101 } }),
    ]));
    const r = await runCli(['anomalies', log, '-o', 'json']);
    // The accounting line and nothing else: no warning, no "input ended early".
    expect(r.stderr).toMatch(/^read 3 lines from 1 file: 3 events \(3 requests, 0 stage duplicates\), 0 rejected; 3 used, 0 skipped by filters; read to the end: yes\n$/);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.input.rejected).toBe(0);
    expect(doc.findings.map((f: { rule: string }) => f.rule).sort()).toEqual(['K8S-EXEC', 'K8S-PRIVILEGED-POD']);
  });
});

describe('bodies too large for the limits are unknown, never false', () => {
  it('a privileged container after 4,000 environment variables is found (** visits up to MAX_NODES nodes)', () => {
    const env = Array.from({ length: 4000 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
    const rec = { verb: 'create', resource: 'deployments', requestObject: { spec: { template: { spec: { containers: [{ name: 'a', image: 'nginx', env }, { name: 'b', image: 'alpine', securityContext: { privileged: true } }] } } } } };
    expect(judge({ field: 'requestObject.**.securityContext.privileged', equals: true }, rec)).toBe(T);
  });

  it('values cut short at MAX_VALUES decide only what they show: the rest is unknown (body too large to judge)', () => {
    const containers = Array.from({ length: MAX_VALUES + 1 }, (_, i) => ({ name: `c${i}`, securityContext: { privileged: i === MAX_VALUES } }));
    const rec = exampleRecord({ verb: 'create', resource: 'pods', requestObject: { spec: { containers } } }, 0);
    const c = ctx(rec);
    expect(compileCondition({ field: 'requestObject.spec.containers.securityContext.privileged', equals: true }, 'match', defs)(c)).toBe(U);
    expect(c.why).toBe('body too large to judge');
    expect(compileCondition({ some: 'requestObject.spec.containers', where: { field: 'securityContext.privileged', equals: true } }, 'match', defs)(ctx(rec))).toBe(U);
    expect(compileCondition({ field: 'requestObject.spec.containers.securityContext.privileged', equals: true, quantifier: 'none' }, 'match', defs)(ctx(rec))).toBe(U);
    // What the values seen decide stays decided.
    expect(compileCondition({ field: 'requestObject.spec.containers.securityContext.privileged', equals: false }, 'match', defs)(ctx(rec))).toBe(T);
    expect(compileCondition({ field: 'requestObject.spec.containers.securityContext.privileged', equals: true, quantifier: 'all' }, 'match', defs)(ctx(rec))).toBe(F);
  });
});

describe('operators', () => {
  it.each([
    ['*', 'anything', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbd', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*a*a*a*b', 'a'.repeat(5000), false],
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a\\?', 'a?', true],
    ['C:\\foo', 'C:\\foo', true], // a backslash before anything else is itself (Sigma's escaping)
    ['/etc/*', '/etc/passwd', true],
    ['/etc/*', '/etcetera', false],
  ])('glob %j on %j → %s', (p, s, want) => {
    expect(globPred([p], false)(s)).toBe(want);
  });

  it('glob tokens', () => {
    expect(parseGlob('a**b?\\*')).toEqual(['a', 1, 'b', 0, '*']);
  });

  it('regular expressions run on RE2: a pattern that backtracks exponentially elsewhere answers at once', () => {
    // (a+)+$ on "aaaa…b" takes exponential time in a backtracking engine.
    expect(regexPred(['^(a+)+$'], {})('a'.repeat(100_000) + 'b')).toBe(false);
    expect(regexPred(['^(a+)+$'], {})('aaaa')).toBe(true);
    expect(regexPred(['ABC'], { ignoreCase: true })('xabcx')).toBe(true);
  });

  it.each([['(a)\\1', /\\1/], ['(?=x)', /\(\?=/], ['(?<!x)y', /\(\?<!/]])('refuses %s, naming the construct', (p, msg) => {
    expect(() => compileRegex(p)).toThrow(msg);
  });

  it.each([
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.0/8', '::ffff:10.9.9.9', true],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['192.0.2.1', '192.0.2.1', true],
    ['10.0.0.0/8', 'not-an-ip', false],
  ])('cidr %s contains %s → %s', (c, ip, want) => {
    expect(cidrPred([c])(ip)).toBe(want);
  });

  it.each(['10.0.0.0/33', '10.0.0/8', 'x/8', '::/129', '1.2.3.4/8/9'])('refuses the CIDR %s', (c) => {
    expect(() => cidrPred([c])).toThrow(/not a CIDR block/);
  });

  it.each([
    [{ field: 'code', equals: 403 }, { code: 403 }, T],
    [{ field: 'code', equals: '403' }, { code: 403 }, T],
    [{ field: 'code', gte: 400 }, { code: 403 }, T],
    [{ field: 'code', lt: 400 }, { code: 403 }, F],
    [{ field: 'verb', equals: 'GET' }, { verb: 'get' }, F],
    [{ field: 'verb', equals: 'GET', ignoreCase: true }, { verb: 'get' }, T],
    [{ field: 'verb', in: { list: 'l' } }, { verb: 'b' }, T],
    [{ field: 'userAgent', contains: ['curl', 'wget'] }, { userAgent: 'curl/8' }, T],
    [{ field: 'userAgent', startswith: 'kubectl/' }, { userAgent: 'curl/8' }, F],
    [{ field: 'impersonator', exists: true }, { impersonator: '' }, F],
    [{ field: 'impersonator', exists: false }, {}, T],
    [{ field: 'namespace', equalsField: 'subjectNamespace' }, { subject: 'system:serviceaccount:a:b', namespace: 'a' }, T],
    [{ field: 'namespace', equalsField: 'subjectNamespace' }, { subject: 'system:serviceaccount:a:b', namespace: 'c' }, F],
    [{ field: 'groups', equals: 'sre' }, { groups: ['dev', 'sre'] }, T],
    [{ field: 'groups', equals: 'sre', quantifier: 'all' }, { groups: ['dev', 'sre'] }, F],
    [{ field: 'groups', equals: 'sre', quantifier: 'none' }, { groups: ['dev'] }, T],
    [{ field: 'groups', equals: 'sre', quantifier: 'all' }, { groups: [] }, F],
    [{ field: 'target', equals: 'pods/exec' }, { resource: 'pods', subresource: 'exec' }, T],
    [{ field: 'username', equals: 'alice' }, { subject: 'bob', impersonator: 'alice' }, T],
    // Booleans: equals true/false, in, exists (always present), equalsField.
    [{ field: 'auditIDReused', equals: true }, { auditIDReused: true }, T],
    [{ field: 'auditIDReused', equals: true }, { auditIDReused: false }, F],
    [{ field: 'auditIDReused', equals: false }, {}, T],
    [{ field: 'auditIDReused', in: [true] }, { auditIDReused: false }, F],
    [{ field: 'auditIDReused', in: [false, true] }, { auditIDReused: false }, T],
    [{ field: 'auditIDReused', exists: true }, { auditIDReused: false }, T],
    [{ field: 'auditIDReused', exists: false }, { auditIDReused: true }, F],
    [{ field: 'auditIDReused', equals: true, quantifier: 'none' }, { auditIDReused: false }, T],
    [{ not: { field: 'auditIDReused', equals: true } }, { auditIDReused: true }, F],
    [{ field: 'requestObject.spec.hostNetwork', equals: true }, { requestObject: { spec: { hostNetwork: true } } }, T],
    [{ field: 'requestObject.spec.hostNetwork', equalsField: 'auditIDReused' }, { auditIDReused: true, requestObject: { spec: { hostNetwork: true } } }, T],
    [{ field: 'requestObject.spec.hostNetwork', equalsField: 'auditIDReused' }, { auditIDReused: false, requestObject: { spec: { hostNetwork: true } } }, F],
  ] as [Condition, Record<string, unknown>, number][])('%j on %j', (c, rec, want) => {
    expect(judge(c, rec)).toBe(want);
  });
});

describe('three-valued logic: a body that was not logged is unknown, never false', () => {
  const body = { field: 'requestObject.spec.hostPID', equals: true } as Condition;
  const get = { macro: 'isGet' } as Condition;
  it.each([
    ['body test, no body', body, {}, U],
    ['not(unknown)', { not: body }, {}, U],
    ['all(false, unknown) is false', { all: [{ not: get }, body] }, { verb: 'get' }, F],
    ['all(true, unknown) is unknown', { all: [get, body] }, { verb: 'get' }, U],
    ['any(true, unknown) is true', { any: [get, body] }, { verb: 'get' }, T],
    ['any(false, unknown) is unknown', { any: [{ not: get }, body] }, { verb: 'get' }, U],
    ['exists on a missing body is unknown too', { field: 'requestObject.x', exists: false }, {}, U],
    ['with the body, a missing field is simply false', body, { requestObject: { spec: {} } }, F],
    ['some over a missing body', { some: 'requestObject.spec.containers', where: { field: 'image', equals: 'x' } }, {}, U],
  ] as [string, Condition, Record<string, unknown>, number][])('%s', (_n, c, rec, want) => {
    expect(judge(c, rec)).toBe(want);
  });

  it('some, every and none over elements, with @ and $.', () => {
    const rec = { namespace: 'ns', requestObject: { spec: { containers: [{ image: 'a', env: 'ns' }, { image: 'b' }], empty: [] } } };
    expect(judge({ some: 'requestObject.spec.containers', where: { field: 'image', equals: 'b' } }, rec)).toBe(T);
    expect(judge({ every: 'requestObject.spec.containers', where: { field: 'image', equals: 'b' } }, rec)).toBe(F);
    expect(judge({ none: 'requestObject.spec.containers', where: { field: 'image', equals: 'c' } }, rec)).toBe(T);
    expect(judge({ every: 'requestObject.spec.empty', where: { field: 'image', equals: 'c' } }, rec)).toBe(T);
    expect(judge({ some: 'requestObject.spec.containers.image', where: { field: '@', in: ['a'] } }, rec)).toBe(T);
    expect(judge({ some: 'requestObject.spec.containers', where: { field: 'env', equalsField: '$.namespace' } }, rec)).toBe(T);
  });
});

describe('schema: errors name the file, the rule and the field', () => {
  const rule = { id: 'X-1', title: 't', description: 'd', severity: 'high', technique: ['T1609'], match: { field: 'verb', equals: 'get' } };
  const errorsOf = (doc: unknown): string[] => {
    const errors: RuleError[] = [];
    const f = checkRuleFile(doc, 'x.yaml', 'file', 'x', errors);
    compileRules(f.rules, definitions([f]), errors);
    return errors.map(formatRuleError);
  };
  it.each([
    [{ rules: [{ ...rule, severity: 'urgent' }] }, 'x.yaml: rule X-1: severity: expected low, medium, high, critical'],
    [{ rules: [{ ...rule, technique: ['T9999'] }] }, 'x.yaml: rule X-1: technique[0]: T9999 is not a technique of MITRE ATT&CK Enterprise v18.0'],
    [{ rules: [{ ...rule, technique: ['t1609'] }] }, 'x.yaml: rule X-1: technique[0]: "t1609" is not an ATT&CK technique id (T1234 or T1234.001)'],
    [{ rules: [{ ...rule, title: undefined }] }, 'x.yaml: rule X-1: title: is required'],
    [{ rules: [{ ...rule, colour: 'red' }] }, 'x.yaml: rule X-1: colour: unknown key'],
    [{ rules: [{ ...rule, match: { field: 'vreb', equals: 'get' } }] }, 'x.yaml: rule X-1: match.field: unknown field "vreb" (did you mean "verb"?)'],
    [{ rules: [{ ...rule, match: { all: [{ field: 'verb', equals: 'get' }, { field: 'userAgent', regex: '(?=x)' }] } }] }, 'x.yaml: rule X-1: match.all[1].regex: regular expression "(?=x)" is not supported by the linear-time engine'],
    [{ rules: [{ ...rule, match: { field: 'sourceIP', cidr: '10.0.0.0/99' } }] }, 'x.yaml: rule X-1: match.cidr: "10.0.0.0/99" is not a CIDR block'],
    [{ rules: [{ ...rule, match: { field: 'verb', equals: 'get', in: ['x'] } }] }, 'x.yaml: rule X-1: match: a field condition has one operator, not equals and in'],
    [{ rules: [{ ...rule, match: { field: 'subjectKind', equals: 'Person' } }] }, 'x.yaml: rule X-1: match.equals: subjectKind is never "Person"'],
    [{ rules: [{ ...rule, match: { macro: 'nope' } }] }, 'x.yaml: rule X-1: match.macro: unknown macro "nope"'],
    [{ rules: [{ ...rule, match: { field: 'verb', in: { list: 'nope' } } }] }, 'x.yaml: rule X-1: match.in: unknown list "nope"'],
    [{ macros: { a: { macro: 'a' } }, rules: [{ ...rule, match: { macro: 'a' } }] }, 'uses itself (a → a)'],
    [{ rules: [{ ...rule, threshold: { count: 0, within: '5 minutes', by: ['subject'] } }] }, 'x.yaml: rule X-1: threshold.count: expected a whole number from 1 to 10000'],
    [{ rules: [{ ...rule, threshold: { count: 3, within: '5m', by: ['requestObject'] } }] }, 'x.yaml: rule X-1: threshold.by[0]: requestObject is a body'],
    [{ rules: [{ ...rule, threshold: { count: 3, within: '5m' }, firstSeen: { value: 'client' } }] }, 'a rule is one of threshold, firstSeen or sequence'],
    [{ rules: [{ ...rule, examples: [{ expect: 'maybe', record: {} }] }] }, 'x.yaml: rule X-1: examples[0].expect: expected match, no-match or not-evaluated'],
    [{ rules: [rule, rule] }, 'x.yaml: rule X-1: id: is used twice in this file'],
    [{ rules: [{ ...rule, examples: [{ expect: 'match', record: { verb: 'get', subresouce: 'exec' } }] }] }, 'x.yaml: rule X-1: examples[0].records[0].subresouce: not a field of the normalized record'],
    [{ rules: [{ ...rule, match: { field: 'auditIDReused', equals: 'true' } }] }, 'x.yaml: rule X-1: match.equals: auditIDReused is a boolean: compare it with true or false, not "true"'],
    [{ rules: [{ ...rule, match: { field: 'auditIDReused', in: [true, 1] } }] }, 'x.yaml: rule X-1: match.in: auditIDReused is a boolean: compare it with true or false, not 1'],
    [{ rules: [{ ...rule, match: { field: 'auditIDReused', contains: 'tr' } }] }, 'x.yaml: rule X-1: match.contains: auditIDReused is a boolean: use equals: true or false (or in, exists, equalsField), not contains'],
    [{ rules: [{ ...rule, match: { field: 'auditIDReused', gt: 0 } }] }, 'auditIDReused is a boolean: use equals: true or false'],
    [{ rules: [{ ...rule, match: { field: 'auditIDReused', equals: true, ignoreCase: true } }] }, 'x.yaml: rule X-1: match.ignoreCase: auditIDReused is a boolean: it has no case'],
    [{ rules: [{ ...rule, match: { field: 'auditIDReused.x', equals: true } }] }, 'auditIDReused is a boolean: it has no ".x"'],
    [{ rules: [{ ...rule, examples: [{ expect: 'match', record: { auditIDReused: 'yes' } }] }] }, 'x.yaml: rule X-1: examples[0].records[0].auditIDReused: expected true or false, got "yes"'],
    [{ rules: [{ ...rule, examples: [{ expect: 'match', record: { code: '403' } }] }] }, 'x.yaml: rule X-1: examples[0].records[0].code: expected a number, got "403"'],
    [{ rule: [] }, 'x.yaml: rule: unknown key'],
    ['just text', 'x.yaml: expected a mapping with rules'],
  ])('%j', (doc, msg) => {
    expect(errorsOf(doc).join('\n')).toContain(msg);
  });

  it('a valid rule has no errors', () => {
    expect(errorsOf({ rules: [rule] })).toEqual([]);
  });

  it('a condition that expands to 2^40 copies (macros used twice, level after level) is an error, not a hang', () => {
    const macros: Record<string, unknown> = { m0: { field: 'verb', equals: 'get' } };
    for (let i = 1; i <= 40; i++) macros[`m${i}`] = { any: [{ macro: `m${i - 1}` }, { macro: `m${i - 1}` }] };
    expect(errorsOf({ macros, rules: [{ ...rule, match: { macro: 'm40' } }] }).join('\n')).toMatch(/x\.yaml: rule X-1: match.*: the rule expands to more than 10000 conditions/);
  });

  it('the same with YAML aliases, through the file loader and audit rules test (exit 2)', async () => {
    const lines = ['rules:', '  - id: BOMB', '    title: t', '    description: d', '    severity: low', '    technique: []', '    match:', '      any:', '        - &a0 {field: verb, equals: get}'];
    for (let i = 1; i < 40; i++) lines.push(`        - &a${i} {any: [*a${i - 1}, *a${i - 1}]}`);
    const dir = tmpDir();
    writeFileSync(join(dir, 'bomb.yaml'), lines.join('\n') + '\n');
    const r = await runCli(['rules', 'test', join(dir, 'bomb.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rule BOMB: .*the rule expands to more than 10000 conditions/);
  });
});

/** A compiled stateful rule from a document fragment. */
function engineFor(extra: Partial<RuleDoc> & Record<string, unknown>, limits?: Partial<EngineLimits>): DetectionEngine {
  const errors: RuleError[] = [];
  const f = checkRuleFile({ rules: [{ id: 'S-1', title: 't', description: 'd', severity: 'low', technique: [], reason: '{count}/{within}/{key}', ...extra }] }, 'x.yaml', 'file', 'x', errors);
  const rules = compileRules(f.rules, definitions([f]), errors);
  expect(errors.map(formatRuleError)).toEqual([]);
  return new DetectionEngine({ rules, warnings: [] }, limits);
}

const at = (min: number, over: Record<string, unknown> = {}): AuditRecord => exampleRecord({ time: new Date(Date.parse('2026-03-02T10:00:00Z') + min * 60_000).toISOString(), auditID: `id-${min}`, code: 403, ...over }, 0);

describe('stateful rules', () => {
  const burst = { match: { field: 'decision', equals: 'forbid' }, threshold: { count: 3, within: '5m', by: ['subject'] } };
  const run = (e: DetectionEngine, recs: AuditRecord[]): string[] => {
    const ids: string[] = [];
    for (const r of recs) e.evaluate(r, (h) => ids.push(...h.events.map((x) => x.auditID)));
    return ids;
  };

  it('a threshold reports every request of every window that reaches N, once', () => {
    const ids = run(engineFor(burst), [at(0), at(1), at(2), at(3), at(20), at(21)]);
    expect(ids.sort()).toEqual(['id-0', 'id-1', 'id-2', 'id-3']);
  });

  it('a threshold finds a window whatever the order of its last N requests (files read out of order)', () => {
    expect(run(engineFor(burst), [at(4), at(0), at(2)]).sort()).toEqual(['id-0', 'id-2', 'id-4']);
    expect(run(engineFor(burst), [at(0), at(10), at(2)])).toEqual([]);
  });

  it('keys are separate', () => {
    expect(run(engineFor(burst), [at(0, { subject: 'a' }), at(1, { subject: 'b' }), at(2, { subject: 'a' })])).toEqual([]);
  });

  it('state is bounded: keys unused for two generations are dropped and counted; a key in use survives', () => {
    const e = engineFor(burst, { maxKeys: 6, maxValuesPerKey: 10 });
    // a stays in use while b…f pass through: its window is still found.
    const ids = run(e, [at(0, { subject: 'a' }), at(0, { subject: 'b' }), at(0, { subject: 'c' }), at(1, { subject: 'a' }), at(1, { subject: 'd' }), at(1, { subject: 'e' }), at(1, { subject: 'f' }), at(2, { subject: 'a' })]);
    expect(ids).toHaveLength(3);
    expect(e.stats()[0]!.evictedKeys).toBeGreaterThan(0);
    // A key dropped from state starts over.
    const f = engineFor(burst, { maxKeys: 2, maxValuesPerKey: 10 });
    expect(run(f, [at(0, { subject: 'a' }), at(0, { subject: 'a' }), at(0, { subject: 'b' }), at(0, { subject: 'c' }), at(0, { subject: 'd' }), at(1, { subject: 'a' })])).toEqual([]);
    expect(f.stats()[0]!.evictedKeys).toBeGreaterThan(0);
  });

  it('state is bounded in kept events too, not only in keys: a count of 10000 over 100,000 keys would hold 10^9 requests', () => {
    const big = { match: { field: 'decision', equals: 'forbid' }, threshold: { count: 10_000, within: '1h', by: ['sourceIP'] } };
    const e = engineFor(big, { maxKeys: 1_000, maxEntries: 100 });
    const recs: AuditRecord[] = [];
    for (let k = 0; k < 8; k++) for (let i = 0; i < 30; i++) recs.push(at(i / 10, { sourceIP: `203.0.113.${k}`, auditID: `k${k}-${i}` }));
    run(e, recs);
    // 8 keys are far under maxKeys, but 240 events are over maxEntries: older generations were dropped.
    expect(e.stats()[0]!.evictedKeys).toBeGreaterThan(0);
    const first = engineFor({ match: { field: 'verb', equals: 'get' }, firstSeen: { value: ['userAgent'], by: ['subject'], after: '1h' } }, { maxKeys: 1_000, maxEntries: 100 });
    const gets: AuditRecord[] = [];
    for (let k = 0; k < 8; k++) for (let i = 0; i < 30; i++) gets.push(at(i, { code: 200, subject: `u${k}`, userAgent: `ua-${i}` }));
    run(first, gets);
    expect(first.stats()[0]!.evictedKeys).toBeGreaterThan(0);
    // Under both limits nothing is dropped.
    const roomy = engineFor(big, { maxKeys: 1_000, maxEntries: 1_000 });
    run(roomy, recs);
    expect(roomy.stats()[0]!.evictedKeys).toBe(0);
  });

  it('first-seen: values new for their key after the learning period; none while learning', () => {
    const e = engineFor({ match: { field: 'verb', equals: 'get' }, firstSeen: { value: ['client'], by: ['subject'], after: '1h' } });
    const hits = run(e, [
      at(0, { code: 200, userAgent: 'reporter/1.0' }),
      at(10, { code: 200, userAgent: 'helm/v3' }), // learning
      at(90, { code: 200, userAgent: 'reporter/1.0' }),
      at(95, { code: 200, userAgent: 'curl/8.4.0' }), // new after an hour
      at(96, { code: 200, userAgent: 'curl/8.4.0' }), // not new any more
    ]);
    expect(hits).toEqual(['id-95']);
  });

  it('sequence: steps in order, same key, within the window; one request never completes two steps', () => {
    const seq = { sequence: { by: ['subject'], within: '10m', steps: [{ field: 'verb', equals: 'list' }, { field: 'verb', equals: 'create' }] } };
    expect(run(engineFor(seq), [at(0, { verb: 'list', code: 200 }), at(5, { verb: 'create', code: 200 })])).toEqual(['id-0', 'id-5']);
    expect(run(engineFor(seq), [at(0, { verb: 'list', code: 200 }), at(15, { verb: 'create', code: 200 })])).toEqual([]);
    expect(run(engineFor(seq), [at(0, { verb: 'create', code: 200 }), at(5, { verb: 'list', code: 200 })])).toEqual([]);
    const both = { sequence: { by: ['subject'], within: '10m', steps: [{ field: 'code', equals: 200 }, { field: 'code', equals: 200 }] } };
    expect(run(engineFor(both), [at(0, { code: 200 })])).toEqual([]);
  });

  it('a request without a time is counted as not evaluated, not windowed', () => {
    const e = engineFor(burst);
    run(e, [exampleRecord({ code: 403, time: '', timeMs: NaN }, 0)]);
    expect(e.stats()[0]!.notEvaluated).toEqual({ 'no timestamp': 1 });
  });
});

describe('the rule index (by verb, resource and subject kind) equals evaluating every rule', () => {
  const lines = [readFileSync('fixtures/sample/audit.log', 'utf8'), gunzipSync(readFileSync('fixtures/sample/audit-2026-03-02T23-59-59.999.log.gz')).toString('utf8')].flatMap((t) => t.split('\n')).filter(Boolean);
  const records = lines.map((l) => normalizeValue(JSON.parse(l), '')).filter((r): r is AuditRecord => typeof r !== 'string');

  it('on the bundled sample: the same hits in the same order', async () => {
    const set = await loadRuleSet();
    const unindexed = { ...set, rules: set.rules.map((r) => ({ ...r, verbs: null, resources: null, subjectKinds: null })) };
    const collect = (e: DetectionEngine): string[] => {
      const out: string[] = [];
      for (const r of records) e.evaluate(r, (h) => out.push(`${h.rule.doc.id} ${h.events.map((x) => x.auditID).join(',')} ${h.reason}`));
      return out;
    };
    const fast = collect(new DetectionEngine(set));
    expect(fast.length).toBeGreaterThan(20);
    expect(fast).toEqual(collect(new DetectionEngine(unindexed)));
  });

  it('on generated records (property)', async () => {
    const set = await loadRuleSet();
    const unindexed = { ...set, rules: set.rules.map((r) => ({ ...r, verbs: null, resources: null, subjectKinds: null })) };
    const rec = fc.record({
      verb: fc.constantFrom('get', 'list', 'create', 'patch', 'update', 'delete', 'watch'),
      resource: fc.constantFrom('pods', 'secrets', 'clusterrolebindings', 'namespaces', 'services', 'nodes', ''),
      subresource: fc.constantFrom('', 'exec', 'proxy', 'token', 'ephemeralcontainers'),
      subject: fc.constantFrom('alice@example.com', 'system:anonymous', 'system:serviceaccount:apps:x', 'system:node:n1', ''),
      code: fc.constantFrom(200, 201, 401, 403),
      apiGroup: fc.constantFrom('', 'rbac.authorization.k8s.io', 'apps'),
      namespace: fc.constantFrom('', 'kube-system', 'apps'),
    });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 30 }), (rs) => {
        const recs = rs.map((r, i) => exampleRecord(r, i));
        const a: string[] = [];
        const b: string[] = [];
        const ea = new DetectionEngine(set);
        const eb = new DetectionEngine(unindexed);
        for (const r of recs) {
          ea.evaluate(r, (h) => a.push(h.rule.doc.id));
          eb.evaluate(r, (h) => b.push(h.rule.doc.id));
        }
        expect(a).toEqual(b);
        expect(ea.stats()).toEqual(eb.stats());
      }),
      { numRuns: 200, seed: 17 },
    );
  });
});

describe('anomalies: merged partial states equal one pass (per-request rules)', () => {
  it('for any split of the sample', async () => {
    const { anomalies } = await import('../../src/analyses/anomalies/index.js');
    const set = await loadRuleSet();
    const perRequest = { ...set, rules: set.rules.filter((r) => !r.doc.threshold && !r.doc.firstSeen && !r.doc.sequence).map((r, i) => ({ ...r, index: i })) };
    const lines = [readFileSync('fixtures/sample/audit.log', 'utf8')].flatMap((t) => t.split('\n')).filter(Boolean);
    const records = lines.map((l) => normalizeValue(JSON.parse(l), '')).filter((r): r is AuditRecord => typeof r !== 'string');
    const opts = { baseline: null, trainUntilMs: null, spikeFactor: 3, spikeMin: 50, offHoursMinRequests: 50, rules: perRequest };
    const input = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };
    const one = anomalies.init(opts);
    for (const r of records) anomalies.add(one, r);
    const want = anomalies.finish(one, { input });
    expect(want.findings.length).toBeGreaterThan(5);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: records.length }), (cut) => {
        const a = anomalies.init(opts);
        const b = anomalies.init(opts);
        for (const r of records.slice(0, cut)) anomalies.add(a, r);
        for (const r of records.slice(cut)) anomalies.add(b, r);
        const got = anomalies.finish(anomalies.merge(a, b), { input });
        expect(got.findings).toEqual(want.findings);
        expect(got.rules).toEqual(want.rules);
      }),
      { numRuns: 15, seed: 3 },
    );
  });
});
