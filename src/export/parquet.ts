// `audit export -o parquet --out DIR`: normalized records as Parquet, partitioned Hive-style
// (DIR/cluster=NAME/date=YYYY-MM-DD/part-N.parquet), written by DuckDB.
//
// Records are first staged as JSON lines, one staging file per partition, in bounded memory (a
// small buffer per partition, at most MAX_OPEN files open); then DuckDB turns each staging file into
// that partition's Parquet files with the table's exact types (src/export/schema.ts). DuckDB cannot
// combine its own PARTITION_BY with a target file size, so kaudit partitions and DuckDB rotates
// files within a partition (FILE_SIZE_BYTES).
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from '../types.js';
import { KV_SCHEMA_VERSION, KV_TOOL_VERSION, SCHEMA_VERSION, stagedSelect, stagingColumns, stagingLine, sqlString, utcDate } from './schema.js';
import { openEngine, jsonObjectLimit, jsonReadMemory, memoryError, engineMemoryLimit } from './duckdb.js';
import { budgetBytes } from '../scale/budget.js';
import { UsageError } from '../util/errors.js';
import { pushAll } from '../util/array.js';

export const COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'uncompressed'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface ParquetOptions {
  /** The dataset's root directory. */
  outDir: string;
  compression: Compression;
  /** A partition's rows go to a new file once the current one reaches about this many bytes. */
  targetFileBytes: number;
  /** Rows per row group. */
  rowGroupRows: number;
  /** What to do with a directory that already holds a dataset. */
  existing: 'error' | 'overwrite' | 'append';
  /** kaudit's version, written into the key-value metadata. */
  toolVersion: string;
}

export const DEFAULT_PARQUET: Omit<ParquetOptions, 'outDir' | 'toolVersion'> = {
  compression: 'zstd',
  targetFileBytes: 256 << 20,
  rowGroupRows: 122_880,
  existing: 'error',
};

/** Hive's default partition: the directory name of a NULL (here: empty) partition value. */
export const HIVE_NULL = '__HIVE_DEFAULT_PARTITION__';

/**
 * A partition value as a directory name, escaped like Hive's FileUtils.escapePathName (control
 * characters, quotes, the star, slash, colon and the other characters Hive escapes, as %XX); empty values are Hive's default partition. Every
 * Hive-style reader (DuckDB, Trino/Athena, Spark, BigQuery) unescapes it back.
 */
