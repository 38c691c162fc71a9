// Presents a SummaryReport as a generic View for the table and Markdown renderers. Pure formatting.
import type { View, ViewSection, Cell } from '../../types.js';
import type { SummaryReport, LatencyRow } from './index.js';
import type { Count } from '../../util/counter.js';
import { accountingRows } from '../../render/accounting.js';
import { displayWindow, formatDuration } from '../../render/format.js';
import { UNAUTHENTICATED_LABEL } from '../../normalize/subject.js';

function pct(n: number, total: number): string {
  return total === 0 ? '0%' : `${((100 * n) / total).toFixed(1)}%`;
}

function countSection(title: string, label: string, counts: Count[], total: number, blank = '(none)'): ViewSection {
  return {
    title,
    kind: 'table',
    columns: [label, 'requests', 'share'],
    rows: counts.map((c) => [c.key === '' ? blank : c.key, c.count, pct(c.count, total)]),
  };
}

function ms(v: number | null): Cell {
  return formatDuration(v);
}

function latencyRow(r: LatencyRow): Cell[] {
  return [r.verb, r.count, ms(r.p50), ms(r.p95), ms(r.p99)];
}

export function summaryView(r: SummaryReport): View {
  const total = r.requests;
  const sections: ViewSection[] = [
    {
      title: 'Input',
      kind: 'kv',
      rows: [
        ['window', r.window.from === null ? '(no timestamps)' : displayWindow(r.window.from, r.window.to)],
        ...accountingRows(r.input),
        ['denied (403)', `${r.denied} (${pct(r.denied, total)})`],
        ['unauthenticated (401)', `${r.unauthenticated} (${pct(r.unauthenticated, total)})`],
      ],
    },
    {
      title: 'Files',
      kind: 'table',
      columns: ['file', 'format', 'provider', 'gzip', 'lines', 'events', 'rejected'],
      rows: r.input.files.map((f) => [f.path, f.format, f.providers.join(', ') || '-', f.gzip ? 'yes' : 'no', f.lines, f.events, f.rejected]),
      dropOrder: ['gzip', 'provider', 'lines'],
    },
    countSection('Status', 'class', r.status, total),
    countSection('Subjects', 'subject', r.top.subjects, total, UNAUTHENTICATED_LABEL),
    countSection('Subject kinds', 'kind', r.top.subjectKinds, total),
    countSection('Verbs', 'verb', r.top.verbs, total),
    countSection('Resources', 'resource', r.top.resources, total),
    countSection('Non-resource URLs', 'path', r.top.nonResourceURLs, total),
    countSection('Namespaces', 'namespace', r.top.namespaces, total, '(cluster-scoped)'),
    countSection('Clients', 'client', r.top.clients, total, '(no user agent)'),
    countSection('Access methods', 'method', r.top.accessMethods, total),
    {
      title: 'Latency',
      kind: 'table',
      columns: ['verb', 'requests', 'p50', 'p95', 'p99'],
      rows: [latencyRow(r.latency.overall), ...r.latency.byVerb.map(latencyRow)],
      note: 'From requestReceivedTimestamp to the stageTimestamp of the completing stage; watches, exec, attach, port-forward, proxy and followed logs are sessions and are left out.',
    },
  ];
  return { title: 'kaudit summary', sections: sections.filter((s) => s.kind === 'kv' || s.rows.length > 0) };
}
