// tail -F semantics of `audit follow`, in this process with a memory sink: appends, a partial last
// line, rotation by rename (old file finished first), truncation, copytruncate, a file that
// appears later, and restarts from a checkpoint (rotations while stopped, gzip, gaps, inode reuse,
// the stage-collapse window).
import { describe, it, expect } from 'vitest';
import { appendFileSync, renameSync, writeFileSync, truncateSync, readFileSync, unlinkSync, copyFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { append, auditEvent, followedOnce, idOf, lines, range, readJson, sameSetOnce, startFollow, tmp, waitFor, sleep, MemorySink } from './helpers.js';
import type { FollowState } from '../../src/follow/types.js';

describe('audit follow: tail -F', () => {
  it('forwards appends as normalized records, the same bytes audit export writes', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 5);
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 5, '5 records');
    append(log, 5, 20);
    await waitFor(() => f.sink.received.length === 25, '25 records');
    const r = await f.stop();
    expect(f.sink.ids()).toEqual(range(0, 25));
    expect(r.drained).toBe(true);
    expect(r.status.input).toMatchObject({ lines: 25, events: 25, requests: 25, used: 25, rejected: 0 });
    // The record serialisation is audit export's (-o jsonl): compare with a real export of the file.
    const { runCli } = await import('../helpers.js');
    const exported = (await runCli(['export', log, '-q'])).stdout.trim().split('\n');
    expect(f.sink.received.map((it) => it.json)).toEqual(exported);
  });

  it('waits for the newline of a partial last line, then sends the line whole, once', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 2);
    const text = JSON.stringify(auditEvent(2)) + '\n';
    appendFileSync(log, text.slice(0, 300));
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 2, 'the two whole lines');
    // Several polls pass (50 ms each) with the half line on disk: nothing of it is sent.
    await sleep(600);
    expect(f.sink.received).toHaveLength(2);
    appendFileSync(log, text.slice(300));
    await waitFor(() => f.sink.received.length === 3, 'the completed line');
    const r = await f.stop();
    expect(f.sink.ids()).toEqual(range(0, 3));
    expect(r.status.input.rejected).toBe(0);
  });

  it('finishes the old file after a rotation by rename, then reads the new file from its start', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 10);
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 10, 'first 10');
    // Written to the old file just before the rename: these must come before the new file's lines.
    append(log, 10, 5);
    renameSync(log, join(dir, 'audit-2026-03-02T10-00-00.000.log'));
    append(log, 15, 5);
    await waitFor(() => f.sink.received.length === 20, '20 records');
    const r = await f.stop();
    expect(f.sink.ids()).toEqual(range(0, 20));
    expect(f.stderr()).toMatch(/a new file at the path/);
    expect(r.status.files.at(-1)!.ino).toBe(String(statSync(log).ino));
    expect(r.status.files.slice(0, -1).every((x) => x.rotated)).toBe(true);
  });

  it('a rotated file whose last line has no newline: the line is sent once the file has been quiet for --rotate-wait', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    appendFileSync(log, lines(0, 2) + JSON.stringify(auditEvent(2)));
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 2, 'the two whole lines');
    renameSync(log, join(dir, 'audit-2026-03-02T10-00-00.000.log'));
    append(log, 3, 1);
    await waitFor(() => f.sink.received.length === 4, 'the last line of the old file, and the new one');
    const r = await f.stop();
    // The unterminated line waits for the old file to be quiet; the new file's lines do not wait for it.
    expect(sameSetOnce(f.sink.ids(), range(0, 4))).toBeNull();
    expect(r.status.input.rejected).toBe(0);
  });

  it('draws a status line on a terminal and clears it before notes and at the end', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 3);
    const f = startFollow([log], {}, new MemorySink(), true);
    await waitFor(() => /follow: 1 file, 3 requests, lag 0 B \/ 0\.0 s \| memory:\/\/test ok 3/.test(f.stderr()), 'the status line');
    await f.stop();
    expect(f.stderr()).toMatch(/\r\u001b\[K$|\r\u001b\[Kaudit follow: stopped/);
  });

  it('reads a file that appears after it started, from its start', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const f = startFollow([log]);
    await waitFor(() => /does not exist yet/.test(f.stderr()), 'the waiting note');
    append(log, 0, 7);
    await waitFor(() => f.sink.received.length === 7, '7 records');
    await f.stop();
    expect(f.sink.ids()).toEqual(range(0, 7));
  });

  it('restarts from byte 0 after a truncation, and says so', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 10);
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 10, 'first 10');
    truncateSync(log, 0);
    append(log, 10, 3);
    await waitFor(() => f.sink.received.length === 13, 'the 3 lines after truncation');
    const r = await f.stop();
    expect(f.sink.ids()).toEqual(range(0, 13));
    expect(f.stderr()).toMatch(/truncated; reading it again from the start/);
    expect(r.status.input.truncations).toBe(1);
  });

  it('notices a truncation even when the file grew past the old offset before the next look (the fingerprint changed)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 3);
    const f = startFollow([log], { pollMs: 100000 });
    await waitFor(() => f.sink.received.length === 3, 'first 3');
    // Rewrite the file in place with more (different) lines than before, without a notification to rely on.
    writeFileSync(log, lines(100, 6));
    await waitFor(() => f.sink.received.length === 9, 'the 6 new lines', 10_000).catch(() => undefined);
    const r = await f.stop();
    expect(f.sink.ids()).toEqual([...range(0, 3), ...range(100, 6)]);
    expect(r.status.input.truncations).toBe(1);
  });

  it('copytruncate: finishes the copy from where it was, then reads the emptied file again', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 10);
    const f = startFollow([log], { pollMs: 100000 });
    await waitFor(() => f.sink.received.length === 10, 'first 10');
    // Lines appended, then copied and truncated before kaudit looked again (logrotate copytruncate).
    append(log, 10, 5);
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    append(log, 15, 2);
    await waitFor(() => f.sink.received.length === 17, 'all 17', 10_000).catch(() => undefined);
    await f.stop();
    expect(sameSetOnce(f.sink.ids(), range(0, 17))).toBeNull();
  });

  it('wakes on file-system notification without waiting for the poll, and polls when there is no notification', async () => {
    const dir = tmp();
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    append(a, 0, 1);
    append(b, 100, 1);
    // An hour between polls: only inotify can wake this one.
    const notified = startFollow([a], { pollMs: 3_600_000 });
    // No notification at all: only the 50 ms poll.
    const polled = startFollow([b], { notify: false, pollMs: 50 });
    await waitFor(() => notified.sink.received.length === 1 && polled.sink.received.length === 1, 'the first lines');
    append(a, 1, 2);
    append(b, 101, 2);
    await waitFor(() => notified.sink.received.length === 3 && polled.sink.received.length === 3, 'the appended lines');
    await notified.stop();
    await polled.stop();
    expect(notified.sink.ids()).toEqual(range(0, 3));
    expect(polled.sink.ids()).toEqual(range(100, 3));
  });

  it('follows several paths, each labelled with its cluster', async () => {
    const dir = tmp();
    const a = join(dir, 'prod', 'audit.log');
    const b = join(dir, 'staging', 'audit.log');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'prod'));
    mkdirSync(join(dir, 'staging'));
    append(a, 0, 3);
    append(b, 10, 2);
    const sink = new MemorySink();
    const f = startFollow([], { paths: [{ path: a, cluster: 'prod' }, { path: b, cluster: 'staging' }] }, sink);
    await waitFor(() => sink.received.length === 5, '5 records');
    const r = await f.stop();
    const byCluster = (c: string): string[] => sink.received.map((it) => JSON.parse(it.json)).filter((x) => x.cluster === c).map((x) => x.auditID);
    expect(byCluster('prod')).toEqual(range(0, 3));
    expect(byCluster('staging')).toEqual(range(10, 2));
    expect(r.status.files.map((x) => x.path)).toEqual([a, b]);
  });

  it('under a steady load, rotated files are finished and closed (descriptors do not pile up)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const status = join(dir, 'status.json');
    let n = 0;
    append(log, n, 50);
    n += 50;
    const f = startFollow([log], { statusPath: status, rotateWaitMs: 100 });
    const w = setInterval(() => {
      append(log, n, 20);
      n += 20;
    }, 10);
    for (let k = 0; k < 5; k++) {
      await sleep(150);
      renameSync(log, join(dir, `audit-2026-03-02T10-00-0${k}.000.log`));
    }
    await waitFor(() => readJson(status)?.files?.length === 1 && n > 600, 'only the file at the path open, while writing goes on');
    clearInterval(w);
    await waitFor(() => f.sink.received.length === n, 'everything delivered');
    await f.stop();
    expect(sameSetOnce(f.sink.ids(), range(0, n))).toBeNull();
  });

  it('a client-chosen Audit-ID reused by another request: both are sent, the second flagged, each with its own id (no _id hides a request)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const same = idOf(1);
    const pwn = { auditID: same, verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', objectRef: { resource: 'clusterrolebindings', name: 'pwn', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 201 } };
    writeFileSync(log, lines(1, 1) + lines(2, 1, () => pwn));
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 2, 'both requests');
    const r = await f.stop();
    const recs = f.sink.received.map((it) => JSON.parse(it.json));
    expect(recs.map((x) => [x.auditID, x.verb, x.auditIDReused])).toEqual([[same, 'get', false], [same, 'create', true]]);
    expect(new Set(f.sink.received.map((it) => it.id)).size).toBe(2);
    expect(r.status.input.auditIDReuse).toBe(1);
  });

  it('rejects malformed lines with file:line and keeps going', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    writeFileSync(log, lines(0, 2) + 'not json at all\n' + '{"kind":"Event"}\n' + lines(2, 2));
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 4, '4 records');
    const r = await f.stop();
    expect(f.stderr()).toContain(`${log}:3: not JSON`);
    expect(r.status.input).toMatchObject({ lines: 6, events: 4, rejected: 2 });
  });

  it('--raw forwards every event line exactly as written, every stage', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const text = lines(0, 2, () => ({ stage: 'RequestReceived' })) + lines(0, 2) + '  ' + JSON.stringify(auditEvent(9)) + '\r\n';
    writeFileSync(log, text);
    const f = startFollow([log], { raw: true });
    await waitFor(() => f.sink.received.length === 5, '5 events');
    await f.stop();
    expect(f.sink.received.map((it) => it.json)).toEqual(text.split('\n').filter(Boolean).map((l) => l.trim()));
    expect(f.sink.received.every((it) => it.kind === 'event')).toBe(true);
    expect(new Set(f.sink.received.map((it) => it.id)).size).toBe(5);
  });

  it('--raw --findings --records: every stage as written, and a finding once per request (at its completing stage)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const exec = { verb: 'create', requestURI: '/api/v1/namespaces/team-3/pods/web-3/exec', objectRef: { resource: 'pods', subresource: 'exec', namespace: 'team-3', name: 'web-3', apiVersion: 'v1' } };
    writeFileSync(log, lines(3, 1, () => ({ ...exec, stage: 'RequestReceived' })) + lines(3, 1, () => ({ ...exec, stage: 'ResponseStarted' })) + lines(3, 1, () => exec));
    const { loadRuleSet } = await import('../../src/rules/detections.js');
    const f = startFollow([log], { raw: true, findings: true, records: true, rules: await loadRuleSet() });
    await waitFor(() => f.sink.received.length === 4, '3 events and a finding');
    await f.stop();
    expect(f.sink.received.map((it) => it.kind)).toEqual(['event', 'event', 'event', 'finding']);
    expect(JSON.parse(f.sink.received[3]!.json)).toMatchObject({ rule: 'K8S-EXEC', auditIDs: [idOf(3)] });
  });

  it('applies the filters and forwards findings with --findings', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 10, (i) => (i === 3 ? { verb: 'create', requestURI: '/api/v1/namespaces/team-3/pods/web-3/exec', objectRef: { resource: 'pods', subresource: 'exec', namespace: 'team-3', name: 'web-3', apiVersion: 'v1' } } : {}));
    const { compileFilter } = await import('../../src/filter/index.js');
    const { loadRuleSet } = await import('../../src/rules/detections.js');
    const f = startFollow([log], { findings: true, records: true, rules: await loadRuleSet(), filter: compileFilter({ namespace: ['team-3'] }), statusPath: join(dir, 'status.json') });
    await waitFor(() => f.sink.received.length >= 2, 'a record and a finding');
    const r = await f.stop();
    const kinds = f.sink.received.map((it) => it.kind);
    expect(kinds.filter((k) => k === 'record')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'finding')).toHaveLength(1);
    const finding = f.sink.received.find((it) => it.kind === 'finding')!;
    expect(JSON.parse(finding.json)).toMatchObject({ rule: 'K8S-EXEC', kind: 'detection', auditIDs: [idOf(3)], count: 1 });
    expect(r.status.input.skipped).toBe(9);
  });
});

