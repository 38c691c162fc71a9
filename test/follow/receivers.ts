// Local receivers (127.0.0.1 only) that answer as the real services document:
// - Elasticsearch `_bulk` (create with _id: 201, or 409 version_conflict_engine_exception when the
//   id exists; per-item errors; `errors: true` when any item failed);
// - Splunk HEC (`Authorization: Splunk <token>`, {"text":"Success","code":0}; 400 code 6 with
//   invalid-event-number; 403 code 4 for a wrong token; 503 code 9 when busy);
// - a plain NDJSON collector.
// Each can be told to fail: whole requests (status, Retry-After, or a dropped connection) and
// single items.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Fault {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface ReceiverOptions {
  /** Per request (1-based): a whole-request failure, 'drop' (destroy the connection without answer; after storing when `processFirst`), or null. */
  request?: (n: number, body: string) => Fault | 'drop' | 'drop-after' | null;
  /** _bulk and NDJSON: per item (its document and how often its id was seen), a failing status or null. */
  item?: (doc: Record<string, unknown>, seen: number) => number | null;
  token?: string;
  /** Keep every request body in `bodies` (default true; long tests turn it off). */
  keepBodies?: boolean;
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer; requestCert?: boolean };
}

export interface Receiver {
  url: string;
  port: number;
  /** Bulk: index/_id → document text. HEC and NDJSON: every event text stored, in order. */
  docs: Map<string, string>;
  stored: string[];
  requests: number;
  /** Items answered 409 (already there). */
  conflicts: number;
  /** Request bodies as received (kept only with keepBodies). */
  bodies: string[];
  /** Times (ms) at which requests arrived. */
  arrivals: number[];
  close(): Promise<void>;
  /** Stop listening (connections are refused) and drop open connections… */
  down(): Promise<void>;
  /** …and listen again on the same port. */
  up(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function start(kind: 'bulk' | 'hec' | 'ndjson', o: ReceiverOptions): Promise<Receiver> {
  const r: Receiver = { url: '', port: 0, docs: new Map(), stored: [], requests: 0, conflicts: 0, bodies: [], arrivals: [], close: async () => undefined, down: async () => undefined, up: async () => undefined };
  const seen = new Map<string, number>();
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const n = ++r.requests;
    if (o.keepBodies !== false) r.bodies.push(body);
    r.arrivals.push(Date.now());
    const fault = o.request?.(n, body) ?? null;
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault && fault !== 'drop-after') {
      json(res, fault.status, fault.body ?? (kind === 'hec' ? { text: 'Server is busy', code: 9 } : { error: `status ${fault.status}` }), fault.headers);
      return;
    }
    const answer = kind === 'bulk' ? bulk(body) : kind === 'hec' ? hec(req, body) : ndjson(body);
    if (fault === 'drop-after') {
      // Processed, but the answer never arrives: the client must retry, and must not store twice.
      req.socket.destroy();
      return;
    }
    json(res, answer.status, answer.body);
  };

  function bulk(body: string): { status: number; body: unknown } {
    const ls = body.split('\n').filter((l) => l !== '');
    const items: unknown[] = [];
    for (let i = 0; i + 1 < ls.length; i += 2) {
      const action = JSON.parse(ls[i]!) as { create?: { _index: string; _id?: string } };
      const meta = action.create!;
      const doc = JSON.parse(ls[i + 1]!) as Record<string, unknown>;
      const id = meta._id ?? `auto-${r.docs.size}-${i}`;
      const key = `${meta._index}/${id}`;
      const times = (seen.get(key) ?? 0) + 1;
      seen.set(key, times);
      const failing = o.item?.(doc, times) ?? null;
      if (failing !== null) {
        items.push({ create: { _index: meta._index, _id: id, status: failing, error: { type: failing === 429 ? 'es_rejected_execution_exception' : 'mapper_parsing_exception', reason: `injected ${failing}` } } });
      } else if (r.docs.has(key)) {
        r.conflicts++;
        items.push({ create: { _index: meta._index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists` } } });
      } else {
        r.docs.set(key, ls[i + 1]!);
        r.stored.push(ls[i + 1]!);
        items.push({ create: { _index: meta._index, _id: id, _version: 1, result: 'created', status: 201 } });
      }
    }
    return { status: 200, body: { took: 1, errors: items.some((x) => (x as { create: { status: number } }).create.status >= 300), items } };
  }

  function hec(req: IncomingMessage, body: string): { status: number; body: unknown } {
    if (o.token !== undefined && req.headers.authorization !== `Splunk ${o.token}`) {
      return req.headers.authorization ? { status: 403, body: { text: 'Invalid token', code: 4 } } : { status: 401, body: { text: 'Token is required', code: 2 } };
    }
    const events = body.split('\n').filter((l) => l !== '');
    const parsed: Record<string, unknown>[] = [];
    for (let i = 0; i < events.length; i++) {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(events[i]!) as Record<string, unknown>;
      } catch {
        return { status: 400, body: { text: 'Invalid data format', code: 6, 'invalid-event-number': i } };
      }
      if (e.event === undefined) return { status: 400, body: { text: 'Event field is required', code: 12, 'invalid-event-number': i } };
      const times = 1;
      if (o.item?.(e.event as Record<string, unknown>, times) != null) return { status: 400, body: { text: 'Invalid data format', code: 6, 'invalid-event-number': i } };
      parsed.push(e);
    }
    // HEC takes the request whole or not at all (in this receiver).
    for (const e of parsed) r.stored.push(JSON.stringify(e.event));
    return { status: 200, body: { text: 'Success', code: 0 } };
  }

  function ndjson(body: string): { status: number; body: unknown } {
    const ls = body.split('\n').filter((l) => l !== '');
    for (const l of ls) if (o.item?.(JSON.parse(l) as Record<string, unknown>, 1) != null) return { status: 400, body: { error: 'bad item' } };
    r.stored.push(...ls);
    return { status: 200, body: { ok: true } };
  }

  const server: Server = o.tls
    ? createHttpsServer({ key: o.tls.key, cert: o.tls.cert, ...(o.tls.ca ? { ca: o.tls.ca } : {}), requestCert: o.tls.requestCert ?? false, rejectUnauthorized: o.tls.requestCert ?? false }, (req, res) => void handler(req, res))
    : createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as AddressInfo).port;
  r.url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${r.port}`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  r.down = r.close;
  r.up = () => new Promise<void>((resolve) => server.listen(r.port, '127.0.0.1', resolve));
  return r;
}

export const bulkReceiver = (o: ReceiverOptions = {}): Promise<Receiver> => start('bulk', o);
export const hecReceiver = (o: ReceiverOptions = {}): Promise<Receiver> => start('hec', o);
export const ndjsonReceiver = (o: ReceiverOptions = {}): Promise<Receiver> => start('ndjson', o);

/** auditIDs of stored records (normalized records and raw events both have one). */
export function storedIds(r: Receiver): string[] {
  return r.stored.map((s) => (JSON.parse(s) as { auditID: string }).auditID);
}
