// Splunk HTTP Event Collector: events as JSON envelopes ({time, host, source, sourcetype, event}),
// several per request, `Authorization: Splunk <token>` with the token from an environment variable.
// Responses follow Splunk's HEC status codes: {"text": …, "code": n, "invalid-event-number": i}.
import type { Item, SendOutcome, Sink, TlsSettings } from '../types.js';
import { SinkError } from '../types.js';
import { HttpClient, hostPort } from './http-client.js';
import { excerpt, httpClass, sendBisecting, type Attempt } from './bisect.js';
import { parseRetryAfter } from '../retry.js';

/** HEC codes that blame the event, not the configuration (no data, invalid format, event field missing/blank, indexed fields). */
const EVENT_CODES = new Set([5, 6, 12, 13, 15]);

export interface HecOptions {
  token: string;
  host: string;
  index?: string;
  source: string;
  /** Per item kind: raw events default to kube:apiserver:audit, records to kaudit:record, findings to kaudit:finding. */
  sourcetype?: string;
  path: string;
}

const SOURCETYPES: Record<Item['kind'], string> = { event: 'kube:apiserver:audit', record: 'kaudit:record', finding: 'kaudit:finding' };

/** The HEC envelope of one item (the event is the item's JSON text, embedded as is). */
export function hecEnvelope(it: Item, o: Omit<HecOptions, 'token' | 'path'>): string {
  const time = Number.isFinite(it.timeMs) ? `"time":${(it.timeMs / 1000).toFixed(3)},` : '';
  const index = o.index ? `,"index":${JSON.stringify(o.index)}` : '';
  return `{${time}"host":${JSON.stringify(o.host)},"source":${JSON.stringify(o.source)},"sourcetype":${JSON.stringify(o.sourcetype ?? SOURCETYPES[it.kind])}${index},"event":${it.json}}`;
}

export class HecSink implements Sink {
  readonly name: string;
  private readonly client: HttpClient;

  constructor(
    url: URL,
    private readonly o: HecOptions,
    tls: TlsSettings,
    timeoutMs: number,
  ) {
    this.name = `splunk-hec${url.protocol === 'http:' ? '+http' : ''}://${hostPort(url)}${o.path}`;
    this.client = new HttpClient(url, tls, timeoutMs);
  }

  send(items: Item[], signal: AbortSignal): Promise<SendOutcome> {
    return sendBisecting(items, (part) => this.attempt(part, signal));
  }

  private async attempt(items: Item[], signal: AbortSignal): Promise<Attempt> {
    const body = items.map((it) => hecEnvelope(it, this.o)).join('\n');
    const res = await this.client.post(this.o.path, body, { authorization: `Splunk ${this.o.token}`, 'content-type': 'application/json' }, signal);
    const kind = httpClass(res.status);
    if (kind === 'ok') return { results: items.map(() => 'ok') };
    let text = excerpt(res.body);
    let code: number | undefined;
    let invalid: number | undefined;
    try {
      const j = JSON.parse(res.body) as { text?: unknown; code?: unknown; 'invalid-event-number'?: unknown };
      if (typeof j.text === 'string') text = j.text;
      if (typeof j.code === 'number') code = j.code;
      if (typeof j['invalid-event-number'] === 'number') invalid = j['invalid-event-number'];
    } catch {
      /* not JSON: a proxy's page */
    }
    const what = `HTTP ${res.status}${code !== undefined ? `, HEC code ${code}` : ''}: ${text}`;
    if (kind === 'retry') throw new SinkError(what, parseRetryAfter(res.headers['retry-after'], Date.now()));
    if (kind === 'content' && (code === undefined || EVENT_CODES.has(code))) {
      // HEC names the first invalid event; whether the ones before it were indexed is not documented,
      // so they are sent again (at-least-once) and only the named one is dead-lettered.
      if (invalid !== undefined && invalid >= 0 && invalid < items.length && items.length > 1) {
        return { results: items.map((_, i) => (i === invalid ? { rejected: what } : 'retry')), error: `event ${invalid} of ${items.length} refused (${what})` };
      }
      return { bisect: what };
    }
    throw new SinkError(`${what} (check the token in the environment variable and the index; retrying)`);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
