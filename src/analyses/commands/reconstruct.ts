// Turns the calls of one burst into commands: leading discovery calls join the command that
// follows; signatures (src/rules/kubectl.ts) are matched greedily, never across an idle gap that
// only a new kubectl process explains; the command line is rebuilt from the evidence as an argv,
// POSIX-shell-quoted (src/util/shell.ts), with `…` where the log does not hold what was typed.
import { SIGNATURES, ALL_CATEGORY, CREATE_FORMS, LOG_FLAGS, SPLIT_IDLE_MS, JOIN_IDLE_MS, isDiscoveryPath, singular, type Signature, type Step } from '../../rules/kubectl.js';
import { isClusterScoped } from '../../rules/scope.js';
import { isLongRunning } from '../../rules/longrunning.js';
import { shellQuote } from '../../util/shell.js';
import type { AuditRecord, RequestAttributes } from '../../types.js';

/** One API call of a burst: its authorization attributes and what the command folding needs. */
export interface Call extends RequestAttributes {
  time: string;
  /** requestReceivedTimestamp, epoch ms. */
  startMs: number;
  requestURI: string;
  code: number;
  auditID: string;
  /** watch, exec, attach, port-forward, proxy, logs -f (src/rules/longrunning.ts). */
  longRunning: boolean;
  /** Latency in ms: the completing stage's duration; for a long-running call, until it started streaming (null when the log does not say). */
  latencyMs: number | null;
  /** Long-running calls: receipt to the end of the stream, when the completing stage is in the log; null otherwise. */
  sessionMs: number | null;
  /** End of the call as far as the next call is concerned: a streaming call ends when it starts streaming. */
  endMs: number;
  /** A call that is not long-running and whose completing stage is not in the log: its latency is unknown (null). */
  notCompleted: boolean;
  /** Passed the call filters: a command is shown when one of its calls did. */
  selected: boolean;
  query: URLSearchParams | null;
}

const FINAL = new Set(['ResponseComplete', 'Panic']);

/** A record as a call; `t` is its time (the record's, or where it stood in the input when it had none). */
export function toCall(r: AuditRecord, t: number, selected: boolean): Call {
  const q = r.requestURI.indexOf('?');
  const longRunning = isLongRunning(r);
  // A call that never completed has no latency: its kept stage is RequestReceived (0 ms would be a lie).
  const notCompleted = !longRunning && !FINAL.has(r.stage) && r.stage !== '';
  let latencyMs = notCompleted ? null : r.durationMs;
  let sessionMs: number | null = null;
  if (longRunning) {
    latencyMs = r.stage === 'ResponseStarted' ? r.durationMs : r.responseStartedMs;
    if (FINAL.has(r.stage)) sessionMs = r.durationMs;
  }
  return {
    time: r.time,
    startMs: t,
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
    longRunning,
    latencyMs,
    sessionMs,
    endMs: t + (latencyMs ?? 0),
    notCompleted,
    selected,
    query: q < 0 ? null : new URLSearchParams(r.requestURI.slice(q + 1)),
  };
}

export interface Folded {
  kind: string;
  /** The command line (shell-quoted) or, for other clients' bursts, a summary of their calls. */
  command: string;
  /** The words of a kubectl command line, as a shell splits `command`; [] for other clients. */
  argv: string[];
  ambiguity: string;
  calls: Call[];
  /** The call the command is about: its object, and its status when nothing failed. */
  anchor: Call;
  /** Calls whose failure is part of the command (delete's wait for 404, apply's lookup, discovery of an API the server lacks). */
  probes: Set<Call>;
  /** One half of a `kubectl edit` whose editor stayed open past the burst: the get that opened it, or the patch that saved it. */
  part?: 'opened' | 'saved';
}

// ---------- matching ----------

/** The same object: group, resource, namespace and name. */
export function sameObject(a: Call, b: Call): boolean {
  return a.apiGroup === b.apiGroup && a.resource === b.resource && a.namespace === b.namespace && a.name === b.name;
}

