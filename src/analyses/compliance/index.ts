// `audit compliance`: a scored, evidence-carrying least-privilege report. It runs the drift reducer
// (same model, same numbers), keeps hourly activity for log coverage and the evidence of privileged
// use, then evaluates the checks of src/rules/compliance.ts.
import type { AuditRecord, FinishContext, InputAccounting, Reducer } from '../../types.js';
import { drift, type DriftOptions, type DriftState } from '../drift/index.js';
import { classifySubject } from '../../normalize/subject.js';
import { describeRule, evaluate, grantedSensitive, type DriftReport, type GrantSource, type SubjectDrift } from '../drift/evaluate.js';
import type { PolicyRule } from '../../types.js';
import { sourceLabel, subjectName } from '../drift/view.js';
import { CHECKS, FRAMEWORKS, type ComplianceCheck, type Framework } from '../../rules/compliance.js';
import { SENSITIVE } from '../../rules/sensitive.js';
import { cmp } from '../../util/counter.js';
import { formatTime } from '../../normalize/time.js';
import { ExternalSorter } from '../../scale/extsort.js';
import { ListWriter, concatRows, isSpilled, releaseLists, type Rereadable } from '../../scale/spilled.js';
import { ENTRY_BYTES, OBJECT_BYTES, roughBytes, strBytes } from '../../scale/budget.js';
import { absorb, drain, grow, newSpillMap, type SpillMap, type SpillSpec } from '../../scale/spillmap.js';
import { keepEarliest, mergeEarliest } from '../../util/examples.js';
import { plural } from '../../render/format.js';
import { ENTRY_CODEC, SUBJECT_ROW_CODEC, type SubjectRow } from './entry.js';

/** The earliest auditIDs of requests a subject's grants through cluster-admin allowed, at most five. */
function clusterAdminUse(d: SubjectDrift, binding: string): string[] {
  const ids = d.used.filter((u) => u.source.role.kind === 'ClusterRole' && u.source.role.name === 'cluster-admin' && sourceLabel(u.source) === binding).flatMap((u) => u.auditIDs);
  return [...new Set(ids)].slice(0, 5);
}

export interface ComplianceOptions extends DriftOptions {
  frameworks: Framework[];
  /** Period under review; null: the logs' own window. */
  period: { fromMs: number; toMs: number } | null;
  /** The report's "generated at" (from --now, or the clock in the CLI: never read here). */
  generatedAt: string;
  version: string;
  rbacFiles: { path: string; sha256: string }[];
  rbacDigest: string;
}

interface Evidence {
  count: number;
  ex: [number, string][];
}

export interface ComplianceState {
  opts: ComplianceOptions;
  drift: DriftState;
  /** Requests per hour (epoch hour → count). */
  hours: Map<number, number>;
  /**
   * Requests made as members of system:masters, per user: in memory up to the budget (--memory),
   * then spilled as runs sorted by user (src/scale/spillmap.ts; issue 15: a log may hold a million
   * such users).
   */
  masters: SpillMap<Evidence>;
  /** Requests made by default service accounts, per user (spilled like `masters`). */
  defaultSA: SpillMap<Evidence>;
}

/** A check's outcome; `not-assessed` when the inputs cannot show it (KC-12 without a period under review). */
export type Status = 'pass' | 'warn' | 'fail' | 'not-assessed';

/** Statuses from the worst down, for --fail-on and for counting. */
export const STATUSES: readonly Status[] = ['fail', 'warn', 'pass', 'not-assessed'];

export interface CheckResult {
  id: string;
  title: string;
  expectation: string;
  status: Status;
  summary: string;
  controls: Partial<Record<Framework, string[]>>;
  /** subjects: in code-unit order (scores: red then yellow, dormant: report order), every one: an array, or a SpilledList read from disk. */
  evidence: { subjects: Rereadable<string>; rules: { subject: string; rule: string; source: string }[]; auditIDs: string[] };
}

