// Syslog: RFC 5424 messages, over TCP with octet-counting framing (RFC 6587 §3.4.1), over TLS
// (RFC 5425, the same framing), or one message per UDP datagram (RFC 5426).
//
// TCP and TLS have no application-level acknowledgement: a batch counts as delivered once the
// kernel took all its bytes. Bytes in flight when a connection breaks can be lost without either
// side knowing; UDP has no delivery confirmation at all. Prefer an HTTP sink where that matters.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { Item, ItemResult, SendOutcome, Sink, TlsSettings } from '../types.js';
import { SinkError } from '../types.js';
import { describe } from './http-client.js';

export type SyslogTransport = 'tcp' | 'tls' | 'udp';

/** How long close() waits for the kernel to take the last bytes before it destroys the connection. */
const CLOSE_WAIT_MS = 1000;

/** How long to wait for a TLS 1.3 server's verdict on our certificate (its first session ticket). */
const POST_HANDSHAKE_WAIT_MS = 1000;

export interface SyslogOptions {
  transport: SyslogTransport;
  host: string;
  port: number;
  /** RFC 5424 facility code (0–23). */
  facility: number;
  hostname: string;
  appName: string;
  procId: string;
  /** Messages longer than this (bytes) go to the dead-letter file instead of being truncated by the receiver. */
  maxMessage: number;
  connectTimeoutMs: number;
}

/** RFC 5424 §6.2.1 facility names. */
export const FACILITIES: Record<string, number> = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11, ntp: 12, audit: 13, alert: 14, clock: 15,
  local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23,
};

