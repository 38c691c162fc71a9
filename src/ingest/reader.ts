// Reads one input: opens it, undoes gzip (by magic bytes, member by member), detects the format and
// streams values to a sink. Only a failure of the input itself (I/O, a truncated or corrupt
// compressed stream, malformed data) is handled here, as a counted rejection; an exception thrown by
// the sink (kaudit's own code downstream) always propagates unchanged (see util/errors.ts).
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash, type Hash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Loc } from '../types.js';
import type { Source } from './sources.js';
import { detectHead, DETECT_WINDOW, type FormatChoice, type InputFormat } from './detect.js';
import { readCsv } from './csv.js';
import { readDocument, JsonStream, parserMessage } from './document.js';
import { readYaml } from './yaml.js';
import { gunzipMembers, CompressedEndError } from './gunzip.js';
import { CONTAINER_KEYS } from './containers.js';
import { LineScanner } from './linescan.js';
import type { Prefilter } from '../filter/prefilter.js';
import { untilError, type StreamEnd } from './chunks.js';
import { utf8 } from './extract.js';

export interface IngestSink {
  /** A parsed JSON/YAML value at `loc` (one line, one document item). */
  value(v: unknown, loc: Loc): void;
  /** Something at `loc` could not be read; counted and reported, never fatal. */
  reject(loc: Loc, reason: string): void;
  /** Raw (compressed) bytes consumed so far, for progress. */
  bytes?(n: number): void;
  /** The reader chosen for this input, before any value. */
  detected?(format: string): void;
  /** A line the pre-filter skipped unparsed (it cannot match the filters). */
  prefiltered?(): void;
}

export interface ReadOptions {
  /** Lines longer than this (in characters) are rejected without being buffered whole (wrapper lines are streamed instead). */
  maxLineBytes: number;
  /** YAML inputs larger than this are rejected (YAML cannot be streamed). */
  maxYamlBytes: number;
  /** Used instead of process.stdin for `-` (tests). */
  stdin?: NodeJS.ReadableStream;
  /** `auto` detects the format per input; anything else forces that reader. */
  format?: FormatChoice;
  /** Compute the SHA-256 of each input's raw bytes as it is read (compliance evidence). */
  hash?: boolean;
  /** Cheap check of a line's raw bytes: lines it rejects are neither decoded nor parsed (JSON lines only). */
  prefilter?: Prefilter;
  /**
   * Reads lines of JSON lines from their bytes before JSON.parse does (the field extractor, set by
   * the pipeline unless `parser` is `reference`): see LineExtractor.
   */
  extract?: LineExtractor;
  /**
   * `fast` (default): native events are read by the field extractor (src/ingest/extract.ts), which
   * decodes only the members normalize/ reads; `reference`: every line is JSON.parsed (the
   * reference the extractor is tested against; `--parser reference`).
   */
  parser?: 'fast' | 'reference';
}

export const DEFAULT_READ_OPTIONS: ReadOptions = { maxLineBytes: 64 << 20, maxYamlBytes: 64 << 20 };

export interface ReadResult {
  format: string;
  gzip: boolean;
  /** SHA-256 of the raw bytes read, when asked for. */
  sha256?: string;
  /** '' when the input was read to its end; else why not (see FileStats.incomplete). */
  incomplete: string;
}

async function* concat(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  for (const b of head) yield b;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/**
 * Bytes per read of a file. 1 MiB: fewer reads and calls per byte than 64 KiB, and with reused
 * buffers (FileChunks) no allocation per chunk (bench/RESULTS.md, issue 19). The planner of --jobs
 * reads a file's head in chunks of the same size, so that its format detection sees what the
 * reader's does.
 */
export const READ_CHUNK = 1 << 20;

/** Whether the head read so far is enough to detect the format (the reader's rule, shared with the planner). */
export function headIsEnough(headLen: number, lastChunk: Buffer): boolean {
  return headLen >= DETECT_WINDOW || (lastChunk.includes(10) && headLen > 64);
}

/** An encoding kaudit does not read, named with the command that turns it into what it reads. */
export interface Unreadable {
  name: string;
  /** The command line that decompresses or converts FILE, piped into audit. */
  fix: string;
}

const MAGIC: { bytes: number[]; name: string; fix: string }[] = [
  { bytes: [0x42, 0x5a, 0x68], name: 'bzip2', fix: 'bzip2 -dc FILE' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], name: 'xz', fix: 'xz -dc FILE' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], name: 'zstd', fix: 'zstd -dc FILE' },
  { bytes: [0x04, 0x22, 0x4d, 0x18], name: 'lz4', fix: 'lz4 -dc FILE' },
  { bytes: [0x1f, 0x9d], name: 'compress (.Z)', fix: 'gzip -dc FILE' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], name: 'zip', fix: 'unzip -p FILE' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], name: '7z', fix: '7z x -so FILE' },
];

