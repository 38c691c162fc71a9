// Commands folded back from API calls that the real kubectl (1.27–1.33, cold and warm discovery
// cache) sent to the stub server: fixtures/kubectl, re-recorded by tools/record-kubectl.mjs.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
// @ts-expect-error: plain ESM tool without type declarations
import { sequenceToEvents } from '../../tools/requests-to-events.mjs';
// @ts-expect-error: plain ESM tool without type declarations
import { shellWords as shWords } from '../../tools/record-kubectl-corpus.mjs';

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

// ---------- shared cases (../shared/cases), ported ----------


async function commandsOf(files: string[], extra: string[] = []): Promise<{ commands: any[]; summary: any }> {
  const r = await runCli(['commands', ...files, '-o', 'json', '-q', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('shared case exec-argv-quoting: an exec whose command holds shell syntax', () => {
  // EKS `filter-log-events` output of one `kubectl exec -it POD -n orders -- sh -c '…'` (kubectl 1.30):
  // the get of the pod, and the exec at stage ResponseStarted (101, the session still open).
  const user = { username: 'arn:aws:sts::000011112222:assumed-role/OnCall/mika', groups: ['oncall', 'system:authenticated'] };
  const base = { user, sourceIPs: ['192.0.2.77'], userAgent: 'kubectl/v1.30.1 (darwin/arm64) kubernetes/6911225' };
  const pod = { resource: 'pods', namespace: 'orders', name: 'orders-api-7d9f8c6b5-x2k4q', apiVersion: 'v1' };
  const events = [
    event({ ...base, auditID: 'q-1', verb: 'get', requestURI: '/api/v1/namespaces/orders/pods/orders-api-7d9f8c6b5-x2k4q', objectRef: pod, requestReceivedTimestamp: '2026-04-12T02:41:07.320001Z', stageTimestamp: '2026-04-12T02:41:07.327455Z' }),
    event({
      ...base,
      auditID: 'q-2',
      stage: 'ResponseStarted',
      verb: 'get',
      requestURI: '/api/v1/namespaces/orders/pods/orders-api-7d9f8c6b5-x2k4q/exec?command=sh&command=-c&command=cd+%2Fsrv%2Fapp+%26%26+tail+-n+50+log%2Fapp.log+%7C+grep+-i+error&container=api&stdin=true&stdout=true&tty=true',
      objectRef: { ...pod, subresource: 'exec' },
      responseStatus: { metadata: {}, code: 101 },
      requestReceivedTimestamp: '2026-04-12T02:41:07.350112Z',
      stageTimestamp: '2026-04-12T02:41:07.391804Z',
    }),
  ];
  const wrapped = { events: events.map((e, i) => ({ logStreamName: 'kube-apiserver-audit-0a1b', timestamp: 1775961667327 + i, message: JSON.stringify(e), ingestionTime: 1775961668000, eventId: String(i) })) };

  it('rebuilds one exec whose line a shell splits into exactly the argv of the request', async () => {
    const file = join(writeFiles(tmpDir(), { 'eks.json': JSON.stringify(wrapped) }), 'eks.json');
    const { commands } = await commandsOf([file]);
    expect(commands).toHaveLength(1);
    const c = commands[0];
    expect(c).toMatchObject({ type: 'exec', user: user.username, status: 101, ambiguous: '', apiCalls: 2 });
    expect(c.command).toBe("kubectl exec -it orders-api-7d9f8c6b5-x2k4q -n orders -c api -- sh -c 'cd /srv/app && tail -n 50 log/app.log | grep -i error'");
    expect(shWords(c.command)).toEqual(c.argv);
    expect(c.argv.slice(c.argv.indexOf('--') + 1)).toEqual(['sh', '-c', 'cd /srv/app && tail -n 50 log/app.log | grep -i error']);
    // Duration until the exec started streaming (ResponseStarted): 71.8 ms, not the 30 ms to its receipt.
    expect(c.durationMs).toBe(71.803);
    expect(c.slowestCallMs).toBe(41.692);
    expect(c.sessionMs).toBeNull();
  });
});

describe('shared case commands-input-order: the same answer whatever the order of the inputs', () => {
  // A kubelet's day 1 and day 2: its watches are written when they end (7.5 min after they start).
  const kubelet = { user: { username: 'system:node:ip-10-0-1-12.ec2.internal', groups: ['system:nodes', 'system:authenticated'] }, sourceIPs: ['10.0.1.12'], userAgent: 'kubelet/v1.29.4 (linux/amd64) kubernetes/55019c8' };
  const watch = (id: string, from: string, to: string) => event({ ...kubelet, auditID: id, verb: 'watch', requestURI: '/api/v1/pods?allowWatchBookmarks=true&fieldSelector=spec.nodeName%3Dip-10-0-1-12.ec2.internal&resourceVersion=763680&timeout=7m31s&timeoutSeconds=451&watch=true', objectRef: { resource: 'pods', apiVersion: 'v1' }, requestReceivedTimestamp: from, stageTimestamp: to });
  const lease = (id: string, at: string) => event({ ...kubelet, auditID: id, verb: 'update', requestURI: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/ip-10-0-1-12.ec2.internal?timeout=10s', objectRef: { resource: 'leases', namespace: 'kube-node-lease', name: 'ip-10-0-1-12.ec2.internal', apiGroup: 'coordination.k8s.io', apiVersion: 'v1' }, requestReceivedTimestamp: at, stageTimestamp: at.replace('Z', '1Z') });
  const status = (id: string, at: string) => event({ ...kubelet, auditID: id, verb: 'patch', requestURI: '/api/v1/nodes/ip-10-0-1-12.ec2.internal/status?timeout=10s', objectRef: { resource: 'nodes', name: 'ip-10-0-1-12.ec2.internal', subresource: 'status', apiVersion: 'v1' }, requestReceivedTimestamp: at, stageTimestamp: at.replace('Z', '1Z') });
  const day1 = [watch('w1', '2026-03-02T00:00:34.294992Z', '2026-03-02T00:08:05.294992Z'), lease('l1', '2026-03-02T00:20:09.352158Z'), status('s1', '2026-03-02T00:23:34.604833Z')];
  const day2 = [lease('l2', '2026-03-03T00:02:24.073082Z'), lease('l3', '2026-03-03T00:25:06.688634Z'), watch('w2', '2026-03-03T00:22:10.791589Z', '2026-03-03T00:29:41.791589Z')];

  it('day1 day2 and day2 day1 give the same commands, in start order, none spanning the days', async () => {
    const dir = writeFiles(tmpDir(), { 'day1.jsonl': jsonl(day1), 'day2.jsonl': jsonl(day2) });
    const a = await commandsOf([join(dir, 'day1.jsonl'), join(dir, 'day2.jsonl')]);
    const b = await commandsOf([join(dir, 'day2.jsonl'), join(dir, 'day1.jsonl')]);
    expect(b.commands).toEqual(a.commands);
    // Six calls, each more than the 2 s gap from the next of its client: six bursts.
    expect(a.commands.map((c: any) => c.auditIDs)).toEqual([['w1'], ['l1'], ['s1'], ['l2'], ['w2'], ['l3']]);
    const starts = a.commands.map((c: any) => c.start);
    expect([...starts].sort()).toEqual(starts);
    for (const c of a.commands) expect(Date.parse(c.end) - Date.parse(c.start)).toBeLessThan(3600_000);
    expect(a.commands[0]).toMatchObject({ command: 'kubelet: watch pods', sessionMs: 451_000, durationMs: 0, slowestCallMs: null });
  });
});

// ---------- long-running calls, durations, status ----------

describe('long-running calls belong to the burst they started in', () => {
  const kubelet = { user: { username: 'system:node:node-1', groups: ['system:nodes'] }, sourceIPs: ['10.0.1.11'], userAgent: 'kubelet/v1.32.2 (linux/amd64) kubernetes/4b8e819' };

  it('a watch written 7 minutes after it started does not join the calls of that moment', async () => {
    // The API server writes the watch when it ends, after the patch made 7 minutes into it.
    const log = jsonl([
      event({ ...kubelet, auditID: 'patch', verb: 'patch', requestURI: '/api/v1/nodes/node-1/status', objectRef: { resource: 'nodes', name: 'node-1', subresource: 'status', apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-02T10:07:00.000000Z', stageTimestamp: '2026-03-02T10:07:00.004000Z' }),
      event({ ...kubelet, auditID: 'watch', stage: 'ResponseComplete', verb: 'watch', requestURI: '/api/v1/pods?watch=true', objectRef: { resource: 'pods', apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-02T10:00:15.000000Z', stageTimestamp: '2026-03-02T10:06:45.000000Z' }),
    ]);
    const { commands } = await commandsOf([join(writeFiles(tmpDir(), { 'k.log': log }), 'k.log')]);
    expect(commands.map((c: any) => c.auditIDs)).toEqual([['watch'], ['patch']]);
    expect(commands[0].durationMs).toBe(0);
    expect(commands[0].sessionMs).toBe(390_000);
  });

  it('a session in progress does not hold the burst open: commands typed during a port-forward are their own', async () => {
    const c = await commandsOf(['fixtures/kubectl/corpus/audit.jsonl', '--user', 'alice@example.com', '--since', '2026-03-05T09:11:30Z', '--until', '2026-03-05T09:16:00Z']);
    const lines = c.commands.map((x: any) => x.command);
    expect(lines).toEqual(['kubectl port-forward pod/web-0 -n staging …', 'kubectl attach -it web-0 -n staging -c app', 'kubectl debug -it web-0 -n staging …']);
    expect(c.commands[0].sessionMs).toBeGreaterThan(299_000);
    expect(c.commands[0].durationMs).toBeLessThan(1000);
  });

  it('--slow does not list a busy controller whose calls are fast, however long its burst', async () => {
    const kcm = { user: { username: 'system:serviceaccount:kube-system:replicaset-controller' }, sourceIPs: ['10.0.0.10'], userAgent: 'kube-controller-manager/v1.32.2 (linux/amd64) kubernetes/4b8e819/system:serviceaccount:kube-system:replicaset-controller' };
    const calls = Array.from({ length: 50 }, (_, i) => event({ ...kcm, auditID: `rs-${i}`, verb: 'update', requestURI: '/apis/apps/v1/namespaces/staging/replicasets/web/status', objectRef: { resource: 'replicasets', namespace: 'staging', name: 'web', subresource: 'status', apiGroup: 'apps', apiVersion: 'v1' }, requestReceivedTimestamp: new Date(Date.parse('2026-03-02T10:00:00Z') + i * 1000).toISOString(), stageTimestamp: new Date(Date.parse('2026-03-02T10:00:00Z') + i * 1000 + 5).toISOString() }));
    const file = join(writeFiles(tmpDir(), { 'c.log': jsonl(calls) }), 'c.log');
    const all = await commandsOf([file]);
    expect(all.commands).toHaveLength(1);
    expect(all.commands[0].durationMs).toBeGreaterThan(49_000);
    expect((await commandsOf([file, '--slow', '500ms'])).commands).toEqual([]);
    expect((await commandsOf([file, '--slow', '4ms'])).commands).toHaveLength(1);
  });
});

describe('durations and status as the README defines them', () => {
  const alice = { user: { username: 'alice@example.com' }, sourceIPs: ['203.0.113.10'], userAgent: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819' };
  const pod = { resource: 'pods', namespace: 'web', name: 'web-0', apiVersion: 'v1' };
  const exec = { ...alice, auditID: 'x', verb: 'create', requestURI: '/api/v1/namespaces/web/pods/web-0/exec?command=sh&container=app&stdin=true&stdout=true&tty=true', objectRef: { ...pod, subresource: 'exec' }, responseStatus: { metadata: {}, code: 101 }, requestReceivedTimestamp: '2026-03-02T10:00:00.030000Z' };
  const get = event({ ...alice, auditID: 'g', verb: 'get', requestURI: '/api/v1/namespaces/web/pods/web-0', objectRef: pod, requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:00:00.020000Z' });

  it('exec: duration until streaming started (ResponseStarted), session until it ended (ResponseComplete), status 101', async () => {
    const log = jsonl([get, event({ ...exec, stage: 'ResponseStarted', stageTimestamp: '2026-03-02T10:00:00.072000Z' }), event({ ...exec, stage: 'ResponseComplete', stageTimestamp: '2026-03-02T10:04:00.030000Z' })]);
    const { commands } = await commandsOf([join(writeFiles(tmpDir(), { 'x.log': log }), 'x.log'), '--view', 'api-calls']);
    expect(commands).toHaveLength(1);
    // Session: from the command's first call (the get) to the end of the exec.
    expect(commands[0]).toMatchObject({ command: 'kubectl exec -it web-0 -n web -c app -- sh', status: 101, durationMs: 72, sessionMs: 240_030, slowestCallMs: 42, end: '2026-03-02T10:04:00.030000Z' });
    expect(commands[0].calls.map((k: any) => [k.latencyMs, k.sessionMs, k.longRunning])).toEqual([[20, null, false], [42, 240_000, true]]);
  });

  it('without a ResponseStarted stage the stream start is unknown: the duration counts to the receipt, the session is known', async () => {
    const log = jsonl([get, event({ ...exec, stage: 'ResponseComplete', stageTimestamp: '2026-03-02T10:04:00.030000Z' })]);
    const { commands } = await commandsOf([join(writeFiles(tmpDir(), { 'x.log': log }), 'x.log')]);
    expect(commands[0]).toMatchObject({ status: 101, durationMs: 30, sessionMs: 240_030, slowestCallMs: 20 });
  });

  it('status is the worst failure, not counting a lookup 404 (apply, delete wait); else the main call', async () => {
    const { commands } = await commandsOf(['fixtures/kubectl/corpus/audit.jsonl', '--user', 'bob@example.com']);
    const status = (line: string) => commands.find((c: any) => c.command === line)?.status;
    expect(status('kubectl apply -f …')).toBe(201); // GET 404, GET namespace, POST 201
    expect(status('kubectl delete pod tmp -n staging')).toBe(200); // DELETE 200, GET 404
    expect(status('kubectl exec -it web-1 -n staging -c app -- bash')).toBe(101);
  });
});

describe('filters keep whole commands', () => {
  it('--namespace, --verb and --since keep the commands that have a matching call, with all their calls', async () => {
    const all = await commandsOf(['fixtures/kubectl/corpus/audit.jsonl', '--access-method', 'kubectl']);
    const byFirst = new Map(all.commands.map((c: any) => [c.auditIDs[0], c]));
    for (const [flags, keep] of [
      [['--namespace', 'kube-node-lease'], (c: any) => c.command.startsWith('kubectl describe node')],
      [['--verb', 'deletecollection,delete'], (c: any) => /^kubectl delete/.test(c.command)],
      [['--resource', 'pods/exec'], (c: any) => /^kubectl (exec|cp)/.test(c.command)],
    ] as [string[], (c: any) => boolean][]) {
      const f = await commandsOf(['fixtures/kubectl/corpus/audit.jsonl', '--access-method', 'kubectl', ...flags]);
      expect(f.commands.length, flags.join(' ')).toBeGreaterThan(0);
      // Whole: the same commands (discovery, lookups and waits included) as without the filter.
      for (const c of f.commands) expect(c, flags.join(' ')).toEqual(byFirst.get(c.auditIDs[0]));
      expect(f.commands.map((c: any) => c.command)).toEqual(all.commands.filter(keep).map((c: any) => c.command));
    }
  });

  it('-o csv exports exactly the filtered set, all of it, as many rows as the JSON and the table count', async () => {
    const args = ['commands', 'fixtures/kubectl/corpus/audit.jsonl', '--source-ip', '198.51.100.7', '--slow', '100ms', '-q'];
    const json = JSON.parse((await runCli([...args, '-o', 'json'])).stdout);
    const csv = (await runCli([...args, '-o', 'csv'])).stdout.trim().split('\n');
    const table = (await runCli([...args, '--limit', '3'])).stdout;
    expect(json.summary.commands).toBe(json.commands.length);
    expect(json.commands.length).toBeGreaterThan(3);
    expect(csv).toHaveLength(json.commands.length + 1);
    expect(table).toContain(`${json.commands.length} commands, 3 shown`);
    expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(json.commands.map((c: any) => c.start));
  });

  it('CSV cells from the log cannot start a formula', async () => {
    const evil = event({ user: { username: '=HYPERLINK("http://x","y")' }, userAgent: '@SUM(1)/v1 (linux/amd64)', verb: 'get', requestURI: '/api/v1/namespaces/default/pods/+cmd', objectRef: { resource: 'pods', namespace: 'default', name: '+cmd', apiVersion: 'v1' } });
    const r = await runCli(['commands', join(writeFiles(tmpDir(), { 'e.log': jsonl([evil]) }), 'e.log'), '-o', 'csv', '-q']);
    const row = r.stdout.trim().split('\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(row).toContain("'@SUM(1)");
    expect(row).toContain(",'+cmd,");
    expect(row).not.toMatch(/,[=+@-][^,]/);
  });
});

describe('scale', () => {
  it('a burst of 20 000 calls that only reached RequestReceived folds call by call (bounded work per call)', async () => {
    const t0 = Date.parse('2026-03-02T10:00:00Z');
    const events = Array.from({ length: 20_000 }, (_, i) =>
      event({ auditID: `rr-${i}`, stage: 'RequestReceived', verb: 'get', requestURI: '/api/v1/namespaces/default/pods/web-0', objectRef: { resource: 'pods', namespace: 'default', name: 'web-0', apiVersion: 'v1' }, responseStatus: undefined, requestReceivedTimestamp: new Date(t0 + i * 15).toISOString(), stageTimestamp: new Date(t0 + i * 15).toISOString() }),
    );
    const { commands, summary } = await commandsOf([join(writeFiles(tmpDir(), { 'rr.log': jsonl(events) }), 'rr.log')]);
    expect(summary.commands).toBe(20_000);
    expect(commands.every((c: any) => c.apiCalls === 1 && c.command === 'kubectl get pod web-0 -n default' && c.status === 0)).toBe(true);
  });

  it('a call later than --order-window is folded where it came, marked, and counted', async () => {
    const alice = { user: { username: 'alice@example.com' }, sourceIPs: ['203.0.113.10'] };
    const late = event({ ...alice, auditID: 'late', verb: 'watch', requestURI: '/api/v1/namespaces/default/pods?watch=true', requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:30:00.000000Z' });
    const later = event({ ...alice, auditID: 'list', requestReceivedTimestamp: '2026-03-02T10:10:00.000000Z', stageTimestamp: '2026-03-02T10:10:00.010000Z' });
    const last = event({ ...alice, auditID: 'last', requestReceivedTimestamp: '2026-03-02T10:20:00.000000Z', stageTimestamp: '2026-03-02T10:20:00.010000Z' });
    // Written in stage order: the watch when it ended, after calls 10 and 20 minutes into it.
    const file = join(writeFiles(tmpDir(), { 'l.log': jsonl([later, last, late]) }), 'l.log');
    const r = await runCli(['commands', file, '--order-window', '1m', '-o', 'json']);
    const j = JSON.parse(r.stdout);
    expect(j.summary.order).toMatchObject({ late: 1, windowMs: 60_000 });
    expect(r.stderr).toMatch(/1 call was logged more than --order-window \(1m\) after later calls/);
    expect(j.commands.find((c: any) => c.auditIDs[0] === 'late').ambiguous).toMatch(/logged after calls more than 2 s later/);
    const inPlace = JSON.parse((await runCli(['commands', file, '-o', 'json', '-q'])).stdout);
    expect(inPlace.summary.order.late).toBe(0);
    expect(inPlace.commands.map((c: any) => c.auditIDs[0])).toEqual(['late', 'list', 'last']);
  });
});

describe('kubectl edit: the editor stays open', () => {
  const bob = { user: { username: 'bob@example.com' }, sourceIPs: ['203.0.113.10'], userAgent: 'kubectl/v1.28.15 (linux/amd64) kubernetes/de2c8f0' };
  const dep = { resource: 'deployments', namespace: 'staging', name: 'web', apiGroup: 'apps', apiVersion: 'v1' };
  const at = (s: number, ms = 0) => new Date(Date.parse('2026-03-02T10:00:00Z') + s * 1000 + ms).toISOString();
  const call = (id: string, s: number, over: Record<string, unknown>) => event({ ...bob, auditID: id, requestReceivedTimestamp: at(s), stageTimestamp: at(s, 5), ...over });
  const opened = (id: string, s: number) => [
    call(`${id}-get`, s, { verb: 'get', requestURI: '/apis/apps/v1/namespaces/staging/deployments/web', objectRef: dep }),
    event({ ...bob, auditID: `${id}-oa`, verb: 'get', requestURI: '/openapi/v2?timeout=32s', objectRef: undefined, requestReceivedTimestamp: at(s, 7), stageTimestamp: at(s, 12) }),
  ];

  it('the patch that saves it, minutes later and after other commands, joins the get that opened it', async () => {
    const log = jsonl([
      ...opened('e', 0),
      call('other', 30, { verb: 'list', requestURI: '/api/v1/namespaces/staging/pods?limit=500', objectRef: { resource: 'pods', namespace: 'staging', apiVersion: 'v1' } }),
      call('e-patch', 150, { verb: 'patch', requestURI: '/apis/apps/v1/namespaces/staging/deployments/web?fieldManager=kubectl-edit&fieldValidation=Strict', objectRef: dep }),
      ...opened('never', 300),
    ]);
    const { commands } = await commandsOf([join(writeFiles(tmpDir(), { 'e.log': log }), 'e.log')]);
    expect(commands.map((c: any) => [c.command, c.auditIDs, c.ambiguous === ''])).toEqual([
      ['kubectl edit deployment web -n staging', ['e-get', 'e-oa', 'e-patch'], true],
      ['kubectl get pods -n staging', ['other'], true],
      ['kubectl edit deployment web -n staging', ['never-get', 'never-oa'], false],
    ]);
    expect(commands[0].durationMs).toBe(150_005);
  });
});

describe('waits on a real cluster (objects take time to go)', () => {
  const dave = { user: { username: 'dave@example.com' }, sourceIPs: ['198.51.100.7'], userAgent: 'kubectl/v1.28.15 (linux/amd64) kubernetes/de2c8f0' };
  const t0 = Date.parse('2026-03-02T10:00:00Z');
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const pod = (name: string) => ({ resource: 'pods', namespace: 'staging', name, apiVersion: 'v1' });
  const call = (id: string, ms: number, verb: string, uri: string, ref: Record<string, unknown> | undefined, code = 200, took = 8) =>
    event({ ...dave, auditID: id, verb, requestURI: uri, objectRef: ref, responseStatus: { metadata: {}, code }, requestReceivedTimestamp: at(ms), stageTimestamp: at(ms + took) });
  const fold = async (events: Record<string, unknown>[]) => (await commandsOf([join(writeFiles(tmpDir(), { 'w.log': jsonl(events) }), 'w.log')])).commands;

  it('kubectl delete waits with a get, then a list and a watch of the object until it is gone (k8s.io/kubectl/pkg/cmd/wait IsDeleted)', async () => {
    const cmds = await fold([
      call('del', 0, 'delete', '/api/v1/namespaces/staging/pods/web-1', pod('web-1')),
      call('get', 20, 'get', '/api/v1/namespaces/staging/pods/web-1', pod('web-1')),
      call('list', 40, 'list', '/api/v1/namespaces/staging/pods?fieldSelector=metadata.name%3Dweb-1&limit=500', pod('')),
      event({ ...call('watch', 60, 'watch', '/api/v1/namespaces/staging/pods?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dweb-1&resourceVersion=1&watch=true', pod('')), stage: 'ResponseComplete', stageTimestamp: at(30_060) }),
    ]);
    expect(cmds.map((c: any) => [c.command, c.apiCalls, c.status])).toEqual([['kubectl delete pod web-1 -n staging', 4, 200]]);
    expect(cmds[0].sessionMs).toBe(30_060);
  });

  it('kubectl drain polls each evicted pod every second until it is gone (k8s.io/kubectl/pkg/drain waitForDelete)', async () => {
    const node = { resource: 'nodes', name: 'node-2', apiVersion: 'v1' };
    const events = [
      call('n', 0, 'get', '/api/v1/nodes/node-2', node),
      call('p', 20, 'patch', '/api/v1/nodes/node-2', node),
      call('l', 40, 'list', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2&limit=500', { resource: 'pods', apiVersion: 'v1' }),
      event({ ...dave, auditID: 'd', verb: 'get', requestURI: '/api/v1', objectRef: undefined, requestReceivedTimestamp: at(60), stageTimestamp: at(65) }),
      call('e', 80, 'create', '/api/v1/namespaces/staging/pods/cache-0/eviction', { ...pod('cache-0'), subresource: 'eviction' }, 201),
    ];
    for (let k = 0; k < 12; k++) events.push(call(`w${k}`, 100 + k * 1000, 'get', '/api/v1/namespaces/staging/pods/cache-0', pod('cache-0'), k === 11 ? 404 : 200));
    const cmds = await fold(events);
    expect(cmds.map((c: any) => [c.command, c.apiCalls, c.status])).toEqual([['kubectl drain node-2 …', 17, 200]]);
  });

  it('a script creating two namespaces back to back makes two commands, not one create -f', async () => {
    const ns = (name: string) => ({ resource: 'namespaces', namespace: name, name, apiVersion: 'v1' });
    const cmds = await fold([call('a', 0, 'create', '/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict', ns('a'), 201), call('b', 120, 'create', '/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict', ns('b'), 201)]);
    expect(cmds.map((c: any) => c.command)).toEqual(['kubectl create namespace a', 'kubectl create namespace b']);
  });
});
