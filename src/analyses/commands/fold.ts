// `audit commands`: folds API calls back into the commands people typed. Calls of one client (same
// user, source IP and user agent) that are close in time form a burst; a kubectl burst is split into
// commands by signature, any other client's burst is one entry labelled with its client. Bursts are
// closed as time moves on, and commands are emitted in start order behind a watermark, so memory
// holds only the open bursts, whatever the size of the log.
import type { AccessMethod, AuditRecord, RequestAttributes } from '../../types.js';
import { foldBurst, foldKubectl, toCall, type Call, type Folded } from './reconstruct.js';
import { newHistogram, record as recordLatency, percentiles, type Histogram } from '../../util/histogram.js';
import { cmp } from '../../util/counter.js';
import { formatTime } from '../../normalize/time.js';

export interface FoldOptions {
  /** Calls of one client further apart than this start a new burst. */
  gapMs: number;
  /** A non-kubectl burst is closed after this long, however busy the client. */
  maxBurstMs: number;
  /** How late (by start time) a call may arrive and still be ordered: long-running calls are logged when they end. */
  latenessMs: number;
  keepCalls: boolean;
}

export const DEFAULT_FOLD: FoldOptions = { gapMs: 2000, maxBurstMs: 60_000, latenessMs: 300_000, keepCalls: false };

export interface CallView {
  time: string;
  verb: string;
  resource: string;
  namespace: string;
  name: string;
  requestURI: string;
  code: number;
  durationMs: number | null;
  auditID: string;
}

/** The attributes of a command's main call (no non-resource URL: commands act on resources). */
export interface CommandRecord extends Omit<RequestAttributes, 'nonResourceURL'> {
  user: string;
  cluster: string;
  sourceIP: string;
  userAgent: string;
  client: string;
  clientVersion: string;
  accessMethod: AccessMethod;
  start: string;
  end: string;
  startMs: number;
  /** From the first call's start to the last call's end; long-running calls count until they started streaming. */
  durationMs: number;
  /** For exec, attach, port-forward, logs -f and watches: until the session ended. */
  sessionMs: number | null;
  apiCalls: number;
  /** The worst code of the command's calls (a lookup's expected 404 does not count). */
  status: number;
  /** Signature id (get, describe, exec…), `burst` for other clients, `request` when no signature fits. */
  type: string;
  command: string;
  /** Why the command line may differ from what was typed ('' when exact). */
  ambiguous: string;
  slowestCallMs: number | null;
  auditIDs: string[];
  calls?: CallView[];
}

interface Burst {
  key: string;
  first: AuditRecord;
  calls: Call[];
  startMs: number;
  lastMs: number;
}

function codeRank(c: number): number {
  return c >= 500 ? 5 : c === 403 ? 4 : c === 401 ? 3 : c >= 400 ? 2 : c === 0 ? 0 : 1;
}

/** Min-heap of commands by (startMs, seq): seq keeps ties in closing order, which is deterministic. */
class Heap {
  private a: { c: CommandRecord; seq: number }[] = [];
  get size(): number {
    return this.a.length;
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i]!;
    const y = this.a[j]!;
    return x.c.startMs < y.c.startMs || (x.c.startMs === y.c.startMs && x.seq < y.seq);
  }
  push(c: CommandRecord, seq: number): void {
    this.a.push({ c, seq });
    let i = this.a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [this.a[i], this.a[p]] = [this.a[p]!, this.a[i]!];
      i = p;
    }
  }
  peek(): CommandRecord | undefined {
    return this.a[0]?.c;
  }
  pop(): CommandRecord | undefined {
    const top = this.a[0];
    const last = this.a.pop();
    if (this.a.length && last) {
      this.a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.a.length && this.less(l, m)) m = l;
        if (r < this.a.length && this.less(r, m)) m = r;
        if (m === i) break;
        [this.a[i], this.a[m]] = [this.a[m]!, this.a[i]!];
        i = m;
      }
    }
    return top?.c;
  }
}

export class CommandFolder {
  private readonly open = new Map<string, Burst>();
  private readonly heap = new Heap();
  private seq = 0;
  private maxSeen = -Infinity;
  private added = 0;

  constructor(
    private readonly emit: (c: CommandRecord) => void,
    private readonly o: FoldOptions = DEFAULT_FOLD,
  ) {}

