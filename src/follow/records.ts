// What is sent, from each parsed line: the batch pipeline's steps (containers → normalizeValue →
// StageCollapser → filter), with items serialized as `audit export` serializes records.
import { createHash } from 'node:crypto';
import type { AuditRecord, InputAccounting, Loc } from '../types.js';
import type { Predicate } from '../filter/index.js';
import type { Item } from './types.js';
import type { LiveDetector } from './findings.js';
import type { Finding } from '../analyses/anomalies/index.js';
import { containerOf } from '../ingest/containers.js';
import { normalizeValue, Ignored } from '../normalize/index.js';
import { StageCollapser, AuditIDReuse, type CollapseOptions } from '../normalize/collapse.js';
import { canonicalRecord } from '../render/records.js';

export interface ProcessorOptions {
  /** Forward each event as written (every stage) instead of collapsed records. */
  raw: boolean;
  /** Send records (or events with --raw). */
  records: boolean;
  /** Send findings. */
  findings: boolean;
  filter: Predicate;
  collapse: CollapseOptions;
}

/** Stages that complete a request (and events without a stage, from old logs). */
const COMPLETING = new Set(['ResponseComplete', 'Panic', '']);

/** Syslog severity (RFC 5424 §6.2.1) of a finding: critical → 2 crit, high → 3 err, medium → 4 warning, low → 5 notice. */
const FINDING_SEVERITY: Record<Finding['severity'], number> = { critical: 2, high: 3, medium: 4, low: 5 };

/**
 * A stable 128-bit id (32 hex) of a request: every field that tells one request from another with
 * the same auditID (a client may choose its own Audit-ID header), so an id never hides a request.
 */
export function requestId(r: AuditRecord, ...extra: string[]): string {
  if (r.auditID === '') return '';
  const h = createHash('sha256');
  for (const v of [r.cluster, r.auditID, r.time, r.verb, r.requestURI, r.subject, r.impersonator, r.userAgent, ...extra]) h.update(v).update('\u0000');
  return h.digest('hex').slice(0, 32);
}

/** Turns the lines of one followed path into items. Accounting as the batch pipeline keeps it. */
export class StreamProcessor {
  private readonly collapser: StageCollapser | null;
  /** Requests sent under an auditID another sent request used (flagged in the record, as export does). */
  private readonly reuse: AuditIDReuse;
  /** Completion time (ms) of the last event read: requestReceivedTimestamp + the stage's duration. */
  lastEventMs = NaN;

  constructor(
    readonly cluster: string,
    private readonly o: ProcessorOptions,
    private readonly acc: InputAccounting,
    private readonly out: (item: Item) => void,
    private readonly detector: LiveDetector | null,
  ) {
    this.collapser = o.raw ? null : new StageCollapser((r, identity) => this.complete(r, identity), o.collapse);
    this.reuse = new AuditIDReuse(o.collapse.maxDone);
  }

  /** One parsed line. Returns rejection reasons (with where) for the caller to report. */
  value(v: unknown, loc: Loc, text: () => string, reject: (loc: Loc, reason: string) => void): void {
    const c = containerOf(v);
    if (c === null) this.event(v, loc, text, reject);
    else for (let k = 0; k < c.items.length; k++) this.event(c.items[k], { ...loc, item: k + 1 }, () => JSON.stringify(c.items[k]), reject);
  }

  rejected(): void {
    this.acc.lines++;
    this.acc.rejected++;
  }

  private event(v: unknown, loc: Loc, text: () => string, reject: (loc: Loc, reason: string) => void): void {
    const rec = normalizeValue(v, this.cluster);
    if (typeof rec === 'string') {
      this.rejected();
      reject(loc, rec);
      return;
    }
    if (rec instanceof Ignored) {
      // No audit event by design (a CloudWatch control message): counted, never sent, never an error.
      this.acc.lines++;
      this.acc.ignored++;
      return;
    }
    rec.location = loc;
    this.acc.lines++;
    this.acc.events++;
    if (Number.isFinite(rec.timeMs)) this.lastEventMs = rec.timeMs + (rec.durationMs ?? 0);
    if (this.collapser) {
      const before = this.collapser.duplicates;
      this.collapser.add(rec);
      this.acc.duplicates += this.collapser.duplicates - before;
      return;
    }
    this.acc.requests++;
    if (!this.o.filter(rec)) {
      this.acc.skipped++;
      return;
    }
    this.acc.used++;
    if (this.o.records) this.out({ kind: 'event', id: requestId(rec, rec.stage), time: rec.time, timeMs: rec.timeMs, json: text(), severity: 6 });
    // Detections judge a request once, at its completing stage (as on collapsed records), not every stage.
    if (this.detector && COMPLETING.has(rec.stage)) this.sendFindings(rec);
  }

  /** A request the collapser completed (or gave up waiting for), with its identity hash. */
  private complete(r: AuditRecord, identity: number): void {
    this.acc.requests++;
    if (!this.o.filter(r)) {
      this.acc.skipped++;
      return;
    }
    this.acc.used++;
    const before = this.reuse.count;
    this.reuse.check(r, identity);
    this.acc.auditIDReuse += this.reuse.count - before;
    if (this.o.records) this.out({ kind: 'record', id: requestId(r), time: r.time, timeMs: r.timeMs, json: JSON.stringify(canonicalRecord(r)), severity: 6 });
    if (this.detector) this.sendFindings(r);
  }

  private sendFindings(r: AuditRecord): void {
    for (const f of this.detector!.check(r)) {
      this.out({ kind: 'finding', id: requestId(r, f.rule, String(f.count)), time: f.time, timeMs: r.timeMs, json: JSON.stringify(f), severity: FINDING_SEVERITY[f.severity] });
    }
  }

  /** The stage-collapse window for a checkpoint (oldest first). */
  waiting(): AuditRecord[] {
    return this.collapser ? this.collapser.waiting() : [];
  }

  /** Puts a checkpoint's waiting requests back, before reading on. */
  restore(pending: AuditRecord[]): void {
    if (!this.collapser) return;
    for (const r of pending) this.collapser.add(r);
  }

  /** Without a checkpoint to keep them in: emit the requests still waiting (at shutdown). */
  flushWaiting(): void {
    this.collapser?.flush();
  }
}

/** Bodies are left out of the checkpoint (they can be large; the completing stage brings its own). */
const NOT_SAVED = new Set(['requestObject', 'responseObject']);

/** A waiting record as the checkpoint stores it: every field but the request and response bodies. */
export function pendingToJson(r: AuditRecord): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!NOT_SAVED.has(k)) o[k] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  return o;
}

/** Back from the checkpoint; null when it is not a record (a damaged state file). */
export function pendingFromJson(o: Record<string, unknown>): AuditRecord | null {
  if (typeof o.auditID !== 'string' || typeof o.stage !== 'string' || typeof o.time !== 'string') return null;
  return { ...(o as unknown as AuditRecord), timeMs: typeof o.timeMs === 'number' ? o.timeMs : NaN };
}