function queryHolds(cond: string, c: Call): boolean {
  if (cond.startsWith('!')) return !c.query?.has(cond.slice(1));
  const eq = cond.indexOf('=');
  if (eq < 0) return c.query?.has(cond) ?? false;
  return c.query?.get(cond.slice(0, eq)) === cond.slice(eq + 1);
}

function stepMatches(step: Step, c: Call, first: Call | null): boolean {
  if (step.anyOf) return step.anyOf.some((s) => stepMatches(s, c, first));
  if (step.path !== undefined) {
    if (c.resource !== '') return false;
    return step.path.endsWith('*') ? c.nonResourceURL.startsWith(step.path.slice(0, -1)) : c.nonResourceURL === step.path;
  }
  if (c.resource === '') return false;
  if (step.verb && !step.verb.includes(c.verb)) return false;
  if (step.resource && !step.resource.includes(c.resource)) return false;
  if (step.apiGroup !== undefined && c.apiGroup !== step.apiGroup) return false;
  if ((step.subresource ?? '') !== c.subresource) return false;
  if (step.named && c.name === '') return false;
  if (first && step.same && !sameObject(first, c)) return false;
  if (first && step.sameName && first.name !== c.name) return false;
  if (step.query) for (const q of step.query) if (!queryHolds(q, c)) return false;
  return true;
}

interface Match {
  end: number;
  roles: Map<string, Call[]>;
  probes: Set<Call>;
}

/** What matching a signature from one position needs. */
interface MatchContext {
  calls: Call[];
  boundary: boolean[];
  /** Where the signature started: no boundary may fall after it. */
  start: number;
  /** The signature's first call (`same` steps compare with it). */
  first: Call | null;
  /** Idle time within which a `close` step's call must follow the previous one. */
  joinMs: number;
  /** Idle time that marks a new process, for this client (a polling step may wait its interval on top). */
  splitMs: number;
  m: Match;
}

/**
 * Matches `steps` from calls[i]; never takes a call after a process boundary. Each step takes as
 * many calls as it may (at most `repeat`): bounded work per position, so a burst folds in linear time.
 */
function matchSteps(steps: readonly Step[], i: number, x: MatchContext): number | null {
  let j = i;
  for (const step of steps) {
    let n = 0;
    const max = step.repeat ?? 1;
    while (n < max && j < x.calls.length && !(j > x.start && x.boundary[j] && !(step.pollMs && x.calls[j]!.startMs - x.calls[j - 1]!.endMs <= step.pollMs + x.splitMs))) {
      if (step.seq) {
        const k = matchSteps(step.seq, j, x);
        if (k === null || k === j) break;
        j = k;
      } else {
        const c = x.calls[j]!;
        if (!stepMatches(step, c, x.first)) break;
        if (step.close && j > x.start && c.startMs - x.calls[j - 1]!.endMs > x.joinMs) break;
        x.first ??= c;
        if (step.role) {
          const list = x.m.roles.get(step.role);
          if (list) list.push(c);
          else x.m.roles.set(step.role, [c]);
        }
        // Calls of optional and same-object steps may fail as part of the command (404 lookups, waits).
        if (step.same || step.optional || step.sameName) x.m.probes.add(c);
        j++;
      }
      n++;
    }
    if (n === 0 && !step.optional) return null;
  }
  return j;
}

function tryMatch(sig: Signature, calls: Call[], i: number, boundary: boolean[], pace: Pace): Match | null {
  const m: Match = { end: i, roles: new Map(), probes: new Set() };
  const end = matchSteps(sig.steps, i, { calls, boundary, start: i, first: null, joinMs: joinIdleMs(pace), splitMs: splitIdleMs(pace), m });
  if (end === null || end === i) return null;
  m.end = end;
  return m;
}

/**
 * How a client paces its calls: the typical idle time (ms) between one call's answer and the next
 * call of the same kubectl process, measured on its earlier commands (null before any). It is about
 * one network round trip: a user far from the API server waits longer between calls, and a new
 * process (start-up, then a TCP and a TLS handshake) longer still.
 */
export type Pace = number | null;

/** Idle time after which the next call is another process, for a client of this pace. */
export function splitIdleMs(pace: Pace): number {
  return Math.max(SPLIT_IDLE_MS, 3 * (pace ?? 0));
}

