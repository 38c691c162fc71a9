// A failure inside kaudit is never taken for the end of the input (issue 23). Faults are injected
// with the test-only hook KAUDIT_TEST_FAULT=COMPONENT:N (src/util/fault.ts) into the real binary
// (worker threads run the built code), and the input errors next to them keep their counting.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { testFault, faultCounter } from '../../src/util/fault.js';
import { readSource } from '../../src/ingest/reader.js';
import { StrictError } from '../../src/util/errors.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function audit(args: string[], env: Record<string, string> = {}): Run {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...env };
  delete e.KAUDIT_TEST_FAULT;
  if (env.KAUDIT_TEST_FAULT) e.KAUDIT_TEST_FAULT = env.KAUDIT_TEST_FAULT;
  const r = spawnSync(process.execPath, ['bin/audit.js', ...args], { env: e, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The internal-error message: "internal error", the command, the component, the position, the report request. */
function expectInternal(r: Run, command: string, component: RegExp, where?: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const first = r.stderr.split('\n').find((l) => l.includes('internal error')) ?? '';
  expect(first).toMatch(new RegExp(`^audit: internal error in \`audit ${command}\` \\(component: ${component.source}`));
  if (where) expect(first).toMatch(where);
  expect(r.stderr).toMatch(/this is a bug in kaudit, not a problem with the input/);
  expect(r.stderr).toMatch(new RegExp(`please report it with the exact command you ran: audit ${command} `));
  expect(r.stderr).not.toMatch(/input ended early|out of memory|reading again in one thread/);
}

const MINI = 'fixtures/mini/mini.jsonl';

describe('KAUDIT_TEST_FAULT', () => {
  it('is parsed as COMPONENT:N, null when unset, and a usage error when malformed', () => {
    expect(testFault({})).toBeNull();
    expect(testFault({ KAUDIT_TEST_FAULT: '' })).toBeNull();
    expect(testFault({ KAUDIT_TEST_FAULT: 'rule:7' })).toEqual({ component: 'rule', n: 7 });
    expect(() => testFault({ KAUDIT_TEST_FAULT: 'reducer' })).toThrow(/is not COMPONENT:N/);
    expect(() => testFault({ KAUDIT_TEST_FAULT: 'disk:1' })).toThrow(/is not COMPONENT:N/);
    // Nothing is installed unless the variable names that component.
    expect(faultCounter('reducer', {})).toBeNull();
    expect(faultCounter('reducer', { KAUDIT_TEST_FAULT: 'rule:1' })).toBeNull();
    const f = faultCounter('reducer', { KAUDIT_TEST_FAULT: 'reducer:2' })!;
    f();
    expect(() => f()).toThrow(/injected fault \(KAUDIT_TEST_FAULT=reducer:2\)/);
    const bad = audit(['summary', MINI], { KAUDIT_TEST_FAULT: 'reducer:x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/audit: error: KAUDIT_TEST_FAULT: "reducer:x" is not COMPONENT:N/);
  });
});

describe('an exception in kaudit is an internal error: exit 2, the message, no report', () => {
  it('a reducer that throws at the 3rd record', () => {
    for (const out of ['table', 'json', 'markdown']) {
      const r = audit(['summary', MINI, '-o', out], { KAUDIT_TEST_FAULT: 'reducer:3' });
      // mini.jsonl's first two lines are the stages of one request: the 3rd record is read at line 5.
      expectInternal(r, 'summary', /reducer/, /at fixtures\/mini\/mini\.jsonl:5\)/);
      expect(r.stdout).toBe('');
    }
  });

  it('a renderer that throws', () => {
    for (const args of [['summary', MINI, '-o', 'table'], ['summary', MINI, '-o', 'json'], ['investigate', MINI, '-o', 'table'], ['drift', '--rbac', 'fixtures/drift/rbac.yaml', 'fixtures/drift/audit.log']]) {
      const r = audit(args, { KAUDIT_TEST_FAULT: 'renderer:1' });
      expectInternal(r, args[0]!, /renderer/);
      expect(r.stdout).toBe('');
    }
    // A record writer (export, investigate -o jsonl) that throws at its 2nd record prints nothing either.
    const e = audit(['export', MINI, '-o', 'jsonl'], { KAUDIT_TEST_FAULT: 'renderer:2' });
    expectInternal(e, 'export', /reducer/);
    expect(e.stdout).toBe('');
    expect(e.stderr).toMatch(/no result was written/);
  });

  it('a detection rule that throws on one record', () => {
    for (const out of ['json', 'sarif', 'table']) {
      const r = audit(['anomalies', MINI, '-o', out], { KAUDIT_TEST_FAULT: 'rule:4' });
      expectInternal(r, 'anomalies', /rule/, /at fixtures\/mini\/mini\.jsonl:\d+\)/);
      expect(r.stdout).toBe('');
    }
  });

  it('a worker thread that throws is the same internal error (no fallback to one thread, no out-of-memory note)', () => {
    const dir = tmpDir();
    const log = join(dir, 'big.log');
    writeFileSync(log, jsonl(Array.from({ length: 4000 }, (_, i) => event({ auditID: `w-${i}`, requestObject: { pad: 'p'.repeat(100) } }))));
    const env = { KAUDIT_MIN_RANGE_BYTES: String(96 << 10) };
    const ok = audit(['summary', log, '-o', 'json', '--jobs', '2'], env);
    expect(ok.code).toBe(0);
    for (const cmd of [['summary', '-o', 'json'], ['rbac-gen'], ['baseline']]) {
      // Two workers (KAUDIT_PARALLEL_MAIN=0), or the main thread and a worker (the default: the
      // main thread reads the first range, whose fault comes first in input order).
      for (const [main, component] of [
        ['0', /reducer \(in a worker thread\)/],
        ['1', /reducer \(in a task of --jobs on the main thread\)/],
      ] as const) {
        const r = audit([cmd[0]!, log, ...cmd.slice(1), '--jobs', '2'], { ...env, KAUDIT_PARALLEL_MAIN: main, KAUDIT_TEST_FAULT: 'worker:50' });
        expectInternal(r, cmd[0]!, component, /at \S*big\.log/);
        expect(r.stdout).toBe('');
      }
    }
    // The same fault in one thread is not triggered: the hook names worker threads only.
    expect(audit(['summary', log, '-o', 'json', '--jobs', '1'], { ...env, KAUDIT_TEST_FAULT: 'worker:50' }).code).toBe(0);
  });

  it('no report file is written or replaced', () => {
    const dir = tmpDir();
    const old = join(dir, 'report.html');
    writeFileSync(old, 'the previous report\n');
    const c = audit(['compliance', '--rbac', 'fixtures/sample-rbac', MINI, '--out', old], { KAUDIT_TEST_FAULT: 'reducer:2' });
    expectInternal(c, 'compliance', /reducer/);
    expect(readFileSync(old, 'utf8')).toBe('the previous report\n');
    const md = join(dir, 'report.md');
    writeFileSync(md, 'previous\n');
    const c2 = audit(['compliance', '--rbac', 'fixtures/sample-rbac', MINI, '-o', 'markdown', '--out', md], { KAUDIT_TEST_FAULT: 'renderer:1' });
    expectInternal(c2, 'compliance', /renderer/);
    expect(readFileSync(md, 'utf8')).toBe('previous\n');
    const base = join(dir, 'baseline.json');
    expectInternal(audit(['baseline', MINI, '--out', base], { KAUDIT_TEST_FAULT: 'reducer:1' }), 'baseline', /reducer/);
    expect(existsSync(base)).toBe(false);
    const out = join(dir, 'rbac');
    expectInternal(audit(['rbac-gen', MINI, '--out-dir', out], { KAUDIT_TEST_FAULT: 'reducer:4' }), 'rbac-gen', /reducer/);
    expect(existsSync(out)).toBe(false);
    // No temporary file is left behind either.
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.md']);
  });
});

describe('input errors keep their counting; an internal error on the same input is still an internal error', () => {
  const body = jsonl(Array.from({ length: 3000 }, (_, i) => event({ auditID: `t-${i}` })));
  const gz = gzipSync(body);
  const dir = writeFiles(tmpDir(), { 'cut.log.gz': gz.subarray(0, Math.floor(gz.length * 0.6)) });
  const cut = join(dir, 'cut.log.gz');

  it('a truncated gzip is counted and the run goes on: exit 0, and every format says the input was not read to its end', () => {
    const r = audit(['summary', cut, '-o', 'json']);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout).input;
    expect(a.events).toBeGreaterThan(1000);
    expect(a.rejected).toBe(1);
    expect(a.complete).toBe(false);
    expect(a.files[0]).toMatchObject({ complete: false, incomplete: 'truncated gzip member' });
    expect(r.stderr).toMatch(/warning: not every input was read to its end: \S+cut\.log\.gz \(truncated gzip member\); the results are partial/);
    expect(audit(['summary', cut]).stdout).toMatch(/│ read to the end +│ no: \S+cut\.log\.gz \(truncated gzip member\)/);
    expect(audit(['summary', cut, '-o', 'markdown']).stdout).toMatch(/\| read to the end \| no: \S+cut\.log\.gz \(truncated gzip member\) \|/);
    expect(audit(['export', cut, '-o', 'jsonl']).stderr).toMatch(/read to the end: no/);
    expect(audit(['summary', cut, '--strict']).code).toBe(2);
  });

  it('SARIF says executionSuccessful: false, JUnit fails a case, tables say no', () => {
    const drift = (o: string) => audit(['drift', '--rbac', 'fixtures/drift/rbac.yaml', 'fixtures/drift/audit.log', cut, '-o', o, '-q']);
    const sarif = JSON.parse(drift('sarif').stdout);
    expect(sarif.runs[0].invocations).toEqual([{ executionSuccessful: false, toolExecutionNotifications: [{ level: 'error', message: { text: `${cut} was not read to its end: truncated gzip member` } }] }]);
    expect(drift('junit').stdout).toMatch(/<testcase classname="kaudit.input" name="every input read to its end">\s*<failure message="not every input was read to its end; the results are partial">/);
    expect(drift('table').stdout).toMatch(/read to the end +│ no: /);
    const anom = JSON.parse(audit(['anomalies', cut, '-o', 'sarif', '-q']).stdout);
    expect(anom.runs[0].invocations[0].executionSuccessful).toBe(false);
    const whole = JSON.parse(audit(['anomalies', MINI, '-o', 'sarif', '-q']).stdout);
    expect(whole.runs[0].invocations).toEqual([{ executionSuccessful: true }]);
    expect(audit(['compliance', '--rbac', 'fixtures/sample-rbac', cut, '-o', 'markdown', '-q']).stdout).toMatch(/\| no: truncated gzip member \|/);
  });

  it('a throwing reducer on the same file is an internal error, not "input ended early"', () => {
    const r = audit(['summary', cut, '-o', 'json'], { KAUDIT_TEST_FAULT: 'reducer:100' });
    expectInternal(r, 'summary', /reducer/, /at \S+cut\.log\.gz:\d+\)/);
    expect(r.stdout).toBe('');
  });
});

