// The waiting window of stage collapsing (issue 15): waiting requests hold no bodies unless the
// command reads bodies of requests that never complete; the window's limit and what it let go are
// reported; requests that never completed are counted apart and stay out of every latency figure.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { StageCollapser, isCompleted } from '../../src/normalize/collapse.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { AuditRecord } from '../../src/types.js';
import { collect, event, jsonl, runCli, tmpDir, writeFiles } from '../helpers.js';
import { NO_BODIES } from '../../src/normalize/bodies.js';

const body = { kind: 'Pod', spec: { containers: [{ name: 'x', image: 'y'.repeat(8000) }] } };

function rec(auditID: string, stage: string, withBody = false): AuditRecord {
  const r = normalizeValue(event({ auditID, stage, level: 'Request', verb: 'create', responseStatus: stage === 'RequestReceived' ? undefined : { code: 201 }, ...(withBody ? { requestObject: body } : {}) }), '');
  if (typeof r === 'string') throw new Error(r);
  return r;
}

/** A RequestReceived-only log: n requests that never completed (a policy that omits later stages). */
function receivedOnly(n: number): string {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = new Date(Date.parse('2026-03-02T10:00:00Z') + i * 3000).toISOString();
    out.push(event({ auditID: `rr-${i}`, stage: 'RequestReceived', verb: 'get', requestURI: '/api/v1/namespaces/default/pods/web-0', objectRef: { resource: 'pods', namespace: 'default', name: 'web-0', apiVersion: 'v1' }, responseStatus: undefined, requestReceivedTimestamp: t, stageTimestamp: t }));
  }
  return jsonl(out);
}

describe('the waiting window', () => {
  it('drops the bodies of waiting stages; the completing stage brings its own', () => {
    const out: AuditRecord[] = [];
    const c = new StageCollapser((r) => out.push(r), { maxPending: 1, maxDone: 10 });
    c.add(rec('a', 'RequestReceived', true));
    c.add(rec('b', 'RequestReceived', true)); // the window holds one: a is let go, without its body
    c.add(rec('b', 'ResponseComplete', true));
    c.flush();
    expect(out.map((r) => `${r.auditID}:${r.stage}:${r.requestObject === undefined ? 'no body' : 'body'}`)).toEqual(['a:RequestReceived:no body', 'b:ResponseComplete:body']);
    expect(c.evicted).toBe(1);
    expect(c.peak).toBe(2);
  });

  it('keeps them when asked (detections judge requests that never complete)', () => {
    const out: AuditRecord[] = [];
    const c = new StageCollapser((r) => out.push(r), { maxPending: 10, maxDone: 10, keepWaitingBodies: true });
    c.add(rec('a', 'RequestReceived', true));
    c.flush();
    expect(out[0]!.requestObject).toEqual(body);
  });

  it('counts requests that never completed, and what the full window let go, in the accounting', async () => {
    const dir = writeFiles(tmpDir(), { 'rr.log': receivedOnly(30) });
    const { acc, records } = await collect([join(dir, 'rr.log')], { collapse: { maxPending: 10, maxDone: 100 } });
    expect(records.length).toBe(30);
    expect(records.every((r) => !isCompleted(r))).toBe(true);
    expect(acc.notCompleted).toBe(30);
    expect(acc.window).toEqual({ limit: 10, evicted: 20 });
  });

  it('drops bodies as events are read when the command reads none', async () => {
    const dir = writeFiles(tmpDir(), { 'b.log': jsonl([event({ level: 'Request', requestObject: body })]) });
    expect((await collect([join(dir, 'b.log')])).records[0]!.requestObject).toEqual(body);
    expect((await collect([join(dir, 'b.log')], { bodies: NO_BODIES })).records[0]!.requestObject).toBeUndefined();
  });
});

describe('requests that never completed stay out of latency figures', () => {
  const dir = writeFiles(tmpDir(), {
    'rr.log': receivedOnly(5),
    'mixed.log': jsonl([
      event({ auditID: 'done', verb: 'get', requestReceivedTimestamp: '2026-03-02T10:00:00.000000Z', stageTimestamp: '2026-03-02T10:00:00.250000Z' }),
      event({ auditID: 'open', verb: 'get', stage: 'RequestReceived', responseStatus: undefined, requestReceivedTimestamp: '2026-03-02T11:00:00.000000Z', stageTimestamp: '2026-03-02T11:00:00.000000Z' }),
    ]),
  });

  it('summary: no 0 ms latencies, and the count apart', async () => {
    const rr = JSON.parse((await runCli(['summary', join(dir, 'rr.log'), '-o', 'json', '-q'])).stdout);
    expect(rr.latency.overall).toMatchObject({ count: 0, p50: null });
    expect(rr.latency.byVerb).toEqual([]);
    expect(rr.input.notCompleted).toBe(5);
    const mixed = JSON.parse((await runCli(['summary', join(dir, 'mixed.log'), '-o', 'json', '-q'])).stdout);
    expect(mixed.latency.overall).toMatchObject({ count: 1, p50: 250 });
    const table = await runCli(['summary', join(dir, 'mixed.log'), '-q']);
    expect(table.stdout).toMatch(/not completed +│ 1 \(no completing stage in the log: latency unknown, left out of latency figures\)/);
  });

  it('investigate says "not completed" instead of a duration', async () => {
    const r = await runCli(['investigate', join(dir, 'mixed.log'), '-q']);
    expect(r.stdout).toMatch(/250 ms/);
    expect(r.stdout).toMatch(/not completed/);
    expect(r.stdout).not.toMatch(/ 0 ms/);
  });

  it('commands: a command whose calls never completed has no duration and is left out of the latency table', async () => {
    const j = JSON.parse((await runCli(['commands', join(dir, 'rr.log'), '-o', 'json', '-q'])).stdout);
    expect(j.commands.length).toBe(5);
    for (const c of j.commands) expect(c).toMatchObject({ durationMs: null, notCompletedCalls: 1 });
    expect(j.summary.latency).toEqual([]);
    const t = await runCli(['commands', join(dir, 'rr.log'), '-q']);
    expect(t.stdout).toMatch(/not completed/);
    expect(t.stdout).not.toMatch(/Latency per command type/);
  });
});
