// Request and response bodies for requests logged at the Request and RequestResponse audit levels
// (`npm run gen -- --levels …`). They are shaped like what the API server logs for these objects
// (a pod with its managedFields, env, projected service-account volume and status is about 3.6 KB),
// because the cost of reading a body-heavy log is the cost of those bodies.
//
// Audit levels (k8s.io/apiserver/pkg/apis/audit, Level): Request logs the request body
// (`requestObject`, absent for get/list/watch, which send none); RequestResponse logs the response
// body (`responseObject`) too. Lists and watches keep whatever level the actor chose: policies log
// them at Metadata because their bodies are whole collections.
import type { Rng } from './rng.js';
import type { Req, Ref } from './events.js';

/** The audit levels `--levels` can assign, with the share of eligible requests each gets. */
export interface LevelShares {
  Request: number;
  RequestResponse: number;
}

/** Verbs whose requests get a level from LevelShares (reads and writes of one object). */
const ELIGIBLE = new Set(['get', 'create', 'update', 'patch', 'delete']);
const WRITES = new Set(['create', 'update', 'patch']);

/**
 * Parses `--levels`: `Request=0.1,RequestResponse=0.6` (shares of the get/create/update/patch/delete
 * requests the population logs at Metadata; the rest stay at Metadata). Returns an error message
 * instead when the text is not such a list.
 */
export function parseLevels(text: string): LevelShares | string {
  const out: LevelShares = { Request: 0, RequestResponse: 0 };
  for (const part of text.split(',')) {
    const m = /^\s*(Request|RequestResponse)\s*=\s*([0-9.]+)\s*$/.exec(part);
    if (!m) return `${JSON.stringify(part)} is not LEVEL=SHARE (LEVEL: Request or RequestResponse; SHARE: 0 to 1)`;
    const share = Number(m[2]);
    if (!(share >= 0 && share <= 1)) return `${JSON.stringify(m[2])} is not a share between 0 and 1`;
    out[m[1] as keyof LevelShares] = share;
  }
  if (out.Request + out.RequestResponse > 1) return 'the shares add up to more than 1';
  return out;
}

const ISO = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function managedFields(rng: Rng, t: number, manager: string, op: string, fields: unknown, sub?: string): unknown[] {
  const entry: Record<string, unknown> = { manager, operation: op, apiVersion: 'v1', time: ISO(t - rng.int(1000, 86_400_000)), fieldsType: 'FieldsV1', fieldsV1: fields };
  if (sub) entry.subresource = sub;
  return [entry];
}

function meta(rng: Rng, ref: Ref, t: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m: Record<string, unknown> = { name: ref.name ?? `${ref.resource.replace(/s$/, '')}-${rng.hex(5)}` };
  if (ref.namespace) m.namespace = ref.namespace;
  m.uid = rng.uuid();
  m.resourceVersion = String(rng.int(1_000_000, 99_999_999));
  m.creationTimestamp = ISO(t - rng.int(60_000, 30 * 86_400_000));
  return { ...m, ...extra };
}

