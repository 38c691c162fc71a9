// Files kaudit writes (--out FILE, rbac-gen --out-dir; src/cli/outfile.ts):
// symbolic links are never written through, an output that is an input is refused, destinations
// that cannot be written are usage errors found before any input is read, folders are created in
// bounded steps (never spinning under /proc), files are replaced atomically, and a failed write
// leaves nothing behind. "Before any input is read" is shown with a FIFO among the inputs: reading
// it would block for ever, so the command can only return if it stopped first.
import { describe, it, expect } from 'vitest';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCli, tmpDir } from '../helpers.js';
import { prepareOutputDir, prepareOutputFile } from '../../src/cli/outfile.js';
import { setBudget } from '../../src/scale/budget.js';
import { resetLedger, spillCount } from '../../src/scale/ledger.js';
import { isSpilled, releaseLists } from '../../src/scale/spilled.js';
import { UsageError } from '../../src/util/errors.js';

const MINI = 'fixtures/mini/mini.jsonl';
const RBAC = 'fixtures/drift/rbac.yaml';

function fifo(dir: string): string {
  const p = join(dir, 'never-written.fifo');
  execFileSync('mkfifo', [p]);
  return p;
}

/** No temporary file of ours is left in `dir`. */
function noTemps(dir: string): void {
  expect(readdirSync(dir).filter((f) => f.includes('.kaudit-'))).toEqual([]);
}

describe('symbolic links are never written through', () => {
  it('--out-dir: a link planted under an output name is refused, and nothing is written', async () => {
    const clean = join(tmpDir(), 'clean');
    expect((await runCli(['rbac-gen', MINI, '--out-dir', clean, '-q'])).code).toBe(0);
    const names = readdirSync(clean).sort();
    expect(names.length).toBeGreaterThan(1);
    const dir = tmpDir();
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'precious\n');
    const out = join(dir, 'rbac');
    mkdirSync(out);
    symlinkSync(target, join(out, names[names.length - 1]!));
    const r = await runCli(['rbac-gen', MINI, '--out-dir', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out-dir: .* is a symbolic link; kaudit never writes through one/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    // All or nothing: the other files were not written either.
    expect(readdirSync(out)).toEqual([names[names.length - 1]]);
    noTemps(out);
  });

  it('--out-dir that is itself a link is refused', async () => {
    const dir = tmpDir();
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'rbac'));
    const r = await runCli(['rbac-gen', MINI, '--out-dir', join(dir, 'rbac')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a symbolic link/);
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
  });

  it.each([
    ['compliance', (o: string, i: string) => ['compliance', '--rbac', RBAC, i, '--out', o]],
    ['baseline', (o: string, i: string) => ['baseline', i, '--out', o]],
  ])('%s: an output path that is a link is refused before reading', async (_n, args) => {
    const dir = tmpDir();
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(dir, 'report'));
    const r = await runCli(args(join(dir, 'report'), fifo(dir)));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is a symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });
});

