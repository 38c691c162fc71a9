// Presents a DriftReport: a View for table/Markdown, findings for SARIF, cases for JUnit.
import type { Cell, View, ViewSection } from '../../types.js';
import type { DriftReport, GrantSource, SubjectDrift } from './evaluate.js';
import { describeRule, BANDS } from './evaluate.js';
import { SENSITIVE } from '../../rules/sensitive.js';
import { DRIFT_FINDINGS } from '../../rules/findings.js';
import { eventLocation, type SarifLocation, type SarifResult, type SarifRule } from '../../render/sarif.js';
import type { JunitCase } from '../../render/junit.js';
import { subjectFailures, type GateOptions } from './gate.js';
import { accountingRows } from '../../render/accounting.js';
import { objectsYaml } from '../../render/rbac-yaml.js';
import type { K8sObject } from '../../rbac/generate.js';
import { displayWindow } from '../../render/format.js';
import { LazyList, VIEW_ROWS, type Rows } from '../../scale/lazy.js';

export function subjectName(d: SubjectDrift): string {
  return d.subject.kind === 'ServiceAccount' ? `${d.subject.namespace}/${d.subject.name}` : d.subject.name;
}

export function sourceLabel(s: GrantSource): string {
  const b = s.binding.namespace ? `${s.binding.kind} ${s.binding.namespace}/${s.binding.name}` : `${s.binding.kind} ${s.binding.name}`;
  const r = s.role.namespace ? `${s.role.kind} ${s.role.namespace}/${s.role.name}` : `${s.role.kind} ${s.role.name}`;
  return `${b} → ${r}`;
}

