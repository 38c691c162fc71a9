// `audit view`: the report behind the browser page. A reducer keeps the newest `maxRows` filtered
// requests (a min-heap on time, so memory is bounded by the cap whatever the input's size) and, at
// finish, folds them into commands with the same CommandFolder as `audit commands`. The report is
// canonical JSON: the records in log order (the order `audit export` writes them), the commands
// with the rows of their calls, per-row flags for the page's toggles, and the accounting.
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { CommandFolder, DEFAULT_FOLD, type CommandRecord, type FoldOptions } from '../commands/fold.js';
import { WRITE_VERBS } from '../../rules/verbs.js';
import { classifySubject } from '../../normalize/subject.js';
import { FLAG } from './flags.js';
import { TimeReorder, DEFAULT_REORDER, type ReorderOptions } from '../../order/reorder.js';

/** Rows the page keeps unless `--max-rows` says otherwise. */
export const DEFAULT_MAX_ROWS = 500_000;

export { FLAG };

/**
 * Whether a person made the request: the effective subject is a User (not a service account, node,
 * anonymous or system component; classifySubject in src/normalize/subject.ts), or a User
 * impersonated someone (the person behind `kubectl --as`).
 */
export function byPerson(r: AuditRecord): boolean {
  if (r.subjectKind === 'User') return true;
  return r.impersonator !== '' && classifySubject(r.impersonator).kind === 'User';
}

/** The page's flags of one request (FLAG bits). */
export function rowFlags(r: AuditRecord): number {
  let f = 0;
  if (r.decision === 'forbid') f |= FLAG.denied;
  else if (r.code >= 400) f |= FLAG.failed;
  if (WRITE_VERBS.has(r.verb)) f |= FLAG.write;
  if (byPerson(r)) f |= FLAG.human;
  return f;
}

export interface ViewOptions {
  /** Keep at most this many requests: the newest by time (ties: the later in the log). */
  maxRows: number;
  /** Folding, as `audit commands` (--gap). */
  fold: FoldOptions;
  /** The time order the folder gets its calls in, as `audit commands` (--order-window). */
  reorder: ReorderOptions;
}

export const DEFAULT_VIEW: ViewOptions = { maxRows: DEFAULT_MAX_ROWS, fold: { ...DEFAULT_FOLD, keepCalls: false }, reorder: DEFAULT_REORDER };

interface Kept {
  r: AuditRecord;
  /** Position in the input (log order), across merged states. */
  seq: number;
  /** timeMs, or -Infinity when the event had no time (such rows are the first to go). */
  t: number;
}

export interface ViewState {
  options: ViewOptions;
  /** Min-heap on (t, seq): the root is the row to drop next. */
  heap: Kept[];
  /** Records seen (kept + dropped). */
  seen: number;
  /** Shared copies of repeated strings and group lists (cleared when they outgrow maxRows entries). */
  strings: Map<string, string>;
  groups: Map<string, string[]>;
}

/** String fields whose values repeat from request to request (not auditID, time or requestURI). */
const REPEATED: readonly (keyof AuditRecord)[] = [
  'cluster', 'stage', 'level', 'subject', 'subjectNamespace', 'subjectName', 'impersonator', 'principal', 'verb', 'apiGroup',
  'apiVersion', 'resource', 'subresource', 'namespace', 'name', 'nonResourceURL', 'sourceIP', 'userAgent', 'client', 'clientVersion', 'provider',
];

function intern(s: ViewState, r: AuditRecord): void {
  const m = s.strings;
  if (m.size > s.options.maxRows) m.clear();
  const rec = r as unknown as Record<string, unknown>;
  for (let i = 0; i < REPEATED.length; i++) {
    const f = REPEATED[i]!;
    const v = rec[f];
    if (typeof v !== 'string' || v === '') continue;
    const shared = m.get(v);
    if (shared === undefined) m.set(v, v);
    else rec[f] = shared;
  }
  const g = r.groups;
  if (Array.isArray(g)) {
    const key = JSON.stringify(g);
    const shared = s.groups.get(key);
    if (shared !== undefined) r.groups = shared;
    else {
      if (s.groups.size > s.options.maxRows) s.groups.clear();
      s.groups.set(key, g);
    }
  }
}

function older(a: Kept, b: Kept): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

function siftUp(h: Kept[], i: number): void {
  const x = h[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!older(x, h[p]!)) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = x;
}

function siftDown(h: Kept[], i: number): void {
  const n = h.length;
  const x = h[i]!;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const m = r < n && older(h[r]!, h[l]!) ? r : l;
    if (!older(h[m]!, x)) break;
    h[i] = h[m]!;
    i = m;
  }
  h[i] = x;
}

function keep(s: ViewState, k: Kept): void {
  const h = s.heap;
  if (h.length < s.options.maxRows) {
    h.push(k);
    siftUp(h, h.length - 1);
  } else if (h.length > 0 && older(h[0]!, k)) {
    h[0] = k;
    siftDown(h, 0);
  }
}

/** A command of the page: `audit commands -o json`'s object, plus the rows (indices into `records`) of its calls. */
export interface ViewCommand extends CommandRecord {
  rows: number[];
  /** FLAG bits: denied if a call was denied, failed if the command's status is 400 or more, write if a call wrote, human as its first call. */
  flags: number;
}

