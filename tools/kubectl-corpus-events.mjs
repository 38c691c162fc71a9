// Builds the kubectl corpus's audit log and truth from its recording (see record-kubectl-corpus.mjs).
// Pure and deterministic: the same recording gives the same bytes.
//
// Each recorded request becomes the events an API server writes for it: ResponseComplete, and
// before it ResponseStarted for a call that streamed (a watch, `logs -f`, exec, attach,
// port-forward). The request's timing is the recorded one (kubectl's own pacing against a server
// answering in 4 to 30 ms), moved to the invocation's minute of the morning, with the user's network
// round trip added: two for the connection a new process opens (TCP, TLS), one between sequential requests. A streaming call lasts the invocation's `session`;
// the calls kubectl made after it move with its end. kubectl before 1.30 asks for exec, attach and
// port-forward over SPDY, which the stub refuses after recording the request: its event is written as
// the 101 a real server answers. Around the users, the cluster's own clients run: two kubelets, the
// controller manager and scheduler (leases, watches, reactions to the users' changes), a helm release
// and a k9s-like terminal browser.
import { requestInfo } from './requests-to-events.mjs';

const BASE = Date.parse('2026-03-05T09:00:00Z');
const END = BASE + 25 * 60_000;

/** Deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ts(ms) {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  return new Date(whole).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

/**
 * Returns { events, truth }. `users` and `invocations` are the recorder's tables; `shellWords` splits
 * a shell line as sh does.
 */
