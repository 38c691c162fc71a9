// kubectl knowledge as data: the API calls each kubectl command makes, taken from request
// sequences of kubectl 1.27–1.33 recorded against the stub API server (tools/record-kubectl.mjs,
// tools/record-kubectl-corpus.mjs; fixtures/kubectl/), and the facts needed to write a command line
// back (singular kind names, the `all` category, which create forms take their data from flags).

/** Discovery and schema calls kubectl makes before a command when its cache is cold. */
export function isDiscoveryPath(path: string): boolean {
  return (
    path === '/api' ||
    path === '/apis' ||
    path === '/version' ||
    path.startsWith('/openapi/') ||
    path === '/openapi/v2' ||
    path === '/openapi/v3' ||
    path.startsWith('/swagger') ||
    /^\/api\/v1$/.test(path) ||
    /^\/apis\/[^/]+\/[^/]+$/.test(path) ||
    /^\/apis\/[^/]+$/.test(path)
  );
}

/** Singular names kubectl users type for one object (`kubectl delete namespace x`). */
const IRREGULAR: Readonly<Record<string, string>> = {
  endpoints: 'endpoints',
  ingresses: 'ingress',
  ingressclasses: 'ingressclass',
  networkpolicies: 'networkpolicy',
  podsecuritypolicies: 'podsecuritypolicy',
  priorityclasses: 'priorityclass',
  storageclasses: 'storageclass',
  runtimeclasses: 'runtimeclass',
  leases: 'lease',
  statuses: 'status',
};

export function singular(resource: string): string {
  if (Object.hasOwn(IRREGULAR, resource)) return IRREGULAR[resource]!;
  if (resource.endsWith('ies')) return `${resource.slice(0, -3)}y`;
  if (resource.endsWith('sses')) return resource.slice(0, -2);
  if (resource.endsWith('ses') && !resource.endsWith('sses')) return resource.slice(0, -1);
  if (resource.endsWith('s')) return resource.slice(0, -1);
  return resource;
}

/**
 * The resources of the `all` category, as the API server's discovery lists them (k8s.io/kubernetes
 * pkg/registry: the REST storages that implement CategoriesProvider and return "all"). `kubectl get
 * all` lists them, in discovery order, one call each.
 */
export const ALL_CATEGORY: ReadonlySet<string> = new Set(['pods', 'services', 'replicationcontrollers', 'deployments', 'replicasets', 'statefulsets', 'daemonsets', 'jobs', 'cronjobs', 'horizontalpodautoscalers']);

/**
 * `kubectl create KIND NAME …` forms, by the resource the POST creates: the words after `create`
 * (a subcommand the body decides is written `…`), and whether the form takes its content from flags
 * (`--image`, `--from-literal`, `--verb`…) that travel in the request body (then a trailing `…`).
 * (k8s.io/kubectl/pkg/cmd/create: one file per subcommand.)
 */
export const CREATE_FORMS: Readonly<Record<string, { words: string[]; flags: boolean }>> = {
  namespaces: { words: ['namespace'], flags: false },
  serviceaccounts: { words: ['serviceaccount'], flags: false },
  configmaps: { words: ['configmap'], flags: true },
  secrets: { words: ['secret', '…'], flags: true },
  services: { words: ['service', '…'], flags: true },
  deployments: { words: ['deployment'], flags: true },
  jobs: { words: ['job'], flags: true },
  cronjobs: { words: ['cronjob'], flags: true },
  roles: { words: ['role'], flags: true },
  clusterroles: { words: ['clusterrole'], flags: true },
  rolebindings: { words: ['rolebinding'], flags: true },
  clusterrolebindings: { words: ['clusterrolebinding'], flags: true },
  ingresses: { words: ['ingress'], flags: true },
  poddisruptionbudgets: { words: ['poddisruptionbudget'], flags: true },
  priorityclasses: { words: ['priorityclass'], flags: true },
  resourcequotas: { words: ['quota'], flags: true },
};

/** logs query parameters and the flags they come from, in the order the command line writes them. */
export const LOG_FLAGS: readonly { param: string; flag: string; value: boolean }[] = [
  { param: 'follow', flag: '-f', value: false },
  { param: 'previous', flag: '--previous', value: false },
  { param: 'tailLines', flag: '--tail', value: true },
  { param: 'sinceSeconds', flag: '--since', value: true },
  { param: 'sinceTime', flag: '--since-time', value: true },
  { param: 'timestamps', flag: '--timestamps', value: false },
  { param: 'limitBytes', flag: '--limit-bytes', value: true },
];

