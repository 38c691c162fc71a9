// Real peers for the syslog tests: test certificates made with the openssl CLI, and rsyslogd
// started on loopback ports with a configuration and work directory of its own (never the
// system's), writing every message it receives from kaudit as one JSON line (%jsonmesg%).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export const hasRsyslog = spawnSync('sh', ['-c', 'command -v rsyslogd'], { encoding: 'utf8' }).status === 0;
export const hasOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
/** rsyslog's TLS driver (Debian package rsyslog-openssl) is a separate module. */
export const hasRsyslogTls = ['/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so', '/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_ossl.so', '/usr/lib/rsyslog/lmnsd_ossl.so'].some(existsSync);

export async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Certs {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: verifying against it must fail. */
  otherCa: string;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, EC P-256, valid two days. */
export function makeCerts(dir: string): Certs {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=kaudit test CA']);
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=some other CA']);
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
    ['client', 'kaudit-client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n${ext}`);
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  }
  return { ca: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server.key'), clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client.key'), otherCa: join(dir, 'other.pem') };
}

export interface Rsyslog {
  tcpPort?: number;
  udpPort?: number;
  tlsPort?: number;
  out: string;
  /** Messages received from app-name kaudit, as rsyslog's %jsonmesg% properties. */
  messages(): Record<string, string>[];
  stop(): Promise<void>;
}

/** Starts rsyslogd in the foreground with its own config in `dir`: TCP and UDP, or TLS (requiring a client certificate signed by the CA). */
export async function startRsyslog(dir: string, o: { tcp?: boolean; udp?: boolean; tls?: Certs }): Promise<Rsyslog> {
  mkdirSync(join(dir, 'work'), { recursive: true });
  const out = join(dir, 'received.jsonl');
  const tcpPort = o.tcp ? await freeTcpPort() : undefined;
  const udpPort = o.udp ? await freeUdpPort() : undefined;
  const tlsPort = o.tls ? await freeTcpPort() : undefined;
  const conf = [
    `global(workDirectory="${join(dir, 'work')}" maxMessageSize="256k"${o.tls ? ` defaultNetstreamDriver="ossl" defaultNetstreamDriverCAFile="${o.tls.ca}" defaultNetstreamDriverCertFile="${o.tls.serverCert}" defaultNetstreamDriverKeyFile="${o.tls.serverKey}"` : ''})`,
    o.tls ? 'module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")' : o.tcp ? 'module(load="imtcp")' : '',
    o.udp ? 'module(load="imudp")' : '',
    tcpPort ? `input(type="imtcp" port="${tcpPort}" address="127.0.0.1")` : '',
    tlsPort ? `input(type="imtcp" port="${tlsPort}" address="127.0.0.1")` : '',
    udpPort ? `input(type="imudp" port="${udpPort}" address="127.0.0.1")` : '',
    'template(name="j" type="string" string="%jsonmesg%\\n")',
    `if $app-name == 'kaudit' then action(type="omfile" file="${out}" template="j")`,
    `if $app-name == 'probe' then action(type="omfile" file="${out}.probe" template="j")`,
  ].join('\n');
  const confPath = join(dir, 'rsyslog.conf');
  writeFileSync(confPath, conf + '\n');
  const child: ChildProcess = spawn('rsyslogd', ['-n', '-f', confPath, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d));
  child.stderr!.on('data', (d: Buffer) => (log += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  // Ready when its ports answer (TCP, TLS) and a UDP probe came through.
  const deadline = Date.now() + 20_000;
  const wait = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    while (!(await check())) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`rsyslogd did not get ready (${what}): ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  for (const port of [tcpPort, tlsPort]) {
    if (port) await wait(() => new Promise((res) => connect(port, '127.0.0.1').on('connect', function (this: import('node:net').Socket) { this.destroy(); res(true); }).on('error', () => res(false))), `port ${port}`);
  }
  if (udpPort) {
    const probe = createSocket('udp4');
    await wait(async () => {
      probe.send(Buffer.from('<14>1 - - probe - - - ready'), udpPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      return existsSync(`${out}.probe`) && readFileSync(`${out}.probe`, 'utf8').length > 0;
    }, 'udp probe');
    probe.close();
  }
  return {
    tcpPort,
    udpPort,
    tlsPort,
    out,
    // Whole lines only: rsyslog may be in the middle of writing the last one.
    messages: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>) : []),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