export function buildCorpus(recording, { users, invocations, shellWords }) {
  const rand = rng(16);
  const uuid = () => {
    const h = () => Math.floor(rand() * 0x10000).toString(16).padStart(4, '0');
    return `${h()}${h()}-${h()}-4${h().slice(1)}-${(8 + Math.floor(rand() * 4)).toString(16)}${h().slice(1)}-${h()}${h()}${h()}`;
  };
  /** Each event stage as { at: stage time, event }; sorted at the end. */
  const staged = [];
  const emit = (e, stages) => {
    for (const [stage, at, code] of stages) {
      const ev = { ...e, stage, responseStatus: code >= 400 ? { metadata: {}, status: 'Failure', code } : { metadata: {}, code }, stageTimestamp: ts(at) };
      // Keep the API server's field order: stage before requestURI, timestamps and annotations last.
      const { annotations, requestReceivedTimestamp, stageTimestamp, ...rest } = ev;
      staged.push({ at, event: { ...rest, requestReceivedTimestamp, stageTimestamp, annotations } });
    }
  };
  const event = ({ method, path, query, user, groups, sourceIP, userAgent, received, objectName }) => {
    const { verb, objectRef } = requestInfo(method, path, query);
    if (objectRef && verb === 'create' && objectName && !objectRef.name) objectRef.name = objectName;
    const e = { kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: uuid(), stage: '', requestURI: query ? `${path}?${query}` : path, verb, user: { username: user, groups }, sourceIPs: [sourceIP], userAgent };
    if (objectRef) e.objectRef = objectRef;
    e.requestReceivedTimestamp = ts(received);
    e.annotations = { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' };
    return e;
  };

  // ---- the users' kubectl invocations ----
  const byId = new Map(recording.invocations.map((r) => [r.id, r]));
  // The kubectl of each user, as its user agent names it (config commands make no request to name it).
  const versionOf = {};
  for (const v of invocations) {
    const q = byId.get(v.id)?.requests[0];
    if (q && !versionOf[v.user]) versionOf[v.user] = q.userAgent.replace(/^kubectl\.1\.\d+\//, 'kubectl/').split(' ')[0];
  }
  const endOf = {};
  const lastOf = {};
  const truth = [];
  for (const v of invocations) {
    const rec = byId.get(v.id);
    if (!rec) throw new Error(`${v.id}: not in the recording`);
    const u = users[v.user];
    let start;
    if (v.next) start = endOf[v.user] + 12; // the shell starts the next process
    else {
      start = BASE + v.at * 1000;
      if (endOf[v.user] !== undefined && start < endOf[v.user]) throw new Error(`${v.id} starts at ${v.at} s, before ${lastOf[v.user]} of the same user ends`);
    }
    const ua = (s) => s.replace(/^kubectl\.1\.\d+\//, 'kubectl/').replace('(linux/amd64)', v.user === 'carol' ? '(darwin/arm64)' : '(linux/amd64)');
    let shift = 0; // session stretch so far
    let step = 0;
    let prevEnd = -Infinity;
    const ids = [];
    const sessionMs = v.session ? v.session * 1000 : null;
    // The session is the interactive stream: the last call that streamed (debug's wait is a watch too).
    const interactive = rec.requests.findLastIndex((q) => q.streamed || q.refusedUpgrade);
    for (const [n, q] of rec.requests.entries()) {
      // A person's time inside the command (an editor open), before request n.
      if (v.pause && v.pause[0] === n) shift += v.pause[1] * 1000;
      if (q.receivedMs >= prevEnd) step++;
      // A new process opens a connection first (TCP, then TLS: two round trips); then each request
      // that waited for the previous one's answer adds a round trip, half of it before the server sees it.
      const rtt = u.rttMs * (2 + step - 0.5);
      const received = start + q.receivedMs + shift + rtt;
      const streaming = q.streamed || q.refusedUpgrade;
      let started = q.startedMs === null ? received : start + q.startedMs + shift + rtt;
      let ended = start + q.endedMs + shift + rtt;
      let code = q.code;
      if (q.refusedUpgrade) {
        code = 101;
        started = received + 2.4;
        ended = received + 1200;
      }
      if (n === interactive && sessionMs !== null) {
        const was = ended - received;
        ended = received + sessionMs;
        shift += sessionMs - was;
      }
      const e = event({ method: q.method, path: q.path, query: q.query, user: u.username, groups: u.groups, sourceIP: u.sourceIP, userAgent: ua(q.userAgent), received, objectName: q.objectName });
      ids.push(e.auditID);
      emit(e, streaming ? [['ResponseStarted', started, code], ['ResponseComplete', ended, code]] : [['ResponseComplete', ended, code]]);
      prevEnd = q.endedMs;
    }
    if (v.pause && v.pause[0] >= rec.requests.length) shift += v.pause[1] * 1000; // the editor closed without a change
    // kubectl exits after its last answer has come back (half a round trip after the server sent it)
    // and it has done with it what it does (as long as in the recording).
    const last = rec.requests.at(-1);
    const end = last ? start + last.endedMs + shift + u.rttMs * (2 + step) + (rec.durationMs - last.endedMs) : start + rec.durationMs + shift;
    if (!v.detached) {
      endOf[v.user] = end;
      lastOf[v.user] = v.id;
    }
    const typed = rec.argv;
    const expectedLine = v.expected ?? v.line;
    truth.push({
      id: v.id,
      user: u.username,
      sourceIP: u.sourceIP,
      kubectl: versionOf[v.user],
      start: ts(start),
      line: v.line,
      argv: typed,
      expected: expectedLine,
      expectedArgv: v.expected ? shellWords(v.expected) : typed,
      why: v.why ?? '',
      exitCode: rec.exitCode,
      auditIDs: ids,
    });
  }

  // ---- other clients of the same people: a helm release and a k9s-like browser ----
  const tools = [];
  const person = (username, groups, sourceIP, userAgent) => ({ user: username, groups, sourceIP, userAgent });
  const erin = person('erin@example.com', ['developers', 'system:authenticated'], '198.51.100.7', 'Helm/3.14.2');
  const frank = person('frank@example.com', ['sre', 'system:authenticated'], '203.0.113.10', 'k9s/v0.32.5 (linux/amd64) kubernetes/$Format');
  const call = (who, at, method, path, query, code, { latency = 6, session = null, objectName } = {}) => {
    const e = event({ method, path, query, ...who, received: at, objectName });
    if (session === null) emit(e, [['ResponseComplete', at + latency, code]]);
    else emit(e, [['ResponseStarted', at + latency, code], ['ResponseComplete', at + session, code]]);
    return e.auditID;
  };
  const helm = (id, at, first) => {
    const ids = [];
    let t = at;
    const c = (method, path, query, code, o) => {
      ids.push(call(erin, t, method, path, query, code, o));
      t += 9 + rand() * 25;
    };
    c('GET', '/version', '', 200);
    c('GET', '/api', '', 200);
    c('GET', '/apis', '', 200);
    c('GET', '/api/v1/namespaces/staging/secrets', 'labelSelector=name%3Dweb-chart%2Cowner%3Dhelm', 200);
    if (first) {
      c('POST', '/api/v1/namespaces/staging/secrets', '', 201, { objectName: 'sh.helm.release.v1.web-chart.v1' });
      c('GET', '/apis/apps/v1/namespaces/staging/deployments/web-chart', '', 404);
      c('POST', '/apis/apps/v1/namespaces/staging/deployments', '', 201, { objectName: 'web-chart' });
      c('GET', '/api/v1/namespaces/staging/services/web-chart', '', 404);
      c('POST', '/api/v1/namespaces/staging/services', '', 201, { objectName: 'web-chart' });
      c('PUT', '/api/v1/namespaces/staging/secrets/sh.helm.release.v1.web-chart.v1', '', 200);
    } else {
      c('POST', '/api/v1/namespaces/staging/secrets', '', 201, { objectName: 'sh.helm.release.v1.web-chart.v2' });
      c('GET', '/apis/apps/v1/namespaces/staging/deployments/web-chart', '', 200);
      c('PATCH', '/apis/apps/v1/namespaces/staging/deployments/web-chart', '', 200);
      c('GET', '/api/v1/namespaces/staging/services/web-chart', '', 200);
      c('PATCH', '/api/v1/namespaces/staging/services/web-chart', '', 200);
      c('PUT', '/api/v1/namespaces/staging/secrets/sh.helm.release.v1.web-chart.v1', '', 200);
      c('PUT', '/api/v1/namespaces/staging/secrets/sh.helm.release.v1.web-chart.v2', '', 200);
    }
    tools.push({ id, tool: 'helm', user: erin.user, sourceIP: erin.sourceIP, line: first ? 'helm install web-chart ./chart -n staging' : 'helm upgrade web-chart ./chart -n staging', start: ts(at), auditIDs: ids });
  };
  helm('h01', BASE + 318_000, true);
  helm('h02', BASE + 1_090_000, false);
  // k9s: a terminal browser that lists, watches and polls while frank looks around.
  {
    const ids = [];
    let t = BASE + 245_000;
    ids.push(call(frank, t, 'GET', '/api', '', 200), call(frank, t + 14, 'GET', '/apis', '', 200), call(frank, t + 40, 'GET', '/api/v1/namespaces', 'limit=500', 200));
    ids.push(call(frank, t + 70, 'GET', '/api/v1/pods', 'limit=500', 200));
    ids.push(call(frank, t + 95, 'GET', '/api/v1/pods', 'allowWatchBookmarks=true&resourceVersion=4121&timeoutSeconds=392&watch=true', 200, { latency: 1.5, session: 240_000 }));
    for (let k = 1; k <= 24; k++) ids.push(call(frank, t + k * 10_000, 'GET', '/apis/metrics.k8s.io/v1beta1/pods', '', 200));
    t += 61_300;
    ids.push(call(frank, t, 'GET', '/api/v1/namespaces/staging/pods/web-1', '', 200), call(frank, t + 9, 'GET', '/api/v1/namespaces/staging/events', 'fieldSelector=involvedObject.name%3Dweb-1', 200));
    ids.push(call(frank, t + 4_000, 'GET', '/api/v1/namespaces/staging/pods/web-1/log', 'container=app&follow=true&tailLines=100&timestamps=true', 200, { latency: 3, session: 45_000 }));
    tools.push({ id: 'k01', tool: 'k9s', user: frank.user, sourceIP: frank.sourceIP, line: 'k9s (browsing pods in staging)', start: ts(BASE + 245_000), auditIDs: ids });
  }

  // ---- the cluster's own clients ----
  const kcm = (sa) => ({ user: `system:serviceaccount:kube-system:${sa}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'], sourceIP: '10.0.0.10', userAgent: `kube-controller-manager/v1.32.2 (linux/amd64) kubernetes/4b8e819/system:serviceaccount:kube-system:${sa}` });
  const leader = (who, ua) => ({ user: who, groups: ['system:authenticated'], sourceIP: '10.0.0.10', userAgent: ua });
  const kcmLeader = leader('system:kube-controller-manager', 'kube-controller-manager/v1.32.2 (linux/amd64) kubernetes/4b8e819/leader-election');
  const schedLeader = leader('system:kube-scheduler', 'kube-scheduler/v1.32.2 (linux/amd64) kubernetes/4b8e819/leader-election');
  for (let t = BASE + 700 * rand(); t < END; t += 2000 + rand() * 40) {
    call(kcmLeader, t, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager', 'timeout=5s', 200, { latency: 2 + rand() * 4 });
    call(schedLeader, t + 600 + rand() * 300, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler', 'timeout=5s', 200, { latency: 2 + rand() * 4 });
  }
  for (const [node, ip] of [['node-1', '10.0.1.11'], ['node-2', '10.0.1.12']]) {
    const who = { user: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'], sourceIP: ip, userAgent: 'kubelet/v1.32.2 (linux/amd64) kubernetes/4b8e819' };
    for (let t = BASE + 10_000 * rand(); t < END; t += 10_000 + rand() * 50) call(who, t, 'PUT', `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`, 'timeout=10s', 200, { latency: 1.5 + rand() * 3 });
    for (let t = BASE + 60_000 * rand(); t < END; t += 60_000 + rand() * 500) call(who, t, 'PATCH', `/api/v1/nodes/${node}/status`, 'timeout=10s', 200, { latency: 3 + rand() * 5 });
    // Watches, renewed when they time out (client-go asks for 5 to 10 minutes): logged when they end.
    for (const [path, sel] of [['/api/v1/pods', `spec.nodeName%3D${node}`], ['/api/v1/services', ''], ['/api/v1/nodes', `metadata.name%3D${node}`]]) {
      for (let t = BASE - 120_000 * rand(); t < END; ) {
        const secs = 300 + Math.floor(rand() * 300);
        const q = `allowWatchBookmarks=true${sel ? `&fieldSelector=${sel}` : ''}&resourceVersion=${4000 + Math.floor(rand() * 900)}&timeout=${Math.floor(secs / 60)}m${secs % 60}s&timeoutSeconds=${secs}&watch=true`;
        if (t >= BASE) call(who, t, 'GET', path, q, 200, { latency: 0.8, session: secs * 1000 });
        t += secs * 1000 + 3 + rand() * 10;
      }
    }
  }
  // The controllers react to the users' changes to deployments, pods and namespaces.
  const deploy = kcm('deployment-controller');
  const rs = kcm('replicaset-controller');
  const nsc = kcm('namespace-controller');
  const sched = { user: 'system:kube-scheduler', groups: ['system:authenticated'], sourceIP: '10.0.0.10', userAgent: 'kube-scheduler/v1.32.2 (linux/amd64) kubernetes/4b8e819/scheduler' };
  for (const t of truth) {
    const rec = byId.get(t.id);
    const writes = rec.requests.filter((q) => /PATCH|PUT|POST|DELETE/.test(q.method) && /\/deployments\/|\/deployments$/.test(q.path) && q.code < 400 && !q.path.endsWith('/scale'));
    const scaled = rec.requests.some((q) => q.method === 'PATCH' && q.path.endsWith('/scale'));
    if (!writes.length && !scaled) continue;
    const name = (writes[0] ?? rec.requests.find((q) => q.path.endsWith('/scale'))).path.split('/')[7] || rec.requests.find((q) => q.objectName)?.objectName || 'web';
    let at = Date.parse(t.start) + 300 + rand() * 200;
    call(deploy, at, 'PUT', `/apis/apps/v1/namespaces/staging/deployments/${name}/status`, '', 200, { latency: 4 });
    at += 15 + rand() * 20;
    const hash = Math.floor(rand() * 0xffffffff).toString(36).slice(0, 9);
    call(deploy, at, 'POST', '/apis/apps/v1/namespaces/staging/replicasets', '', 201, { latency: 5, objectName: `${name}-${hash}` });
    at += 40 + rand() * 30;
    const pod = `${name}-${hash}-${Math.floor(rand() * 0xfffff).toString(36).slice(0, 5)}`;
    call(rs, at, 'POST', '/api/v1/namespaces/staging/pods', '', 201, { latency: 6, objectName: pod });
    call(sched, at + 25, 'POST', `/api/v1/namespaces/staging/pods/${pod}/binding`, '', 201, { latency: 3 });
    call(rs, at + 60, 'PUT', `/apis/apps/v1/namespaces/staging/replicasets/${name}-${hash}/status`, '', 200, { latency: 3 });
    call(deploy, at + 90, 'PUT', `/apis/apps/v1/namespaces/staging/deployments/${name}/status`, '', 200, { latency: 3 });
  }
  for (const t of truth.filter((x) => /delete namespace/.test(x.line))) {
    const ns = t.argv[t.argv.length - 1];
    let at = Date.parse(t.start) + 400;
    for (const [g, r] of [['', 'pods'], ['', 'configmaps'], ['', 'secrets'], ['', 'services'], ['apps', 'deployments'], ['apps', 'replicasets'], ['batch', 'jobs'], ['rbac.authorization.k8s.io', 'roles'], ['rbac.authorization.k8s.io', 'rolebindings'], ['coordination.k8s.io', 'leases']]) {
      const base = g ? `/apis/${g}/v1` : '/api/v1';
      call(nsc, at, 'GET', `${base}/namespaces/${ns}/${r}`, 'limit=500', 200, { latency: 2 });
      call(nsc, at + 4, 'DELETE', `${base}/namespaces/${ns}/${r}`, '', 200, { latency: 5 });
      at += 12 + rand() * 10;
    }
    call(nsc, at + 30, 'PUT', `/api/v1/namespaces/${ns}/finalize`, '', 200, { latency: 4 });
  }

  staged.sort((a, b) => a.at - b.at || (a.event.auditID < b.event.auditID ? -1 : a.event.auditID > b.event.auditID ? 1 : 0));
  return {
    events: staged.map((s) => s.event),
    truth: {
      description: 'The kubectl corpus: what each invocation was (as typed, and as the audit log allows it to be rebuilt) and the auditIDs of its calls. Built by tools/kubectl-corpus-events.mjs from recording.json.',
      versions: [...new Set(truth.map((t) => t.kubectl))],
      users: Object.fromEntries(Object.entries(users).map(([k, u]) => [u.username, { kubectl: `v${u.kubectl}`, sourceIP: u.sourceIP, rttMs: u.rttMs }])),
      invocations: truth,
      otherTools: tools,
    },
  };
}

