// One keep-alive HTTP(S) connection per sink, Node's own client. TLS verifies the server against the
// system roots or --ca, presents --cert/--key when given, and skips verification only with --insecure.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TlsSettings } from '../types.js';
import { SinkError } from '../types.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Responses larger than this are cut (we only read statuses and error reasons from them). */
const MAX_RESPONSE = 32 << 20;

export class HttpClient {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly https: boolean;

  constructor(
    readonly base: URL,
    tls: TlsSettings,
    private readonly timeoutMs: number,
  ) {
    this.https = base.protocol === 'https:';
    this.agent = this.https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure })
      : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  /** POSTs `body` to `path` (with query). Connection errors, timeouts and aborts reject with a SinkError. */
  post(path: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const payload = Buffer.from(body, 'utf8');
      const req = (this.https ? httpsRequest : httpRequest)(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname.replace(/^\[|\]$/g, ''),
          port: this.base.port || (this.https ? 443 : 80),
          method: 'POST',
          path,
          agent: this.agent,
          headers: { 'content-length': String(payload.length), 'user-agent': 'kaudit-follow', ...headers },
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_RESPONSE) chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(new SinkError(`response interrupted: ${e.message}`)));
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no response within ${this.timeoutMs} ms`)));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new SinkError(describe(e))));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A connection error in words an operator can act on. */
export function describe(e: NodeJS.ErrnoException): string {
  const code = e.code ? `${e.code}: ` : '';
  return `${code}${e.message}`;
}

/** `host:port` from a URL, for names (no credentials, no query). */
export function hostPort(u: URL): string {
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}
