// Views of investigate results: the listing with the columns administrators look at, groups, timeline.
import type { AuditRecord, Cell, View, ViewSection } from '../../types.js';
import type { ApproxGroupRow, GroupReport, GroupRow, GroupTopReport, TimelineReport } from './index.js';
import type { Rows } from '../../scale/lazy.js';
import type { CountBounds } from '../../scale/sketch/index.js';
import { fieldText } from './index.js';
import { displayTime, formatDuration, plural } from '../../render/format.js';
import { displaySubject } from '../../normalize/subject.js';
import { isCompleted } from '../../normalize/collapse.js';
import { headOf, VIEW_ROWS } from '../../render/stream.js';

export interface ListingReport {
  kind: 'kaudit.investigate';
  version: 1;
  matched: number;
  records: AuditRecord[];
  /** Columns chosen with --fields; default columns when empty. */
  fields: (keyof AuditRecord)[];
}

export function resourceLabel(r: AuditRecord): string {
  if (r.resource === '') return r.nonResourceURL;
  const res = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  return r.apiGroup ? `${res}.${r.apiGroup}` : res;
}

function status(r: AuditRecord): string {
  const c = r.code === 0 ? '-' : String(r.code);
  return r.decision === 'forbid' ? `${c} denied` : c;
}

function details(r: AuditRecord): string {
  const parts: string[] = [];
  if (r.name) parts.push(`name=${r.name}`);
  // A request that never completed has no duration; a stream that did not end in the log says when it started.
  if (isCompleted(r)) {
    if (r.durationMs !== null) parts.push(formatDuration(r.durationMs));
  } else parts.push(r.responseStartedMs !== null ? `streaming after ${formatDuration(r.responseStartedMs)}, not ended` : 'not completed');
  if (r.sourceIP) parts.push(`from ${r.sourceIP}`);
  const ua = `${r.client} ${r.clientVersion}`.trim() || r.userAgent.slice(0, 40);
  if (ua) parts.push(`via ${ua}`);
  if (r.impersonator) parts.push(`impersonated by ${r.impersonator}`);
  return parts.join(' · ');
}

/** The default columns; Cluster only when some input is labelled with a cluster (NAME=PATH or --cluster). */
export const DEFAULT_COLUMNS = ['Date', 'User', 'Cluster', 'Namespace', 'Resource', 'Verb', 'Access Method', 'Status', 'Details'];

export function listingView(rep: ListingReport): View {
  const custom = rep.fields.length > 0;
  const clusters = rep.records.some((r) => r.cluster !== '');
  const columns = custom ? rep.fields.map(String) : DEFAULT_COLUMNS.filter((c) => clusters || c !== 'Cluster');
  const rows: Cell[][] = rep.records.map((r) =>
    custom
      ? rep.fields.map((f) => (f === 'time' ? displayTime(r.time) : fieldText(r, f)))
      : [displayTime(r.time), displaySubject(r.subject), ...(clusters ? [r.cluster || '-'] : []), r.namespace || '-', resourceLabel(r), r.verb, r.accessMethod, status(r), details(r)],
  );
  const note = rep.matched > rep.records.length ? `Showing ${rep.records.length} of ${rep.matched} matching requests; raise --limit (0: no limit; a terminal table shows at most 1000), or use -o csv or -o jsonl for all of them.` : `${plural(rep.matched, 'matching request')}.`;
  return { title: 'kaudit investigate', sections: [{ title: 'Requests', kind: 'table', columns, rows, note, dropOrder: ['Access Method', 'Cluster', 'Status'] }] };
}

/** `n`, or `lower–upper` when the bounds differ (an --approx count). */
function boundsCell(b: CountBounds): Cell {
  return b.lower === b.upper ? b.lower : `${b.lower}–${b.upper}`;
}

/** The distinct count as text: exact, or `≈N (±E%)` with one relative standard error. */
function estimateText(d: { estimate: number; relativeStandardError: number }): string {
  return d.relativeStandardError === 0 ? String(d.estimate) : `≈${d.estimate} (±${(100 * d.relativeStandardError).toFixed(2)}%)`;
}

function approxGroupView(rep: GroupReport): View {
  const rows = rep.groups as readonly ApproxGroupRow[];
  const shown = rows.length > VIEW_ROWS ? rows.slice(0, VIEW_ROWS) : rows;
  const d = rep.distinct!;
  const unlisted = rep.approximate!.top.unlistedMax;
  const groups = d.relativeStandardError === 0 ? plural(d.estimate, 'group') : `${estimateText(d)} groups (HyperLogLog estimate, ± one standard error)`;
  const notes = [`${groups}, ${plural(rep.input.used, 'request')}.`];
  if (d.estimate > shown.length) notes.push(`The ${shown.length} with the most requests are shown.`);
  if (unlisted > 0) notes.push(`Approximate (--approx): requests and denied are ranges that hold the true counts, first/last seen are among the requests counted; a group not listed has at most ${plural(unlisted, 'request')}.`);
  // Rows the sketch lists beyond those shown (the renderer says how many; -o json has them).
  return groupTable(rep.groupBy, shown.map((g) => [...rep.groupBy.map((f) => g.key[f] || '-'), boundsCell(g.count), boundsCell(g.denied), displayTime(g.first), displayTime(g.last)]), notes.join(' '), rows.length - shown.length);
}

