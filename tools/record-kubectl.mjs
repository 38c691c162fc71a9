#!/usr/bin/env node
// Re-records fixtures/kubectl/: runs the real kubectl (every version installed beside it that
// answers, via its dispatcher) against the local stub API server and writes, per command, the exact
// request sequence kubectl sent, then the same sequences as audit.k8s.io/v1 events.
//
//   node tools/record-kubectl.mjs [--out fixtures/kubectl]
//
// The stub is seeded with a namespace, a pod, a deployment, a secret and a config map. Commands that
// stream (exec, logs -f) are refused by the stub after the request is recorded, as a real server
// would accept it; that is enough to see the calls.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStub, runKubectl } from './stub-apiserver.mjs';
import { sequenceToEvents } from './requests-to-events.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? process.argv[outArg + 1] : join(root, 'fixtures', 'kubectl');

/** name → argv (without `kubectl`), and the command line a person would have typed. */
export const COMMANDS = [
  ['get-pods-all-namespaces', ['get', 'pods', '-A']],
  ['get-pods-namespace', ['get', 'pods', '-n', 'staging']],
  ['get-pod-yaml', ['get', 'pod', 'web-0', '-n', 'staging', '-o', 'yaml']],
  ['get-deployments', ['get', 'deployments', '-n', 'staging']],
  ['get-nodes', ['get', 'nodes']],
  ['describe-pod', ['describe', 'pod', 'web-0', '-n', 'staging']],
  ['logs', ['logs', 'web-0', '-n', 'staging']],
  ['delete-pod', ['delete', 'pod', 'web-1', '-n', 'staging']],
  ['delete-namespace', ['delete', 'namespace', 'production']],
  ['create-configmap', ['create', 'configmap', 'settings', '-n', 'staging', '--from-literal=mode=blue']],
  ['apply', ['apply', '--validate=false', '-f', '{{deployment}}']],
  ['scale', ['scale', 'deployment', 'web', '-n', 'staging', '--replicas=3']],
  ['label', ['label', 'pod', 'web-0', '-n', 'staging', 'tier=frontend']],
  ['annotate', ['annotate', 'deployment', 'web', '-n', 'staging', 'owner=alice']],
  ['exec', ['exec', 'web-0', '-n', 'staging', '--', 'ls']],
  ['auth-can-i', ['auth', 'can-i', 'delete', 'pods', '-n', 'staging']],
  ['get-secret', ['get', 'secret', 'db', '-n', 'staging', '-o', 'yaml']],
  ['rollout-restart', ['rollout', 'restart', 'deployment', 'web', '-n', 'staging']],
];

function seed(stub) {
  const meta = (name, namespace) => ({ name, namespace, uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-03-02T00:00:00Z' });
  for (const ns of ['default', 'staging', 'production']) stub.put('', 'namespaces', ns, { apiVersion: 'v1', kind: 'Namespace', metadata: meta(ns, undefined), status: { phase: 'Active' } });
  stub.put('', 'nodes', '', { apiVersion: 'v1', kind: 'Node', metadata: meta('node-1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  for (const p of ['web-0', 'web-1']) stub.put('', 'pods', 'staging', { apiVersion: 'v1', kind: 'Pod', metadata: meta(p, 'staging'), spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], nodeName: 'node-1' }, status: { phase: 'Running' } });
  stub.put('apps', 'deployments', 'staging', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('web', 'staging'), spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } } } });
  stub.put('', 'secrets', 'staging', { apiVersion: 'v1', kind: 'Secret', metadata: meta('db', 'staging'), data: { password: 'c2VjcmV0' } });
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: staging}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: app, image: "registry.example.com/api:1.2.3"}]
`;

/** kubectl binaries to record: every versioned one beside the installed kubectl, else kubectl itself. */
async function kubectls() {
  const { readdir, realpath } = await import('node:fs/promises');
  const { execFileSync } = await import('node:child_process');
  try {
    const which = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    const dir = dirname(await realpath(which));
    const found = (await readdir(dir)).filter((f) => /^kubectl\.1\.\d+$/.test(f)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
    if (found.length) return found.map((f) => join(dir, f));
  } catch {
    /* fall through */
  }
  return ['kubectl'];
}

await mkdir(out, { recursive: true });
const tmp = join(out, '.deployment.yaml');
await writeFile(tmp, DEPLOYMENT);
const { mkdtemp, rm } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const sequences = [];
const versions = [];
for (const bin of await kubectls()) {
  for (const cache of ['cold', 'warm']) {
    // Warm: one HOME and one stub (kubectl keys its discovery cache by host:port) for all commands.
    const home = cache === 'warm' ? await mkdtemp(join(tmpdir(), 'kaudit-home-')) : undefined;
    const shared = cache === 'warm' ? await startStub() : null;
    for (const [name, argv] of COMMANDS) {
      const stub = shared ?? (await startStub());
      stub.reset();
      seed(stub);
      const args = argv.map((a) => (a === '{{deployment}}' ? tmp : a));
      const res = await runKubectl(stub, args, { kubectl: bin, home });
      if (!shared) await stub.close();
      const requests = stub.requests.filter((q) => q.userAgent.startsWith('kubectl'));
      const ua = requests[0]?.userAgent ?? '';
      if (ua && !versions.includes(ua)) versions.push(ua);
      sequences.push({ name, cache, kubectl: ua.split(' ')[0], command: `kubectl ${argv.map((a) => (a === '{{deployment}}' ? 'api.yaml' : a)).join(' ')}`, exitCode: res.code, requests: requests.map(({ method, path, query, userAgent, code, objectName }) => ({ method, path, query, userAgent, code, ...(objectName ? { objectName } : {}) })) });
    }
    if (home) await rm(home, { recursive: true, force: true });
    if (shared) await shared.close();
    process.stderr.write(`${bin} (${cache} discovery cache): ${COMMANDS.length} commands\n`);
  }
}
await rm(tmp);
await writeFile(join(out, 'sequences.json'), JSON.stringify({ recordedWith: versions, recordedAgainst: 'tools/stub-apiserver.mjs', sequences }, null, 2) + '\n');
// The dispatcher's versioned binaries name themselves `kubectl.1.NN/…`; a normal install sends `kubectl/…`.
const asInstalled = sequences.map((q) => ({ ...q, requests: q.requests.map((r) => ({ ...r, userAgent: r.userAgent.replace(/^kubectl\.1\.\d+\//, 'kubectl/') })) }));
const events = sequenceToEvents(asInstalled, { user: 'alice@example.com', groups: ['sre', 'system:authenticated'], sourceIP: '203.0.113.10', start: Date.parse('2026-03-02T10:00:00Z'), gapMs: 20_000 });
await writeFile(join(out, 'commands.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
process.stderr.write(`wrote ${join(out, 'sequences.json')} and ${join(out, 'commands.jsonl')}: ${sequences.length} commands, ${events.length} events\n`);
