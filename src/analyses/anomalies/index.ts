// `audit anomalies`: first-time and risky access. Detection-window behaviour is profiled like the
// baseline (a reducer, so it merges); in finish it is compared with the baseline (from a file, or
// trained on the same logs before --train-until). Detection rules (src/rules: built-in, --rules,
// --sigma) run on every judged request through the rule engine.
import type { AuditRecord, FinishContext, InputAccounting, Loc, Reducer } from '../../types.js';
import { addToProfile, drainProfiles, newProfile, profiles, profileSpec, mergeProfile, windowDays, type Profile, type ProfileState, type Seen } from '../baseline/index.js';
import { absorb, drain, grow, newSpillMap, spillAll, type SpillMap, type SpillSpec } from '../../scale/spillmap.js';
import { ExternalSorter } from '../../scale/extsort.js';
import { decodeLine, encodeLine, type LineCodec } from '../../scale/codec.js';
import { mergeJoin } from '../../scale/merge.js';
import { strBytes } from '../../scale/budget.js';
import { charge, enroll, retire, type Spiller } from '../../scale/ledger.js';
import { rowsOf, type Rows } from '../../scale/lazy.js';
import { tupleKey } from '../../util/key.js';
import { probeMatches } from '../../rbac/sensitive.js';
import { keepEarliest, mergeEarliest } from '../../util/examples.js';
import { DetectionEngine, ruleInfo, type Hit, type RuleInfo, type RuleSet, type RuleStats } from '../../rules/detections.js';
import { SENSITIVE, SEVERITY_RANK, type Severity } from '../../rules/sensitive.js';
import { cmp } from '../../util/counter.js';
import { widenSpan, mergeSpan } from '../../util/span.js';
import { faultCounter } from '../../util/fault.js';
import { asInternal } from '../../util/errors.js';

/** KAUDIT_TEST_FAULT=rule:N (util/fault.ts): set when the analysis starts, null unless asked for. */
let ruleFault: (() => void) | null = null;

export const EXAMPLES = 5;

/** Baseline-relative finding kinds and their base severity, before what was touched raises it. */
export const BASELINE_FINDINGS: Record<string, { severity: Severity; description: string }> = {
  'new-subject': { severity: 'medium', description: 'a subject that was not in the baseline' },
  'new-namespace': { severity: 'medium', description: 'a namespace the subject never touched in the baseline' },
  'new-resource': { severity: 'medium', description: 'a resource the subject never touched in the baseline' },
  'first-seen': { severity: 'low', description: 'a verb, resource and namespace the subject never combined in the baseline' },
  'new-network': { severity: 'medium', description: 'a source network (/24, /64) the subject never came from' },
  'new-client': { severity: 'low', description: 'a client the subject never used' },
  'off-hours': { severity: 'medium', description: 'activity at an hour the subject is never active' },
  'volume-spike': { severity: 'medium', description: 'far more requests in a day than the subject makes' },
};

export interface AnomalyOptions {
  /** The baseline to compare with; null with trainUntilMs set (built here) or for built-in detections only. */
  baseline: ProfileState | null;
  /** Requests before this time train the baseline; the rest are judged. */
  trainUntilMs: number | null;
  /** A day with more than this times the subject's mean daily volume is a spike… */
  spikeFactor: number;
  /** …and at least this many requests above the mean. */
  spikeMin: number;
  /** Off-hours needs this many baseline requests to know a subject's hours. */
  offHoursMinRequests: number;
  /** The detection rules to run (loadRuleSet); null runs none. */
  rules: RuleSet | null;
  /**
   * What becomes of each finding before it is sorted and counted: kept, suppressed (--allow: counted
   * in summary.suppressed) or dropped (below --min-severity). Default: every finding kept.
   */
  select?: (f: Finding) => 'keep' | 'suppress' | 'drop';
}

