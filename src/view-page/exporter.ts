// The page's exports, written by the same functions as the command line: the records' CSV and JSON
// lines writers of `audit export` (src/render/records.ts) and the command serialisers of `audit
// commands` (src/analyses/commands/view.ts), bundled into the page. Rows go in log order (records)
// and start order (commands), as the command line writes them, whatever order the table shows.
import { csvWriter, jsonlWriter, RECORD_FIELDS } from '../render/records.js';
import { commandCsvHeader, commandCsvRow, commandJson } from '../analyses/commands/view.js';
import type { CommandRecord } from '../analyses/commands/fold.js';
import type { AuditRecord } from '../types.js';
import { rowAt } from '../analyses/view/columns.js';
import type { ViewData } from '../analyses/view/payload.js';
import type { ViewKind } from './model.js';

export type ExportFormat = 'csv' | 'jsonl';

/** The record of row i, as `audit export` would serialise it. */
export function recordAt(d: ViewData, i: number): AuditRecord {
  return rowAt(d.records, i) as unknown as AuditRecord;
}

/** Command i as `audit commands` holds it. */
export function commandAt(d: ViewData, i: number): CommandRecord {
  return rowAt(d.commands, i) as unknown as CommandRecord;
}

/** The export of the rows whose `mask` is 1, as text chunks (join them, or hand them to a Blob). */
export function exportRows(d: ViewData, view: ViewKind, format: ExportFormat, mask: Uint8Array): string[] {
  const out: string[] = [];
  if (view === 'calls') {
    const w = format === 'csv' ? csvWriter(RECORD_FIELDS) : jsonlWriter(RECORD_FIELDS);
    out.push(w.header());
    for (let i = 0; i < d.records.n; i++) if (mask[i]) out.push(w.row(recordAt(d, i)));
    out.push(w.footer());
  } else {
    if (format === 'csv') out.push(commandCsvHeader());
    for (let i = 0; i < d.commands.n; i++) {
      if (!mask[i]) continue;
      const c = commandAt(d, i);
      out.push(format === 'csv' ? commandCsvRow(c) : `${JSON.stringify(commandJson(c))}\n`);
    }
  }
  return out.filter((s) => s !== '');
}