/** Idle time within which independent calls (lists of `get a,b`) are one process, for a client of this pace. */
export function joinIdleMs(pace: Pace): number {
  return Math.max(JOIN_IDLE_MS, 1.5 * (pace ?? 0));
}

/** boundary[j]: calls[j] starts after an idle gap only a new kubectl process explains. */
function boundaries(calls: Call[], pace: Pace): boolean[] {
  const b = new Array<boolean>(calls.length).fill(false);
  const split = splitIdleMs(pace);
  let end = -Infinity;
  for (let j = 0; j < calls.length; j++) {
    const c = calls[j]!;
    if (j > 0) b[j] = c.startMs - end > split;
    // Calls may overlap (kubectl sends some in parallel): the idle gap is after the latest end so far.
    if (c.endMs > end || j === 0) end = Math.max(c.endMs, c.startMs);
  }
  return b;
}

// ---------- command lines ----------

/** A word of a rebuilt line: text from the log (quoted when written), or a placeholder for what the log lacks. */
type Word = string | { unknown: string };
const UNKNOWN: Word = { unknown: '…' };
const unknownValue = (flag: string): Word => ({ unknown: `${flag}=…` });

function render(words: Word[]): { command: string; argv: string[] } {
  return {
    command: words.map((w) => (typeof w === 'string' ? shellQuote(w) : w.unknown)).join(' '),
    argv: words.map((w) => (typeof w === 'string' ? w : w.unknown)),
  };
}

function nsWords(c: Call, list: boolean): string[] {
  if (c.namespace && c.resource !== 'namespaces') return ['-n', c.namespace];
  if (list && !isClusterScoped(c.apiGroup, c.resource) && c.resource !== 'namespaces') return ['-A'];
  return [];
}

function selectorWords(c: Call): string[] {
  const out: string[] = [];
  const l = c.query?.get('labelSelector');
  const f = c.query?.get('fieldSelector');
  if (l) out.push('-l', l);
  if (f) out.push('--field-selector', f);
  return out;
}

/** `KIND NAME -n NS` of a named call. */
function objectWords(c: Call): string[] {
  return [singular(c.resource), c.name, ...nsWords(c, false)];
}

function containerWords(c: Call): string[] {
  const name = c.query?.get('container');
  return name ? ['-c', name] : [];
}

function streamFlags(c: Call): string[] {
  const stdin = c.query?.get('stdin') === 'true';
  const tty = c.query?.get('tty') === 'true';
  return stdin && tty ? ['-it'] : stdin ? ['-i'] : tty ? ['-t'] : [];
}

function one(roles: Map<string, Call[]>, role: string): Call | undefined {
  return roles.get(role)?.[0];
}

