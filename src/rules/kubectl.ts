// kubectl knowledge as data, taken from request sequences of kubectl 1.27–1.33 recorded against a
// stub API server (fixtures/kubectl/sequences.json, tools/record-kubectl.mjs).

/** Discovery and schema calls kubectl makes before a command when its cache is cold. */
export function isDiscoveryPath(path: string): boolean {
  return (
    path === '/api' ||
    path === '/apis' ||
    path === '/version' ||
    path.startsWith('/openapi/') ||
    path.startsWith('/swagger') ||
    /^\/api\/v1$/.test(path) ||
    /^\/apis\/[^/]+\/[^/]+$/.test(path) ||
    /^\/apis\/[^/]+$/.test(path)
  );
}

/** `fieldManager=` values kubectl sets, and the command each reveals. */
export const FIELD_MANAGERS: Readonly<Record<string, string>> = {
  'kubectl-client-side-apply': 'apply',
  kubectl: 'apply --server-side',
  'kubectl-create': 'create',
  'kubectl-label': 'label',
  'kubectl-annotate': 'annotate',
  'kubectl-edit': 'edit',
  'kubectl-rollout': 'rollout',
  'kubectl-set': 'set',
  'kubectl-replace': 'replace',
  'kubectl-patch': 'patch',
  'kubectl-scale': 'scale',
  'kubectl-autoscale': 'autoscale',
  'kubectl-expose': 'expose',
  'kubectl-run': 'run',
  'kubectl-taint': 'taint',
  'kubectl-cordon': 'cordon',
};

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
  if (resource.endsWith('ses') && !resource.endsWith('sses')) return resource.slice(0, -1);
  if (resource.endsWith('s')) return resource.slice(0, -1);
  return resource;
}

/** One call of a signature. `same: true` means the same object as the signature's anchor call. */
export interface Step {
  verb?: string[];
  subresource?: string;
  resource?: string;
  /** Query parameter that must be present (name=value or name). */
  query?: string;
  /** The call must name an object. */
  named?: boolean;
  same?: boolean;
  optional?: boolean;
  repeat?: boolean;
  /** A non-resource path (exact). */
  path?: string;
}

/**
 * A kubectl command as the calls it makes. Tried in order at each position; the first whose steps
 * all match takes the calls. `anchor` is the step whose object the command is about.
 */
export interface Signature {
  id: string;
  steps: Step[];
  anchor: number;
  /** Why the command line cannot be exact, when it cannot. */
  ambiguity?: string;
}

const get: Step = { verb: ['get'], named: true };

export const SIGNATURES: readonly Signature[] = [
  { id: 'describe', anchor: 0, steps: [get, { ...get, same: true, optional: true, repeat: true }, { verb: ['list'], resource: 'events', query: 'fieldSelector' }] },
  { id: 'logs', anchor: 0, steps: [{ ...get, resource: 'pods' }, { verb: ['get'], subresource: 'log', same: true }] },
  { id: 'logs', anchor: 0, steps: [{ verb: ['get'], subresource: 'log', named: true }] },
  { id: 'exec', anchor: 0, steps: [{ ...get, resource: 'pods' }, { verb: ['get', 'create'], subresource: 'exec', same: true, repeat: true }] },
  { id: 'exec', anchor: 0, steps: [{ verb: ['get', 'create'], subresource: 'exec', named: true, repeat: true }] },
  { id: 'attach', anchor: 0, steps: [{ ...get, resource: 'pods' }, { verb: ['get', 'create'], subresource: 'attach', same: true, repeat: true }] },
  { id: 'port-forward', anchor: 0, steps: [{ ...get, resource: 'pods', optional: true }, { verb: ['get', 'create'], subresource: 'portforward', named: true, repeat: true }] },
  { id: 'scale', anchor: 0, steps: [get, { verb: ['patch', 'update'], subresource: 'scale', same: true }], ambiguity: 'the replica count is in the request body, which Metadata-level audit does not keep' },
  { id: 'label', anchor: 0, steps: [{ ...get, optional: true }, { verb: ['patch'], query: 'fieldManager=kubectl-label', named: true }], ambiguity: 'the labels are in the request body' },
  { id: 'annotate', anchor: 0, steps: [{ ...get, optional: true }, { verb: ['patch'], query: 'fieldManager=kubectl-annotate', named: true }], ambiguity: 'the annotations are in the request body' },
  { id: 'rollout', anchor: 0, steps: [{ ...get, optional: true }, { verb: ['patch'], query: 'fieldManager=kubectl-rollout', named: true }], ambiguity: 'restart, undo, pause and resume all patch with fieldManager=kubectl-rollout' },
  { id: 'edit', anchor: 0, steps: [{ ...get, optional: true }, { verb: ['patch', 'update'], query: 'fieldManager=kubectl-edit', named: true }] },
  { id: 'set', anchor: 0, steps: [{ ...get, optional: true }, { verb: ['patch'], query: 'fieldManager=kubectl-set', named: true }], ambiguity: 'set image, set env and set resources all patch with fieldManager=kubectl-set' },
  { id: 'apply', anchor: 0, steps: [{ ...get, optional: true }, { verb: ['get'], resource: 'namespaces', named: true, optional: true }, { verb: ['create', 'patch', 'update'], query: 'fieldManager=kubectl-client-side-apply' }], ambiguity: 'the file applied is not in the log' },
  { id: 'apply', anchor: 0, steps: [{ verb: ['patch'], query: 'fieldManager=kubectl', named: true }], ambiguity: 'the file applied is not in the log' },
  { id: 'create', anchor: 0, steps: [{ verb: ['create'], query: 'fieldManager=kubectl-create' }] },
  { id: 'replace', anchor: 0, steps: [{ verb: ['update'], query: 'fieldManager=kubectl-replace', named: true }] },
  { id: 'delete', anchor: 0, steps: [{ verb: ['delete'], named: true }, { ...get, same: true, optional: true, repeat: true }] },
  { id: 'delete', anchor: 0, steps: [{ verb: ['deletecollection'] }, { verb: ['list'], optional: true, repeat: true }] },
  { id: 'auth can-i', anchor: 1, steps: [{ path: '/api/v1', optional: true }, { verb: ['create'], resource: 'selfsubjectaccessreviews' }], ambiguity: 'the question asked is in the request body' },
  { id: 'auth whoami', anchor: 0, steps: [{ verb: ['create'], resource: 'selfsubjectreviews' }] },
  { id: 'get', anchor: 0, steps: [{ verb: ['get'], named: true }], ambiguity: 'the output format (-o) is not in the log' },
  { id: 'get', anchor: 0, steps: [{ verb: ['list'] }] },
  { id: 'get --watch', anchor: 0, steps: [{ verb: ['watch'] }] },
];
