// audit sql: inputs (logs, stdin, Parquet), output formats, escaping, and errors.
import { describe, it, expect } from 'vitest';
import { dirname, join } from 'node:path';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { runCli, tmpDir, writeFiles, event } from '../helpers.js';
import { microsToRfc3339 } from '../../src/sql/index.js';
import { availableParallelism } from 'node:os';
import { engineMemoryLimit, engineThreads, jsonObjectLimit, jsonReadMemory, memoryError, MIN_ENGINE_MEMORY, openEngine } from '../../src/export/duckdb.js';
import { DEFAULT_BUDGET, setBudget } from '../../src/scale/budget.js';
import { currentSpillDir } from '../../src/scale/tempdir.js';
import { UsageError } from '../../src/util/errors.js';


/** DuckDB is an optional dependency: without it (npm ci --omit=optional) these tests are skipped. */
const hasDuckDB = await import('@duckdb/node-api' as string).then(
  () => true,
  () => false,
);

const root = join(__dirname, '..', '..');
const sample = join(root, 'fixtures', 'sample');

describe.skipIf(!hasDuckDB)('audit sql', () => {
  it('prints a table, CSV, JSON and JSON lines of the same rows', async () => {
    const q = "SELECT verb, count(*) AS n, count(*) > 1000 AS big FROM requests WHERE verb IN ('get', 'delete') GROUP BY verb ORDER BY verb";
    const table = await runCli(['sql', q, sample, '-q']);
    expect(table.stdout).toMatch(/2 rows\n┌/);
    expect(table.stdout).toMatch(/│ delete │ +11 │ false │/);
    expect((await runCli(['sql', q, sample, '-q', '-o', 'csv'])).stdout).toBe('verb,n,big\ndelete,11,false\nget,2278,true\n');
    expect((await runCli(['sql', q, sample, '-q', '-o', 'jsonl'])).stdout).toBe('{"verb":"delete","n":11,"big":false}\n{"verb":"get","n":2278,"big":true}\n');
    expect(JSON.parse((await runCli(['sql', q, sample, '-q', '-o', 'json'])).stdout)).toEqual([{ verb: 'delete', n: 11, big: false }, { verb: 'get', n: 2278, big: true }]);
  });

  it('reads stdin and applies the filters to logs', async () => {
    const log = readFileSync(join(sample, 'audit.log'));
    const r = await runCli(['sql', 'SELECT count(*) AS n FROM requests', '--verb', 'delete', '-o', 'jsonl', '-q'], { stdin: log });
    expect(r.stdout).toBe('{"n":7}\n');
  });

  it('lists, timestamps and big numbers come out as plain values', async () => {
    const r = await runCli(['sql', "SELECT groups, time, date, 9007199254740993::HUGEINT AS big, 1.5 AS dec, [1,2] AS l, {'a': 1} AS s FROM requests WHERE auditID = '5a8eba76-17b8-4fd8-bbd1-4a8b7d7363f0'", sample, '-o', 'jsonl', '-q']);
    expect(JSON.parse(r.stdout)).toEqual({ groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'], time: '2026-03-02T00:02:32.694398Z', date: '2026-03-02', big: '9007199254740993', dec: 1.5, l: [1, 2], s: { a: 1 } });
    const csv = await runCli(['sql', "SELECT groups FROM requests WHERE auditID = '5a8eba76-17b8-4fd8-bbd1-4a8b7d7363f0'", sample, '-o', 'csv', '-q']);
    expect(csv.stdout).toBe('groups\n"system:serviceaccounts;system:serviceaccounts:kube-system;system:authenticated"\n');
  });

  it.each([
    [0n, '1970-01-01T00:00:00.000000Z'],
    [1772409752694398n, '2026-03-02T00:02:32.694398Z'],
    [-1n, '1969-12-31T23:59:59.999999Z'],
  ])('microsToRfc3339(%s) = %s', (us, want) => expect(microsToRfc3339(us, 'Z')).toBe(want));

  it('escapes attacker-controlled text: terminal control characters and spreadsheet formulas', async () => {
    const dir = writeFiles(tmpDir(), { 'x.log': JSON.stringify(event({ userAgent: '=HYPERLINK("http://evil")\u001b[31m' })) + '\n' });
    const table = await runCli(['sql', 'SELECT userAgent FROM requests', join(dir, 'x.log'), '-q']);
    expect(table.stdout).not.toContain('\u001b');
    const csv = await runCli(['sql', 'SELECT userAgent FROM requests', join(dir, 'x.log'), '-q', '-o', 'csv']);
    expect(csv.stdout).toContain(`"'=HYPERLINK(""http://evil"")`);
  });

  it('--max-rows caps the table and says how many more there are', async () => {
    const r = await runCli(['sql', 'SELECT auditID FROM requests ORDER BY auditID', sample, '-q', '--max-rows', '3']);
    expect(r.stdout).toMatch(/5888 rows/);
    expect(r.stdout).toContain('5885 more rows not shown (--max-rows 3; -o csv or jsonl prints all)');
    expect(r.stdout.match(/^│ [0-9a-f-]+ │$/gm)!.length).toBe(3);
  });

  it('an SQL error is a usage error with DuckDB\'s message', async () => {
    const r = await runCli(['sql', 'SELECT nope FROM requests', sample, '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/audit: error: SQL: .*nope/);
    expect(r.stderr).toContain('fix: the table is requests');
  });

  it('filter flags on a Parquet dataset alone are a usage error', async () => {
    const ds = join(tmpDir(), 'ds');
    expect((await runCli(['export', sample, '-o', 'parquet', '--out', ds, '-q'])).code).toBe(0);
    const r = await runCli(['sql', 'SELECT 1', ds, '--user', 'alice']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the filter flags apply to logs');
  });

  it('refuses Parquet files that kaudit did not write, or of a newer schema', async () => {
    const dir = tmpDir();
    const f = join(dir, 'other.parquet');
    expect((await runCli(['sql', `COPY (SELECT 1 AS x) TO '${f}' (FORMAT parquet)`, sample, '-q'])).code).toBe(0);
    const r = await runCli(['sql', 'SELECT 1', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not written by audit export -o parquet');
    const g = join(dir, 'newer.parquet');
    expect((await runCli(['sql', `COPY (SELECT * FROM requests LIMIT 1) TO '${g}' (FORMAT parquet, KV_METADATA {'kaudit.schema.version': '99'})`, sample, '-q'])).code).toBe(0);
    const r2 = await runCli(['sql', 'SELECT 1', g]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('written with record schema 99');
  });

  it('combines logs and Parquet datasets into one table', async () => {
    const ds = join(tmpDir(), 'ds');
    expect((await runCli(['export', sample, '--verb', 'delete', '-o', 'parquet', '--out', ds, '-q'])).code).toBe(0);
    const r = await runCli(['sql', 'SELECT count(*) AS n FROM requests', ds, join(sample, 'audit.log'), '-o', 'jsonl', '-q']);
    const logOnly = await runCli(['sql', 'SELECT count(*) AS n FROM requests', join(sample, 'audit.log'), '-o', 'jsonl', '-q']);
    expect(JSON.parse(r.stdout).n).toBe(JSON.parse(logOnly.stdout).n + 11);
  });
});

// Issue 15: the engine's memory is bounded by kaudit's --memory budget, spills into kaudit's own
// temporary folder (removed afterwards), and read_json's buffers follow the longest staged line.
describe('the engine is bounded (src/export/duckdb.ts)', () => {
  it('jsonObjectLimit: the longest line\'s UTF-8 bound rounded up to a power of two, at least 1 MiB', () => {
    expect(jsonObjectLimit(0)).toBe(2 ** 20);
    expect(jsonObjectLimit(349_525)).toBe(2 ** 20);
    expect(jsonObjectLimit(349_526)).toBe(2 * 2 ** 20);
    // 3 bytes a code unit, plus the newline: 3 × 5,592,405 + 1 = 16 MiB exactly.
    expect(jsonObjectLimit(5_592_405)).toBe(16 * 2 ** 20);
    expect(jsonObjectLimit(5_592_406)).toBe(32 * 2 ** 20);
    expect(jsonObjectLimit(100_000_000)).toBe(512 * 2 ** 20);
  });

  it('engineThreads: one DuckDB thread per 256 MiB of the budget, at least 1, at most the cores', () => {
    expect(engineThreads(256 * 2 ** 20, 8)).toBe(1);
    expect(engineThreads(1024, 8)).toBe(1);
    expect(engineThreads(2 ** 30, 8)).toBe(4);
    expect(engineThreads(2 ** 30, 2)).toBe(2);
  });

  it('engineMemoryLimit: the budget in MiB, never below 128 MiB', () => {
    expect(engineMemoryLimit(256 * 2 ** 20)).toBe('256MiB');
    expect(engineMemoryLimit(2 ** 30 + 1)).toBe('1025MiB');
    expect(engineMemoryLimit(1024)).toBe(`${MIN_ENGINE_MEMORY / 2 ** 20}MiB`);
  });

  it('DuckDB\'s out-of-memory error becomes a usage error naming --memory; other errors pass unchanged', () => {
    const oom = memoryError(new Error('Out of Memory Error: failed to allocate data of size 32.0 MiB (104.8 MiB/122.0 MiB used)\n\nPossible solutions: …'), 'SQL: ');
    expect(oom).toBeInstanceOf(UsageError);
    expect((oom as UsageError).message).toBe('SQL: Out of Memory Error: failed to allocate data of size 32.0 MiB (104.8 MiB/122.0 MiB used)');
    expect((oom as UsageError).fix).toContain('--memory');
    const other = new Error('Parser Error: syntax error');
    expect(memoryError(other, 'SQL: ')).toBe(other);
  });

  it.skipIf(!hasDuckDB)('sets memory_limit from --memory (default: the default budget, at least 128 MiB) and spills into kaudit\'s temporary folder', async () => {
    const q = "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t, current_setting('preserve_insertion_order') AS p, current_setting('threads') AS n";
    const run = async (...more: string[]) => JSON.parse((await runCli(['sql', q, sample, '-q', '-o', 'jsonl', ...more])).stdout) as { m: string; t: string; p: boolean; n: number };
    const def = await run();
    expect(def.m).toBe(`${DEFAULT_BUDGET / 2 ** 20}.0 MiB`);
    expect(def.n).toBe(1);
    expect((await run('--memory', '1G')).n).toBe(Math.min(4, availableParallelism()));
    // Rows of a query without ORDER BY stay in log order.
    expect(def.p).toBe(true);
    expect((await run('--memory', '1G')).m).toBe('1.0 GiB');
    expect((await run('--memory', '16M')).m).toBe('128.0 MiB');
    // The spill folder is inside kaudit's own (removed at exit and on signals), and gone once the command ends.
    expect(dirname(def.t)).toBe(currentSpillDir());
    expect(existsSync(def.t)).toBe(false);
    expect(readdirSync(currentSpillDir()!).filter((d) => d.startsWith('duckdb-') || d.startsWith('sql-'))).toEqual([]);
  });

  it.skipIf(!hasDuckDB)('the engine is closed with its spill folder removed', async () => {
    setBudget(null);
    const e = await openEngine('test');
    expect(existsSync(e.spillDir)).toBe(true);
    const r = await e.connection.runAndReadAll("SELECT current_setting('memory_limit')");
    expect(r.getRows()[0]![0]).toBe(`${DEFAULT_BUDGET / 2 ** 20}.0 MiB`);
    e.close();
    expect(existsSync(e.spillDir)).toBe(false);
  });

  it.skipIf(!hasDuckDB)('reads a record whose staged line is several MB long (read_json sized from the data, not a fixed 1 GiB)', async () => {
    const long = 'k'.repeat(6_000_000);
    const dir = writeFiles(tmpDir(), { 'x.log': [JSON.stringify(event({ userAgent: long })), JSON.stringify(event({ auditID: 'a-2' }))].join('\n') + '\n' });
    const r = await runCli(['sql', 'SELECT auditID, length(userAgent) = 6000000 AS long FROM requests ORDER BY auditID', join(dir, 'x.log'), '-q', '-o', 'csv']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('auditID,long\na-1,true\na-2,false\n');
    // The engine got what the reader needs for that line (at least 32 MiB objects), above the default budget.
    const m = await runCli(['sql', "SELECT current_setting('memory_limit') AS m", join(dir, 'x.log'), '-q', '-o', 'csv']);
    const mib = Number(/^m\n([\d.]+) MiB\n$/.exec(m.stdout)?.[1]);
    expect(mib).toBeGreaterThanOrEqual(jsonReadMemory(2_000_000) / 2 ** 20);
    expect(mib).toBeGreaterThan(DEFAULT_BUDGET / 2 ** 20);
  });
});