/**
 * The encoding of an input's first bytes when kaudit cannot read it: a compression other than gzip,
 * or UTF-16/UTF-32 text (by byte-order mark, or by the zero bytes ASCII characters leave in it).
 * Null for gzip, UTF-8 and anything else (which the readers judge line by line).
 */
export function unreadableEncoding(head: Buffer): Unreadable | null {
  for (const m of MAGIC) {
    if (head.length >= m.bytes.length && m.bytes.every((b, i) => head[i] === b)) {
      if (m.name === 'bzip2' && !(head[3]! >= 0x31 && head[3]! <= 0x39)) continue;
      return { name: `${m.name}-compressed`, fix: m.fix };
    }
  }
  const utf = { fix: 'iconv -f UTF-16 -t UTF-8 FILE' };
  if (head[0] === 0xff && head[1] === 0xfe && head[2] === 0 && head[3] === 0) return { name: 'UTF-32 text', fix: 'iconv -f UTF-32 -t UTF-8 FILE' };
  if (head[0] === 0 && head[1] === 0 && head[2] === 0xfe && head[3] === 0xff) return { name: 'UTF-32 text', fix: 'iconv -f UTF-32 -t UTF-8 FILE' };
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) return { name: 'UTF-16 text', ...utf };
  // Without a mark: ASCII in UTF-16 leaves every other byte zero ({"kind"… is 7B 00 22 00 …).
  const n = Math.min(head.length, 64) & ~1;
  if (n >= 8) {
    let even = 0;
    let odd = 0;
    for (let i = 0; i < n; i += 2) {
      if (head[i] === 0) even++;
      if (head[i + 1] === 0) odd++;
    }
    if ((odd === n / 2 && even === 0) || (even === n / 2 && odd === 0)) return { name: 'UTF-16 text', ...utf };
  }
  return null;
}

/** The fix with the input's path when it is safe to show in a shell command, else FILE. */
function fixFor(u: Unreadable, path: string): string {
  const p = path !== '-' && /^[\w./@%+=:,-]+$/.test(path) ? path : 'FILE';
  return `${u.fix.replace('FILE', p)} | audit …`;
}

interface RawInput extends AsyncIterator<Buffer> {
  /** True once every byte of the input has been read. */
  ended: boolean;
  /**
   * From now on the chunks handed out may share memory with earlier ones: a chunk is valid only
   * until the next call of next() (see FileChunks). Called by a reader that keeps nothing of a chunk
   * after asking for the next one (readLines copies the start of a line that spans chunks).
   */
  recycle(buffers?: Buffer[]): void;
  /** Stops reading and releases the input (waits for a read in flight). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A file (or the byte range [start, end) of one) read by descriptor in chunks of READ_CHUNK
 * bytes, one read always in flight while the previous chunk is processed. Until recycle() each
 * chunk is a fresh buffer (the format detection keeps the head's chunks; gzip and the document
 * readers may keep theirs); after it, the reads go into two buffers used in turn, and each chunk
 * is a new Buffer object over one of them, valid until the next call of next(). (A new object per
 * chunk: searches that remember positions per buffer, scan.ts finder, see a new buffer.)
 */
class FileChunks implements RawInput {
  ended = false;
  private fh: FileHandle | null = null;
  private opening: Promise<FileHandle> | null = null;
  private pos: number;
  private readonly stop: number;
  /**
   * Reads at explicit positions only for a byte range; a whole input is read from the descriptor's
   * current position, so that a pipe or FIFO (`audit summary <(zcat …)`) reads as before.
   */
  private readonly positioned: boolean;
  /** The read in flight (at `pos`): its buffer and its outcome. */
  private pending: Promise<{ buf: Buffer; n: number; error: Error | null }> | null = null;
  private reuse = false;
  /** Buffers free for the next read (recycling mode). */
  private readonly free: Buffer[] = [];
  /** The buffers given to recycle(): only they are read into from then on. */
  private pool: Buffer[] | null = null;
  /** The buffer of the chunk last handed out, released by the next call of next(). */
  private handedOut: Buffer | null = null;
  private closed = false;
  private done = false;

