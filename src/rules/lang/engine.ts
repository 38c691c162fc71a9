// The detection engine: a compiled rule set evaluated record by record, with bounded state for
// stateful rules. A library API: `loadRuleSet` (load.ts) → `new DetectionEngine(set)` →
// `engine.evaluate(record, emit)` for each record → `engine.stats()`. It does no I/O and keeps no
// clock, so `audit anomalies` and a live stream (`audit follow --findings`) use it alike.
//
// State is bounded: at most `maxKeys` keys per stateful rule, kept in two generations (a key used in
// the current or the previous generation survives; the keys of an older generation are dropped and
// counted, in O(1) whatever the churn), `count` events per threshold key, `maxValuesPerKey` values
// per first-seen key, and at most `maxEntries` kept events or values per rule over all its keys (a
// generation also ends when it holds half of them: keys × count alone allows 10^9 events).
// Stateful rules judge requests in the order they are read; a threshold window is found whatever
// the order among the last `count` requests of a key.
import type { BodyNeeds } from '../../normalize/bodies.js';
import type { AuditRecord } from '../../types.js';
import { F, T, U, type CompiledCondition, type CompiledRule, type EvalContext, type Hit, type HitEvent, type RuleStats, type Truth } from './types.js';

export interface EngineLimits {
  /** Keys per stateful rule (subjects, source IPs…). */
  maxKeys: number;
  /** Distinct values remembered per first-seen key. */
  maxValuesPerKey: number;
  /** Events kept by a threshold rule, or values by a first-seen rule, over all its keys. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: EngineLimits = { maxKeys: 100_000, maxValuesPerKey: 1_000, maxEntries: 1_000_000 };

/** A compiled, indexed rule set. */
export interface RuleSet {
  rules: CompiledRule[];
  /** Warnings from loading (rules skipped, Sigma tags dropped…), for stderr. */
  warnings: string[];
  /** The request and response bodies the rules may read (the pipeline parses only these); absent: both. */
  bodies?: BodyNeeds;
}

const INDEX_CAP = 20_000;

/** Rough heap bytes of one key of a stateful rule with what it holds (map entry, key string, window or value set). */
export const KEY_STATE_BYTES = 320;

/**
 * The one place where a rule's condition is evaluated against a record. Every evaluation goes
 * through here (per-request rules, the filter of stateful rules, each step of a sequence), so a
 * test-only fault hook (issue 23, KAUDIT_TEST_FAULT=rule:N) has a single call site.
 */
export function evaluateRule(rule: CompiledRule, ctx: EvalContext, cond: CompiledCondition = rule.match): Truth {
  return cond(ctx);
}

interface WindowEvent extends HitEvent {
  reported: boolean;
}

interface RuleState {
  /** Keys used in this generation… */
  cur: Map<string, unknown>;
  /** …and in the one before; an older generation is dropped whole when `cur` fills up. */
  prev: Map<string, unknown>;
  /** Events or values held by the keys of `cur`. */
  curEntries: number;
  stats: RuleStats;
}

export class DetectionEngine {
  private readonly state: RuleState[];
  private readonly ctx: EvalContext = { rec: null as unknown as AuditRecord, scope: undefined, inScope: false, why: '', bodies: new Map() };
  private readonly index = new Map<string, Map<string, Map<string, CompiledRule[]>>>();
  private indexed = 0;
  private readonly limits: EngineLimits;
  /** Keys held over every rule and both generations. */
  private keys = 0;
  /**
   * Told the rules' state's estimated heap bytes (keys × KEY_STATE_BYTES) whenever its number of
   * keys changes: `audit anomalies` counts it in the memory ledger (src/scale/ledger.ts), so that
   * what can spill spills sooner; the state itself is bounded by the limits, never spilled.
   */
  onHeld: ((bytes: number) => void) | null = null;

  constructor(
    readonly set: RuleSet,
    limits: Partial<EngineLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.state = set.rules.map((r) => ({ cur: new Map(), prev: new Map(), curEntries: 0, stats: { rule: r.doc.id, matched: 0, notEvaluated: {}, evictedKeys: 0 } }));
  }

  /** The rules that can match a request with this verb, resource and subject kind (memoized). */
  private candidates(r: AuditRecord): CompiledRule[] {
    let byRes = this.index.get(r.verb);
    let byKind = byRes?.get(r.resource);
    const hit = byKind?.get(r.subjectKind);
    if (hit) return hit;
    const list = this.set.rules.filter((x) => (!x.verbs || x.verbs.has(r.verb)) && (!x.resources || x.resources.has(r.resource)) && (!x.subjectKinds || x.subjectKinds.has(r.subjectKind)));
    if (this.indexed < INDEX_CAP) {
      if (!byRes) this.index.set(r.verb, (byRes = new Map()));
      if (!byKind) byRes.set(r.resource, (byKind = new Map()));
      byKind.set(r.subjectKind, list);
      this.indexed++;
    }
    return list;
  }

