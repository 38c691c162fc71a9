// Types of `audit follow` (src/follow): what is sent, what a sink answers, and the checkpoint.

/**
 * One thing to deliver: a normalized record, a raw audit event, or a finding. Serialized once,
 * here; every sink frames the same `json` text its own way.
 */
export interface Item {
  kind: 'record' | 'event' | 'finding';
  /**
   * Stable identity (32 hex characters) of what the item describes: the request (records), the
   * request and stage (raw events), or the rule and request (findings). Elasticsearch uses it as
   * `_id`, which makes a re-delivery after a crash a no-op. '' when the event has no auditID.
   */
  id: string;
  /** Event time as written by the API server (RFC 3339), '' when unknown. */
  time: string;
  /** `time` as epoch milliseconds; NaN when unknown. */
  timeMs: number;
  /** The JSON text of the record, event or finding (one line, no newline). */
  json: string;
  /** Syslog severity (RFC 5424 §6.2.1): 6 informational for records and events, by severity for findings. */
  severity: number;
}

/** What a sink did with each item of one request: delivered, to be sent again, or rejected for good (the reason). */
export type ItemResult = 'ok' | 'retry' | { rejected: string };

export interface SendOutcome {
  /** One result per item, in the order sent. */
  results: ItemResult[];
  /** The sink asked to wait this long before the retry (Retry-After), in ms. */
  retryAfterMs?: number;
  /** Why items are to be retried (shown in the status). */
  error?: string;
  /** Items the sink already had (Elasticsearch 409 on `create` with our `_id`): delivered before. */
  duplicates?: number;
}

/** A destination. `send` never throws for one bad item; it throws a SinkError when the sink as a whole failed. */
export interface Sink {
  /** Display name without secrets: `elasticsearch://127.0.0.1:9200/kaudit-%Y.%m.%d`. */
  readonly name: string;
  /** Delivers the items (one or more requests) and reports each item's fate. */
  send(items: Item[], signal: AbortSignal): Promise<SendOutcome>;
  /** SIGHUP: reopen files, reconnect. */
  reopen?(): Promise<void>;
  close(): Promise<void>;
}

/** The sink could not take the batch at all (connection refused, 503, auth): retry all of it. */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SinkError';
  }
}

/** TLS settings shared by every TLS sink (--ca, --cert, --key, --insecure), file contents loaded. */
export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Skip certificate verification (--insecure; never the default). */
  insecure: boolean;
}

/** Identity of a file: device and inode, plus a SHA-256 of its first bytes (decompressed for gzip) against inode reuse. */
export interface FileIdentity {
  /** st_dev and st_ino as decimal strings (inodes can exceed 2^53). */
  dev: string;
  ino: string;
  /** How many leading bytes the fingerprint covers (at most FINGERPRINT_BYTES). */
  fpLen: number;
  /** SHA-256 (hex) of the first fpLen bytes of the content. */
  fp: string;
}

/** A followed file in the checkpoint. */
export interface FileState extends FileIdentity {
  /** Where it was last seen. */
  name: string;
  gzip: boolean;
  /** Bytes (of the decompressed content) up to which every line is delivered or waiting in `pending`. */
  offset: number;
  /** Lines up to `offset`, for `file:line` messages. */
  line: number;
  /** Size when last seen (to report a gap if it is deleted unread). */
  size: number;
  mtimeMs: number;
  /** No longer at the followed path (renamed or deleted); being finished. */
  rotated: boolean;
}

/** One followed path in the checkpoint. */
export interface StreamState {
  path: string;
  cluster: string;
  /** Files still being read, oldest first; the last is at the path unless rotated. */
  files: FileState[];
  /** Rotated files read to the end (or present when following began), so they are never read again. */
  finished: FileIdentity[];
  /** The stage-collapse window: requests waiting for their completing stage (records without requestObject). */
  pending: Record<string, unknown>[];
}

/** The `--state` file. */
export interface FollowState {
  kind: 'kaudit.follow.state';
  version: 1;
  /** When it was written (ISO 8601). */
  written: string;
  /** `raw` forwards events as written; `records` collapses stages (records and findings). */
  mode: 'raw' | 'records';
  streams: StreamState[];
}
