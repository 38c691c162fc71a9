// HEC, _bulk and NDJSON sinks against local receivers that answer as the documented protocols do,
// including partial _bulk failures, 429 with Retry-After, 503 storms and dropped connections.
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { append, idOf, range, readJson, sameSetOnce, startFollow, tmp, waitFor } from './helpers.js';
import { bulkReceiver, hecReceiver, ndjsonReceiver, storedIds } from './receivers.js';
import { makeSink } from '../../src/follow/sinks/index.js';
import type { Sink } from '../../src/follow/types.js';
import { hasOpenssl, makeCerts } from './peers.js';

function sink(spec: string, env: Record<string, string> = {}, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean } = {}): Sink {
  return makeSink(spec, { env, tls: { insecure: false, ...tls }, stdout: new PassThrough(), hostname: 'node-1', timeoutMs: 5000 });
}

const FAST = { retry: { initialMs: 10, maxMs: 50 } };
const poison = (i: number): Record<string, unknown> => (i % 10 === 7 ? { objectRef: { resource: 'pods', namespace: 'poison', name: `web-${i}`, apiVersion: 'v1' }, requestURI: `/api/v1/namespaces/poison/pods/web-${i}` } : {});

describe('elasticsearch:// (_bulk)', () => {
  it('reads per-item results: retries only the failed items, dead-letters items refused for their content, each stored once', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 60, poison);
    const es = await bulkReceiver({
      item: (doc, seen) => ((doc.namespace as string) === 'poison' ? 400 : Number((doc.auditID as string).slice(-2)) % 3 === 0 && seen === 1 ? 429 : null),
    });
    const f = startFollow([log], { ...FAST, sinks: [sink(`elasticsearch+http://127.0.0.1:${es.port}/kaudit-%Y.%m.%d`)], deadLetterDir: dir });
    await waitFor(() => es.stored.length === 54, '54 stored');
    const r = await f.stop();
    await es.close();
    const good = range(0, 60).filter((_, i) => i % 10 !== 7);
    expect(sameSetOnce(storedIds(es), good)).toBeNull();
    expect([...es.docs.keys()].every((k) => k.startsWith('kaudit-2026.03.02/'))).toBe(true);
    const s = r.status.sinks[0]!;
    expect(s).toMatchObject({ delivered: 54, deadLettered: 6, dropped: 0 });
    // 429'd items (every third id, poison aside) are re-sent alone: the retry requests hold nothing else.
    const throttled = good.filter((id) => Number(id.slice(-2)) % 3 === 0);
    expect(s.retried).toBe(throttled.length);
    const idsIn = (body: string): string[] => body.split('\n').filter((l) => l.startsWith('{"create"')).map((l) => JSON.parse(l).create._id as string);
    expect(es.bodies).toHaveLength(2);
    expect(idsIn(es.bodies[0]!)).toHaveLength(60);
    // The second request holds the throttled items only (by _id: the hashed request identity).
    const docs = es.bodies[1]!.split('\n').filter((l) => l.startsWith('{"time"')).map((l) => JSON.parse(l).auditID as string);
    expect(docs.sort()).toEqual([...throttled].sort());
    const dl = readFileSync(join(dir, 'dead-letter.elasticsearch_http_127.0.0.1_' + es.port + '_kaudit-_Y._m._d.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dl.map((e) => e.item.auditID).sort()).toEqual(range(0, 60).filter((_, i) => i % 10 === 7).sort());
    expect(dl[0]).toMatchObject({ sink: `elasticsearch+http://127.0.0.1:${es.port}/kaudit-%Y.%m.%d`, kind: 'record', reason: expect.stringContaining('400 mapper_parsing_exception') });
  });

  it('honours Retry-After on 429 (the wait is the header, not the backoff)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 5);
    const es = await bulkReceiver({ request: (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: '{"error":"too many requests"}' } : null) });
    const f = startFollow([log], { ...FAST, sinks: [sink(`elasticsearch+http://127.0.0.1:${es.port}/audit`)] });
    await waitFor(() => es.stored.length === 5, '5 stored');
    const r = await f.stop();
    await es.close();
    expect(r.status.sinks[0]).toMatchObject({ delivered: 5, retried: 5, lastRetryWaitMs: 1000 });
  });

  it('rides out a 503 storm and dropped connections: everything stored once (the _id makes re-sends 409s)', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 200);
    const es = await bulkReceiver({ request: (n) => (n <= 6 ? { status: 503, body: '{"error":"unavailable"}' } : n === 7 ? 'drop' : n === 8 || n === 10 ? 'drop-after' : null) });
    // Batches of 50, sealed by count (the wait is long): requests 1–9 carry the first, 10–11 the second.
    const f = startFollow([log], { ...FAST, batch: { maxEvents: 50, maxBytes: 1 << 20, waitMs: 2000, maxQueued: 2 }, sinks: [sink(`elasticsearch+http://127.0.0.1:${es.port}/audit`)] });
    await waitFor(() => es.stored.length === 200, '200 stored');
    const r = await f.stop();
    await es.close();
    expect(sameSetOnce(storedIds(es), range(0, 200))).toBeNull();
    const items = (body: string): number => body.split('\n').filter((l) => l.startsWith('{"create"')).length;
    expect(es.bodies.slice(0, 9).map(items)).toEqual(Array(9).fill(50));
    // The two answers lost after processing (requests 8 and 10) came back as conflicts: delivered before, not twice.
    expect(es.conflicts).toBe(items(es.bodies[7]!) + items(es.bodies[9]!));
    expect(r.status.sinks[0]).toMatchObject({ delivered: 200, duplicates: es.conflicts, deadLettered: 0, dropped: 0 });
    expect(r.status.sinks[0]!.retried).toBe(8 * 50 + items(es.bodies[9]!));
  });

  it('sends the API key from the environment, never from the command line', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 1);
    let auth = '';
    const es = await bulkReceiver({ request: (_n, body) => (void body, null) });
    const { createServer } = await import('node:http');
    const srv = createServer((req, res) => {
      auth = req.headers.authorization ?? '';
      res.end('{"errors":false,"items":[{"create":{"status":201}}]}');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    const f = startFollow([log], { sinks: [sink(`elasticsearch+http://127.0.0.1:${port}/audit`, { KAUDIT_ES_API_KEY: 'aWQ6a2V5' })] });
    await waitFor(() => auth !== '', 'a request');
    await f.stop();
    srv.close();
    await es.close();
    expect(auth).toBe('ApiKey aWQ6a2V5');
  });
});

