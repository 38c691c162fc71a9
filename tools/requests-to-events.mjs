// Turns recorded HTTP requests into the audit.k8s.io/v1 events an API server would write for them,
// with the API server's RequestInfo rules for verbs (GET on a name = get, on a collection = list,
// watch=true = watch, DELETE on a collection = deletecollection) and object references.
import { parsePath } from './stub-apiserver.mjs';

export function requestInfo(method, path, query) {
  const params = new URLSearchParams(query);
  const info = parsePath(path);
  if (!info) return { verb: method.toLowerCase(), objectRef: undefined };
  let verb;
  switch (method) {
    case 'GET':
      verb = params.get('watch') === 'true' || params.get('watch') === '1' ? 'watch' : info.name ? 'get' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = info.name ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  const objectRef = { resource: info.resource };
  if (info.namespace) objectRef.namespace = info.namespace;
  if (info.name) objectRef.name = info.name;
  if (info.group) objectRef.apiGroup = info.group;
  objectRef.apiVersion = info.version;
  if (info.subresource) objectRef.subresource = info.subresource;
  return { verb, objectRef };
}

function ts(ms) {
  const whole = Math.floor(ms);
  return new Date(whole).toISOString().replace('Z', `${String(Math.round((ms - whole) * 1000)).padStart(3, '0')}Z`);
}

/**
 * One event per request, one command after another: requests of a command 15 ms apart, commands
 * `gapMs` apart. Each event carries `annotations["kaudit.io/command"]` naming the command it came
 * from, so tests can score command reconstruction.
 */
export function sequenceToEvents(sequences, { user, groups, sourceIP, start, gapMs }) {
  const out = [];
  let t = start;
  let n = 0;
  for (const s of sequences) {
    for (const q of s.requests) {
      const { verb, objectRef } = requestInfo(q.method, q.path, q.query);
      // The API server names the object of a create from the request body.
      if (objectRef && verb === 'create' && q.objectName && !objectRef.name) objectRef.name = q.objectName;
      const latency = 3 + (n % 7) * 1.5;
      const e = {
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'Metadata',
        auditID: `cccccccc-0000-4000-8000-${String(++n).padStart(12, '0')}`,
        stage: 'ResponseComplete',
        requestURI: q.query ? `${q.path}?${q.query}` : q.path,
        verb,
        user: { username: user, groups },
        sourceIPs: [sourceIP],
        userAgent: q.userAgent,
      };
      if (objectRef) e.objectRef = objectRef;
      e.responseStatus = q.code >= 400 ? { metadata: {}, status: 'Failure', code: q.code } : { metadata: {}, code: q.code };
      e.requestReceivedTimestamp = ts(t);
      e.stageTimestamp = ts(t + latency);
      e.annotations = { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '', 'kaudit.io/command': s.name };
      out.push(e);
      t += 15;
    }
    t += gapMs;
  }
  return out;
}
