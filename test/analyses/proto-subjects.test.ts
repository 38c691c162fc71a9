// A subject named __proto__ (or constructor, toString…) is a subject like any other, in every
// analysis and state file: audit data never keys a plain object.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const events = NAMES.flatMap((u, i) => [
  event({ auditID: `p-${i}-1`, user: { username: u, groups: ['system:authenticated'] }, verb: 'get', requestURI: `/api/v1/namespaces/${u}/pods/x`, objectRef: { resource: 'pods', namespace: u, name: 'x', apiVersion: 'v1' }, stage: '__proto__' }),
  event({ auditID: `p-${i}-2`, user: { username: u, groups: ['system:authenticated'] }, verb: 'list', requestReceivedTimestamp: '2026-03-02T11:00:00.000000Z', stageTimestamp: '2026-03-02T11:00:00.010000Z' }),
]);

describe('subjects named like Object.prototype members', () => {
  const dir = writeFiles(tmpDir(), { 'proto.log': jsonl(events) });
  const log = join(dir, 'proto.log');

  it('summary counts each of them', async () => {
    const r = await runCli(['summary', log, '-o', 'json', '-q']);
    expect(r.code).toBe(0);
    const subjects = Object.fromEntries((JSON.parse(r.stdout).top.subjects as { key: string; count: number }[]).map((c) => [c.key, c.count]));
    for (const u of NAMES) expect(Object.hasOwn(subjects, u) && subjects[u], u).toBe(2);
  });

  it('investigate --group-by user and export keep them', async () => {
    const g = await runCli(['investigate', log, '--group-by', 'user', '-o', 'jsonl', '-q']);
    expect(g.stdout.trim().split('\n').map((l) => JSON.parse(l).subject).sort()).toEqual([...NAMES].sort());
    const e = await runCli(['export', log, '--user', '__proto__', '-o', 'jsonl', '-q']);
    expect(e.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('the baseline state file holds them as own keys, and reads back and merges without losing them', async () => {
    const out = join(dir, 'base.json');
    expect((await runCli(['baseline', log, '--out', out, '-q'])).code).toBe(0);
    const text = readFileSync(out, 'utf8');
    const file = JSON.parse(text);
    expect(Object.keys(file.subjects).sort()).toEqual([...NAMES].sort());
    expect(file.subjects['__proto__'].requests).toBe(2);
    const merged = await runCli(['baseline', '--merge', out, '--merge', out, '-q']);
    expect(Object.keys(JSON.parse(merged.stdout).subjects).sort()).toEqual([...NAMES].sort());
    // Compared with itself, no subject is new.
    const a = await runCli(['anomalies', log, '--baseline', out, '-o', 'json', '-q']);
    expect(a.code).toBe(0);
    expect((JSON.parse(a.stdout).findings as { rule: string }[]).filter((f) => f.rule === 'new-subject')).toEqual([]);
  });

  it('rbac-gen writes a policy for each', async () => {
    const r = await runCli(['rbac-gen', log, '-o', 'report', '-q']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout).policies as { subject: { name: string } }[]).map((p) => p.subject.name).sort()).toEqual([...NAMES].sort());
  });

  it('rbac-gen counts their denied requests and unjudged RBAC writes in own keys (no Object.prototype member read or written)', async () => {
    // Before: deniedBySubject said "constructor": "function Object() { [native code] }1" and lost
    // __proto__; an unjudged write by __proto__ wrote `requests` onto Object.prototype.
    const denied = NAMES.flatMap((u, i) => [
      event({ auditID: `d-${i}`, user: { username: u, groups: ['system:authenticated'] }, responseStatus: { code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid' } }),
      event({ auditID: `w-${i}`, user: { username: u, groups: ['system:authenticated'] }, verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', objectRef: { resource: 'rolebindings', apiGroup: 'rbac.authorization.k8s.io', namespace: 'default', apiVersion: 'v1' }, responseStatus: { code: 201 } }),
    ]);
    const d = writeFiles(tmpDir(), { 'denied.log': jsonl(denied) });
    for (const jobs of ['1', '2']) {
      const r = await runCli(['rbac-gen', join(d, 'denied.log'), '-o', 'report', '-q', '--jobs', jobs]);
      expect(r.code, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.deniedBySubject).toEqual(Object.fromEntries(NAMES.map((u) => [u, 1])));
      expect(Object.keys(rep.deniedBySubject).sort()).toEqual([...NAMES].sort());
      expect((rep.escalationUnchecked as { subject: string; requests: number }[]).map((u) => [u.subject, u.requests])).toEqual([...NAMES].sort().map((u) => [u, 1]));
      expect(({} as Record<string, unknown>).requests).toBeUndefined();
    }
  });

  it('objects of an RBAC export whose kind is named like them are counted as ignored kinds, each in an own key', async () => {
    // Before: "constructor" was counted as "function Object() { [native code] }1" and __proto__ lost.
    const rbac = NAMES.map((k) => `apiVersion: v1\nkind: ${JSON.stringify(k)}\nmetadata: {name: x}`).join('\n---\n');
    const d = writeFiles(tmpDir(), { 'rbac.yaml': `${rbac}\n---\n${rbac}\n` });
    const r = await runCli(['drift', '--rbac', join(d, 'rbac.yaml'), log, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rbac.ignored).toEqual(Object.fromEntries(NAMES.map((k) => [k, 2])));
    expect(Object.keys(JSON.parse(r.stdout).rbac.ignored).sort()).toEqual([...NAMES].sort());
    expect(r.stderr).toMatch(/note: --rbac: ignored objects that are not RBAC: 2 __proto__, 2 constructor, 2 toString, 2 hasOwnProperty, 2 valueOf/);
  });

  it('anomalies counts findings of rules whose ids are named like them (rule files are data too)', async () => {
    // Before: summary.byRule said "toString": "function toString() { [native code] }1".
    const rules = `rules:\n${['constructor', 'toString', 'valueOf'].map((id) => `  - {id: ${id}, title: t, description: d, severity: low, technique: [], match: {field: verb, equals: list}}`).join('\n')}\n`;
    const d = writeFiles(tmpDir(), { 'r.yaml': rules });
    const r = await runCli(['anomalies', log, '--rules', join(d, 'r.yaml'), '--only-rules', 'constructor,toString,valueOf', '-o', 'json', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.summary.byRule).toEqual({ constructor: 5, toString: 5, valueOf: 5 });
    expect(Object.keys(rep.ruleInfo)).toEqual(['constructor', 'toString', 'valueOf']);
  });

  it('an unknown stage named __proto__ collapses like any other stage', async () => {
    const r = await runCli(['summary', log, '-o', 'json', '-q']);
    const input = JSON.parse(r.stdout).input;
    expect(input.requests).toBe(10);
    expect(input.duplicates).toBe(0);
  });
});
