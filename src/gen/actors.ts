// The sample cluster's population: control plane, kubelets, controllers, workload and CI service
// accounts, people using kubectl, a dashboard user in a browser, and anonymous probes.
// Each actor plans the requests it makes in one hour.
import type { Rng } from './rng.js';
import type { Req, Ref } from './events.js';

export interface HourCtx {
  rng: Rng;
  /** Start of the hour, epoch ms. */
  t0: number;
  hourOfDay: number;
  /** 0 = Sunday. */
  weekday: number;
  /** Multiplier for background (machine) traffic. */
  scale: number;
  emit(r: Req): void;
}

const K8S = 'v1.29.4';
const COMMIT = '55019c8';
const KUBECTL_UA = 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819';
const SA_GROUPS = (ns: string): string[] => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];
const CONTROL_PLANE_IP = '10.0.0.10';

export const NODES = ['ip-10-0-1-11.ec2.internal', 'ip-10-0-1-12.ec2.internal', 'ip-10-0-2-13.ec2.internal'];
export const NAMESPACES = ['default', 'kube-system', 'monitoring', 'apps', 'staging', 'production', 'ci', 'argocd'];
const APP_NAMESPACES = ['apps', 'staging', 'production'];
const DEPLOYMENTS: Record<string, string[]> = { apps: ['reporter', 'api'], staging: ['web', 'api', 'worker'], production: ['web', 'api', 'worker'] };

function pod(rng: Rng, ns: string): string {
  const d = rng.pick(DEPLOYMENTS[ns] ?? ['web']);
  return `${d}-${rng.hex(9)}-${rng.hex(5)}`;
}

/** Spreads `count` events uniformly over the hour (count may be fractional: the rest is a chance). */
function times(ctx: HourCtx, perHour: number): number[] {
  let n = Math.floor(perHour);
  if (ctx.rng.chance(perHour - n)) n++;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(ctx.t0 + ctx.rng.next() * 3_600_000);
  return out.sort((a, b) => a - b);
}

const core = (resource: string, namespace?: string, name?: string, subresource?: string): Ref => ({ resource, apiVersion: 'v1', namespace, name, subresource });
const grp = (apiGroup: string, resource: string, namespace?: string, name?: string, subresource?: string): Ref => ({ resource, apiGroup, apiVersion: 'v1', namespace, name, subresource });

// ---------- machines ----------

function leaderLeases(ctx: HourCtx): void {
  for (const [user, lease, agent] of [
    ['system:kube-scheduler', 'kube-scheduler', `kube-scheduler/${K8S} (linux/amd64) kubernetes/${COMMIT}/leader-election`],
    ['system:kube-controller-manager', 'kube-controller-manager', `kube-controller-manager/${K8S} (linux/amd64) kubernetes/${COMMIT}/leader-election`],
  ] as const) {
    for (const t of times(ctx, 1800 * ctx.scale)) {
      for (const verb of ['get', 'update']) {
        ctx.emit({ t: verb === 'get' ? t : t + 2, user, groups: ['system:authenticated'], ip: CONTROL_PLANE_IP, ua: agent, verb, query: 'timeout=5s', ref: grp('coordination.k8s.io', 'leases', 'kube-system', lease), code: 200, latencyMs: ctx.rng.latency(1.5), stages: 'complete' });
      }
    }
  }
}

function kubelets(ctx: HourCtx): void {
  NODES.forEach((node, i) => {
    const user = `system:node:${node}`;
    const groups = ['system:nodes', 'system:authenticated'];
    const ip = `10.0.${i < 2 ? 1 : 2}.${11 + i}`;
    const ua = `kubelet/${K8S} (linux/amd64) kubernetes/${COMMIT}`;
    for (const t of times(ctx, 360 * ctx.scale)) {
      ctx.emit({ t, user, groups, ip, ua, verb: 'update', query: 'timeout=10s', ref: grp('coordination.k8s.io', 'leases', 'kube-node-lease', node), code: 200, latencyMs: ctx.rng.latency(2), stages: 'complete' });
    }
    // Periodic work keeps a floor: a kubelet reports status and re-opens its watch whatever the scale.
    for (const t of times(ctx, Math.max(1, 12 * ctx.scale))) {
      ctx.emit({ t, user, groups, ip, ua, verb: 'patch', query: 'timeout=10s', ref: core('nodes', undefined, node, 'status'), code: 200, latencyMs: ctx.rng.latency(4), stages: 'complete' });
    }
    for (const t of times(ctx, Math.max(1, 6 * ctx.scale))) {
      ctx.emit({ t, user, groups, ip, ua, verb: 'watch', query: `allowWatchBookmarks=true&fieldSelector=spec.nodeName%3D${node}&resourceVersion=${ctx.rng.int(100000, 999999)}&timeout=7m31s&timeoutSeconds=451&watch=true`, ref: core('pods'), code: 200, latencyMs: ctx.rng.latency(1), stages: 'started', openMs: 451_000 });
    }
  });
}

