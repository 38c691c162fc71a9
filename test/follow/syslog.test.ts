// Syslog against a real rsyslogd (started by the test on loopback, own config): TCP with octet
// counting, TLS with a client certificate (certificates made here with openssl), and UDP. What
// rsyslog wrote is compared with what was sent: the raw message byte for byte, and the fields
// rsyslog parsed from it (RFC 5424 header), so a malformed header cannot pass.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { auditEvent, idOf, lines, readJson, startFollow, tmp, waitFor } from './helpers.js';
import { hasOpenssl, hasRsyslog, hasRsyslogTls, makeCerts, startRsyslog, type Certs } from './peers.js';
import { makeSink } from '../../src/follow/sinks/index.js';
import { octetFrame, syslogMessage, headerField } from '../../src/follow/sinks/syslog.js';
import type { Item, Sink } from '../../src/follow/types.js';
import { runCli } from '../helpers.js';

function sink(spec: string, tls: { ca?: string; cert?: string; key?: string } = {}): Sink {
  const read = (p?: string): Buffer | undefined => (p ? readFileSync(p) : undefined);
  return makeSink(spec, { env: {}, tls: { ca: read(tls.ca), cert: read(tls.cert), key: read(tls.key), insecure: false }, stdout: new PassThrough(), hostname: 'node-1', timeoutMs: 5000 });
}

describe('RFC 5424 messages and octet counting', () => {
  const item: Item = { kind: 'record', id: 'x', time: '2026-03-02T10:00:00.123456Z', timeMs: 0, json: '{"subject":"zoë"}', severity: 6 };
  it('formats <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG', () => {
    expect(syslogMessage(item, { facility: 16, hostname: 'node-1', appName: 'kaudit', procId: '42' })).toBe('<134>1 2026-03-02T10:00:00.123456Z node-1 kaudit 42 record - {"subject":"zoë"}');
    // A time that does not fit RFC 5424 (7 fraction digits) is the NILVALUE, not sent malformed.
    expect(syslogMessage({ ...item, time: '2026-03-02T10:00:00.1234567Z', kind: 'finding', severity: 3 }, { facility: 13, hostname: 'a b', appName: '', procId: '1' })).toBe('<107>1 - ab - 1 finding - {"subject":"zoë"}');
  });
  it('counts octets, not characters', () => {
    const f = octetFrame('<134>1 - - - - - - é');
    expect(f.toString('utf8')).toBe('21 <134>1 - - - - - - é');
  });
  it('keeps header fields printable US-ASCII and within their lengths', () => {
    expect(headerField('hôst\nname', 255)).toBe('hstname');
    expect(headerField('x'.repeat(60), 48)).toHaveLength(48);
    expect(headerField('', 48)).toBe('-');
  });
});