function pod(rng: Rng, ref: Ref, t: number, withStatus: boolean): Record<string, unknown> {
  const ns = ref.namespace ?? 'default';
  const name = ref.name ?? `web-${rng.hex(9)}-${rng.hex(5)}`;
  const app = name.split('-')[0]!;
  const hash = rng.hex(9);
  const image = `registry.example.com/${ns}/${app}:1.${rng.int(0, 40)}.${rng.int(0, 9)}`;
  const env = [
    { name: 'APP_ENV', value: ns },
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: `${app}-db`, key: 'url' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
    { name: 'GOMAXPROCS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '0' } } },
  ];
  const o: Record<string, unknown> = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: meta(rng, { ...ref, name }, t, {
      generateName: `${app}-${hash}-`,
      labels: { app, 'pod-template-hash': hash },
      annotations: { 'kubectl.kubernetes.io/restartedAt': ISO(t - 3_600_000) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${hash}`, uid: rng.uuid(), controller: true, blockOwnerDeletion: true }],
      managedFields: managedFields(rng, t, 'kube-controller-manager', 'Update', {
        'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/restartedAt': {} }, 'f:generateName': {}, 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': { '.': {}, [`k:{"uid":"${rng.uuid()}"}`]: {} } },
        'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:env': { '.': {}, 'k:{"name":"APP_ENV"}': { '.': {}, 'f:name': {}, 'f:value': {} } }, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} } }, 'f:dnsPolicy': {}, 'f:restartPolicy': {} },
      }),
    }),
    spec: {
      volumes: [
        {
          name: `kube-api-access-${rng.hex(5)}`,
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
            defaultMode: 420,
          },
        },
      ],
      containers: [
        {
          name: 'app',
          image,
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env,
          resources: { limits: { cpu: '500m', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [{ name: 'kube-api-access', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
          livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          imagePullPolicy: 'IfNotPresent',
          securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: app,
      serviceAccount: app,
      nodeName: `ip-10-0-${rng.int(1, 2)}-${rng.int(11, 13)}.ec2.internal`,
      securityContext: { fsGroup: 2000 },
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
  if (withStatus) {
    const started = ISO(t - rng.int(60_000, 86_400_000));
    o.status = {
      phase: 'Running',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: started })),
      hostIP: `10.0.1.${rng.int(11, 13)}`,
      podIP: `10.1.${rng.int(0, 255)}.${rng.int(2, 254)}`,
      podIPs: [{ ip: `10.1.${rng.int(0, 255)}.${rng.int(2, 254)}` }],
      startTime: started,
      containerStatuses: [{ name: 'app', state: { running: { startedAt: started } }, lastState: {}, ready: true, restartCount: rng.int(0, 3), image, imageID: `${image.split(':')[0]}@sha256:${rng.hex(64)}`, containerID: `containerd://${rng.hex(64)}`, started: true }],
      qosClass: 'Burstable',
    };
  }
  return o;
}

function lease(rng: Rng, ref: Ref, t: number): Record<string, unknown> {
  return {
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    metadata: meta(rng, ref, t, { managedFields: managedFields(rng, t, ref.namespace === 'kube-node-lease' ? 'kubelet' : 'kube-controller-manager', 'Update', { 'f:spec': { 'f:holderIdentity': {}, 'f:leaseDurationSeconds': {}, 'f:renewTime': {} } }) }),
    spec: { holderIdentity: ref.name ?? 'holder', leaseDurationSeconds: 40, renewTime: new Date(t).toISOString().replace('Z', '000Z') },
  };
}

function deployment(rng: Rng, ref: Ref, t: number): Record<string, unknown> {
  const name = ref.name ?? 'web';
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: meta(rng, ref, t, {
      generation: rng.int(1, 90),
      labels: { app: name },
      annotations: { 'deployment.kubernetes.io/revision': String(rng.int(1, 40)), 'kubectl.kubernetes.io/last-applied-configuration': `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"${name}","namespace":"${ref.namespace ?? 'default'}"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"${name}"}}}}\n` },
      managedFields: managedFields(rng, t, 'kubectl-client-side-apply', 'Update', { 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} } }, 'f:spec': { 'f:replicas': {}, 'f:selector': {}, 'f:template': { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } } } }),
    }),
    spec: {
      replicas: rng.int(1, 6),
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:1.${rng.int(0, 40)}.0`, ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: {} }], restartPolicy: 'Always' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: { observedGeneration: rng.int(1, 90), replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: [{ type: 'Available', status: 'True', lastUpdateTime: ISO(t - 7_200_000), lastTransitionTime: ISO(t - 7_200_000), reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }] },
  };
}

function node(rng: Rng, ref: Ref, t: number): Record<string, unknown> {
  const beat = ISO(t);
  return {
    status: {
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({ type, status: type === 'Ready' ? 'True' : 'False', lastHeartbeatTime: beat, reason: type === 'Ready' ? 'KubeletReady' : `KubeletHas${type === 'PIDPressure' ? 'SufficientPID' : `No${type}`}`, message: `kubelet ${type === 'Ready' ? 'is posting ready status' : `has no ${type.toLowerCase()}`}` })),
      images: Array.from({ length: 4 }, (_, i) => ({ names: [`registry.example.com/img-${i}@sha256:${rng.hex(64)}`, `registry.example.com/img-${i}:1.${i}`], sizeBytes: rng.int(1e6, 9e8) })),
      nodeInfo: { kubeletVersion: 'v1.29.4', containerRuntimeVersion: 'containerd://1.7.11', kernelVersion: '6.1.66', machineID: rng.hex(32), systemUUID: rng.uuid() },
    },
    metadata: { name: ref.name ?? 'node', resourceVersion: String(rng.int(1_000_000, 99_999_999)) },
  };
}

function generic(rng: Rng, ref: Ref, t: number): Record<string, unknown> {
  const kinds: Record<string, [string, string]> = {
    configmaps: ['ConfigMap', 'v1'],
    secrets: ['Secret', 'v1'],
    namespaces: ['Namespace', 'v1'],
    endpointslices: ['EndpointSlice', 'discovery.k8s.io/v1'],
    events: ['Event', 'v1'],
  };
  const [kind, apiVersion] = kinds[ref.resource] ?? [ref.resource.replace(/s$/, '').replace(/^./, (c) => c.toUpperCase()), ref.apiGroup ? `${ref.apiGroup}/${ref.apiVersion}` : ref.apiVersion];
  const o: Record<string, unknown> = { kind, apiVersion, metadata: meta(rng, ref, t, { managedFields: managedFields(rng, t, 'kubectl-edit', 'Update', { 'f:data': { '.': {}, 'f:settings.yaml': {} } }) }) };
  if (kind === 'ConfigMap') o.data = { 'settings.yaml': `log_level: info\nreplicas: ${rng.int(1, 9)}\nfeature_flags:\n  new_ui: true\n  beta_api: false\n` };
  else if (kind === 'Secret') {
    o.type = 'Opaque';
    o.data = { username: Buffer.from('app').toString('base64'), password: Buffer.from(rng.hex(24)).toString('base64') };
  } else if (kind === 'EndpointSlice') {
    o.addressType = 'IPv4';
    o.endpoints = Array.from({ length: 3 }, () => ({ addresses: [`10.1.${rng.int(0, 255)}.${rng.int(2, 254)}`], conditions: { ready: true, serving: true, terminating: false }, nodeName: `ip-10-0-1-${rng.int(11, 13)}.ec2.internal`, targetRef: { kind: 'Pod', namespace: ref.namespace, name: `web-${rng.hex(9)}-${rng.hex(5)}`, uid: rng.uuid() } }));
    o.ports = [{ name: 'http', protocol: 'TCP', port: 8080 }];
  } else if (kind === 'Namespace') o.status = { phase: 'Active' };
  return o;
}

/** The object a request on `ref` reads or writes, with its server-set fields when `stored`. */
function objectFor(rng: Rng, ref: Ref, t: number, stored: boolean): Record<string, unknown> {
  if (ref.resource === 'pods' && (ref.subresource === undefined || ref.subresource === 'status')) return pod(rng, ref, t, stored);
  if (ref.resource === 'leases') return lease(rng, ref, t);
  if (ref.resource === 'deployments' && ref.subresource === 'scale') return { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: meta(rng, ref, t), spec: { replicas: rng.int(1, 6) }, status: { replicas: 3, selector: `app=${ref.name ?? 'web'}` } };
  if (ref.resource === 'deployments') return deployment(rng, ref, t);
  if (ref.resource === 'nodes') return node(rng, ref, t);
  return generic(rng, ref, t);
}

/**
 * Gives `req` a level drawn from `shares` and the bodies that level logs, when the actor left it at
 * Metadata and it reads or writes one object (pods/exec, pods/log and other streams excepted: their
 * bodies are no objects). Keeps a body the actor already planned as the request body.
 */
export function assignLevel(req: Req, shares: LevelShares, rng: Rng): void {
  if ((req.level ?? 'Metadata') !== 'Metadata' || !req.ref || !ELIGIBLE.has(req.verb)) return;
  const sub = req.ref.subresource;
  if (sub === 'exec' || sub === 'log' || sub === 'attach' || sub === 'portforward' || sub === 'proxy') return;
  const x = rng.next();
  const level = x < shares.RequestResponse ? 'RequestResponse' : x < shares.RequestResponse + shares.Request ? 'Request' : 'Metadata';
  if (level === 'Metadata') return;
  req.level = level;
  if (req.body === undefined) {
    if (WRITES.has(req.verb)) req.body = objectFor(rng, req.ref, req.t, false);
    else if (req.verb === 'delete') req.body = { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/__internal', propagationPolicy: 'Background' };
  }
  if (level === 'RequestResponse' && req.code < 300) {
    req.response = req.verb === 'delete' ? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: req.ref.name ?? '', kind: req.ref.resource, uid: rng.uuid() } } : objectFor(rng, req.ref, req.t, true);
  }
}
