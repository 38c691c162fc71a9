// Elasticsearch and OpenSearch `_bulk`: one `create` action per item with `_id` set to the item's
// id, into an index named with a date pattern of the event time (so a re-delivery lands in the
// same index and is refused as a duplicate, 409, instead of indexed twice). Each item's result is
// read: failed items with a retryable status (429, 5xx) are sent again, alone; items refused for
// their content (400 mapper_parsing_exception…) go to the dead-letter file.
import type { Item, ItemResult, SendOutcome, Sink, TlsSettings } from '../types.js';
import { SinkError } from '../types.js';
import { HttpClient, hostPort } from './http-client.js';
import { excerpt, httpClass, sendBisecting, type Attempt } from './bisect.js';
import { parseRetryAfter } from '../retry.js';
import { UsageError } from '../../util/errors.js';

export interface EsOptions {
  /** Index name, with strftime-style %Y %m %d %H of the event time (UTC). */
  index: string;
  apiKey?: string;
  pipeline?: string;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The index for one item: %Y, %m, %d, %H of its event time in UTC (the current time when it has none); %% is a percent sign. */
export function indexName(pattern: string, timeMs: number): string {
  const d = new Date(Number.isFinite(timeMs) ? timeMs : Date.now());
  return pattern.replace(/%([YmdH%])/g, (_, c: string) => (c === 'Y' ? String(d.getUTCFullYear()) : c === 'm' ? pad(d.getUTCMonth() + 1) : c === 'd' ? pad(d.getUTCDate()) : c === 'H' ? pad(d.getUTCHours()) : '%'));
}

/** Elasticsearch's index name rules (lowercase, no \ / * ? " < > | space , #, not starting with - _ +, not . or ..), checked on the pattern with a sample date. */
export function checkIndexPattern(pattern: string): void {
  const bad = /%[^YmdH%]/.exec(pattern);
  if (bad) throw new UsageError(`elasticsearch index ${JSON.stringify(pattern)}: unknown date field ${bad[0]}`, 'use %Y, %m, %d and %H (UTC), e.g. kaudit-%Y.%m.%d');
  const sample = indexName(pattern, Date.UTC(2026, 0, 2, 3));
  if (sample === '' || sample !== sample.toLowerCase() || /[\\/*?"<>| ,#:]/.test(sample) || /^[-_+]/.test(sample) || sample === '.' || sample === '..' || Buffer.byteLength(sample) > 255) {
    throw new UsageError(`elasticsearch index ${JSON.stringify(pattern)} is not a valid index name`, 'lowercase, no spaces or \\ / * ? " < > | , # :, not starting with - _ +; e.g. kaudit-%Y.%m.%d');
  }
}

interface BulkItem {
  status?: number;
  error?: { type?: string; reason?: string };
}

export class ElasticsearchSink implements Sink {
  readonly name: string;
  private readonly client: HttpClient;
  private readonly path: string;

  constructor(
    url: URL,
    private readonly o: EsOptions,
    tls: TlsSettings,
    timeoutMs: number,
  ) {
    this.name = `elasticsearch${url.protocol === 'http:' ? '+http' : ''}://${hostPort(url)}/${o.index}`;
    this.client = new HttpClient(url, tls, timeoutMs);
    const q = new URLSearchParams({ filter_path: 'errors,items.*.status,items.*.error.type,items.*.error.reason' });
    if (o.pipeline) q.set('pipeline', o.pipeline);
    const prefix = url.pathname.replace(/\/[^/]*$/, '');
    this.path = `${prefix}/_bulk?${q}`;
  }

  /** The NDJSON body of one `_bulk` request. */
  body(items: Item[]): string {
    let s = '';
    for (const it of items) {
      const meta: Record<string, string> = { _index: indexName(this.o.index, it.timeMs) };
      if (it.id) meta._id = it.id;
      s += `${JSON.stringify({ create: meta })}\n${it.json}\n`;
    }
    return s;
  }

  send(items: Item[], signal: AbortSignal): Promise<SendOutcome> {
    return sendBisecting(items, (part) => this.attempt(part, signal));
  }

  private async attempt(items: Item[], signal: AbortSignal): Promise<Attempt> {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.o.apiKey) headers.authorization = `ApiKey ${this.o.apiKey}`;
    const res = await this.client.post(this.path, this.body(items), headers, signal);
    const kind = httpClass(res.status);
    const what = `HTTP ${res.status}: ${excerpt(res.body)}`;
    if (kind === 'retry') throw new SinkError(what, parseRetryAfter(res.headers['retry-after'], Date.now()));
    if (kind === 'content') return { bisect: what };
    if (kind === 'config') throw new SinkError(`${what} (check the API key in the environment variable and the index privileges; retrying)`);
    let parsed: { errors?: boolean; items?: Record<string, BulkItem>[] };
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      throw new SinkError(`_bulk answered ${res.status} with a body that is not JSON: ${excerpt(res.body)}`);
    }
    if (parsed.errors === false && !parsed.items) return { results: items.map(() => 'ok') };
    const got = parsed.items ?? [];
    if (got.length !== items.length) throw new SinkError(`_bulk answered ${got.length} item results for ${items.length} items sent`);
    let duplicates = 0;
    let error: string | undefined;
    let retryAfterMs: number | undefined;
    const results: ItemResult[] = got.map((entry) => {
      const r = Object.values(entry)[0] ?? {};
      const st = r.status ?? 0;
      if (st >= 200 && st < 300) return 'ok';
      const reason = `${st} ${r.error?.type ?? ''}: ${r.error?.reason ?? ''}`.trim();
      if (st === 409) {
        duplicates++;
        return 'ok';
      }
      const c = httpClass(st);
      if (c === 'retry' || c === 'config') {
        error ??= `item refused for now: ${reason}`;
        if (st === 429) retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
        return 'retry';
      }
      return { rejected: reason };
    });
    return { results, duplicates, ...(error ? { error } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
