// What each column shows for an API call and for a command. Denied and failed rows carry the words
// DENIED / FAILED in their details (and a mark and colour from the stylesheet), never colour alone.
import { textAt, valueAt, type Table } from '../../analyses/view/columns.js';
import type { ViewData } from '../../analyses/view/payload.js';
import { FLAG } from '../../analyses/view/flags.js';
import { formatMs, formatTime } from '../format.js';
import type { CellText } from './grid.js';

export const COLUMNS = ['Date', 'User', 'Cluster', 'Namespace', 'Resource', 'Access method', 'Details'];

function s(t: Table, f: string, i: number): string {
  const c = t.col[f];
  if (!c) return '';
  if (c.kind === 'str') return textAt(c, i);
  const v = valueAt(c, i);
  return v === null || v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v);
}

function n(t: Table, f: string, i: number): number | null {
  const c = t.col[f];
  if (!c || c.kind !== 'num') return null;
  return c.isNull[i] ? null : c.nums[i]!;
}

export function mark(flags: number): string {
  return flags & FLAG.denied ? 'DENIED ' : flags & FLAG.failed ? 'FAILED ' : '';
}

export function rowClass(flags: number): string {
  return flags & FLAG.denied ? 'denied' : flags & FLAG.failed ? 'failed' : '';
}

function resourceText(resource: string, subresource: string, url: string): string {
  return resource ? (subresource ? `${resource}/${subresource}` : resource) : url;
}

const dash = (v: string): string => (v === '' ? '–' : v);

/** The seven cells of API call `i`. */
export function callCells(d: ViewData, i: number, local: boolean, sub = ''): CellText[] {
  const t = d.records;
  const flags = d.flags[i]!;
  const imp = s(t, 'impersonator', i);
  const code = n(t, 'code', i);
  const client = `${s(t, 'client', i)}${s(t, 'clientVersion', i) ? ` ${s(t, 'clientVersion', i)}` : ''}`;
  const details2 = [`${mark(flags)}${code === null || code === 0 ? 'no status' : code}`, formatMs(n(t, 'durationMs', i)), dash(s(t, 'sourceIP', i)), s(t, 'userAgent', i)].join(' · ');
  return [
    { l1: formatTime(n(t, 'timeMs', i) ?? NaN, local), l2: sub },
    { l1: dash(s(t, 'subject', i)), l2: imp ? `impersonated by ${imp}` : '' },
    { l1: dash(s(t, 'cluster', i)), l2: '' },
    { l1: dash(s(t, 'namespace', i)), l2: '' },
    { l1: dash(resourceText(s(t, 'resource', i), s(t, 'subresource', i), s(t, 'nonResourceURL', i))), l2: s(t, 'name', i) },
    { l1: dash(s(t, 'accessMethod', i)), l2: client },
    { l1: `${s(t, 'verb', i).toUpperCase()} ${s(t, 'requestURI', i)}`, l2: details2, cls: 'details' },
  ];
}

/** The seven cells of command `c`. */
export function commandCells(d: ViewData, c: number, local: boolean): CellText[] {
  const t = d.commands;
  const flags = d.commandFlags[c]!;
  const first = d.commandRows[d.commandStart[c]!];
  const imp = first === undefined ? '' : s(d.records, 'impersonator', first);
  const calls = n(t, 'apiCalls', c) ?? d.commandStart[c + 1]! - d.commandStart[c]!;
  const status = n(t, 'status', c);
  const parts = [`${mark(flags)}${status === null || status === 0 ? 'no status' : status}`, formatMs(n(t, 'durationMs', c))];
  const slowest = n(t, 'slowestCallMs', c);
  if (calls > 1 && slowest !== null) parts.push(`slowest call ${formatMs(slowest)}`);
  const session = n(t, 'sessionMs', c);
  if (session !== null) parts.push(`session ${formatMs(session)}`);
  parts.push(dash(s(t, 'sourceIP', c)), s(t, 'userAgent', c));
  const client = `${s(t, 'client', c)}${s(t, 'clientVersion', c) ? ` ${s(t, 'clientVersion', c)}` : ''}`;
  const ambiguous = s(t, 'ambiguous', c);
  return [
    { l1: formatTime(n(t, 'startMs', c) ?? NaN, local), l2: calls === 1 ? '1 call' : `${calls} calls` },
    { l1: dash(s(t, 'user', c)), l2: imp ? `impersonated by ${imp}` : '' },
    { l1: dash(s(t, 'cluster', c)), l2: '' },
    { l1: dash(s(t, 'namespace', c)), l2: '' },
    { l1: dash(resourceText(s(t, 'resource', c), s(t, 'subresource', c), '')), l2: s(t, 'name', c) },
    { l1: dash(s(t, 'accessMethod', c)), l2: client },
    { l1: `${s(t, 'command', c)}${ambiguous ? ' (?)' : ''}`, l2: parts.join(' · '), cls: 'details cmd', title: `${s(t, 'command', c)}${ambiguous ? `\n(?) ${ambiguous}` : ''}\n${parts.join(' · ')}` },
  ];
}

/** Field name → text, for the detail pane (arrays joined, null as –). */
export function fieldText(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (Array.isArray(v)) return v.length ? v.join(', ') : '–';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '–';
  return typeof v === 'string' ? (v === '' ? '–' : v) : JSON.stringify(v);
}
