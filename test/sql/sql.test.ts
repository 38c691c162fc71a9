// audit sql: inputs (logs, stdin, Parquet), output formats, escaping, and errors.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli, tmpDir, writeFiles, event } from '../helpers.js';
import { microsToRfc3339 } from '../../src/sql/index.js';


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
