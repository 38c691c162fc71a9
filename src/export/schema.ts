// The normalized record as a table: the columns of `audit export -o parquet` and of the `requests`
// table of `audit sql`, with their SQL types. Versioned: docs/schema.md documents every column, the
// version is written into each Parquet file's key-value metadata, and test/export/schema.test.ts
// fails when the columns change without a new version.
import { createHash } from 'node:crypto';
import type { AuditRecord } from '../types.js';
import { RECORD_FIELDS } from '../render/records.js';

/**
 * The schema version. Bump it (and add a line to docs/schema.md's history and to
 * test/export/schema-history.json) whenever a column is added, removed, renamed, retyped or reordered.
 */
export const SCHEMA_VERSION = 2;

/** Parquet key-value metadata keys written into every file. */
export const KV_SCHEMA_VERSION = 'kaudit.schema.version';
export const KV_TOOL_VERSION = 'kaudit.version';

/** DuckDB type names of the columns (what `DESCRIBE requests` shows). */
export type SqlType = 'VARCHAR' | 'VARCHAR[]' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP WITH TIME ZONE' | 'DATE';

export interface Column {
  name: string;
  type: SqlType;
  /** Hive-style partition column: a directory level (`cluster=…/date=…`), not stored in the files. */
  partition?: boolean;
}

/**
 * How each AuditRecord field becomes a column; null for fields that are not flat values (request
 * bodies), which the table leaves out like `export -o jsonl` does. The mapped type makes the
 * compiler ask for a decision on every new AuditRecord field.
 */
export const FIELD_TYPES: { readonly [K in keyof Required<AuditRecord>]: SqlType | null } = {
  time: 'TIMESTAMP WITH TIME ZONE',
  timeMs: 'DOUBLE',
  auditID: 'VARCHAR',
  stage: 'VARCHAR',
  level: 'VARCHAR',
  cluster: 'VARCHAR',
  subject: 'VARCHAR',
  subjectKind: 'VARCHAR',
  subjectNamespace: 'VARCHAR',
  subjectName: 'VARCHAR',
  groups: 'VARCHAR[]',
  impersonator: 'VARCHAR',
  principal: 'VARCHAR',
  verb: 'VARCHAR',
  apiGroup: 'VARCHAR',
  apiVersion: 'VARCHAR',
  resource: 'VARCHAR',
  subresource: 'VARCHAR',
  namespace: 'VARCHAR',
  name: 'VARCHAR',
  nonResourceURL: 'VARCHAR',
  requestURI: 'VARCHAR',
  code: 'INTEGER',
  decision: 'VARCHAR',
  durationMs: 'DOUBLE',
  sourceIP: 'VARCHAR',
  userAgent: 'VARCHAR',
  client: 'VARCHAR',
  clientVersion: 'VARCHAR',
  accessMethod: 'VARCHAR',
  provider: 'VARCHAR',
  requestObject: null,
  auditIDReused: 'BOOLEAN',
  location: null,
  responseObject: null,
  // Not fields of export -o jsonl (yet): not columns.
  impersonatorGroups: null,
  impersonatedUID: null,
  impersonatedExtra: null,
  responseStartedMs: null,
};

/** Partition columns, in directory order. */
export const PARTITION_COLUMNS: readonly Column[] = [
  { name: 'cluster', type: 'VARCHAR', partition: true },
  { name: 'date', type: 'DATE', partition: true },
];

/**
 * Every column of the `requests` table, in order: the fields of `export -o jsonl` (RECORD_FIELDS,
 * same order), then `date` (the UTC day of `time`). `cluster` and `date` are partition columns of
 * the Parquet layout.
 */
export const COLUMNS: readonly Column[] = [
  ...RECORD_FIELDS.map((f): Column => {
    const type = FIELD_TYPES[f];
    if (type === null) throw new Error(`record field ${f} has no column type`);
    return f === 'cluster' ? { name: f, type, partition: true } : { name: f, type };
  }),
  PARTITION_COLUMNS[1]!,
];

/** The columns stored inside each Parquet file (all but the partition columns), in order. */
export const FILE_COLUMNS: readonly Column[] = COLUMNS.filter((c) => !c.partition);

/** A digest of the schema (names, types, order, partitioning): a change here needs a new SCHEMA_VERSION. */
export function schemaFingerprint(columns: readonly Column[] = COLUMNS): string {
  return createHash('sha256')
    .update(JSON.stringify(columns.map((c) => [c.name, c.type, c.partition === true])))
    .digest('hex')
    .slice(0, 16);
}

/** Epoch microseconds of a record's time (integer), or null when it has none. */
export function timeMicros(r: AuditRecord): number | null {
  return Number.isFinite(r.timeMs) ? Math.round(r.timeMs * 1000) : null;
}

const DAY_MS = 86_400_000;
const dayCache = new Map<number, string>();

/** The UTC day of a record (`YYYY-MM-DD`), or null without a time: the `date` partition value. */
export function utcDate(r: AuditRecord): string | null {
  if (!Number.isFinite(r.timeMs)) return null;
  const day = Math.floor(r.timeMs / DAY_MS);
  let s = dayCache.get(day);
  if (s === undefined) {
    s = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (dayCache.size > 10_000) dayCache.clear();
    dayCache.set(day, s);
  }
  return s;
}

/**
 * One record as a JSON line of the file columns (and `cluster` when asked), for DuckDB's JSON reader
 * to load with the types of `stagingColumns()` (time as epoch microseconds, NaN as null).
 */
export function stagingLine(r: AuditRecord, withCluster = false): string {
  const o: Record<string, unknown> = {};
  if (withCluster) o.cluster = r.cluster;
  for (const c of FILE_COLUMNS) {
    if (c.name === 'time') o.time = timeMicros(r);
    else {
      const v = r[c.name as keyof AuditRecord];
      o[c.name] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
    }
  }
  return JSON.stringify(o) + '\n';
}

/** The `columns={…}` argument of read_json for staged lines (time arrives as BIGINT microseconds). */
export function stagingColumns(withCluster: boolean): string {
  const cols = withCluster ? [...FILE_COLUMNS, PARTITION_COLUMNS[0]!] : FILE_COLUMNS;
  return `{${cols.map((c) => `${sqlString(c.name)}: ${sqlString(c.name === 'time' ? 'BIGINT' : c.type)}`).join(', ')}}`;
}

/** The select list that turns staged columns into the table's (time → TIMESTAMPTZ). */
export function stagedSelect(): string {
  return FILE_COLUMNS.map((c) => (c.name === 'time' ? `make_timestamp("time")::TIMESTAMPTZ AS "time"` : sqlIdent(c.name))).join(', ');
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
