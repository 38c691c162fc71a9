// Fault tests of the real CLI (`node bin/audit.js follow`), each comparing the set of auditIDs the
// receiver stored with the set written to the log: kill -9 at random points ten times under a
// steady write load with rotations; three rotations (one gzipped) while kaudit is dead; the sink
// down under load with memory staying flat; truncation; a partial last line left for seconds.
// The receiver is a _bulk endpoint that stores a document once per _id, as Elasticsearch does.
import { describe, it, expect } from 'vitest';
import { appendFileSync, renameSync, writeFileSync, readFileSync, unlinkSync, truncateSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { auditEvent, lines, range, readJson, sameSetOnce, sleep, startCli, tmp, waitFor, type Cli } from './helpers.js';
import { bulkReceiver, storedIds, type Receiver } from './receivers.js';

/** Writes events to audit.log at a steady rate, rotating it the way kube-apiserver does (rename to audit-<time>.log). */
class Writer {
  written: string[] = [];
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private rotations = 0;
  constructor(
    private readonly log: string,
    private readonly rotateEvery = 0,
  ) {}
  write(n: number): void {
    for (let k = 0; k < n; k++) {
      if (this.rotateEvery && this.next > 0 && this.next % this.rotateEvery === 0) this.rotate();
      appendFileSync(this.log, JSON.stringify(auditEvent(this.next)) + '\n');
      this.written.push(auditEvent(this.next).auditID as string);
      this.next++;
    }
  }
  rotate(gzip = false): void {
    const t = new Date(Date.UTC(2026, 2, 2, 10, 0, 0) + ++this.rotations * 1000).toISOString().replace(/:/g, '-').replace('Z', '');
    const name = join(this.log, '..', `audit-${t}.log`);
    try {
      renameSync(this.log, name);
    } catch {
      return;
    }
    if (gzip) {
      writeFileSync(`${name}.gz`, gzipSync(readFileSync(name)));
      unlinkSync(name);
    }
  }
  start(perTick: number, everyMs: number): void {
    this.timer = setInterval(() => this.write(perTick), everyMs);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** A small seeded generator, so a failing run can be repeated. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function args(dir: string, es: Receiver, extra: string[] = []): string[] {
  return [
    join(dir, 'audit.log'),
    '--state', join(dir, 'state.json'),
    '--status-file', join(dir, 'status.json'),
    '--status-interval', '100ms',
    '--to', `elasticsearch+http://127.0.0.1:${es.port}/audit-%Y.%m.%d`,
    '--poll-interval', '100ms',
    '--rotate-wait', '300ms',
    '--retry-initial', '20ms',
    '--retry-max', '300ms',
    '--batch-wait', '50ms',
    ...extra,
  ];
}

async function stop(cli: Cli): Promise<void> {
  cli.child.kill('SIGTERM');
  const code = await cli.exited;
  if (code !== 0) throw new Error(`audit follow exited ${code}: ${cli.stderr()}`);
}

describe('audit follow under faults (the CLI, a _bulk receiver)', () => {
  it('kill -9 at random points, ten times, under a steady write load with rotations: nothing lost, nothing stored twice', { timeout: 180_000 }, async () => {
    const dir = tmp();
    const es = await bulkReceiver({ keepBodies: false });
    const w = new Writer(join(dir, 'audit.log'), 700);
    const random = rng(21);
    w.write(200);
    w.start(10, 20);
    for (let k = 0; k < 10; k++) {
      const cli = startCli(args(dir, es, ['-q']));
      // The first run gets as far as its starting checkpoint (before it, kaudit was never running).
      if (k === 0) await waitFor(() => readJson(join(dir, 'state.json')) !== null, 'the first checkpoint');
      await sleep(150 + Math.floor(random() * 1200));
      cli.child.kill('SIGKILL');
      await cli.exited;
    }
    w.stop();
    const cli = startCli(args(dir, es, ['-q']));
    await waitFor(() => es.stored.length >= w.written.length, `all ${w.written.length} events stored`, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${sameSetOnce(storedIds(es), w.written)}; status ${readFileSync(join(dir, 'status.json'), 'utf8')}; stderr ${cli.stderr()}`);
    });
    await stop(cli);
    await es.close();
    // What was sent again after a kill (acknowledged but not yet checkpointed) came back as 409s: stored once.
    expect(sameSetOnce(storedIds(es), w.written)).toBeNull();
  });

  it('three rotations while kaudit is dead (killed mid-stream), one gzipped: every line once', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const es = await bulkReceiver({ keepBodies: false });
    const w = new Writer(log);
    w.write(300);
    const cli = startCli(args(dir, es, ['-q']));
    await waitFor(() => es.stored.length === 300, 'first 300 stored');
    w.write(200);
    cli.child.kill('SIGKILL');
    await cli.exited;
    w.rotate();
    w.write(100);
    w.rotate();
    w.write(100);
    w.rotate(true);
    w.write(100);
    const again = startCli(args(dir, es));
    await waitFor(() => es.stored.length === 800, 'all 800 stored');
    await stop(again);
    await es.close();
    expect(sameSetOnce(storedIds(es), w.written)).toBeNull();
    expect(again.stderr()).not.toMatch(/GAP/);
    expect(again.stderr()).toMatch(/\.log\.gz: rotated while kaudit was stopped; reading it whole/);
  });

  it('the sink down under a steady write load: reading stops, memory stays flat, everything arrives once afterwards', async () => {
    const dir = tmp();
    const status = join(dir, 'status.json');
    const es = await bulkReceiver({ keepBodies: false });
    const w = new Writer(join(dir, 'audit.log'));
    w.start(10, 20);
    const cli = startCli(args(dir, es, ['-q']));
    await waitFor(() => es.stored.length > 300, 'delivering');
    const before = readJson(status)!.memory.heapUsed as number;
    await es.down();
    // About 40,000 events (some 30 MB) pile up on disk while the sink refuses connections.
    w.write(40_000);
    await waitFor(() => /ECONNREFUSED/.test(readJson(status)?.sinks?.[0]?.lastError ?? ''), 'the outage noticed');
    let maxHeap = 0;
    let maxBuffered = 0;
    for (let k = 0; k < 30; k++) {
      const st = readJson(status);
      if (st) {
        maxHeap = Math.max(maxHeap, st.memory.heapUsed);
        maxBuffered = Math.max(maxBuffered, st.buffered.items);
      }
      await sleep(100);
    }
    const during = readJson(status)!;
    await es.up();
    w.stop();
    await waitFor(() => es.stored.length >= w.written.length, `all ${w.written.length} stored after the outage`, 90_000);
    await stop(cli);
    await es.close();
    expect(sameSetOnce(storedIds(es), w.written)).toBeNull();
    // Bounded: two sealed batches and an open one (500 items each at most), however large the backlog.
    expect(maxBuffered).toBeLessThanOrEqual(1500);
    expect(during.files.reduce((n: number, f: { lagBytes: number }) => n + f.lagBytes, 0)).toBeGreaterThan(20 << 20);
    expect(maxHeap).toBeLessThan(before + (48 << 20));
    expect(during.sinks[0]).toMatchObject({ dropped: 0, deadLettered: 0 });
    expect(during.sinks[0].retried).toBeGreaterThan(0);
  });

  it('truncation: the lines written after it are read from byte 0', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const status = join(dir, 'status.json');
    const es = await bulkReceiver({ keepBodies: false });
    writeFileSync(log, lines(0, 100));
    const cli = startCli(args(dir, es));
    await waitFor(() => es.stored.length === 100 && readJson(status)?.files?.[0]?.lagBytes === 0, 'first 100 stored');
    truncateSync(log, 0);
    appendFileSync(log, lines(100, 50));
    await waitFor(() => es.stored.length === 150, 'the 50 after the truncation');
    await stop(cli);
    await es.close();
    expect(sameSetOnce(storedIds(es), range(0, 150))).toBeNull();
    expect(cli.stderr()).toMatch(/truncated; reading it again from the start/);
  });

  it('a partial last line left for seconds (and a kill -9 meanwhile) is sent once, whole, when its newline comes', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const status = join(dir, 'status.json');
    const es = await bulkReceiver({ keepBodies: false });
    const last = JSON.stringify(auditEvent(10)) + '\n';
    writeFileSync(log, lines(0, 10) + last.slice(0, 250));
    const cli = startCli(args(dir, es, ['-q']));
    await waitFor(() => es.stored.length === 10 && readJson(status)?.files?.[0]?.lagBytes === 250, 'the whole lines stored, the half line waiting');
    await sleep(2000);
    expect(es.stored).toHaveLength(10);
    cli.child.kill('SIGKILL');
    await cli.exited;
    const again = startCli(args(dir, es, ['-q']));
    await waitFor(() => readJson(status)?.pid === again.child.pid, 'the restarted follower');
    appendFileSync(log, last.slice(250) + lines(11, 5));
    await waitFor(() => es.stored.length === 16, 'the completed line and 5 more');
    await stop(again);
    await es.close();
    expect(sameSetOnce(storedIds(es), range(0, 16))).toBeNull();
    expect(statSync(log).size).toBeGreaterThan(0);
  });
});