export interface Finding {
  rule: string;
  /** The rule's title (detections) or the finding kind's description (baseline). */
  title: string;
  kind: 'baseline' | 'detection';
  severity: Severity;
  subject: string;
  subjectKind: string;
  verb: string;
  resource: string;
  namespace: string;
  time: string;
  last: string;
  count: number;
  auditIDs: string[];
  reason: string;
  /** MITRE ATT&CK technique ids of the rule ([] for baseline findings). */
  technique: string[];
  /** Where the rule came from: builtin, file or sigma. */
  source: string;
  /** For Sigma rules: the rule's id, title, author and license as the rule gives them. */
  sigma?: { id: string; title: string; author: string; license: string };
  /** Where the first request of the finding was read (the evidence SARIF cites); null when unknown. */
  location: Loc | null;
}

interface DetectAgg {
  key: string;
  rule: string;
  info: RuleInfo;
  subject: string;
  subjectKind: string;
  verb: string;
  resource: string;
  namespace: string;
  seen: Seen;
  reason: string;
}

export interface AnomalyState {
  opts: AnomalyOptions;
  train: ProfileState | null;
  detect: ProfileState;
  /** Detection hits by (rule, subject, verb, resource, namespace, reason); spilled past the memory budget. */
  detections: SpillMap<DetectAgg>;
  engine: DetectionEngine | null;
  /** Rule statistics merged in from other partial states. */
  mergedStats: RuleStats[];
  /**
   * Sharded runs (src/state): where the requests that stateful rules must judge in input order go,
   * with those rules' indices, instead of into the engine's state; replayBursts takes them back.
   * Null in one pass.
   */
  defer: ((r: AuditRecord, rules: number[]) => void) | null;
}

/** A request that stateful rules judge at the merge (see AnomalyState.defer). */
export interface Deferred {
  rules: number[];
  record: AuditRecord;
}

/** How the rules fared: how many ran, from where, and which could not judge some requests. */
export interface RulesReport {
  count: number;
  bySource: { builtin: number; file: number; sigma: number };
  /** Requests a rule could not judge, by reason ("body not logged"): never silently passed. */
  notEvaluated: { rule: string; reason: string; requests: number }[];
  /** Stateful rules that dropped keys from bounded state (windows across them may be missed). */
  evictedKeys: { rule: string; keys: number }[];
}

export interface AnomalyReport {
  kind: 'kaudit.anomalies';
  version: 2;
  input: InputAccounting;
  baseline: { source: string; window: { from: string | null; to: string | null }; days: number; subjects: number } | null;
  detection: { from: string | null; to: string | null };
  summary: { findings: number; bySeverity: Record<Severity, number>; suppressed: number; byRule: Record<string, number> };
  rules: RulesReport;
  /** Metadata of every rule that has findings, by id. */
  ruleInfo: Record<string, RuleInfo>;
  /** Most severe first (then by time, rule, subject, what, reason); `findings.length` is exact. */
  findings: Rows<Finding>;
}

function maxSev(a: Severity, b: Severity): Severity {
  return SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b;
}

/** How sensitive one tuple (`verb group/resource[/sub] ns`) is: the sensitive table, kube-system. */
export function tupleSensitivity(tuple: string): Severity {
  const [verb, res, ns] = tuple.split(' ');
  let s: Severity = 'low';
  if (ns === 'kube-system') s = 'high';
  if (!res || !res.includes('/')) return s;
  const [group, resource, sub = ''] = res.split('/');
  for (const e of SENSITIVE) {
    for (const p of e.probes ?? []) {
      if (probeMatches(p, verb!, group!, resource!, sub)) s = maxSev(s, e.severity === 'critical' ? 'critical' : 'high');
    }
  }
  return s;
}

function seenAdd(s: Seen, t: number, time: string, id: string, at: Loc): void {
  s.count++;
  widenSpan(s, t, time, at);
  if (id) keepEarliest(s.ex, t, id, EXAMPLES);
}

