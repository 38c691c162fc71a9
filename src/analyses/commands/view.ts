// Views of folded commands: the command list (optionally with its API calls) and latency per type.
import type { Cell, View, ViewSection } from '../../types.js';
import type { CommandRecord, TypeLatency } from './fold.js';
import { displayTime, formatDuration, plural } from '../../render/format.js';

export interface CommandsReport {
  commands: CommandRecord[];
  matched: number;
  latency: TypeLatency[];
  slowMs: number | null;
}

function ms(v: number | null): string {
  return formatDuration(v);
}

export function commandsView(r: CommandsReport, withCalls: boolean): View {
  const rows: Cell[][] = [];
  for (const c of r.commands) {
    const client = `${c.client}${c.clientVersion ? ` ${c.clientVersion}` : ''}`;
    rows.push([displayTime(c.start), c.user, client, c.accessMethod, c.ambiguous ? `${c.command} (?)` : c.command, c.apiCalls, ms(c.durationMs), c.status || '-']);
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
      note: `${plural(r.matched, 'command')}${shown < r.matched ? `, ${shown} shown (raise --limit, 0 for no limit, or -o csv for all)` : ''}. (?) marks a command line the log cannot pin down exactly; -o json says why.`,
      dropOrder: ['access', 'calls', 'client'],
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
