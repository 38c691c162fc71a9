// `audit commands`: folds API calls back into the commands people typed. Calls of one client (same
// cluster, user, source IP and user agent) that are close in time form a burst; a kubectl burst is
// split into commands by signature, any other client's burst is one entry labelled with its client.
//
// The folder expects records by requestReceivedTimestamp (the pipeline's time order, src/order):
// a long-running call (watch, exec, attach, port-forward, logs -f) then comes where it started and
// belongs to the burst it started in; its streaming never holds the burst open, because a burst's
// gap is measured between call receipts. Bursts are closed as time moves on, and commands are
// emitted in start order behind a watermark, so memory holds only the open bursts.
//
// Durations (README, "Durations"):
// - call latency: stageTimestamp − requestReceivedTimestamp of the completing stage; for a
//   long-running call, until its response started streaming (the ResponseStarted stage), null when
//   that stage is not in the log;
// - command duration: from the first call's receipt to the end of the last call's latency;
// - session: from the first call's receipt to the end of the last long-running call (its
//   ResponseComplete), null when no long-running call ended in the log.
import type { AccessMethod, AuditRecord, RequestAttributes } from '../../types.js';
import { foldBurst, foldKubectl, sameObject, toCall, type Call, type Folded, type Pace } from './reconstruct.js';
import { newHistogram, record as recordLatency, percentiles, type Histogram } from '../../util/histogram.js';
import { cmp } from '../../util/counter.js';
import { isDiscoveryPath } from '../../rules/kubectl.js';
import { MinHeap } from '../../util/heap.js';

export interface FoldOptions {
  /** Calls of one client whose receipts are further apart than this start a new burst. */
  gapMs: number;
  /** A non-kubectl burst is closed after this long, however busy the client. */
  maxBurstMs: number;
  keepCalls: boolean;
  /** Calls must pass this (the call filters: --verb, --namespace, --since…) for their command to be shown. */
  select?: (r: AuditRecord) => boolean;
}

export const DEFAULT_FOLD: FoldOptions = { gapMs: 2000, maxBurstMs: 60_000, keepCalls: false };

/** At most this many calls in one burst: a client that never pauses is cut into bursts of this size. */
export const MAX_BURST_CALLS = 10_000;

export interface CallView {
  time: string;
  verb: string;
  resource: string;
  namespace: string;
  name: string;
  requestURI: string;
  code: number;
  /** The call's latency (for a long-running call: until it started streaming); null when unknown. */
  latencyMs: number | null;
  /** Long-running calls: from receipt to the end of the stream, when the log holds it; else null. */
  sessionMs: number | null;
  longRunning: boolean;
  auditID: string;
}

/** The attributes of a command's main call (no non-resource URL: commands act on resources). */
export interface CommandRecord extends Omit<RequestAttributes, 'nonResourceURL'> {
  user: string;
  cluster: string;
  sourceIP: string;
  userAgent: string;
  client: string;
  /** The client's version from its user agent: the kubectl version for kubectl commands. */
  clientVersion: string;
  accessMethod: AccessMethod;
  start: string;
  end: string;
  startMs: number;
  /**
   * Command duration in ms: first call received to the end of the last call's latency (streaming
   * calls: until they started streaming). With notCompletedCalls, only the calls that completed
   * count (a lower bound); null when none did.
   */
  durationMs: number | null;
  /** Session in ms: first call received to the end of the last long-running call; null when none ended in the log. */
  sessionMs: number | null;
  apiCalls: number;
  /**
   * The worst failure among the calls (5xx, 403, 401, other 4xx; a lookup's expected 404 does not
   * count), else the main call's code: 101 for an exec, attach or port-forward that switched protocols.
   */
  status: number;
  /** Signature id (get, describe, exec…), `burst` for other clients, `request` when no signature fits. */
  type: string;
  /** The command line, POSIX-shell-quoted: a shell splits it into `argv`. `…` stands for what the log does not hold. */
  command: string;
  argv: string[];
  /** Why the command line may differ from what was typed ('' when exact). */
  ambiguous: string;
  /** The slowest call's latency (long-running calls: until they started streaming); null when none is known. */
  slowestCallMs: number | null;
  auditIDs: string[];
  calls?: CallView[];
  /**
   * Calls (not long-running) whose completing stage is not in the log, when there are any: their
   * latency is unknown, so the command's duration is a lower bound (or null) and the command is
   * left out of the latency table.
   */
  notCompletedCalls?: number;
}