  constructor(
    private readonly path: string,
    start: number | undefined,
    end: number | undefined,
  ) {
    this.pos = start ?? 0;
    this.stop = end ?? Infinity;
    this.positioned = start !== undefined || end !== undefined;
  }

  /** `buffers`: the two buffers to read into from now on (the line scanner's, linescan.ts). */
  recycle(buffers?: Buffer[]): void {
    this.reuse = true;
    if (buffers && buffers.length >= 2 && buffers.every((b) => b.length >= READ_CHUNK)) {
      this.pool = buffers;
      this.free.length = 0;
      for (const b of buffers) this.free.push(b);
    }
  }

  private startRead(fh: FileHandle): void {
    const len = Math.min(READ_CHUNK, this.stop - this.pos);
    if (len <= 0) {
      this.pending = null;
      return;
    }
    const buf = this.reuse ? (this.free.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK)) : Buffer.allocUnsafeSlow(READ_CHUNK);
    this.pending = fh.read(buf, 0, len, this.positioned ? this.pos : null).then(
      ({ bytesRead }) => ({ buf, n: bytesRead, error: null }),
      (error: Error) => ({ buf, n: 0, error }),
    );
  }

  async next(): Promise<IteratorResult<Buffer>> {
    if (this.handedOut) {
      if (this.reuse && (this.pool === null || this.pool.includes(this.handedOut))) this.free.push(this.handedOut);
      this.handedOut = null;
    }
    if (this.done || this.closed) return { done: true, value: undefined };
    if (!this.fh) {
      this.opening ??= open(this.path, 'r');
      this.fh = await this.opening;
      this.startRead(this.fh);
    }
    const p = this.pending;
    if (p === null) return this.finish();
    const { buf, n, error } = await p;
    if (error) {
      this.pending = null;
      this.done = true;
      throw error;
    }
    if (n === 0) return this.finish();
    if (this.closed) return { done: true, value: undefined };
    // The next read starts where this one stopped (a short read is not the end; only 0 bytes are).
    this.pos += n;
    this.startRead(this.fh);
    this.handedOut = buf;
    return { done: false, value: Buffer.from(buf.buffer, buf.byteOffset, n) };
  }