const CONTROLLERS: { name: string; work: (ctx: HourCtx, t: number) => Req }[] = [
  { name: 'deployment-controller', work: (ctx, t) => ({ ...kcm(ctx, t, 'deployment-controller'), verb: 'update', ref: grp('apps', 'deployments', ctx.rng.pick(APP_NAMESPACES), 'web', 'status'), code: ctx.rng.chance(0.05) ? 409 : 200 }) },
  { name: 'replicaset-controller', work: (ctx, t) => ({ ...kcm(ctx, t, 'replicaset-controller'), verb: 'create', ref: core('pods', ctx.rng.pick(APP_NAMESPACES)), code: 201 }) },
  { name: 'endpointslice-controller', work: (ctx, t) => ({ ...kcm(ctx, t, 'endpointslice-controller'), verb: 'update', ref: { resource: 'endpointslices', apiGroup: 'discovery.k8s.io', apiVersion: 'v1', namespace: ctx.rng.pick(NAMESPACES), name: `svc-${ctx.rng.hex(5)}` }, code: 200 }) },
  { name: 'generic-garbage-collector', work: (ctx, t) => ({ ...kcm(ctx, t, 'generic-garbage-collector'), verb: 'list', query: 'limit=500&resourceVersion=0', ref: ctx.rng.pick([core('configmaps'), core('secrets'), grp('apps', 'replicasets'), core('pods')]), code: 200 }) },
  { name: 'namespace-controller', work: (ctx, t) => ({ ...kcm(ctx, t, 'namespace-controller'), verb: 'get', ref: core('namespaces', undefined, ctx.rng.pick(NAMESPACES)), code: 200 }) },
];

function kcm(ctx: HourCtx, t: number, controller: string): Req {
  return {
    t,
    user: `system:serviceaccount:kube-system:${controller}`,
    groups: SA_GROUPS('kube-system'),
    ip: CONTROL_PLANE_IP,
    ua: `kube-controller-manager/${K8S} (linux/amd64) kubernetes/${COMMIT}/system:serviceaccount:kube-system:${controller}`,
    verb: 'get',
    code: 200,
    latencyMs: ctx.rng.latency(3),
    stages: 'complete',
  };
}

function controllers(ctx: HourCtx): void {
  // Controllers resync periodically whatever the scale: a floor of 3 calls an hour each.
  for (const c of CONTROLLERS) for (const t of times(ctx, Math.max(3, 60 * ctx.scale))) ctx.emit(c.work(ctx, t));
}

// ---------- workloads ----------

function prometheus(ctx: HourCtx): void {
  const base = { user: 'system:serviceaccount:monitoring:prometheus', groups: SA_GROUPS('monitoring'), ip: '10.0.1.40', ua: 'prometheus/2.48.1', stages: 'complete' as const };
  for (const t of times(ctx, 120 * ctx.scale)) {
    ctx.emit({ ...base, t, verb: 'get', path: '/metrics', code: 200, latencyMs: ctx.rng.latency(25) });
  }
  for (const t of times(ctx, Math.max(2, 20 * ctx.scale))) {
    ctx.emit({ ...base, t, verb: 'list', query: 'limit=500&resourceVersion=0', ref: ctx.rng.pick([core('pods'), core('endpoints'), core('services'), core('nodes')]), code: 200, latencyMs: ctx.rng.latency(12) });
  }
}

