// `audit view`: the report behind the browser page. A reducer keeps the newest filtered requests
// that fit two caps, `maxRows` rows and `maxBytes` data bytes (a min-heap on time over a compact
// column store, src/analyses/view/store.ts, so memory is bounded by the caps whatever the input's
// size or cardinality) and, at finish, folds them into commands with the same CommandFolder as
// `audit commands`. The report is canonical JSON: the records in log order (the order `audit
// export` writes them), the commands with the rows of their calls, per-row flags for the page's
// toggles, and the accounting, with what the caps left out.
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { CommandFolder, DEFAULT_FOLD, type CommandRecord, type FoldOptions } from '../commands/fold.js';
import { WRITE_VERBS } from '../../rules/verbs.js';
import { classifySubject } from '../../normalize/subject.js';
import { FLAG } from './flags.js';
import { TimeReorder, DEFAULT_REORDER, type ReorderOptions } from '../../order/reorder.js';
import { RowStore } from './store.js';
import { CommandTableBuilder, type CommandTable } from './builder.js';
import { COMMAND_EXTRA_FIELDS } from './payload.js';

/** The most rows the page keeps unless `--max-rows` says otherwise (with --memory 977M or more). */
export const DEFAULT_MAX_ROWS = 500_000;

/**
 * What a kept row costs the process at its peak, in bytes, rounded up: the row in the store (about
 * 300 bytes), what the fold into commands and the page's encoding hold per row (about 200), and the
 * garbage collector's headroom over both. Measured on 1M-event logs (bench/RESULTS.md, issue 15):
 * 1.2 KB a row with 50 users, 1.5 KB with a user per request, on top of what reading 1M events
 * takes (about 0.15 GB), so that the default budget keeps the whole run near 0.35 GB.
 */
export const ROW_PEAK_BYTES = 2048;

/**
 * The default of `--max-rows` for a memory budget (--memory, src/scale/budget.ts, in bytes): the
 * rows whose peak cost (ROW_PEAK_BYTES) fits in it, at most DEFAULT_MAX_ROWS and at least 1000.
 * 256 MiB (the default budget): 131,072 rows.
 */
export function defaultMaxRows(budget: number): number {
  if (!Number.isFinite(budget)) return DEFAULT_MAX_ROWS;
  return Math.max(1000, Math.min(DEFAULT_MAX_ROWS, Math.floor(budget / ROW_PEAK_BYTES)));
}

/**
 * Data bytes the page keeps unless `--max-bytes` says otherwise (RowStore.bytes: the JSON size of
 * the distinct strings kept, plus ROW_BYTES per row). 128 MB keeps the page's decompressed data well
 * under the longest string a browser makes (V8: 2^29 − 24 characters), the writer's memory under
 * about 1 GB, and the HTML file, compressed, in the tens of MB for typical logs.
 */
export const DEFAULT_MAX_BYTES = 128_000_000;

export { FLAG };
export { capNotice } from './notice.js';

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
  /** When maxRows is the default for a memory budget (defaultMaxRows): that budget in bytes; else absent. */
  maxRowsBudget?: number;
  /** Keep at most this many data bytes (RowStore.bytes): again the newest requests that fit. */
  maxBytes: number;
  /** Folding, as `audit commands` (--gap). */
  fold: FoldOptions;
  /** The time order the folder gets its calls in, as `audit commands` (--order-window). */
  reorder: ReorderOptions;
}

export const DEFAULT_VIEW: ViewOptions = { maxRows: DEFAULT_MAX_ROWS, maxBytes: DEFAULT_MAX_BYTES, fold: { ...DEFAULT_FOLD, keepCalls: false }, reorder: DEFAULT_REORDER };

export interface ViewState {
  options: ViewOptions;
  store: RowStore;
  /** Min-heap of slots on (t, seq): the root is the row to drop next. */
  heap: number[];
  /** Per slot: time (epoch ms, -Infinity when the event had no time: such rows go first) and position in the input (log order, across merged states). */
  t: number[];
  seq: number[];
  /** Records seen (kept + left out). */
  seen: number;
  /** The newest request left out: its (t, seq) and time string (seq -1: none). */
  outT: number;
  outSeq: number;
  outTime: string;
}

