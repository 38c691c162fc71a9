// The `audit follow` command: usage errors that name the flag and the fix, the stdout default,
// SIGHUP reopening a file sink, a size-rotated file sink, the state lock and a damaged state file,
// and the pieces of the retry policy.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, renameSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers.js';
import { append, range, readJson, ROOT, sameSetOnce, startCli, startFollow, tmp, waitFor } from './helpers.js';
import { backoffMs, parseRetryAfter, MAX_RETRY_AFTER_MS } from '../../src/follow/retry.js';
import { FileSink } from '../../src/follow/sinks/file.js';
import { deadLetterName } from '../../src/follow/deadletter.js';
import type { Item } from '../../src/follow/types.js';

describe('audit follow: usage', () => {
  it.each([
    [['follow'], /missing required argument 'paths'/],
    [['follow', 'a.log', '--records'], /--records only makes sense with --findings/],
    [['follow', 'a.log', '--key', 'k.pem'], /--key without --cert/],
    [['follow', 'a.log', '--batch-wait', 'soon'], /--batch-wait: "soon" is not a duration/],
    [['follow', 'a.log', '--to', 'splunk-hec://h:8088'], /KAUDIT_HEC_TOKEN is not set[\s\S]*fix: export KAUDIT_HEC_TOKEN/],
    [['follow', 'a.log', '--to', 'stdout', '--to', 'stdout'], /the same sink twice/],
    [['follow', 'a.log', '--ca', '/nonexistent/ca.pem'], /--ca: cannot read \/nonexistent\/ca.pem/],
    [['follow', '.', '--to', 'stdout'], /is a directory[\s\S]*follow the log file itself/],
    [['follow', 'a.log', '--denied-burst', 'many'], /--denied-burst: "many" is not N\/MINUTES/],
    [['follow', 'a.log', '--rules', 'fixtures/rules/acme.yaml'], /choose the rules of --findings[\s\S]*fix: add --findings/],
    [['follow', 'a.log', '--findings', '--rules', 'no/such/rules.yaml'], /--rules: cannot read no\/such\/rules.yaml/],
  ])('%j is a usage error (exit 2)', async (argv, msg) => {
    const r = await runCli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it('nothing kaudit writes may be the followed log (--status-file, --state, a file sink; by path or through a link)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 3);
    const before = readFileSync(log, 'utf8');
    symlinkSync(log, join(dir, 'link.log'));
    for (const extra of [['--status-file', log], ['--state', join(dir, 'link.log')], ['--to', `file:${log}?max-size=1M`], ['--raw', '--to', `file:${log}`]]) {
      const r = await runCli(['follow', log, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/is the followed log .*audit\.log; writing it would destroy the input/);
    }
    expect(readFileSync(log, 'utf8')).toBe(before);
  });

  it('a damaged state file is an input error, never silently replaced', async () => {
    const dir = tmp();
    const state = join(dir, 'state.json');
    writeFileSync(state, '{"kind":"something else"}');
    const r = await runCli(['follow', join(dir, 'audit.log'), '--state', state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a kaudit follow state file/);
    expect(readFileSync(state, 'utf8')).toBe('{"kind":"something else"}');
  });

  it('two followers cannot share a state file', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 1);
    const state = join(dir, 'state.json');
    const a = startCli([log, '--state', state, '--to', `file:${join(dir, 'out.jsonl')}`, '--poll-interval', '50ms']);
    await waitFor(() => existsSync(`${state}.lock`) && existsSync(join(dir, 'out.jsonl')), 'the first follower running');
    const r = await runCli(['follow', log, '--state', state]);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`is in use by process ${a.child.pid}`));
    expect(existsSync(`${state}.lock`)).toBe(false);
  });
});

