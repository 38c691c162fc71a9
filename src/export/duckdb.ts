// The embedded engine, loaded on demand. DuckDB (@duckdb/node-api, an optional dependency with
// prebuilt binaries per platform) serves `audit sql` and `audit export -o parquet` only: no other
// command imports this file, so they start as fast as before and work where the native module
// could not be installed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../util/errors.js';

export type DuckDBModule = typeof import('@duckdb/node-api');
export type DuckDBConnection = import('@duckdb/node-api').DuckDBConnection;

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
    const m = (await import('@duckdb/node-api')) as DuckDBModule & { default?: DuckDBModule };
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
