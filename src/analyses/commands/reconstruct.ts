// Turns the calls of one burst into commands: leading discovery calls join the command that
// follows; signatures (src/rules/kubectl.ts) are matched greedily; the command line is rebuilt
// from the evidence, and says so where the evidence is ambiguous.
import { SIGNATURES, isDiscoveryPath, singular, type Signature, type Step } from '../../rules/kubectl.js';
import { isClusterScoped } from '../../rules/scope.js';
import { isLongRunning } from '../../rules/longrunning.js';
import type { AuditRecord, RequestAttributes } from '../../types.js';

/** One API call of a burst: its authorization attributes and what the command folding needs. */
export interface Call extends RequestAttributes {
  time: string;
  startMs: number;
  durationMs: number | null;
  requestURI: string;
  code: number;
  auditID: string;
  longRunning: boolean;
  query: URLSearchParams | null;
}

export function toCall(r: AuditRecord): Call {
  const q = r.requestURI.indexOf('?');
  return {
    time: r.time,
    startMs: r.timeMs,
    durationMs: r.durationMs,
    verb: r.verb,
    apiGroup: r.apiGroup,
    resource: r.resource,
    subresource: r.subresource,
    namespace: r.namespace,
    name: r.name,
    nonResourceURL: r.nonResourceURL,
    requestURI: r.requestURI,
    code: r.code,
    auditID: r.auditID,
    longRunning: isLongRunning(r),
    query: q < 0 ? null : new URLSearchParams(r.requestURI.slice(q + 1)),
  };
}

export interface Folded {
  kind: string;
  command: string;
  ambiguity: string;
  calls: Call[];
  /** The call the command is about. */
  anchor: Call;
  /** Calls whose failure is part of the command (delete's wait for 404, apply's lookup). */
  probes: Set<Call>;
}

function sameObject(a: Call, b: Call): boolean {
  return a.apiGroup === b.apiGroup && a.resource === b.resource && a.namespace === b.namespace && a.name === b.name;
}

function queryMatches(step: Step, c: Call): boolean {
  if (!step.query) return true;
  const eq = step.query.indexOf('=');
  if (!c.query) return false;
  if (eq < 0) return c.query.has(step.query);
  return c.query.get(step.query.slice(0, eq)) === step.query.slice(eq + 1);
}

function stepMatches(step: Step, c: Call, anchor: Call | null): boolean {
  if (step.path !== undefined) return c.resource === '' && c.nonResourceURL === step.path;
  if (c.resource === '') return false;
  if (step.verb && !step.verb.includes(c.verb)) return false;
  if (step.resource !== undefined && c.resource !== step.resource) return false;
  if ((step.subresource ?? '') !== c.subresource) return false;
  if (step.named && c.name === '') return false;
  if (step.same && anchor && !sameObject(anchor, c)) return false;
  return queryMatches(step, c);
}

/**
 * Idle time after which the next call belongs to another kubectl process: kubectl issues a command's
 * calls back to back, while starting a new process takes longer. Measured from the previous call's
 * end to the next call's start.
 */
export const SPLIT_IDLE_MS = 250;

function boundaries(calls: Call[]): boolean[] {
  const b = new Array<boolean>(calls.length).fill(false);
  for (let j = 1; j < calls.length; j++) {
    const p = calls[j - 1]!;
    const end = p.longRunning ? p.startMs : p.startMs + (p.durationMs ?? 0);
    b[j] = calls[j]!.startMs - end > SPLIT_IDLE_MS;
  }
  return b;
}

function tryMatch(sig: Signature, calls: Call[], i: number, boundary: boolean[]): { end: number; anchor: Call; probes: Set<Call> } | null {
  let j = i;
  let first: Call | null = null; // `same` steps refer to the signature's first call
  let anchor: Call | null = null;
  const probes = new Set<Call>();
  for (let s = 0; s < sig.steps.length; s++) {
    const step = sig.steps[s]!;
    let n = 0;
    while (j < calls.length && !(j > i && boundary[j]) && stepMatches(step, calls[j]!, first)) {
      const c = calls[j]!;
      first ??= c;
      if (s === sig.anchor && anchor === null) anchor = c;
      // Calls of optional and repeated same-object steps may fail as part of the command (404 lookups, waits).
      if (step.same || step.optional) probes.add(c);
      j++;
      n++;
      if (!step.repeat) break;
    }
    if (n === 0 && !step.optional) return null;
  }
  if (j === i) return null;
  return { end: j, anchor: anchor ?? first!, probes };
}

function nsFlag(c: Call, list: boolean): string {
  if (c.namespace && !(c.resource === 'namespaces')) return ` -n ${c.namespace}`;
  if (list && !isClusterScoped(c.apiGroup, c.resource)) return ' -A';
  return '';
}

function kindOf(c: Call): string {
  return singular(c.resource);
}

function selectors(c: Call): string {
  let s = '';
  const l = c.query?.get('labelSelector');
  const f = c.query?.get('fieldSelector');
  if (l) s += ` -l ${l}`;
  if (f) s += ` --field-selector ${f}`;
  return s;
}

