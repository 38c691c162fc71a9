// The embedded engine, loaded on demand. DuckDB (@duckdb/node-api, an optional dependency with
// prebuilt binaries per platform) serves `audit sql` and `audit export -o parquet` only: no other
// command imports this file, so they start as fast as before and work where the native module
// could not be installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { UsageError } from '../util/errors.js';
import { budgetBytes } from '../scale/budget.js';
import { spillDir } from '../scale/tempdir.js';

// The part of @duckdb/node-api kaudit uses, declared here so that kaudit builds (tsc) where the
// optional package is not installed.

/** A result read whole. */
export interface DuckDBMaterialized {
  getRows(): unknown[][];
  getRowObjectsJson(): Record<string, unknown>[];
}

/** A streamed result: column names, then rows in chunks. */
export interface DuckDBStream {
  columnNames(): string[];
  yieldRows(): AsyncIterable<unknown[][]>;
}

export interface DuckDBConnection {
  run(sql: string): Promise<unknown>;
  runAndReadAll(sql: string): Promise<DuckDBMaterialized>;
  stream(sql: string): Promise<DuckDBStream>;
  closeSync(): void;
}

interface DuckDBInstance {
  connect(): Promise<DuckDBConnection>;
  closeSync(): void;
}

type ValueClass<T> = abstract new (...args: never[]) => T;

/** The module: the instance factory and the value classes of results. */
export interface DuckDBModule {
  DuckDBInstance: { create(path: string, options?: Record<string, string>): Promise<DuckDBInstance> };
  DuckDBTimestampTZValue: ValueClass<{ micros: bigint; isFinite: boolean }>;
  DuckDBTimestampValue: ValueClass<{ micros: bigint; isFinite: boolean }>;
  DuckDBDecimalValue: ValueClass<{ toDouble(): number }>;
  DuckDBListValue: ValueClass<{ items: readonly unknown[] }>;
  DuckDBArrayValue: ValueClass<{ items: readonly unknown[] }>;
  DuckDBStructValue: ValueClass<{ entries: Readonly<Record<string, unknown>> }>;
  DuckDBMapValue: ValueClass<{ entries: { key: unknown; value: unknown }[] }>;
}

/** The package that provides the engine. */
export const DUCKDB_PACKAGE = '@duckdb/node-api';

let loaded: DuckDBModule | null = null;

/**
 * Imports DuckDB's Node API. Throws a UsageError (exit 2) naming the package and how to install it
 * when the module, or its native binary for this platform, is missing.
 */
export async function loadDuckDB(feature: string): Promise<DuckDBModule> {
  if (loaded) return loaded;
  try {
    // A variable specifier: the compiler does not resolve (or need) the optional package.
    const specifier: string = DUCKDB_PACKAGE;
    const m = (await import(specifier)) as DuckDBModule & { default?: DuckDBModule };
    loaded = m.DuckDBInstance ? m : m.default!;
    return loaded;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new UsageError(
      `${feature} needs the DuckDB engine (${DUCKDB_PACKAGE}), which could not be loaded: ${why}`,
      `install it next to kaudit: npm install ${DUCKDB_PACKAGE} (in kaudit's directory, or npm install -g ${DUCKDB_PACKAGE} for a global kaudit); it is an optional dependency with prebuilt binaries for Linux (glibc and musl, x64 and arm64), macOS and Windows, so a plain npm install of kaudit includes it unless optional dependencies were omitted (--omit=optional)`,
      'dependency',
    );
  }
}

/** An in-memory DuckDB with kaudit's settings: UTC, spill files in a private temporary directory. */
export interface Engine {
  connection: DuckDBConnection;
  /** The spill directory (removed by close). */
  spillDir: string;
  close(): void;
}

/** DuckDB's memory_limit is never set below this: its operators need a few blocks per thread to run at all. */
export const MIN_ENGINE_MEMORY = 128 * 2 ** 20;

/**
 * DuckDB's memory_limit for kaudit's memory budget (src/scale/budget.ts: --memory, KAUDIT_MEMORY,
 * default 192 MiB), in whole MiB and at least MIN_ENGINE_MEMORY. The limit bounds DuckDB's buffer
 * manager (the data of joins, aggregations, sorts and scans, which spill to the temporary directory
 * past it); DuckDB's docs (Limits; Out of Memory Errors) say a few operations allocate outside it.
 */
export function engineMemoryLimit(budget: number = budgetBytes(), atLeast = 0): string {
  return `${Math.ceil(Math.max(budget, MIN_ENGINE_MEMORY, atLeast) / 2 ** 20)}MiB`;
}