describe('audit follow: the process', () => {
  it('writes JSON lines to stdout by default; SIGINT flushes and exits 0 with a summary', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 3);
    const cli = startCli([log, '--poll-interval', '50ms']);
    await waitFor(() => cli.stdout().split('\n').filter(Boolean).length === 3, '3 lines on stdout');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(cli.stdout().trim().split('\n').map((l) => JSON.parse(l).auditID)).toEqual(range(0, 3));
    expect(cli.stderr()).toMatch(/audit follow: stopped\. read 3 lines: 3 events \(3 requests\), 0 rejected; 3 handed to the sinks, 0 skipped by filters\. stdout: 3 delivered, 0 retried, 0 dead-lettered, 0 dropped/);
  });

  it('--findings runs the rule engine live, with the user\'s rule files, and reports the rules in the status', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const status = join(dir, 'status.json');
    append(log, 0, 10);
    const cli = startCli([log, '--findings', '--rules', join(ROOT, 'fixtures/rules/acme.yaml'), '--only-rules', 'ACME-*', '--status-file', status, '--status-interval', '100ms', '--poll-interval', '50ms', '-q']);
    await waitFor(() => cli.stdout().split('\n').filter(Boolean).length === 2 && readJson(status)?.input?.requests === 10, 'two findings');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const findings = cli.stdout().trim().split('\n').map((l) => JSON.parse(l));
    // Requests 0 and 5 are the CI deployer's, from 10.0.3.17: outside the CI network of the rule file.
    expect(findings.map((f) => f.auditIDs[0])).toEqual([range(0, 1)[0], range(5, 1)[0]]);
    expect(findings[0]).toMatchObject({ rule: 'ACME-CI-OUTSIDE-CI', kind: 'detection', severity: 'critical', technique: ['T1550.001'], source: 'file', subject: 'system:serviceaccount:ci:deployer', count: 1, location: { file: log, line: 1, unit: 'line' } });
    expect(readJson(status).rules).toMatchObject({ count: 3, bySource: { builtin: 0, file: 3, sigma: 0 } });
  });

  it('SIGHUP reopens a file sink that was moved away (external rotation of the output)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const out = join(dir, 'out.jsonl');
    append(log, 0, 5);
    const cli = startCli([log, '--to', `file:${out}`, '--poll-interval', '50ms']);
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').filter(Boolean).length === 5, '5 lines in out.jsonl');
    renameSync(out, `${out}.old`);
    cli.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: files and sinks reopened/.test(cli.stderr()), 'the reopen note');
    append(log, 5, 4);
    await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').split('\n').filter(Boolean).length === 4, '4 lines in the new out.jsonl');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const ids = (f: string): string[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).auditID);
    expect(ids(`${out}.old`)).toEqual(range(0, 5));
    expect(ids(out)).toEqual(range(5, 4));
  });

  it('a file sink rotates by size, logrotate-style, keeping N files', async () => {
    const dir = tmp();
    const out = join(dir, 'k.jsonl');
    const sink = new FileSink({ path: out, maxBytes: 1000, keep: 2 });
    const item = (n: number): Item => ({ kind: 'record', id: '', time: '', timeMs: NaN, json: JSON.stringify({ n, pad: 'x'.repeat(300) }), severity: 6 });
    for (let n = 0; n < 12; n++) await sink.send([item(n)]);
    await sink.close();
    expect(readdirSync(dir).sort()).toEqual(['k.jsonl', 'k.jsonl.1', 'k.jsonl.2']);
    const ns = (f: string): number[] => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l).n);
    expect([...ns('k.jsonl.2'), ...ns('k.jsonl.1'), ...ns('k.jsonl')]).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(readFileSync(join(dir, 'k.jsonl'), 'utf8').length).toBeLessThanOrEqual(1000);
  });

  it('the status file carries per-file offsets and lag, and per-sink counters with dropped = 0', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const status = join(dir, 'status.json');
    append(log, 0, 20);
    const f = startFollow([log], { statusPath: status });
    await waitFor(() => readJson(status)?.sinks?.[0]?.delivered === 20, 'status with 20 delivered');
    await f.stop();
    const st = readJson(status);
    expect(st).toMatchObject({ kind: 'kaudit.follow.status', version: 1, input: { lines: 20, requests: 20, gaps: 0 }, buffered: { items: 0 } });
    expect(st.files[0]).toMatchObject({ path: log, offset: st.files[0].size, lagBytes: 0, lagSeconds: 0, rotated: false });
    expect(st.sinks[0]).toMatchObject({ name: 'memory://test', delivered: 20, retried: 0, deadLettered: 0, dropped: 0 });
    expect(sameSetOnce(f.sink.ids(), range(0, 20))).toBeNull();
  });
});

describe('status line and dead letters', () => {
  it('draws one status line on a terminal: files, requests, lag, each sink', async () => {
    const { statusLine } = await import('../../src/follow/status.js');
    const st = {
      files: [{ lagBytes: 2048, lagSeconds: 1.5 }, { lagBytes: 0, lagSeconds: 0 }],
      input: { requests: 1234, gaps: 0 },
      sinks: [{ name: 'elasticsearch://es:9200/a', retryingSince: null, delivered: 1200, deadLettered: 2 }, { name: 'syslog+tls://siem:6514', retryingSince: '2026-01-01T00:00:00Z', delivered: 900, deadLettered: 0 }],
    } as never;
    expect(statusLine(st, 200)).toBe('follow: 2 files, 1234 requests, lag 2.0 KiB / 1.5 s | elasticsearch://es:9200/a ok 1200 (2 dead-lettered), syslog+tls://siem:6514 RETRYING 900');
    expect(statusLine(st, 40)).toHaveLength(39);
  });

  it('an item refused for good whose dead-letter file cannot be written is not done: it is sent again, never dropped', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 3);
    writeFileSync(join(dir, 'not-a-dir'), '');
    const { MemorySink } = await import('./helpers.js');
    const sink = new MemorySink();
    sink.fail = (items) => ({ results: items.map((it) => (JSON.parse(it.json).auditID === range(1, 1)[0] ? { rejected: '400 bad' } : 'ok')) });
    const status = join(dir, 'status.json');
    const f = startFollow([log], { deadLetterDir: join(dir, 'not-a-dir', 'sub'), statusPath: status, shutdownTimeoutMs: 100 }, sink);
    await waitFor(() => (readJson(status)?.sinks?.[0]?.retried ?? 0) >= 2, 'two attempts at the refused item');
    const r = await f.stop();
    expect(r.status.sinks[0]).toMatchObject({ delivered: 2, deadLettered: 0, dropped: 0 });
    expect(r.status.sinks[0]!.lastError).toMatch(/cannot write the dead-letter file/);
    expect(r.drained).toBe(false);
  });
});

describe('retries', () => {
  it('backs off exponentially with equal jitter, capped', () => {
    const p = { initialMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffMs(p, a, 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffMs(p, a, 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('reads Retry-After as seconds or an HTTP-date (RFC 9110 §10.2.3), capped at 15 minutes', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(['0'], now)).toBe(0);
    expect(parseRetryAfter('Mon, 02 Mar 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 02 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('names dead-letter files safely from sink names', () => {
    expect(deadLetterName('elasticsearch://es:9200/k8s-%Y.%m.%d')).toBe('dead-letter.elasticsearch_es_9200_k8s-_Y._m._d.jsonl');
    expect(deadLetterName('../../etc/passwd')).toBe('dead-letter.etc_passwd.jsonl');
  });
});
