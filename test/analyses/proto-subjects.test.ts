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

  it('an unknown stage named __proto__ collapses like any other stage', async () => {
    const r = await runCli(['summary', log, '-o', 'json', '-q']);
    const input = JSON.parse(r.stdout).input;
    expect(input.requests).toBe(10);
    expect(input.duplicates).toBe(0);
  });
});
