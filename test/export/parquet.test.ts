// audit export -o parquet: the layout, the Parquet types and metadata, the same rows as export -o
// jsonl, deterministic bytes, file rotation, existing directories; and that DuckDB is optional.
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, tmpDir, writeFiles, event } from '../helpers.js';
import { hivePathValue, HIVE_NULL, datasetFiles } from '../../src/export/parquet.js';
import { FILE_COLUMNS, SCHEMA_VERSION } from '../../src/export/schema.js';
import { openEngine } from '../../src/export/duckdb.js';


/** DuckDB is an optional dependency: without it (npm ci --omit=optional) these tests are skipped. */
const hasDuckDB = await import('@duckdb/node-api' as string).then(
  () => true,
  () => false,
);

const root = join(__dirname, '..', '..');
const sample = join(root, 'fixtures', 'sample');
let dataset = '';

async function rowsOf(sql: string): Promise<Record<string, unknown>[]> {
  const engine = await openEngine('test');
  try {
    return (await engine.connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    engine.close();
  }
}

beforeAll(async () => {
  if (!hasDuckDB) return;
  dataset = join(tmpDir(), 'ds');
  const r = await runCli(['export', sample, '-o', 'parquet', '--out', dataset]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/parquet: 5888 rows in 2 files \(2 partitions, [\d.]+ MB\)/);
});

describe('hivePathValue (Hive FileUtils.escapePathName)', () => {
  it.each([
    ['prod', 'prod'],
    ['', HIVE_NULL],
    [null, HIVE_NULL],
    ['a/b', 'a%2Fb'],
    ['x=y', 'x%3Dy'],
    ['50%', '50%25'],
    ['..', '..'],
    ['tab\there', 'tab%09here'],
    ["q'\"#*:?\\{[]^", 'q%27%22%23%2A%3A%3F%5C%7B%5B%5D%5E'],
    ['café', 'café'],
  ])('%j → %s', (v, want) => expect(hivePathValue(v)).toBe(want));
});

describe.skipIf(!hasDuckDB)('the dataset', () => {
  it('is partitioned by cluster and UTC day, with part-N files', () => {
    expect(datasetFiles(dataset)).toEqual([`cluster=${HIVE_NULL}/date=2026-03-02/part-0.parquet`, `cluster=${HIVE_NULL}/date=2026-03-03/part-0.parquet`]);
    expect(readdirSync(dataset)).toEqual([`cluster=${HIVE_NULL}`]);
  });

  it('has the schema of docs/schema.md: microsecond UTC timestamps, a list of strings, INT32 codes, no partition columns inside', async () => {
    const file = join(dataset, datasetFiles(dataset)[0]!);
    const schema = await rowsOf(`SELECT name, type, logical_type, converted_type FROM parquet_schema('${file}')`);
    const top = schema.filter((c) => FILE_COLUMNS.some((f) => f.name === c.name));
    expect(top.map((c) => c.name)).toEqual(FILE_COLUMNS.map((c) => c.name));
    const time = schema.find((c) => c.name === 'time')!;
    expect(time.type).toBe('INT64');
    expect(String(time.logical_type)).toMatch(/TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=<null>, MICROS=MicroSeconds\(\)/);
    expect(schema.find((c) => c.name === 'code')!.type).toBe('INT32');
    expect(schema.find((c) => c.name === 'groups')!.converted_type).toBe('LIST');
    expect(schema.find((c) => c.name === 'element')).toMatchObject({ type: 'BYTE_ARRAY', converted_type: 'UTF8' });
    expect(schema.some((c) => c.name === 'cluster' || c.name === 'date')).toBe(false);
  });

  it('carries the schema and kaudit versions in the key-value metadata', async () => {
    const file = join(dataset, datasetFiles(dataset)[0]!);
    const kv = await rowsOf(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file}') ORDER BY k`);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(kv.filter((r) => String(r.k).startsWith('kaudit.'))).toEqual([
      { k: 'kaudit.schema.version', v: String(SCHEMA_VERSION) },
      { k: 'kaudit.version', v: version },
    ]);
  });

  it('dictionary-encodes low-cardinality strings and compresses with zstd', async () => {
    const file = join(dataset, datasetFiles(dataset)[0]!);
    const meta = await rowsOf(`SELECT path_in_schema AS col, encodings, compression FROM parquet_metadata('${file}') WHERE row_group_id = 0`);
    for (const c of ['verb', 'resource', 'namespace', 'subject', 'accessMethod']) expect(String(meta.find((m) => m.col === c)!.encodings), c).toMatch(/DICTIONARY/);
    expect(new Set(meta.map((m) => m.compression))).toEqual(new Set(['ZSTD']));
  });

  it('holds exactly the records of export -o jsonl (time to the microsecond)', async () => {
    const jsonl = await runCli(['export', sample, '-o', 'jsonl', '-q']);
    const want = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const got = await runCli(['sql', 'SELECT * EXCLUDE (date) FROM requests', dataset, '-o', 'jsonl', '-q']);
    const rows = got.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const key = (r: Record<string, unknown>) => `${String(r.auditID)}`;
    const byId = new Map(rows.map((r) => [key(r), r]));
    expect(rows.length).toBe(want.length);
    for (const w of want) {
      const g = byId.get(key(w))!;
      expect(g, key(w)).toBeDefined();
      expect(Math.round(Date.parse(String(g.time)) * 1000 + Number(String(g.time).slice(23, 26)))).toBe(Math.round((w.timeMs as number) * 1000));
      expect({ ...g, time: '' }).toEqual({ ...w, time: '' });
    }
  });

  it('is the same bytes when written twice', async () => {
    const again = join(tmpDir(), 'ds');
    expect((await runCli(['export', sample, '-o', 'parquet', '--out', again, '-q'])).code).toBe(0);
    for (const f of datasetFiles(dataset)) expect(readFileSync(join(again, f)).equals(readFileSync(join(dataset, f))), f).toBe(true);
  });
});

