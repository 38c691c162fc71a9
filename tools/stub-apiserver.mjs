// A tiny Kubernetes API server stub on loopback, for tests and for recording what the real kubectl
// sends. It serves discovery for a fixed set of resources, keeps objects in memory (create, get,
// list, patch, update, delete), answers the subresources kubectl uses (log, exec upgrade refused,
// scale), and records every request it receives. It is not a real API server: no auth, no
// admission, no watch streams.
import { createServer } from 'node:http';
import { once } from 'node:events';

/** group → version → [resource, kind, namespaced, verbs, subresources] */
const RESOURCES = {
  '': {
    v1: [
      ['pods', 'Pod', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['log', 'exec', 'attach', 'portforward', 'status']],
      ['namespaces', 'Namespace', false, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['nodes', 'Node', false, ['get', 'list', 'patch', 'watch'], ['status']],
      ['secrets', 'Secret', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['configmaps', 'ConfigMap', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['services', 'Service', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['serviceaccounts', 'ServiceAccount', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['token']],
      ['events', 'Event', true, ['create', 'delete', 'get', 'list', 'patch', 'watch'], []],
    ],
  },
  apps: {
    v1: [
      ['deployments', 'Deployment', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['scale', 'status']],
      ['replicasets', 'ReplicaSet', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['scale']],
      ['statefulsets', 'StatefulSet', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ['scale']],
      ['daemonsets', 'DaemonSet', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
    ],
  },
  batch: { v1: [['jobs', 'Job', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []]] },
  'rbac.authorization.k8s.io': {
    v1: [
      ['roles', 'Role', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['rolebindings', 'RoleBinding', true, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['clusterroles', 'ClusterRole', false, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
      ['clusterrolebindings', 'ClusterRoleBinding', false, ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], []],
    ],
  },
  'authorization.k8s.io': { v1: [['selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, ['create'], []]] },
};

function resourceList(group, version) {
  const out = [];
  for (const [name, kind, namespaced, verbs, subs] of RESOURCES[group][version]) {
    out.push({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs });
    for (const s of subs) out.push({ name: `${name}/${s}`, singularName: '', namespaced, kind: s === 'scale' ? 'Scale' : kind, verbs: s === 'exec' || s === 'attach' || s === 'portforward' ? ['create', 'get'] : ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: out };
}

function kindOf(group, resource) {
  for (const [name, kind] of RESOURCES[group]?.v1 ?? []) if (name === resource) return kind;
  return undefined;
}

function status(code, reason, message) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** Parses /api/v1/... and /apis/G/V/... into request info, as the API server does. */
export function parsePath(path) {
  const parts = path.split('/').filter(Boolean);
  let group;
  let version;
  let rest;
  if (parts[0] === 'api') [group, version, rest] = ['', parts[1], parts.slice(2)];
  else if (parts[0] === 'apis') [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
  else return null;
  if (!version || rest.length === 0) return null;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name = '', subresource = ''] = rest;
  if (resource === 'namespaces' && name) namespace = name;
  return { group, version, namespace, resource, name, subresource };
}

/**
 * Starts the stub on 127.0.0.1 (a free port). Returns its URL, the recorded requests, the object
 * store, and close(). `onRequest` sees each request as it is recorded.
 */
export async function startStub({ onRequest } = {}) {
  const requests = [];
  const store = new Map();
  let rv = 1000;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://stub');
      const raw = Buffer.concat(chunks);
      const body = /protobuf/.test(req.headers['content-type'] ?? '') ? '' : raw.toString('utf8');
      const entry = { method: req.method, path: url.pathname, query: url.search.slice(1), userAgent: req.headers['user-agent'] ?? '', accept: req.headers.accept ?? '', contentType: req.headers['content-type'] ?? '', body: body || undefined };
      requests.push(entry);
      onRequest?.(entry);
      const send = (code, obj) => {
        entry.code = code;
        const text = JSON.stringify(obj);
        res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      const p = url.pathname;
      let parsed;
      if (raw.length && /protobuf/.test(entry.contentType)) {
        // kubectl sends built-in types as protobuf; the stub reads just enough (kind, name, namespace).
        parsed = decodeK8sProtobuf(raw);
        entry.body = JSON.stringify(parsed);
        if (!parsed) return send(400, status(400, 'BadRequest', 'unreadable protobuf body'));
      } else {
        try {
          parsed = body ? JSON.parse(body) : undefined;
        } catch {
          return send(400, status(400, 'BadRequest', 'the request body is not JSON'));
        }
      }
      if (req.method === 'POST' && parsed?.metadata?.name) entry.objectName = parsed.metadata.name;
      if (req.headers.upgrade) {
        entry.code = 400;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status(400, 'BadRequest', 'the stub does not stream exec, attach or port-forward')));
        return;
      }
      if (p === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0-kaudit-stub', platform: 'linux/amd64' });
      if (p === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
      if (p === '/apis') {
        const groups = Object.keys(RESOURCES)
          .filter((g) => g)
          .map((g) => ({ name: g, versions: [{ groupVersion: `${g}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${g}/v1`, version: 'v1' } }));
        return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      }
      if (p === '/api/v1') return send(200, resourceList('', 'v1'));
      const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
      if (gv) return RESOURCES[gv[1]]?.[gv[2]] ? send(200, resourceList(gv[1], gv[2])) : send(404, status(404, 'NotFound', 'no such group'));
      const info = parsePath(p);
      if (!info || !kindOf(info.group, info.resource)) return send(404, status(404, 'NotFound', `the server could not find the requested resource (${p})`));
      const key = `${info.group}/${info.resource}/${info.namespace}/${info.name}`;
      const obj = store.get(key);
      if (info.subresource === 'log') {
        entry.code = obj ? 200 : 404;
        res.writeHead(entry.code, { 'content-type': 'text/plain' });
        res.end(obj ? 'hello from the kaudit stub\n' : JSON.stringify(status(404, 'NotFound', `pods "${info.name}" not found`)));
        return;
      }
      if (info.subresource === 'scale') {
        if (!obj) return send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
        let replicas = obj.spec?.replicas ?? 1;
        if (parsed) replicas = parsed.spec?.replicas ?? replicas;
        obj.spec = { ...obj.spec, replicas };
        return send(200, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: info.name, namespace: info.namespace }, spec: { replicas }, status: { replicas } });
      }
      switch (req.method) {
        case 'GET': {
          if (info.name) return obj ? send(200, obj) : send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
          const prefix = `${info.group}/${info.resource}/${info.namespace}`;
          const items = [...store.entries()].filter(([k]) => (info.namespace ? k.startsWith(`${prefix}/`) : k.startsWith(`${info.group}/${info.resource}/`))).map(([, v]) => v);
          return send(200, { kind: `${kindOf(info.group, info.resource)}List`, apiVersion: info.group ? `${info.group}/${info.version}` : 'v1', metadata: { resourceVersion: String(rv) }, items });
        }
        case 'POST': {
          const o = parsed ?? {};
          if (info.resource === 'selfsubjectaccessreviews') return send(201, { ...o, status: { allowed: true, reason: 'the kaudit stub allows everything' } });
          const name = o.metadata?.name ?? '';
          const k = `${info.group}/${info.resource}/${info.namespace}/${name}`;
          if (store.has(k)) return send(409, status(409, 'AlreadyExists', `${info.resource} "${name}" already exists`));
          o.metadata = { ...o.metadata, namespace: info.namespace || undefined, uid: `uid-${++rv}`, resourceVersion: String(rv), creationTimestamp: '2026-03-02T00:00:00Z' };
          if (!url.searchParams.has('dryRun')) store.set(k, o);
          return send(201, o);
        }
        case 'PATCH':
        case 'PUT': {
          if (!obj) return send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
          const patch = parsed ?? {};
          const merged = req.method === 'PUT' ? patch : deepMerge(obj, patch);
          merged.metadata = { ...merged.metadata, resourceVersion: String(++rv) };
          store.set(key, merged);
          return send(200, merged);
        }
        case 'DELETE':
          if (!obj) return send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
          store.delete(key);
          return send(200, obj);
        default:
          return send(405, status(405, 'MethodNotAllowed', req.method));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    store,
    /** Forgets every object and recorded request (a stub reused across commands keeps its port). */
    reset() {
      store.clear();
      requests.length = 0;
    },
    /** Seeds an object, as if it had been created. */
    put(group, resource, namespace, obj) {
      store.set(`${group}/${resource}/${namespace}/${obj.metadata.name}`, obj);
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

// ---- minimal protobuf reading: the k8s envelope ("k8s\0" + runtime.Unknown) and ObjectMeta ----

function readFields(buf) {
  const fields = [];
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) fields.push([field, varint()]);
    else if (wire === 2) {
      const len = varint();
      fields.push([field, buf.subarray(i, i + len)]);
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return fields;
  }
  return fields;
}

function field(fields, n) {
  return fields.find(([f]) => f === n)?.[1];
}

export function decodeK8sProtobuf(buf) {
  if (buf.length < 4 || buf.subarray(0, 4).toString('latin1') !== 'k8s\0') return null;
  const unknown = readFields(buf.subarray(4));
  const typeMeta = readFields(field(unknown, 1) ?? Buffer.alloc(0));
  const obj = readFields(field(unknown, 2) ?? Buffer.alloc(0));
  const meta = readFields(field(obj, 1) ?? Buffer.alloc(0));
  const str = (b) => (b ? b.toString('utf8') : undefined);
  return { apiVersion: str(field(typeMeta, 1)), kind: str(field(typeMeta, 2)), metadata: { name: str(field(meta, 1)) ?? '', namespace: str(field(meta, 3)) } };
}

function deepMerge(a, b) {
  if (b === null || typeof b !== 'object' || Array.isArray(b) || a === null || typeof a !== 'object' || Array.isArray(a)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (k.startsWith('$')) continue;
    out[k] = v === null ? undefined : deepMerge(a[k], v);
  }
  return out;
}

/**
 * Runs the real kubectl against a stub, with a throwaway kubeconfig and HOME (so no cache or
 * config of the machine leaks in). Resolves to { code, stdout, stderr }; never rejects on exit codes.
 */
export async function runKubectl(stub, args, { kubectl = 'kubectl', timeoutMs = 60_000, home } = {}) {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFile } = await import('node:child_process');
  const dir = await mkdtemp(join(tmpdir(), 'kaudit-kubectl-'));
  const config = join(dir, 'config');
  // A shared HOME keeps kubectl's discovery cache warm between commands, as on a person's machine.
  const homeDir = home ?? dir;
  await writeFile(config, `apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster: {server: "${stub.url}"}\ncontexts:\n- name: stub\n  context: {cluster: stub, user: stub, namespace: default}\ncurrent-context: stub\nusers:\n- name: stub\n  user: {}\n`);
  try {
    return await new Promise((resolve) => {
      execFile(kubectl, args, { env: { PATH: process.env.PATH, KUBECONFIG: config, HOME: homeDir }, encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