export interface ComplianceReport {
  kind: 'kaudit.compliance';
  version: 1;
  evaluation: { generatedAt: string; kaudit: string; window: { from: string | null; to: string | null }; period: { from: string; to: string } | null; frameworks: Framework[] };
  inputs: { files: { path: string; sha256: string; format: string; lines: number; events: number; rejected: number; complete: boolean; incomplete: string }[]; accounting: Omit<InputAccounting, 'files'>; rbac: { files: { path: string; sha256: string }[]; digest: string; roles: number; bindings: number; missingRoles: string[] } };
  summary: {
    subjects: number;
    averageScore: number | null;
    /** Subjects per score decile (0–9 … 90–100) and without own grants. */
    scoreDistribution: { range: string; subjects: number }[];
    red: Rereadable<string>;
    checks: Record<Status, number>;
  };
  /** Per-subject lists, in drift's report order: arrays, or SpilledLists read from disk when they outgrew the memory budget (issue 15). */
  subjects: Rereadable<SubjectRow>;
  sensitiveExcess: Rereadable<{ subject: string; id: string; severity: string; description: string; permissions: string[]; source: string }>;
  dormant: Rereadable<string>;
  /**
   * Use of cluster-admin (per subject and binding: the subject's requests, and the earliest
   * auditIDs of requests the binding's rules allowed) and of system:masters.
   */
  privileged: { clusterAdmin: Rereadable<{ subject: string; binding: string; requests: number; auditIDs: string[] }>; systemMasters: Rereadable<{ subject: string; requests: number; auditIDs: string[] }> };
  coverage: { hours: number; hoursWithEvents: number; gaps: { from: string; to: string; hours: number }[]; activity: { day: string; requests: number }[] };
  checks: CheckResult[];
}

const HOUR = 3_600_000;

/** auditIDs kept per user as evidence of system:masters or default service account use. */
const EVIDENCE_IDS = 5;

/**
 * Estimated heap bytes of a user's evidence and its key: counted in full (EVIDENCE_IDS examples)
 * when the entry is made, so that the entry never grows afterwards.
 */
function evidenceBytes(key: string): number {
  return ENTRY_BYTES + OBJECT_BYTES + 2 * strBytes(key) + EVIDENCE_IDS * (OBJECT_BYTES + 2 * 48);
}

function mergeEvidence(a: Evidence, b: Evidence): Evidence {
  a.count += b.count;
  a.ex = mergeEarliest(a.ex, b.ex, EVIDENCE_IDS);
  return a;
}

const MASTERS: SpillSpec<Evidence> = { tag: 'compliance-masters', merge: mergeEvidence, size: evidenceBytes };
const DEFAULT_SA: SpillSpec<Evidence> = { tag: 'compliance-default-sa', merge: mergeEvidence, size: evidenceBytes };

function note(m: SpillMap<Evidence>, spec: SpillSpec<Evidence>, key: string, r: AuditRecord): void {
  let e = m.map.get(key);
  if (!e) {
    m.map.set(key, (e = { count: 0, ex: [] }));
    grow(m, spec, evidenceBytes(key));
  }
  e.count++;
  if (r.auditID) keepEarliest(e.ex, r.timeMs, r.auditID, EVIDENCE_IDS);
}

export const compliance: Reducer<ComplianceState, ComplianceReport, ComplianceOptions> = {
  init: (opts) => ({ opts, drift: drift.init(opts), hours: new Map(), masters: newSpillMap(), defaultSA: newSpillMap() }),
  add(s, r) {
    drift.add(s.drift, r);
    if (Number.isFinite(r.timeMs)) {
      const h = Math.floor(r.timeMs / HOUR);
      s.hours.set(h, (s.hours.get(h) ?? 0) + 1);
    }
    if (r.groups.includes('system:masters') && r.subjectKind === 'User') note(s.masters, MASTERS, r.subject, r);
    // Impersonating is authorized with the impersonator's own groups: system:masters there is a use too.
    else if (r.impersonator !== '' && r.impersonatorGroups.includes('system:masters') && classifySubject(r.impersonator).kind === 'User') note(s.masters, MASTERS, r.impersonator, r);
    if (r.subjectKind === 'ServiceAccount' && r.subjectName === 'default') note(s.defaultSA, DEFAULT_SA, r.subject, r);
  },
  merge(a, b) {
    drift.merge(a.drift, b.drift);
    for (const [h, n] of b.hours) a.hours.set(h, (a.hours.get(h) ?? 0) + n);
    absorb(a.masters, b.masters, MASTERS);
    absorb(a.defaultSA, b.defaultSA, DEFAULT_SA);
    return a;
  },
  finish(s, ctx: FinishContext) {
    // drift's finish (evaluate), keeping of each entry only what assemble reads (entry.ts).
    const d = evaluate(s.drift, ctx.input, ENTRY_CODEC);
    try {
      return assemble(s, d, ctx.input);
    } finally {
      // Drift's subjects were read in the one pass; their spilled runs go now.
      releaseLists(d.subjects);
    }
  },
};