  private finish(): IteratorResult<Buffer> {
    this.done = true;
    this.ended = true;
    this.pending = null;
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<Buffer>> {
    await this.close();
    return { done: true, value: undefined };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const fh = this.fh ?? (this.opening ? await this.opening.catch(() => null) : null);
    if (this.pending) await this.pending;
    this.pending = null;
    await fh?.close();
  }
}

function openRaw(src: Source, opts: ReadOptions, sink: IngestSink, hash: Hash | null): RawInput {
  let total = 0;
  const count = (r: IteratorResult<Buffer>, raw2: { ended: boolean }): IteratorResult<Buffer> => {
    if (!r.done) {
      total += r.value.length;
      hash?.update(r.value);
      sink.bytes?.(total);
    } else raw2.ended = true;
    return r;
  };
  if (src.path !== '-') {
    const f = new FileChunks(src.path, src.start, src.end);
    const next = f.next.bind(f);
    f.next = async () => count(await next(), f);
    return f;
  }
  const raw = opts.stdin ?? process.stdin;
  const it = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const raw2: RawInput = {
    ended: false,
    async next() {
      return count(await it.next(), raw2);
    },
    async return() {
      return (await it.return?.()) ?? { done: true, value: undefined };
    },
    recycle() {},
    async close() {},
  };
  return raw2;
}

/** SHA-256 of a whole file, read again (for inputs a reader stopped reading early). */
async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/**
 * Reads one source to the end. Errors inside the data are rejections and an input that could not
 * be read to its end says why in `incomplete`; only I/O failure to open throws. Exceptions from
 * the sink propagate unchanged.
 */
export async function readSource(src: Source, sink: IngestSink, opts: ReadOptions = DEFAULT_READ_OPTIONS): Promise<ReadResult> {
  const hash = opts.hash ? createHash('sha256') : null;
  const raw = openRaw(src, opts, sink, hash);
  let res: ReadResult;
  try {
    res = await readBody(src, raw, sink, opts);
  } finally {
    await raw.close();
  }
  if (hash) {
    // A reader that stopped early (an unreadable encoding) left bytes unread: the digest is of the whole file.
    if (raw.ended || src.path === '-') res.sha256 = hash.digest('hex');
    else res.sha256 = await hashFile(src.path);
  }
  return res;
}

/** What the accounting says about an input whose stream raised `e` after what it held was read. */
function endedReason(e: Error): string {
  return e instanceof CompressedEndError ? e.incomplete : `read error (${e.message})`;
}

async function readBody(src: Source, raw: RawInput, sink: IngestSink, opts: ReadOptions): Promise<ReadResult> {
  const file = src.path;
  const first = await raw.next();
  if (first.done) return { format: 'empty', gzip: false, incomplete: '' };
  const unreadable = (u: Unreadable, gzip: boolean): ReadResult => {
    sink.reject({ file, line: 1, unit: 'line' }, `${u.name} input: kaudit reads plain or gzip-compressed UTF-8; convert it first: ${fixFor(u, file)}`);
    return { format: u.name, gzip, incomplete: `${u.name} input was not read` };
  };
  const enc = unreadableEncoding(first.value);
  if (enc) return unreadable(enc, false);
  const gzip = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  const body: AsyncIterator<Buffer> = gzip ? gunzipMembers(concat([first.value], raw)) : concat([first.value], raw);

  // Peek at the head to choose a format, keeping the chunks for the reader.
  const head: Buffer[] = [];
  let headLen = 0;
  let complete = false;
  let early: Error | null = null;
  try {
    while (headLen < DETECT_WINDOW) {
      const r = await body.next();
      if (r.done) {
        complete = true;
        break;
      }
      head.push(r.value);
      headLen += r.value.length;
      if (headIsEnough(headLen, r.value)) break;
    }
  } catch (e) {
    early = e as Error;
    complete = true;
  }
  const headBuf = Buffer.concat(head);
  if (gzip) {
    const inner = unreadableEncoding(headBuf);
    if (inner) return unreadable(inner, true);
  }
  const forced: Record<string, InputFormat> = { jsonl: 'jsonl', json: 'document', yaml: 'yaml', csv: 'csv', 'cloudwatch-text': 'cloudwatch-text' };
  const kind = opts.format && opts.format !== 'auto' ? forced[opts.format]! : detectHead(headBuf, complete);
  const rest: AsyncIterator<Buffer> = early
    ? { next: () => Promise.reject(early) }
    : complete
      ? { next: async () => ({ done: true, value: undefined }) }
      : body;
  const chunks = concat(head, rest);
  sink.detected?.(kind);

  switch (kind) {
    case 'empty':
      if (early) {
        sink.reject({ file, line: 1, unit: 'line' }, `input ended early (${early.message})`);
        return { format: 'empty', gzip, incomplete: endedReason(early) };
      }
      return { format: 'empty', gzip, incomplete: '' };
    case 'document': {
      const r = await readDocument(chunks, file, sink);
      return { format: r.format, gzip, incomplete: r.ended ? endedReason(r.ended) : r.incomplete };
    }
    case 'yaml': {
      const ended = await readYaml(chunks, file, sink, opts.maxYamlBytes);
      return { format: 'yaml', gzip, incomplete: ended ? endedReason(ended) : '' };
    }
    case 'csv': {
      const ended = await readCsv(chunks, file, sink);
      return { format: 'csv', gzip, incomplete: ended ? endedReason(ended) : '' };
    }
    case 'cloudwatch-text': {
      if (!gzip) raw.recycle();
      const { ended } = await readLines(chunks, file, sink, opts.maxLineBytes, fromFirstBrace, undefined, opts.extract);
      return { format: 'cloudwatch-text', gzip, incomplete: ended ? endedReason(ended) : '' };
    }
    default: {
      const scanner = LineScanner.create(opts.prefilter?.needles);
      if (!gzip) raw.recycle(scanner?.buffers ?? opts.extract?.buffers);
      const { ended, wrapper } = await readLines(chunks, file, sink, opts.maxLineBytes, undefined, opts.prefilter, opts.extract, scanner);
      return { format: wrapper || 'jsonl', gzip, incomplete: ended ? endedReason(ended) : '' };
    }
  }
}

/** `aws logs tail` lines: the event JSON starts at the first brace, after the time and log stream. */
function fromFirstBrace(b: Buffer, start: number, end: number): number {
  const i = b.indexOf(123, start);
  return i < 0 || i >= end ? start : i;
}

/** How far startsWrapper looks into a line for the wrapper's array. */
const WRAPPER_SCAN = 1 << 16;

/**
 * True when a line's text starts a wrapper whose events can be streamed one by one: a top-level
 * array, or an object with one of CONTAINER_KEYS holding an array at its top level (an EventList,
 * a CloudWatch subscription payload, Azure records…) within the first 64 KiB. An audit Event is
 * never one (none of its top-level keys is a container key).
 */
export function startsWrapper(text: string | Buffer): boolean {
  const b = typeof text === 'string' ? Buffer.from(text.slice(0, WRAPPER_SCAN), 'utf8') : text;
  const n = Math.min(b.length, WRAPPER_SCAN);
  let i = 0;
  // whitespace, and a byte-order mark (EF BB BF)
  for (;;) {
    if (i < n && b[i]! <= 32) i++;
    else if (i + 2 < n && b[i] === 0xef && b[i + 1] === 0xbb && b[i + 2] === 0xbf) i += 3;
    else break;
  }
  if (b[i] === 91) return true;
  if (b[i] !== 123) return false;
  let depth = 0;
  let keyNext = false;
  let key: string | null = null;
  for (; i < n; i++) {
    const c = b[i]!;
    if (c === 34) {
      // a string: find its end, honouring escapes
      let j = i + 1;
      while (j < n && b[j] !== 34) j += b[j] === 92 ? 2 : 1;
      if (j >= n) return false;
      if (depth === 1 && keyNext) {
        key = b.toString('utf8', i + 1, j);
        keyNext = false;
      }
      i = j;
    } else if (c === 123 || c === 91) {
      if (c === 91 && depth === 1 && key !== null && CONTAINER_KEYS.has(key)) return true;
      depth++;
      if (c === 123 && depth === 1) keyNext = true;
    } else if (c === 125 || c === 93) {
      depth--;
      if (depth <= 0) return false;
    } else if (c === 44 && depth === 1) {
      keyNext = true;
      key = null;
    }
  }
  return false;
}

const NUL_REASON = "NUL bytes (a crash, or a preallocated file's unwritten tail)";

/**
 * Reads a line of JSON lines from its bytes, b[start..end) (leading whitespace skipped): returns
 * true when it took the line (a value it handed to the sink, or a rejection), false to let the
 * reader parse it. See ReadOptions.extract.
 */
export type LineExtractor = ((b: Buffer, start: number, end: number, loc: Loc) => boolean) & {
  /**
   * Two buffers of READ_CHUNK bytes a file may be read into (the WebAssembly extractor's memory,
   * src/ingest/wasmextract.ts: its lines are then checked where they are, not copied). The pre-filter's
   * line scanner's buffers take precedence.
   */
  buffers?: Buffer[];
};

/**
 * The hot path: splits the raw bytes on newlines (no decoding), skips the lines the pre-filter
 * rules out, hands the others to the extractor when there is one (the field extractor reads native
 * events without JSON.parse), and decodes and JSON.parses the rest. Every non-blank line is counted:
 * a value, a rejection with its reason, or a pre-filtered line. A line that is not JSON but starts
 * with `{` or `[` is read again as a stream of JSON values, so the values and wrapper items before
 * the break are kept (concatenated payloads `{…}{…}`, a truncated one-line EventList). A line
 * longer than maxLineBytes is skipped to its end without being kept, unless it starts a wrapper:
 * that is streamed item by item. A leading run of NUL bytes is one rejection of its own.
 * Returns the error the input stream raised (a truncated gzip member), after counting it, or null.
 * `strip` gives where a line's JSON starts (CloudWatch text); `prefilter` and `extract` are the
 * read options of the same names. Nothing of a chunk is kept once the next one is asked for (the
 * start of a line that spans chunks is copied): a file reader may reuse the memory (FileChunks).
 */
export async function readLines(
  chunks: AsyncIterable<Buffer>,
  file: string,
  sink: IngestSink,
  maxLineBytes: number,
  strip?: (b: Buffer, start: number, end: number) => number,
  prefilter?: Prefilter,
  extract?: LineExtractor,
  scanner?: LineScanner | null,
): Promise<{ ended: Error | null; wrapper: string }> {
  /** The start of a line that spans chunks: its pieces so far. */
  let tail: Buffer[] = [];
  let tailLen = 0;
  let lineNo = 0;
  /** While skipping a line too long to keep: the reason it is rejected. */
  let skipping = '';
  /** While streaming a long wrapper line: its parser, its decoder and its line number. */
  let doc: JsonStream | null = null;
  let docDecoder: StringDecoder | null = null;
  let docLine = 0;
  let first = true;
  let rejected = 0;
  const reject = (loc: Loc, reason: string): void => {
    rejected++;
    sink.reject(loc, reason);
  };
  const tooLong = `line longer than ${maxLineBytes} bytes (--max-line-bytes)`;

  /** A JSON text of values (a line that JSON.parse refused, or a long wrapper line): values get `item` locations. */
  const valueStream = (line: number): JsonStream => new JsonStream(sink, (item) => ({ file, line, unit: 'line', item }));
  /** The first wrapper format a line was streamed as (a Firehose object's `cloudwatch-subscription`). */
  let wrapper = '';
  const finishValues = (p: JsonStream, line: number, parseMessage: string, prefix = ''): void => {
    const ok = p.end();
    if (!wrapper && p.consumer.format !== 'json') wrapper = p.consumer.format;
    if (ok) return;
    const msg = parseMessage || parserMessage(p.error!);
    if (p.consumer.item === 0) reject({ file, line, unit: 'line' }, `${prefix}not JSON (${msg})`);
    else reject({ file, line, unit: 'line', item: p.consumer.item + 1 }, `${prefix}malformed JSON after value ${p.consumer.item} of this line (${parserMessage(p.error!)})`);
  };

  const handle = (b: Buffer, start: number, end: number, prefix = ''): void => {
    lineNo++;
    if (end > start && b[end - 1] === 13) end--;
    while (start < end && (b[start] === 32 || b[start] === 9 || b[start] === 13)) start++;
    if (start < end && b[start] === 0) {
      while (start < end && b[start] === 0) start++;
      reject({ file, line: lineNo, unit: 'line' }, NUL_REASON);
      while (start < end && b[start]! <= 32) start++;
    }
    if (start === end) return; // blank line: nothing to count
    if (end - start > maxLineBytes) {
      const text = b.toString('utf8', start, end);
      if (startsWrapper(b.subarray(start, end))) {
        const p = valueStream(lineNo);
        p.feed(text);
        finishValues(p, lineNo, '', prefix);
      } else reject({ file, line: lineNo, unit: 'line' }, `${prefix}${tooLong}`);
      return;
    }
    if (strip) start = strip(b, start, end);
    if (prefilter !== undefined && !prefilter(b, start, end)) {
      sink.prefiltered!();
      return;
    }
    const loc: Loc = { file, line: lineNo, unit: 'line' };
    if (prefix === '' && extract !== undefined && extract(b, start, end, loc)) return;
    const text = utf8(b, start, end);
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      const c = text.charCodeAt(0);
      if (c === 123 || c === 91) {
        const p = valueStream(lineNo);
        p.feed(text);
        finishValues(p, lineNo, (e as Error).message, prefix);
      } else reject(loc, `${prefix}not JSON (${(e as Error).message})`);
      return;
    }
    sink.value(v, loc);
  };