describe.skipIf(!hasDuckDB)('options', () => {
  it('rotates files at --target-file-size and keeps every row', async () => {
    const out = join(tmpDir(), 'ds');
    const r = await runCli(['export', sample, '-o', 'parquet', '--out', out, '--target-file-size', '20kB', '--row-group-size', '2048', '--compression', 'snappy', '-q']);
    expect(r.code).toBe(0);
    const files = datasetFiles(out);
    expect(files.filter((f) => f.includes('date=2026-03-02')).length).toBeGreaterThanOrEqual(2);
    expect(files.every((f) => /\/part-\d+\.parquet$/.test(f))).toBe(true);
    const n = await rowsOf(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}/**/*.parquet')`);
    expect(n[0]!.n).toBe(5888);
    const meta = await rowsOf(`SELECT DISTINCT compression FROM parquet_metadata('${join(out, files[0]!)}')`);
    expect(meta.map((m) => m.compression)).toEqual(['SNAPPY']);
    const groups = await rowsOf(`SELECT max(row_group_num_rows)::INTEGER AS m FROM parquet_metadata('${out}/**/*.parquet')`);
    expect(groups[0]!.m).toBeLessThanOrEqual(2048);
  });

  it('labels partitions with the cluster, escaped, and reads them back', async () => {
    const out = join(tmpDir(), 'ds');
    const dir = writeFiles(tmpDir(), { 'x.log': JSON.stringify(event({ auditID: 'x1', requestReceivedTimestamp: '2026-03-05T01:02:03.000004Z', stageTimestamp: '2026-03-05T01:02:03.100004Z' })) + '\n' });
    expect((await runCli(['export', join(dir, 'x.log'), '--cluster', 'eu/west:1', '-o', 'parquet', '--out', out, '-q'])).code).toBe(0);
    expect(datasetFiles(out)).toEqual(['cluster=eu%2Fwest%3A1/date=2026-03-05/part-0.parquet']);
    const r = await runCli(['sql', 'SELECT cluster, date, time, durationMs FROM requests', out, '-o', 'jsonl', '-q']);
    expect(JSON.parse(r.stdout)).toEqual({ cluster: 'eu/west:1', date: '2026-03-05', time: '2026-03-05T01:02:03.000004Z', durationMs: 100 });
  });

  it('refuses a non-empty directory unless --overwrite or --append; --append adds new files', async () => {
    const out = join(tmpDir(), 'ds');
    expect((await runCli(['export', sample, '-o', 'parquet', '--out', out, '-q'])).code).toBe(0);
    const again = await runCli(['export', sample, '-o', 'parquet', '--out', out, '-q']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--out: .* is not empty[\s\S]*fix: .*--overwrite.*--append/);
    expect((await runCli(['export', sample, '--verb', 'delete', '-o', 'parquet', '--out', out, '--overwrite', '-q'])).code).toBe(0);
    expect((await rowsOf(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}/**/*.parquet')`))[0]!.n).toBe(11);
    expect((await runCli(['export', sample, '--verb', 'delete', '-o', 'parquet', '--out', out, '--append', '-q'])).code).toBe(0);
    expect((await rowsOf(`SELECT count(*)::INTEGER AS n FROM read_parquet('${out}/**/*.parquet')`))[0]!.n).toBe(22);
    expect(datasetFiles(out).length).toBe(4);
    expect(readdirSync(out).some((e) => e.startsWith('_'))).toBe(false);
  });

  it('never writes through a symbolic link, and leaves no staging behind', async () => {
    const { symlinkSync } = await import('node:fs');
    const real = join(tmpDir(), 'real');
    const link = join(tmpDir(), 'link');
    symlinkSync(tmpDir(), link);
    const r = await runCli(['export', sample, '-o', 'parquet', '--out', link, '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a symbolic link');
    expect((await runCli(['export', sample, '-o', 'parquet', '--out', real, '-q'])).code).toBe(0);
    expect(readdirSync(real)).toEqual([`cluster=${HIVE_NULL}`]);
  });

  it('--overwrite never deletes what is not a dataset', async () => {
    const out = writeFiles(tmpDir(), { 'notes.txt': 'keep me' });
    const r = await runCli(['export', sample, '-o', 'parquet', '--out', out, '--overwrite', '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a kaudit dataset');
    expect(existsSync(join(out, 'notes.txt'))).toBe(true);
  });

  it('usage errors name the flag', async () => {
    for (const [args, msg] of [
      [['-o', 'parquet'], '-o parquet needs --out DIR'],
      [['-o', 'parquet', '--out', '-'], '-o parquet writes a directory, not standard output (--out -)'],
      [['-o', 'parquet', '--out', 'x', '--fields', 'verb'], '--fields does not apply to -o parquet'],
      [['-o', 'parquet', '--out', 'x', '--target-file-size', 'big'], '--target-file-size: "big" is not a size'],
      [['-o', 'csv', '--overwrite'], '--overwrite is for -o parquet'],
    ] as const) {
      const r = await runCli(['export', sample, ...args]);
      expect(r.code, msg).toBe(2);
      expect(r.stderr).toContain(msg);
    }
  });

  it('writes no files for no records', async () => {
    const out = join(tmpDir(), 'ds');
    expect((await runCli(['export', sample, '--user', 'nobody', '-o', 'parquet', '--out', out, '-q'])).code).toBe(0);
    expect(datasetFiles(out)).toEqual([]);
    expect(statSync(out).isDirectory()).toBe(true);
  });
});

describe('without the DuckDB module', () => {
  const bin = join(root, 'bin', 'audit.js');
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', join(__dirname, 'no-duckdb.mjs'), bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 256 << 20 });

  it('audit sql and export -o parquet exit 2 and say how to install it', () => {
    for (const args of [['sql', 'SELECT 1', sample], ['export', sample, '-o', 'parquet', '--out', join(tmpDir(), 'ds')]]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('needs the DuckDB engine (@duckdb/node-api)');
      expect(r.stderr).toContain('fix: install it next to kaudit: npm install @duckdb/node-api');
      expect(r.stderr).not.toContain('internal error');
    }
  });

  it('every other command works and never tries to load it', () => {
    const rbac = join(root, 'fixtures', 'sample-rbac');
    for (const args of [
      ['summary', sample, '-q'],
      ['investigate', sample, '--verb', 'delete', '-q'],
      ['export', sample, '-o', 'csv', '-q'],
      ['commands', sample, '--limit', '3', '-q'],
      ['rbac-gen', sample, '-q'],
      ['drift', '--rbac', rbac, sample, '-q'],
      ['anomalies', sample, '--train-until', '2026-03-03', '-q'],
      ['compliance', sample, '--rbac', rbac, '--now', '2026-04-01T00:00:00Z', '-o', 'json', '-q'],
      ['--help'],
    ]) {
      const r = run(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr, args.join(' ')).not.toContain('[no-duckdb]');
    }
  });
});