/** Memory per DuckDB thread: engineThreads gives one thread per this much of the limit. */
export const MEMORY_PER_THREAD = 256 * 2 ** 20;

/**
 * DuckDB's threads for a memory budget: one per MEMORY_PER_THREAD (256 MiB), at least 1 and at most
 * the cores. DuckDB keeps hash tables and buffers per thread: a GROUP BY over a million distinct
 * subjects with a 256 MiB limit peaked at 350 MB with 2 threads and 243 MB with 1. A larger
 * --memory buys parallelism back (--memory 1G: 4 threads).
 */
export function engineThreads(budget: number = budgetBytes(), cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(cores, Math.floor(budget / MEMORY_PER_THREAD)));
}

/**
 * The memory DuckDB's JSON reader needs to read staged lines up to `maxChars` long with `threads`
 * threads: a buffer of 4 × maximum_object_size per thread (measured: a 32 MiB limit allocates
 * 128 MiB buffers), plus 64 MiB for the rest of the query. For logs whose records stage under
 * 1 MiB a line that is 64 MiB + 4 MiB a thread, under the default budget up to 48 threads; only
 * lines of several MB need more.
 */
export function jsonReadMemory(maxChars: number, threads: number = availableParallelism()): number {
  return 4 * jsonObjectLimit(maxChars) * threads + 64 * 2 ** 20;
}

/**
 * The `maximum_object_size` of read_json for staged JSON lines whose longest line has `maxChars`
 * UTF-16 code units: at least that line's UTF-8 bytes (at most 3 per code unit) plus its newline,
 * rounded up to a power of two, and at least 1 MiB. DuckDB's JSON reader sizes its buffers from
 * this value (4 times it per thread: jsonReadMemory), so it must follow the data rather than be set
 * to the largest value DuckDB accepts: a fixed 1 GiB made `audit sql` take 0.9 GB on any log.
 */
export function jsonObjectLimit(maxChars: number): number {
  let n = 2 ** 20;
  while (n < 3 * maxChars + 1) n *= 2;
  return n;
}

/**
 * Opens an in-memory DuckDB with kaudit's settings: UTC, `memory_limit` from the memory budget
 * (engineMemoryLimit), spill files in a private temporary directory that close() removes,
 * `threads` when given (by default engineThreads(): one per 256 MiB of the budget). The spill directory is inside kaudit's spill folder (src/scale/tempdir.ts). Insertion order is preserved (DuckDB's default): a query without ORDER BY
 * gives its rows in log order, the same on every run.
 */
export async function openEngine(feature: string, opts: { threads?: number; memoryLimit?: string } = { threads: engineThreads() }): Promise<Engine> {
  const duckdb = await loadDuckDB(feature);
  // Inside kaudit's spill folder (KAUDIT_TMPDIR, TMPDIR or /tmp; removed at exit and on SIGINT,
  // SIGTERM, SIGHUP: src/scale/tempdir.ts), so that an interrupted query leaves no spill files.
  const spill = mkdtempSync(join(spillDir(), 'duckdb-'));
  let instance: DuckDBInstance;
  try {
    instance = await duckdb.DuckDBInstance.create(':memory:', {
      temp_directory: spill,
      memory_limit: opts.memoryLimit ?? engineMemoryLimit(),
      ...(opts.threads ? { threads: String(opts.threads) } : {}),
    });
  } catch (e) {
    rmSync(spill, { recursive: true, force: true });
    throw e;
  }
  const connection = await instance.connect();
  // Timestamps print and truncate to days in UTC, whatever the machine's zone (ICU is built in).
  await connection.run(`SET TimeZone = 'UTC'`);
  return {
    connection,
    spillDir: spill,
    close() {
      connection.closeSync();
      instance.closeSync();
      rmSync(spill, { recursive: true, force: true });
    },
  };
}

/**
 * DuckDB's out-of-memory error as a usage error that names the budget and how to raise it (exit 2,
 * not an internal error); other errors unchanged.
 */
export function memoryError(e: unknown, prefix: string): unknown {
  const msg = (e as Error)?.message ?? String(e);
  if (!/Out of Memory Error/i.test(msg)) return e;
  return new UsageError(`${prefix}${msg.split('\n')[0]}`, `DuckDB may use ${engineMemoryLimit()} (the --memory budget, at least ${MIN_ENGINE_MEMORY / 2 ** 20} MiB) before it spills, and this needs more: pass a larger --memory (e.g. --memory 1G) or KAUDIT_MEMORY`);
}
