import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';

const MINI = 'fixtures/mini/mini.jsonl';

describe('exit codes and usage errors', () => {
  it('help lists the commands and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/summary/);
    expect(r.stdout).toMatch(/export/);
    expect(r.stdout).toMatch(/Exit codes: 0 ok, 1 findings/);
  });

  it.each([
    [['investigate', 'fixtures/sample', '--since', '2026-03-04', '--until', '2026-03-02'], /--since 2026-03-04 is not before --until 2026-03-02[\s\S]*fix: give --since before --until/],
    [['drift', '--rbac', 'no/such/rbac.yaml', 'fixtures/mini'], /--rbac: no\/such\/rbac\.yaml: no such file or directory[\s\S]*fix: pass the RBAC export/],
    [['rbac-gen', 'fixtures/mini', '--existing', 'no/such/rbac.yaml'], /--existing: no\/such\/rbac\.yaml: no such file or directory[\s\S]*fix: pass the RBAC export/],
    [['view', 'fixtures/sample', '-o', 'trail.html'], /-o: "trail\.html" is not an output format[\s\S]*fix: -o takes a format \(html, json\); to write a file, pass --out trail\.html/],
  ])('%j is a usage error naming the fix (found by the new-user walkthrough)', async (argv, msg) => {
    const r = await runCli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it.each(['summary', 'export'])('%s --help shows options and examples', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toMatch(/--since <time>/);
    expect(r.stdout).toMatch(/--strict/);
  });

  it('a missing input exits 2 and names the path', async () => {
    const r = await runCli(['summary', 'no/such/audit.log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no\/such\/audit\.log: no such file or directory/);
    expect(r.stderr).toMatch(/fix:/);
  });

  it('a glob that matches nothing exits 2', async () => {
    const r = await runCli(['summary', 'nowhere/*.log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no file matches/);
  });

  it('an unknown format exits 2 and lists the choices', async () => {
    const r = await runCli(['summary', '-o', 'xml', MINI]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^audit: error: -o: "xml" is not an output format of this command/);
    expect(r.stderr).toMatch(/fix: use one of table, wide, json, markdown/);
  });

  it('a bad time exits 2 naming the flag and the fix', async () => {
    const r = await runCli(['summary', '--since', 'yesterday', MINI]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since: "yesterday" is not a time/);
    expect(r.stderr).toMatch(/fix: use RFC 3339/);
  });

  it('a bad number exits 2', async () => {
    const r = await runCli(['summary', '--top', 'many', MINI]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--top: "many" is not a positive whole number/);
  });

  it('an unknown command exits 2', async () => {
    const r = await runCli(['bogus']);
    expect(r.code).toBe(2);
  });

  it('no input on a terminal is a usage error', async () => {
    const r = await runCli(['summary']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no input given/);
  });

  it('an unknown export field exits 2 and lists the fields', async () => {
    const r = await runCli(['export', '--fields', 'time,nope', MINI]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--fields: unknown field "nope"/);
  });
});

describe('export', () => {
  it('exports exactly the filtered records and reports the accounting on stderr', async () => {
    const r = await runCli(['export', '-o', 'jsonl', '--verb', 'list', MINI]);
    expect(r.code).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((x) => x.subject)).toEqual(['carol@example.com', '=HYPERLINK("http://evil.example/","x")', 'system:anonymous']);
    expect(r.stderr).toMatch(/read 10 lines from 1 file \(7 skipped unparsed by the pre-filter\): 3 events \(3 requests, 0 stage duplicates\), 0 rejected; 3 used, 0 skipped by filters/);
    const full = await runCli(['export', '-o', 'jsonl', '--verb', 'list', '--no-prefilter', MINI]);
    expect(full.stdout).toBe(r.stdout);
    expect(full.stderr).toMatch(/read 10 lines from 1 file: 10 events \(9 requests, 1 stage duplicate\), 0 rejected; 3 used, 6 skipped by filters/);
  });

  it('neutralises spreadsheet formulas in CSV cells', async () => {
    const dir = writeFiles(tmpDir(), {
      'x.log': jsonl(['=1+1', '+cmd', '-2', '@SUM(A1)', '\tTAB', '\rCR', 'plain'].map((u, i) => event({ auditID: `c${i}`, user: { username: u } }))),
    });
    const r = await runCli(['export', '-o', 'csv', '--fields', 'subject,code', join(dir, 'x.log')]);
    expect(r.stdout.split('\n').slice(1, -1)).toEqual(["'=1+1,200", "'+cmd,200", "'-2,200", "'@SUM(A1),200", `"'\tTAB",200`, '\\x0dCR,200', 'plain,200']);
    // A CR is written as \x0d (README, Output safety), so the cell no longer starts with one.
  });

  it('the JSON array parses and equals the JSON lines', async () => {
    const a = await runCli(['export', '-o', 'json', MINI]);
    const b = await runCli(['export', '-o', 'jsonl', MINI]);
    expect(JSON.parse(a.stdout)).toEqual(b.stdout.trim().split('\n').map((l) => JSON.parse(l)));
  });

  it('an empty result is still valid JSON', async () => {
    const r = await runCli(['export', '-o', 'json', '--user', 'nobody', MINI]);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});

describe('terminal output is safe', () => {
  it('control characters and ANSI escapes from the data are shown, not executed', async () => {
    const dir = writeFiles(tmpDir(), { 'x.log': jsonl([event({ user: { username: 'evil\u001b[2J\u001b]0;pwned\u0007' }, userAgent: 'x\u001b[31my' })]) });
    const r = await runCli(['summary', join(dir, 'x.log')]);
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).not.toContain('\u0007');
    expect(r.stdout).toContain('evil\\x1b[2J\\x1b]0;pwned\\x07');
  });

  it('no colour when NO_COLOR is set, even with FORCE_COLOR unset', async () => {
    const r = await runCli(['summary', MINI], { env: { NO_COLOR: '1' } });
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('an empty FORCE_COLOR forces nothing', async () => {
    const r = await runCli(['summary', MINI], { env: { FORCE_COLOR: '' } });
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('colour when forced', async () => {
    const r = await runCli(['summary', MINI], { env: { FORCE_COLOR: '1' } });
    expect(r.stdout).toContain('\u001b[1m');
  });
});

describe('the installed executables', () => {
  it('audit and kaudit are the same launcher, and it sets the exit code', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.bin).toEqual({ audit: 'bin/audit.js', kaudit: 'bin/audit.js' });
    const out = execFileSync(process.execPath, ['bin/audit.js', '--version'], { encoding: 'utf8' });
    expect(out.trim()).toBe(pkg.version);
    const bad = spawnSync(process.execPath, ['bin/audit.js', 'summary', 'missing.log'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/missing\.log/);
  });
});
