// Commands folded back from API calls that the real kubectl (1.27–1.33, cold and warm discovery
// cache) sent to the stub server: fixtures/kubectl, re-recorded by tools/record-kubectl.mjs.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
// @ts-expect-error: plain ESM tool without type declarations
import { sequenceToEvents } from '../../tools/requests-to-events.mjs';

interface Seq {
  name: string;
  cache: string;
  kubectl: string;
  command: string;
  requests: { userAgent: string }[];
}
const recorded = JSON.parse(readFileSync('fixtures/kubectl/sequences.json', 'utf8')) as { sequences: Seq[] };

/** What the log lets one rebuild for each recorded command (the typed line, minus what is not in the log). */
const EXPECTED: Record<string, string> = {
  'get-pods-all-namespaces': 'kubectl get pods -A',
  'get-pods-namespace': 'kubectl get pods -n staging',
  'get-pod-yaml': 'kubectl get pod web-0 -n staging',
  'get-deployments': 'kubectl get deployments -n staging',
  'get-nodes': 'kubectl get nodes',
  'describe-pod': 'kubectl describe pod web-0 -n staging',
  logs: 'kubectl logs web-0 -n staging -c app',
  'delete-pod': 'kubectl delete pod web-1 -n staging',
  'delete-namespace': 'kubectl delete namespace production',
  'create-configmap': 'kubectl create configmap settings -n staging …',
  apply: 'kubectl apply -f …',
  scale: 'kubectl scale deployment web -n staging --replicas=…',
  label: 'kubectl label pod web-0 -n staging …',
  annotate: 'kubectl annotate deployment web -n staging …',
  exec: 'kubectl exec web-0 -n staging -c app -- ls',
  'auth-can-i': 'kubectl auth can-i …',
  'get-secret': 'kubectl get secret db -n staging',
  'rollout-restart': 'kubectl rollout … deployment web -n staging',
};

interface Scored {
  grouped: number;
  exactLine: number;
  typedLine: number;
  total: number;
  misses: string[];
}