describe.skipIf(!hasRsyslog || !hasOpenssl)('syslog to a real rsyslogd', () => {
  let dir: string;
  let log: string;
  let certs: Certs;
  const expected = new Map<string, string>();

  beforeAll(async () => {
    dir = tmp();
    certs = makeCerts(join(dir, 'certs'));
    log = join(dir, 'audit.log');
    // Unicode, a 30 KB request URI, and a time rsyslog must take as given.
    writeFileSync(
      log,
      lines(0, 30, (i) => (i === 3 ? { user: { username: 'zoë@example.com ☸', groups: ['system:authenticated'] } } : i === 4 ? { requestURI: `/api/v1/namespaces/x/pods?labelSelector=${'a'.repeat(30_000)}` } : {})),
    );
    const exported = (await runCli(['export', log, '-q'])).stdout.trim().split('\n');
    for (const l of exported) expected.set(JSON.parse(l).auditID, l);
  });

  /** rawmsg must be exactly what kaudit sent, and rsyslog's parse of it must give the same fields. */
  function check(got: Record<string, string>[], n: number): void {
    const ids = got.map((m) => JSON.parse(m.msg!).auditID as string);
    expect(ids.sort()).toEqual([...expected.keys()].slice(0, n).sort());
    for (const m of got) {
      const json = expected.get(JSON.parse(m.msg!).auditID)!;
      const rec = JSON.parse(json);
      expect(m.msg).toBe(json);
      expect(m.rawmsg).toBe(`<134>1 ${rec.time} node-1 kaudit ${process.pid} record - ${json}`);
      expect(m).toMatchObject({ pri: '134', syslogfacility: '16', syslogseverity: '6', hostname: 'node-1', 'app-name': 'kaudit', procid: String(process.pid), msgid: 'record', 'structured-data': '-', 'protocol-version': '1', timereported: rec.time });
    }
  }

  it('TCP with octet-counting framing', async () => {
    const rs = await startRsyslog(join(dir, 'tcp'), { tcp: true });
    const f = startFollow([log], { sinks: [sink(`syslog://127.0.0.1:${rs.tcpPort}`)] });
    await waitFor(() => rs.messages().length === 30, '30 messages in rsyslog');
    const r = await f.stop();
    await rs.stop();
    check(rs.messages(), 30);
    expect(r.status.sinks[0]).toMatchObject({ name: `syslog+tcp://127.0.0.1:${rs.tcpPort}`, delivered: 30, dropped: 0 });
  });

  it('UDP, one message per datagram', async () => {
    const rs = await startRsyslog(join(dir, 'udp'), { udp: true });
    const f = startFollow([log], { sinks: [sink(`syslog+udp://127.0.0.1:${rs.udpPort}`)] });
    await waitFor(() => rs.messages().length === 30, '30 messages in rsyslog');
    await f.stop();
    await rs.stop();
    check(rs.messages(), 30);
  });

  it.skipIf(!hasRsyslogTls)('TLS, verifying rsyslog against the CA and presenting a client certificate', async () => {
    const rs = await startRsyslog(join(dir, 'tls'), { tls: certs });
    const f = startFollow([log], { sinks: [sink(`syslog+tls://127.0.0.1:${rs.tlsPort}`, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })] });
    await waitFor(() => rs.messages().length === 30, '30 messages in rsyslog');
    await f.stop();
    await rs.stop();
    check(rs.messages(), 30);
  });

  it.skipIf(!hasRsyslogTls)('TLS refuses a server its CA did not sign (no --insecure by default): retried, never sent in clear', async () => {
    const rs = await startRsyslog(join(dir, 'tls-wrong-ca'), { tls: certs });
    const status = join(dir, 'tls-wrong-ca', 'status.json');
    const f = startFollow([log], { statusPath: status, shutdownTimeoutMs: 100, sinks: [sink(`syslog+tls://127.0.0.1:${rs.tlsPort}`, { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey })] });
    await waitFor(() => (readJson(status)?.sinks?.[0]?.retried ?? 0) >= 30, 'a refused attempt in the status');
    const st = readJson(status).sinks[0];
    await f.stop();
    await rs.stop();
    expect(st.delivered).toBe(0);
    expect(st.lastError).toMatch(/certificate/i);
    expect(rs.messages()).toHaveLength(0);
  });

  it.skipIf(!hasRsyslogTls)('TLS 1.3: a client certificate the server refuses after the handshake is a failure, not a delivery', async () => {
    const rs = await startRsyslog(join(dir, 'tls-no-cert'), { tls: certs });
    const status = join(dir, 'tls-no-cert', 'status.json');
    const f = startFollow([log], { statusPath: status, shutdownTimeoutMs: 100, sinks: [sink(`syslog+tls://127.0.0.1:${rs.tlsPort}`, { ca: certs.ca })] });
    await waitFor(() => (readJson(status)?.sinks?.[0]?.retried ?? 0) >= 60, 'two refused attempts in the status');
    const st = readJson(status).sinks[0];
    await f.stop();
    await rs.stop();
    expect(st.delivered).toBe(0);
    expect(st.lastError).toMatch(/certificate required|client certificate refused/);
  });

  it('the CLI forwards to rsyslog and stops on SIGTERM with exit code 0', async () => {
    const rs = await startRsyslog(join(dir, 'cli'), { tcp: true });
    const { startCli } = await import('./helpers.js');
    const cli = startCli([log, '--to', `syslog://127.0.0.1:${rs.tcpPort}?facility=audit&app-name=kaudit`, '--hostname', 'node-1', '--poll-interval', '50ms', '-q']);
    await waitFor(() => rs.messages().length === 30, '30 messages in rsyslog');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    await rs.stop();
    const m = rs.messages().find((x) => JSON.parse(x.msg!).auditID === idOf(0))!;
    expect(m).toMatchObject({ pri: String(13 * 8 + 6), hostname: 'node-1', 'app-name': 'kaudit', procid: String(cli.child.pid) });
    void auditEvent;
  });
});