describe('audit follow: restarts from the checkpoint', () => {
  it('three rotations while stopped (one gzipped): finishes the old file, reads the rotated ones in order, then the new one; each line once', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    await followedOnce(log, state, 10);
    // While stopped: the rest of file A, then B, C (gzipped, like --audit-log-compress) and D at the path.
    append(log, 10, 5);
    renameSync(log, join(dir, 'audit-2026-03-02T10-00-00.000.log'));
    append(log, 15, 5);
    renameSync(log, join(dir, 'audit-2026-03-02T11-00-00.000.log'));
    append(log, 20, 5);
    const c = join(dir, 'audit-2026-03-02T12-00-00.000.log');
    renameSync(log, c);
    writeFileSync(`${c}.gz`, gzipSync(readFileSync(c)));
    unlinkSync(c);
    append(log, 25, 5);
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length === 20, '20 more');
    await sleep(300);
    const r = await b.stop();
    expect(b.sink.ids()).toEqual(range(10, 20));
    expect(r.status.input.gaps).toBe(0);
    expect(b.stderr()).toMatch(/rotated while kaudit was stopped; reading it whole/);
  });

  it('a crash before the first delivery is acknowledged still knows the starting point: a file rotated meanwhile is read whole', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    append(log, 0, 10);
    const blocked = new MemorySink();
    blocked.gate = new Promise(() => undefined);
    const a = startFollow([log], { statePath: state, shutdownTimeoutMs: 0 }, blocked);
    await waitFor(() => readJson<FollowState>(state) !== null && blocked.calls > 0, 'the initial checkpoint and a first attempt');
    const r = await a.stop();
    expect(r.drained).toBe(false);
    expect(readJson<FollowState>(state)!.streams[0]!.files[0]!.offset).toBe(0);
    renameSync(log, join(dir, 'audit-2026-03-02T10-00-00.000.log'));
    append(log, 10, 3);
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length === 13, 'both files');
    await b.stop();
    expect(b.sink.ids()).toEqual(range(0, 13));
  });

  it('a file deleted before it was read to the end is a loud gap with its size', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    await followedOnce(log, state, 4);
    const delivered = statSync(log).size;
    append(log, 4, 3);
    // It rotates and the backup is deleted (maxbackup) before kaudit runs again.
    unlinkSync(log);
    append(log, 7, 2);
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length === 2, 'the new file');
    const r = await b.stop();
    expect(b.sink.ids()).toEqual(range(7, 2));
    // Only the last known size is known: lines written after the checkpoint are gone without a trace.
    expect(b.stderr()).toContain(`was deleted before kaudit read it to the end: whatever was written to it after byte ${delivered} (its last known size) was never forwarded`);
    expect(r.status.input.gaps).toBe(1);
  });

  it('reports the gap in bytes when kaudit had seen more than it delivered before the file was deleted', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    const status = join(dir, 'status.json');
    append(log, 0, 4);
    const gated = new MemorySink();
    let release!: () => void;
    const a = startFollow([log], { statePath: state, statusPath: status, shutdownTimeoutMs: 300, batch: { maxEvents: 2, maxBytes: 1 << 20, waitMs: 5, maxQueued: 1 } }, gated);
    await waitFor(() => gated.received.length === 4 && (readJson<FollowState>(state)?.streams[0]?.files[0]?.offset ?? 0) > 0, 'a first checkpoint');
    gated.gate = new Promise((r) => (release = r));
    append(log, 4, 20);
    await waitFor(() => (readJson(status)?.files?.[0]?.lagBytes ?? 0) > 0 && readJson(status)?.buffered?.batches === 1, 'reading stopped behind the blocked sink');
    const r = await a.stop();
    expect(r.drained).toBe(false);
    const saved = readJson<FollowState>(state)!.streams[0]!.files[0]!;
    expect(saved.size).toBe(statSync(log).size);
    expect(saved.size).toBeGreaterThan(saved.offset);
    unlinkSync(log);
    append(log, 30, 2);
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length === 2, 'the new file');
    const rb = await b.stop();
    release();
    expect(b.stderr()).toContain(`at least ${saved.size - saved.offset} bytes (from byte ${saved.offset} to its last known size ${saved.size}) were never forwarded`);

    expect(rb.status.input.gapBytes).toBe(saved.size - saved.offset);
  });

  it('refuses to take a file for the one in the checkpoint when its head differs (inode reuse)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    await followedOnce(log, state, 3);
    // Same path, same inode, other content: what inode reuse looks like (the old file is gone).
    writeFileSync(log, lines(50, 4));
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length === 4, 'the new content');
    const r = await b.stop();
    expect(b.sink.ids()).toEqual(range(50, 4));
    expect(r.status.input.gaps).toBe(1);
  });

  it('keeps the stage-collapse window: a request started before the stop completes after it, as one record', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    append(log, 0, 2);
    append(log, 2, 1, () => ({ stage: 'ResponseStarted', verb: 'watch', responseStatus: { metadata: {}, code: 200 } }));
    const a = startFollow([log], { statePath: state });
    await waitFor(() => a.sink.received.length === 2, 'first 2');
    const ra = await a.stop();
    expect(ra.status.waiting).toBe(1);
    const saved = readJson<FollowState>(state)!;
    expect(saved.streams[0]!.pending).toHaveLength(1);
    expect(saved.streams[0]!.pending[0]).toMatchObject({ auditID: idOf(2), stage: 'ResponseStarted' });
    append(log, 2, 1, () => ({ verb: 'watch' }));
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length === 1, 'the completed watch');
    const rb = await b.stop();
    expect(JSON.parse(b.sink.received[0]!.json)).toMatchObject({ auditID: idOf(2), stage: 'ResponseComplete', verb: 'watch' });
    expect(rb.status.input).toMatchObject({ events: 1, duplicates: 1, requests: 1 });
  });

  it('without --state, requests still waiting at the stop are sent with their latest stage rather than lost', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const status = join(dir, 'status.json');
    append(log, 0, 1, () => ({ stage: 'ResponseStarted', verb: 'watch' }));
    const a = startFollow([log], { statusPath: status });
    await waitFor(() => readJson(status)?.waiting === 1, 'the watch waiting for its completion');
    await a.stop();
    expect(a.sink.received.map((it) => JSON.parse(it.json).stage)).toEqual(['ResponseStarted']);
  });

  it('--start-at end skips what is there and starts at a line boundary', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 3);
    appendFileSync(log, JSON.stringify(auditEvent(3)).slice(0, 100));
    const f = startFollow([log], { startAtEnd: true });
    await sleep(200);
    appendFileSync(log, JSON.stringify(auditEvent(3)).slice(100) + '\n');
    append(log, 4, 1);
    await waitFor(() => f.sink.received.length === 2, 'lines 3 and 4');
    const r = await f.stop();
    expect(f.sink.ids()).toEqual(range(3, 2));
    expect(r.status.input.rejected).toBe(0);
  });
});