/**
 * One call of a signature. Every field given must hold. `same` means the same object (group,
 * resource, namespace, name) as the signature's first call; `sameName` the same name only.
 */
export interface Step {
  /** Names the calls this step took: the command line reads them (`exec`, `list`…), `main` is what the command is about. */
  role?: string;
  verb?: string[];
  resource?: string[];
  /** Exact subresource ('' when not given: no subresource). */
  subresource?: string;
  apiGroup?: string;
  /** Query conditions: `name=value` (the first value), `name` (present) or `!name` (absent). */
  query?: string[];
  named?: boolean;
  same?: boolean;
  sameName?: boolean;
  /** A non-resource path: exact, or a prefix when it ends with `*`. */
  path?: string;
  /** Any one of these steps (alternatives). */
  anyOf?: Step[];
  /** The call follows the previous one as closely as one process's calls do (see JOIN_IDLE_MS). */
  close?: boolean;
  /** kubectl polls with this interval (ms) here: the wait may exceed a process boundary by that much. */
  pollMs?: number;
  /** A sub-sequence matched as one unit (with `repeat`: one object of a multi-object apply). */
  seq?: Step[];
  optional?: boolean;
  /** The step may take up to this many calls (or sub-sequences) in a row (default 1). */
  repeat?: number;
}

/**
 * A kubectl command as the calls it makes. Tried in order at each position of a burst; the first
 * whose steps all match takes the calls. The first call with role `main` (else the first call) is
 * what the command is about: its object, and its status when nothing failed. `ambiguity` says what
 * the log cannot tell.
 */
export interface Signature {
  id: string;
  steps: Step[];
  ambiguity?: string;
}

const MANY = 500;
const get: Step = { verb: ['get'], named: true };
const getSame: Step = { verb: ['get'], named: true, same: true };
const fm = (m: string): string => `fieldManager=${m}`;
const openapi: Step = { path: '/openapi/*', optional: true, repeat: 4 };
const main = (st: Step): Step => ({ ...st, role: 'main' });
/**
 * kubectl delete waits for each object to go (k8s.io/kubectl/pkg/cmd/wait, IsDeleted): a get, and
 * while the object is still there (terminating), a list and a watch of it by name until it is gone.
 */
const deleteWait: Step = { seq: [{ verb: ['get'], named: true, close: true, optional: true }, { verb: ['list'], query: ['fieldSelector'], optional: true }, { verb: ['watch'], query: ['fieldSelector'], optional: true }], optional: true, repeat: MANY };

/** `get` (optional) then a patch with kubectl's field manager for the subcommand: label, annotate, set… */
const patchedBy = (id: string, manager: string, ambiguity: string): Signature => ({ id, ambiguity, steps: [{ ...get, optional: true }, main({ verb: ['patch'], query: [fm(manager)], named: true })] });