function who(d: SubjectDrift): string {
  return `${d.subject.kind} ${subjectName(d)}`;
}

function coverageOf(s: ComplianceState, report: DriftReport): ComplianceReport['coverage'] & { fromMs: number; toMs: number } {
  const keys = [...s.hours.keys()].sort((a, b) => a - b);
  const fromMs = s.opts.period?.fromMs ?? (keys.length ? keys[0]! * HOUR : NaN);
  const toMs = s.opts.period?.toMs ?? (keys.length ? (keys[keys.length - 1]! + 1) * HOUR : NaN);
  const gaps: { from: string; to: string; hours: number }[] = [];
  let hours = 0;
  let withEvents = 0;
  if (Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs > fromMs) {
    let gapStart: number | null = null;
    for (let h = Math.floor(fromMs / HOUR); h * HOUR < toMs; h++) {
      hours++;
      if (s.hours.has(h)) {
        withEvents++;
        if (gapStart !== null) {
          gaps.push({ from: formatTime(gapStart * HOUR), to: formatTime(h * HOUR), hours: h - gapStart });
          gapStart = null;
        }
      } else if (gapStart === null) gapStart = h;
    }
    if (gapStart !== null) gaps.push({ from: formatTime(gapStart * HOUR), to: formatTime(Math.ceil(toMs / HOUR) * HOUR), hours: Math.ceil(toMs / HOUR) - gapStart });
  }
  const byDay = new Map<string, number>();
  for (const [h, n] of s.hours) {
    const day = formatTime(h * HOUR).slice(0, 10);
    byDay.set(day, (byDay.get(day) ?? 0) + n);
  }
  void report;
  return { hours, hoursWithEvents: withEvents, gaps, activity: [...byDay].sort(([a], [b]) => cmp(a, b)).map(([day, requests]) => ({ day, requests })), fromMs, toMs };
}

/** Evidence of one check as it is gathered: at most 50 rules and 10 distinct auditIDs are kept, in the order found. */
class Gathered {
  rules: CheckResult['evidence']['rules'] = [];
  private ids = new Set<string>();
  rule(x: CheckResult['evidence']['rules'][number]): void {
    if (this.rules.length < MAX_RULES) this.rules.push(x);
  }
  /** True while more rules would be kept (callers skip building those that would not). */
  get wantsRules(): boolean {
    return this.rules.length < MAX_RULES;
  }
  auditIDs(ids: Iterable<string>): void {
    for (const id of ids) {
      if (this.ids.size >= MAX_IDS) return;
      this.ids.add(id);
    }
  }
  evidence(subjects: Rereadable<string>): CheckResult['evidence'] {
    return { subjects, rules: this.rules, auditIDs: [...this.ids] };
  }
}

const MAX_RULES = 50;
const MAX_IDS = 10;

/** Subject names in code-unit order, each once: sorted within the memory budget, spilled past it. */
class SortedNames {
  // Added in drift's report order, mostly the names' own order (see evaluate's sorter).
  private sorter = new ExternalSorter<string>({ compare: cmp, size: strBytes, tag: 'compliance-names', inOrder: true });
  add(name: string): void {
    this.sorter.add(name);
  }
  finish(): Rereadable<string> {
    const sorted = this.sorter.keepSorted();
    if (!isSpilled(sorted)) return sorted.filter((x, i, a) => i === 0 || x !== a[i - 1]);
    const w = new ListWriter<string>(strBytes, 'compliance-names');
    try {
      let last: string | null = null;
      for (const x of sorted) {
        if (x !== last) w.push(x);
        last = x;
      }
    } finally {
      sorted.release();
    }
    return w.finish();
  }
}

/** Lists of the report built in report order: in memory within the budget, spilled past it. */
function listOf<T>(tag: string): ListWriter<T> {
  return new ListWriter<T>(roughBytes, tag);
}

