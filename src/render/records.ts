// Streaming writers for normalized records (export and investigate): CSV, JSON lines, JSON array.
// Field order is fixed here so that every record serialises identically whatever its source.
import type { AuditRecord } from '../types.js';
import { csvRow, yamlDumper } from './sanitize.js';
import { faultCounter } from '../util/fault.js';

export const RECORD_FIELDS: readonly (keyof AuditRecord)[] = [
  'time', 'timeMs', 'cluster', 'auditID', 'stage', 'level',
  'subject', 'subjectKind', 'subjectNamespace', 'subjectName', 'groups', 'impersonator', 'principal',
  'verb', 'apiGroup', 'apiVersion', 'resource', 'subresource', 'namespace', 'name', 'nonResourceURL', 'requestURI',
  'code', 'decision', 'durationMs', 'sourceIP', 'userAgent', 'client', 'clientVersion', 'accessMethod', 'provider',
  'auditIDReused',
];

/** The record with its fields in canonical order (timeMs NaN → null). */
export function canonicalRecord(r: AuditRecord, fields: readonly (keyof AuditRecord)[] = RECORD_FIELDS): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of fields) {
    const v = r[f];
    o[f] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  }
  return o;
}

export interface RecordWriter {
  header(): string;
  row(r: AuditRecord): string;
  footer(): string;
}

export function csvWriter(fields: readonly (keyof AuditRecord)[] = RECORD_FIELDS): RecordWriter {
  return {
    header: () => csvRow(fields as string[]),
    row: (r) =>
      csvRow(
        fields.map((f) => {
          const v = r[f];
          return Array.isArray(v) ? v.join(';') : (v as string | number | null);
        }),
      ),
    footer: () => '',
  };
}

export function jsonlWriter(fields: readonly (keyof AuditRecord)[] = RECORD_FIELDS): RecordWriter {
  return { header: () => '', row: (r) => JSON.stringify(canonicalRecord(r, fields)) + '\n', footer: () => '' };
}

export function jsonArrayWriter(fields: readonly (keyof AuditRecord)[] = RECORD_FIELDS): RecordWriter {
  let first = true;
  return {
    header: () => '[',
    row: (r) => {
      const s = (first ? '\n  ' : ',\n  ') + JSON.stringify(canonicalRecord(r, fields));
      first = false;
      return s;
    },
    footer: () => (first ? ']\n' : '\n]\n'),
  };
}

/**
 * YAML, one record at a time: a block sequence of mappings, exactly the bytes renderYaml gives for
 * the whole array (each item is dumped alone; js-yaml's output for an array is its items' output
 * one after another), and `[]` when there is none. Strings holding characters that are not shown
 * raw are double-quoted and escaped as in renderYaml.
 */
export async function yamlWriter(fields: readonly (keyof AuditRecord)[] = RECORD_FIELDS): Promise<RecordWriter> {
  const dump = await yamlDumper();
  let any = false;
  return {
    header: () => '',
    row: (r) => {
      any = true;
      return dump([canonicalRecord(r, fields)]);
    },
    footer: () => (any ? '' : '[]\n'),
  };
}

/** A writer whose row() throws at the Nth record under KAUDIT_TEST_FAULT=renderer:N; the writer itself otherwise. */
function withFault(w: RecordWriter): RecordWriter {
  const fault = faultCounter('renderer');
  if (!fault) return w;
  return {
    ...w,
    row: (r) => {
      fault();
      return w.row(r);
    },
  };
}

export const RECORD_WRITERS: Readonly<Record<string, (fields?: readonly (keyof AuditRecord)[]) => RecordWriter>> = {
  csv: (f) => withFault(csvWriter(f)),
  jsonl: (f) => withFault(jsonlWriter(f)),
  json: (f) => withFault(jsonArrayWriter(f)),
};

/** The streaming writer for a record format: csv, jsonl, json or yaml. */
export async function recordWriter(format: string, fields: readonly (keyof AuditRecord)[] = RECORD_FIELDS): Promise<RecordWriter> {
  if (format === 'yaml') return withFault(await yamlWriter(fields));
  const w = Object.hasOwn(RECORD_WRITERS, format) ? RECORD_WRITERS[format] : undefined;
  if (!w) throw new Error(`no record writer named ${format}`);
  return w(fields);
}