export const SIGNATURES: readonly Signature[] = [
  {
    id: 'drain',
    ambiguity: 'the drain options (--ignore-daemonsets, --force…) change only what kubectl evicts',
    steps: [
      main({ ...get, resource: ['nodes'] }),
      { verb: ['patch'], resource: ['nodes'], same: true, optional: true },
      { verb: ['list'], resource: ['pods'], query: ['fieldSelector'] },
      { verb: ['get'], named: true, optional: true, repeat: 50 },
      { path: '/api/v1', optional: true },
      { anyOf: [{ verb: ['create'], resource: ['pods'], subresource: 'eviction' }, { verb: ['delete'], resource: ['pods'], named: true }], optional: true, repeat: MANY },
      // k8s.io/kubectl/pkg/drain: waitForDelete polls each evicted pod every second (wait.PollImmediate, interval 1 s) until it is gone.
      { verb: ['get'], resource: ['pods'], named: true, optional: true, repeat: MANY, pollMs: 1000 },
    ],
  },
  {
    id: 'describe',
    steps: [
      main(get),
      { ...getSame, optional: true, repeat: 3 },
      { anyOf: [{ verb: ['list'], query: ['labelSelector', 'limit'] }, { verb: ['list'], resource: ['pods'], query: ['fieldSelector', 'limit'] }], optional: true, repeat: 4 },
      { verb: ['list'], resource: ['events'], query: ['fieldSelector'] },
      { anyOf: [{ verb: ['list'], resource: ['events'], query: ['fieldSelector'] }, { verb: ['list'], query: ['labelSelector', 'limit'] }, { verb: ['get'], resource: ['leases'], sameName: true }], optional: true, repeat: 8 },
    ],
  },
  { id: 'rollout undo', ambiguity: 'the revision (--to-revision) is in the request body', steps: [get, { ...getSame, optional: true }, { verb: ['list'], resource: ['replicasets', 'controllerrevisions'], query: ['labelSelector', '!limit'] }, main({ verb: ['patch'], same: true, query: ['!fieldManager'] })] },
  { id: 'rollout history', steps: [main(get), { ...getSame, optional: true }, { verb: ['list'], resource: ['replicasets', 'controllerrevisions'], query: ['labelSelector', '!limit'] }] },
  { id: 'rollout status', steps: [main({ ...get, optional: true }), { verb: ['list'], query: ['fieldSelector', 'resourceVersion=0'] }, { verb: ['watch'], query: ['fieldSelector'], optional: true }] },
  {
    id: 'debug',
    ambiguity: 'the image and target are in the request body',
    steps: [
      { ...get, resource: ['pods'] },
      main({ verb: ['patch', 'update'], subresource: 'ephemeralcontainers', same: true }),
      { verb: ['list'], resource: ['pods'], query: ['fieldSelector'], optional: true },
      { verb: ['watch'], resource: ['pods'], optional: true },
      { role: 'attach', verb: ['get', 'create'], subresource: 'attach', same: true, optional: true, repeat: 2 },
    ],
  },
  {
    id: 'cp to',
    ambiguity: 'the local path is not in the log',
    steps: [
      { ...get, resource: ['pods'] },
      { role: 'test', verb: ['get', 'create'], subresource: 'exec', same: true, query: ['command=test'], optional: true, repeat: 2 },
      { ...getSame, optional: true },
      { role: 'main', verb: ['get', 'create'], subresource: 'exec', same: true, query: ['command=tar', 'stdin=true'], repeat: 2 },
    ],
  },
  { id: 'exec', steps: [{ ...get, resource: ['pods'] }, { role: 'main', verb: ['get', 'create'], subresource: 'exec', same: true, repeat: 3 }] },
  { id: 'exec', steps: [{ role: 'main', verb: ['get', 'create'], subresource: 'exec', named: true, repeat: 3 }] },
  { id: 'attach', steps: [{ ...get, resource: ['pods'] }, { role: 'main', verb: ['get', 'create'], subresource: 'attach', same: true, repeat: 3 }] },
  { id: 'port-forward', ambiguity: 'the ports travel inside the stream', steps: [{ ...get, resource: ['pods'], optional: true, repeat: 2 }, main({ verb: ['get', 'create'], subresource: 'portforward', named: true, repeat: 3 })] },
  { id: 'logs', steps: [{ ...get, resource: ['pods'] }, main({ verb: ['get'], subresource: 'log', same: true })] },
  { id: 'logs', steps: [main({ verb: ['get'], subresource: 'log', named: true })] },
  { id: 'top', steps: [main({ verb: ['list'], apiGroup: 'metrics.k8s.io' }), { verb: ['list'], resource: ['nodes', 'pods'], optional: true }] },
  // kubectl edit: get, the schema (OpenAPI) at once, then the editor (a person's time), then the patch.
  { id: 'edit', steps: [get, openapi, main({ verb: ['patch', 'update'], query: [fm('kubectl-edit')], same: true })] },
  { id: 'edit (opened)', steps: [main(get), { path: '/openapi/*', close: true, repeat: 4 }] },
  { id: 'edit (saved)', steps: [main({ verb: ['patch', 'update'], query: [fm('kubectl-edit')], named: true })] },
  { id: 'scale', ambiguity: 'the replica count is in the request body', steps: [{ ...get, optional: true }, main({ verb: ['patch', 'update'], subresource: 'scale', named: true })] },
  patchedBy('label', 'kubectl-label', 'the labels are in the request body'),
  patchedBy('annotate', 'kubectl-annotate', 'the annotations are in the request body'),
  patchedBy('rollout', 'kubectl-rollout', 'restart, pause and resume make the same patch (fieldManager=kubectl-rollout); the body says which'),
  patchedBy('set', 'kubectl-set', 'set image, env, resources… make the same patch (fieldManager=kubectl-set); the body says which, and what'),
  patchedBy('patch', 'kubectl-patch', 'the patch is in the request body'),
  { id: 'taint', ambiguity: 'the taints are in the request body', steps: [{ ...get, resource: ['nodes'], optional: true }, main({ verb: ['patch'], resource: ['nodes'], query: [fm('kubectl-taint')], named: true })] },
  { id: 'cordon', ambiguity: 'cordon and uncordon make the same patch; the body says which', steps: [{ ...get, resource: ['nodes'] }, main({ verb: ['patch'], resource: ['nodes'], subresource: '', query: ['!fieldManager'], same: true })] },
  { id: 'expose', ambiguity: 'the ports are in the request body', steps: [main(get), { verb: ['create'], resource: ['services'], query: [fm('kubectl-expose')] }] },
  {
    id: 'apply',
    ambiguity: 'the file applied is not in the log',
    steps: [{ seq: [{ ...get, optional: true, close: true }, { verb: ['get'], resource: ['namespaces'], named: true, optional: true, close: true }, main({ verb: ['create', 'patch', 'update'], query: [fm('kubectl-client-side-apply')], close: true })], repeat: MANY }],
  },
  {
    id: 'apply --server-side',
    ambiguity: 'the file applied is not in the log',
    steps: [{ seq: [main({ verb: ['patch'], query: [fm('kubectl')], named: true }), { verb: ['patch'], query: [fm('kubectl-last-applied')], named: true, same: true, optional: true }], repeat: MANY }],
  },
  { id: 'replace', ambiguity: 'the file is not in the log', steps: [{ seq: [{ ...get, optional: true }, main({ verb: ['update'], query: [fm('kubectl-replace')], named: true })], repeat: MANY }] },
  { id: 'create token', steps: [main({ verb: ['create'], resource: ['serviceaccounts'], subresource: 'token', named: true })] },
  { id: 'create', steps: [main({ verb: ['create'], query: [fm('kubectl-create')] }), main({ verb: ['create'], query: [fm('kubectl-create')], close: true, optional: true, repeat: MANY })] },
  {
    id: 'run',
    ambiguity: 'the image and command are in the request body',
    steps: [
      main({ verb: ['create'], resource: ['pods'], query: [fm('kubectl-run')] }),
      { verb: ['list'], resource: ['pods'], query: ['fieldSelector'], optional: true },
      { verb: ['watch'], resource: ['pods'], optional: true },
      { role: 'attach', verb: ['get', 'create'], subresource: 'attach', same: true, optional: true, repeat: 2 },
      { verb: ['delete'], resource: ['pods'], same: true, optional: true },
    ],
  },
  { id: 'delete', steps: [main({ verb: ['delete'], named: true }), main({ verb: ['delete'], named: true, close: true, optional: true, repeat: MANY }), deleteWait] },
  { id: 'delete', steps: [{ role: 'list', verb: ['list'], query: ['!limit', '!includeObject'] }, main({ verb: ['delete'], named: true, repeat: MANY }), deleteWait] },
  { id: 'delete', steps: [main({ verb: ['deletecollection'] }), { verb: ['list'], optional: true, repeat: 20 }] },
  { id: 'auth can-i', ambiguity: 'the question asked is in the request body', steps: [{ path: '/api/v1', optional: true }, main({ verb: ['create'], resource: ['selfsubjectaccessreviews'] })] },
  { id: 'auth can-i --list', ambiguity: 'the namespace asked about is in the request body', steps: [main({ verb: ['create'], resource: ['selfsubjectrulesreviews'] })] },
  { id: 'auth whoami', steps: [main({ verb: ['create'], resource: ['selfsubjectreviews'] })] },
  { id: 'get --watch', steps: [{ verb: ['list'], optional: true }, main({ verb: ['watch'] })] },
  { id: 'get', ambiguity: 'the output format (-o) is not in the log', steps: [main({ verb: ['get'], named: true })] },
  { id: 'get', steps: [main({ verb: ['list'] })] },
];

/**
 * Idle time after which the next call belongs to another kubectl process: kubectl issues a
 * command's calls back to back, while starting a new process takes longer. Measured from the
 * previous call's end (a streaming call: its start) to the next call's receipt.
 */
export const SPLIT_IDLE_MS = 250;

/**
 * Lists of different resources (`kubectl get pods,services`) belong to one command only when they
 * follow each other this closely: one process sends them back to back, a second process takes longer
 * to start. (A user far from the API server may see two such lists split; the `all` category is
 * recognised whatever the pace.)
 */
export const JOIN_IDLE_MS = 30;
