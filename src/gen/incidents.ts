// Scripted incidents for the last generated day: what `audit anomalies` must find. Each request is
// tagged with its incident, and the generator writes a manifest of their auditIDs and the rules
// expected to catch them (`--manifest FILE`).
import type { HourCtx } from './actors.js';
import type { Req, Ref } from './events.js';

export interface Incident {
  name: string;
  description: string;
  subject: string;
  /** Any of these rules finding the incident's requests counts as detecting it. */
  expect: string[];
  hour: number;
  run(ctx: HourCtx, t: number, tag: string): void;
}

const KUBECTL = 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819';
const SA = (ns: string): string[] => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];
const core = (resource: string, namespace?: string, name?: string, subresource?: string): Ref => ({ resource, apiVersion: 'v1', namespace, name, subresource });
const rbac = (resource: string, name?: string): Ref => ({ resource, apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1', name });
const alice = { user: 'alice@example.com', groups: ['sre', 'system:authenticated'], ip: '203.0.113.10', ua: KUBECTL };
const bob = { user: 'bob@example.com', groups: ['developers', 'system:authenticated'], ip: '203.0.113.24', ua: 'kubectl/v1.28.4 (darwin/arm64) kubernetes/bae2c62' };
const deployer = { user: 'system:serviceaccount:ci:deployer', groups: SA('ci'), ip: '10.20.0.5', ua: KUBECTL };
const req = (base: Omit<Req, 't' | 'verb' | 'code' | 'latencyMs' | 'stages'>, t: number, verb: string, code: number, tag: string, extra: Partial<Req> = {}): Req => ({ ...base, t, verb, code, latencyMs: 6, stages: 'received', tag, ...extra });

export const INCIDENTS: readonly Incident[] = [
  {
    name: 'compromised-reporter',
    description: 'the reporter service account, used from an unknown network, reads secrets in kube-system',
    subject: 'system:serviceaccount:apps:reporter',
    expect: ['new-namespace', 'new-network', 'first-seen'],
    hour: 2,
    run(ctx, t, tag) {
      const base = { user: 'system:serviceaccount:apps:reporter', groups: SA('apps'), ip: '198.18.0.77', ua: 'python-requests/2.31.0' };
      ctx.emit(req(base, t, 'list', 200, tag, { ref: core('secrets', 'kube-system'), query: 'limit=500' }));
      ctx.emit(req(base, t + 900, 'get', 200, tag, { ref: core('secrets', 'kube-system', 'bootstrap-token-abcdef') }));
    },
  },
  {
    name: 'ci-escalation',
    description: 'the CI account looks at cluster role bindings, then binds itself to cluster-admin',
    subject: 'system:serviceaccount:ci:deployer',
    expect: ['K8S-CLUSTER-ADMIN-BINDING', 'K8S-RBAC-WRITE', 'new-resource'],
    hour: 10,
    run(ctx, t, tag) {
      ctx.emit(req(deployer, t, 'list', 200, tag, { ref: rbac('clusterrolebindings'), query: 'limit=500' }));
      ctx.emit(
        req(deployer, t + 4000, 'create', 201, tag, {
          ref: rbac('clusterrolebindings', 'ci-deployer-admin'),
          query: 'fieldManager=kubectl-create',
          level: 'Request',
          body: { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: 'ci-deployer-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' }] },
        }),
      );
    },
  },
  {
    name: 'ci-wildcard-role',
    description: 'the CI account creates a ClusterRole that allows everything',
    subject: 'system:serviceaccount:ci:deployer',
    expect: ['K8S-WILDCARD-ROLE'],
    hour: 10,
    run(ctx, t, tag) {
      ctx.emit(
        req(deployer, t + 60_000, 'create', 201, tag, {
          ref: rbac('clusterroles', 'ci-everything'),
          query: 'fieldManager=kubectl-create',
          level: 'Request',
          body: { kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: 'ci-everything' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
        }),
      );
    },
  },
  {
    name: 'developer-in-production',
    description: 'a developer who works in staging patches a production deployment',
    subject: 'bob@example.com',
    expect: ['new-namespace', 'first-seen'],
    hour: 11,
    run(ctx, t, tag) {
      ctx.emit(req(bob, t, 'get', 200, tag, { ref: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: 'production', name: 'api' } }));
      ctx.emit(req(bob, t + 3000, 'patch', 200, tag, { ref: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: 'production', name: 'api' }, query: 'fieldManager=kubectl-edit' }));
    },
  },
  {
    name: 'stolen-token-recon',
    description: 'an unknown identity probes the API: a burst of denied requests',
    subject: 'mallory@example.com',
    expect: ['K8S-DENIED-BURST', 'new-subject'],
    hour: 4,
    run(ctx, t, tag) {
      const base = { user: 'mallory@example.com', groups: ['system:authenticated'], ip: '192.0.2.200', ua: 'kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b' };
      const targets = [core('secrets', 'kube-system'), core('pods', 'kube-system'), core('secrets', 'production'), core('configmaps', 'kube-system'), rbac('clusterroles'), core('nodes'), core('serviceaccounts', 'kube-system')];
      for (let i = 0; i < 24; i++) ctx.emit(req(base, t + i * 4000, 'list', 403, tag, { ref: targets[i % targets.length]!, query: 'limit=500', stages: 'complete' }));
    },
  },
  {
    name: 'anonymous-allowed',
    description: 'an anonymous request is allowed (a binding grants system:anonymous too much)',
    subject: 'system:anonymous',
    expect: ['K8S-ANON-ALLOWED'],
    hour: 5,
    run(ctx, t, tag) {
      ctx.emit(req({ user: 'system:anonymous', groups: ['system:unauthenticated'], ip: '192.0.2.99', ua: 'curl/8.4.0' }, t, 'list', 200, tag, { ref: core('namespaces'), stages: 'complete' }));
    },
  },
  {
    name: 'night-exec',
    description: 'a person opens a shell in a kube-system pod at 3 a.m.',
    subject: 'alice@example.com',
    expect: ['K8S-EXEC', 'off-hours'],
    hour: 3,
    run(ctx, t, tag) {
      ctx.emit(req(alice, t, 'get', 200, tag, { ref: core('pods', 'kube-system', 'coredns-5d78c9869d-abcde') }));
      ctx.emit(req(alice, t + 1000, 'create', 101, tag, { ref: core('pods', 'kube-system', 'coredns-5d78c9869d-abcde', 'exec'), query: 'command=sh&container=coredns&stdin=true&stdout=true&tty=true', stages: 'started', openMs: 240_000 }));
    },
  },
  {
    name: 'curl-secret-read',
    description: 'a person reads secrets with curl, a client they never use',
    subject: 'alice@example.com',
    expect: ['new-client', 'K8S-SECRET-READ-HUMAN'],
    hour: 14,
    run(ctx, t, tag) {
      ctx.emit(req({ ...alice, ua: 'curl/8.4.0' }, t, 'get', 200, tag, { ref: core('secrets', 'production', 'app-credentials') }));
    },
  },
  {
    name: 'privileged-pod',
    description: 'a developer creates a privileged pod that mounts the host filesystem',
    subject: 'bob@example.com',
    expect: ['K8S-PRIVILEGED-POD'],
    hour: 15,
    run(ctx, t, tag) {
      ctx.emit(
        req(bob, t, 'create', 201, tag, {
          ref: core('pods', 'staging', 'debug-node'),
          query: 'fieldManager=kubectl-run',
          level: 'Request',
          body: { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'debug-node', namespace: 'staging' }, spec: { hostPID: true, containers: [{ name: 'shell', image: 'busybox', securityContext: { privileged: true }, volumeMounts: [{ name: 'host', mountPath: '/host' }] }], volumes: [{ name: 'host', hostPath: { path: '/' } }] } },
        }),
      );
    },
  },
  {
    name: 'token-request',
    description: 'a developer mints a token for a kube-system service account',
    subject: 'bob@example.com',
    expect: ['K8S-SA-TOKEN'],
    hour: 15,
    run(ctx, t, tag) {
      ctx.emit(req(bob, t + 120_000, 'create', 201, tag, { ref: core('serviceaccounts', 'kube-system', 'default', 'token'), level: 'Request', body: { kind: 'TokenRequest', spec: { expirationSeconds: 86400 } } }));
    },
  },
  {
    name: 'impersonation',
    description: 'a developer acts as a controller service account to read kube-system secrets',
    subject: 'system:serviceaccount:kube-system:replicaset-controller',
    expect: ['K8S-IMPERSONATION'],
    hour: 16,
    run(ctx, t, tag) {
      ctx.emit(req(bob, t, 'list', 200, tag, { impersonate: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: SA('kube-system') }, ref: core('secrets', 'kube-system'), query: 'limit=500' }));
    },
  },
  {
    name: 'dashboard-scrape',
    description: 'the dashboard user suddenly makes far more requests than usual',
    subject: 'carol@example.com',
    expect: ['volume-spike'],
    hour: 13,
    run(ctx, t, tag) {
      const base = { user: 'carol@example.com', groups: ['viewers', 'system:authenticated'], ip: '198.51.100.7', ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' };
      for (let i = 0; i < 220; i++) ctx.emit(req(base, t + i * 1500, 'list', 200, tag, { ref: core('pods', i % 2 ? 'staging' : 'production'), stages: 'complete' }));
    },
  },
  {
    name: 'namespace-deleted',
    description: 'a namespace is deleted',
    subject: 'alice@example.com',
    expect: ['K8S-NAMESPACE-DELETE'],
    hour: 17,
    run(ctx, t, tag) {
      ctx.emit(req(alice, t, 'delete', 200, tag, { ref: core('namespaces', 'production', 'production'), level: 'Request', body: { kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/__internal', propagationPolicy: 'Background' } }));
    },
  },
];

/** Runs the incidents scheduled for this hour (on the last day only). */
export function incidentsFor(ctx: HourCtx): void {
  for (const inc of INCIDENTS) {
    if (inc.hour !== ctx.hourOfDay) continue;
    inc.run(ctx, ctx.t0 + 20 * 60_000 + Math.floor(ctx.rng.next() * 600_000), inc.name);
  }
}