function older(s: ViewState, a: number, b: number): boolean {
  return s.t[a]! < s.t[b]! || (s.t[a] === s.t[b] && s.seq[a]! < s.seq[b]!);
}

function siftUp(s: ViewState, i: number): void {
  const h = s.heap;
  const x = h[i]!;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!older(s, x, h[p]!)) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = x;
}

function siftDown(s: ViewState, i: number): void {
  const h = s.heap;
  const n = h.length;
  const x = h[i]!;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const m = r < n && older(s, h[r]!, h[l]!) ? r : l;
    if (!older(s, h[m]!, x)) break;
    h[i] = h[m]!;
    i = m;
  }
  h[i] = x;
}

function leaveOut(s: ViewState, t: number, seq: number, time: () => string): void {
  if (s.outSeq < 0 || t > s.outT || (t === s.outT && seq > s.outSeq)) {
    s.outT = t;
    s.outSeq = seq;
    s.outTime = time();
  }
}

/**
 * Keeps the row, then drops the oldest rows while either cap is exceeded. The kept rows are thus
 * always the longest run of newest rows that fits both caps (every request from a time on): the
 * data bytes of a set of rows only grow when rows are added, so a run that held a left-out row
 * would not fit now either; this is also why merged states equal one pass.
 */
function keep(s: ViewState, r: AuditRecord, t: number, seq: number): void {
  const h = s.heap;
  const o = s.options;
  // Older than a request left out: left out too, so that the page holds every request from a time
  // on, without holes (a small old request must not take the place of a large newer one).
  const belowOut = s.outSeq >= 0 && (t < s.outT || (t === s.outT && seq < s.outSeq));
  if (belowOut || (h.length >= o.maxRows && (t < s.t[h[0]!]! || (t === s.t[h[0]!] && seq < s.seq[h[0]!]!)))) {
    leaveOut(s, t, seq, () => r.time);
    return;
  }
  const slot = s.store.put(r);
  s.t[slot] = t;
  s.seq[slot] = seq;
  h.push(slot);
  siftUp(s, h.length - 1);
  dropOldest(s, () => h.length > o.maxRows || s.store.bytes > o.maxBytes);
}

/** Drops the oldest kept rows while `over()` holds. */
function dropOldest(s: ViewState, over: () => boolean): void {
  const h = s.heap;
  while (h.length > 0 && over()) {
    const out = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      siftDown(s, 0);
    }
    leaveOut(s, s.t[out]!, s.seq[out]!, () => s.store.time(out));
    s.store.drop(out);
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
    /** Requests left out by the caps: the oldest (matched − calls). */
    leftOut: number;
    maxRows: number;
    /** The data-bytes cap and the data bytes the page holds (RowStore.bytes). */
    maxBytes: number;
    bytes: number;
    /** The cap that left requests out: 'max-rows' when the page holds maxRows rows, else 'max-bytes'; '' when none did. */
    cappedBy: '' | 'max-rows' | 'max-bytes';
    /** Time of the newest request left out ('' when none, or it had no time): the page holds the requests from then on. */
    leftOutUntil: string;
    /** First and last request time in the page ('' when none). */
    first: string;
    last: string;
    denied: number;
    failed: number;
    /** When maxRows was not given but followed the memory budget (--memory, defaultMaxRows): that budget in bytes. */
    maxRowsBudget?: number;
  };
  /** The command line that made the report, as given (shown on the page). */
  command: string[];
  /**
   * The requests, in log order (as `audit export` writes them): RECORD_FIELDS, responseStartedMs
   * and location. Made from the compact store the first time it is read.
   */
  records: AuditRecord[];
  /**
   * Not enumerable (not in the JSON): the values of one field of `records` (a RowStore field name,
   * e.g. `verb` or `location.file`), read from the store without making the records.
   */
  columns?: (field: string) => unknown[];
  /** FLAG bits per record. */
  flags: number[];
  /** Commands in start order, as `audit commands` emits them (from the reducer: folded again when first read). */
  commands: ViewCommand[];
  /** Not enumerable (not in the JSON): the commands as the page encodes them, made by the reducer's fold. */
  commandTable?: CommandTable;
  input: InputAccounting;
}

