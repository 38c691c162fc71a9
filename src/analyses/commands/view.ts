// Views of folded commands: the command list (optionally with its API calls) and latency per type.
import type { Cell, View, ViewSection } from '../../types.js';
import type { CommandRecord, TypeLatency } from './fold.js';
import { csvRow } from '../../render/sanitize.js';

export interface CommandsReport {
  commands: CommandRecord[];
  matched: number;
  latency: TypeLatency[];
  slowMs: number | null;
}

function ms(v: number | null): string {
  return v === null ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v * 10) / 10} ms`;
}

export function commandsView(r: CommandsReport, withCalls: boolean): View {
  const rows: Cell[][] = [];
  for (const c of r.commands) {
    const client = `${c.client}${c.clientVersion ? ` ${c.clientVersion}` : ''}`;
    rows.push([c.start, c.user, client, c.accessMethod, c.ambiguous ? `${c.command} (?)` : c.command, c.apiCalls, ms(c.durationMs), c.status || '-']);
    if (withCalls) {
      for (const k of c.calls ?? []) {
        const slow = r.slowMs !== null && k.durationMs !== null && k.durationMs > r.slowMs ? ' SLOW' : '';
        rows.push(['', '', '', '', `  ↳ ${k.verb} ${k.requestURI}`, '', `${ms(k.durationMs)}${slow}`, k.code || '-']);
      }
    }
  }
  const shown = r.commands.length;
  const sections: ViewSection[] = [
    {
      title: r.slowMs === null ? 'Commands' : `Commands slower than ${ms(r.slowMs)} (or with a call that slow)`,
      kind: 'table',
      columns: ['start', 'user', 'client', 'access', 'command', 'calls', 'duration', 'status'],
      rows,
      note: `${r.matched} command${r.matched === 1 ? '' : 's'}${shown < r.matched ? `, ${shown} shown (raise --limit, or -o csv for all)` : ''}. (?) marks a command line the log cannot pin down exactly; -o json says why.`,
    },
    {
      title: 'Latency per command type',
      kind: 'table',
      columns: ['type', 'commands', 'p50', 'p95', 'p99'],
      rows: r.latency.map((l) => [l.type, l.commands, ms(l.p50), ms(l.p95), ms(l.p99)]),
      note: 'Duration: first call received to last call answered; exec, attach, port-forward, logs -f and watches count until they started streaming.',
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
