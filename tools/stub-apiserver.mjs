// A small Kubernetes API server stub on loopback, for tests and for recording what the real kubectl
// sends. It serves discovery (legacy, or aggregated on request), keeps objects in memory (create,
// get, list with label and field selectors, watch, patch in the four patch types, update, delete,
// deletecollection), answers the subresources kubectl uses (log and log -f, scale, eviction, token,
// ephemeralcontainers, status), the self-subject reviews, and the metrics API; it accepts exec,
// attach and port-forward over WebSocket (the channel protocols kubectl 1.30+ speaks) and refuses
// the older SPDY upgrade after recording it. It records every request with its timing: receipt,
// response start (headers or 101 sent) and end. It is not a real API server: no auth, no admission,
// no controllers, an empty OpenAPI document.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { once } from 'node:events';

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RO = ['get', 'list'];
const CONNECT = ['create', 'get'];

/** [resource, kind, namespaced, verbs, subresources, shortNames, categories] by group and version. */
const RESOURCES = {
  '': {
    v1: [
      ['pods', 'Pod', true, RW, ['log', 'exec', 'attach', 'portforward', 'status', 'ephemeralcontainers', 'eviction', 'binding'], ['po'], ['all']],
      ['namespaces', 'Namespace', false, RW, ['status'], ['ns'], []],
      ['nodes', 'Node', false, RW, ['status', 'proxy'], ['no'], []],
      ['secrets', 'Secret', true, RW, [], [], []],
      ['configmaps', 'ConfigMap', true, RW, [], ['cm'], []],
      ['services', 'Service', true, RW, ['proxy', 'status'], ['svc'], ['all']],
      ['endpoints', 'Endpoints', true, RW, [], ['ep'], []],
      ['serviceaccounts', 'ServiceAccount', true, RW, ['token'], ['sa'], []],
      ['events', 'Event', true, RW, [], ['ev'], []],
      ['replicationcontrollers', 'ReplicationController', true, RW, ['scale', 'status'], ['rc'], ['all']],
      ['persistentvolumeclaims', 'PersistentVolumeClaim', true, RW, ['status'], ['pvc'], []],
    ],
  },
  apps: {
    v1: [
      ['deployments', 'Deployment', true, RW, ['scale', 'status'], ['deploy'], ['all']],
      ['replicasets', 'ReplicaSet', true, RW, ['scale', 'status'], ['rs'], ['all']],
      ['statefulsets', 'StatefulSet', true, RW, ['scale', 'status'], ['sts'], ['all']],
      ['daemonsets', 'DaemonSet', true, RW, ['status'], ['ds'], ['all']],
      ['controllerrevisions', 'ControllerRevision', true, RW, [], [], []],
    ],
  },
  batch: {
    v1: [
      ['jobs', 'Job', true, RW, ['status'], [], ['all']],
      ['cronjobs', 'CronJob', true, RW, ['status'], ['cj'], ['all']],
    ],
  },
  autoscaling: { v2: [['horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, RW, ['status'], ['hpa'], ['all']]] },
  policy: { v1: [['poddisruptionbudgets', 'PodDisruptionBudget', true, RW, ['status'], ['pdb'], []]] },
  'networking.k8s.io': { v1: [['ingresses', 'Ingress', true, RW, ['status'], ['ing'], []], ['networkpolicies', 'NetworkPolicy', true, RW, [], ['netpol'], []]] },
  'coordination.k8s.io': { v1: [['leases', 'Lease', true, RW, [], [], []]] },
  'rbac.authorization.k8s.io': {
    v1: [
      ['roles', 'Role', true, RW, [], [], []],
      ['rolebindings', 'RoleBinding', true, RW, [], [], []],
      ['clusterroles', 'ClusterRole', false, RW, [], [], []],
      ['clusterrolebindings', 'ClusterRoleBinding', false, RW, [], [], []],
    ],
  },
  'authorization.k8s.io': {
    v1: [
      ['selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, ['create'], [], [], []],
      ['selfsubjectrulesreviews', 'SelfSubjectRulesReview', false, ['create'], [], [], []],
      ['subjectaccessreviews', 'SubjectAccessReview', false, ['create'], [], [], []],
    ],
  },
  'authentication.k8s.io': {
    v1: [
      ['selfsubjectreviews', 'SelfSubjectReview', false, ['create'], [], [], []],
      ['tokenreviews', 'TokenReview', false, ['create'], [], [], []],
    ],
  },
  'metrics.k8s.io': {
    v1beta1: [
      ['pods', 'PodMetrics', true, RO, [], [], []],
      ['nodes', 'NodeMetrics', false, RO, [], [], []],
    ],
  },
};

const SUB_KIND = { scale: 'Scale', eviction: 'Eviction', token: 'TokenRequest', binding: 'Binding' };
const CONNECT_SUBS = new Set(['exec', 'attach', 'portforward', 'proxy']);

function versions(group) {
  return Object.keys(RESOURCES[group] ?? {});
}

function resourceList(group, version) {
  const out = [];
  for (const [name, kind, namespaced, verbs, subs, shortNames, categories] of RESOURCES[group][version]) {
    out.push({ name, singularName: kind.toLowerCase(), namespaced, kind, verbs, ...(shortNames.length ? { shortNames } : {}), ...(categories.length ? { categories } : {}) });
    // pods/eviction is served by policy/v1 (kubectl drain looks for it to evict rather than delete).
    for (const s of subs) out.push({ name: `${name}/${s}`, singularName: '', namespaced, ...(s === 'eviction' ? { group: 'policy', version: 'v1' } : {}), kind: SUB_KIND[s] ?? kind, verbs: CONNECT_SUBS.has(s) ? CONNECT : s === 'eviction' || s === 'token' || s === 'binding' ? ['create'] : ['get', 'patch', 'update'] });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: out };
}

/** The aggregated discovery document (apidiscovery.k8s.io) for the core group or all named groups. */
function aggregated(apiVersion, core) {
  const groups = Object.keys(RESOURCES).filter((g) => (core ? g === '' : g !== ''));
  const items = groups.map((g) => ({
    metadata: { name: g },
    versions: versions(g).map((v) => ({
      version: v,
      freshness: 'Current',
      resources: RESOURCES[g][v].map(([name, kind, namespaced, verbs, subs, shortNames, categories]) => ({
        resource: name,
        responseKind: { group: g, version: v, kind },
        scope: namespaced ? 'Namespaced' : 'Cluster',
        singularResource: kind.toLowerCase(),
        verbs,
        ...(shortNames.length ? { shortNames } : {}),
        ...(categories.length ? { categories } : {}),
        ...(subs.length ? { subresources: subs.map((s) => ({ subresource: s, responseKind: s === 'eviction' ? { group: 'policy', version: 'v1', kind: 'Eviction' } : { group: g, version: v, kind: SUB_KIND[s] ?? kind }, verbs: CONNECT_SUBS.has(s) ? CONNECT : ['get', 'patch', 'update'] })) } : {}),
      })),
    })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion, metadata: {}, items };
}

function kindOf(group, resource) {
  for (const v of versions(group)) for (const [name, kind] of RESOURCES[group][v]) if (name === resource) return kind;
  return undefined;
}

function isNamespaced(group, resource) {
  for (const v of versions(group)) for (const [name, , ns] of RESOURCES[group][v]) if (name === resource) return ns;
  return false;
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
  // k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory: `namespaces/NS/X` names resource X
  // in NS, unless X is one of the namespace's own subresources (status, finalize).
  if (rest[0] === 'namespaces' && rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name = '', subresource = ''] = rest;
  if (resource === 'namespaces' && name) namespace = name;
  return { group, version, namespace, resource, name, subresource };
}

// ---- selectors ----

function labelMatcher(sel) {
  if (!sel) return () => true;
  const terms = [];
  // Split on commas outside parentheses.
  let depth = 0;
  let cur = '';
  for (const ch of sel) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) terms.push(cur.trim());
  const checks = terms.map((t) => {
    let m;
    if ((m = /^(\S+?)\s*(!=|==|=)\s*(\S*)$/.exec(t))) return (l) => (m[2] === '!=' ? l[m[1]] !== m[3] : l[m[1]] === m[3]);
    if ((m = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(t))) {
      const vals = m[3].split(',').map((v) => v.trim());
      return (l) => (m[2] === 'in' ? vals.includes(l[m[1]]) : !vals.includes(l[m[1]]));
    }
    if (t.startsWith('!')) return (l) => !(t.slice(1) in l);
    return (l) => t in l;
  });
  return (obj) => checks.every((c) => c(obj.metadata?.labels ?? {}));
}

function fieldOf(obj, path) {
  let v = obj;
  for (const k of path.split('.')) v = v?.[k];
  return v === undefined || v === null ? '' : String(v);
}

function fieldMatcher(sel) {
  if (!sel) return () => true;
  const checks = sel.split(',').map((t) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(t);
    if (!m) return () => true;
    return (o) => (m[2] === '!=' ? fieldOf(o, m[1]) !== m[3] : fieldOf(o, m[1]) === m[3]);
  });
  return (o) => checks.every((c) => c(o));
}

// ---- patches ----

function deepMerge(a, b) {
  if (b === null || typeof b !== 'object' || Array.isArray(b) || a === null || typeof a !== 'object' || Array.isArray(a)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = deepMerge(a[k], v);
  }
  return out;
}

function jsonPatch(obj, ops) {
  const out = structuredClone(obj);
  for (const op of Array.isArray(ops) ? ops : []) {
    const keys = String(op.path ?? '').split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let parent = out;
    for (const k of keys) parent = parent[k] ??= {};
    if (op.op === 'remove') Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
    else if (op.op === 'add' && Array.isArray(parent)) parent.splice(last === '-' ? parent.length : Number(last), 0, op.value);
    else if (op.op === 'add' || op.op === 'replace') parent[last] = op.value;
  }
  return out;
}

// ---- WebSocket (RFC 6455): just enough for the k8s channel protocols ----

function wsFrame(opcode, payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}

/**
 * Starts the stub on 127.0.0.1 (a free port). Returns its URL, the recorded requests, the object
 * store, and close(). Options: `onRequest` sees each request as it is recorded; `delayMs(entry)`
 * holds each response that long (a remote server's latency; default none); `streamMs` is how long
 * watches, `logs -f` and exec/attach sessions stream before the stub ends them (default 150);
 * `aggregatedDiscovery` answers /api and /apis with the aggregated document when the client asks
 * for it (default false: legacy discovery, one request per group version).
 */
export async function startStub({ onRequest, delayMs, streamMs = 150, aggregatedDiscovery = false } = {}) {
  const requests = [];
  const store = new Map();
  const sockets = new Set();
  let rv = 1000;
  let seq = 0;
  const now = () => performance.timeOrigin + performance.now();

  const keyOf = (info, name = info.name) => `${info.group}/${info.resource}/${isNamespaced(info.group, info.resource) ? info.namespace : ''}/${name}`;
  const list = (info, q) => {
    const ns = isNamespaced(info.group, info.resource) ? info.namespace : '';
    const prefix = `${info.group}/${info.resource}/`;
    const lm = labelMatcher(q.get('labelSelector'));
    const fm = fieldMatcher(q.get('fieldSelector'));
    return [...store.entries()].filter(([k, v]) => k.startsWith(prefix) && (!ns || k.startsWith(`${prefix}${ns}/`)) && lm(v) && fm(v)).map(([, v]) => v);
  };
  const stamp = (o, info, name) => {
    o.metadata = { ...o.metadata, name, uid: o.metadata?.uid ?? `uid-${++rv}`, resourceVersion: String(++rv), creationTimestamp: o.metadata?.creationTimestamp ?? '2026-03-02T00:00:00Z', generation: (o.metadata?.generation ?? 0) + 1 };
    if (isNamespaced(info.group, info.resource)) o.metadata.namespace = info.namespace;
    else delete o.metadata.namespace;
    if (info.resource === 'deployments' || info.resource === 'statefulsets' || info.resource === 'replicasets') {
      const n = o.spec?.replicas ?? 1;
      o.status = { observedGeneration: o.metadata.generation, replicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n, conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] };
    }
    if (info.resource === 'pods') o.status = { phase: 'Running', ...o.status, containerStatuses: (o.spec?.containers ?? []).map((c) => ({ name: c.name, ready: true, state: { running: { startedAt: '2026-03-02T00:00:00Z' } }, image: c.image, restartCount: 0 })), ...(o.spec?.ephemeralContainers ? { ephemeralContainerStatuses: o.spec.ephemeralContainers.map((c) => ({ name: c.name, ready: false, state: { running: { startedAt: '2026-03-02T00:00:00Z' } }, image: c.image })) } : {}) };
    if (info.resource === 'namespaces') o.status = { phase: 'Active' };
    return o;
  };

  /** Records a request and returns its entry; `started`/`ended` stamp the response's timing. */
  const record = (req, url, body) => {
    const entry = { seq: ++seq, method: req.method, path: url.pathname, query: url.search.slice(1), userAgent: req.headers['user-agent'] ?? '', accept: req.headers.accept ?? '', contentType: req.headers['content-type'] ?? '', upgrade: req.headers.upgrade ?? '', body: body || undefined, receivedAt: now() };
    requests.push(entry);
    onRequest?.(entry);
    return entry;
  };
  const later = async (entry) => {
    const d = delayMs?.(entry) ?? 0;
    if (d > 0) await new Promise((r) => setTimeout(r, d));
  };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://stub');
      const raw = Buffer.concat(chunks);
      const isProto = /protobuf/.test(req.headers['content-type'] ?? '');
      const entry = record(req, url, isProto ? '' : raw.toString('utf8'));
      await later(entry);
      const send = (code, obj, headers = {}) => {
        entry.code = code;
        entry.startedAt = now();
        const text = JSON.stringify(obj);
        res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
        res.end(text, () => (entry.endedAt = now()));
      };
      const stream = (code, contentType, first, each) => {
        entry.code = code;
        entry.startedAt = now();
        entry.streamed = true;
        res.writeHead(code, { 'content-type': contentType, 'transfer-encoding': 'chunked' });
        if (first) res.write(first);
        const timer = setTimeout(() => {
          if (each) res.write(each);
          res.end(() => (entry.endedAt = now()));
        }, streamMs);
        res.on('close', () => {
          clearTimeout(timer);
          entry.endedAt ??= now();
        });
      };
      const q = url.searchParams;
      const p = url.pathname;
      let parsed;
      if (raw.length && isProto) {
        // kubectl sends some built-in types as protobuf; the stub reads just enough (kind, name, namespace).
        parsed = decodeK8sProtobuf(raw);
        entry.body = JSON.stringify(parsed);
        if (!parsed) return send(400, status(400, 'BadRequest', 'unreadable protobuf body'));
      } else if (raw.length) {
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          return send(400, status(400, 'BadRequest', 'the request body is not JSON'));
        }
      }
      if (req.method === 'POST' && parsed?.metadata?.name) entry.objectName = parsed.metadata.name;
      if (req.method === 'POST' && !parsed?.metadata?.name && parsed?.metadata?.generateName) entry.objectName = `${parsed.metadata.generateName}x7k2p`;
      if (req.headers.upgrade) {
        // SPDY (kubectl before 1.30, and its fallback): recorded, then refused.
        entry.refusedUpgrade = true;
        return send(400, status(400, 'BadRequest', 'the stub does not speak SPDY'));
      }
      const accept = req.headers.accept ?? '';
      const wantAgg = aggregatedDiscovery && /as=APIGroupDiscoveryList/.test(accept) ? (/v=v2(;|,|$)/.test(accept) ? 'v2' : /v=v2beta1/.test(accept) ? 'v2beta1' : '') : '';
      // OpenAPI: an empty v2 document (kubectl then finds no schema and no fieldValidation support);
      // no v3 (404), as on a server that does not serve it.
      if (p === '/openapi/v2') {
        entry.code = 200;
        entry.startedAt = now();
        res.writeHead(200, { 'content-type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'content-length': 0 });
        res.end('', () => (entry.endedAt = now()));
        return;
      }
      if (p === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0-kaudit-stub', platform: 'linux/amd64' });
      if (p === '/api' || p === '/apis') {
        if (wantAgg) return send(200, aggregated(`apidiscovery.k8s.io/${wantAgg}`, p === '/api'), { 'content-type': `application/json;g=apidiscovery.k8s.io;v=${wantAgg};as=APIGroupDiscoveryList` });
        if (p === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
        const groups = Object.keys(RESOURCES)
          .filter((g) => g)
          .map((g) => ({ name: g, versions: versions(g).map((v) => ({ groupVersion: `${g}/${v}`, version: v })), preferredVersion: { groupVersion: `${g}/${versions(g)[0]}`, version: versions(g)[0] } }));
        return send(200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
      }
      if (p === '/api/v1') return send(200, resourceList('', 'v1'));
      const gv = /^\/apis\/([^/]+)\/([^/]+)$/.exec(p);
      if (gv) return RESOURCES[gv[1]]?.[gv[2]] ? send(200, resourceList(gv[1], gv[2])) : send(404, status(404, 'NotFound', 'no such group'));
      const info = parsePath(p);
      if (!info || !kindOf(info.group, info.resource)) return send(404, status(404, 'NotFound', `the server could not find the requested resource (${p})`));
      const key = keyOf(info);
      const obj = store.get(key);
      const watching = req.method === 'GET' && !info.name && (q.get('watch') === 'true' || q.get('watch') === '1');
      if (info.group === 'metrics.k8s.io') {
        const src = info.resource === 'pods' ? list({ group: '', resource: 'pods', namespace: info.namespace }, q) : list({ group: '', resource: 'nodes', namespace: '' }, q);
        const items = src.map((o) => ({ metadata: { name: o.metadata.name, namespace: o.metadata.namespace, creationTimestamp: '2026-03-02T00:00:00Z' }, timestamp: '2026-03-02T00:00:00Z', window: '30s', ...(info.resource === 'pods' ? { containers: (o.spec?.containers ?? []).map((c) => ({ name: c.name, usage: { cpu: '3m', memory: '12Mi' } })) } : { usage: { cpu: '250m', memory: '1500Mi' } }) }));
        return send(200, { kind: info.resource === 'pods' ? 'PodMetricsList' : 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items });
      }
      if (watching) {
        const items = list(info, q).map((o) => JSON.stringify({ type: 'ADDED', object: o }) + '\n').join('');
        return stream(200, 'application/json', items, '');
      }
      if (info.subresource === 'log') {
        if (!obj) return send(404, status(404, 'NotFound', `pods "${info.name}" not found`));
        if (q.get('follow') === 'true') return stream(200, 'text/plain', 'hello from the kaudit stub\n', 'still here\n');
        entry.code = 200;
        entry.startedAt = now();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('hello from the kaudit stub\n', () => (entry.endedAt = now()));
        return;
      }
      if (info.subresource === 'scale') {
        if (!obj) return send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
        let replicas = obj.spec?.replicas ?? 1;
        if (parsed) replicas = parsed.spec?.replicas ?? replicas;
        if (req.method !== 'GET') store.set(key, stamp({ ...obj, spec: { ...obj.spec, replicas } }, info, info.name));
        return send(200, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: info.name, namespace: info.namespace, resourceVersion: String(rv) }, spec: { replicas }, status: { replicas } });
      }
      if (info.subresource === 'eviction') {
        if (!obj) return send(404, status(404, 'NotFound', `pods "${info.name}" not found`));
        store.delete(key);
        return send(201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      }
      if (info.subresource === 'token') {
        if (!obj) return send(404, status(404, 'NotFound', `serviceaccounts "${info.name}" not found`));
        return send(201, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', metadata: { name: info.name, namespace: info.namespace }, spec: parsed?.spec ?? {}, status: { token: 'eyJhbGciOiJSUzI1NiJ9.stub.token', expirationTimestamp: '2026-03-02T01:00:00Z' } });
      }
      if (info.subresource === 'ephemeralcontainers' && (req.method === 'PATCH' || req.method === 'PUT')) {
        if (!obj) return send(404, status(404, 'NotFound', `pods "${info.name}" not found`));
        const ct = req.headers['content-type'] ?? '';
        const next = ct.includes('json-patch') ? jsonPatch(obj, parsed) : deepMerge(obj, parsed ?? {});
        if (parsed?.spec?.ephemeralContainers && !ct.includes('json-patch')) next.spec.ephemeralContainers = [...(obj.spec?.ephemeralContainers ?? []), ...parsed.spec.ephemeralContainers.filter((c) => !(obj.spec?.ephemeralContainers ?? []).some((o) => o.name === c.name))];
        const stored = stamp(next, info, info.name);
        store.set(key, stored);
        return send(200, stored);
      }
      switch (req.method) {
        case 'GET': {
          if (info.name) return obj ? send(200, obj) : send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
          const kind = kindOf(info.group, info.resource);
          return send(200, { kind: `${kind}List`, apiVersion: info.group ? `${info.group}/${info.version}` : 'v1', metadata: { resourceVersion: String(rv) }, items: list(info, q).map((o) => ({ ...o, kind: undefined, apiVersion: undefined })) });
        }
        case 'POST': {
          const o = parsed ?? {};
          if (info.resource === 'selfsubjectaccessreviews') return send(201, { ...o, status: { allowed: true, reason: 'the kaudit stub allows everything' } });
          if (info.resource === 'selfsubjectrulesreviews') return send(201, { ...o, status: { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }], incomplete: false } });
          if (info.resource === 'selfsubjectreviews') return send(201, { ...o, status: { userInfo: { username: 'stub-user', groups: ['system:authenticated'] } } });
          if (info.resource === 'subjectaccessreviews' || info.resource === 'tokenreviews') return send(201, { ...o, status: { allowed: true } });
          const name = o.metadata?.name || entry.objectName || '';
          const k = keyOf(info, name);
          if (store.has(k)) return send(409, status(409, 'AlreadyExists', `${info.resource} "${name}" already exists`));
          const stored = stamp(o, info, name);
          if (!q.has('dryRun')) store.set(k, stored);
          return send(201, stored);
        }
        case 'PATCH':
        case 'PUT': {
          const ct = req.headers['content-type'] ?? '';
          if (!obj) {
            // Server-side apply creates what does not exist.
            if (req.method === 'PATCH' && ct.includes('apply-patch')) {
              const stored = stamp(parsed ?? {}, info, info.name);
              store.set(key, stored);
              return send(201, stored);
            }
            return send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
          }
          const patch = parsed ?? {};
          const merged = req.method === 'PUT' ? patch : ct.includes('json-patch') ? jsonPatch(obj, patch) : deepMerge(obj, patch);
          merged.metadata = { ...merged.metadata, uid: obj.metadata.uid, creationTimestamp: obj.metadata.creationTimestamp, generation: obj.metadata.generation };
          const stored = stamp(merged, info, info.name);
          store.set(key, stored);
          return send(200, stored);
        }
        case 'DELETE': {
          if (!info.name) {
            const gone = list(info, q);
            for (const o of gone) store.delete(keyOf(info, o.metadata.name));
            return send(200, { kind: `${kindOf(info.group, info.resource)}List`, apiVersion: 'v1', metadata: {}, items: gone });
          }
          if (!obj) return send(404, status(404, 'NotFound', `${info.resource} "${info.name}" not found`));
          store.delete(key);
          if (info.resource === 'namespaces') for (const k of [...store.keys()]) if (k.split('/')[2] === info.name) store.delete(k);
          return send(200, obj);
        }
        default:
          return send(405, status(405, 'MethodNotAllowed', req.method));
      }
    });
  });

  // exec, attach and port-forward over WebSocket: the handshake, then (exec, attach) a line on
  // stdout and a Success status on the error channel, as a finished command; port-forward stays open
  // until the client goes.
  server.on('upgrade', async (req, socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const url = new URL(req.url, 'http://stub');
    const entry = record(req, url, '');
    const info = parsePath(url.pathname);
    if (req.method === 'POST' && info) entry.objectName = info.name;
    await later(entry);
    const refuse = (code, message) => {
      entry.code = code;
      entry.refusedUpgrade = true;
      entry.startedAt = now();
      const body = JSON.stringify(status(code, 'BadRequest', message));
      socket.end(`HTTP/1.1 ${code} Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () => (entry.endedAt = now()));
    };
    if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return refuse(400, 'the stub does not speak SPDY');
    if (!info || !store.has(`${info.group}/${info.resource}/${info.namespace}/${info.name}`)) {
      entry.code = 404;
      entry.startedAt = now();
      const body = JSON.stringify(status(404, 'NotFound', `pods "${info?.name}" not found`));
      socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`, () => (entry.endedAt = now()));
      return;
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    const protocol = offered.find((p) => p === 'v5.channel.k8s.io') ?? offered.find((p) => p === 'v4.channel.k8s.io') ?? offered.find((p) => p.includes('portforward')) ?? offered[0] ?? '';
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    entry.code = 101;
    entry.startedAt = now();
    entry.streamed = true;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
    socket.on('close', () => (entry.endedAt ??= now()));
    if (info.subresource === 'portforward') return; // open until kubectl is stopped
    setTimeout(() => {
      if (socket.destroyed) return;
      socket.write(wsFrame(2, Buffer.concat([Buffer.from([1]), Buffer.from('hello from the kaudit stub\n')])));
      // `test …` (kubectl cp asks whether the destination is a directory) fails, as for a file path.
      const command = url.searchParams.getAll('command');
      const result = command[0] === 'test' ? { metadata: {}, status: 'Failure', message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code 1`, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '1' }] } } : { metadata: {}, status: 'Success' };
      socket.write(wsFrame(2, Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(result))])));
      socket.write(wsFrame(8, Buffer.from([0x03, 0xe8])));
      setTimeout(() => socket.end(), 20);
    }, streamMs);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
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
      store.set(`${group}/${resource}/${isNamespaced(group, resource) ? namespace : ''}/${obj.metadata.name}`, obj);
    },
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
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

/**
 * Runs the real kubectl against a stub, with a throwaway kubeconfig and HOME (so no cache or
 * config of the machine leaks in). Resolves to { code, stdout, stderr }; never rejects on exit
 * codes. Options: `home` shares a HOME (a warm discovery cache) between runs; `tty` runs kubectl
 * under `script` so that it has a terminal (exec -it asks for one); `stopAfterMs` sends SIGINT
 * (Ctrl-C) after that long, for commands that run until stopped (port-forward); `env` adds
 * variables (KUBE_EDITOR); `cwd`; `namespace` is the context's namespace (default `default`).
 */
export async function runKubectl(stub, args, { kubectl = 'kubectl', timeoutMs = 60_000, home, tty = false, stopAfterMs, env = {}, cwd, namespace = 'default' } = {}) {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn } = await import('node:child_process');
  const dir = await mkdtemp(join(tmpdir(), 'kaudit-kubectl-'));
  const config = join(dir, 'config');
  // A shared HOME keeps kubectl's discovery cache warm between commands, as on a person's machine.
  const homeDir = home ?? dir;
  await writeFile(config, `apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster: {server: "${stub.url}"}\ncontexts:\n- name: stub\n  context: {cluster: stub, user: stub, namespace: ${namespace}}\ncurrent-context: stub\nusers:\n- name: stub\n  user: {}\n`);
  const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
  const [cmd, argv] = tty ? ['script', ['-qec', [kubectl, ...args].map(quote).join(' '), '/dev/null']] : [kubectl, args];
  try {
    return await new Promise((resolve) => {
      const child = spawn(cmd, argv, { env: { PATH: process.env.PATH, KUBECONFIG: config, HOME: homeDir, TERM: 'xterm', ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      if (!tty) child.stdin.end();
      const stop = stopAfterMs ? setTimeout(() => child.kill('SIGINT'), stopAfterMs) : null;
      const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code, signal) => {
        if (stop) clearTimeout(stop);
        clearTimeout(kill);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