function firstFew(xs: string[], n: number): string {
  return xs.length <= n ? xs.join(', ') : `${xs.slice(0, n).join(', ')} (+${xs.length - n} more)`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function score(d: SubjectDrift): Cell {
  return d.score === null ? '-' : `${d.score}%`;
}

/**
 * Rows of one table of a view, in report order: the first VIEW_ROWS are kept, the rest counted
 * (ViewSection.omitted), so that a view of a million subjects holds a bounded number of rows.
 */
class Capped {
  rows: Cell[][] = [];
  omitted = 0;
  add(row: () => Cell[]): void {
    if (this.rows.length < VIEW_ROWS) this.rows.push(row());
    else this.omitted++;
  }
  get any(): boolean {
    return this.rows.length > 0;
  }
  section(): { rows: Cell[][]; omitted?: number } {
    return { rows: this.rows, ...(this.omitted ? { omitted: this.omitted } : {}) };
  }
}

/** The drift report as a View: its tables hold the first VIEW_ROWS rows each and count the rest, from one pass over the subjects. */
export function driftView(r: DriftReport): View {
  const s = r.summary;
  const subjects = new Capped();
  const excess = new Capped();
  const unused = new Capped();
  const partly = new Capped();
  const uncovered = new Capped();
  const unjudged = new Capped();
  const suggestions: ViewSection[] = [];
  for (const d of r.subjects) {
    const name = subjectName(d);
    subjects.add(() => [name, d.subject.kind, d.requests, d.grantedRules, d.usedRules, d.unusedRules.length, score(d), d.severity, d.sensitiveExcess.length, d.uncovered.reduce((n, u) => n + u.requests, 0), d.dormant ? 'yes' : 'no']);
    for (const e of d.sensitiveExcess) excess.add(() => [name, e.id, e.severity, e.description, firstFew(e.permissions, 3), e.source ? sourceLabel(e.source) : '', e.source?.via ?? '']);
    for (const u of d.unusedRules) unused.add(() => [name, describeRule(u.rule), sourceLabel(u.source), u.source.namespace || 'cluster']);
    for (const u of d.used) if (!u.full) partly.add(() => [name, describeRule(u.rule), `${u.used.verbs.join(',')} ${u.used.resources.join(',')}`, u.requests, sourceLabel(u.source)]);
    for (const u of d.uncovered) uncovered.add(() => [name, u.check, u.verb, u.nonResourceURL || (u.apiGroup ? `${u.resource}.${u.apiGroup}` : u.resource), u.namespace || '(cluster)', firstFew(u.names, 3), u.requests, u.denied]);
    if (d.unjudgedWrites) unjudged.add(() => [name, d.unjudgedWrites!.requests, Object.entries(d.unjudgedWrites!.reasons).map(([why, n]) => `${n} ${why}`).join('; '), d.unjudgedWrites!.examples[0] ?? '']);
    if (d.suggestion) suggestions.push({ title: `Suggested replacement for ${d.subject.kind} ${name}`, kind: 'code', lang: 'yaml', rows: [], text: suggestionYaml(d.suggestion) });
  }
  const sections: ViewSection[] = [
    {
      title: 'Drift summary',
      kind: 'kv',
      rows: [
        ['window', r.window.from === null ? '(no requests)' : displayWindow(r.window.from, r.window.to)],
        ['RBAC export', `${plural(r.rbac.files.length, 'file')}, ${plural(r.rbac.roles, 'role')}, ${plural(r.rbac.bindings, 'binding')}${r.rbac.missingRoles.length ? `, ${plural(r.rbac.missingRoles.length, 'binding')} to missing roles` : ''}`],
        ['subjects', `${s.subjects} (${s.withDrift} with drift, ${s.dormant} dormant)`],
        ['bands', `${s.bands.red} red, ${s.bands.yellow} yellow, ${s.bands.green} green, ${s.bands.none} without own grants`],
        ['rules', `${s.grantedRules} granted, ${s.usedRules} used, ${s.unusedRules} unused`],
        ['sensitive excess', s.sensitiveExcess],
        ['uncovered requests', s.uncoveredRequests],
        ...(s.unjudgedWrites ? [['RBAC writes not judged', `${s.unjudgedWrites} (their bind/escalate check, or the grants it relied on, unknown)`] as Cell[]] : []),
        ['average score', s.averageScore === null ? '-' : `${s.averageScore}%`],
        ...accountingRows(r.input).filter((row) => row[0] === 'used' || row[0] === 'rejected' || row[0] === 'read to the end'),
      ],
    },
    {
      title: 'Subjects',
      kind: 'table',
      columns: ['subject', 'kind', 'requests', 'granted', 'used', 'unused', 'score', 'band', 'sensitive', 'uncovered', 'dormant'],
      ...subjects.section(),
      note: `Score: used share of the subject's own rules (a rule used in part counts in part; a * counts as 8 verbs or 10 resources). Bands: green ≥ ${BANDS.green}%, yellow ≥ ${BANDS.yellow}%, red below.`,
      dropOrder: ['kind', 'granted', 'used', 'uncovered', 'dormant'],
    },
    {
      title: 'Sensitive excess',
      kind: 'table',
      columns: ['subject', 'id', 'severity', 'sensitive grant', 'unused', 'granted by', 'via'],
      ...excess.section(),
      dropOrder: ['via', 'severity'],
    },
    {
      title: 'Unused rules',
      kind: 'table',
      columns: ['subject', 'rule', 'granted by', 'scope'],
      ...unused.section(),
    },
    {
      title: 'Partly used rules',
      kind: 'table',
      columns: ['subject', 'rule', 'used', 'requests', 'granted by'],
      ...partly.section(),
    },
    {
      title: 'Requests the export does not allow',
      kind: 'table',
      columns: ['subject', 'check', 'verb', 'resource or URL', 'namespace', 'names', 'requests', 'denied'],
      ...uncovered.section(),
    },
    {
      title: 'RBAC writes whose bind or escalate check could not be judged',
      kind: 'table',
      columns: ['subject', 'writes', 'why', 'e.g. auditID'],
      ...unjudged.section(),
      note: 'A binding write names its role, a role write its rules, only in the request body; without it drift cannot tell whether a bind or escalate grant was used (log such writes at the Request level). A write that passed without a bind or escalate grant relied on the writer holding every rule granted; when those rules are unknown (not logged, or the role is not in the export), the grants relied on cannot be named.',
    },
  ];
  for (const x of suggestions) sections.push(x);
  if (r.rbac.missingRoles.length) sections.push({ title: 'Export warnings', kind: 'table', columns: ['warning'], rows: r.rbac.missingRoles.map((m) => [m]) });
  return { title: 'kaudit drift', sections: sections.filter((x) => x.kind !== 'table' || x.rows.length > 0) };
}

function suggestionYaml(objs: Record<string, unknown>[]): string {
  return objectsYaml(objs as unknown as K8sObject[], false);
}

/** The RBAC object a grant came from, as a SARIF location (file, document, line). */
function grantLocation(src: GrantSource): SarifLocation {
  const l: SarifLocation = { file: src.file, logical: sourceLabel(src) };
  if (src.origin) {
    if (src.origin.line > 0) l.line = src.origin.line;
    l.document = src.origin.document;
    if (src.origin.item) l.item = src.origin.item;
  }
  return l;
}

/**
 * SARIF results. Grants cite the binding's file, document and line; requests cite the input file
 * and line of the first such request; system:masters (not an RBAC object) the subject's first request.
 */
export function driftSarif(r: DriftReport): { rules: SarifRule[]; results: Rows<SarifResult> } {
  const rules: SarifRule[] = [...SENSITIVE.map((e) => ({ id: e.id, description: e.description, severity: e.severity })), ...Object.values(DRIFT_FINDINGS)];
  const all = function* (): Generator<SarifResult> {
    for (const d of r.subjects) yield* subjectResults(d, r);
  };
  // Counted in a first pass and made again as they are written: a million subjects' results are
  // never all in memory (the subjects themselves may be read from disk).
  let n = 0;
  for (const d of r.subjects) for (const _ of subjectResults(d, r)) n++;
  return { rules, results: new LazyList(n, all) };
}

/** One subject's SARIF results: sensitive excess, other unused rules, dormancy, requests the export does not allow. */
function* subjectResults(d: SubjectDrift, r: DriftReport): Generator<SarifResult> {
  const who = `${d.subject.kind} ${subjectName(d)}`;
  for (const e of d.sensitiveExcess) {
    const loc = e.source && e.source.file ? grantLocation(e.source) : eventLocation(d.location, e.source ? sourceLabel(e.source) : who);
    yield { ruleId: e.id, severity: e.severity, message: `${who} holds an unused sensitive grant: ${e.description} (${e.permissions.join(', ')})${e.source ? ` via ${sourceLabel(e.source)}` : ''}`, locations: [loc] };
  }
  for (const u of d.unusedRules) {
    if (u.sensitive.length) continue; // already reported under its sensitive id
    yield { ruleId: DRIFT_FINDINGS.unused.id, severity: DRIFT_FINDINGS.unused.severity, message: `${who} never used: ${describeRule(u.rule)} (${sourceLabel(u.source)})`, locations: [grantLocation(u.source)] };
  }
  if (d.dormant) {
    const bindings = [...new Map(d.unusedRules.map((u) => [sourceLabel(u.source), u.source])).values()];
    yield {
      ruleId: DRIFT_FINDINGS.dormant.id,
      severity: DRIFT_FINDINGS.dormant.severity,
      message: `${who} holds ${d.grantedRules} rules and made no request in ${r.window.from ?? '?'} → ${r.window.to ?? '?'}`,
      locations: bindings.length ? bindings.map(grantLocation) : [{ file: '', logical: who }],
      identity: who,
    };
  }
  for (const u of d.uncovered) {
    yield { ruleId: DRIFT_FINDINGS.uncovered.id, severity: DRIFT_FINDINGS.uncovered.severity, message: `${who}: ${u.requests} × ${u.check === 'impersonate' ? 'impersonation check ' : ''}${u.verb} ${u.nonResourceURL || u.resource}${u.names.length ? ` ${u.names.join(',')}` : ''}${u.namespace ? ` in ${u.namespace}` : ''} not allowed by the export (${u.denied} denied)`, locations: [eventLocation(u.location, who)] };
  }
}

/** JUnit cases, one per subject in report order (read lazily: a SpilledList of subjects is read as the cases are). */
export function driftJunit(r: DriftReport, g: GateOptions): Iterable<JunitCase> {
  return {
    *[Symbol.iterator]() {
      for (const d of r.subjects) yield subjectCase(d, g);
    },
  };
}

function subjectCase(d: SubjectDrift, g: GateOptions): JunitCase {
  const why = subjectFailures(d, g.failOn.length || g.maxUnused !== undefined ? g : { failOn: ['sensitive', 'red'] });
  const c: JunitCase = { classname: `kaudit.drift.${d.subject.kind}`, name: subjectName(d) };
  if (why.length) {
    c.failure = {
      message: why.join('; '),
      text: [
        `score ${d.score ?? '-'}% (${d.severity}), ${d.grantedRules} rules granted, ${d.usedRules} used`,
        ...d.sensitiveExcess.map((e) => `${e.id} ${e.severity}: ${e.description}: ${e.permissions.join(', ')}${e.source ? ` (${sourceLabel(e.source)})` : ''}`),
        ...d.unusedRules.map((u) => `unused: ${describeRule(u.rule)} (${sourceLabel(u.source)})`),
      ].join('\n'),
    };
  }
  return c;
}