function mergeDetection(a: DetectAgg, b: DetectAgg): DetectAgg {
  a.seen.count += b.seen.count;
  mergeSpan(a.seen, b.seen);
  a.seen.ex = mergeEarliest(a.seen.ex, b.seen.ex, EXAMPLES);
  return a;
}

function detectionBytes(key: string, d: DetectAgg): number {
  return 2 * strBytes(key) + 600 + EXAMPLES * 80 + strBytes(d.reason);
}

const DETECTIONS: SpillSpec<DetectAgg> = { tag: 'detections', merge: mergeDetection, size: detectionBytes };

function detection(s: AnomalyState, h: Hit): void {
  const r = h.record;
  const d = h.rule.doc;
  // A threshold finding is about its key (the subject, the source…), not one request's verb and object.
  const grouped = d.threshold !== null && h.key !== null;
  const verb = grouped ? '*' : r.verb;
  const resource = grouped ? '' : r.resource ? `${r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource}${r.subresource ? `/${r.subresource}` : ''}` : r.nonResourceURL;
  const namespace = grouped ? (h.key!.namespace ?? '') : r.namespace;
  const subject = r.subject;
  const key = tupleKey([d.id, subject, verb, resource, namespace, h.reason]);
  let agg = s.detections.map.get(key);
  if (!agg) {
    agg = { key, rule: d.id, info: ruleInfo(d), subject, subjectKind: r.subjectKind, verb, resource, namespace, seen: { count: 0, firstMs: Infinity, first: '', lastMs: -Infinity, last: '', ex: [] }, reason: h.reason };
    s.detections.map.set(key, agg);
    grow(s.detections, DETECTIONS, detectionBytes(key, agg));
  }
  for (const e of h.events) seenAdd(agg.seen, e.timeMs, e.time, e.auditID, e.location);
}

export function mergeStats(a: RuleStats[], b: RuleStats[]): RuleStats[] {
  const byId = new Map(a.map((x) => [x.rule, { ...x, notEvaluated: { ...x.notEvaluated } }]));
  for (const x of b) {
    const y = byId.get(x.rule);
    if (!y) byId.set(x.rule, { ...x, notEvaluated: { ...x.notEvaluated } });
    else {
      y.matched += x.matched;
      y.evictedKeys += x.evictedKeys;
      for (const [k, n] of Object.entries(x.notEvaluated)) y.notEvaluated[k] = (y.notEvaluated[k] ?? 0) + n;
    }
  }
  return [...byId.values()];
}

/** The rules section of a report from the rule set and the run's statistics. */
export function rulesReport(set: RuleSet | null, stats: RuleStats[]): RulesReport {
  const rules = set?.rules ?? [];
  const bySource = { builtin: 0, file: 0, sigma: 0 };
  for (const r of rules) bySource[r.doc.source.kind]++;
  const notEvaluated: RulesReport['notEvaluated'] = [];
  const evictedKeys: RulesReport['evictedKeys'] = [];
  for (const st of [...stats].sort((x, y) => cmp(x.rule, y.rule))) {
    for (const [reason, n] of Object.entries(st.notEvaluated).sort(([x], [y]) => cmp(x, y))) if (n > 0) notEvaluated.push({ rule: st.rule, reason, requests: n });
    if (st.evictedKeys > 0) evictedKeys.push({ rule: st.rule, keys: st.evictedKeys });
  }
  return { count: rules.length, bySource, notEvaluated, evictedKeys };
}

const METERS = new WeakMap<DetectionEngine, { held: number; spill(): void }>();

/**
 * Counts the rule engine's state in this thread's memory ledger (issue 15: on a log of distinct
 * users the stateful rules keyed by subject hold up to maxKeys keys each, about 100 MB that the
 * budget did not see). It cannot spill; what can (profiles, detections) spills sooner instead.
 */