  add(r: AuditRecord): void {
    const t = Number.isFinite(r.timeMs) ? r.timeMs : this.maxSeen;
    const key = `${r.cluster}\u0000${r.subject}\u0000${r.sourceIP}\u0000${r.userAgent}`;
    let b = this.open.get(key);
    if (b && (t - b.lastMs > this.o.gapMs || (r.accessMethod !== 'kubectl' && t - b.startMs > this.o.maxBurstMs) || b.calls.length >= 10_000)) {
      this.close(b);
      b = undefined;
    }
    if (!b) {
      b = { key, first: r, calls: [], startMs: t, lastMs: t };
      this.open.set(key, b);
    }
    b.calls.push(toCall(r));
    if (t > b.lastMs) b.lastMs = t;
    if (t < b.startMs) b.startMs = t;
    if (t > this.maxSeen) this.maxSeen = t;
    if (++this.added % 4096 === 0) this.sweep();
  }

  /** Closes bursts whose gap has passed, then emits what the watermark allows. */
  private sweep(): void {
    for (const b of [...this.open.values()]) if (this.maxSeen - b.lastMs > this.o.gapMs) this.close(b);
    let watermark = this.maxSeen - this.o.latenessMs;
    for (const b of this.open.values()) if (b.startMs < watermark) watermark = b.startMs;
    while (this.heap.size && this.heap.peek()!.startMs < watermark) this.emit(this.heap.pop()!);
  }

  flush(): void {
    for (const b of [...this.open.values()].sort((x, y) => x.startMs - y.startMs || cmp(x.key, y.key))) this.close(b);
    while (this.heap.size) this.emit(this.heap.pop()!);
  }

  private close(b: Burst): void {
    this.open.delete(b.key);
    const calls = b.calls.sort((x, y) => x.startMs - y.startMs || cmp(x.auditID, y.auditID));
    const r = b.first;
    const folded = r.accessMethod === 'kubectl' ? foldKubectl(calls) : [foldBurst(calls, r.client)];
    for (const f of folded) this.heap.push(this.toCommand(f, r), this.seq++);
  }

  private toCommand(f: Folded, r: AuditRecord): CommandRecord {
    const start = f.calls[0]!;
    let endMs = start.startMs;
    let sessionEnd = -Infinity;
    let slowest: number | null = null;
    let status = 0;
    for (const c of f.calls) {
      const d = c.durationMs ?? 0;
      if (c.longRunning) sessionEnd = Math.max(sessionEnd, c.startMs + d);
      else {
        endMs = Math.max(endMs, c.startMs + d);
        if (c.durationMs !== null && (slowest === null || c.durationMs > slowest)) slowest = c.durationMs;
      }
      endMs = Math.max(endMs, c.startMs);
      if (f.probes.has(c) && c.code === 404) continue;
      if (codeRank(c.code) > codeRank(status) || (codeRank(c.code) === codeRank(status) && c.code > status)) status = c.code;
    }
    const a = f.anchor;
    const cmd: CommandRecord = {
      user: r.subject,
      cluster: r.cluster,
      sourceIP: r.sourceIP,
      userAgent: r.userAgent,
      client: r.client,
      clientVersion: r.clientVersion,
      accessMethod: r.accessMethod,
      start: start.time,
      end: formatTime(Math.max(endMs, sessionEnd)),
      startMs: start.startMs,
      durationMs: Math.round((endMs - start.startMs) * 1000) / 1000,
      sessionMs: sessionEnd > -Infinity ? Math.round((Math.max(endMs, sessionEnd) - start.startMs) * 1000) / 1000 : null,
      apiCalls: f.calls.length,
      status,
      type: f.kind,
      command: f.command,
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
    if (this.o.keepCalls) {
      cmd.calls = f.calls.map((c) => ({ time: c.time, verb: c.verb, resource: c.resource ? `${c.resource}${c.subresource ? `/${c.subresource}` : ''}` : c.nonResourceURL, namespace: c.namespace, name: c.name, requestURI: c.requestURI, code: c.code, durationMs: c.durationMs, auditID: c.auditID }));
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
  add(c: CommandRecord): void {
    const type = c.accessMethod === 'kubectl' ? `kubectl ${c.type}` : c.client || c.accessMethod;
    let h = this.byType.get(type);
    if (!h) this.byType.set(type, (h = newHistogram()));
    recordLatency(h, c.durationMs);
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