export interface ViewFinishContext extends FinishContext {
  /** The command line, for the page's header. */
  command?: string[];
}

/**
 * The view reducer. `add` is O(log maxRows); memory holds at most `maxRows` rows and `maxBytes`
 * data bytes, in the compact form of RowStore (the bodies, impersonation details and everything
 * else outside RECORD_FIELDS, responseStartedMs and location are not kept). `merge(a, b)` expects
 * `b` to hold the input that follows `a`'s. `finish` folds commands over the kept rows in
 * log order, so the commands are those `audit commands` gives for the same filters whenever the cap
 * left nothing out.
 */
export const view = {
  init(options: ViewOptions): ViewState {
    if (!Number.isInteger(options.maxRows) || options.maxRows <= 0) throw new RangeError(`maxRows must be a positive integer, got ${options.maxRows}`);
    if (!Number.isInteger(options.maxBytes) || options.maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${options.maxBytes}`);
    return { options, store: new RowStore(), heap: [], t: [], seq: [], seen: 0, outT: -Infinity, outSeq: -1, outTime: '' };
  },
  add(s: ViewState, r: AuditRecord): void {
    keep(s, r, Number.isFinite(r.timeMs) ? r.timeMs : -Infinity, s.seen++);
  },
  merge(a: ViewState, b: ViewState): ViewState {
    // What b left out, a leaves out too, with every older row: then b's rows go in as in one pass.
    if (b.outSeq >= 0) {
      leaveOut(a, b.outT, b.outSeq + a.seen, () => b.outTime);
      dropOldest(a, () => a.t[a.heap[0]!]! < a.outT || (a.t[a.heap[0]!] === a.outT && a.seq[a.heap[0]!]! < a.outSeq));
    }
    const record = b.store.records();
    for (const slot of b.heap) keep(a, record(slot), b.t[slot]!, b.seq[slot]! + a.seen);
    a.seen += b.seen;
    return a;
  },
  finish(s: ViewState, ctx: ViewFinishContext): ViewReport {
    // Rows in log order. Records are made one at a time from the store (for the flags and the
    // fold) and dropped: the page's columns are read from the store, and `records` is made only
    // when something reads it (-o json, a library user).
    const store = s.store;
    const slots = [...s.heap].sort((x, y) => s.seq[x]! - s.seq[y]!);
    const record = store.records();
    const at = (i: number): AuditRecord => record(slots[i]!);
    const flags = new Array<number>(slots.length);
    // The commands are encoded for the page as they are folded (CommandTableBuilder), not kept as
    // objects: at 500,000 rows those took more memory than the rows themselves. `commands` folds
    // again, the first time something reads it (-o json, a library user).
    const readId = store.reader('auditID');
    const table = new CommandTableBuilder(COMMAND_EXTRA_FIELDS, (row) => readId(slots[row]!) as string);
    const readTime = store.reader('timeMs');
    const timeOf = (i: number): number => readTime(slots[i]!) as number;
    foldRows(slots.length, at, flags, s.options.fold, s.options.reorder, timeOf, (c) => table.add(c));
    let denied = 0;
    let failed = 0;
    for (const f of flags) {
      if (f & FLAG.denied) denied++;
      if (f & FLAG.failed) failed++;
    }
    let first = -1;
    let last = -1;
    for (let i = 0; i < slots.length; i++) {
      const t = s.t[slots[i]!]!;
      if (t === -Infinity) continue;
      if (first < 0 || t < s.t[slots[first]!]!) first = i;
      if (last < 0 || t >= s.t[slots[last]!]!) last = i;
    }
    const leftOut = s.seen - slots.length;
    const report: ViewReport = {
      kind: 'kaudit.view',
      version: 1,
      summary: {
        calls: slots.length,
        commands: table.n,
        matched: s.seen,
        leftOut,
        maxRows: s.options.maxRows,
        maxBytes: s.options.maxBytes,
        bytes: store.bytes,
        cappedBy: leftOut === 0 ? '' : slots.length >= s.options.maxRows ? 'max-rows' : 'max-bytes',
        leftOutUntil: leftOut === 0 ? '' : s.outTime,
        first: first >= 0 ? store.time(slots[first]!) : '',
        last: last >= 0 ? store.time(slots[last]!) : '',
        denied,
        failed,
        ...(s.options.maxRowsBudget !== undefined ? { maxRowsBudget: s.options.maxRowsBudget } : {}),
      },
      command: ctx.command ?? [],
      records: [],
      flags,
      commands: [],
      input: ctx.input,
    };
    Object.defineProperty(report, 'records', {
      enumerable: true,
      configurable: true,
      get(): AuditRecord[] {
        const records = slots.map((slot) => record(slot));
        Object.defineProperty(report, 'records', { value: records, enumerable: true, writable: true, configurable: true });
        return records;
      },
    });
    Object.defineProperty(report, 'commands', {
      enumerable: true,
      configurable: true,
      get(): ViewCommand[] {
        const commands: ViewCommand[] = [];
        foldRows(slots.length, at, new Array<number>(slots.length), s.options.fold, s.options.reorder, timeOf, (c) => commands.push(c));
        Object.defineProperty(report, 'commands', { value: commands, enumerable: true, writable: true, configurable: true });
        return commands;
      },
    });
    Object.defineProperty(report, 'commandTable', { enumerable: false, value: table.finish() });
    Object.defineProperty(report, 'columns', { enumerable: false, value: (field: string): unknown[] => { const read = store.reader(field); return slots.map((slot) => read(slot)); } });
    return report;
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
function foldRows(
  n: number,
  at: (i: number) => AuditRecord,
  /** filled here: FLAG bits of each row */ flags: number[],
  fold: FoldOptions,
  reorder: ReorderOptions,
  /** the time of row i, as its record's timeMs */ timeOf: (i: number) => number,
  emit: (c: ViewCommand) => void,
): void {
  // Row of each (cluster, auditID): by cluster, then by the auditID string the row already holds
  // (no key string made per row).
  const rowOf = new Map<string, Map<string, number>>();
  const rowsOf = (cluster: string): Map<string, number> => {
    let m = rowOf.get(cluster);
    if (m === undefined) rowOf.set(cluster, (m = new Map()));
    return m;
  };
  const real = new Map<string, string>();
  const folder = new CommandFolder((c) => {
    const rows: number[] = [];
    let f = 0;
    const ids = rowOf.get(c.cluster);
    for (let j = 0; j < c.auditIDs.length; j++) {
      const id = c.auditIDs[j]!;
      const row = ids?.get(id);
      if (row === undefined) throw new Error(`internal: command call ${JSON.stringify(id)} has no row`);
      rows.push(row);
      const original = real.get(id);
      if (original !== undefined) c.auditIDs[j] = original;
      f |= flags[row]! & (FLAG.denied | FLAG.write);
    }
    if (c.status >= 400 && !(f & FLAG.denied)) f |= FLAG.failed;
    f |= flags[rows[0]!]! & FLAG.human;
    emit(Object.assign(c, { rows, flags: f }));
  }, { ...fold, keepCalls: false });
  // The reorder window holds row numbers, not records: a record is made when the folder takes it
  // and is dropped soon after (records held for the window's 30 minutes of log outlived the young
  // generation, and half a million of them made the old one grow by several hundred MB).
  const standIn = new Map<number, string>();
  const order = new TimeReorder<number>(
    (i) => {
      const r = at(i);
      const id = standIn.get(i);
      folder.add(id === undefined ? r : { ...r, auditID: id });
    },
    timeOf,
    reorder,
  );
  for (let i = 0; i < n; i++) {
    const r = at(i);
    flags[i] = rowFlags(r);
    const ids = rowsOf(r.cluster);
    let auditID = r.auditID;
    if (auditID === '' || ids.has(auditID)) {
      let id = `${auditID}\u0000${i}`;
      while (ids.has(id)) id += '\u0000';
      real.set(id, auditID);
      standIn.set(i, id);
      auditID = id;
    }
    ids.set(auditID, i);
    order.add(i);
  }
  order.flush();
  folder.flush();
}
