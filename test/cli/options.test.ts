// One set of habits on every command: -o is a validated format with "did you mean", --out FILE
// writes the output, the common filters (including --serviceaccount, --impersonator, --actor and
// -A) everywhere, help without "(default: [])", one error prefix, --limit 0, the accounting line.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tmpDir } from '../helpers.js';

const MINI = 'fixtures/mini/mini.jsonl';
const DRIFT = ['--rbac', 'fixtures/drift/rbac.yaml'];

// command, extra arguments it needs, its formats, a near-miss of one of them and what it suggests
const COMMANDS: [string, string[], string[], string, string][] = [
  ['summary', [MINI], ['table', 'wide', 'json', 'markdown'], 'jsno', 'json'],
  ['investigate', [MINI], ['table', 'wide', 'json', 'jsonl', 'csv', 'yaml', 'markdown'], 'yml', 'yaml'],
  ['commands', [MINI], ['table', 'wide', 'json', 'csv', 'markdown'], 'cvs', 'csv'],
  ['baseline', [MINI], ['json'], 'jason', 'json'],
  ['anomalies', [MINI], ['table', 'wide', 'json', 'jsonl', 'markdown', 'sarif'], 'sarf', 'sarif'],
  ['rbac-gen', [MINI], ['yaml', 'json', 'report'], 'yamll', 'yaml'],
  ['drift', [MINI, ...DRIFT], ['table', 'wide', 'json', 'markdown', 'sarif', 'junit'], 'junti', 'junit'],
  ['compliance', [MINI, ...DRIFT], ['html', 'markdown', 'json', 'csv', 'table', 'wide'], 'htm', 'html'],
  ['export', [MINI], ['csv', 'jsonl', 'json', 'parquet'], 'jsonlines', 'jsonl'],
];
/** DuckDB is an optional dependency (test/export/parquet.test.ts): audit sql is checked where it is installed. */
const hasDuckDB = await import('@duckdb/node-api' as string).then(
  () => true,
  () => false,
);
if (hasDuckDB) COMMANDS.push(['sql', ['SELECT verb, count(*) AS n FROM requests GROUP BY verb ORDER BY n DESC, verb', MINI], ['table', 'wide', 'csv', 'json', 'jsonl'], 'cvs', 'csv']);