/** What a check needs from every subject, then its outcome; the lists every check shares. */
interface CheckPass {
  add(sd: SubjectDrift): void;
  finish(): Omit<CheckResult, 'id' | 'title' | 'expectation' | 'controls'>;
}

/** Lists several checks and the report share (red and yellow subjects, dormant ones), made in the same pass. */
interface Shared {
  red: Rereadable<string>;
  yellow: Rereadable<string>;
  dormant: Rereadable<string>;
}

/** Users whose requests a check cites (system:masters members, default service accounts), read once from their spilling map. */
interface UsersOf {
  /** Their names as the evidence lists them, in user-name order: an array, or a SpilledList. */
  subjects: Rereadable<string>;
  users: number;
  requests: number;
  /** The first MAX_IDS distinct auditIDs of their examples, in user-name order. */
  auditIDs: string[];
}

/**
 * Reads a map of users' evidence once, in user-name order (the order a sort of the map's keys
 * gives): the evidence's subject names and, with `entries`, one item per user, each list in
 * memory within the budget and spilled past it.
 */
function usersOf<T>(m: SpillMap<Evidence>, spec: SpillSpec<Evidence>, label: (user: string) => string, entries?: { list: ListWriter<T>; item(subject: string, e: Evidence): T }): UsersOf {
  const names = new ListWriter<string>(strBytes, `${spec.tag}-names`);
  const ids = new Set<string>();
  let users = 0;
  let requests = 0;
  try {
    for (const [u, e] of drain(m, spec)) {
      users++;
      requests += e.count;
      const subject = label(u);
      names.push(subject);
      for (const [, id] of e.ex) if (ids.size < MAX_IDS) ids.add(id);
      entries?.list.push(entries.item(subject, e));
    }
  } catch (e) {
    names.dispose();
    entries?.list.dispose();
    throw e;
  }
  return { subjects: names.finish(), users, requests, auditIDs: [...ids] };
}