/** The most likely command line for a matched signature. */
export function commandLine(kind: string, a: Call, calls: Call[]): string {
  const named = `${kindOf(a)} ${a.name}${nsFlag(a, false)}`;
  switch (kind) {
    case 'get':
      return a.name ? `kubectl get ${named}` : `kubectl get ${a.resource}${nsFlag(a, true)}${selectors(a)}`;
    case 'get --watch':
      return `kubectl get ${a.resource}${a.name ? ` ${a.name}` : ''}${nsFlag(a, true)}${selectors(a)} --watch`;
    case 'describe':
      return `kubectl describe ${named}`;
    case 'logs': {
      const log = calls.find((c) => c.subresource === 'log') ?? a;
      let s = `kubectl logs ${a.name}${nsFlag(a, false)}`;
      if (log.query?.get('follow') === 'true') s += ' -f';
      if (log.query?.get('previous') === 'true') s += ' -p';
      const tail = log.query?.get('tailLines');
      if (tail) s += ` --tail=${tail}`;
      return s;
    }
    case 'exec': {
      const x = calls.find((c) => c.subresource === 'exec') ?? a;
      const it = x.query?.get('stdin') === 'true' ? (x.query?.get('tty') === 'true' ? ' -it' : ' -i') : '';
      const cmd = x.query?.getAll('command') ?? [];
      return `kubectl exec${it} ${a.name}${nsFlag(a, false)}${cmd.length ? ` -- ${cmd.join(' ')}` : ''}`;
    }
    case 'attach':
      return `kubectl attach ${a.name}${nsFlag(a, false)}`;
    case 'port-forward':
      return `kubectl port-forward ${kindOf(a)}/${a.name}${nsFlag(a, false)}`;
    case 'scale':
      return `kubectl scale ${named} --replicas=N`;
    case 'label':
    case 'annotate':
    case 'edit':
      return `kubectl ${kind} ${named}${kind === 'edit' ? '' : ' …'}`;
    case 'rollout':
      return `kubectl rollout restart ${named}`;
    case 'set':
      return `kubectl set image ${named} …`;
    case 'apply':
      return `kubectl apply -f <${kindOf(a)}/${a.name || '…'}>${nsFlag(a, false)}`;
    case 'create':
      return `kubectl create ${kindOf(a)}${a.name ? ` ${a.name}` : ''}${nsFlag(a, false)}`;
    case 'replace':
      return `kubectl replace -f <${kindOf(a)}/${a.name}>${nsFlag(a, false)}`;
    case 'delete':
      return a.name ? `kubectl delete ${named}` : `kubectl delete ${a.resource} --all${nsFlag(a, false)}`;
    case 'auth can-i':
      return 'kubectl auth can-i …';
    case 'auth whoami':
      return 'kubectl auth whoami';
    default:
      return `${a.verb} ${a.resource ? `${a.resource}${a.subresource ? `/${a.subresource}` : ''}` : a.nonResourceURL}`;
  }
}

/** Splits one kubectl burst into commands. */
export function foldKubectl(calls: Call[]): Folded[] {
  const out: Folded[] = [];
  let pending: Call[] = []; // discovery waiting for the command it precedes
  const boundary = boundaries(calls);
  const flushDiscovery = (): void => {
    if (!pending.length) return;
    // Discovery with nothing after it: `kubectl api-resources`, `api-versions`, or a command that failed early.
    out.push({ kind: 'discovery', command: 'kubectl api-resources', ambiguity: 'discovery alone: api-resources, api-versions, or a command that stopped early', calls: pending, anchor: pending[0]!, probes: new Set() });
    pending = [];
  };
  let i = 0;
  while (i < calls.length) {
    const c = calls[i]!;
    if (boundary[i]) flushDiscovery();
    if (c.resource === '' && isDiscoveryPath(c.nonResourceURL) && !(c.nonResourceURL === '/api/v1' && calls[i + 1]?.resource === 'selfsubjectaccessreviews')) {
      pending.push(c);
      i++;
      continue;
    }
    let matched: Folded | null = null;
    for (const sig of SIGNATURES) {
      const m = tryMatch(sig, calls, i, boundary);
      if (!m) continue;
      const own = calls.slice(i, m.end);
      for (const d of pending) m.probes.add(d); // a discovery 404 (an API the server lacks) is not the command failing
      matched = { kind: sig.id, command: commandLine(sig.id, m.anchor, own), ambiguity: sig.ambiguity ?? '', calls: [...pending, ...own], anchor: m.anchor, probes: m.probes };
      i = m.end;
      break;
    }
    if (!matched) {
      matched = { kind: 'request', command: commandLine('request', c, [c]), ambiguity: 'no known kubectl command makes this call alone', calls: [...pending, c], anchor: c, probes: new Set() };
      i++;
    }
    pending = [];
    out.push(matched);
  }
  flushDiscovery();
  return out;
}

/** A non-kubectl burst: one entry labelled with its client and what it did. */
export function foldBurst(calls: Call[], client: string): Folded {
  const counts = new Map<string, number>();
  for (const c of calls) {
    const what = `${c.verb} ${c.resource ? `${c.resource}${c.subresource ? `/${c.subresource}` : ''}` : c.nonResourceURL}`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const parts = top.slice(0, 3).map(([w, n]) => (n > 1 ? `${w} ×${n}` : w));
  if (top.length > 3) parts.push(`+${top.length - 3} more`);
  return { kind: 'burst', command: `${client || 'unknown client'}: ${parts.join(', ')}`, ambiguity: '', calls, anchor: calls[0]!, probes: new Set() };
}
