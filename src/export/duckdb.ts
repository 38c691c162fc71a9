// The embedded engine, loaded on demand. DuckDB (@duckdb/node-api, an optional dependency with
// prebuilt binaries per platform) serves `audit sql` and `audit export -o parquet` only: no other
// command imports this file, so they start as fast as before and work where the native module
// could not be installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../util/errors.js';

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
  close(): void;
}

export async function openEngine(feature: string, opts: { threads?: number } = {}): Promise<Engine> {
  const duckdb = await loadDuckDB(feature);
  const spill = mkdtempSync(join(tmpdir(), 'kaudit-duckdb-'));
  const instance = await duckdb.DuckDBInstance.create(':memory:', {
    temp_directory: spill,
    ...(opts.threads ? { threads: String(opts.threads) } : {}),
  });
  const connection = await instance.connect();
  // Timestamps print and truncate to days in UTC, whatever the machine's zone (ICU is built in).
  await connection.run(`SET TimeZone = 'UTC'`);
  return {
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
      rmSync(spill, { recursive: true, force: true });
    },
  };
}