/** The one table of a group view: `rows` as cells, `omitted` groups not shown (0: none). */
function groupTable(groupBy: readonly string[], rows: Cell[][], note: string, omitted: number): View {
  return {
    title: 'kaudit investigate',
    sections: [
      {
        title: `Requests by ${groupBy.join(', ')}`,
        kind: 'table',
        columns: [...groupBy, 'requests', 'denied', 'first seen', 'last seen'],
        rows,
        note,
        dropOrder: ['denied', 'first seen'],
        ...(omitted > 0 ? { omitted } : {}),
      },
    ],
  };
}

/**
 * Groups as a table: the VIEW_ROWS with the most requests and how many more there are. From the
 * whole report (finish) or from its top (topGroups: what the CLI passes for tables and Markdown).
 */
export function groupView(rep: GroupReport | GroupTopReport): View {
  if ('approximate' in rep && rep.approximate) return approxGroupView(rep);
  const total = 'total' in rep ? rep.total : rep.groups.length;
  const shown = 'total' in rep ? rep.groups.slice(0, VIEW_ROWS) : headOf(rep.groups as Rows<GroupRow>, VIEW_ROWS);
  const more = total - shown.length;
  // The VIEW_ROWS groups with the most requests; the renderer says how many more (src/render/cap.ts).
  const note = `${plural(total, 'group')}, ${plural(rep.input.used, 'request')}.${more > 0 ? ` The ${shown.length} with the most requests are shown.` : ''}`;
  return groupTable(rep.groupBy, shown.map((g) => [...rep.groupBy.map((f) => g.key[f] || '-'), g.count, g.denied, displayTime(g.first), displayTime(g.last)]), note, more);
}

export function timelineView(rep: TimelineReport): View {
  const label = (s: string): string => (rep.bucketMs === 3_600_000 ? `${s.slice(0, 13).replace('T', ' ')}:00` : s.slice(0, 10));
  const denied = rep.buckets.reduce((n, b) => n + b.denied, 0) + rep.outliers.denied;
  const notes = [`${plural(rep.input.used, 'request')}, ${denied} denied.`];
  if (rep.widened) notes.push(`Per ${rep.bucket}: ${rep.widened}.`);
  if (rep.untimed) notes.push(`${plural(rep.untimed, 'request')} without a time ${rep.untimed === 1 ? 'is' : 'are'} not on the timeline.`);
  const title = rep.bucketMs === 3_600_000 || rep.bucket === 'day' ? `Requests per ${rep.bucket} (UTC)` : `Requests per ${rep.bucket} (UTC, from Monday)`;
  const sections: ViewSection[] = [{ title, kind: 'bars', columns: [rep.bucket, 'requests'], rows: rep.buckets.map((b) => [label(b.start), b.count]), note: notes.join(' ') }];
  const o = rep.outliers;
  if (o.requests > 0) {
    sections.push({
      title: 'Outliers (left off the timeline)',
      kind: 'table',
      columns: ['time (bucket start)', 'requests', 'denied'],
      rows: o.buckets.map((b) => [displayTime(b.start), b.count, b.denied]),
      note: `${plural(o.requests, 'request')} dated far outside the rest (before ${displayTime(o.window!.from)} or from ${displayTime(o.window!.to)}: more than 3 interquartile ranges, and at least 7 days, beyond the quartiles of the request times)${o.more ? `; ${o.more} more outlier buckets not shown, -o json has their counts` : ''}.`,
    });
  }
  return { title: 'kaudit investigate', sections };
}

/** The value columns of flat group rows (after the --group-by fields): --approx has ranges. */
export function groupColumns(rep: GroupReport): string[] {
  return rep.approximate ? ['requests_min', 'requests_max', 'denied_min', 'denied_max', 'first', 'last'] : ['requests', 'denied', 'first', 'last'];
}

/** CSV and JSON lines of groups are flat rows; this gives them, one at a time (columns: groupColumns). */
export function* groupRows(rep: GroupReport): Generator<Record<string, string | number>> {
  if (rep.approximate) {
    for (const g of rep.groups as readonly ApproxGroupRow[]) yield { ...g.key, requests_min: g.count.lower, requests_max: g.count.upper, denied_min: g.denied.lower, denied_max: g.denied.upper, first: g.first, last: g.last };
    return;
  }
  for (const g of rep.groups as Rows<GroupRow>) yield { ...g.key, requests: g.count, denied: g.denied, first: g.first, last: g.last };
}