describe('splunk-hec://', () => {
  it('sends HEC envelopes with the token from the environment; an invalid event is dead-lettered alone', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 30, poison);
    const hec = await hecReceiver({ token: 'T0KEN', item: (ev) => ((ev.namespace as string) === 'poison' ? 400 : null) });
    const f = startFollow([log], { ...FAST, sinks: [sink(`splunk-hec+http://127.0.0.1:${hec.port}?index=k8s`, { KAUDIT_HEC_TOKEN: 'T0KEN' })], deadLetterDir: dir });
    await waitFor(() => hec.stored.length >= 27, '27 stored');
    const r = await f.stop();
    await hec.close();
    // This receiver takes a request whole or not at all, so what kaudit re-sends is stored once.
    expect(sameSetOnce(storedIds(hec), range(0, 30).filter((_, i) => i % 10 !== 7))).toBeNull();
    expect(r.status.sinks[0]).toMatchObject({ delivered: 27, deadLettered: 3, dropped: 0 });
    const envelope = JSON.parse(hec.bodies[0]!.split('\n')[0]!);
    expect(envelope).toMatchObject({ host: 'node-1', source: 'kaudit', sourcetype: 'kaudit:record', index: 'k8s', time: Date.UTC(2026, 2, 2, 10) / 1000, event: { auditID: idOf(0) } });
  });

  it('a refused token is retried (never dead-lettered) until it is fixed', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 10);
    const opts = { token: 'right' };
    const hec = await hecReceiver(opts);
    const status = join(dir, 'status.json');
    const f = startFollow([log], { ...FAST, sinks: [sink(`splunk-hec+http://127.0.0.1:${hec.port}`, { KAUDIT_HEC_TOKEN: 'wrong' })], statusPath: status, deadLetterDir: dir });
    await waitFor(() => hec.requests >= 3 && /Invalid token/.test(readFileSync(status, 'utf8')), 'three refused attempts, in the status');
    const refused = JSON.parse(readFileSync(status, 'utf8')).sinks[0];
    expect(hec.stored).toHaveLength(0);
    expect(refused).toMatchObject({ delivered: 0, deadLettered: 0, retryingSince: expect.any(String) });
    expect(refused.lastError).toMatch(/HTTP 403, HEC code 4: Invalid token/);
    // The operator fixes the token (here: the receiver starts accepting the one kaudit has).
    opts.token = 'wrong';
    await waitFor(() => hec.stored.length === 10, 'delivered after the fix');
    const r = await f.stop();
    await hec.close();
    expect(sameSetOnce(storedIds(hec), range(0, 10))).toBeNull();
    expect(r.status.sinks[0]).toMatchObject({ delivered: 10, deadLettered: 0, retryingSince: null });
    expect(existsSync(join(dir, `dead-letter.splunk-hec_http_127.0.0.1_${hec.port}_services_collector_event.jsonl`))).toBe(false);
  });

  it('a 503 "Server is busy" storm with Retry-After is waited out', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 20);
    const hec = await hecReceiver({ token: 't', request: (n) => (n <= 5 ? { status: 503, headers: { 'retry-after': '0' }, body: '{"text":"Server is busy","code":9}' } : null) });
    const f = startFollow([log], { ...FAST, sinks: [sink(`splunk-hec+http://127.0.0.1:${hec.port}`, { KAUDIT_HEC_TOKEN: 't' })] });
    await waitFor(() => hec.stored.length === 20, '20 stored');
    const r = await f.stop();
    await hec.close();
    expect(sameSetOnce(storedIds(hec), range(0, 20))).toBeNull();
    expect(r.status.sinks[0]).toMatchObject({ delivered: 20, retried: 100, lastRetryWaitMs: 0 });
  });
});

