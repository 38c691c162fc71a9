// Empty results explain themselves when the log can tell: the log's window for --since/--until,
// close names for --user/-n/…, unknown resources, impersonation left out by --user. And the notes
// never claim more than the records read show (the pre-filter skips lines unread).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { FilterHints } from '../../src/filter/hints.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { emptyAccounting } from '../../src/pipeline.js';
import type { AuditRecord } from '../../src/types.js';

const notes = (stderr: string): string[] => stderr.split('\n').filter((l) => /^(note|warning): /.test(l));

describe('hints on the bundled sample', () => {
  it.each<[string, string[], RegExp[]]>([
    [
      '--since after the log: the log window',
      ['--since', '2026-04-01'],
      [/^note: --since 2026-04-01 \(2026-04-01T00:00:00\.000Z\): it starts after the last request; the logs span 2026-03-02T00:00:34\.294Z → 2026-03-03T23:57:39\.929Z$/],
    ],
    [
      '--until before the log',
      ['--until', '2026-03-01T12:00:00Z'],
      [/^note: --until 2026-03-01T12:00:00Z \(2026-03-01T12:00:00\.000Z\): it ends before the first request; the logs span 2026-03-02T00:00:34\.294Z → /],
    ],
    ['a window inside the log with no request in it', ['--since', '2026-03-02T00:00:34.295Z', '--until', '2026-03-02T00:00:34.296Z'], [/no request falls in the window asked for; the logs span/]],
    ['--user with no exact match: close names', ['--user', 'alice'], [/^note: --user: no subject "alice" in these logs; close names seen: "alice@example\.com"$/]],
    ['--user with a typo (every line read)', ['--user', 'alcie@example.com', '--no-prefilter'], [/close names seen: "alice@example\.com"/]],
    ['--user in another case (every line read)', ['--user', 'Bob@Example.com', '--no-prefilter'], [/close names seen: "bob@example\.com"/]],
    // The pre-filter skips every line without the typed text unread: no close name can be known, and the note says so.
    ['--user with a typo, pre-filtered: says why no close names are given', ['--user', 'alcie@example.com'], [/^note: --user: no subject "alcie@example\.com" in these logs; lines without that text were skipped unread, so no close names are known \(--no-prefilter reads every line and lists them\)$/]],
    ['--namespace prod', ['-n', 'prod'], [/^note: --namespace: no namespace "prod" in these logs; close namespaces seen: "production"/]],
    ['--impersonator bob', ['--impersonator', 'bob'], [/^note: --impersonator: no impersonator "bob" in these logs/]],
    ['a glob that matches nothing', ['--user', 'nobody*'], [/^note: --user: no subject matches "nobody\*" in these logs$/]],
    ['--serviceaccount with a typo: named as typed, with the close names (every line read)', ['--serviceaccount', 'ci:deploer', '--no-prefilter'], [/^note: --serviceaccount ci:deploer: no subject "system:serviceaccount:ci:deploer" in these logs; close names seen: "system:serviceaccount:ci:deployer"(, "[^"]+")*$/]],
  ])('%s', async (_n, args, want) => {
    const r = await runCli(['investigate', 'fixtures/sample', ...args]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 matching requests.');
    const got = notes(r.stderr);
    for (const w of want) expect(got.some((l) => w.test(l))).toBe(true);
  });

  it('a resource kaudit does not know and the log does not hold is a warning with a suggestion, even when other values match', async () => {
    const r = await runCli(['summary', 'fixtures/sample', '--resource', 'pods,crb,deploymnets', '-o', 'json']);
    expect(JSON.parse(r.stdout).requests).toBeGreaterThan(0);
    expect(notes(r.stderr)).toEqual([
      'warning: --resource: no resource "crb" in these logs; did you mean "clusterrolebindings"?',
      'warning: --resource: no resource "deploymnets" in these logs; did you mean "deployments"?',
    ]);
  });

  it('the impersonation note counts only what --actor would add under the other filters (it counted all of them)', async () => {
    const since = ['--since', '2026-03-03T06:00:00Z'];
    const r = await runCli(['export', 'fixtures/sample', '--user', 'alice@example.com', ...since, '-o', 'csv']);
    expect(notes(r.stderr).filter((l) => l.includes('impersonating'))).toEqual([expect.stringContaining('also made 1 request while impersonating someone')]);
    const user = r.stdout.trim().split('\n').length - 1;
    const actor = (await runCli(['export', 'fixtures/sample', '--actor', 'alice@example.com', ...since, '-o', 'csv', '-q'])).stdout.trim().split('\n').length - 1;
    expect(actor).toBe(user + 1);
    const denied = await runCli(['export', 'fixtures/sample', '--user', 'alice@example.com', '--status', '403', '-o', 'csv']);
    expect(denied.stderr).not.toMatch(/impersonating/);
  });

  it('several flags pre-filtered and nothing matched: one note says which filter left the requests out is not known, no flag is blamed', async () => {
    const r = await runCli(['investigate', 'fixtures/sample/audit.log', '-n', 'kube-system', '--name', 'nosuch']);
    const got = notes(r.stderr);
    expect(got).toEqual([expect.stringMatching(/^note: no request matched; \d+ lines without the text of one of --namespace, --name were skipped unread, so which filter left the requests out is not known \(--no-prefilter reads every line and says which\)$/)]);
  });

  it('--user says how many requests it leaves out because the user made them while impersonating someone', async () => {
    const r = await runCli(['export', 'fixtures/sample', '--user', 'alice@example.com', '-o', 'csv']);
    expect(notes(r.stderr)).toContain('note: --user matches the subject only: alice@example.com also made 2 requests while impersonating someone, left out here; --actor alice@example.com includes them, --impersonator alice@example.com selects only them');
    const imp = await runCli(['export', 'fixtures/sample', '--impersonator', 'alice@example.com', '-o', 'csv', '-q', '--fields', 'subject,impersonator']);
    expect(imp.stdout.trim().split('\n').slice(1)).toEqual(['system:serviceaccount:apps:reporter,alice@example.com', 'system:serviceaccount:apps:reporter,alice@example.com']);
    const user = (await runCli(['export', 'fixtures/sample', '--user', 'alice@example.com', '-o', 'csv', '-q'])).stdout.trim().split('\n').length - 1;
    const actor = (await runCli(['export', 'fixtures/sample', '--actor', 'alice@example.com', '-o', 'csv', '-q'])).stdout.trim().split('\n').length - 1;
    expect(actor).toBe(user + 2);
  });

  it('is silent when the filters match, and with -q', async () => {
    expect(notes((await runCli(['investigate', 'fixtures/sample', '--user', 'carol@example.com'])).stderr)).toEqual([]);
    expect((await runCli(['investigate', 'fixtures/sample', '--user', 'alice', '-q'])).stderr).toBe('');
  });
});

describe('what the notes may claim under the pre-filter', () => {
  const dir = writeFiles(tmpDir(), {
    'a.log': jsonl([
      event({ auditID: 'a1', user: { username: 'alice@example.com', groups: [] }, verb: 'get', requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:00:00.001000Z' }),
      event({ auditID: 'a2', user: { username: 'bob@example.com', groups: [] }, verb: 'delete', objectRef: { resource: 'pods', namespace: 'p', name: 'x', apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-02T11:00:00.000000Z', stageTimestamp: '2026-03-02T11:00:00.001000Z' }),
    ]),
  });
  const log = join(dir, 'a.log');

  it('alice exists but never deleted: not "no subject in these logs", since her lines were not read', async () => {
    // The pre-filter looked for alice@example.com and delete: alice's line (a get) was skipped unread.
    const r = await runCli(['investigate', log, '--user', 'alice@example.com', '--verb', 'delete']);
    expect(r.stderr).toMatch(/2 skipped unparsed by the pre-filter/);
    const got = notes(r.stderr);
    // Which of the two left her requests out cannot be known from what was read: no flag is blamed.
    expect(got.join('\n')).toMatch(/no request matched; \d+ lines? without the text of one of --user, --verb (was|were) skipped unread/);
    expect(got.join('\n')).not.toMatch(/in these logs|no subject/);
    // Without the pre-filter every line is read, and the note says so.
    const full = await runCli(['investigate', log, '--user', 'carol', '--verb', 'delete', '--no-prefilter']);
    expect(notes(full.stderr)).toContain('note: --user: no subject "carol" in these logs');
  });

  it('the window: the log\'s own when nothing was skipped, else that of the requests read', async () => {
    const all = await runCli(['investigate', log, '--since', '2026-03-03']);
    expect(notes(all.stderr)[0]).toMatch(/the logs span 2026-03-02T10:00:00\.000Z → 2026-03-02T11:00:00\.000Z$/);
    const some = await runCli(['investigate', log, '--since', '2026-03-03', '--user', 'bob@example.com']);
    expect(notes(some.stderr)[0]).toMatch(/the requests that could match --user span 2026-03-02T11:00:00\.000Z → 2026-03-02T11:00:00\.000Z$/);
  });
});

describe('FilterHints', () => {
  const rec = (over: Record<string, unknown>): AuditRecord => {
    const r = normalizeValue(event(over), '');
    if (typeof r === 'string') throw new Error(r);
    return r;
  };

  it('keeps a bounded number of close names, the closest first', () => {
    const h = new FilterHints({ user: ['alice'] }, 0);
    for (let i = 0; i < 10_000; i++) h.observe(rec({ user: { username: `user-${i}`, groups: [] } }));
    for (const u of ['alice@example.com', 'Alice', 'alicia', 'malice@x', 'system:serviceaccount:ns:alice']) h.observe(rec({ user: { username: u, groups: [] } }));
    const acc = { ...emptyAccounting(), requests: 10_005, skipped: 10_005 };
    const [n] = h.hints({ accounting: acc, prefilterFlags: [] });
    expect(n!.text).toBe('--user: no subject "alice" in these logs; close names seen: "Alice", "alice@example.com", "system:serviceaccount:ns:alice", "malice@x", "alicia"');
  });

  it('says nothing about a flag whose values matched', () => {
    const h = new FilterHints({ user: ['bob'], since: '2026-03-05' }, 0);
    h.observe(rec({ user: { username: 'bob', groups: [] } }));
    const notes = h.hints({ accounting: { ...emptyAccounting(), requests: 1, skipped: 1 }, prefilterFlags: [] });
    expect(notes.map((n) => n.text.split(':')[0])).toEqual(['--since 2026-03-05 (2026-03-05T00']);
  });
});