function checkPass(c: ComplianceCheck, s: ComplianceState, cov: ReturnType<typeof coverageOf>, shared: () => Shared, users: { masters: UsersOf; defaultSA: UsersOf }): CheckPass {
  const ev = new Gathered();
  const e = c.evaluate;
  const none = (): Rereadable<string> => [];
  switch (e.kind) {
    case 'sensitive': {
      const names = new SortedNames();
      let excess = 0;
      let holders = 0;
      return {
        add(sd) {
          // One evidence line per rule: never used, used but not in its sensitive part, or used.
          const rules = new Map<string, { rule: PolicyRule; source: GrantSource; excess: boolean; used: boolean }>();
          const key = (g: GrantSource): string => `${sourceLabel(g)}#${g.ruleIndex}`;
          for (const x of sd.sensitiveExcess) {
            if (!e.ids.includes(x.id) || !x.rule || !x.source) continue;
            const k = key(x.source);
            rules.set(k, { rule: x.rule, source: x.source, excess: true, used: rules.get(k)?.used ?? false });
          }
          for (const u of sd.used) {
            if (!grantedSensitive(u.rule, u.source.namespace).some((id) => e.ids.includes(id))) continue;
            const k = key(u.source);
            rules.set(k, { rule: u.rule, source: u.source, excess: rules.get(k)?.excess ?? false, used: true });
            ev.auditIDs(u.auditIDs);
          }
          if (rules.size === 0) return;
          let isExcess = false;
          let isHolder = false;
          for (const r of [...rules.values()].sort((a, b) => cmp(key(a.source), key(b.source)))) {
            if (r.excess) isExcess = true;
            else isHolder = true;
            ev.rule({ subject: who(sd), rule: `${describeRule(r.rule)} — ${r.excess ? (r.used ? 'used, but not its sensitive part' : 'never used') : 'used'}`, source: sourceLabel(r.source) });
          }
          if (isExcess) excess++;
          if (isHolder) holders++;
          names.add(who(sd));
        },
        finish() {
          const evidence = ev.evidence(names.finish());
          const what = e.ids.map((id) => SENSITIVE.find((x) => x.id === id)!.description).join('; ');
          if (excess) return { status: 'fail', summary: `${plural(excess, 'subject')} ${excess === 1 ? 'holds' : 'hold'} ${what} without using it`, evidence };
          if (holders) return { status: 'warn', summary: `${plural(holders, 'subject')} ${holders === 1 ? 'holds and uses' : 'hold and use'} ${what}; confirm each is required`, evidence };
          return { status: 'pass', summary: `nobody outside the control plane holds ${what}`, evidence };
        },
      };
    }
    case 'cluster-admin': {
      const names = new SortedNames();
      let bad = 0;
      return {
        add(sd) {
          const all = [...sd.used.map((u) => u.source), ...sd.unusedRules.map((u) => u.source)].filter((g) => g.role.kind === 'ClusterRole' && g.role.name === 'cluster-admin');
          // One line per binding, whatever the number of rules in cluster-admin.
          const grants = all.filter((g, i) => all.findIndex((x) => sourceLabel(x) === sourceLabel(g)) === i);
          if (!grants.length) return;
          names.add(who(sd));
          for (const g of grants) {
            ev.rule({ subject: who(sd), rule: 'cluster-admin', source: sourceLabel(g) });
            ev.auditIDs(clusterAdminUse(sd, sourceLabel(g)));
          }
          if (sd.dormant || sd.severity === 'red') bad++;
        },
        finish() {
          const evidence = ev.evidence(names.finish());
          if (bad) return { status: 'fail', summary: `cluster-admin is held by ${plural(evidence.subjects.length, 'subject')}, ${bad} of them dormant or scoring under 50%`, evidence };
          if (evidence.subjects.length) return { status: 'warn', summary: `cluster-admin is held by ${plural(evidence.subjects.length, 'active subject')}; confirm each is required`, evidence };
          return { status: 'pass', summary: 'nobody outside the control plane is bound to cluster-admin', evidence };
        },
      };
    }
    case 'masters':
      return {
        add() {},
        finish() {
          const m = users.masters;
          ev.auditIDs(m.auditIDs);
          const evidence = ev.evidence(m.subjects);
          return m.requests ? { status: 'fail', summary: `${plural(m.requests, 'request')} by ${plural(m.users, 'user')} in system:masters`, evidence } : { status: 'pass', summary: 'no request was made as a member of system:masters', evidence };
        },
      };
    case 'default-sa': {
      // The evidence lists the requests first (auditIDs), then the bound accounts' unused rules.
      const sa = users.defaultSA;
      const subjects = sa.subjects;
      ev.auditIDs(sa.auditIDs);
      let bound = 0;
      return {
        add(sd) {
          if (!(sd.subject.kind === 'ServiceAccount' && sd.subject.name === 'default' && sd.grantedRules > 0)) return;
          bound++;
          for (const u of sd.unusedRules) ev.rule({ subject: who(sd), rule: describeRule(u.rule), source: sourceLabel(u.source) });
        },
        finish() {
          const evidence = ev.evidence(subjects);
          if (sa.users) return { status: 'fail', summary: `${plural(sa.users, 'default service account')} made requests`, evidence };
          if (bound) return { status: 'warn', summary: `${plural(bound, 'default service account')} ${bound === 1 ? 'is' : 'are'} bound to roles`, evidence };
          return { status: 'pass', summary: 'no default service account made a request or holds a binding', evidence };
        },
      };
    }
    case 'scores':
      return {
        add(sd) {
          if (sd.severity !== 'red' || !ev.wantsRules) return;
          for (const u of sd.unusedRules.slice(0, 5)) ev.rule({ subject: who(sd), rule: `${describeRule(u.rule)} — unused`, source: sourceLabel(u.source) });
        },
        finish() {
          const { red, yellow } = shared();
          const evidence = ev.evidence(concatRows(red, yellow));
          if (red.length) return { status: 'fail', summary: `${plural(red.length, 'subject')} ${red.length === 1 ? 'scores' : 'score'} under 50% (red), ${yellow.length} under 80% (yellow)`, evidence };
          if (yellow.length) return { status: 'warn', summary: `${plural(yellow.length, 'subject')} ${yellow.length === 1 ? 'scores' : 'score'} under 80% (yellow)`, evidence };
          return { status: 'pass', summary: 'every subject uses at least 80% of its grants', evidence };
        },
      };
    case 'dormant':
      return {
        add(sd) {
          if (!sd.dormant || !ev.wantsRules) return;
          for (const u of sd.unusedRules.slice(0, 5)) ev.rule({ subject: who(sd), rule: describeRule(u.rule), source: sourceLabel(u.source) });
        },
        finish() {
          const { dormant } = shared();
          const evidence = ev.evidence(dormant);
          return dormant.length ? { status: 'fail', summary: `${plural(dormant.length, 'subject')} ${dormant.length === 1 ? 'holds' : 'hold'} grants and made no request in the window`, evidence } : { status: 'pass', summary: 'every subject that holds grants was active', evidence };
        },
      };
    case 'unexplained': {
      const names = new SortedNames();
      let n = 0;
      return {
        add(sd) {
          let any = false;
          for (const u of sd.uncovered) {
            const allowed = u.requests - u.denied;
            if (allowed <= 0) continue;
            n += allowed;
            any = true;
            if (ev.wantsRules) ev.rule({ subject: who(sd), rule: `${u.verb} ${u.nonResourceURL || u.resource}${u.namespace ? ` in ${u.namespace}` : ''} (${allowed} allowed)`, source: 'not in the RBAC export' });
            ev.auditIDs(u.examples);
          }
          if (any) names.add(who(sd));
        },
        finish() {
          const evidence = ev.evidence(names.finish());
          return n ? { status: 'warn', summary: `${plural(n, 'allowed request')} by ${plural(evidence.subjects.length, 'subject')} ${n === 1 ? 'is' : 'are'} not explained by the export (granted outside it, or the export is not the one in force)`, evidence } : { status: 'pass', summary: 'every allowed request is allowed by a grant in the export', evidence };
        },
      };
    }
    case 'coverage':
      return {
        add() {},
        finish() {
          const evidence = ev.evidence(none());
          if (!s.opts.period) return { status: 'not-assessed', summary: 'not assessed: no period under review was given (--period FROM..TO); the logs cannot show that they cover a period nobody named', evidence };
          const missing = cov.gaps.reduce((a, g) => a + g.hours, 0);
          const share = cov.hours ? cov.hoursWithEvents / cov.hours : 0;
          const span = `${cov.hoursWithEvents} of ${cov.hours} hours`;
          if (cov.hours === 0) return { status: 'fail', summary: 'no timestamped events: coverage cannot be shown', evidence };
          if (share < 0.5) return { status: 'fail', summary: `the logs cover ${span} of the period; ${plural(cov.gaps.length, 'gap')}`, evidence };
          if (missing) return { status: 'warn', summary: `the logs cover ${span}; ${plural(cov.gaps.length, 'gap')}, ${plural(missing, 'hour')} with no event`, evidence };
          return { status: 'pass', summary: `the logs cover every hour of the period (${span})`, evidence };
        },
      };
  }
}