function meterEngine(engine: DetectionEngine): DetectionEngine {
  const meter: Spiller & { held: number } = { held: 0, spill() {} };
  enroll(meter);
  METERS.set(engine, meter);
  engine.onHeld = (bytes) => {
    charge(bytes - meter.held);
    meter.held = bytes;
  };
  return engine;
}

/** Takes the engine's state out of the ledger (the run is over). */
function unmeterEngine(engine: DetectionEngine | null): void {
  const meter = engine ? METERS.get(engine) : undefined;
  if (!engine || !meter) return;
  engine.onHeld = null;
  retire(meter, meter.held);
  meter.held = 0;
}

export const anomalies: Reducer<AnomalyState, AnomalyReport, AnomalyOptions> = {
  init(opts) {
    ruleFault = faultCounter('rule');
    return {
      opts,
      train: opts.trainUntilMs !== null ? profiles.init({ examples: 0 }) : null,
      detect: profiles.init({ examples: EXAMPLES }),
      detections: newSpillMap(),
      engine: opts.rules ? meterEngine(new DetectionEngine(opts.rules)) : null,
      mergedStats: [],
      defer: null,
    };
  },

  add(s, r) {
    if (s.train && (r.timeMs < s.opts.trainUntilMs! || Number.isNaN(r.timeMs))) {
      profiles.add(s.train, r);
      return;
    }
    profiles.add(s.detect, r);
    // Where detections are evaluated against a record: an exception here is an internal error of
    // the `rule` component (the rule engine keeps this call and this wrapping).
    try {
      ruleFault?.();
      if (!s.engine) return;
      if (s.defer === null) return s.engine.evaluate(r, (h) => detection(s, h));
      const deferred: number[] = [];
      s.engine.evaluate(r, (h) => detection(s, h), (i) => deferred.push(i));
      if (deferred.length) s.defer(r, deferred);
    } catch (e) {
      throw asInternal(e, 'rule', '');
    }
  },

  merge(a, b) {
    if (a.train && b.train) profiles.merge(a.train, b.train);
    profiles.merge(a.detect, b.detect);
    a.mergedStats = mergeStats(a.mergedStats, mergeStats(b.mergedStats, b.engine?.stats() ?? []));
    unmeterEngine(b.engine);
    absorb(a.detections, b.detections, DETECTIONS);
    return a;
  },

  finish(s, ctx: FinishContext) {
    unmeterEngine(s.engine);
    const base = s.opts.baseline ?? s.train;
    const select = s.opts.select ?? (() => 'keep' as const);
    // Maps: rule ids are data (a user rule may be called constructor or __proto__).
    const ruleInfoById = new Map<string, RuleInfo>();
    // Findings are counted as they are made and sorted on disk past the memory budget: a million
    // subjects new to the baseline are a million findings, never one array in memory.
    const sorter = new ExternalSorter<Finding>({ compare: findingOrder, size: findingBytes, tag: 'findings', codec: FINDING_CODEC });
    const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
    const byRule = new Map<string, number>();
    let suppressed = 0;
    const take = (f: Finding, info?: RuleInfo): void => {
      const what = select(f);
      if (what === 'suppress') suppressed++;
      if (what !== 'keep') return;
      if (info) ruleInfoById.set(info.id, info);
      bySeverity[f.severity]++;
      byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
      sorter.add(f);
    };
    for (const [, d] of drain(s.detections, DETECTIONS)) {
      const i = d.info;
      take(
        {
          rule: d.rule,
          title: i.title,
          kind: 'detection',
          severity: i.severity,
          subject: d.subject,
          subjectKind: d.subjectKind,
          verb: d.verb,
          resource: d.resource,
          namespace: d.namespace,
          time: d.seen.first,
          last: d.seen.last,
          count: d.seen.count,
          auditIDs: d.seen.ex.map((e) => e[1]),
          reason: d.reason,
          technique: i.technique,
          source: i.source.kind,
          location: d.seen.firstAt ?? null,
          ...(i.sigma ? { sigma: { id: i.sigma.id, title: i.sigma.title, author: i.sigma.author, license: i.sigma.license } } : {}),
        },
        i,
      );
    }
    let baseSubjects = 0;
    if (base) {
      // With profiles on disk anyway, what both sides still hold in memory joins their runs first.
      // Left in memory it stays counted in the ledger until the merge reaches it (drain), and the
      // findings sorted meanwhile would get only what is left of the budget: at a million subjects,
      // 60-odd runs of a few MB each, another merge pass over every finding and a full collection
      // after each spill (issue 15). Written out, the profiles are read back once and the findings
      // spill in runs of half the budget.
      if (s.detect.subjects.runs.length > 0 || base.subjects.runs.length > 0) {
        spillAll(s.detect.subjects, profileSpec(s.detect.opts.examples));
        spillAll(base.subjects, profileSpec(base.opts.examples));
      }
      // Both sides by subject, merged across their spilled runs: a merge join, never a lookup table.
      const days = windowDays(base.fromMs, base.toMs);
      for (const [subject, p, b] of mergeJoin(drainProfiles(s.detect), drainProfiles(base))) {
        if (b) baseSubjects++;
        if (p) for (const f of subjectFindings(s.opts, subject, p, b, days)) take(f);
      }
    } else for (const _ of drainProfiles(s.detect)) void _;
    const findings = rowsOf(sorter);
    return {
      kind: 'kaudit.anomalies',
      version: 2,
      input: ctx.input,
      baseline: base ? { source: s.opts.baseline ? 'file' : 'trained', window: { from: base.from || null, to: base.to || null }, days: windowDays(base.fromMs, base.toMs), subjects: baseSubjects } : null,
      detection: { from: s.detect.from || null, to: s.detect.to || null },
      summary: { findings: sorter.count, bySeverity, suppressed, byRule: Object.fromEntries([...byRule].sort(([a], [b]) => cmp(a, b))) },
      rules: rulesReport(s.opts.rules, mergeStats(s.mergedStats, s.engine?.stats() ?? [])),
      ruleInfo: Object.fromEntries([...ruleInfoById].sort(([x], [y]) => cmp(x, y))),
      findings,
    };
  },
};