describe('an output that is one of the inputs (same device and inode) is a usage error, before reading', () => {
  it.each([
    ['the same path', (log: string) => log],
    ['another spelling of it', (log: string) => join(log, '..', '.', 'audit.log')],
  ])('baseline -o %s', async (_n, spell) => {
    const dir = tmpDir();
    const log = join(dir, 'audit.log');
    const bytes = readFileSync(MINI);
    writeFileSync(log, bytes);
    const r = await runCli(['baseline', fifo(dir), log, '--out', spell(log)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out: .* is the input .*audit\.log; writing it would destroy the input/);
    expect(readFileSync(log)).toEqual(bytes);
  });

  it('a hard link to the input is the input', async () => {
    const dir = tmpDir();
    const log = join(dir, 'audit.log');
    writeFileSync(log, readFileSync(MINI));
    linkSync(log, join(dir, 'other-name.json'));
    const r = await runCli(['baseline', fifo(dir), log, '--out', join(dir, 'other-name.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is the input/);
  });

  it('compliance --out onto the RBAC export or a log', async () => {
    const dir = tmpDir();
    const rbac = join(dir, 'rbac.yaml');
    const log = join(dir, 'audit.log');
    writeFileSync(rbac, readFileSync(RBAC));
    writeFileSync(log, readFileSync(MINI));
    for (const out of [rbac, log]) {
      const r = await runCli(['compliance', '--rbac', rbac, log, fifo(tmpDir()), '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--out: .* is the input/);
    }
    expect(readFileSync(rbac)).toEqual(readFileSync(RBAC));
  });

  it('baseline --merge may update its own file: it is read whole first and replaced atomically', async () => {
    const dir = tmpDir();
    const file = join(dir, 'baseline.json');
    expect((await runCli(['baseline', MINI, '--out', file, '-q'])).code).toBe(0);
    const one = JSON.parse(readFileSync(file, 'utf8'));
    expect((await runCli(['baseline', '--merge', file, MINI, '--out', file, '-q'])).code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).requests).toBe(2 * one.requests);
  });
});

describe('destinations that cannot be written are usage errors that name the path, found before reading', () => {
  it.each([
    ['compliance --out under a missing folder', (d: string) => ['compliance', '--rbac', RBAC, '--out', '/nonexistent/dir/r.html'], /--out: cannot write \/nonexistent\/dir\/r\.html: the folder \/nonexistent\/dir does not exist/],
    ['baseline --out under a missing folder', (d: string) => ['baseline', '--out', join(d, 'missing', 'b.json')], /--out: cannot write .*missing\/b\.json: the folder .*missing does not exist/],
    ['baseline --out a folder', (d: string) => ['baseline', '--out', d], /--out: .* is a folder/],
    ['baseline --out a device', () => ['baseline', '--out', '/dev/null'], /--out: \/dev\/null is not a regular file/],
    ['--out-dir an existing file', (d: string) => (writeFileSync(join(d, 'f'), ''), ['rbac-gen', '--out-dir', join(d, 'f')]), /--out-dir: .*\/f exists and is not a folder/],
    ['--out-dir under a file', (d: string) => (writeFileSync(join(d, 'f'), ''), ['rbac-gen', '--out-dir', join(d, 'f', 'x')]), /--out-dir: cannot write to .*\/f\/x: a part of the path is not a folder \(ENOTDIR\)/],
    ['--out-dir under /proc (a recursive mkdir spins there)', () => ['rbac-gen', '--out-dir', '/proc/kaudit/deeper/still'], /--out-dir: cannot write \/proc\/kaudit\/deeper\/still: .* in \/proc/],
    ['--out-dir too deep to create', (d: string) => ['rbac-gen', '--out-dir', join(d, ...Array.from({ length: 40 }, (_, i) => `d${i}`))], /more than 32 folders would have to be created/],
  ])('%s', async (_n, args, message) => {
    const dir = tmpDir();
    const r = await runCli([...args(dir), fifo(dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/fix: /);
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
  });

  it('a line break in a file name cannot start a line of its own on stderr (a forged "note:" or "audit: error:")', async () => {
    const dir = tmpDir();
    const odd = join(dir, 'x\nnote: all clear\naudit: error: b.log');
    writeFileSync(odd, readFileSync(MINI));
    const r = await runCli(['summary', odd, '--out', odd]);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines[0]).toMatch(/^audit: error: --out: /);
    expect(lines.slice(1).every((l) => l.startsWith('  '))).toBe(true);
  });

  it('a path in a message is escaped once, the fix line included (undoing \\ and \\xNN gives the path back)', async () => {
    const dir = tmpDir();
    const odd = join(dir, 'a\u001b\\b');
    const r = await runCli(['baseline', '--out', join(odd, 'x.json'), fifo(dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write ${dir}/a\\x1b\\\\b/x.json: the folder ${dir}/a\\x1b\\\\b does not exist`);
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), odd);
    const l = await runCli(['rbac-gen', '--out-dir', odd, fifo(tmpDir())]);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain(`  fix: pass the folder it points to (realpath ${dir}/a\\x1b\\\\b)\n`);
  });

  it("--out - writes to standard output, as '-' does for inputs (it made a file named '-')", async () => {
    const cwd = process.cwd();
    const here = tmpDir();
    const mini = join(cwd, MINI);
    const rbac = join(cwd, RBAC);
    process.chdir(here);
    try {
      const b = await runCli(['baseline', mini, '--out', '-', '-q']);
      expect(b.code).toBe(0);
      expect(JSON.parse(b.stdout).kind).toBe('kaudit.baseline');
      const c = await runCli(['compliance', '--rbac', rbac, mini, '--out', '-', '-o', 'json', '-q', '--now', '2026-03-03T00:00:00Z']);
      expect(c.code).toBe(0);
      expect(JSON.parse(c.stdout).kind).toBe('kaudit.compliance');
      expect(readdirSync(here)).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('--out /dev/stdout: the fix is to leave the option out, not to remove the link', async () => {
    const r = await runCli(['baseline', '--out', '/dev/stdout', fifo(tmpDir())]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('audit: error: --out: /dev/stdout is a symbolic link; kaudit never writes through one\n  fix: leave the option out to write to standard output\n');
  });

  it('--out-dir creates the missing folders, one level at a time', async () => {
    const out = join(tmpDir(), 'a', 'b', 'c');
    const r = await runCli(['rbac-gen', MINI, '--out-dir', out, '-q']);
    expect(r.code).toBe(0);
    expect(readdirSync(out).length).toBeGreaterThan(1);
  });
});

describe('a write that fails after the checks is a usage error naming the path, never an internal error', () => {
  it('a destination name of 255 bytes in three-byte characters (the temporary name must stay under NAME_MAX)', async () => {
    const dir = tmpDir();
    const out = join(dir, '名'.repeat(85));
    const r = await runCli(['baseline', MINI, '--out', out, '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).kind).toBe('kaudit.baseline');
    noTemps(dir);
  });

  it('the folder removed between the checks and the write (as a full disk or a revoked permission would fail it)', async () => {
    const dir = join(tmpDir(), 'gone');
    mkdirSync(dir);
    const out = prepareOutputFile('-o', join(dir, 'b.json'));
    rmSync(dir, { recursive: true });
    const err = await out.write('{}').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/^-o: cannot write .*gone\/b\.json: no such file or directory \(ENOENT\)$/);
  });
});

describe('atomic replacement', () => {
  it('the old file is replaced by a new one (rename), its permission bits kept, no temporary file left', async () => {
    const dir = tmpDir();
    const out = join(dir, 'report.md');
    writeFileSync(out, 'old report\n');
    chmodSync(out, 0o640);
    // A second name for the old file: a write in place would change it too; a rename does not.
    linkSync(out, join(dir, 'old-name.md'));
    const before = statSync(out).ino;
    const r = await runCli(['compliance', '--rbac', RBAC, MINI, '-o', 'markdown', '--out', out, '--now', '2026-03-03T00:00:00Z', '-q']);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^# /);
    expect(readFileSync(join(dir, 'old-name.md'), 'utf8')).toBe('old report\n');
    expect(statSync(out).ino).not.toBe(before);
    expect(statSync(out).mode & 0o777).toBe(0o640);
    noTemps(dir);
  });

  it('the same output twice gives the same bytes (rbac-gen --out-dir replaces its own files)', async () => {
    const out = join(tmpDir(), 'rbac');
    await runCli(['rbac-gen', MINI, '--out-dir', out, '-q']);
    const first = readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8'));
    expect((await runCli(['rbac-gen', MINI, '--out-dir', out, '-q'])).code).toBe(0);
    expect(readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8'))).toEqual(first);
    noTemps(out);
  });
});

describe('an interrupted run leaves no report and no temporary file', () => {
  // The report is written whole at the end (a temporary file, fsync, rename); a signal while the
  // input is still being read must leave the previous report, and nothing else, in the folder.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} while reading standard input: the old report is kept as it was`, async () => {
      const dir = tmpDir();
      const out = join(dir, 'baseline.json');
      writeFileSync(out, 'previous\n');
      const child = spawn(process.execPath, ['bin/audit.js', 'baseline', '-', '--out', out, '-q'], { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
      // Half of an input: the command is now reading and waiting for more.
      child.stdin.write(readFileSync(MINI, 'utf8'));
      await new Promise((r) => setTimeout(r, 700));
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
      child.kill(sig);
      const end = await done;
      expect(end.code === 0).toBe(false);
      expect(readFileSync(out, 'utf8')).toBe('previous\n');
      expect(readdirSync(dir)).toEqual(['baseline.json']);
    });
  }
});

// Permission checks need a user the kernel checks: as root, the test drops to `nobody` (setpriv).
const root = process.getuid?.() === 0;
const setpriv = root && spawnSync('setpriv', ['--version']).status === 0;
const canRun = (): boolean => {
  if (root && !setpriv) return false;
  // The checkout must be readable by that user (CI clones into a world-readable folder).
  return runAs(['--version']).code === 0;
};

function runAs(args: string[]): { code: number; stderr: string } {
  const cmd = root ? 'setpriv' : process.execPath;
  const argv = root ? ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'bin/audit.js', ...args] : ['bin/audit.js', ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stderr: r.stderr };
}

function openDir(): string {
  const d = tmpDir();
  chmodSync(d, 0o755);
  return d;
}

describe('a file the kernel refuses to read, even to root', () => {
  // /proc/sys files are checked by their owner bits even for root: compact_memory is write-only.
  const wo = '/proc/sys/vm/compact_memory';
  it.runIf(existsSync(wo) && spawnSync(process.execPath, ['-e', `require('fs').readFileSync(${JSON.stringify(wo)})`]).status !== 0)('is an input error naming it', async () => {
    const r = await runCli(['summary', wo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`audit: error: ${wo}: cannot read (permission denied)\n  fix: check the permissions\n`);
  });
});

describe.runIf(canRun())('permissions (as an unprivileged user)', () => {
  it('an unreadable input file is an input error naming it, not an internal error', () => {
    const d = openDir();
    const log = join(d, 'audit.log');
    writeFileSync(log, readFileSync(MINI));
    chmodSync(log, 0o000);
    const r = runAs(['summary', log]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`audit: error: ${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read \\(permission denied\\)`));
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('a folder that cannot be written is a usage error before reading', () => {
    const d = openDir();
    const ro = join(d, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    writeFileSync(join(d, 'audit.log'), readFileSync(MINI));
    chmodSync(join(d, 'audit.log'), 0o644);
    for (const args of [
      ['baseline', join(d, 'audit.log'), '--out', join(ro, 'b.json')],
      ['rbac-gen', join(d, 'audit.log'), '--out-dir', join(ro, 'rbac')],
    ]) {
      const r = runAs(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/cannot write .*: permission denied \(EACCES\)/);
    }
    expect(existsSync(join(ro, 'rbac'))).toBe(false);
  });
});

describe('--out-dir writes one file at a time (OutputDir.open; issue 15: a million subjects\' files are never held at once)', () => {
  const staged = (out: string): string[] => readdirSync(out).filter((f) => f.startsWith('.kaudit-staging-'));

  it('each file is on disk (in a staging folder inside DIR) as soon as it is added; DIR changes only at commit, in the order added', async () => {
    const out = join(tmpDir(), 'rbac');
    const w = prepareOutputDir('--out-dir', out).open();
    w.add('b.yaml', 'b\n');
    const [stage] = staged(out);
    expect(stage).toBeDefined();
    expect(readdirSync(join(out, stage!))).toEqual(['b.yaml']);
    expect(readFileSync(join(out, stage!, 'b.yaml'), 'utf8')).toBe('b\n');
    w.add('a.yaml', 'a\n');
    expect(readdirSync(out)).toEqual([stage]);
    expect([...(await w.commit())]).toEqual([join(out, 'b.yaml'), join(out, 'a.yaml')]);
    expect(readdirSync(out).sort()).toEqual(['a.yaml', 'b.yaml']);
    noTemps(out);
  });

  it('a name given twice, a name that is not plain, or abort: the staging folder goes and DIR is untouched', async () => {
    const out = join(tmpDir(), 'rbac');
    const w = prepareOutputDir('--out-dir', out).open();
    w.add('a.yaml', 'a\n');
    expect(() => w.add('a.yaml', 'again\n')).toThrow(/two outputs named a.yaml/);
    expect(readdirSync(out)).toEqual([]);
    for (const bad of ['../escape.yaml', 'x/y.yaml', '..', '']) {
      const v = prepareOutputDir('--out-dir', out).open();
      expect(() => v.add(bad, 'x')).toThrow(/not a plain file name/);
      expect(readdirSync(out)).toEqual([]);
    }
    const u = prepareOutputDir('--out-dir', out).open();
    u.add('a.yaml', 'a\n');
    u.abort();
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, '..', 'escape.yaml'))).toBe(false);
  });

  it('a link planted under one of the names before commit: refused, nothing renamed, the staging folder removed', async () => {
    const dir = tmpDir();
    const out = join(dir, 'rbac');
    const w = prepareOutputDir('--out-dir', out).open();
    w.add('a.yaml', 'a\n');
    w.add('b.yaml', 'b\n');
    writeFileSync(join(dir, 'victim'), 'precious\n');
    symlinkSync(join(dir, 'victim'), join(out, 'b.yaml'));
    await expect(w.commit()).rejects.toThrow(/is a symbolic link; kaudit never writes through one/);
    expect(readdirSync(out)).toEqual(['b.yaml']);
    expect(readFileSync(join(dir, 'victim'), 'utf8')).toBe('precious\n');
  });

  it('with a tiny budget the list of names spills, and every file still lands, in order', async () => {
    resetLedger();
    setBudget(8 * 1024);
    try {
      const out = join(tmpDir(), 'rbac');
      const w = prepareOutputDir('--out-dir', out).open();
      const names = Array.from({ length: 400 }, (_, i) => `kaudit-user-${String(i).padStart(4, '0')}.yaml`);
      for (const n of names) w.add(n, `${n}\n`);
      const written = await w.commit();
      expect(isSpilled(written)).toBe(true);
      expect(spillCount()).toBeGreaterThan(0);
      expect([...written]).toEqual(names.map((n) => join(out, n)));
      expect(readdirSync(out).sort()).toEqual(names);
      expect(readFileSync(join(out, names[123]!), 'utf8')).toBe(`${names[123]}\n`);
      noTemps(out);
      releaseLists(written);
    } finally {
      setBudget(null);
      resetLedger();
    }
  });
});
