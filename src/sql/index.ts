// `audit sql`: SQL over the normalized records, on DuckDB. The records are the table `requests`, with
// the columns of src/export/schema.ts whatever they came from: audit logs read by kaudit's pipeline
// (staged as JSON lines for DuckDB's reader) or a Parquet dataset that `audit export -o parquet` wrote.
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { spillDir } from '../scale/tempdir.js';
import { join } from 'node:path';
import type { AuditRecord, Cell } from '../types.js';
import { COLUMNS, KV_SCHEMA_VERSION, SCHEMA_VERSION, stagingColumns, stagingLine, sqlIdent, sqlString } from '../export/schema.js';
import { openEngine, jsonObjectLimit, memoryError, type DuckDBModule, type DuckDBStream, type Engine } from '../export/duckdb.js';
import { UsageError, InputError } from '../util/errors.js';

/** A staging file for records read from logs: JSON lines of the table's columns. */
export class RecordStage {
  readonly dir = mkdtempSync(join(spillDir(), 'sql-'));
  readonly path = join(this.dir, 'requests.jsonl');
  private readonly fd = openSync(this.path, 'w');
  private buf: string[] = [];
  private size = 0;
  rows = 0;
  /** The longest line staged, in UTF-16 code units (sizes read_json's buffers: jsonObjectLimit). */
  maxChars = 0;

  add(r: AuditRecord): void {
    const line = stagingLine(r, true);
    this.buf.push(line);
    this.size += line.length;
    if (line.length > this.maxChars) this.maxChars = line.length;
    this.rows++;
    if (this.size >= 1 << 20) this.flush();
  }