/** Most severe first, then by time, rule, subject, what and reason: a total order, so spilled and in-memory sorts agree. */
export function findingOrder(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    cmp(a.time, b.time) ||
    cmp(a.rule, b.rule) ||
    cmp(a.subject, b.subject) ||
    cmp(`${a.verb} ${a.resource} ${a.namespace}`, `${b.verb} ${b.resource} ${b.namespace}`) ||
    cmp(a.reason, b.reason)
  );
}

/** A finding's members in the order both kinds of findings are built (sigma, when present, last). */
const FINDING_KEYS = ['rule', 'title', 'kind', 'severity', 'subject', 'subjectKind', 'verb', 'resource', 'namespace', 'time', 'last', 'count', 'auditIDs', 'reason', 'technique', 'source', 'location'] as const;
const STRING_KEYS = ['rule', 'title', 'kind', 'severity', 'subject', 'subjectKind', 'verb', 'resource', 'namespace', 'time', 'last', 'reason', 'source'] as const;

/** Whether a finding has exactly FINDING_KEYS (then sigma) in that order, with values JSON keeps as they are. */
function flatFinding(f: Finding): boolean {
  const keys = Object.keys(f);
  const n = FINDING_KEYS.length;
  if (keys.length !== n && !(keys.length === n + 1 && keys[n] === 'sigma' && f.sigma !== undefined && plainLine(f.sigma))) return false;
  for (let i = 0; i < n; i++) if (keys[i] !== FINDING_KEYS[i]) return false;
  for (const k of STRING_KEYS) if (typeof f[k] !== 'string') return false;
  return (
    Number.isFinite(f.count) && !Object.is(f.count, -0) &&
    Array.isArray(f.auditIDs) && f.auditIDs.every((x) => typeof x === 'string') &&
    Array.isArray(f.technique) && f.technique.every((x) => typeof x === 'string') &&
    (f.location === null || plainLine(f.location))
  );
}