function reporter(ctx: HourCtx): void {
  const base = { user: 'system:serviceaccount:apps:reporter', groups: SA_GROUPS('apps'), ip: '10.0.2.51', ua: 'reporter/1.4.2 (linux/amd64) kubernetes/v0.29.0', stages: 'complete' as const };
  for (const t of times(ctx, 12)) {
    ctx.emit({ ...base, t, verb: 'list', query: 'limit=500', ref: core('pods', 'apps'), code: 200, latencyMs: ctx.rng.latency(8) });
    ctx.emit({ ...base, t: t + 20, verb: 'get', ref: core('configmaps', 'apps', 'reporter-config'), code: 200, latencyMs: ctx.rng.latency(3) });
  }
}

function argocd(ctx: HourCtx): void {
  const base = { user: 'system:serviceaccount:argocd:argocd-application-controller', groups: SA_GROUPS('argocd'), ip: '10.0.1.60', ua: 'argocd-application-controller/v2.10.1+a79e0ea (linux/amd64) kubernetes/v0.29.0', stages: 'complete' as const };
  for (const t of times(ctx, 6)) {
    const ns = ctx.rng.pick(['staging', 'production']);
    ctx.emit({ ...base, t, verb: 'list', query: 'limit=500', ref: grp('apps', 'deployments', ns), code: 200, latencyMs: ctx.rng.latency(10) });
    ctx.emit({ ...base, t: t + 50, verb: 'get', ref: core('configmaps', ns, 'app-settings'), code: 200, latencyMs: ctx.rng.latency(3) });
  }
  for (const t of times(ctx, 2)) {
    ctx.emit({ ...base, t, verb: 'watch', query: 'allowWatchBookmarks=true&watch=true', ref: grp('apps', 'deployments'), code: 200, latencyMs: 1, stages: 'started', openMs: 300_000 });
  }
}

// ---------- people and CI, through kubectl ----------

interface Person {
  user: string;
  groups: string[];
  ip: string;
  ua: string;
}

/** Discovery that kubectl does before a command when its cache is cold. */
function discovery(ctx: HourCtx, p: Person, t: number): number {
  for (const path of ['/api', '/apis']) {
    ctx.emit({ ...p, t, verb: 'get', path, query: 'timeout=32s', code: 200, latencyMs: ctx.rng.latency(4), stages: 'complete' });
    t += 8;
  }
  return t;
}

type Cmd = (ctx: HourCtx, p: Person, t: number, ns: string) => void;