  private flush(): void {
    try {
      if (this.buf.length) writeSync(this.fd, this.buf.join(''));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A full disk is the machine's state, not a bug: say where and what to do.
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new UsageError(`cannot stage the records for DuckDB in ${this.dir}: no space left on the device (${code})`, 'free space there, or set KAUDIT_TMPDIR to a folder with room (staging takes about the size of audit export -o jsonl); or export once to Parquet and query the dataset');
      }
      throw e;
    }
    this.buf = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RequestSources {
  /** Parquet files of kaudit datasets (Hive-partitioned paths). */
  parquet: string[];
  /** A closed RecordStage with the records read from logs, or null. */
  stage: RecordStage | null;
}

function selectList(expr: (name: string) => string): string {
  return COLUMNS.map((c) => `${expr(c.name)} AS ${sqlIdent(c.name)}`).join(', ');
}

/** Reads the schema version of each Parquet file; throws an InputError for files kaudit did not write or a newer schema. */
async function checkVersions(engine: Engine, files: string[]): Promise<void> {
  const list = `[${files.map(sqlString).join(', ')}]`;
  const res = await engine.connection.runAndReadAll(
    `SELECT file_name, max(CASE WHEN decode(key) = ${sqlString(KV_SCHEMA_VERSION)} THEN decode(value) END) AS v FROM parquet_kv_metadata(${list}) GROUP BY file_name`,
  );
  const seen = new Map<string, string | null>();
  for (const [f, v] of res.getRows()) seen.set(String(f), v === null ? null : String(v));
  for (const f of files) {
    const v = seen.get(f) ?? null;
    if (v === null) throw new InputError(`${f}: not written by audit export -o parquet (no ${KV_SCHEMA_VERSION} in its metadata)`, 'pass datasets that kaudit wrote, or query other Parquet files with DuckDB directly');
    if (Number(v) > SCHEMA_VERSION) throw new InputError(`${f}: written with record schema ${v}; this kaudit reads schema ${SCHEMA_VERSION}`, 'upgrade kaudit to read it');
  }
}

/**
 * Defines the view `requests` over the sources: the columns of docs/schema.md in order, the same
 * types from logs and from Parquet (unlabelled records have cluster '', as in the other outputs).
 */
export async function defineRequests(engine: Engine, src: RequestSources): Promise<void> {
  const parts: string[] = [];
  if (src.parquet.length) {
    await checkVersions(engine, src.parquet);
    const list = `[${src.parquet.map(sqlString).join(', ')}]`;
    parts.push(
      `SELECT ${selectList((n) => (n === 'cluster' ? `coalesce("cluster", '')` : sqlIdent(n)))} FROM read_parquet(${list}, hive_partitioning = true, hive_types = {'cluster': VARCHAR, 'date': DATE}, union_by_name = true)`,
    );
  }
  if (src.stage) {
    const time = `make_timestamp("time")::TIMESTAMPTZ`;
    parts.push(
      `SELECT ${selectList((n) => (n === 'time' ? time : n === 'date' ? `CAST(${time} AS DATE)` : sqlIdent(n)))} FROM read_json(${sqlString(src.stage.path)}, format = 'newline_delimited', columns = ${stagingColumns(true)}, maximum_object_size = ${jsonObjectLimit(src.stage.maxChars)})`,
    );
  }
  if (parts.length === 0) parts.push(`SELECT ${selectList((n) => `CAST(NULL AS ${COLUMNS.find((c) => c.name === n)!.type})`)} WHERE false`);
  await engine.connection.run(`CREATE VIEW requests AS ${parts.join(' UNION ALL ')}`);
}

/** A result value as plain data: numbers (BIGINT and HUGEINT when exact, else decimal strings), strings, lists, objects, RFC 3339 times. */
export function plainValue(duckdb: DuckDBModule, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v.toString();
  }
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof duckdb.DuckDBTimestampTZValue) return v.isFinite ? microsToRfc3339(v.micros, 'Z') : v.toString();
  if (v instanceof duckdb.DuckDBTimestampValue) return v.isFinite ? microsToRfc3339(v.micros, '') : v.toString();
  if (v instanceof duckdb.DuckDBDecimalValue) return v.toDouble();
  if (v instanceof duckdb.DuckDBListValue || v instanceof duckdb.DuckDBArrayValue) return v.items.map((x) => plainValue(duckdb, x));
  if (v instanceof duckdb.DuckDBStructValue) return Object.fromEntries(Object.entries(v.entries).map(([k, x]) => [k, plainValue(duckdb, x)]));
  if (v instanceof duckdb.DuckDBMapValue) return v.entries.map((e) => ({ key: plainValue(duckdb, e.key), value: plainValue(duckdb, e.value) }));
  return String(v);
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` + zone, from epoch microseconds (always six fraction digits). */
export function microsToRfc3339(micros: bigint, zone: string): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const frac = Number(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n);
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(frac).padStart(6, '0')}${zone}`;
}

/** A plain value as a table or CSV cell: lists joined with `;` like `export -o csv`, objects as JSON. */
export function cellOf(v: unknown): Cell {
  if (v === null) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return v.map((x) => (x === null ? '' : String(x))).join(';');
  return JSON.stringify(v);
}

export interface QueryResult {
  columns: string[];
  /** Rows in chunks as DuckDB produces them (about 2048 rows each). */
  rows: AsyncIterable<unknown[][]>;
}

/**
 * Runs one query (the last statement's result when there are several). SQL errors are UsageErrors
 * with DuckDB's message; running out of the engine's memory_limit too, with the flag that raises it.
 */
export async function query(engine: Engine, duckdb: DuckDBModule, sql: string): Promise<QueryResult> {
  let result: DuckDBStream;
  try {
    result = await engine.connection.stream(sql);
  } catch (e) {
    const m = memoryError(e, 'SQL: ');
    if (m !== e) throw m;
    throw new UsageError(`SQL: ${(e as Error).message}`, 'the table is requests; its columns are in docs/schema.md (DESCRIBE requests lists them)');
  }
  const columns = result.columnNames();
  async function* rows(): AsyncGenerator<unknown[][]> {
    try {
      for await (const chunk of result.yieldRows()) yield chunk.map((row) => row.map((v) => plainValue(duckdb, v)));
    } catch (e) {
      throw memoryError(e, 'SQL: ');
    }
  }
  return { columns, rows: rows() };
}

export { openEngine };