/** A flat object of strings and finite numbers (a Loc, a sigma block): JSON.stringify and JSON.parse give it back, key order included. */
function plainLine(o: object): boolean {
  if (Object.getPrototypeOf(o) !== Object.prototype) return false;
  for (const k of Object.keys(o)) {
    if (k === '__proto__') return false;
    const v = (o as Record<string, unknown>)[k];
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v) && !Object.is(v, -0))) return false;
  }
  return true;
}

/**
 * Findings in the external sort's runs (issue 15: a million subjects new to the baseline are a
 * million findings): one JSON array of the members in FINDING_KEYS order (a line starting "["),
 * read back into an object of the same key order; any other finding takes the generic codec
 * (src/scale/codec.ts encodeLine, whose lines start otherwise). decode(encode(f)) writes the same JSON.
 */
export const FINDING_CODEC: LineCodec<Finding> = {
  encode(f: Finding): string {
    if (!flatFinding(f)) return encodeLine(f);
    const a: unknown[] = [f.rule, f.title, f.kind, f.severity, f.subject, f.subjectKind, f.verb, f.resource, f.namespace, f.time, f.last, f.count, f.auditIDs, f.reason, f.technique, f.source, f.location];
    if (f.sigma !== undefined) a.push(f.sigma);
    return JSON.stringify(a);
  },
  decode(line: string): Finding {
    if (line.charCodeAt(0) !== 91 /* [ */) return decodeLine(line) as Finding;
    const a = JSON.parse(line) as unknown[];
    const f: Finding = {
      rule: a[0] as string,
      title: a[1] as string,
      kind: a[2] as Finding['kind'],
      severity: a[3] as Severity,
      subject: a[4] as string,
      subjectKind: a[5] as string,
      verb: a[6] as string,
      resource: a[7] as string,
      namespace: a[8] as string,
      time: a[9] as string,
      last: a[10] as string,
      count: a[11] as number,
      auditIDs: a[12] as string[],
      reason: a[13] as string,
      technique: a[14] as string[],
      source: a[15] as string,
      location: a[16] as Loc | null,
    };
    if (a.length > 17) f.sigma = a[17] as Finding['sigma'];
    return f;
  },
};

function findingBytes(f: Finding): number {
  return 900 + 2 * (f.reason.length + f.subject.length + f.title.length) + 120 * f.auditIDs.length;
}

export function summarize(findings: Finding[], suppressed: number): AnomalyReport['summary'] {
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  // A Map: rule ids are data (a user rule may be called constructor or toString).
  const byRule = new Map<string, number>();
  for (const f of findings) {
    bySeverity[f.severity]++;
    byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
  }
  return { findings: findings.length, bySeverity, suppressed, byRule: Object.fromEntries([...byRule].sort(([a], [b]) => cmp(a, b))) };
}

function describeTuple(t: string): { verb: string; resource: string; namespace: string; label: string } {
  const parts = t.split(' ');
  const [verb, res = '', ns = '-'] = parts;
  // Resource tuples have three parts (verb group/resource[/sub] namespace); non-resource ones two (verb /path).
  if (parts.length < 3) return { verb: verb!, resource: res, namespace: '', label: `${verb} ${res}` };
  const [group, resource, sub] = res.split('/');
  const r = `${group ? `${resource}.${group}` : resource}${sub ? `/${sub}` : ''}`;
  return { verb: verb!, resource: r, namespace: ns === '-' ? '' : ns, label: `${verb} ${r}${ns === '-' ? '' : ` in ${ns}`}` };
}