async function score(gapMs: number): Promise<Scored> {
  const seqs = recorded.sequences.map((s) => ({ ...s, requests: s.requests.map((r) => ({ ...r, userAgent: r.userAgent.replace(/^kubectl\.1\.\d+\//, 'kubectl/') })) }));
  const events = sequenceToEvents(seqs, { user: 'alice@example.com', groups: ['system:authenticated'], sourceIP: '203.0.113.10', start: Date.parse('2026-03-02T10:00:00Z'), gapMs });
  const file = join(writeFiles(tmpDir(), { 'c.jsonl': jsonl(events) }), 'c.jsonl');
  const r = await runCli(['commands', file, '-o', 'json', '-q']);
  const cmds = JSON.parse(r.stdout).commands as { auditIDs: string[]; command: string }[];
  const byFirst = new Map(cmds.map((c) => [c.auditIDs[0], c]));
  let n = 0;
  const s: Scored = { grouped: 0, exactLine: 0, typedLine: 0, total: seqs.length, misses: [] };
  for (const seq of seqs) {
    const ids = seq.requests.map(() => `cccccccc-0000-4000-8000-${String(++n).padStart(12, '0')}`);
    const c = byFirst.get(ids[0]);
    const grouped = !!c && c.auditIDs.length === ids.length && c.auditIDs.every((x, i) => x === ids[i]);
    if (grouped) s.grouped++;
    if (grouped && c.command === EXPECTED[seq.name]) s.exactLine++;
    else s.misses.push(`${seq.kubectl} ${seq.cache} ${seq.name}: got ${c ? `${c.command} (${c.auditIDs.length} calls)` : 'nothing'}, expected ${EXPECTED[seq.name]} (${ids.length} calls)`);
    if (grouped && c.command === seq.command) s.typedLine++;
  }
  return s;
}

describe('commands: folding real kubectl call sequences', () => {
  it('has 252 recorded commands: 18 commands × 7 kubectl versions × cold and warm discovery cache', () => {
    expect(recorded.sequences).toHaveLength(252);
    expect(new Set(recorded.sequences.map((s) => s.kubectl)).size).toBe(7);
  });

  it('commands typed by a person (20 s apart): every command folded and rebuilt', async () => {
    const s = await score(20_000);
    expect(s.misses).toEqual([]);
    expect(s.grouped).toBe(252);
    expect(s.exactLine).toBe(252);
    // Lines identical to what was typed (the rest lose only what the log does not hold: -o, file names, values).
    expect(s.typedLine).toBe(98); // 7 of the 18 commands, in every version and cache state
  });

  it('commands run back to back by a script (300 ms apart, inside one burst): still folded one by one', async () => {
    const s = await score(300);
    expect(s.misses).toEqual([]);
    expect(s.exactLine).toBe(252);
  });
});

describe('commands output', () => {
  it('JSON has the documented fields, and a latency summary per type', async () => {
    const r = await runCli(['commands', 'fixtures/kubectl/commands.jsonl', '-o', 'json', '-q', '--limit', '3']);
    const j = JSON.parse(r.stdout);
    expect(j.kind).toBe('kaudit.commands');
    expect(j.commands).toHaveLength(3);
    for (const k of ['user', 'start', 'command', 'verb', 'resource', 'namespace', 'apiCalls', 'durationMs', 'accessMethod', 'auditIDs', 'client', 'clientVersion', 'status', 'end']) expect(j.commands[0]).toHaveProperty(k);
    expect(j.commands[0]).toMatchObject({ user: 'alice@example.com', command: 'kubectl get pods -A', verb: 'list', resource: 'pods', namespace: '', apiCalls: 14, accessMethod: 'kubectl', client: 'kubectl', clientVersion: 'v1.27.16' });
    expect(j.summary.commands).toBe(252);
    expect(j.summary.latency.find((l: any) => l.type === 'kubectl get')).toMatchObject({ commands: 84 });
  });

  it('--view api-calls lists the calls under each command', async () => {
    const r = await runCli(['commands', 'fixtures/kubectl/commands.jsonl', '--view', 'api-calls', '--limit', '1', '-q']);
    expect(r.stdout).toMatch(/kubectl get pods -A/);
    expect(r.stdout).toMatch(/↳ get \/api\?timeout=32s/);
    expect(r.stdout).toMatch(/↳ list \/api\/v1\/pods\?limit=500/);
  });

  it('--slow keeps slow commands and commands with a slow call', async () => {
    const dir = writeFiles(tmpDir(), {
      's.log': jsonl([
        event({ auditID: 'f1', requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:00:00.010000Z' }),
        event({ auditID: 's1', requestReceivedTimestamp: '2026-03-02T10:01:00.000000Z', stageTimestamp: '2026-03-02T10:01:01.500000Z' }),
      ]),
    });
    const r = await runCli(['commands', join(dir, 's.log'), '--slow', '500ms', '-o', 'json', '-q']);
    const j = JSON.parse(r.stdout);
    expect(j.commands.map((c: any) => c.auditIDs)).toEqual([['s1']]);
    expect(j.commands[0].durationMs).toBe(1500);
  });

  it('other clients appear as bursts labelled with their client', async () => {
    const r = await runCli(['commands', 'fixtures/sample', '--client', 'deployment-controller', '-o', 'json', '-q', '--limit', '2']);
    const j = JSON.parse(r.stdout);
    expect(j.commands[0]).toMatchObject({ type: 'burst', accessMethod: 'controller', client: 'deployment-controller' });
    expect(j.commands[0].command).toMatch(/^deployment-controller: update deployments\/status/);
  });

  it('CSV is formula-safe and carries the auditIDs', async () => {
    const r = await runCli(['commands', 'fixtures/kubectl/commands.jsonl', '-o', 'csv', '-q', '--limit', '2']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('start,end,user,cluster,sourceIP,client,clientVersion,accessMethod,type,command,ambiguous,verb,apiGroup,resource,subresource,namespace,name,apiCalls,durationMs,sessionMs,slowestCallMs,status,userAgent,auditIDs');
    expect(lines[1]).toMatch(/cccccccc-0000-4000-8000-000000000001;cccccccc/);
  });

  it('terminal output shows control characters from the data as text', async () => {
    const dir = writeFiles(tmpDir(), { 'x.log': jsonl([event({ user: { username: 'eve\u001b[31m' }, userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/x\u001b]0;t\u0007' })]) });
    const r = await runCli(['commands', join(dir, 'x.log'), '-q']);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('eve\\x1b[31m');
  });

  it('is deterministic and lists commands in start order', async () => {
    const a = await runCli(['commands', 'fixtures/sample', '-o', 'csv', '-q']);
    const b = await runCli(['commands', 'fixtures/sample', '-o', 'csv', '-q']);
    expect(a.stdout).toBe(b.stdout);
    const starts = a.stdout.trim().split('\n').slice(1).map((l) => l.slice(0, 27));
    expect([...starts].sort()).toEqual(starts);
  });
});