const KUBECTL_COMMANDS: Record<string, Cmd> = {
  getPods(ctx, p, t, ns) {
    ctx.emit({ ...p, t, verb: 'list', query: 'limit=500', ref: core('pods', ns), code: 200, latencyMs: ctx.rng.latency(15), stages: 'received' });
  },
  getPodsAll(ctx, p, t) {
    ctx.emit({ ...p, t, verb: 'list', query: 'limit=500', ref: core('pods'), code: 200, latencyMs: ctx.rng.latency(40), stages: 'received' });
  },
  describePod(ctx, p, t, ns) {
    const name = pod(ctx.rng, ns);
    ctx.emit({ ...p, t, verb: 'get', ref: core('pods', ns, name), code: 200, latencyMs: ctx.rng.latency(5), stages: 'received' });
    ctx.emit({ ...p, t: t + 15, verb: 'list', query: `fieldSelector=involvedObject.name%3D${name}%2CinvolvedObject.namespace%3D${ns}&limit=500`, ref: core('events', ns), code: 200, latencyMs: ctx.rng.latency(6), stages: 'received' });
  },
  logs(ctx, p, t, ns) {
    const name = pod(ctx.rng, ns);
    ctx.emit({ ...p, t, verb: 'get', ref: core('pods', ns, name), code: 200, latencyMs: ctx.rng.latency(5), stages: 'received' });
    ctx.emit({ ...p, t: t + 12, verb: 'get', ref: core('pods', ns, name, 'log'), query: 'container=app', code: 200, latencyMs: ctx.rng.latency(30), stages: 'received' });
  },
  exec(ctx, p, t, ns) {
    const name = pod(ctx.rng, ns);
    ctx.emit({ ...p, t, verb: 'get', ref: core('pods', ns, name), code: 200, latencyMs: ctx.rng.latency(5), stages: 'received' });
    ctx.emit({ ...p, t: t + 14, verb: 'create', ref: core('pods', ns, name, 'exec'), query: 'command=sh&container=app&stdin=true&stdout=true&tty=true', code: 101, latencyMs: ctx.rng.latency(20), stages: 'started', openMs: ctx.rng.int(20_000, 600_000), level: 'Request' });
  },
  deletePod(ctx, p, t, ns) {
    const name = pod(ctx.rng, ns);
    ctx.emit({ ...p, t, verb: 'delete', ref: core('pods', ns, name), code: 200, latencyMs: ctx.rng.latency(12), stages: 'received', level: 'Request', body: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/__internal', propagationPolicy: 'Background' } });
  },
  apply(ctx, p, t, ns) {
    const name = ctx.rng.pick(DEPLOYMENTS[ns] ?? ['web']);
    ctx.emit({ ...p, t, verb: 'get', ref: grp('apps', 'deployments', ns, name), code: 200, latencyMs: ctx.rng.latency(5), stages: 'received' });
    ctx.emit({
      ...p, t: t + 20, verb: 'patch', query: 'fieldManager=kubectl-client-side-apply&fieldValidation=Strict', ref: grp('apps', 'deployments', ns, name), code: 200, latencyMs: ctx.rng.latency(18), stages: 'received', level: 'Request',
      body: { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"apps/v1","kind":"Deployment"}' } }, spec: { template: { spec: { containers: [{ name: 'app', image: `registry.example.com/${name}:1.${ctx.rng.int(0, 40)}.${ctx.rng.int(0, 9)}` }] } } } },
    });
  },
  scale(ctx, p, t, ns) {
    const name = ctx.rng.pick(DEPLOYMENTS[ns] ?? ['web']);
    ctx.emit({ ...p, t, verb: 'get', ref: grp('apps', 'deployments', ns, name), code: 200, latencyMs: ctx.rng.latency(5), stages: 'received' });
    ctx.emit({ ...p, t: t + 16, verb: 'patch', ref: grp('apps', 'deployments', ns, name, 'scale'), code: 200, latencyMs: ctx.rng.latency(10), stages: 'received', level: 'Request', body: { spec: { replicas: ctx.rng.int(1, 6) } } });
  },
  getSecret(ctx, p, t, ns) {
    ctx.emit({ ...p, t, verb: 'get', ref: core('secrets', ns, 'app-credentials'), code: 200, latencyMs: ctx.rng.latency(4), stages: 'received' });
  },
  getNodes(ctx, p, t) {
    ctx.emit({ ...p, t, verb: 'list', query: 'limit=500', ref: core('nodes'), code: 200, latencyMs: ctx.rng.latency(9), stages: 'received' });
  },
  canI(ctx, p, t) {
    ctx.emit({ ...p, t, verb: 'create', ref: { resource: 'selfsubjectaccessreviews', apiGroup: 'authorization.k8s.io', apiVersion: 'v1' }, code: 201, latencyMs: ctx.rng.latency(3), stages: 'received', level: 'Request', body: { kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'staging' } } } });
  },
};

interface PersonProfile {
  person: Person;
  /** Commands per working hour. */
  rate: number;
  namespaces: string[];
  commands: string[];
  workHours: [number, number];
}

const PEOPLE: PersonProfile[] = [
  {
    person: { user: 'alice@example.com', groups: ['sre', 'system:authenticated'], ip: '203.0.113.10', ua: KUBECTL_UA },
    rate: 4,
    namespaces: ['production', 'staging', 'kube-system', 'monitoring'],
    commands: ['getPods', 'getPods', 'getPodsAll', 'describePod', 'logs', 'exec', 'deletePod', 'scale', 'getNodes', 'apply'],
    workHours: [8, 18],
  },
  {
    person: { user: 'bob@example.com', groups: ['developers', 'system:authenticated'], ip: '203.0.113.24', ua: 'kubectl/v1.28.4 (darwin/arm64) kubernetes/bae2c62' },
    rate: 5,
    namespaces: ['staging'],
    commands: ['getPods', 'getPods', 'logs', 'logs', 'describePod', 'apply', 'canI'],
    workHours: [9, 19],
  },
];