/** What a signature's calls let one write back: the words of the line, and the kind it turns out to be. */
function lineFor(id: string, a: Call, roles: Map<string, Call[]>): { kind: string; words: Word[]; ambiguity?: string } {
  const k = (words: Word[], kind = id, ambiguity?: string) => ({ kind, words, ...(ambiguity !== undefined ? { ambiguity } : {}) });
  switch (id) {
    case 'get': {
      if (a.name) return k(['kubectl', 'get', ...objectWords(a)]);
      const lists = roles.get('main') ?? [a];
      const names = lists.length > 1 && lists.length === ALL_CATEGORY.size && lists.every((c) => ALL_CATEGORY.has(c.resource)) ? 'all' : lists.map((c) => c.resource).join(',');
      return k(['kubectl', 'get', names, ...nsWords(a, true), ...selectorWords(a)]);
    }
    case 'get --watch':
      return k(['kubectl', 'get', a.resource, ...(a.name ? [a.name] : []), ...nsWords(a, true), ...selectorWords(a), '-w'], 'get');
    case 'describe':
      return k(['kubectl', 'describe', ...objectWords(a)]);
    case 'logs': {
      const words: Word[] = ['kubectl', 'logs', a.name, ...nsWords(a, false), ...containerWords(a)];
      for (const f of LOG_FLAGS) {
        const v = a.query?.get(f.param);
        if (v === null || v === undefined || v === 'false') continue;
        if (f.value) words.push(`${f.flag}=${f.param === 'sinceSeconds' ? `${v}s` : v}`);
        else words.push(f.flag);
      }
      return k(words);
    }
    case 'exec': {
      const argv = a.query?.getAll('command') ?? [];
      // kubectl cp from a pod runs `tar cf - PATH` in it.
      if (argv[0] === 'tar' && argv[1] === 'cf' && argv[2] === '-' && argv.length === 4 && !a.query?.get('stdin')) {
        return k(['kubectl', 'cp', `${a.namespace ? `${a.namespace}/` : ''}${a.name}:${argv[3]}`, UNKNOWN, ...containerWords(a)], 'cp', 'the local path is not in the log (or: kubectl exec … -- tar cf - PATH)');
      }
      return k(['kubectl', 'exec', ...streamFlags(a), a.name, ...nsWords(a, false), ...containerWords(a), ...(argv.length ? ['--', ...argv] : [])]);
    }
    case 'cp to': {
      const test = one(roles, 'test')?.query?.getAll('command') ?? [];
      const tar = a.query?.getAll('command') ?? [];
      const dir = tar[tar.indexOf('-C') + 1] ?? '';
      const dest = test[0] === 'test' && test[1] === '-d' && test[2] ? test[2] : dir;
      return k(['kubectl', 'cp', UNKNOWN, `${a.namespace ? `${a.namespace}/` : ''}${a.name}:${dest}`, ...containerWords(a)], 'cp');
    }
    case 'attach':
      return k(['kubectl', 'attach', ...streamFlags(a), a.name, ...nsWords(a, false), ...containerWords(a)]);
    case 'port-forward':
      return k(['kubectl', 'port-forward', `${singular(a.resource)}/${a.name}`, ...nsWords(a, false), UNKNOWN]);
    case 'debug': {
      const attach = one(roles, 'attach');
      return k(['kubectl', 'debug', ...(attach ? streamFlags(attach) : []), a.name, ...nsWords(a, false), UNKNOWN]);
    }
    case 'top':
      return k(['kubectl', 'top', a.resource, ...(a.resource === 'nodes' ? [] : nsWords(a, true))]);
    case 'scale':
      return k(['kubectl', 'scale', ...objectWords(a), unknownValue('--replicas')]);
    case 'label':
    case 'annotate':
    case 'patch':
      return k(['kubectl', id, ...objectWords(a), UNKNOWN]);
    case 'edit':
      return k(['kubectl', 'edit', ...objectWords(a)]);
    case 'edit (opened)':
      return k(['kubectl', 'edit', ...objectWords(a)], 'edit', 'no change saved in this burst (the edit was cancelled, or saved later: see the next patch with fieldManager=kubectl-edit)');
    case 'edit (saved)':
      return k(['kubectl', 'edit', ...objectWords(a)], 'edit', 'the get that opened the editor is not in the log before this patch');
    case 'rollout':
      return k(['kubectl', 'rollout', UNKNOWN, ...objectWords(a)]);
    case 'rollout undo':
    case 'rollout history':
    case 'rollout status':
      return k(['kubectl', ...id.split(' '), ...objectWords(a)]);
    case 'set':
      return k(['kubectl', 'set', UNKNOWN, ...objectWords(a), UNKNOWN]);
    case 'taint':
      return k(['kubectl', 'taint', a.resource, a.name, UNKNOWN]);
    case 'cordon':
      return k(['kubectl', { unknown: 'cordon/uncordon' }, a.name]);
    case 'drain':
      return k(['kubectl', 'drain', a.name, UNKNOWN]);
    case 'expose':
      return k(['kubectl', 'expose', ...objectWords(a), UNKNOWN]);
    case 'apply':
    case 'apply --server-side':
    case 'replace': {
      const objects = (roles.get('main') ?? [a]).map((c) => `${singular(c.resource)}/${c.name}${c.namespace && c.resource !== 'namespaces' ? ` -n ${c.namespace}` : ''}`);
      const dry = a.query?.get('dryRun') === 'All' ? ['--dry-run=server'] : [];
      const why = `the file is not in the log; it held ${objects.join(', ')}`;
      return k(['kubectl', ...id.split(' '), ...dry, '-f', UNKNOWN], id, why);
    }
    case 'create token':
      return k(['kubectl', 'create', 'token', a.name, ...nsWords(a, false)]);
    case 'create': {
      const writes = roles.get('main') ?? [a];
      const dry = a.query?.get('dryRun') === 'All' ? ['--dry-run=server'] : [];
      const form = CREATE_FORMS[a.resource];
      if (writes.length > 1 || !form) {
        const objects = writes.map((c) => `${singular(c.resource)}/${c.name}`);
        return k(['kubectl', 'create', ...dry, '-f', UNKNOWN], 'create', `the file is not in the log; it held ${objects.join(', ')}`);
      }
      const words: Word[] = ['kubectl', 'create', ...form.words.map((w) => (w === '…' ? UNKNOWN : w)), a.name, ...nsWords(a, false), ...dry];
      if (form.flags) words.push(UNKNOWN);
      return k(words, 'create', form.flags || form.words.includes('…') ? `create -f FILE makes the same call; ${form.words.includes('…') ? 'the type and ' : ''}the content${form.flags ? ' (flags)' : ''} are in the request body` : 'create -f FILE makes the same call');
    }
    case 'run':
      return k(['kubectl', 'run', ...(one(roles, 'attach') ? streamFlags(one(roles, 'attach')!) : []), a.name, ...nsWords(a, false), UNKNOWN]);
    case 'delete': {
      const list = one(roles, 'list');
      const deleted = roles.get('main') ?? [a];
      if (a.verb === 'deletecollection') return k(['kubectl', 'delete', a.resource, ...nsWords(a, true), ...(selectorWords(a).length ? selectorWords(a) : ['--all'])]);
      if (list) return k(['kubectl', 'delete', list.resource, ...nsWords(list, true), ...(selectorWords(list).length ? selectorWords(list) : ['--all'])]);
      const names = deleted.filter((c) => c.resource === a.resource && c.namespace === a.namespace).map((c) => c.name);
      return k(['kubectl', 'delete', singular(a.resource), ...names, ...nsWords(a, false)], 'delete', names.length < deleted.length ? 'the objects deleted are of several kinds (delete -f FILE?)' : undefined);
    }
    case 'auth can-i':
      return k(['kubectl', 'auth', 'can-i', UNKNOWN]);
    case 'auth can-i --list':
      return k(['kubectl', 'auth', 'can-i', '--list', UNKNOWN]);
    case 'auth whoami':
      return k(['kubectl', 'auth', 'whoami']);
    default:
      return k([]);
  }
}

