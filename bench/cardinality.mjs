// Logs for the cardinality scenarios of `npm run bench` (issue 15): N events shaped like a real
// cluster's (the generator's field mix, ~1 KB each), where one dimension is made unusual — every
// event a distinct user, or a distinct object name, or a request that never completed, or one
// event dated 1970 — next to the same log with ordinary cardinality (50 users, 2,000 names).
//   node bench/cardinality.mjs OUT.log EVENTS KIND   (KIND: ordinary, users, names, open, outlier)
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const RESOURCES = [
  ['', 'v1', 'pods'],
  ['', 'v1', 'configmaps'],
  ['', 'v1', 'secrets'],
  ['apps', 'v1', 'deployments'],
  ['', 'v1', 'services'],
  ['coordination.k8s.io', 'v1', 'leases'],
];
const AGENTS = ['kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819', 'kube-controller-manager/v1.29.2 (linux/amd64) kubernetes/4b8e819/system:serviceaccount:kube-system:deployment-controller', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format'];

/** A deterministic pseudo-random sequence (xorshift32). */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/** The i-th event of a log of `kind`. */
export function cardinalityEvent(i, kind, rand) {
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const t0 = Date.parse('2026-03-02T00:00:00Z') + i * 50;
  const [group, version, resource] = pick(RESOURCES);
  const verb = pick(VERBS);
  const user = kind === 'users' ? `user-${i}@example.com` : `user-${Math.floor(rand() * 50)}@example.com`;
  const ns = `team-${Math.floor(rand() * 20)}`;
  const name = kind === 'names' ? `object-${i}` : verb === 'list' || verb === 'create' ? '' : `${resource}-${Math.floor(rand() * 2000)}`;
  const path = `/${group ? `apis/${group}` : 'api'}/${version}/namespaces/${ns}/${resource}${name ? `/${name}` : ''}`;
  const denied = rand() < 0.02;
  const start = new Date(t0).toISOString().replace('Z', '000Z').replace(/\.(\d{3})000Z$/, '.$1000Z');
  const end = new Date(t0 + 2 + Math.floor(rand() * 40)).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const open = kind === 'open';
  const e = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `${(0x10000000 + i).toString(16)}-0000-4000-8000-${String(i).padStart(12, '0')}`,
    stage: open ? 'RequestReceived' : 'ResponseComplete',
    requestURI: verb === 'list' ? `${path}?limit=500` : path,
    verb,
    user: { username: user, uid: `uid-${user}`, groups: ['system:authenticated', `team:${ns}`] },
    sourceIPs: [`10.${Math.floor(rand() * 4)}.${Math.floor(rand() * 250)}.${Math.floor(rand() * 250)}`],
    userAgent: pick(AGENTS),
    objectRef: { resource, namespace: ns, ...(name ? { name } : {}), ...(group ? { apiGroup: group } : {}), apiVersion: version },
    ...(open ? {} : { responseStatus: { metadata: {}, ...(denied ? { status: 'Failure', reason: 'Forbidden', code: 403 } : { code: verb === 'create' ? 201 : 200 }) } }),
    requestReceivedTimestamp: start,
    stageTimestamp: open ? start : end,
    annotations: { 'authorization.k8s.io/decision': denied ? 'forbid' : 'allow', 'authorization.k8s.io/reason': denied ? '' : `RBAC: allowed by RoleBinding "edit/${ns}" of ClusterRole "edit" to Group "team:${ns}"` },
  };
  if (kind === 'outlier' && i === 0) {
    e.requestReceivedTimestamp = '1970-01-01T00:00:00.000000Z';
    e.stageTimestamp = '1970-01-01T00:00:00.001000Z';
  }
  return e;
}

/** Writes `events` events of `kind` to `file`. */
export async function writeCardinalityLog(file, events, kind) {
  const rand = rng(42);
  const out = createWriteStream(file);
  let buf = '';
  for (let i = 0; i < events; i++) {
    buf += JSON.stringify(cardinalityEvent(i, kind, rand)) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise((r) => out.end(r));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, events, kind = 'ordinary'] = process.argv.slice(2);
  if (!file || !events) {
    process.stderr.write('usage: node bench/cardinality.mjs OUT.log EVENTS [ordinary|users|names|open|outlier]\n');
    process.exit(2);
  }
  await writeCardinalityLog(file, Number(events), kind);
}
