// Any webhook or collector: NDJSON (one item per line) POSTed to the URL as given. An
// Authorization header value can come from KAUDIT_HTTP_AUTHORIZATION (never from a flag).
import type { Item, SendOutcome, Sink, TlsSettings } from '../types.js';
import { SinkError } from '../types.js';
import { HttpClient, hostPort } from './http-client.js';
import { excerpt, httpClass, sendBisecting, type Attempt } from './bisect.js';
import { parseRetryAfter } from '../retry.js';

export class HttpSink implements Sink {
  readonly name: string;
  private readonly client: HttpClient;
  private readonly path: string;

  constructor(
    url: URL,
    private readonly authorization: string | undefined,
    tls: TlsSettings,
    timeoutMs: number,
  ) {
    this.name = `${url.protocol}//${hostPort(url)}${url.pathname}`;
    this.path = `${url.pathname}${url.search}`;
    this.client = new HttpClient(url, tls, timeoutMs);
  }

  send(items: Item[], signal: AbortSignal): Promise<SendOutcome> {
    return sendBisecting(items, (part) => this.attempt(part, signal));
  }

  private async attempt(items: Item[], signal: AbortSignal): Promise<Attempt> {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.authorization) headers.authorization = this.authorization;
    const body = items.map((it) => it.json).join('\n') + '\n';
    const res = await this.client.post(this.path, body, headers, signal);
    const kind = httpClass(res.status);
    const what = `HTTP ${res.status}: ${excerpt(res.body)}`;
    if (kind === 'ok') return { results: items.map(() => 'ok') };
    if (kind === 'content') return { bisect: what };
    if (kind === 'retry') throw new SinkError(what, parseRetryAfter(res.headers['retry-after'], Date.now()));
    throw new SinkError(`${what} (check the URL and KAUDIT_HTTP_AUTHORIZATION; retrying)`);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
