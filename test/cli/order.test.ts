// investigate and export print in time order (requestReceivedTimestamp), not in the order the
// API server completed and logged the requests. The reorder window is bounded: what is logged
// later than it is printed where it came, and counted.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';

/** A request received at `at` (minutes after 10:00) and completed `tookMin` minutes later. */
function req(id: string, at: number, tookMin = 0, verb = 'get'): Record<string, unknown> {
  const t = (m: number): string => new Date(Date.parse('2026-03-02T10:00:00Z') + m * 60_000).toISOString().replace('Z', '000Z');
  return event({ auditID: id, verb, requestReceivedTimestamp: t(at), stageTimestamp: t(at + tookMin), requestURI: '/api/v1/namespaces/default/pods/x', objectRef: { resource: 'pods', namespace: 'default', name: id, apiVersion: 'v1' } });
}

// The log as the API server writes it: in completion order. The watch received at 10:00 ends (and is
// logged) at 10:06, after the gets of 10:01 … 10:05.
const log = [req('g1', 1), req('g2', 2), req('g3', 3), req('g4', 4), req('g5', 5), req('w0', 0, 6, 'watch'), req('g6', 7)];
const dir = writeFiles(tmpDir(), { 'audit.log': jsonl(log), 'late.log': jsonl([req('g1', 1), req('g2', 62), req('w0', 0, 63, 'watch'), req('g3', 64)]) });
const ids = (csv: string): string[] => csv.trim().split('\n').slice(1);

describe('time order', () => {
  it.each([
    ['export -o csv', ['export', join(dir, 'audit.log'), '-o', 'csv', '--fields', 'auditID', '-q']],
    ['investigate -o csv', ['investigate', join(dir, 'audit.log'), '-o', 'csv', '--fields', 'auditID', '-q']],
    ['investigate -o jsonl', ['investigate', join(dir, 'audit.log'), '-o', 'jsonl', '--fields', 'auditID', '-q']],
  ])('%s prints by requestReceivedTimestamp, not completion', async (_n, args) => {
    const r = await runCli(args);
    const got = args.includes('jsonl') ? r.stdout.trim().split('\n').map((l) => JSON.parse(l).auditID) : ids(r.stdout);
    expect(got).toEqual(['w0', 'g1', 'g2', 'g3', 'g4', 'g5', 'g6']);
  });

  it('the table shows the first requests in time (with --limit) and the same order', async () => {
    const r = await runCli(['investigate', join(dir, 'audit.log'), '--limit', '3', '--fields', 'auditID,time', '-q']);
    expect(r.stdout.match(/│ (w0|g\d) /g)!.map((m) => m.slice(2, -1))).toEqual(['w0', 'g1', 'g2']);
  });

  it('--order-window 0 keeps the order of the log', async () => {
    const r = await runCli(['export', join(dir, 'audit.log'), '-o', 'csv', '--fields', 'auditID', '--order-window', '0', '-q']);
    expect(ids(r.stdout)).toEqual(['g1', 'g2', 'g3', 'g4', 'g5', 'w0', 'g6']);
  });

  it('a request logged later than the window is printed where it came, and the note says so', async () => {
    const r = await runCli(['export', join(dir, 'late.log'), '-o', 'csv', '--fields', 'auditID']);
    expect(ids(r.stdout)).toEqual(['g1', 'w0', 'g2', 'g3']);
    expect(r.stderr).toMatch(/^note: 1 request was logged more than --order-window \(30m\) after later ones \(up to 60 s\) and printed where it came; a larger --order-window, or --sort time, puts them in place$/m);
    const wide = await runCli(['export', join(dir, 'late.log'), '-o', 'csv', '--fields', 'auditID', '--order-window', '2h']);
    expect(ids(wide.stdout)).toEqual(['w0', 'g1', 'g2', 'g3']);
    expect(wide.stderr).not.toMatch(/note:/);
    const sorted = await runCli(['investigate', join(dir, 'late.log'), '-o', 'csv', '--fields', 'auditID', '--sort', 'time', '-q']);
    expect(ids(sorted.stdout)).toEqual(['w0', 'g1', 'g2', 'g3']);
  });

  it('inputs given newest first are read oldest first', async () => {
    const d = writeFiles(tmpDir(), { 'day1.log': jsonl([req('a', 1), req('b', 2)]), 'day2.log': jsonl([req('c', 24 * 60), req('d', 24 * 60 + 1)]) });
    const r = await runCli(['export', join(d, 'day2.log'), join(d, 'day1.log'), '-o', 'csv', '--fields', 'auditID', '-q']);
    expect(ids(r.stdout)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects a window that is not a duration', async () => {
    const r = await runCli(['export', join(dir, 'audit.log'), '--order-window', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^audit: error: --order-window: "soon" is not a duration/);
  });
});
