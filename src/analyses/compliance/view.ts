// The compliance report as a generic View (Markdown, terminal) and as CSV rows (the checks).
import type { View } from '../../types.js';
import type { ComplianceReport } from './index.js';
import { FRAMEWORK_NAMES, type Framework } from '../../rules/compliance.js';

export function complianceView(r: ComplianceReport): View {
  const e = r.evaluation;
  const fw = e.frameworks as Framework[];
  return {
    title: 'Kubernetes least-privilege report',
    sections: [
      {
        title: 'Evaluation',
        kind: 'kv',
        rows: [
          ['generated at', e.generatedAt],
          ['kaudit', e.kaudit],
          ['observation window', `${e.window.from ?? '–'} → ${e.window.to ?? '–'}`],
          ['period under review', e.period ? `${e.period.from} → ${e.period.to}` : '(the observation window)'],
          ['frameworks', fw.map((f) => FRAMEWORK_NAMES[f]).join(', ')],
          ['RBAC snapshot', `${r.inputs.rbac.digest} (${r.inputs.rbac.roles} roles, ${r.inputs.rbac.bindings} bindings)`],
          ['checks', `${r.summary.checks.fail} fail, ${r.summary.checks.warn} warn, ${r.summary.checks.pass} pass`],
          ['subjects', `${r.summary.subjects} (average score ${r.summary.averageScore ?? '–'}%, ${r.summary.red.length} in red, ${r.dormant.length} dormant)`],
        ],
      },
      {
        title: 'Checks',
        kind: 'table',
        columns: ['check', 'title', 'status', ...fw.map((f) => FRAMEWORK_NAMES[f]), 'finding'],
        rows: r.checks.map((c) => [c.id, c.title, c.status.toUpperCase(), ...fw.map((f) => (c.controls[f] ?? []).join(', ')), c.summary]),
      },
      {
        title: 'Evidence',
        kind: 'table',
        columns: ['check', 'subject', 'rule or request', 'source'],
        rows: r.checks.flatMap((c) => c.evidence.rules.map((x) => [c.id, x.subject, x.rule, x.source])),
        note: 'Sample auditIDs per check are in -o json.',
      },
      {
        title: 'Subjects',
        kind: 'table',
        columns: ['subject', 'kind', 'requests', 'granted', 'used', 'unused', 'sensitive', 'score', 'band', 'dormant'],
        rows: r.subjects.map((x) => [x.namespace ? `${x.namespace}/${x.name}` : x.name, x.kind, x.requests, x.grantedRules, x.usedRules, x.unusedRules, x.sensitiveExcess, x.score === null ? '–' : `${x.score}%`, x.severity, x.dormant ? 'yes' : 'no']),
      },
      { title: 'Score distribution', kind: 'table', columns: ['score', 'subjects'], rows: r.summary.scoreDistribution.map((d) => [d.range, d.subjects]) },
      { title: 'Log coverage gaps', kind: 'table', columns: ['from', 'to', 'hours'], rows: r.coverage.gaps.map((g) => [g.from, g.to, g.hours]), note: `${r.coverage.hoursWithEvents} of ${r.coverage.hours} hours have events.` },
      {
        title: 'Inputs',
        kind: 'table',
        columns: ['input', 'path', 'SHA-256', 'events', 'rejected', 'read to the end'],
        rows: [...r.inputs.files.map((f) => ['audit log', f.path, f.sha256, f.events, f.rejected, f.complete ? 'yes' : `no: ${f.incomplete}`]), ...r.inputs.rbac.files.map((f) => ['RBAC export', f.path, f.sha256, null, null, null])],
      },
    ].filter((s) => s.kind === 'kv' || s.rows.length > 0) as View['sections'],
  };
}

export const CHECK_CSV_COLUMNS = ['check', 'title', 'status', 'soc2', 'iso27001', 'pci', 'nist', 'cis', 'finding', 'subjects', 'auditIDs'];

export function checkCsvRows(r: ComplianceReport): (string | number)[][] {
  return r.checks.map((c) => [c.id, c.title, c.status, ...(['soc2', 'iso27001', 'pci', 'nist', 'cis'] as Framework[]).map((f) => (c.controls[f] ?? []).join(' ')), c.summary, c.evidence.subjects.join('; '), c.evidence.auditIDs.join(' ')]);
}