export interface ViewReport {
  kind: 'kaudit.view';
  version: 1;
  summary: {
    /** Requests in the page. */
    calls: number;
    commands: number;
    /** Requests that matched the command-line filters (kept + left out). */
    matched: number;
    /** The oldest requests left out by the cap. */
    leftOut: number;
    maxRows: number;
    /** First and last request time in the page ('' when none). */
    first: string;
    last: string;
    denied: number;
    failed: number;
  };
  /** The command line that made the report, as given (shown on the page). */
  command: string[];
  /** The requests, in log order (as `audit export` writes them). */
  records: AuditRecord[];
  /** FLAG bits per record. */
  flags: number[];
  /** Commands in start order, as `audit commands` emits them. */
  commands: ViewCommand[];
  input: InputAccounting;
}

export interface ViewFinishContext extends FinishContext {
  /** The command line, for the page's header. */
  command?: string[];
}

/**
 * The view reducer. `add` is O(log maxRows); memory holds at most `maxRows` records. `merge(a, b)`
 * expects `b` to hold the input that follows `a`'s. `finish` folds commands over the kept rows in
 * log order, so the commands are those `audit commands` gives for the same filters whenever the cap
 * left nothing out.
 */
export const view = {
  init(options: ViewOptions): ViewState {
    if (!Number.isInteger(options.maxRows) || options.maxRows <= 0) throw new RangeError(`maxRows must be a positive integer, got ${options.maxRows}`);
    return { options, heap: [], seen: 0, strings: new Map(), groups: new Map() };
  },
  add(s: ViewState, r: AuditRecord): void {
    const k: Kept = { r, seq: s.seen++, t: Number.isFinite(r.timeMs) ? r.timeMs : -Infinity };
    const h = s.heap;
    if (h.length >= s.options.maxRows && !older(h[0]!, k)) return;
    // The record is ours from here (the pipeline hands each one over once): drop its bodies, which
    // the page neither shows nor exports, and share repeated strings, so that the kept rows take a
    // third of the memory.
    if (r.requestObject !== undefined) r.requestObject = undefined;
    if (r.responseObject !== undefined) r.responseObject = undefined;
    intern(s, r);
    keep(s, k);
  },
  merge(a: ViewState, b: ViewState): ViewState {
    for (const k of b.heap) keep(a, { ...k, seq: k.seq + a.seen });
    a.seen += b.seen;
    return a;
  },
  finish(s: ViewState, ctx: ViewFinishContext): ViewReport {
    const kept = [...s.heap].sort((x, y) => x.seq - y.seq);
    const records = kept.map((k) => k.r);
    const flags = records.map(rowFlags);
    const commands = foldRows(kept, flags, s.options.fold, s.options.reorder);
    let denied = 0;
    let failed = 0;
    for (const f of flags) {
      if (f & FLAG.denied) denied++;
      if (f & FLAG.failed) failed++;
    }
    const byTime = kept.map((k, i) => ({ t: k.t, i })).filter((x) => x.t > -Infinity).sort((x, y) => x.t - y.t || x.i - y.i);
    return {
      kind: 'kaudit.view',
      version: 1,
      summary: {
        calls: records.length,
        commands: commands.length,
        matched: s.seen,
        leftOut: s.seen - records.length,
        maxRows: s.options.maxRows,
        first: byTime.length ? records[byTime[0]!.i]!.time : '',
        last: byTime.length ? records[byTime[byTime.length - 1]!.i]!.time : '',
        denied,
        failed,
      },
      command: ctx.command ?? [],
      records,
      flags,
      commands,
      input: ctx.input,
    };
  },
} satisfies Reducer<ViewState, ViewReport, ViewOptions>;

/**
 * Folds the kept rows into commands as `audit commands` does: the rows (in log order) pass the same
 * bounded time reorder (src/order/reorder.ts) into the same CommandFolder, so the commands are the
 * same, late long-running calls included. A command names its calls by auditID; a row whose
 * (cluster, auditID) does not name it alone (no auditID, or a reused one) gets a private stand-in
 * during the fold: the auditID, a NUL and the row index. It sorts where the auditID sorts, and in
 * row order among its equals, so the folding is unchanged; the command gets the real auditID back.
 */
function foldRows(kept: Kept[], flags: number[], fold: FoldOptions, reorder: ReorderOptions): ViewCommand[] {
  const rowOf = new Map<string, number>();
  const real = new Map<string, string>();
  const out: ViewCommand[] = [];
  const folder = new CommandFolder((c) => {
    const rows: number[] = [];
    let f = 0;
    for (let j = 0; j < c.auditIDs.length; j++) {
      const id = c.auditIDs[j]!;
      const row = rowOf.get(`${c.cluster}\u0000${id}`);
      if (row === undefined) throw new Error(`internal: command call ${JSON.stringify(id)} has no row`);
      rows.push(row);
      const original = real.get(id);
      if (original !== undefined) c.auditIDs[j] = original;
      f |= flags[row]! & (FLAG.denied | FLAG.write);
    }
    if (c.status >= 400 && !(f & FLAG.denied)) f |= FLAG.failed;
    f |= flags[rows[0]!]! & FLAG.human;
    out.push(Object.assign(c, { rows, flags: f }));
  }, { ...fold, keepCalls: false });
  const order = new TimeReorder<AuditRecord>((r) => folder.add(r), (r) => r.timeMs, reorder);
  for (let i = 0; i < kept.length; i++) {
    let r = kept[i]!.r;
    let key = `${r.cluster}\u0000${r.auditID}`;
    if (r.auditID === '' || rowOf.has(key)) {
      let id = `${r.auditID}\u0000${i}`;
      while (rowOf.has(`${r.cluster}\u0000${id}`)) id += '\u0000';
      real.set(id, r.auditID);
      r = { ...r, auditID: id };
      key = `${r.cluster}\u0000${id}`;
    }
    rowOf.set(key, i);
    order.add(r);
  }
  order.flush();
  folder.flush();
  return out;
}