/**
 * The compliance report from drift's, in one pass over drift's subjects (which may be read from
 * disk): every check gathers what it needs from each subject, and the report's per-subject lists
 * are written in report order, in memory within the budget and spilled past it (issue 15).
 */
function assemble(s: ComplianceState, d: DriftReport, input: InputAccounting): ComplianceReport {
  const o = s.opts;
  const cov = coverageOf(s, d);
  const selected = o.frameworks;
  const systemMasters = listOf<ComplianceReport['privileged']['systemMasters'] extends Rereadable<infer T> ? T : never>('compliance-masters-list');
  const users = {
    masters: usersOf(s.masters, MASTERS, (u) => `User ${u}`, { list: systemMasters, item: (subject, e) => ({ subject, requests: e.count, auditIDs: e.ex.map((x) => x[1]) }) }),
    defaultSA: usersOf(s.defaultSA, DEFAULT_SA, (u) => `ServiceAccount ${u.split(':').slice(2).join('/')}`),
  };
  let shared: Shared | null = null;
  const passes: { c: ComplianceCheck; controls: Partial<Record<Framework, string[]>>; pass: CheckPass }[] = [];
  for (const c of CHECKS) {
    const controls = Object.fromEntries(FRAMEWORKS.filter((f) => selected.includes(f) && c.controls[f].length).map((f) => [f, c.controls[f]]));
    if (Object.keys(controls).length === 0) continue;
    passes.push({ c, controls, pass: checkPass(c, s, cov, () => shared!, users) });
  }
  // The evidence lists of checks the frameworks did not select are read by nobody: their files go now.
  if (!passes.some((p) => p.c.evaluate.kind === 'masters')) releaseLists(users.masters.subjects);
  if (!passes.some((p) => p.c.evaluate.kind === 'default-sa')) releaseLists(users.defaultSA.subjects);
  const dist = Array.from({ length: 10 }, (_, i) => ({ range: i === 9 ? '90–100' : `${i * 10}–${i * 10 + 9}`, subjects: 0 }));
  let unscored = 0;
  let count = 0;
  const red = listOf<string>('compliance-red');
  const yellow = listOf<string>('compliance-yellow');
  const dormant = listOf<string>('compliance-dormant');
  const subjects = new ListWriter<SubjectRow>(roughBytes, 'compliance-subjects', SUBJECT_ROW_CODEC);
  const excess = listOf<ComplianceReport['sensitiveExcess'] extends Rereadable<infer T> ? T : never>('compliance-excess');
  const clusterAdmin = listOf<ComplianceReport['privileged']['clusterAdmin'] extends Rereadable<infer T> ? T : never>('compliance-admin');
  for (const x of d.subjects) {
    count++;
    for (const p of passes) p.pass.add(x);
    if (x.score === null) unscored++;
    else dist[Math.min(9, Math.floor(x.score / 10))]!.subjects++;
    if (x.severity === 'red') red.push(who(x));
    if (x.severity === 'yellow') yellow.push(who(x));
    if (x.dormant) dormant.push(who(x));
    subjects.push({ kind: x.subject.kind, name: x.subject.name, namespace: x.subject.namespace, requests: x.requests, grantedRules: x.grantedRules, usedRules: x.usedRules, unusedRules: x.unusedRules.length, sensitiveExcess: x.sensitiveExcess.length, score: x.score, severity: x.severity, dormant: x.dormant });
    for (const e of x.sensitiveExcess) excess.push({ subject: who(x), id: e.id, severity: e.severity, description: e.description, permissions: e.permissions, source: e.source ? sourceLabel(e.source) : '' });
    const seen = new Set<string>();
    for (const g of [...x.used.map((u) => ({ src: u.source, n: u.requests })), ...x.unusedRules.map((u) => ({ src: u.source, n: 0 }))]) {
      if (g.src.role.kind !== 'ClusterRole' || g.src.role.name !== 'cluster-admin' || seen.has(sourceLabel(g.src))) continue;
      seen.add(sourceLabel(g.src));
      clusterAdmin.push({ subject: who(x), binding: sourceLabel(g.src), requests: x.requests, auditIDs: clusterAdminUse(x, sourceLabel(g.src)) });
    }
  }
  shared = { red: red.finish(), yellow: yellow.finish(), dormant: dormant.finish() };
  const checks: CheckResult[] = passes.map(({ c, controls, pass }) => {
    const r = pass.finish();
    return { id: c.id, title: c.title, expectation: c.expectation, status: r.status, summary: r.summary, controls, evidence: r.evidence };
  });
  dist.push({ range: 'no own grants', subjects: unscored });
  const counts: Record<Status, number> = { pass: 0, warn: 0, fail: 0, 'not-assessed': 0 };
  for (const c of checks) counts[c.status]++;
  const { files: _f, ...accounting } = input;
  void _f;
  return {
    kind: 'kaudit.compliance',
    version: 1,
    evaluation: { generatedAt: o.generatedAt, kaudit: o.version, window: d.window, period: o.period ? { from: formatTime(o.period.fromMs), to: formatTime(o.period.toMs) } : null, frameworks: selected },
    inputs: {
      files: input.files.map((f) => ({ path: f.path, sha256: f.sha256 ?? '', format: f.format, lines: f.lines, events: f.events, rejected: f.rejected, complete: f.complete, incomplete: f.incomplete })),
      accounting,
      rbac: { files: o.rbacFiles, digest: o.rbacDigest, roles: d.rbac.roles, bindings: d.rbac.bindings, missingRoles: d.rbac.missingRoles },
    },
    summary: { subjects: count, averageScore: d.summary.averageScore, scoreDistribution: dist, red: shared.red, checks: counts },
    subjects: subjects.finish(),
    sensitiveExcess: excess.finish(),
    dormant: shared.dormant,
    privileged: { clusterAdmin: clusterAdmin.finish(), systemMasters: systemMasters.finish() },
    coverage: { hours: cov.hours, hoursWithEvents: cov.hoursWithEvents, gaps: cov.gaps, activity: cov.activity },
    checks,
  };
}