/** The line of a call no signature explains: its verb and what it acted on (not a command line). */
function describeCall(c: Call): string {
  return `${c.verb} ${c.resource ? `${c.resource}${c.subresource ? `/${c.subresource}` : ''}` : c.nonResourceURL}`;
}

/** Discovery with nothing after it: `kubectl version`, `api-resources`, `api-versions`, or a command that stopped early. */
function discoveryAlone(calls: Call[]): Folded {
  const onlyVersion = calls.every((c) => c.nonResourceURL === '/version');
  const words: Word[] = onlyVersion ? ['kubectl', 'version'] : ['kubectl', 'api-resources'];
  const ambiguity = onlyVersion ? '' : 'discovery alone: api-resources, api-versions, or a command that stopped after discovery';
  return { kind: onlyVersion ? 'version' : 'discovery', ...render(words), ambiguity, calls, anchor: calls[0]!, probes: new Set(calls) };
}

/**
 * Splits one kubectl burst (calls in time order) into commands. `pace` is the client's pace so far;
 * `observe` receives the idle gaps between consecutive calls inside each command found (the pace
 * of this client, for the next bursts).
 */
export function foldKubectl(calls: Call[], pace: Pace = null, observe?: (idleMs: number) => void): Folded[] {
  const out: Folded[] = [];
  let pending: Call[] = []; // discovery waiting for the command it precedes
  const boundary = boundaries(calls, pace);
  const flushDiscovery = (): void => {
    if (!pending.length) return;
    out.push(discoveryAlone(pending));
    pending = [];
  };
  let i = 0;
  while (i < calls.length) {
    const c = calls[i]!;
    if (boundary[i]) flushDiscovery();
    if (c.resource === '' && isDiscoveryPath(c.nonResourceURL)) {
      pending.push(c);
      i++;
      continue;
    }
    let matched: Folded | null = null;
    for (const sig of SIGNATURES) {
      const m = tryMatch(sig, calls, i, boundary, pace);
      if (!m) continue;
      let end = m.end;
      if (sig.id === 'get' && c.verb === 'list') end = joinLists(calls, i, end, boundary, m, joinIdleMs(pace));
      const own = calls.slice(i, end);
      if (observe) for (let k = 1; k < own.length; k++) if (own[k]!.startMs >= own[k - 1]!.endMs) observe(own[k]!.startMs - own[k - 1]!.endMs);
      const anchor = m.roles.get('main')?.[0] ?? own[0]!;
      for (const d of pending) m.probes.add(d); // a discovery 404 (an API the server lacks) is not the command failing
      const line = lineFor(sig.id, anchor, m.roles);
      const ambiguity = line.ambiguity ?? sig.ambiguity ?? '';
      matched = line.words.length
        ? { kind: line.kind, ...render(line.words), ambiguity, calls: [...pending, ...own], anchor, probes: m.probes, ...(sig.id === 'edit (opened)' ? { part: 'opened' as const } : sig.id === 'edit (saved)' ? { part: 'saved' as const } : {}) }
        : { kind: 'request', command: describeCall(anchor), argv: [], ambiguity: 'no known kubectl command makes these calls', calls: [...pending, ...own], anchor, probes: m.probes };
      i = end;
      break;
    }
    if (!matched) {
      matched = { kind: 'request', command: describeCall(c), argv: [], ambiguity: 'no known kubectl command makes this call alone', calls: [...pending, c], anchor: c, probes: new Set() };
      i++;
    }
    pending = [];
    out.push(matched);
  }
  flushDiscovery();
  return out;
}

