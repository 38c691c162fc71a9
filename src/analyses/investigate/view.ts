// Views of investigate results: the listing with the columns administrators look at, groups, timeline.
import type { AuditRecord, Cell, View } from '../../types.js';
import type { GroupReport, TimelineReport } from './index.js';
import { fieldText } from './index.js';
import { displayTime, formatDuration, plural } from '../../render/format.js';
import { displaySubject } from '../../normalize/subject.js';

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
  if (r.durationMs !== null) parts.push(formatDuration(r.durationMs));
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

export function groupView(rep: GroupReport): View {
  return {
    title: 'kaudit investigate',
    sections: [
      {
        title: `Requests by ${rep.groupBy.join(', ')}`,
        kind: 'table',
        columns: [...rep.groupBy, 'requests', 'denied', 'first seen', 'last seen'],
        rows: rep.groups.map((g) => [...rep.groupBy.map((f) => g.key[f] || '-'), g.count, g.denied, displayTime(g.first), displayTime(g.last)]),
        note: `${plural(rep.groups.length, 'group')}, ${plural(rep.input.used, 'request')}.`,
        dropOrder: ['denied', 'first seen'],
      },
    ],
  };
}

export function timelineView(rep: TimelineReport): View {
  const label = (s: string): string => (rep.bucket === 'day' ? s.slice(0, 10) : `${s.slice(0, 13).replace('T', ' ')}:00`);
  return {
    title: 'kaudit investigate',
    sections: [{ title: `Requests per ${rep.bucket} (UTC)`, kind: 'bars', columns: [rep.bucket, 'requests'], rows: rep.buckets.map((b) => [label(b.start), b.count]), note: `${plural(rep.input.used, 'request')}, ${rep.buckets.reduce((n, b) => n + b.denied, 0)} denied.` }],
  };
}

/** Markdown/CSV/JSON for groups and timelines are flat tables; this gives their rows. */
export function groupRows(rep: GroupReport): Record<string, string | number>[] {
  return rep.groups.map((g) => ({ ...g.key, requests: g.count, denied: g.denied, first: g.first, last: g.last }));
}