function people(ctx: HourCtx): void {
  if (ctx.weekday === 0 || ctx.weekday === 6) return;
  for (const prof of PEOPLE) {
    if (ctx.hourOfDay < prof.workHours[0] || ctx.hourOfDay >= prof.workHours[1]) continue;
    let warm = false;
    for (const t0 of times(ctx, prof.rate)) {
      let t = t0;
      if (!warm || ctx.rng.chance(0.2)) t = discovery(ctx, prof.person, t);
      warm = true;
      const ns = ctx.rng.pick(prof.namespaces);
      KUBECTL_COMMANDS[ctx.rng.pick(prof.commands)]!(ctx, prof.person, t, ns);
    }
  }
  // bob sometimes reaches for production secrets and is denied.
  const bob = PEOPLE[1]!.person;
  if (ctx.hourOfDay === 15 && ctx.rng.chance(0.5)) {
    ctx.emit({ ...bob, t: ctx.t0 + ctx.rng.next() * 3_000_000, verb: 'get', ref: core('secrets', 'production', 'app-credentials'), code: 403, latencyMs: ctx.rng.latency(2), stages: 'received' });
  }
  // alice checks what the reporter service account can see, by impersonating it.
  const alice = PEOPLE[0]!.person;
  if (ctx.hourOfDay === 11) {
    ctx.emit({ ...alice, impersonate: { username: 'system:serviceaccount:apps:reporter', groups: SA_GROUPS('apps') }, t: ctx.t0 + ctx.rng.next() * 3_000_000, verb: 'list', query: 'limit=500', ref: core('pods', 'apps'), code: 200, latencyMs: ctx.rng.latency(8), stages: 'received' });
  }
}

function ciDeployer(ctx: HourCtx): void {
  if (ctx.weekday === 0 || ctx.weekday === 6 || ctx.hourOfDay < 9 || ctx.hourOfDay >= 18) return;
  const p: Person = { user: 'system:serviceaccount:ci:deployer', groups: SA_GROUPS('ci'), ip: '10.20.0.5', ua: 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819' };
  for (const t of times(ctx, 1)) {
    const ns = ctx.hourOfDay === 16 ? 'production' : 'staging';
    KUBECTL_COMMANDS.apply!(ctx, p, discovery(ctx, p, t), ns);
  }
}

function dashboard(ctx: HourCtx): void {
  if (ctx.weekday === 0 || ctx.weekday === 6 || ctx.hourOfDay < 10 || ctx.hourOfDay >= 16) return;
  const p: Person = { user: 'carol@example.com', groups: ['viewers', 'system:authenticated'], ip: '198.51.100.7', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' };
  for (const t of times(ctx, 3)) {
    const ns = ctx.rng.pick(['staging', 'production']);
    ctx.emit({ ...p, t, verb: 'list', ref: core('pods', ns), code: 200, latencyMs: ctx.rng.latency(20), stages: 'complete' });
    ctx.emit({ ...p, t: t + 30, verb: 'list', ref: grp('apps', 'deployments', ns), code: 200, latencyMs: ctx.rng.latency(15), stages: 'complete' });
    ctx.emit({ ...p, t: t + 60, verb: 'list', ref: core('events', ns), code: 200, latencyMs: ctx.rng.latency(25), stages: 'complete' });
  }
}

function anonymous(ctx: HourCtx): void {
  for (const t of times(ctx, 0.5)) {
    const ip = `192.0.2.${ctx.rng.int(2, 250)}`;
    const p = { user: 'system:anonymous', groups: ['system:unauthenticated'], ip, ua: ctx.rng.pick(['curl/8.4.0', 'Go-http-client/1.1', 'python-requests/2.31.0']) };
    ctx.emit({ ...p, t, verb: 'get', path: '/version', code: 200, latencyMs: ctx.rng.latency(1), stages: 'complete' });
    ctx.emit({ ...p, t: t + 200, verb: 'list', ref: core('secrets'), code: 403, latencyMs: ctx.rng.latency(1), stages: 'complete' });
    ctx.emit({ ...p, t: t + 400, verb: 'list', ref: core('pods', 'kube-system'), code: 403, latencyMs: ctx.rng.latency(1), stages: 'complete' });
  }
}

/** The population, run for every hour in order. */
export const ACTORS: readonly ((ctx: HourCtx) => void)[] = [leaderLeases, kubelets, controllers, prometheus, reporter, argocd, people, ciDeployer, dashboard, anonymous];
