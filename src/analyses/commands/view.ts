// Views of folded commands: the audit trail of commands (optionally with their API calls) and
// latency per command type. Columns follow what an audit-trail reader scans for: when, who, where
// (cluster, namespace, resource), how (access method and client version), then the details.
import type { Cell, View, ViewSection } from '../../types.js';
import type { CommandRecord, TypeLatency } from './fold.js';
import { csvRow } from '../../render/sanitize.js';
import { displayTime, formatDuration, plural } from '../../render/format.js';

export interface CommandsReport {
  commands: CommandRecord[];
  matched: number;
  latency: TypeLatency[];
  slowMs: number | null;
}

/** A duration for people, in kaudit's one format (src/render/format.ts): 0.8 ms, 72 ms, 125.6 s, 2.51 h. */
export function formatMs(v: number | null): string {
  return formatDuration(v);
}

/** How the command reached the API server: `kubectl v1.33.1`, `automation (helm 3.14.2)`. */
export function accessCell(c: Pick<CommandRecord, 'accessMethod' | 'client' | 'clientVersion'>): string {
  const client = `${c.client}${c.clientVersion ? ` ${c.clientVersion}` : ''}`;
  return c.client === c.accessMethod ? client : c.client ? `${c.accessMethod} (${client})` : c.accessMethod;
}

function resourceCell(c: { resource: string; subresource: string; apiGroup: string }): string {
  if (!c.resource) return '';
  return `${c.resource}${c.apiGroup ? `.${c.apiGroup}` : ''}${c.subresource ? `/${c.subresource}` : ''}`;
}

function durationCell(latency: number | null, session: number | null, notCompleted = 0): string {
  // With calls that never completed, the duration counts only those that did: at least this long.
  const d = notCompleted ? (latency === null ? 'not completed' : `≥ ${formatMs(latency)}`) : formatMs(latency);
  return session === null ? d : `${d}, session ${formatMs(session)}`;
}

export function commandsView(r: CommandsReport, withCalls: boolean): View {
  const rows: Cell[][] = [];
  for (const c of r.commands) {
    rows.push([displayTime(c.start), c.user, c.cluster, c.namespace, resourceCell(c), accessCell(c), c.ambiguous ? `${c.command} (?)` : c.command, c.status || '-', durationCell(c.durationMs, c.sessionMs, c.notCompletedCalls), c.apiCalls]);
    if (withCalls) {
      for (const k of c.calls ?? []) {
        const slow = r.slowMs !== null && k.latencyMs !== null && k.latencyMs > r.slowMs ? ' SLOW' : '';
        rows.push(['', '', '', '', '', '', `  ↳ ${k.verb} ${k.requestURI}`, k.code || '-', `${durationCell(k.latencyMs, k.sessionMs)}${slow}`, '']);
      }
    }
  }
  const shown = r.commands.length;
  // A log of one unnamed cluster: no cluster column.
  const clusters = r.commands.some((c) => c.cluster !== '');
  const columns = ['date', 'user', 'cluster', 'namespace', 'resource', 'access', 'command', 'status', 'duration', 'calls'];
  const sections: ViewSection[] = [
    {
      title: r.slowMs === null ? 'Commands' : `Commands slower than ${formatMs(r.slowMs)} (or with a call that slow)`,
      kind: 'table',
      columns: clusters ? columns : columns.filter((c) => c !== 'cluster'),
      rows: clusters ? rows : rows.map((row) => row.filter((_, i) => i !== 2)),
      note: `${plural(r.matched, 'command')}${shown < r.matched ? `, ${shown} shown (raise --limit, 0 for no limit, or -o csv for all)` : ''}. (?) marks a command line the log cannot pin down exactly (… stands for what it does not hold); -o json says why. Duration: first call received to last call answered, streaming calls until they started streaming; session: until the last one ended; ≥ when a call never completed.`,
      dropOrder: ['calls', 'resource', 'namespace', 'access'],
    },
    {
      title: 'Latency per command type',
      kind: 'table',
      columns: ['type', 'commands', 'p50', 'p95', 'p99'],
      rows: r.latency.map((l) => [l.type, l.commands, formatMs(l.p50), formatMs(l.p95), formatMs(l.p99)]),
      note: 'kubectl commands: their duration. Other clients: the slowest call of each burst (a burst is not one operation anyone waited for). Calls that never completed have no latency and are left out.',
    },
  ];
  return { title: 'kaudit commands', sections: sections.filter((s) => s.rows.length > 0) };
}

export const COMMAND_CSV_FIELDS: (keyof CommandRecord)[] = ['start', 'end', 'user', 'cluster', 'sourceIP', 'client', 'clientVersion', 'accessMethod', 'type', 'command', 'ambiguous', 'verb', 'apiGroup', 'resource', 'subresource', 'namespace', 'name', 'apiCalls', 'durationMs', 'sessionMs', 'slowestCallMs', 'status', 'userAgent', 'auditIDs'];

/** The header line of the commands CSV. */
export function commandCsvHeader(): string {
  return csvRow(COMMAND_CSV_FIELDS as string[]);
}

/** One command as a CSV line of COMMAND_CSV_FIELDS (auditIDs joined by `;`): `audit commands -o csv` and the view page's export. */
export function commandCsvRow(c: CommandRecord): string {
  return csvRow(COMMAND_CSV_FIELDS.map((f) => (f === 'auditIDs' ? c.auditIDs.join(';') : (c[f] as string | number | null))));
}

/** One command as `audit commands -o json` lists it: every field but startMs (the page's sort key). */
export function commandJson(c: CommandRecord): Omit<CommandRecord, 'startMs'> {
  const { startMs: _s, ...rest } = c;
  void _s;
  return rest;
}
