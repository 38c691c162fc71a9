// The data the `audit view` page embeds: the view report, column-wise (see columns.ts). Pure: the
// CLI builds it, the page (bundled) reads it.
import type { InputAccounting } from '../../types.js';
import { RECORD_FIELDS } from '../../render/records.js';
import { encodeTable, encodeColumns, decodeTable, textAt, type EncodedTable, type Table } from './columns.js';
import type { ViewReport } from './index.js';

/** Command fields that are the page's own bookkeeping, not part of `audit commands`' objects. */
export const COMMAND_EXTRA_FIELDS: readonly string[] = ['rows', 'flags'];

export interface ViewPayload {
  /** Format version of this object. */
  v: 1;
  summary: ViewReport['summary'];
  command: string[];
  input: InputAccounting;
  /** The records, RECORD_FIELDS in order. */
  records: EncodedTable;
  /** Where each record was read: file, line, unit (as Loc; evidence shown in the detail pane). */
  locations: EncodedTable;
  flags: number[];
  /** The commands: every field of `audit commands`' objects (startMs included), in their order. */
  commands: EncodedTable;
  commandFlags: number[];
  /** Rows of each command's calls, concatenated; command i has commandCalls[i] of them. */
  commandRows: number[];
  commandCalls: number[];
}

/** The report as the page embeds it. */
export function toPayload(r: ViewReport): ViewPayload {
  const fields: string[] = [];
  for (const c of r.commands) for (const k of Object.keys(c)) if (!COMMAND_EXTRA_FIELDS.includes(k) && !fields.includes(k)) fields.push(k);
  // A command's auditIDs are those of its rows: say so instead of writing every auditID twice.
  const ids = r.columns ? (r.columns('auditID') as string[]) : r.records.map((x) => x.auditID);
  const idsFromRows = r.commands.every((c) => c.auditIDs.length === c.rows.length && c.auditIDs.every((id, j) => ids[c.rows[j]!] === id));
  const commands = encodeTable(r.commands, idsFromRows ? fields.filter((f) => f !== 'auditIDs') : fields);
  if (idsFromRows && fields.includes('auditIDs')) {
    commands.fields.splice(fields.indexOf('auditIDs'), 0, 'auditIDs');
    commands.cols.splice(fields.indexOf('auditIDs'), 0, { k: 'rows' });
  }
  return {
    v: 1,
    summary: r.summary,
    command: r.command,
    input: r.input,
    // From the reducer's store when the report has one (the records are not made), else from the records.
    records: r.columns ? encodeColumns(r.summary.calls, RECORD_FIELDS, r.columns) : encodeTable(r.records, RECORD_FIELDS as readonly string[]),
    locations: r.columns
      ? encodeColumns(r.summary.calls, ['file', 'line', 'unit'], (f) => r.columns!(`location.${f}`))
      : encodeTable(r.records.map((x) => x.location ?? { file: '', line: 0, unit: 'line' }), ['file', 'line', 'unit']),
    flags: r.flags,
    commands,
    commandFlags: r.commands.map((c) => c.flags),
    commandRows: r.commands.flatMap((c) => c.rows),
    commandCalls: r.commands.map((c) => c.rows.length),
  };
}

export interface ViewData {
  summary: ViewReport['summary'];
  command: string[];
  input: InputAccounting;
  records: Table;
  /** file, line, unit of each record (where it was read). */
  locations: Table;
  flags: Uint8Array;
  commands: Table;
  commandFlags: Uint8Array;
  /** Rows of command i: commandRows[commandStart[i] … commandStart[i+1]). */
  commandRows: Int32Array;
  commandStart: Int32Array;
  /** The command of each row (-1: none). */
  rowCommand: Int32Array;
}

/** Decodes the payload (throws on a payload of another format version). */
export function fromPayload(p: ViewPayload): ViewData {
  if (p.v !== 1) throw new Error(`this page reads view data version 1, not ${String(p.v)}`);
  const records = decodeTable(p.records);
  const commandStart = new Int32Array(p.commands.n + 1);
  for (let i = 0; i < p.commands.n; i++) commandStart[i + 1] = commandStart[i]! + (p.commandCalls[i] ?? 0);
  const commandRows = Int32Array.from(p.commandRows);
  if (commandStart[p.commands.n] !== commandRows.length) throw new Error('view data: command rows do not add up');
  const ids = records.col['auditID'];
  const commands = decodeTable(p.commands, () => {
    const lists: string[][] = [];
    for (let c = 0; c < p.commands.n; c++) {
      const l: string[] = [];
      for (let k = commandStart[c]!; k < commandStart[c + 1]!; k++) l.push(ids ? textAt(ids, commandRows[k]!) : '');
      lists.push(l);
    }
    return lists;
  });
  const rowCommand = new Int32Array(records.n).fill(-1);
  for (let c = 0; c < commands.n; c++) for (let k = commandStart[c]!; k < commandStart[c + 1]!; k++) rowCommand[commandRows[k]!] = c;
  return {
    summary: p.summary,
    command: p.command,
    input: p.input,
    records,
    locations: decodeTable(p.locations),
    flags: Uint8Array.from(p.flags),
    commands,
    commandFlags: Uint8Array.from(p.commandFlags),
    commandRows,
    commandStart,
    rowCommand,
  };
}
