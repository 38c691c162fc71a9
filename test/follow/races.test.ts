// Red-team tests of `audit follow` against what log rotation really does, racing with kaudit.
// kube-apiserver's log backend is lumberjack (k8s.io/apiserver/pkg/server/options/audit.go,
// AuditLogOptions.getWriter → lumberjack.Logger{Filename, MaxAge, MaxBackups, MaxSize, Compress}):
// openNew renames audit.log to audit-<time>.log and creates a new one; millRunOnce then deletes the
// oldest backups and, with --audit-log-compress, compressLogFile writes audit-<time>.log.gz
// progressively (O_CREATE|O_TRUNC, gzip.Writer) and removes the plain file only after that.
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { MemorySink, append, followedOnce, lines, range, sameSetOnce, sleep, startFollow, tmp, waitFor } from './helpers.js';

const backup = (dir: string, h: number): string => join(dir, `audit-2026-03-02T${String(h).padStart(2, '0')}-00-00.000.log`);

describe('audit follow: a backup being compressed (lumberjack compressLogFile)', () => {
  it('while running: X.gz being written beside X is not read as another file; once X is gone, X.gz is known', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 10);
    const f = startFollow([log]);
    await waitFor(() => f.sink.received.length === 10, 'first 10');
    append(log, 10, 50);
    const b1 = backup(dir, 10);
    renameSync(log, b1);
    append(log, 60, 5);
    // The compressor has written the gzip header and no block yet: nothing decompresses.
    const gz = gzipSync(readFileSync(b1));
    writeFileSync(`${b1}.gz`, gz.subarray(0, 10));
    await waitFor(() => f.sink.received.length === 65, '65 records');
    // A second rotation while the first backup is still being compressed: kaudit looks for backups it missed.
    renameSync(log, backup(dir, 11));
    append(log, 65, 5);
    await waitFor(() => f.sink.received.length === 70, '70 records');
    // The compression ends: the .gz is whole and the plain file removed; a third rotation looks again.
    writeFileSync(`${b1}.gz`, gz);
    unlinkSync(b1);
    renameSync(log, backup(dir, 12));
    append(log, 70, 5);
    await waitFor(() => f.sink.received.length >= 75, '75 records');
    await sleep(300);
    const r = await f.stop();
    expect(sameSetOnce(f.sink.ids(), range(0, 75))).toBeNull();
    expect(r.status.input.gaps).toBe(0);
    expect(f.stderr()).not.toMatch(/\.gz/);
  });

  it('after a restart: a half-written X.gz beside X is left alone, X is finished from the checkpoint', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    await followedOnce(log, state, 10);
    append(log, 10, 40);
    const b1 = backup(dir, 10);
    renameSync(log, b1);
    append(log, 50, 5);
    writeFileSync(`${b1}.gz`, gzipSync(readFileSync(b1)).subarray(0, 10));
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.received.length >= 45, '45 records');
    await sleep(300);
    const r = await b.stop();
    expect(sameSetOnce(b.sink.ids(), range(10, 45))).toBeNull();
    expect(r.status.input.gaps).toBe(0);
    // Left alone: never opened as a backup of its own (it used to be, and its zlib error crashed kaudit).
    expect(b.stderr()).not.toMatch(/\.gz/);
  });

  it('a damaged .gz backup (cut short, nothing beside it) never crashes kaudit: what decompresses is sent, the rest is a GAP', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    await followedOnce(log, state, 5);
    // While stopped: rotated, more lines, then compressed by something that died half way (the
    // incompressible padding makes the cut fall after the first lines' block).
    const pad = (i: number): Record<string, unknown> => ({ annotations: { pad: randomBytes(3000).toString('base64'), i: String(i) } });
    writeFileSync(log, readFileSync(log, 'utf8') + lines(5, 40, pad));
    const b1 = backup(dir, 10);
    renameSync(log, b1);
    const gz = gzipSync(readFileSync(b1));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    writeFileSync(`${b1}.gz`, cut);
    // The reference for "what decompresses": zlib told to expect truncated input (Z_SYNC_FLUSH at the end).
    const decompressible = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH });
    const wholeLines = decompressible.toString('utf8').split('\n').length - 1;
    expect(wholeLines).toBeGreaterThan(5);
    expect(wholeLines).toBeLessThan(45);
    unlinkSync(b1);
    append(log, 100, 3);
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.ids().includes(range(102, 1)[0]!), 'the new file read');
    await waitFor(() => /GAP/.test(b.stderr()), 'the gap reported');
    const r = await b.stop();
    const got = b.sink.ids();
    // Some of the backup's lines, each once, then the new file.
    expect(sameSetOnce(got, [...got.filter((id) => range(5, 40).includes(id)), ...range(100, 3)])).toBeNull();
    expect(got.filter((id) => range(5, 40).includes(id)).length).toBeLessThan(40);
    // Every whole line that decompresses is sent (lines 0–4 were delivered before the stop), the cut line is not.
    expect(sameSetOnce(got, [...range(5, wholeLines - 5), ...range(100, 3)])).toBeNull();
    expect(r.status.input.gaps).toBe(1);
    expect(r.status.input.gapBytes).toBeGreaterThan(0);
    expect(r.status.input.rejected).toBe(0);
    expect(b.stderr()).toContain(`cut short after ${decompressible.length} bytes (uncompressed)`);
    expect(b.stderr()).toMatch(/\.log\.gz: the compressed data is damaged or cut short after \d+ bytes \(uncompressed\)/);
  });
  it('a damaged .gz of a file the checkpoint knew to be longer: the gap counts at least the bytes the checkpoint saw and that never decompressed', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const state = join(dir, 'state.json');
    const pad = (i: number): Record<string, unknown> => ({ annotations: { pad: randomBytes(3000).toString('base64'), i: String(i) } });
    writeFileSync(log, lines(0, 40, pad));
    const size = readFileSync(log).length;
    // A sink that never answers: nothing is delivered, the checkpoint stays at byte 0 with the file's size.
    const stuck = new MemorySink();
    stuck.gate = new Promise(() => undefined);
    const a = startFollow([log], { statePath: state, shutdownTimeoutMs: 100 }, stuck);
    await waitFor(() => stuck.calls > 0, 'a batch sent');
    await a.stop();
    const b1 = backup(dir, 10);
    renameSync(log, b1);
    const gz = gzipSync(readFileSync(b1));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.4));
    writeFileSync(`${b1}.gz`, cut);
    unlinkSync(b1);
    append(log, 100, 2);
    const decompressible = gunzipSync(cut, { finishFlush: constants.Z_SYNC_FLUSH });
    const wholeLines = decompressible.toString('utf8').split('\n').length - 1;
    expect(wholeLines).toBeGreaterThan(0);
    const b = startFollow([log], { statePath: state });
    await waitFor(() => b.sink.ids().includes(range(101, 1)[0]!), 'the new file read');
    await waitFor(() => /GAP/.test(b.stderr()), 'the gap reported');
    const r = await b.stop();
    expect(sameSetOnce(b.sink.ids(), [...range(0, wholeLines), ...range(100, 2)])).toBeNull();
    expect(r.status.input.gaps).toBe(1);
    const linesEnd = decompressible.lastIndexOf(10) + 1;
    expect(r.status.input.gapBytes).toBe(size - linesEnd);
    expect(b.stderr()).toMatch(/bytes the checkpoint saw before it was compressed/);
  });
});