  /** Counts `n` lines the bulk scanner skipped: each one handle() would have pre-filtered. */
  const skipLines = (n: number): void => {
    lineNo += n;
    for (let k = 0; k < n; k++) sink.prefiltered!();
  };

  /** Ends the line being skipped or streamed (its newline was reached, or the input ended). */
  const finishLong = (prefix = ''): void => {
    if (doc) {
      const rest = docDecoder!.end();
      if (rest) doc.feed(rest);
      finishValues(doc, docLine, '', prefix);
      doc = null;
      docDecoder = null;
    } else {
      lineNo++;
      reject({ file, line: lineNo, unit: 'line' }, `${prefix}${skipping}`);
    }
    skipping = '';
  };

  /** The pieces of a line that spans chunks, as one buffer. */
  const joined = (last: Buffer | null): Buffer => {
    if (last !== null) tail.push(last);
    const b = tail.length === 1 ? tail[0]! : Buffer.concat(tail, tailLen + (last?.length ?? 0));
    tail = [];
    tailLen = 0;
    return b;
  };

  const end: StreamEnd = { error: null };
  for await (const c of untilError(chunks, end)) {
    let pos = 0;
    if (first) {
      first = false;
      if (c.length >= 3 && c[0] === 0xef && c[1] === 0xbb && c[2] === 0xbf) pos = 3; // UTF-8 byte-order mark
    }
    if (doc || skipping) {
      const nl = c.indexOf(10, pos);
      if (nl < 0) {
        if (doc) doc.feed(docDecoder!.write(pos ? c.subarray(pos) : c));
        continue;
      }
      if (doc) doc.feed(docDecoder!.write(c.subarray(pos, nl)));
      finishLong();
      pos = nl + 1;
    }
    let nl = c.indexOf(10, pos);
    if (nl >= 0 && tailLen > 0) {
      const line = joined(c.subarray(pos, nl));
      handle(line, 0, line.length);
      pos = nl + 1;
      nl = c.indexOf(10, pos);
    }
    if (nl >= 0 && scanner && prefilter && !strip && scanner.load(c)) {
      // The bulk scanner skips the lines the pre-filter surely skips and reports the others.
      for (;;) {
        const r = scanner.scan(pos, c.length, maxLineBytes);
        for (let i = 0; i < r.n; i++) {
          skipLines(scanner.skippedBefore(i));
          handle(c, scanner.start(i), scanner.end(i));
        }
        skipLines(r.trailing);
        pos = r.stop;
        if (!r.more) break;
      }
      nl = -1;
    }
    while (nl >= 0) {
      handle(c, pos, nl);
      pos = nl + 1;
      nl = c.indexOf(10, pos);
    }
    if (pos < c.length) {
      // Copied: the chunk's memory may be reused for the next read (FileChunks).
      tail.push(Buffer.from(pos ? c.subarray(pos) : c));
      tailLen += c.length - pos;
    }
    if (tailLen > maxLineBytes) {
      // Too long to keep: stream it when it is a wrapper of events, else skip it to its newline.
      const t = joined(null);
      let k = 0;
      while (k < t.length && t[k]! <= 32 && t[k] !== 0) k++;
      if (t[k] === 0) skipping = NUL_REASON;
      else if (startsWrapper(t)) {
        docLine = ++lineNo;
        doc = valueStream(docLine);
        docDecoder = new StringDecoder('utf8');
        doc.feed(docDecoder.write(t));
      } else skipping = tooLong;
    }
  }
  const before = rejected;
  const ended = end.error;
  const prefix = ended ? `truncated line: input ended early (${ended.message}): ` : '';
  if (doc || skipping) finishLong(prefix);
  else if (tailLen > 0) {
    const t = joined(null);
    if (t.toString('utf8').trim() !== '') handle(t, 0, t.length, prefix);
  }
  // A stream that ended early is counted once even when it ended at a line's end.
  if (ended && rejected === before) reject({ file, line: lineNo + 1, unit: 'line' }, `input ended early (${ended.message})`);
  return { ended, wrapper };
}