describe('http(s):// (NDJSON)', () => {
  it('splits a batch the collector refuses (400) until the bad item stands alone, and dead-letters only it', async () => {
    const dir = tmp();
    const log = join(dir, 'audit.log');
    append(log, 0, 40, poison);
    const rx = await ndjsonReceiver({ item: (doc) => ((doc.namespace as string) === 'poison' ? 400 : null) });
    const f = startFollow([log], { ...FAST, sinks: [sink(`http://127.0.0.1:${rx.port}/ingest?source=k8s`, { KAUDIT_HTTP_AUTHORIZATION: 'Bearer abc' })], deadLetterDir: dir });
    await waitFor(() => rx.stored.length === 36, '36 stored');
    const r = await f.stop();
    await rx.close();
    expect(sameSetOnce(storedIds(rx), range(0, 40).filter((_, i) => i % 10 !== 7))).toBeNull();
    expect(r.status.sinks[0]).toMatchObject({ delivered: 36, deadLettered: 4, dropped: 0 });
  });
});

describe('--to parsing', () => {
  it.each([
    ['syslog://user:pw@siem:514', /credentials in the URL are refused/],
    ['splunk-hec://splunk:8088', /KAUDIT_HEC_TOKEN is not set/],
    ['splunk-hec://splunk:8088?token=abc', /unknown option "token"/],
    ['elasticsearch://es:9200/Audit', /not a valid index name/],
    ['elasticsearch://es:9200/audit-%Q', /unknown date field %Q/],
    ['elasticsearch://es:9200/a?api-key-env=MY_KEY', /MY_KEY is not set/],
    ['syslog://siem:514?facility=bogus', /facility "bogus" is unknown/],
    ['kafka://broker:9092', /unknown sink/],
    ['file:', /needs a path/],
    ['file:out.jsonl?max-size=lots', /is not a size/],
  ])('%s is a usage error', (spec, msg) => {
    expect(() => sink(spec)).toThrow(msg);
  });

  it('names sinks without secrets and with their defaults', () => {
    expect(sink('syslog://10.0.0.5').name).toBe('syslog+tcp://10.0.0.5:514');
    expect(sink('syslog+tls://siem.example').name).toBe('syslog+tls://siem.example:6514');
    expect(sink('syslog+udp://[::1]:5514').name).toBe('syslog+udp://[::1]:5514');
    expect(sink('splunk-hec://splunk', { KAUDIT_HEC_TOKEN: 'x' }).name).toBe('splunk-hec://splunk:8088/services/collector/event');
    expect(sink('elasticsearch://es/k8s-%Y.%m').name).toBe('elasticsearch://es:9200/k8s-%Y.%m');
    expect(sink('opensearch+http://os:9201').name).toBe('elasticsearch+http://os:9201/kaudit-%Y.%m.%d');
    expect(sink('https://collector.example/v1/logs?x=1').name).toBe('https://collector.example/v1/logs');
    expect(sink('file:/var/log/k.jsonl?max-size=1M&keep=2').name).toBe('file:/var/log/k.jsonl');
  });
});

