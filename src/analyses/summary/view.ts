// Presents a SummaryReport as a generic View for the table and Markdown renderers. Pure formatting.
import type { View, ViewSection, Cell } from '../../types.js';
import type { SummaryReport, LatencyRow, Keyed } from './index.js';
import type { Count } from '../../util/counter.js';
import type { ApproxCount, DistinctEstimate } from '../../scale/sketch/index.js';
import { accountingRows } from '../../render/accounting.js';
import { displayWindow, formatDuration, plural as plural1 } from '../../render/format.js';
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

/** A distinct count as text: exact, or `≈N (±E%)` with one relative standard error. */
export function distinctText(d: number | DistinctEstimate): string {
  if (typeof d === 'number') return String(d);
  if (d.relativeStandardError === 0) return String(d.estimate);
  return `≈${d.estimate} (±${(100 * d.relativeStandardError).toFixed(2)}%)`;
}

/** A keyed list (subjects, resources…): exact counts, or --approx bounds, with how many keys there are. */
function keyedSection(r: SummaryReport, key: Keyed, title: string, label: string, plural: string, blank = '(none)'): ViewSection {
  const total = r.requests;
  const d = r.distinct[key];
  const list = r.top[key];
  const shown = list.length;
  const n = typeof d === 'number' ? d : d.estimate;
  const more = n > shown ? ` The ${shown} with the most requests are shown (--top).` : '';
  if (!r.approximate) {
    const s = countSection(title, label, list as Count[], total, blank);
    return n > shown ? { ...s, note: `${n} ${plural}.${more}` } : s;
  }
  const unlisted = r.approximate.top.unlistedMax[key];
  const range = (lo: number, hi: number, f: (x: number) => string): string => (lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`);
  const estimated = typeof d !== 'number' && d.relativeStandardError > 0;
  const notes: string[] = [];
  // Within the sketches' exact range the section reads exactly as without --approx.
  if (estimated || n > shown) notes.push(`${distinctText(d)} ${plural}${estimated ? ' (HyperLogLog estimate, ± one standard error)' : ''}.${more}`);
  if (unlisted > 0) notes.push(`Approximate (--approx): each count is a range that holds the true count; a ${label} not listed has at most ${plural1(unlisted, 'request')}.`);
  return {
    title,
    kind: 'table',
    columns: [label, 'requests', 'share'],
    rows: (list as ApproxCount[]).map(({ key, count: c }) => [key === '' ? blank : key, c.lower === c.upper ? c.lower : range(c.lower, c.upper, String), range(c.lower, c.upper, (x) => pct(x, total))]),
    ...(notes.length ? { note: notes.join(' ') } : {}),
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
    keyedSection(r, 'subjects', 'Subjects', 'subject', 'subjects', UNAUTHENTICATED_LABEL),
    countSection('Subject kinds', 'kind', r.top.subjectKinds, total),
    countSection('Verbs', 'verb', r.top.verbs, total),
    keyedSection(r, 'resources', 'Resources', 'resource', 'resources'),
    keyedSection(r, 'nonResourceURLs', 'Non-resource URLs', 'path', 'paths'),
    keyedSection(r, 'namespaces', 'Namespaces', 'namespace', 'namespaces', '(cluster-scoped)'),
    keyedSection(r, 'clients', 'Clients', 'client', 'clients', '(no user agent)'),
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