interface Burst {
  key: string;
  first: AuditRecord;
  calls: Call[];
  startMs: number;
  lastMs: number;
  /** A burst of one call that came after calls more than a gap later: it may belong to an earlier command. */
  late: boolean;
}

/** Epoch ms (fraction: microseconds) as the API server writes times: 2026-03-02T10:04:00.030000Z. */
function formatMicros(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  return new Date(whole).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

function codeRank(c: number): number {
  return c >= 500 ? 5 : c === 403 ? 4 : c === 401 ? 3 : c >= 400 ? 2 : 0;
}

interface Queued {
  c: CommandRecord;
  /** Ties in start time are broken by content (client, first auditID), never by input order. */
  tie: string;
}

/** A `kubectl edit` whose editor is open waits this long for the patch that saves it. */
export const EDIT_HOLD_MS = 30 * 60_000;
/** Open editors held per client (the oldest is let go beyond this). */
const MAX_OPEN_EDITS = 4;

/** A folded command, with the burst it came from. */
interface Part {
  key: string;
  f: Folded;
  r: AuditRecord;
  late: boolean;
}

/** Clients whose pace is remembered (the oldest is forgotten beyond this). */
const MAX_PACED = 100_000;
/** Idle gaps kept per client to estimate its pace (their median). */
const PACE_SAMPLES = 15;

export class CommandFolder {
  private readonly open = new Map<string, Burst>();
  /** Per client: recent idle gaps between calls of one command (see reconstruct.ts, Pace). */
  private readonly pace = new Map<string, number[]>();
  /** Per client: `kubectl edit`s whose editor is open (the get that opened it, waiting for the patch). */
  private readonly edits = new Map<string, Part[]>();
  /** Commands by (startMs, tie). */
  private readonly heap = new MinHeap<Queued>((x, y) => x.c.startMs < y.c.startMs || (x.c.startMs === y.c.startMs && x.tie < y.tie));
  private maxSeen = -Infinity;
  private added = 0;
  /** Calls that arrived after calls more than a gap later (out of time order). */
  late = 0;

  constructor(
    private readonly emit: (c: CommandRecord) => void,
    private readonly o: FoldOptions = DEFAULT_FOLD,
  ) {}

  add(r: AuditRecord): void {
    const t = Number.isFinite(r.timeMs) ? r.timeMs : Number.isFinite(this.maxSeen) ? this.maxSeen : 0;
    const key = `${r.cluster}\u0000${r.subject}\u0000${r.sourceIP}\u0000${r.userAgent}`;
    const call = toCall(r, t, this.o.select === undefined || this.o.select(r));
    let b = this.open.get(key);
    if (b && t >= b.startMs && t - b.lastMs <= this.o.gapMs && !(r.accessMethod !== 'kubectl' && t - b.startMs > this.o.maxBurstMs) && b.calls.length < MAX_BURST_CALLS) {
      b.calls.push(call);
      if (t > b.lastMs) b.lastMs = t;
    } else if (t < this.maxSeen - this.o.gapMs) {
      // Out of time order beyond what the reorder window mended: never folded into a later burst.
      this.late++;
      this.close({ key, first: r, calls: [call], startMs: t, lastMs: t, late: true });
    } else {
      if (b) this.close(b);
      b = { key, first: r, calls: [call], startMs: t, lastMs: t, late: false };
      this.open.set(key, b);
    }
    if (t > this.maxSeen) this.maxSeen = t;
    if (++this.added % 4096 === 0) this.sweep();
  }

  /** Closes bursts whose gap has passed, then emits what the watermark allows. */
  private sweep(): void {
    for (const b of [...this.open.values()]) if (this.maxSeen - b.lastMs > this.o.gapMs) this.close(b);
    for (const [key, list] of [...this.edits]) {
      while (list.length && this.maxSeen - list[0]!.f.calls[0]!.startMs > EDIT_HOLD_MS) this.queue(list.shift()!);
      if (!list.length) this.edits.delete(key);
    }
    let watermark = this.maxSeen - this.o.gapMs;
    for (const b of this.open.values()) if (b.startMs < watermark) watermark = b.startMs;
    for (const list of this.edits.values()) for (const e of list) if (e.f.calls[0]!.startMs < watermark) watermark = e.f.calls[0]!.startMs;
    while (this.heap.size && this.heap.peek()!.c.startMs < watermark) this.emit(this.heap.pop()!.c);
  }

  flush(): void {
    for (const b of [...this.open.values()].sort((x, y) => x.startMs - y.startMs || cmp(x.key, y.key))) this.close(b);
    for (const list of this.edits.values()) for (const e of list) this.queue(e);
    this.edits.clear();
    while (this.heap.size) this.emit(this.heap.pop()!.c);
  }

  private close(b: Burst): void {
    if (this.open.get(b.key) === b) this.open.delete(b.key);
    const calls = b.calls.length > 1 ? b.calls.sort((x, y) => x.startMs - y.startMs || cmp(x.auditID, y.auditID)) : b.calls;
    const r = b.first;
    const folded = r.accessMethod === 'kubectl' ? foldKubectl(calls, this.paceOf(b.key), (g) => this.observe(b.key, g)) : [foldBurst(calls, r.client)];
    for (const f of folded) {
      const part: Part = { key: b.key, f, r, late: b.late };
      if (f.part === 'opened') {
        // The editor is open: hold the get until the patch that saves it (a later burst), or EDIT_HOLD_MS.
        const list = this.edits.get(b.key) ?? [];
        list.push(part);
        if (list.length > MAX_OPEN_EDITS) this.queue(list.shift()!);
        this.edits.set(b.key, list);
        continue;
      }
      if (f.part === 'saved') {
        const list = this.edits.get(b.key);
        const k = list ? list.findIndex((e) => sameObject(e.f.anchor, f.anchor)) : -1;
        if (list && k >= 0) {
          const opened = list.splice(k, 1)[0]!;
          if (!list.length) this.edits.delete(b.key);
          const probes = new Set([...opened.f.probes, ...f.probes]);
          this.queue({ ...opened, f: { ...f, ambiguity: '', calls: [...opened.f.calls, ...f.calls], probes, part: undefined }, late: opened.late || b.late });
          continue;
        }
      }
      this.queue(part);
    }
  }

  /** A folded command on its way out: dropped unless one of its calls passed the filters. */
  private queue(p: Part): void {
    const f = p.f;
    if (!f.calls.some((c) => c.selected)) return;
    if (p.late) f.ambiguity = `logged after calls more than ${this.o.gapMs / 1000} s later (a long session written when it ended?): it may belong to an earlier command${f.ambiguity ? `; ${f.ambiguity}` : ''}`;
    this.heap.push({ c: this.toCommand(f, p.r), tie: `${p.key}\u0000${f.calls[0]!.auditID}` });
  }

  private paceOf(key: string): Pace {
    const g = this.pace.get(key);
    if (!g || g.length === 0) return null;
    const sorted = [...g].sort((x, y) => x - y);
    return sorted[sorted.length >> 1]!;
  }

  private observe(key: string, idleMs: number): void {
    let g = this.pace.get(key);
    if (!g) {
      if (this.pace.size >= MAX_PACED) this.pace.delete(this.pace.keys().next().value!);
      this.pace.set(key, (g = []));
    }
    g.push(idleMs);
    if (g.length > PACE_SAMPLES) g.shift();
  }

  private toCommand(f: Folded, r: AuditRecord): CommandRecord {
    const start = f.calls[0]!;
    let endMs = start.startMs;
    let sessionEnd = -Infinity;
    let slowest: number | null = null;
    let failure = 0;
    let notCompleted = 0;
    for (const c of f.calls) {
      if (c.notCompleted) notCompleted++;
      endMs = Math.max(endMs, c.startMs + (c.latencyMs ?? 0));
      if (c.sessionMs !== null) sessionEnd = Math.max(sessionEnd, c.startMs + c.sessionMs);
      if (c.latencyMs !== null && (slowest === null || c.latencyMs > slowest)) slowest = c.latencyMs;
      // A lookup's expected 404, or a discovery call for an API the server lacks (kubectl edit's
      // /openapi/v3 on servers without it), is not the command failing, unless it is the command.
      if (c.code === 404 && (f.probes.has(c) || (c !== f.anchor && c.nonResourceURL !== '' && isDiscoveryPath(c.nonResourceURL)))) continue;
      const rank = codeRank(c.code);
      if (rank > codeRank(failure) || (rank > 0 && rank === codeRank(failure) && c.code > failure)) failure = c.code;
    }
    const a = f.anchor;
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    const cmd: CommandRecord = {
      user: r.subject,
      cluster: r.cluster,
      sourceIP: r.sourceIP,
      userAgent: r.userAgent,
      client: r.client,
      clientVersion: r.clientVersion,
      accessMethod: r.accessMethod,
      start: start.time,
      end: formatMicros(Math.max(endMs, sessionEnd)),
      startMs: start.startMs,
      durationMs: notCompleted === f.calls.length ? null : round(endMs - start.startMs),
      sessionMs: sessionEnd > -Infinity ? round(Math.max(endMs, sessionEnd) - start.startMs) : null,
      apiCalls: f.calls.length,
      status: failure || a.code,
      type: f.kind,
      command: f.command,
      argv: f.argv,
      ambiguous: f.ambiguity,
      verb: a.verb,
      apiGroup: a.apiGroup,
      resource: a.resource,
      subresource: a.subresource,
      namespace: a.namespace,
      name: a.name,
      slowestCallMs: slowest,
      auditIDs: f.calls.map((c) => c.auditID),
    };
    if (notCompleted > 0) cmd.notCompletedCalls = notCompleted;
    if (this.o.keepCalls) {
      cmd.calls = f.calls.map((c) => ({
        time: c.time,
        verb: c.verb,
        resource: c.resource ? `${c.resource}${c.subresource ? `/${c.subresource}` : ''}` : c.nonResourceURL,
        namespace: c.namespace,
        name: c.name,
        requestURI: c.requestURI,
        code: c.code,
        latencyMs: c.latencyMs,
        sessionMs: c.sessionMs,
        longRunning: c.longRunning,
        auditID: c.auditID,
      }));
    }
    return cmd;
  }
}

// ---------- latency per command type ----------

export interface TypeLatency {
  type: string;
  commands: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export class LatencySummary {
  private readonly byType = new Map<string, Histogram>();
  /** kubectl commands count their duration; other clients' bursts (not one operation anyone waited for) their slowest call. */
  add(c: CommandRecord): void {
    const kubectl = c.accessMethod === 'kubectl';
    // A command with a call that never completed has no known duration: it is left out.
    if (kubectl && c.notCompletedCalls) return;
    const v = kubectl ? c.durationMs : c.slowestCallMs;
    if (v === null) return;
    const type = kubectl ? `kubectl ${c.type}` : `${c.client || c.accessMethod} (slowest call)`;
    let h = this.byType.get(type);
    if (!h) this.byType.set(type, (h = newHistogram()));
    recordLatency(h, v);
  }
  finish(): TypeLatency[] {
    return [...this.byType]
      .map(([type, h]) => {
        const [p50, p95, p99] = percentiles(h, [0.5, 0.95, 0.99]);
        return { type, commands: h.count, p50: p50!, p95: p95!, p99: p99! };
      })
      .sort((a, b) => b.commands - a.commands || cmp(a.type, b.type));
  }
}