describe('readers never take an exception of the sink for a defect of the input', () => {
  const inputs: [string, string | Buffer][] = [
    ['lines.jsonl', jsonl([event({ auditID: 'a' }), event({ auditID: 'b' })])],
    ['lines.jsonl.gz', gzipSync(jsonl([event({ auditID: 'a' }), event({ auditID: 'b' })]))],
    ['doc.json', JSON.stringify({ kind: 'EventList', items: [event({ auditID: 'a' }), event({ auditID: 'b' })] }, null, 2)],
    ['line-wrapper.jsonl', JSON.stringify({ kind: 'EventList', items: [event({ auditID: 'a' }), event({ auditID: 'b' })] }) + 'x\n'],
    ['export.csv', '@timestamp,@message\n2026-03-02 10:00:00.000,"' + JSON.stringify(event({ auditID: 'a' })).replace(/"/g, '""') + '"\n'],
    ['events.yaml', 'kind: Event\nverb: get\nrequestURI: /api\nuser:\n  username: alice\n'],
  ];
  it.each(inputs)('%s: the exception propagates, unchanged', async (name, content) => {
    const dir = tmpDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
    const bug = new TypeError('a bug downstream');
    const rejects: string[] = [];
    const sink = { value: () => { throw bug; }, reject: (_l: unknown, reason: string) => void rejects.push(reason) };
    await expect(readSource({ path: join(dir, name), cluster: '', size: 0 }, sink)).rejects.toBe(bug);
    expect(rejects).toEqual([]);
    // --strict's StrictError passes through the same way.
    const strict = new StrictError('x:1: bad');
    const sink2 = { value: () => {}, reject: () => { throw strict; } };
    writeFileSync(join(dir, 'bad.jsonl'), '{"broken"\n');
    await expect(readSource({ path: join(dir, 'bad.jsonl'), cluster: '', size: 0 }, sink2)).rejects.toBe(strict);
  });
});