  private begin(r: AuditRecord): void {
    const c = this.ctx;
    c.rec = r;
    if (c.bodies.size) c.bodies.clear();
    c.scope = undefined;
    c.inScope = false;
  }

  /**
   * Evaluates every rule on one record; `emit` receives each hit (in rule order). With `defer`
   * (sharded runs, src/state), a stateful rule only evaluates its filter here and counts it, and
   * hands the rule's index to `defer` instead of touching its state: `replay` runs the stateful
   * part later, in input order, on the engine that holds the state of everything before.
   */
  evaluate(r: AuditRecord, emit: (h: Hit) => void, defer?: (rule: number) => void): void {
    const c = this.ctx;
    this.begin(r);
    for (const rule of this.candidates(r)) {
      const st = this.state[rule.index]!;
      const d = rule.doc;
      if (d.sequence) {
        const truths = this.sequenceTruths(rule, st, true);
        if (truths === null) continue;
        if (defer) defer(rule.index);
        else this.sequence(rule, st, r, truths, emit);
        continue;
      }
      const v = evaluateRule(rule, c);
      if (v === F) continue;
      if (v === U) {
        st.stats.notEvaluated[c.why] = (st.stats.notEvaluated[c.why] ?? 0) + 1;
        continue;
      }
      st.stats.matched++;
      if ((d.threshold || d.firstSeen) && defer) defer(rule.index);
      else if (d.threshold) this.threshold(rule, st, r, emit);
      else if (d.firstSeen) this.firstSeen(rule, st, r, emit);
      else emit({ rule, record: r, events: [{ timeMs: r.timeMs, time: r.time, auditID: r.auditID, location: r.location }], key: null, reason: rule.reason(r, {}) });
    }
  }

  private keyOf(fns: ((r: AuditRecord) => string)[], r: AuditRecord): string {
    return fns.length === 1 ? fns[0]!(r) : fns.map((f) => f(r)).join('\u0000');
  }

  private keyFields(rule: CompiledRule, r: AuditRecord): Record<string, string> {
    const by = rule.doc.threshold?.by ?? rule.doc.firstSeen?.by ?? rule.doc.sequence?.by ?? [];
    return Object.fromEntries(by.map((f, i) => [f, rule.by[i]!(r)]));
  }

  /** The state of a key: from this generation, carried over from the previous one, or new. `entries`: the events or values it holds. */
  private bounded<V>(st: RuleState, key: string, make: () => V, entries: (v: V) => number = () => 0): V {
    const half = this.limits.maxEntries / 2;
    let v = st.cur.get(key) as V | undefined;
    if (v !== undefined) {
      if (st.curEntries < half) return v;
      // The generation holds its share of entries: start a new one, carrying this key over.
      st.cur.delete(key);
      st.curEntries -= entries(v);
    } else {
      v = st.prev.get(key) as V | undefined;
      if (v !== undefined) st.prev.delete(key);
      else {
        v = make();
        this.keys++;
        this.onHeld?.(this.keys * KEY_STATE_BYTES);
      }
    }
    if (st.cur.size >= Math.max(1, Math.floor(this.limits.maxKeys / 2)) || st.curEntries >= half) {
      st.stats.evictedKeys += st.prev.size;
      this.keys -= st.prev.size;
      this.onHeld?.(this.keys * KEY_STATE_BYTES);
      st.prev = st.cur;
      st.cur = new Map();
      st.curEntries = 0;
    }
    st.cur.set(key, v);
    st.curEntries += entries(v);
    return v;
  }

  private timed(st: RuleState, r: AuditRecord): boolean {
    if (Number.isFinite(r.timeMs)) return true;
    st.stats.notEvaluated['no timestamp'] = (st.stats.notEvaluated['no timestamp'] ?? 0) + 1;
    return false;
  }

  /** N requests within M ms per key: the requests of every window that reaches N are reported once each. */
  private threshold(rule: CompiledRule, st: RuleState, r: AuditRecord, emit: (h: Hit) => void): void {
    if (!this.timed(st, r)) return;
    const { count, withinMs } = rule.doc.threshold!;
    const evs = this.bounded<WindowEvent[]>(st, this.keyOf(rule.by, r), () => [], (x) => x.length);
    const held = evs.length;
    const ev: WindowEvent = { timeMs: r.timeMs, time: r.time, auditID: r.auditID, location: r.location, reported: false };
    let i = evs.length;
    while (i > 0 && evs[i - 1]!.timeMs > ev.timeMs) i--;
    evs.splice(i, 0, ev);
    const fresh: HitEvent[] = [];
    for (let j = 0; j + count <= evs.length; j++) {
      if (evs[j + count - 1]!.timeMs - evs[j]!.timeMs > withinMs) continue;
      for (let k = j; k < j + count; k++) {
        const e = evs[k]!;
        if (!e.reported) {
          e.reported = true;
          fresh.push({ timeMs: e.timeMs, time: e.time, auditID: e.auditID, location: e.location });
        }
      }
    }
    if (evs.length > count) evs.splice(0, evs.length - count);
    st.curEntries += evs.length - held;
    if (fresh.length) emit({ rule, record: r, events: fresh, key: this.keyFields(rule, r), reason: rule.reason(r, { count: String(count), within: formatMs(withinMs), key: Object.values(this.keyFields(rule, r)).join(' ') }) });
  }