/** The baseline findings of one subject: `p` its detection profile, `b` its baseline profile (undefined: a new subject). */
function subjectFindings(o: AnomalyOptions, subject: string, p: Profile, b: Profile | undefined, days: number): Finding[] {
  const out: Finding[] = [];
  const span = `${days} day${days === 1 ? '' : 's'} of baseline`;
  const make = (rule: string, subject: string, p: Profile, seen: Seen, t: { verb: string; resource: string; namespace: string }, severity: Severity, reason: string): Finding => ({
    rule,
    title: BASELINE_FINDINGS[rule]!.description,
    kind: 'baseline',
    severity,
    subject,
    subjectKind: p.kind,
    verb: t.verb,
    resource: t.resource,
    namespace: t.namespace,
    time: seen.first,
    last: seen.last,
    count: seen.count,
    auditIDs: seen.ex.map((e) => e[1]),
    reason,
    technique: [],
    source: 'baseline',
    location: seen.firstAt ?? null,
  });
  {
    const tuples = [...p.tuples].sort(([x], [y]) => cmp(x, y));
    const sensitivityOf = (filter: (t: string) => boolean): Severity => tuples.filter(([t]) => filter(t)).reduce<Severity>((acc, [t]) => maxSev(acc, tupleSensitivity(t)), 'low');
    if (!b) {
      const all: Seen = { count: p.requests, firstMs: p.firstMs, first: p.first, lastMs: p.lastMs, last: p.last, ...(p.firstAt ? { firstAt: p.firstAt } : {}), ex: [...p.tuples.values()].flatMap((x) => x.ex).sort((x, y) => x[0] - y[0] || cmp(x[1], y[1])).slice(0, EXAMPLES) };
      const top = tuples.slice(0, 3).map(([t]) => describeTuple(t).label);
      out.push(make('new-subject', subject, p, all, { verb: '*', resource: '', namespace: '' }, maxSev(BASELINE_FINDINGS['new-subject']!.severity, sensitivityOf(() => true)), `${subject} was not seen in the ${span}; first requests: ${top.join('; ')}`));
      return out;
    }
    const newNs = new Set([...p.namespaces.keys()].filter((ns) => !b.namespaces.has(ns)));
    const newRes = new Set([...p.resources.keys()].filter((r) => !b.resources.has(r)));
    for (const ns of [...newNs].sort(cmp)) {
      const seen = p.namespaces.get(ns)!;
      const sev = maxSev(maxSev(BASELINE_FINDINGS['new-namespace']!.severity, sensitivityOf((t) => t.endsWith(` ${ns}`))), ns === 'kube-system' ? 'high' : 'low');
      const what = tuples.filter(([t]) => t.endsWith(` ${ns}`)).slice(0, 3).map(([t]) => describeTuple(t).label);
      out.push(make('new-namespace', subject, p, seen, { verb: '*', resource: '', namespace: ns }, sev, `first time in ${span} that ${subject} worked in namespace ${ns}: ${what.join('; ')}`));
    }
    for (const res of [...newRes].sort(cmp)) {
      const seen = p.resources.get(res)!;
      const inRes = (t: string): boolean => t.split(' ')[1] === res;
      const d = describeTuple(`x ${res} -`);
      const what = tuples.filter(([t]) => inRes(t)).slice(0, 3).map(([t]) => describeTuple(t).label);
      out.push(make('new-resource', subject, p, seen, { verb: '*', resource: d.resource, namespace: '' }, maxSev(BASELINE_FINDINGS['new-resource']!.severity, sensitivityOf(inRes)), `first time in ${span} that ${subject} touched ${d.resource}: ${what.join('; ')}`));
    }
    for (const [t, seen] of tuples) {
      if (b.tuples.has(t)) continue;
      const [, res = '', ns = '-'] = t.split(' ');
      if (newNs.has(ns) || newRes.has(res)) continue; // already reported under the new namespace or resource
      const d = describeTuple(t);
      out.push(make('first-seen', subject, p, seen, d, maxSev(BASELINE_FINDINGS['first-seen']!.severity, tupleSensitivity(t)), `first time in ${span} that ${subject} did ${d.label}`));
    }
    for (const [net, seen] of [...p.networks].sort(([x], [y]) => cmp(x, y))) {
      if (b.networks.has(net)) continue;
      out.push(make('new-network', subject, p, seen, { verb: '*', resource: '', namespace: '' }, BASELINE_FINDINGS['new-network']!.severity, `first time in ${span} that ${subject} came from ${net} (usually ${[...b.networks.keys()].sort(cmp).slice(0, 3).join(', ')})`));
    }
    for (const [client, seen] of [...p.clients].sort(([x], [y]) => cmp(x, y))) {
      if (b.clients.has(client)) continue;
      out.push(make('new-client', subject, p, seen, { verb: '*', resource: '', namespace: '' }, BASELINE_FINDINGS['new-client']!.severity, `first time in ${span} that ${subject} used ${client} (usually ${[...b.clients.keys()].sort(cmp).slice(0, 3).join(', ')})`));
    }
    // Usual hours are a person's: controllers run around the clock, anonymous probes at random.
    if (p.kind === 'User' && b.requests >= o.offHoursMinRequests) {
      for (const [dh, seen] of [...p.dayHours].sort(([x], [y]) => cmp(x, y))) {
        const hour = Number(dh.slice(11, 13));
        if (b.hours[hour]! > 0) continue;
        const active = b.hours.map((n, h) => (n > 0 ? h : -1)).filter((h) => h >= 0);
        const usual = active.length ? `${String(active[0]).padStart(2, '0')}:00–${String(active[active.length - 1]! + 1).padStart(2, '0')}:00 UTC` : 'never';
        out.push(make('off-hours', subject, p, seen, { verb: '*', resource: '', namespace: '' }, BASELINE_FINDINGS['off-hours']!.severity, `${seen.count} requests by ${subject} at ${dh.slice(11, 13)}:00 UTC on ${dh.slice(0, 10)}, never active at that hour in ${span} (usually ${usual})`));
      }
    }
    const baseDays = [...b.daily.values()];
    const mean = baseDays.length ? baseDays.reduce((x, y) => x + y, 0) / Math.max(days, baseDays.length) : 0;
    for (const [day, n] of [...p.daily].sort(([x], [y]) => cmp(x, y))) {
      if (mean > 0 && n > o.spikeFactor * mean && n - mean >= o.spikeMin) {
        const seen: Seen = { count: n, firstMs: p.firstMs, first: `${day}T00:00:00Z`, lastMs: p.lastMs, last: `${day}T23:59:59Z`, ex: [] };
        const dayHours = [...p.dayHours].filter(([k]) => k.startsWith(day));
        // Evidence from the busiest hour of the day, where the spike is.
        const busiest = dayHours.sort((x, y) => y[1].count - x[1].count || cmp(x[0], y[0]))[0];
        if (busiest) {
          seen.ex = busiest[1].ex;
          seen.first = busiest[1].first;
          seen.last = busiest[1].last;
          if (busiest[1].firstAt) seen.firstAt = busiest[1].firstAt;
        }
        out.push(make('volume-spike', subject, p, seen, { verb: '*', resource: '', namespace: '' }, BASELINE_FINDINGS['volume-spike']!.severity, `${n} requests by ${subject} on ${day}, ${Math.round((10 * n) / mean) / 10}× the daily mean of ${Math.round(mean)} in ${span}`));
      }
    }
  }
  return out;
}

export { newProfile, addToProfile, mergeProfile };

/**
 * Judges a deferred request with the stateful rules that deferred it, on this state's engine, which
 * has seen everything before it in input order (audit merge replays each shard's deferred requests
 * after merging the shard's state).
 */
export function replayDeferred(s: AnomalyState, d: Deferred): void {
  for (const i of d.rules) s.engine?.replay(i, d.record, (h) => detection(s, h));
}