describe.skipIf(!hasOpenssl)('HTTPS sinks: --ca, client certificates, --insecure', () => {
  it('verifies the receiver against --ca and presents --cert/--key; a wrong CA is refused (retried, nothing sent), --insecure skips the check', async () => {
    const dir = tmp();
    const c = makeCerts(join(dir, 'certs'));
    const read = (p: string): Buffer => readFileSync(p);
    const log = join(dir, 'audit.log');
    append(log, 0, 5);
    const es = await bulkReceiver({ tls: { key: read(c.serverKey), cert: read(c.serverCert), ca: read(c.ca), requestCert: true } });
    const url = `elasticsearch://127.0.0.1:${es.port}/audit`;
    // Right CA and a client certificate: delivered.
    const ok = startFollow([log], { ...FAST, sinks: [sink(url, {}, { ca: read(c.ca), cert: read(c.clientCert), key: read(c.clientKey) })] });
    await waitFor(() => es.stored.length === 5, '5 stored over TLS');
    await ok.stop();
    // A CA that did not sign the server's certificate: refused before anything is sent.
    const status = join(dir, 'status.json');
    const wrong = startFollow([log], { ...FAST, statusPath: status, shutdownTimeoutMs: 100, sinks: [sink(url, {}, { ca: read(c.otherCa), cert: read(c.clientCert), key: read(c.clientKey) })] });
    await waitFor(() => (readJson(status)?.sinks?.[0]?.retried ?? 0) >= 5, 'a refused attempt');
    const st = readJson(status).sinks[0];
    await wrong.stop();
    expect(st.delivered).toBe(0);
    expect(st.lastError).toMatch(/certificate/i);
    const requestsBefore = es.requests;
    // --insecure: the same wrong CA, accepted (and the receiver's copy shows nothing new was refused).
    const insecure = startFollow([log], { ...FAST, sinks: [sink(url, {}, { ca: read(c.otherCa), cert: read(c.clientCert), key: read(c.clientKey), insecure: true })] });
    await waitFor(() => es.requests > requestsBefore && es.conflicts === 5, 'the 5 re-sent over an unverified connection (409: already there)');
    await insecure.stop();
    await es.close();
    expect(sameSetOnce(storedIds(es), range(0, 5))).toBeNull();
  });
});
