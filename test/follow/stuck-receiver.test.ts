// A syslog receiver that accepts the TCP connection and then never reads (a hung rsyslog, a full
// disk behind it). Syslog over TCP has no acknowledgement (RFC 6587): the sink's write completes when
// the kernel takes the bytes, so once the kernel buffers on both sides are full the write never
// completes. Then kaudit must stop reading (memory stays bounded: the file on disk is the buffer),
// stop within the shutdown timeout instead of waiting on the receiver forever (it used to hang in the
// write and in close(), which waited for socket.end()), and keep the undelivered batches after its
// checkpoint for the next start.
import { it, expect } from 'vitest';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { append, range, readJson, sameSetOnce, sleep, startFollow, tmp, waitFor } from './helpers.js';
import { makeSink } from '../../src/follow/sinks/index.js';

it('syslog TCP receiver that never reads: reading stops with bounded memory, stop() ends within the shutdown timeout, the checkpoint keeps the rest', async () => {
  const conns: Socket[] = [];
  const srv = createServer((c) => {
    c.pause();
    conns.push(c);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  try {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    const N = 20000;
    append(log, 0, N); // about 16 MB: far more than loopback's socket buffers hold
    const statusPath = join(dir, 'status.json');
    const statePath = join(dir, 'state.json');
    const sink = makeSink(`syslog://127.0.0.1:${port}`, { env: {}, tls: { insecure: false }, stdout: new PassThrough(), hostname: 'h', timeoutMs: 2000 });
    const shutdownTimeoutMs = 500;
    const f = startFollow([log], { sinks: [sink], statusPath, statePath, shutdownTimeoutMs });

    type St = { buffered: { batches: number; items: number }; files: { offset: number; readOffset: number; size: number; lagBytes: number }[]; sinks: { delivered: number }[] };
    // Stuck: the batch queue is full (maxQueued = 2 batches of at most 100 items).
    await waitFor(() => (readJson<St>(statusPath)?.buffered.batches ?? 0) >= 2, 'the delivery queue full');
    const a = readJson<St>(statusPath)!;
    await sleep(300); // several poll intervals (50 ms): nothing more is read
    const b = readJson<St>(statusPath)!;
    expect(b.files[0]!.offset).toBe(a.files[0]!.offset);
    expect(b.buffered.items).toBeLessThanOrEqual(200);
    expect(b.files[0]!.size - b.files[0]!.offset).toBeGreaterThan(8 << 20);
    // The status tells delivered from read: the buffered batches are read, not delivered, and the
    // lag counts them (it said 0 bytes of lag behind a receiver that took nothing more).
    expect(b.files[0]!.readOffset).toBeGreaterThan(b.files[0]!.offset);
    expect(b.files[0]!.lagBytes).toBe(b.files[0]!.size - b.files[0]!.offset);
    const delivered = b.sinks[0]!.delivered;
    expect(delivered).toBeLessThan(N);

    // A deadline to fail on, not a timing: without the fix stop() never returned.
    const r = await Promise.race([f.stop().then((x) => x), sleep(shutdownTimeoutMs + 10_000).then(() => 'still waiting on the receiver' as const)]);
    expect(r).not.toBe('still waiting on the receiver');
    if (typeof r === 'string') return;
    expect(r.drained).toBe(false);
    expect(f.stderr()).toMatch(/not delivered; the checkpoint keeps them for the next start/);
    expect(r.status.sinks[0]!.dropped).toBe(0);
    expect(r.status.sinks[0]!.delivered).toBe(delivered);

    // The next start (a receiver that reads) continues at the last acknowledged batch: nothing the
    // sink acknowledged again, nothing after it skipped.
    const again = startFollow([log], { statePath });
    await waitFor(() => again.sink.received.length >= N - delivered, 'the rest delivered', 60_000);
    await again.stop();
    expect(sameSetOnce(again.sink.ids(), range(delivered, N - delivered))).toBeNull();
  } finally {
    for (const c of conns) c.destroy();
    srv.close();
  }
}, 120_000);