/** RFC 5424 TIMESTAMP: FULL-DATE "T" FULL-TIME, at most 6 fraction digits, Z or ±hh:mm. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** A header field: PRINTUSASCII (33–126), at most `max` characters, or the NILVALUE `-`. */
export function headerField(s: string, max: number): string {
  const t = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return t === '' ? '-' : t;
}

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`. TIMESTAMP is the
 * event's time as the API server wrote it (NILVALUE when it does not fit the grammar); MSGID is the
 * item kind (record, event, finding); no structured data; MSG is the JSON text, UTF-8 without a BOM.
 */
export function syslogMessage(it: Item, o: Pick<SyslogOptions, 'facility' | 'hostname' | 'appName' | 'procId'>): string {
  const ts = TIMESTAMP.test(it.time) ? it.time : '-';
  return `<${o.facility * 8 + it.severity}>1 ${ts} ${headerField(o.hostname, 255)} ${headerField(o.appName, 48)} ${headerField(o.procId, 128)} ${it.kind} - ${it.json}`;
}

/** Octet-counting frame: MSG-LEN SP SYSLOG-MSG, the length in bytes. */
export function octetFrame(msg: string): Buffer {
  const body = Buffer.from(msg, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

export class SyslogSink implements Sink {
  readonly name: string;
  private socket: Socket | null = null;
  private udp: UdpSocket | null = null;

  constructor(
    private readonly o: SyslogOptions,
    private readonly tls: TlsSettings,
  ) {
    const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
    this.name = `syslog+${o.transport}://${host}:${o.port}`;
  }

  async send(items: Item[], signal: AbortSignal): Promise<SendOutcome> {
    const results: ItemResult[] = [];
    const frames: Buffer[] = [];
    for (const it of items) {
      const msg = syslogMessage(it, this.o);
      const len = Buffer.byteLength(msg);
      if (len > this.o.maxMessage) {
        results.push({ rejected: `message of ${len} bytes exceeds max-message=${this.o.maxMessage} (raise it to what the receiver accepts)` });
        continue;
      }
      results.push('ok');
      frames.push(this.o.transport === 'udp' ? Buffer.from(msg, 'utf8') : octetFrame(msg));
    }
    if (frames.length === 0) return { results };
    if (this.o.transport === 'udp') await this.sendUdp(frames);
    else await this.sendStream(Buffer.concat(frames), signal);
    return { results };
  }

  private async sendStream(data: Buffer, signal: AbortSignal): Promise<void> {
    const s = this.socket ?? (await this.connect(signal));
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        s.off('error', fail);
        signal.removeEventListener('abort', abort);
        this.drop();
        reject(new SinkError(describe(e as NodeJS.ErrnoException)));
      };
      // A receiver that stops reading fills both kernel buffers and the write never completes: the
      // stop signal (shutdown timeout, second signal) gives up on it, and the batch is not delivered.
      const abort = (): void => fail(new Error('stopped while the receiver was not reading (batch not delivered)'));
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      s.once('error', fail);
      s.write(data, (e) => {
        if (e) return fail(e);
        if (settled) return;
        settled = true;
        s.off('error', fail);
        signal.removeEventListener('abort', abort);
        resolve();
      });
    });
  }

  private connect(signal: AbortSignal): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const opts = { host: this.o.host, port: this.o.port };
      const s =
        this.o.transport === 'tls'
          ? tlsConnect({ ...opts, servername: isIP(this.o.host) ? undefined : this.o.host, ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key, rejectUnauthorized: !this.tls.insecure })
          : netConnect(opts);
      const timer = setTimeout(() => s.destroy(new Error(`no connection within ${this.o.connectTimeoutMs} ms`)), this.o.connectTimeoutMs);
      const abort = (): void => void s.destroy(new Error('aborted'));
      signal.addEventListener('abort', abort, { once: true });
      let settled = false;
      const done = (e?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        if (e) {
          s.destroy();
          reject(new SinkError(describe(e as NodeJS.ErrnoException)));
          return;
        }
        s.setKeepAlive(true, 30_000);
        s.on('error', () => this.drop());
        s.on('close', () => {
          if (this.socket === s) this.socket = null;
        });
        // The receiver closed its side: what we write next would be lost.
        s.on('end', () => this.drop());
        s.on('data', () => undefined);
        this.socket = s;
        resolve(s);
      };
      s.once('error', done);
      s.once(this.o.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        if (this.o.transport === 'tls' && (s as TLSSocket).getProtocol() === 'TLSv1.3') {
          // In TLS 1.3 the server judges our client certificate after the handshake: a refusal comes
          // as an alert just after 'secureConnect', and whatever was written by then is lost. Its
          // first session ticket means it accepted us; a server that sends none is trusted after a pause.
          const t = setTimeout(accepted, POST_HANDSHAKE_WAIT_MS);
          s.once('session', accepted);
          s.once('close', refused);
          function accepted(): void {
            clearTimeout(t);
            s.off('session', accepted);
            s.off('close', refused);
            s.off('error', done);
            done();
          }
          function refused(): void {
            clearTimeout(t);
            s.off('session', accepted);
            done(new Error('the server closed the connection after the TLS handshake (client certificate refused?)'));
          }
          return;
        }
        s.off('error', done);
        done();
      });
    });
  }

  private drop(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private async sendUdp(frames: Buffer[]): Promise<void> {
    if (!this.udp) {
      const u = createSocket(isIP(this.o.host) === 6 ? 'udp6' : 'udp4');
      u.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        u.once('error', reject);
        u.connect(this.o.port, this.o.host, () => {
          u.off('error', reject);
          resolve();
        });
      }).catch((e: Error) => {
        u.close();
        throw new SinkError(describe(e as NodeJS.ErrnoException));
      });
      this.udp = u;
    }
    const u = this.udp;
    for (const f of frames) {
      await new Promise<void>((resolve, reject) =>
        u.send(f, (e) => {
          if (e) {
            this.udp = null;
            u.close();
            reject(new SinkError(describe(e as NodeJS.ErrnoException)));
          } else resolve();
        }),
      );
    }
  }

  async reopen(): Promise<void> {
    this.drop();
  }

  /**
   * Ends the connection: a clean close once the kernel took every byte, else (bytes still waiting
   * for a receiver that does not read, or no 'finish' within CLOSE_WAIT_MS) the socket is
   * destroyed. Never waits on the receiver longer than that.
   */
  async close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    if (s) {
      if (s.writableLength > 0 || s.destroyed) s.destroy();
      else {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            s.destroy();
            resolve();
          }, CLOSE_WAIT_MS);
          s.end(() => {
            clearTimeout(t);
            resolve();
          });
          s.once('close', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    }
    this.udp?.close();
    this.udp = null;
  }
}