describe.each(COMMANDS)('audit %s', (cmd, args, formats, typo, meant) => {
  it('-o with an unknown format: exit 2, "did you mean", the formats of this command, nothing read', async () => {
    const r = await runCli([cmd, ...args, '-o', typo]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const [first, fix, rest] = r.stderr.split('\n');
    expect(first).toMatch(new RegExp(`^audit: error: -o: "${typo}" is not an output format of this command; did you mean "${meant}"( or "[a-z]+")?\\?$`));
    expect(fix).toBe(`  fix: use one of ${formats.join(', ')}`);
    expect(rest).toBe('');
  });

  it('-o never names a file: a path is refused with the flag that writes files', async () => {
    const dir = tmpDir();
    const f = join(dir, 'out.json');
    const r = await runCli([cmd, ...args, '-o', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`fix: -o takes a format \\(${formats.join(', ')}\\); to write a file, pass --out `));
    expect(existsSync(f)).toBe(false);
  });

  it.each(formats.filter((f) => f !== 'parquet'))('-o %s works, in any case', async (f) => {
    const r = await runCli([cmd, ...args, '-o', f.toUpperCase(), '-q']);
    expect([0, 1]).toContain(r.code);
    expect(r.stdout.length).toBeGreaterThan(0);
  });

  it('--out FILE writes what stdout would get, and says where', async () => {
    const dir = tmpDir();
    const f = join(dir, 'report.out');
    const r = await runCli([cmd, ...args, '--out', f]);
    expect([0, 1]).toContain(r.code);
    expect(r.stdout).toBe('');
    const toStdout = await runCli([cmd, ...args, '-q']);
    expect(readFileSync(f, 'utf8')).toBe(toStdout.stdout);
    expect(r.stderr).toMatch(/(wrote|written to) .*report\.out/);
  });

  it('takes the common filters, and its help has no "(default: [])"', async () => {
    const help = (await runCli([cmd, '--help'])).stdout;
    for (const flag of ['--user <name>', '--serviceaccount <ns:name>', '--impersonator <name>', '--actor <name>', '-A, --all-namespaces', '--resource <resource>', '-o, --output <format>']) expect(help).toContain(flag);
    expect(help).toMatch(/--out <(file|path)>/);
    expect(help).not.toContain('(default: [])');
  });

  it('prints the accounting line after reading', async () => {
    const r = await runCli([cmd, ...args]);
    expect(r.stderr).toMatch(/^read 10 lines from 1 file: 10 events \(9 requests, 1 stage duplicate\), 0 rejected, 1 not completed; \d+ used, \d+ skipped by filters(; read to the end: yes)?$/m);
  });
});

describe('consistency', () => {
  it('--help says which identity --user matches, and that rbac-gen also matches impersonators', async () => {
    expect((await runCli(['investigate', '--help'])).stdout).toMatch(/--user <name>\s+the subject: the effective user after\s+impersonation/);
    expect((await runCli(['rbac-gen', '--help'])).stdout).toMatch(/--user <name>\s+the subject, and the impersonator of impersonated\s+requests/);
  });

  it('--serviceaccount NS:NAME is the subject system:serviceaccount:NS:NAME on every command', async () => {
    const a = await runCli(['export', 'fixtures/sample', '--serviceaccount', 'ci:deployer', '-o', 'csv', '-q']);
    const b = await runCli(['export', 'fixtures/sample', '--user', 'system:serviceaccount:ci:deployer', '-o', 'csv', '-q']);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.split('\n').length).toBeGreaterThan(10);
    const bad = await runCli(['summary', MINI, '--serviceaccount', 'deployer']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--serviceaccount: "deployer" is not NAMESPACE:NAME/);
  });

  it('-A is the default said out loud, and an error with -n', async () => {
    const a = await runCli(['summary', MINI, '-A', '-o', 'json', '-q']);
    const b = await runCli(['summary', MINI, '-o', 'json', '-q']);
    expect(a.stdout).toBe(b.stdout);
    const both = await runCli(['summary', MINI, '-A', '-n', 'default']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^audit: error: -A\/--all-namespaces and --namespace cannot be combined/);
  });

  it('--limit 0 means no limit on every command that has --limit', async () => {
    const all = (await runCli(['investigate', 'fixtures/sample', '--limit', '0', '-o', 'csv', '-q'])).stdout.trim().split('\n').length;
    const exp = (await runCli(['export', 'fixtures/sample', '-o', 'csv', '-q'])).stdout.trim().split('\n').length;
    expect(all).toBe(exp);
    const table = (await runCli(['investigate', 'fixtures/sample', '--user', 'alice@example.com', '--limit', '0', '-q'])).stdout;
    expect(table).toMatch(/^193 matching requests\.$/m);
    const cmds = (await runCli(['commands', 'fixtures/sample', '--user', 'alice@example.com', '--limit', '0', '-q'])).stdout;
    const csv = (await runCli(['commands', 'fixtures/sample', '--user', 'alice@example.com', '-o', 'csv', '-q'])).stdout.trim().split('\n').length - 1;
    expect(cmds).toMatch(new RegExp(`^${csv} commands\\. `, 'm'));
    const neg = await runCli(['investigate', MINI, '--limit', '-1']);
    expect(neg.code).toBe(2);
    expect(neg.stderr).toMatch(/--limit: "-1" is not a whole number\n  fix: pass a number such as --limit 20, or --limit 0 for no limit/);
  });

  it('every error has one prefix, commander\'s own included', async () => {
    for (const args of [['summary', '--bogus'], ['nosuch'], ['summary', '--top'], ['investigate', '--timeline', 'week', MINI]]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^audit: error: /);
    }
  });

  it('times for people are RFC 3339 with milliseconds and Z, in every table, Markdown and HTML report (and on stderr)', async () => {
    const runs = [
      ['summary', 'fixtures/sample'],
      ['investigate', 'fixtures/sample', '--limit', '20'],
      ['investigate', 'fixtures/sample', '--group-by', 'user'],
      ['commands', 'fixtures/sample', '--limit', '20'],
      ['anomalies', 'fixtures/sample', '--train-until', '2026-03-03'],
      ['drift', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample'],
      ['compliance', '--rbac', 'fixtures/sample-rbac', 'fixtures/sample', '--period', '2026-03-01..2026-03-04'],
    ];
    let times = 0;
    for (const args of runs) {
      for (const o of args[0] === 'compliance' ? ['table', 'markdown', 'html'] : ['table', 'markdown']) {
        const r = await runCli([...args, '-o', o]);
        const text = r.stdout + r.stderr;
        expect(text).not.toMatch(/\d{2}:\d{2}:\d{2}(\.\d{1,2}|\.\d{4,})?Z/);
        times += (text.match(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g) ?? []).length;
      }
    }
    expect(times).toBeGreaterThan(100);
  });

  it('SARIF names no web page kaudit does not live at', async () => {
    const s = JSON.parse((await runCli(['drift', ...DRIFT, 'fixtures/drift/audit.log', '-o', 'sarif', '-q'])).stdout);
    expect(s.runs[0].tool.driver.informationUri).toBeUndefined();
    expect(s.runs[0].tool.driver.name).toBe('kaudit');
  });
});

describe('commands that read no logs', () => {
  it('audit rules list and rules test: -o validated, --out FILE gets what stdout would', async () => {
    const bad = await runCli(['rules', 'list', '-o', 'jsn']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^audit: error: -o: "jsn" is not an output format of this command; did you mean "json"\?\n  fix: use one of table, wide, json\n$/);
    for (const args of [['rules', 'list', '-o', 'json'], ['rules', 'test', 'src/rules/builtin/rbac.yaml']]) {
      const f = join(tmpDir(), 'out.txt');
      const r = await runCli([...args, '--out', f]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/wrote .*out\.txt/);
      expect(readFileSync(f, 'utf8')).toBe((await runCli(args)).stdout);
    }
  });

  it('audit merge: -o validated against the merged command, --out FILE', async () => {
    const dir = tmpDir();
    const state = join(dir, 's.json');
    expect((await runCli(['summary', MINI, '--shard', '0/1', '--save-state', state, '-q'])).code).toBe(0);
    const bad = await runCli(['merge', '--command', 'summary', state, '-o', 'jsno']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^audit: error: -o: "jsno" is not an output format of this command; did you mean "json"\?/);
    const f = join(dir, 'merged.json');
    const r = await runCli(['merge', '--command', 'summary', state, '-o', 'json', '--out', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(f, 'utf8')).toBe((await runCli(['summary', MINI, '-o', 'json', '-q'])).stdout);
  });
});