  /** A value never seen for its key, once the key has been observed for `afterMs`. */
  private firstSeen(rule: CompiledRule, st: RuleState, r: AuditRecord, emit: (h: Hit) => void): void {
    if (!this.timed(st, r)) return;
    const spec = rule.doc.firstSeen!;
    const g = this.bounded(st, this.keyOf(rule.by, r), () => ({ firstMs: r.timeMs, values: new Set<string>() }), (x) => x.values.size);
    if (r.timeMs < g.firstMs) g.firstMs = r.timeMs;
    const value = this.keyOf(rule.value, r);
    if (g.values.has(value)) return;
    if (g.values.size >= this.limits.maxValuesPerKey) {
      st.stats.notEvaluated['too many values for one key'] = (st.stats.notEvaluated['too many values for one key'] ?? 0) + 1;
      return;
    }
    const learning = g.values.size === 0 || r.timeMs - g.firstMs < spec.afterMs;
    g.values.add(value);
    st.curEntries++;
    if (learning) return;
    emit({ rule, record: r, events: [{ timeMs: r.timeMs, time: r.time, auditID: r.auditID, location: r.location }], key: null, reason: rule.reason(r, { key: Object.values(this.keyFields(rule, r)).join(' '), within: formatMs(spec.afterMs) }) });
  }

  /**
   * A deferred stateful rule's turn (see `evaluate`): the state update `evaluate` would have made
   * for this record, whose filter already matched and was counted where it was evaluated.
   */
  replay(index: number, r: AuditRecord, emit: (h: Hit) => void): void {
    const rule = this.set.rules[index]!;
    const st = this.state[index]!;
    this.begin(r);
    const d = rule.doc;
    if (d.sequence) {
      const truths = this.sequenceTruths(rule, st, false);
      if (truths !== null) this.sequence(rule, st, r, truths, emit);
    } else if (d.threshold) this.threshold(rule, st, r, emit);
    else if (d.firstSeen) this.firstSeen(rule, st, r, emit);
  }

  /** A sequence rule's filter and steps on the current record: the truth of each step, or null when no step holds. */
  private sequenceTruths(rule: CompiledRule, st: RuleState, count: boolean): Truth[] | null {
    const c = this.ctx;
    if (rule.doc.match) {
      const v = evaluateRule(rule, c);
      if (v === U && count) st.stats.notEvaluated[c.why] = (st.stats.notEvaluated[c.why] ?? 0) + 1;
      if (v !== T) return null;
    }
    let anyT = false;
    let anyU = false;
    const truths: Truth[] = [];
    for (const s of rule.steps) {
      const t = evaluateRule(rule, c, s);
      truths.push(t);
      if (t === T) anyT = true;
      else if (t === U) anyU = true;
    }
    if (anyU && count) st.stats.notEvaluated[c.why] = (st.stats.notEvaluated[c.why] ?? 0) + 1;
    return anyT ? truths : null;
  }

  /** Steps in order by the same key, the last within `withinMs` of the first. */
  private sequence(rule: CompiledRule, st: RuleState, r: AuditRecord, truths: Truth[], emit: (h: Hit) => void): void {
    const steps = rule.steps;
    if (!this.timed(st, r)) return;
    st.stats.matched++;
    const { withinMs } = rule.doc.sequence!;
    const prog = this.bounded<({ startMs: number; lastMs: number; events: HitEvent[] } | null)[]>(st, this.keyOf(rule.by, r), () => steps.map(() => null));
    const ev: HitEvent = { timeMs: r.timeMs, time: r.time, auditID: r.auditID, location: r.location };
    // Last step first, so that one request never completes two steps at once.
    for (let i = steps.length - 1; i >= 0; i--) {
      if (truths[i] !== T) continue;
      if (i === 0) {
        prog[0] = { startMs: r.timeMs, lastMs: r.timeMs, events: [ev] };
        continue;
      }
      const prev = prog[i - 1];
      if (!prev || r.timeMs < prev.lastMs || r.timeMs - prev.startMs > withinMs) continue;
      const done = { startMs: prev.startMs, lastMs: r.timeMs, events: [...prev.events, ev] };
      if (i === steps.length - 1) {
        emit({ rule, record: r, events: done.events, key: this.keyFields(rule, r), reason: rule.reason(r, { within: formatMs(withinMs), key: Object.values(this.keyFields(rule, r)).join(' '), steps: String(steps.length) }) });
        prog[i - 1] = null;
      } else prog[i] = done;
    }
  }

  /** Per-rule counts so far (matched, not evaluated by reason, evicted keys), in rule order. */
  stats(): RuleStats[] {
    return this.state.map((s) => ({ ...s.stats, notEvaluated: { ...s.stats.notEvaluated } }));
  }
}

/** 300000 → "5m", 5400000 → "90m", 7200000 → "2h". */
export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