export function hivePathValue(v: string | null): string {
  if (v === null || v === '') return HIVE_NULL;
  return v.replace(/[\x00-\x1f"#%'*/:=?\\\x7f{[\]^]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export interface ParquetResult {
  rows: number;
  partitions: number;
  files: string[];
  bytes: number;
}

interface Staging {
  path: string;
  cluster: string;
  date: string | null;
  fd: number | null;
  buf: string[];
  size: number;
  rows: number;
  /** The longest line staged, in UTF-16 code units (jsonObjectLimit). */
  maxChars: number;
  /** Last use, for closing the least recently used file when too many are open. */
  used: number;
}

const MAX_OPEN = 64;
const FLUSH_BYTES = 1 << 20;

/** Lists the files under a directory, sorted, relative paths. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) pushAll(out, listFiles(p, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/**
 * Writes records as a Parquet dataset. `add` stages a record (synchronous, bounded memory);
 * `finish` writes the Parquet files and removes the staging files. Throws a UsageError when the
 * output directory holds other data and `existing` is 'error'.
 */
export class ParquetWriter {
  private readonly staging = new Map<string, Staging>();
  private readonly stageDir: string;
  private open = 0;
  private clock = 0;
  private rows = 0;
  private readonly runId: string;

  constructor(private readonly o: ParquetOptions) {
    if (existsSync(o.outDir) && lstatSync(o.outDir).isSymbolicLink()) throw new UsageError(`--out: ${o.outDir} is a symbolic link`, 'pass the dataset directory itself: kaudit never writes through a link');
    if (existsSync(o.outDir)) {
      if (!statSync(o.outDir).isDirectory()) throw new UsageError(`--out: ${o.outDir} is a file`, 'pass a directory for the Parquet dataset');
      const entries = readdirSync(o.outDir).filter((e) => !e.startsWith('.') && !e.startsWith('_'));
      if (entries.length && o.existing === 'error') {
        throw new UsageError(`--out: ${o.outDir} is not empty`, 'pass an empty or new directory, --overwrite to replace the dataset in it, or --append to add files to it');
      }
      if (o.existing === 'overwrite') {
        const foreign = entries.filter((e) => !e.startsWith('cluster='));
        if (foreign.length) throw new UsageError(`--overwrite: ${o.outDir} holds files that are not a kaudit dataset (${foreign.slice(0, 3).join(', ')})`, 'pass the directory of a dataset that audit export wrote, or a new one');
        for (const e of entries) rmSync(join(o.outDir, e), { recursive: true, force: true });
      }
    }
    mkdirSync(o.outDir, { recursive: true });
    // Underscore directories are hidden from Hive-style readers while the export runs.
    this.stageDir = join(o.outDir, `_kaudit_staging_${process.pid}`);
    rmSync(this.stageDir, { recursive: true, force: true });
    mkdirSync(this.stageDir);
    this.runId = o.existing === 'append' ? `${Date.now().toString(36)}${process.pid.toString(36)}-` : '';
  }

  add(r: AuditRecord): void {
    const date = utcDate(r);
    const key = `${r.cluster}\u0000${date ?? ''}`;
    let s = this.staging.get(key);
    if (!s) {
      s = { path: join(this.stageDir, `${this.staging.size}.jsonl`), cluster: r.cluster, date, fd: null, buf: [], size: 0, rows: 0, maxChars: 0, used: 0 };
      this.staging.set(key, s);
    }
    const line = stagingLine(r);
    s.buf.push(line);
    s.size += line.length;
    if (line.length > s.maxChars) s.maxChars = line.length;
    s.rows++;
    s.used = ++this.clock;
    this.rows++;
    if (s.size >= FLUSH_BYTES) this.flush(s);
  }

  private flush(s: Staging): void {
    if (s.buf.length === 0) return;
    if (s.fd === null) {
      if (this.open >= MAX_OPEN) this.closeOldest();
      s.fd = openSync(s.path, 'a');
      this.open++;
    }
    writeSync(s.fd, s.buf.join(''));
    s.buf = [];
    s.size = 0;
  }

  private closeOldest(): void {
    let oldest: Staging | null = null;
    for (const s of this.staging.values()) if (s.fd !== null && (oldest === null || s.used < oldest.used)) oldest = s;
    if (oldest) {
      closeSync(oldest.fd!);
      oldest.fd = null;
      this.open--;
    }
  }

  /** Writes the Parquet files, partition by partition in (cluster, date) order. */
  async finish(): Promise<ParquetResult> {
    for (const s of this.staging.values()) {
      this.flush(s);
      if (s.fd !== null) closeSync(s.fd);
      s.fd = null;
    }
    const parts = [...this.staging.values()].sort((a, b) => (a.cluster < b.cluster ? -1 : a.cluster > b.cluster ? 1 : (a.date ?? '') < (b.date ?? '') ? -1 : (a.date ?? '') > (b.date ?? '') ? 1 : 0));
    const files: string[] = [];
    let bytes = 0;
    try {
      if (parts.length) {
        // One thread: the files' bytes then depend on the records only, not on scheduling. Half the
        // memory budget (at least MIN_ENGINE_MEMORY): DuckDB's Parquet writer holds a row group's
        // pages besides what its buffer manager counts (1M records, 122,880-row groups: 412 MB
        // peak with a 256 MiB limit, 265 MB with 128 MiB), and this process still holds the
        // pipeline's heap.
        const engine = await openEngine('audit export -o parquet', { threads: 1, memoryLimit: engineMemoryLimit(budgetBytes() / 2, jsonReadMemory(parts.reduce((m, p) => Math.max(m, p.maxChars), 0), 1)) });
        try {
          const kv = `{${sqlString(KV_SCHEMA_VERSION)}: ${sqlString(String(SCHEMA_VERSION))}, ${sqlString(KV_TOOL_VERSION)}: ${sqlString(this.o.toolVersion)}}`;
          for (const [i, p] of parts.entries()) {
            const rel = `cluster=${hivePathValue(p.cluster)}/date=${hivePathValue(p.date)}`;
            const dir = join(this.o.outDir, rel);
            // DuckDB writes into a hidden folder; each file is renamed into the dataset once whole,
            // so a reader (or a sync to object storage) never sees part of one.
            const tmp = join(this.stageDir, `out-${i}`);
            await engine.connection.run(
              `COPY (SELECT ${stagedSelect()} FROM read_json(${sqlString(p.path)}, format = 'newline_delimited', columns = ${stagingColumns(false)}, maximum_object_size = ${jsonObjectLimit(p.maxChars)})) ` +
                `TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION ${this.o.compression}, ROW_GROUP_SIZE ${this.o.rowGroupRows}, FILE_SIZE_BYTES ${this.o.targetFileBytes}, ` +
                `FILENAME_PATTERN ${sqlString(`part-${this.runId}{i}`)}, OVERWRITE_OR_IGNORE true, KV_METADATA ${kv})`,
            ).catch((e: unknown) => {
              throw memoryError(e, 'export -o parquet: ');
            });
            mkdirSync(dir, { recursive: true });
            for (const f of readdirSync(tmp).sort()) {
              if (existsSync(join(dir, f))) throw new Error(`${join(dir, f)} exists`);
              bytes += statSync(join(tmp, f)).size;
              renameSync(join(tmp, f), join(dir, f));
              files.push(`${rel}/${f}`);
            }
          }
        } finally {
          engine.close();
        }
      }
    } finally {
      rmSync(this.stageDir, { recursive: true, force: true });
    }
    return { rows: this.rows, partitions: parts.length, files, bytes };
  }

  /** Removes the staging files after a failed run. */
  abort(): void {
    for (const s of this.staging.values()) if (s.fd !== null) closeSync(s.fd);
    rmSync(this.stageDir, { recursive: true, force: true });
  }
}

/** The Parquet files of a dataset directory (sorted), for readers. */
export function datasetFiles(dir: string): string[] {
  return listFiles(dir).filter((f) => f.endsWith('.parquet') && !f.split('/').some((p) => p.startsWith('_') || p.startsWith('.')));
}