/**
 * `kubectl get pods,services`: lists that follow the first one within the join idle time, in the same
 * namespace with the same selectors, join it; so does the run of lists `kubectl get all` makes.
 */
function joinLists(calls: Call[], i: number, end: number, boundary: boolean[], m: Match, joinMs: number): number {
  const first = calls[i]!;
  const like = (c: Call): boolean => c.verb === 'list' && c.namespace === first.namespace && c.query?.get('labelSelector') === first.query?.get('labelSelector') && c.query?.get('fieldSelector') === first.query?.get('fieldSelector');
  // The `all` category: exactly its resources, each once, one process (no boundary).
  if (ALL_CATEGORY.has(first.resource)) {
    const seen = new Set<string>([first.resource]);
    let j = end;
    while (j < calls.length && !boundary[j] && like(calls[j]!) && ALL_CATEGORY.has(calls[j]!.resource) && !seen.has(calls[j]!.resource)) seen.add(calls[j++]!.resource);
    if (seen.size === ALL_CATEGORY.size) {
      for (let k = end; k < j; k++) m.roles.get('main')!.push(calls[k]!);
      return j;
    }
  }
  let j = end;
  while (j < calls.length && !boundary[j] && like(calls[j]!) && calls[j]!.startMs - calls[j - 1]!.endMs <= joinMs && !calls.slice(i, j).some((c) => c.resource === calls[j]!.resource)) {
    m.roles.get('main')!.push(calls[j]!);
    j++;
  }
  return j;
}

/** A non-kubectl burst: one entry labelled with its client and what it did. */
export function foldBurst(calls: Call[], client: string): Folded {
  const counts = new Map<string, number>();
  for (const c of calls) {
    const what = describeCall(c);
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const parts = top.slice(0, 3).map(([w, n]) => (n > 1 ? `${w} ×${n}` : w));
  if (top.length > 3) parts.push(`+${top.length - 3} more`);
  return { kind: 'burst', command: `${client || 'unknown client'}: ${parts.join(', ')}`, argv: [], ambiguity: '', calls, anchor: calls[0]!, probes: new Set() };
}
